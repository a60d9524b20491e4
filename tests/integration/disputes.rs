//! Disputes through the real stack: orders paid with Stripe's `pm_card_createDispute` test card
//! (the local Stripe disputes the charge as Stripe's test mode does), `charge.dispute.*`
//! delivered to the webhook signed, and closed the way Stripe's test mode closes them (evidence
//! `winning_evidence` / `losing_evidence`). The earnings freeze wherever they sit, a won
//! dispute releases them, a lost one sends the money to the bank and takes the paid-out share
//! back from the connected account, or leaves a debt that the next earnings pay first; the
//! ledger sums to zero throughout.

use gigmarket_shared::domain::gig::Gig;
use gigmarket_shared::domain::ledger::LedgerAccount;
use gigmarket_tests::payments::{
    CARD_DISPUTED, assert_ledger_balances, balance, confirm_with, submit_evidence,
};
use gigmarket_tests::{RawRequest, Session, TestApp, WEBHOOK_SECRET, stripe};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Places a basic order of `gig` and pays it with `card`; answers the order and its intent id.
async fn paid_order(app: &TestApp, client: &Session, gig: &Gig, card: &str) -> (Uuid, String) {
    let order_id = app.place_unpaid_order(client, gig).await;
    app.pay_order_with(order_id, card, OffsetDateTime::now_utc())
        .await;
    let intent_id = app.payment_intent(order_id).await.id;
    (order_id, intent_id)
}

async fn complete(app: &TestApp, client: &Session, freelancer: &Session, order_id: Uuid) {
    app.order_step(freelancer, order_id, "accept").await;
    app.order_step(freelancer, order_id, "deliver").await;
    app.order_step(client, order_id, "complete").await;
}

/// The scheduler's clearance step alone, as of `at`; answers how many earnings cleared.
async fn clear_earnings(app: &TestApp, at: OffsetDateTime) -> usize {
    gigmarket_shared::app::payouts::clear_earnings(&app.state.store, Duration::days(14), at, 100)
        .await
        .unwrap()
}

async fn payouts(app: &TestApp, who: &Session) -> Value {
    let response = app.get("/me/payouts", Some(&who.access_token)).await;
    assert_eq!(response.status, 200, "{response:?}");
    response.body["balances"][0].clone()
}

async fn open_disputes(app: &TestApp, admin: &Session) -> Vec<Value> {
    let response = app.get("/admin/disputes", Some(&admin.access_token)).await;
    assert_eq!(response.status, 200, "{response:?}");
    response.body["items"].as_array().unwrap().clone()
}

/// The charge of `intent_id` is disputed and the dispute lost, both events delivered to the
/// webhook; answers the dispute's id.
async fn lose_dispute(app: &TestApp, intent_id: &str) -> String {
    let dispute_id = app.dispute_id_of(intent_id).await;
    let created = app
        .deliver_dispute_event("charge.dispute.created", intent_id)
        .await;
    assert_eq!(created.body["outcome"], "recorded", "{created:?}");
    submit_evidence(&dispute_id, "losing_evidence").await;
    let closed = app
        .deliver_dispute_event("charge.dispute.closed", intent_id)
        .await;
    assert_eq!(closed.body["outcome"], "recorded", "{closed:?}");
    dispute_id
}

#[tokio::test]
async fn a_dispute_freezes_available_earnings_and_winning_it_releases_them() {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    let (order_id, intent_id) = paid_order(&app, &cast.client, &gig, CARD_DISPUTED).await;
    complete(&app, &cast.client, &cast.freelancer, order_id).await;
    // The clearance alone: a whole scheduler run would first reconcile the missed
    // charge.dispute.created and freeze the earnings before they clear.
    let later = OffsetDateTime::now_utc() + Duration::days(15);
    assert_eq!(clear_earnings(&app, later).await, 1);
    let net = balance(&app, LedgerAccount::FreelancerAvailable(cast.freelancer.id)).await;
    assert!(net > 0);

    // The bank's dispute reaches us after the earnings cleared: they freeze where they are.
    let opened = app
        .deliver_dispute_event("charge.dispute.created", &intent_id)
        .await;
    assert_eq!(opened.body["outcome"], "recorded", "{opened:?}");
    let again = app
        .deliver_dispute_event("charge.dispute.created", &intent_id)
        .await;
    assert_eq!(again.body["outcome"], "already_applied");
    let shown = payouts(&app, &cast.freelancer).await;
    assert_eq!(shown["available_cents"], 0);
    assert_eq!(shown["frozen_cents"], net);
    let order = app.order(&cast.client, order_id).await.body;
    assert_eq!(order["dispute"]["status"], "open");
    let listed = open_disputes(&app, &cast.admin).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["order_id"], order_id.to_string());
    assert_eq!(listed[0]["frozen_cents"], net);
    let refused = app
        .get("/admin/disputes", Some(&cast.client.access_token))
        .await;
    assert_eq!(refused.status, 403);
    assert_ledger_balances(&app, cast.freelancer.id).await;

    // Won: the earnings go back to pending, and clear again.
    submit_evidence(&app.dispute_id_of(&intent_id).await, "winning_evidence").await;
    let closed = app
        .deliver_dispute_event("charge.dispute.closed", &intent_id)
        .await;
    assert_eq!(closed.body["outcome"], "recorded", "{closed:?}");
    let shown = payouts(&app, &cast.freelancer).await;
    assert_eq!(shown["frozen_cents"], 0);
    assert_eq!(shown["pending_cents"], net);
    assert!(open_disputes(&app, &cast.admin).await.is_empty());
    let run = scheduler::run(&app.state.store, &app.stripe, later)
        .await
        .unwrap();
    assert_eq!(run.earnings_cleared, 1);
    assert_eq!(
        payouts(&app, &cast.freelancer).await["available_cents"],
        net
    );
    assert_eq!(
        app.order(&cast.client, order_id).await.body["dispute"]["status"],
        "won"
    );
    assert_ledger_balances(&app, cast.freelancer.id).await;
}

/// Stripe sends a charge's events in no particular order and at once: its payment's success and
/// its dispute reach two webhook invocations that write the same order. Both apply (neither asks
/// Stripe to retry), whichever writes first.
#[tokio::test]
async fn a_payment_and_its_dispute_delivered_together_both_apply() {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    let mut intents = Vec::new();
    for _ in 0..12 {
        let order_id = app.place_unpaid_order(&cast.client, &gig).await;
        let intent_id = app.payment_intent(order_id).await.id;
        let (status, body) = confirm_with(&intent_id, CARD_DISPUTED).await;
        assert!(status.is_success(), "{}", String::from_utf8_lossy(&body));
        intents.push((order_id, intent_id));
    }
    // Each pair gives the dispute a longer head start, so that in some pair the dispute writes
    // the order between the payment's read and its write (and in others the other way round).
    for (head_start, (_, intent_id)) in (0..).step_by(3).zip(&intents) {
        let succeeded = app
            .stripe_event("payment_intent.succeeded", |intent| {
                intent["id"] == intent_id.as_str()
            })
            .await;
        let disputed = app
            .stripe_event("charge.dispute.created", |dispute| {
                dispute["payment_intent"] == intent_id.as_str()
            })
            .await;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let (disputed, paid) = tokio::join!(
            app.deliver_stripe_event(&disputed, WEBHOOK_SECRET, now),
            async {
                tokio::time::sleep(std::time::Duration::from_millis(head_start)).await;
                app.deliver_stripe_event(&succeeded, WEBHOOK_SECRET, now)
                    .await
            },
        );
        assert_eq!(paid.status, 200, "after {head_start} ms: {paid:?}");
        assert_eq!(paid.body["outcome"], "paid", "{paid:?}");
        assert_eq!(disputed.status, 200, "after {head_start} ms: {disputed:?}");
        assert_eq!(disputed.body["outcome"], "recorded", "{disputed:?}");
    }
    for (order_id, _) in &intents {
        let order = app.order(&cast.client, *order_id).await.body;
        assert_eq!(order["status"], "pending", "{order}");
        assert_eq!(order["dispute"]["status"], "open", "{order}");
    }
    assert_eq!(open_disputes(&app, &cast.admin).await.len(), intents.len());
    assert_ledger_balances(&app, cast.freelancer.id).await;
}

#[tokio::test]
async fn a_dispute_before_completion_freezes_its_earnings_and_losing_it_forfeits_them() {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    let (order_id, intent_id) = paid_order(&app, &cast.client, &gig, CARD_DISPUTED).await;
    // The dispute arrives while the order is open: nothing to freeze yet, but completion then
    // freezes the earnings at once.
    let opened = app
        .deliver_dispute_event("charge.dispute.created", &intent_id)
        .await;
    assert_eq!(opened.body["outcome"], "recorded", "{opened:?}");
    complete(&app, &cast.client, &cast.freelancer, order_id).await;
    let net = balance(&app, LedgerAccount::FreelancerFrozen(cast.freelancer.id)).await;
    assert!(net > 0, "completion froze the earnings");
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPending(cast.freelancer.id)).await,
        0
    );
    let fees_before = balance(&app, LedgerAccount::PlatformFees).await;
    let order: Value = app.order(&cast.client, order_id).await.body;
    let total = order["client_total_cents"].as_i64().unwrap();

    // Lost: the whole charge leaves for the bank, the freelancer's share out of the frozen
    // earnings, the platform's out of its fees.
    submit_evidence(&app.dispute_id_of(&intent_id).await, "losing_evidence").await;
    let closed = app
        .deliver_dispute_event("charge.dispute.closed", &intent_id)
        .await;
    assert_eq!(closed.body["outcome"], "recorded", "{closed:?}");
    assert_eq!(balance(&app, LedgerAccount::DisputesLost).await, total);
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerFrozen(cast.freelancer.id)).await,
        0
    );
    assert_eq!(
        balance(&app, LedgerAccount::PlatformFees).await,
        fees_before - (total - net)
    );
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerDebt(cast.freelancer.id)).await,
        0,
        "nothing was paid out, so nothing is owed"
    );
    assert_ledger_balances(&app, cast.freelancer.id).await;
    let later = OffsetDateTime::now_utc() + Duration::days(15);
    let run = scheduler::run(&app.state.store, &app.stripe, later)
        .await
        .unwrap();
    assert_eq!(run.earnings_cleared, 0, "forfeited earnings never clear");
}

#[tokio::test]
async fn losing_a_dispute_after_the_payout_leaves_a_debt_paid_from_the_next_earnings() {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    let (first, intent_id) = paid_order(&app, &cast.client, &gig, CARD_DISPUTED).await;
    complete(&app, &cast.client, &cast.freelancer, first).await;
    // Its earnings clear (the clearance alone, before the dispute is reconciled), and the
    // freelancer withdraws them.
    let later = OffsetDateTime::now_utc() + Duration::days(15);
    assert_eq!(clear_earnings(&app, later).await, 1);
    let net = balance(&app, LedgerAccount::FreelancerAvailable(cast.freelancer.id)).await;
    app.onboard(&cast.freelancer).await;
    let withdrawn = app
        .withdraw(&cast.freelancer, "all", &json!({"currency": "EUR"}))
        .await;
    assert_eq!(withdrawn.status, 201, "{withdrawn:?}");
    assert_eq!(withdrawn.body["amount_cents"], net);
    // The freelancer's money goes on to their bank: nothing is left to reverse.
    app.pay_out_to_bank(&cast.freelancer, net).await;

    // The dispute and its loss arrive out of order: the close first applies both.
    submit_evidence(&app.dispute_id_of(&intent_id).await, "losing_evidence").await;
    let closed = app
        .deliver_dispute_event("charge.dispute.closed", &intent_id)
        .await;
    assert_eq!(closed.body["outcome"], "recorded", "{closed:?}");
    let created = app
        .deliver_dispute_event("charge.dispute.created", &intent_id)
        .await;
    assert_eq!(created.body["outcome"], "already_applied");
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerDebt(cast.freelancer.id)).await,
        -net,
        "the paid-out share is owed"
    );
    assert_eq!(payouts(&app, &cast.freelancer).await["owed_cents"], net);
    assert_ledger_balances(&app, cast.freelancer.id).await;

    // The next order's earnings pay the debt first when they clear.
    let second = app.place_order(&cast.client, &gig).await;
    complete(&app, &cast.client, &cast.freelancer, second).await;
    let run = scheduler::run(
        &app.state.store,
        &app.stripe,
        OffsetDateTime::now_utc() + Duration::days(15),
    )
    .await
    .unwrap();
    assert_eq!(run.earnings_cleared, 1);
    let shown = payouts(&app, &cast.freelancer).await;
    assert_eq!(shown["owed_cents"], 0);
    assert_eq!(
        shown["available_cents"], 0,
        "the same price: all of it repaid the debt"
    );
    assert_ledger_balances(&app, cast.freelancer.id).await;
}

#[tokio::test]
async fn losing_a_dispute_after_the_payout_reverses_the_transfer_the_account_still_holds() {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    let (order_id, intent_id) = paid_order(&app, &cast.client, &gig, CARD_DISPUTED).await;
    complete(&app, &cast.client, &cast.freelancer, order_id).await;
    let later = OffsetDateTime::now_utc() + Duration::days(15);
    assert_eq!(clear_earnings(&app, later).await, 1);
    let net = balance(&app, LedgerAccount::FreelancerAvailable(cast.freelancer.id)).await;
    app.onboard(&cast.freelancer).await;
    let withdrawn = app
        .withdraw(&cast.freelancer, "all", &json!({"currency": "EUR"}))
        .await;
    assert_eq!(withdrawn.status, 201, "{withdrawn:?}");

    let dispute_id = lose_dispute(&app, &intent_id).await;
    // The connected account still held the transfer: it is reversed, and nothing is owed.
    let record = app
        .state
        .store
        .get_dispute(&dispute_id)
        .await
        .unwrap()
        .expect("the dispute");
    assert_eq!(i64::try_from(record.paid_out_cents).unwrap(), net);
    assert_eq!(record.reversals.len(), 1, "{record:?}");
    assert_eq!(
        i64::try_from(record.reversals[0].amount_cents).unwrap(),
        net
    );
    assert!(record.reversals[0].reversal_id.starts_with("trr_"));
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerDebt(cast.freelancer.id)).await,
        0
    );
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPaidOut(cast.freelancer.id)).await,
        0,
        "what was paid out came back"
    );
    assert_eq!(payouts(&app, &cast.freelancer).await["owed_cents"], 0);
    assert_ledger_balances(&app, cast.freelancer.id).await;
    // The close again changes nothing.
    let again = app
        .deliver_dispute_event("charge.dispute.closed", &intent_id)
        .await;
    assert_eq!(again.body["outcome"], "already_applied");
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerDebt(cast.freelancer.id)).await,
        0
    );
}

#[tokio::test]
async fn an_order_whose_dispute_was_lost_can_not_complete_and_refunds_nothing() {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    let (order_id, intent_id) = paid_order(&app, &cast.client, &gig, CARD_DISPUTED).await;
    app.order_step(&cast.freelancer, order_id, "accept").await;
    app.deliver_dispute_event("charge.dispute.created", &intent_id)
        .await;
    submit_evidence(&app.dispute_id_of(&intent_id).await, "losing_evidence").await;
    let closed = app
        .deliver_dispute_event("charge.dispute.closed", &intent_id)
        .await;
    assert_eq!(closed.body["outcome"], "recorded");
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 0);
    app.order_step(&cast.freelancer, order_id, "deliver").await;
    let refused = app.order_action(&cast.client, order_id, "complete").await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.problem(), "order-charged-back");
    let cancelled = app
        .send(
            RawRequest::new("POST", format!("/admin/orders/{order_id}/cancel"))
                .bearer(&cast.admin.access_token)
                .json(&json!({"reason": "Charged back."})),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert!(cancelled.body.get("refund").is_none(), "{}", cancelled.body);
    assert_eq!(balance(&app, LedgerAccount::Refunds).await, 0);
    assert_ledger_balances(&app, cast.freelancer.id).await;
}

/// A lost dispute's reversal is made by Stripe, but its answer never arrives: the debt stands
/// and the dispute waits on the scheduler's list; the next run finds the reversal on the
/// transfer and books it. Stripe holds one reversal, and nothing is owed.
#[tokio::test]
async fn a_lost_disputes_reversal_whose_answer_was_lost_is_booked_by_the_scheduler() {
    let app = TestApp::new().await;
    let store = &app.state.store;
    let (cast, gig) = app.cast_with_gig().await;
    let freelancer = cast.freelancer.id;
    let (order_id, intent_id) = paid_order(&app, &cast.client, &gig, CARD_DISPUTED).await;
    complete(&app, &cast.client, &cast.freelancer, order_id).await;
    let net = balance(&app, LedgerAccount::FreelancerPending(freelancer)).await;
    app.onboard(&cast.freelancer).await;
    let transfer_id = app.pay_out(&cast.freelancer, order_id).await.id;

    stripe::lose_next_answer("POST", &format!("/v1/transfers/{transfer_id}/reversals")).await;
    let dispute_id = lose_dispute(&app, &intent_id).await;
    let record = store.get_dispute(&dispute_id).await.unwrap().unwrap();
    assert!(record.reversals_due(), "{record:?}");
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerDebt(freelancer)).await,
        -net,
        "not booked while Stripe's answer is missing"
    );
    assert_ledger_balances(&app, freelancer).await;

    let soon = OffsetDateTime::now_utc() + Duration::minutes(10);
    let run = scheduler::run(store, &app.stripe, soon).await.unwrap();
    assert_eq!(run.dispute_reversals_finished, 1, "{run:?}");
    let record = store.get_dispute(&dispute_id).await.unwrap().unwrap();
    assert!(!record.reversals_due(), "{record:?}");
    assert_eq!(record.reversals.len(), 1, "{record:?}");
    assert_eq!(
        i64::try_from(record.reversals[0].amount_cents).unwrap(),
        net
    );
    let transfer = app.transfer_of(order_id).await;
    assert_eq!(transfer.amount_reversed, net, "{transfer:?}");
    assert_eq!(
        transfer.reversals.data.len(),
        1,
        "one reversal: {transfer:?}"
    );
    assert_eq!(
        transfer.reversals.data[0].id,
        record.reversals[0].reversal_id
    );
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerDebt(freelancer)).await,
        0
    );
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPaidOut(freelancer)).await,
        0
    );
    assert_ledger_balances(&app, freelancer).await;
    let idle = scheduler::run(store, &app.stripe, soon).await.unwrap();
    assert_eq!(idle.dispute_reversals_finished, 0, "off the list: {idle:?}");
}

/// Stripe's dispute fee (the `fee` of the balance transaction that withdraws the disputed
/// amount) is the platform's cost: booked out of its fees as the dispute opens, once however
/// often the event arrives, never out of the freelancer's earnings. A won dispute reinstates the
/// amount but Stripe keeps the fee, so it stays booked; a lost one keeps it too, booked once
/// when its close arrives before its opening.
#[tokio::test]
async fn the_dispute_fee_is_the_platforms_cost_booked_once_whether_won_or_lost() {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    let freelancer = cast.freelancer.id;
    let (won, won_intent) = paid_order(&app, &cast.client, &gig, CARD_DISPUTED).await;
    complete(&app, &cast.client, &cast.freelancer, won).await;
    let fees = balance(&app, LedgerAccount::PlatformFees).await;
    let net = balance(&app, LedgerAccount::FreelancerPending(freelancer)).await;

    let created = app
        .stripe_event("charge.dispute.created", |dispute| {
            dispute["payment_intent"] == won_intent.as_str()
        })
        .await;
    let withdrawal = &created["data"]["object"]["balance_transactions"][0];
    assert_eq!(withdrawal["reporting_category"], "dispute", "{created}");
    assert_eq!(
        withdrawal["fee_details"][0]["type"], "stripe_fee",
        "{created}"
    );
    let fee = withdrawal["fee"].as_i64().expect("the fee");
    assert_eq!(fee, 1_500, "Stripe's $15.00");
    for outcome in ["recorded", "already_applied"] {
        let opened = app
            .deliver_dispute_event("charge.dispute.created", &won_intent)
            .await;
        assert_eq!(opened.body["outcome"], outcome, "{opened:?}");
        assert_eq!(balance(&app, LedgerAccount::DisputeFees).await, fee);
        assert_eq!(balance(&app, LedgerAccount::PlatformFees).await, fees - fee);
    }
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerFrozen(freelancer)).await,
        net,
        "the freelancer's earnings are frozen whole: the fee is not theirs"
    );
    assert_ledger_balances(&app, freelancer).await;

    // Won: the amount is reinstated (a second balance transaction, with no fee back).
    submit_evidence(&app.dispute_id_of(&won_intent).await, "winning_evidence").await;
    for outcome in ["recorded", "already_applied"] {
        let closed = app
            .deliver_dispute_event("charge.dispute.closed", &won_intent)
            .await;
        assert_eq!(closed.body["outcome"], outcome, "{closed:?}");
    }
    let closed = app
        .stripe_event("charge.dispute.closed", |dispute| {
            dispute["payment_intent"] == won_intent.as_str()
        })
        .await;
    let reinstated = &closed["data"]["object"]["balance_transactions"][1];
    assert_eq!(
        reinstated["reporting_category"], "dispute_reversal",
        "{closed}"
    );
    assert_eq!(reinstated["fee"], 0, "{closed}");
    assert_eq!(balance(&app, LedgerAccount::DisputeFees).await, fee);
    assert_eq!(balance(&app, LedgerAccount::PlatformFees).await, fees - fee);
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPending(freelancer)).await,
        net
    );
    assert_ledger_balances(&app, freelancer).await;

    // Lost, its close delivered before its opening: the fee is booked once and kept.
    let (lost, lost_intent) = paid_order(&app, &cast.client, &gig, CARD_DISPUTED).await;
    complete(&app, &cast.client, &cast.freelancer, lost).await;
    submit_evidence(&app.dispute_id_of(&lost_intent).await, "losing_evidence").await;
    let closed = app
        .deliver_dispute_event("charge.dispute.closed", &lost_intent)
        .await;
    assert_eq!(closed.body["outcome"], "recorded", "{closed:?}");
    let opened = app
        .deliver_dispute_event("charge.dispute.created", &lost_intent)
        .await;
    assert_eq!(opened.body["outcome"], "already_applied", "{opened:?}");
    assert_eq!(balance(&app, LedgerAccount::DisputeFees).await, 2 * fee);
    assert_ledger_balances(&app, freelancer).await;
    let metrics = app
        .get("/admin/metrics", Some(&cast.admin.access_token))
        .await;
    assert_eq!(metrics.status, 200, "{metrics:?}");
    assert_eq!(metrics.body["dispute_fees_cents"]["EUR"], 2 * fee);
    assert_eq!(
        metrics.body["fees_earned_cents"]["EUR"],
        balance(&app, LedgerAccount::PlatformFees).await
    );
}

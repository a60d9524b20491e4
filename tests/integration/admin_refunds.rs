//! An admin's refund of a completed order through the real local stack: the refund at the local
//! Stripe (in parts, keyed by our refund), the split between the freelancer's earnings and the
//! platform's fees, the reversal of what was paid out already (or a debt when the connected
//! account can not cover it), the audit entry, retries with the same Idempotency-Key, the
//! refusals, and `charge.refunded` arriving after our own refund. After each, the ledger's
//! balances sum to zero.

use gigmarket_shared::ApiError;
use gigmarket_shared::app::admin::refunds::{RefundBody, refund_order};
use gigmarket_shared::app::payouts::clear_earnings;
use gigmarket_shared::domain::audit::Actor;
use gigmarket_shared::domain::ledger::LedgerAccount;
use gigmarket_shared::domain::order::RefundStatus;
use gigmarket_tests::fixtures::Cast;
use gigmarket_tests::payments::{assert_ledger_balances, balance};
use gigmarket_tests::{RawRequest, Session, TestApp, TestResponse, WEBHOOK_SECRET, stripe};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

async fn refund(
    app: &TestApp,
    admin: &Session,
    order_id: Uuid,
    key: &str,
    body: &Value,
) -> TestResponse {
    app.send(
        RawRequest::new("POST", format!("/admin/orders/{order_id}/refund"))
            .bearer(&admin.access_token)
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

async fn complete(app: &TestApp, client: &Session, freelancer: &Session, order_id: Uuid) {
    app.order_step(freelancer, order_id, "accept").await;
    app.order_step(freelancer, order_id, "deliver").await;
    app.order_step(client, order_id, "complete").await;
}

fn cents(value: &Value) -> i64 {
    value
        .as_i64()
        .unwrap_or_else(|| panic!("{value} is no amount"))
}

/// An onboarded freelancer's completed order whose earnings were withdrawn: answers the cast,
/// the order and the transfer that paid it out.
async fn paid_out_order(app: &TestApp) -> (Cast, Uuid, String) {
    let (cast, gig) = app.cast_with_gig().await;
    app.onboard(&cast.freelancer).await;
    let order_id = app.place_order(&cast.client, &gig).await;
    complete(app, &cast.client, &cast.freelancer, order_id).await;
    let transfer_id = app.pay_out(&cast.freelancer, order_id).await.id;
    (cast, order_id, transfer_id)
}

/// An admin refunds `amount_cents` of `order_id` (all when `None`) while Stripe is out of reach:
/// the refund is written and not answered (503). Answers the refund's id.
async fn refund_while_stripe_is_down(
    app: &TestApp,
    admin: &Session,
    order_id: Uuid,
    amount_cents: Option<u64>,
    now: OffsetDateTime,
) -> Uuid {
    let store = &app.state.store;
    let admin = Actor::admin(admin.id, None);
    let body = RefundBody {
        reason: "never delivered".to_owned(),
        amount_cents,
    };
    let outage = refund_order(
        store,
        &stripe::unreachable(),
        &admin,
        order_id,
        Ok(body),
        Some("outage"),
        now,
    )
    .await;
    assert!(
        matches!(outage, Err(ApiError::ServiceUnavailable { .. })),
        "{outage:?}"
    );
    store
        .admin_refund_request(&admin.id, "outage", now.unix_timestamp())
        .await
        .unwrap()
        .expect("the request is recorded")
        .refund_id
}

/// The local Stripe's charge of `order_id` (its transfer group) as its newest `charge.refunded`
/// event carries it.
async fn charge_refunded(app: &TestApp, order_id: Uuid) -> Value {
    let group = order_id.to_string();
    app.stripe_event("charge.refunded", |charge| {
        charge["transfer_group"] == group.as_str()
    })
    .await
}

#[tokio::test]
async fn an_admin_refunds_a_completed_order_in_parts_from_earnings_and_fees() {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    let order_id = app.place_order(&cast.client, &gig).await;
    // Not yet completed: an open order is cancelled instead.
    let open = refund(&app, &cast.admin, order_id, "open", &json!({"reason": "r"})).await;
    assert_eq!(open.status, 409, "{open:?}");
    assert_eq!(open.problem(), "order-not-refundable");
    complete(&app, &cast.client, &cast.freelancer, order_id).await;
    let freelancer = cast.freelancer.id;
    let net = balance(&app, LedgerAccount::FreelancerPending(freelancer)).await;
    let fees = balance(&app, LedgerAccount::PlatformFees).await;
    let total = net + fees;

    // Only admins, only with a key and a reason.
    let by_client = app
        .send(
            RawRequest::new("POST", format!("/admin/orders/{order_id}/refund"))
                .bearer(&cast.client.access_token)
                .header("Idempotency-Key", "k")
                .json(&json!({"reason": "r"})),
        )
        .await;
    assert_eq!(by_client.status, 403);
    let keyless = app
        .send(
            RawRequest::new("POST", format!("/admin/orders/{order_id}/refund"))
                .bearer(&cast.admin.access_token)
                .json(&json!({"reason": "r"})),
        )
        .await;
    assert_eq!(keyless.status, 400, "{keyless:?}");
    let blank = refund(
        &app,
        &cast.admin,
        order_id,
        "blank",
        &json!({"reason": " "}),
    )
    .await;
    assert_eq!(blank.status, 400);
    assert_eq!(blank.error_fields(), ["reason"]);

    // A part: the freelancer's share rounded down, the rest from the platform's fees.
    let part = refund(
        &app,
        &cast.admin,
        order_id,
        "part",
        &json!({"reason": "late delivery", "amount_cents": 1_001}),
    )
    .await;
    assert_eq!(part.status, 201, "{part:?}");
    let first = part.body.clone();
    assert_eq!(first["status"], "succeeded", "{first}");
    assert!(first["refund_id"].as_str().unwrap().starts_with("re_"));
    let share = 1_001 * net / total;
    assert_eq!(cents(&first["freelancer_share_cents"]), share);
    assert_eq!(cents(&first["platform_share_cents"]), 1_001 - share);
    assert_eq!(cents(&first["from_earnings_cents"]), share);
    assert_eq!(cents(&first["paid_out_cents"]), 0);
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPending(freelancer)).await,
        net - share
    );
    assert_eq!(
        balance(&app, LedgerAccount::PlatformFees).await,
        fees - (1_001 - share)
    );
    assert_eq!(balance(&app, LedgerAccount::Refunds).await, 1_001);
    assert_ledger_balances(&app, freelancer).await;

    // The same request again answers the same refund and moves nothing; the same key for
    // another request is refused.
    let again = refund(
        &app,
        &cast.admin,
        order_id,
        "part",
        &json!({"reason": "late delivery", "amount_cents": 1_001}),
    )
    .await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["id"], first["id"]);
    assert_eq!(balance(&app, LedgerAccount::Refunds).await, 1_001);
    let reused = refund(
        &app,
        &cast.admin,
        order_id,
        "part",
        &json!({"reason": "late delivery", "amount_cents": 1_002}),
    )
    .await;
    assert_eq!(reused.problem(), "idempotency-key-reused");

    // `charge.refunded` of our own (partial) refund books nothing again.
    let event = charge_refunded(&app, order_id).await;
    assert_eq!(event["data"]["object"]["amount_refunded"], 1_001, "{event}");
    let delivered = app
        .deliver_stripe_event(
            &event,
            WEBHOOK_SECRET,
            OffsetDateTime::now_utc().unix_timestamp(),
        )
        .await;
    assert_eq!(delivered.status, 200, "{delivered:?}");
    assert_eq!(delivered.body["outcome"], "ignored");
    assert_eq!(balance(&app, LedgerAccount::Refunds).await, 1_001);

    // More than is left is refused; everything left (the default) is refunded.
    let over = refund(
        &app,
        &cast.admin,
        order_id,
        "over",
        &json!({"reason": "r", "amount_cents": total - 1_000}),
    )
    .await;
    assert_eq!(over.status, 409, "{over:?}");
    assert_eq!(over.problem(), "refund-exceeds-remaining");
    let rest = refund(&app, &cast.admin, order_id, "rest", &json!({"reason": "r"})).await;
    assert_eq!(rest.status, 201, "{rest:?}");
    assert_eq!(cents(&rest.body["amount_cents"]), total - 1_001);
    // Whole, the two refunds took exactly the freelancer's net and the platform's fees.
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPending(freelancer)).await,
        0
    );
    assert_eq!(balance(&app, LedgerAccount::PlatformFees).await, 0);
    assert_eq!(balance(&app, LedgerAccount::Refunds).await, total);
    assert_ledger_balances(&app, freelancer).await;
    let done = refund(&app, &cast.admin, order_id, "done", &json!({"reason": "r"})).await;
    assert_eq!(done.problem(), "order-not-refundable");

    // Stripe refunded the charge whole, in the same two parts.
    let event = charge_refunded(&app, order_id).await;
    assert_eq!(event["data"]["object"]["amount_refunded"], total, "{event}");
    assert_eq!(event["data"]["object"]["refunded"], true);
    let delivered = app
        .deliver_stripe_event(
            &event,
            WEBHOOK_SECRET,
            OffsetDateTime::now_utc().unix_timestamp(),
        )
        .await;
    assert_eq!(delivered.status, 200, "{delivered:?}");
    assert_eq!(balance(&app, LedgerAccount::Refunds).await, total);
    // The order shows what was refunded; the audit log has both refunds.
    let order = app.order(&cast.client, order_id).await.body;
    assert_eq!(cents(&order["refunded_cents"]), total);
    assert_eq!(order["status"], "completed");
    let audit = app
        .get(
            &format!("/admin/audit?target={order_id}"),
            Some(&cast.admin.access_token),
        )
        .await;
    assert_eq!(audit.status, 200, "{audit:?}");
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    assert_eq!(actions, ["refund_order", "refund_order"], "{audit:?}");
    // The freelancer's payouts page shows the refunds taken from their pending earnings.
    let page = app
        .get("/me/payouts", Some(&cast.freelancer.access_token))
        .await;
    let refunds: Vec<i64> = page.body["entries"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "admin_refund")
        .map(|entry| cents(&entry["pending_change_cents"]))
        .collect();
    assert_eq!(refunds.len(), 2, "{page:?}");
    assert_eq!(refunds.iter().sum::<i64>(), -net);
}

#[tokio::test]
async fn a_refund_after_the_payout_reverses_the_transfer_or_leaves_a_debt() {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    let freelancer = cast.freelancer.id;
    app.onboard(&cast.freelancer).await;
    let first = app.place_order(&cast.client, &gig).await;
    complete(&app, &cast.client, &cast.freelancer, first).await;
    let second = app.place_order(&cast.client, &gig).await;
    complete(&app, &cast.client, &cast.freelancer, second).await;
    let net = balance(&app, LedgerAccount::FreelancerPending(freelancer)).await / 2;
    let later = OffsetDateTime::now_utc() + Duration::days(15);
    clear_earnings(&app.state.store, Duration::days(14), later, 100)
        .await
        .unwrap();
    let withdrawn = app
        .withdraw(&cast.freelancer, "all", &json!({"currency": "EUR"}))
        .await;
    assert_eq!(withdrawn.status, 201, "{withdrawn:?}");
    assert_eq!(cents(&withdrawn.body["amount_cents"]), 2 * net);

    // The first order's whole refund: its net was paid out, and the connected account still
    // holds it, so the transfer is reversed and no debt is left.
    let reversed = refund(&app, &cast.admin, first, "first", &json!({"reason": "r"})).await;
    assert_eq!(reversed.status, 201, "{reversed:?}");
    assert_eq!(cents(&reversed.body["paid_out_cents"]), net);
    assert_eq!(cents(&reversed.body["reversed_cents"]), net);
    assert!(
        reversed.body["reversals"][0]["reversal_id"]
            .as_str()
            .unwrap()
            .starts_with("trr_"),
        "{reversed:?}"
    );
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerDebt(freelancer)).await,
        0
    );
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPaidOut(freelancer)).await,
        net
    );
    assert_ledger_balances(&app, freelancer).await;

    // The freelancer's money goes to their bank: the second order's refund finds nothing to
    // reverse, and its paid-out share stays owed.
    app.pay_out_to_bank(&cast.freelancer, net).await;
    let owed = refund(&app, &cast.admin, second, "second", &json!({"reason": "r"})).await;
    assert_eq!(owed.status, 201, "{owed:?}");
    assert_eq!(cents(&owed.body["paid_out_cents"]), net);
    assert_eq!(cents(&owed.body["reversed_cents"]), 0);
    assert_eq!(owed.body["reversals_tried"], true);
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerDebt(freelancer)).await,
        -net
    );
    let page = app
        .get("/me/payouts", Some(&cast.freelancer.access_token))
        .await;
    assert_eq!(cents(&page.body["balances"][0]["owed_cents"]), net);
    assert_ledger_balances(&app, freelancer).await;
    // The admins' figures: one order's net paid out for good, the other's owed.
    let metrics = app
        .get("/admin/metrics", Some(&cast.admin.access_token))
        .await;
    assert_eq!(metrics.status, 200, "{metrics:?}");
    assert_eq!(cents(&metrics.body["paid_out_cents"]["EUR"]), net);
    assert_eq!(
        cents(&metrics.body["owed_by_freelancers_cents"]["EUR"]),
        net
    );
    assert_eq!(cents(&metrics.body["earnings_pending_cents"]["EUR"]), 0);
    assert_eq!(cents(&metrics.body["earnings_available_cents"]["EUR"]), 0);
}

/// Stripe is out of reach when an admin refunds a paid-out order, and then loses its answer to
/// the reversal it made: the scheduler finishes both with the same keys. Stripe ends with one
/// refund and one reversal, and the debt the refund booked is repaid once.
#[tokio::test]
async fn the_scheduler_finishes_an_admin_refund_stripe_did_not_answer() {
    let app = TestApp::new().await;
    let store = &app.state.store;
    let (cast, order_id, transfer_id) = paid_out_order(&app).await;
    let freelancer = cast.freelancer.id;
    let net = balance(&app, LedgerAccount::FreelancerPaidOut(freelancer)).await;
    let now = OffsetDateTime::now_utc();

    // Written, never answered: the refund stays `requested` with its paid-out share a debt.
    let refund_id = refund_while_stripe_is_down(&app, &cast.admin, order_id, None, now).await;
    let written = store.get_admin_refund(refund_id).await.unwrap().unwrap();
    assert_eq!(written.status, RefundStatus::Requested);
    assert_eq!(i64::try_from(written.paid_out_cents).unwrap(), net);
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerDebt(freelancer)).await,
        -net
    );
    assert_ledger_balances(&app, freelancer).await;

    // The scheduler's first try: Stripe refunds, then reverses the transfer but its answer is
    // lost. The reversal is not booked yet, and the refund stays on the list.
    stripe::lose_next_answer("POST", &format!("/v1/transfers/{transfer_id}/reversals")).await;
    let soon = now + Duration::minutes(10);
    let first = scheduler::run(store, &app.stripe, soon).await.unwrap();
    assert_eq!(first.admin_refunds_finished, 0, "{first:?}");
    let half = store.get_admin_refund(refund_id).await.unwrap().unwrap();
    assert_eq!(half.status, RefundStatus::Succeeded, "{half:?}");
    assert!(
        half.reversals.is_empty() && !half.reversals_tried,
        "{half:?}"
    );

    // The second finds the reversal Stripe made on the transfer and books it, once.
    let second = scheduler::run(store, &app.stripe, soon).await.unwrap();
    assert_eq!(second.admin_refunds_finished, 1, "{second:?}");
    let done = store.get_admin_refund(refund_id).await.unwrap().unwrap();
    assert!(done.reversals_tried, "{done:?}");
    assert_eq!(done.reversals.len(), 1, "{done:?}");
    assert_eq!(i64::try_from(done.reversed_cents()).unwrap(), net);
    let idle = scheduler::run(store, &app.stripe, soon).await.unwrap();
    assert_eq!(idle.admin_refunds_finished, 0, "off the list: {idle:?}");

    // Stripe holds one refund of the whole charge and one reversal of the whole transfer.
    let charge = app
        .payment_intent(order_id)
        .await
        .latest_charge
        .expect("a charge");
    let (status, charge) = stripe::raw(Method::GET, &format!("/v1/charges/{charge}"), "").await;
    assert_eq!(status, StatusCode::OK, "{charge}");
    let refunds = charge["refunds"]["data"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{charge}");
    assert_eq!(refunds[0]["id"].as_str(), done.refund_id.as_deref());
    assert_eq!(charge["amount_refunded"], charge["amount"], "{charge}");
    let transfer = app.transfer_of(order_id).await;
    assert_eq!(transfer.amount_reversed, net, "{transfer:?}");
    assert_eq!(transfer.reversals.data.len(), 1, "{transfer:?}");
    assert_eq!(transfer.reversals.data[0].id, done.reversals[0].reversal_id);
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerDebt(freelancer)).await,
        0
    );
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPaidOut(freelancer)).await,
        0
    );
    assert_ledger_balances(&app, freelancer).await;
}

/// A transfer embeds only its ten newest reversals. An earlier attempt at a partial refund's
/// reversal was made at Stripe and its answer lost long enough ago that Stripe no longer holds
/// its Idempotency-Key (it keeps them 24 hours); ten reversals for other causes came after it.
/// The scheduler pages `GET /v1/transfers/{id}/reversals` past the ten, finds it by its cause and
/// books it: Stripe holds one reversal for the refund, not two.
#[tokio::test]
async fn a_reversal_beyond_the_ten_a_transfer_embeds_is_found_not_made_again() {
    let app = TestApp::new().await;
    let store = &app.state.store;
    let (cast, order_id, transfer_id) = paid_out_order(&app).await;
    let freelancer = cast.freelancer.id;
    let net = balance(&app, LedgerAccount::FreelancerPaidOut(freelancer)).await;
    let total = cents(&app.order(&cast.client, order_id).await.body["client_total_cents"]);
    let now = OffsetDateTime::now_utc();

    // Half the order refunded while Stripe is out of reach: its paid-out share is owed.
    let half = Some(u64::try_from(total / 2).unwrap());
    let refund_id = refund_while_stripe_is_down(&app, &cast.admin, order_id, half, now).await;
    let share = store
        .get_admin_refund(refund_id)
        .await
        .unwrap()
        .unwrap()
        .paid_out_cents;
    let share = i64::try_from(share).unwrap();
    assert!(share > 0 && share + 10 < net, "share {share} of {net}");

    // The earlier attempt's reversal, under a key the retry does not send, then ten newer ones.
    let cause = format!("admin-refund:{refund_id}");
    let earlier = app
        .stripe
        .create_transfer_reversal(
            &transfer_id,
            Some(share),
            &cause,
            &format!("{cause}:earlier"),
        )
        .await
        .unwrap();
    for n in 0..10 {
        app.stripe
            .create_transfer_reversal(
                &transfer_id,
                Some(1),
                &format!("other:{refund_id}:{n}"),
                &format!("other:{refund_id}:{n}"),
            )
            .await
            .unwrap();
    }
    let embedded = app.transfer_of(order_id).await.reversals;
    assert_eq!(embedded.data.len(), 10, "{embedded:?}");
    assert!(embedded.has_more, "{embedded:?}");
    assert!(
        embedded
            .data
            .iter()
            .all(|reversal| reversal.id != earlier.id)
    );
    // Stripe's list pages newest first, `has_more` until the last page.
    let path = format!("/v1/transfers/{transfer_id}/reversals");
    let (status, first) = stripe::raw(Method::GET, &format!("{path}?limit=6"), "").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (first["has_more"].as_bool(), first["url"].as_str()),
        (Some(true), Some(path.as_str()))
    );
    assert_eq!(first["data"][0]["id"], embedded.data[0].id.as_str());
    let last = first["data"][5]["id"].as_str().unwrap();
    let (_, rest) = stripe::raw(
        Method::GET,
        &format!("{path}?limit=6&starting_after={last}"),
        "",
    )
    .await;
    assert_eq!(rest["has_more"], false, "{rest}");
    assert_eq!(rest["data"].as_array().unwrap().len(), 5, "{rest}");
    assert_eq!(
        rest["data"][4]["id"],
        earlier.id.as_str(),
        "the oldest comes last"
    );

    let run = scheduler::run(store, &app.stripe, now + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(run.admin_refunds_finished, 1, "{run:?}");
    let done = store.get_admin_refund(refund_id).await.unwrap().unwrap();
    assert_eq!(done.reversals.len(), 1, "{done:?}");
    assert_eq!(done.reversals[0].reversal_id, earlier.id);
    let all = app
        .stripe
        .list_transfer_reversals(&transfer_id, None)
        .await
        .unwrap();
    assert_eq!(all.data.len(), 11, "{all:?}");
    assert_eq!(
        all.data
            .iter()
            .filter(|reversal| reversal.cause() == Some(cause.as_str()))
            .count(),
        1,
        "no second reversal for the refund: {all:?}"
    );
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerDebt(freelancer)).await,
        0
    );
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPaidOut(freelancer)).await,
        net - share
    );
    assert_ledger_balances(&app, freelancer).await;
}

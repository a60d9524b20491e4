//! The scheduler's daily reconciliation against the real local stack (DynamoDB Local and the
//! Stripe emulator's own event list): a payment and a refund whose webhooks never arrived are
//! applied by the next pass as the webhook would have applied them, once; a pass is not
//! redone before it is due again; and events about another table's orders (every test's
//! events are on the emulator's one list) change nothing.

use gigmarket_shared::app::reconciliation::reconcile_if_due;
use gigmarket_shared::domain::gig::Gig;
use gigmarket_shared::domain::ledger::LedgerAccount;
use gigmarket_shared::domain::reconciliation::INTERVAL_SECS;
use gigmarket_tests::fixtures::Cast;
use gigmarket_tests::payments::{CARD_OK, assert_ledger_balances, balance, confirm_with};
use gigmarket_tests::{TestApp, WEBHOOK_SECRET};
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// What the basic package of a test gig charges: 5,000 price + 275 service fee.
const CLIENT_TOTAL: i64 = 5_275;

async fn setup() -> (TestApp, Cast, Gig) {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    (app, cast, gig)
}

/// Places an order and pays for it with a test card that succeeds; Stripe's
/// `payment_intent.succeeded` is never delivered. Answers the order and its intent's id.
async fn paid_but_never_told(app: &TestApp, cast: &Cast, gig: &Gig) -> (Uuid, String) {
    let order_id = app.place_unpaid_order(&cast.client, gig).await;
    let intent_id = app.payment_intent(order_id).await.id;
    let (status, body) = confirm_with(&intent_id, CARD_OK).await;
    assert!(status.is_success(), "{}", String::from_utf8_lossy(&body));
    (order_id, intent_id)
}

async fn status_of(app: &TestApp, cast: &Cast, order_id: Uuid) -> Value {
    let order = app.order(&cast.client, order_id).await;
    assert_eq!(order.status, 200, "{order:?}");
    order.body["status"].clone()
}

async fn run(app: &TestApp, at: OffsetDateTime) -> scheduler::RunSummary {
    scheduler::run(&app.state.store, &app.stripe, at)
        .await
        .expect("scheduler run")
}

#[tokio::test]
async fn a_payment_whose_webhook_was_lost_is_applied_once_by_the_next_pass() {
    let (app, cast, gig) = setup().await;
    let (order_id, intent_id) = paid_but_never_told(&app, &cast, &gig).await;
    assert_eq!(status_of(&app, &cast, order_id).await, "awaiting_payment");
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 0);

    // Another table's pass sees this payment on the shared event list: nothing of its own
    // changes, and nothing of this table either.
    let (other, other_cast, _) = setup().await;
    let now = OffsetDateTime::now_utc();
    let elsewhere = run(&other, now).await;
    assert_eq!(elsewhere, scheduler::RunSummary::default());
    assert_ledger_balances(&other, other_cast.freelancer.id).await;
    assert_eq!(status_of(&app, &cast, order_id).await, "awaiting_payment");

    let healed = run(&app, now).await;
    assert_eq!(
        healed,
        scheduler::RunSummary {
            events_reconciled: 1,
            ..scheduler::RunSummary::default()
        }
    );
    assert_eq!(status_of(&app, &cast, order_id).await, "pending");
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, CLIENT_TOTAL);
    let succeeded = app
        .stripe_event("payment_intent.succeeded", |intent| {
            intent["id"] == intent_id
        })
        .await;
    let event_id = succeeded["id"].as_str().unwrap();
    assert!(
        app.state
            .store
            .processor_event_applied(event_id)
            .await
            .unwrap(),
        "recorded as applied, as the webhook records it"
    );

    // The delivery arrives after all: it changes nothing.
    let late = app
        .deliver_stripe_event(&succeeded, WEBHOOK_SECRET, now.unix_timestamp())
        .await;
    assert_eq!(late.status, 200, "{late:?}");
    let outcome = late.body["outcome"].as_str().unwrap_or_default();
    assert!(
        ["ignored", "already_applied"].contains(&outcome),
        "{late:?}"
    );

    // Again at once (not due), and a day on (due, the same event in its window): nothing more.
    assert_eq!(run(&app, now).await, scheduler::RunSummary::default());
    let next_day = now + Duration::seconds(INTERVAL_SECS) + Duration::minutes(1);
    assert_eq!(run(&app, next_day).await, scheduler::RunSummary::default());
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, CLIENT_TOTAL);
    assert_eq!(status_of(&app, &cast, order_id).await, "pending");
    assert_ledger_balances(&app, cast.freelancer.id).await;
}

/// The first pass runs to its end; a payment made right after it is left for the next pass a
/// day later, which applies it before the 24-hour expiry of unpaid orders would cancel the order.
#[tokio::test]
async fn a_pass_is_not_redone_before_it_is_due_again() {
    let (app, cast, gig) = setup().await;
    let now = OffsetDateTime::now_utc();
    // The first pass covers Stripe's 30 days: every test's events on the shared list, more than
    // one run's bound in a full test run. It goes on at once until it reaches the end.
    for runs in 1.. {
        let first = reconcile_if_due(&app.state.store, &app.stripe, now)
            .await
            .expect("reconciliation");
        assert!(first.ran && runs < 200, "{first:?} after {runs} runs");
        assert_eq!(first.applied, 0, "no order of this table is on Stripe yet");
        if first.finished {
            break;
        }
    }

    let (order_id, _) = paid_but_never_told(&app, &cast, &gig).await;
    let soon = now + Duration::minutes(15);
    assert_eq!(run(&app, soon).await, scheduler::RunSummary::default());
    assert_eq!(status_of(&app, &cast, order_id).await, "awaiting_payment");

    let due = now + Duration::seconds(INTERVAL_SECS) + Duration::minutes(15);
    let next = run(&app, due).await;
    assert_eq!((next.events_reconciled, next.expired), (1, 0), "{next:?}");
    assert_eq!(status_of(&app, &cast, order_id).await, "pending");
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, CLIENT_TOTAL);
    assert_ledger_balances(&app, cast.freelancer.id).await;
}

/// A rejection's refund went out to Stripe, but its answer and then `charge.refunded` were
/// lost: the order still shows the refund `requested`. The pass confirms it from Stripe's
/// event, so the scheduler does not ask for it again.
#[tokio::test]
async fn a_refund_whose_confirmation_was_lost_is_confirmed_by_the_next_pass() {
    let (app, cast, gig) = setup().await;
    let order_id = app.place_order(&cast.client, &gig).await;
    let intent_id = app.payment_intent(order_id).await.id;
    app.reject_while_stripe_is_down(cast.freelancer.id, order_id)
        .await;
    // The refund reaches Stripe (the same call and key the scheduler's retry makes), but its
    // answer never comes back.
    let refund = app
        .stripe
        .refund_payment_intent(&order_id.to_string(), &intent_id)
        .await
        .expect("Stripe refunds");
    let order = app.order(&cast.client, order_id).await.body;
    assert_eq!(order["refund"]["status"], "requested", "{order}");

    let now = OffsetDateTime::now_utc();
    let healed = run(&app, now).await;
    assert_eq!(
        (healed.events_reconciled, healed.refunds_issued),
        (1, 0),
        "{healed:?}"
    );
    let order = app.order(&cast.client, order_id).await.body;
    assert_eq!(order["status"], "rejected");
    assert_eq!(order["refund"]["status"], "succeeded", "{order}");
    assert_eq!(order["refund"]["refund_id"], refund.id.as_str());
    assert_eq!(balance(&app, LedgerAccount::Refunds).await, CLIENT_TOTAL);
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 0);

    let next_day = now + Duration::seconds(INTERVAL_SECS) + Duration::minutes(1);
    assert_eq!(run(&app, next_day).await, scheduler::RunSummary::default());
    assert_eq!(
        app.order(&cast.client, order_id).await.body["refund"],
        order["refund"]
    );
    assert_eq!(balance(&app, LedgerAccount::Refunds).await, CLIENT_TOTAL);
    assert_ledger_balances(&app, cast.freelancer.id).await;
}

/// Two runs at the same moment (EventBridge delivers at least once): one claims the pass and
/// applies the payment, the other finds it claimed and does nothing; neither fails.
#[tokio::test]
async fn of_two_runs_at_once_only_one_does_the_pass() {
    let (app, cast, gig) = setup().await;
    let (order_id, _) = paid_but_never_told(&app, &cast, &gig).await;
    let now = OffsetDateTime::now_utc();
    let (first, second) = tokio::join!(run(&app, now), run(&app, now));
    assert_eq!(
        first.events_reconciled + second.events_reconciled,
        1,
        "{first:?} {second:?}"
    );
    assert_eq!(status_of(&app, &cast, order_id).await, "pending");
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, CLIENT_TOTAL);
    assert_ledger_balances(&app, cast.freelancer.id).await;
}

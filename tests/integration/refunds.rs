//! Money after payment, through the real local stack (DynamoDB Local, the Stripe emulator and its
//! own signed events): a paid order that is rejected or cancelled is refunded whole at Stripe and
//! in the ledger, confirmed by `charge.refunded`; a payment that succeeds after its order was
//! cancelled is refunded at once; completion releases escrow to the freelancer and the platform;
//! an unpaid order expires and its PaymentIntent is cancelled; a refund Stripe could not take is
//! asked for again by the scheduler. After each, the ledger's balances sum to zero.

use gigmarket_shared::domain::gig::Gig;
use gigmarket_shared::domain::ledger::LedgerAccount;
use gigmarket_shared::stripe::client::PaymentIntentStatus;
use gigmarket_tests::fixtures::Cast;
use gigmarket_tests::payments::{CARD_OK, assert_ledger_balances, balance, confirm_with};
use gigmarket_tests::{TestApp, TestResponse, WEBHOOK_SECRET};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// What the basic package of a test gig charges: 5,000 price + 275 service fee.
const CLIENT_TOTAL: i64 = 5_275;

async fn setup() -> (TestApp, Cast, Gig) {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    (app, cast, gig)
}

/// Delivers `event` to the webhook as Stripe does, signed now.
async fn deliver(app: &TestApp, event: &Value) -> TestResponse {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    app.deliver_stripe_event(event, WEBHOOK_SECRET, now).await
}

/// Stripe's `charge.refunded` event of the order's PaymentIntent.
async fn charge_refunded(app: &TestApp, intent_id: &str) -> Value {
    app.stripe_event("charge.refunded", |charge| {
        charge["payment_intent"] == intent_id
    })
    .await
}

/// The order as its client reads it.
async fn client_view(app: &TestApp, cast: &Cast, order_id: Uuid) -> Value {
    let order = app.order(&cast.client, order_id).await;
    assert_eq!(order.status, 200, "{order:?}");
    order.body
}

/// A refunded order: its refund is Stripe's and confirmed, the charge is refunded at Stripe, and
/// the whole charge moved from `from` to refunds in the ledger, once.
async fn assert_refunded(app: &TestApp, cast: &Cast, order_id: Uuid, intent_id: &str) {
    let confirmation = charge_refunded(app, intent_id).await;
    assert_eq!(
        confirmation["data"]["object"]["amount_refunded"],
        CLIENT_TOTAL
    );
    let refund_id = confirmation["data"]["object"]["refunds"]["data"][0]["id"].clone();
    let answered = deliver(app, &confirmation).await;
    assert_eq!(answered.status, 200, "{answered:?}");
    let order = client_view(app, cast, order_id).await;
    assert_eq!(
        order["refund"],
        json!({"status": "succeeded", "amount_cents": CLIENT_TOTAL, "refund_id": refund_id,
               "requested_at": order["refund"]["requested_at"]}),
        "{order}"
    );
    assert_eq!(balance(app, LedgerAccount::Refunds).await, CLIENT_TOTAL);
    assert_eq!(balance(app, LedgerAccount::Escrow).await, 0);
    assert!(
        app.state
            .store
            .ledger_transaction_exists(&format!("order-refunded:{order_id}"))
            .await
            .unwrap()
    );
    // Delivered again, it changes nothing.
    let again = deliver(app, &confirmation).await;
    assert_eq!(again.status, 200);
    assert_ne!(again.body["outcome"], "recorded", "{again:?}");
    assert_ledger_balances(app, cast.freelancer.id).await;
}

#[tokio::test]
async fn a_rejected_paid_order_is_refunded_whole_once() {
    let (app, cast, gig) = setup().await;
    let order_id = app.place_order(&cast.client, &gig).await;
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, CLIENT_TOTAL);
    let intent_id = app.payment_intent(order_id).await.id;

    let rejected = app.order_action(&cast.freelancer, order_id, "reject").await;
    assert_eq!(rejected.status, 200, "{rejected:?}");
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(rejected.body["refund"]["amount_cents"], CLIENT_TOTAL);
    assert_ne!(
        rejected.body["refund"]["status"], "requested",
        "Stripe took the refund at once: {rejected:?}"
    );
    // A second reject is refused and refunds nothing more.
    let again = app.order_action(&cast.freelancer, order_id, "reject").await;
    assert_eq!(again.status, 409, "{again:?}");
    assert_refunded(&app, &cast, order_id, &intent_id).await;
}

#[tokio::test]
async fn a_client_cancel_and_an_admin_cancel_of_paid_orders_refund_them() {
    let (app, cast, gig) = setup().await;
    let order_id = app.place_order(&cast.client, &gig).await;
    let intent_id = app.payment_intent(order_id).await.id;
    let cancelled = app.order_action(&cast.client, order_id, "cancel").await;
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert_refunded(&app, &cast, order_id, &intent_id).await;

    // An admin cancels an order already in progress: refunded the same way.
    let (app, cast, gig) = setup().await;
    let admin = app.create_admin().await;
    let order_id = app.order_in(&cast, &gig, "in_progress").await;
    let intent_id = app.payment_intent(order_id).await.id;
    let cancelled = app
        .post(
            &format!("/admin/orders/{order_id}/cancel"),
            &json!({"reason": "Fraud check failed."}),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert_eq!(
        cancelled.body["order"]["refund"]["amount_cents"],
        CLIENT_TOTAL
    );
    assert_refunded(&app, &cast, order_id, &intent_id).await;
}

#[tokio::test]
async fn an_unpaid_cancelled_order_moves_no_money_and_its_intent_is_cancelled() {
    let (app, cast, gig) = setup().await;
    let order_id = app.place_unpaid_order(&cast.client, &gig).await;
    let cancelled = app.order_action(&cast.client, order_id, "cancel").await;
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert!(cancelled.body.get("refund").is_none(), "{cancelled:?}");
    let intent = app.payment_intent(order_id).await;
    assert_eq!(intent.status, PaymentIntentStatus::Canceled);
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 0);
    assert_eq!(balance(&app, LedgerAccount::StripeClearing).await, 0);
    // Nobody told the freelancer of an order they never saw.
    let theirs = app.order(&cast.freelancer, order_id).await;
    assert_eq!(theirs.status, 404, "{theirs:?}");
}

/// The client cancels while the card is being charged: Stripe's success arrives for a
/// cancelled order, which is refunded at once and stays closed and unseen by the freelancer.
#[tokio::test]
async fn a_payment_that_succeeds_after_the_cancel_is_refunded_at_once() {
    let (app, cast, gig) = setup().await;
    let order_id = app.place_unpaid_order(&cast.client, &gig).await;
    let intent_id = app.payment_intent(order_id).await.id;
    let (status, body) = confirm_with(&intent_id, CARD_OK).await;
    assert!(status.is_success(), "{}", String::from_utf8_lossy(&body));
    // The cancel reaches us before Stripe's webhook; the intent can no longer be cancelled.
    let cancelled = app.order_action(&cast.client, order_id, "cancel").await;
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert!(cancelled.body.get("refund").is_none());

    let succeeded = app
        .stripe_event("payment_intent.succeeded", |intent| {
            intent["id"] == intent_id
        })
        .await;
    let answered = deliver(&app, &succeeded).await;
    assert_eq!(answered.status, 200, "{answered:?}");
    assert_eq!(answered.body["outcome"], "paid_after_close");
    let order = client_view(&app, &cast, order_id).await;
    assert_eq!(order["status"], "cancelled");
    assert!(order.get("paid_at").is_none(), "{order}");
    assert_eq!(app.order(&cast.freelancer, order_id).await.status, 404);
    // Straight from clearing to refunds: it never was held.
    assert_eq!(
        balance(&app, LedgerAccount::StripeClearing).await,
        -CLIENT_TOTAL
    );
    assert_refunded(&app, &cast, order_id, &intent_id).await;
    // The success delivered again pays nothing twice.
    let again = deliver(&app, &succeeded).await;
    assert_eq!(again.status, 200);
    assert_eq!(balance(&app, LedgerAccount::Refunds).await, CLIENT_TOTAL);
}

#[tokio::test]
async fn completion_releases_escrow_to_the_freelancer_and_the_platform() {
    let (app, cast, gig) = setup().await;
    let order_id = app.order_in(&cast, &gig, "completed").await;
    let order = client_view(&app, &cast, order_id).await;
    let net = order["freelancer_net_cents"].as_i64().unwrap();
    let fees =
        order["service_fee_cents"].as_i64().unwrap() + order["commission_cents"].as_i64().unwrap();
    assert_eq!(net + fees, CLIENT_TOTAL);
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 0);
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPending(cast.freelancer.id)).await,
        net
    );
    assert_eq!(balance(&app, LedgerAccount::PlatformFees).await, fees);
    assert!(order.get("refund").is_none());
    assert_ledger_balances(&app, cast.freelancer.id).await;
}

#[tokio::test]
async fn an_order_unpaid_for_a_day_expires_and_its_intent_is_cancelled() {
    let (app, cast, gig) = setup().await;
    let store = &app.state.store;
    let order_id = app.place_unpaid_order(&cast.client, &gig).await;
    let now = OffsetDateTime::now_utc();
    let early = scheduler::run(store, &app.stripe, now).await.unwrap();
    assert_eq!(early.expired, 0, "not a day old yet");
    store
        .move_order_deadline(order_id, now - Duration::minutes(1))
        .await
        .unwrap();
    let run = scheduler::run(store, &app.stripe, now).await.unwrap();
    assert_eq!(run.expired, 1, "{run:?}");
    let order = client_view(&app, &cast, order_id).await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["last_change"]["actor"]["role"], "system");
    assert_eq!(
        app.payment_intent(order_id).await.status,
        PaymentIntentStatus::Canceled
    );
    let idle = scheduler::run(store, &app.stripe, now).await.unwrap();
    assert_eq!(idle.expired, 0, "expired once");
}

/// Stripe cannot be reached when a paid order is rejected: the rejection stands with its
/// refund `requested`, and the scheduler's next run asks again and Stripe takes it.
#[tokio::test]
async fn a_refund_stripe_could_not_take_is_asked_for_again_by_the_scheduler() {
    let (app, cast, gig) = setup().await;
    let store = &app.state.store;
    let order_id = app.place_order(&cast.client, &gig).await;
    let intent_id = app.payment_intent(order_id).await.id;
    let rejected = app
        .reject_while_stripe_is_down(cast.freelancer.id, order_id)
        .await;
    let refund = rejected.refund.expect("a refund");
    assert_eq!(serde_json::to_value(refund.status).unwrap(), "requested");
    assert_eq!(balance(&app, LedgerAccount::Refunds).await, CLIENT_TOTAL);

    let run = scheduler::run(store, &app.stripe, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(run.refunds_issued, 1, "{run:?}");
    let idle = scheduler::run(store, &app.stripe, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(idle.refunds_issued, 0, "off the list once Stripe has it");
    assert_refunded(&app, &cast, order_id, &intent_id).await;
}

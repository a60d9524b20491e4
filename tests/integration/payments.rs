//! `payments`: the Stripe webhook through the in-process router, with payments made against the
//! local stack's Stripe emulator and its own events, signed with the test app's webhook secret.
//! A forged or stale delivery is refused before anything is read; a real one moves the order and
//! the ledger once, however often it is delivered, and never backwards. The client's side is
//! played as a browser plays it (a declined card retried on the same intent, a 3-D Secure
//! challenge passed), and a yen price is charged in whole yen.

use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::domain::ledger::LedgerAccount;
use gigmarket_shared::domain::money::Currency;
use gigmarket_shared::stripe::signature;
use gigmarket_tests::fixtures::{Cast, order_body};
use gigmarket_tests::payments::{CARD_3DS, CARD_DECLINED, CARD_OK, authenticate, confirm_with};
use gigmarket_tests::{RawRequest, TestApp, TestResponse, WEBHOOK_SECRET};
use serde_json::{Value, json};
use uuid::Uuid;

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// One webhook delivery as Stripe sends it: the `Stripe-Signature` header and the raw body.
struct Delivery {
    header: String,
    body: String,
}

/// `event` as Stripe delivers it, signed at `signed_at` with `secret`.
fn signed(event: &Value, secret: &str, signed_at: i64) -> Delivery {
    let body = event.to_string();
    let header = signature::header(secret.as_bytes(), signed_at, body.as_bytes());
    Delivery { header, body }
}

/// Sends `delivery` to the webhook, byte for byte.
async fn send(app: &TestApp, delivery: &Delivery) -> TestResponse {
    app.send(
        RawRequest::new("POST", "/webhooks/stripe")
            .header("Stripe-Signature", &delivery.header)
            .raw_body("application/json", delivery.body.clone()),
    )
    .await
}

/// Delivers `event` as Stripe does, signed at `signed_at` with `secret`.
async fn deliver(app: &TestApp, event: &Value, secret: &str, signed_at: i64) -> TestResponse {
    app.deliver_stripe_event(event, secret, signed_at).await
}

/// The emulator's own event of `kind` about the PaymentIntent `intent_id`.
async fn stripe_event(app: &TestApp, intent_id: &str, kind: &str) -> Value {
    app.stripe_event(kind, |intent| intent["id"] == intent_id)
        .await
}

/// An order placed, unpaid, and the id of its PaymentIntent.
async fn unpaid_order(app: &TestApp, cast: &Cast) -> (Uuid, String) {
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let order_id = app.place_unpaid_order(&cast.client, &gig).await;
    let intent = app.payment_intent(order_id).await;
    (order_id, intent.id)
}

async fn balance(app: &TestApp, account: LedgerAccount) -> i64 {
    balance_in(app, account, "EUR").await
}

async fn balance_in(app: &TestApp, account: LedgerAccount, currency: &str) -> i64 {
    app.state
        .store
        .ledger_balance(account, &Currency::parse(currency).unwrap())
        .await
        .unwrap()
}

/// Delivers `event` signed now with the app's secret and checks what it did (`outcome`).
async fn deliver_now(app: &TestApp, event: &Value, outcome: &str) {
    let response = deliver(app, event, WEBHOOK_SECRET, now_unix()).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body["outcome"], outcome, "{response:?}");
}

/// Delivers the emulator's `payment_intent.succeeded` of `intent_id` and checks the order is
/// paid: `pending`, in front of its freelancer.
async fn deliver_success(app: &TestApp, cast: &Cast, order_id: Uuid, intent_id: &str) {
    let event = stripe_event(app, intent_id, "payment_intent.succeeded").await;
    deliver_now(app, &event, "paid").await;
    let order = app.order(&cast.freelancer, order_id).await;
    assert_eq!(
        order.status, 200,
        "the freelancer sees it once paid: {order:?}"
    );
    assert_eq!(order.body["status"], "pending");
    assert_eq!(order.body["payment"]["status"], "succeeded");
    assert!(order.body["payment"]["error"].is_null(), "{:?}", order.body);
}

/// The order as its client sees it while unpaid: `awaiting_payment` with `payment_status`,
/// hidden from its freelancer, no money in escrow.
async fn assert_unpaid(app: &TestApp, cast: &Cast, order_id: Uuid, payment_status: &str) -> Value {
    let order = app.order(&cast.client, order_id).await;
    assert_eq!(order.status, 200, "{order:?}");
    assert_eq!(order.body["status"], "awaiting_payment");
    assert_eq!(
        order.body["payment"]["status"], payment_status,
        "{:?}",
        order.body
    );
    assert_eq!(app.order(&cast.freelancer, order_id).await.status, 404);
    assert_eq!(balance(app, LedgerAccount::Escrow).await, 0);
    order.body
}

/// The client's card is declined: the emulator's `payment_intent.payment_failed` about it.
async fn decline(app: &TestApp, intent_id: &str) -> Value {
    let (status, _) = confirm_with(intent_id, CARD_DECLINED).await;
    assert_eq!(status.as_u16(), 402);
    let event = stripe_event(app, intent_id, "payment_intent.payment_failed").await;
    assert_eq!(
        event["data"]["object"]["status"], "requires_payment_method",
        "{event}"
    );
    event
}

/// The client confirms with a card whose bank asks for 3-D Secure: the emulator's
/// `payment_intent.requires_action` about it.
async fn ask_for_authentication(app: &TestApp, intent_id: &str) -> Value {
    let (status, body) = confirm_with(intent_id, CARD_3DS).await;
    assert!(status.is_success(), "{}", String::from_utf8_lossy(&body));
    let confirmed: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(confirmed["status"], "requires_action", "{confirmed}");
    stripe_event(app, intent_id, "payment_intent.requires_action").await
}

/// The client passes the bank's challenge, with the client secret their browser holds.
async fn pass_authentication(app: &TestApp, order_id: Uuid, intent_id: &str) {
    let client_secret = app
        .payment_intent(order_id)
        .await
        .client_secret
        .expect("the intent's client secret");
    let (status, body) = authenticate(intent_id, &client_secret).await;
    assert!(status.is_success(), "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn a_paid_order_moves_once_into_escrow_however_often_stripe_delivers() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let (order_id, intent_id) = unpaid_order(&app, &cast).await;
    let (status, body) = confirm_with(&intent_id, CARD_OK).await;
    assert!(status.is_success(), "{}", String::from_utf8_lossy(&body));
    let event = stripe_event(&app, &intent_id, "payment_intent.succeeded").await;

    let first = deliver(&app, &event, WEBHOOK_SECRET, now_unix()).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["outcome"], "paid");
    let order = app.order(&cast.freelancer, order_id).await;
    assert_eq!(
        order.status, 200,
        "the freelancer sees it once paid: {order:?}"
    );
    assert_eq!(order.body["status"], "pending");
    assert_eq!(order.body["payment"]["status"], "succeeded");
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 5_275);
    assert_eq!(balance(&app, LedgerAccount::StripeClearing).await, -5_275);
    assert!(
        app.state
            .store
            .ledger_transaction_exists(&format!("order-paid:{order_id}"))
            .await
            .unwrap()
    );

    // Stripe delivers at least once: the same event again changes nothing.
    let again = deliver(&app, &event, WEBHOOK_SECRET, now_unix()).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["outcome"], "ignored", "{again:?}");
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 5_275);
    let timeline = app.order(&cast.client, order_id).await.body["timeline"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(timeline, 2, "placed, paid");

    // An older report arriving late (a failed attempt before the success) changes nothing.
    let mut stale_report = event.clone();
    stale_report["id"] = json!(format!("evt_late_{}", Uuid::new_v4().simple()));
    stale_report["type"] = json!("payment_intent.payment_failed");
    stale_report["data"]["object"]["status"] = json!("requires_payment_method");
    let late = deliver(&app, &stale_report, WEBHOOK_SECRET, now_unix()).await;
    assert_eq!(late.status, 200, "{late:?}");
    assert_eq!(late.body["outcome"], "ignored");
    let order = app.order(&cast.client, order_id).await;
    assert_eq!(order.body["status"], "pending");
    assert_eq!(order.body["payment"]["status"], "succeeded");
}

#[tokio::test]
async fn forged_stale_and_unsigned_deliveries_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let (order_id, intent_id) = unpaid_order(&app, &cast).await;
    let (status, _) = confirm_with(&intent_id, CARD_OK).await;
    assert!(status.is_success());
    let event = stripe_event(&app, &intent_id, "payment_intent.succeeded").await;

    let forged = deliver(&app, &event, "whsec_someone_else", now_unix()).await;
    let stale = deliver(&app, &event, WEBHOOK_SECRET, now_unix() - 301).await;
    let unsigned = app
        .send(
            RawRequest::new("POST", "/webhooks/stripe")
                .raw_body("application/json", event.to_string()),
        )
        .await;
    // Signed, then changed: the body is not what was signed.
    let body = event.to_string();
    let header = signature::header(WEBHOOK_SECRET.as_bytes(), now_unix(), body.as_bytes());
    let tampered = app
        .send(
            RawRequest::new("POST", "/webhooks/stripe")
                .header("Stripe-Signature", &header)
                .raw_body("application/json", body.replace("5275", "1")),
        )
        .await;
    for (what, response) in [
        ("forged", forged),
        ("stale", stale),
        ("unsigned", unsigned),
        ("tampered", tampered),
    ] {
        assert_eq!(response.status, 400, "{what}: {response:?}");
        assert_eq!(response.problem(), "bad-request", "{what}");
    }
    let order = app.order(&cast.client, order_id).await;
    assert_eq!(order.body["status"], "awaiting_payment");
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 0);

    // Unused event types are acknowledged.
    let other = json!({"id": "evt_other", "object": "event", "type": "customer.created",
                       "created": now_unix(), "data": {"object": {"id": "cus_1"}}});
    let ignored = deliver(&app, &other, WEBHOOK_SECRET, now_unix()).await;
    assert_eq!(ignored.status, 200, "{ignored:?}");
    assert_eq!(ignored.body["outcome"], "ignored");
}

#[tokio::test]
async fn a_declined_card_shows_on_the_order_and_a_retry_on_the_same_intent_pays() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let (order_id, intent_id) = unpaid_order(&app, &cast).await;
    let event = decline(&app, &intent_id).await;
    deliver_now(&app, &event, "recorded").await;
    let order = assert_unpaid(&app, &cast, order_id, "requires_payment_method").await;
    assert!(order["payment"]["error"].is_string(), "{order:?}");
    assert_eq!(
        order["version"], 1,
        "a payment status is no change of the order"
    );
    // Delivered again: recorded once.
    deliver_now(&app, &event, "ignored").await;

    // The client tries another card on the same PaymentIntent.
    let (status, body) = confirm_with(&intent_id, CARD_OK).await;
    assert!(status.is_success(), "{}", String::from_utf8_lossy(&body));
    deliver_success(&app, &cast, order_id, &intent_id).await;
    assert_eq!(app.payment_intent(order_id).await.id, intent_id);
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 5_275);
    assert_eq!(balance(&app, LedgerAccount::StripeClearing).await, -5_275);
}

#[tokio::test]
async fn a_3d_secure_card_shows_requires_action_until_the_client_authenticates() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let (order_id, intent_id) = unpaid_order(&app, &cast).await;
    let event = ask_for_authentication(&app, &intent_id).await;
    deliver_now(&app, &event, "recorded").await;
    let order = assert_unpaid(&app, &cast, order_id, "requires_action").await;
    assert!(order["payment"]["error"].is_null(), "{order:?}");

    pass_authentication(&app, order_id, &intent_id).await;
    deliver_success(&app, &cast, order_id, &intent_id).await;
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 5_275);
}

/// Stripe may deliver an event again at any time, after newer ones: a delivery repeated byte
/// for byte changes nothing, even where what it reports differs from what the order shows now.
#[tokio::test]
async fn a_replayed_delivery_changes_nothing_after_newer_events() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let (order_id, intent_id) = unpaid_order(&app, &cast).await;
    let failed = signed(&decline(&app, &intent_id).await, WEBHOOK_SECRET, now_unix());
    let response = send(&app, &failed).await;
    assert_eq!(response.body["outcome"], "recorded", "{response:?}");

    let action = ask_for_authentication(&app, &intent_id).await;
    deliver_now(&app, &action, "recorded").await;
    assert_unpaid(&app, &cast, order_id, "requires_action").await;

    let replayed = send(&app, &failed).await;
    assert_eq!(replayed.status, 200, "{replayed:?}");
    // The unpaid states are applied from the intent as Stripe holds it now, so the replay
    // reads requires_action and has nothing to change.
    assert_eq!(replayed.body["outcome"], "ignored", "{replayed:?}");
    let order = assert_unpaid(&app, &cast, order_id, "requires_action").await;
    assert!(order["payment"]["error"].is_null(), "{order:?}");

    pass_authentication(&app, order_id, &intent_id).await;
    deliver_success(&app, &cast, order_id, &intent_id).await;
    // The request for authentication, arriving again after the payment, changes nothing.
    deliver_now(&app, &action, "ignored").await;
    let order = app.order(&cast.client, order_id).await;
    assert_eq!(order.body["status"], "pending");
    assert_eq!(order.body["payment"]["status"], "succeeded");
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 5_275);
}

/// JPY has no minor unit at Stripe: a yen price is charged in whole yen, fee and floor
/// included, never a hundredfold.
#[tokio::test]
async fn a_yen_order_is_charged_its_price_and_fee_in_whole_yen() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    // 999 yen: the 5.5 % fee is 54.945, so 55 yen (above the floor of 2 yen, below the 200 a
    // floor counted in hundredths would make it); the 20 % commission is 199.8, so 200 yen.
    let gig = TestApp::active_gig_priced(cast.freelancer.id, Revisions::Limited(1), 999, "JPY");
    app.state.store.create_gig(&gig).await.unwrap();
    let placed = app
        .place_order_with_key(&cast.client, &Uuid::new_v4().to_string(), &order_body(&gig))
        .await;
    assert_eq!(placed.status, 201, "{placed:?}");
    let order = &placed.body;
    assert_eq!(order["currency"], "JPY");
    assert_eq!(order["price_cents"], 999);
    assert_eq!(order["service_fee_cents"], 55);
    assert_eq!(order["client_total_cents"], 999 + 55);
    assert_eq!(order["commission_cents"], 200);
    assert_eq!(order["freelancer_net_cents"], 999 - 200);
    assert_eq!(order["payment"]["amount_cents"], 1_054);
    assert_eq!(order["payment"]["currency"], "JPY");

    let order_id: Uuid = order["id"].as_str().unwrap().parse().unwrap();
    let intent = app.payment_intent(order_id).await;
    assert_eq!((intent.amount, intent.currency.as_str()), (1_054, "jpy"));
    let (status, body) = confirm_with(&intent.id, CARD_OK).await;
    assert!(status.is_success(), "{}", String::from_utf8_lossy(&body));
    deliver_success(&app, &cast, order_id, &intent.id).await;
    assert_eq!(balance_in(&app, LedgerAccount::Escrow, "JPY").await, 1_054);
    assert_eq!(
        balance_in(&app, LedgerAccount::StripeClearing, "JPY").await,
        -1_054
    );
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 0);
}

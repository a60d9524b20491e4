//! `payments`: the Stripe webhook through the in-process router, with payments made against the
//! local stack's Stripe emulator and its own events, signed with the test app's webhook secret.
//! A forged or stale delivery is refused before anything is read; a real one moves the order and
//! the ledger once, however often it is delivered, and never backwards.

use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::domain::ledger::LedgerAccount;
use gigmarket_shared::domain::money::Currency;
use gigmarket_shared::stripe::client::EventsQuery;
use gigmarket_shared::stripe::signature;
use gigmarket_tests::fixtures::Cast;
use gigmarket_tests::payments::{CARD_DECLINED, CARD_OK, confirm_with};
use gigmarket_tests::{RawRequest, TestApp, TestResponse, WEBHOOK_SECRET};
use serde_json::{Value, json};
use uuid::Uuid;

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Delivers `event` as Stripe does, signed at `signed_at` with `secret`.
async fn deliver(app: &TestApp, event: &Value, secret: &str, signed_at: i64) -> TestResponse {
    let body = event.to_string();
    let header = signature::header(secret.as_bytes(), signed_at, body.as_bytes());
    app.send(
        RawRequest::new("POST", "/webhooks/stripe")
            .header("Stripe-Signature", &header)
            .raw_body("application/json", body),
    )
    .await
}

/// The emulator's own event of `kind` about the PaymentIntent `intent_id`, found by paging its
/// event list (other tests' events are on it too).
async fn stripe_event(app: &TestApp, intent_id: &str, kind: &str) -> Value {
    let mut cursor: Option<String> = None;
    loop {
        let page = app
            .stripe
            .list_events(&EventsQuery {
                created_gte: now_unix() - 300,
                starting_after: cursor.as_deref(),
                limit: 100,
            })
            .await
            .expect("listing events");
        if let Some(event) = page
            .data
            .iter()
            .find(|event| event.kind == kind && event.data.object["id"] == intent_id)
        {
            return json!({"id": event.id, "object": "event", "type": event.kind,
                          "created": event.created, "data": {"object": event.data.object}});
        }
        match page.data.last() {
            Some(last) if page.has_more => cursor = Some(last.id.clone()),
            _ => panic!("no {kind} event for {intent_id}"),
        }
    }
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
    app.state
        .store
        .ledger_balance(account, &Currency::parse("EUR").unwrap())
        .await
        .unwrap()
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
async fn a_declined_card_shows_on_the_order_and_moves_no_money() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let (order_id, intent_id) = unpaid_order(&app, &cast).await;
    let (status, _) = confirm_with(&intent_id, CARD_DECLINED).await;
    assert_eq!(status.as_u16(), 402);
    let event = stripe_event(&app, &intent_id, "payment_intent.payment_failed").await;
    assert_eq!(
        event["data"]["object"]["status"], "requires_payment_method",
        "{event}"
    );
    let response = deliver(&app, &event, WEBHOOK_SECRET, now_unix()).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body["outcome"], "recorded");
    let order = app.order(&cast.client, order_id).await;
    assert_eq!(order.body["status"], "awaiting_payment");
    assert_eq!(order.body["payment"]["status"], "requires_payment_method");
    assert!(
        order.body["payment"]["error"].is_string(),
        "{:?}",
        order.body
    );
    assert_eq!(
        order.body["version"], 1,
        "a payment status is no change of the order"
    );
    assert_eq!(app.order(&cast.freelancer, order_id).await.status, 404);
    assert_eq!(balance(&app, LedgerAccount::Escrow).await, 0);
    // Delivered again: recorded once.
    let again = deliver(&app, &event, WEBHOOK_SECRET, now_unix()).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["outcome"], "ignored");
}

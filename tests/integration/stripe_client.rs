//! The Stripe client against the local stack's localstripe (`STRIPE_API_BASE` and
//! `STRIPE_SECRET_KEY` from `scripts/env.sh`). A payment is confirmed the way a browser's
//! Stripe.js confirms it, which the server never does: the tests attach a test PaymentMethod
//! (`pm_card_visa`, `pm_card_chargeCustomerFail`, Stripe's own test ids) and call
//! `POST /v1/payment_intents/{id}/confirm` directly. Each test uses its own order ids, so tests
//! running at once share the emulator without reading each other's objects.

use std::collections::HashSet;

use gigmarket_shared::stripe::client::{
    EventsQuery, NewPaymentIntent, PaymentIntent, PaymentIntentStatus, RefundStatus, StripeClient,
    StripeConfig, StripeError,
};
use gigmarket_tests::payments::confirm_with;
use reqwest::StatusCode;
use uuid::Uuid;

fn config() -> StripeConfig {
    StripeConfig::from_env().expect(
        "STRIPE_SECRET_KEY and STRIPE_API_BASE (run scripts/stack.sh start, source scripts/env.sh)",
    )
}

fn client() -> StripeClient {
    StripeClient::new(config()).expect("the Stripe client")
}

fn order_id() -> String {
    format!("ord_{}", Uuid::new_v4().simple())
}

async fn new_intent(stripe: &StripeClient, order_id: &str) -> PaymentIntent {
    stripe
        .create_payment_intent(&NewPaymentIntent {
            order_id,
            amount_minor: 1055,
            currency: "EUR",
        })
        .await
        .expect("a new PaymentIntent")
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn an_intent_is_created_for_an_order_and_read_back() {
    let stripe = client();
    let order = order_id();
    let created = new_intent(&stripe, &order).await;
    assert!(created.id.starts_with("pi_"), "{created:?}");
    assert_eq!(created.amount, 1055);
    assert_eq!(created.currency, "eur");
    assert_eq!(created.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert_eq!(created.order_id(), Some(order.as_str()));
    assert!(created.client_secret.is_some(), "{created:?}");

    let read = stripe.retrieve_payment_intent(&created.id).await.unwrap();
    assert_eq!(read, created);

    let missing = stripe.retrieve_payment_intent("pi_nonexistent").await;
    assert!(
        matches!(&missing, Err(StripeError::Request { status, .. }) if *status == StatusCode::NOT_FOUND),
        "{missing:?}"
    );
    assert!(!missing.unwrap_err().is_retryable());
}

#[tokio::test]
async fn a_good_card_pays_the_intent_and_a_refund_gives_it_all_back() {
    let stripe = client();
    let order = order_id();
    let intent = new_intent(&stripe, &order).await;
    let (status, body) = confirm_with(&intent.id, "pm_card_visa").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));

    let paid = stripe.retrieve_payment_intent(&intent.id).await.unwrap();
    assert_eq!(paid.status, PaymentIntentStatus::Succeeded);
    assert!(paid.latest_charge.is_some(), "{paid:?}");
    assert_eq!(paid.last_payment_error, None);

    let refund = stripe
        .refund_payment_intent(&order, &intent.id)
        .await
        .unwrap();
    assert!(refund.id.starts_with("re_"), "{refund:?}");
    assert_eq!(refund.amount, 1055);
    assert_eq!(refund.currency, "eur");
    assert_eq!(refund.status, RefundStatus::Succeeded);
    assert_eq!(refund.payment_intent.as_deref(), Some(intent.id.as_str()));

    // A paid intent can no longer be cancelled: its money is refunded instead.
    let cancel = stripe.cancel_payment_intent(&intent.id).await;
    assert!(
        matches!(&cancel, Err(StripeError::Request { status, .. }) if *status == StatusCode::BAD_REQUEST),
        "{cancel:?}"
    );
}

#[tokio::test]
async fn a_declined_card_is_a_card_error_and_the_intent_waits_for_another() {
    let stripe = client();
    let intent = new_intent(&stripe, &order_id()).await;
    let (status, body) = confirm_with(&intent.id, "pm_card_chargeCustomerFail").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    let error = StripeError::from_answer(status, &body);
    assert!(!error.is_retryable());
    let StripeError::Card { body, .. } = &error else {
        panic!("not a card error: {error:?}");
    };
    assert_eq!(body.code.as_deref(), Some("card_declined"), "{body:?}");
    assert!(body.message.is_some(), "{body:?}");

    let failed = stripe.retrieve_payment_intent(&intent.id).await.unwrap();
    assert_eq!(failed.status, PaymentIntentStatus::RequiresPaymentMethod);
    let last = failed
        .last_payment_error
        .expect("the decline on the intent");
    assert_eq!(last.code.as_deref(), Some("card_declined"));
}

#[tokio::test]
async fn an_unpaid_intent_is_cancelled() {
    let stripe = client();
    let intent = new_intent(&stripe, &order_id()).await;
    let cancelled = stripe.cancel_payment_intent(&intent.id).await.unwrap();
    assert_eq!(cancelled.id, intent.id);
    assert_eq!(cancelled.status, PaymentIntentStatus::Canceled);
    let read = stripe.retrieve_payment_intent(&intent.id).await.unwrap();
    assert_eq!(read.status, PaymentIntentStatus::Canceled);
}

#[tokio::test]
async fn events_are_listed_page_by_page_with_a_cursor() {
    let stripe = client();
    let since = now_unix() - 1;
    let mut ours = HashSet::new();
    for _ in 0..3 {
        let order = order_id();
        let intent = new_intent(&stripe, &order).await;
        let (status, _) = confirm_with(&intent.id, "pm_card_visa").await;
        assert_eq!(status, StatusCode::OK);
        ours.insert(order);
    }

    let (mut seen, mut found, mut pages) = (HashSet::new(), HashSet::new(), 0);
    let mut cursor: Option<String> = None;
    loop {
        let page = stripe
            .list_events(&EventsQuery {
                created_gte: since,
                starting_after: cursor.as_deref(),
                limit: 2,
            })
            .await
            .unwrap();
        pages += 1;
        assert!(page.data.len() <= 2);
        for event in &page.data {
            assert!(seen.insert(event.id.clone()), "{} listed twice", event.id);
            assert!(event.created >= since, "{event:?}");
            if event.kind == "payment_intent.succeeded" {
                let intent: PaymentIntent = event.object().expect("a PaymentIntent");
                assert_eq!(intent.status, PaymentIntentStatus::Succeeded);
                if let Some(order) = intent.order_id().filter(|order| ours.contains(*order)) {
                    found.insert(order.to_owned());
                }
            }
        }
        match page.data.last() {
            Some(last) if page.has_more => cursor = Some(last.id.clone()),
            _ => break,
        }
        assert!(pages < 1000, "the cursor never reached the end");
    }
    assert_eq!(found, ours);
    assert!(pages >= 2, "three payments' events fit on one page of two");
}

/// localstripe ignores `Idempotency-Key` (Stripe answers a repeated key with the first result):
/// a retried creation here makes a second intent, so this holds only what both do, that the
/// retried POST succeeds and describes the same order and amount. That the key is sent is
/// checked on the wire by `every_post_carries_a_key_derived_from_what_it_acts_on`.
#[tokio::test]
async fn a_retried_creation_succeeds_for_the_same_order() {
    let stripe = client();
    let order = order_id();
    let first = new_intent(&stripe, &order).await;
    let retried = new_intent(&stripe, &order).await;
    assert_eq!(retried.order_id(), Some(order.as_str()));
    assert_eq!(
        (retried.amount, &retried.currency),
        (first.amount, &first.currency)
    );
}

/// One HTTP exchange on a loopback socket: answers `answer` (JSON, 200) and hands back the raw
/// request, so a test sees exactly what the client sent.
fn capture_one_request(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Read, Write};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the client's connection");
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let mut content_length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("a header line");
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().expect("a length");
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).expect("the body");
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        );
        reader
            .get_mut()
            .write_all(response.as_bytes())
            .expect("answering");
        head + &String::from_utf8(body).expect("a UTF-8 body")
    });
    (base, handle)
}

#[tokio::test]
async fn every_post_carries_a_key_derived_from_what_it_acts_on() {
    let order = order_id();
    let (base, request) = capture_one_request(
        r#"{"id":"pi_1","amount":1055,"currency":"eur","status":"requires_payment_method"}"#,
    );
    let stripe = StripeClient::new(StripeConfig {
        api_base: base,
        ..config()
    })
    .unwrap();
    new_intent(&stripe, &order).await;
    let sent = request.join().unwrap().to_ascii_lowercase();
    assert!(sent.starts_with("post /v1/payment_intents "), "{sent}");
    assert!(
        sent.contains(&format!("\r\nidempotency-key: payment_intent:{order}\r\n")),
        "{sent}"
    );
    assert!(sent.contains("\r\nauthorization: bearer sk_"), "{sent}");
    assert!(
        sent.ends_with(&format!(
            "amount=1055&currency=eur&capture_method=automatic&metadata%5border_id%5d={order}"
        )),
        "{sent}"
    );

    let (base, request) = capture_one_request(
        r#"{"id":"re_1","amount":1055,"currency":"eur","status":"pending","payment_intent":"pi_1"}"#,
    );
    let stripe = StripeClient::new(StripeConfig {
        api_base: base,
        ..config()
    })
    .unwrap();
    let refund = stripe.refund_payment_intent(&order, "pi_1").await.unwrap();
    assert_eq!(refund.status, RefundStatus::Pending);
    let sent = request.join().unwrap().to_ascii_lowercase();
    assert!(sent.starts_with("post /v1/refunds "), "{sent}");
    assert!(
        sent.contains(&format!("\r\nidempotency-key: refund:{order}\r\n")),
        "{sent}"
    );
    assert!(sent.ends_with("payment_intent=pi_1"), "{sent}");
}

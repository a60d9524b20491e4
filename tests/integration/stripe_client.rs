//! The Stripe client against the local stack's stripe service, localstripe with
//! `tools/stripe-local` (`STRIPE_API_BASE` and `STRIPE_SECRET_KEY` from `scripts/env.sh`). A payment is confirmed the way a browser's
//! Stripe.js confirms it, which the server never does: the tests attach a test PaymentMethod
//! (`pm_card_visa`, `pm_card_chargeCustomerFail`, Stripe's own test ids) and call
//! `POST /v1/payment_intents/{id}/confirm` directly. Each test uses its own order ids, so tests
//! running at once share the emulator without reading each other's objects.
//!
//! Webhooks: a test that waits for events registers an endpoint of its own
//! (`gigmarket_tests::stripe::Endpoint`) and picks out its own events by the ids of the objects
//! it created.

use std::collections::HashSet;

use gigmarket_shared::stripe::client::{
    Event, EventsQuery, NewPaymentIntent, PaymentIntent, PaymentIntentStatus, Refund, RefundStatus,
    StripeClient, StripeConfig, StripeError,
};
use gigmarket_tests::payments::{CARD_3DS, authenticate, confirm_with};
use gigmarket_tests::stripe::{
    Endpoint, capture_one_request, client, config, events_since, new_intent, now_unix, order_id,
    paid_intent, raw,
};
use reqwest::StatusCode;
use serde_json::Value;

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

/// Stripe: "updating the payment_method always requires you to confirm the PaymentIntent
/// again", and `last_payment_error` "will be cleared if the PaymentIntent is later updated".
#[tokio::test]
async fn a_declined_intent_takes_another_card_and_a_paid_one_refuses_it() {
    let stripe = client();
    let intent = new_intent(&stripe, &order_id()).await;
    let (status, _) = confirm_with(&intent.id, "pm_card_chargeCustomerFail").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    let declined = stripe.retrieve_payment_intent(&intent.id).await.unwrap();
    assert!(declined.last_payment_error.is_some(), "{declined:?}");

    let path = format!("/v1/payment_intents/{}", intent.id);
    let (status, updated) = raw(reqwest::Method::POST, &path, "payment_method=pm_card_visa").await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["status"], "requires_confirmation", "{updated}");
    assert_eq!(updated["last_payment_error"], Value::Null, "{updated}");
    let (status, confirmed) = raw(reqwest::Method::POST, &format!("{path}/confirm"), "").await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    let paid = stripe.retrieve_payment_intent(&intent.id).await.unwrap();
    assert_eq!(paid.status, PaymentIntentStatus::Succeeded);
    assert_eq!(paid.last_payment_error, None);
    assert!(paid.latest_charge.is_some(), "{paid:?}");
    assert_ne!(
        paid.latest_charge, declined.latest_charge,
        "the retry's own charge"
    );

    let (status, refused) = raw(reqwest::Method::POST, &path, "payment_method=pm_card_visa").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(
        refused["error"]["code"], "payment_intent_unexpected_state",
        "{refused}"
    );
    let other = new_intent(&stripe, &order_id()).await;
    let path = format!("/v1/payment_intents/{}", other.id);
    let (status, unknown) = raw(reqwest::Method::POST, &path, "payment_method=pm_unknown").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
}

/// A card that needs 3-D Secure: the confirm asks for action (`payment_intent.requires_action`);
/// a failed challenge is a failed payment (`payment_intent.payment_failed`), after which the
/// client may try again; a passed one pays.
#[tokio::test]
async fn a_3d_secure_card_asks_for_action_and_its_challenge_decides() {
    let mut endpoint = Endpoint::register(&[
        "payment_intent.requires_action",
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
    ])
    .await;
    let stripe = client();
    let intent = new_intent(&stripe, &order_id()).await;
    let secret = intent.client_secret.clone().expect("a client secret");
    let (status, body) = confirm_with(&intent.id, CARD_3DS).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let asked = stripe.retrieve_payment_intent(&intent.id).await.unwrap();
    assert_eq!(asked.status, PaymentIntentStatus::RequiresAction);

    let path = format!("/v1/payment_intents/{}/_authenticate", intent.id);
    let form = format!("client_secret={secret}&success=false");
    let (status, failed) = raw(reqwest::Method::POST, &path, &form).await;
    assert_eq!(status, StatusCode::OK, "{failed}");
    assert_eq!(failed["status"], "requires_payment_method", "{failed}");
    let delivered = endpoint
        .wait_for(&[
            ("payment_intent.requires_action", &intent.id),
            ("payment_intent.payment_failed", &intent.id),
        ])
        .await;
    let key = |kind: &str| (kind.to_owned(), intent.id.clone());
    let event: Event =
        serde_json::from_slice(&delivered[&key("payment_intent.requires_action")]).unwrap();
    let object: PaymentIntent = event.object().unwrap();
    assert_eq!(object.status, PaymentIntentStatus::RequiresAction);
    let event: Event =
        serde_json::from_slice(&delivered[&key("payment_intent.payment_failed")]).unwrap();
    let object: PaymentIntent = event.object().unwrap();
    assert_eq!(object.status, PaymentIntentStatus::RequiresPaymentMethod);
    let error = object.last_payment_error.expect("the failed challenge");
    assert_eq!(
        error.code.as_deref(),
        Some("payment_intent_authentication_failure")
    );

    let (status, body) = confirm_with(&intent.id, CARD_3DS).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (status, body) = authenticate(&intent.id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    endpoint
        .wait_for(&[("payment_intent.succeeded", &intent.id)])
        .await;
    let paid = stripe.retrieve_payment_intent(&intent.id).await.unwrap();
    assert_eq!(paid.status, PaymentIntentStatus::Succeeded);
    assert_eq!(paid.last_payment_error, None);
    endpoint.close().await;
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
                ..EventsQuery::default()
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

/// `types[]` keeps only the events of those types, `created[lte]` only those up to that time:
/// the reconciliation's list (`app::reconciliation`).
#[tokio::test]
async fn events_are_listed_by_type_and_up_to_a_time() {
    let stripe = client();
    let since = now_unix() - 1;
    let intent = new_intent(&stripe, &order_id()).await;
    let (status, _) = confirm_with(&intent.id, "pm_card_visa").await;
    assert_eq!(status, StatusCode::OK);
    stripe
        .refund_payment_intent(&order_id(), &intent.id)
        .await
        .expect("refunded");

    let types = ["payment_intent.succeeded", "charge.refunded"];
    let listed = |created_lte: Option<i64>| {
        let stripe = stripe.clone();
        async move {
            stripe
                .list_events(&EventsQuery {
                    created_gte: since,
                    created_lte,
                    types: &types,
                    limit: 100,
                    ..EventsQuery::default()
                })
                .await
                .unwrap()
        }
    };
    let page = listed(None).await;
    assert!(
        page.data
            .iter()
            .all(|event| types.contains(&event.kind.as_str())),
        "{page:?}"
    );
    let about_ours = |event: &&Event| {
        event.data.object["id"] == intent.id.as_str()
            || event.data.object["payment_intent"] == intent.id.as_str()
    };
    let mut kinds: Vec<&str> = page
        .data
        .iter()
        .filter(about_ours)
        .map(|event| event.kind.as_str())
        .collect();
    kinds.sort_unstable();
    // Not `payment_intent.created` nor `refund.created`, which the same calls emitted.
    assert_eq!(kinds, ["charge.refunded", "payment_intent.succeeded"]);

    let before = listed(Some(since - 1)).await;
    assert!(before.data.is_empty(), "{before:?}");
}

/// Stripe answers a POST whose `Idempotency-Key` it has seen with the first answer, and refuses
/// the key with other parameters (`idempotency_error`). That the client sends the key is
/// checked on the wire by `every_post_carries_a_key_derived_from_what_it_acts_on`.
#[tokio::test]
async fn a_retried_creation_gets_the_first_intent_back() {
    let stripe = client();
    let order = order_id();
    let first = new_intent(&stripe, &order).await;
    let retried = new_intent(&stripe, &order).await;
    assert_eq!(retried, first);

    let other_amount = stripe
        .create_payment_intent(&NewPaymentIntent {
            order_id: &order,
            amount_minor: 1056,
            currency: "EUR",
        })
        .await;
    assert!(
        matches!(&other_amount, Err(StripeError::Request { status, body })
            if *status == StatusCode::BAD_REQUEST && body.kind == "idempotency_error"),
        "{other_amount:?}"
    );
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
            "amount=1055&currency=eur&capture_method=automatic&metadata%5border_id%5d={order}&transfer_group={order}"
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

#[tokio::test]
async fn an_intent_carries_its_order_as_transfer_group_to_its_charge() {
    let stripe = client();
    let order = order_id();
    let created = new_intent(&stripe, &order).await;
    assert_eq!(created.transfer_group.as_deref(), Some(order.as_str()));
    let paid = paid_intent(&stripe, &order).await;
    assert_eq!(paid.transfer_group.as_deref(), Some(order.as_str()));
    let charge = paid.latest_charge.expect("the intent's charge");
    let (status, charge) = raw(reqwest::Method::GET, &format!("/v1/charges/{charge}"), "").await;
    assert_eq!(status, StatusCode::OK, "{charge}");
    assert_eq!(charge["transfer_group"], order.as_str(), "{charge}");

    // Stripe: "You can only provide transfer_group if it hasn't been set."
    let path = format!("/v1/payment_intents/{}", paid.id);
    let (status, error) = raw(reqwest::Method::POST, &path, "transfer_group=ord_other").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
    assert_eq!(error["error"]["param"], "transfer_group", "{error}");

    // One created without a group gets it by an update.
    let (status, bare) = raw(
        reqwest::Method::POST,
        "/v1/payment_intents",
        "amount=500&currency=eur",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bare}");
    assert_eq!(bare["transfer_group"], Value::Null, "{bare}");
    let path = format!("/v1/payment_intents/{}", bare["id"].as_str().unwrap());
    let group = format!("transfer_group={order}");
    let (status, updated) = raw(reqwest::Method::POST, &path, &group).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["transfer_group"], order.as_str(), "{updated}");
    let read = stripe
        .retrieve_payment_intent(bare["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(read.transfer_group.as_deref(), Some(order.as_str()));
}

#[tokio::test]
async fn a_refund_is_announced_by_signed_charge_refunded_and_refund_created_events() {
    let mut endpoint = Endpoint::register(&["charge.refunded", "refund.created"]).await;
    let stripe = client();
    let since = now_unix() - 1;
    let order = order_id();
    let paid = paid_intent(&stripe, &order).await;
    let charge = paid.latest_charge.clone().expect("the intent's charge");
    let refund = stripe
        .refund_payment_intent(&order, &paid.id)
        .await
        .unwrap();

    let delivered = endpoint
        .wait_for(&[("charge.refunded", &charge), ("refund.created", &refund.id)])
        .await;
    let key = |kind: &str, id: &str| (kind.to_owned(), id.to_owned());
    let refunded: Event =
        serde_json::from_slice(&delivered[&key("charge.refunded", &charge)]).unwrap();
    let object = &refunded.data.object;
    assert_eq!(object["object"], "charge", "{object}");
    assert_eq!(object["refunded"], true, "{object}");
    assert_eq!(object["amount_refunded"], 1055, "{object}");
    assert_eq!(object["payment_intent"], paid.id.as_str(), "{object}");
    assert_eq!(object["transfer_group"], order.as_str(), "{object}");
    let refunds = object["refunds"]["data"].as_array().expect("the refunds");
    assert!(
        refunds
            .iter()
            .any(|listed| listed["id"] == refund.id.as_str()),
        "{object}"
    );
    let created: Event =
        serde_json::from_slice(&delivered[&key("refund.created", &refund.id)]).unwrap();
    assert_eq!(created.object::<Refund>().unwrap(), refund);

    let listed = events_since(&stripe, since).await;
    for event in [&refunded, &created] {
        assert!(listed.contains(event), "{} is not listed", event.id);
    }

    // A retried refund (same Idempotency-Key) gets the first one back; a second refund of the
    // whole charge is refused, as Stripe refuses it.
    let retried = stripe
        .refund_payment_intent(&order, &paid.id)
        .await
        .unwrap();
    assert_eq!(retried, refund);
    let form = format!("payment_intent={}", paid.id);
    let (status, again) = raw(reqwest::Method::POST, "/v1/refunds", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
    assert_eq!(again["error"]["code"], "charge_already_refunded", "{again}");
    endpoint.close().await;
}

#[tokio::test]
async fn a_cancelled_intent_is_announced_by_payment_intent_canceled() {
    let mut endpoint = Endpoint::register(&["payment_intent.canceled"]).await;
    let stripe = client();
    let since = now_unix() - 1;
    let intent = new_intent(&stripe, &order_id()).await;
    let cancelled = stripe.cancel_payment_intent(&intent.id).await.unwrap();

    let delivered = endpoint
        .wait_for(&[("payment_intent.canceled", &intent.id)])
        .await;
    let event: Event = serde_json::from_slice(
        &delivered[&("payment_intent.canceled".to_owned(), intent.id.clone())],
    )
    .unwrap();
    assert_eq!(event.object::<PaymentIntent>().unwrap(), cancelled);
    assert_eq!(cancelled.status, PaymentIntentStatus::Canceled);
    assert!(event.data.object["canceled_at"].is_i64(), "{event:?}");
    assert!(events_since(&stripe, since).await.contains(&event));
    endpoint.close().await;
}

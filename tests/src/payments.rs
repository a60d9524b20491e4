//! Paying for an order the way a client's browser and Stripe do it, against the local stack's
//! emulator: the browser attaches a test card (`pm_card_visa`, `pm_card_chargeCustomerFail`,
//! Stripe's own test ids) to the order's PaymentIntent and confirms it; Stripe then reports the
//! intent's new state, which [`TestApp::apply_payment`] applies through the same use case the
//! webhook calls (`app::payments::payment_reported`).

use gigmarket_shared::app::payments::{self, PaymentOutcome};
use gigmarket_shared::stripe::client::{PaymentIntent, PaymentIntentStatus};
use reqwest::StatusCode;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::TestApp;

/// Stripe's test card that always succeeds.
pub const CARD_OK: &str = "pm_card_visa";
/// Stripe's test card whose charge is declined (402).
pub const CARD_DECLINED: &str = "pm_card_chargeCustomerFail";

/// What a browser does with the client secret: attach `payment_method`, confirm. Answers the
/// confirm's status and body (a declined card answers 402 with Stripe's error object).
pub async fn confirm_with(intent_id: &str, payment_method: &str) -> (StatusCode, Vec<u8>) {
    let base = std::env::var("STRIPE_API_BASE").expect("STRIPE_API_BASE");
    let key = std::env::var("STRIPE_SECRET_KEY").expect("STRIPE_SECRET_KEY");
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/payment_intents/{intent_id}");
    let attached = http
        .post(&url)
        .bearer_auth(&key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("payment_method={payment_method}"))
        .send()
        .await
        .expect("attaching the payment method");
    assert!(
        attached.status().is_success(),
        "attach: {}",
        attached.status()
    );
    let confirmed = http
        .post(format!("{url}/confirm"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("confirming");
    let status = confirmed.status();
    (status, confirmed.bytes().await.expect("body").to_vec())
}

impl TestApp {
    /// The PaymentIntent of an order, as Stripe holds it now.
    pub async fn payment_intent(&self, order_id: Uuid) -> PaymentIntent {
        let order = self
            .state
            .store
            .get_order(order_id)
            .await
            .unwrap()
            .expect("order exists");
        let intent_id = order.payment.expect("the order has a payment").intent_id;
        self.stripe
            .retrieve_payment_intent(&intent_id)
            .await
            .expect("reading the PaymentIntent")
    }

    /// Applies what Stripe holds about the order's PaymentIntent now, as its webhook would.
    pub async fn apply_payment(&self, order_id: Uuid) -> PaymentOutcome {
        self.apply_payment_at(order_id, OffsetDateTime::now_utc())
            .await
    }

    /// [`TestApp::apply_payment`] with the clock at `at`.
    pub async fn apply_payment_at(&self, order_id: Uuid, at: OffsetDateTime) -> PaymentOutcome {
        let intent = self.payment_intent(order_id).await;
        let report = payments::report_of(&intent).expect("the intent names its order");
        payments::payment_reported(&self.state.store, None, &report, at)
            .await
            .expect("applying the payment")
    }

    /// Pays for an order with a test card that succeeds, and applies the payment: the order is
    /// `pending`, in front of its freelancer.
    pub async fn pay_order(&self, order_id: Uuid) {
        self.pay_order_at(order_id, OffsetDateTime::now_utc()).await
    }

    /// [`TestApp::pay_order`] with the clock at `at` when the payment is applied (the ledger
    /// writes the charge as of then).
    pub async fn pay_order_at(&self, order_id: Uuid, at: OffsetDateTime) {
        let intent = self.payment_intent(order_id).await;
        let (status, body) = confirm_with(&intent.id, CARD_OK).await;
        assert!(
            status.is_success(),
            "confirm: {status} {}",
            String::from_utf8_lossy(&body)
        );
        let paid = self.payment_intent(order_id).await;
        assert_eq!(paid.status, PaymentIntentStatus::Succeeded, "{paid:?}");
        assert_eq!(
            self.apply_payment_at(order_id, at).await,
            PaymentOutcome::Paid
        );
    }
}

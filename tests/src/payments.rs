//! Paying for an order the way a client's browser and Stripe do it, against the local stack's
//! emulator: the browser attaches a test card (`pm_card_visa`, `pm_card_chargeCustomerFail`,
//! Stripe's own test ids) to the order's PaymentIntent and confirms it; Stripe then reports the
//! intent's new state, which [`TestApp::apply_payment`] applies through the same use case the
//! webhook calls (`app::payments::payment_reported`).

use gigmarket_shared::app::orders;
use gigmarket_shared::app::payments;
use gigmarket_shared::app::stripe_reports::PaymentOutcome;
use gigmarket_shared::domain::ledger::LedgerAccount;
use gigmarket_shared::domain::money::Currency;
use gigmarket_shared::domain::order::{ActionInput, Actor, Order, OrderAction, Party};
use gigmarket_shared::stripe::client::{EventsQuery, PaymentIntent, PaymentIntentStatus};
use gigmarket_shared::stripe::signature;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{RawRequest, TestApp, TestResponse, WEBHOOK_SECRET};

/// Stripe's test card that always succeeds.
pub const CARD_OK: &str = "pm_card_visa";
/// Stripe's test card whose charge is declined (402).
pub const CARD_DECLINED: &str = "pm_card_chargeCustomerFail";
/// Stripe's test card whose payment the bank lets through only after 3-D Secure
/// authentication: a confirm leaves the intent in `requires_action`.
pub const CARD_3DS: &str = "pm_card_threeDSecure2Required";
/// Stripe's test card whose payment succeeds and is then disputed as fraudulent
/// (`charge.dispute.created`).
pub const CARD_DISPUTED: &str = "pm_card_createDispute";

/// One ledger account's balance in euros (the test gigs' currency).
pub async fn balance(app: &TestApp, account: LedgerAccount) -> i64 {
    let eur = Currency::parse("EUR").unwrap();
    app.state.store.ledger_balance(account, &eur).await.unwrap()
}

/// The balances a test's table with one freelancer can hold; with only balanced transactions
/// they sum to zero.
pub async fn assert_ledger_balances(app: &TestApp, freelancer: Uuid) {
    let accounts = [
        LedgerAccount::StripeClearing,
        LedgerAccount::Escrow,
        LedgerAccount::PlatformFees,
        LedgerAccount::Refunds,
        LedgerAccount::FreelancerPending(freelancer),
        LedgerAccount::FreelancerAvailable(freelancer),
        LedgerAccount::FreelancerPaidOut(freelancer),
    ];
    let mut total = 0;
    let accounts = accounts.into_iter().chain([
        LedgerAccount::FreelancerFrozen(freelancer),
        LedgerAccount::FreelancerDebt(freelancer),
        LedgerAccount::DisputesLost,
        LedgerAccount::DisputeFees,
    ]);
    for account in accounts {
        let balance = balance(app, account).await;
        assert!(
            balance >= 0 || account.may_go_negative(),
            "{account} is {balance}"
        );
        total += balance;
    }
    assert_eq!(total, 0, "the ledger's balances sum to zero");
}

/// A form POST to the stack's Stripe with its key; answers the status and the body.
async fn post_form(path: &str, form: &str) -> (StatusCode, Vec<u8>) {
    let base = std::env::var("STRIPE_API_BASE").expect("STRIPE_API_BASE");
    let key = std::env::var("STRIPE_SECRET_KEY").expect("STRIPE_SECRET_KEY");
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(&key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap_or_else(|error| panic!("POST {path}: {error}"));
    let status = response.status();
    (status, response.bytes().await.expect("body").to_vec())
}

/// What a browser does with the client secret: attach `payment_method`, confirm. Answers the
/// confirm's status and body (a declined card answers 402 with Stripe's error object). Again
/// on the same intent after a decline, it is the client's retry.
pub async fn confirm_with(intent_id: &str, payment_method: &str) -> (StatusCode, Vec<u8>) {
    let path = format!("/v1/payment_intents/{intent_id}");
    let (attached, body) = post_form(&path, &format!("payment_method={payment_method}")).await;
    assert!(
        attached.is_success(),
        "attach: {attached} {}",
        String::from_utf8_lossy(&body)
    );
    post_form(&format!("{path}/confirm"), "").await
}

/// The client passes the 3-D Secure challenge of an intent in `requires_action`: the
/// emulator's own `POST /v1/payment_intents/{id}/_authenticate`, which plays the bank's page
/// that Stripe.js shows the client. Answers the status and the body.
pub async fn authenticate(intent_id: &str, client_secret: &str) -> (StatusCode, Vec<u8>) {
    post_form(
        &format!("/v1/payment_intents/{intent_id}/_authenticate"),
        &format!("client_secret={client_secret}&success=true"),
    )
    .await
}

impl TestApp {
    /// The freelancer rejects the paid order `order_id` while Stripe is out of reach (the real
    /// client, pointed at a port nobody listens on): the rejection stands, its refund
    /// `requested`.
    pub async fn reject_while_stripe_is_down(&self, freelancer: Uuid, order_id: Uuid) -> Order {
        let unreachable = crate::stripe::unreachable();
        let store = &self.state.store;
        let order = store.get_order(order_id).await.unwrap().unwrap();
        orders::change(
            store,
            &unreachable,
            &order,
            OrderAction::Reject,
            Actor::user(freelancer, Party::Freelancer),
            ActionInput {
                note: Some("Not a fit.".into()),
                attachments: Vec::new(),
                files: Vec::new(),
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("the rejection stands without Stripe")
    }

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
        payments::payment_reported(&self.state.store, &self.stripe, None, &report, at)
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
        self.pay_order_with(order_id, CARD_OK, at).await
    }

    /// [`TestApp::pay_order_at`] with the test card `card` (one that succeeds: Stripe's
    /// `pm_card_createDispute` succeeds, then its charge is disputed).
    pub async fn pay_order_with(&self, order_id: Uuid, card: &str, at: OffsetDateTime) {
        let intent = self.payment_intent(order_id).await;
        let (status, body) = confirm_with(&intent.id, card).await;
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

    /// Delivers `event` to the webhook as Stripe does, signed with `secret` at `signed_at`.
    pub async fn deliver_stripe_event(
        &self,
        event: &Value,
        secret: &str,
        signed_at: i64,
    ) -> TestResponse {
        let body = event.to_string();
        let header = signature::header(secret.as_bytes(), signed_at, body.as_bytes());
        self.send(
            RawRequest::new("POST", "/webhooks/stripe")
                .header("Stripe-Signature", &header)
                .raw_body("application/json", body),
        )
        .await
    }

    /// The emulator's newest event of `kind` (of the last five minutes) whose object satisfies
    /// `about`, as Stripe delivers it; found by paging its event list, which other tests' events
    /// are on too.
    pub async fn stripe_event(&self, kind: &str, about: impl Fn(&Value) -> bool) -> Value {
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .stripe
                .list_events(&EventsQuery {
                    created_gte: OffsetDateTime::now_utc().unix_timestamp() - 300,
                    starting_after: cursor.as_deref(),
                    limit: 100,
                    ..EventsQuery::default()
                })
                .await
                .expect("listing events");
            if let Some(event) = page
                .data
                .iter()
                .find(|event| event.kind == kind && about(&event.data.object))
            {
                return json!({"id": event.id, "object": "event", "type": event.kind,
                              "created": event.created, "data": {"object": event.data.object}});
            }
            match page.data.last() {
                Some(last) if page.has_more => cursor = Some(last.id.clone()),
                _ => panic!("no {kind} event"),
            }
        }
    }

    /// The local Stripe's `kind` event of the dispute of `intent_id`'s charge, delivered signed.
    pub async fn deliver_dispute_event(&self, kind: &str, intent_id: &str) -> TestResponse {
        let app = self;
        let event = app
            .stripe_event(kind, |dispute| dispute["payment_intent"] == intent_id)
            .await;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        app.deliver_stripe_event(&event, WEBHOOK_SECRET, now).await
    }

    /// The dispute of `intent_id`'s charge, as the local Stripe holds it.
    pub async fn dispute_id_of(&self, intent_id: &str) -> String {
        let event = self
            .stripe_event("charge.dispute.created", |dispute| {
                dispute["payment_intent"] == intent_id
            })
            .await;
        event["data"]["object"]["id"].as_str().unwrap().to_owned()
    }
}

/// Closes the dispute as Stripe's test mode does: evidence `winning_evidence` wins it,
/// `losing_evidence` loses it.
pub async fn submit_evidence(dispute_id: &str, evidence: &str) {
    let base = std::env::var("STRIPE_API_BASE").unwrap();
    let key = std::env::var("STRIPE_SECRET_KEY").unwrap();
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/disputes/{dispute_id}"))
        .bearer_auth(key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("evidence[uncategorized_text]={evidence}"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
}

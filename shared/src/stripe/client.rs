//! A small typed client for the part of Stripe's REST API that paying for an order uses:
//! PaymentIntents (create, retrieve, cancel), refunds, and the event list that reconciliation
//! reads. Each answer is a struct with only the fields Gigmarket reads; a field an emulator may
//! leave out has a serde default, so the same code reads Stripe and the local stack alike.
//!
//! Built once per cold start ([`StripeClient::new`]): it holds the HTTP client (one connection
//! pool), the API base and the secret key. The HTTP client is reqwest over rustls with aws-lc-rs,
//! the TLS stack and crypto provider the AWS SDK already compiles, so there is one of each.
//!
//! Request bodies are form-encoded with bracketed nesting (`metadata[order_id]=...`), written with
//! `form_urlencoded`: the few flat fields and one metadata key do not need `serde_qs`'s derive
//! machinery, and `form_urlencoded` is already in the tree (url builds on it).
//!
//! `async-stripe` 1.0.0-rc.10, tried against localstripe 1.15.10, could read neither a created
//! PaymentIntent nor the event list ("error deserializing request data"): its models require
//! fields localstripe never sends (`amount_capturable`, `amount_received`, `confirmation_method`,
//! `payment_method_types`, ...). This client reads only the fields we use, with defaults for the
//! rest, so the same code runs against Stripe and the local stack.
//!
//! Every POST carries an `Idempotency-Key` derived from what it acts on, so a retried call (a
//! Lambda retry, a timeout after Stripe acted) never charges or refunds twice.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Stripe's API; `STRIPE_API_BASE` points elsewhere (the local stack's localstripe).
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// A Lambda invocation waits on these: long enough for a card network's slow answer, short
/// enough that a hung connection fails the request instead of the function's whole timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A Stripe secret key. Its `Debug` redacts it, so a logged config or client never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Where the client talks to, and with which key: `STRIPE_API_BASE` (Stripe's own by default)
/// and `STRIPE_SECRET_KEY` (local; deployed functions read the key from Secrets Manager, see
/// `aws::stripe_config`).
#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub api_base: String,
    pub secret_key: SecretKey,
}

impl StripeConfig {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let secret_key = lookup("STRIPE_SECRET_KEY")
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| anyhow::anyhow!("environment variable STRIPE_SECRET_KEY must be set"))?;
        Ok(Self::with_key(lookup, SecretKey::new(secret_key)))
    }

    /// The configuration for `secret_key` (read from wherever it is kept), with `STRIPE_API_BASE`
    /// from `lookup`.
    pub fn with_key(lookup: impl Fn(&str) -> Option<String>, secret_key: SecretKey) -> Self {
        Self {
            api_base: lookup("STRIPE_API_BASE")
                .filter(|value| !value.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_API_BASE.to_owned()),
            secret_key,
        }
    }
}

/// The Stripe client of one function instance.
#[derive(Debug, Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    api_base: String,
    secret_key: SecretKey,
}

/// What a new PaymentIntent charges, for which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPaymentIntent<'a> {
    pub order_id: &'a str,
    /// In the currency's minor unit (`domain::money`).
    pub amount_minor: i64,
    /// ISO 4217, any case (Stripe wants lower case).
    pub currency: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: PaymentIntentStatus,
    /// What the client's browser confirms the payment with; Stripe sends it to the secret key's
    /// owner only.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    #[serde(default, deserialize_with = "expandable_id")]
    pub latest_charge: Option<String>,
    /// The order id: Stripe copies it to the charge, and the freelancer's transfers name the same
    /// group ("separate charges and transfers").
    #[serde(default)]
    pub transfer_group: Option<String>,
    /// Why the last attempt failed (a declined card), while the client may try again.
    #[serde(default)]
    pub last_payment_error: Option<ApiErrorBody>,
}

impl PaymentIntent {
    /// The order this intent pays for (`metadata[order_id]`).
    pub fn order_id(&self) -> Option<&str> {
        self.metadata.get("order_id").map(String::as_str)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentIntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
    /// A status this client does not know yet: never a reason to fail a read.
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: RefundStatus,
    #[serde(default, deserialize_with = "expandable_id")]
    pub payment_intent: Option<String>,
    #[serde(default, deserialize_with = "expandable_id")]
    pub charge: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Pending,
    RequiresAction,
    Succeeded,
    Failed,
    Canceled,
    #[serde(other)]
    Other,
}

/// A charge, as `charge.*` events carry it, with the fields a refund's confirmation reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Charge {
    pub id: String,
    pub amount: i64,
    #[serde(default)]
    pub amount_refunded: i64,
    /// True once the whole amount is refunded.
    #[serde(default)]
    pub refunded: bool,
    #[serde(default, deserialize_with = "expandable_id")]
    pub payment_intent: Option<String>,
    /// Copied from the PaymentIntent: the order id.
    #[serde(default)]
    pub transfer_group: Option<String>,
    #[serde(default)]
    pub refunds: Option<List<Refund>>,
}

/// A reference Stripe calls expandable: an id, or the object itself when it was expanded
/// (localstripe always sends the charge expanded).
#[derive(Deserialize)]
#[serde(untagged)]
enum Expandable {
    Id(String),
    Object { id: String },
}

fn expandable_id<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(
        Option::<Expandable>::deserialize(deserializer)?.map(|reference| match reference {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }),
    )
}

/// An event as `GET /v1/events` lists it; its object stays JSON until the reader knows its type.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds.
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

impl Event {
    /// The event's object as `T` (a `PaymentIntent` for `payment_intent.*` events).
    pub fn object<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.data.object)
    }
}

/// One page of a Stripe list, newest first; the next page starts after the last item's id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// Which events to list: those created at or after `created_gte` (and at or before
/// `created_lte`, if set) of the `types` given (every type when empty), one page of `limit`
/// after the cursor `starting_after` (an event id; `None` for the first page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventsQuery<'a> {
    pub created_gte: i64,
    /// An upper bound keeps a list that is paged over minutes the same list: events created
    /// meanwhile are newer than the bound, so the cursor's place in it does not move.
    pub created_lte: Option<i64>,
    /// Stripe's `types[]`: at most [`MAX_EVENT_TYPES`] (Stripe refuses more).
    pub types: &'a [&'a str],
    pub starting_after: Option<&'a str>,
    /// 1 to 100 (Stripe's bounds).
    pub limit: u8,
}

/// Stripe's bound on `types[]` in one list request.
pub const MAX_EVENT_TYPES: usize = 20;

/// Stripe's error object (`{"error": {...}}`), with the fields we act on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ApiErrorBody {
    /// `card_error`, `invalid_request_error`, `api_error`, `idempotency_error`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ApiErrorBody,
}

/// A failed Stripe call, by what the caller does about it.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// 402: the card was declined or could not be charged. The client may try another card.
    #[error("card error ({status}): {body:?}")]
    Card {
        status: StatusCode,
        body: ApiErrorBody,
    },
    /// Another 4xx: the request itself is wrong (unknown id, bad parameter, bad key); sending it
    /// again gives the same answer.
    #[error("request refused ({status}): {body:?}")]
    Request {
        status: StatusCode,
        body: ApiErrorBody,
    },
    /// 429 or 5xx: Stripe could not answer now; the same call (same Idempotency-Key) may be
    /// retried.
    #[error("Stripe unavailable ({status}): {body:?}")]
    Unavailable {
        status: StatusCode,
        body: ApiErrorBody,
    },
    /// No answer (connection, TLS, timeout): retryable with the same Idempotency-Key.
    #[error("no answer from Stripe: {0}")]
    Transport(#[source] reqwest::Error),
    /// A 2xx whose body is not the object this client expects.
    #[error("unexpected answer from Stripe ({status}): {source}")]
    Decode {
        status: StatusCode,
        #[source]
        source: serde_json::Error,
    },
}

impl StripeError {
    /// True when the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Transport(_))
    }

    /// Stripe's error object, when Stripe answered with one.
    pub fn body(&self) -> Option<&ApiErrorBody> {
        match self {
            Self::Card { body, .. }
            | Self::Request { body, .. }
            | Self::Unavailable { body, .. } => Some(body),
            Self::Transport(_) | Self::Decode { .. } => None,
        }
    }

    /// Sorts a non-2xx answer by its status, with Stripe's error object from its body.
    pub fn from_answer(status: StatusCode, bytes: &[u8]) -> Self {
        // A proxy's HTML error page has no error object: keep the status, which decides.
        let body = serde_json::from_slice::<ErrorEnvelope>(bytes)
            .map(|envelope| envelope.error)
            .unwrap_or_default();
        // The status decides, not `type`: Stripe's declines say `card_error`, localstripe's
        // `invalid_request_error`, and both answer 402.
        if status == StatusCode::PAYMENT_REQUIRED {
            Self::Card { status, body }
        } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Self::Unavailable { status, body }
        } else {
            Self::Request { status, body }
        }
    }
}

impl StripeClient {
    pub fn new(config: StripeConfig) -> Result<Self, StripeError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(StripeError::Transport)?;
        Ok(Self {
            http,
            api_base: config.api_base.trim_end_matches('/').to_owned(),
            secret_key: config.secret_key,
        })
    }

    /// A PaymentIntent for an order, captured automatically once confirmed, with no customer,
    /// in the order's transfer group (`transfer_group` = order id), which ties the payouts'
    /// transfers to this charge. Keyed `payment_intent:<order>`: a retried placement gets the
    /// first intent back.
    pub async fn create_payment_intent(
        &self,
        intent: &NewPaymentIntent<'_>,
    ) -> Result<PaymentIntent, StripeError> {
        let form = form_body(&[
            ("amount", &intent.amount_minor.to_string()),
            ("currency", &intent.currency.to_ascii_lowercase()),
            ("capture_method", "automatic"),
            ("metadata[order_id]", intent.order_id),
            ("transfer_group", intent.order_id),
        ]);
        let key = format!("payment_intent:{}", intent.order_id);
        self.post("/v1/payment_intents", &key, form).await
    }

    pub async fn retrieve_payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeError> {
        self.get(&format!("/v1/payment_intents/{}", path_segment(id)), "")
            .await
    }

    /// Cancels an intent that has not succeeded (an order that expired or was cancelled unpaid).
    pub async fn cancel_payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeError> {
        let path = format!("/v1/payment_intents/{}/cancel", path_segment(id));
        self.post(&path, &format!("cancel:{id}"), String::new())
            .await
    }

    /// Refunds the whole charge of an order's PaymentIntent. Keyed `refund:<order>`: one refund
    /// per order, however often a rejection or cancellation is retried.
    pub async fn refund_payment_intent(
        &self,
        order_id: &str,
        payment_intent_id: &str,
    ) -> Result<Refund, StripeError> {
        let form = form_body(&[("payment_intent", payment_intent_id)]);
        self.post("/v1/refunds", &format!("refund:{order_id}"), form)
            .await
    }

    /// One page of events, newest first. `types` go as `types[0]`, `types[1]`, ... (the array
    /// encoding of Stripe's own libraries).
    pub async fn list_events(&self, query: &EventsQuery<'_>) -> Result<List<Event>, StripeError> {
        let created_gte = query.created_gte.to_string();
        let created_lte = query.created_lte.map(|lte| lte.to_string());
        let limit = query.limit.clamp(1, 100).to_string();
        let type_keys: Vec<String> = (0..query.types.len())
            .map(|index| format!("types[{index}]"))
            .collect();
        let mut pairs = vec![
            ("created[gte]", created_gte.as_str()),
            ("limit", limit.as_str()),
        ];
        if let Some(lte) = &created_lte {
            pairs.push(("created[lte]", lte));
        }
        pairs.extend(
            type_keys
                .iter()
                .map(String::as_str)
                .zip(query.types.iter().copied()),
        );
        if let Some(cursor) = query.starting_after {
            pairs.push(("starting_after", cursor));
        }
        self.get("/v1/events", &form_body(&pairs)).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &str) -> Result<T, StripeError> {
        let mut url = format!("{}{path}", self.api_base);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        self.send(self.http.request(Method::GET, url)).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        idempotency_key: &str,
        form: String,
    ) -> Result<T, StripeError> {
        let request = self
            .http
            .request(Method::POST, format!("{}{path}", self.api_base))
            .header("Idempotency-Key", idempotency_key)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
        self.send(request).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, StripeError> {
        let response = request
            .bearer_auth(self.secret_key.expose())
            .send()
            .await
            .map_err(StripeError::Transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(StripeError::Transport)?;
        if !status.is_success() {
            return Err(StripeError::from_answer(status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|source| StripeError::Decode { status, source })
    }
}

/// `application/x-www-form-urlencoded` pairs; nested keys are spelled out (`metadata[order_id]`),
/// and the encoder escapes the brackets as Stripe expects.
fn form_body(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// An id as one path segment: Stripe's ids are `[A-Za-z0-9_]`, but one from a webhook or a
/// stored record must not be able to reach another path.
fn path_segment(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_key_never_shows_in_debug() {
        let config = StripeConfig {
            api_base: DEFAULT_API_BASE.to_owned(),
            secret_key: SecretKey::new("sk_live_do_not_print"),
        };
        let client = StripeClient::new(config.clone()).unwrap();
        for shown in [format!("{config:?}"), format!("{client:?}")] {
            assert!(!shown.contains("do_not_print"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }

    #[test]
    fn config_defaults_to_stripe_and_needs_a_key() {
        let config = StripeConfig::from_lookup(|name| {
            (name == "STRIPE_SECRET_KEY").then(|| "sk_test_x".to_owned())
        })
        .unwrap();
        assert_eq!(config.api_base, DEFAULT_API_BASE);
        assert_eq!(config.secret_key, SecretKey::new("sk_test_x"));
        assert!(StripeConfig::from_lookup(|_| Some(" ".to_owned())).is_err());
    }

    #[test]
    fn nested_keys_are_bracketed_and_escaped() {
        assert_eq!(
            form_body(&[("metadata[order_id]", "o 1&x"), ("currency", "eur")]),
            "metadata%5Border_id%5D=o+1%26x&currency=eur"
        );
        assert_eq!(path_segment("pi_1/../x"), "pi_1%2F..%2Fx");
    }

    #[test]
    fn errors_are_sorted_by_what_the_caller_does() {
        let card = br#"{"error":{"type":"card_error","code":"card_declined","decline_code":"generic_decline","message":"Your card was declined."}}"#;
        let error = StripeError::from_answer(StatusCode::PAYMENT_REQUIRED, card);
        assert!(matches!(&error, StripeError::Card { body, .. }
            if body.code.as_deref() == Some("card_declined")
                && body.decline_code.as_deref() == Some("generic_decline")));
        assert!(!error.is_retryable());

        let missing =
            br#"{"error":{"type":"invalid_request_error","message":"No such payment_intent"}}"#;
        let error = StripeError::from_answer(StatusCode::NOT_FOUND, missing);
        assert!(matches!(&error, StripeError::Request { body, .. }
            if body.kind == "invalid_request_error"));
        assert!(!error.is_retryable());

        for status in [StatusCode::TOO_MANY_REQUESTS, StatusCode::BAD_GATEWAY] {
            let error = StripeError::from_answer(status, b"<html>busy</html>");
            assert!(error.is_retryable(), "{status}");
            assert_eq!(error.body(), Some(&ApiErrorBody::default()));
        }
    }

    #[test]
    fn unknown_statuses_and_missing_fields_still_read() {
        let intent: PaymentIntent = serde_json::from_str(
            r#"{"id":"pi_1","amount":1055,"currency":"eur","status":"some_new_status"}"#,
        )
        .unwrap();
        assert_eq!(intent.status, PaymentIntentStatus::Other);
        assert_eq!(intent.order_id(), None);
        assert_eq!(intent.client_secret, None);
    }

    #[test]
    fn an_expandable_reads_as_its_id_either_way() {
        for charge in [r#""ch_1""#, r#"{"id":"ch_1","object":"charge"}"#] {
            let intent: PaymentIntent = serde_json::from_str(&format!(
                r#"{{"id":"pi_1","amount":1,"currency":"eur","status":"succeeded","latest_charge":{charge}}}"#
            ))
            .unwrap();
            assert_eq!(intent.latest_charge.as_deref(), Some("ch_1"));
        }
    }
}

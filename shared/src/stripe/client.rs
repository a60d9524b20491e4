//! A small typed client for the part of Stripe's REST API that paying for an order and paying
//! out the freelancer use: PaymentIntents (create, retrieve, cancel), refunds, the event list that
//! reconciliation reads, and Connect's Express accounts, account links, transfers, transfer
//! reversals and disputes. Each answer is a struct with only the fields Gigmarket reads; a field an emulator may
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
//! Every POST that charges, refunds or moves money carries an `Idempotency-Key` derived from what
//! it acts on, so a retried call (a Lambda retry, a timeout after Stripe acted) never charges,
//! refunds or pays out twice. Only an onboarding link goes without one: each call wants a new one.

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
    /// `admin_refund_id` on an admin's refund of a completed order
    /// ([`StripeClient::refund_part_of_payment_intent`]).
    #[serde(default)]
    pub metadata: HashMap<String, String>,
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

/// Who a new Express connected account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewAccount<'a> {
    pub email: &'a str,
    /// ISO 3166-1 alpha-2 (`US`, `DE`): where the freelancer's bank account is.
    pub country: &'a str,
    /// Our user id, kept in `metadata[user_id]` so an `account.updated` names its owner.
    pub user_id: &'a str,
}

/// A connected account (`acct_...`), with what decides whether it can be paid out to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Account {
    pub id: String,
    /// True once Stripe can send payouts to the account's bank: transfers to it are worth making.
    #[serde(default)]
    pub payouts_enabled: bool,
    /// True once the freelancer finished the onboarding form.
    #[serde(default)]
    pub details_submitted: bool,
    /// What Stripe still needs before the account is (or stays) enabled.
    #[serde(default)]
    pub requirements: Option<Requirements>,
    /// `user_id`: the freelancer the account was created for ([`NewAccount::user_id`]).
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

impl Account {
    /// The user the account was created for (`metadata[user_id]`).
    pub fn user_id(&self) -> Option<&str> {
        self.metadata.get("user_id").map(String::as_str)
    }
}

/// An account's outstanding requirements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Requirements {
    /// Fields the freelancer must provide now (`external_account`, `individual.dob.day`, ...).
    #[serde(default)]
    pub currently_due: Vec<String>,
    /// Why the account is disabled (`requirements.past_due`, `under_review`, ...), if it is.
    #[serde(default)]
    pub disabled_reason: Option<String>,
}

/// A single-use onboarding link for a connected account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountLink {
    /// Where the freelancer's browser goes to onboard.
    pub url: String,
    /// Unix seconds after which the link only leads to the refresh URL.
    pub expires_at: i64,
}

/// What a new transfer pays, to which connected account, for which withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewTransfer<'a> {
    /// In the currency's minor unit (`domain::money`).
    pub amount_minor: i64,
    /// ISO 4217, any case (Stripe wants lower case).
    pub currency: &'a str,
    /// The connected account (`acct_...`).
    pub destination: &'a str,
    /// Ties the transfer to the charges it pays out (the order id the PaymentIntent carries).
    pub transfer_group: &'a str,
    /// The charge (`ch_...`) the money comes from: Stripe then takes it from that charge's funds
    /// instead of the platform's available balance, so a payout never waits on settlement.
    pub source_transaction: Option<&'a str>,
    /// Our withdrawal id, kept in `metadata[withdrawal_id]` so `transfer.*` events name it.
    pub withdrawal_id: &'a str,
}

/// A transfer (`tr_...`) from the platform to a connected account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Transfer {
    pub id: String,
    /// In the currency's minor unit.
    pub amount: i64,
    pub currency: String,
    /// The connected account (`acct_...`) it went to.
    #[serde(deserialize_with = "required_expandable_id")]
    pub destination: String,
    #[serde(default)]
    pub transfer_group: Option<String>,
    /// The charge it was funded from, if it named one.
    #[serde(default, deserialize_with = "expandable_id")]
    pub source_transaction: Option<String>,
    /// How much of it reversals took back.
    #[serde(default)]
    pub amount_reversed: i64,
    /// True once the whole amount is reversed.
    #[serde(default)]
    pub reversed: bool,
    /// `withdrawal_id`: the withdrawal it pays ([`NewTransfer::withdrawal_id`]).
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    /// Its reversals, newest first (the first ten, as Stripe embeds them).
    #[serde(default = "no_reversals")]
    pub reversals: List<TransferReversal>,
}

fn no_reversals() -> List<TransferReversal> {
    List {
        data: Vec::new(),
        has_more: false,
    }
}

/// A reversal (`trr_...`): money taken back from a connected account to the platform.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TransferReversal {
    pub id: String,
    /// In the transfer's currency's minor unit.
    pub amount: i64,
    /// The transfer it reverses (`tr_...`).
    #[serde(deserialize_with = "required_expandable_id")]
    pub transfer: String,
    /// `cause`: what it takes money back for ([`StripeClient::create_transfer_reversal`]).
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

impl TransferReversal {
    /// What the reversal was made for (`metadata[cause]`, e.g. `admin-refund:<id>`).
    pub fn cause(&self) -> Option<&str> {
        self.metadata.get("cause").map(String::as_str)
    }
}

/// A dispute (`du_...`): the cardholder's bank took a charge's money back pending the outcome.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Dispute {
    pub id: String,
    /// The disputed amount, in the currency's minor unit.
    pub amount: i64,
    pub currency: String,
    /// The disputed charge (`ch_...`).
    #[serde(deserialize_with = "required_expandable_id")]
    pub charge: String,
    /// The PaymentIntent of that charge: how the dispute finds its order.
    #[serde(default, deserialize_with = "expandable_id")]
    pub payment_intent: Option<String>,
    pub status: DisputeStatus,
    /// "Zero, one, or two balance transactions that show funds withdrawn and reinstated":
    /// the withdrawal as it opens (with Stripe's dispute fee), the reinstatement if won.
    #[serde(default)]
    pub balance_transactions: Vec<BalanceTransaction>,
}

/// A balance transaction (`txn_...`): one movement of the platform's Stripe balance, with what
/// Stripe took for it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BalanceTransaction {
    pub id: String,
    /// Gross, in the currency's minor unit: negative when funds were withdrawn.
    pub amount: i64,
    /// The balance's currency (the platform's settlement currency).
    pub currency: String,
    /// Stripe's fees on it (`fee_details` itemizes them): the dispute fee on a dispute's
    /// withdrawal; negative when Stripe gives a fee back.
    #[serde(default)]
    pub fee: i64,
    /// `dispute` (funds withdrawn) or `dispute_reversal` (reinstated), for a dispute's.
    #[serde(default)]
    pub reporting_category: Option<String>,
}

/// Stripe's dispute statuses: `won` and `lost` are final; `warning_*` are inquiries that may
/// never become disputes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    WarningNeedsResponse,
    WarningUnderReview,
    WarningClosed,
    NeedsResponse,
    UnderReview,
    Won,
    Lost,
    /// A status this client does not know yet: never a reason to fail a read.
    #[serde(other)]
    Other,
}

/// A reference Stripe calls expandable: an id, or the object itself when it was expanded
/// (localstripe always sends the charge expanded).
#[derive(Deserialize)]
#[serde(untagged)]
enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    fn into_id(self) -> String {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

fn expandable_id<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<Expandable>::deserialize(deserializer)?.map(Expandable::into_id))
}

/// An expandable reference that is always set (a transfer's `destination`, a dispute's `charge`).
fn required_expandable_id<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    Ok(Expandable::deserialize(deserializer)?.into_id())
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
    /// The connected account the event happened on (`acct_...`): set on the events a Connect
    /// endpoint receives, absent on the platform's own.
    #[serde(default)]
    pub account: Option<String>,
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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

    /// True when Stripe refused because a balance cannot cover the amount (code
    /// `balance_insufficient`): the platform's for a transfer, the connected account's for a
    /// reversal. The same call fails again until money arrives.
    pub fn balance_insufficient(&self) -> bool {
        self.body()
            .and_then(|body| body.code.as_deref())
            .is_some_and(|code| code == "balance_insufficient")
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

    /// Refunds `amount_minor` of the charge of an order's PaymentIntent: an admin's refund of a
    /// completed order, keyed and tagged (`metadata[admin_refund_id]`) with our refund's id, so
    /// a retry answers the same refund and `charge.refunded` names it.
    pub async fn refund_part_of_payment_intent(
        &self,
        payment_intent_id: &str,
        amount_minor: i64,
        admin_refund_id: &str,
    ) -> Result<Refund, StripeError> {
        let amount = amount_minor.to_string();
        let form = form_body(&[
            ("payment_intent", payment_intent_id),
            ("amount", amount.as_str()),
            ("metadata[admin_refund_id]", admin_refund_id),
        ]);
        self.post(
            "/v1/refunds",
            &format!("admin_refund:{admin_refund_id}"),
            form,
        )
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

    /// An Express connected account for a freelancer, requesting the `transfers` capability
    /// (what receiving transfers needs), with our user id in `metadata[user_id]`. The caller's
    /// key (derived from the user) makes a retry answer the first account, never a second one.
    pub async fn create_account(
        &self,
        account: &NewAccount<'_>,
        idempotency_key: &str,
    ) -> Result<Account, StripeError> {
        let form = form_body(&[
            ("type", "express"),
            ("country", account.country),
            ("email", account.email),
            ("capabilities[transfers][requested]", "true"),
            ("metadata[user_id]", account.user_id),
        ]);
        self.post("/v1/accounts", idempotency_key, form).await
    }

    pub async fn retrieve_account(&self, id: &str) -> Result<Account, StripeError> {
        self.get(&format!("/v1/accounts/{}", path_segment(id)), "")
            .await
    }

    /// A fresh onboarding link (`type=account_onboarding`). Links are single-use and expire in
    /// minutes, so every call makes a new one: no Idempotency-Key, which would answer a used link.
    pub async fn create_account_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<AccountLink, StripeError> {
        let form = form_body(&[
            ("account", account),
            ("type", "account_onboarding"),
            ("refresh_url", refresh_url),
            ("return_url", return_url),
        ]);
        self.send_post("/v1/account_links", None, form).await
    }

    /// A transfer to a connected account. The caller's key (derived from the withdrawal) makes a
    /// retried withdrawal answer the first transfer, never a second payout.
    pub async fn create_transfer(
        &self,
        transfer: &NewTransfer<'_>,
        idempotency_key: &str,
    ) -> Result<Transfer, StripeError> {
        let amount = transfer.amount_minor.to_string();
        let currency = transfer.currency.to_ascii_lowercase();
        let mut pairs = vec![
            ("amount", amount.as_str()),
            ("currency", currency.as_str()),
            ("destination", transfer.destination),
            ("transfer_group", transfer.transfer_group),
            ("metadata[withdrawal_id]", transfer.withdrawal_id),
        ];
        if let Some(charge) = transfer.source_transaction {
            pairs.push(("source_transaction", charge));
        }
        self.post("/v1/transfers", idempotency_key, form_body(&pairs))
            .await
    }

    /// Takes `amount_minor` of a transfer back from the connected account (all that is not yet
    /// reversed when `None`), tagged with its `cause` (`metadata[cause]`), so a caller that
    /// never heard the answer finds the reversal on the transfer. Refused with
    /// `balance_insufficient` when the account's balance cannot cover it
    /// ([`StripeError::balance_insufficient`]).
    pub async fn create_transfer_reversal(
        &self,
        transfer_id: &str,
        amount_minor: Option<i64>,
        cause: &str,
        idempotency_key: &str,
    ) -> Result<TransferReversal, StripeError> {
        let amount = amount_minor.map(|amount| amount.to_string());
        let mut pairs: Vec<(&str, &str)> = amount
            .iter()
            .map(|amount| ("amount", amount.as_str()))
            .collect();
        pairs.push(("metadata[cause]", cause));
        let path = format!("/v1/transfers/{}/reversals", path_segment(transfer_id));
        self.post(&path, idempotency_key, form_body(&pairs)).await
    }

    /// One page of a transfer's reversals, newest first: those after `starting_after` (a
    /// reversal id; the newest when `None`), 100 at most. The transfer object embeds only the
    /// first ten.
    pub async fn list_transfer_reversals(
        &self,
        transfer_id: &str,
        starting_after: Option<&str>,
    ) -> Result<List<TransferReversal>, StripeError> {
        let mut pairs = vec![("limit", "100")];
        if let Some(id) = starting_after {
            pairs.push(("starting_after", id));
        }
        let path = format!("/v1/transfers/{}/reversals", path_segment(transfer_id));
        self.get(&path, &form_body(&pairs)).await
    }

    /// The transfers of one transfer group (an order's: every payout of its earnings), newest
    /// first, at most 100 (an order's earning is paid out in far fewer).
    pub async fn list_transfers(
        &self,
        transfer_group: &str,
    ) -> Result<List<Transfer>, StripeError> {
        let query = form_body(&[("transfer_group", transfer_group), ("limit", "100")]);
        self.get("/v1/transfers", &query).await
    }

    pub async fn retrieve_dispute(&self, id: &str) -> Result<Dispute, StripeError> {
        self.get(&format!("/v1/disputes/{}", path_segment(id)), "")
            .await
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
        self.send_post(path, Some(idempotency_key), form).await
    }

    async fn send_post<T: DeserializeOwned>(
        &self,
        path: &str,
        idempotency_key: Option<&str>,
        form: String,
    ) -> Result<T, StripeError> {
        let mut request = self
            .http
            .request(Method::POST, format!("{}{path}", self.api_base));
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let request = request
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

    #[test]
    fn connect_objects_read_with_expanded_or_bare_references() {
        let transfer: Transfer = serde_json::from_str(
            r#"{"id":"tr_1","object":"transfer","amount":900,"currency":"eur",
                "destination":{"id":"acct_1","object":"account"},"transfer_group":"ord_1",
                "source_transaction":"ch_1","amount_reversed":0,"reversed":false,
                "metadata":{"withdrawal_id":"wd_1"}}"#,
        )
        .unwrap();
        assert_eq!(transfer.destination, "acct_1");
        assert_eq!(transfer.source_transaction.as_deref(), Some("ch_1"));
        assert_eq!(transfer.metadata["withdrawal_id"], "wd_1");

        let dispute: Dispute = serde_json::from_str(
            r#"{"id":"du_1","amount":1055,"currency":"eur","charge":"ch_1",
                "payment_intent":null,"status":"charge_refunded_someday"}"#,
        )
        .unwrap();
        assert_eq!(dispute.status, DisputeStatus::Other);
        assert_eq!(dispute.payment_intent, None);
        assert!(dispute.balance_transactions.is_empty());
        // The withdrawal as Stripe's reference shows it, its fee itemized.
        let opened: Dispute = serde_json::from_str(
            r#"{"id":"du_2","amount":3000,"currency":"usd","charge":"ch_2","status":"needs_response",
                "balance_transactions":[{"id":"txn_1","object":"balance_transaction",
                "amount":-3000,"currency":"usd","fee":1500,"fee_details":[{"amount":1500,
                "application":null,"currency":"usd","description":"Dispute fee",
                "type":"stripe_fee"}],"net":-4500,"reporting_category":"dispute",
                "type":"adjustment"}]}"#,
        )
        .unwrap();
        let withdrawal = &opened.balance_transactions[0];
        assert_eq!((withdrawal.amount, withdrawal.fee), (-3000, 1500));
        assert_eq!(withdrawal.reporting_category.as_deref(), Some("dispute"));
        let warning: DisputeStatus = serde_json::from_str(r#""warning_needs_response""#).unwrap();
        assert_eq!(warning, DisputeStatus::WarningNeedsResponse);

        let account: Account = serde_json::from_str(
            r#"{"id":"acct_1","payouts_enabled":false,"details_submitted":false,
                "requirements":{"currently_due":["external_account"],"past_due":[],
                "disabled_reason":"requirements.past_due"},"metadata":{"user_id":"u_1"}}"#,
        )
        .unwrap();
        assert_eq!(account.user_id(), Some("u_1"));
        let requirements = account.requirements.unwrap();
        assert_eq!(requirements.currently_due, ["external_account"]);
        assert_eq!(
            requirements.disabled_reason.as_deref(),
            Some("requirements.past_due")
        );
    }

    #[test]
    fn an_uncovered_balance_is_told_apart() {
        let short = br#"{"error":{"type":"invalid_request_error","code":"balance_insufficient","message":"Insufficient funds"}}"#;
        assert!(StripeError::from_answer(StatusCode::BAD_REQUEST, short).balance_insufficient());
        let other = br#"{"error":{"type":"invalid_request_error","code":"resource_missing"}}"#;
        assert!(!StripeError::from_answer(StatusCode::NOT_FOUND, other).balance_insufficient());
    }
}

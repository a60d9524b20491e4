//! `payouts`: freelancers get paid. Stripe Connect onboarding (`POST /me/payouts/account`),
//! balances and ledger entries (`GET /me/payouts`), the automatic withdrawal setting
//! (`PUT /me/payouts/settings`), withdrawals to the connected account
//! (`POST /me/payouts/withdrawals`) and the Connect webhook (`POST /webhooks/stripe/connect`,
//! verified with its own signing secrets before anything reads it). Handlers parse and
//! authenticate; `gigmarket_shared::app::payouts` decides.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Json;
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use gigmarket_shared::app::payouts::{
    self, Onboarding, OpenAccountBody, PayoutSettings, PayoutsOverview, WithdrawalBody,
    WithdrawalView, Withdrawn,
};
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::pagination::PagingOnly;
use gigmarket_shared::stripe::client::{Event, StripeClient};
use gigmarket_shared::stripe::signature::SigningSecrets;
use gigmarket_shared::web::{self, AppState, JsonBody, QueryParams};
use gigmarket_shared::{ApiError, ApiResult, emf};
use http::{HeaderMap, StatusCode};
use serde::Serialize;
use time::OffsetDateTime;

pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// The Connect endpoint's signing secrets: a type of its own, so the platform endpoint's can
/// never be handed in by mistake.
#[derive(Clone)]
pub struct ConnectSecrets(pub SigningSecrets);

/// Every route of this function; each is also a line of `shared/src/routes.rs`.
pub fn router(state: AppState, secrets: ConnectSecrets, stripe: StripeClient) -> Router {
    let routes = Router::new()
        .route("/me/payouts", get(overview))
        .route("/me/payouts/account", post(open_account))
        .route("/me/payouts/settings", put(change_settings))
        .route("/me/payouts/withdrawals", post(withdraw))
        .route("/webhooks/stripe/connect", post(connect_webhook));
    web::api(routes, state)
        .layer(Extension(secrets))
        .layer(Extension(stripe))
}

/// `POST /me/payouts/account`: a fresh onboarding link (the account is created once).
async fn open_account(
    State(state): State<AppState>,
    Extension(stripe): Extension<StripeClient>,
    caller: Caller,
    JsonBody(body): JsonBody<OpenAccountBody>,
) -> ApiResult<Json<Onboarding>> {
    payouts::open_account(
        &state.store,
        &stripe,
        caller,
        body,
        &state.config.app_base_url,
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

/// `GET /me/payouts`.
async fn overview(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PagingOnly>,
) -> ApiResult<Json<PayoutsOverview>> {
    payouts::overview(
        &state.store,
        &state.cursors,
        caller,
        &params.into(),
        state.config.payout_clearance,
    )
    .await
    .map(Json)
}

/// `PUT /me/payouts/settings`: answers the settings as written.
async fn change_settings(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PayoutSettings>,
) -> ApiResult<Json<PayoutSettings>> {
    payouts::change_settings(&state.store, caller, body, OffsetDateTime::now_utc())
        .await
        .map(Json)
}

/// `POST /me/payouts/withdrawals`: 201 with a new withdrawal, 200 with the one a repeated
/// Idempotency-Key made.
async fn withdraw(
    State(state): State<AppState>,
    Extension(stripe): Extension<StripeClient>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<WithdrawalBody>,
) -> ApiResult<(StatusCode, Json<WithdrawalView>)> {
    let key = headers
        .get(web::IDEMPOTENCY_KEY_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()));
    let (withdrawn, view) = payouts::withdraw(
        &state.store,
        &stripe,
        caller,
        body,
        key.as_deref(),
        state.config.payout_minimum_hundredths,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let status = match withdrawn {
        Withdrawn::Created => StatusCode::CREATED,
        Withdrawn::Replayed => StatusCode::OK,
    };
    Ok((status, Json(view)))
}

/// What the webhook answers Stripe (any 2xx stops its retries).
#[derive(Debug, Serialize)]
struct Received {
    received: bool,
    /// What the event did: `recorded` or `ignored`.
    outcome: &'static str,
}

/// `POST /webhooks/stripe/connect` (no caller: the signature is the authentication).
async fn connect_webhook(
    State(state): State<AppState>,
    Extension(secrets): Extension<ConnectSecrets>,
    Extension(stripe): Extension<StripeClient>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    let now = OffsetDateTime::now_utc();
    let header = headers
        .get(SIGNATURE_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    if let Err(error) = secrets.0.verify(&header, &body, now.unix_timestamp()) {
        emf::count(emf::WEBHOOK_SIGNATURE_FAILURES, 1);
        tracing::warn!(error = %error, "Stripe Connect webhook signature refused");
        return Err(ApiError::BadRequest(format!(
            "the Stripe-Signature does not verify: {error}"
        )));
    }
    let event: Event = serde_json::from_slice(&body)
        .map_err(|_| ApiError::BadRequest("the body is not a Stripe event".to_owned()))?;
    let outcome = payouts::connect_event_received(&state.store, &stripe, &event, now).await?;
    tracing::info!(event_id = %event.id, event_type = %event.kind, outcome = ?outcome, "Stripe Connect event");
    Ok(Json(Received {
        received: true,
        outcome: outcome.as_str(),
    }))
}

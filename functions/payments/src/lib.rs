//! `payments`: the Stripe webhook. A delivery's signature is verified before anything else reads
//! it (400 problem+json otherwise, nothing stored); its event then moves the order it is about
//! through `app::payments`, which applies each event at most once and only forward. Handlers
//! parse; the use cases decide.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Json;
use axum::routing::post;
use axum::{Extension, Router};
use gigmarket_shared::app::payments;
use gigmarket_shared::stripe::client::{Event, StripeClient};
use gigmarket_shared::stripe::signature::SigningSecrets;
use gigmarket_shared::web::{self, AppState};
use gigmarket_shared::{ApiError, ApiResult, emf};
use http::HeaderMap;
use serde::Serialize;
use time::OffsetDateTime;

pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// The routes, with the endpoint's signing secrets and the Stripe client a payment that arrives
/// after its order was cancelled is refunded through.
pub fn router(state: AppState, secrets: SigningSecrets, stripe: StripeClient) -> Router {
    let routes = Router::new().route("/webhooks/stripe", post(stripe_webhook));
    web::api(routes, state)
        .layer(Extension(secrets))
        .layer(Extension(stripe))
}

/// What the webhook answers Stripe (any 2xx stops its retries).
#[derive(Debug, Serialize)]
struct Received {
    received: bool,
    /// What the event did: `paid`, `paid_after_close`, `recorded`, `ignored`, `already_applied`,
    /// `transfer_recorded`.
    outcome: &'static str,
}

/// `POST /webhooks/stripe` (no caller: the signature is the authentication).
async fn stripe_webhook(
    State(state): State<AppState>,
    Extension(secrets): Extension<SigningSecrets>,
    Extension(stripe): Extension<StripeClient>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    let now = OffsetDateTime::now_utc();
    let header = headers
        .get(SIGNATURE_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    if let Err(error) = secrets.verify(&header, &body, now.unix_timestamp()) {
        emf::count(emf::WEBHOOK_SIGNATURE_FAILURES, 1);
        tracing::warn!(error = %error, "Stripe webhook signature refused");
        return Err(ApiError::BadRequest(format!(
            "the Stripe-Signature does not verify: {error}"
        )));
    }
    let event: Event = serde_json::from_slice(&body)
        .map_err(|_| ApiError::BadRequest("the body is not a Stripe event".to_owned()))?;
    let outcome = payments::event_received(&state.store, &stripe, &event, now).await?;
    tracing::info!(event_id = %event.id, event_type = %event.kind, outcome = ?outcome, "Stripe event");
    Ok(Json(Received {
        received: true,
        outcome: outcome.as_str(),
    }))
}

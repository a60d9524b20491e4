//! The API functions' adapter, shared by every one of them: the start-up ([`serve`]), application
//! state, extractors (JSON body, caller, path, query), the request-id/logging middleware and the
//! problem+json fallbacks.

mod extract;
mod rate_limit;
mod source_ip;
mod state;

pub use extract::{AdminActor, JsonBody, OptionalCaller, PathParam, QueryParams, admins_only};
pub use source_ip::{SourceIp, UNKNOWN_SOURCE_IP};
pub use state::AppState;

// The request id audit entries record.
mod request_id;
pub use request_id::RequestId;

mod if_match;
pub use if_match::IfMatch;

// The file routes `orders` and `messages` share.
#[cfg(feature = "s3")]
pub mod files;

// Answers 503 before Lambda's deadline rather than being killed at it.
mod deadline;
pub use deadline::ANSWER_MARGIN;

use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use tracing::Instrument;

use crate::error::ApiError;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The header that makes a money-moving request safe to retry (placing an order, a withdrawal,
/// an admin refund).
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// Starts an API function: telemetry, its state from the environment (once per instance), then
/// Lambda's HTTP loop serving `router(state)`. Each API function's `main` is this one call.
pub async fn serve(router: impl FnOnce(AppState) -> Router) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let state = AppState::from_env().await?;
    lambda_http::run(router(state)).await
}

/// A 302 to `location` (a file's presigned GET): never cached, since the URL expires in minutes
/// and is the caller's alone.
pub fn redirect(location: &str) -> Response {
    let mut response = http::StatusCode::FOUND.into_response();
    match http::HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(http::header::LOCATION, value);
            response.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(error) => ApiError::internal(error).into_response(),
    }
}

/// [`serve`] for `auth`, the one function that reads the signing keyset and issues tokens.
pub async fn serve_signing(
    router: impl FnOnce(AppState) -> Router,
) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let state = AppState::from_env_signing().await?;
    lambda_http::run(router(state)).await
}

/// Wraps a function's routes with what every API function needs, and binds the state.
pub fn api(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        // Counted before routing, so a refused request costs no handler work.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_requests,
        ))
        // Inside the span, so a request given up at the deadline is logged and carries its id.
        .layer(middleware::from_fn(deadline::answer_by_deadline))
        .layer(middleware::from_fn(request_span))
        .with_state(state)
}

/// The id that ties a response to its log lines: API Gateway's request id when there is one (the
/// caller sees it as `apigw-requestid` too), else the Lambda invocation id, else a fresh one.
fn request_id(request: &Request) -> String {
    request_id_of(request.extensions())
}

/// [`request_id`] from a request's extensions (also the [`RequestId`] extractor's source).
fn request_id_of(extensions: &http::Extensions) -> String {
    use lambda_http::request::RequestContext;
    if let Some(RequestContext::ApiGatewayV2(context)) = extensions.get::<RequestContext>()
        && let Some(id) = context.request_id.as_deref().filter(|id| !id.is_empty())
    {
        return id.to_owned();
    }
    if let Some(context) = extensions.get::<lambda_http::Context>()
        && !context.request_id.is_empty()
    {
        return context.request_id.clone();
    }
    uuid::Uuid::new_v4().to_string()
}

async fn request_span(request: Request, next: Next) -> Response {
    let request_id = request_id(&request);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    async move {
        let started = Instant::now();
        let mut response = next.run(request).await;
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            "request finished"
        );
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        response
    }
    .instrument(span)
    .await
}

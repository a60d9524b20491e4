//! The per-client request rate every API function applies before routing: one client (a user,
//! or an address without a valid token) may send `RequestLimits` requests per clock minute, so
//! no one client can use up the capacity everyone shares (the stage's throttle is one bucket for
//! all). HTTP APIs can not take AWS WAF, and CloudFront in front would need the WAF in
//! us-east-1 and an origin that refuses callers going around it; a counter in the table needs
//! neither, costs one conditional `UpdateItem` per request (1 WCU) and is tested like the rest.
//!
//! Stripe's deliveries (`/webhooks/...`) are not counted: they are authenticated by their
//! signature and Stripe paces its own retries. A counter that can not be reached in time lets
//! the request through: the limiter must never be what takes the API down.

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppState, SourceIp};
use crate::domain::quota::RequestClient;
use crate::domain::quota::Window;
use crate::domain::user::Caller;
use crate::error::ApiError;
use crate::store::throttle::Throttle;

pub(super) async fn limit_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/webhooks/") {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    // A valid token counts against its user; the extractor then reuses the verified caller. A
    // bad one counts against the address, and the route still answers it 401.
    let client = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => {
            parts.extensions.insert(caller);
            RequestClient::User(caller.id)
        }
        Err(_) => {
            let SourceIp(address) = match SourceIp::from_request_parts(&mut parts, &state).await {
                Ok(address) => address,
                Err(never) => match never {},
            };
            RequestClient::Address(address)
        }
    };
    let request = Request::from_parts(parts, body);
    let limit = client.limit(&state.config.request_limits);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let minute = Window::containing(now, 60);
    let client_key = client.key();
    let counted = tokio::time::timeout(
        state.config.request_limits.count_timeout,
        state
            .store
            .reserve_attempt(Throttle::Requests(&client_key), limit, minute),
    )
    .await;
    match counted {
        Ok(Ok(true)) => next.run(request).await,
        Ok(Ok(false)) => ApiError::TooManyRequests {
            retry_after_secs: minute.retry_after(now),
            detail: format!("at most {limit} requests a minute from one client"),
        }
        .into_response(),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "request rate not counted; the request goes through");
            next.run(request).await
        }
        Err(_) => {
            tracing::warn!("request rate not counted in time; the request goes through");
            next.run(request).await
        }
    }
}

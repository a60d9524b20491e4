//! Every API answer leaves before Lambda's deadline. Lambda kills an invocation that is still
//! running at its deadline (the function timeout, 10 s for the API functions), and API Gateway
//! then answers its own 503 or 504 without problem+json or `Retry-After`. So a handler that
//! has not answered by the deadline minus [`ANSWER_MARGIN`] is dropped and the caller gets our
//! 503 `service-unavailable` with `Retry-After` instead.
//!
//! Dropping a handler mid-call is safe for the same reason a killed invocation is: DynamoDB
//! applies a TransactWriteItems whole or not at all, whatever the client does meanwhile, and a
//! placement retried with its `Idempotency-Key` answers the order that was stored, if any; the
//! transitions are conditioned on the order's version. The SDK's own timeouts
//! ([`crate::aws::DynamoDbTimeouts`]) end one hung call sooner; this bounds the whole request,
//! e.g. a use case whose several calls are each slow but alive.
//!
//! The deadline is the invocation's (`lambda_http::Context::deadline`). A request without one
//! (in-process tests, tools) has no deadline, and neither has one whose deadline had already
//! passed when it arrived: Lambda never hands over such an invocation, and `cargo lambda watch`
//! sends a placeholder (600,000 ms after the epoch) with every request.

use std::time::{Duration, SystemTime};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// How long before the invocation's deadline the answer is given up for: enough to render the
/// problem, log it and hand it to the runtime API over loopback, with room for a busy instance.
pub const ANSWER_MARGIN: Duration = Duration::from_secs(1);

pub(super) async fn answer_by_deadline(request: Request, next: Next) -> Response {
    let Some(budget) = budget(request.extensions(), SystemTime::now()) else {
        return next.run(request).await;
    };
    match tokio::time::timeout(budget, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::service_unavailable(anyhow::anyhow!(
            "no answer {ANSWER_MARGIN:?} before the invocation's deadline; the handler was dropped"
        ))
        .into_response(),
    }
}

/// The time the handler has: until the invocation's deadline minus the margin (zero when the
/// margin is already eaten), or `None` when the request has no real deadline.
fn budget(extensions: &http::Extensions, now: SystemTime) -> Option<Duration> {
    let context = extensions.get::<lambda_http::Context>()?;
    let left = context.deadline().duration_since(now).ok()?;
    Some(left.saturating_sub(ANSWER_MARGIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use lambda_http::RequestExt;
    use tower::ServiceExt;

    fn context_with_deadline(deadline: SystemTime) -> lambda_http::Context {
        let mut context = lambda_http::Context::default();
        context.deadline = deadline
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        context
    }

    fn router() -> Router {
        Router::new()
            .route("/hangs", get(std::future::pending::<&'static str>))
            .route("/answers", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(answer_by_deadline))
    }

    async fn call(path: &str, context: Option<lambda_http::Context>) -> Response {
        let mut request = http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        if let Some(context) = context {
            request = request.with_lambda_context(context);
        }
        // A bound for the test itself, far above any deadline it sets: a hang fails it.
        tokio::time::timeout(Duration::from_secs(60), router().oneshot(request))
            .await
            .expect("answered")
            .unwrap()
    }

    #[tokio::test]
    async fn a_handler_still_running_at_the_deadline_answers_a_clean_503() {
        let deadline = SystemTime::now() + ANSWER_MARGIN + Duration::from_millis(300);
        let response = call("/hangs", Some(context_with_deadline(deadline))).await;
        assert_eq!(response.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers()[http::header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert!(response.headers().contains_key(http::header::RETRY_AFTER));
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["type"],
            format!("{}service-unavailable", crate::error::PROBLEM_TYPE_BASE)
        );
        assert!(
            !body.to_string().contains("deadline"),
            "the cause stays in the log: {body}"
        );
    }

    #[tokio::test]
    async fn a_handler_that_answers_in_time_is_untouched() {
        let deadline = SystemTime::now() + Duration::from_secs(10);
        let response = call("/answers", Some(context_with_deadline(deadline))).await;
        assert_eq!(response.status(), http::StatusCode::OK);
    }

    #[test]
    fn the_budget_is_the_deadline_less_the_margin() {
        let now = SystemTime::now();
        let mut extensions = http::Extensions::new();
        assert_eq!(budget(&extensions, now), None, "no context, no deadline");
        extensions.insert(context_with_deadline(now + Duration::from_secs(10)));
        let budget = budget(&extensions, now).unwrap();
        assert!(budget <= Duration::from_secs(10) - ANSWER_MARGIN);
        assert!(budget > Duration::from_secs(8));
        // Less than the margin left: answer at once.
        extensions.insert(context_with_deadline(now + ANSWER_MARGIN / 2));
        assert_eq!(super::budget(&extensions, now), Some(Duration::ZERO));
    }

    #[test]
    fn a_deadline_already_past_on_arrival_is_no_deadline() {
        let now = SystemTime::now();
        let mut extensions = http::Extensions::new();
        // What `cargo lambda watch` sends with every invocation.
        let mut watch = lambda_http::Context::default();
        watch.deadline = 600_000;
        extensions.insert(watch);
        assert_eq!(budget(&extensions, now), None);
    }
}

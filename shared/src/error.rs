//! The one error type every handler returns, rendered as RFC 9457 `application/problem+json`.
//!
//! Each variant has a stable machine-readable `type` URI (clients switch on it, never on `detail`)
//! and the HTTP status it maps to. Internal failures are logged with their cause and rendered
//! without it, so nothing about the store or the SDK leaks to callers.

use http::StatusCode;
use serde::Serialize;

use crate::domain::Invalid;
use crate::domain::gig::GigRefusal;
use crate::domain::order::Refusal as OrderRefusal;
use crate::domain::quota::QuotaExceeded;
use crate::domain::review::ReviewRefusal;

/// Base of every problem `type` URI. The documents behind it are the problem-type table in
/// `docs/api.md`, rendered from [`PROBLEM_TYPES`] by `gigctl docs`.
pub const PROBLEM_TYPE_BASE: &str = "https://gigmarket.dev/problems/";

/// One problem `type` the API answers: the URI's last segment, its status, and when it comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType {
    pub code: &'static str,
    pub status: u16,
    pub when: &'static str,
}

const fn problem(code: &'static str, status: u16, when: &'static str) -> ProblemType {
    ProblemType { code, status, when }
}

/// Every problem type, in the order the docs list them. The tests below fail when a code the
/// crate answers is missing here, or a code here is answered nowhere.
pub const PROBLEM_TYPES: &[ProblemType] = &[
    problem(
        "validation-error",
        400,
        "a field is missing, of the wrong type, unknown, or breaks a rule (`errors[]` names each)",
    ),
    problem(
        "bad-request",
        400,
        "malformed JSON, an empty body, a body that is not a JSON object, a bad query or cursor",
    ),
    problem(
        "invalid-token",
        400,
        "a verification or reset token that is unknown, expired, used or for the other purpose",
    ),
    problem(
        "unauthorized",
        401,
        "missing, malformed, expired or forged access token; bad credentials; bad refresh token",
    ),
    problem(
        "forbidden",
        403,
        "authenticated but not allowed (wrong role; a non-admin on `/admin`)",
    ),
    problem(
        "account-blocked",
        403,
        "any write by a blocked account, even with an access token issued before the block",
    ),
    problem(
        "email-unverified",
        403,
        "creating a gig, ordering or messaging before the email is verified",
    ),
    problem(
        "not-found",
        404,
        "unknown resource or route (ids that do not parse are unknown too)",
    ),
    problem("method-not-allowed", 405, "known path, wrong method"),
    problem(
        "email-taken",
        409,
        "registering an email that already has an account",
    ),
    problem(
        "already-verified",
        409,
        "asking for a verification link for a verified address",
    ),
    problem(
        "password-changed",
        409,
        "the password changed under a password change; sign in again",
    ),
    problem(
        "admin-not-blockable",
        409,
        "blocking or unblocking an admin, or oneself",
    ),
    problem(
        "user-changed",
        409,
        "the account changed while an admin set its status; retry",
    ),
    problem(
        "invalid-transition",
        409,
        "an order action from a state that does not allow it",
    ),
    problem(
        "order-changed",
        409,
        "another change to the same order (or its reviews) won the race; reload and retry",
    ),
    problem(
        "revision-limit-reached",
        409,
        "the package's revisions are used up",
    ),
    problem(
        "not-due",
        409,
        "the scheduler's auto-complete or mark-late on an order not due (the scheduler skips it)",
    ),
    problem(
        "gig-not-orderable",
        409,
        "ordering a gig that is not active",
    ),
    problem(
        "freelancer-unavailable",
        409,
        "ordering a gig whose freelancer is blocked",
    ),
    problem(
        "gig-changed",
        409,
        "`POST /orders` while the gig was edited between the placement's read and its write; review the gig and order again",
    ),
    problem(
        "price-changed",
        409,
        "`POST /orders` with an `expected_price_cents` or `currency` that is not the package's price; `current_price_cents` and `current_currency` in the body",
    ),
    problem(
        "invalid-gig-status",
        409,
        "a gig status change its current status does not allow (approve an active gig, pause a paused one, edit an archived or removed one)",
    ),
    problem(
        "concurrent-update",
        409,
        "a gig or a conversation kept changing under the request; retry",
    ),
    problem(
        "order-not-completed",
        409,
        "reviewing an order that is not completed",
    ),
    problem(
        "already-reviewed",
        409,
        "reviewing an order a second time from the same side",
    ),
    problem(
        "review-window-closed",
        409,
        "reviewing more than 10 days after completion",
    ),
    problem("already-replied", 409, "answering a review twice"),
    problem(
        "order-charged-back",
        409,
        "completing an order whose charge the client's bank took back (a lost dispute)",
    ),
    problem(
        "payouts-not-enabled",
        409,
        "a withdrawal before the payout account's onboarding is finished (or while Stripe has disabled it)",
    ),
    problem(
        "no-payout-account",
        409,
        "a payout setting before the payout account is opened (`POST /me/payouts/account`)",
    ),
    problem(
        "order-not-refundable",
        409,
        "an admin refund of an order that is not completed, was never paid, is disputed, or is refunded in full",
    ),
    problem(
        "refund-exceeds-remaining",
        409,
        "an admin refund of more than what is left to refund of the order's charge",
    ),
    problem(
        "withdrawal-conflict",
        409,
        "concurrent withdrawals kept taking the same earnings; send the request again",
    ),
    problem(
        "review-not-published",
        409,
        "answering, hiding or unhiding a review that is not published",
    ),
    problem(
        "review-hidden",
        409,
        "answering a hidden review, or hiding it again",
    ),
    problem(
        "review-not-hidden",
        409,
        "unhiding a review that is not hidden",
    ),
    problem(
        "review-changed",
        409,
        "the review changed while an admin hid or unhid it; reload and retry",
    ),
    problem(
        "precondition-failed",
        412,
        "`If-Match` does not name the gig's current version (someone else edited it)",
    ),
    problem(
        "payload-too-large",
        413,
        "a body over `MAX_BODY_BYTES` (64 KiB)",
    ),
    problem(
        "unsupported-media-type",
        415,
        "a body without `Content-Type: application/json`",
    ),
    problem(
        "nothing-to-withdraw",
        422,
        "a withdrawal in a currency with no available earnings",
    ),
    problem(
        "below-minimum-withdrawal",
        422,
        "a withdrawal under `PAYOUT_MINIMUM_HUNDREDTHS` of its currency",
    ),
    problem(
        "more-than-available",
        422,
        "a withdrawal of more than the available earnings",
    ),
    problem(
        "order-closed",
        409,
        "adding a file to an order that is completed, rejected or cancelled",
    ),
    problem(
        "too-many-files",
        409,
        "adding a file past the order's or the conversation's limit (`ORDER_FILES_MAX`, `CONVERSATION_FILES_MAX`)",
    ),
    problem(
        "file-not-uploaded",
        409,
        "a delivery, message or download of a file that was declared but has nothing in S3",
    ),
    problem(
        "file-mismatch",
        409,
        "a delivery or message using an upload of another size or content type than declared; the upload is deleted",
    ),
    problem(
        "file-used",
        409,
        "deleting a file a delivery or message uses: it is part of the order's or conversation's record",
    ),
    problem(
        "file-expired",
        410,
        "a download of an order's file deleted `ORDER_FILES_RETENTION_DAYS` after the order closed",
    ),
    problem(
        "file-unavailable",
        409,
        "a delivery or message whose file was deleted, or first used by another action, while it was written; nothing was written",
    ),
    problem(
        "file-changed",
        409,
        "a download of a used file whose S3 object was replaced after it was checked",
    ),
    problem(
        "unknown-file",
        422,
        "a delivery's or message's `file_ids` naming a file the caller did not add to this order or conversation",
    ),
    problem(
        "idempotency-key-reused",
        422,
        "an `Idempotency-Key` sent again with a different body",
    ),
    problem(
        "precondition-required",
        428,
        "`PATCH /gigs/{id}` or an admin's approve or reject without `If-Match`",
    ),
    problem(
        "rate-limited",
        429,
        "a login, registration, mail or conversation throttle, or a per-user quota (orders, messages, gigs); see `Retry-After`",
    ),
    problem(
        "internal-error",
        500,
        "a bug or an AWS failure; logged with the request id, never detailed to the caller",
    ),
    problem(
        "service-unavailable",
        503,
        "DynamoDB throttled, timed out, or cancelled a transaction for throughput, or the request ran into its deadline; `Retry-After`; send the same request again",
    ),
];

pub use crate::domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body parsed but its values break the rules; one entry per offending field.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The request itself is unusable: malformed JSON, wrong types, unknown fields, bad query.
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("payload too large (limit {limit} bytes)")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// Missing, malformed, expired or forged credentials. One message for all of them on purpose.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request conflicts with current state (duplicate email, wrong order state, ...).
    #[error("conflict: {detail}")]
    Conflict { code: &'static str, detail: String },
    /// An `If-Match` precondition or version check failed.
    /// 410: the resource existed and is gone for good (an expired file).
    #[error("gone: {detail}")]
    Gone { code: &'static str, detail: String },
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// A conditional request (`If-Match`) is required and was not made.
    #[error("precondition required: {0}")]
    PreconditionRequired(&'static str),
    #[error("unprocessable: {detail}")]
    Unprocessable { code: &'static str, detail: String },
    #[error("too many requests")]
    TooManyRequests {
        retry_after_secs: u64,
        detail: String,
    },
    /// Anything we did not expect. The cause is logged, never returned.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
    /// `POST /orders` with `expected_price_cents` and `currency` that are no longer the
    /// package's price.
    #[error(
        "price changed: expected {expected_price_cents} {expected_currency}, now {current_price_cents} {current_currency}"
    )]
    PriceChanged {
        expected_price_cents: u64,
        expected_currency: String,
        current_price_cents: u64,
        current_currency: String,
    },
    /// DynamoDB throttled the request, timed out, or cancelled a transaction for throughput:
    /// nothing is wrong with the request, and the same request is worth sending again later.
    /// The cause is logged, never returned.
    #[error("service unavailable: {cause:#}")]
    ServiceUnavailable {
        retry_after_secs: u64,
        cause: anyhow::Error,
    },
    /// The account has not verified its email yet: publishing, ordering and messaging wait.
    #[error("email unverified")]
    EmailUnverified,
    /// A verification or reset token that is unknown, expired, already used or for the other
    /// purpose: one answer for all, so a guess learns nothing.
    #[error("invalid token")]
    InvalidToken,
    /// The caller's account is blocked: every write is refused, whatever token they hold.
    #[error("account blocked")]
    AccountBlocked,
}

impl ApiError {
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            detail: detail.into(),
        }
    }

    pub fn invalid(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Gone { .. } => StatusCode::GONE,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::PriceChanged { .. } => StatusCode::CONFLICT,
            Self::EmailUnverified => StatusCode::FORBIDDEN,
            Self::InvalidToken => StatusCode::BAD_REQUEST,
            Self::AccountBlocked => StatusCode::FORBIDDEN,
        }
    }

    /// The last segment of the problem `type` URI; stable, documented, safe to switch on.
    pub fn problem_code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation-error",
            Self::BadRequest(_) => "bad-request",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::Gone { code, .. } => code,
            Self::PreconditionFailed(_) => "precondition-failed",
            Self::PreconditionRequired(_) => "precondition-required",
            Self::TooManyRequests { .. } => "rate-limited",
            Self::Internal(_) => "internal-error",
            Self::ServiceUnavailable { .. } => "service-unavailable",
            Self::PriceChanged { .. } => "price-changed",
            Self::EmailUnverified => "email-unverified",
            Self::InvalidToken => "invalid-token",
            Self::AccountBlocked => "account-blocked",
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::Validation(errors) => format!("{} field(s) failed validation", errors.len()),
            Self::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            Self::ServiceUnavailable {
                retry_after_secs, ..
            } => format!("the service is busy; retry in {retry_after_secs} second(s)"),
            Self::PriceChanged {
                expected_price_cents,
                expected_currency,
                current_price_cents,
                current_currency,
            } => format!(
                "the package now costs {current_price_cents} {current_currency} (minor units), \
                 not {expected_price_cents} {expected_currency}; review the gig and order again"
            ),
            Self::Conflict { detail, .. }
            | Self::Unprocessable { detail, .. }
            | Self::Gone { detail, .. }
            | Self::TooManyRequests { detail, .. } => detail.clone(),
            Self::Unauthorized(detail)
            | Self::Forbidden(detail)
            | Self::PreconditionRequired(detail) => (*detail).to_owned(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::BadRequest(detail)
            | Self::UnsupportedMediaType(detail)
            | Self::PreconditionFailed(detail) => detail.clone(),
            Self::PayloadTooLarge { limit } => format!("request body exceeds {limit} bytes"),
            Self::MethodNotAllowed => "method not allowed on this resource".to_owned(),
            Self::EmailUnverified => "verify your email address first: follow the link we mailed \
                you, or ask for a new one at POST /auth/verify/resend"
                .to_owned(),
            Self::InvalidToken => {
                "this link is invalid, expired or already used; ask for a new one".to_owned()
            }
            Self::AccountBlocked => {
                "this account is blocked: it can not change anything; contact support".to_owned()
            }
        }
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        Problem {
            problem_type: format!("{PROBLEM_TYPE_BASE}{}", self.problem_code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            errors: match self {
                Self::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
            current_price_cents: match self {
                Self::PriceChanged {
                    current_price_cents,
                    ..
                } => Some(*current_price_cents),
                _ => None,
            },
            current_currency: match self {
                Self::PriceChanged {
                    current_currency, ..
                } => Some(current_currency.clone()),
                _ => None,
            },
        }
    }
}

/// The RFC 9457 body. `errors` is our extension member for per-field validation failures.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// Extension member of `price-changed`: what the package costs now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_price_cents: Option<u64>,
    /// Extension member of `price-changed`: the package's currency now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_currency: Option<String>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Only API functions render responses; the event-driven functions never link axum.
#[cfg(feature = "web")]
impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        use http::{HeaderValue, header};

        match &self {
            Self::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            Self::ServiceUnavailable { cause, .. } => {
                tracing::warn!(error = ?cause, "service unavailable")
            }
            other if other.status().is_client_error() => {
                tracing::info!(
                    status = other.status().as_u16(),
                    problem = other.problem_code(),
                    "client error"
                )
            }
            _ => {}
        }
        let problem = self.to_problem();
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            Self::TooManyRequests {
                retry_after_secs, ..
            }
            | Self::ServiceUnavailable {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Self::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

// AWS SDK failures: the transient ones (throttling, timeouts, transactions cancelled for
// throughput) become 503 with `Retry-After`, everything else is internal. Decided here, from the
// SDK's error kinds and the service's error codes, so every store call maps them the same way.

/// How long a client should wait before retrying after DynamoDB throttled or timed out. The SDK
/// has already retried with backoff by the time we answer, so a second is a fair pause.
pub const RETRY_AFTER_BUSY_SECS: u64 = 1;

/// Service error codes that say "too much traffic right now", not "your request is wrong".
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "Throttling",
    "LimitExceededException",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Cancellation reason codes of a transaction cancelled by contention (one per item): throughput,
/// or another transaction in flight on the same item.
const CONTENTION_CANCELLATION_CODES: &[&str] = &[
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "TransactionConflict",
];

/// Whether an SDK error is transient: a timeout, a connection failure, or throttling.
pub fn is_transient_sdk_error<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    use aws_sdk_dynamodb::error::SdkError;
    match error {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(failure) => failure.is_timeout() || failure.is_io(),
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| THROTTLING_CODES.contains(&code)),
        _ => false,
    }
}

/// Whether a transaction's cancellation reasons say it was cancelled by contention (and no
/// condition failed: a failed condition is an answer, not a reason to retry). Contention is worth
/// another attempt, and a 503 with `Retry-After` when it outlasts them: the request was fine.
pub fn is_contention_cancellation(reason_codes: &[&str]) -> bool {
    !reason_codes.contains(&"ConditionalCheckFailed")
        && reason_codes
            .iter()
            .any(|code| CONTENTION_CANCELLATION_CODES.contains(code))
}

impl ApiError {
    /// A 503 for a transient failure of `operation`.
    pub fn service_unavailable(cause: impl Into<anyhow::Error>) -> Self {
        Self::ServiceUnavailable {
            retry_after_secs: RETRY_AFTER_BUSY_SECS,
            cause: cause.into(),
        }
    }

    /// Any SDK failure of `operation`: 503 when transient, else internal (keeping the service's
    /// own explanation in the log).
    pub fn from_sdk<E, R>(
        operation: &'static str,
        error: aws_sdk_dynamodb::error::SdkError<E, R>,
    ) -> Self
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let transient = is_transient_sdk_error(&error);
        let cause = anyhow::anyhow!(
            "{operation}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(error)
        );
        if transient {
            Self::service_unavailable(cause)
        } else {
            Self::Internal(cause)
        }
    }
}

// Domain refusals become problems here, and only here: the domain says why, this says how it
// reads over HTTP.

impl From<Invalid> for ApiError {
    fn from(Invalid(errors): Invalid) -> Self {
        ApiError::Validation(errors)
    }
}

impl From<OrderRefusal> for ApiError {
    fn from(refusal: OrderRefusal) -> Self {
        match refusal {
            OrderRefusal::NotVisible => ApiError::NotFound("order"),
            OrderRefusal::WrongParty => {
                ApiError::Forbidden("your part in this order does not allow this action")
            }
            OrderRefusal::WrongState { action, status } => ApiError::conflict(
                "invalid-transition",
                format!(
                    "cannot {} an order that is {}",
                    action.verb(),
                    status.as_str()
                ),
            ),
            OrderRefusal::RevisionLimitReached { limit } => ApiError::conflict(
                "revision-limit-reached",
                format!("this package includes {limit} revision(s), all of them used"),
            ),
            OrderRefusal::NotDue => ApiError::conflict("not-due", "the order is not due yet"),
            OrderRefusal::DisputeLost => ApiError::conflict(
                "order-charged-back",
                "the client's bank took the charge back (a lost dispute): the order can not complete",
            ),
            OrderRefusal::Unbookable(why) => ApiError::internal(anyhow::anyhow!(
                "the order's money can not be booked: {why}"
            )),
        }
    }
}

impl From<GigRefusal> for ApiError {
    fn from(refusal: GigRefusal) -> Self {
        match refusal {
            GigRefusal::WrongStatus { status, action } => ApiError::conflict(
                "invalid-gig-status",
                format!("a gig that is {} can not be {action}", status.as_str()),
            ),
        }
    }
}

impl From<QuotaExceeded> for ApiError {
    fn from(exceeded: QuotaExceeded) -> Self {
        ApiError::TooManyRequests {
            retry_after_secs: exceeded.retry_after_secs,
            detail: exceeded.detail(),
        }
    }
}

impl From<ReviewRefusal> for ApiError {
    fn from(refusal: ReviewRefusal) -> Self {
        match refusal {
            ReviewRefusal::NotVisible => ApiError::NotFound("review"),
            ReviewRefusal::WrongParty => {
                ApiError::Forbidden("only the reviewed party may answer a review")
            }
            ReviewRefusal::OrderNotCompleted(status) => ApiError::conflict(
                "order-not-completed",
                format!(
                    "only completed orders can be reviewed; this one is {}",
                    status.as_str()
                ),
            ),
            ReviewRefusal::AlreadyReviewed => {
                ApiError::conflict("already-reviewed", "you have already reviewed this order")
            }
            ReviewRefusal::WindowClosed(closed_at) => ApiError::conflict(
                "review-window-closed",
                format!(
                    "reviews of this order were possible until {}",
                    closed_at
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default()
                ),
            ),
            ReviewRefusal::SubRatingsFromFreelancer => ApiError::Validation(
                ["communication", "as_described", "would_recommend"]
                    .into_iter()
                    .map(|field| {
                        FieldError::new(field, "client_only", "only a client's review rates this")
                    })
                    .collect(),
            ),
            ReviewRefusal::NotPublished => ApiError::conflict(
                "review-not-published",
                "a review can be answered once it is published",
            ),
            ReviewRefusal::AlreadyReplied => {
                ApiError::conflict("already-replied", "this review has been answered already")
            }
        }
    }
}

#[cfg(test)]
mod sdk_error_tests {
    use aws_sdk_dynamodb::error::{ErrorMetadata, SdkError};
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;

    use super::*;

    fn service_error(error: GetItemError) -> SdkError<GetItemError, ()> {
        SdkError::service_error(error, ())
    }

    fn coded(code: &str) -> GetItemError {
        GetItemError::generic(ErrorMetadata::builder().code(code).message("m").build())
    }

    #[test]
    fn throttling_is_503_with_retry_after() {
        let throughput = GetItemError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .message("slow down")
                .meta(
                    ErrorMetadata::builder()
                        .code("ProvisionedThroughputExceededException")
                        .build(),
                )
                .build(),
        );
        for error in [
            service_error(throughput),
            service_error(coded("ThrottlingException")),
            service_error(coded("RequestLimitExceeded")),
        ] {
            let mapped = ApiError::from_sdk("GetItem", error);
            assert_eq!(mapped.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(mapped.problem_code(), "service-unavailable");
            assert!(matches!(
                mapped,
                ApiError::ServiceUnavailable {
                    retry_after_secs: RETRY_AFTER_BUSY_SECS,
                    ..
                }
            ));
        }
    }

    #[test]
    fn timeouts_are_503() {
        let error: SdkError<GetItemError, ()> = SdkError::timeout_error("took too long");
        assert_eq!(
            ApiError::from_sdk("GetItem", error).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn other_service_errors_stay_internal() {
        for code in ["ValidationException", "ResourceNotFoundException"] {
            let mapped = ApiError::from_sdk("GetItem", service_error(coded(code)));
            assert_eq!(mapped.status(), StatusCode::INTERNAL_SERVER_ERROR, "{code}");
        }
        let construction: SdkError<GetItemError, ()> = SdkError::construction_failure("bad input");
        assert_eq!(
            ApiError::from_sdk("GetItem", construction).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn transactions_cancelled_by_contention_are_transient_unless_a_condition_failed() {
        assert!(is_contention_cancellation(&["None", "ThrottlingError"]));
        assert!(is_contention_cancellation(&[
            "ProvisionedThroughputExceeded"
        ]));
        assert!(is_contention_cancellation(&["None", "TransactionConflict"]));
        assert!(!is_contention_cancellation(&[
            "ConditionalCheckFailed",
            "ThrottlingError"
        ]));
        assert!(!is_contention_cancellation(&[
            "ConditionalCheckFailed",
            "TransactionConflict"
        ]));
        assert!(!is_contention_cancellation(&["None", "ValidationError"]));
    }

    #[cfg(feature = "web")]
    #[test]
    fn service_unavailable_renders_retry_after() {
        use axum::response::IntoResponse;
        let response = ApiError::service_unavailable(anyhow::anyhow!("throttled")).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(http::header::RETRY_AFTER).unwrap(),
            &RETRY_AFTER_BUSY_SECS.to_string()
        );
    }
}

#[cfg(test)]
mod problem_type_tests {
    use super::*;

    fn documented(code: &str) -> &'static ProblemType {
        PROBLEM_TYPES
            .iter()
            .find(|problem| problem.code == code)
            .unwrap_or_else(|| panic!("{code} is not in PROBLEM_TYPES (the docs' problem table)"))
    }

    /// One error of each variant whose code is fixed (not chosen by the caller).
    fn fixed() -> Vec<ApiError> {
        vec![
            ApiError::Validation(Vec::new()),
            ApiError::BadRequest(String::new()),
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::UnsupportedMediaType(String::new()),
            ApiError::Unauthorized(""),
            ApiError::Forbidden(""),
            ApiError::NotFound(""),
            ApiError::MethodNotAllowed,
            ApiError::PreconditionFailed(String::new()),
            ApiError::PreconditionRequired(""),
            ApiError::TooManyRequests {
                retry_after_secs: 1,
                detail: String::new(),
            },
            ApiError::internal(anyhow::anyhow!("x")),
            ApiError::ServiceUnavailable {
                retry_after_secs: 1,
                cause: anyhow::anyhow!("x"),
            },
            ApiError::PriceChanged {
                expected_price_cents: 1,
                expected_currency: "EUR".to_owned(),
                current_price_cents: 2,
                current_currency: "EUR".to_owned(),
            },
            ApiError::EmailUnverified,
            ApiError::InvalidToken,
            ApiError::AccountBlocked,
        ]
    }

    fn sources(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }

    /// The codes of `ApiError::conflict("..")`, `unprocessable("..")` and `Gone { code: ".." }`
    /// in the crate and the functions, each with the status its constructor gives.
    fn constructed_codes() -> Vec<(String, u16)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut text = String::new();
        sources(&root.join("src"), &mut text);
        for function in std::fs::read_dir(root.join("../functions")).unwrap() {
            sources(&function.unwrap().path().join("src"), &mut text);
        }
        let mut codes = Vec::new();
        for (constructor, status) in [("conflict(", 409), ("unprocessable(", 422), ("Gone {", 410)]
        {
            for (start, _) in text.match_indices(constructor) {
                let rest = text[start + constructor.len()..].trim_start();
                let rest = rest.strip_prefix("code:").unwrap_or(rest).trim_start();
                if let Some(literal) = rest.strip_prefix('"') {
                    let code = &literal[..literal.find('"').unwrap()];
                    // Skips this test's own `("conflict(", 409)` pairs.
                    if !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    {
                        codes.push((code.to_owned(), status));
                    }
                }
            }
        }
        codes
    }

    #[test]
    fn every_answered_problem_is_documented_with_its_status() {
        for error in fixed() {
            let problem = documented(error.problem_code());
            assert_eq!(problem.status, error.status().as_u16(), "{}", problem.code);
        }
        for (code, status) in constructed_codes() {
            assert_eq!(documented(&code).status, status, "{code}");
        }
    }

    #[test]
    fn every_documented_problem_is_answered_somewhere() {
        let fixed: Vec<&str> = fixed().iter().map(ApiError::problem_code).collect();
        let constructed = constructed_codes();
        for problem in PROBLEM_TYPES {
            assert!(
                fixed.contains(&problem.code)
                    || constructed.iter().any(|(code, _)| code == problem.code),
                "{} is in PROBLEM_TYPES but nothing answers it",
                problem.code
            );
        }
    }
}

//! The `If-Match` request header: the `ETag` a change is based on (gig edits, moderation
//! decisions). Absent is `None` (the use case decides whether that is 428); present but not a
//! visible-ASCII value, or naming no tag at all, is 400.

use axum::extract::FromRequestParts;
use http::header::IF_MATCH;
use http::request::Parts;

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub Option<String>);

impl IfMatch {
    /// The header's value, or 428 with `message` (what to send, and where its value comes from).
    pub fn require(self, message: &'static str) -> ApiResult<String> {
        self.0.ok_or(ApiError::PreconditionRequired(message))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(IF_MATCH) else {
            return Ok(Self(None));
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::BadRequest("If-Match is not a valid header value".into()))?
            .trim();
        // An empty list names no entity tag at all: malformed, not a stale version.
        if value.is_empty() {
            return Err(ApiError::BadRequest(
                "If-Match must name an ETag (or `*`)".into(),
            ));
        }
        Ok(Self(Some(value.to_owned())))
    }
}

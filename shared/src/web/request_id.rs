//! The id of the request being served, as the logs and the `x-request-id` header show it: what
//! an audit entry records, so an admin action can be traced to its log lines.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::request::Parts;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(super::request_id_of(&parts.extensions)))
    }
}

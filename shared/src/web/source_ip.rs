//! The caller's network address as API Gateway saw it (`requestContext.http.sourceIp`): what the
//! per-address throttles count. Never a header: `X-Forwarded-For` is whatever the client wrote.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::request::Parts;

/// The address all requests without a source address share (e.g. direct `cargo lambda invoke`s
/// of hand-written events): they are throttled together rather than not at all.
pub const UNKNOWN_SOURCE_IP: &str = "unknown";

/// Longest address kept (an IPv6 address with a zone fits easily): a key stays small.
const MAX_SOURCE_IP_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SourceIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        use lambda_http::request::RequestContext;
        let address = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
            _ => None,
        };
        let address = address
            .map(|address| address.trim().to_owned())
            .filter(|address| !address.is_empty() && address.len() <= MAX_SOURCE_IP_LEN)
            .unwrap_or_else(|| UNKNOWN_SOURCE_IP.to_owned());
        Ok(Self(address))
    }
}

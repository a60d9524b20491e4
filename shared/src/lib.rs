//! Gigmarket's domain library, shared by every Lambda function: configuration, AWS clients, the
//! single-table store, the error type, HTTP extractors, pagination, auth and telemetry.

pub mod accounts;
pub mod auth;
pub mod aws;
pub mod call_log;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod metrics;
pub mod ordering;
pub mod pagination;
pub mod routes;
pub mod store;
pub mod telemetry;

pub use error::{ApiError, ApiResult};

/// Unix seconds now.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

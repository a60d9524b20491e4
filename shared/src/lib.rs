//! Gigmarket's domain library, shared by every Lambda function. Layers, each using only the ones
//! below it:
//!
//! - `web` (feature `web`) and `triggers`: the adapters. `web` is the axum plumbing of the API
//!   functions (state, extractors, problem+json, start-up); `triggers` reads the invocations of
//!   the event functions (stream, queue, schedule).
//! - `app`: the use cases, one function per thing a caller can do.
//! - `domain` (pure rules, no clock, no AWS) and `store` (the single table, every key layout).
//! - `auth`, `config`, `aws`, `events`, `pagination`, `error`, `telemetry`: supporting pieces;
//!   `emf` writes the CloudWatch (EMF) metrics. "Metrics" alone names the admin's marketplace
//!   counters (`GET /admin/metrics`: `domain::metrics`, `store::metrics`).

pub mod app;
pub mod auth;
pub mod aws;
pub mod call_log;
pub mod capacity_log;
pub mod config;
pub mod domain;
pub mod emf;
pub mod error;
pub mod events;
#[cfg(feature = "s3")]
pub mod files;
pub mod pagination;
pub mod routes;
#[cfg(feature = "s3")]
pub mod search_index;
pub mod store;
pub mod stripe;
pub mod telemetry;
pub mod triggers;
#[cfg(feature = "web")]
pub mod web;

pub use error::{ApiError, ApiResult};

/// Unix seconds now: the clock of adapters (the notifier, the store's own expiry checks); use
/// cases get `now` passed in instead.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

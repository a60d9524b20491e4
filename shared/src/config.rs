//! Runtime configuration, read once per cold start from the environment.
//!
//! Everything has a safe default except the table name, so a misconfigured function fails at
//! start-up with a message naming the variable instead of failing on its first request.

use std::time::Duration;

use anyhow::{Context, bail};

#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the single DynamoDB table.
    pub table_name: String,
    /// `ORDER_EVENTS_QUEUE_URL`: where the dispatcher sends order events (optional for API functions).
    pub order_events_queue_url: Option<String>,
    /// `JWT_ISSUER` / `JWT_AUDIENCE`: checked on every access token.
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// `ACCESS_TOKEN_TTL_SECS` (default 900 = 15 minutes).
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_SECS` (default 30 days).
    pub refresh_token_ttl: Duration,
    /// `LOGIN_MAX_FAILURES` per `LOGIN_FAILURE_WINDOW_SECS` (defaults 5 per 900 s) before 429.
    pub login_max_failures: u32,
    pub login_failure_window: Duration,
    /// `LOGIN_MAX_ATTEMPTS_PER_ADDRESS` (default 50): login attempts from one source address,
    /// any email, per login window (successes are given back).
    pub login_max_attempts_per_address: u32,
    /// `REGISTRATIONS_PER_ADDRESS` per `REGISTRATION_WINDOW_SECS` (defaults 20 per 3600 s):
    /// registrations from one source address before 429.
    pub registrations_per_address: u32,
    pub registration_window: Duration,
    /// `MAX_BODY_BYTES` (default 64 KiB): larger JSON bodies get 413.
    pub max_body_bytes: usize,
    /// `GIG_AUTO_APPROVE` (default false): new and edited gigs skip the review queue.
    pub gig_auto_approve: bool,
    /// `SENDER_EMAIL`: the verified SES identity the notifier sends from.
    pub sender_email: String,
    // Messaging.
    /// `CONVERSATIONS_PER_HOUR` (default 20): new conversations one user may open per clock hour.
    pub conversations_per_hour: u32,
    // Email verification and password reset.
    /// `APP_BASE_URL` (default `http://localhost:3000`): the web app the mailed links open
    /// (`<base>/verify-email?token=...`, `<base>/reset-password?token=...`).
    pub app_base_url: String,
    // Password hashing memory (auth).
    /// `PASSWORD_HASH_CONCURRENCY` (default 1): argon2 hashes one process runs at once; each
    /// holds 19 MiB of working memory for good (`auth::password`), so this bounds `auth`'s RSS
    /// at about the idle footprint plus 19 MiB per permit. A Lambda instance serves one request
    /// at a time: 1 fits; `cargo lambda watch` and the tests queue concurrent logins behind it.
    pub password_hash_concurrency: usize,
}

const DEFAULT_APP_BASE_URL: &str = "http://localhost:3000";

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            order_events_queue_url: optional("ORDER_EVENTS_QUEUE_URL"),
            jwt_issuer: optional("JWT_ISSUER").unwrap_or_else(|| "gigmarket".to_owned()),
            jwt_audience: optional("JWT_AUDIENCE").unwrap_or_else(|| "gigmarket-api".to_owned()),
            access_token_ttl: Duration::from_secs(number("ACCESS_TOKEN_TTL_SECS", 900)?),
            refresh_token_ttl: Duration::from_secs(number(
                "REFRESH_TOKEN_TTL_SECS",
                30 * 24 * 3600,
            )?),
            login_max_failures: number("LOGIN_MAX_FAILURES", 5)?,
            login_failure_window: Duration::from_secs(number("LOGIN_FAILURE_WINDOW_SECS", 900)?),
            login_max_attempts_per_address: number("LOGIN_MAX_ATTEMPTS_PER_ADDRESS", 50)?,
            registrations_per_address: number("REGISTRATIONS_PER_ADDRESS", 20)?,
            registration_window: Duration::from_secs(number("REGISTRATION_WINDOW_SECS", 3600)?),
            max_body_bytes: number("MAX_BODY_BYTES", 64 * 1024)?,
            gig_auto_approve: flag("GIG_AUTO_APPROVE")?,
            sender_email: optional("SENDER_EMAIL")
                .unwrap_or_else(|| "no-reply@gigmarket.local".to_owned()),
            // Messaging.
            conversations_per_hour: number(
                "CONVERSATIONS_PER_HOUR",
                crate::domain::message::DEFAULT_CONVERSATIONS_PER_HOUR,
            )?,
            // Email verification and password reset.
            app_base_url: optional("APP_BASE_URL")
                .unwrap_or_else(|| DEFAULT_APP_BASE_URL.to_owned()),
            // Password hashing memory (auth).
            password_hash_concurrency: match number("PASSWORD_HASH_CONCURRENCY", 1)? {
                0 => bail!("environment variable PASSWORD_HASH_CONCURRENCY must be at least 1"),
                permits => permits,
            },
        })
    }

    /// Defaults for a given table; tests and tools start here and override what they need.
    pub fn for_table(table_name: impl Into<String>) -> Self {
        Self {
            table_name: table_name.into(),
            order_events_queue_url: None,
            jwt_issuer: "gigmarket".to_owned(),
            jwt_audience: "gigmarket-api".to_owned(),
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            login_max_failures: 5,
            login_failure_window: Duration::from_secs(900),
            login_max_attempts_per_address: 50,
            registrations_per_address: 20,
            registration_window: Duration::from_secs(3600),
            max_body_bytes: 64 * 1024,
            gig_auto_approve: false,
            sender_email: "no-reply@gigmarket.local".to_owned(),
            // Messaging.
            conversations_per_hour: crate::domain::message::DEFAULT_CONVERSATIONS_PER_HOUR,
            // Email verification and password reset.
            app_base_url: DEFAULT_APP_BASE_URL.to_owned(),
            // Password hashing memory (auth).
            password_hash_concurrency: 1,
        }
    }
}

fn optional(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

fn required(name: &str) -> anyhow::Result<String> {
    optional(name).with_context(|| format!("environment variable {name} must be set"))
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match optional(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| {
            anyhow::anyhow!("environment variable {name} must be a number, got {raw:?}")
        }),
    }
}

fn flag(name: &str) -> anyhow::Result<bool> {
    match optional(name)
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => bail!("environment variable {name} must be true or false, got {other:?}"),
    }
}

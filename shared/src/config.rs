//! Runtime configuration, read once per cold start from the environment.
//!
//! Everything has a safe default except the table name, so a misconfigured function fails at
//! start-up with a message naming the variable instead of failing on its first request.

use std::time::Duration;

use anyhow::{Context, bail};

use crate::domain::file::{FileArea, FileLimits};
use crate::domain::money::{BasisPoints, FeeSchedule};

#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the single DynamoDB table.
    pub table_name: String,
    /// `ORDER_EVENTS_QUEUE_URL`: where the dispatcher sends order events (optional for API functions).
    pub order_events_queue_url: Option<String>,
    /// `SEARCH_INDEX_QUEUE_URL`: where the dispatcher sends gig hints for the search index
    /// writer (`indexer`); only the dispatcher reads it.
    pub search_index_queue_url: Option<String>,
    /// `SEARCH_INDEX_POLL_SECS` (default 15): how often the `search` function asks the search
    /// index bucket for a newer version (a conditional GET; unchanged costs one 304).
    pub search_index_poll: Duration,
    /// `SEARCH_INDEX_RETIRED_FILES_KEPT_SECS` (default 600): how long the index writer leaves a
    /// file no index version names any more before deleting it (longer than any reader takes to
    /// move past the version that named it).
    pub search_index_retired_files_kept: Duration,
    /// `JWT_ISSUER` / `JWT_AUDIENCE`: checked on every access token.
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// `ACCESS_TOKEN_TTL_SECS` (default 900 = 15 minutes).
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_SECS` (default 30 days): how long a refresh token lives unused (each
    /// refresh starts it again).
    pub refresh_token_ttl: Duration,
    /// `SESSION_MAX_AGE_SECS` (default 90 days): how long a session lives from its login,
    /// however often it refreshes.
    pub session_max_age: Duration,
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
    /// `ORDER_PLACEMENTS_PER_HOUR` (20), `MESSAGES_PER_MINUTE` (30), `GIGS_CREATED_PER_DAY` (10):
    /// per-user quotas (`domain::quota`; 429 with `Retry-After` above).
    pub quotas: crate::domain::quota::QuotaLimits,
    /// `REQUESTS_PER_MINUTE_PER_USER` (600), `REQUESTS_PER_MINUTE_PER_ADDRESS` (1200): requests
    /// one client may send per clock minute to the API functions (`web::rate_limit`).
    pub request_limits: crate::domain::quota::RequestLimits,
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
    // Payments.
    /// `SERVICE_FEE_BPS` (default 550), `SERVICE_FEE_MINIMUM_HUNDREDTHS` (default 200) and
    /// `COMMISSION_BPS` (default 2000): how an order's price is split at placement.
    pub fees: FeeSchedule,
    // Payouts.
    /// `PAYOUT_CLEARANCE_DAYS` (default 14): how long a completed order's earnings stay
    /// pending before they can be withdrawn (refunds and disputes come out of them meanwhile).
    pub payout_clearance: time::Duration,
    /// `PAYOUT_MINIMUM_HUNDREDTHS` (default 1000: 10.00 EUR, 10 JPY): the least withdrawal.
    pub payout_minimum_hundredths: u64,
    // Real time.
    /// `REALTIME_CALLBACK_URL`: the WebSocket API stage's management endpoint
    /// (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`; locally the gateway's), where
    /// `realtime` posts to connections. Given to the client explicitly: a global
    /// `AWS_ENDPOINT_URL` never redirects it.
    pub realtime_callback_url: Option<String>,
    // Files.
    /// `ORDER_FILE_MAX_BYTES` (default 250 MB) and `ORDER_FILES_MAX` (default 50): the largest
    /// file and the most files of one order (deliveries and requirement files together).
    pub order_files: FileLimits,
    /// `CONVERSATION_FILE_MAX_BYTES` (default 25 MB) and `CONVERSATION_FILES_MAX` (default 200):
    /// the same for one conversation's attachments, smaller: they are chat, not deliveries.
    pub conversation_files: FileLimits,
    /// `ORDER_FILES_RETENTION_DAYS` (default 90): how long after its order closes an order's
    /// files are kept; the scheduler then deletes their objects.
    pub order_files_retention: time::Duration,
}

/// The default file limits: a delivery may be video or a source archive, an attachment is a
/// screenshot or a brief.
const ORDER_FILES: FileLimits = FileLimits {
    max_bytes: 250_000_000,
    max_count: 50,
};
const CONVERSATION_FILES: FileLimits = FileLimits {
    max_bytes: 25_000_000,
    max_count: 200,
};

/// One environment variable a function reads: the configuration table in `docs/deploy.md` is
/// rendered from [`ENV_VARS`] (`gigctl docs`), and the tests below hold the list to the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    /// The value used when the variable is unset or blank; empty when there is none.
    pub default: &'static str,
    pub meaning: &'static str,
}

const fn env_var(name: &'static str, default: &'static str, meaning: &'static str) -> EnvVar {
    EnvVar {
        name,
        default,
        meaning,
    }
}

/// Every environment variable the functions read, in `Config`, `aws`, `telemetry`, the EMF
/// writer and the test-only logs, plus the SDK's own that the stacks and `scripts/env.sh` set.
pub const ENV_VARS: &[EnvVar] = &[
    env_var("TABLE_NAME", "(required)", "the DynamoDB table"),
    env_var(
        "JWT_KEYS_SECRET_ID",
        "",
        "deployed: the Secrets Manager secret holding the verifying JWT keyset JSON, public keys and the cursor key (every API function; the stack creates and fills it)",
    ),
    env_var(
        "JWT_KEYS_FILE",
        "",
        "local: path to the verifying keyset JSON `{\"keys\":{\"k1\":\"<Ed25519 public key, base64url>\"},\"cursor_key\":\"<base64url, >= 32 bytes>\"}`",
    ),
    env_var(
        "JWT_KEYS",
        "",
        "local: the verifying keyset JSON itself (read before `JWT_KEYS_FILE`)",
    ),
    env_var(
        "JWT_SIGNING_KEYS_SECRET_ID",
        "",
        "deployed, `auth` only: the Secrets Manager secret holding the signing JWT keyset JSON (the stack creates and fills it)",
    ),
    env_var(
        "JWT_SIGNING_KEYS_FILE",
        "",
        "local, `auth` only: path to the signing keyset JSON `{\"active_kid\":\"k1\",\"keys\":{\"k1\":\"<Ed25519 seed, base64url>\"}}`",
    ),
    env_var("JWT_ISSUER", "gigmarket", "checked on every access token"),
    env_var(
        "JWT_AUDIENCE",
        "gigmarket-api",
        "checked on every access token",
    ),
    env_var("ACCESS_TOKEN_TTL_SECS", "900", "access-token lifetime"),
    env_var(
        "REFRESH_TOKEN_TTL_SECS",
        "2592000",
        "refresh-token lifetime (30 days), renewed by each refresh",
    ),
    env_var(
        "SESSION_MAX_AGE_SECS",
        "7776000",
        "a session's absolute lifetime from its login (90 days), however often it refreshes",
    ),
    env_var(
        "LOGIN_MAX_FAILURES",
        "5",
        "login attempts per email (and per known address of it) per login window",
    ),
    env_var(
        "LOGIN_FAILURE_WINDOW_SECS",
        "900",
        "the login throttle's window",
    ),
    env_var(
        "LOGIN_MAX_ATTEMPTS_PER_ADDRESS",
        "50",
        "login attempts per source address per login window, any email",
    ),
    env_var(
        "REGISTRATIONS_PER_ADDRESS",
        "20",
        "registrations per source address per registration window",
    ),
    env_var(
        "REGISTRATION_WINDOW_SECS",
        "3600",
        "the registration throttle's window",
    ),
    env_var("MAX_BODY_BYTES", "65536", "JSON body limit (413 above)"),
    env_var(
        "CONVERSATIONS_PER_HOUR",
        "20",
        "new conversations one user may open per clock hour (`messages`; 429 above)",
    ),
    env_var(
        "REQUESTS_PER_MINUTE_PER_USER",
        "600",
        "requests one signed-in user may send per clock minute to the API functions (429 above)",
    ),
    env_var(
        "REQUESTS_PER_MINUTE_PER_ADDRESS",
        "1200",
        "requests without a valid token one source address may send per clock minute (429 above)",
    ),
    env_var(
        "ORDER_PLACEMENTS_PER_HOUR",
        "20",
        "orders one client may place per clock hour (`orders`; 429 above)",
    ),
    env_var(
        "MESSAGES_PER_MINUTE",
        "30",
        "messages one user may send per clock minute into existing conversations (`messages`; 429 above)",
    ),
    env_var(
        "GIGS_CREATED_PER_DAY",
        "10",
        "gigs one freelancer may create per UTC day (`gigs`; 429 above)",
    ),
    env_var(
        "GIG_AUTO_APPROVE",
        "false",
        "new and edited gigs skip the review queue",
    ),
    env_var(
        "PASSWORD_HASH_CONCURRENCY",
        "1",
        "argon2 hashes one process runs at once (`auth`); each holds 19 MiB, so this bounds the RSS",
    ),
    env_var(
        "ORDER_EVENTS_QUEUE_URL",
        "",
        "the events queue (`dispatcher` sends every event; `auth` the account mails)",
    ),
    env_var(
        "SEARCH_INDEX_QUEUE_URL",
        "",
        "the search index queue (`dispatcher` sends a hint per changed gig; `indexer` reads it)",
    ),
    env_var(
        "SEARCH_INDEX_BUCKET",
        "",
        "the S3 bucket holding the published gig search index (`search` reads it, `indexer` writes it); the stacks create it, `gigctl setup` creates it in moto",
    ),
    env_var(
        "SEARCH_INDEX_POLL_SECS",
        "15",
        "how often `search` checks the search index bucket for a newer version",
    ),
    env_var(
        "SEARCH_INDEX_RETIRED_FILES_KEPT_SECS",
        "600",
        "how long `indexer` leaves a file no index version names any more before deleting it",
    ),
    env_var(
        "APP_BASE_URL",
        "http://localhost:3000",
        "the web app the verification and reset links open (`auth`; the stacks' `AppBaseUrl` parameter)",
    ),
    env_var(
        "SENDER_EMAIL",
        "no-reply@gigmarket.local",
        "the verified SES sender (`notifier`)",
    ),
    env_var(
        "STRIPE_API_BASE",
        "https://api.stripe.com",
        "the Stripe client's API base (`shared::stripe::client`); the local stack's `.local/stack.env` points it at localstripe",
    ),
    env_var(
        "STRIPE_SECRET_KEY",
        "",
        "local: the key the Stripe client authenticates with, never logged; the local stack's is the dummy `sk_test_local`",
    ),
    env_var(
        "STRIPE_SECRET_KEY_ID",
        "",
        "deployed: the Secrets Manager secret holding the Stripe secret key (`orders`, `payments`; see docs/deploy.md)",
    ),
    env_var(
        "STRIPE_WEBHOOK_SECRETS",
        "",
        "local: the Stripe webhook's signing secrets (`whsec_...`), one per comma or line (`payments`), never logged",
    ),
    env_var(
        "STRIPE_WEBHOOK_SECRETS_ID",
        "",
        "deployed: the Secrets Manager secret holding the Stripe webhook's signing secrets, one per line (`payments`; see docs/deploy.md)",
    ),
    env_var(
        "SERVICE_FEE_BPS",
        "550",
        "the client's service fee on top of an order's price, in basis points (`orders`)",
    ),
    env_var(
        "SERVICE_FEE_MINIMUM_HUNDREDTHS",
        "200",
        "the least service fee, in hundredths of a major unit of the order's currency (200: 2.00 EUR, 2 JPY)",
    ),
    env_var(
        "COMMISSION_BPS",
        "2000",
        "the platform's commission out of an order's price, in basis points (`orders`)",
    ),
    env_var(
        "PAYOUT_CLEARANCE_DAYS",
        "14",
        "days a completed order's earnings stay pending before they can be withdrawn (`scheduler`, `payouts`)",
    ),
    env_var(
        "PAYOUT_MINIMUM_HUNDREDTHS",
        "1000",
        "the least withdrawal, in hundredths of a major unit of its currency (1000: 10.00 EUR, 10 JPY) (`payouts`, `scheduler`'s automatic withdrawals)",
    ),
    env_var(
        "STRIPE_CONNECT_WEBHOOK_SECRETS",
        "",
        "local: the Stripe Connect webhook's signing secrets (`whsec_...`), one per comma or line (`payouts`), never logged",
    ),
    env_var(
        "STRIPE_CONNECT_WEBHOOK_SECRETS_ID",
        "",
        "deployed: the Secrets Manager secret holding the Stripe Connect webhook's signing secrets, one per line (`payouts`; see docs/deploy.md)",
    ),
    env_var(
        "REALTIME_CALLBACK_URL",
        "",
        "the WebSocket API stage's management endpoint `realtime` posts to connections at (locally the gateway's `http://127.0.0.1:<port>/local`); never taken from `AWS_ENDPOINT_URL`",
    ),
    env_var(
        "FILES_BUCKET",
        "",
        "the S3 bucket of order and conversation files (`orders`, `messages`, `scheduler`); the stacks create it, the local stack creates it in moto",
    ),
    env_var(
        "ORDER_FILE_MAX_BYTES",
        "250000000",
        "the largest file of an order, in bytes (`orders`)",
    ),
    env_var(
        "ORDER_FILES_MAX",
        "50",
        "the most files one order may hold, deliveries and requirement files together (`orders`)",
    ),
    env_var(
        "ORDER_FILES_RETENTION_DAYS",
        "90",
        "days after its order closes that an order's files are deleted from S3 (`scheduler`)",
    ),
    env_var(
        "CONVERSATION_FILE_MAX_BYTES",
        "25000000",
        "the largest attachment of a conversation, in bytes (`messages`)",
    ),
    env_var(
        "CONVERSATION_FILES_MAX",
        "200",
        "the most attachments one conversation may hold (`messages`)",
    ),
    env_var(
        "METRICS_NAMESPACE",
        "Gigmarket",
        "CloudWatch namespace of the EMF metrics; the stacks set `Gigmarket/<stage>`",
    ),
    env_var(
        "DYNAMODB_CONNECT_TIMEOUT_MS",
        "1000",
        "DynamoDB client: time to open a connection; `scripts/env.sh` sets 5000 for DynamoDB Local",
    ),
    env_var(
        "DYNAMODB_ATTEMPT_TIMEOUT_MS",
        "3000",
        "DynamoDB client: time one attempt may take before it is retried on a new connection; `scripts/env.sh` sets 20000",
    ),
    env_var(
        "DYNAMODB_OPERATION_TIMEOUT_MS",
        "7000",
        "DynamoDB client: time a call may take with its retries, then 503; `scripts/env.sh` sets 30000",
    ),
    env_var(
        "AWS_LAMBDA_LOG_LEVEL",
        "INFO",
        "set by Lambda from the `LogLevel` parameter: `DEBUG`, `INFO`, `WARN`, `ERROR`; verbose levels apply to Gigmarket's crates only, `TRACE` counts as `DEBUG`",
    ),
    env_var(
        "AWS_LAMBDA_LOG_FORMAT",
        "JSON",
        "set by Lambda: `JSON` (one object per line) or `Text`",
    ),
    env_var(
        "RUST_LOG",
        "",
        "local only: a level, as `AWS_LAMBDA_LOG_LEVEL` (never filter directives)",
    ),
    env_var(
        "AWS_LAMBDA_FUNCTION_NAME",
        "",
        "set by Lambda and `cargo lambda watch`; names the function in the call log",
    ),
    env_var(
        "GIGMARKET_AWS_CALL_LOG",
        "",
        "test only: a file every AWS call of a function is appended to (`make test` sets it; the permissions check reads it)",
    ),
    env_var(
        "GIGMARKET_DYNAMODB_CAPACITY",
        "",
        "bench only: ask DynamoDB for consumed capacity and sum it (`shared::capacity_log`)",
    ),
    env_var(
        "AWS_ENDPOINT_URL_DYNAMODB",
        "",
        "local only: DynamoDB Local (`scripts/env.sh` sets it and the `_DYNAMODB_STREAMS`, `_SQS`, `_SES`, `_SECRETS_MANAGER`, `_S3` ones for moto); `gigctl seed` refuses unless it is on this machine",
    ),
    env_var(
        "AWS_REGION",
        "",
        "the SDK's own, with the credentials: set by Lambda when deployed, dummy values locally",
    ),
];

const DEFAULT_APP_BASE_URL: &str = "http://localhost:3000";

impl Config {
    /// The limits of an area's files.
    pub fn file_limits(&self, area: FileArea) -> FileLimits {
        match area {
            FileArea::Order => self.order_files,
            FileArea::Conversation => self.conversation_files,
        }
    }

    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads each variable through `lookup`, so tests can check the documented defaults against
    /// the real ones without touching the process environment.
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let env = Env(lookup);
        let optional = |name: &str| env.optional(name);
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            order_events_queue_url: optional("ORDER_EVENTS_QUEUE_URL"),
            search_index_queue_url: optional("SEARCH_INDEX_QUEUE_URL"),
            search_index_poll: Duration::from_secs(env.number("SEARCH_INDEX_POLL_SECS", 15)?),
            search_index_retired_files_kept: Duration::from_secs(
                env.number("SEARCH_INDEX_RETIRED_FILES_KEPT_SECS", 600)?,
            ),
            jwt_issuer: optional("JWT_ISSUER").unwrap_or_else(|| "gigmarket".to_owned()),
            jwt_audience: optional("JWT_AUDIENCE").unwrap_or_else(|| "gigmarket-api".to_owned()),
            access_token_ttl: Duration::from_secs(env.number("ACCESS_TOKEN_TTL_SECS", 900)?),
            refresh_token_ttl: Duration::from_secs(
                env.number("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            ),
            session_max_age: Duration::from_secs(
                env.number("SESSION_MAX_AGE_SECS", 90 * 24 * 3600)?,
            ),
            login_max_failures: env.number("LOGIN_MAX_FAILURES", 5)?,
            login_failure_window: Duration::from_secs(
                env.number("LOGIN_FAILURE_WINDOW_SECS", 900)?,
            ),
            login_max_attempts_per_address: env.number("LOGIN_MAX_ATTEMPTS_PER_ADDRESS", 50)?,
            registrations_per_address: env.number("REGISTRATIONS_PER_ADDRESS", 20)?,
            registration_window: Duration::from_secs(env.number("REGISTRATION_WINDOW_SECS", 3600)?),
            max_body_bytes: env.number("MAX_BODY_BYTES", 64 * 1024)?,
            gig_auto_approve: env.flag("GIG_AUTO_APPROVE")?,
            sender_email: optional("SENDER_EMAIL")
                .unwrap_or_else(|| "no-reply@gigmarket.local".to_owned()),
            // Messaging.
            conversations_per_hour: env.number(
                "CONVERSATIONS_PER_HOUR",
                crate::domain::message::DEFAULT_CONVERSATIONS_PER_HOUR,
            )?,
            request_limits: crate::domain::quota::RequestLimits {
                per_user_per_minute: env.number(
                    "REQUESTS_PER_MINUTE_PER_USER",
                    crate::domain::quota::DEFAULT_REQUESTS_PER_MINUTE_PER_USER,
                )?,
                per_address_per_minute: env.number(
                    "REQUESTS_PER_MINUTE_PER_ADDRESS",
                    crate::domain::quota::DEFAULT_REQUESTS_PER_MINUTE_PER_ADDRESS,
                )?,
                count_timeout: crate::domain::quota::DEFAULT_REQUEST_COUNT_TIMEOUT,
            },
            quotas: crate::domain::quota::QuotaLimits {
                order_placements_per_hour: env.number(
                    "ORDER_PLACEMENTS_PER_HOUR",
                    crate::domain::quota::DEFAULT_ORDER_PLACEMENTS_PER_HOUR,
                )?,
                messages_per_minute: env.number(
                    "MESSAGES_PER_MINUTE",
                    crate::domain::quota::DEFAULT_MESSAGES_PER_MINUTE,
                )?,
                gigs_created_per_day: env.number(
                    "GIGS_CREATED_PER_DAY",
                    crate::domain::quota::DEFAULT_GIGS_CREATED_PER_DAY,
                )?,
            },
            // Email verification and password reset.
            app_base_url: optional("APP_BASE_URL")
                .unwrap_or_else(|| DEFAULT_APP_BASE_URL.to_owned()),
            // Password hashing memory (auth).
            password_hash_concurrency: match env.number("PASSWORD_HASH_CONCURRENCY", 1)? {
                0 => bail!("environment variable PASSWORD_HASH_CONCURRENCY must be at least 1"),
                permits => permits,
            },
            // Payments.
            fees: FeeSchedule {
                service_fee: BasisPoints(env.number("SERVICE_FEE_BPS", 550)?),
                service_fee_minimum_hundredths: env
                    .number("SERVICE_FEE_MINIMUM_HUNDREDTHS", 200)?,
                commission: BasisPoints(match env.number("COMMISSION_BPS", 2_000)? {
                    bps @ 0..=10_000 => bps,
                    _ => bail!("environment variable COMMISSION_BPS must be at most 10000"),
                }),
            },
            // Payouts.
            payout_clearance: time::Duration::days(env.number("PAYOUT_CLEARANCE_DAYS", 14)?),
            payout_minimum_hundredths: env.number("PAYOUT_MINIMUM_HUNDREDTHS", 1_000)?,
            // Real time.
            realtime_callback_url: optional("REALTIME_CALLBACK_URL"),
            // Files.
            order_files: FileLimits {
                max_bytes: env.number("ORDER_FILE_MAX_BYTES", ORDER_FILES.max_bytes)?,
                max_count: env.number("ORDER_FILES_MAX", ORDER_FILES.max_count)?,
            },
            conversation_files: FileLimits {
                max_bytes: env
                    .number("CONVERSATION_FILE_MAX_BYTES", CONVERSATION_FILES.max_bytes)?,
                max_count: env.number("CONVERSATION_FILES_MAX", CONVERSATION_FILES.max_count)?,
            },
            order_files_retention: time::Duration::days(
                env.number("ORDER_FILES_RETENTION_DAYS", 90)?,
            ),
        })
    }

    /// Defaults for a given table; tests and tools start here and override what they need.
    pub fn for_table(table_name: impl Into<String>) -> Self {
        Self {
            table_name: table_name.into(),
            order_events_queue_url: None,
            search_index_queue_url: None,
            search_index_poll: Duration::from_secs(15),
            search_index_retired_files_kept: Duration::from_secs(600),
            jwt_issuer: "gigmarket".to_owned(),
            jwt_audience: "gigmarket-api".to_owned(),
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            session_max_age: Duration::from_secs(90 * 24 * 3600),
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
            quotas: crate::domain::quota::QuotaLimits::default(),
            request_limits: crate::domain::quota::RequestLimits::default(),
            // Email verification and password reset.
            app_base_url: DEFAULT_APP_BASE_URL.to_owned(),
            // Password hashing memory (auth).
            password_hash_concurrency: 1,
            // Payments.
            fees: FeeSchedule::default(),
            // Real time.
            payout_clearance: time::Duration::days(14),
            payout_minimum_hundredths: 1_000,
            realtime_callback_url: None,
            // Files.
            order_files: ORDER_FILES,
            conversation_files: CONVERSATION_FILES,
            order_files_retention: time::Duration::days(90),
        }
    }
}

/// The environment as `Config` reads it: an empty or blank value counts as unset.
struct Env<F>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }

    fn required(&self, name: &str) -> anyhow::Result<String> {
        self.optional(name)
            .with_context(|| format!("environment variable {name} must be set"))
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T> {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|_| {
                anyhow::anyhow!("environment variable {name} must be a number, got {raw:?}")
            }),
        }
    }

    fn flag(&self, name: &str) -> anyhow::Result<bool> {
        match self
            .optional(name)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false" | "0" | "no") => Ok(false),
            Some("true" | "1" | "yes") => Ok(true),
            Some(other) => {
                bail!("environment variable {name} must be true or false, got {other:?}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        }
    }

    #[test]
    fn the_documented_defaults_are_the_ones_config_uses() {
        let unset = Config::from_lookup(lookup(vec![("TABLE_NAME", "t".to_owned())])).unwrap();
        assert_eq!(
            format!("{unset:?}"),
            format!("{:?}", Config::for_table("t"))
        );
        let mut documented = vec![("TABLE_NAME", "t".to_owned())];
        for var in ENV_VARS {
            if !var.default.is_empty() && !var.default.starts_with('(') {
                documented.push((var.name, var.default.to_owned()));
            }
        }
        let set = Config::from_lookup(lookup(documented)).unwrap();
        assert_eq!(format!("{set:?}"), format!("{unset:?}"));
    }

    /// Every `"UPPER_CASE"` string literal in the functions' code is a variable it reads, except
    /// these, which are not environment variables.
    const NOT_ENV: &[&str] = &[
        "NEW_AND_OLD_IMAGES",
        "ORDER_REQUEST",
        "CARGO_MANIFEST_DIR",
        // Sort keys (store::keys).
        "PAYOUT_ACCOUNT",
        "WITHDRAWAL_REQUEST",
        "ADMIN_REFUND",
        "REFUND_REQUEST",
    ];

    fn sources(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs")
                && !path.ends_with("config.rs")
            {
                out.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }

    fn upper_case_literals(text: &str) -> Vec<&str> {
        text.split('"')
            .skip(1)
            .step_by(2)
            .filter(|word| {
                word.len() > 3
                    && word.contains('_')
                    && word.starts_with(|c: char| c.is_ascii_uppercase())
                    && word
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .collect()
    }

    #[test]
    fn every_variable_the_functions_read_is_in_env_vars_and_back() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        sources(&root.join("src"), &mut texts);
        for function in std::fs::read_dir(root.join("../functions")).unwrap() {
            sources(&function.unwrap().path().join("src"), &mut texts);
        }
        let own = std::fs::read_to_string(root.join("src/config.rs")).unwrap();
        // config.rs itself without the list and the tests, which spell every name.
        let (before, list) = own.split_once("pub const ENV_VARS").unwrap();
        let (_, after) = list.split_once("\n];\n").unwrap();
        let reader = after.split("#[cfg(test)]").next().unwrap();
        texts.push(format!("{before}{reader}"));
        let mut read: Vec<&str> = texts
            .iter()
            .flat_map(|text| upper_case_literals(text))
            .collect();
        read.sort_unstable();
        read.dedup();
        for name in &read {
            assert!(
                NOT_ENV.contains(name) || ENV_VARS.iter().any(|var| var.name == *name),
                "{name} is read but not in config::ENV_VARS (the docs' configuration table)"
            );
        }
        for var in ENV_VARS {
            assert!(
                var.name.starts_with("AWS_") || read.contains(&var.name),
                "{} is in config::ENV_VARS but nothing reads it",
                var.name
            );
        }
    }
}

//! AWS clients, built once per cold start from the standard environment, and only the ones a
//! function uses: each client sits behind a cargo feature of this crate (`sqs`, `ses`,
//! `jwt-secret`), so e.g. `users` neither compiles nor links the SQS and SES SDKs. DynamoDB is
//! always there: every function but the dispatcher uses the table.
//!
//! `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_DYNAMODB`, `_SQS`, `_SES`, `_SECRETS_MANAGER`) points
//! the clients at local servers; the SDK reads those itself, so there is no local-only code path.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::call_log::CallLog;

/// The shared SDK configuration (region, credentials, endpoints): load it once, then build the
/// clients the function needs from it.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

// Every client records its calls when the call log is on (`crate::call_log`, checked against
// the deployed grants by tests/permissions.rs).

/// The DynamoDB client every function and tool uses, with the timeouts of
/// [`DynamoDbTimeouts::from_env`] (a malformed value stops the cold start, naming the variable).
pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let timeouts = DynamoDbTimeouts::from_env().unwrap_or_else(|error| panic!("{error:#}"));
    dynamodb_with(config, timeouts)
}

/// The DynamoDB client with the given timeouts.
pub fn dynamodb_with(config: &SdkConfig, timeouts: DynamoDbTimeouts) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(config)
            .timeout_config(timeouts.sdk())
            .interceptor(CallLog::from_env())
            // Counts requests and capacity for the cost bench; inert unless it asks.
            .interceptor(crate::capacity_log::CapacityLog::from_env())
            .build(),
    )
}

/// How long a DynamoDB call may take, so that a database that accepts connections and never
/// answers (a stale pooled connection after the Lambda sandbox was frozen, a network partition,
/// an overloaded endpoint) costs a 503 in seconds instead of hanging the invocation until
/// Lambda kills it (a 10 s timeout on the API functions; API Gateway then answers its own
/// 503/504 without problem+json).
///
/// The defaults are the deployed values, sized for DynamoDB in the same region, which answers
/// a GetItem, Query or transaction of this table's item sizes in milliseconds (tens under
/// contention):
///
/// - `connect` 1 s: DNS, TCP and TLS to the regional endpoint take tens of milliseconds, a few
///   hundred on a cold 256 MB instance; a connection that is not up by then (a lost SYN waits
///   for the kernel's 1 s, then 2 s retransmits) is abandoned and the attempt retried on a new
///   one.
/// - `attempt` 3 s: a hundred times a slow answer, and room for a cold connection plus the
///   request; also twice the slowest answer DynamoDB Local gave the outage tests on the
///   contended 2-core machine (1.7 s), which run with these values. An attempt still
///   unanswered is hung, not slow: the standard retry mode (3 attempts, jittered backoff of up
///   to 1 s, then 2 s) drops its connection and tries again on a fresh one. What a dropped attempt may already have done is safe to repeat:
///   TransactWriteItems carries the SDK's `ClientRequestToken` (the same on every attempt of
///   a call, so DynamoDB applies it once); the other writes are conditional or idempotent
///   `SET`s, except the throttles' `ADD` counters, where a repeated attempt can only move a
///   rate limit by one.
/// - `operation` 7 s: the whole call with its retries (two full attempts and the backoff
///   between them), so one hung call answers 503 in at most 7 s, inside the 10 s function
///   timeout less the web layer's 1 s answer margin. The web layer's deadline
///   (`crate::web::ANSWER_MARGIN`) is the guard for the rest: a call that hangs after earlier
///   ones took their time, or a use case whose several calls are each slow but alive.
///
/// The notifier (10 s timeout, batches of 10) and the scheduler (60 s) share the client:
/// a message whose call times out is reported in `batchItemFailures` and retried by the
/// queue, and a scheduler pass that fails is retried by the next schedule.
///
/// `DYNAMODB_CONNECT_TIMEOUT_MS`, `DYNAMODB_ATTEMPT_TIMEOUT_MS` and
/// `DYNAMODB_OPERATION_TIMEOUT_MS` override them: DynamoDB Local under the test suite's 200
/// concurrent requests in one process answers in seconds, so `scripts/env.sh` sets local
/// values (see docs/deploy.md, "Configuration"). Deployed functions set none.
///
/// Retries are the SDK's standard mode as `aws_config` loads it; whatever they are, the
/// operation timeout bounds the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamoDbTimeouts {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
}

impl Default for DynamoDbTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(1),
            attempt: Duration::from_secs(3),
            operation: Duration::from_secs(7),
        }
    }
}

impl DynamoDbTimeouts {
    pub const CONNECT_ENV: &str = "DYNAMODB_CONNECT_TIMEOUT_MS";
    pub const ATTEMPT_ENV: &str = "DYNAMODB_ATTEMPT_TIMEOUT_MS";
    pub const OPERATION_ENV: &str = "DYNAMODB_OPERATION_TIMEOUT_MS";

    /// The defaults, with each one the environment sets (in milliseconds, at least 1) instead.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let defaults = Self::default();
        let value = |name: &str, default: Duration| -> anyhow::Result<Duration> {
            let Some(raw) = lookup(name).filter(|raw| !raw.trim().is_empty()) else {
                return Ok(default);
            };
            match raw.trim().parse::<u64>() {
                Ok(millis) if millis > 0 => Ok(Duration::from_millis(millis)),
                _ => anyhow::bail!(
                    "environment variable {name} must be a number of milliseconds (at least 1), got {raw:?}"
                ),
            }
        };
        Ok(Self {
            connect: value(Self::CONNECT_ENV, defaults.connect)?,
            attempt: value(Self::ATTEMPT_ENV, defaults.attempt)?,
            operation: value(Self::OPERATION_ENV, defaults.operation)?,
        })
    }

    fn sdk(self) -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
        aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

/// How long an SQS, SES, S3 or Secrets Manager call may take: 1 s to connect, 2 s an attempt, 3 s
/// the call with its retries. Each is a same-region call that answers in milliseconds, and
/// each caller has a better answer than waiting for Lambda to kill it:
///
/// - `auth` queues an account mail (SQS `SendMessage`) after the account is written: the mail
///   is best effort (the user can ask for another), so a hung queue must cost the request its
///   mail, not its answer (the web layer's 503 for an account that exists; a retry is then a
///   409).
/// - the dispatcher's `SendMessageBatch` reports its stream records as failed, and Lambda
///   retries the stream from the first of them;
/// - the notifier's SES `SendEmail` fails its message (its mail claim is released), which the
///   queue redelivers;
/// - `orders`' and `messages`' S3 `HeadObject` (a file's check when a delivery or a message
///   uses it) answers 503, which the caller retries; nothing was written yet;
/// - the JWT keyset's `GetSecretValue` fails the cold start, naming the secret, in 3 s instead
///   of Lambda's whole init window.
///
/// No override: the local emulator (moto) answers these in milliseconds too.
#[cfg(any(
    feature = "sqs",
    feature = "ses",
    feature = "jwt-secret",
    feature = "realtime-push",
    feature = "s3"
))]
fn service_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(3))
        .build()
}

#[cfg(feature = "sqs")]
pub fn sqs(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(config)
            .timeout_config(service_timeouts())
            .interceptor(CallLog::from_env())
            .build(),
    )
}

#[cfg(feature = "ses")]
pub fn ses(config: &SdkConfig) -> aws_sdk_ses::Client {
    aws_sdk_ses::Client::from_conf(
        aws_sdk_ses::config::Builder::from(config)
            .timeout_config(service_timeouts())
            .interceptor(CallLog::from_env())
            .build(),
    )
}

/// The WebSocket API's management client (`PostToConnection`, `DeleteConnection`) on the stage's
/// callback URL, which is given explicitly: API Gateway serves it at the API's own domain, and a
/// global `AWS_ENDPOINT_URL` (the local stack's) must not send the calls anywhere else.
#[cfg(feature = "realtime-push")]
pub fn connections(config: &SdkConfig, callback_url: &str) -> aws_sdk_apigatewaymanagement::Client {
    aws_sdk_apigatewaymanagement::Client::from_conf(
        aws_sdk_apigatewaymanagement::config::Builder::from(config)
            .endpoint_url(callback_url)
            .timeout_config(service_timeouts())
            .interceptor(CallLog::from_env())
            .build(),
    )
}

/// The files bucket's client (`orders`, `messages`): HeadObject and DeleteObject when a file is
/// used, and presigning (no request) for uploads and downloads. `AWS_ENDPOINT_URL_S3` points it
/// at moto locally; an IP endpoint gets path-style URLs from the SDK's own endpoint rules.
#[cfg(feature = "s3")]
pub fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .timeout_config(service_timeouts())
            .interceptor(CallLog::from_env())
            // Counts requests for the cost bench; inert unless it asks.
            .interceptor(crate::capacity_log::S3Requests::from_env())
            .build(),
    )
}

/// The files bucket's storage, from `FILES_BUCKET` (built once per cold start).
#[cfg(feature = "s3")]
pub fn file_storage(config: &SdkConfig) -> anyhow::Result<crate::files::FileStorage> {
    use anyhow::Context;

    let bucket = std::env::var("FILES_BUCKET")
        .ok()
        .filter(|bucket| !bucket.trim().is_empty())
        .context("environment variable FILES_BUCKET must be set")?;
    let credentials = config
        .credentials_provider()
        .context("no AWS credentials to sign uploads with")?;
    let region = config
        .region()
        .cloned()
        .context("no AWS region to sign uploads for")?;
    Ok(crate::files::FileStorage::new(
        s3(config),
        bucket,
        credentials,
        region,
    ))
}

/// The search index bucket, from `SEARCH_INDEX_BUCKET` (`search`, `indexer`; built once per
/// cold start).
#[cfg(feature = "s3")]
pub fn search_index_bucket(
    config: &SdkConfig,
) -> anyhow::Result<crate::search_index::SearchIndexBucket> {
    use anyhow::Context;

    let bucket = std::env::var("SEARCH_INDEX_BUCKET")
        .ok()
        .filter(|bucket| !bucket.trim().is_empty())
        .context("environment variable SEARCH_INDEX_BUCKET must be set")?;
    Ok(crate::search_index::SearchIndexBucket::new(
        s3(config),
        bucket,
    ))
}

#[cfg(feature = "jwt-secret")]
pub fn secrets_manager(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(config)
            .timeout_config(service_timeouts())
            .interceptor(CallLog::from_env())
            .build(),
    )
}

/// The verifying JWT keyset (public keys and the cursor key), from the first of: `JWT_KEYS` (the
/// JSON itself), `JWT_KEYS_FILE` (a path), `JWT_KEYS_SECRET_ID` (a Secrets Manager secret holding
/// the JSON; what deployed functions use, and needs the `jwt-secret` feature). Every API function
/// reads it. Nothing secret is ever in the repository or the template.
pub async fn jwt_keys(config: &SdkConfig) -> anyhow::Result<crate::auth::JwtKeys> {
    use crate::auth::JwtKeys;
    use anyhow::Context;

    if let Ok(json) = std::env::var("JWT_KEYS") {
        return JwtKeys::from_json(&json);
    }
    if let Ok(path) = std::env::var("JWT_KEYS_FILE") {
        let json = std::fs::read_to_string(&path)
            .with_context(|| format!("reading JWT_KEYS_FILE {path}"))?;
        return JwtKeys::from_json(&json);
    }
    let secret_id = std::env::var("JWT_KEYS_SECRET_ID")
        .context("set one of JWT_KEYS, JWT_KEYS_FILE or JWT_KEYS_SECRET_ID")?;
    JwtKeys::from_json(&read_secret(config, &secret_id).await?)
}

/// The signing JWT keyset (private keys), from `JWT_SIGNING_KEYS_FILE` (local: a path) or
/// `JWT_SIGNING_KEYS_SECRET_ID` (deployed: a Secrets Manager secret only `auth` may read).
/// Only `auth` calls this: every other function verifies with [`jwt_keys`] alone.
pub async fn jwt_signing_keys(config: &SdkConfig) -> anyhow::Result<crate::auth::JwtSigningKeys> {
    use crate::auth::JwtSigningKeys;
    use anyhow::Context;

    if let Ok(path) = std::env::var("JWT_SIGNING_KEYS_FILE") {
        let json = std::fs::read_to_string(&path)
            .with_context(|| format!("reading JWT_SIGNING_KEYS_FILE {path}"))?;
        return JwtSigningKeys::from_json(&json);
    }
    let secret_id = std::env::var("JWT_SIGNING_KEYS_SECRET_ID")
        .context("set JWT_SIGNING_KEYS_FILE or JWT_SIGNING_KEYS_SECRET_ID")?;
    JwtSigningKeys::from_json(&read_secret(config, &secret_id).await?)
}

/// The Stripe webhook's signing secrets, from the first of: `STRIPE_WEBHOOK_SECRETS` (local: the
/// list itself) or `STRIPE_WEBHOOK_SECRETS_ID` (deployed: a Secrets Manager secret holding the
/// list, one per line or comma, so a rolled secret is added beside the old one).
pub async fn stripe_signing_secrets(
    config: &SdkConfig,
) -> anyhow::Result<crate::stripe::signature::SigningSecrets> {
    signing_secrets(
        config,
        "STRIPE_WEBHOOK_SECRETS",
        "STRIPE_WEBHOOK_SECRETS_ID",
    )
    .await
}

/// The Stripe Connect webhook endpoint's signing secrets, read as [`stripe_signing_secrets`]
/// from `STRIPE_CONNECT_WEBHOOK_SECRETS` or `STRIPE_CONNECT_WEBHOOK_SECRETS_ID`: a separate
/// endpoint with its own secrets, as Stripe makes one for connected accounts' events.
pub async fn stripe_connect_signing_secrets(
    config: &SdkConfig,
) -> anyhow::Result<crate::stripe::signature::SigningSecrets> {
    signing_secrets(
        config,
        "STRIPE_CONNECT_WEBHOOK_SECRETS",
        "STRIPE_CONNECT_WEBHOOK_SECRETS_ID",
    )
    .await
}

/// The secrets in the variable `name`, or in the Secrets Manager secret the variable `id_name`
/// names.
async fn signing_secrets(
    config: &SdkConfig,
    name: &str,
    id_name: &str,
) -> anyhow::Result<crate::stripe::signature::SigningSecrets> {
    use crate::stripe::signature::SigningSecrets;
    use anyhow::Context;

    let list = match std::env::var(name) {
        Ok(list) if !list.trim().is_empty() => list,
        _ => {
            let secret_id =
                std::env::var(id_name).with_context(|| format!("set {name} or {id_name}"))?;
            read_secret(config, &secret_id).await?
        }
    };
    SigningSecrets::parse(&list).with_context(|| format!("the secret list of {name} is empty"))
}

/// The Stripe client's configuration, its key from the first of: `STRIPE_SECRET_KEY` (local: the
/// key itself) or `STRIPE_SECRET_KEY_ID` (deployed: a Secrets Manager secret holding it).
#[cfg(all(feature = "stripe-client", feature = "jwt-secret"))]
pub async fn stripe_config(
    config: &SdkConfig,
) -> anyhow::Result<crate::stripe::client::StripeConfig> {
    use crate::stripe::client::{SecretKey, StripeConfig};
    use anyhow::Context;

    let env = |name: &str| std::env::var(name).ok();
    if env("STRIPE_SECRET_KEY").is_some_and(|key| !key.trim().is_empty()) {
        return StripeConfig::from_env();
    }
    let secret_id =
        env("STRIPE_SECRET_KEY_ID").context("set STRIPE_SECRET_KEY or STRIPE_SECRET_KEY_ID")?;
    let key = read_secret(config, &secret_id).await?;
    Ok(StripeConfig::with_key(env, SecretKey::new(key.trim())))
}

#[cfg(feature = "jwt-secret")]
async fn read_secret(config: &SdkConfig, secret_id: &str) -> anyhow::Result<String> {
    use anyhow::Context;

    let secret = secrets_manager(config)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "{}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(error)
            )
        })
        .with_context(|| format!("reading secret {secret_id}"))?;
    secret
        .secret_string()
        .map(str::to_owned)
        .context("the secret has no SecretString")
}

#[cfg(not(feature = "jwt-secret"))]
async fn read_secret(_config: &SdkConfig, secret_id: &str) -> anyhow::Result<String> {
    anyhow::bail!(
        "secret {secret_id} is in Secrets Manager, but this build has no Secrets Manager client (feature `jwt-secret`)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> anyhow::Result<DynamoDbTimeouts> {
        DynamoDbTimeouts::from_lookup(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    /// The API functions' Lambda timeout (SAM Globals; tests/integration/outage.rs reads it
    /// from the template and holds every answer to it).
    const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

    #[test]
    fn the_deployed_timeouts_nest_inside_the_function_timeout() {
        let timeouts = from(&[]).unwrap();
        assert_eq!(timeouts, DynamoDbTimeouts::default());
        assert!(timeouts.connect < timeouts.attempt);
        // Two full attempts and the first retry's longest backoff (1 s) fit in one call.
        assert!(timeouts.attempt * 2 + Duration::from_secs(1) <= timeouts.operation);
        // A call that hangs from the start answers before the web layer gives up, 1 s
        // (`web::ANSWER_MARGIN`) before the function timeout.
        assert!(timeouts.operation + Duration::from_secs(1) < FUNCTION_TIMEOUT);
    }

    #[test]
    fn the_documented_timeouts_are_the_defaults() {
        let documented: Vec<(&str, &str)> = [
            DynamoDbTimeouts::CONNECT_ENV,
            DynamoDbTimeouts::ATTEMPT_ENV,
            DynamoDbTimeouts::OPERATION_ENV,
        ]
        .iter()
        .map(|name| {
            let var = crate::config::ENV_VARS
                .iter()
                .find(|var| var.name == *name)
                .expect("every timeout variable is in config::ENV_VARS");
            (var.name, var.default)
        })
        .collect();
        assert_eq!(from(&documented).unwrap(), DynamoDbTimeouts::default());
    }

    #[test]
    fn the_environment_overrides_each_timeout() {
        let timeouts = from(&[
            (DynamoDbTimeouts::ATTEMPT_ENV, "15000"),
            (DynamoDbTimeouts::OPERATION_ENV, " 30000 "),
        ])
        .unwrap();
        assert_eq!(timeouts.connect, DynamoDbTimeouts::default().connect);
        assert_eq!(timeouts.attempt, Duration::from_secs(15));
        assert_eq!(timeouts.operation, Duration::from_secs(30));
        assert_eq!(
            from(&[(DynamoDbTimeouts::CONNECT_ENV, "")]).unwrap(),
            DynamoDbTimeouts::default()
        );
    }

    #[test]
    fn a_malformed_timeout_names_its_variable() {
        for bad in ["0", "-1", "2s", "1.5"] {
            let error = from(&[(DynamoDbTimeouts::ATTEMPT_ENV, bad)]).unwrap_err();
            assert!(
                error.to_string().contains(DynamoDbTimeouts::ATTEMPT_ENV),
                "{error}"
            );
        }
    }
}

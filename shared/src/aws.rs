//! AWS clients, built once per cold start from the standard environment, and only the ones a
//! function uses: each client sits behind a cargo feature of this crate (`sqs`, `ses`,
//! `jwt-secret`), so e.g. `users` neither compiles nor links the SQS and SES SDKs. DynamoDB is
//! always there: every function but the dispatcher uses the table.
//!
//! `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_DYNAMODB`, `_SQS`, `_SES`, `_SECRETS_MANAGER`) points
//! the clients at local servers; the SDK reads those itself, so there is no local-only code path.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::call_log::CallLog;

/// The shared SDK configuration (region, credentials, endpoints): load it once, then build the
/// clients the function needs from it.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

// Every client records its calls when the call log is on (`crate::call_log`, checked against
// the deployed grants by tests/permissions.rs).

pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(config)
            .interceptor(CallLog::from_env())
            // Counts requests and capacity for the cost bench; inert unless it asks.
            .interceptor(crate::capacity_log::CapacityLog::from_env())
            .build(),
    )
}

#[cfg(feature = "sqs")]
pub fn sqs(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(config)
            .interceptor(CallLog::from_env())
            .build(),
    )
}

#[cfg(feature = "ses")]
pub fn ses(config: &SdkConfig) -> aws_sdk_ses::Client {
    aws_sdk_ses::Client::from_conf(
        aws_sdk_ses::config::Builder::from(config)
            .interceptor(CallLog::from_env())
            .build(),
    )
}

#[cfg(feature = "jwt-secret")]
pub fn secrets_manager(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(config)
            .interceptor(CallLog::from_env())
            .build(),
    )
}

/// The JWT keyset, from the first of: `JWT_KEYS` (the JSON itself), `JWT_KEYS_FILE` (a path),
/// `JWT_KEYS_SECRET_ID` (a Secrets Manager secret holding the JSON; what deployed functions use,
/// and needs the `jwt-secret` feature). Nothing secret is ever in the repository or the template.
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
        .context("JWT secret has no SecretString")
}

#[cfg(not(feature = "jwt-secret"))]
async fn read_secret(_config: &SdkConfig, secret_id: &str) -> anyhow::Result<String> {
    anyhow::bail!(
        "JWT_KEYS_SECRET_ID={secret_id}, but this build has no Secrets Manager client (feature `jwt-secret`)"
    )
}

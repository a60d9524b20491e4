//! AWS clients, built once per cold start from the standard environment. `AWS_ENDPOINT_URL` (or
//! `AWS_ENDPOINT_URL_DYNAMODB`, `_SQS`, `_SES`) points them at local servers; the SDK reads those
//! itself, so there is no local-only code path here.

use anyhow::Context;
use aws_config::BehaviorVersion;

use crate::auth::JwtKeys;

#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_ses::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        // Every client records its calls when the call log is on (crate::call_log, tests/permissions.rs).
        use crate::call_log::CallLog;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&config)
                    .interceptor(CallLog::from_env())
                    .build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(&config)
                    .interceptor(CallLog::from_env())
                    .build(),
            ),
            ses: aws_sdk_ses::Client::from_conf(
                aws_sdk_ses::config::Builder::from(&config)
                    .interceptor(CallLog::from_env())
                    .build(),
            ),
            secrets: aws_sdk_secretsmanager::Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(&config)
                    .interceptor(CallLog::from_env())
                    .build(),
            ),
        }
    }
}

/// The JWT keyset, from the first of: `JWT_KEYS` (the JSON itself), `JWT_KEYS_FILE` (a path, what
/// the local stack writes), `JWT_KEYS_SECRET_ID` (a Secrets Manager secret holding the JSON; what
/// deployed functions use). Nothing secret is ever in the repository or the template.
pub async fn load_jwt_keys(aws: &AwsClients) -> anyhow::Result<JwtKeys> {
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
    let secret = aws
        .secrets
        .get_secret_value()
        .secret_id(&secret_id)
        .send()
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "{}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(error)
            )
        })
        .with_context(|| format!("reading secret {secret_id}"))?;
    let json = secret
        .secret_string()
        .context("JWT secret has no SecretString")?;
    JwtKeys::from_json(json)
}

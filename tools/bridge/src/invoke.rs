//! Calling a function the way Lambda's services do: through `cargo lambda watch`'s invoke
//! endpoint, `POST <invoke-url>/2015-03-31/functions/<name>/invocations`, and reading the
//! `batchItemFailures` a batch-triggered function answers with.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

/// Invokes `function` through `cargo lambda watch` and returns its JSON result.
pub async fn invoke(
    http: &reqwest::Client,
    invoke_url: &str,
    function: &str,
    payload: &Value,
) -> anyhow::Result<Value> {
    let url = format!(
        "{}/2015-03-31/functions/{function}/invocations",
        invoke_url.trim_end_matches('/')
    );
    let response = http
        .post(&url)
        .json(payload)
        .send()
        .await
        .with_context(|| format!("invoking {function}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{function} answered {status}: {text}");
    }
    let result: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if result.get("errorType").is_some() || result.get("errorMessage").is_some() {
        bail!("{function} failed: {text}");
    }
    Ok(result)
}

/// The `itemIdentifier`s of a `batchItemFailures` response.
pub fn failed_items(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .map(|failures| {
            failures
                .iter()
                .filter_map(|failure| failure["itemIdentifier"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// An HTTP client for invoking functions through watch; the first invocation of a function may
/// wait for it to start.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .no_proxy()
        .build()
        .expect("reqwest client builds")
}

use gigmarket_shared::web::AppState;
use gigmarket_shared::{aws, telemetry};
use lambda_runtime::{LambdaEvent, service_fn};

// One invocation at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads; docs/benchmarks.md measures the difference.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let state = AppState::from_env().await?;
    let http = realtime::router(state.clone());
    // Built once: the stage's management endpoint, never the local stack's global override.
    let sdk = aws::sdk_config().await;
    let connections = state
        .config
        .realtime_callback_url
        .as_deref()
        .map(|url| aws::connections(&sdk, url));
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (state, http, connections) = (&state, &http, connections.as_ref());
        async move { realtime::on_invocation(state, http, connections, event).await }
    }))
    .await
}

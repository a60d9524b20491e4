use gigmarket_shared::telemetry;
use gigmarket_shared::web::AppState;
use lambda_runtime::{LambdaEvent, service_fn};

// One invocation at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads; docs/benchmarks.md measures the difference.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let state = AppState::from_env().await?;
    let http = realtime::router(state.clone());
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (state, http) = (&state, &http);
        async move { realtime::on_invocation(state, http, event).await }
    }))
    .await
}

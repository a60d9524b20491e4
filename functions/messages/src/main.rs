use gigmarket_shared::{telemetry, web::AppState};

// One invocation at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads; docs/benchmarks.md measures the difference.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let state = AppState::from_env().await?;
    lambda_http::run(messages::router(state)).await
}

use gigmarket_shared::{telemetry, web::AppState};

// One request at a time per instance (Lambda's model): a single-threaded runtime serves it; the
// password hash runs on tokio's blocking pool (`app::accounts`), bounded by its own permits.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let state = AppState::from_env().await?;
    lambda_http::run(auth::router(state)).await
}

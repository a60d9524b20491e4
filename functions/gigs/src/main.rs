use gigmarket_shared::{http::AppState, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let state = AppState::from_env().await?;
    lambda_http::run(gigs::router(state)).await
}

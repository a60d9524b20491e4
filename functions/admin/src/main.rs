use gigmarket_shared::{telemetry, web::AppState};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let state = AppState::from_env().await?;
    lambda_http::run(admin::router(state)).await
}

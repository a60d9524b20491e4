use gigmarket_shared::aws;
use gigmarket_shared::stripe::client::StripeClient;

// One request at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads; docs/benchmarks.md measures the difference.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per cold start: an admin's cancel of a paid order refunds it.
    let sdk = aws::sdk_config().await;
    let stripe = StripeClient::new(aws::stripe_config(&sdk).await?)?;
    gigmarket_shared::web::serve(|state| admin::router(state, stripe)).await
}

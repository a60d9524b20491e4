use gigmarket_shared::aws;
use gigmarket_shared::stripe::client::StripeClient;

// One request at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads; docs/benchmarks.md measures the difference.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per cold start, like the AWS clients: one connection pool to Stripe, its key
    // read like the JWT keys (from Secrets Manager when deployed), and the files bucket's client.
    let sdk = aws::sdk_config().await;
    let stripe = StripeClient::new(aws::stripe_config(&sdk).await?)?;
    let storage = aws::file_storage(&sdk)?;
    gigmarket_shared::web::serve(|state| orders::router(state, stripe, storage)).await
}

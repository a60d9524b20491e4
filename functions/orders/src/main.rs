use gigmarket_shared::stripe::client::{StripeClient, StripeConfig};

// One request at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads; docs/benchmarks.md measures the difference.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per cold start, like the AWS clients: one connection pool to Stripe.
    let stripe = StripeClient::new(StripeConfig::from_env()?)?;
    gigmarket_shared::web::serve(|state| orders::router(state, stripe)).await
}

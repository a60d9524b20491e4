use gigmarket_shared::aws;
use gigmarket_shared::stripe::client::StripeClient;
use payouts::ConnectSecrets;

// One request at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Read once per cold start: from Secrets Manager when deployed.
    let sdk = aws::sdk_config().await;
    let secrets = ConnectSecrets(aws::stripe_connect_signing_secrets(&sdk).await?);
    let stripe = StripeClient::new(aws::stripe_config(&sdk).await?)?;
    gigmarket_shared::web::serve(|state| payouts::router(state, secrets, stripe)).await
}

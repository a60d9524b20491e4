use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::store::Store;
use gigmarket_shared::stripe::client::StripeClient;
use gigmarket_shared::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};

// One invocation at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads; docs/benchmarks.md measures the difference.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = aws::sdk_config().await;
    let store = Store::new(aws::dynamodb(&sdk), config.table_name.clone());
    // Built once per cold start: expiries cancel PaymentIntents, refunds are asked for again.
    let stripe = StripeClient::new(aws::stripe_config(&sdk).await?)?;
    // The files bucket's client: closed orders' files are deleted their retention period after.
    let settings = scheduler::Settings {
        payout_clearance: config.payout_clearance,
        payout_minimum_hundredths: config.payout_minimum_hundredths,
        order_files: Some(scheduler::OrderFiles {
            storage: aws::file_storage(&sdk)?,
            retention: config.order_files_retention,
        }),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (store, stripe, settings) = (&store, &stripe, &settings);
        async move {
            scheduler::on_schedule(
                store,
                stripe,
                settings,
                &event.payload,
                time::OffsetDateTime::now_utc(),
            )
            .await
        }
    }))
    .await
}

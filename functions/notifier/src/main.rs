// The invocation future (SDK calls nested in the batch loop) is deeper than rustc's default layout
// query limit once the handler takes the raw payload.
#![recursion_limit = "256"]

use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::store::Store;
use gigmarket_shared::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};
use notifier::Notifier;

// One invocation at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads; docs/benchmarks.md measures the difference.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = aws::sdk_config().await;
    let notifier = Notifier {
        store: Store::new(aws::dynamodb(&sdk), config.table_name.clone()),
        ses: aws::ses(&sdk),
        sender: config.sender_email.clone(),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let notifier = &notifier;
        async move { notifier.on_invocation(event.payload).await }
    }))
    .await
}

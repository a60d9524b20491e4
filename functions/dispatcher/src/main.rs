use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};

// One invocation at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads; docs/benchmarks.md measures the difference.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let queues = dispatcher::Queues {
        events: config
            .order_events_queue_url
            .clone()
            .ok_or("ORDER_EVENTS_QUEUE_URL must be set")?,
        search_index: config
            .search_index_queue_url
            .clone()
            .ok_or("SEARCH_INDEX_QUEUE_URL must be set")?,
    };
    let sqs = aws::sqs(&aws::sdk_config().await);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (sqs, queues) = (&sqs, &queues);
        async move { dispatcher::on_invocation(event.payload, sqs, queues).await }
    }))
    .await
}

use gigmarket_search::published::Replica;
use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::store::Store;
use gigmarket_shared::telemetry;
use indexer::Indexer;
use lambda_runtime::{LambdaEvent, service_fn};

// One invocation at a time per instance (Lambda's model, and the function's reserved
// concurrency is 1): a single-threaded runtime serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = aws::sdk_config().await;
    let bucket = aws::search_index_bucket(&sdk)?;
    // The writer's copy lives as long as the instance: a warm invocation fetches only what
    // was published since (nothing, as it is the only writer).
    let kept = time::Duration::try_from(config.search_index_retired_files_kept)?;
    let replica = Replica::load(&bucket)
        .await?
        .keeping_retired_files_for(kept);
    let indexer = Indexer::new(
        Store::new(aws::dynamodb(&sdk), config.table_name.clone()),
        bucket,
        replica,
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let indexer = &indexer;
        async move { indexer.on_invocation(event.payload).await }
    }))
    .await
}

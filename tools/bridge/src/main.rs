//! `bridge`: runs the local event source mappings until stopped (see the library docs).
//!
//! ```sh
//! source scripts/env.sh   # endpoints; TABLE_NAME and the queue URLs from `gigctl setup`
//! cargo run -p bridge -- --invoke-url http://127.0.0.1:9000
//! ```

use std::time::Duration;

use aws_config::BehaviorVersion;
use bridge::{QueuePump, StreamPump, StreamReader, http_client, run_schedule};
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "bridge",
    about = "Local event source mappings: stream -> dispatcher and realtime, queues -> notifier and indexer, schedule -> scheduler"
)]
struct Cli {
    /// Where `cargo lambda watch` listens, e.g. http://127.0.0.1:9000.
    #[arg(long, env = "BRIDGE_INVOKE_URL")]
    invoke_url: String,
    #[arg(long, env = "TABLE_NAME")]
    table: String,
    #[arg(long, env = "ORDER_EVENTS_QUEUE_URL")]
    queue_url: String,
    #[arg(long, env = "SEARCH_INDEX_QUEUE_URL")]
    search_index_queue_url: String,
    /// Seconds between scheduler invocations; 0 turns the schedules (the scheduler's and the
    /// indexer's hourly rebuild) off.
    #[arg(long, env = "BRIDGE_SCHEDULE_EVERY", default_value_t = 60)]
    schedule_every: u64,
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let http = http_client();

    let reader = StreamReader::for_table(&dynamodb, streams.clone(), &cli.table).await?;
    let stream = StreamPump::new(reader, cli.region.clone(), "dispatcher".to_owned());
    // The stream's second reader, as deployed: `realtime` pushes to open WebSocket connections.
    let reader = StreamReader::for_table(&dynamodb, streams, &cli.table).await?;
    let pushes = StreamPump::new(reader, cli.region.clone(), "realtime".to_owned());
    let queue = QueuePump::new(
        sqs.clone(),
        cli.queue_url.clone(),
        cli.region.clone(),
        "notifier".to_owned(),
    )
    .await?;
    // The index writer's queue (deployed with reserved concurrency 1: one batch at a time, as
    // this pump delivers).
    let hints = QueuePump::new(
        sqs,
        cli.search_index_queue_url.clone(),
        cli.region.clone(),
        "indexer".to_owned(),
    )
    .await?;
    eprintln!(
        "bridge: {} stream -> dispatcher and realtime, {} -> notifier, {} -> indexer, via {}",
        cli.table, cli.queue_url, cli.search_index_queue_url, cli.invoke_url
    );

    let stream_task = tokio::spawn(stream.run(http.clone(), cli.invoke_url.clone()));
    let push_task = tokio::spawn(pushes.run(http.clone(), cli.invoke_url.clone()));
    let queue_task = tokio::spawn(queue.run(http.clone(), cli.invoke_url.clone()));
    let hints_task = tokio::spawn(hints.run(http.clone(), cli.invoke_url.clone()));
    if cli.schedule_every > 0 {
        // The index's full rebuild, hourly as deployed and once at start: a table that outlived
        // the stack's moto (and its search index bucket) is indexed again.
        tokio::spawn(run_schedule(
            http.clone(),
            cli.invoke_url.clone(),
            cli.region.clone(),
            "indexer",
            Duration::from_secs(3600),
            true,
        ));
        let every = Duration::from_secs(cli.schedule_every);
        run_schedule(http, cli.invoke_url, cli.region, "scheduler", every, false).await;
    }
    let _ = tokio::join!(stream_task, push_task, queue_task, hints_task);
    Ok(())
}

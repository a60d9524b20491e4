use gigmarket_search::reader::Reader;
use gigmarket_shared::aws;
use gigmarket_shared::config::Config;

// One request at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads; docs/benchmarks.md measures the difference.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // The index is loaded once per cold start, like the clients; requests then only poll the
    // manifest for a newer version.
    let sdk = aws::sdk_config().await;
    let bucket = aws::search_index_bucket(&sdk)?;
    let poll_every = Config::from_env()?.search_index_poll;
    let reader = Reader::load(&bucket, poll_every).await?;
    gigmarket_shared::web::serve(|state| search::router(state, bucket, reader)).await
}

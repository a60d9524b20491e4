// One request at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads; docs/benchmarks.md measures the difference.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // The files bucket's client, built once per cold start like the table's.
    let storage = gigmarket_shared::aws::file_storage(&gigmarket_shared::aws::sdk_config().await)?;
    gigmarket_shared::web::serve(|state| messages::router(state, storage)).await
}

// One request at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    gigmarket_shared::web::serve(payouts::router).await
}

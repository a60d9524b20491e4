// One request at a time per instance (Lambda's model): a single-threaded runtime serves it; the
// password hash runs on tokio's blocking pool (`auth::password::blocking`), bounded by its own
// permits.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    gigmarket_shared::web::serve_signing(auth::router).await
}

//! The bench's floor function (`lambda_bench` measures every function against it): the least a
//! Rust Lambda behind API Gateway can do for `GET /gigs/{id}` on the same crates (lambda_http,
//! the AWS SDK with the same TLS stack, tokio, serde_dynamo) and the same release profile. No
//! tracing subscriber, no JWT keyset, no router, no domain types: one `GetItem`, the item
//! returned as JSON. The key is `store::keys::gig`'s (through `store::testing::raw_keys`, a
//! formatting function); this is a yardstick, not product code.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::AttributeValue;
use gigmarket_shared::store::testing::raw_keys;
use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = std::env::var("TABLE_NAME")?;
    let (dynamodb, table) = (&dynamodb, table.as_str());
    run(service_fn(move |request: Request| async move {
        let id = request.uri().path().rsplit('/').next().unwrap_or_default();
        let Ok(id) = id.parse() else {
            return Ok::<_, Error>(Response::builder().status(404).body(Body::Empty)?);
        };
        let key = raw_keys::gig(id);
        let item = dynamodb
            .get_item()
            .table_name(table)
            .key(raw_keys::PK, AttributeValue::S(key.pk))
            .key(raw_keys::SK, AttributeValue::S(key.sk))
            .send()
            .await?
            .item;
        let Some(item) = item else {
            return Ok::<_, Error>(Response::builder().status(404).body(Body::Empty)?);
        };
        let json: serde_json::Value = serde_dynamo::from_item(item)?;
        Ok(Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(json.to_string()))?)
    }))
    .await
}

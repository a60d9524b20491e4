//! `realtime` through `cargo lambda watch`: a ticket over HTTP, then the WebSocket API's events
//! at the invoke endpoint, as API Gateway delivers them to the deployed function.

use gigmarket_tests::repo_path;
use gigmarket_tests::watch::{call, invoke_api, register_over_http};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

/// `events/realtime/<name>` for connection `connection_id`, with `<TICKET>` filled in.
fn socket_sample(name: &str, connection_id: &str, ticket: &str) -> Value {
    let path = repo_path(&format!("events/realtime/{name}"));
    let text = std::fs::read_to_string(&path).expect("sample");
    let mut event: Value = serde_json::from_str(&text.replace("<TICKET>", ticket)).unwrap();
    event["requestContext"]["connectionId"] = connection_id.into();
    event
}

#[tokio::test]
async fn a_ticket_opens_one_connection_through_watch() {
    let client = reqwest::Client::new();
    let (_, token, _) = register_over_http(&client, "client").await;
    let (status, _, issued) = call(
        &client,
        Method::POST,
        "/realtime/tickets",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    let ticket = issued["ticket"].as_str().expect("ticket").to_owned();
    let connection_id = format!("{}=", Uuid::new_v4().simple());

    let connect = socket_sample("connect.json", &connection_id, &ticket);
    let (status, body) = invoke_api("realtime", &connect).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        invoke_api("realtime", &socket_sample("ping.json", &connection_id, "")).await;
    assert_eq!((status, body["type"].as_str()), (200, Some("pong")));

    // Used once: another connection with the same ticket is refused at the handshake.
    let again = socket_sample(
        "connect.json",
        &format!("{}=", Uuid::new_v4().simple()),
        &ticket,
    );
    let (status, problem) = invoke_api("realtime", &again).await;
    assert_eq!(status, 401, "{problem}");

    let disconnect = socket_sample("disconnect.json", &connection_id, "");
    assert_eq!(invoke_api("realtime", &disconnect).await.0, 200);
}

//! `realtime` function: tickets (`POST /realtime/tickets`) and the WebSocket API's `$connect`,
//! `$disconnect` and `ping`, each handler called with the event API Gateway sends it, against
//! DynamoDB Local.

use gigmarket_shared::domain::realtime::TICKET_LIFETIME_SECS;
use gigmarket_shared::domain::user::UserStatus;
use gigmarket_tests::{Session, TestApp};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A WebSocket event as API Gateway sends it to the integration (the fields its
/// documentation shows for `$connect`, a message and `$disconnect`).
fn socket_event(
    event_type: &str,
    route_key: &str,
    connection_id: &str,
    query: Option<Value>,
    body: Option<&str>,
) -> Value {
    json!({
        "headers": {"Host": "abcdef1234.execute-api.eu-west-1.amazonaws.com"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "messageDirection": "IN",
            "extendedRequestId": "Xq1YkFm7DoEFkFQ=",
            "requestTime": "05/Dec/2026:09:00:00 +0000",
            "stage": "live",
            "connectedAt": (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
            "requestTimeEpoch": 1_796_461_200_100_i64,
            "identity": {"sourceIp": "203.0.113.7"},
            "requestId": "Xq1YkFm7DoEFkFQ=",
            "domainName": "abcdef1234.execute-api.eu-west-1.amazonaws.com",
            "connectionId": connection_id,
            "apiId": "abcdef1234"
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// Hands an event to the function's socket handler; (status, body).
async fn on_socket(app: &TestApp, event: Value, now: OffsetDateTime) -> (i64, Value) {
    assert!(::realtime::socket::is_socket_event(&event));
    let request = serde_json::from_value(event).expect("a WebSocket event");
    let response = ::realtime::socket::handle(&app.state, None, request, now).await;
    let body = match &response.body {
        Some(aws_lambda_events::encodings::Body::Text(text)) => {
            serde_json::from_str(text).expect("a JSON body")
        }
        _ => Value::Null,
    };
    (response.status_code, body)
}

async fn connect(
    app: &TestApp,
    connection_id: &str,
    ticket: Option<&str>,
    now: OffsetDateTime,
) -> (i64, Value) {
    let query = ticket.map(|ticket| json!({"ticket": ticket}));
    let event = socket_event("CONNECT", "$connect", connection_id, query, None);
    on_socket(app, event, now).await
}

async fn ticket(app: &TestApp, who: &Session) -> String {
    let response = app
        .post("/realtime/tickets", &json!(null), Some(&who.access_token))
        .await;
    assert_eq!(response.status, 201, "{response:?}");
    let expires_at = response.body["expires_at"].as_str().expect("expires_at");
    let expires_at =
        OffsetDateTime::parse(expires_at, &time::format_description::well_known::Rfc3339).unwrap();
    let lifetime = expires_at - OffsetDateTime::now_utc();
    assert!(
        lifetime <= Duration::seconds(TICKET_LIFETIME_SECS),
        "{lifetime}"
    );
    response.body["ticket"].as_str().expect("ticket").to_owned()
}

fn new_connection_id() -> String {
    format!("{}=", Uuid::new_v4().simple())
}

async fn connection_ids(app: &TestApp, user_id: Uuid, now: OffsetDateTime) -> Vec<String> {
    let mut ids: Vec<String> = app
        .state
        .store
        .connections_of(user_id, now.unix_timestamp())
        .await
        .unwrap()
        .into_iter()
        .map(|connection| connection.connection_id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_ticket_opens_one_connection_of_its_user() {
    let app = TestApp::new().await;
    let ann = app.register_client().await;
    let now = OffsetDateTime::now_utc();
    let (phone, laptop) = (new_connection_id(), new_connection_id());

    let first = ticket(&app, &ann).await;
    assert_eq!(connect(&app, &phone, Some(&first), now).await.0, 200);
    let second = ticket(&app, &ann).await;
    assert_eq!(connect(&app, &laptop, Some(&second), now).await.0, 200);
    let mut both = vec![phone.clone(), laptop.clone()];
    both.sort();
    assert_eq!(connection_ids(&app, ann.id, now).await, both);

    // Used once: the same ticket opens nothing more.
    let (status, problem) = connect(&app, &new_connection_id(), Some(&first), now).await;
    assert_eq!(status, 401, "{problem}");
    assert_eq!(problem["status"], 401);
    assert_eq!(connection_ids(&app, ann.id, now).await, both);

    // $disconnect forgets it; a second one (API Gateway may repeat it) is harmless.
    for _ in 0..2 {
        let event = socket_event("DISCONNECT", "$disconnect", &phone, None, None);
        assert_eq!(on_socket(&app, event, now).await.0, 200);
    }
    assert_eq!(connection_ids(&app, ann.id, now).await, vec![laptop]);
}

#[tokio::test]
async fn connect_refuses_missing_forged_and_expired_tickets() {
    let app = TestApp::new().await;
    let ann = app.register_client().await;
    let now = OffsetDateTime::now_utc();

    assert_eq!(connect(&app, &new_connection_id(), None, now).await.0, 401);
    assert_eq!(
        connect(&app, &new_connection_id(), Some(""), now).await.0,
        401
    );
    let forged = "A".repeat(43);
    assert_eq!(
        connect(&app, &new_connection_id(), Some(&forged), now)
            .await
            .0,
        401
    );

    // A ticket presented after its minute.
    let late = now + Duration::seconds(TICKET_LIFETIME_SECS + 1);
    let stale = ticket(&app, &ann).await;
    assert_eq!(
        connect(&app, &new_connection_id(), Some(&stale), late)
            .await
            .0,
        401
    );
    assert!(connection_ids(&app, ann.id, now).await.is_empty());
}

#[tokio::test]
async fn a_blocked_user_gets_no_ticket_and_no_connection() {
    let app = TestApp::new().await;
    let ann = app.register_client().await;
    let bob = app.register_client().await;
    let now = OffsetDateTime::now_utc();

    // Issued before the block, presented after it.
    let issued = ticket(&app, &ann).await;
    app.set_user_status(ann.id, UserStatus::Blocked).await;
    let (status, problem) = connect(&app, &new_connection_id(), Some(&issued), now).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(
        problem["type"],
        "https://gigmarket.dev/problems/account-blocked"
    );
    assert!(connection_ids(&app, ann.id, now).await.is_empty());

    let refused = app
        .post("/realtime/tickets", &json!(null), Some(&ann.access_token))
        .await;
    assert_eq!(refused.status, 403, "{refused:?}");

    let anonymous = app.post("/realtime/tickets", &json!(null), None).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    // Someone else's tickets still work.
    let theirs = ticket(&app, &bob).await;
    assert_eq!(
        connect(&app, &new_connection_id(), Some(&theirs), now)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn ping_answers_pong_and_unknown_actions_are_refused() {
    let app = TestApp::new().await;
    let now = OffsetDateTime::now_utc();
    let id = new_connection_id();
    let ping = socket_event("MESSAGE", "ping", &id, None, Some(r#"{"action":"ping"}"#));
    assert_eq!(
        on_socket(&app, ping, now).await,
        (200, json!({"type": "pong"}))
    );
    let shout = socket_event(
        "MESSAGE",
        "$default",
        &id,
        None,
        Some(r#"{"action":"shout"}"#),
    );
    let (status, problem) = on_socket(&app, shout, now).await;
    assert_eq!(status, 400, "{problem}");
}

//! The local WebSocket gateway: the smallest faithful stand-in for an API Gateway WebSocket API,
//! which nothing off the shelf emulates without Docker (`cargo lambda watch` and SAM CLI have no
//! WebSocket support; moto only records `PostToConnection`).
//!
//! - Clients connect to `ws://<host>:<port>/<stage>` (or `/`). The gateway invokes the
//!   integration's `$connect` with API Gateway's event shape through watch's Lambda invoke
//!   endpoint; a 2xx answer completes the handshake, anything else refuses it with that status.
//! - Each client message is routed by `$request.body.action`: a configured route key, else
//!   `$default`; a non-empty answer body goes back to the client (the routes are two-way).
//! - The management API, what `aws-sdk-apigatewaymanagement` calls at the callback URL
//!   (`http://<host>:<port>/<stage>`): `POST`, `GET` and `DELETE /@connections/{id}`; an unknown id
//!   is 410 with the `GoneException` error type, a post past 128 KB is 413.
//! - The limits: a connection idle for `idle_timeout` (10 minutes) or open for `max_lifetime`
//!   (2 hours) is closed with 1001 "Going away"; `$disconnect` follows every close, as in AWS
//!   (where it is best-effort; here it is always sent).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;

/// API Gateway's limit on the data of one `PostToConnection` (and one client message).
pub const MAX_POST_BYTES: usize = 128 * 1024;

/// Close code and reason API Gateway sends when it ends a connection (idle, 2-hour limit).
const GOING_AWAY: (u16, &str) = (1001, "Going away");

/// What the gateway stands for: its integration, routes, stage and limits.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where `cargo lambda watch` listens, e.g. `http://127.0.0.1:9000`.
    pub invoke_url: String,
    /// The function every route integrates with.
    pub function: String,
    /// The route keys besides `$connect`, `$disconnect` and `$default` (e.g. `ping`, `typing`).
    pub routes: Vec<String>,
    pub stage: String,
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
}

/// A running gateway: where clients connect and where the management API answers.
#[derive(Debug, Clone)]
pub struct Running {
    pub address: SocketAddr,
    pub stage: String,
}

impl Running {
    /// The URL clients connect to.
    pub fn websocket_url(&self) -> String {
        format!("ws://{}/{}", self.address, self.stage)
    }

    /// The callback URL the functions' management client is given (API Gateway's
    /// `https://<api>.execute-api.<region>.amazonaws.com/<stage>`).
    pub fn callback_url(&self) -> String {
        format!("http://{}/{}", self.address, self.stage)
    }
}

/// Binds `address` (port 0: any free one) and serves until the process ends.
pub async fn serve(settings: Settings, address: SocketAddr) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))?;
    let running = Running {
        address: listener.local_addr()?,
        stage: settings.stage.clone(),
    };
    let gateway = Gateway::new(settings, running.address);
    let app = router(gateway).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("gateway: server stopped: {error}");
        }
    });
    Ok(running)
}

#[derive(Clone)]
struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    http: reqwest::Client,
    domain: String,
    connections: Mutex<HashMap<String, Live>>,
}

/// An open connection as the management API sees it.
struct Live {
    outbound: mpsc::UnboundedSender<Outbound>,
    connected_at: OffsetDateTime,
    last_active_at: OffsetDateTime,
    source_ip: String,
    user_agent: String,
}

enum Outbound {
    Data(Bytes),
    /// `DELETE @connections/{id}`.
    Close,
}

/// Facts of one connection that every event of it carries.
#[derive(Clone)]
struct Identity {
    connection_id: String,
    connected_at: OffsetDateTime,
    source_ip: String,
    user_agent: String,
}

fn router(gateway: Gateway) -> Router {
    Router::new()
        .route("/", get(connect))
        .route("/{stage}", get(connect_on_stage))
        .route(
            "/@connections/{id}",
            get(get_connection)
                .post(post_to_connection)
                .delete(delete_connection),
        )
        .route(
            "/{stage}/@connections/{id}",
            get(get_connection_on_stage)
                .post(post_to_connection_on_stage)
                .delete(delete_connection_on_stage),
        )
        .with_state(gateway)
}

impl Gateway {
    fn new(settings: Settings, address: SocketAddr) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings,
                http: bridge::http_client(),
                domain: address.to_string(),
                connections: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    fn connections(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.inner
            .connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Invokes the integration; its answer's status and body (an invocation error is a 500,
    /// as API Gateway answers an integration failure).
    async fn invoke(&self, event: &Value) -> (u16, Option<String>) {
        let settings = self.settings();
        match bridge::invoke(
            &self.inner.http,
            &settings.invoke_url,
            &settings.function,
            event,
        )
        .await
        {
            Ok(answer) => {
                let status = answer["statusCode"].as_u64().unwrap_or(200) as u16;
                let body = answer["body"]
                    .as_str()
                    .filter(|body| !body.is_empty())
                    .map(str::to_owned);
                (status, body)
            }
            Err(error) => {
                eprintln!("gateway: integration failed: {error:#}");
                (500, None)
            }
        }
    }

    /// The event API Gateway sends the integration, without what only some routes carry.
    fn event(&self, identity: &Identity, route_key: &str, event_type: &str) -> Value {
        let now = OffsetDateTime::now_utc();
        let request_id = base64_id(12);
        json!({
            "requestContext": {
                "routeKey": route_key,
                "eventType": event_type,
                "extendedRequestId": request_id,
                "requestTime": request_time(now),
                "messageDirection": "IN",
                "stage": self.settings().stage,
                "connectedAt": unix_ms(identity.connected_at),
                "requestTimeEpoch": unix_ms(now),
                "identity": {"sourceIp": identity.source_ip, "userAgent": identity.user_agent},
                "requestId": request_id,
                "domainName": self.inner.domain,
                "connectionId": identity.connection_id,
                "apiId": "local",
            },
            "isBase64Encoded": false,
        })
    }

    /// The route a client message takes: its `action` when that is a route, else `$default`.
    fn route_key(&self, body: &str) -> String {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|message| message["action"].as_str().map(str::to_owned))
            .filter(|action| self.settings().routes.contains(action))
            .unwrap_or_else(|| "$default".to_owned())
    }
}

async fn connect_on_stage(
    State(gateway): State<Gateway>,
    Path(stage): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, rejection::WebSocketUpgradeRejection>,
) -> Response {
    if stage != gateway.settings().stage {
        return forbidden();
    }
    connect(State(gateway), ConnectInfo(peer), headers, uri, upgrade).await
}

/// A client's handshake: `$connect` decides whether it completes.
async fn connect(
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, rejection::WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let identity = Identity {
        connection_id: base64_id(11),
        connected_at: OffsetDateTime::now_utc(),
        source_ip: peer.ip().to_string(),
        user_agent: header(&headers, "user-agent"),
    };
    let mut event = gateway.event(&identity, "$connect", "CONNECT");
    event["headers"] = single_headers(&headers);
    event["multiValueHeaders"] = multi_headers(&headers);
    if let Some(query) = uri.query() {
        let (single, multi) = query_parameters(query);
        event["queryStringParameters"] = single;
        event["multiValueQueryStringParameters"] = multi;
    }
    let (status, body) = gateway.invoke(&event).await;
    if !(200..300).contains(&status) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, body.unwrap_or_default()).into_response();
    }
    let (outbound, inbound) = mpsc::unbounded_channel();
    gateway.connections().insert(
        identity.connection_id.clone(),
        Live {
            outbound,
            connected_at: identity.connected_at,
            last_active_at: identity.connected_at,
            source_ip: identity.source_ip.clone(),
            user_agent: identity.user_agent.clone(),
        },
    );
    let failed = (gateway.clone(), identity.clone());
    upgrade
        .max_message_size(MAX_POST_BYTES)
        .on_failed_upgrade(move |error| {
            eprintln!("gateway: upgrade failed: {error}");
            let (gateway, identity) = failed;
            tokio::spawn(async move { disconnected(&gateway, &identity, 1006, "").await });
        })
        .on_upgrade(move |socket| run(gateway, identity, socket, inbound))
}

/// Why a connection loop stopped.
enum Step {
    Incoming(Option<Result<Message, axum::Error>>),
    Outbound(Option<Outbound>),
    Limit,
}

/// One open connection: client messages to the integration, posts to the client, the limits.
async fn run(
    gateway: Gateway,
    identity: Identity,
    mut socket: WebSocket,
    mut inbound: mpsc::UnboundedReceiver<Outbound>,
) {
    let settings = gateway.settings().clone();
    let opened = tokio::time::Instant::now();
    let mut last_active = opened;
    let (code, reason) = loop {
        let deadline = (last_active + settings.idle_timeout).min(opened + settings.max_lifetime);
        let step = tokio::select! {
            incoming = socket.recv() => Step::Incoming(incoming),
            outbound = inbound.recv() => Step::Outbound(outbound),
            () = tokio::time::sleep_until(deadline) => Step::Limit,
        };
        match step {
            Step::Incoming(Some(Ok(message))) => {
                last_active = tokio::time::Instant::now();
                if let Some(live) = gateway.connections().get_mut(&identity.connection_id) {
                    live.last_active_at = OffsetDateTime::now_utc();
                }
                let body = match message {
                    Message::Text(text) => text.to_string(),
                    Message::Binary(data) => String::from_utf8_lossy(&data).into_owned(),
                    Message::Close(frame) => {
                        break frame
                            .map(|frame| (frame.code, frame.reason.to_string()))
                            .unwrap_or((1005, String::new()));
                    }
                    // Control frames: answered by the WebSocket layer, they only keep it alive.
                    Message::Ping(_) | Message::Pong(_) => continue,
                };
                tokio::spawn(on_message(gateway.clone(), identity.clone(), body));
            }
            Step::Incoming(_) => break (1006, String::new()),
            Step::Outbound(Some(Outbound::Data(data))) => {
                let message = match std::str::from_utf8(&data) {
                    Ok(text) => Message::Text(text.into()),
                    Err(_) => Message::Binary(data),
                };
                if socket.send(message).await.is_err() {
                    break (1006, String::new());
                }
            }
            Step::Outbound(Some(Outbound::Close) | None) => {
                let _ = socket
                    .send(Message::Close(Some(CloseFrame {
                        code: 1000,
                        reason: "".into(),
                    })))
                    .await;
                break (1000, String::new());
            }
            Step::Limit => {
                let _ = socket
                    .send(Message::Close(Some(CloseFrame {
                        code: GOING_AWAY.0,
                        reason: GOING_AWAY.1.into(),
                    })))
                    .await;
                break (GOING_AWAY.0, GOING_AWAY.1.to_owned());
            }
        }
    };
    disconnected(&gateway, &identity, code, &reason).await;
}

/// A client message through its route; a non-empty answer goes back to the client.
async fn on_message(gateway: Gateway, identity: Identity, body: String) {
    let route_key = gateway.route_key(&body);
    let mut event = gateway.event(&identity, &route_key, "MESSAGE");
    event["requestContext"]["messageId"] = base64_id(12).into();
    event["body"] = body.into();
    let (status, answer) = gateway.invoke(&event).await;
    // What API Gateway sends the client when the integration fails.
    let answer = if status >= 500 {
        Some(
            json!({
                "message": "Internal server error",
                "connectionId": identity.connection_id,
                "requestId": event["requestContext"]["requestId"],
            })
            .to_string(),
        )
    } else {
        answer
    };
    if let Some(answer) = answer
        && let Some(live) = gateway.connections().get(&identity.connection_id)
    {
        let _ = live.outbound.send(Outbound::Data(Bytes::from(answer)));
    }
}

/// Forgets the connection and tells the integration (`$disconnect`).
async fn disconnected(gateway: &Gateway, identity: &Identity, code: u16, reason: &str) {
    gateway.connections().remove(&identity.connection_id);
    let mut event = gateway.event(identity, "$disconnect", "DISCONNECT");
    event["headers"] = json!({"Host": gateway.inner.domain});
    event["requestContext"]["disconnectStatusCode"] = code.into();
    event["requestContext"]["disconnectReason"] = reason.into();
    gateway.invoke(&event).await;
}

// ---- the management API ----

async fn post_to_connection_on_stage(
    State(gateway): State<Gateway>,
    Path((stage, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if stage != gateway.settings().stage {
        return forbidden();
    }
    post_to_connection(State(gateway), Path(id), body).await
}

/// `PostToConnection`: the data goes to the client as one message.
async fn post_to_connection(
    State(gateway): State<Gateway>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if body.len() > MAX_POST_BYTES {
        return aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeException",
            "Message too long",
        );
    }
    let connections = gateway.connections();
    match connections.get(&connection_id(&id)) {
        Some(live) if live.outbound.send(Outbound::Data(body)).is_ok() => {
            StatusCode::OK.into_response()
        }
        _ => gone(),
    }
}

async fn get_connection_on_stage(
    State(gateway): State<Gateway>,
    Path((stage, id)): Path<(String, String)>,
) -> Response {
    if stage != gateway.settings().stage {
        return forbidden();
    }
    get_connection(State(gateway), Path(id)).await
}

/// `GetConnection`: when it opened, who, and when the client last sent something.
async fn get_connection(State(gateway): State<Gateway>, Path(id): Path<String>) -> Response {
    let connections = gateway.connections();
    let Some(live) = connections.get(&connection_id(&id)) else {
        return gone();
    };
    let body = json!({
        "connectedAt": rfc3339(live.connected_at),
        "identity": {"sourceIp": live.source_ip, "userAgent": live.user_agent},
        "lastActiveAt": rfc3339(live.last_active_at),
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn delete_connection_on_stage(
    State(gateway): State<Gateway>,
    Path((stage, id)): Path<(String, String)>,
) -> Response {
    if stage != gateway.settings().stage {
        return forbidden();
    }
    delete_connection(State(gateway), Path(id)).await
}

/// `DeleteConnection`: the gateway closes it (and `$disconnect` follows).
async fn delete_connection(State(gateway): State<Gateway>, Path(id): Path<String>) -> Response {
    let connections = gateway.connections();
    match connections.get(&connection_id(&id)) {
        Some(live) if live.outbound.send(Outbound::Close).is_ok() => {
            StatusCode::NO_CONTENT.into_response()
        }
        _ => gone(),
    }
}

/// 410 with the error type the SDK maps to `GoneException`.
fn gone() -> Response {
    aws_error(StatusCode::GONE, "GoneException", "")
}

/// What API Gateway answers a request outside the stage.
fn forbidden() -> Response {
    aws_error(StatusCode::FORBIDDEN, "ForbiddenException", "Forbidden")
}

fn aws_error(status: StatusCode, error_type: &'static str, message: &str) -> Response {
    let message = if message.is_empty() {
        Value::Null
    } else {
        message.into()
    };
    let mut response = (status, json!({ "message": message }).to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

// ---- event fields ----

/// A connection id as the path carries it: the SDK percent-encodes the `=` of API Gateway's ids.
fn connection_id(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// An id in API Gateway's style (base64 of random bytes, e.g. `Xq1YkeSLDoECF0A=`).
fn base64_id(bytes: usize) -> String {
    let random = uuid::Uuid::new_v4();
    base64::engine::general_purpose::STANDARD.encode(&random.as_bytes()[..bytes.min(16)])
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn single_headers(headers: &HeaderMap) -> Value {
    let mut single = Map::new();
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            single.insert(name.to_string(), value.into());
        }
    }
    Value::Object(single)
}

fn multi_headers(headers: &HeaderMap) -> Value {
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            let values = multi
                .entry(name.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = values {
                values.push(value.into());
            }
        }
    }
    Value::Object(multi)
}

/// `queryStringParameters` (the last value of each name) and the multi-value form.
fn query_parameters(query: &str) -> (Value, Value) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        single.insert(name.to_string(), value.to_string().into());
        if let Value::Array(values) = multi
            .entry(name.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            values.push(value.to_string().into());
        }
    }
    (Value::Object(single), Value::Object(multi))
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// API Gateway's `requestTime`: `05/Dec/2026:09:00:00 +0000`.
fn request_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    at.format(&format).unwrap_or_default()
}

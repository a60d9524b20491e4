//! The WebSocket API's routes. API Gateway invokes the function with a WebSocket event for each
//! `$connect`, `$disconnect` and client message; the answer's status decides a `$connect` (2xx
//! opens the connection, anything else refuses the handshake with it) and its body is sent back
//! to the client for a message (the routes' response selection is `$default`).

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use gigmarket_shared::ApiError;
use gigmarket_shared::app::realtime;
use gigmarket_shared::domain::realtime::SocketAction;
use gigmarket_shared::web::AppState;

use crate::push;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tracing::Instrument;

/// Whether an invocation is a WebSocket event: its request context names a connection and an
/// event type (`CONNECT`, `MESSAGE`, `DISCONNECT`); an HTTP API event has neither.
pub fn is_socket_event(payload: &Value) -> bool {
    let context = &payload["requestContext"];
    context["connectionId"].is_string() && context["eventType"].is_string()
}

/// Handles one WebSocket event; failures become the answer's status and a problem+json body.
pub async fn handle(
    state: &AppState,
    connections: Option<&aws_sdk_apigatewaymanagement::Client>,
    request: ApiGatewayWebsocketProxyRequest,
    now: OffsetDateTime,
) -> ApiGatewayProxyResponse {
    let context = &request.request_context;
    let connection_id = context.connection_id.clone().unwrap_or_default();
    let event_type = context.event_type.clone().unwrap_or_default();
    let span = tracing::info_span!(
        "socket",
        request_id = context.request_id.as_deref().unwrap_or_default(),
        connection_id = %connection_id,
        event_type = %event_type,
    );
    let outcome = route(
        state,
        connections,
        &request,
        &event_type,
        &connection_id,
        now,
    )
    .instrument(span)
    .await;
    match outcome {
        Ok(body) => answer(200, body),
        Err(error) => {
            if error.status().is_server_error() {
                tracing::error!(connection_id, error = %error, "socket event failed");
            } else {
                tracing::info!(
                    connection_id,
                    status = error.status().as_u16(),
                    "socket event refused"
                );
            }
            let problem = serde_json::to_value(error.to_problem()).unwrap_or_default();
            answer(error.status().as_u16(), Some(problem))
        }
    }
}

/// The event's route: what the client (or API Gateway, for `$disconnect`) asked for.
async fn route(
    state: &AppState,
    connections: Option<&aws_sdk_apigatewaymanagement::Client>,
    request: &ApiGatewayWebsocketProxyRequest,
    event_type: &str,
    connection_id: &str,
    now: OffsetDateTime,
) -> Result<Option<Value>, ApiError> {
    match event_type {
        "CONNECT" => {
            let ticket = request.query_string_parameters.first("ticket");
            // When API Gateway opened it (milliseconds): a push within `CONNECT_GRACE` of it
            // may find it not open yet (`push::post`).
            let connected_at = OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(request.request_context.connected_at) * 1_000_000,
            )
            .ok()
            .filter(|at| at.unix_timestamp() > 0)
            .unwrap_or(now);
            realtime::connect(&state.store, ticket, connection_id, connected_at, now)
                .await
                .map(|connection| {
                    tracing::info!(user_id = %connection.user_id, "connected");
                    None
                })
        }
        "DISCONNECT" => realtime::disconnect(&state.store, connection_id)
            .await
            .map(|_| None),
        "MESSAGE" => {
            let body = request.body.as_deref().unwrap_or_default();
            on_message(state, connections, body, connection_id, now).await
        }
        other => Err(ApiError::BadRequest(format!(
            "unknown event type {other:?}"
        ))),
    }
}

/// A client's message, by its `action`; the answer's body (if any) goes back to the client.
async fn on_message(
    state: &AppState,
    connections: Option<&aws_sdk_apigatewaymanagement::Client>,
    body: &str,
    connection_id: &str,
    now: OffsetDateTime,
) -> Result<Option<Value>, ApiError> {
    match SocketAction::parse(body).map_err(ApiError::BadRequest)? {
        SocketAction::Ping => Ok(Some(json!({"type": "pong"}))),
        SocketAction::Typing { conversation_id } => {
            let delivery =
                realtime::typing(&state.store, connection_id, conversation_id, now).await?;
            let connections = connections.ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!(
                    "REALTIME_CALLBACK_URL is not set: nowhere to push"
                ))
            })?;
            // A lost typing signal is not worth a retry: the next keystroke sends another.
            push::deliver(&delivery, &state.store, connections, now)
                .await
                .map_err(ApiError::internal)?;
            Ok(None)
        }
    }
}

fn answer(status: u16, body: Option<Value>) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(status);
    response.body = body.map(|body| Body::Text(body.to_string()));
    response
}

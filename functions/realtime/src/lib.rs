//! `realtime`: real time over the API Gateway WebSocket API. One function, one binary, three
//! triggers, told apart by the shape of the invocation ([`on_invocation`]):
//!
//! - the HTTP API's `POST /realtime/tickets` (an API Gateway HTTP event, served by the axum
//!   router through `lambda_http`'s adapter, as every API function);
//! - the WebSocket API's routes `$connect`, `$disconnect` and the messages (`ping`, `typing`;
//!   an `aws_lambda_events` WebSocket event, handled in [`socket`]);
//! - the table's stream, filtered to the changes a client hears about live (a batch of
//!   DynamoDB records, pushed to connections in [`push`]).
//!
//! One binary rather than two keeps one deployment build, one role and one log group for the
//! one concept; handlers parse and authenticate, `gigmarket_shared::app::realtime` decides.

pub mod push;
pub mod socket;

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::post;
use gigmarket_shared::ApiResult;
use gigmarket_shared::app::realtime;
use gigmarket_shared::domain::realtime::Ticket;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::triggers;
use gigmarket_shared::web::{self, AppState};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use time::OffsetDateTime;

/// Every HTTP route of this function; each is also a line of `shared/src/routes.rs`.
pub fn router(state: AppState) -> Router {
    let routes = Router::new().route("/realtime/tickets", post(issue_ticket));
    web::api(routes, state)
}

/// `POST /realtime/tickets`: 201 with a single-use ticket for the caller's next connection.
async fn issue_ticket(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<(http::StatusCode, Json<Ticket>)> {
    let ticket = realtime::issue_ticket(&state.store, caller, OffsetDateTime::now_utc()).await?;
    Ok((http::StatusCode::CREATED, Json(ticket)))
}

/// One invocation: a stream batch goes to [`push::handle`], a WebSocket event to
/// [`socket::handle`], anything else is read as an
/// HTTP API event and served by `http` (what `lambda_http::run` does for the other API
/// functions, here behind the same dispatch).
pub async fn on_invocation(
    state: &AppState,
    http: &Router,
    connections: Option<&aws_sdk_apigatewaymanagement::Client>,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let LambdaEvent { payload, context } = event;
    if payload.get("Records").is_some() {
        let batch = triggers::stream_batch(payload)?;
        let connections = connections.ok_or("REALTIME_CALLBACK_URL is not set: nowhere to push")?;
        let response =
            push::handle(batch, &state.store, connections, OffsetDateTime::now_utc()).await;
        return Ok(serde_json::to_value(response)?);
    }
    if socket::is_socket_event(&payload) {
        let request = serde_json::from_value(payload)?;
        let response = socket::handle(state, connections, request, OffsetDateTime::now_utc()).await;
        return Ok(serde_json::to_value(response)?);
    }
    let request: LambdaRequest = serde_json::from_value(payload)?;
    let response = Adapter::from(http.clone())
        .call(LambdaEvent::new(request, context))
        .await
        .map_err(|never| match never {})?;
    Ok(serde_json::to_value(response)?)
}

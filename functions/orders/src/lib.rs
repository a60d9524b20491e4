//! `orders`: place orders, move them through their lifecycle, read them with their timeline.
//! Handlers parse and authenticate; `gigmarket_shared::ordering` and the order state machine
//! decide.

use ::http::{HeaderMap, StatusCode};
use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::{get, post};
use gigmarket_shared::domain::order::{
    ActionInput, DeliveryBody, MessageBody, Order, OrderAction, OrderStatus, Party, PlaceOrder,
    ReasonBody, TimelineEntry, check_idempotency_key,
};
use gigmarket_shared::domain::user::Role;
use gigmarket_shared::http::{self, AppState, AuthUser, JsonBody, PathParam, QueryParams};
use gigmarket_shared::ordering;
use gigmarket_shared::pagination::{Page, PageParams};
use gigmarket_shared::store::orders::OrderList;
use gigmarket_shared::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/orders", post(place_order).get(list_orders))
        .route("/orders/{id}", get(get_order))
        .route("/orders/{id}/accept", post(accept))
        .route("/orders/{id}/reject", post(reject))
        .route("/orders/{id}/deliver", post(deliver))
        .route("/orders/{id}/request-revision", post(request_revision))
        .route("/orders/{id}/complete", post(complete))
        .route("/orders/{id}/cancel", post(cancel));
    http::api(routes, state)
}

/// Clients only. Same `Idempotency-Key` + same body: the same order and status, however often.
async fn place_order(
    State(state): State<AppState>,
    caller: AuthUser,
    headers: HeaderMap,
    JsonBody(request): JsonBody<PlaceOrder>,
) -> ApiResult<(StatusCode, Json<Order>)> {
    caller.require(Role::Client)?;
    // A value that is not even text is present but invalid (not "required"): checked lossily.
    let key = check_idempotency_key(
        headers
            .get(IDEMPOTENCY_KEY_HEADER)
            .map(|value| String::from_utf8_lossy(value.as_bytes()))
            .as_deref(),
    )?;
    let placed = ordering::place_order(
        &state.store,
        caller.id,
        &key,
        &request,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let status = StatusCode::from_u16(placed.status_code).map_err(ApiError::internal)?;
    Ok((status, Json(placed.order)))
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum ListAs {
    Client,
    Freelancer,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(rename = "as")]
    list_as: Option<ListAs>,
    status: Option<OrderStatus>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// The caller's orders, newest first. `as` defaults to the caller's role.
async fn list_orders(
    State(state): State<AppState>,
    caller: AuthUser,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<Order>>> {
    let list_as = query.list_as.unwrap_or(match caller.role {
        Role::Freelancer => ListAs::Freelancer,
        Role::Client | Role::Admin => ListAs::Client,
    });
    let page = state.cursors.page_request(&PageParams {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let list = match list_as {
        ListAs::Client => OrderList::AsClient,
        ListAs::Freelancer => OrderList::AsFreelancer,
    };
    let (orders, next) = state
        .store
        .list_orders(list, caller.id, query.status, &page)
        .await?;
    Ok(Json(state.cursors.page(orders, next)))
}

#[derive(Debug, Serialize)]
struct OrderWithTimeline {
    #[serde(flatten)]
    order: Order,
    timeline: Vec<TimelineEntry>,
}

/// Its client, its freelancer and admins; anyone else gets 404, as for an unknown id.
async fn get_order(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(order_id): PathParam<Uuid>,
) -> ApiResult<Json<OrderWithTimeline>> {
    let (order, timeline) = state
        .store
        .order_with_timeline(order_id)
        .await?
        .filter(|(order, _)| Party::of(caller.id, caller.role, order).may_view())
        .ok_or(ApiError::NotFound("order"))?;
    Ok(Json(OrderWithTimeline { order, timeline }))
}

async fn act(
    state: &AppState,
    caller: AuthUser,
    order_id: Uuid,
    action: OrderAction,
    input: ActionInput,
) -> ApiResult<Json<Order>> {
    ordering::act_on_order(&state.store, caller, order_id, action, input)
        .await
        .map(Json)
}

async fn accept(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(order_id): PathParam<Uuid>,
) -> ApiResult<Json<Order>> {
    act(
        &state,
        caller,
        order_id,
        OrderAction::Accept,
        ActionInput::default(),
    )
    .await
}

async fn reject(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(order_id): PathParam<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> ApiResult<Json<Order>> {
    act(
        &state,
        caller,
        order_id,
        OrderAction::Reject,
        body.validate()?,
    )
    .await
}

async fn deliver(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(order_id): PathParam<Uuid>,
    JsonBody(body): JsonBody<DeliveryBody>,
) -> ApiResult<Json<Order>> {
    act(
        &state,
        caller,
        order_id,
        OrderAction::Deliver,
        body.validate()?,
    )
    .await
}

async fn request_revision(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(order_id): PathParam<Uuid>,
    JsonBody(body): JsonBody<MessageBody>,
) -> ApiResult<Json<Order>> {
    act(
        &state,
        caller,
        order_id,
        OrderAction::RequestRevision,
        body.validate()?,
    )
    .await
}

async fn complete(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(order_id): PathParam<Uuid>,
) -> ApiResult<Json<Order>> {
    act(
        &state,
        caller,
        order_id,
        OrderAction::Complete,
        ActionInput::default(),
    )
    .await
}

async fn cancel(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(order_id): PathParam<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> ApiResult<Json<Order>> {
    act(
        &state,
        caller,
        order_id,
        OrderAction::Cancel,
        body.validate()?,
    )
    .await
}

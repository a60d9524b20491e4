//! Admin routes on orders (`app::admin::orders`, `app::admin::refunds`): the marketplace-wide
//! orders list, cancelling any open order and refunding a completed one. Thin handlers,
//! admin-only.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use axum::routing::{get, post};
use axum::{Extension, Router};
use gigmarket_shared::app::admin::orders::{self, OrdersQuery};
use gigmarket_shared::app::admin::refunds::{self, AdminRefundView, RefundBody, Refunded};
use gigmarket_shared::app::orders::AdminOrderCancelled;
use gigmarket_shared::domain::audit::ReasonBody;
use gigmarket_shared::domain::order::Order;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::pagination::Page;
use gigmarket_shared::stripe::client::StripeClient;
use gigmarket_shared::web::{
    AdminActor, AppState, IDEMPOTENCY_KEY_HEADER, JsonBody, PathParam, QueryParams,
};
use gigmarket_shared::{ApiError, ApiResult};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/orders", get(list_orders))
        .route("/admin/orders/{id}/cancel", post(cancel_order))
        .route("/admin/orders/{id}/refund", post(refund_order))
}

async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<OrdersQuery>,
) -> ApiResult<Json<Page<Order>>> {
    orders::list_orders(
        &state.store,
        &state.cursors,
        caller,
        query,
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

async fn cancel_order(
    State(state): State<AppState>,
    Extension(stripe): Extension<StripeClient>,
    AdminActor(actor): AdminActor,
    PathParam(order_id): PathParam<Uuid>,
    body: Result<JsonBody<ReasonBody>, ApiError>,
) -> ApiResult<Json<AdminOrderCancelled>> {
    orders::cancel_order(
        &state.store,
        &stripe,
        &actor,
        order_id,
        body.map(|JsonBody(reason)| reason),
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

/// `POST /admin/orders/{id}/refund`: 201 with a new refund, 200 with the one a repeated
/// Idempotency-Key made.
async fn refund_order(
    State(state): State<AppState>,
    Extension(stripe): Extension<StripeClient>,
    AdminActor(actor): AdminActor,
    PathParam(order_id): PathParam<Uuid>,
    headers: HeaderMap,
    body: Result<JsonBody<RefundBody>, ApiError>,
) -> ApiResult<(StatusCode, Json<AdminRefundView>)> {
    let key = headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()));
    let (refunded, view) = refunds::refund_order(
        &state.store,
        &stripe,
        &actor,
        order_id,
        body.map(|JsonBody(body)| body),
        key.as_deref(),
        OffsetDateTime::now_utc(),
    )
    .await?;
    let status = match refunded {
        Refunded::Created => StatusCode::CREATED,
        Refunded::Replayed => StatusCode::OK,
    };
    Ok((status, Json(view)))
}

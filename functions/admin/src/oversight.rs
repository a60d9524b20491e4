//! Admin oversight routes (`app::admin_oversight`): cancelling any open order, and the
//! marketplace-wide lists of users, orders and reviews. Thin handlers, admin-only.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::{get, post};
use gigmarket_shared::app::admin_oversight::{
    self, AdminOrderCancelled, OrdersQuery, ReviewsQuery, UsersQuery,
};
use gigmarket_shared::domain::audit::ReasonBody;
use gigmarket_shared::domain::order::Order;
use gigmarket_shared::domain::user::{Caller, PrivateProfile};
use gigmarket_shared::pagination::Page;
use gigmarket_shared::store::oversight::AdminReview;
use gigmarket_shared::web::{AdminActor, AppState, JsonBody, PathParam, QueryParams};
use gigmarket_shared::{ApiError, ApiResult};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list_users))
        .route("/admin/orders", get(list_orders))
        .route("/admin/orders/{id}/cancel", post(cancel_order))
        .route("/admin/reviews", get(list_reviews))
}

async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<UsersQuery>,
) -> ApiResult<Json<Page<PrivateProfile>>> {
    admin_oversight::list_users(&state.store, &state.cursors, caller, query)
        .await
        .map(Json)
}

async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<OrdersQuery>,
) -> ApiResult<Json<Page<Order>>> {
    admin_oversight::list_orders(
        &state.store,
        &state.cursors,
        caller,
        query,
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

async fn list_reviews(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ReviewsQuery>,
) -> ApiResult<Json<Page<AdminReview>>> {
    admin_oversight::list_reviews(
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
    AdminActor(actor): AdminActor,
    PathParam(order_id): PathParam<Uuid>,
    body: Result<JsonBody<ReasonBody>, ApiError>,
) -> ApiResult<Json<AdminOrderCancelled>> {
    admin_oversight::cancel_order(
        &state.store,
        &actor,
        order_id,
        body.map(|JsonBody(reason)| reason),
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

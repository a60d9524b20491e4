//! Admin routes on users (`app::admin::users`): a user's details, block, unblock, and the
//! marketplace-wide users list. Thin handlers, admin-only.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::{get, post};
use gigmarket_shared::app::admin::users::{self, AdminUserStatus, AdminUserView, UsersQuery};
use gigmarket_shared::domain::audit::ReasonBody;
use gigmarket_shared::domain::user::{Caller, PrivateProfile};
use gigmarket_shared::pagination::Page;
use gigmarket_shared::web::{AdminActor, AppState, JsonBody, PathParam, QueryParams};
use gigmarket_shared::{ApiError, ApiResult};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list_users))
        .route("/admin/users/{id}", get(user_detail))
        .route("/admin/users/{id}/block", post(block_user))
        .route("/admin/users/{id}/unblock", post(unblock_user))
}

async fn user_detail(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(user_id): PathParam<Uuid>,
) -> ApiResult<Json<AdminUserView>> {
    users::user_detail(&state.store, caller, user_id)
        .await
        .map(Json)
}

async fn block_user(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    PathParam(user_id): PathParam<Uuid>,
    body: Result<JsonBody<ReasonBody>, ApiError>,
) -> ApiResult<Json<AdminUserStatus>> {
    users::block_user(
        &state.store,
        &actor,
        user_id,
        body.map(|JsonBody(reason)| reason),
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

async fn unblock_user(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    PathParam(user_id): PathParam<Uuid>,
) -> ApiResult<Json<AdminUserStatus>> {
    users::unblock_user(&state.store, &actor, user_id, OffsetDateTime::now_utc())
        .await
        .map(Json)
}

async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<UsersQuery>,
) -> ApiResult<Json<Page<PrivateProfile>>> {
    users::list_users(&state.store, &state.cursors, caller, query)
        .await
        .map(Json)
}

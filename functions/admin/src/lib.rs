//! `admin`: the admin API. Every route is admin-only (`app::admin::require_admin`, 403 for any
//! other token) and every action is audited in its own transaction. Handlers parse and
//! authenticate; `app::admin` decides.
//!
//! This module: people (a user's details, block, unblock) and the audit log. Other admin areas
//! live in modules of their own and add their routes in [`router`].

use axum::Router;
use axum::extract::State;
use axum::middleware;
use axum::response::Json;
use axum::routing::{get, post};
use gigmarket_shared::app::admin::{self, AdminUserStatus, AdminUserView, AuditQuery};
use gigmarket_shared::domain::audit::{AuditEntry, ReasonBody};
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::pagination::Page;
use gigmarket_shared::web::{self, AdminActor, AppState, JsonBody, PathParam, QueryParams};
use gigmarket_shared::{ApiError, ApiResult};
use time::OffsetDateTime;
use uuid::Uuid;

mod metrics;
mod moderation;
mod oversight;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/admin/users/{id}", get(user_detail))
        .route("/admin/users/{id}/block", post(block_user))
        .route("/admin/users/{id}/unblock", post(unblock_user))
        .route("/admin/audit", get(audit_log))
        .merge(metrics::routes())
        .merge(moderation::routes())
        .merge(oversight::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            web::admins_only,
        ));
    web::api(routes, state)
}

async fn user_detail(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(user_id): PathParam<Uuid>,
) -> ApiResult<Json<AdminUserView>> {
    admin::user_detail(&state.store, caller, user_id)
        .await
        .map(Json)
}

async fn block_user(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    PathParam(user_id): PathParam<Uuid>,
    body: Result<JsonBody<ReasonBody>, ApiError>,
) -> ApiResult<Json<AdminUserStatus>> {
    admin::block_user(
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
    admin::unblock_user(&state.store, &actor, user_id, OffsetDateTime::now_utc())
        .await
        .map(Json)
}

async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<AuditQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    admin::audit_log(
        &state.store,
        &state.cursors,
        caller,
        query,
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

//! The audit log route (`app::admin::audit`). Thin handler, admin-only.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::get;
use gigmarket_shared::ApiResult;
use gigmarket_shared::app::admin::audit::{self, AuditQuery};
use gigmarket_shared::domain::audit::AuditEntry;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::pagination::Page;
use gigmarket_shared::web::{AppState, QueryParams};
use time::OffsetDateTime;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/admin/audit", get(audit_log))
}

async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<AuditQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    audit::audit_log(
        &state.store,
        &state.cursors,
        caller,
        query,
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

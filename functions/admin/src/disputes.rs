//! `GET /admin/disputes` (`app::admin::disputes`): the charges' disputes still open. Thin
//! handler, admin-only.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::get;
use gigmarket_shared::ApiResult;
use gigmarket_shared::app::admin::disputes;
use gigmarket_shared::domain::payout::DisputeRecord;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::pagination::{Page, PagingOnly};
use gigmarket_shared::web::{AppState, QueryParams};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/admin/disputes", get(open_disputes))
}

async fn open_disputes(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PagingOnly>,
) -> ApiResult<Json<Page<DisputeRecord>>> {
    disputes::open_disputes(&state.store, &state.cursors, caller, &params.into())
        .await
        .map(Json)
}

//! `GET /admin/metrics` (`app::admin::metrics`): the marketplace's counters and money figures.
//! Thin handler, admin-only.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::get;
use gigmarket_shared::ApiResult;
use gigmarket_shared::app::admin::metrics;
use gigmarket_shared::domain::metrics::Metrics;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::web::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/admin/metrics", get(marketplace_metrics))
}

async fn marketplace_metrics(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Metrics>> {
    metrics::metrics(&state.store, caller).await.map(Json)
}

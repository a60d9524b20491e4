//! Admin metrics and oversight routes (`app::admin_metrics`): thin handlers, admin-only.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::get;
use gigmarket_shared::ApiResult;
use gigmarket_shared::app::admin_metrics;
use gigmarket_shared::domain::metrics::Metrics;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::web::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/admin/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Metrics>> {
    admin_metrics::metrics(&state.store, caller).await.map(Json)
}

//! Admin metrics and oversight routes (`app::admin_metrics`, `app::admin_reviews`): thin
//! handlers, admin-only.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::{get, post};
use gigmarket_shared::app::admin_metrics;
use gigmarket_shared::app::admin_reviews::{self, ReviewVisibility};
use gigmarket_shared::domain::audit::ReasonBody;
use gigmarket_shared::domain::metrics::Metrics;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::web::{AdminActor, AppState, JsonBody, PathParam};
use gigmarket_shared::{ApiError, ApiResult};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/metrics", get(metrics))
        .route("/admin/reviews/{id}/hide", post(hide_review))
        .route("/admin/reviews/{id}/unhide", post(unhide_review))
}

async fn metrics(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Metrics>> {
    admin_metrics::metrics(&state.store, caller).await.map(Json)
}

async fn hide_review(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    PathParam(review_id): PathParam<Uuid>,
    body: Result<JsonBody<ReasonBody>, ApiError>,
) -> ApiResult<Json<ReviewVisibility>> {
    admin_reviews::hide(
        &state.store,
        &actor,
        review_id,
        body.map(|JsonBody(reason)| reason),
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

async fn unhide_review(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    PathParam(review_id): PathParam<Uuid>,
) -> ApiResult<Json<ReviewVisibility>> {
    admin_reviews::unhide(&state.store, &actor, review_id, OffsetDateTime::now_utc())
        .await
        .map(Json)
}

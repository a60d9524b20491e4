//! Admin routes on reviews (`app::admin::reviews`): the marketplace-wide reviews list, hide and
//! unhide. Thin handlers, admin-only.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::{get, post};
use gigmarket_shared::app::admin::reviews::{self, ReviewVisibility, ReviewsQuery};
use gigmarket_shared::domain::audit::ReasonBody;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::pagination::Page;
use gigmarket_shared::store::admin::reviews::AdminReview;
use gigmarket_shared::web::{AdminActor, AppState, JsonBody, PathParam, QueryParams};
use gigmarket_shared::{ApiError, ApiResult};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/reviews", get(list_reviews))
        .route("/admin/reviews/{id}/hide", post(hide_review))
        .route("/admin/reviews/{id}/unhide", post(unhide_review))
}

async fn list_reviews(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ReviewsQuery>,
) -> ApiResult<Json<Page<AdminReview>>> {
    reviews::list_reviews(
        &state.store,
        &state.cursors,
        caller,
        query,
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

async fn hide_review(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    PathParam(review_id): PathParam<Uuid>,
    body: Result<JsonBody<ReasonBody>, ApiError>,
) -> ApiResult<Json<ReviewVisibility>> {
    reviews::hide(
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
    reviews::unhide(&state.store, &actor, review_id, OffsetDateTime::now_utc())
        .await
        .map(Json)
}

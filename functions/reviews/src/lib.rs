//! `reviews`: post a review of a completed order (sealed until both sides have spoken), answer
//! one, and read the published reviews of a gig or a user. Handlers parse and authenticate;
//! `app::reviews` and `domain::review` decide.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::{get, post};
use gigmarket_shared::ApiResult;
use gigmarket_shared::app::reviews::{self, ReviewsAs};
use gigmarket_shared::domain::review::{PostReply, PostReview, Review};
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::pagination::{Page, PageParams};
use gigmarket_shared::web::{self, AppState, JsonBody, PathParam, QueryParams};
use http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/reviews", post(post_review))
        .route("/reviews/{id}/reply", post(reply_to_review))
        .route("/gigs/{id}/reviews", get(gig_reviews))
        .route("/users/{id}/reviews", get(user_reviews));
    web::api(routes, state)
}

async fn post_review(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<PostReview>,
) -> ApiResult<(StatusCode, Json<Review>)> {
    let review = reviews::post(&state.store, caller, request, OffsetDateTime::now_utc()).await?;
    Ok((StatusCode::CREATED, Json(review)))
}

async fn reply_to_review(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(review_id): PathParam<Uuid>,
    JsonBody(request): JsonBody<PostReply>,
) -> ApiResult<Json<Review>> {
    reviews::reply(
        &state.store,
        caller,
        review_id,
        request,
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn gig_reviews(
    State(state): State<AppState>,
    PathParam(gig_id): PathParam<Uuid>,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<Review>>> {
    let paging = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    reviews::of_gig(&state.store, &state.cursors, gig_id, paging)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserReviewsQuery {
    #[serde(rename = "as")]
    reviews_as: Option<ReviewsAs>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn user_reviews(
    State(state): State<AppState>,
    PathParam(user_id): PathParam<Uuid>,
    QueryParams(query): QueryParams<UserReviewsQuery>,
) -> ApiResult<Json<Page<Review>>> {
    let paging = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    reviews::of_user(
        &state.store,
        &state.cursors,
        user_id,
        query.reviews_as,
        paging,
    )
    .await
    .map(Json)
}

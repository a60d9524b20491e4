//! `gigs`: publishing gigs (create, edit, pause, archive), reading one, a freelancer's gigs and
//! the category tree. Browse and keyword search (`GET /gigs`) are the `search` function's, the
//! review queue (`/admin/gigs`) the `admin` function's. Handlers parse and authenticate;
//! `app::gigs` decides.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use gigmarket_shared::app::gigs::{self, SeenGig, StatusMove};
use gigmarket_shared::domain::category::CATEGORIES;
use gigmarket_shared::domain::gig::{GigCard, GigDraft, GigPatch, GigView};
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::pagination::{Page, PagingOnly};
use gigmarket_shared::web::{
    self, AppState, IfMatch, JsonBody, OptionalCaller, PathParam, QueryParams,
};
use gigmarket_shared::{ApiError, ApiResult};
use http::header::{ETAG, LOCATION};
use http::{HeaderValue, StatusCode};
use time::OffsetDateTime;
use uuid::Uuid;

pub fn router(state: AppState) -> Router {
    let mut routes = Router::new()
        .route("/gigs", post(create))
        .route("/gigs/{id}", get(get_gig).patch(update).delete(archive))
        .route("/me/gigs", get(my_gigs))
        .route("/users/{id}/gigs", get(user_gigs))
        .route("/categories", get(categories));
    for (path, status_move) in [("pause", StatusMove::Pause), ("resume", StatusMove::Resume)] {
        routes = routes.route(
            &format!("/gigs/{{id}}/{path}"),
            post(
                move |State(state): State<AppState>,
                      caller: Caller,
                      PathParam(gig_id): PathParam<Uuid>| async move {
                    let seen = gigs::move_status(
                        &state.store,
                        caller,
                        gig_id,
                        status_move,
                        OffsetDateTime::now_utc(),
                    )
                    .await?;
                    Ok::<_, ApiError>(gig_response(StatusCode::OK, seen))
                },
            ),
        );
    }
    web::api(routes, state)
}

/// A gig with its `ETag`.
fn gig_response(status: StatusCode, seen: SeenGig) -> Response {
    let mut response = (status, Json(seen.view)).into_response();
    if let Ok(etag) = HeaderValue::from_str(&seen.etag) {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonBody<GigDraft>, ApiError>,
) -> ApiResult<Response> {
    let seen = gigs::create(
        &state.store,
        caller,
        body.map(|JsonBody(draft)| draft),
        state.config.gig_auto_approve,
        &state.config.quotas,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let location = HeaderValue::from_str(&format!("/gigs/{}", seen.view.id));
    let mut response = gig_response(StatusCode::CREATED, seen);
    if let Ok(location) = location {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

async fn get_gig(
    State(state): State<AppState>,
    OptionalCaller(viewer): OptionalCaller,
    PathParam(gig_id): PathParam<Uuid>,
) -> ApiResult<Response> {
    let seen = gigs::get(&state.store, viewer, gig_id).await?;
    Ok(gig_response(StatusCode::OK, seen))
}

/// Content edits need `If-Match: "<version>"` (the ETag of GET): without it 428, with a stale
/// one 412, empty 400.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(gig_id): PathParam<Uuid>,
    if_match: IfMatch,
    JsonBody(patch): JsonBody<GigPatch>,
) -> ApiResult<Response> {
    let if_match =
        if_match.require("send If-Match with the gig's ETag (from GET /gigs/{id}) to edit it")?;
    let seen = gigs::edit(
        &state.store,
        caller,
        gig_id,
        patch,
        &if_match,
        state.config.gig_auto_approve,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(gig_response(StatusCode::OK, seen))
}

async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(gig_id): PathParam<Uuid>,
) -> ApiResult<StatusCode> {
    gigs::archive(&state.store, caller, gig_id, OffsetDateTime::now_utc()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn my_gigs(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PagingOnly>,
) -> ApiResult<Json<Page<GigView>>> {
    gigs::my_gigs(&state.store, &state.cursors, caller, params.into())
        .await
        .map(Json)
}

async fn user_gigs(
    State(state): State<AppState>,
    PathParam(freelancer_id): PathParam<Uuid>,
    QueryParams(params): QueryParams<PagingOnly>,
) -> ApiResult<Json<Page<GigCard>>> {
    gigs::listed_gigs_of(&state.store, &state.cursors, freelancer_id, params.into())
        .await
        .map(Json)
}

async fn categories() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "categories": CATEGORIES }))
}

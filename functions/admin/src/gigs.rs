//! Admin routes on gigs (`app::admin::gigs`): the review queue and the decisions. Thin
//! handlers, admin-only; a decision answers the gig as the admin now sees it, with its `ETag`.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::ETAG;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{MethodRouter, get, post};
use gigmarket_shared::app::admin::gigs::{self, QueueQuery, QueuedGig};
use gigmarket_shared::app::gigs::SeenGig;
use gigmarket_shared::domain::audit::ReasonBody;
use gigmarket_shared::domain::gig::GigDecision;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::pagination::Page;
use gigmarket_shared::web::{AdminActor, AppState, IfMatch, JsonBody, PathParam, QueryParams};
use gigmarket_shared::{ApiError, ApiResult};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/gigs", get(queue))
        .route("/admin/gigs/{id}/approve", post(approve))
        .route(
            "/admin/gigs/{id}/reject",
            with_reason(GigDecision::Rejected),
        )
        .route("/admin/gigs/{id}/remove", with_reason(GigDecision::Removed))
}

/// The gig with its `ETag` header.
fn decided(seen: SeenGig) -> Response {
    let mut response = Json(seen.view).into_response();
    if let Ok(etag) = HeaderValue::from_str(&seen.etag) {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<QueueQuery>,
) -> ApiResult<Json<Page<QueuedGig>>> {
    gigs::queue(&state.store, &state.cursors, caller, query)
        .await
        .map(Json)
}

async fn approve(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    PathParam(gig_id): PathParam<Uuid>,
    IfMatch(if_match): IfMatch,
) -> ApiResult<Response> {
    gigs::approve(
        &state.store,
        &actor,
        gig_id,
        if_match,
        OffsetDateTime::now_utc(),
    )
    .await
    .map(decided)
}

/// `reject` and `remove`: a decision with a reason in the body.
fn with_reason(decision: GigDecision) -> MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>,
              AdminActor(actor): AdminActor,
              PathParam(gig_id): PathParam<Uuid>,
              IfMatch(if_match): IfMatch,
              body: Result<JsonBody<ReasonBody>, ApiError>| async move {
            gigs::decide_with_reason(
                &state.store,
                &actor,
                gig_id,
                decision,
                if_match,
                body.map(|JsonBody(reason)| reason),
                OffsetDateTime::now_utc(),
            )
            .await
            .map(decided)
        },
    )
}

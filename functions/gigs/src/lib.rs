//! `gigs`: publishing gigs (create, edit, pause, archive), moderation (approve, reject), and the
//! storefront (browse and keyword search, a freelancer's gigs, the category tree).
//!
//! Every change is read-decide-write: the gig is read, a domain rule decides the new gig, and the
//! store writes it in one transaction conditioned on what was read. If another change landed in
//! between, the decision is made again on the fresh gig (an `If-Match` edit then fails with 412).

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use gigmarket_shared::domain::browse::BrowseParams;
use gigmarket_shared::domain::category::CATEGORIES;
use gigmarket_shared::domain::gig::{
    Gig, GigCard, GigDraft, GigPatch, GigStatus, GigView, Rejection,
};
use gigmarket_shared::domain::user::Role;
use gigmarket_shared::http::{self, AppState, AuthUser, JsonBody, PathParam, QueryParams};
use gigmarket_shared::pagination::{Page, PageParams};
use gigmarket_shared::store::gigs::{GigWrite, StoredGig};
use gigmarket_shared::{ApiError, ApiResult};
use http_types::header::{AUTHORIZATION, ETAG, IF_MATCH, LOCATION};
use http_types::request::Parts;
use http_types::{HeaderMap, HeaderValue, StatusCode};
use time::OffsetDateTime;
use uuid::Uuid;

use ::http as http_types;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/gigs", get(browse).post(create))
        .route("/gigs/{id}", get(get_gig).patch(update).delete(archive))
        .route("/gigs/{id}/pause", post(pause))
        .route("/gigs/{id}/resume", post(resume))
        .route("/gigs/{id}/approve", post(approve))
        .route("/gigs/{id}/reject", post(reject))
        .route("/me/gigs", get(my_gigs))
        .route("/users/{id}/gigs", get(user_gigs))
        .route("/categories", get(categories));
    http::api(routes, state)
}

/// The caller if they sent a token (a bad token is still a 401), or an anonymous visitor.
struct Viewer(Option<AuthUser>);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        if parts.headers.contains_key(AUTHORIZATION) {
            AuthUser::from_request_parts(parts, state)
                .await
                .map(|caller| Viewer(Some(caller)))
        } else {
            Ok(Viewer(None))
        }
    }
}

/// Owners and admins see every status and the moderation details.
fn is_privileged(stored: &StoredGig, viewer: Option<&AuthUser>) -> bool {
    viewer.is_some_and(|viewer| viewer.is_admin() || viewer.id == stored.gig.freelancer_id)
}

/// Listed gigs are public; the rest exist only for their owner and admins.
fn can_see(stored: &StoredGig, viewer: Option<&AuthUser>) -> bool {
    stored.listed || is_privileged(stored, viewer)
}

fn view(stored: &StoredGig, viewer: Option<&AuthUser>) -> GigView {
    if is_privileged(stored, viewer) {
        GigView::private(&stored.gig, stored.rejection_reason.as_deref())
    } else {
        GigView::public(&stored.gig)
    }
}

fn gig_response(status: StatusCode, stored: &StoredGig, viewer: &AuthUser) -> Response {
    let mut response = (status, Json(view(stored, Some(viewer)))).into_response();
    if let Ok(etag) = HeaderValue::from_str(&stored.gig.etag()) {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

/// Who may change a gig: its owner, or an admin for moderation.
#[derive(Clone, Copy)]
enum Actor {
    Owner(AuthUser),
    Moderator(AuthUser),
}

/// What a rule decided for the gig as read. Short-lived, so the size difference is fine.
#[allow(clippy::large_enum_variant)]
enum Change {
    Unchanged,
    To {
        gig: Gig,
        rejection_reason: Option<String>,
    },
}

impl Change {
    /// A status move that keeps the content (and clears any rejection reason).
    fn status(stored: &StoredGig, status: GigStatus) -> Self {
        Self::To {
            gig: Gig {
                status,
                updated_at: OffsetDateTime::now_utc(),
                ..stored.gig.clone()
            },
            rejection_reason: None,
        }
    }
}

async fn load(state: &AppState, gig_id: Uuid, actor: Actor) -> ApiResult<StoredGig> {
    let stored = state
        .store
        .get_stored_gig(gig_id)
        .await?
        .ok_or(ApiError::NotFound("gig"))?;
    match actor {
        Actor::Owner(caller) if stored.gig.freelancer_id != caller.id => {
            // Someone else's gig: say so only if they could see it anyway.
            if can_see(&stored, Some(&caller)) {
                Err(ApiError::Forbidden("only the gig's owner may change it"))
            } else {
                Err(ApiError::NotFound("gig"))
            }
        }
        _ => Ok(stored),
    }
}

/// Reads the gig, lets `decide` choose its new state, writes it conditioned on what was read;
/// when something else changed the gig in between, decides again on the fresh read.
async fn change_gig(
    state: &AppState,
    gig_id: Uuid,
    actor: Actor,
    decide: impl Fn(&StoredGig) -> ApiResult<Change>,
) -> ApiResult<StoredGig> {
    if let Actor::Moderator(caller) = actor
        && !caller.is_admin()
    {
        return Err(ApiError::Forbidden("only admins moderate gigs"));
    }
    for _ in 0..5 {
        let stored = load(state, gig_id, actor).await?;
        let (gig, rejection_reason) = match decide(&stored)? {
            Change::Unchanged => return Ok(stored),
            Change::To {
                gig,
                rejection_reason,
            } => (gig, rejection_reason),
        };
        if let GigWrite::Saved { listed } = state
            .store
            .save_gig(&stored, &gig, rejection_reason.as_deref())
            .await?
        {
            return Ok(StoredGig {
                gig,
                listed,
                rejection_reason,
            });
        }
    }
    Err(ApiError::conflict(
        "concurrent-update",
        "the gig kept changing while this request was applied; try again",
    ))
}

async fn create(
    State(state): State<AppState>,
    caller: AuthUser,
    body: Result<JsonBody<GigDraft>, ApiError>,
) -> ApiResult<Response> {
    caller.require(Role::Freelancer)?;
    let JsonBody(draft) = body?;
    let content = draft.validate()?;
    let status = GigStatus::initial(state.config.gig_auto_approve);
    let gig = Gig::new(caller.id, content, status, OffsetDateTime::now_utc());
    state.store.create_gig(&gig).await?;
    let stored = StoredGig {
        gig,
        listed: false,
        rejection_reason: None,
    };
    let mut response = gig_response(StatusCode::CREATED, &stored, &caller);
    if let Ok(location) = HeaderValue::from_str(&format!("/gigs/{}", stored.gig.id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

async fn get_gig(
    State(state): State<AppState>,
    Viewer(viewer): Viewer,
    PathParam(gig_id): PathParam<Uuid>,
) -> ApiResult<Response> {
    let stored = state
        .store
        .get_stored_gig(gig_id)
        .await?
        .filter(|stored| can_see(stored, viewer.as_ref()))
        // Archived is deleted as far as HTTP goes (DELETE answered 204): gone for everyone,
        // owners included; they still find it, with its status, in GET /me/gigs.
        .filter(|stored| stored.gig.status != GigStatus::Archived)
        .ok_or(ApiError::NotFound("gig"))?;
    let mut response = Json(view(&stored, viewer.as_ref())).into_response();
    if let Ok(etag) = HeaderValue::from_str(&stored.gig.etag()) {
        response.headers_mut().insert(ETAG, etag);
    }
    Ok(response)
}

/// Content edits need `If-Match: "<version>"` (the ETag of GET): without it 428, with a stale
/// one 412. So an edit is always based on what the editor saw.
async fn update(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(gig_id): PathParam<Uuid>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody<GigPatch>,
) -> ApiResult<Response> {
    let if_match = headers
        .get(IF_MATCH)
        .ok_or(ApiError::PreconditionRequired(
            "send If-Match with the gig's ETag (from GET /gigs/{id}) to edit it",
        ))?
        .to_str()
        .map_err(|_| ApiError::BadRequest("If-Match is not a valid header value".into()))?
        .trim()
        .to_owned();
    // An empty list names no entity tag at all: malformed, not a stale version.
    if if_match.is_empty() {
        return Err(ApiError::BadRequest(
            "If-Match must name the gig's ETag (or `*`)".into(),
        ));
    }
    let auto_approve = state.config.gig_auto_approve;
    let stored = change_gig(&state, gig_id, Actor::Owner(caller), |stored| {
        // An invalid edit is 400 whatever the ETag: the caller learns what to fix without a
        // fresh read first.
        let content = patch.clone().apply(&stored.gig)?;
        if !stored.gig.matches_if_match(&if_match) {
            return Err(ApiError::PreconditionFailed(format!(
                "the gig changed since you read it (its ETag is now {}); read it again",
                stored.gig.etag()
            )));
        }
        if content == stored.gig.content() {
            return Ok(Change::Unchanged);
        }
        let status = stored.gig.status.after_edit(auto_approve)?;
        Ok(Change::To {
            gig: stored
                .gig
                .edited(content, status, OffsetDateTime::now_utc()),
            rejection_reason: None,
        })
    })
    .await?;
    Ok(gig_response(StatusCode::OK, &stored, &caller))
}

/// Archives the gig: hidden for good, kept for its orders. Refused while orders are open (the
/// write itself is conditioned on `open_orders = 0`, so an order placed meanwhile wins).
async fn archive(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(gig_id): PathParam<Uuid>,
) -> ApiResult<StatusCode> {
    change_gig(&state, gig_id, Actor::Owner(caller), |stored| {
        if stored.gig.status == GigStatus::Archived {
            return Ok(Change::Unchanged);
        }
        stored.gig.check_archivable()?;
        Ok(Change::status(stored, GigStatus::Archived))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn pause(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(gig_id): PathParam<Uuid>,
) -> ApiResult<Response> {
    let stored = change_gig(&state, gig_id, Actor::Owner(caller), |stored| {
        Ok(Change::status(stored, stored.gig.status.pause()?))
    })
    .await?;
    Ok(gig_response(StatusCode::OK, &stored, &caller))
}

async fn resume(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(gig_id): PathParam<Uuid>,
) -> ApiResult<Response> {
    let stored = change_gig(&state, gig_id, Actor::Owner(caller), |stored| {
        Ok(Change::status(stored, stored.gig.status.resume()?))
    })
    .await?;
    Ok(gig_response(StatusCode::OK, &stored, &caller))
}

async fn approve(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(gig_id): PathParam<Uuid>,
) -> ApiResult<Response> {
    let stored = change_gig(&state, gig_id, Actor::Moderator(caller), |stored| {
        Ok(Change::status(stored, stored.gig.status.approve()?))
    })
    .await?;
    Ok(gig_response(StatusCode::OK, &stored, &caller))
}

async fn reject(
    State(state): State<AppState>,
    caller: AuthUser,
    PathParam(gig_id): PathParam<Uuid>,
    body: Result<JsonBody<Rejection>, ApiError>,
) -> ApiResult<Response> {
    if !caller.is_admin() {
        return Err(ApiError::Forbidden("only admins moderate gigs"));
    }
    let JsonBody(rejection) = body?;
    let reason = rejection.validate()?;
    let stored = change_gig(&state, gig_id, Actor::Moderator(caller), |stored| {
        let status = stored.gig.status.reject()?;
        let Change::To { gig, .. } = Change::status(stored, status) else {
            unreachable!("a status change is a change")
        };
        Ok(Change::To {
            gig,
            rejection_reason: Some(reason.clone()),
        })
    })
    .await?;
    Ok(gig_response(StatusCode::OK, &stored, &caller))
}

async fn browse(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<BrowseParams>,
) -> ApiResult<Json<Page<GigCard>>> {
    let (query, page_params) = params.validate()?;
    let page = state.cursors.page_request(&page_params)?;
    let (summaries, next) = state.store.browse_gigs(&query, &page).await?;
    let cards = summaries.iter().map(GigCard::from).collect();
    Ok(Json(state.cursors.page(cards, next)))
}

/// Paging only: these lists take no other parameters.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PagingOnly {
    limit: Option<u32>,
    cursor: Option<String>,
}

impl From<PagingOnly> for PageParams {
    fn from(params: PagingOnly) -> Self {
        Self {
            limit: params.limit,
            cursor: params.cursor,
        }
    }
}

async fn my_gigs(
    State(state): State<AppState>,
    caller: AuthUser,
    QueryParams(params): QueryParams<PagingOnly>,
) -> ApiResult<Json<Page<GigView>>> {
    caller.require(Role::Freelancer)?;
    let page = state.cursors.page_request(&params.into())?;
    let (gigs, next) = state.store.owner_gigs(caller.id, &page).await?;
    let views = gigs
        .iter()
        .map(|stored| GigView::private(&stored.gig, stored.rejection_reason.as_deref()))
        .collect();
    Ok(Json(state.cursors.page(views, next)))
}

/// Public: a freelancer's listed gigs (none while they are blocked).
async fn user_gigs(
    State(state): State<AppState>,
    PathParam(freelancer_id): PathParam<Uuid>,
    QueryParams(params): QueryParams<PagingOnly>,
) -> ApiResult<Json<Page<GigCard>>> {
    let page = state.cursors.page_request(&params.into())?;
    let (summaries, next) = state.store.listed_gigs_of(freelancer_id, &page).await?;
    let cards = summaries.iter().map(GigCard::from).collect();
    Ok(Json(state.cursors.page(cards, next)))
}

async fn categories() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "categories": CATEGORIES }))
}

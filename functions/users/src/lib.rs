//! `users`: the caller's own profile and public profiles.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::get;
use gigmarket_shared::domain::user::{PrivateProfile, ProfilePatch, PublicProfile};
use gigmarket_shared::web::{self, AppState, AuthUser, JsonBody, PathParam};
use gigmarket_shared::{ApiError, ApiResult};
use time::OffsetDateTime;
use uuid::Uuid;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/me", get(get_me).patch(update_me))
        .route("/users/{id}", get(get_public_profile));
    web::api(routes, state)
}

async fn get_me(
    State(state): State<AppState>,
    caller: AuthUser,
) -> ApiResult<Json<PrivateProfile>> {
    let user = state
        .store
        .get_user(caller.id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(Json(PrivateProfile::from(&user)))
}

async fn update_me(
    State(state): State<AppState>,
    caller: AuthUser,
    JsonBody(patch): JsonBody<ProfilePatch>,
) -> ApiResult<Json<PrivateProfile>> {
    let changes = patch.validate()?;
    let user = if changes.is_empty() {
        state
            .store
            .get_user(caller.id)
            .await?
            .ok_or(ApiError::NotFound("user"))?
    } else {
        state
            .store
            .update_profile(caller.id, &changes, OffsetDateTime::now_utc())
            .await?
    };
    Ok(Json(PrivateProfile::from(&user)))
}

/// Public: no auth. Blocked accounts are hidden like unknown ones.
async fn get_public_profile(
    State(state): State<AppState>,
    PathParam(user_id): PathParam<Uuid>,
) -> ApiResult<Json<PublicProfile>> {
    let user = state
        .store
        .get_user(user_id)
        .await?
        .filter(|user| !user.is_blocked())
        .ok_or(ApiError::NotFound("user"))?;
    Ok(Json(PublicProfile::from(&user)))
}

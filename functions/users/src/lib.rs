//! `users`: the caller's own profile and public profiles. Handlers parse and authenticate;
//! `app::users` decides.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::get;
use gigmarket_shared::ApiResult;
use gigmarket_shared::app::users;
use gigmarket_shared::domain::user::{Caller, PrivateProfile, ProfilePatch, PublicProfile};
use gigmarket_shared::web::{self, AppState, JsonBody, PathParam};
use time::OffsetDateTime;
use uuid::Uuid;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/me", get(get_me).patch(update_me))
        .route("/users/{id}", get(get_public_profile));
    web::api(routes, state)
}

async fn get_me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<PrivateProfile>> {
    users::my_profile(&state.store, caller).await.map(Json)
}

async fn update_me(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(patch): JsonBody<ProfilePatch>,
) -> ApiResult<Json<PrivateProfile>> {
    users::update_my_profile(&state.store, caller, patch, OffsetDateTime::now_utc())
        .await
        .map(Json)
}

async fn get_public_profile(
    State(state): State<AppState>,
    PathParam(user_id): PathParam<Uuid>,
) -> ApiResult<Json<PublicProfile>> {
    users::public_profile(&state.store, user_id).await.map(Json)
}

//! `auth`: registration, login, token refresh and logout.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::post;
use gigmarket_shared::ApiResult;
use gigmarket_shared::accounts::{self, Session};
use gigmarket_shared::domain::user::Registration;
use gigmarket_shared::web::{self, AppState, JsonBody};
use serde::Deserialize;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout));
    web::api(routes, state)
}

async fn register(
    State(state): State<AppState>,
    JsonBody(registration): JsonBody<Registration>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let session = accounts::register(&state, registration).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> ApiResult<Json<Session>> {
    accounts::login(&state, &request.email, request.password)
        .await
        .map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

async fn refresh(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RefreshRequest>,
) -> ApiResult<Json<Session>> {
    accounts::refresh(&state, &request.refresh_token)
        .await
        .map(Json)
}

async fn logout(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RefreshRequest>,
) -> ApiResult<impl IntoResponse> {
    accounts::logout(&state, &request.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

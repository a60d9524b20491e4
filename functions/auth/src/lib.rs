//! `auth`: registration, login, token refresh, logout and password change. Handlers parse; `app::accounts`
//! decides.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Json;
use axum::routing::post;
use gigmarket_shared::ApiResult;
use gigmarket_shared::app::accounts::Session;
use gigmarket_shared::domain::password_change::PasswordChange;
use gigmarket_shared::domain::user::{Caller, Registration};
use gigmarket_shared::web::{self, AppState, JsonBody, SourceIp};
use serde::Deserialize;
use time::OffsetDateTime;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/password/change", post(change_password));
    web::api(routes, state)
}

async fn register(
    State(state): State<AppState>,
    SourceIp(source_ip): SourceIp,
    JsonBody(registration): JsonBody<Registration>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let session = state
        .accounts()
        .register(registration, &source_ip, OffsetDateTime::now_utc())
        .await?;
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
    SourceIp(source_ip): SourceIp,
    JsonBody(request): JsonBody<LoginRequest>,
) -> ApiResult<Json<Session>> {
    let session = state
        .accounts()
        .login(
            &request.email,
            request.password,
            &source_ip,
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Json(session))
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
    let session = state
        .accounts()
        .refresh(&request.refresh_token, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(session))
}

async fn logout(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RefreshRequest>,
) -> ApiResult<StatusCode> {
    state
        .accounts()
        .logout(&request.refresh_token, OffsetDateTime::now_utc())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    SourceIp(source_ip): SourceIp,
    JsonBody(change): JsonBody<PasswordChange>,
) -> ApiResult<Json<Session>> {
    let session = state
        .accounts()
        .change_password(caller, change, &source_ip, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(session))
}

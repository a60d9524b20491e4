//! `auth`: registration, login, token refresh, logout, password change, email verification and
//! password reset. Handlers parse; `app::accounts` and `app::account_tokens` decide; the mails
//! with tokens go to the events queue (`mail`).

mod mail;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Json;
use axum::routing::post;
use gigmarket_shared::ApiResult;
use gigmarket_shared::app::accounts::Session;
use gigmarket_shared::domain::account_token::{ForgotPassword, PasswordReset, VerifyEmail};
use gigmarket_shared::domain::password_change::PasswordChange;
use gigmarket_shared::domain::user::{Caller, PrivateProfile, Registration};
use gigmarket_shared::web::{self, AppState, JsonBody, SourceIp};
use serde::Deserialize;
use time::OffsetDateTime;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/password/change", post(change_password))
        .route("/auth/verify", post(verify_email))
        .route("/auth/verify/resend", post(resend_verification))
        .route("/auth/password/forgot", post(forgot_password))
        .route("/auth/password/reset", post(reset_password));
    web::api(routes, state)
}

async fn register(
    State(state): State<AppState>,
    SourceIp(source_ip): SourceIp,
    JsonBody(registration): JsonBody<Registration>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let registered = state
        .accounts()
        .register(registration, &source_ip, OffsetDateTime::now_utc())
        .await?;
    if let Some(verification) = registered.verification {
        mail::send(&state, &verification).await;
    }
    Ok((StatusCode::CREATED, Json(registered.session)))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogoutRequest {
    refresh_token: String,
    /// End every session of the account, not only this one.
    #[serde(default)]
    everywhere: bool,
}

async fn logout(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LogoutRequest>,
) -> ApiResult<StatusCode> {
    state
        .accounts()
        .logout(
            &request.refresh_token,
            request.everywhere,
            OffsetDateTime::now_utc(),
        )
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

async fn verify_email(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<VerifyEmail>,
) -> ApiResult<Json<PrivateProfile>> {
    let profile = state
        .accounts()
        .verify_email(&request.token, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(profile))
}

async fn resend_verification(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let verification = state
        .accounts()
        .resend_verification(caller, OffsetDateTime::now_utc())
        .await?;
    mail::send(&state, &verification).await;
    Ok(StatusCode::ACCEPTED)
}

/// Always 202, whether or not the email has an account (nothing tells them apart).
async fn forgot_password(
    State(state): State<AppState>,
    SourceIp(source_ip): SourceIp,
    JsonBody(request): JsonBody<ForgotPassword>,
) -> ApiResult<StatusCode> {
    if let Some(reset) = state
        .accounts()
        .forgot_password(&request.email, &source_ip, OffsetDateTime::now_utc())
        .await?
    {
        mail::send(&state, &reset).await;
    }
    Ok(StatusCode::ACCEPTED)
}

async fn reset_password(
    State(state): State<AppState>,
    JsonBody(reset): JsonBody<PasswordReset>,
) -> ApiResult<StatusCode> {
    state
        .accounts()
        .reset_password(reset, OffsetDateTime::now_utc())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! Account use cases: register, log in, refresh, log out. Handlers parse and authorise; the rules
//! of how sessions start, rotate and end live here, once.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::password::{hash_password, verify_against_dummy, verify_password};
use crate::auth::refresh::{new_refresh_token, refresh_token_digest};
use crate::domain::user::{
    EMAIL_MAX_BYTES, PrivateProfile, Registration, Role, User, normalize_email,
};
use crate::error::{ApiError, ApiResult};
use crate::store::sessions::{RefreshToken, Rotation};
use crate::unix_now;
use crate::web::AppState;

/// What register, login and refresh return.
#[derive(Debug, serde::Serialize)]
pub struct Session {
    pub user: PrivateProfile,
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
}

const BAD_CREDENTIALS: ApiError = ApiError::Unauthorized("invalid email or password");
const BAD_REFRESH: ApiError = ApiError::Unauthorized("invalid, expired or revoked refresh token");

/// argon2 takes tens of milliseconds of pure CPU: keep it off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)
}

/// Creates a user with a hashed password. The API only ever passes client or freelancer roles;
/// `gigctl create-admin` is the one caller that passes `Role::Admin`.
pub async fn create_user(
    state: &AppState,
    email: String,
    password: String,
    name: String,
    role: Role,
) -> ApiResult<User> {
    let password_hash = blocking(move || hash_password(&password)).await??;
    let user = User::new(
        email,
        name.trim().to_owned(),
        role,
        OffsetDateTime::now_utc(),
    );
    state.store.create_user(&user, &password_hash).await?;
    Ok(user)
}

pub async fn register(state: &AppState, registration: Registration) -> ApiResult<Session> {
    let email = registration.validate()?;
    let user = create_user(
        state,
        email,
        registration.password,
        registration.name,
        registration.role,
    )
    .await?;
    start_session(state, &user, Uuid::new_v4()).await
}

pub async fn login(state: &AppState, email: &str, password: String) -> ApiResult<Session> {
    let email = normalize_email(email);
    // No account has a longer email (registration refuses it), and the throttle's key would be
    // over DynamoDB's key size limit: answer before touching the store. Saying so leaks nothing.
    if email.len() > EMAIL_MAX_BYTES {
        return Err(ApiError::invalid(
            "email",
            "too_long",
            format!("must be at most {EMAIL_MAX_BYTES} bytes"),
        ));
    }
    let window = state.config.login_failure_window.as_secs().max(1) as i64;
    let now = unix_now();
    let window_start = now - now.rem_euclid(window);
    let failures = state.store.login_failures(&email, window_start).await?;
    if failures >= state.config.login_max_failures {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: (window_start + window - now).max(1) as u64,
            detail: "too many failed logins for this account; try again later".to_owned(),
        });
    }
    let credentials = state.store.credentials(&email).await?;
    let verified = match credentials.clone() {
        Some(credentials) => {
            blocking(move || verify_password(&password, &credentials.password_hash)).await?
        }
        None => {
            blocking(move || verify_against_dummy(&password)).await?;
            false
        }
    };
    let user = match (verified, credentials) {
        (true, Some(credentials)) => state.store.get_user(credentials.user_id).await?,
        _ => None,
    };
    let Some(user) = user else {
        state
            .store
            .record_login_failure(&email, window_start, window_start + window)
            .await?;
        return Err(BAD_CREDENTIALS);
    };
    if user.is_blocked() {
        return Err(ApiError::Forbidden("this account is blocked"));
    }
    start_session(state, &user, Uuid::new_v4()).await
}

/// Exchanges a refresh token for a new pair. A token presented twice revokes its whole family.
pub async fn refresh(state: &AppState, presented: &str) -> ApiResult<Session> {
    let now = unix_now();
    let digest = refresh_token_digest(presented);
    let record = state
        .store
        .refresh_token(&digest)
        .await?
        .ok_or(BAD_REFRESH)?;
    if record.expires_at <= now {
        return Err(BAD_REFRESH);
    }
    if record.used_at.is_some() {
        tracing::warn!(family_id = %record.family_id, user_id = %record.user_id, "refresh token reuse: revoking family");
        state.store.revoke_session(record.family_id, now).await?;
        return Err(BAD_REFRESH);
    }
    let user = state
        .store
        .get_user(record.user_id)
        .await?
        .ok_or(BAD_REFRESH)?;
    if user.is_blocked() {
        state.store.revoke_session(record.family_id, now).await?;
        return Err(ApiError::Forbidden("this account is blocked"));
    }
    let next_token = new_refresh_token();
    let next = RefreshToken {
        user_id: user.id,
        family_id: record.family_id,
        expires_at: now + state.config.refresh_token_ttl.as_secs() as i64,
        used_at: None,
    };
    match state
        .store
        .rotate_refresh_token(&digest, &refresh_token_digest(&next_token), &next, now)
        .await?
    {
        Rotation::Rotated => session_for(state, &user, next_token),
        Rotation::AlreadyUsed => {
            tracing::warn!(family_id = %record.family_id, "concurrent refresh token reuse: revoking family");
            state.store.revoke_session(record.family_id, now).await?;
            Err(BAD_REFRESH)
        }
        Rotation::Revoked => Err(BAD_REFRESH),
    }
}

/// Ends the session the refresh token belongs to. Unknown tokens are fine: logout is idempotent.
pub async fn logout(state: &AppState, presented: &str) -> ApiResult<()> {
    if let Some(record) = state
        .store
        .refresh_token(&refresh_token_digest(presented))
        .await?
    {
        state
            .store
            .revoke_session(record.family_id, unix_now())
            .await?;
    }
    Ok(())
}

async fn start_session(state: &AppState, user: &User, family_id: Uuid) -> ApiResult<Session> {
    let token = new_refresh_token();
    let record = RefreshToken {
        user_id: user.id,
        family_id,
        expires_at: unix_now() + state.config.refresh_token_ttl.as_secs() as i64,
        used_at: None,
    };
    state
        .store
        .start_session(&refresh_token_digest(&token), &record)
        .await?;
    session_for(state, user, token)
}

fn session_for(state: &AppState, user: &User, refresh_token: String) -> ApiResult<Session> {
    Ok(Session {
        user: PrivateProfile::from(user),
        access_token: state.tokens.issue(user.id, user.role)?,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
    })
}

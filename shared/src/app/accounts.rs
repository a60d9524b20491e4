//! Account use cases: register, log in, refresh, log out, and creating users (admins too, for
//! `gigctl`). The rules of how sessions start, rotate and end live here, once.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::TokenIssuer;
use crate::auth::password::{hash_password, verify_against_dummy, verify_password};
use crate::auth::refresh::{new_refresh_token, refresh_token_digest};
use crate::config::Config;
use crate::domain::user::{
    EMAIL_MAX_BYTES, PrivateProfile, Registration, Role, User, normalize_email,
};
use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use crate::store::sessions::{RefreshToken, Rotation};

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
const BLOCKED: ApiError = ApiError::Forbidden("this account is blocked");

/// What the account use cases work with: the store, token signing, and the session rules
/// (`config`: token lifetimes, login throttle). Built per request from the function's state.
#[derive(Clone, Copy)]
pub struct Accounts<'a> {
    pub store: &'a Store,
    pub tokens: &'a TokenIssuer,
    pub config: &'a Config,
}

/// argon2 takes tens of milliseconds of pure CPU: keep it off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)
}

impl Accounts<'_> {
    /// Creates a user with a hashed password. The API only ever passes client or freelancer
    /// roles; `gigctl create-admin` is the one caller that passes `Role::Admin`.
    pub async fn create_user(
        &self,
        email: String,
        password: String,
        name: String,
        role: Role,
        now: OffsetDateTime,
    ) -> ApiResult<User> {
        let password_hash = blocking(move || hash_password(&password)).await??;
        let user = User::new(email, name.trim().to_owned(), role, now);
        self.store.create_user(&user, &password_hash).await?;
        Ok(user)
    }

    pub async fn register(
        &self,
        registration: Registration,
        now: OffsetDateTime,
    ) -> ApiResult<Session> {
        let email = registration.validate()?;
        let user = self
            .create_user(
                email,
                registration.password,
                registration.name,
                registration.role,
                now,
            )
            .await?;
        self.start_session(&user, Uuid::new_v4(), now).await
    }

    pub async fn login(
        &self,
        email: &str,
        password: String,
        now: OffsetDateTime,
    ) -> ApiResult<Session> {
        let email = normalize_email(email);
        // No account has a longer email (registration refuses it), and the throttle's key would
        // be over DynamoDB's key size limit: answer before touching the store. Saying so leaks
        // nothing.
        if email.len() > EMAIL_MAX_BYTES {
            return Err(ApiError::invalid(
                "email",
                "too_long",
                format!("must be at most {EMAIL_MAX_BYTES} bytes"),
            ));
        }
        let window = self.config.login_failure_window.as_secs().max(1) as i64;
        let now_unix = now.unix_timestamp();
        let window_start = now_unix - now_unix.rem_euclid(window);
        let failures = self.store.login_failures(&email, window_start).await?;
        if failures >= self.config.login_max_failures {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: (window_start + window - now_unix).max(1) as u64,
                detail: "too many failed logins for this account; try again later".to_owned(),
            });
        }
        let credentials = self.store.credentials(&email).await?;
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
            (true, Some(credentials)) => self.store.get_user(credentials.user_id).await?,
            _ => None,
        };
        let Some(user) = user else {
            self.store
                .record_login_failure(&email, window_start, window_start + window)
                .await?;
            return Err(BAD_CREDENTIALS);
        };
        if user.is_blocked() {
            return Err(BLOCKED);
        }
        self.start_session(&user, Uuid::new_v4(), now).await
    }

    /// Exchanges a refresh token for a new pair. A token presented twice revokes its whole
    /// family.
    pub async fn refresh(&self, presented: &str, now: OffsetDateTime) -> ApiResult<Session> {
        let now_unix = now.unix_timestamp();
        let digest = refresh_token_digest(presented);
        let record = self
            .store
            .refresh_token(&digest)
            .await?
            .ok_or(BAD_REFRESH)?;
        if record.expires_at <= now_unix {
            return Err(BAD_REFRESH);
        }
        if record.used_at.is_some() {
            tracing::warn!(family_id = %record.family_id, user_id = %record.user_id, "refresh token reuse: revoking family");
            self.store
                .revoke_session(record.family_id, now_unix)
                .await?;
            return Err(BAD_REFRESH);
        }
        let user = self
            .store
            .get_user(record.user_id)
            .await?
            .ok_or(BAD_REFRESH)?;
        if user.is_blocked() {
            self.store
                .revoke_session(record.family_id, now_unix)
                .await?;
            return Err(BLOCKED);
        }
        let next_token = new_refresh_token();
        let next = RefreshToken {
            user_id: user.id,
            family_id: record.family_id,
            expires_at: now_unix + self.config.refresh_token_ttl.as_secs() as i64,
            used_at: None,
        };
        match self
            .store
            .rotate_refresh_token(&digest, &refresh_token_digest(&next_token), &next, now_unix)
            .await?
        {
            Rotation::Rotated => self.session_for(&user, next_token),
            Rotation::AlreadyUsed => {
                tracing::warn!(family_id = %record.family_id, "concurrent refresh token reuse: revoking family");
                self.store
                    .revoke_session(record.family_id, now_unix)
                    .await?;
                Err(BAD_REFRESH)
            }
            Rotation::Revoked => Err(BAD_REFRESH),
        }
    }

    /// Ends the session the refresh token belongs to. Unknown tokens are fine: logout is
    /// idempotent.
    pub async fn logout(&self, presented: &str, now: OffsetDateTime) -> ApiResult<()> {
        if let Some(record) = self
            .store
            .refresh_token(&refresh_token_digest(presented))
            .await?
        {
            self.store
                .revoke_session(record.family_id, now.unix_timestamp())
                .await?;
        }
        Ok(())
    }

    async fn start_session(
        &self,
        user: &User,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> ApiResult<Session> {
        let token = new_refresh_token();
        let record = RefreshToken {
            user_id: user.id,
            family_id,
            expires_at: now.unix_timestamp() + self.config.refresh_token_ttl.as_secs() as i64,
            used_at: None,
        };
        self.store
            .start_session(&refresh_token_digest(&token), &record)
            .await?;
        self.session_for(user, token)
    }

    fn session_for(&self, user: &User, refresh_token: String) -> ApiResult<Session> {
        Ok(Session {
            user: PrivateProfile::from(user),
            access_token: self.tokens.issue(user.id, user.role)?,
            refresh_token,
            token_type: "Bearer",
            expires_in: self.tokens.ttl().as_secs(),
        })
    }
}

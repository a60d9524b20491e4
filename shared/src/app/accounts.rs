//! Account use cases: register, log in, refresh, log out, and creating users (admins too, for
//! `gigctl`). The rules of how sessions start, rotate and end, and the throttles on login and
//! registration, live here, once.

use time::OffsetDateTime;
use uuid::Uuid;

use super::Accounts;
use super::account_tokens::AccountMail;
use crate::auth::password::{
    blocking, hash_password, unix_ms, verify_against_dummy, verify_password,
};
use crate::auth::refresh::{new_refresh_token, refresh_token_digest};
use crate::domain::account_token::TokenPurpose;
use crate::domain::password_change::PasswordChange;
use crate::domain::quota::Window;
use crate::domain::user::{
    Caller, EMAIL_MAX_BYTES, PrivateProfile, Registration, Role, SessionRef, User, normalize_email,
};
use crate::error::{ApiError, ApiResult};
use crate::store::sessions::{RefreshToken, Rotation};
use crate::store::throttle::Throttle;

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

/// What registration returns: the new session, and the verification mail to send (none when
/// its token could not be stored).
#[derive(Debug)]
pub struct Registered {
    pub session: Session,
    pub verification: Option<AccountMail>,
}

const BAD_CREDENTIALS: ApiError = ApiError::Unauthorized("invalid email or password");
const BAD_REFRESH: ApiError = ApiError::Unauthorized("invalid, expired or revoked refresh token");
const BLOCKED: ApiError = ApiError::Forbidden("this account is blocked");

impl SessionRef {
    /// The session a refresh token belongs to.
    fn of(record: &RefreshToken) -> Self {
        Self {
            id: record.family_id,
            started_ms: record.session_started_ms.unwrap_or(0),
        }
    }
}

/// How many password verifications (real or against the dummy hash) this process has run:
/// what proves that the login throttle holds under concurrency (tests run one per process).
#[cfg(feature = "test-support")]
static PASSWORD_VERIFICATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[cfg(feature = "test-support")]
pub fn password_verifications() -> u64 {
    PASSWORD_VERIFICATIONS.load(std::sync::atomic::Ordering::SeqCst)
}

fn password_verification_started() {
    #[cfg(feature = "test-support")]
    PASSWORD_VERIFICATIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
        self.create_verified_user(email, password, name, role, None, now)
            .await
    }

    /// `gigctl create-admin`: an admin account, audited with the operator who made it
    /// (the entry in the account's own transaction).
    pub async fn create_admin(
        &self,
        email: String,
        password: String,
        name: String,
        operator: &crate::domain::audit::Actor,
        now: OffsetDateTime,
    ) -> ApiResult<User> {
        self.create_verified_user(email, password, name, Role::Admin, Some(operator), now)
            .await
    }

    async fn create_verified_user(
        &self,
        email: String,
        password: String,
        name: String,
        role: Role,
        audited_by: Option<&crate::domain::audit::Actor>,
        now: OffsetDateTime,
    ) -> ApiResult<User> {
        use crate::domain::audit::{AuditAction, AuditEntry, TargetKind};
        let password_hash = blocking(self.config, move || hash_password(&password)).await??;
        let mut user = User::new(email, name.trim().to_owned(), role, now);
        // An operator vouches for the address.
        user.email_verified = true;
        let audit = audited_by.map(|actor| {
            AuditEntry::new(
                actor,
                AuditAction::CreateAdmin,
                (TargetKind::User, user.id),
                None,
                now,
            )
        });
        self.store
            .create_user_audited(&user, &password_hash, None, audit.as_ref())
            .await?;
        Ok(user)
    }

    /// Registers a client or freelancer from `source_ip` and signs them in, unverified. The
    /// user, their email claim and their first session are ONE transaction; the verification
    /// token is stored after it (when that fails, it is logged and the user asks for a new mail
    /// with `POST /auth/verify/resend`). Registrations are limited per source address
    /// (`registrations_per_address` per `registration_window`); only valid requests use up the
    /// budget.
    pub async fn register(
        &self,
        registration: Registration,
        source_ip: &str,
        now: OffsetDateTime,
    ) -> ApiResult<Registered> {
        let email = registration.validate()?;
        let window = Window::containing(
            now.unix_timestamp(),
            self.config.registration_window.as_secs(),
        );
        if !self
            .store
            .reserve_attempt(
                Throttle::RegistrationFromAddress(source_ip),
                self.config.registrations_per_address,
                window,
            )
            .await?
        {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: window.retry_after(now.unix_timestamp()),
                detail: "too many registrations from this address; try again later".to_owned(),
            });
        }
        let name = registration.display_name();
        let password = registration.password;
        let password_hash = blocking(self.config, move || hash_password(&password)).await??;
        let user = User::new(email, name, registration.role, now);
        let (token, record) = self.new_session_token(&user, Uuid::new_v4(), now);
        self.store
            .create_user_with_session(
                &user,
                &password_hash,
                Some((&refresh_token_digest(&token), &record)),
            )
            .await?;
        let session = self.session_for(&user, token, SessionRef::of(&record))?;
        let verification = match self
            .issue_token(&user, TokenPurpose::EmailVerification, now)
            .await
        {
            Ok(mail) => Some(mail),
            Err(error) => {
                tracing::error!(user_id = %user.id, error = %error, "storing the verification token failed; the user can ask for a new mail");
                None
            }
        };
        Ok(Registered {
            session,
            verification,
        })
    }

    /// Logs in. The throttle, in order (each step reserves its attempt atomically BEFORE the
    /// password is verified, so concurrent guesses can not get past a limit):
    ///
    /// 1. per source address: `login_max_attempts_per_address` attempts per window, any email;
    /// 2. per email and source address: `login_max_failures` attempts per window. Every address
    ///    has its own bucket for the account, so failures from elsewhere never lock the owner
    ///    out of any address, new or old: a lock on the account as a whole is a lock anyone can
    ///    set (docs/api.md, "Login and registration throttles").
    ///
    /// A successful login gives both attempts back. A blocked account answers exactly as a wrong
    /// password does (401, and its attempts stay used): the answer never tells a guesser that
    /// the password was right.
    pub async fn login(
        &self,
        email: &str,
        password: String,
        source_ip: &str,
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
        let now_unix = now.unix_timestamp();
        let window = Window::containing(now_unix, self.config.login_failure_window.as_secs());
        let throttled = |detail: &str| ApiError::TooManyRequests {
            retry_after_secs: window.retry_after(now_unix),
            detail: detail.to_owned(),
        };
        let address = Throttle::LoginFromAddress(source_ip);
        if !self
            .store
            .reserve_attempt(address, self.config.login_max_attempts_per_address, window)
            .await?
        {
            return Err(throttled(
                "too many failed logins from this address; try again later",
            ));
        }
        let account = Throttle::LoginToEmailFromAddress {
            email: &email,
            source_ip,
        };
        if !self
            .store
            .reserve_attempt(account, self.config.login_max_failures, window)
            .await?
        {
            return Err(throttled(
                "too many failed logins for this account; try again later",
            ));
        }
        let credentials = self.store.credentials(&email).await?;
        password_verification_started();
        let verified = match credentials.clone() {
            Some(credentials) => {
                blocking(self.config, move || {
                    verify_password(&password, &credentials.password_hash)
                })
                .await?
            }
            None => {
                blocking(self.config, move || verify_against_dummy(&password)).await?;
                false
            }
        };
        let user = match (verified, credentials) {
            (true, Some(credentials)) => self.store.get_user(credentials.user_id).await?,
            _ => None,
        };
        // A failure keeps both reserved attempts: that is what the limits count. A blocked
        // account is a failure too, in every way a guesser could observe.
        let Some(user) = user.filter(|user| !user.is_blocked()) else {
            return Err(BAD_CREDENTIALS);
        };
        self.store.release_attempt(address, window).await?;
        self.store.release_attempt(account, window).await?;
        self.start_session(&user, Uuid::new_v4(), now).await
    }

    /// `POST /auth/password/change`: the signed-in caller sets a new password by giving the
    /// current one. Every other session of theirs is revoked (refresh tokens and access tokens'
    /// writes at once; reset tokens mailed before die too); the answer is a new session for the
    /// caller.
    /// Wrong current passwords are throttled like logins, in the caller's own bucket for the
    /// address they call from, so a stolen access token can not be used to guess it.
    pub async fn change_password(
        &self,
        caller: Caller,
        change: PasswordChange,
        source_ip: &str,
        now: OffsetDateTime,
    ) -> ApiResult<Session> {
        let user = self
            .store
            .get_user(caller.id)
            .await?
            .ok_or(ApiError::Unauthorized("this account no longer exists"))?;
        if user.is_blocked() {
            // The same answer as every other write of a blocked account.
            return Err(ApiError::AccountBlocked);
        }
        change.validate(&user.email)?;
        let now_unix = now.unix_timestamp();
        let window = Window::containing(now_unix, self.config.login_failure_window.as_secs());
        let bucket = Throttle::LoginToEmailFromAddress {
            email: &user.email,
            source_ip,
        };
        if !self
            .store
            .reserve_attempt(bucket, self.config.login_max_failures, window)
            .await?
        {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: window.retry_after(now_unix),
                detail: "too many wrong current passwords; try again later".to_owned(),
            });
        }
        let credentials = self
            .store
            .credentials(&user.email)
            .await?
            .filter(|credentials| credentials.user_id == user.id)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("user without credentials")))?;
        let current_hash = credentials.password_hash.clone();
        let current = change.current_password;
        password_verification_started();
        if !blocking(self.config, move || {
            verify_password(&current, &credentials.password_hash)
        })
        .await?
        {
            return Err(ApiError::invalid(
                "current_password",
                "incorrect",
                "is not your current password",
            ));
        }
        self.store.release_attempt(bucket, window).await?;
        let new_password = change.new_password;
        let new_hash = blocking(self.config, move || hash_password(&new_password)).await??;
        // A block that lands meanwhile still refuses the change (403 account-blocked).
        self.store
            .acting_as(caller)
            .change_password(&user, &current_hash, &new_hash, unix_ms(now), now)
            .await?;
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
        // A session without a recorded start is as old as can be: past its absolute lifetime.
        let started_ms = record.session_started_ms.unwrap_or(0);
        let session_ends = started_ms / 1000 + self.config.session_max_age.as_secs() as i64;
        if user.revoked_session(record.session_started_ms) || session_ends <= now_unix {
            self.store
                .revoke_session(record.family_id, now_unix)
                .await?;
            return Err(BAD_REFRESH);
        }
        let next_token = new_refresh_token();
        let next = RefreshToken {
            user_id: user.id,
            family_id: record.family_id,
            // Sliding, but never past the session's absolute end.
            expires_at: (now_unix + self.config.refresh_token_ttl.as_secs() as i64)
                .min(session_ends),
            used_at: None,
            session_started_ms: record.session_started_ms,
        };
        let session = SessionRef {
            id: record.family_id,
            started_ms,
        };
        match self
            .store
            .rotate_refresh_token(&digest, &refresh_token_digest(&next_token), &next, now_unix)
            .await?
        {
            Rotation::Rotated => self.session_for(&user, next_token, session),
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

    /// Ends the session the refresh token belongs to: its refresh tokens, and the writes of its
    /// access tokens (`store::acting`). With `everywhere`, ends every session of the user the
    /// same way (as a password change does). Unknown tokens are fine: logout is idempotent.
    pub async fn logout(
        &self,
        presented: &str,
        everywhere: bool,
        now: OffsetDateTime,
    ) -> ApiResult<()> {
        let Some(record) = self
            .store
            .refresh_token(&refresh_token_digest(presented))
            .await?
        else {
            return Ok(());
        };
        let now_unix = now.unix_timestamp();
        self.store
            .revoke_session(record.family_id, now_unix)
            .await?;
        if everywhere {
            self.store
                .revoke_sessions_before(record.user_id, unix_ms(now))
                .await
        } else {
            // The session's access tokens live at most one lifetime more: then its entry goes.
            let last_token_expires = now_unix + self.tokens.ttl().as_secs() as i64;
            self.store
                .end_session(
                    record.user_id,
                    record.family_id,
                    last_token_expires,
                    now_unix,
                )
                .await
        }
    }

    /// A fresh refresh token (plaintext, for the client) and the record stored under its digest.
    fn new_session_token(
        &self,
        user: &User,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> (String, RefreshToken) {
        let record = RefreshToken {
            user_id: user.id,
            family_id,
            expires_at: now.unix_timestamp() + self.config.refresh_token_ttl.as_secs() as i64,
            used_at: None,
            session_started_ms: Some(unix_ms(now)),
        };
        (new_refresh_token(), record)
    }

    async fn start_session(
        &self,
        user: &User,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> ApiResult<Session> {
        let (token, record) = self.new_session_token(user, family_id, now);
        self.store
            .start_session(&refresh_token_digest(&token), &record)
            .await?;
        self.session_for(user, token, SessionRef::of(&record))
    }

    fn session_for(
        &self,
        user: &User,
        refresh_token: String,
        session: SessionRef,
    ) -> ApiResult<Session> {
        Ok(Session {
            user: PrivateProfile::from(user),
            access_token: self.tokens.issue(user.id, user.role, session)?,
            refresh_token,
            token_type: "Bearer",
            expires_in: self.tokens.ttl().as_secs(),
        })
    }
}

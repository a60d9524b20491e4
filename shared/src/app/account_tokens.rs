//! Email verification and password reset: issuing the single-use tokens that are mailed, and
//! using them. A token's plaintext leaves here only inside an [`AccountMail`] for the events
//! queue; the table holds its digest. Tokens are 256 random bits (as refresh tokens), so a plain
//! SHA-256 is the right digest.

use time::OffsetDateTime;
use uuid::Uuid;

use super::Accounts;
use crate::auth::password::{blocking, hash_password, unix_ms};
use crate::auth::refresh::{new_refresh_token, refresh_token_digest};
use crate::domain::account_token::{PasswordReset, TOKEN_MAX_CHARS, TokenPurpose};
use crate::domain::quota::Window;
use crate::domain::user::{Caller, EMAIL_MAX_BYTES, PrivateProfile, Role, User, normalize_email};
use crate::error::{ApiError, ApiResult};
use crate::store::account_tokens::{AccountToken, Consumed};
use crate::store::throttle::Throttle;

/// Verification mails a user may ask for per hour (`POST /auth/verify/resend`).
pub const VERIFICATION_MAILS_PER_HOUR: u32 = 3;
/// Reset mails per hour for one email from one address; more are silently not sent.
pub const RESET_MAILS_PER_HOUR: u32 = 3;
/// The daily caps per email: mails to one inbox, whatever the hour or the asking address, so
/// nobody can use us to flood someone's inbox.
pub const VERIFICATION_MAILS_PER_DAY: u32 = 10;
pub const RESET_MAILS_PER_DAY: u32 = 10;
const HOUR_SECS: u64 = 3600;
const DAY_SECS: u64 = 86_400;

/// A mail to send through the events queue: whom, why, and the token's plaintext. `Debug`
/// leaves the token out, so logging the value never leaks it.
#[derive(Clone)]
pub struct AccountMail {
    pub purpose: TokenPurpose,
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub token: String,
    /// When the token stops working (unix seconds), for the mail's text.
    pub expires_at: i64,
}

impl std::fmt::Debug for AccountMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountMail")
            .field("purpose", &self.purpose)
            .field("user_id", &self.user_id)
            .field("token", &"<redacted>")
            .finish()
    }
}

fn token_refused() -> ApiError {
    ApiError::InvalidToken
}

/// The user of a decoy reset mail: the nil id, which no account has, and no address.
fn nobody(now: OffsetDateTime) -> User {
    let mut nobody = User::new(String::new(), String::new(), Role::Client, now);
    nobody.id = Uuid::nil();
    nobody
}

impl Accounts<'_> {
    /// A new token for `user`, stored hashed; the mail that carries its plaintext.
    pub async fn issue_token(
        &self,
        user: &User,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> ApiResult<AccountMail> {
        let token = new_refresh_token();
        let expires_at = now.unix_timestamp() + purpose.lifetime_secs();
        self.store
            .put_account_token(
                &refresh_token_digest(&token),
                &AccountToken {
                    user_id: user.id,
                    purpose,
                    expires_at,
                    issued_ms: Some(unix_ms(now)),
                },
            )
            .await?;
        Ok(AccountMail {
            purpose,
            user_id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            token,
            expires_at,
        })
    }

    /// The stored token a presented one stands for, if it is usable for `purpose` at `now`.
    async fn usable_token(
        &self,
        presented: &str,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> ApiResult<(String, AccountToken)> {
        if presented.is_empty() || presented.chars().count() > TOKEN_MAX_CHARS {
            return Err(token_refused());
        }
        let digest = refresh_token_digest(presented);
        let token = self
            .store
            .account_token(&digest)
            .await?
            .filter(|token| token.purpose == purpose && token.expires_at > now.unix_timestamp())
            .ok_or_else(token_refused)?;
        Ok((digest, token))
    }

    /// `POST /auth/verify/resend`: a new verification mail for the signed-in caller, at most
    /// [`VERIFICATION_MAILS_PER_HOUR`] an hour and [`VERIFICATION_MAILS_PER_DAY`] a day (429
    /// with `Retry-After` past either). Earlier tokens
    /// stay valid until they expire. Already verified: 409 `already-verified`.
    pub async fn resend_verification(
        &self,
        caller: Caller,
        now: OffsetDateTime,
    ) -> ApiResult<AccountMail> {
        let user = self
            .store
            .get_user(caller.id)
            .await?
            .ok_or(ApiError::Unauthorized("this account no longer exists"))?;
        if user.email_verified {
            return Err(ApiError::conflict(
                "already-verified",
                "your email address is verified already",
            ));
        }
        let now_unix = now.unix_timestamp();
        for (throttle, limit, window, per) in [
            (
                Throttle::VerificationMails(user.id),
                VERIFICATION_MAILS_PER_HOUR,
                Window::containing(now_unix, HOUR_SECS),
                "an hour",
            ),
            (
                Throttle::VerificationMailsPerDay(user.id),
                VERIFICATION_MAILS_PER_DAY,
                Window::containing(now_unix, DAY_SECS),
                "a day",
            ),
        ] {
            if !self.store.reserve_attempt(throttle, limit, window).await? {
                return Err(ApiError::TooManyRequests {
                    retry_after_secs: window.retry_after(now_unix),
                    detail: format!(
                        "at most {limit} verification mails {per}; check your inbox for the last one"
                    ),
                });
            }
        }
        self.issue_token(&user, TokenPurpose::EmailVerification, now)
            .await
    }

    /// `POST /auth/verify`: uses a verification token (once) and answers the verified profile.
    /// Unknown, expired, used or reset tokens: 400 `invalid-token`.
    pub async fn verify_email(
        &self,
        presented: &str,
        now: OffsetDateTime,
    ) -> ApiResult<PrivateProfile> {
        let (digest, token) = self
            .usable_token(presented, TokenPurpose::EmailVerification, now)
            .await?;
        match self
            .store
            .verify_email_with_token(&digest, token.user_id, now)
            .await?
        {
            Consumed::Done => {}
            Consumed::Refused => return Err(token_refused()),
        }
        let user = self
            .store
            .get_user(token.user_id)
            .await?
            .ok_or_else(token_refused)?;
        Ok(PrivateProfile::from(&user))
    }

    /// `POST /auth/password/forgot`: the reset mail for `email` if there is such an account (not
    /// blocked), at most [`RESET_MAILS_PER_HOUR`] an hour per email and source address and
    /// [`RESET_MAILS_PER_DAY`] a day per email from anywhere. The
    /// caller answers 202 whatever this returns, so nobody learns whether an account exists, and
    /// the work is the same either way (its timing would tell otherwise): with no account (or a
    /// blocked one) the same reads are made, and a decoy token is stored and its mail queued for
    /// the nil user, whom the notifier has no one to mail. A decoy token resets nothing: its
    /// plaintext only reaches the queue, and its user does not exist.
    pub async fn forgot_password(
        &self,
        email: &str,
        source_ip: &str,
        now: OffsetDateTime,
    ) -> ApiResult<Option<AccountMail>> {
        let email = normalize_email(email);
        if email.is_empty() || email.len() > EMAIL_MAX_BYTES {
            return Ok(None);
        }
        let window = Window::containing(now.unix_timestamp(), HOUR_SECS);
        if !self
            .store
            .reserve_attempt(
                Throttle::ResetMails {
                    email: &email,
                    source_ip,
                },
                RESET_MAILS_PER_HOUR,
                window,
            )
            .await?
        {
            return Ok(None);
        }
        let day = Window::containing(now.unix_timestamp(), DAY_SECS);
        if !self
            .store
            .reserve_attempt(Throttle::ResetMailsPerDay(&email), RESET_MAILS_PER_DAY, day)
            .await?
        {
            return Ok(None);
        }
        let user_id = self
            .store
            .credentials(&email)
            .await?
            .map_or(Uuid::nil(), |credentials| credentials.user_id);
        let user = self
            .store
            .get_user(user_id)
            .await?
            .filter(|user| !user.is_blocked())
            .unwrap_or_else(|| nobody(now));
        self.issue_token(&user, TokenPurpose::PasswordReset, now)
            .await
            .map(Some)
    }

    /// `POST /auth/password/reset`: uses a reset token (once) to set a new password (the
    /// registration rules), revokes every session of the account and marks its email verified,
    /// all in one transaction. The user signs in afresh. A token issued before the password
    /// last changed, by any route, is refused like a used one.
    pub async fn reset_password(&self, reset: PasswordReset, now: OffsetDateTime) -> ApiResult<()> {
        let (digest, token) = self
            .usable_token(&reset.token, TokenPurpose::PasswordReset, now)
            .await?;
        let user = self
            .store
            .get_user(token.user_id)
            .await?
            .ok_or_else(token_refused)?;
        // Issued before the password last changed (by a change or another reset): dead.
        let issued_ms = token.issued_ms.unwrap_or(0);
        if user
            .password_changed_ms
            .is_some_and(|changed| changed >= issued_ms)
        {
            return Err(token_refused());
        }
        reset.validate(&user.email)?;
        let password = reset.password;
        let new_hash = blocking(self.config, move || hash_password(&password)).await??;
        match self
            .store
            .reset_password_with_token(&digest, issued_ms, &user, &new_hash, unix_ms(now), now)
            .await?
        {
            Consumed::Done => Ok(()),
            Consumed::Refused => Err(token_refused()),
        }
    }
}

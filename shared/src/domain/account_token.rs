//! Single-use account tokens: the mailed proof of owning an address (email verification) or of
//! being allowed to set a new password (password reset). Only a token's digest is ever stored;
//! the plaintext exists in the mail and nowhere else.

use serde::{Deserialize, Serialize};

use super::user::check_password;
use super::validation::{Invalid, Violations};

/// What a token may be used for: a verification token can not reset a password, nor the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    EmailVerification,
    PasswordReset,
}

impl TokenPurpose {
    /// How long a token stays usable after it is issued.
    pub fn lifetime_secs(self) -> i64 {
        match self {
            Self::EmailVerification => 24 * 3600,
            Self::PasswordReset => 3600,
        }
    }
}

/// `POST /auth/verify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmail {
    pub token: String,
}

/// `POST /auth/password/forgot`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgotPassword {
    pub email: String,
}

/// `POST /auth/password/reset`: the mailed token and the new password.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub token: String,
    pub password: String,
}

impl PasswordReset {
    /// The new password follows registration's rules for the account's email.
    pub fn validate(&self, normalized_email: &str) -> Result<(), Invalid> {
        let mut violations = Violations::new();
        check_password(&mut violations, &self.password, normalized_email);
        violations.into_result()
    }
}

/// The longest token worth looking up: ours are 43 characters; anything much longer is not one
/// of ours and is refused before it reaches the store.
pub const TOKEN_MAX_CHARS: usize = 128;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_passwords_follow_registration_rules() {
        let reset = |password: &str| PasswordReset {
            token: "t".to_owned(),
            password: password.to_owned(),
        };
        assert!(reset("short").validate("ann@example.com").is_err());
        assert!(
            reset("ann@example.com")
                .validate("ann@example.com")
                .is_err()
        );
        assert!(
            reset("a long enough secret")
                .validate("ann@example.com")
                .is_ok()
        );
    }

    #[test]
    fn reset_tokens_live_an_hour_verification_tokens_a_day() {
        assert_eq!(TokenPurpose::PasswordReset.lifetime_secs(), 3600);
        assert_eq!(TokenPurpose::EmailVerification.lifetime_secs(), 86_400);
    }
}

//! `POST /auth/password/change`: the rules of a new password are those of registration.

use serde::Deserialize;

use super::user::check_password;
use super::validation::{Invalid, Violations};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

impl PasswordChange {
    /// Checks the new password against the password rules (for the account's `email`), and that
    /// it is a change at all.
    pub fn validate(&self, normalized_email: &str) -> Result<(), Invalid> {
        let mut rules = Violations::new();
        check_password(&mut rules, &self.new_password, normalized_email);
        let mut violations = Violations::new();
        if let Err(Invalid(errors)) = rules.into_result() {
            for error in errors {
                violations.check(false, "new_password", error.code, error.message);
            }
        }
        violations.check(
            self.new_password != self.current_password,
            "new_password",
            "unchanged",
            "must differ from the current password",
        );
        violations.check(
            !self.current_password.is_empty(),
            "current_password",
            "required",
            "is required",
        );
        violations.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(current: &str, new: &str) -> PasswordChange {
        PasswordChange {
            current_password: current.to_owned(),
            new_password: new.to_owned(),
        }
    }

    fn codes(result: Result<(), Invalid>) -> Vec<(String, &'static str)> {
        result
            .unwrap_err()
            .0
            .into_iter()
            .map(|error| (error.field, error.code))
            .collect()
    }

    #[test]
    fn the_new_password_follows_the_registration_rules_under_its_own_name() {
        assert!(
            change("old password 1", "a new long password")
                .validate("ann@example.com")
                .is_ok()
        );
        assert_eq!(
            codes(change("old password 1", "short").validate("ann@example.com")),
            [("new_password".to_owned(), "too_short")]
        );
        assert_eq!(
            codes(change("same password", "same password").validate("ann@example.com")),
            [("new_password".to_owned(), "unchanged")]
        );
    }
}

//! Password changes: the new hash and the revocation of the user's older sessions, together.

use time::OffsetDateTime;

use super::keys::{self, attr};
use super::transaction::TransactOutcome;
use super::{Store, n, rfc3339, s};
use crate::domain::user::User;
use crate::error::ApiError;

/// The items of a password change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PasswordChangeItem {
    Credentials,
    Profile,
}

impl Store {
    /// Replaces `current_hash` by `new_hash`, revokes every session of the user that started
    /// before `revoke_before_ms` and every reset token issued before it, in one transaction. The credentials update is conditioned on
    /// the hash the caller verified, so of two concurrent changes only one wins.
    pub async fn change_password(
        &self,
        user: &User,
        current_hash: &str,
        new_hash: &str,
        revoke_before_ms: i64,
        now: OffsetDateTime,
    ) -> Result<(), ApiError> {
        let mut transaction = self.transaction();
        transaction
            .update(
                PasswordChangeItem::Credentials,
                &keys::email_credentials(&user.email),
                |update| {
                    update
                        .update_expression("SET password_hash = :new")
                        .condition_expression("password_hash = :current AND user_id = :user_id")
                        .expression_attribute_values(":new", s(new_hash))
                        .expression_attribute_values(":current", s(current_hash))
                        .expression_attribute_values(":user_id", s(user.id.to_string()))
                },
            )?
            .update(
                PasswordChangeItem::Profile,
                &keys::user(user.id),
                |update| {
                    update
                        .update_expression(
                            "SET #revoked = :before, #password_changed = :before, updated_at = :now",
                        )
                        .condition_expression(format!("attribute_exists({})", attr::PK))
                        .expression_attribute_names("#revoked", attr::SESSIONS_REVOKED_BEFORE_MS)
                        .expression_attribute_names("#password_changed", attr::PASSWORD_CHANGED_MS)
                        .expression_attribute_values(":before", n(revoke_before_ms))
                        .expression_attribute_values(":now", rfc3339(now))
                },
            )?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionFailed(failed)
                if failed.includes(PasswordChangeItem::Credentials) =>
            {
                Err(ApiError::conflict(
                    "password-changed",
                    "the password was changed by another request; sign in again",
                ))
            }
            TransactOutcome::ConditionFailed(_) => Err(ApiError::NotFound("user")),
        }
    }
}

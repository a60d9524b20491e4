//! Single-use account tokens (email verification, password reset), stored under the digest of
//! the plaintext, and the transactions that consume them together with what they prove.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{self, attr, entity};
use super::transaction::{TransactOutcome, Transaction};
use super::{Store, key_attributes, missing_if_condition_failed, n, rfc3339, s, to_item};
use crate::domain::account_token::TokenPurpose;
use crate::domain::user::User;
use crate::error::ApiError;

/// What is stored under a token's digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountToken {
    pub user_id: Uuid,
    pub purpose: TokenPurpose,
    /// Unix seconds; also the table's TTL attribute.
    pub expires_at: i64,
    /// When it was issued, unix ms: a reset token issued before the password last changed is
    /// refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_ms: Option<i64>,
}

/// The items of a token's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenUse {
    Token,
    Credentials,
    Profile,
}

/// What using a token came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    Done,
    /// Used meanwhile by another request, expired, or the account is gone.
    Refused,
}

impl<N: Copy + std::fmt::Debug> Transaction<N> {
    /// Deletes the token only if it is still there, unexpired and for `purpose`: of two
    /// concurrent uses exactly one commits.
    fn consume_token(
        &mut self,
        name: N,
        token_digest: &str,
        purpose: TokenPurpose,
        now_unix: i64,
    ) -> Result<&mut Self, ApiError> {
        let purpose = super::attribute(&purpose)?;
        self.delete_if(name, &keys::account_token(token_digest), |delete| {
            delete
                .condition_expression(format!(
                    "attribute_exists({}) AND #purpose = :purpose AND #expires_at > :now",
                    attr::PK
                ))
                .expression_attribute_names("#purpose", attr::PURPOSE)
                .expression_attribute_names("#expires_at", attr::EXPIRES_AT)
                .expression_attribute_values(":purpose", purpose)
                .expression_attribute_values(":now", n(now_unix))
        })
    }
}

/// The user item's update that marks the email verified (`also_set` adds more `SET` clauses):
/// what every successful token use writes on the profile.
fn verified_profile(update: UpdateBuilder, also_set: &str, now: OffsetDateTime) -> UpdateBuilder {
    update
        .update_expression(format!(
            "SET #verified = :true, updated_at = :now{also_set}"
        ))
        .condition_expression(format!("attribute_exists({})", attr::PK))
        .expression_attribute_names("#verified", attr::EMAIL_VERIFIED)
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .expression_attribute_values(":now", rfc3339(now))
}

fn consumed(outcome: TransactOutcome<TokenUse>) -> Consumed {
    match outcome {
        TransactOutcome::Committed => Consumed::Done,
        TransactOutcome::ConditionFailed(_) => Consumed::Refused,
    }
}

impl Store {
    /// Stores a new token under its digest (the plaintext never reaches the table).
    pub async fn put_account_token(
        &self,
        token_digest: &str,
        token: &AccountToken,
    ) -> Result<(), ApiError> {
        let item = to_item(
            &keys::account_token(token_digest),
            entity::ACCOUNT_TOKEN,
            token,
        )?;
        let mut transaction = self.transaction();
        transaction.put_new(TokenUse::Token, item)?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionFailed(_) => Err(ApiError::internal(anyhow::anyhow!(
                "account token digest collision"
            ))),
        }
    }

    pub async fn account_token(
        &self,
        token_digest: &str,
    ) -> Result<Option<AccountToken>, ApiError> {
        self.get_as(&keys::account_token(token_digest)).await
    }

    /// Consumes a verification token and marks its user's email verified, in one transaction.
    pub async fn verify_email_with_token(
        &self,
        token_digest: &str,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Consumed, ApiError> {
        let mut transaction = self.transaction();
        transaction
            .consume_token(
                TokenUse::Token,
                token_digest,
                TokenPurpose::EmailVerification,
                now.unix_timestamp(),
            )?
            .update(TokenUse::Profile, &keys::user(user_id), |update| {
                verified_profile(update, "", now)
            })?;
        Ok(consumed(self.transact(transaction).await?))
    }

    /// Consumes a reset token, sets the new password hash, revokes every session that started
    /// before `revoke_before_ms` and marks the email verified (the mail reached its owner), in one
    /// transaction; only if the password has not changed since the token was issued
    /// (`token_issued_ms`), by any route.
    pub async fn reset_password_with_token(
        &self,
        token_digest: &str,
        token_issued_ms: i64,
        user: &User,
        new_hash: &str,
        revoke_before_ms: i64,
        now: OffsetDateTime,
    ) -> Result<Consumed, ApiError> {
        let mut transaction = self.transaction();
        transaction
            .consume_token(
                TokenUse::Token,
                token_digest,
                TokenPurpose::PasswordReset,
                now.unix_timestamp(),
            )?
            .update(
                TokenUse::Credentials,
                &keys::email_credentials(&user.email),
                |update| {
                    update
                        .update_expression("SET #hash = :hash")
                        .condition_expression("#user_id = :user_id")
                        .expression_attribute_names("#hash", attr::PASSWORD_HASH)
                        .expression_attribute_names("#user_id", attr::USER_ID)
                        .expression_attribute_values(":hash", s(new_hash))
                        .expression_attribute_values(":user_id", s(user.id.to_string()))
                },
            )?
            .update(TokenUse::Profile, &keys::user(user.id), |update| {
                verified_profile(
                    update,
                    ", #revoked = :before, #password_changed = :before",
                    now,
                )
                .condition_expression(format!(
                    "attribute_exists({}) AND (attribute_not_exists(#password_changed) OR #password_changed < :issued)",
                    attr::PK
                ))
                .expression_attribute_names("#revoked", attr::SESSIONS_REVOKED_BEFORE_MS)
                .expression_attribute_names("#password_changed", attr::PASSWORD_CHANGED_MS)
                .expression_attribute_values(":before", n(revoke_before_ms))
                .expression_attribute_values(":issued", n(token_issued_ms))
            })?;
        Ok(consumed(self.transact(transaction).await?))
    }

    /// Marks a user's email verified without a token: operators (`gigctl verify-email`) and
    /// test fixtures.
    pub async fn mark_email_verified(
        &self,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<(), ApiError> {
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::user(user_id))))
            .update_expression("SET #verified = :true, updated_at = :now")
            .condition_expression(format!("attribute_exists({})", attr::PK))
            .expression_attribute_names("#verified", attr::EMAIL_VERIFIED)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":now", rfc3339(now))
            .send()
            .await
            .map(|_| ())
            .map_err(missing_if_condition_failed("user"))
    }
}

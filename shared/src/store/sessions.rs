//! Refresh-token sessions (login throttling is `store::throttle`).
//!
//! A session is a *family* of refresh tokens: each refresh spends the presented token and issues
//! its successor. Presenting an already-spent token means it was copied, so the whole family is
//! revoked and both the thief and the user must log in again (OAuth 2.0 Security BCP, 4.14).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::{self, attr, entity};
use super::transaction::TransactOutcome;
use super::{Item, Store, condition_failed, done_if_condition_failed, key_attributes, n, to_item};
use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshToken {
    pub user_id: Uuid,
    pub family_id: Uuid,
    /// Unix seconds; also the TTL attribute, but TTL deletion is lazy so reads check it too.
    pub expires_at: i64,
    /// Set when the token has been exchanged for its successor. Never written as NULL: the
    /// conditions test `attribute_not_exists(used_at)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<i64>,
    /// When the session (the family) started, unix ms; each rotation copies it. Compared with
    /// the user's `sessions_revoked_before_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_started_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RefreshFamily {
    user_id: Uuid,
    expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_at: Option<i64>,
}

/// The items of a session's writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionItem {
    Family,
    NewToken,
    SpentToken,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    Rotated,
    /// The presented token was spent concurrently or before: treat as theft.
    AlreadyUsed,
    /// The family was revoked (logout or detected reuse).
    Revoked,
}

/// The two items a new session writes: its family and its first token.
pub(crate) fn session_items(
    token_digest: &str,
    token: &RefreshToken,
) -> Result<(Item, Item), ApiError> {
    let family = to_item(
        &keys::refresh_family(token.family_id),
        entity::REFRESH_FAMILY,
        &RefreshFamily {
            user_id: token.user_id,
            expires_at: token.expires_at,
            revoked_at: None,
        },
    )?;
    let token = to_item(
        &keys::refresh_token(token_digest),
        entity::REFRESH_TOKEN,
        token,
    )?;
    Ok((family, token))
}

impl Store {
    /// Starts a new refresh family with its first token.
    pub async fn start_session(
        &self,
        token_digest: &str,
        token: &RefreshToken,
    ) -> Result<(), ApiError> {
        let (family, token) = session_items(token_digest, token)?;
        let mut transaction = self.transaction();
        transaction
            .put_new(SessionItem::Family, family)?
            .put_new(SessionItem::NewToken, token)?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "session id collision: {failed:?}"
            ))),
        }
    }

    pub async fn refresh_token(
        &self,
        token_digest: &str,
    ) -> Result<Option<RefreshToken>, ApiError> {
        self.get_as(&keys::refresh_token(token_digest)).await
    }

    /// Spends `old` and stores `new` in one transaction, only if `old` is unspent and its family
    /// is not revoked. Also extends the family's TTL to the new token's expiry.
    pub async fn rotate_refresh_token(
        &self,
        old_digest: &str,
        new_digest: &str,
        new: &RefreshToken,
        now: i64,
    ) -> Result<Rotation, ApiError> {
        let exists = format!("attribute_exists({})", attr::PK);
        let mut transaction = self.transaction();
        transaction
            .update(
                SessionItem::SpentToken,
                &keys::refresh_token(old_digest),
                |update| {
                    update
                        .update_expression("SET used_at = :now")
                        .condition_expression(format!("{exists} AND attribute_not_exists(used_at)"))
                        .expression_attribute_values(":now", n(now))
                },
            )?
            .update(
                SessionItem::Family,
                &keys::refresh_family(new.family_id),
                |update| {
                    update
                        .update_expression("SET expires_at = :expires_at")
                        .condition_expression(format!(
                            "{exists} AND attribute_not_exists(revoked_at)"
                        ))
                        .expression_attribute_values(":expires_at", n(new.expires_at))
                },
            )?
            .put_new(
                SessionItem::NewToken,
                to_item(&keys::refresh_token(new_digest), entity::REFRESH_TOKEN, new)?,
            )?;
        Ok(match self.transact(transaction).await? {
            TransactOutcome::Committed => Rotation::Rotated,
            TransactOutcome::ConditionFailed(failed) if failed.includes(SessionItem::Family) => {
                Rotation::Revoked
            }
            TransactOutcome::ConditionFailed(_) => Rotation::AlreadyUsed,
        })
    }

    /// Revokes every token of a family. Idempotent.
    pub async fn revoke_session(&self, family_id: Uuid, now: i64) -> Result<(), ApiError> {
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::refresh_family(family_id))))
            .update_expression("SET revoked_at = if_not_exists(revoked_at, :now)")
            .condition_expression(format!("attribute_exists({})", attr::PK))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map(|_| ())
            .or_else(done_if_condition_failed("UpdateItem"))
    }

    pub async fn is_session_revoked(&self, family_id: Uuid) -> Result<bool, ApiError> {
        let family: Option<RefreshFamily> = self.get_as(&keys::refresh_family(family_id)).await?;
        Ok(family.is_none_or(|family| family.revoked_at.is_some()))
    }
}

impl Store {
    /// Ends every session of `user_id` that started before `before_ms` (unix ms): their refresh
    /// tokens are refused at the next refresh, their access tokens' writes at once
    /// (`store::acting`). Never moves the instant back. A missing user is nothing to do.
    pub async fn revoke_sessions_before(
        &self,
        user_id: Uuid,
        before_ms: i64,
    ) -> Result<(), ApiError> {
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::user(user_id))))
            .update_expression("SET #revoked = :before")
            .condition_expression(format!(
                "attribute_exists({}) AND (attribute_not_exists(#revoked) OR #revoked < :before)",
                attr::PK
            ))
            .expression_attribute_names("#revoked", attr::SESSIONS_REVOKED_BEFORE_MS)
            .expression_attribute_values(":before", n(before_ms))
            .send()
            .await
            .map(|_| ())
            .or_else(done_if_condition_failed("UpdateItem"))
    }

    /// Adds `session_id` to the user's ended sessions until `until` (unix seconds, when its last
    /// access token expires), and prunes entries whose tokens have all expired by `now`, so the
    /// map holds only the sessions logged out within one access-token lifetime.
    pub async fn end_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        until: i64,
        now: i64,
    ) -> Result<(), ApiError> {
        let Some(user) = self.get_user(user_id).await? else {
            return Ok(());
        };
        let expired: Vec<Uuid> = user
            .ended_sessions
            .iter()
            .filter(|(id, until)| **until <= now && **id != session_id)
            .map(|(id, _)| *id)
            .collect();
        // The map may not exist yet (and a document path into a missing map is an error): set
        // the entry where it does, create the map where it does not; a race between the two
        // goes round once more.
        for _ in 0..3 {
            let mut update = self
                .client()
                .update_item()
                .table_name(self.table())
                .set_key(Some(key_attributes(&keys::user(user_id))))
                .expression_attribute_names("#ended", attr::ENDED_SESSIONS);
            let mut expression = "SET #ended.#session = :until".to_owned();
            if !expired.is_empty() {
                let paths: Vec<String> = (0..expired.len())
                    .map(|i| format!("#ended.#expired{i}"))
                    .collect();
                expression.push_str(&format!(" REMOVE {}", paths.join(", ")));
                for (i, id) in expired.iter().enumerate() {
                    update =
                        update.expression_attribute_names(format!("#expired{i}"), id.to_string());
                }
            }
            let result = update
                .update_expression(expression)
                .condition_expression(format!(
                    "attribute_exists({}) AND attribute_exists(#ended)",
                    attr::PK
                ))
                .expression_attribute_names("#session", session_id.to_string())
                .expression_attribute_values(":until", n(until))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(error) if !condition_failed(&error) => {
                    return Err(super::sdk_error("UpdateItem")(error));
                }
                Err(_) => {}
            }
            let created = self
                .client()
                .update_item()
                .table_name(self.table())
                .set_key(Some(key_attributes(&keys::user(user_id))))
                .update_expression("SET #ended = :ended")
                .condition_expression(format!(
                    "attribute_exists({}) AND attribute_not_exists(#ended)",
                    attr::PK
                ))
                .expression_attribute_names("#ended", attr::ENDED_SESSIONS)
                .expression_attribute_values(
                    ":ended",
                    AttributeValue::M(HashMap::from([(session_id.to_string(), n(until))])),
                )
                .send()
                .await;
            match result_of(created) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(error) => return Err(error),
            }
        }
        // The user item is gone, or the map keeps changing under us: the refresh family is
        // revoked already, which is what matters most.
        Ok(())
    }
}

/// `Ok(true)` when a conditional update was applied, `Ok(false)` when its condition failed.
fn result_of<R>(
    result: Result<
        R,
        aws_sdk_dynamodb::error::SdkError<
            UpdateItemError,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    >,
) -> Result<bool, ApiError> {
    match result {
        Ok(_) => Ok(true),
        Err(error) if condition_failed(&error) => Ok(false),
        Err(error) => Err(super::sdk_error("UpdateItem")(error)),
    }
}

//! Writes on behalf of a signed-in user refuse a blocked one, in the write itself: a store made
//! with [`Store::acting_as`] adds "this user exists and is not blocked" to EVERY transaction it
//! runs (merged into the transaction's own item on the user's profile when it has one, since a
//! transaction may touch an item only once; else a ConditionCheck of its own). A failed check is
//! 403 `account-blocked`, whatever the write was. So a block is effective at once even against
//! an access token that is still valid: no cached flag, no token lookup.
//!
//! For a caller with a session (an access token), the same condition also requires that session
//! to be live: started no earlier than the user's `sessions_revoked_before_ms` (a password change
//! or reset, "log out everywhere", a block) and not in the user's `ended_sessions` (a logout of
//! that session). A failed session check is 401: the token's session is over, sign in again.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};
use uuid::Uuid;

use super::keys::{self, attr};
use super::{Item, Store, attribute, key_attributes, n};
use crate::domain::user::{Caller, SessionRef, User, UserStatus};
use crate::error::ApiError;

const STATUS_NAME: &str = "#acting_status";
const BLOCKED_VALUE: &str = ":acting_blocked";
const REVOKED_NAME: &str = "#acting_revoked";
const ENDED_NAME: &str = "#acting_ended";
const SESSION_NAME: &str = "#acting_session";
const STARTED_VALUE: &str = ":acting_started";

/// Who a store writes for: the user, and the session their access token belongs to (none for
/// writes that no access token asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acting {
    pub user_id: Uuid,
    pub session: Option<SessionRef>,
}

impl From<Caller> for Acting {
    fn from(caller: Caller) -> Self {
        Self {
            user_id: caller.id,
            session: caller.session,
        }
    }
}

impl From<Uuid> for Acting {
    fn from(user_id: Uuid) -> Self {
        Self {
            user_id,
            session: None,
        }
    }
}

/// Why an acting user's write is refused, from their user item as it is now.
pub(crate) fn refusal(user: Option<&User>, acting: Acting) -> Option<ApiError> {
    let Some(user) = user else {
        return Some(ApiError::Unauthorized("this account no longer exists"));
    };
    if user.is_blocked() {
        return Some(ApiError::AccountBlocked);
    }
    let session = acting.session?;
    (user.revoked_session(Some(session.started_ms))
        || user.ended_sessions.contains_key(&session.id))
    .then_some(ApiError::Unauthorized(
        "this session has ended; sign in again",
    ))
}

/// The acting user's condition on their user item, with its names and values.
pub(crate) struct ActingCondition {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: Item,
}

pub(crate) fn acting_condition(acting: Acting) -> Result<ActingCondition, ApiError> {
    let mut expression = format!(
        "attribute_exists({}) AND (attribute_not_exists({STATUS_NAME}) OR {STATUS_NAME} <> {BLOCKED_VALUE})",
        attr::PK
    );
    let mut names = HashMap::from([(STATUS_NAME.to_owned(), attr::STATUS.to_owned())]);
    let mut values = HashMap::from([(BLOCKED_VALUE.to_owned(), attribute(&UserStatus::Blocked)?)]);
    if let Some(session) = acting.session {
        expression.push_str(&format!(
            " AND (attribute_not_exists({REVOKED_NAME}) OR {REVOKED_NAME} <= {STARTED_VALUE}) \
             AND attribute_not_exists({ENDED_NAME}.{SESSION_NAME})"
        ));
        names.insert(
            REVOKED_NAME.to_owned(),
            attr::SESSIONS_REVOKED_BEFORE_MS.to_owned(),
        );
        names.insert(ENDED_NAME.to_owned(), attr::ENDED_SESSIONS.to_owned());
        names.insert(SESSION_NAME.to_owned(), session.id.to_string());
        values.insert(STARTED_VALUE.to_owned(), n(session.started_ms));
    }
    Ok(ActingCondition {
        expression,
        names,
        values,
    })
}

/// Where the acting user's check went in a transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActingCheck {
    pub acting: Acting,
    pub index: usize,
}

impl Store {
    /// This store, writing for `who` (a [`Caller`], or a bare user id): each of its
    /// transactions also requires that user to exist and not be blocked (403
    /// `account-blocked` otherwise) and, for a caller's session, that session to be live (401).
    /// Write use cases call it first with their caller.
    pub fn acting_as(&self, who: impl Into<Acting>) -> Store {
        let mut store = self.clone();
        store.acting = Some(who.into());
        store
    }

    /// The refusal the acting user's check stands for, when it failed: read back, as the check
    /// may be merged with the item's own conditions, and blocked, ended and missing read alike
    /// from the condition alone.
    pub(crate) async fn acting_refusal(
        &self,
        check: ActingCheck,
    ) -> Result<Option<ApiError>, ApiError> {
        let user = self.get_user(check.acting.user_id).await?;
        Ok(refusal(user.as_ref(), check.acting))
    }
}

/// The key of a transaction item (a put's item holds its key).
fn key_of(item: &TransactWriteItem) -> Option<&Item> {
    if let Some(update) = &item.update {
        return Some(&update.key);
    }
    if let Some(check) = &item.condition_check {
        return Some(&check.key);
    }
    if let Some(delete) = &item.delete {
        return Some(&delete.key);
    }
    item.put.as_ref().map(|put| &put.item)
}

/// Adds the acting user's condition to `items` (see the module docs).
pub(crate) fn add_acting_check(
    items: &mut Vec<TransactWriteItem>,
    table: &str,
    acting: Acting,
) -> Result<ActingCheck, ApiError> {
    let profile = key_attributes(&keys::user(acting.user_id));
    let ActingCondition {
        expression: condition,
        names: acting_names,
        values: acting_values,
    } = acting_condition(acting)?;
    let same_key = |key: &Item| {
        key.get(attr::PK) == profile.get(attr::PK) && key.get(attr::SK) == profile.get(attr::SK)
    };
    let existing = items
        .iter()
        .position(|item| key_of(item).is_some_and(same_key));
    let Some(index) = existing else {
        let check = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(profile))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(acting_names))
            .set_expression_attribute_values(Some(acting_values))
            .build()
            .map_err(ApiError::internal)?;
        items.push(TransactWriteItem::builder().condition_check(check).build());
        return Ok(ActingCheck {
            acting,
            index: items.len() - 1,
        });
    };
    let both = |own: Option<&str>| match own {
        Some(own) if !own.is_empty() => format!("({own}) AND ({condition})"),
        _ => condition.clone(),
    };
    let add = |names: &mut Option<HashMap<String, String>>, values: &mut Option<Item>| {
        names
            .get_or_insert_with(Default::default)
            .extend(acting_names.clone());
        values
            .get_or_insert_with(Default::default)
            .extend(acting_values.clone());
    };
    let item = &mut items[index];
    if let Some(update) = item.update.as_mut() {
        update.condition_expression = Some(both(update.condition_expression.as_deref()));
        add(
            &mut update.expression_attribute_names,
            &mut update.expression_attribute_values,
        );
    } else if let Some(check) = item.condition_check.as_mut() {
        check.condition_expression = both(Some(&check.condition_expression));
        add(
            &mut check.expression_attribute_names,
            &mut check.expression_attribute_values,
        );
    } else if let Some(delete) = item.delete.as_mut() {
        delete.condition_expression = Some(both(delete.condition_expression.as_deref()));
        add(
            &mut delete.expression_attribute_names,
            &mut delete.expression_attribute_values,
        );
    } else if let Some(put) = item.put.as_mut() {
        put.condition_expression = Some(both(put.condition_expression.as_deref()));
        add(
            &mut put.expression_attribute_names,
            &mut put.expression_attribute_values,
        );
    }
    Ok(ActingCheck { acting, index })
}

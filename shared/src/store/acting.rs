//! Writes on behalf of a signed-in user refuse a blocked one, in the write itself: a store made
//! with [`Store::acting_as`] adds "this user exists and is not blocked" to EVERY transaction it
//! runs (merged into the transaction's own item on the user's profile when it has one, since a
//! transaction may touch an item only once; else a ConditionCheck of its own). A failed check is
//! 403 `account-blocked`, whatever the write was. So a block is effective at once even against
//! an access token that is still valid: no cached flag, no token lookup.

use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};
use uuid::Uuid;

use super::keys::{self, attr};
use super::{Item, Store, attribute, key_attributes};
use crate::domain::user::UserStatus;
use crate::error::ApiError;

const STATUS_NAME: &str = "#acting_status";
const BLOCKED_VALUE: &str = ":acting_blocked";

/// Where the acting user's check went in a transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActingCheck {
    pub user_id: Uuid,
    pub index: usize,
    /// Merged into an item with conditions of its own: its failure may be theirs.
    pub merged: bool,
}

impl Store {
    /// This store, writing for `user_id`: each of its transactions also requires that user to
    /// exist and not be blocked (403 `account-blocked` otherwise). Write use cases call it
    /// first with their caller.
    pub fn acting_as(&self, user_id: Uuid) -> Store {
        let mut store = self.clone();
        store.acting_user = Some(user_id);
        store
    }

    /// Whether the acting user's check is what failed (`index` failed): certain for a check of
    /// its own, read back for a merged one.
    pub(crate) async fn acting_user_blocked(&self, check: ActingCheck) -> Result<bool, ApiError> {
        if !check.merged {
            return Ok(true);
        }
        Ok(self
            .get_user(check.user_id)
            .await?
            .is_none_or(|user| user.is_blocked()))
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

/// Adds the acting user's not-blocked condition to `items` (see the module docs).
pub(crate) fn add_acting_check(
    items: &mut Vec<TransactWriteItem>,
    table: &str,
    user_id: Uuid,
) -> Result<ActingCheck, ApiError> {
    let profile = key_attributes(&keys::user(user_id));
    let condition = format!(
        "attribute_exists({}) AND (attribute_not_exists({STATUS_NAME}) OR {STATUS_NAME} <> {BLOCKED_VALUE})",
        attr::PK
    );
    let blocked = attribute(&UserStatus::Blocked)?;
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
            .expression_attribute_names(STATUS_NAME, attr::STATUS)
            .expression_attribute_values(BLOCKED_VALUE, blocked)
            .build()
            .map_err(ApiError::internal)?;
        items.push(TransactWriteItem::builder().condition_check(check).build());
        return Ok(ActingCheck {
            user_id,
            index: items.len() - 1,
            merged: false,
        });
    };
    let both = |own: Option<&str>| match own {
        Some(own) if !own.is_empty() => format!("({own}) AND ({condition})"),
        _ => condition.clone(),
    };
    let add = |names: &mut Option<std::collections::HashMap<String, String>>,
               values: &mut Option<Item>| {
        names
            .get_or_insert_with(Default::default)
            .insert(STATUS_NAME.to_owned(), attr::STATUS.to_owned());
        values
            .get_or_insert_with(Default::default)
            .insert(BLOCKED_VALUE.to_owned(), blocked.clone());
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
    Ok(ActingCheck {
        user_id,
        index,
        merged: true,
    })
}

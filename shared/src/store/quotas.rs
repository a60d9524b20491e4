//! Action quotas (`domain::quota`; layout: `keys`, "action quota"): a counter `ADD`ed in the
//! transaction of the action it limits, conditioned on staying under the limit, so the action and
//! its count land together or not at all.

use super::keys::{self, attr, entity};
use super::transaction::Transaction;
use super::{Store, n, s};
use crate::domain::quota::Quota;
use crate::error::ApiError;

fn quota_key(quota: &Quota) -> keys::Key {
    keys::quota(quota.kind.name(), quota.user_id, quota.window.start)
}

impl<N: Copy + std::fmt::Debug> Transaction<N> {
    /// Counts one action against `quota`; the item's condition fails (named `name`) when the
    /// window already holds `quota.limit`.
    pub(crate) fn within_quota(&mut self, name: N, quota: &Quota) -> Result<&mut Self, ApiError> {
        self.update(name, &quota_key(quota), |update| {
            update
                .update_expression("SET #entity = :entity, #expires = :expires ADD #count :one")
                .condition_expression("attribute_not_exists(#count) OR #count < :limit")
                .expression_attribute_names("#entity", attr::ENTITY)
                .expression_attribute_names("#expires", attr::EXPIRES_AT)
                .expression_attribute_names("#count", attr::COUNT)
                .expression_attribute_values(":entity", s(entity::QUOTA_WINDOW))
                .expression_attribute_values(":expires", n(quota.expires_at()))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":limit", n(quota.limit))
        })
    }
}

impl Store {
    /// Actions counted against `quota` in its window so far: a cheap early refusal before
    /// costlier work (a Stripe call); the transaction's condition is what holds the limit.
    pub async fn quota_used(&self, quota: &Quota) -> Result<u32, ApiError> {
        #[derive(serde::Deserialize)]
        struct Counted {
            count: u32,
        }
        let counted: Option<Counted> = self.get_as(&quota_key(quota)).await?;
        Ok(counted.map_or(0, |counted| counted.count))
    }
}

//! The one write path of a gig: the gig item, its listing entries and the owner check in one
//! transaction, conditioned on what was read (see the parent module).

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;

use super::admin::{Decided, queue_update};
use super::items::{gig_item, listing_entries};
use super::{GigWrite, StoredGig, internal};
use crate::domain::gig::{Gig, GigStatus};
use crate::domain::metrics::MetricsDelta;
use crate::domain::quota::Quota;
use crate::error::ApiError;
use crate::store::keys::{self, Key, attr};
use crate::store::transaction::{TransactOutcome, Transaction};
use crate::store::users::UserCondition;
use crate::store::{Item, Store, attribute, n, rfc3339, s};

/// The items of a gig write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GigItem {
    Gig,
    OwnerCheck,
    Entry,
    Metrics,
    Audit,
    Quota,
}

impl Store {
    /// Creates the gig when `before` is None, else replaces `before` (as read) with `after`.
    /// `decided`: an admin's decision, stamped on the gig with its audit entry in the same
    /// transaction. `quota`: what the write counts against (a creation by its owner).
    pub(super) async fn write_gig(
        &self,
        before: Option<&StoredGig>,
        after: &Gig,
        rejection_reason: Option<&str>,
        decided: Option<Decided<'_>>,
        quota: Option<&Quota>,
    ) -> Result<GigWrite, ApiError> {
        // Whether the owner is blocked matters only for an active gig; the check item pins what
        // we read, so a concurrent block or unblock makes this write stale instead of wrong.
        // Gigs of users that do not exist (imported ones) count as not blocked.
        let owner = if after.status == GigStatus::Active {
            Some(UserCondition::as_read(
                self.get_user(after.freelancer_id).await?.as_ref(),
            ))
        } else {
            None
        };
        let listed = owner.is_some_and(|owner| owner != UserCondition::Blocked);
        let old_entries: Vec<Key> = match before {
            Some(before) if before.listed => listing_entries(&before.gig)?
                .into_iter()
                .map(|(key, _)| key)
                .collect(),
            _ => Vec::new(),
        };
        let new_entries = if listed {
            listing_entries(after)?
        } else {
            Vec::new()
        };

        let mut transaction = self.transaction();
        match before {
            None => {
                transaction.put_new(GigItem::Gig, gig_item(after, listed)?)?;
            }
            Some(before) => {
                update_gig(
                    &mut transaction,
                    before,
                    after,
                    listed,
                    rejection_reason,
                    decided,
                )?;
            }
        }
        if let Some(decided) = decided {
            transaction.audit(GigItem::Audit, decided.audit)?;
        }
        if let Some(owner) = owner {
            transaction.check_user(GigItem::OwnerCheck, after.freelancer_id, owner)?;
        }
        let new_keys: HashSet<&Key> = new_entries.iter().map(|(key, _)| key).collect();
        for key in old_entries.iter().filter(|key| !new_keys.contains(key)) {
            transaction.delete(GigItem::Entry, key)?;
        }
        for (_, item) in new_entries {
            transaction.put(GigItem::Entry, item, |put| put)?;
        }
        let moved = match before {
            None => MetricsDelta::gig_created(after.status),
            Some(before) => MetricsDelta::gig_moved(before.gig.status, after.status),
        };
        transaction.count(GigItem::Metrics, &moved, after.id)?;
        if let Some(quota) = quota {
            transaction.within_quota(GigItem::Quota, quota)?;
        }
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(GigWrite::Saved { listed }),
            TransactOutcome::ConditionFailed(failed) if failed.includes(GigItem::Quota) => {
                Ok(GigWrite::QuotaReached)
            }
            TransactOutcome::ConditionFailed(failed)
                if before.is_none() && failed.includes(GigItem::Gig) =>
            {
                Err(internal("gig id collision"))
            }
            TransactOutcome::ConditionFailed(_) => Ok(GigWrite::Stale),
        }
    }
}

/// Sets the content and status attributes by name, so the counters the orders and reviews
/// transactions maintain on the same item are never overwritten.
fn update_gig(
    transaction: &mut Transaction<GigItem>,
    before: &StoredGig,
    after: &Gig,
    listed: bool,
    rejection_reason: Option<&str>,
    decided: Option<Decided<'_>>,
) -> Result<(), ApiError> {
    let mut set = vec![
        "title = :title",
        "description = :description",
        "category = :category",
        "tags = :tags",
        "packages = :packages",
        "#status = :status",
        "#version = :version",
        "updated_at = :updated_at",
        "#listed = :listed",
    ];
    let mut remove = Vec::new();
    let mut values: Item = HashMap::from([
        (":title".into(), s(&after.title)),
        (":description".into(), s(&after.description)),
        (":category".into(), s(&after.category)),
        (":tags".into(), attribute(&after.tags)?),
        (":packages".into(), attribute(&after.packages)?),
        (":status".into(), s(after.status.as_str())),
        (":version".into(), n(after.version)),
        (":updated_at".into(), rfc3339(after.updated_at)),
        (":listed".into(), AttributeValue::Bool(listed)),
        (":old_version".into(), n(before.gig.version)),
        (":old_status".into(), s(before.gig.status.as_str())),
    ]);
    match &after.subcategory {
        Some(sub) => {
            set.push("subcategory = :subcategory");
            values.insert(":subcategory".into(), s(sub));
        }
        None => remove.push("subcategory"),
    }
    match rejection_reason {
        Some(reason) => {
            set.push("#rejection_reason = :reason");
            values.insert(":reason".into(), s(reason));
        }
        None => remove.push("#rejection_reason"),
    }
    let mut condition = "#version = :old_version AND #status = :old_status".to_owned();
    if before.listed {
        condition.push_str(" AND #listed = :true");
        values.insert(":true".into(), AttributeValue::Bool(true));
    } else {
        condition.push_str(" AND (attribute_not_exists(#listed) OR #listed = :false)");
        values.insert(":false".into(), AttributeValue::Bool(false));
    }
    // The entries' rating sort keys come from the rating as read, so a
    // review counted since makes this write stale (re-read), never an older rating's entries.
    if before.gig.rating_count == 0 {
        condition.push_str(
            " AND (attribute_not_exists(#rating_count) OR #rating_count = :old_rating_count)",
        );
    } else {
        condition.push_str(" AND #rating_count = :old_rating_count");
    }
    values.insert(":old_rating_count".into(), n(before.gig.rating_count));
    let mut names = HashMap::new();
    let queue = queue_update(&before.gig, after, decided)?;
    set.extend(queue.set.iter().map(String::as_str));
    remove.extend(queue.remove.iter().map(String::as_str));
    values.extend(queue.values);
    names.extend(queue.names);
    let mut expression = format!("SET {}", set.join(", "));
    if !remove.is_empty() {
        expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    names.extend([
        ("#status".to_owned(), attr::STATUS.to_owned()),
        ("#version".to_owned(), attr::VERSION.to_owned()),
        ("#listed".to_owned(), attr::LISTED.to_owned()),
        (
            "#rejection_reason".to_owned(),
            attr::REJECTION_REASON.to_owned(),
        ),
    ]);
    names.insert("#rating_count".into(), attr::RATING_COUNT.into());
    transaction.update(GigItem::Gig, &keys::gig(before.gig.id), |update| {
        update
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
    })?;
    Ok(())
}

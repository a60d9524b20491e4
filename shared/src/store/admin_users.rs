//! Admin writes and reads on users: the audited block/unblock transaction, the resumable
//! re-listing of a user's gigs after it, and the counts an admin sees on a user.

use aws_sdk_dynamodb::types::Select;
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{self, Index, attr, index};
use super::paged::Listing;
use super::transaction::{TransactOutcome, Transaction};
use super::{
    Store, attribute, done_if_condition_failed, from_item, key_attributes, n, s, sdk_error,
};
use crate::domain::audit::AuditEntry;
use crate::domain::metrics::MetricsDelta;
use crate::domain::user::{Role, User, UserStatus};
use crate::error::ApiError;

/// The items of a status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusChange {
    User,
    Audit,
    Metrics,
}

/// What an admin sees counted on a user (Queries with `Select=COUNT` on the existing
/// partitions: no counter to keep, and these are rare reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct UserCounts {
    pub gigs: u64,
    pub orders_as_client: u64,
    pub orders_as_freelancer: u64,
}

impl Store {
    /// Sets the user's status, audited, in ONE transaction that also marks their gigs' listing
    /// as pending (`gigs_reindex_pending` and the sparse due list, see `keys.rs` "Admin") and,
    /// when blocking, revokes every session they have (`sessions_revoked_before_ms`). Admins are
    /// never blocked (the condition holds it even against a stale read). Does NOT re-list the
    /// gigs: [`Store::finish_gig_reindex`] does, and it can be resumed after a crash.
    ///
    /// Returns the mark to clear when the re-listing is done.
    pub async fn commit_user_status(
        &self,
        user_id: Uuid,
        status: UserStatus,
        audit: &AuditEntry,
        now: OffsetDateTime,
    ) -> Result<String, ApiError> {
        // The users-by-role-and-status counters move from the status as read, so the
        // update is conditioned on that status too.
        let was = self
            .get_user(user_id)
            .await?
            .ok_or(ApiError::NotFound("user"))?;
        let moved = MetricsDelta::user_status_changed(was.role, was.status, status);
        let was_status = attribute(&was.status)?;
        let now_ms = now.unix_timestamp_nanos() / 1_000_000;
        let mark = keys::gig_reindex_due_sort(now_ms, user_id);
        let due = index::GIG_REINDEX_DUE;
        let mut set = vec![
            "#status = :status".to_owned(),
            "updated_at = :now".to_owned(),
            format!("{} = :pending", attr::GIGS_REINDEX_PENDING),
            format!("{} = :due", due.pk()),
            format!("{} = :mark", due.sk()),
            // The admin user list by status follows the status.
            format!("{} = :list", index::USERS_BY_EMAIL.pk()),
            format!("{} = :list", index::USERS_BY_NAME.pk()),
        ];
        let list_partition = super::oversight::user_list_partition(was.role, status, user_id);
        if status == UserStatus::Blocked {
            set.push(format!("{} = :revoked", attr::SESSIONS_REVOKED_BEFORE_MS));
        }
        let status_value = attribute(&status)?;
        let admin = attribute(&Role::Admin)?;
        let now_value = super::rfc3339(now);
        let mut transaction: Transaction<StatusChange> = self.transaction();
        transaction
            .update(StatusChange::User, &keys::user(user_id), |update| {
                let update = update
                    .update_expression(format!("SET {}", set.join(", ")))
                    .condition_expression(format!(
                        "attribute_exists({}) AND #role <> :admin AND #status = :was_status",
                        attr::PK
                    ))
                    .expression_attribute_values(":was_status", was_status)
                    .expression_attribute_names("#status", attr::STATUS)
                    .expression_attribute_names("#role", attr::ROLE)
                    .expression_attribute_values(":status", status_value)
                    .expression_attribute_values(":admin", admin)
                    .expression_attribute_values(":now", now_value)
                    .expression_attribute_values(
                        ":pending",
                        aws_sdk_dynamodb::types::AttributeValue::Bool(true),
                    )
                    .expression_attribute_values(":due", s(keys::gig_reindex_due_partition()))
                    .expression_attribute_values(":list", s(&list_partition))
                    .expression_attribute_values(":mark", s(&mark));
                if status == UserStatus::Blocked {
                    update.expression_attribute_values(":revoked", n(now_ms))
                } else {
                    update
                }
            })?
            .audit(StatusChange::Audit, audit)?
            .count(StatusChange::Metrics, &moved, user_id)?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(mark),
            TransactOutcome::ConditionFailed(failed) if failed.includes(StatusChange::User) => {
                Err(ApiError::conflict(
                    "user-changed",
                    "the account changed while its status was being set; try again",
                ))
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "user status change refused: {failed:?}"
            ))),
        }
    }

    /// Re-lists or unlists the user's gigs from their current status, then clears the pending
    /// mark `mark` (only that one: a newer status change leaves its own mark for its own run).
    pub async fn finish_gig_reindex(&self, user_id: Uuid, mark: &str) -> Result<(), ApiError> {
        self.reindex_owner_gigs(user_id).await?;
        let due = index::GIG_REINDEX_DUE;
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::user(user_id))))
            .update_expression(format!(
                "REMOVE {}, {}, {}",
                attr::GIGS_REINDEX_PENDING,
                due.pk(),
                due.sk()
            ))
            .condition_expression("#mark = :mark")
            .expression_attribute_names("#mark", due.sk())
            .expression_attribute_values(":mark", s(mark))
            .send()
            .await
            .map(|_| ())
            .or_else(done_if_condition_failed("UpdateItem"))
    }

    /// Finishes every re-listing a crash left pending (oldest first); returns how many.
    pub async fn resume_gig_reindexes(&self) -> Result<usize, ApiError> {
        let due = index::GIG_REINDEX_DUE;
        let listing = Listing::on(due, keys::gig_reindex_due_partition());
        let items = self.read_all(&listing, 1_000).await?;
        let mut resumed = 0;
        for item in items {
            let mark = match item.get(due.sk()) {
                Some(aws_sdk_dynamodb::types::AttributeValue::S(mark)) => mark.clone(),
                _ => continue,
            };
            let user: User = from_item(item)?;
            self.finish_gig_reindex(user.id, &mark).await?;
            resumed += 1;
        }
        Ok(resumed)
    }

    /// Whether the user's gigs still wait for their re-listing.
    pub async fn gig_reindex_pending(&self, user_id: Uuid) -> Result<bool, ApiError> {
        Ok(self
            .get(&keys::user(user_id))
            .await?
            .and_then(|item| item.get(attr::GIGS_REINDEX_PENDING).cloned())
            .is_some())
    }

    /// The user's gigs (every status) and orders on each side, counted by the index.
    pub async fn user_counts(&self, user_id: Uuid) -> Result<UserCounts, ApiError> {
        let (gigs, orders_as_client, orders_as_freelancer) = tokio::try_join!(
            self.count(index::GIG_OWNER, keys::gig_owner_partition(user_id), None),
            self.count(
                index::ORDERS_OF_CLIENT,
                keys::orders_of_client(user_id),
                Some(keys::ORDER_LISTING_PREFIX)
            ),
            self.count(
                index::ORDERS_OF_FREELANCER,
                keys::orders_of_freelancer(user_id),
                Some(keys::ORDER_LISTING_PREFIX)
            ),
        )?;
        Ok(UserCounts {
            gigs,
            orders_as_client,
            orders_as_freelancer,
        })
    }

    /// `Select=COUNT` over one index partition (optionally its sort keys with `prefix`), every
    /// page of it.
    async fn count(
        &self,
        index: Index,
        partition: String,
        prefix: Option<&str>,
    ) -> Result<u64, ApiError> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            let mut query = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(index.name())
                .select(Select::Count)
                .expression_attribute_names("#pk", index.pk())
                .expression_attribute_values(":pk", s(&partition))
                .set_exclusive_start_key(start.take());
            query = match prefix {
                Some(prefix) => query
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", index.sk())
                    .expression_attribute_values(":prefix", s(prefix)),
                None => query.key_condition_expression("#pk = :pk"),
            };
            let output = query.send().await.map_err(sdk_error("Query"))?;
            total += output.count() as u64;
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(total),
            }
        }
    }
}

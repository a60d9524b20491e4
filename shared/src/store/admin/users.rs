//! Admin writes and reads on users: the audited block/unblock transaction, the resumable
//! re-listing of a user's gigs after it, the counts an admin sees on a user, and the users list
//! (`keys.rs`, "Admin: lists": every user by role, status and email or name prefix, merged over
//! write-sharded partitions; never a Scan).

use std::cmp::Ordering;

use aws_sdk_dynamodb::types::Select;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::lists::digest_scope;
use crate::domain::audit::AuditEntry;
use crate::domain::metrics::{MetricsDelta, ROLES, USER_STATUSES, role_name, user_status_name};
use crate::domain::user::{Role, User, UserStatus};
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position, invalid_cursor};
use crate::store::keys::{self, Index, USER_LIST_SHARDS, attr, index};
use crate::store::paged::{Listing, SortRange};
use crate::store::transaction::{TransactOutcome, Transaction};
use crate::store::users::{email_search_key, name_search_key, user_list_partition};
use crate::store::{
    Item, Store, attribute, done_if_condition_failed, from_item, key_attributes, n, s, sdk_error,
};

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
        let list_partition = user_list_partition(was.role, status, user_id);
        if status == UserStatus::Blocked {
            set.push(format!("{} = :revoked", attr::SESSIONS_REVOKED_BEFORE_MS));
        }
        let status_value = attribute(&status)?;
        let admin = attribute(&Role::Admin)?;
        let now_value = crate::store::rfc3339(now);
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

    /// Finishes the re-listings marked at or before `marked_by` that are still pending (a crash
    /// left them half-way), oldest first, at most `limit`; returns how many.
    pub async fn resume_gig_reindexes(
        &self,
        marked_by: OffsetDateTime,
        limit: usize,
    ) -> Result<usize, ApiError> {
        let due = index::GIG_REINDEX_DUE;
        let marked_by_ms = marked_by.unix_timestamp_nanos() / 1_000_000;
        let listing = Listing::on(due, keys::gig_reindex_due_partition()).sort_range(
            SortRange::AtMost(keys::gig_reindex_due_upper_bound(marked_by_ms)),
        );
        let items = self.read_all(&listing, limit).await?;
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

// ---- the users list ----

/// Which users `GET /admin/users` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    /// An email or name prefix (any case).
    pub q: Option<String>,
}

/// One partition of one index the user list merges.
#[derive(Debug, Clone)]
struct UserStream {
    index: Index,
    partition: String,
    /// The prefix its sort keys must have, if any.
    prefix: Option<String>,
    /// A name stream: users whose email matches too are listed from the email stream.
    by_name: bool,
}

/// What one stream gave for one page.
struct StreamRead {
    by_name: bool,
    items: Vec<Item>,
    has_more: bool,
}

fn user_streams(filter: &UserFilter) -> (Vec<UserStream>, Option<String>) {
    let q = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let email_prefix = q.map(email_search_key);
    let name_prefix = q.map(name_search_key);
    let roles: Vec<Role> = filter.role.map_or(ROLES.to_vec(), |role| vec![role]);
    let statuses: Vec<UserStatus> = filter
        .status
        .map_or(USER_STATUSES.to_vec(), |status| vec![status]);
    let mut streams = Vec::new();
    for &role in &roles {
        for &status in &statuses {
            for shard in 0..USER_LIST_SHARDS {
                let partition =
                    keys::users_partition(role_name(role), user_status_name(status), shard);
                streams.push(UserStream {
                    index: index::USERS_BY_EMAIL,
                    partition: partition.clone(),
                    prefix: email_prefix.clone(),
                    by_name: false,
                });
                if let Some(prefix) = &name_prefix {
                    streams.push(UserStream {
                        index: index::USERS_BY_NAME,
                        partition,
                        prefix: Some(prefix.clone()),
                        by_name: true,
                    });
                }
            }
        }
    }
    (streams, email_prefix)
}

/// The sort key of `item` on `index`.
fn sort_key(item: &Item, index: Index) -> Result<String, ApiError> {
    item.get(index.sk())
        .and_then(|value| value.as_s().ok())
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("user list item without its sort key")))
}

impl Store {
    /// One page of users, in sort-key order (email, or with `q` the matching email or name),
    /// merged over every partition the filter leaves (see `keys.rs`). The position is the last
    /// sort key returned: every partition resumes after it.
    pub async fn list_users(
        &self,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> Result<(Vec<User>, Option<Position>), ApiError> {
        let (streams, email_prefix) = user_streams(filter);
        let scope = digest_scope(&format!(
            "admin-users|{}",
            streams
                .iter()
                .map(|stream| format!("{:?}", (stream.index, &stream.partition, &stream.prefix)))
                .collect::<Vec<_>>()
                .join("|")
        ));
        let after = match &page.after {
            None => None,
            Some(position) if position.scope == scope => Some(
                position.key["after"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(invalid_cursor)?,
            ),
            Some(_) => return Err(invalid_cursor()),
        };
        let limit = page.limit as usize;
        let mut reads = tokio::task::JoinSet::new();
        for stream in streams {
            let prefix = stream.prefix.clone().unwrap_or_default();
            // Nothing sorts between a key and that key plus U+0001 (keys hold no control
            // characters), so this is "after `after`".
            let low = match &after {
                Some(after) => std::cmp::max(format!("{after}\u{1}"), prefix.clone()),
                // A key condition value may not be empty; every key sorts after U+0001.
                None if prefix.is_empty() => "\u{1}".to_owned(),
                None => prefix.clone(),
            };
            let high = format!("{prefix}{}", char::MAX);
            if low > high {
                continue;
            }
            let listing = Listing::on(stream.index, stream.partition.clone())
                .sort_range(SortRange::Between(low, high));
            let store = self.clone();
            reads.spawn(async move {
                let (items, next) = store
                    .page(&listing, &PageRequest::first(limit as u32))
                    .await?;
                Ok::<_, ApiError>((stream, items, next.is_some()))
            });
        }
        let mut stream_reads = Vec::new();
        while let Some(joined) = reads.join_next().await {
            let (stream, items, has_more) = joined.map_err(ApiError::internal)??;
            stream_reads.push((
                stream.index,
                StreamRead {
                    by_name: stream.by_name,
                    items,
                    has_more,
                },
            ));
        }
        // A stream with more to read bounds what may be returned: beyond its last key, its
        // unread items would be skipped.
        let mut cutoff: Option<String> = None;
        let mut entries: Vec<(String, bool, Item)> = Vec::new();
        for (index, read) in stream_reads {
            if read.has_more
                && let Some(last) = read.items.last()
            {
                let last = sort_key(last, index)?;
                if cutoff.as_ref().is_none_or(|cut| &last < cut) {
                    cutoff = Some(last);
                }
            }
            for item in read.items {
                entries.push((sort_key(&item, index)?, read.by_name, item));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.retain(|(key, _, _)| {
            cutoff
                .as_ref()
                .is_none_or(|cut| key.cmp(cut) != Ordering::Greater)
        });
        let walkable = entries.len();
        let mut users = Vec::new();
        let mut walked = 0;
        let mut last_walked: Option<String> = None;
        for (key, by_name, item) in entries {
            if users.len() == limit {
                break;
            }
            let user: User = from_item(item)?;
            walked += 1;
            last_walked = Some(key);
            let listed_by_email = by_name
                && email_prefix
                    .as_ref()
                    .is_some_and(|prefix| email_search_key(&user.email).starts_with(prefix));
            if !listed_by_email {
                users.push(user);
            }
        }
        // Full page with items left: resume after the last one walked; otherwise after the
        // cutoff (a stream has more), or the end.
        let resume = if walked < walkable {
            last_walked
        } else {
            cutoff
        };
        let next = resume.map(|after| Position {
            scope,
            key: json!({ "after": after }),
        });
        Ok((users, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_choose_the_partitions_read() {
        let (all, _) = user_streams(&UserFilter::default());
        assert_eq!(all.len(), 3 * 2 * USER_LIST_SHARDS as usize);
        let (searched, prefix) = user_streams(&UserFilter {
            role: Some(Role::Client),
            status: Some(UserStatus::Active),
            q: Some(" Ann@X ".into()),
        });
        assert_eq!(prefix.as_deref(), Some("ann@x"));
        assert_eq!(
            searched.len(),
            2 * USER_LIST_SHARDS as usize,
            "email and name"
        );
        assert!(
            searched
                .iter()
                .all(|stream| stream.partition.starts_with("USERS#client#active#"))
        );
    }
}

//! The audit log (`keys.rs`, "Admin"): entries are only ever added as an item of the action's own
//! transaction ([`Transaction::audit`]), and read newest first by actor, target or month.

use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{self, attr, entity, index};
use super::paged::Listing;
use super::transaction::Transaction;
use super::{Store, s, to_item};
use crate::domain::audit::AuditEntry;
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};

/// Which entries `GET /admin/audit` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditFilter {
    Actor(String),
    Target(Uuid),
    ActorAndTarget(String, Uuid),
    /// The whole log of one calendar month (`yyyy-mm`).
    Month(String),
}

/// `yyyy-mm` of an instant (UTC): the month partition an entry made then goes to.
pub fn year_month(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}", at.year(), u8::from(at.month()))
}

impl<N: Copy + std::fmt::Debug> Transaction<N> {
    /// Adds `entry` to this transaction: the entry exists exactly when the action committed.
    pub(crate) fn audit(&mut self, name: N, entry: &AuditEntry) -> Result<&mut Self, ApiError> {
        let mut item = to_item(&keys::audit_entry(entry.id), entity::AUDIT_ENTRY, entry)?;
        let sort = keys::audit_sort(entry.at.unix_timestamp_nanos() / 1_000_000, entry.id);
        for (index, partition) in [
            (index::AUDIT_BY_ACTOR, keys::audit_by_actor(&entry.actor_id)),
            (
                index::AUDIT_BY_TARGET,
                keys::audit_by_target(entry.target_id),
            ),
            (
                index::AUDIT_BY_MONTH,
                keys::audit_by_month(&year_month(entry.at)),
            ),
        ] {
            item.insert(index.pk().to_owned(), s(partition));
            item.insert(index.sk().to_owned(), s(&sort));
        }
        self.put_new(name, item)
    }
}

impl Store {
    /// One page of the audit log, newest first.
    pub async fn audit_log(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<(Vec<AuditEntry>, Option<Position>), ApiError> {
        let listing = match filter {
            AuditFilter::Actor(actor) => {
                Listing::on(index::AUDIT_BY_ACTOR, keys::audit_by_actor(actor))
            }
            AuditFilter::Target(target) => {
                Listing::on(index::AUDIT_BY_TARGET, keys::audit_by_target(*target))
            }
            // A target has few entries; the actor is a filter on them.
            AuditFilter::ActorAndTarget(actor, target) => Listing::on(
                index::AUDIT_BY_TARGET,
                keys::audit_by_target(*target),
            )
            .filter(attr::ACTOR_ID, "=", s(actor)),
            AuditFilter::Month(month) => {
                Listing::on(index::AUDIT_BY_MONTH, keys::audit_by_month(month))
            }
        };
        self.page_as(&listing.descending(), page).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_utc_and_zero_padded() {
        let at = time::macros::datetime!(2026-03-31 23:30 -02:00);
        assert_eq!(year_month(at), "2026-04");
    }
}

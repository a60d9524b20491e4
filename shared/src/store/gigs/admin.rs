//! The gig review queue and an admin's decisions (`keys.rs`, "Admin: the gig review queue").
//!
//! A gig is in the queue exactly while it is pending review: the gig write that moves it there
//! sets its sparse gsi2 keys and the one that moves it out removes them, in the same update as
//! the status. A decision (approve, reject, remove) is an ordinary gig write, conditioned on
//! the version and status as read, that also stamps `decision`/`decision_id` on the gig and puts
//! the audit entry: one transaction, so a refused decision leaves no entry.

use std::collections::HashMap;

use super::{GigWrite, StoredGig};
use crate::domain::audit::AuditEntry;
use crate::domain::gig::{Gig, GigDecision, GigStatus};
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};
use crate::store::keys::{self, attr, index};
use crate::store::paged::Listing;
use crate::store::{Item, Store, s};

/// An admin's decision as a gig write records it: with its audit entry.
#[derive(Debug, Clone, Copy)]
pub struct Decided<'a> {
    pub decision: GigDecision,
    pub audit: &'a AuditEntry,
}

/// What a gig update adds for the queue keys and the decision stamp.
pub(super) struct QueueUpdate {
    pub set: Vec<String>,
    pub remove: Vec<String>,
    pub values: Item,
    pub names: HashMap<String, String>,
}

fn millis(at: time::OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

/// The queue keys of `after` (set when it enters review or is resubmitted with new content,
/// kept while it waits unchanged, removed otherwise) and the decision stamp.
pub(super) fn queue_update(
    before: &Gig,
    after: &Gig,
    decided: Option<Decided<'_>>,
) -> Result<QueueUpdate, ApiError> {
    let queue = index::GIG_REVIEW_QUEUE;
    let mut update = QueueUpdate {
        set: Vec::new(),
        remove: Vec::new(),
        values: Item::new(),
        names: HashMap::from([
            ("#queue_pk".to_owned(), queue.pk().to_owned()),
            ("#queue_sk".to_owned(), queue.sk().to_owned()),
        ]),
    };
    let pending = after.status == GigStatus::PendingReview;
    let submitted = before.status != GigStatus::PendingReview || before.version != after.version;
    match (pending, submitted) {
        (true, true) => {
            update.set.extend([
                "#queue_pk = :queue_pk".into(),
                "#queue_sk = :queue_sk".into(),
            ]);
            update
                .values
                .insert(":queue_pk".into(), s(keys::gig_review_queue_partition()));
            update.values.insert(
                ":queue_sk".into(),
                s(keys::gig_review_queue_sort(
                    millis(after.updated_at),
                    after.id,
                )),
            );
        }
        (true, false) => {
            update.names.clear();
        }
        (false, _) => {
            update
                .remove
                .extend(["#queue_pk".into(), "#queue_sk".into()]);
        }
    }
    if let Some(decided) = decided {
        update.set.extend([
            "#decision = :decision".into(),
            "#decision_id = :decision_id".into(),
        ]);
        update
            .values
            .insert(":decision".into(), s(decided.decision.as_str()));
        update
            .values
            .insert(":decision_id".into(), s(decided.audit.id.to_string()));
        update
            .names
            .insert("#decision".into(), attr::DECISION.into());
        update
            .names
            .insert("#decision_id".into(), attr::DECISION_ID.into());
    }
    Ok(update)
}

impl Store {
    /// One page of the gigs waiting for review, oldest submission first.
    pub async fn gig_review_queue(
        &self,
        page: &PageRequest,
    ) -> Result<(Vec<StoredGig>, Option<Position>), ApiError> {
        let listing = Listing::on(index::GIG_REVIEW_QUEUE, keys::gig_review_queue_partition());
        self.page_stored_gigs(&listing, page).await
    }

    /// [`Store::save_gig`] for an admin's decision: the gig, stamped with the decision, and
    /// the decision's audit entry, in one transaction.
    pub async fn save_gig_decided(
        &self,
        before: &StoredGig,
        after: &Gig,
        rejection_reason: Option<&str>,
        decided: Decided<'_>,
    ) -> Result<GigWrite, ApiError> {
        self.write_gig(Some(before), after, rejection_reason, Some(decided), None)
            .await
    }
}

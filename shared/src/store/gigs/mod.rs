//! Gigs and their listing entries: the storefront's data.
//!
//! The gig item (`GIG#<id>`/`GIG`) is the truth. While a gig is *listed* (active, owner not
//! blocked; stored as `listed` on the gig item) it also has listing entries, one per partition it
//! can be browsed or searched in (see `keys` for the layout). Every write of a gig is ONE
//! transaction holding the gig write, its entry puts/deletes and a check of the owner's status,
//! conditioned on the gig's `version`, `status` and `listed` as read: a concurrent change makes
//! it `Stale` and the caller re-reads and decides again. So entries always match the gig item,
//! and browse reads entries only, never filtering by status.
//!
//! Counters (`open_orders`, `order_count`, `rating_sum`, `rating_count`) belong to the orders
//! and reviews transactions: edits update named content attributes and never put the whole item.
//! After a rating change, `reindex_gig` refreshes the entries' rating sort keys.
//!
//! - `items`: what is stored (the gig item, its listing entries).
//! - `write`: the one transactional write path (create, save, reindex).
//! - `browse`: the listings (browse and search, an owner's gigs, a freelancer's listed gigs).
//! - `import`: bulk loading for benchmarks and migrations.
//! - `admin`: the review queue (a sparse index on the gig item while it is pending
//!   review) and the decisions written with their audit entries.

mod browse;
mod import;
mod items;
mod write;

// The review queue and an admin's decisions (admin API).
mod admin;
pub use admin::Decided;

use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

use super::keys::{self, attr};
use super::{Item, Store, from_item};
use crate::domain::gig::{Gig, GigStatus};
use crate::domain::quota::Quota;
use crate::error::ApiError;
use crate::pagination::PageRequest;

/// A gig as stored: the domain gig plus what only the store and the admin's decisions track.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredGig {
    pub gig: Gig,
    /// Whether listing entries exist (active and owner not blocked).
    pub listed: bool,
    /// Why an admin rejected it; shown to the owner and admins.
    pub rejection_reason: Option<String>,
}

/// The result of a conditional gig write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GigWrite {
    /// Written; `listed` says whether the gig now has listing entries.
    Saved { listed: bool },
    /// The gig (or its owner's status) changed since it was read: re-read and decide again.
    Stale,
    /// A creation: its owner's gigs-created quota is used up.
    QuotaReached,
}

pub(in crate::store) fn decode_stored_gig(mut item: Item) -> Result<StoredGig, ApiError> {
    let listed = matches!(item.get(attr::LISTED), Some(AttributeValue::Bool(true)));
    let rejection_reason = match item.remove(attr::REJECTION_REASON) {
        Some(AttributeValue::S(reason)) => Some(reason),
        _ => None,
    };
    Ok(StoredGig {
        gig: from_item(item)?,
        listed,
        rejection_reason,
    })
}

fn internal(message: &'static str) -> ApiError {
    ApiError::internal(anyhow::anyhow!(message))
}

impl Store {
    /// Stores a new gig; when it is active (and its owner not blocked) its listing entries too,
    /// in the same transaction. Counts against no quota: for imports, seeds and tests.
    pub async fn create_gig(&self, gig: &Gig) -> Result<(), ApiError> {
        match self.create_gig_within(gig, None).await? {
            GigWrite::Saved { .. } => Ok(()),
            _ => Err(internal(
                "create_gig: counted against no quota, yet refused by one",
            )),
        }
    }

    /// Stores a new gig as [`Store::create_gig`] does, counted against `quota` in the same
    /// transaction when there is one: `Saved`, or `QuotaReached` with nothing written.
    pub async fn create_gig_within(
        &self,
        gig: &Gig,
        quota: Option<&Quota>,
    ) -> Result<GigWrite, ApiError> {
        for _ in 0..5 {
            match self.write_gig(None, gig, None, None, quota).await? {
                GigWrite::Stale => continue,
                done => return Ok(done),
            }
        }
        Err(internal("create_gig: the owner's status kept changing"))
    }

    pub async fn get_gig(&self, gig_id: Uuid) -> Result<Option<Gig>, ApiError> {
        Ok(self.get_stored_gig(gig_id).await?.map(|stored| stored.gig))
    }

    /// The gigs of `gig_ids` that exist, with their listing flags (strongly consistent
    /// `BatchGetItem`s of at most 100 keys), in no particular order: what the index writer
    /// re-reads after a hint, which must see the write that sent it.
    pub async fn get_stored_gigs(&self, gig_ids: &[Uuid]) -> Result<Vec<StoredGig>, ApiError> {
        self.read_stored_gigs(gig_ids, true).await
    }

    /// [`Store::get_stored_gigs`] eventually consistent, at half the read capacity: a search
    /// page's gigs, which may lag a write by a second like the index itself.
    pub async fn get_stored_gigs_for_page(
        &self,
        gig_ids: &[Uuid],
    ) -> Result<Vec<StoredGig>, ApiError> {
        self.read_stored_gigs(gig_ids, false).await
    }

    async fn read_stored_gigs(
        &self,
        gig_ids: &[Uuid],
        consistent: bool,
    ) -> Result<Vec<StoredGig>, ApiError> {
        let mut wanted: Vec<Uuid> = gig_ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        self.batch_get_read(wanted.into_iter().map(keys::gig).collect(), consistent)
            .await?
            .into_iter()
            .map(decode_stored_gig)
            .collect()
    }

    /// The gig with its listing flag and rejection reason (one strongly consistent GetItem).
    pub async fn get_stored_gig(&self, gig_id: Uuid) -> Result<Option<StoredGig>, ApiError> {
        self.get(&keys::gig(gig_id))
            .await?
            .map(decode_stored_gig)
            .transpose()
    }

    /// Replaces `before` (as read) with `after` (content and status; counters are never
    /// written), re-deriving the listing entries, in one transaction. `Stale` when the gig or
    /// its owner's status changed since `before` was read.
    pub async fn save_gig(
        &self,
        before: &StoredGig,
        after: &Gig,
        rejection_reason: Option<&str>,
    ) -> Result<GigWrite, ApiError> {
        self.write_gig(Some(before), after, rejection_reason, None, None)
            .await
    }

    /// Re-derives a gig's listing entries from its item and its owner's status: after a block
    /// or unblock, or after the reviews transaction changed its rating.
    pub async fn reindex_gig(&self, gig_id: Uuid) -> Result<(), ApiError> {
        for _ in 0..5 {
            let Some(stored) = self.get_stored_gig(gig_id).await? else {
                return Ok(());
            };
            if stored.gig.status != GigStatus::Active && !stored.listed {
                return Ok(());
            }
            let write = self
                .write_gig(
                    Some(&stored),
                    &stored.gig,
                    stored.rejection_reason.as_deref(),
                    None,
                    None,
                )
                .await?;
            if let GigWrite::Saved { .. } = write {
                return Ok(());
            }
        }
        Err(internal("reindex_gig: the gig kept changing"))
    }

    /// Lists or unlists every active gig of a freelancer after their account status changed.
    /// Each gig is its own transaction (a freelancer's gigs do not fit in one).
    pub async fn reindex_owner_gigs(&self, freelancer_id: Uuid) -> Result<(), ApiError> {
        let mut page = PageRequest::first(100);
        loop {
            let (gigs, next) = self.owner_gigs(freelancer_id, &page).await?;
            for stored in gigs {
                if stored.gig.status == GigStatus::Active || stored.listed {
                    self.reindex_gig(stored.gig.id).await?;
                }
            }
            match next {
                Some(position) => page.after = Some(position),
                None => return Ok(()),
            }
        }
    }
}

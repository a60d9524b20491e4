//! The gig listings, each a [`Listing`] read by the paged query: an owner's gigs in every status
//! (`GET /me/gigs`), a freelancer's listed gigs (`GET /users/{id}/gigs`) and every listed gig
//! (the search index's full rebuild). Browse and search (`GET /gigs`) are the search index's.

use uuid::Uuid;

use super::{StoredGig, decode_stored_gig};
use crate::domain::gig::GigSummary;
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};
use crate::store::keys::{self, index, listing};
use crate::store::paged::Listing;
use crate::store::{Store, from_item};

impl Store {
    /// A freelancer's own gigs in every status, newest first (`GET /me/gigs`): one Query page.
    pub async fn owner_gigs(
        &self,
        freelancer_id: Uuid,
        page: &PageRequest,
    ) -> Result<(Vec<StoredGig>, Option<Position>), ApiError> {
        let listing =
            Listing::on(index::GIG_OWNER, keys::gig_owner_partition(freelancer_id)).descending();
        self.page_stored_gigs(&listing, page).await
    }

    /// One page of a listing of gig items, each with its listing flag and rejection reason.
    pub(super) async fn page_stored_gigs(
        &self,
        listing: &Listing,
        page: &PageRequest,
    ) -> Result<(Vec<StoredGig>, Option<Position>), ApiError> {
        let (items, next) = self.page(listing, page).await?;
        let gigs = items
            .into_iter()
            .map(decode_stored_gig)
            .collect::<Result<_, _>>()?;
        Ok((gigs, next))
    }

    /// A freelancer's listed gigs, newest first (`GET /users/{id}/gigs`): one Query page.
    pub async fn listed_gigs_of(
        &self,
        freelancer_id: Uuid,
        page: &PageRequest,
    ) -> Result<(Vec<GigSummary>, Option<Position>), ApiError> {
        let listing =
            Listing::on(index::LISTING_NEWEST, listing::owner(freelancer_id)).descending();
        self.page_as(&listing, page).await
    }

    /// Every listed gig's id, newest first (the `BROWSE#ALL` listing): what the search index's
    /// full rebuild holds the index to. The index is eventually consistent; the rebuild
    /// re-reads each gig anyway.
    pub async fn listed_gig_ids(&self) -> Result<Vec<Uuid>, ApiError> {
        let listing = Listing::on(index::LISTING_NEWEST, listing::all()).descending();
        self.read_all(&listing, usize::MAX)
            .await?
            .into_iter()
            .map(|item| from_item::<GigSummary>(item).map(|summary| summary.id))
            .collect()
    }
}

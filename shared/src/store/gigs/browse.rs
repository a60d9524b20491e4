//! The gig listings, each a [`Listing`] read by the paged query: browse and search
//! (`GET /gigs`), an owner's gigs in every status (`GET /me/gigs`) and a freelancer's listed
//! gigs (`GET /users/{id}/gigs`).

use uuid::Uuid;

use super::{StoredGig, decode_stored_gig};
use crate::domain::browse::{BrowseQuery, SortOrder};
use crate::domain::gig::GigSummary;
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};
use crate::store::keys::{self, attr, index, listing};
use crate::store::paged::{Listing, SortRange};
use crate::store::{Store, n, s};

/// The one listing partition and index a browse request reads: the driving search term's
/// partition, else the subcategory's, category's or all; the index of the requested order. A
/// price range on the price order is a key condition; every other criterion is a filter.
fn browse_listing(query: &BrowseQuery) -> Listing {
    let driving_term = query.driving_term();
    let partition = match (driving_term, &query.category, &query.subcategory) {
        (Some(term), _, _) => listing::term(term),
        (None, Some(category), Some(sub)) => listing::subcategory(category, sub),
        (None, Some(category), None) => listing::category(category),
        (None, None, _) => listing::all(),
    };
    let (index, ascending) = match query.sort {
        SortOrder::PriceAsc => (index::LISTING_PRICE, true),
        SortOrder::PriceDesc => (index::LISTING_PRICE, false),
        SortOrder::Newest => (index::LISTING_NEWEST, false),
        SortOrder::Rating => (index::LISTING_RATING, false),
        SortOrder::Relevance if driving_term.is_some() => (index::LISTING_RELEVANCE, false),
        SortOrder::Relevance => (index::LISTING_RATING, false),
    };
    let mut request = Listing::on(index, partition).ascending(ascending);
    if driving_term.is_some() {
        if let Some(category) = &query.category {
            request = request.filter("category", "=", s(category));
        }
        if let Some(sub) = &query.subcategory {
            request = request.filter("subcategory", "=", s(sub));
        }
        let others = query
            .terms
            .iter()
            .filter(|term| Some(term.as_str()) != driving_term);
        for term in others {
            request = request.filter_contains(attr::TERMS, s(term));
        }
    }
    if query.min_price.is_some() || query.max_price.is_some() {
        if index == index::LISTING_PRICE {
            let (low, high) = listing::price_bounds(query.min_price, query.max_price);
            request = request.sort_range(SortRange::Between(low, high));
        } else {
            if let Some(min) = query.min_price {
                request = request.filter("starting_price_cents", ">=", n(min));
            }
            if let Some(max) = query.max_price {
                request = request.filter("starting_price_cents", "<=", n(max));
            }
        }
    }
    if let Some(days) = query.max_delivery_days {
        request = request.filter("delivery_days", "<=", n(days));
    }
    if let Some(rating) = query.min_rating {
        // Unrated gigs have no average, so any minimum excludes them.
        request = request.filter(attr::RATING_AVG, ">=", n(rating));
    }
    request
}

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

    /// Browse and search (`GET /gigs`): one page of the listing the query describes.
    pub async fn browse_gigs(
        &self,
        query: &BrowseQuery,
        page: &PageRequest,
    ) -> Result<(Vec<GigSummary>, Option<Position>), ApiError> {
        self.page_as(&browse_listing(query), page).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::browse::BrowseParams;

    fn scope(params: BrowseParams) -> String {
        browse_listing(&params.validate().unwrap().0).scope()
    }

    #[test]
    fn cursors_follow_the_query_not_its_spelling() {
        let query = |q: &str, max_price| BrowseParams {
            q: Some(q.into()),
            max_price,
            ..Default::default()
        };
        assert_eq!(
            scope(query("logo vector", None)),
            scope(query("vector logos", None))
        );
        assert_ne!(
            scope(query("logo vector", None)),
            scope(query("logo vector", Some(5)))
        );
        assert_ne!(
            scope(query("logo vector", None)),
            scope(BrowseParams {
                sort: Some(SortOrder::Newest),
                ..query("logo vector", None)
            })
        );
    }
}

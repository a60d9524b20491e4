//! The `search` function's use case (feature `s3`): `GET /gigs` answered from the function's
//! copy of the published index, the page's gigs then read from the table.
//!
//! The index decides which gigs and in which order; the table decides what is shown. A gig
//! unlisted since the version was published is dropped from its page, so a new gig can be
//! missing for the index's lag, but an unlisted one is gone within the eventually consistent
//! read's own lag (about a second).

use std::time::{Duration, Instant};

use gigmarket_shared::domain::browse::{BrowseParams, BrowseQuery};
use gigmarket_shared::domain::gig::GigCard;
use gigmarket_shared::emf;
use gigmarket_shared::pagination::{CursorCodec, Position};
use gigmarket_shared::search_index::SearchIndexBucket;
use gigmarket_shared::store::Store;
use gigmarket_shared::{ApiError, ApiResult};
use serde::Serialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::published::{Replica, ReplicaError};
use crate::{Cursor, Facets, GigIndex, SearchError, SearchRequest};

/// The function's copy of the index and when it last asked the bucket for a newer version.
pub struct Reader {
    replica: Replica,
    poll_every: Duration,
    polled_at: Instant,
}

impl Reader {
    /// The bucket's current version (at cold start). A version that can not be loaded whole
    /// fails the start: there is no older version to serve instead.
    pub async fn load(
        bucket: &SearchIndexBucket,
        poll_every: Duration,
    ) -> Result<Self, ReplicaError> {
        Ok(Self {
            replica: Replica::load(bucket).await?,
            poll_every,
            polled_at: Instant::now(),
        })
    }

    /// Asks the bucket for a newer version when the last check is `poll_every` old. A version
    /// that can not be loaded whole (a file missing, S3 unreachable) is logged and counted
    /// (`SearchIndexRefreshFailures`, alarmed), and the copy keeps serving the version it has.
    pub async fn refresh_if_due(&mut self, bucket: &SearchIndexBucket, now: Instant) {
        if now.duration_since(self.polled_at) < self.poll_every {
            return;
        }
        self.polled_at = now;
        if let Err(error) = self.replica.refresh(bucket).await {
            tracing::error!(
                error = %error,
                version = self.replica.index().version(),
                "search index refresh failed; serving the version held"
            );
            emf::count(emf::SEARCH_INDEX_REFRESH_FAILURES, 1);
        }
    }

    pub fn index(&self) -> &GigIndex {
        self.replica.index()
    }
}

/// `GET /gigs`: one page of results with its facets.
#[derive(Debug, Serialize)]
pub struct GigSearchResults {
    pub items: Vec<GigCard>,
    pub next_cursor: Option<String>,
    /// Gigs the query matches in the index version read.
    pub total: u64,
    pub facets: FacetCounts,
    /// A corrected query with more results, when this one has few.
    pub did_you_mean: Option<String>,
    /// The query these results are for, when the one sent found nothing and its correction
    /// did ("Showing results for ...").
    pub corrected_query: Option<String>,
}

/// Counts of the query's results per category (ignoring its category filter) and per price
/// band (ignoring its price filter), so a client can offer the other choices.
#[derive(Debug, Serialize)]
pub struct FacetCounts {
    pub categories: Vec<CategoryFacet>,
    pub price_bands: Vec<PriceBandFacet>,
}

#[derive(Debug, Serialize)]
pub struct CategoryFacet {
    pub category: &'static str,
    pub count: u64,
}

/// Starting prices `from_cents` (inclusive) up to `to_cents` (exclusive; none: no upper end).
#[derive(Debug, Serialize)]
pub struct PriceBandFacet {
    pub from_cents: u64,
    pub to_cents: Option<u64>,
    pub count: u64,
}

impl From<Facets> for FacetCounts {
    fn from(facets: Facets) -> Self {
        Self {
            categories: facets
                .categories
                .into_iter()
                .map(|facet| CategoryFacet {
                    category: facet.category,
                    count: facet.count,
                })
                .collect(),
            price_bands: facets
                .price_bands
                .into_iter()
                .map(|facet| PriceBandFacet {
                    from_cents: facet.band.from_cents,
                    to_cents: facet.band.to_cents,
                    count: facet.count,
                })
                .collect(),
        }
    }
}

/// `GET /gigs`: the parameters validated as every listing's are (400 naming the field), the
/// page searched in `reader`'s copy (refreshed first when due), and its gigs read with one
/// eventually consistent `BatchGetItem` (the page is already as stale as the index).
pub async fn search_gigs(
    reader: &Mutex<Reader>,
    bucket: &SearchIndexBucket,
    store: &Store,
    cursors: &CursorCodec,
    params: BrowseParams,
) -> ApiResult<GigSearchResults> {
    let q = params.q.clone().unwrap_or_default();
    let (query, paging) = params.validate()?;
    let page = cursors.page_request(&paging)?;
    let scope = scope(&query);
    let cursor = page
        .after
        .as_ref()
        .map(|position| cursor_at(position, &scope))
        .transpose()?;
    let request = SearchRequest {
        q,
        category: query.category.clone(),
        subcategory: query.subcategory.clone(),
        min_price: query.min_price,
        max_price: query.max_price,
        max_delivery_days: query.max_delivery_days,
        // Unrated gigs have no average: any minimum, 0 too, leaves them out (a rated gig has
        // at least one star, 100 hundredths).
        min_rating_centi: query
            .min_rating
            .map(|stars| ((stars * 100.0).ceil() as u64).max(1)),
        sort: query.sort.into(),
        limit: page.limit as usize,
        cursor,
    };
    let found = {
        let mut reader = reader.lock().await;
        reader.refresh_if_due(bucket, Instant::now()).await;
        reader.index().search(&request)
    }
    .map_err(|error| match error {
        SearchError::InvalidCursor => gigmarket_shared::pagination::invalid_cursor(),
        other => ApiError::internal(other),
    })?;
    let stored = store.get_stored_gigs_for_page(&found.gig_ids).await?;
    let items = found
        .gig_ids
        .iter()
        .filter_map(|id| stored.iter().find(|stored| stored.gig.id == *id))
        .filter(|stored| stored.listed)
        .map(|stored| GigCard::from(&stored.gig.summary()))
        .collect();
    Ok(GigSearchResults {
        items,
        next_cursor: found.next_cursor.map(|next| {
            cursors.encode(&Position::new(
                scope,
                json!({ "v": next.version, "o": next.offset }),
            ))
        }),
        total: found.total as u64,
        facets: found.facets.into(),
        did_you_mean: found.did_you_mean,
        corrected_query: found.corrected_query,
    })
}

/// The listing a cursor belongs to: the query as validated (its words stemmed and sorted), so
/// a cursor continues only the query it came from, however that query was spelled.
fn scope(query: &BrowseQuery) -> String {
    let mut terms = query.terms.clone();
    terms.sort_unstable();
    json!([
        "search",
        terms,
        query.category,
        query.subcategory,
        query.min_price,
        query.max_price,
        query.max_delivery_days,
        query.min_rating,
        query.sort.as_str(),
    ])
    .to_string()
}

fn cursor_at(position: &Position, scope: &str) -> ApiResult<Cursor> {
    let key = position.key_in(scope)?;
    let number = |name: &str| key.get(name).and_then(serde_json::Value::as_u64);
    match (number("v"), number("o")) {
        (Some(version), Some(offset)) => Ok(Cursor {
            version,
            offset: offset as usize,
        }),
        _ => Err(gigmarket_shared::pagination::invalid_cursor()),
    }
}

#[cfg(test)]
mod tests {
    use gigmarket_shared::domain::browse::SortOrder;

    use super::*;

    fn scope_of(params: BrowseParams) -> String {
        scope(&params.validate().expect("valid").0)
    }

    #[test]
    fn cursors_follow_the_query_not_its_spelling() {
        let query = |q: &str, max_price| BrowseParams {
            q: Some(q.into()),
            max_price,
            ..Default::default()
        };
        assert_eq!(
            scope_of(query("logo vector", None)),
            scope_of(query("Vector LOGOS", None))
        );
        assert_ne!(
            scope_of(query("logo vector", None)),
            scope_of(query("logo vector", Some(5)))
        );
        assert_ne!(
            scope_of(query("logo vector", None)),
            scope_of(BrowseParams {
                sort: Some(SortOrder::Newest),
                ..query("logo vector", None)
            })
        );
    }

    #[test]
    fn a_position_of_another_listing_or_without_its_fields_is_no_cursor() {
        let here = scope_of(BrowseParams::default());
        let position = |scope: &str, key| Position::new(scope.to_owned(), key);
        assert_eq!(
            cursor_at(&position(&here, json!({"v": 7, "o": 20})), &here).unwrap(),
            Cursor {
                version: 7,
                offset: 20
            }
        );
        assert!(cursor_at(&position("elsewhere", json!({"v": 7, "o": 20})), &here).is_err());
        assert!(cursor_at(&position(&here, json!({"v": 7})), &here).is_err());
        assert!(cursor_at(&position(&here, json!({"v": -1, "o": 0})), &here).is_err());
    }
}

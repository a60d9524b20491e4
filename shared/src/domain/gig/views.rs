//! What others see of a gig: browse cards, the public view, the owner's and admins' view.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Gig, GigStatus, Package};
use crate::domain::rating::{Rating, RatingSummary, rating_centi};

impl Gig {
    pub fn summary(&self) -> GigSummary {
        GigSummary {
            id: self.id,
            freelancer_id: self.freelancer_id,
            title: self.title.clone(),
            category: self.category.clone(),
            subcategory: self.subcategory.clone(),
            tags: self.tags.clone(),
            starting_price_cents: self.starting_price_cents(),
            currency: self.currency().to_owned(),
            delivery_days: self.fastest_delivery_days(),
            rating_sum: self.rating_sum,
            rating_count: self.rating_count,
            created_at: self.created_at,
        }
    }
}

/// What browse and search return per gig (and what their index items carry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GigSummary {
    pub id: Uuid,
    pub freelancer_id: Uuid,
    pub title: String,
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcategory: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub starting_price_cents: u64,
    pub currency: String,
    /// The fastest package's delivery time.
    pub delivery_days: u32,
    #[serde(default)]
    pub rating_sum: u64,
    #[serde(default)]
    pub rating_count: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl GigSummary {
    pub fn rating(&self) -> Rating {
        Rating::from_sum(self.rating_sum, self.rating_count)
    }

    /// The average in hundredths (0..=500), for sorting; unrated gigs rank last.
    pub fn rating_centi(&self) -> u64 {
        rating_centi(self.rating_sum, self.rating_count)
    }
}

/// A browse result on the wire.
#[derive(Debug, Serialize)]
pub struct GigCard {
    pub id: Uuid,
    pub freelancer_id: Uuid,
    pub title: String,
    pub category: String,
    pub subcategory: Option<String>,
    pub tags: Vec<String>,
    pub starting_price_cents: u64,
    pub currency: String,
    pub delivery_days: u32,
    pub rating: Rating,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&GigSummary> for GigCard {
    fn from(summary: &GigSummary) -> Self {
        Self {
            id: summary.id,
            freelancer_id: summary.freelancer_id,
            title: summary.title.clone(),
            category: summary.category.clone(),
            subcategory: summary.subcategory.clone(),
            tags: summary.tags.clone(),
            starting_price_cents: summary.starting_price_cents,
            currency: summary.currency.clone(),
            delivery_days: summary.delivery_days,
            rating: summary.rating(),
            created_at: summary.created_at,
        }
    }
}

/// A gig on the wire. Owners and admins also see moderation details and open orders.
#[derive(Debug, Serialize)]
pub struct GigView {
    pub id: Uuid,
    pub freelancer_id: Uuid,
    pub title: String,
    pub description: String,
    pub category: String,
    pub subcategory: Option<String>,
    pub tags: Vec<String>,
    pub packages: Vec<Package>,
    pub starting_price_cents: u64,
    pub currency: String,
    pub status: GigStatus,
    pub version: u64,
    pub rating: Rating,
    pub order_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_orders: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Average, count, histogram and sub-ratings; on `GET /gigs/{id}` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_summary: Option<RatingSummary>,
}

impl GigView {
    pub fn public(gig: &Gig) -> Self {
        Self {
            id: gig.id,
            freelancer_id: gig.freelancer_id,
            title: gig.title.clone(),
            description: gig.description.clone(),
            category: gig.category.clone(),
            subcategory: gig.subcategory.clone(),
            tags: gig.tags.clone(),
            packages: gig.packages.clone(),
            starting_price_cents: gig.starting_price_cents(),
            currency: gig.currency().to_owned(),
            status: gig.status,
            version: gig.version,
            rating: gig.rating(),
            order_count: gig.order_count,
            open_orders: None,
            rejection_reason: None,
            created_at: gig.created_at,
            updated_at: gig.updated_at,
            rating_summary: None,
        }
    }

    pub fn private(gig: &Gig, rejection_reason: Option<&str>) -> Self {
        Self {
            open_orders: Some(gig.open_orders),
            rejection_reason: rejection_reason.map(str::to_owned),
            ..Self::public(gig)
        }
    }
}

//! Gigs: the services freelancers sell, each with one to three packages (basic, standard, premium).
//!
//! This module is the contract other parts (orders, reviews) rely on: the `Gig` shape, its
//! statuses and the package snapshot an order takes. Beside it: `content` (the rules a gig's
//! content must meet when created or edited), `lifecycle` (which status a gig moves to, and why
//! not), `views` (what browse cards, owners and the public see).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::rating::Rating;

mod content;
pub mod fields;
mod lifecycle;
mod views;

pub use content::*;
pub use lifecycle::*;
pub use views::*;

// An admin's decisions on a gig (admin API).
mod decision;
pub use decision::{DecidedGig, GigDecision};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Basic,
    Standard,
    Premium,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GigStatus {
    /// Waiting for an admin to approve it; visible to its owner and admins only.
    PendingReview,
    /// Listed in browse and search, orderable.
    Active,
    /// Hidden and not orderable until the owner resumes it.
    Paused,
    /// Refused by moderation; the owner may edit and resubmit.
    Rejected,
    /// Deleted by its owner: hidden for good, kept for the orders that reference it.
    Archived,
    /// Taken down by moderation while live: hidden, not orderable, and its owner can neither
    /// edit nor resume it (only archive it). Orders already placed run on.
    Removed,
}

/// How many revisions a package includes (and the order that bought it).
///
/// On the wire and in the table it is two plain fields of its package or order, which flatten it:
/// `revisions`, the count (0 when unlimited), and `unlimited_revisions`. A mixed-type union (a
/// number or `"unlimited"`) is what client generators fail on. Items stored in that older form
/// still read: `revisions: "unlimited"` without the flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revisions {
    Limited(u32),
    Unlimited,
}

impl Revisions {
    /// Whether a client who already asked `used` times may ask again.
    pub fn allows_another(&self, used: u32) -> bool {
        match self {
            Self::Limited(limit) => used < *limit,
            Self::Unlimited => true,
        }
    }

    /// The count on the wire: the limit, or 0 when there is none.
    pub fn count(&self) -> u32 {
        match self {
            Self::Limited(limit) => *limit,
            Self::Unlimited => 0,
        }
    }
}

impl Serialize for Revisions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut fields = serializer.serialize_struct("Revisions", 2)?;
        fields.serialize_field("revisions", &self.count())?;
        fields.serialize_field("unlimited_revisions", &(*self == Self::Unlimited))?;
        fields.end()
    }
}

impl<'de> Deserialize<'de> for Revisions {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Count {
            Number(u32),
            Word(String),
        }
        #[derive(Deserialize)]
        #[serde(rename = "Revisions")]
        struct Fields {
            revisions: Count,
            #[serde(default)]
            unlimited_revisions: bool,
        }
        let fields = Fields::deserialize(deserializer)?;
        match fields.revisions {
            _ if fields.unlimited_revisions => Ok(Self::Unlimited),
            Count::Number(count) => Ok(Self::Limited(count)),
            Count::Word(word) if word == "unlimited" => Ok(Self::Unlimited),
            Count::Word(word) => Err(serde::de::Error::custom(format!(
                "invalid revisions {word:?}: expected a number"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub tier: Tier,
    pub name: String,
    pub description: String,
    /// Integer minor units (cents); never floating point money.
    pub price_cents: u64,
    /// ISO 4217, upper case; the same for every package of a gig.
    pub currency: String,
    pub delivery_days: u32,
    #[serde(flatten)]
    pub revisions: Revisions,
    #[serde(default)]
    pub features: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gig {
    pub id: Uuid,
    pub freelancer_id: Uuid,
    pub title: String,
    pub description: String,
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcategory: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub packages: Vec<Package>,
    pub status: GigStatus,
    /// Optimistic-concurrency version, bumped by every content edit.
    pub version: u64,
    /// Orders not yet completed, rejected or cancelled; maintained by the orders transactions.
    /// A gig with open orders can not be archived.
    #[serde(default)]
    pub open_orders: u64,
    /// Orders ever placed.
    #[serde(default)]
    pub order_count: u64,
    #[serde(default)]
    pub rating_sum: u64,
    #[serde(default)]
    pub rating_count: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Gig {
    pub fn package(&self, tier: Tier) -> Option<&Package> {
        self.packages.iter().find(|package| package.tier == tier)
    }

    pub fn rating(&self) -> Rating {
        Rating::from_sum(self.rating_sum, self.rating_count)
    }

    /// The price browse filters and sorts on: the cheapest package.
    pub fn starting_price_cents(&self) -> u64 {
        self.packages
            .iter()
            .map(|package| package.price_cents)
            .min()
            .unwrap_or(0)
    }
}

impl Gig {
    /// A new gig owned by `freelancer_id`, version 1, no orders or ratings yet.
    pub fn new(
        freelancer_id: Uuid,
        content: GigContent,
        status: GigStatus,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            freelancer_id,
            title: content.title,
            description: content.description,
            category: content.category,
            subcategory: content.subcategory,
            tags: content.tags,
            packages: content.packages,
            status,
            version: 1,
            open_orders: 0,
            order_count: 0,
            rating_sum: 0,
            rating_count: 0,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn content(&self) -> GigContent {
        GigContent {
            title: self.title.clone(),
            description: self.description.clone(),
            category: self.category.clone(),
            subcategory: self.subcategory.clone(),
            tags: self.tags.clone(),
            packages: self.packages.clone(),
        }
    }

    /// This gig with new content: the version moves on, so edits based on the old one fail.
    pub fn edited(&self, content: GigContent, status: GigStatus, now: OffsetDateTime) -> Self {
        Self {
            title: content.title,
            description: content.description,
            category: content.category,
            subcategory: content.subcategory,
            tags: content.tags,
            packages: content.packages,
            status,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }

    /// The fastest package: `max_delivery_days` filters on it.
    pub fn fastest_delivery_days(&self) -> u32 {
        self.packages
            .iter()
            .map(|package| package.delivery_days)
            .min()
            .unwrap_or(0)
    }

    pub fn currency(&self) -> &str {
        self.packages
            .first()
            .map(|package| package.currency.as_str())
            .unwrap_or("")
    }

    /// The HTTP entity tag of this gig's content: edits send it back in `If-Match`.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }

    /// Whether an `If-Match` header value names this gig's current version (`*` matches any).
    pub fn matches_if_match(&self, header: &str) -> bool {
        let current = self.etag();
        header
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag == current)
    }
}

#[cfg(test)]
mod tests;

//! Gigs: the services freelancers sell, each with one to three packages (basic, standard, premium).
//!
//! This module is the contract other parts (orders, reviews) rely on: the `Gig` shape, its
//! statuses and the package snapshot an order takes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::user::Rating;
use super::{Invalid, Violations, check_text, required_text};

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
}

/// How many revisions a package includes.
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
}

/// On the wire and in the table: a number 0..=10, or the string `"unlimited"`.
impl Serialize for Revisions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Limited(count) => serializer.serialize_u32(*count),
            Self::Unlimited => serializer.serialize_str("unlimited"),
        }
    }
}

impl<'de> Deserialize<'de> for Revisions {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u32),
            Word(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Count(count) => Ok(Self::Limited(count)),
            Raw::Word(word) if word == "unlimited" => Ok(Self::Unlimited),
            Raw::Word(word) => Err(serde::de::Error::custom(format!(
                "invalid revisions {word:?}: expected a number or \"unlimited\""
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

// ---------------------------------------------------------------------------------------------
// Creating and editing: the rules a gig's content must meet.
// ---------------------------------------------------------------------------------------------

pub const TITLE_MIN_CHARS: usize = 10;
pub const TITLE_MAX_CHARS: usize = 100;
pub const DESCRIPTION_MIN_CHARS: usize = 20;
pub const DESCRIPTION_MAX_CHARS: usize = 5_000;
pub const TAGS_MAX: usize = 5;
pub const TAG_MAX_CHARS: usize = 30;
pub const PACKAGES_MAX: usize = 3;
pub const PACKAGE_NAME_MAX_CHARS: usize = 60;
pub const PACKAGE_DESCRIPTION_MAX_CHARS: usize = 1_000;
pub const FEATURES_MAX: usize = 10;
pub const FEATURE_MAX_CHARS: usize = 80;
/// 1,000,000.00 in the gig's currency: above it is a typo, not a price.
pub const PRICE_MAX_CENTS: u64 = 100_000_000;
pub const DELIVERY_DAYS_MAX: u32 = 90;
pub const REVISIONS_MAX: u32 = 10;

/// `POST /gigs` after parsing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GigDraft {
    pub title: String,
    pub description: String,
    pub category: String,
    #[serde(default)]
    pub subcategory: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub packages: Vec<PackageDraft>,
}

/// One package as sent by the freelancer (the stored `Package` after validation).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageDraft {
    pub tier: Tier,
    pub name: String,
    pub description: String,
    /// Integer cents: `9.99` is a type error, not a rounding question.
    pub price_cents: u64,
    pub currency: String,
    pub delivery_days: u32,
    pub revisions: Revisions,
    #[serde(default)]
    pub features: Vec<String>,
}

impl From<&Package> for PackageDraft {
    fn from(package: &Package) -> Self {
        Self {
            tier: package.tier,
            name: package.name.clone(),
            description: package.description.clone(),
            price_cents: package.price_cents,
            currency: package.currency.clone(),
            delivery_days: package.delivery_days,
            revisions: package.revisions,
            features: package.features.clone(),
        }
    }
}

/// Validated, normalised gig content: what create and edit write. Packages are in tier order.
#[derive(Debug, Clone, PartialEq)]
pub struct GigContent {
    pub title: String,
    pub description: String,
    pub category: String,
    pub subcategory: Option<String>,
    pub tags: Vec<String>,
    pub packages: Vec<Package>,
}

/// `PATCH /gigs/{id}`: absent fields stay, `subcategory: null` clears it, `packages` replaces
/// the whole set (packages are small and their rules are about the set). The other fields can
/// not be cleared, so `null` for them is a type error, not a silent no-op.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GigPatch {
    #[serde(default, deserialize_with = "super::user::non_null")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "super::user::non_null")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "super::user::non_null")]
    pub category: Option<String>,
    #[serde(default, with = "super::user::nullable")]
    pub subcategory: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::user::non_null")]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::user::non_null")]
    pub packages: Option<Vec<PackageDraft>>,
}

impl GigPatch {
    /// The gig's content with this patch applied, validated as a whole (so a new category is
    /// checked against the subcategory it keeps).
    pub fn apply(self, current: &Gig) -> Result<GigContent, Invalid> {
        GigDraft {
            title: self.title.unwrap_or_else(|| current.title.clone()),
            description: self
                .description
                .unwrap_or_else(|| current.description.clone()),
            category: self.category.unwrap_or_else(|| current.category.clone()),
            subcategory: self
                .subcategory
                .unwrap_or_else(|| current.subcategory.clone()),
            tags: self.tags.unwrap_or_else(|| current.tags.clone()),
            packages: self
                .packages
                .unwrap_or_else(|| current.packages.iter().map(PackageDraft::from).collect()),
        }
        .validate()
    }
}

/// Tags are matched by search, so they are stored in one form: trimmed, inner whitespace
/// collapsed, lower case.
fn normalize_tag(tag: &str) -> String {
    tag.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl GigDraft {
    /// Checks every rule, reporting each offending field (`packages[1].price_cents`).
    pub fn validate(self) -> Result<GigContent, Invalid> {
        let mut violations = Violations::new();
        let title = self.title.trim().to_owned();
        check_text(
            &mut violations,
            "title",
            &title,
            TITLE_MIN_CHARS,
            TITLE_MAX_CHARS,
        );
        violations.check(
            !title.chars().any(char::is_control),
            "title",
            "invalid_characters",
            "must not contain control characters",
        );
        let description = self.description.trim().to_owned();
        check_text(
            &mut violations,
            "description",
            &description,
            DESCRIPTION_MIN_CHARS,
            DESCRIPTION_MAX_CHARS,
        );

        let category_id = self.category.trim().to_owned();
        let category = super::category::category(&category_id);
        violations.check(
            category.is_some(),
            "category",
            "unknown_category",
            "must be a category id from GET /categories",
        );
        let subcategory = self
            .subcategory
            .map(|sub| sub.trim().to_owned())
            .filter(|sub| !sub.is_empty());
        if let (Some(sub), Some(category)) = (&subcategory, category) {
            violations.check(
                category.subcategories.iter().any(|known| known.id == sub),
                "subcategory",
                "unknown_subcategory",
                format!(
                    "must be a subcategory of {} from GET /categories",
                    category.id
                ),
            );
        }

        violations.check(
            self.tags.len() <= TAGS_MAX,
            "tags",
            "too_many",
            format!("at most {TAGS_MAX} tags"),
        );
        let mut tags: Vec<String> = Vec::new();
        for (index, tag) in self.tags.iter().enumerate() {
            let tag = normalize_tag(tag);
            let field = format!("tags[{index}]");
            check_text(&mut violations, &field, &tag, 1, TAG_MAX_CHARS);
            violations.check(
                !tag.chars().any(char::is_control),
                field,
                "invalid_characters",
                "must not contain control characters",
            );
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }

        let count = self.packages.len();
        if count == 0 {
            violations.add("packages", "required", "at least one package");
        }
        violations.check(
            count <= PACKAGES_MAX,
            "packages",
            "too_many",
            format!("at most {PACKAGES_MAX} packages (basic, standard, premium)"),
        );
        let gig_currency = self
            .packages
            .first()
            .map(|package| package.currency.trim().to_ascii_uppercase());
        let mut packages: Vec<(usize, Package)> = Vec::new();
        for (index, draft) in self.packages.into_iter().enumerate() {
            let at = |name: &str| format!("packages[{index}].{name}");
            if packages.iter().any(|(_, seen)| seen.tier == draft.tier) {
                violations.add(
                    at("tier"),
                    "duplicate_tier",
                    "each tier may appear only once",
                );
            }
            let name = draft.name.trim().to_owned();
            check_text(
                &mut violations,
                &at("name"),
                &name,
                1,
                PACKAGE_NAME_MAX_CHARS,
            );
            let description = draft.description.trim().to_owned();
            check_text(
                &mut violations,
                &at("description"),
                &description,
                1,
                PACKAGE_DESCRIPTION_MAX_CHARS,
            );
            violations.check(
                draft.price_cents > 0,
                at("price_cents"),
                "must_be_positive",
                "must be a positive integer number of cents",
            );
            violations.check(
                draft.price_cents <= PRICE_MAX_CENTS,
                at("price_cents"),
                "too_large",
                format!("must be at most {PRICE_MAX_CENTS} cents"),
            );
            let currency = draft.currency.trim().to_ascii_uppercase();
            if !is_iso_4217(&currency) {
                violations.add(
                    at("currency"),
                    "invalid_currency",
                    "must be an ISO 4217 currency code such as EUR or USD",
                );
            } else if gig_currency.as_deref() != Some(currency.as_str()) {
                violations.add(
                    at("currency"),
                    "currency_mismatch",
                    "every package of a gig must use the same currency",
                );
            }
            violations.check(
                (1..=DELIVERY_DAYS_MAX).contains(&draft.delivery_days),
                at("delivery_days"),
                "out_of_range",
                format!("must be between 1 and {DELIVERY_DAYS_MAX} days"),
            );
            if let Revisions::Limited(revisions) = draft.revisions {
                violations.check(
                    revisions <= REVISIONS_MAX,
                    at("revisions"),
                    "out_of_range",
                    format!("must be 0..{REVISIONS_MAX} or \"unlimited\""),
                );
            }
            violations.check(
                draft.features.len() <= FEATURES_MAX,
                at("features"),
                "too_many",
                format!("at most {FEATURES_MAX} features"),
            );
            let mut features = Vec::with_capacity(draft.features.len());
            for (feature_index, feature) in draft.features.iter().enumerate() {
                let feature = feature.trim().to_owned();
                check_text(
                    &mut violations,
                    &format!("packages[{index}].features[{feature_index}]"),
                    &feature,
                    1,
                    FEATURE_MAX_CHARS,
                );
                features.push(feature);
            }
            packages.push((
                index,
                Package {
                    tier: draft.tier,
                    name,
                    description,
                    price_cents: draft.price_cents,
                    currency,
                    delivery_days: draft.delivery_days,
                    revisions: draft.revisions,
                    features,
                },
            ));
        }
        // A higher tier must not undercut any lower one: clients read tiers as "more for more".
        for (index, package) in &packages {
            let dearest_lower = packages
                .iter()
                .filter(|(_, other)| other.tier < package.tier)
                .map(|(_, other)| other.price_cents)
                .max();
            if package.price_cents > 0
                && dearest_lower.is_some_and(|lower| package.price_cents < lower)
            {
                violations.add(
                    format!("packages[{index}].price_cents"),
                    "cheaper_than_lower_tier",
                    "may not cost less than a lower tier's package",
                );
            }
        }
        packages.sort_by_key(|(_, package)| package.tier);
        violations.into_result()?;
        Ok(GigContent {
            title,
            description,
            category: category_id,
            subcategory,
            tags,
            packages: packages.into_iter().map(|(_, package)| package).collect(),
        })
    }
}

/// Active ISO 4217 codes (no metals, funds or test codes).
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

pub fn is_iso_4217(code: &str) -> bool {
    ISO_4217.contains(&code)
}

// ---------------------------------------------------------------------------------------------
// Lifecycle: which status a gig moves to, and who sees it.
// ---------------------------------------------------------------------------------------------

impl GigStatus {
    /// The status a new gig starts in.
    pub fn initial(auto_approve: bool) -> Self {
        if auto_approve {
            Self::Active
        } else {
            Self::PendingReview
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingReview => "pending_review",
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Rejected => "rejected",
            Self::Archived => "archived",
        }
    }

    fn refuse(self, action: &'static str) -> GigRefusal {
        GigRefusal::WrongStatus {
            status: self,
            action,
        }
    }

    /// After a content edit. With review required every edit goes (back) to review, because
    /// what was approved is no longer what is shown; with auto-approval an active or paused gig
    /// keeps its status and a pending or rejected one becomes active.
    pub fn after_edit(self, auto_approve: bool) -> Result<Self, GigRefusal> {
        match (self, auto_approve) {
            (Self::Archived, _) => Err(self.refuse("edited")),
            (_, false) => Ok(Self::PendingReview),
            (Self::Paused, true) => Ok(Self::Paused),
            (_, true) => Ok(Self::Active),
        }
    }

    pub fn approve(self) -> Result<Self, GigRefusal> {
        match self {
            Self::PendingReview => Ok(Self::Active),
            _ => Err(self.refuse("approved")),
        }
    }

    /// Moderation may refuse a gig in review or take down an active one.
    pub fn reject(self) -> Result<Self, GigRefusal> {
        match self {
            Self::PendingReview | Self::Active | Self::Paused => Ok(Self::Rejected),
            _ => Err(self.refuse("rejected")),
        }
    }

    pub fn pause(self) -> Result<Self, GigRefusal> {
        match self {
            Self::Active => Ok(Self::Paused),
            _ => Err(self.refuse("paused")),
        }
    }

    pub fn resume(self) -> Result<Self, GigRefusal> {
        match self {
            Self::Paused => Ok(Self::Active),
            _ => Err(self.refuse("resumed")),
        }
    }
}

/// Why a gig change is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GigRefusal {
    /// The status does not allow the change (approve an active gig, pause a paused one...).
    WrongStatus {
        status: GigStatus,
        action: &'static str,
    },
    /// Archiving while orders are open: they still need the gig.
    HasOpenOrders { open_orders: u64 },
}

pub const REJECTION_REASON_MAX_CHARS: usize = 1_000;

/// `POST /gigs/{id}/reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    pub reason: String,
}

impl Rejection {
    pub fn validate(self) -> Result<String, Invalid> {
        required_text("reason", &self.reason, 1, REJECTION_REASON_MAX_CHARS)
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

    /// Only a gig without open orders may be archived: its orders still need it.
    pub fn check_archivable(&self) -> Result<(), GigRefusal> {
        if self.open_orders > 0 {
            return Err(GigRefusal::HasOpenOrders {
                open_orders: self.open_orders,
            });
        }
        Ok(())
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
        (self.rating_sum * 100 + self.rating_count / 2)
            .checked_div(self.rating_count)
            .unwrap_or(0)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn package(tier: Tier, price_cents: u64) -> PackageDraft {
        PackageDraft {
            tier,
            name: "Package".into(),
            description: "What it includes".into(),
            price_cents,
            currency: "eur".into(),
            delivery_days: 3,
            revisions: Revisions::Limited(1),
            features: vec![],
        }
    }

    fn draft(packages: Vec<PackageDraft>) -> GigDraft {
        GigDraft {
            title: "A logo for your company".into(),
            description: "Vector logo with three concepts and revisions.".into(),
            category: "graphics-design".into(),
            subcategory: Some("logo-design".into()),
            tags: vec![" Flat  Logo ".into(), "flat logo".into()],
            packages,
        }
    }

    fn fields(result: Result<GigContent, Invalid>) -> Vec<(String, &'static str)> {
        match result {
            Err(Invalid(errors)) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn valid_drafts_are_normalised_and_ordered_by_tier() {
        let content = draft(vec![package(Tier::Premium, 900), package(Tier::Basic, 100)])
            .validate()
            .unwrap();
        assert_eq!(content.tags, vec!["flat logo"]);
        let tiers: Vec<Tier> = content.packages.iter().map(|p| p.tier).collect();
        assert_eq!(tiers, vec![Tier::Basic, Tier::Premium]);
        assert_eq!(content.packages[0].currency, "EUR");
    }

    #[test]
    fn a_higher_tier_may_not_undercut_any_lower_one() {
        assert_eq!(
            fields(
                draft(vec![
                    package(Tier::Basic, 500),
                    package(Tier::Standard, 400),
                    package(Tier::Premium, 450),
                ])
                .validate()
            ),
            vec![
                (
                    "packages[1].price_cents".to_owned(),
                    "cheaper_than_lower_tier"
                ),
                (
                    "packages[2].price_cents".to_owned(),
                    "cheaper_than_lower_tier"
                ),
            ]
        );
        let mut other_currency = package(Tier::Standard, 600);
        other_currency.currency = "USD".into();
        assert_eq!(
            fields(draft(vec![package(Tier::Basic, 500), other_currency]).validate()),
            vec![("packages[1].currency".to_owned(), "currency_mismatch")]
        );
    }

    #[test]
    fn status_moves_follow_the_lifecycle() {
        use GigStatus::*;
        assert_eq!(PendingReview.approve().unwrap(), Active);
        assert!(Active.approve().is_err());
        assert_eq!(Active.pause().unwrap(), Paused);
        assert!(Paused.pause().is_err());
        assert_eq!(Paused.resume().unwrap(), Active);
        assert!(Archived.reject().is_err());
        assert_eq!(Active.after_edit(false).unwrap(), PendingReview);
        assert_eq!(Paused.after_edit(true).unwrap(), Paused);
        assert_eq!(Rejected.after_edit(true).unwrap(), Active);
        assert!(Archived.after_edit(true).is_err());
        assert_eq!(GigStatus::initial(false), PendingReview);
    }

    #[test]
    fn if_match_names_the_current_version() {
        let content = draft(vec![package(Tier::Basic, 100)]).validate().unwrap();
        let gig = Gig::new(
            Uuid::new_v4(),
            content,
            GigStatus::Active,
            OffsetDateTime::now_utc(),
        );
        assert_eq!(gig.etag(), "\"1\"");
        assert!(gig.matches_if_match("\"1\""));
        assert!(gig.matches_if_match("\"7\", \"1\""));
        assert!(gig.matches_if_match("*"));
        assert!(!gig.matches_if_match("\"2\""));
        assert!(
            !gig.matches_if_match("W/\"1\""),
            "weak tags never match If-Match"
        );
        let edited = gig.edited(gig.content(), GigStatus::Active, OffsetDateTime::now_utc());
        assert_eq!(edited.version, 2);
        assert!(!edited.matches_if_match("\"1\""));
    }
}

//! Creating and editing: the rules a gig's content must meet, every offending field reported.

use serde::Deserialize;

use super::{Gig, Package, Revisions, Tier};
use crate::domain::{Invalid, Violations, check_text};

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
    #[serde(default, deserialize_with = "crate::domain::user::non_null")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::user::non_null")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::user::non_null")]
    pub category: Option<String>,
    #[serde(default, with = "crate::domain::user::nullable")]
    pub subcategory: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::user::non_null")]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::domain::user::non_null")]
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
        let category = crate::domain::category::category(&category_id);
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

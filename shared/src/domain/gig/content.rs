//! Creating and editing: the rules a gig's content must meet, every offending field reported.

use serde::Deserialize;

use super::fields::{
    CategoryId, Currency, Description, PriceCents, SubcategoryId, Tags, Title, delivery_days,
    features, package_description, package_field, package_name, record,
};
use super::{Gig, Package, Revisions, Tier};
use crate::domain::{Invalid, Violations};

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
    /// The revisions a purchase includes, 0..=10; not used when `unlimited_revisions` is set.
    pub revisions: u32,
    /// No limit on revisions (plain types on the wire: every client generator reads them).
    #[serde(default)]
    pub unlimited_revisions: bool,
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
            revisions: package.revisions.count(),
            unlimited_revisions: package.revisions == Revisions::Unlimited,
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

impl GigDraft {
    /// Checks every rule, reporting each offending field (`packages[1].price_cents`): each field
    /// has its parser in `fields`, and the set of packages has the rules that span them.
    pub fn validate(self) -> Result<GigContent, Invalid> {
        let mut violations = Violations::new();
        let title = record(&mut violations, Title::parse(&self.title));
        let description = record(&mut violations, Description::parse(&self.description));
        let category = record(&mut violations, CategoryId::parse(&self.category));
        let subcategory = record(
            &mut violations,
            SubcategoryId::parse(self.subcategory.as_deref(), category),
        );
        let tags = record(&mut violations, Tags::parse(&self.tags));
        let packages = record(&mut violations, parse_packages(self.packages));
        match (title, description, category, subcategory, tags, packages) {
            (
                Some(title),
                Some(description),
                Some(category),
                Some(subcategory),
                Some(tags),
                Some(packages),
            ) => Ok(GigContent {
                title: title.into_inner(),
                description: description.into_inner(),
                category: category.into_inner(),
                subcategory: subcategory.into_inner(),
                tags: tags.into_inner(),
                packages,
            }),
            _ => Err(violations
                .into_result()
                .expect_err("a field without a value has an error")),
        }
    }
}

/// One to three packages, each valid, of distinct tiers and one currency, where no higher tier
/// undercuts a lower one; returned in tier order.
fn parse_packages(drafts: Vec<PackageDraft>) -> Result<Vec<Package>, Invalid> {
    let mut violations = Violations::new();
    if drafts.is_empty() {
        violations.add("packages", "required", "at least one package");
    }
    violations.check(
        drafts.len() <= PACKAGES_MAX,
        "packages",
        "too_many",
        format!("at most {PACKAGES_MAX} packages (basic, standard, premium)"),
    );
    let gig_currency = drafts
        .first()
        .map(|package| package.currency.trim().to_ascii_uppercase());
    let mut packages = Vec::with_capacity(drafts.len());
    for (index, draft) in drafts.iter().enumerate() {
        if drafts[..index].iter().any(|seen| seen.tier == draft.tier) {
            violations.add(
                package_field(index, "tier"),
                "duplicate_tier",
                "each tier may appear only once",
            );
        }
        if let Some(package) = record(&mut violations, draft.parse(index, gig_currency.as_deref()))
        {
            packages.push(package);
        }
    }
    // A higher tier must not undercut any lower one: clients read tiers as "more for more".
    for (index, draft) in drafts.iter().enumerate() {
        let dearest_lower = drafts
            .iter()
            .filter(|other| other.tier < draft.tier)
            .map(|other| other.price_cents)
            .max();
        if draft.price_cents > 0 && dearest_lower.is_some_and(|lower| draft.price_cents < lower) {
            violations.add(
                package_field(index, "price_cents"),
                "cheaper_than_lower_tier",
                "may not cost less than a lower tier's package",
            );
        }
    }
    violations.into_result()?;
    packages.sort_by_key(|package| package.tier);
    Ok(packages)
}

impl PackageDraft {
    /// This package (the `index`th of the gig) as stored, or every field it gets wrong.
    fn parse(&self, index: usize, gig_currency: Option<&str>) -> Result<Package, Invalid> {
        let mut violations = Violations::new();
        let name = record(&mut violations, package_name(index, &self.name));
        let description = record(
            &mut violations,
            package_description(index, &self.description),
        );
        let price = record(&mut violations, PriceCents::parse(index, self.price_cents));
        let currency = record(
            &mut violations,
            Currency::parse(index, &self.currency, gig_currency),
        );
        let delivery_days = record(&mut violations, delivery_days(index, self.delivery_days));
        let revisions = record(
            &mut violations,
            Revisions::parse(index, self.revisions, self.unlimited_revisions),
        );
        let features = record(&mut violations, features(index, &self.features));
        match (
            name,
            description,
            price,
            currency,
            delivery_days,
            revisions,
            features,
        ) {
            (
                Some(name),
                Some(description),
                Some(price),
                Some(currency),
                Some(delivery_days),
                Some(revisions),
                Some(features),
            ) => Ok(Package {
                tier: self.tier,
                name,
                description,
                price_cents: price.cents(),
                currency: currency.into_inner(),
                delivery_days,
                revisions,
                features,
            }),
            _ => Err(violations
                .into_result()
                .expect_err("a field without a value has an error")),
        }
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

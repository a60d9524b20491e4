//! One parser per field of a gig's content: each takes what the client sent and gives back the
//! normalised value or every rule it breaks, named by the field's path (`packages[1].currency`).
//! `GigDraft::validate` composes them; each is unit-tested on its own.

use super::{
    DELIVERY_DAYS_MAX, DESCRIPTION_MAX_CHARS, DESCRIPTION_MIN_CHARS, FEATURE_MAX_CHARS,
    FEATURES_MAX, PACKAGE_DESCRIPTION_MAX_CHARS, PACKAGE_NAME_MAX_CHARS, PRICE_MAX_CENTS,
    REVISIONS_MAX, Revisions, TAG_MAX_CHARS, TAGS_MAX, TITLE_MAX_CHARS, TITLE_MIN_CHARS,
    is_iso_4217,
};
use crate::domain::category::{self, Category};
use crate::domain::{Invalid, Violations, check_text, display_text, required_text};

/// Keeps a parser's value, or records its errors in `violations` and keeps nothing.
pub(super) fn record<T>(violations: &mut Violations, parsed: Result<T, Invalid>) -> Option<T> {
    match parsed {
        Ok(value) => Some(value),
        Err(Invalid(errors)) => {
            for error in errors {
                violations.add(error.field, error.code, error.message);
            }
            None
        }
    }
}

/// Titles and tags show up in lists and mails, where a control character breaks the layout.
fn check_printable(violations: &mut Violations, field: &str, text: &str) {
    violations.check(
        !text.chars().any(char::is_control),
        field,
        "invalid_characters",
        "must not contain control characters",
    );
}

/// A gig's title: shown as [`display_text`] makes it, 10..=100 characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let title = display_text(raw);
        let title = title.as_str();
        let mut violations = Violations::new();
        check_text(
            &mut violations,
            "title",
            title,
            TITLE_MIN_CHARS,
            TITLE_MAX_CHARS,
        );
        check_printable(&mut violations, "title", title);
        violations.into_result().map(|()| Self(title.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A gig's description: trimmed, 20..=5,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        required_text(
            "description",
            raw,
            DESCRIPTION_MIN_CHARS,
            DESCRIPTION_MAX_CHARS,
        )
        .map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A category id from `GET /categories`, with the category it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryId(&'static Category);

impl CategoryId {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        category::category(raw.trim()).map(Self).ok_or_else(|| {
            Invalid::field(
                "category",
                "unknown_category",
                "must be a category id from GET /categories",
            )
        })
    }

    pub fn category(self) -> &'static Category {
        self.0
    }

    pub fn into_inner(self) -> String {
        self.0.id.to_owned()
    }
}

/// An optional subcategory id: blank means none. It is checked against `category` only when that
/// one is known (an unknown category is its own error, not its subcategory's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubcategoryId(Option<String>);

impl SubcategoryId {
    pub fn parse(raw: Option<&str>, category: Option<CategoryId>) -> Result<Self, Invalid> {
        let subcategory = raw.map(str::trim).filter(|sub| !sub.is_empty());
        if let (Some(sub), Some(CategoryId(category))) = (subcategory, category)
            && !category.subcategories.iter().any(|known| known.id == sub)
        {
            return Err(Invalid::field(
                "subcategory",
                "unknown_subcategory",
                format!(
                    "must be a subcategory of {} from GET /categories",
                    category.id
                ),
            ));
        }
        Ok(Self(subcategory.map(str::to_owned)))
    }

    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

/// One search tag, stored in one form: trimmed, inner whitespace collapsed, lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag(String);

impl Tag {
    /// `index` names the field (`tags[2]`).
    pub fn parse(index: usize, raw: &str) -> Result<Self, Invalid> {
        let tag = display_text(raw)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let field = format!("tags[{index}]");
        let mut violations = Violations::new();
        check_text(&mut violations, &field, &tag, 1, TAG_MAX_CHARS);
        check_printable(&mut violations, &field, &tag);
        violations.into_result().map(|()| Self(tag))
    }
}

/// A gig's tags: at most five, each a valid [`Tag`], duplicates (after normalising) dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags(Vec<String>);

impl Tags {
    pub fn parse(raw: &[String]) -> Result<Self, Invalid> {
        let mut violations = Violations::new();
        violations.check(
            raw.len() <= TAGS_MAX,
            "tags",
            "too_many",
            format!("at most {TAGS_MAX} tags"),
        );
        let mut tags = Vec::new();
        for (index, tag) in raw.iter().enumerate() {
            if let Some(Tag(tag)) = record(&mut violations, Tag::parse(index, tag))
                && !tags.contains(&tag)
            {
                tags.push(tag);
            }
        }
        violations.into_result().map(|()| Self(tags))
    }

    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

/// The field path of one package's field: `packages[1].price_cents`.
pub fn package_field(index: usize, name: &str) -> String {
    format!("packages[{index}].{name}")
}

/// A package's name: trimmed, 1..=60 characters.
pub fn package_name(index: usize, raw: &str) -> Result<String, Invalid> {
    required_text(
        &package_field(index, "name"),
        raw,
        1,
        PACKAGE_NAME_MAX_CHARS,
    )
}

/// A package's description: trimmed, 1..=1,000 characters.
pub fn package_description(index: usize, raw: &str) -> Result<String, Invalid> {
    required_text(
        &package_field(index, "description"),
        raw,
        1,
        PACKAGE_DESCRIPTION_MAX_CHARS,
    )
}

/// A package's price in integer cents: positive, and at most [`PRICE_MAX_CENTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceCents(u64);

impl PriceCents {
    pub fn parse(index: usize, cents: u64) -> Result<Self, Invalid> {
        let field = package_field(index, "price_cents");
        let mut violations = Violations::new();
        violations.check(
            cents > 0,
            &field,
            "must_be_positive",
            "must be a positive integer number of cents",
        );
        violations.check(
            cents <= PRICE_MAX_CENTS,
            field,
            "too_large",
            format!("must be at most {PRICE_MAX_CENTS} cents"),
        );
        violations.into_result().map(|()| Self(cents))
    }

    pub fn cents(self) -> u64 {
        self.0
    }
}

/// A package's currency: an ISO 4217 code (any case, stored upper case), the same as the gig's
/// first package's (`gig_currency`, already upper case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    pub fn parse(index: usize, raw: &str, gig_currency: Option<&str>) -> Result<Self, Invalid> {
        let currency = raw.trim().to_ascii_uppercase();
        let field = package_field(index, "currency");
        if !is_iso_4217(&currency) {
            Err(Invalid::field(
                field,
                "invalid_currency",
                "must be an ISO 4217 currency code such as EUR or USD",
            ))
        } else if gig_currency != Some(currency.as_str()) {
            Err(Invalid::field(
                field,
                "currency_mismatch",
                "every package of a gig must use the same currency",
            ))
        } else {
            Ok(Self(currency))
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A package's delivery time: 1..=90 days.
pub fn delivery_days(index: usize, days: u32) -> Result<u32, Invalid> {
    if (1..=DELIVERY_DAYS_MAX).contains(&days) {
        Ok(days)
    } else {
        Err(Invalid::field(
            package_field(index, "delivery_days"),
            "out_of_range",
            format!("must be between 1 and {DELIVERY_DAYS_MAX} days"),
        ))
    }
}

impl Revisions {
    /// A package's revisions as sent: a count 0..=10, and `unlimited` to lift the limit.
    pub fn parse(index: usize, count: u32, unlimited: bool) -> Result<Self, Invalid> {
        if count > REVISIONS_MAX {
            return Err(Invalid::field(
                package_field(index, "revisions"),
                "out_of_range",
                format!("must be 0..{REVISIONS_MAX} (unlimited_revisions lifts the limit)"),
            ));
        }
        Ok(if unlimited {
            Self::Unlimited
        } else {
            Self::Limited(count)
        })
    }
}

/// A package's feature list: at most ten, each trimmed and 1..=80 characters.
pub fn features(index: usize, raw: &[String]) -> Result<Vec<String>, Invalid> {
    let mut violations = Violations::new();
    violations.check(
        raw.len() <= FEATURES_MAX,
        package_field(index, "features"),
        "too_many",
        format!("at most {FEATURES_MAX} features"),
    );
    let features = raw
        .iter()
        .enumerate()
        .filter_map(|(feature_index, feature)| {
            let field = package_field(index, &format!("features[{feature_index}]"));
            record(
                &mut violations,
                required_text(&field, feature, 1, FEATURE_MAX_CHARS),
            )
        })
        .collect();
    violations.into_result().map(|()| features)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes<T: std::fmt::Debug>(result: Result<T, Invalid>) -> Vec<(String, &'static str)> {
        match result {
            Err(Invalid(errors)) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            Ok(value) => panic!("expected a refusal, got {value:?}"),
        }
    }

    fn at(field: &str, code: &'static str) -> Vec<(String, &'static str)> {
        vec![(field.to_owned(), code)]
    }

    #[test]
    fn titles_are_trimmed_sized_and_printable() {
        assert_eq!(
            Title::parse("  A logo for your shop ")
                .unwrap()
                .into_inner(),
            "A logo for your shop"
        );
        assert_eq!(codes(Title::parse("   ")), at("title", "required"));
        assert_eq!(codes(Title::parse("Logo")), at("title", "too_short"));
        assert_eq!(
            codes(Title::parse(&"x".repeat(101))),
            at("title", "too_long")
        );
        assert_eq!(
            codes(Title::parse("A logo\u{7}for your shop")),
            at("title", "invalid_characters")
        );
        // Ten characters, not ten bytes.
        assert!(Title::parse("ééééééééé").is_err());
        assert!(Title::parse("éééééééééé").is_ok());
        // A right-to-left override would make lists and mails show "cod.exe" as "exe.doc".
        assert_eq!(
            Title::parse("Logo design \u{202E}cod.exe\u{202C}")
                .unwrap()
                .into_inner(),
            "Logo design cod.exe"
        );
        // Decomposed accents are stored composed, so they count (and compare) as one character.
        assert_eq!(
            Title::parse("Caf\u{0065}\u{0301} logo design")
                .unwrap()
                .into_inner(),
            "Caf\u{00E9} logo design"
        );
    }

    #[test]
    fn descriptions_are_trimmed_and_sized() {
        assert_eq!(
            Description::parse(" Twenty characters at least ")
                .unwrap()
                .into_inner(),
            "Twenty characters at least"
        );
        assert_eq!(
            codes(Description::parse("short")),
            at("description", "too_short")
        );
        assert_eq!(
            codes(Description::parse(&"x".repeat(5_001))),
            at("description", "too_long")
        );
    }

    #[test]
    fn categories_come_from_the_tree() {
        let category = CategoryId::parse(" graphics-design ").unwrap();
        assert_eq!(category.into_inner(), "graphics-design");
        assert_eq!(
            codes(CategoryId::parse("cooking")),
            at("category", "unknown_category")
        );
    }

    #[test]
    fn subcategories_belong_to_their_category() {
        let graphics = CategoryId::parse("graphics-design").ok();
        assert_eq!(
            SubcategoryId::parse(Some(" logo-design "), graphics)
                .unwrap()
                .into_inner()
                .as_deref(),
            Some("logo-design")
        );
        assert_eq!(
            SubcategoryId::parse(Some("  "), graphics)
                .unwrap()
                .into_inner(),
            None
        );
        assert_eq!(
            codes(SubcategoryId::parse(Some("seo"), graphics)),
            at("subcategory", "unknown_subcategory")
        );
        assert!(
            SubcategoryId::parse(Some("seo"), None).is_ok(),
            "an unknown category is reported once, as the category's error"
        );
    }

    #[test]
    fn tags_are_normalised_deduplicated_and_counted() {
        let tags = Tags::parse(&[" Flat  Logo ".into(), "flat logo".into(), "SVG".into()]).unwrap();
        assert_eq!(tags.into_inner(), vec!["flat logo", "svg"]);
        let six: Vec<String> = (0..6).map(|n| format!("tag{n}")).collect();
        assert_eq!(codes(Tags::parse(&six)), at("tags", "too_many"));
        assert_eq!(
            codes(Tags::parse(&["ok".into(), " ".into(), "x".repeat(31)])),
            vec![
                ("tags[1]".to_owned(), "required"),
                ("tags[2]".to_owned(), "too_long")
            ]
        );
        assert_eq!(
            codes(Tag::parse(0, "a\u{0}b")),
            at("tags[0]", "invalid_characters")
        );
    }

    #[test]
    fn package_texts_are_trimmed_and_sized() {
        assert_eq!(package_name(0, " Basic ").unwrap(), "Basic");
        assert_eq!(
            codes(package_name(2, " ")),
            at("packages[2].name", "required")
        );
        assert_eq!(
            codes(package_description(1, &"x".repeat(1_001))),
            at("packages[1].description", "too_long")
        );
    }

    #[test]
    fn prices_are_positive_and_bounded() {
        assert_eq!(PriceCents::parse(0, 999).unwrap().cents(), 999);
        assert_eq!(
            codes(PriceCents::parse(1, 0)),
            at("packages[1].price_cents", "must_be_positive")
        );
        assert_eq!(
            codes(PriceCents::parse(1, PRICE_MAX_CENTS + 1)),
            at("packages[1].price_cents", "too_large")
        );
    }

    #[test]
    fn currencies_are_iso_codes_shared_by_the_gig() {
        assert_eq!(
            Currency::parse(0, " eur ", Some("EUR"))
                .unwrap()
                .into_inner(),
            "EUR"
        );
        assert_eq!(
            codes(Currency::parse(1, "XYZ", Some("EUR"))),
            at("packages[1].currency", "invalid_currency")
        );
        assert_eq!(
            codes(Currency::parse(1, "usd", Some("EUR"))),
            at("packages[1].currency", "currency_mismatch")
        );
    }

    #[test]
    fn delivery_takes_one_to_ninety_days() {
        assert_eq!(delivery_days(0, 1).unwrap(), 1);
        assert_eq!(delivery_days(0, 90).unwrap(), 90);
        for days in [0, 91] {
            assert_eq!(
                codes(delivery_days(0, days)),
                at("packages[0].delivery_days", "out_of_range")
            );
        }
    }

    #[test]
    fn revisions_are_a_bounded_count_or_unlimited() {
        assert_eq!(
            Revisions::parse(0, 0, false).unwrap(),
            Revisions::Limited(0)
        );
        assert_eq!(
            Revisions::parse(0, 10, false).unwrap(),
            Revisions::Limited(10)
        );
        assert_eq!(Revisions::parse(0, 0, true).unwrap(), Revisions::Unlimited);
        assert_eq!(
            codes(Revisions::parse(1, 11, false)),
            at("packages[1].revisions", "out_of_range")
        );
    }

    #[test]
    fn features_are_counted_and_each_sized() {
        assert_eq!(features(0, &[" PNG ".into()]).unwrap(), vec!["PNG"]);
        let eleven: Vec<String> = (0..11).map(|n| format!("feature {n}")).collect();
        assert_eq!(
            codes(features(0, &eleven)),
            at("packages[0].features", "too_many")
        );
        assert_eq!(
            codes(features(1, &["ok".into(), "".into()])),
            at("packages[1].features[1]", "required")
        );
    }
}

//! Browse and search requests (`GET /gigs`): which gigs a query asks for and in which order.
//! Parsing and validation only; the search index (`gigmarket-search`) answers them.

use serde::Deserialize;

use super::category;
use super::search::{MAX_QUERY_TERMS, query_terms};
use super::{Invalid, Violations};
use crate::pagination::PageParams;

pub const QUERY_MAX_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// With `q`: BM25 over title, tags and description, then rating. Without `q`: rating.
    Relevance,
    /// By the cheapest package.
    PriceAsc,
    PriceDesc,
    /// Average rating, then number of ratings.
    Rating,
    Newest,
    /// Completed orders, then rating.
    BestSelling,
}

impl SortOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relevance => "relevance",
            Self::PriceAsc => "price_asc",
            Self::PriceDesc => "price_desc",
            Self::Rating => "rating",
            Self::Newest => "newest",
            Self::BestSelling => "best_selling",
        }
    }
}

/// The query string of `GET /gigs`. Unknown parameters are a 400, like unknown body fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowseParams {
    pub q: Option<String>,
    pub category: Option<String>,
    pub subcategory: Option<String>,
    pub min_price: Option<u64>,
    pub max_price: Option<u64>,
    pub max_delivery_days: Option<u32>,
    pub min_rating: Option<f64>,
    pub sort: Option<SortOrder>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A validated browse request.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowseQuery {
    /// Normalised, stemmed, distinct; all must match.
    pub terms: Vec<String>,
    pub category: Option<String>,
    pub subcategory: Option<String>,
    /// On the cheapest package, in cents, inclusive.
    pub min_price: Option<u64>,
    pub max_price: Option<u64>,
    /// The fastest package delivers within this many days.
    pub max_delivery_days: Option<u32>,
    pub min_rating: Option<f64>,
    pub sort: SortOrder,
}

impl BrowseParams {
    pub fn validate(self) -> Result<(BrowseQuery, PageParams), Invalid> {
        let mut violations = Violations::new();
        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let terms = q.map(query_terms).unwrap_or_default();
        if let Some(q) = q {
            violations.check(
                q.chars().count() <= QUERY_MAX_CHARS,
                "q",
                "too_long",
                format!("must be at most {QUERY_MAX_CHARS} characters"),
            );
            violations.check(
                !terms.is_empty(),
                "q",
                "no_searchable_words",
                "must contain at least one word of two or more letters that is not a stop word",
            );
            violations.check(
                terms.len() <= MAX_QUERY_TERMS,
                "q",
                "too_many_words",
                format!("at most {MAX_QUERY_TERMS} distinct words"),
            );
        }
        let blank = |value: Option<String>| {
            value
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let mut category_id = blank(self.category);
        let subcategory = blank(self.subcategory);
        if let Some(id) = &category_id {
            violations.check(
                category::category(id).is_some(),
                "category",
                "unknown_category",
                "must be a category id from GET /categories",
            );
        }
        if let Some(sub) = &subcategory {
            match (category::parent_of(sub), &category_id) {
                (None, _) => violations.add(
                    "subcategory",
                    "unknown_subcategory",
                    "must be a subcategory id from GET /categories",
                ),
                (Some(parent), Some(id)) if parent.id != id => violations.add(
                    "subcategory",
                    "unknown_subcategory",
                    format!("is not a subcategory of {id}"),
                ),
                (Some(parent), _) => category_id = Some(parent.id.to_owned()),
            }
        }
        if let (Some(min), Some(max)) = (self.min_price, self.max_price) {
            violations.check(
                min <= max,
                "min_price",
                "greater_than_max_price",
                "must not be greater than max_price",
            );
        }
        if let Some(days) = self.max_delivery_days {
            violations.check(
                days >= 1,
                "max_delivery_days",
                "out_of_range",
                "must be at least 1",
            );
        }
        if let Some(rating) = self.min_rating {
            violations.check(
                rating.is_finite() && (0.0..=5.0).contains(&rating),
                "min_rating",
                "out_of_range",
                "must be between 0 and 5",
            );
        }
        violations.into_result()?;
        let sort = self.sort.unwrap_or(if terms.is_empty() {
            SortOrder::Newest
        } else {
            SortOrder::Relevance
        });
        Ok((
            BrowseQuery {
                terms,
                category: category_id,
                subcategory,
                min_price: self.min_price,
                max_price: self.max_price,
                max_delivery_days: self.max_delivery_days,
                min_rating: self.min_rating,
                sort,
            },
            PageParams {
                limit: self.limit,
                cursor: self.cursor,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Invalid;

    fn fields(params: BrowseParams) -> Vec<String> {
        match params.validate() {
            Err(Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_inferred_category() {
        let (query, _) = BrowseParams {
            subcategory: Some("seo".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(query.category.as_deref(), Some("digital-marketing"));
        assert_eq!(query.sort, SortOrder::Newest);
        let (query, _) = BrowseParams {
            q: Some("Logo designs for startups".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(query.sort, SortOrder::Relevance);
        assert_eq!(query.terms.len(), 3, "\"for\" is a stop word");
    }

    #[test]
    fn rejects_bad_filters_per_field() {
        assert_eq!(
            fields(BrowseParams {
                q: Some("the".into()),
                category: Some("cooking".into()),
                min_price: Some(10),
                max_price: Some(5),
                min_rating: Some(7.0),
                max_delivery_days: Some(0),
                ..Default::default()
            }),
            vec![
                "q",
                "category",
                "min_price",
                "max_delivery_days",
                "min_rating"
            ]
        );
        assert_eq!(
            fields(BrowseParams {
                category: Some("music-audio".into()),
                subcategory: Some("seo".into()),
                ..Default::default()
            }),
            vec!["subcategory"]
        );
    }
}

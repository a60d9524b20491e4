//! Searching the index: one request in, one page with its facets and cursor out.
//!
//! Every word of `q` must match (in the title, a tag or the description), as in the DynamoDB
//! search; a word matches exactly (scored by BM25, title ×3, tags ×2, description ×1) or within
//! its typo allowance (a constant score under the exact one, so the exact spelling ranks first).
//! Filters are part of the query, so a page is full until the results run out.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, OnceLock};

use gigmarket_shared::domain::browse::SortOrder;
use gigmarket_shared::domain::search::{fold_words, stem};
use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder};
use tantivy::collector::sort_key::NaturalComparator;
use tantivy::collector::{
    Collector, Count, SegmentCollector, SegmentSortKeyComputer, SortKeyComputer, TopDocs,
};
use tantivy::columnar::ColumnValues;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocId, Score, Searcher, SegmentReader, TantivyDocument, Term};
use uuid::Uuid;

use crate::cursor::Cursor;
use crate::index::{GigIndex, SearchError};
use crate::schema::{self, Fields};

/// BM25 boosts per field (as `domain::search`'s term weights).
const TITLE_BOOST: Score = 3.0;
const TAGS_BOOST: Score = 2.0;
const DESCRIPTION_BOOST: Score = 1.0;
/// A typo or prefix match scores this constant times its field's boost: below a typical exact
/// BM25 score, so the exact spelling ranks first and the typo still ranks by field.
const LOOSE_MATCH_SCORE: Score = 0.5;
/// A last word this long or longer also matches as a prefix (the user may still be typing).
const PREFIX_MIN_CHARS: usize = 3;
/// Fewer results than this and a corrected query may be suggested ("did you mean").
const FEW_RESULTS: usize = 5;
/// The deepest result a cursor may ask for: deeper pages cost a sort of everything before them.
pub const MAX_OFFSET: usize = 10_000;

/// Price bands of the facets, in cents: `[from, to)`, the last open-ended.
pub const PRICE_BANDS: &[PriceBand] = &[
    PriceBand {
        from_cents: 0,
        to_cents: Some(2_500),
    },
    PriceBand {
        from_cents: 2_500,
        to_cents: Some(5_000),
    },
    PriceBand {
        from_cents: 5_000,
        to_cents: Some(10_000),
    },
    PriceBand {
        from_cents: 10_000,
        to_cents: Some(25_000),
    },
    PriceBand {
        from_cents: 25_000,
        to_cents: None,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceBand {
    pub from_cents: u64,
    pub to_cents: Option<u64>,
}

/// Result orders. Each breaks ties by the next key, then by relevance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// BM25 score, then rating. Without words: rating.
    #[default]
    Relevance,
    /// By the cheapest package.
    PriceAsc,
    PriceDesc,
    /// Average rating, then number of ratings.
    Rating,
    Newest,
    /// Order count, then rating.
    BestSelling,
}

impl From<SortOrder> for Sort {
    /// `GET /gigs`' `sort` parameter.
    fn from(order: SortOrder) -> Self {
        match order {
            SortOrder::Relevance => Self::Relevance,
            SortOrder::PriceAsc => Self::PriceAsc,
            SortOrder::PriceDesc => Self::PriceDesc,
            SortOrder::Rating => Self::Rating,
            SortOrder::Newest => Self::Newest,
            SortOrder::BestSelling => Self::BestSelling,
        }
    }
}

/// A search as `GET /gigs` passes it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Free text; empty browses.
    pub q: String,
    pub category: Option<String>,
    pub subcategory: Option<String>,
    /// On the cheapest package, in cents, inclusive.
    pub min_price: Option<u64>,
    pub max_price: Option<u64>,
    /// The fastest package delivers within this many days.
    pub max_delivery_days: Option<u32>,
    /// In hundredths of a star (`rating_centi`), inclusive.
    pub min_rating_centi: Option<u64>,
    pub sort: Sort,
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// The page's gigs, in order; the caller reads them from the table.
    pub gig_ids: Vec<Uuid>,
    /// Results of the whole query.
    pub total: usize,
    pub facets: Facets,
    /// A corrected query with more results, when this one has few.
    pub did_you_mean: Option<String>,
    /// The query these results are for, when the one typed found nothing and its correction
    /// did ("Showing results for ..."); `did_you_mean` is then empty.
    pub corrected_query: Option<String>,
    pub next_cursor: Option<Cursor>,
    /// The index version the page was read from.
    pub version: u64,
}

/// Counts for the current query: per category (ignoring the category filter, so the other
/// categories can be offered) and per price band (ignoring the price filter).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facets {
    pub categories: Vec<CategoryCount>,
    pub price_bands: Vec<PriceBandCount>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryCount {
    pub category: &'static str,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceBandCount {
    pub band: PriceBand,
    pub count: u64,
}

/// One word of the query: as typed (folded) and as indexed (stemmed).
struct Word {
    folded: String,
    term: String,
}

fn words(q: &str) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    for folded in fold_words(q) {
        let term = stem(&folded);
        if !words.iter().any(|word| word.term == term) {
            words.push(Word { folded, term });
        }
    }
    words
}

/// Edits a word typed with this many characters may be away from an indexed term: 1 from 5,
/// 2 from 9.
fn typo_allowance(chars: usize) -> u8 {
    match chars {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Which filters a query carries; a facet leaves its own out.
#[derive(Clone, Copy)]
struct Without {
    category: bool,
    price: bool,
}

const ALL_FILTERS: Without = Without {
    category: false,
    price: false,
};

impl GigIndex {
    /// One page of `request`. A query that finds nothing is answered with its correction's
    /// results when the correction finds some (a short misspelled word, `loo`, has no typo
    /// allowance of its own).
    pub fn search(&self, request: &SearchRequest) -> Result<SearchPage, SearchError> {
        let page = self.search_as_typed(request)?;
        if page.total > 0 {
            return Ok(page);
        }
        let Some(corrected) = page.did_you_mean.clone() else {
            return Ok(page);
        };
        let mut instead = self.search_as_typed(&SearchRequest {
            q: corrected.clone(),
            ..request.clone()
        })?;
        if instead.total == 0 {
            return Ok(page);
        }
        instead.did_you_mean = None;
        instead.corrected_query = Some(corrected);
        Ok(instead)
    }

    fn search_as_typed(&self, request: &SearchRequest) -> Result<SearchPage, SearchError> {
        let searcher = self.reader().searcher();
        let fields = self.fields();
        let offset = request.cursor.map_or(0, |cursor| cursor.offset);
        if offset > MAX_OFFSET {
            return Err(SearchError::InvalidCursor);
        }
        let limit = request.limit.max(1);
        let words = words(&request.q);
        let query = self.query(&words, request, ALL_FILTERS)?;
        let top = TopDocs::with_limit(limit).and_offset(offset);
        let keys = top.order_by(SortBy {
            sort: request.sort,
            scored: !words.is_empty(),
        });
        let (hits, total) = searcher.search(&query, &(keys, Count))?;
        let gig_ids = hits
            .iter()
            .map(|(_, address)| {
                let document: TantivyDocument = searcher.doc(*address)?;
                let id = document
                    .get_first(fields.id)
                    .and_then(|value| value.as_str())
                    .and_then(|raw| Uuid::parse_str(raw).ok())
                    .ok_or_else(|| {
                        tantivy::TantivyError::InternalError("a document without an id".to_owned())
                    })?;
                Ok(id)
            })
            .collect::<Result<Vec<_>, SearchError>>()?;
        let facets = self.facets(&searcher, &words, request)?;
        let did_you_mean = if total < FEW_RESULTS && !words.is_empty() {
            self.did_you_mean(&searcher, &words, request, total)?
        } else {
            None
        };
        let next = offset + gig_ids.len();
        Ok(SearchPage {
            next_cursor: (next < total && !gig_ids.is_empty()).then_some(Cursor {
                version: self.version(),
                offset: next,
            }),
            gig_ids,
            total,
            facets,
            did_you_mean,
            corrected_query: None,
            version: self.version(),
        })
    }

    /// The words (all required) and the filters as one query.
    fn query(
        &self,
        words: &[Word],
        request: &SearchRequest,
        without: Without,
    ) -> Result<Box<dyn Query>, SearchError> {
        let fields = self.fields();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        // Under a sort by a key (price, rating, newest, orders) the score no longer puts title
        // matches first, so a word must be in the title or the tags: a gig that only mentions it
        // in its description is not about it.
        let searched: &[TextField] = if request.sort == Sort::Relevance {
            &[TextField::Title, TextField::Tags, TextField::Description]
        } else {
            &[TextField::Title, TextField::Tags]
        };
        for (index, word) in words.iter().enumerate() {
            let last = index + 1 == words.len();
            clauses.push((Occur::Must, word_query(fields, searched, word, last)));
        }
        let mut filter = |query: Box<dyn Query>| {
            // Filters select; only the words score.
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0))));
        };
        if let (Some(category), false) = (&request.category, without.category) {
            let code = schema::category_code(category).unwrap_or(u64::MAX);
            filter(exact(fields.category, code));
        }
        if let Some(subcategory) = &request.subcategory {
            let code = schema::subcategory_code(subcategory).unwrap_or(u64::MAX);
            filter(exact(fields.subcategory, code));
        }
        if !without.price && (request.min_price.is_some() || request.max_price.is_some()) {
            filter(range(fields.price, request.min_price, request.max_price));
        }
        if let Some(days) = request.max_delivery_days {
            filter(range(fields.delivery_days, None, Some(u64::from(days))));
        }
        if let Some(rating) = request.min_rating_centi {
            filter(range(fields.rating, Some(rating), None));
        }
        if words.is_empty() {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    fn facets(
        &self,
        searcher: &Searcher,
        words: &[Word],
        request: &SearchRequest,
    ) -> Result<Facets, SearchError> {
        let by_category = self.query(
            words,
            request,
            Without {
                category: true,
                price: false,
            },
        )?;
        let categories = searcher.search(&by_category, &ColumnCounts::new("category", |v| v))?;
        let by_price = self.query(
            words,
            request,
            Without {
                category: false,
                price: true,
            },
        )?;
        let bands = searcher.search(&by_price, &ColumnCounts::new("price", price_band))?;
        Ok(Facets {
            categories: categories
                .into_iter()
                .filter_map(|(code, count)| {
                    Some(CategoryCount {
                        category: schema::category_id(code)?,
                        count,
                    })
                })
                .collect(),
            price_bands: PRICE_BANDS
                .iter()
                .enumerate()
                .map(|(index, band)| PriceBandCount {
                    band: *band,
                    count: bands.get(&(index as u64)).copied().unwrap_or(0),
                })
                .collect(),
        })
    }

    /// Each word absent from the title and tag vocabulary replaced by the closest word there
    /// (most gigs on a tie); suggested when that finds more results.
    fn did_you_mean(
        &self,
        searcher: &Searcher,
        words: &[Word],
        request: &SearchRequest,
        total: usize,
    ) -> Result<Option<String>, SearchError> {
        let fields = self.fields();
        let mut corrected: Vec<Word> = Vec::new();
        let mut changed = false;
        for word in words {
            let known = searcher.doc_freq(&Term::from_field_text(fields.spelling, &word.folded))?;
            let replacement = if known == 0 {
                closest_word(searcher, fields.spelling, &word.folded)?
            } else {
                None
            };
            match replacement {
                Some(folded) => {
                    changed = true;
                    corrected.push(Word {
                        term: stem(&folded),
                        folded,
                    });
                }
                None => corrected.push(Word {
                    folded: word.folded.clone(),
                    term: word.term.clone(),
                }),
            }
        }
        if !changed {
            return Ok(None);
        }
        let query = self.query(&corrected, request, ALL_FILTERS)?;
        let corrected_total = searcher.search(&query, &Count)?;
        Ok((corrected_total > total).then(|| {
            corrected
                .iter()
                .map(|word| word.folded.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        }))
    }
}

/// The searched text fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextField {
    Title,
    Tags,
    Description,
}

/// A word in any of `searched`: exact (BM25), within its typo allowance, or (the last word) as
/// a prefix.
fn word_query(fields: &Fields, searched: &[TextField], word: &Word, last: bool) -> Box<dyn Query> {
    // The allowance follows the word as typed (a user's typo is in that word); the edits are
    // counted on the stems, which is what the index holds.
    let allowance = typo_allowance(word.folded.chars().count());
    let chars = word.term.chars().count();
    let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for searched in searched {
        let (field, boost) = match searched {
            TextField::Title => (fields.title, TITLE_BOOST),
            TextField::Tags => (fields.tags, TAGS_BOOST),
            TextField::Description => (fields.description, DESCRIPTION_BOOST),
        };
        let term = Term::from_field_text(field, &word.term);
        let exact = TermQuery::new(term.clone(), IndexRecordOption::WithFreqs);
        alternatives.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(exact), boost)),
        ));
        let loose = if last && chars >= PREFIX_MIN_CHARS {
            Some(FuzzyTermQuery::new_prefix(term, allowance, true))
        } else if allowance > 0 {
            Some(FuzzyTermQuery::new(term, allowance, true))
        } else {
            None
        };
        if let Some(loose) = loose {
            alternatives.push((
                Occur::Should,
                Box::new(ConstScoreQuery::new(
                    Box::new(loose),
                    LOOSE_MATCH_SCORE * boost,
                )),
            ));
        }
    }
    // A typo in a suffixed word can stem apart from the word (`optimizzation` keeps its suffix,
    // `optimization` stems to `optim`): the typed word also meets the unstemmed title and tag
    // words of the spelling field.
    if allowance > 0 {
        let typed = Term::from_field_text(fields.spelling, &word.folded);
        alternatives.push((
            Occur::Should,
            Box::new(ConstScoreQuery::new(
                Box::new(FuzzyTermQuery::new(typed, allowance, true)),
                LOOSE_MATCH_SCORE * TITLE_BOOST,
            )),
        ));
    }
    Box::new(BooleanQuery::new(alternatives))
}

fn exact(field: Field, value: u64) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_u64(field, value),
        IndexRecordOption::Basic,
    ))
}

fn range(field: Field, from: Option<u64>, to: Option<u64>) -> Box<dyn Query> {
    let bound = |value: Option<u64>| match value {
        Some(value) => Bound::Included(Term::from_field_u64(field, value)),
        None => Bound::Unbounded,
    };
    // A range needs one bound to name its field.
    let from = if from.is_none() && to.is_none() {
        Some(0)
    } else {
        from
    };
    Box::new(RangeQuery::new(bound(from), bound(to)))
}

fn price_band(price: u64) -> u64 {
    PRICE_BANDS
        .iter()
        .position(|band| price >= band.from_cents && band.to_cents.is_none_or(|to| price < to))
        .unwrap_or(PRICE_BANDS.len() - 1) as u64
}

/// The word of the spelling field closest to `folded` within its allowance (1 edit from 3
/// characters, 2 from 9: a suggestion may reach further than a silent typo match), most gigs
/// first on a tie. Scans the field's dictionary: it holds title and tag words only.
fn closest_word(
    searcher: &Searcher,
    field: Field,
    folded: &str,
) -> Result<Option<String>, SearchError> {
    static ONE: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static TWO: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    let chars = folded.chars().count();
    let builder = match chars {
        0..=2 => return Ok(None),
        3..=8 => ONE.get_or_init(|| LevenshteinAutomatonBuilder::new(1, true)),
        _ => TWO.get_or_init(|| LevenshteinAutomatonBuilder::new(2, true)),
    };
    let dfa = builder.build_dfa(folded);
    // word -> (distance, gigs)
    let mut candidates: BTreeMap<Vec<u8>, (u8, u64)> = BTreeMap::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted.terms().stream()?;
        while stream.advance() {
            if let Distance::Exact(distance) = dfa.eval(stream.key()) {
                let entry = candidates
                    .entry(stream.key().to_vec())
                    .or_insert((distance, 0));
                entry.1 += u64::from(stream.value().doc_freq);
            }
        }
    }
    Ok(candidates
        .into_iter()
        .min_by(|(a_word, a), (b_word, b)| {
            a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a_word.cmp(b_word))
        })
        .and_then(|(word, _)| String::from_utf8(word).ok()))
}

/// A column of the index, read per document.
type Column = Arc<dyn ColumnValues<u64>>;

/// The order of a request: a document's key is three numbers compared in order, larger first.
struct SortBy {
    sort: Sort,
    /// Whether the query has words (without, every score is equal and not computed).
    scored: bool,
}

/// Sort keys of one segment.
struct SegmentSortKeys {
    sort: Sort,
    price: Column,
    rating: Column,
    rating_count: Column,
    created_at: Column,
    order_count: Column,
}

type SortKey = (f64, f64, f64);

impl SortKeyComputer for SortBy {
    type SortKey = SortKey;
    type Child = SegmentSortKeys;
    type Comparator = NaturalComparator;

    fn requires_scoring(&self) -> bool {
        self.scored
    }

    fn segment_sort_key_computer(
        &self,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentSortKeys> {
        let column = |name: &str| -> tantivy::Result<Column> {
            Ok(segment.fast_fields().u64(name)?.first_or_default_col(0))
        };
        Ok(SegmentSortKeys {
            sort: self.sort,
            price: column("price")?,
            rating: column("rating")?,
            rating_count: column("rating_count")?,
            created_at: column("created_at")?,
            order_count: column("order_count")?,
        })
    }
}

impl SegmentSortKeyComputer for SegmentSortKeys {
    type SortKey = SortKey;
    type SegmentSortKey = SortKey;
    type SegmentComparator = NaturalComparator;

    fn segment_sort_key(&mut self, doc: DocId, score: Score) -> SortKey {
        // Exact in f64: prices, timestamps and counts stay far below 2^53.
        let value = |column: &Column| column.get_val(doc) as f64;
        let score = f64::from(score);
        match self.sort {
            Sort::Relevance => (score, value(&self.rating), value(&self.rating_count)),
            Sort::PriceAsc => (-value(&self.price), score, value(&self.rating)),
            Sort::PriceDesc => (value(&self.price), score, value(&self.rating)),
            Sort::Rating => (value(&self.rating), value(&self.rating_count), score),
            Sort::Newest => (value(&self.created_at), score, 0.0),
            Sort::BestSelling => (value(&self.order_count), value(&self.rating), score),
        }
    }

    fn convert_segment_sort_key(&self, key: SortKey) -> SortKey {
        key
    }
}

/// Counts of documents per value of a u64 column, mapped through `bucket`.
struct ColumnCounts {
    column: &'static str,
    bucket: fn(u64) -> u64,
}

impl ColumnCounts {
    fn new(column: &'static str, bucket: fn(u64) -> u64) -> Self {
        Self { column, bucket }
    }
}

struct SegmentColumnCounts {
    values: Column,
    bucket: fn(u64) -> u64,
    counts: BTreeMap<u64, u64>,
}

impl Collector for ColumnCounts {
    type Fruit = BTreeMap<u64, u64>;
    type Child = SegmentColumnCounts;

    fn for_segment(
        &self,
        _segment_local_id: u32,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentColumnCounts> {
        Ok(SegmentColumnCounts {
            values: segment
                .fast_fields()
                .u64(self.column)?
                .first_or_default_col(0),
            bucket: self.bucket,
            counts: BTreeMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        segments: Vec<BTreeMap<u64, u64>>,
    ) -> tantivy::Result<BTreeMap<u64, u64>> {
        let mut all = BTreeMap::new();
        for counts in segments {
            for (value, count) in counts {
                *all.entry(value).or_insert(0) += count;
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentColumnCounts {
    type Fruit = BTreeMap<u64, u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        *self
            .counts
            .entry((self.bucket)(self.values.get_val(doc)))
            .or_insert(0) += 1;
    }

    fn harvest(self) -> BTreeMap<u64, u64> {
        self.counts
    }
}

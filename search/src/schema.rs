//! The index's fields and its tokenizers.
//!
//! Text fields keep term frequencies and field lengths (what BM25 needs) but no positions: no
//! phrase queries are offered, and positions would be most of the postings' size. Category and
//! subcategory are small integer codes (their place in `CATEGORIES`), so facet counts read a
//! column instead of strings.

use gigmarket_shared::domain::category::CATEGORIES;
use gigmarket_shared::domain::gig::Gig;
use gigmarket_shared::domain::rating::rating_centi;
use gigmarket_shared::domain::search::{fold_words, stem};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer, TokenizerManager};
use tantivy::{TantivyDocument, doc};

/// The tokenizer of the searched text: `normalize_words`, the DynamoDB search's terms.
pub const STEMMED: &str = "gigmarket_stemmed";
/// The tokenizer of the spelling field: the same words unstemmed, offered by "did you mean".
pub const FOLDED: &str = "gigmarket_folded";

/// The fields of a gig's document.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The gig id (hyphenated UUID): deletes and replaces by it, and the only stored value.
    pub id: Field,
    pub title: Field,
    pub tags: Field,
    pub description: Field,
    /// Title and tag words unstemmed, the vocabulary of spelling suggestions.
    pub spelling: Field,
    pub category: Field,
    pub subcategory: Field,
    /// The cheapest package, in cents.
    pub price: Field,
    /// The fastest package, in days.
    pub delivery_days: Field,
    /// The average rating in hundredths of a star (`rating_centi`), 0 while unrated.
    pub rating: Field,
    pub rating_count: Field,
    /// Unix milliseconds: gigs created within one second still sort newest first.
    pub created_at: Field,
    pub order_count: Field,
}

pub fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = |tokenizer: &str, record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        )
    };
    let stemmed = text(STEMMED, IndexRecordOption::WithFreqs);
    // Filters and facets read the column; the indexed terms serve exact filters (term queries).
    let column = || NumericOptions::from(INDEXED).set_fast();
    let fields = Fields {
        id: builder.add_text_field("id", STRING | STORED),
        title: builder.add_text_field("title", stemmed.clone()),
        tags: builder.add_text_field("tags", stemmed.clone()),
        description: builder.add_text_field("description", stemmed),
        spelling: builder.add_text_field("spelling", text(FOLDED, IndexRecordOption::Basic)),
        category: builder.add_u64_field("category", column()),
        subcategory: builder.add_u64_field("subcategory", column()),
        price: builder.add_u64_field("price", column()),
        delivery_days: builder.add_u64_field("delivery_days", column()),
        rating: builder.add_u64_field("rating", column()),
        rating_count: builder.add_u64_field("rating_count", column()),
        created_at: builder.add_u64_field("created_at", column()),
        order_count: builder.add_u64_field("order_count", column()),
    };
    (builder.build(), fields)
}

/// Both tokenizers, registered on every index opened or created.
pub fn tokenizers() -> TokenizerManager {
    let manager = TokenizerManager::default();
    manager.register(STEMMED, TextAnalyzer::from(Normalizer { stemmed: true }));
    manager.register(FOLDED, TextAnalyzer::from(Normalizer { stemmed: false }));
    manager
}

/// A category id's code (its place in `CATEGORIES`); `None` for an unknown id.
pub fn category_code(id: &str) -> Option<u64> {
    CATEGORIES
        .iter()
        .position(|category| category.id == id)
        .map(|index| index as u64)
}

/// The category id of a code.
pub fn category_id(code: u64) -> Option<&'static str> {
    CATEGORIES.get(code as usize).map(|category| category.id)
}

/// A subcategory id's code: its category's code times 100 plus its place in the category.
pub fn subcategory_code(id: &str) -> Option<u64> {
    CATEGORIES.iter().enumerate().find_map(|(index, category)| {
        let place = category.subcategories.iter().position(|sub| sub.id == id)?;
        Some(index as u64 * 100 + place as u64)
    })
}

/// No category or subcategory: matches no filter, counted under no facet.
const NO_CODE: u64 = u64::MAX;

/// A gig as its index document.
pub fn document(fields: &Fields, gig: &Gig) -> TantivyDocument {
    let tags = gig.tags.join(" ");
    doc!(
        fields.id => gig.id.to_string(),
        fields.title => gig.title.as_str(),
        fields.tags => tags.as_str(),
        fields.description => gig.description.as_str(),
        fields.spelling => format!("{} {tags}", gig.title),
        fields.category => category_code(&gig.category).unwrap_or(NO_CODE),
        fields.subcategory => gig
            .subcategory
            .as_deref()
            .and_then(subcategory_code)
            .unwrap_or(NO_CODE),
        fields.price => gig.starting_price_cents(),
        fields.delivery_days => u64::from(gig.fastest_delivery_days()),
        fields.rating => rating_centi(gig.rating_sum, gig.rating_count),
        fields.rating_count => gig.rating_count,
        fields.created_at => (gig.created_at.unix_timestamp_nanos() / 1_000_000).max(0) as u64,
        fields.order_count => gig.order_count,
    )
}

/// The project's normaliser as a tantivy tokenizer. Offsets are not kept (no highlighting).
#[derive(Clone)]
struct Normalizer {
    stemmed: bool,
}

impl Tokenizer for Normalizer {
    type TokenStream<'a> = Words;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Words {
        let words = fold_words(text);
        let tokens = words
            .into_iter()
            .enumerate()
            .map(|(position, word)| Token {
                text: if self.stemmed { stem(&word) } else { word },
                position,
                ..Token::default()
            })
            .collect::<Vec<_>>();
        Words { tokens, next: 0 }
    }
}

/// The tokens of one text, already normalised.
struct Words {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for Words {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

//! The gig search index: what the `search` function (the reader behind `GET /gigs`) and the
//! `indexer` (the index writer) share. Built on tantivy; no AWS or HTTP type appears here,
//! so both functions, the benchmark and the tests use the same index code.
//!
//! - [`schema`]: the fields and the tokenizer that wraps the project's normaliser, so the index
//!   and a query see the same words as the DynamoDB search does (`domain::search`).
//! - [`GigIndex`]: a gig is replaced or deleted by its id. A writer re-reads each gig from
//!   DynamoDB (the truth) and hands it over whole, so a hint that repeats or arrives out of order
//!   changes nothing.
//! - [`IndexFiles`]: a committed version as the files a writer publishes and a reader loads
//!   ([`GigIndex::files`], [`GigIndex::from_files`]); merges run inside `commit`, never in the
//!   background, so those files stay fixed until the next commit.
//! - [`published::Replica`] (feature `s3`): a function's copy of the version published in the
//!   search index bucket, refreshed by fetching only new files; the writer publishes through it.
//! - [`writer::index_gigs`] (feature `s3`): the index writer's use case, gig ids in (hints),
//!   each gig re-read from the table and the next version published; [`writer::rebuild`] the
//!   scheduled full pass that repairs drift.
//! - [`reader::search_gigs`] (feature `s3`): the `search` function's use case, `GET /gigs` from
//!   its [`reader::Reader`] (the copy, polled for newer versions) and one `BatchGetItem`.
//! - [`SearchRequest`] / [`SearchPage`]: BM25 over title, tags and description with typo
//!   tolerance, filters, sorts, facets, "did you mean" and cursors that name the index version.
//!
//! # Features
//!
//! tantivy is built with `default-features = false`; nothing it offers by default is needed:
//! - no `mmap`: the index is held in RAM (a reader loads it at cold start, the writer rebuilds it
//!   from segments), so the memory-mapped directory, its file locks and tempfile are not built;
//!   the RAM directory is wrapped to list its files (`directory`), which tantivy does not;
//! - no `lz4-compression` / `columnar-zstd-compression`: the document store holds only gig ids
//!   (random hex, which a codec barely shrinks) and the columns are bit-packed integers; the
//!   archive on S3 can be compressed as a whole when published;
//! - no `stemmer` / `stopwords`: words are folded, filtered and stemmed by the project's own
//!   normaliser (`gigmarket_shared::domain::search`), wrapped as a tokenizer in [`schema`].

mod cursor;
mod directory;
mod index;
#[cfg(feature = "s3")]
pub mod published;
mod query;
#[cfg(feature = "s3")]
pub mod reader;
pub mod schema;
#[cfg(feature = "s3")]
pub mod writer;

pub use cursor::Cursor;
pub use index::{GigIndex, IndexFiles, SearchError};
pub use query::{
    CategoryCount, Facets, PRICE_BANDS, PriceBand, PriceBandCount, SearchPage, SearchRequest, Sort,
};

#[cfg(test)]
mod tests;

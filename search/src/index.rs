//! `GigIndex`: the index with its one writer and its reader.

use gigmarket_shared::domain::gig::{Gig, GigStatus};
use tantivy::directory::RamDirectory;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};
use uuid::Uuid;

use crate::schema::{self, Fields};

/// The writer's indexing memory: tantivy's floor is 15 MB per thread; 50 MB lets a full rebuild
/// of 100k gigs write a few large segments instead of many small ones.
const WRITER_MEMORY_BYTES: usize = 50_000_000;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index files: {0}")]
    Io(#[from] std::io::Error),
    /// A cursor this index never handed out.
    #[error("invalid cursor")]
    InvalidCursor,
}

/// A gig index: documents keyed by gig id, replaced whole.
pub struct GigIndex {
    writer: IndexWriter,
    reader: IndexReader,
    fields: Fields,
    /// The opstamp of the last commit the reader sees: the version cursors carry.
    version: u64,
}

impl GigIndex {
    /// An empty index in memory.
    pub fn in_ram() -> Result<Self, SearchError> {
        Self::open_or_create(RamDirectory::create())
    }

    /// The index in `directory`, created there if absent (the writer and readers will open the
    /// segments published on S3 this way).
    pub fn open_or_create(
        directory: impl Into<Box<dyn tantivy::Directory>>,
    ) -> Result<Self, SearchError> {
        let (schema, fields) = schema::schema();
        let index = Index::builder()
            .schema(schema)
            .tokenizers(schema::tokenizers())
            .open_or_create(directory)?;
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
        // Manual: the index changes only through `commit`, which reloads.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let version = index.load_metas()?.opstamp;
        Ok(Self {
            writer,
            reader,
            fields,
            version,
        })
    }

    /// Puts `gig` in the index as it is now, replacing what the index held for its id. A gig
    /// that is not listed (paused, archived, removed, rejected, pending) is only deleted, so the
    /// writer hands over every gig it re-reads, whatever its status.
    pub fn replace(&mut self, gig: &Gig) -> Result<(), SearchError> {
        self.delete(gig.id);
        if gig.status == GigStatus::Active {
            self.writer
                .add_document(schema::document(&self.fields, gig))?;
        }
        Ok(())
    }

    /// Removes the gig `id` (a gig no longer in the table); absent ids are a no-op.
    pub fn delete(&mut self, id: Uuid) {
        self.writer
            .delete_term(Term::from_field_text(self.fields.id, &id.to_string()));
    }

    /// Makes the changes since the last commit searchable; the new version.
    pub fn commit(&mut self) -> Result<u64, SearchError> {
        self.version = self.writer.commit()?;
        self.reader.reload()?;
        Ok(self.version)
    }

    /// The version the searches see (the last commit's opstamp).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Listed gigs in the searched version.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the index's files (what a reader downloads), after merges settle.
    pub fn size_bytes(&self) -> Result<u64, SearchError> {
        let searcher = self.reader.searcher();
        let space = searcher.space_usage()?;
        Ok(space.total().get_bytes())
    }

    pub(crate) fn reader(&self) -> &IndexReader {
        &self.reader
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.fields
    }
}

//! `GigIndex`: the index with its one writer and its reader, and its committed version as files.

use std::io::Write;
use std::path::Path;

use gigmarket_shared::domain::gig::{Gig, GigStatus};
use tantivy::collector::DocSetCollector;
use tantivy::directory::TerminatingWrite;
use tantivy::indexer::NoMergePolicy;
use tantivy::query::AllQuery;
use tantivy::schema::Value;
use tantivy::{Directory, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use uuid::Uuid;

use crate::directory::FileListDirectory;
use crate::schema::{self, Fields};

/// tantivy's file naming a version's schema and segments.
const META_FILE: &str = "meta.json";

/// Segments a commit leaves before it merges them: each commit of the writer adds one, and a
/// search visits every segment.
const MAX_SEGMENTS: usize = 8;

/// The writer's indexing memory: tantivy's floor is 15 MB per thread; 50 MB lets a full rebuild
/// of 100k gigs write a few large segments instead of many small ones.
const WRITER_MEMORY_BYTES: usize = 50_000_000;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index files: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index file: {0}")]
    OpenRead(#[from] tantivy::directory::error::OpenReadError),
    #[error("search index file: {0}")]
    OpenWrite(#[from] tantivy::directory::error::OpenWriteError),
    /// A file the version names was not handed over.
    #[error("search index file {0} is missing")]
    MissingFile(String),
    /// The files handed over describe another version than they were named as.
    #[error("search index files of version {named} hold version {meta}")]
    VersionMismatch { named: u64, meta: u64 },
    /// A cursor this index never handed out.
    #[error("invalid cursor")]
    InvalidCursor,
}

/// A gig index: documents keyed by gig id, replaced whole.
pub struct GigIndex {
    index: Index,
    directory: FileListDirectory,
    /// Opened on the first change, so an index loaded from published files only to be searched
    /// holds no writer (nor its threads and memory budget).
    writer: Option<IndexWriter>,
    reader: IndexReader,
    fields: Fields,
    /// The opstamp of the last commit the reader sees: the version cursors carry.
    version: u64,
}

/// One committed version as files: what a writer publishes and a reader loads. Segment files
/// are named by tantivy after their segment's random id (plus the delete opstamp for a
/// deletes file), so a name never stands for two contents and a file once published is shared
/// by every later version that still has its segment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexFiles {
    /// The commit's opstamp.
    pub version: u64,
    /// tantivy's `meta.json` of the version: its schema and segments.
    pub meta: String,
    /// The names of the segment files the version reads, sorted.
    pub files: Vec<String>,
}

impl GigIndex {
    /// An empty index in memory.
    pub fn in_ram() -> Result<Self, SearchError> {
        Self::open(FileListDirectory::default())
    }

    /// The version `meta` describes, from its files: `file` answers the bytes of each name in
    /// `meta`'s file list (a reader's copies of what the writer published).
    pub fn from_files(
        files: &IndexFiles,
        mut file: impl FnMut(&str) -> Option<Vec<u8>>,
    ) -> Result<Self, SearchError> {
        let directory = FileListDirectory::default();
        for name in &files.files {
            let bytes = file(name).ok_or_else(|| SearchError::MissingFile(name.clone()))?;
            let mut written = directory.open_write(Path::new(name))?;
            written.write_all(&bytes)?;
            written.terminate()?;
        }
        directory.atomic_write(Path::new(META_FILE), files.meta.as_bytes())?;
        let index = Self::open(directory)?;
        if index.version != files.version {
            return Err(SearchError::VersionMismatch {
                named: files.version,
                meta: index.version,
            });
        }
        Ok(index)
    }

    fn open(directory: FileListDirectory) -> Result<Self, SearchError> {
        let (schema, fields) = schema::schema();
        let index = Index::builder()
            .schema(schema)
            .tokenizers(schema::tokenizers())
            .open_or_create(directory.clone())?;
        // Manual: the index changes only through `commit`, which reloads.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let version = index.load_metas()?.opstamp;
        Ok(Self {
            index,
            directory,
            writer: None,
            reader,
            fields,
            version,
        })
    }

    fn writer(&mut self) -> Result<&mut IndexWriter, SearchError> {
        if self.writer.is_none() {
            let writer: IndexWriter = self.index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
            // Merges run inside `commit`, never in the background, so the files of a committed
            // version stay exactly those its meta.json names until the next commit.
            writer.set_merge_policy(Box::new(NoMergePolicy));
            self.writer = Some(writer);
        }
        Ok(self.writer.as_mut().expect("opened above"))
    }

    /// Puts `gig` in the index as it is now, replacing what the index held for its id. A gig
    /// that is not listed (paused, archived, removed, rejected, pending) is only deleted, so the
    /// writer hands over every gig it re-reads, whatever its status.
    pub fn replace(&mut self, gig: &Gig) -> Result<(), SearchError> {
        self.delete(gig.id)?;
        if gig.status == GigStatus::Active {
            let document = schema::document(&self.fields, gig);
            self.writer()?.add_document(document)?;
        }
        Ok(())
    }

    /// Removes the gig `id` (a gig no longer in the table); absent ids are a no-op.
    pub fn delete(&mut self, id: Uuid) -> Result<(), SearchError> {
        let term = Term::from_field_text(self.fields.id, &id.to_string());
        self.writer()?.delete_term(term);
        Ok(())
    }

    /// Makes the changes since the last commit searchable; the new version. Past
    /// [`MAX_SEGMENTS`] segments they are merged into one first, so a reader's searches and
    /// downloads stay few.
    pub fn commit(&mut self) -> Result<u64, SearchError> {
        let writer = self.writer()?;
        let version = writer.commit()?;
        let segments = self.index.searchable_segment_ids()?;
        if segments.len() > MAX_SEGMENTS {
            let writer = self.writer()?;
            writer.merge(&segments).wait()?;
            writer.garbage_collect_files().wait()?;
        }
        self.version = version;
        self.reader.reload()?;
        Ok(self.version)
    }

    /// The committed version as files, to publish: its meta.json and the names of its segment
    /// files (the bytes of each through [`GigIndex::file`]).
    pub fn files(&self) -> Result<IndexFiles, SearchError> {
        let meta = String::from_utf8(self.directory.atomic_read(Path::new(META_FILE))?)
            .map_err(|_| SearchError::Io(std::io::Error::other("meta.json is not UTF-8")))?;
        let metas = self.index.load_metas()?;
        let segments: Vec<String> = metas
            .segments
            .iter()
            .map(|segment| format!("{}.", segment.id().uuid_string()))
            .collect();
        let files = self
            .directory
            .names()
            .into_iter()
            .filter_map(|path| path.to_str().map(str::to_owned))
            .filter(|name| segments.iter().any(|segment| name.starts_with(segment)))
            .collect();
        Ok(IndexFiles {
            version: metas.opstamp,
            meta,
            files,
        })
    }

    /// The bytes of one of the index's files.
    pub fn file(&self, name: &str) -> Result<Vec<u8>, SearchError> {
        let bytes = self.directory.open_read(Path::new(name))?.read_bytes()?;
        Ok(bytes.as_slice().to_vec())
    }

    /// Every gig id in the searched version: what a full rebuild checks against the table.
    pub fn gig_ids(&self) -> Result<Vec<Uuid>, SearchError> {
        let searcher = self.reader.searcher();
        let addresses = searcher.search(&AllQuery, &DocSetCollector)?;
        addresses
            .into_iter()
            .map(|address| {
                let document: TantivyDocument = searcher.doc(address)?;
                document
                    .get_first(self.fields.id)
                    .and_then(|value| value.as_str())
                    .and_then(|raw| Uuid::parse_str(raw).ok())
                    .ok_or_else(|| {
                        tantivy::TantivyError::InternalError("a document without an id".to_owned())
                            .into()
                    })
            })
            .collect()
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

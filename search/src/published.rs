//! The index as published in its bucket (feature `s3`): a [`Replica`] is one function's copy of
//! the current version. Readers load it at cold start and refresh it; the one writer loads it,
//! applies changes and publishes the next version.
//!
//! The manifest is [`IndexFiles`] as JSON. A refresh fetches only the files the copy does not
//! hold (a version shares every unchanged segment with the one before it), and a version that
//! can not be loaded whole (a file missing, a body cut short) leaves the copy on the version it
//! had, so a reader keeps answering while the error is reported.

use futures_util::{StreamExt, TryStreamExt, stream};
use gigmarket_shared::error::ApiError;
use gigmarket_shared::search_index::{ManifestRead, ManifestWrite, SearchIndexBucket};

use crate::index::{GigIndex, IndexFiles, SearchError};

/// File transfers a refresh or a publication runs at once.
const TRANSFERS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("search index bucket: {0}")]
    Bucket(#[from] ApiError),
    #[error(transparent)]
    Index(#[from] SearchError),
    #[error("search index manifest: {0}")]
    Manifest(#[from] serde_json::Error),
    /// Other writers published first on every attempt.
    #[error("search index: superseded by other writers {attempts} times")]
    KeptSuperseded { attempts: u32 },
    /// The manifest names a file the bucket does not have.
    #[error("search index version {version} names file {name}, which the bucket lacks")]
    MissingFile { version: u64, name: String },
}

/// What a publication did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publication {
    /// The copy's version is the bucket's current one now.
    Published { version: u64 },
    /// Already the current one: nothing written.
    Unchanged,
    /// Another writer published since this copy was loaded: nothing became current. Load again
    /// and apply the changes to that.
    Superseded,
}

/// One function's copy of the published index.
pub struct Replica {
    index: GigIndex,
    /// The manifest the copy is of, with its entity tag; `None` before anything was published.
    published: Option<(IndexFiles, String)>,
}

impl Replica {
    /// The bucket's current version (an empty index when nothing is published yet).
    pub async fn load(bucket: &SearchIndexBucket) -> Result<Self, ReplicaError> {
        let mut replica = Self {
            index: GigIndex::in_ram()?,
            published: None,
        };
        replica.refresh(bucket).await?;
        Ok(replica)
    }

    /// Brings the copy to the bucket's current version, fetching only the files it lacks;
    /// answers whether the version changed. On an error the copy stays as it was.
    pub async fn refresh(&mut self, bucket: &SearchIndexBucket) -> Result<bool, ReplicaError> {
        let held = self.published.as_ref().map(|(_, etag)| etag.as_str());
        let stored = match bucket.manifest(held).await? {
            ManifestRead::Absent | ManifestRead::Unchanged => return Ok(false),
            ManifestRead::Changed(stored) => stored,
        };
        let files: IndexFiles = serde_json::from_slice(&stored.body)?;
        let held = self.index.files()?;
        let lacking: Vec<&String> = files
            .files
            .iter()
            .filter(|name| !held.files.contains(name))
            .collect();
        let mut fetched: std::collections::HashMap<String, Vec<u8>> = stream::iter(lacking)
            .map(|name| async move {
                match bucket.file(name).await? {
                    Some(bytes) => Ok((name.clone(), bytes)),
                    None => Err(ReplicaError::MissingFile {
                        version: files.version,
                        name: name.clone(),
                    }),
                }
            })
            .buffer_unordered(TRANSFERS)
            .try_collect()
            .await?;
        let index = GigIndex::from_files(&files, |name| {
            fetched.remove(name).or_else(|| self.index.file(name).ok())
        })?;
        self.index = index;
        self.published = Some((files, stored.etag));
        Ok(true)
    }

    /// Publishes the index's committed version: the files the bucket lacks, then the manifest,
    /// replacing only the one this copy was loaded from.
    pub async fn publish(
        &mut self,
        bucket: &SearchIndexBucket,
    ) -> Result<Publication, ReplicaError> {
        let files = self.index.files()?;
        let previous = self.published.as_ref();
        if previous.map(|(held, _)| held.version) == Some(files.version) {
            return Ok(Publication::Unchanged);
        }
        let index = &self.index;
        stream::iter(
            files
                .files
                .iter()
                .filter(|name| !previous.is_some_and(|(held, _)| held.files.contains(name))),
        )
        .map(|name| async move {
            let bytes = index.file(name)?;
            bucket.put_file(name, bytes).await?;
            Ok::<_, ReplicaError>(())
        })
        .buffer_unordered(TRANSFERS)
        .try_collect::<()>()
        .await?;
        let body = serde_json::to_vec(&files)?;
        let replacing = previous.map(|(_, etag)| etag.as_str());
        match bucket.put_manifest(body, replacing).await? {
            ManifestWrite::Written { etag } => {
                let version = files.version;
                self.published = Some((files, etag));
                Ok(Publication::Published { version })
            }
            ManifestWrite::Superseded => Ok(Publication::Superseded),
        }
    }

    pub fn index(&self) -> &GigIndex {
        &self.index
    }

    /// The copy to change (the writer's): its changes are published by [`Replica::publish`].
    pub fn index_mut(&mut self) -> &mut GigIndex {
        &mut self.index
    }

    /// The published version the copy is of; `None` before anything was published.
    pub fn published_version(&self) -> Option<u64> {
        self.published.as_ref().map(|(files, _)| files.version)
    }
}

//! The index as published in its bucket (feature `s3`): a [`Replica`] is one function's copy of
//! the current version. Readers load it at cold start and refresh it; the one writer loads it,
//! applies changes and publishes the next version.
//!
//! The manifest is [`IndexFiles`] as JSON, with the files earlier versions named and this one
//! does not (`retired`, each with the time it left). A refresh fetches only the files the copy
//! does not hold (a version shares every unchanged segment with the one before it), and a
//! version that can not be loaded whole (a file missing, a body cut short) leaves the copy on
//! the version it had, so a reader keeps answering while the error is reported.
//!
//! A retired file is deleted by the first publication [`RETIRED_FILES_KEPT`] (by default) after
//! it left:
//! no reader still loads a version that old (they poll every 15 s), and deleting before the
//! manifest is written keeps it safe when the write is superseded or the writer stops (the next
//! publication deletes again; deleting a deleted file is no error).

use futures_util::{StreamExt, TryStreamExt, stream};
use gigmarket_shared::error::ApiError;
use gigmarket_shared::search_index::{ManifestRead, ManifestWrite, SearchIndexBucket};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::index::{GigIndex, IndexFiles, SearchError};

/// File transfers a refresh or a publication runs at once.
const TRANSFERS: usize = 8;

/// How long a file no version names stays in the bucket, by default
/// (`SEARCH_INDEX_RETIRED_FILES_KEPT_SECS`).
pub const RETIRED_FILES_KEPT: Duration = Duration::minutes(10);

/// The manifest as stored: the current version and the files waiting to be deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    #[serde(flatten)]
    files: IndexFiles,
    #[serde(default)]
    retired: Vec<RetiredFile>,
}

/// A file an earlier version named and the current one does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RetiredFile {
    name: String,
    #[serde(with = "time::serde::rfc3339")]
    since: OffsetDateTime,
}

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
    published: Option<(Manifest, String)>,
    /// How long a retired file stays before a publication deletes it.
    retired_files_kept: Duration,
}

impl Replica {
    /// The bucket's current version (an empty index when nothing is published yet).
    pub async fn load(bucket: &SearchIndexBucket) -> Result<Self, ReplicaError> {
        let mut replica = Self {
            index: GigIndex::in_ram()?,
            published: None,
            retired_files_kept: RETIRED_FILES_KEPT,
        };
        replica.refresh(bucket).await?;
        Ok(replica)
    }

    /// A copy of `index` that nothing has published yet: its first publication creates the
    /// manifest (the benchmark publishes an index it built in memory this way).
    pub fn unpublished(index: GigIndex) -> Self {
        Self {
            index,
            published: None,
            retired_files_kept: RETIRED_FILES_KEPT,
        }
    }

    /// An empty copy that replaces the bucket's current version, for a writer that can not load
    /// that version whole (a file it names is missing): its next publication is conditioned on
    /// that manifest and retires every file it named. Only a full rebuild may publish from it;
    /// any other run would publish an index of its few gigs alone.
    pub async fn replacing(bucket: &SearchIndexBucket) -> Result<Self, ReplicaError> {
        let published = match bucket.manifest(None).await? {
            ManifestRead::Changed(stored) => {
                let manifest: Manifest = serde_json::from_slice(&stored.body)?;
                Some((manifest, stored.etag))
            }
            ManifestRead::Absent | ManifestRead::Unchanged => None,
        };
        Ok(Self {
            index: GigIndex::in_ram()?,
            published,
            retired_files_kept: RETIRED_FILES_KEPT,
        })
    }

    /// Brings the copy to the bucket's current version, fetching only the files it lacks;
    /// answers whether the version changed. On an error the copy stays as it was.
    pub async fn refresh(&mut self, bucket: &SearchIndexBucket) -> Result<bool, ReplicaError> {
        let held = self.published.as_ref().map(|(_, etag)| etag.as_str());
        let stored = match bucket.manifest(held).await? {
            ManifestRead::Absent | ManifestRead::Unchanged => return Ok(false),
            ManifestRead::Changed(stored) => stored,
        };
        let manifest: Manifest = serde_json::from_slice(&stored.body)?;
        let files = &manifest.files;
        let held = self.index.files()?;
        // Owned names: a future borrowing them is not `Send` for every lifetime (rustc's
        // higher-ranked closure inference), and an API handler's future must be.
        let lacking: Vec<String> = files
            .files
            .iter()
            .filter(|name| !held.files.contains(name))
            .cloned()
            .collect();
        let version = files.version;
        let mut fetched: std::collections::HashMap<String, Vec<u8>> = stream::iter(lacking)
            .map(|name: String| async move {
                match bucket.file(&name).await? {
                    Some(bytes) => Ok((name, bytes)),
                    None => Err(ReplicaError::MissingFile { version, name }),
                }
            })
            .buffer_unordered(TRANSFERS)
            .try_collect()
            .await?;
        let index = GigIndex::from_files(files, |name| {
            fetched.remove(name).or_else(|| self.index.file(name).ok())
        })?;
        self.index = index;
        self.published = Some((manifest, stored.etag));
        Ok(true)
    }

    /// Publishes the index's committed version as of `now`: the files the bucket lacks, the
    /// deletion of files retired long enough, then the manifest, replacing only the one this copy
    /// was loaded from.
    pub async fn publish(
        &mut self,
        bucket: &SearchIndexBucket,
        now: OffsetDateTime,
    ) -> Result<Publication, ReplicaError> {
        let files = self.index.files()?;
        let previous = self
            .published
            .as_ref()
            .map(|(manifest, etag)| (manifest, etag.as_str()));
        // The same files, not only the same number: a copy that replaced an unreadable version
        // counts its opstamps from 0 again.
        if previous.map(|(held, _)| &held.files) == Some(&files) {
            return Ok(Publication::Unchanged);
        }
        // Owned names and bytes (see `refresh`): the futures stay `Send` for every lifetime.
        let new_files: Vec<(String, Vec<u8>)> = files
            .files
            .iter()
            .filter(|name| !previous.is_some_and(|(held, _)| held.files.files.contains(name)))
            .map(|name| Ok::<_, SearchError>((name.clone(), self.index.file(name)?)))
            .collect::<Result<_, _>>()?;
        stream::iter(new_files)
            .map(|(name, bytes): (String, Vec<u8>)| async move {
                bucket.put_file(&name, bytes).await?;
                Ok::<_, ReplicaError>(())
            })
            .buffer_unordered(TRANSFERS)
            .try_collect::<()>()
            .await?;
        // Names never repeat; a retired name the version names anyway is kept, not deleted.
        let (due, mut retired): (Vec<RetiredFile>, Vec<RetiredFile>) = previous
            .map(|(held, _)| held.retired.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|file| !files.files.contains(&file.name))
            .partition(|file| file.since + self.retired_files_kept <= now);
        let due_names: Vec<String> = due.into_iter().map(|file| file.name).collect();
        stream::iter(due_names)
            .map(|name: String| async move { bucket.delete_file(&name).await })
            .buffer_unordered(TRANSFERS)
            .try_collect::<()>()
            .await?;
        if let Some((held, _)) = previous {
            retired.extend(
                held.files
                    .files
                    .iter()
                    .filter(|name| !files.files.contains(name))
                    .map(|name| RetiredFile {
                        name: name.clone(),
                        since: now,
                    }),
            );
        }
        let manifest = Manifest { files, retired };
        let body = serde_json::to_vec(&manifest)?;
        match bucket
            .put_manifest(body, previous.map(|(_, etag)| etag))
            .await?
        {
            ManifestWrite::Written { etag } => {
                let version = manifest.files.version;
                self.published = Some((manifest, etag));
                Ok(Publication::Published { version })
            }
            ManifestWrite::Superseded => Ok(Publication::Superseded),
        }
    }

    /// Keeps retired files `kept` instead of [`RETIRED_FILES_KEPT`] (the local stack's short
    /// setting lets a test run see them deleted).
    pub fn keeping_retired_files_for(mut self, kept: Duration) -> Self {
        self.retired_files_kept = kept;
        self
    }

    pub fn retired_files_kept(&self) -> Duration {
        self.retired_files_kept
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
        self.published
            .as_ref()
            .map(|(manifest, _)| manifest.files.version)
    }
}

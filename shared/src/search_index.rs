//! The search index's bucket (feature `s3`): the files of published index versions and the
//! manifest that names the current one. The layout is `store::keys`' (`search_index_file`,
//! `SEARCH_INDEX_MANIFEST`); the manifest's content is the search crate's, this module only
//! talks to S3.
//!
//! - A file's name never stands for two contents (tantivy names segment files after random
//!   segment ids), so files are written once, with `If-None-Match: *`, and a file already there is
//!   the same file.
//! - The manifest is the one object that changes. It is replaced only with `If-Match` on the
//!   entity tag the writer read (or created with `If-None-Match: *`), so of two writers that
//!   read the same version only one replaces it; the other learns it was superseded.
//! - Readers poll the manifest with `If-None-Match` on the tag they hold: an unchanged index
//!   costs one request with no body.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use crate::error::ApiError;
use crate::store::keys;

/// The bucket and the S3 client (built once per cold start).
#[derive(Debug, Clone)]
pub struct SearchIndexBucket {
    client: aws_sdk_s3::Client,
    bucket: String,
}

/// The manifest as stored, with the entity tag a replacement is conditional on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    pub body: Vec<u8>,
    pub etag: String,
}

/// What a read of the manifest found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestRead {
    /// Nothing published yet.
    Absent,
    /// Still the manifest of the entity tag the reader holds.
    Unchanged,
    Changed(StoredManifest),
}

/// What a conditional replacement of the manifest did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestWrite {
    /// Written; its new entity tag.
    Written { etag: String },
    /// Another writer replaced the manifest since it was read: nothing written.
    Superseded,
}

impl SearchIndexBucket {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object key of the index file `name` (what IAM grants and the tests name).
    pub fn file_key(name: &str) -> String {
        keys::search_index_file(name)
    }

    /// The manifest, unless it still has the entity tag `held` (then `Unchanged`, no body sent).
    pub async fn manifest(&self, held: Option<&str>) -> Result<ManifestRead, ApiError> {
        match self.get(keys::SEARCH_INDEX_MANIFEST, held).await? {
            ObjectRead::Missing => Ok(ManifestRead::Absent),
            ObjectRead::NotModified => Ok(ManifestRead::Unchanged),
            ObjectRead::Found { body, etag } => {
                let etag = etag.ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("a manifest without an ETag"))
                })?;
                Ok(ManifestRead::Changed(StoredManifest { body, etag }))
            }
        }
    }

    /// Replaces the manifest read with entity tag `replacing`, or creates the first one (`None`).
    pub async fn put_manifest(
        &self,
        body: Vec<u8>,
        replacing: Option<&str>,
    ) -> Result<ManifestWrite, ApiError> {
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(keys::SEARCH_INDEX_MANIFEST)
            .content_type("application/json")
            .body(ByteStream::from(body));
        let put = match replacing {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(written) => Ok(ManifestWrite::Written {
                etag: written.e_tag().unwrap_or_default().to_owned(),
            }),
            Err(error) if condition_refused(&error) => Ok(ManifestWrite::Superseded),
            Err(error) => Err(ApiError::from_sdk("PutObject", error)),
        }
    }

    /// Writes one index file under its name; a file already there is the same file.
    pub async fn put_file(&self, name: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(keys::search_index_file(name))
            .if_none_match("*")
            .body(ByteStream::from(bytes))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            // Already there: the same file.
            Err(error) if condition_refused(&error) => Ok(()),
            Err(error) => Err(ApiError::from_sdk("PutObject", error)),
        }
    }

    /// Deletes one index file no version names any more; an absent file is no error.
    pub async fn delete_file(&self, name: &str) -> Result<(), ApiError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(keys::search_index_file(name))
            .send()
            .await
            .map_err(|error| ApiError::from_sdk("DeleteObject", error))?;
        Ok(())
    }

    /// One index file's bytes, or `None` when the bucket has no file of that name.
    pub async fn file(&self, name: &str) -> Result<Option<Vec<u8>>, ApiError> {
        match self.get(&keys::search_index_file(name), None).await? {
            ObjectRead::Found { body, .. } => Ok(Some(body)),
            // Not modified needs a held tag, which a file read never sends.
            ObjectRead::Missing | ObjectRead::NotModified => Ok(None),
        }
    }

    /// GetObject of `key`, conditional on not still having the entity tag `held`.
    async fn get(&self, key: &str, held: Option<&str>) -> Result<ObjectRead, ApiError> {
        let read = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_none_match(held.map(str::to_owned))
            .send()
            .await;
        let object = match read {
            Ok(object) => object,
            Err(error) if status_of(&error) == Some(304) => return Ok(ObjectRead::NotModified),
            Err(error) if error.code() == Some("NoSuchKey") => return Ok(ObjectRead::Missing),
            Err(error) => return Err(ApiError::from_sdk("GetObject", error)),
        };
        let etag = object.e_tag().map(str::to_owned);
        let body = object
            .body
            .collect()
            .await
            .map_err(ApiError::service_unavailable)?
            .to_vec();
        Ok(ObjectRead::Found { body, etag })
    }
}

/// What a GetObject found.
enum ObjectRead {
    Missing,
    /// Still the entity tag the reader holds.
    NotModified,
    Found {
        body: Vec<u8>,
        etag: Option<String>,
    },
}

/// A conditional write S3 refused: 412 (the condition failed) or 409
/// `ConditionalRequestConflict` (another conditional write to the key is under way).
fn condition_refused<E>(error: &SdkError<E, HttpResponse>) -> bool {
    matches!(status_of(error), Some(412 | 409))
}

/// The HTTP status of a service's answer (S3 answers a conditional request's refusal with its
/// status, and a `304` without any error body).
fn status_of<E>(error: &SdkError<E, HttpResponse>) -> Option<u16> {
    error
        .raw_response()
        .map(|response| response.status().as_u16())
}

//! The files bucket (feature `s3`, in `orders` and `messages`): presigned uploads and downloads,
//! and the checks on what was uploaded. The object key layout is the store's
//! (`store::files::object_key`); this module only talks to S3.
//!
//! Uploads are browser form POSTs straight to S3, never through a function (API Gateway caps a
//! request at 10 MB and a Lambda payload at 6 MB; a delivery can be hundreds). The AWS SDK for
//! Rust presigns GET and PUT but not a POST policy (awslabs/aws-sdk-rust#863, "Presigned S3 POST
//! Object requests", open), and only a POST policy can fix the size (`content-length-range`) and
//! the content type of what a browser uploads. So [`post_policy`] writes the policy document and
//! signs it with the SDK's own SigV4 functions (`aws_sigv4::sign::v4`: the signing key and the
//! signature), with the credentials and region the client holds, and [`FileStorage`] finds the
//! bucket's URL through the client's endpoint resolution (a presigned PutObject of the same key,
//! which is also the `s3:PutObject` authorisation the POST is checked against, recorded by the
//! call log). Nothing here is local-only: `AWS_ENDPOINT_URL_S3` points the client at moto.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::{ProvideCredentials, Region, SharedCredentialsProvider};
use aws_sdk_s3::presigning::PresigningConfig;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::file::{DOWNLOAD_WINDOW, ObjectFacts, UPLOAD_WINDOW, content_disposition};
use crate::error::ApiError;

/// What a browser needs to upload one file: POST a `multipart/form-data` form to `url` with
/// every field of `fields` (in any order) and then the file as the field `file`, before
/// `expires_at`.
#[derive(Debug, Clone, Serialize)]
pub struct PresignedPost {
    pub url: String,
    pub fields: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What one upload's policy demands.
#[derive(Debug, Clone, Copy)]
pub struct UploadRule<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub content_type: &'a str,
    pub size_bytes: u64,
}

/// The credentials and scope a policy is signed with.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
}

/// The signed POST policy of one upload (S3's "Browser-Based Uploads Using POST", SigV4): the
/// exact bucket and key, the declared content type, a size range of exactly the declared size,
/// and the signing fields, expiring [`UPLOAD_WINDOW`] after `now`. S3 refuses a form that breaks
/// any condition (403) or a file of another size (400 `EntityTooSmall`/`EntityTooLarge`).
pub fn post_policy(
    url: String,
    rule: UploadRule<'_>,
    signer: Signer<'_>,
    now: OffsetDateTime,
) -> Result<PresignedPost, ApiError> {
    let now = now.replace_nanosecond(0).map_err(ApiError::internal)?;
    let expires_at = now + UPLOAD_WINDOW;
    let date = format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let amz_date = format!(
        "{date}T{:02}{:02}{:02}Z",
        now.hour(),
        now.minute(),
        now.second()
    );
    let credential = format!(
        "{}/{date}/{}/s3/aws4_request",
        signer.access_key_id, signer.region
    );
    let mut fields = BTreeMap::from([
        ("key".to_owned(), rule.key.to_owned()),
        ("Content-Type".to_owned(), rule.content_type.to_owned()),
        ("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
        ("x-amz-credential".to_owned(), credential),
        ("x-amz-date".to_owned(), amz_date),
    ]);
    if let Some(token) = signer.session_token {
        fields.insert("x-amz-security-token".to_owned(), token.to_owned());
    }
    let mut conditions = vec![
        json!({ "bucket": rule.bucket }),
        json!(["content-length-range", rule.size_bytes, rule.size_bytes]),
    ];
    conditions.extend(fields.iter().map(|(name, value)| json!({ name: value })));
    let policy = json!({
        "expiration": expires_at.format(&Rfc3339).map_err(ApiError::internal)?,
        "conditions": conditions,
    });
    let policy = STANDARD.encode(policy.to_string());
    let signing_key = aws_sigv4::sign::v4::generate_signing_key(
        signer.secret_access_key,
        SystemTime::from(now),
        signer.region,
        "s3",
    );
    let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, policy.as_bytes());
    fields.insert("policy".to_owned(), policy);
    fields.insert("x-amz-signature".to_owned(), signature);
    Ok(PresignedPost {
        url,
        fields,
        expires_at,
    })
}

/// The files bucket and the S3 client (built once per cold start, `aws::file_storage`), with the
/// credentials and region a POST policy is signed with: the SDK configuration's, the ones the
/// client signs its own requests with (the S3 client's config does not hand them out).
#[derive(Debug, Clone)]
pub struct FileStorage {
    client: aws_sdk_s3::Client,
    bucket: String,
    credentials: SharedCredentialsProvider,
    region: Region,
}

fn presigning(now: OffsetDateTime, window: time::Duration) -> Result<PresigningConfig, ApiError> {
    PresigningConfig::builder()
        .start_time(SystemTime::from(now))
        .expires_in(Duration::try_from(window).map_err(ApiError::internal)?)
        .build()
        .map_err(ApiError::internal)
}

impl FileStorage {
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        credentials: SharedCredentialsProvider,
        region: Region,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            credentials,
            region,
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The presigned POST for one upload to `key` (see [`post_policy`]).
    pub async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size_bytes: u64,
        now: OffsetDateTime,
    ) -> Result<PresignedPost, ApiError> {
        // The client's own endpoint resolution (path or virtual-hosted style, the region's
        // endpoint, a configured endpoint URL) gives the bucket's URL: the form goes to it.
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(now, UPLOAD_WINDOW)?)
            .await
            .map_err(|error| ApiError::internal(anyhow::anyhow!("presigning: {error}")))?;
        let mut url = url::Url::parse(put.uri()).map_err(ApiError::internal)?;
        let path = url
            .path()
            .strip_suffix(&format!("/{key}"))
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("a presigned URL without its key: {url}"))
            })?
            .to_owned();
        url.set_path(&format!("{path}/"));
        url.set_query(None);
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(ApiError::service_unavailable)?;
        post_policy(
            url.to_string(),
            UploadRule {
                bucket: &self.bucket,
                key,
                content_type,
                size_bytes,
            },
            Signer {
                access_key_id: credentials.access_key_id(),
                secret_access_key: credentials.secret_access_key(),
                session_token: credentials.session_token(),
                region: self.region.as_ref(),
            },
            now,
        )
    }

    /// What S3 holds under `key`, or `None` when nothing was uploaded there (HeadObject).
    pub async fn head(&self, key: &str) -> Result<Option<ObjectFacts>, ApiError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => Ok(Some(ObjectFacts {
                size_bytes: object
                    .content_length()
                    .and_then(|length| u64::try_from(length).ok())
                    .unwrap_or_default(),
                content_type: object.content_type().map(str::to_owned),
                etag: object.e_tag().map(str::to_owned),
            })),
            Err(error)
                if error.as_service_error().is_some_and(
                    aws_sdk_s3::operation::head_object::HeadObjectError::is_not_found,
                ) =>
            {
                Ok(None)
            }
            Err(error) => Err(ApiError::from_sdk("HeadObject", error)),
        }
    }

    /// Deletes what was uploaded under `key` (a refused upload); nothing there is fine.
    pub async fn delete(&self, key: &str) -> Result<(), ApiError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| ApiError::from_sdk("DeleteObject", error))?;
        Ok(())
    }

    /// A GET of `key` valid for [`DOWNLOAD_WINDOW`], served as an attachment named `filename`.
    pub async fn presign_download(
        &self,
        key: &str,
        filename: &str,
        now: OffsetDateTime,
    ) -> Result<String, ApiError> {
        let get = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(content_disposition(filename))
            .presigned(presigning(now, DOWNLOAD_WINDOW)?)
            .await
            .map_err(|error| ApiError::internal(anyhow::anyhow!("presigning: {error}")))?;
        Ok(get.uri().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::hmac;

    fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
            .as_ref()
            .to_vec()
    }

    /// The policy a browser's form carries, read back: exactly the declared key, type and size,
    /// this bucket, the signing fields, 15 minutes; and its signature, recomputed here with
    /// SigV4's key derivation written out (AWS's "Calculating a signature" steps).
    #[test]
    fn the_signed_policy_enforces_the_declaration() {
        let now = time::macros::datetime!(2026-12-06 14:05:09.123 UTC);
        let post = post_policy(
            "https://files.s3.eu-west-1.amazonaws.com/".to_owned(),
            UploadRule {
                bucket: "files",
                key: "orders/o/f",
                content_type: "image/png",
                size_bytes: 1234,
            },
            Signer {
                access_key_id: "AKIDEXAMPLE",
                secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                session_token: Some("token"),
                region: "eu-west-1",
            },
            now,
        )
        .unwrap();
        let policy: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(&post.fields["policy"]).unwrap()).unwrap();
        assert_eq!(policy["expiration"], "2026-12-06T14:20:09Z");
        let conditions = policy["conditions"].as_array().unwrap();
        for condition in [
            json!({"bucket": "files"}),
            json!({"key": "orders/o/f"}),
            json!({"Content-Type": "image/png"}),
            json!(["content-length-range", 1234, 1234]),
            json!({"x-amz-algorithm": "AWS4-HMAC-SHA256"}),
            json!({"x-amz-credential": "AKIDEXAMPLE/20261206/eu-west-1/s3/aws4_request"}),
            json!({"x-amz-date": "20261206T140509Z"}),
            json!({"x-amz-security-token": "token"}),
        ] {
            assert!(conditions.contains(&condition), "{condition} in {policy}");
        }
        assert_eq!(conditions.len(), 8, "{policy}");
        // Every form field but the policy and signature is a condition (S3 refuses extra ones).
        for (name, value) in &post.fields {
            if name != "policy" && name != "x-amz-signature" {
                assert!(conditions.contains(&json!({ name: value })), "{name}");
            }
        }
        let key = ["20261206", "eu-west-1", "s3", "aws4_request"].iter().fold(
            b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_vec(),
            |key, part| hmac(&key, part.as_bytes()),
        );
        let expected = hex::encode(hmac(&key, post.fields["policy"].as_bytes()));
        assert_eq!(post.fields["x-amz-signature"], expected);
        assert_eq!(
            post.expires_at,
            now.replace_nanosecond(0).unwrap() + UPLOAD_WINDOW
        );
    }
}

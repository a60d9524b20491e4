//! Files: deliveries and requirement files of an order, attachments of a conversation. The bytes
//! live in S3 and never pass through a function: the caller declares a file (name, type, size),
//! the browser uploads it straight to S3 with a presigned POST, and the file is checked against
//! its declaration the first time it is used (a delivery or a message names it).
//!
//! This module holds the rules without any AWS type: what may be declared (an allowlisted type,
//! a size within the area's limit, a sanitised name), a stored file's state, and the
//! `Content-Disposition` every download is served with.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use super::{Invalid, Violations};

/// How long a presigned POST accepts the upload.
pub const UPLOAD_WINDOW: time::Duration = time::Duration::minutes(15);

/// How long a download link (the presigned GET a download redirects to) works: long enough to
/// start a large download, short enough that a leaked link is soon useless.
pub const DOWNLOAD_WINDOW: time::Duration = time::Duration::minutes(5);

/// The longest stored filename, in characters (S3 and browsers take more; people never need it).
pub const FILENAME_MAX_CHARS: usize = 200;

/// The content types a file may be declared with: documents, images, audio, video and archives,
/// the deliveries of a design, writing, music or programming gig. Types a browser would run on
/// our origin (HTML, SVG, JavaScript, XML) are not among them, and every download is an
/// attachment anyway (see [`content_disposition`]).
pub const ALLOWED_CONTENT_TYPES: &[&str] = &[
    "application/pdf",
    "application/zip",
    "application/x-7z-compressed",
    "application/gzip",
    "application/x-tar",
    "application/json",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/postscript",
    "application/octet-stream",
    "text/plain",
    "text/csv",
    "text/markdown",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/tiff",
    "image/vnd.adobe.photoshop",
    "audio/mpeg",
    "audio/wav",
    "audio/ogg",
    "audio/flac",
    "video/mp4",
    "video/quicktime",
    "video/webm",
];

/// Where a file belongs: its order or its conversation. Who may see it follows from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileArea {
    Order,
    Conversation,
}

impl FileArea {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Conversation => "conversation",
        }
    }
}

/// The limits of one area, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    /// The largest file, in bytes.
    pub max_bytes: u64,
    /// The most files one order (or conversation) may hold.
    pub max_count: u32,
}

/// `POST /orders/{id}/files` and `POST /conversations/{id}/files`: the file the caller is about
/// to upload.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFile {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
}

/// A declaration that passed the rules: what the upload's policy will demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
}

impl NewFile {
    pub fn validate(&self, limits: FileLimits) -> Result<Declared, Invalid> {
        let mut violations = Violations::new();
        let filename = sanitize_filename(&self.filename);
        violations.check(
            !filename.is_empty(),
            "filename",
            "required",
            "a file name with at least one visible character",
        );
        let content_type = self.content_type.trim().to_ascii_lowercase();
        violations.check(
            ALLOWED_CONTENT_TYPES.contains(&content_type.as_str()),
            "content_type",
            "not_allowed",
            "this content type is not accepted (see the API reference for the list)",
        );
        violations.check(
            self.size_bytes >= 1,
            "size_bytes",
            "too_small",
            "a file has at least one byte",
        );
        violations.check(
            self.size_bytes <= limits.max_bytes,
            "size_bytes",
            "too_large",
            format!("at most {} bytes", limits.max_bytes),
        );
        violations.into_result()?;
        Ok(Declared {
            filename,
            content_type,
            size_bytes: self.size_bytes,
        })
    }
}

/// The name a file is stored and served under: the last path segment of what the browser sent
/// (`C:\Users\me\logo.png` is `logo.png`), Unicode NFC, without control characters, quotes,
/// backslashes or leading dots (no hidden or relative names), whitespace runs as one space, at
/// most [`FILENAME_MAX_CHARS`] characters (the extension kept). Empty when nothing is left.
pub fn sanitize_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut cleaned = String::new();
    for c in last.nfc() {
        if c.is_control() || matches!(c, '"' | '\\' | '/' | '<' | '>' | '|' | '*' | '?' | ':') {
            continue;
        }
        if c.is_whitespace() {
            if !cleaned.is_empty() && !cleaned.ends_with(' ') {
                cleaned.push(' ');
            }
            continue;
        }
        cleaned.push(c);
    }
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.chars().count() <= FILENAME_MAX_CHARS {
        return cleaned;
    }
    // Keep a short extension, so the download still opens with the right program.
    let extension = cleaned
        .rsplit_once('.')
        .map(|(_, extension)| extension)
        .filter(|extension| extension.chars().count() <= 10)
        .map(|extension| format!(".{extension}"))
        .unwrap_or_default();
    let stem: String = cleaned
        .chars()
        .take(FILENAME_MAX_CHARS - extension.chars().count())
        .collect();
    format!("{}{extension}", stem.trim_end())
}

/// Where a file is in its life. `Pending`: declared, perhaps uploaded, never checked. `Ready`:
/// found in S3 as declared when first used; its ETag is kept, so a later overwrite through a
/// still-open upload window is noticed. `Expired`: an order's file whose object the scheduler
/// deleted its retention period after the order closed; the item stays as the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Pending,
    Ready,
    Expired,
}

/// A declared file, as stored beside its order or conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub id: Uuid,
    pub area: FileArea,
    /// The order or conversation it belongs to.
    pub owner_id: Uuid,
    pub uploader_id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub status: FileStatus,
    /// Set once the file is used: the S3 object's ETag it was checked with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Set once a delivery (or a message) references it: from then on it is part of the record
    /// of the order (or conversation).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub used_at: Option<OffsetDateTime>,
    /// Set when its object was deleted, its retention period after its order closed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub expired_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub upload_expires_at: OffsetDateTime,
}

impl StoredFile {
    pub fn declare(
        area: FileArea,
        owner_id: Uuid,
        uploader_id: Uuid,
        declared: Declared,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            area,
            owner_id,
            uploader_id,
            filename: declared.filename,
            content_type: declared.content_type,
            size_bytes: declared.size_bytes,
            status: FileStatus::Pending,
            etag: None,
            used_at: None,
            expired_at: None,
            created_at: now,
            upload_expires_at: now + UPLOAD_WINDOW,
        }
    }
}

/// A file found in S3 as it should be, about to be used by a delivery or a message: the file as
/// read, and the ETag its object had when checked (recorded as the file's when first used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    pub file: StoredFile,
    pub etag: Option<String>,
}

/// What S3 holds under a file's key, as HeadObject tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFacts {
    pub size_bytes: u64,
    pub content_type: Option<String>,
    pub etag: Option<String>,
}

/// How an uploaded object compares with its declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    Size { declared: u64, uploaded: u64 },
    ContentType { declared: String, uploaded: String },
}

impl Mismatch {
    pub fn detail(&self) -> String {
        match self {
            Self::Size { declared, uploaded } => {
                format!("the upload has {uploaded} bytes, {declared} were declared")
            }
            Self::ContentType { declared, uploaded } => {
                format!("the upload is {uploaded:?}, {declared:?} was declared")
            }
        }
    }
}

/// The first way the object differs from the declaration, if any. The content type compares
/// without parameters and case (`image/PNG; x=1` is `image/png`).
pub fn check_upload(file: &StoredFile, object: &ObjectFacts) -> Result<(), Mismatch> {
    if object.size_bytes != file.size_bytes {
        return Err(Mismatch::Size {
            declared: file.size_bytes,
            uploaded: object.size_bytes,
        });
    }
    let uploaded = object
        .content_type
        .as_deref()
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if uploaded != file.content_type {
        return Err(Mismatch::ContentType {
            declared: file.content_type.clone(),
            uploaded,
        });
    }
    Ok(())
}

/// `attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 with RFC 8187):
/// the download is saved, never shown on our origin, under its name in every browser, with an
/// ASCII fallback for those that ignore `filename*`.
pub fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in filename.bytes() {
        // RFC 8187's attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~".
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: FileLimits = FileLimits {
        max_bytes: 1_000,
        max_count: 3,
    };

    fn new_file(filename: &str, content_type: &str, size_bytes: u64) -> NewFile {
        NewFile {
            filename: filename.to_owned(),
            content_type: content_type.to_owned(),
            size_bytes,
        }
    }

    #[test]
    fn names_lose_paths_controls_and_leading_dots() {
        assert_eq!(sanitize_filename("C:\\Users\\me\\logo.png"), "logo.png");
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("..hidden"), "hidden");
        assert_eq!(sanitize_filename("a\u{0}b\r\n c\"d.pdf"), "ab cd.pdf");
        assert_eq!(
            sanitize_filename("  many    spaces .txt "),
            "many spaces .txt"
        );
        assert_eq!(sanitize_filename("Cafe\u{301}.txt"), "Café.txt");
        assert_eq!(sanitize_filename("/\\.."), "");
        let long = format!("{}.psd", "x".repeat(500));
        let kept = sanitize_filename(&long);
        assert_eq!(kept.chars().count(), FILENAME_MAX_CHARS);
        assert!(kept.ends_with(".psd"));
    }

    #[test]
    fn declarations_are_checked_against_the_limits_and_the_allowlist() {
        let ok = new_file("Logo Final.PNG", "Image/PNG", 1_000)
            .validate(LIMITS)
            .unwrap();
        assert_eq!(ok.content_type, "image/png");
        assert_eq!(ok.filename, "Logo Final.PNG");
        let fields = |file: NewFile| -> Vec<String> {
            file.validate(LIMITS)
                .unwrap_err()
                .0
                .into_iter()
                .map(|error| format!("{}:{}", error.field, error.code))
                .collect()
        };
        assert_eq!(
            fields(new_file("a.html", "text/html", 5)),
            ["content_type:not_allowed"]
        );
        assert_eq!(
            fields(new_file("a.png", "image/png", 1_001)),
            ["size_bytes:too_large"]
        );
        assert_eq!(
            fields(new_file("..", "image/svg+xml", 0)),
            [
                "filename:required",
                "content_type:not_allowed",
                "size_bytes:too_small"
            ]
        );
    }

    fn stored(size_bytes: u64, content_type: &str) -> StoredFile {
        StoredFile::declare(
            FileArea::Order,
            Uuid::now_v7(),
            Uuid::now_v7(),
            Declared {
                filename: "a".to_owned(),
                content_type: content_type.to_owned(),
                size_bytes,
            },
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn an_upload_must_be_what_was_declared() {
        let file = stored(10, "image/png");
        let object = |size_bytes, content_type: &str| ObjectFacts {
            size_bytes,
            content_type: Some(content_type.to_owned()),
            etag: None,
        };
        assert_eq!(check_upload(&file, &object(10, "image/PNG; q=1")), Ok(()));
        assert_eq!(
            check_upload(&file, &object(100, "image/png")),
            Err(Mismatch::Size {
                declared: 10,
                uploaded: 100
            })
        );
        assert!(matches!(
            check_upload(&file, &object(10, "text/html")),
            Err(Mismatch::ContentType { .. })
        ));
    }

    #[test]
    fn downloads_are_attachments_with_both_filename_forms() {
        assert_eq!(
            content_disposition("logo final.png"),
            "attachment; filename=\"logo final.png\"; filename*=UTF-8''logo%20final.png"
        );
        assert_eq!(
            content_disposition("Café 100%.pdf"),
            "attachment; filename=\"Caf_ 100_.pdf\"; filename*=UTF-8''Caf%C3%A9%20100%25.pdf"
        );
    }
}

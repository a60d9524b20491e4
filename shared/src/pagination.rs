//! Cursor pagination: `limit` + `cursor` in, `items` + `next_cursor` out.
//!
//! A cursor is the store's resume [`Position`]: the key of the last item returned plus the scope
//! of the listing it came from (derived by the store's paged query, `store::paged`, from the
//! index, partition, key range and filters, never built by callers). It is encoded as
//! `base64url(json) "." base64url(HMAC-SHA256)`. Clients can not forge one to read from a key
//! space they should not (the signature), nor replay one against a different query (the store
//! refuses a position of another scope): either is a 400.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// The query-string half of paging; flatten it into an endpoint's query struct.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct PageParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The query string of a listing that takes nothing but paging (unknown parameters are a 400).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagingOnly {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl From<PagingOnly> for PageParams {
    fn from(params: PagingOnly) -> Self {
        Self {
            limit: params.limit,
            cursor: params.cursor,
        }
    }
}

/// A validated page request: the limit and, after the first page, the position to resume from.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Position>,
}

impl PageRequest {
    /// The first page of a listing.
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }
}

/// Where a listing resumes: opaque above the store, which makes and checks it.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// The listing it belongs to (`store::paged::Listing::scope`).
    pub(crate) scope: String,
    /// The key attributes of the last item returned.
    pub(crate) key: Value,
}

impl Position {
    /// A position in a listing the table does not hold (the search index's results): `scope`
    /// names the query, `key` where its next page starts.
    pub fn new(scope: String, key: Value) -> Self {
        Self { scope, key }
    }

    /// Where the next page of the listing `scope` starts; a cursor of another listing is a 400.
    pub fn key_in(&self, scope: &str) -> ApiResult<&Value> {
        if self.scope == scope {
            Ok(&self.key)
        } else {
            Err(invalid_cursor())
        }
    }
}

/// The error for any cursor that is not a position of this listing.
pub fn invalid_cursor() -> ApiError {
    ApiError::invalid("cursor", "invalid_cursor", INVALID_CURSOR)
}

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Clone)]
pub struct CursorCodec {
    key: hmac::Key,
}

#[derive(Serialize, Deserialize)]
struct CursorBody {
    /// The listing this cursor belongs to.
    s: String,
    /// The resume position.
    p: Value,
}

const INVALID_CURSOR: &str = "cursor is invalid, expired or belongs to another query";

impl CursorCodec {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    pub fn encode(&self, position: &Position) -> String {
        let body = serde_json::to_vec(&CursorBody {
            s: position.scope.clone(),
            p: position.key.clone(),
        })
        .expect("JSON values serialise");
        let tag = hmac::sign(&self.key, &body);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&body),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// A position this codec signed; whether it belongs to the listing read next is the
    /// store's check.
    pub fn decode(&self, cursor: &str) -> ApiResult<Position> {
        let (body, tag) = cursor.split_once('.').ok_or_else(invalid_cursor)?;
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid_cursor())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid_cursor())?;
        hmac::verify(&self.key, &body, &tag).map_err(|_| invalid_cursor())?;
        let body: CursorBody = serde_json::from_slice(&body).map_err(|_| invalid_cursor())?;
        Ok(Position {
            scope: body.s,
            key: body.p,
        })
    }

    /// Validates `limit` (1..=100, default 20) and decodes `cursor`.
    pub fn page_request(&self, params: &PageParams) -> ApiResult<PageRequest> {
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                "out_of_range",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = params
            .cursor
            .as_deref()
            .map(|cursor| self.decode(cursor))
            .transpose()?;
        Ok(PageRequest { limit, after })
    }

    /// Wraps a store page into the response shape, encoding the next position if there is one.
    pub fn page<T>(&self, items: Vec<T>, next: Option<Position>) -> Page<T> {
        Page {
            items,
            next_cursor: next.map(|position| self.encode(&position)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cursors_round_trip_and_resist_tampering() {
        let codec = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        let position = Position {
            scope: "listing-a".into(),
            key: json!({"pk": "A#1", "sk": "A"}),
        };
        let cursor = codec.encode(&position);
        assert_eq!(codec.decode(&cursor).unwrap(), position);
        let (body, tag) = cursor.split_once('.').unwrap();
        let forged_body = URL_SAFE_NO_PAD.encode(br#"{"s":"listing-a","p":{"pk":"B#1"}}"#);
        assert!(
            codec.decode(&format!("{forged_body}.{tag}")).is_err(),
            "forged"
        );
        assert!(codec.decode(body).is_err(), "no tag");
        let other = CursorCodec::new(b"another key another key another k");
        assert!(other.decode(&cursor).is_err(), "other key");
    }

    #[test]
    fn limits_are_bounded() {
        let codec = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        let params = |limit| PageParams {
            limit: Some(limit),
            cursor: None,
        };
        assert_eq!(
            codec.page_request(&PageParams::default()).unwrap().limit,
            DEFAULT_LIMIT
        );
        assert!(codec.page_request(&params(0)).is_err());
        assert!(codec.page_request(&params(101)).is_err());
        assert_eq!(codec.page_request(&params(100)).unwrap().limit, 100);
    }
}

//! Page cursors: which index version a page came from and how many results came before it.
//!
//! A cursor of the current version continues exactly where its page ended (the version's results
//! are fixed). A cursor of an older version still answers: the query runs again on the current
//! version and skips as many results, so a gig the update moved may show twice or be skipped
//! once, but the pages stay full and in order.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::SearchError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The index version (commit opstamp) the previous page was read from.
    pub version: u64,
    /// Results on the pages before the next one.
    pub offset: usize,
}

impl Cursor {
    /// The opaque form handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v{}:{}", self.version, self.offset))
    }

    pub fn decode(raw: &str) -> Result<Self, SearchError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| SearchError::InvalidCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| SearchError::InvalidCursor)?;
        let (version, offset) = text
            .strip_prefix('v')
            .and_then(|rest| rest.split_once(':'))
            .ok_or(SearchError::InvalidCursor)?;
        Ok(Self {
            version: version.parse().map_err(|_| SearchError::InvalidCursor)?,
            offset: offset.parse().map_err(|_| SearchError::InvalidCursor)?,
        })
    }
}

//! How the domain says "this input breaks the rules": every offending field at once, each with a
//! stable code. `error.rs` turns an [`Invalid`] into the 400 problem; nothing here knows HTTP.

use serde::Serialize;

/// One invalid input field: `field` is a JSON pointer-ish path (`packages[1].price_cents`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Input refused by the rules: one entry per offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    /// A single offending field.
    pub fn field(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, code, message)])
    }
}

/// Collects field errors so a request reports every problem at once, not the first one.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(
        &mut self,
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.0.push(FieldError::new(field, code, message));
    }

    /// Records `message` under `field` unless `ok` holds.
    pub fn check(
        &mut self,
        ok: bool,
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) {
        if !ok {
            self.add(field, code, message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.0))
        }
    }
}

/// The one text-length rule of every request field: empty is `required`, then `too_short`
/// below `min_chars` and `too_long` above `max_chars` (counted in characters, not bytes).
pub(crate) fn check_text(
    violations: &mut Violations,
    field: &str,
    text: &str,
    min_chars: usize,
    max_chars: usize,
) {
    let chars = text.chars().count();
    if chars == 0 {
        violations.add(field, "required", "must not be empty");
    } else if chars < min_chars {
        violations.add(
            field,
            "too_short",
            format!("must be at least {min_chars} characters"),
        );
    }
    violations.check(
        chars <= max_chars,
        field,
        "too_long",
        format!("must be at most {max_chars} characters"),
    );
}

/// Characters that reorder or hide text without showing themselves: the bidirectional controls
/// (which can make `gpj.exe` read `exe.jpg` in a list or a mail) and invisible separators.
/// ZWJ and ZWNJ stay: scripts such as Persian and Devanagari, and emoji sequences, need them.
const INVISIBLE_FORMAT: &[char] = &[
    '\u{061C}', '\u{200B}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
    '\u{202E}', '\u{2060}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{FEFF}',
];

/// A short text shown to other people (a name, a title, a tag): NFC-normalised, without
/// bidirectional controls and invisible separators, trimmed.
pub(crate) fn display_text(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    raw.nfc()
        .filter(|c| !INVISIBLE_FORMAT.contains(c))
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A single free-text field (a reason, a message, requirements): trimmed, then [`check_text`].
pub(crate) fn required_text(
    field: &str,
    raw: &str,
    min_chars: usize,
    max_chars: usize,
) -> Result<String, Invalid> {
    let text = raw.trim().to_owned();
    let mut violations = Violations::new();
    check_text(&mut violations, field, &text, min_chars, max_chars);
    violations.into_result().map(|()| text)
}

/// The longest URL a profile or an attachment may give.
pub const URL_MAX_CHARS: usize = 500;

/// An absolute `https` URL of sane length; we never fetch it, clients render it.
pub fn check_https_url(violations: &mut Violations, field: &str, raw: &str) {
    let parsed = url::Url::parse(raw);
    let ok = raw.len() <= URL_MAX_CHARS
        && parsed
            .as_ref()
            .is_ok_and(|url| url.scheme() == "https" && url.host_str().is_some());
    violations.check(
        ok,
        field,
        "invalid_url",
        format!("must be an https URL of at most {URL_MAX_CHARS} characters"),
    );
}

//! Users: roles, account status, profiles and the rules for registering and editing them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::rating::{Rating, RatingSummary, UserRatings};
use super::validation::check_https_url;
use super::{Invalid, Violations, check_text, display_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Client,
    Freelancer,
    /// Only ever created from the command line (`gigctl create-admin`), never through the API.
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    #[default]
    Active,
    /// Set by moderation: cannot log in or refresh; their gigs disappear from browse.
    Blocked,
}

/// Who is asking: a user proven by their access token, with the role it carries. The web layer
/// makes one per request; use cases decide what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub id: Uuid,
    pub role: Role,
    /// The session the access token was issued in (`None` for callers that are no signed-in
    /// session: the scheduler, gigctl, a WebSocket connection's stored user). Writes refuse a
    /// session that was ended (`store::acting`).
    pub session: Option<SessionRef>,
}

/// A signed-in session: its refresh-token family and when it started (unix ms). Access tokens
/// carry it, so ending the session (logout, password change) ends their writes too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRef {
    pub id: Uuid,
    pub started_ms: i64,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A stored user without credentials: the password hash lives on a separate item the profile
/// code never reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub status: UserStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub rating_sum: u64,
    #[serde(default)]
    pub rating_count: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Sessions started before this instant (unix milliseconds) are revoked: set by a password
    /// change (which then starts the caller's new session), a password reset, "log out everywhere"
    /// and a block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_revoked_before_ms: Option<i64>,
    /// Sessions logged out one by one (their id -> unix seconds when their last access token
    /// expires, after which the entry is pruned): their access tokens write nothing.
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub ended_sessions: HashMap<Uuid, i64>,
    /// When the password last changed, by change or reset (unix ms): a reset token issued
    /// before it no longer works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_changed_ms: Option<i64>,
    // Messaging: unread messages over all conversations, moved by the messaging transactions.
    #[serde(default)]
    pub unread_messages: u64,
    // Email verification: `false` from registration until the mailed token comes back. An
    // ABSENT attribute reads as verified, so accounts created before verification existed
    // keep working.
    #[serde(default = "verified_when_absent")]
    pub email_verified: bool,
}

fn verified_when_absent() -> bool {
    true
}

impl User {
    pub fn new(email: String, name: String, role: Role, now: OffsetDateTime) -> Self {
        Self {
            id: Uuid::new_v4(),
            email,
            name,
            role,
            status: UserStatus::Active,
            bio: None,
            skills: Vec::new(),
            country: None,
            avatar_url: None,
            rating_sum: 0,
            rating_count: 0,
            created_at: now,
            updated_at: now,
            sessions_revoked_before_ms: None,
            ended_sessions: HashMap::new(),
            password_changed_ms: None,
            // Messaging.
            unread_messages: 0,
            // Registration proves nothing about the mailbox; operators' users are verified by
            // `Accounts::create_user`.
            email_verified: false,
        }
    }

    /// Whether a session that started at `started_ms` (unix ms; `None` for sessions from before
    /// the start time was recorded) was revoked by a password change.
    pub fn revoked_session(&self, started_ms: Option<i64>) -> bool {
        self.sessions_revoked_before_ms
            .is_some_and(|before| started_ms.unwrap_or(0) < before)
    }

    pub fn is_blocked(&self) -> bool {
        self.status == UserStatus::Blocked
    }

    pub fn rating(&self) -> Rating {
        Rating::from_sum(self.rating_sum, self.rating_count)
    }
}

/// What the owner sees at `GET /me`.
#[derive(Debug, Serialize)]
pub struct PrivateProfile {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: UserStatus,
    pub bio: Option<String>,
    pub skills: Vec<String>,
    pub country: Option<String>,
    pub avatar_url: Option<String>,
    pub rating: Rating,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    // Set by `with_ratings` where the ratings were read
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_rating: Option<RatingSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_rating: Option<RatingSummary>,
    // Messaging: the unread total (kept on the user item, so `GET /me` stays one read).
    pub unread_messages: u64,
    // Email verification.
    pub email_verified: bool,
}

impl From<&User> for PrivateProfile {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
            status: user.status,
            bio: user.bio.clone(),
            skills: user.skills.clone(),
            country: user.country.clone(),
            avatar_url: user.avatar_url.clone(),
            rating: user.rating(),
            created_at: user.created_at,
            updated_at: user.updated_at,
            seller_rating: None,
            buyer_rating: None,
            unread_messages: user.unread_messages,
            email_verified: user.email_verified,
        }
    }
}

impl PrivateProfile {
    pub fn with_ratings(self, ratings: &UserRatings) -> Self {
        Self {
            seller_rating: Some(ratings.seller.summary()),
            buyer_rating: Some(ratings.buyer.summary()),
            ..self
        }
    }
}

/// What anyone sees at `GET /users/{id}`: no email, no status, no internal counters.
#[derive(Debug, Serialize)]
pub struct PublicProfile {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub bio: Option<String>,
    pub skills: Vec<String>,
    pub country: Option<String>,
    pub avatar_url: Option<String>,
    pub rating: Rating,
    #[serde(with = "time::serde::rfc3339")]
    pub member_since: OffsetDateTime,
    // Set by `with_ratings` where the ratings were read
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_rating: Option<RatingSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_rating: Option<RatingSummary>,
}

impl From<&User> for PublicProfile {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            name: user.name.clone(),
            role: user.role,
            bio: user.bio.clone(),
            skills: user.skills.clone(),
            country: user.country.clone(),
            avatar_url: user.avatar_url.clone(),
            rating: user.rating(),
            member_since: user.created_at,
            seller_rating: None,
            buyer_rating: None,
        }
    }
}

impl PublicProfile {
    pub fn with_ratings(self, ratings: &UserRatings) -> Self {
        Self {
            seller_rating: Some(ratings.seller.summary()),
            buyer_rating: Some(ratings.buyer.summary()),
            ..self
        }
    }
}

pub const PASSWORD_MIN_CHARS: usize = 10;
/// argon2 accepts anything, but unbounded input is a cheap way to burn our CPU.
pub const PASSWORD_MAX_CHARS: usize = 128;
pub const NAME_MAX_CHARS: usize = 80;
pub const BIO_MAX_CHARS: usize = 2_000;
pub const SKILLS_MAX: usize = 20;
pub const SKILL_MAX_CHARS: usize = 40;
/// RFC 5321's limit on a forward path; longer addresses can not be delivered, nor registered.
pub const EMAIL_MAX_BYTES: usize = 254;

/// Emails are compared trimmed, NFC-normalised and lower-cased, with the domain in its ASCII
/// (IDNA) form: `Ann@Example.com `, `ann@example.com` and the two spellings of `zoë@bücher.de`
/// (composed and decomposed), or `zoë@xn--bcher-kva.de`, are one account each. (Local parts
/// are case-sensitive by RFC, but no real provider treats them so.) A domain IDNA refuses is
/// kept as typed, lower-cased, for `check_email` to judge.
pub fn normalize_email(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let email: String = raw.trim().nfc().collect::<String>().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain)) => match idna::domain_to_ascii(domain) {
            Ok(ascii) if !ascii.is_empty() => format!("{local}@{ascii}"),
            _ => email,
        },
        None => email,
    }
}

impl Registration {
    /// The name as it is stored and shown (see `domain::validation::display_text`).
    pub fn display_name(&self) -> String {
        display_text(&self.name)
    }
}

pub fn check_email(violations: &mut Violations, field: &str, email: &str) {
    let valid = email.len() <= EMAIL_MAX_BYTES
        && email_address::EmailAddress::is_valid(email)
        && email.contains('.');
    violations.check(
        valid,
        field,
        "invalid_email",
        "must be a valid email address",
    );
}

pub fn check_password(violations: &mut Violations, password: &str, normalized_email: &str) {
    let chars = password.chars().count();
    violations.check(
        chars >= PASSWORD_MIN_CHARS,
        "password",
        "too_short",
        format!("must be at least {PASSWORD_MIN_CHARS} characters"),
    );
    violations.check(
        chars <= PASSWORD_MAX_CHARS,
        "password",
        "too_long",
        format!("must be at most {PASSWORD_MAX_CHARS} characters"),
    );
    let lowered = password.trim().to_lowercase();
    let local_part = normalized_email.split('@').next().unwrap_or_default();
    violations.check(
        lowered != normalized_email && (local_part.len() < 4 || !lowered.contains(local_part)),
        "password",
        "contains_email",
        "must not be or contain your email address",
    );
}

/// A display name, as [`display_text`] makes it: 1..=80 characters, no control characters.
pub fn check_name(violations: &mut Violations, name: &str) {
    let shown = display_text(name);
    let trimmed = shown.as_str();
    check_text(violations, "name", trimmed, 1, NAME_MAX_CHARS);
    violations.check(
        !trimmed.chars().any(char::is_control),
        "name",
        "invalid_characters",
        "must not contain control characters",
    );
}

/// `POST /auth/register` after parsing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub name: String,
    pub role: Role,
}

impl Registration {
    /// Checks every rule; returns the normalised email on success.
    pub fn validate(&self) -> Result<String, Invalid> {
        let email = normalize_email(&self.email);
        let mut violations = Violations::new();
        check_email(&mut violations, "email", &email);
        check_password(&mut violations, &self.password, &email);
        check_name(&mut violations, &self.name);
        violations.check(
            self.role != Role::Admin,
            "role",
            "role_not_allowed",
            "must be client or freelancer; admin accounts are created by operators",
        );
        violations.into_result().map(|()| email)
    }
}

/// `PATCH /me`. A missing field is left alone; `null` clears an optional field. `name` and
/// `skills` can not be cleared, so `null` for them is a type error, not a silent no-op.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[serde(default, deserialize_with = "non_null")]
    pub name: Option<String>,
    #[serde(default, with = "nullable")]
    pub bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "non_null")]
    pub skills: Option<Vec<String>>,
    #[serde(default, with = "nullable")]
    pub country: Option<Option<String>>,
    #[serde(default, with = "nullable")]
    pub avatar_url: Option<Option<String>>,
}

/// The patch after validation and normalisation, ready to store.
#[derive(Debug, Default, PartialEq)]
pub struct ProfileChanges {
    pub name: Option<String>,
    pub bio: Option<Option<String>>,
    pub skills: Option<Vec<String>>,
    pub country: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
}

impl ProfileChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl ProfilePatch {
    pub fn validate(self) -> Result<ProfileChanges, Invalid> {
        let mut violations = Violations::new();
        let name = self.name.map(|name| {
            check_name(&mut violations, &name);
            display_text(&name)
        });
        let bio = self.bio.map(|bio| {
            bio.map(|text| text.trim().to_owned())
                .filter(|text| !text.is_empty())
                // Never empty here (an empty bio clears it), so this only bounds the length.
                .inspect(|text| check_text(&mut violations, "bio", text, 1, BIO_MAX_CHARS))
        });
        let skills = self.skills.map(|skills| {
            violations.check(
                skills.len() <= SKILLS_MAX,
                "skills",
                "too_many",
                format!("at most {SKILLS_MAX} skills"),
            );
            let mut normalized: Vec<String> = Vec::with_capacity(skills.len());
            for (index, skill) in skills.iter().enumerate() {
                let skill = skill.trim();
                let field = format!("skills[{index}]");
                check_text(&mut violations, &field, skill, 1, SKILL_MAX_CHARS);
                // Duplicates (ignoring case) are dropped rather than rejected: it is what the user meant.
                if !normalized
                    .iter()
                    .any(|seen| seen.eq_ignore_ascii_case(skill))
                {
                    normalized.push(skill.to_owned());
                }
            }
            normalized
        });
        let country = self.country.map(|country| {
            country
                .map(|code| code.trim().to_ascii_uppercase())
                .inspect(|code| {
                    violations.check(
                        isocountry::CountryCode::for_alpha2(code).is_ok(),
                        "country",
                        "invalid_country",
                        "must be an ISO 3166-1 alpha-2 country code such as DE or US",
                    );
                })
        });
        let avatar_url = self.avatar_url.map(|url| {
            url.map(|raw| raw.trim().to_owned()).inspect(|raw| {
                check_https_url(&mut violations, "avatar_url", raw);
            })
        });
        violations.into_result()?;
        Ok(ProfileChanges {
            name,
            bio,
            skills,
            country,
            avatar_url,
        })
    }
}

/// A field that may be absent (`None`) but never `null`: `null` fails as the wrong type.
pub(crate) fn non_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) mod nullable {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(email: &str, password: &str, role: Role) -> Registration {
        Registration {
            email: email.to_owned(),
            password: password.to_owned(),
            name: "Ann".to_owned(),
            role,
        }
    }

    fn fields(result: Result<impl std::fmt::Debug, Invalid>) -> Vec<(String, &'static str)> {
        match result {
            Err(Invalid(errors)) => errors
                .into_iter()
                .map(|error| (error.field, error.code))
                .collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn registration_normalises_email() {
        let email = registration("  Ann@Example.COM ", "long enough pass", Role::Client)
            .validate()
            .unwrap();
        assert_eq!(email, "ann@example.com");
    }

    #[test]
    fn registration_rejects_admin_short_password_and_email_password() {
        assert_eq!(
            fields(registration("ann@example.com", "long enough pass", Role::Admin).validate()),
            vec![("role".to_owned(), "role_not_allowed")]
        );
        assert_eq!(
            fields(registration("ann@example.com", "short", Role::Client).validate()),
            vec![("password".to_owned(), "too_short")]
        );
        assert_eq!(
            fields(
                registration("annabelle@example.com", "Annabelle2024!", Role::Client).validate()
            ),
            vec![("password".to_owned(), "contains_email")]
        );
        assert_eq!(
            fields(registration("not-an-email", "long enough pass", Role::Client).validate()),
            vec![("email".to_owned(), "invalid_email")]
        );
    }

    #[test]
    fn profile_patch_normalises_and_validates() {
        let patch: ProfilePatch = serde_json::from_value(serde_json::json!({
            "skills": ["Rust", "rust", " SQL "], "country": "de", "bio": null
        }))
        .unwrap();
        let changes = patch.validate().unwrap();
        assert_eq!(
            changes.skills,
            Some(vec!["Rust".to_owned(), "SQL".to_owned()])
        );
        assert_eq!(changes.country, Some(Some("DE".to_owned())));
        assert_eq!(changes.bio, Some(None));
        assert_eq!(changes.name, None);

        let patch: ProfilePatch = serde_json::from_value(serde_json::json!({
            "country": "XX", "avatar_url": "http://insecure.example/a.png", "name": " "
        }))
        .unwrap();
        let mut got = fields(patch.validate());
        got.sort();
        assert_eq!(
            got,
            vec![
                ("avatar_url".to_owned(), "invalid_url"),
                ("country".to_owned(), "invalid_country"),
                ("name".to_owned(), "required"),
            ]
        );
    }

    #[test]
    fn profile_patch_refuses_null_for_fields_that_can_not_be_cleared() {
        for field in ["name", "skills"] {
            let error = serde_json::from_str::<ProfilePatch>(&format!(r#"{{"{field}": null}}"#))
                .expect_err("null must be rejected");
            assert!(
                error.to_string().starts_with("invalid type: null"),
                "{field}: {error}"
            );
        }
        let patch: ProfilePatch = serde_json::from_str(r#"{"bio": null}"#).unwrap();
        assert_eq!(patch.bio, Some(None));
        assert!(patch.name.is_none() && patch.skills.is_none());
    }

    #[test]
    fn emails_are_one_key_however_they_are_spelled() {
        let composed = normalize_email(" Zo\u{00EB}@B\u{00FC}cher.DE ");
        let decomposed = normalize_email("zoe\u{0308}@bu\u{0308}cher.de");
        let punycode = normalize_email("zo\u{00EB}@xn--bcher-kva.de");
        assert_eq!(composed, "zo\u{00EB}@xn--bcher-kva.de");
        assert_eq!(decomposed, composed);
        assert_eq!(punycode, composed);
        assert_eq!(normalize_email("Ann@Example.com "), "ann@example.com");
        // Nothing to convert: kept for `check_email` to refuse.
        assert_eq!(normalize_email("no-at-sign"), "no-at-sign");
    }

    #[test]
    fn names_lose_bidi_controls_and_invisible_separators_but_keep_joiners() {
        let mut patch = ProfilePatch {
            name: Some("\u{202E}Ann\u{200B} Smith\u{2066}".to_owned()),
            ..ProfilePatch::default()
        };
        assert_eq!(patch.validate().unwrap().name.as_deref(), Some("Ann Smith"));
        // ZWNJ belongs to Persian spelling.
        patch = ProfilePatch {
            name: Some(
                "\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645}".to_owned(),
            ),
            ..ProfilePatch::default()
        };
        assert!(patch.validate().unwrap().name.unwrap().contains('\u{200C}'));
        // Only invisible characters: nothing is left, which is no name.
        let empty = ProfilePatch {
            name: Some("\u{202E}\u{200F}".to_owned()),
            ..ProfilePatch::default()
        };
        assert_eq!(
            fields(empty.validate()),
            vec![("name".to_owned(), "required")]
        );
        let registered = Registration {
            name: " Ann\u{202E}gpj.exe ".to_owned(),
            ..registration("ann@example.com", "a long passphrase", Role::Client)
        };
        assert_eq!(registered.display_name(), "Anngpj.exe");
    }
}

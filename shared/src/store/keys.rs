//! Every key layout of the single table, in one place. Nothing outside this module spells a
//! `pk`/`sk` string.
//!
//! | item                | pk                      | sk                 | indexes / notes                      |
//! |---------------------|-------------------------|--------------------|--------------------------------------|
//! | user profile        | `USER#<user_id>`        | `PROFILE`          |                                      |
//! | email credentials   | `EMAIL#<email>`         | `CREDENTIALS`      | uniqueness guard + password hash     |
//! | refresh token       | `REFRESH#<sha256>`      | `TOKEN`            | TTL `expires_at`                     |
//! | refresh family      | `FAMILY#<family_id>`    | `FAMILY`           | TTL `expires_at`; revoked flag       |
//! | login failures      | `LOGINFAIL#<email>`     | `WINDOW#<start>`   | TTL `expires_at`; fixed window count |
//! | gig                 | `GIG#<gig_id>`          | `GIG`              |                                      |
//!
//! GSIs `gsi1`..`gsi3` are generic (`gsiNpk`/`gsiNsk`), overloaded by the entities that need them;
//! each entity documents its use beside its key function.

use uuid::Uuid;

/// A primary key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: String, sk: &str) -> Self {
        Self {
            pk,
            sk: sk.to_owned(),
        }
    }
}

pub fn user(user_id: Uuid) -> Key {
    Key::new(format!("USER#{user_id}"), "PROFILE")
}

pub fn email_credentials(normalized_email: &str) -> Key {
    Key::new(format!("EMAIL#{normalized_email}"), "CREDENTIALS")
}

pub fn refresh_token(token_digest: &str) -> Key {
    Key::new(format!("REFRESH#{token_digest}"), "TOKEN")
}

pub fn refresh_family(family_id: Uuid) -> Key {
    Key::new(format!("FAMILY#{family_id}"), "FAMILY")
}

pub fn login_failures(normalized_email: &str, window_start: i64) -> Key {
    Key::new(
        format!("LOGINFAIL#{normalized_email}"),
        &format!("WINDOW#{window_start}"),
    )
}

pub fn gig(gig_id: Uuid) -> Key {
    Key::new(format!("GIG#{gig_id}"), "GIG")
}

/// Entity tags stored in every item's `entity` attribute; the stream dispatcher filters on them.
pub mod entity {
    pub const USER: &str = "user";
    pub const CREDENTIALS: &str = "credentials";
    pub const REFRESH_TOKEN: &str = "refresh_token";
    pub const REFRESH_FAMILY: &str = "refresh_family";
    pub const LOGIN_FAILURES: &str = "login_failures";
    pub const GIG: &str = "gig";
}

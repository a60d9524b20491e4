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
//! | gig                 | `GIG#<gig_id>`          | `GIG`              | gsi1: `GIGOWNER#<freelancer_id>` / `<created_ms>#<gig_id>` |
//! | gig listing entry   | `GIG#<gig_id>`          | `LIST#<partition>` | gsi1 price, gsi2 newest, gsi3 rating, gsi4 relevance (terms only); pk of each = `<partition>` |
//!
//! GSIs `gsi1`..`gsi4` are generic (`gsiNpk`/`gsiNsk`), overloaded by the entities that need them;
//! each entity documents its use beside its key function. Partition values carry a prefix per
//! entity (`GIGOWNER#`, `BROWSE#`, `TERM#`, ...), so overloaded indexes never mix entities.
//!
//! ## Gig listing entries (browse and search)
//!
//! A gig that is *listed* (active, and its owner not blocked) has one entry item per partition it
//! can be found in, written in the same transaction as the gig item and deleted with it when the
//! gig stops being listed; unlisted gigs have none, so browse never filters on status:
//!
//! | partition (`gsiNpk`)              | serves                                    |
//! |-----------------------------------|-------------------------------------------|
//! | `BROWSE#ALL`                      | `GET /gigs` without `q`/category          |
//! | `BROWSE#CAT#<category>`           | `category=`                               |
//! | `BROWSE#SUB#<category>#<sub>`     | `subcategory=`                            |
//! | `BROWSE#OWNER#<freelancer_id>`    | `GET /users/{id}/gigs`                    |
//! | `TERM#<term>` (at most 40 a gig)  | `q=` (the query's driving term)           |
//!
//! Each entry carries the same partition in `gsi1pk`..`gsi3pk` (and `gsi4pk` for term entries),
//! and one sort key per order: `gsi1sk` price (`<cents:015>#<gig_id>`), `gsi2sk` newest
//! (`<created_ms:016>#<gig_id>`), `gsi3sk` rating (`<avg*100:03>#<count:010>#<gig_id>`), `gsi4sk`
//! relevance (`<weight:03>#<rating key>`). The gig id ends every sort key, so orders are total
//! and cursor paging is stable.

use uuid::Uuid;

/// A primary key pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// Freelancer's own gigs, every status (`GET /me/gigs`): on the gig item, `gsi1`.
pub fn gig_owner_partition(freelancer_id: Uuid) -> String {
    format!("GIGOWNER#{freelancer_id}")
}

/// Sort key of a gig in its owner's list and in the newest order: creation time, then id.
pub fn created_sort_key(created_unix_ms: i128, gig_id: Uuid) -> String {
    format!("{created_unix_ms:016}#{gig_id}")
}

/// Listing partitions (see the module table).
pub mod listing {
    use uuid::Uuid;

    pub fn all() -> String {
        "BROWSE#ALL".to_owned()
    }

    pub fn category(category: &str) -> String {
        format!("BROWSE#CAT#{category}")
    }

    pub fn subcategory(category: &str, subcategory: &str) -> String {
        format!("BROWSE#SUB#{category}#{subcategory}")
    }

    pub fn owner(freelancer_id: Uuid) -> String {
        format!("BROWSE#OWNER#{freelancer_id}")
    }

    /// `term` is a normalised search term: letters and digits only, so never contains `#`.
    pub fn term(term: &str) -> String {
        format!("TERM#{term}")
    }

    pub fn is_term(partition: &str) -> bool {
        partition.starts_with("TERM#")
    }

    pub fn price_sort_key(cents: u64, gig_id: Uuid) -> String {
        format!("{cents:015}#{gig_id}")
    }

    /// The lowest and highest price sort keys of a price range, for a `BETWEEN` key condition.
    pub fn price_bounds(min_cents: Option<u64>, max_cents: Option<u64>) -> (String, String) {
        (
            format!("{:015}#", min_cents.unwrap_or(0)),
            // `~` sorts after every character of a uuid.
            format!("{:015}#~", max_cents.unwrap_or(999_999_999_999_999)),
        )
    }

    pub fn rating_sort_key(rating_centi: u64, rating_count: u64, gig_id: Uuid) -> String {
        format!("{rating_centi:03}#{rating_count:010}#{gig_id}")
    }

    pub fn relevance_sort_key(weight: u32, rating_sort_key: &str) -> String {
        format!("{weight:03}#{rating_sort_key}")
    }
}

/// One listing entry of a gig: `GIG#<gig_id>` / `LIST#<partition>`. Kept in the gig's item
/// collection, so all of a gig's entries are one strongly consistent Query away.
pub fn gig_listing(gig_id: Uuid, partition: &str) -> Key {
    Key::new(format!("GIG#{gig_id}"), &format!("LIST#{partition}"))
}

/// Entity tags stored in every item's `entity` attribute; the stream dispatcher filters on them.
pub mod entity {
    pub const USER: &str = "user";
    pub const CREDENTIALS: &str = "credentials";
    pub const REFRESH_TOKEN: &str = "refresh_token";
    pub const REFRESH_FAMILY: &str = "refresh_family";
    pub const LOGIN_FAILURES: &str = "login_failures";
    pub const GIG: &str = "gig";
    pub const GIG_LISTING: &str = "gig_listing";
}

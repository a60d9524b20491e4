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
//! | order               | `ORDER#<order_id>`      | `ORDER`            | gsi1, gsi2, sparse gsi3 (below)      |
//! | order timeline entry| `ORDER#<order_id>`      | `EVENT#<seq:06>`   | one per change; same partition as the order, so one Query reads both |
//! | order idempotency   | `IDEMPOTENCY#<client_id>#<key>` | `ORDER_REQUEST` | TTL `expires_at` (24 h); body hash + order id |
//! | mail dedupe record  | `MAIL#<event_id>`       | `TO#<user_id>`     | TTL `expires_at` (7 days); notifier's exactly-once guard |
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
//!
//! ## Orders
//!
//! Orders use:
//!
//! | index | pk                          | sk                                 | what for                               |
//! |-------|-----------------------------|------------------------------------|----------------------------------------|
//! | gsi1  | `CLIENT#<client_id>`        | `ORDER#<order_id>`                 | a client's orders, newest first (ids are UUIDv7, time-ordered) |
//! | gsi2  | `FREELANCER#<freelancer_id>`| `ORDER#<order_id>`                 | a freelancer's orders, newest first    |
//! | gsi3  | `DUE#LATE` / `DUE#AUTOCOMPLETE` | `<unix secs:012>#<order_id>`   | SPARSE: set only while the scheduler still has something to do (in progress and not late: `due_at`; delivered: auto-complete time); queried with `sk <= now`, never scanned |

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

pub fn order(order_id: Uuid) -> Key {
    Key::new(order_partition(order_id), "ORDER")
}

/// The partition holding an order and its timeline.
pub fn order_partition(order_id: Uuid) -> String {
    format!("ORDER#{order_id}")
}

/// Zero-padded so entries sort by sequence number.
pub fn order_timeline_entry(order_id: Uuid, seq: u64) -> Key {
    Key::new(order_partition(order_id), &format!("EVENT#{seq:06}"))
}

pub fn order_idempotency(client_id: Uuid, idempotency_key: &str) -> Key {
    Key::new(
        format!("IDEMPOTENCY#{client_id}#{idempotency_key}"),
        "ORDER_REQUEST",
    )
}

pub fn mail_sent(event_id: &str, recipient_id: Uuid) -> Key {
    Key::new(format!("MAIL#{event_id}"), &format!("TO#{recipient_id}"))
}

/// gsi1 partition: a client's orders.
pub fn orders_of_client(client_id: Uuid) -> String {
    format!("CLIENT#{client_id}")
}

/// gsi2 partition: a freelancer's orders.
pub fn orders_of_freelancer(freelancer_id: Uuid) -> String {
    format!("FREELANCER#{freelancer_id}")
}

/// gsi1/gsi2 sort key of an order: its UUIDv7 id sorts by placement time.
pub fn order_listing_sort(order_id: Uuid) -> String {
    format!("ORDER#{order_id}")
}

/// The two deadline lists the scheduler reads from gsi3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineList {
    Late,
    AutoComplete,
}

/// gsi3 partition of a deadline list.
pub fn deadline_partition(list: DeadlineList) -> &'static str {
    match list {
        DeadlineList::Late => "DUE#LATE",
        DeadlineList::AutoComplete => "DUE#AUTOCOMPLETE",
    }
}

/// gsi3 sort key: the deadline (unix seconds, zero-padded so strings sort like numbers), then the id.
pub fn deadline_sort(at_unix: i64, order_id: Uuid) -> String {
    format!("{at_unix:012}#{order_id}")
}

/// The greatest gsi3 sort key of anything due at or before `now_unix` (`~` sorts after the id).
pub fn deadline_upper_bound(now_unix: i64) -> String {
    format!("{now_unix:012}#~")
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
    /// The dispatcher turns stream records of these into order events.
    pub const ORDER: &str = "order";
    pub const ORDER_EVENT: &str = "order_event";
    pub const ORDER_REQUEST: &str = "order_request";
    pub const MAIL_SENT: &str = "mail_sent";
    pub const GIG_LISTING: &str = "gig_listing";
}

//! Every key layout of the single table, in one place: key prefixes, index names and the
//! attribute names the store writes by hand. Nothing outside this module spells a `pk`/`sk`
//! string, an index name or a `gsiNpk`/`gsiNsk` attribute.
//!
//! | item                | pk                      | sk                 | indexes / notes                      |
//! |---------------------|-------------------------|--------------------|--------------------------------------|
//! | user profile        | `USER#<user_id>`        | `PROFILE`          |                                      |
//! | email credentials   | `EMAIL#<email>`         | `CREDENTIALS`      | uniqueness guard + password hash     |
//! | refresh token       | `REFRESH#<sha256>`      | `TOKEN`            | TTL `expires_at`                     |
//! | refresh family      | `FAMILY#<family_id>`    | `FAMILY`           | TTL `expires_at`; revoked flag       |
//! | login attempts      | `LOGINFAIL#<email>`     | `WINDOW#<start>#FROM#<ip>` | TTL `expires_at`; reserved-attempt count (`store::throttle`) |
//! | login attempts / IP | `LOGINIP#<ip>`          | `WINDOW#<start>`   | TTL `expires_at`; reserved-attempt count |
//! | registrations / IP  | `REGISTERIP#<ip>`       | `WINDOW#<start>`   | TTL `expires_at`; reserved-attempt count |
//! | account token       | `TOKEN#<sha256>`        | `ACCOUNT`          | TTL `expires_at`; purpose + user id; single-use (deleted when used) |
//! | verification mails  | `VERIFYMAIL#<user_id>`  | `WINDOW#<start>`   | TTL `expires_at`; reserved-attempt count |
//! | reset mails         | `RESETMAIL#<email>`     | `WINDOW#<start>#FROM#<ip>` | TTL `expires_at`; reserved-attempt count |
//! | gig                 | `GIG#<gig_id>`          | `GIG`              | gsi1: `GIGOWNER#<freelancer_id>` / `<created_ms>#<gig_id>` |
//! | gig listing entry   | `GIG#<gig_id>`          | `LIST#<partition>` | gsi2: `<partition>` / `<created_ms>#<gig_id>` (newest first) |
//! | order               | `ORDER#<order_id>`      | `ORDER`            | gsi1, gsi2 (once paid), sparse gsi3 (below) |
//! | order timeline entry| `ORDER#<order_id>`      | `EVENT#<seq:06>`   | one per change; same partition as the order, so one Query reads both |
//! | order idempotency   | `IDEMPOTENCY#<client_id>#<key>` | `ORDER_REQUEST` | TTL `expires_at` (24 h); body hash + order id |
//! | mail dedupe record  | `MAIL#<event_id>`       | `TO#<user_id>`     | TTL `expires_at` (7 days); notifier's exactly-once guard |
//! | ledger transaction  | `LEDGER#<transaction_id>` | `TX`             | immutable postings summing to zero (`store::ledger`); charges and refunds on gsi4 (see "Admin: lists") |
//! | ledger balance      | `BALANCE#<account>#<currency>` | `BALANCE`   | moved by `ADD` with the postings; conditioned not below zero but `stripe_clearing` |
//! | freelancers' total  | `BALANCE#freelancers:<kind>#<currency>` | `BALANCE` | entity `ledger_total`: every freelancer's `<kind>` balance together, `ADD`ed with their postings |
//! | ledger currencies   | `LEDGER#CURRENCIES`     | `SHARD#<n>` (n in 0..8) | string set `currencies`: every currency a ledger transaction was written in, `ADD`ed by each one on the shard of its order (as the metrics counters); `GET /admin/metrics` reads the balances of these |
//! | Stripe event applied| `STRIPE_EVENT#<event_id>` | `EVENT`          | TTL `expires_at` (30 days); put with the change it caused |
//! | reconciliation watermark | `RECONCILIATION#stripe-events` | `WATERMARK` | how far the scheduler's reconciliation of Stripe's events got; written only at the version read (`store::reconciliation`) |
//! | review              | `REVIEW#<review_id>`    | `REVIEW`           | sealed: gsi3 (publication deadline); published: gsi1 (gig's), gsi2 (user's) |
//! | order review states | `ORDER#<order_id>`      | `REVIEWS`          | each side's review id and state; in the order's partition, so `GET /orders/{id}` reads it with the order |
//! | file (order)        | `ORDER#<order_id>`      | `FILE#<file_id>`   | a declared file: name, type, size, uploader, status, ETag once checked; the object is `orders/<order_id>/<file_id>` in the files bucket |
//! | file count (order)  | `ORDER#<order_id>`      | `FILES`            | `file_count`: files declared, conditioned below the limit in the declaring transaction; gsi3 `DUE#FILEEXPIRY` / `<closed at unix secs:012>#<order_id>` from the order's close until the scheduler expired its files |
//! | conversation member (inbox entry) | `CONV#<conversation_id>` | `MEMBER#<user_id>` | gsi1: `INBOX#<user_id>` / `<last activity ms:016>#<conversation_id>` |
//! | message             | `CONV#<conversation_id>` | `MSG#<message_id>` | UUIDv7 ids: sorted by send time; one Query reads a page |
//! | file (conversation) | `CONV#<conversation_id>` | `FILE#<file_id>`  | as an order's file; the object is `conversations/<conversation_id>/<file_id>` |
//! | file count (conversation) | `CONV#<conversation_id>` | `FILES`   | as an order's |
//! | conversations opened| `CONVRATE#<user_id>`    | `HOUR#<start>`     | TTL `expires_at`; new conversations per clock hour |
//! | action quota        | `QUOTA#<user_id>`       | `<kind>#<start>`   | TTL `expires_at`; orders placed per hour, messages per minute, gigs created per day (`domain::quota`) |
//! | request rate        | `RATE#user#<user_id>` or `RATE#addr#<address>` | `MINUTE#<start>` | a throttle window (`store::throttle`): TTL `expires_at`; requests per client per clock minute (`web::rate_limit`) |
//! | message mail throttle | `MSGMAIL#<conversation_id>#<user_id>` | `THROTTLE` | TTL `expires_at`; one mail per 15 minutes |
//! | metrics counter shard | `METRICS#<area>` (`users`, `gigs`, `orders`, `reviews`, `messages`) | `SHARD#<n>` (n in 0..8) | one number attribute per counter (`domain::metrics::Counter::name`); see "Metrics counters" |
//! | audit entry         | `AUDIT#<entry_id>`      | `AUDIT`            | gsi1 by actor, gsi2 by target, gsi3 by month (below) |
//! | realtime ticket     | `TICKET#<sha256>`       | `REALTIME`         | TTL `expires_at` (60 s); user id; single-use (deleted by the `$connect` it opens) |
//! | connection          | `CONNECTION#<connection_id>` | `CONNECTION`  | TTL `expires_at` (API Gateway's 2-hour limit); whose it is, for `$disconnect` |
//! | user's connection   | `CONNECTIONS#<user_id>` | `CONNECTION#<connection_id>` | TTL `expires_at`; one Query finds where to push to a user; expired ones ignored on read |
//!
//! | payout account      | `USER#<user_id>`        | `PAYOUT_ACCOUNT`   | the freelancer's Stripe Connect account: id, `payouts_enabled`, requirements, the `auto_withdraw` setting; gsi3 while an automatic withdrawal is due (see "Payouts") |
//! | earning             | `EARNINGS#<freelancer_id>` | `EARNING#<order_id>` | one completed order's net; gsi2 by status, gsi3 while pending (see "Payouts") |
//! | earnings currencies | `EARNINGS#<freelancer_id>` | `CURRENCIES`    | string set: every currency the freelancer earned in |
//! | withdrawal          | `EARNINGS#<freelancer_id>` | `WITHDRAWAL#<withdrawal_id>` | its transfers; gsi3 while one is not made |
//! | withdrawal request  | `IDEMPOTENCY#<user_id>#<key>` | `WITHDRAWAL_REQUEST` | TTL `expires_at` (24 h); the withdrawal a retried request answers |
//! | dispute             | `DISPUTE#<dispute_id>`  | `DISPUTE`          | a charge's dispute: order, amount, status, what was frozen; gsi3 while open |
//! | admin refund        | `REFUND#<refund_id>`    | `ADMIN_REFUND`     | an admin's refund of a completed order: amount, split, Stripe's refund, reversals |
//! | refund request      | `IDEMPOTENCY#<actor_id>#<key>` | `REFUND_REQUEST` | TTL `expires_at` (24 h); the admin refund a retried request answers |
//!
//! GSIs `gsi1`..`gsi4` are generic (`gsiNpk`/`gsiNsk`), overloaded by the entities that need them;
//! each entity documents its use beside its key function. Partition values carry a prefix per
//! entity (`GIGOWNER#`, `BROWSE#`, `DUE#`, ...), so overloaded indexes never mix entities.
//!
//! ## Gig listing entries
//!
//! A gig that is *listed* (active, and its owner not blocked) has one entry item per partition it
//! can be found in, written in the same transaction as the gig item and deleted with it when the
//! gig stops being listed; unlisted gigs have none, so a listing never filters on status. Browse
//! and search (`GET /gigs`) are the search index's (`gigmarket-search`, its layout in S3 below);
//! the table keeps the two listings a Query still reads:
//!
//! | partition (`gsi2pk`)              | serves                                    |
//! |-----------------------------------|-------------------------------------------|
//! | `BROWSE#ALL`                      | the search index's full rebuild           |
//! | `BROWSE#OWNER#<freelancer_id>`    | `GET /users/{id}/gigs`                    |
//!
//! Each entry carries the gig's card fields and `gsi2sk` newest (`<created_ms:016>#<gig_id>`); the
//! gig id ends the sort key, so the order is total and cursor paging is stable.
//!
//! ## Orders
//!
//! Orders use:
//!
//! | index | pk                          | sk                                 | what for                               |
//! |-------|-----------------------------|------------------------------------|----------------------------------------|
//! | gsi1  | `CLIENT#<client_id>`        | `ORDER#<order_id>`                 | a client's orders, newest first (ids are UUIDv7, time-ordered) |
//! | gsi2  | `FREELANCER#<freelancer_id>`| `ORDER#<order_id>`                 | a freelancer's orders, newest first    |
//! | gsi3  | `DUE#LATE` / `DUE#AUTOCOMPLETE` / `DUE#PAYMENTEXPIRY` / `DUE#REFUND` | `<unix secs:012>#<order_id>`   | SPARSE: set only while the scheduler still has something to do (in progress and not late: `due_at`; delivered: auto-complete time; unpaid: 24 h after placement; a refund not yet accepted by Stripe: its request time); queried with `sk <= now`, never scanned. `DUE#FILEEXPIRY` is on the order's file count item (its close time; queried with `sk <= now - retention`) |

//!
//! ## Reviews
//!
//! | index | pk                            | sk                              | what for                               |
//! |-------|-------------------------------|---------------------------------|----------------------------------------|
//! | gsi1  | `REVIEWS#GIG#<gig_id>`        | `<published ms:016>#<review_id>`| SPARSE (published clients' reviews): a gig's reviews, newest first |
//! | gsi2  | `REVIEWS#SELLER#<user_id>` / `REVIEWS#BUYER#<user_id>` | same | SPARSE (published): the reviews a user received as seller / buyer |
//! | gsi3  | `DUE#REVIEWS`                 | `<window closes:012>#<review_id>` | SPARSE (sealed): what the scheduler publishes when the window closes |
//!
//! Rating totals are flat number attributes (`<prefix>_count`, `_sum`, `_stars_<n>`,
//! `_communication_sum`/`_count`, `_as_described_sum`/`_count`, `_recommend_yes`/`_count`) that
//! the publishing transaction `ADD`s to: prefix `rating` on the gig and on the freelancer (the
//! seller rating; `rating_sum`/`rating_count` are the ones browse sorts by), `buyer_rating` on
//! the client.
//!
//! A published review an admin hides (`hidden = true`) loses its gsi1/gsi2 keys (it leaves every
//! listing) and is taken out of every total it counted in, in one transaction; unhiding puts
//! both back.
//!
//! ## Metrics counters
//!
//! The figures of `GET /admin/metrics` are counters that every write moving one of them `ADD`s
//! to in its own transaction (`store::metrics`). So that no single item takes every write, each
//! area's counters are spread over [`METRICS_SHARDS`] (8) shard items, `METRICS#<area>` /
//! `SHARD#<n>`: a write picks the shard from the id of the entity it changes (the user, gig,
//! order, review or message id; `n = id mod 8`), so a retried write lands on the same shard.
//! One transaction touches at most one shard item per area: every counter of an area it moves
//! is in that item's ONE update expression (a transaction may not touch an item twice).
//! A read gets all 5 x 8 = 40 shard items in one `BatchGetItem` (strongly consistent; never a
//! Scan) and sums each counter over the shards: 40 item reads of at most 4 KB each. The same
//! `BatchGetItem` reads the 8 ledger currencies shards; the money figures are then one more
//! `BatchGetItem` of the four platform balances (`stripe_clearing`, `platform_fees`, `refunds`,
//! `escrow`) of each currency found, when there is one.
//!
//! ## Payouts
//!
//! | item        | index | pk                                   | sk                          | what for |
//! |-------------|-------|--------------------------------------|-----------------------------|----------|
//! | ledger transaction | gsi1 | `LEDGER#FREELANCER#<freelancer_id>` | `<at ms:016>#<transaction_id>` | SPARSE (moves a freelancer's earnings): `GET /me/payouts` entries, newest first |
//! | earning     | gsi2  | `EARNINGS#<pending\|available>#<freelancer_id>#<currency>` | `<completed secs:012>#<order_id>` | SPARSE: pending ones (next clearances), available ones with something left (what a withdrawal draws on, oldest first) |
//! | earning     | gsi3  | `DUE#CLEARANCE`                      | `<completed secs:012>#<order_id>` | SPARSE (pending): the scheduler clears those completed a clearance period ago |
//! | withdrawal  | gsi3  | `DUE#WITHDRAWAL`                     | `<created secs:012>#<withdrawal_id>` | SPARSE (a transfer not yet made): the scheduler asks Stripe again |
//! | payout account | gsi3 | `DUE#AUTOWITHDRAWAL`              | `<marked secs:012>#<user_id>` | SPARSE (`auto_withdraw` on and maybe something to withdraw): set, with a fresh `auto_withdrawal_mark`, in the transaction that clears an earning, that records payouts enabled, or that turns the setting on; the scheduler withdraws what is available and removes it (conditioned on the mark it read) |
//! | dispute     | gsi3  | `DISPUTES#OPEN`                      | `<opened secs:012>#<dispute_id>` | SPARSE (open): `GET /admin/disputes`, oldest first |
//! | dispute     | gsi3  | `DUE#DISPUTEREVERSAL`                | `<closed secs:012>#<dispute_id>` | SPARSE (lost, reversals not answered): the scheduler asks Stripe again |
//! | admin refund | gsi3 | `DUE#ADMINREFUND`                    | `<created secs:012>#<refund_id>` | SPARSE (refund or reversals not answered): the scheduler asks Stripe again |
//!
//! ## Admin: audit log and user maintenance
//!
//! | item        | index | pk                          | sk                          | what for |
//! |-------------|-------|-----------------------------|-----------------------------|----------|
//! | audit entry | gsi1  | `AUDIT#ACTOR#<actor id>`    | `<at ms:016>#<entry_id>`    | `GET /admin/audit?actor=`, newest first |
//! | audit entry | gsi2  | `AUDIT#TARGET#<target id>`  | same                        | `?target=` (with `actor=` too: gsi2 and a filter on the actor) |
//! | audit entry | gsi3  | `AUDIT#MONTH#<yyyy-mm>`     | same                        | the unfiltered log, one calendar month per partition (`?month=`, default the current one): time-bucketed, so no partition takes every entry forever; reading several months is one Query per month |
//! | user profile| gsi4  | `DUE#GIGS_REINDEX`          | `<marked ms:016>#<user_id>` | SPARSE: set by the block/unblock transaction with `gigs_reindex_pending`, removed when the user's gigs are re-listed/unlisted; `resume_gig_reindexes` finishes what a crash left half-way |
//!
//! An audit entry is always a Put in the same transaction as the action it records.
//!
//! ## Admin: the gig review queue
//!
//! | item     | index | pk                   | sk                                | what for |
//! |----------|-------|----------------------|-----------------------------------|----------|
//! | gig item | gsi2  | `MODERATION#PENDING` | `<submitted ms:016>#<gig_id>`     | SPARSE: set while the gig is `pending_review` by the gig write that moves it there (create, an edit back to review), removed by the one that moves it out (approve, reject, archive); `GET /admin/gigs`, oldest first |
//!
//! The queue is ONE partition on purpose: it holds only gigs waiting for a human, so it stays
//! small (hundreds, not millions), and it is written twice per submitted gig (in, out), far
//! below a partition's 1,000 writes a second; a queue page is one Query reading `limit + 1`
//! gig items (about 1 read unit per 4 KB item, eventually consistent: half that). Gigs that
//! were already pending before the key existed enter the queue with their next write (an
//! edit); `gigctl seed` writes active demo gigs, which are never in it.
//!
//! An admin's decision (approve, reject, remove) also stamps the gig item with `decision`
//! and `decision_id` (the id of its audit entry, written in the same transaction): the
//! dispatcher turns a new `decision_id` on the stream into the freelancer's mail, with the
//! decision's id as the event's, so a record delivered twice mails once.
//! ## Admin: lists
//!
//! | item        | index | pk                                   | sk                          | what for |
//! |-------------|-------|--------------------------------------|-----------------------------|----------|
//! | user profile| gsi1  | `USERS#<role>#<status>#<shard>`      | `<normalised email>#<user_id>` | `GET /admin/users`, by email (`q` as an email prefix) |
//! | user profile| gsi2  | same                                 | `<normalised name>#<user_id>`  | `q` as a name prefix |
//! | order       | gsi4  | `ORDERS#<yyyy-mm>` (created, UTC)    | `<created ms:016>#<order_id>`  | `GET /admin/orders`, newest first; `status` is a filter |
//! | review      | gsi4  | `REVIEWS#MONTH#<yyyy-mm>` (published, UTC) | `<published ms:016>#<review_id>` | SPARSE (published, hidden or not): `GET /admin/reviews`, newest first; `hidden` is a filter |
//! | ledger transaction | gsi4 | `PAYMENTS#<yyyy-mm>` (written, UTC) | `<at ms:016>#<transaction_id>` | SPARSE (charges and refunds): `GET /admin/payments`, newest first; `at` has whole seconds, so within a second the id decides |
//!
//! **Users** are write-sharded: `<shard>` is the user id mod [`USER_LIST_SHARDS`] (4), so the
//! registrations of one role and status spread over 4 partitions. Every write that changes a
//! user's role, status or name rewrites the keys it moves (registration puts them; block and
//! unblock move gsi1pk/gsi2pk; `PATCH /me` moves gsi2sk; emails never change). A page reads
//! every partition the filters leave (role x status x 4 shards: 4 with both filters, 24 with
//! none; with `q` twice that, email and name) with one Query of `limit + 1` items each, in
//! parallel, and merges them by sort key; the cursor is the last key returned (every partition
//! resumes after it), so pages neither skip nor repeat. A user matched by both email and name
//! is listed once (from the email index).
//!
//! **Orders, reviews and payments** are time-bucketed: one partition per calendar month, so no partition
//! takes every write forever, and a month's partition takes only that month's. A page Queries the
//! months of the range newest first (one Query per month it touches, more when a filter drops
//! most items), and its cursor carries the month and the position in it.

use uuid::Uuid;

use crate::domain::file::FileArea;

/// Attribute names the store reads or writes itself (in keys, conditions, filters). The other
/// attributes of an item are the serde field names of the domain type stored there.
pub(crate) mod attr {
    /// The table's partition and sort key.
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    /// Entity tag of every item (see [`super::entity`]).
    pub const ENTITY: &str = "entity";
    /// Optimistic-concurrency version of gigs and orders.
    pub const VERSION: &str = "version";
    pub const STATUS: &str = "status";
    /// The table's TTL attribute (`infra/table.json`).
    pub const EXPIRES_AT: &str = "expires_at";
    /// On the gig item: whether its listing entries exist.
    pub const LISTED: &str = "listed";
    pub const REJECTION_REASON: &str = "rejection_reason";
    /// Gig counters the orders and reviews transactions maintain.
    pub const OPEN_ORDERS: &str = "open_orders";
    /// On an order's or conversation's file count item.
    pub const FILE_COUNT: &str = "file_count";
    /// On a file item: when it was first used, and the checked object's ETag.
    pub const USED_AT: &str = "used_at";
    pub const ETAG: &str = "etag";
    pub const ORDER_COUNT: &str = "order_count";
    /// Written by the reviews transaction (`store::reviews`, prefix `rating`) and `store::testing`;
    /// gig writes are conditioned on the count they read (see `store::gigs::write`).
    #[cfg_attr(not(feature = "test-support"), allow(dead_code))]
    pub const RATING_SUM: &str = "rating_sum";
    pub const RATING_COUNT: &str = "rating_count";
    /// On timeline entries: the order they belong to.
    pub const ORDER_ID: &str = "order_id";
    /// On throttle windows: the attempts reserved so far.
    pub const ATTEMPTS: &str = "attempts";

    /// On reviews: sealed or published.
    pub const REVIEW_STATE: &str = "state";
    pub const REPLY: &str = "reply";
    /// On reviews: hidden by an admin (`store::admin::reviews`): out of every listing and
    /// every rating total until unhidden.
    pub const HIDDEN: &str = "hidden";
    /// Rating-total prefixes (see the module docs): a seller's (and a gig's), a buyer's.
    pub const SELLER_RATING_PREFIX: &str = "rating";
    pub const BUYER_RATING_PREFIX: &str = "buyer_rating";

    // Messaging.
    /// On inbox entries: messages the owner has not read; on the user item: their total.
    pub const UNREAD_COUNT: &str = "unread_count";
    pub const UNREAD_MESSAGES: &str = "unread_messages";
    pub const LAST_MESSAGE: &str = "last_message";
    pub const LAST_READ_AT: &str = "last_read_at";
    pub const COUNTERPART_LAST_READ_AT: &str = "counterpart_last_read_at";
    /// On the per-hour counter of opened conversations.
    pub const OPENED: &str = "opened";
    /// On an action quota's counter (`store::quotas`).
    pub const COUNT: &str = "count";

    // Email verification and password reset.
    /// On the user item.
    pub const EMAIL_VERIFIED: &str = "email_verified";
    pub const SESSIONS_REVOKED_BEFORE_MS: &str = "sessions_revoked_before_ms";
    /// Sessions logged out one by one: session id -> when its last access token expires.
    pub const ENDED_SESSIONS: &str = "ended_sessions";
    /// When the password last changed (unix ms): reset tokens issued before it are dead.
    pub const PASSWORD_CHANGED_MS: &str = "password_changed_ms";
    pub const PASSWORD_HASH: &str = "password_hash";
    pub const USER_ID: &str = "user_id";
    /// On account tokens.
    pub const PURPOSE: &str = "purpose";

    /// On the user item: their gigs' listing still has to follow their status (see the module
    /// docs, "Admin").
    pub const GIGS_REINDEX_PENDING: &str = "gigs_reindex_pending";
    pub const ROLE: &str = "role";
    /// On audit entries.
    pub const ACTOR_ID: &str = "actor_id";

    /// On the gig item: the latest admin decision and its audit entry's id.
    pub const DECISION: &str = "decision";
    pub const DECISION_ID: &str = "decision_id";

    /// On the ledger currencies shards: the set of currency codes.
    pub const CURRENCIES: &str = "currencies";

    /// On the payout account: the freelancer's setting, and the id of the automatic withdrawal
    /// marked due (each mark a new one: the scheduler's withdrawal keys derive from it).
    pub const AUTO_WITHDRAW: &str = "auto_withdraw";
    pub const AUTO_WITHDRAWAL_MARK: &str = "auto_withdrawal_mark";
}

/// The table's global secondary indexes (`infra/table.json`; a test holds the two together).
/// They are generic: each entity that needs one documents its use beside its key functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    Gsi1,
    Gsi2,
    Gsi3,
    Gsi4,
}

impl Index {
    /// Every index, in `infra/table.json`'s order.
    #[cfg(test)]
    pub const ALL: [Index; 4] = [Index::Gsi1, Index::Gsi2, Index::Gsi3, Index::Gsi4];

    pub fn name(self) -> &'static str {
        match self {
            Self::Gsi1 => "gsi1",
            Self::Gsi2 => "gsi2",
            Self::Gsi3 => "gsi3",
            Self::Gsi4 => "gsi4",
        }
    }

    /// The index's partition-key attribute.
    pub fn pk(self) -> &'static str {
        match self {
            Self::Gsi1 => "gsi1pk",
            Self::Gsi2 => "gsi2pk",
            Self::Gsi3 => "gsi3pk",
            Self::Gsi4 => "gsi4pk",
        }
    }

    /// The index's sort-key attribute.
    pub fn sk(self) -> &'static str {
        match self {
            Self::Gsi1 => "gsi1sk",
            Self::Gsi2 => "gsi2sk",
            Self::Gsi3 => "gsi3sk",
            Self::Gsi4 => "gsi4sk",
        }
    }
}

/// What each index serves, by entity (the tables above).
pub(crate) mod index {
    use super::Index;

    /// Gig item: its owner's gigs in every status.
    pub const GIG_OWNER: Index = Index::Gsi1;
    /// Listing entries: newest first.
    pub const LISTING_NEWEST: Index = Index::Gsi2;
    /// Order item: a client's orders, a freelancer's orders, the scheduler's deadlines.
    pub const ORDERS_OF_CLIENT: Index = Index::Gsi1;
    pub const ORDERS_OF_FREELANCER: Index = Index::Gsi2;
    pub const ORDER_DEADLINES: Index = Index::Gsi3;

    // Sparse, see the module docs.
    pub const REVIEWS_OF_GIG: Index = Index::Gsi1;
    pub const REVIEWS_OF_USER: Index = Index::Gsi2;
    pub const REVIEW_DEADLINES: Index = Index::Gsi3;
    /// Inbox entry: a user's conversations, most recent activity first.
    pub const INBOX: Index = Index::Gsi1;

    pub const AUDIT_BY_ACTOR: Index = Index::Gsi1;
    pub const AUDIT_BY_TARGET: Index = Index::Gsi2;
    pub const AUDIT_BY_MONTH: Index = Index::Gsi3;
    /// Sparse, on the user item.
    pub const GIG_REINDEX_DUE: Index = Index::Gsi4;

    /// Sparse, on the gig item while it is pending review.
    pub const GIG_REVIEW_QUEUE: Index = Index::Gsi2;
    // Admin lists (see the module docs, "Admin: lists").
    /// User item: users by role, status and shard, by email and by name.
    pub const USERS_BY_EMAIL: Index = Index::Gsi1;
    pub const USERS_BY_NAME: Index = Index::Gsi2;
    /// Order item: every order of a calendar month, newest first.
    pub const ORDERS_BY_MONTH: Index = Index::Gsi4;
    /// Review item (published ones, hidden or not): every review of a month, newest first.
    pub const REVIEWS_BY_MONTH: Index = Index::Gsi4;
    /// Ledger transaction (charges and refunds): every payment of a month, newest first.
    pub const PAYMENTS_BY_MONTH: Index = Index::Gsi4;

    // Payouts (see the module docs, "Payouts").
    /// Ledger transaction moving a freelancer's earnings: their entries, newest first.
    pub const FREELANCER_LEDGER: Index = Index::Gsi1;
    /// Earning: a freelancer's pending or available earnings of one currency, oldest first.
    pub const EARNINGS_BY_STATUS: Index = Index::Gsi2;
    /// Earning (pending), withdrawal (sending) and payout account (an automatic withdrawal
    /// due): what the scheduler clears, sends or withdraws.
    pub const PAYOUT_DEADLINES: Index = Index::Gsi3;
    /// Dispute (open): `GET /admin/disputes`, oldest first.
    pub const OPEN_DISPUTES: Index = Index::Gsi3;
}

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

// ---- throttle windows ----

/// Login attempts for one email from one address in the window starting at `window_start`:
/// each address has a bucket of its own, so failures from elsewhere never fill it.
pub fn login_attempts(normalized_email: &str, window_start: i64, from: &str) -> Key {
    Key::new(
        format!("LOGINFAIL#{normalized_email}"),
        &format!("WINDOW#{window_start}#FROM#{from}"),
    )
}

/// Login attempts from one source address (any email) in a window.
pub fn login_attempts_from_address(source_ip: &str, window_start: i64) -> Key {
    Key::new(
        format!("LOGINIP#{source_ip}"),
        &format!("WINDOW#{window_start}"),
    )
}

/// Registrations from one source address in a window.
pub fn registrations_from_address(source_ip: &str, window_start: i64) -> Key {
    Key::new(
        format!("REGISTERIP#{source_ip}"),
        &format!("WINDOW#{window_start}"),
    )
}

// ---- end of accounts hardening keys ----

// ---- email verification and password reset ----

/// A single-use account token (verification or reset), under the SHA-256 of its plaintext.
pub fn account_token(token_digest: &str) -> Key {
    Key::new(format!("TOKEN#{token_digest}"), "ACCOUNT")
}

/// Verification mails requested by one user in a window.
/// Typing signals one user sent in one window (a throttle; the signals themselves are not stored).
pub fn typing_signals(user_id: Uuid, window_start: i64) -> Key {
    Key::new(
        format!("TYPING#{user_id}"),
        &format!("WINDOW#{window_start}"),
    )
}

pub fn verification_mails(user_id: Uuid, window_start: i64) -> Key {
    Key::new(
        format!("VERIFYMAIL#{user_id}"),
        &format!("WINDOW#{window_start}"),
    )
}

/// Password-reset mails requested for one email from one address in a window.
/// A user's verification mails in the UTC day starting at `day_start`.
pub fn verification_mails_per_day(user_id: Uuid, day_start: i64) -> Key {
    Key::new(format!("VERIFYMAIL#{user_id}"), &format!("DAY#{day_start}"))
}

/// Reset mails for one email in the UTC day starting at `day_start`, from any address.
pub fn reset_mails_per_day(normalized_email: &str, day_start: i64) -> Key {
    Key::new(
        format!("RESETMAIL#{normalized_email}"),
        &format!("DAY#{day_start}"),
    )
}

pub fn reset_mails(normalized_email: &str, source_ip: &str, window_start: i64) -> Key {
    Key::new(
        format!("RESETMAIL#{normalized_email}"),
        &format!("WINDOW#{window_start}#FROM#{source_ip}"),
    )
}

// ---- end of email verification and password reset keys ----

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

// ---- payments: the ledger and the payment processor's events (`store::ledger`) ----

/// A ledger transaction, by its idempotent id (`order-paid:<order>`).
pub fn ledger_transaction(id: &str) -> Key {
    Key::new(format!("LEDGER#{id}"), "TX")
}

/// The balance of one ledger account (`escrow`, `freelancer:<id>:pending`) in one currency.
pub fn ledger_balance(account: &str, currency: &str) -> Key {
    Key::new(format!("BALANCE#{account}#{currency}"), "BALANCE")
}

/// One shard of the set of currencies the ledger holds money in (see the module table).
pub fn ledger_currencies(shard: u32) -> Key {
    Key::new("LEDGER#CURRENCIES".to_owned(), &format!("SHARD#{shard}"))
}

/// A payment processor event (Stripe's `evt_...`) that changed something, kept so a redelivery
/// changes nothing.
pub fn processor_event(event_id: &str) -> Key {
    Key::new(format!("STRIPE_EVENT#{event_id}"), "EVENT")
}

/// The watermark of the reconciliation of Stripe's events (`store::reconciliation`).
pub fn reconciliation_watermark() -> Key {
    Key::new("RECONCILIATION#stripe-events".to_owned(), "WATERMARK")
}

// ---- payouts: connected accounts, earnings, withdrawals (`store::payouts`) ----

/// A freelancer's Stripe Connect account, beside their profile.
pub fn payout_account(user_id: Uuid) -> Key {
    Key::new(format!("USER#{user_id}"), "PAYOUT_ACCOUNT")
}

/// The partition of a freelancer's earnings and withdrawals.
fn earnings_partition(freelancer_id: Uuid) -> String {
    format!("EARNINGS#{freelancer_id}")
}

/// One completed order's earnings.
pub fn earning(freelancer_id: Uuid, order_id: Uuid) -> Key {
    Key::new(
        earnings_partition(freelancer_id),
        &format!("EARNING#{order_id}"),
    )
}

/// The set of currencies a freelancer has earned in.
pub fn earnings_currencies(freelancer_id: Uuid) -> Key {
    Key::new(earnings_partition(freelancer_id), "CURRENCIES")
}

/// A withdrawal (UUIDv7 id: sorted by time).
pub fn withdrawal(freelancer_id: Uuid, withdrawal_id: Uuid) -> Key {
    Key::new(
        earnings_partition(freelancer_id),
        &format!("WITHDRAWAL#{withdrawal_id}"),
    )
}

/// What a client's retried `POST /me/payouts/withdrawals` with the same Idempotency-Key finds.
pub fn withdrawal_request(user_id: Uuid, idempotency_key: &str) -> Key {
    Key::new(
        format!("IDEMPOTENCY#{user_id}#{idempotency_key}"),
        "WITHDRAWAL_REQUEST",
    )
}

/// gsi1 partition: the ledger transactions that moved a freelancer's earnings.
pub fn freelancer_ledger_partition(freelancer_id: Uuid) -> String {
    format!("LEDGER#FREELANCER#{freelancer_id}")
}

/// gsi2 partition: a freelancer's earnings of one currency that are `pending` or `available`.
pub fn earnings_by_status(freelancer_id: Uuid, status: &str, currency: &str) -> String {
    format!("EARNINGS#{status}#{freelancer_id}#{currency}")
}

/// gsi3 partition of the pending earnings, by completion time.
pub fn due_clearance_partition() -> String {
    "DUE#CLEARANCE".to_owned()
}

/// gsi3 partition of the withdrawals with a transfer Stripe has not made yet.
pub fn due_withdrawal_partition() -> String {
    "DUE#WITHDRAWAL".to_owned()
}

/// gsi3 partition of the payout accounts whose cleared earnings the scheduler withdraws, by
/// when they were marked.
pub fn due_auto_withdrawal_partition() -> String {
    "DUE#AUTOWITHDRAWAL".to_owned()
}

/// gsi3 partition of the admin refunds Stripe has not answered for yet (the refund, or the
/// reversals of its paid-out part), by creation time.
pub fn due_admin_refund_partition() -> String {
    "DUE#ADMINREFUND".to_owned()
}

/// gsi3 partition of the lost disputes whose reversals Stripe has not answered yet, by
/// closing time.
pub fn due_dispute_reversal_partition() -> String {
    "DUE#DISPUTEREVERSAL".to_owned()
}

/// A dispute of an order's charge, by the processor's id (`du_...`).
pub fn dispute(dispute_id: &str) -> Key {
    Key::new(format!("DISPUTE#{dispute_id}"), "DISPUTE")
}

/// gsi3 partition of the disputes still open.
pub fn open_disputes_partition() -> String {
    "DISPUTES#OPEN".to_owned()
}

/// gsi3 sort key of a dispute: when it opened (on the open list) or closed (on the list of
/// reversals due), then its id; `deadline_upper_bound` bounds it as any deadline.
pub fn dispute_sort(at_unix: i64, dispute_id: &str) -> String {
    format!("{at_unix:012}#{dispute_id}")
}

/// An admin's refund of a completed order (UUIDv7 id).
pub fn admin_refund(refund_id: Uuid) -> Key {
    Key::new(format!("REFUND#{refund_id}"), "ADMIN_REFUND")
}

/// What an admin's retried `POST /admin/orders/{id}/refund` with the same Idempotency-Key finds
/// (`actor_id`: the admin's user id, or an operator's name).
pub fn admin_refund_request(actor_id: &str, idempotency_key: &str) -> Key {
    Key::new(
        format!("IDEMPOTENCY#{actor_id}#{idempotency_key}"),
        "REFUND_REQUEST",
    )
}

// ---- end of payments keys ----

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
    format!("{ORDER_LISTING_PREFIX}{order_id}")
}

/// What every gsi1/gsi2 sort key of an order starts with (the indexes are shared with gigs).
pub const ORDER_LISTING_PREFIX: &str = "ORDER#";

/// gsi3 partition of the orders to mark late once past their due date.
pub fn due_late_partition() -> String {
    "DUE#LATE".to_owned()
}

/// gsi3 partition of the delivered orders to complete automatically.
pub fn due_auto_complete_partition() -> String {
    "DUE#AUTOCOMPLETE".to_owned()
}

/// gsi3 partition of the unpaid orders to expire.
pub fn due_payment_expiry_partition() -> String {
    "DUE#PAYMENTEXPIRY".to_owned()
}

/// gsi3 partition of the orders whose refund the payment processor has not accepted yet.
pub fn due_refund_partition() -> String {
    "DUE#REFUND".to_owned()
}

/// gsi3 partition of the closed orders whose files expire: on the order's file count item
/// (`FILES`), sorted by the time the order closed, so a change of the retention period applies
/// to orders already closed.
pub fn due_file_expiry_partition() -> String {
    "DUE#FILEEXPIRY".to_owned()
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

    pub fn owner(freelancer_id: Uuid) -> String {
        format!("BROWSE#OWNER#{freelancer_id}")
    }
}

/// One listing entry of a gig: `GIG#<gig_id>` / `LIST#<partition>`. Kept in the gig's item
/// collection, so all of a gig's entries are one strongly consistent Query away.
pub fn gig_listing(gig_id: Uuid, partition: &str) -> Key {
    Key::new(format!("GIG#{gig_id}"), &format!("LIST#{partition}"))
}

pub fn review(review_id: Uuid) -> Key {
    Key::new(format!("REVIEW#{review_id}"), "REVIEW")
}

/// Each side's review state of an order, beside the order in its partition.
pub fn order_reviews(order_id: Uuid) -> Key {
    Key::new(order_partition(order_id), "REVIEWS")
}

/// gsi1 partition: the published reviews of a gig (by its clients).
pub fn reviews_of_gig(gig_id: Uuid) -> String {
    format!("REVIEWS#GIG#{gig_id}")
}

/// gsi2 partition: the published reviews a user received from clients (as a seller).
pub fn reviews_of_seller(user_id: Uuid) -> String {
    format!("REVIEWS#SELLER#{user_id}")
}

/// gsi2 partition: the published reviews a user received from freelancers (as a buyer).
pub fn reviews_of_buyer(user_id: Uuid) -> String {
    format!("REVIEWS#BUYER#{user_id}")
}

/// gsi1/gsi2 sort key of a published review: publication time, then id (two reviews published
/// together differ by id).
pub fn review_listing_sort(published_unix_ms: i128, review_id: Uuid) -> String {
    format!("{published_unix_ms:016}#{review_id}")
}

/// gsi3 partition of the sealed reviews, by when their window closes.
pub fn due_reviews_partition() -> String {
    "DUE#REVIEWS".to_owned()
}

/// The partition of a conversation: its members' inbox entries and its messages.
pub fn conversation_partition(conversation_id: Uuid) -> String {
    format!("CONV#{conversation_id}")
}

pub fn conversation_member(conversation_id: Uuid, user_id: Uuid) -> Key {
    Key::new(
        conversation_partition(conversation_id),
        &format!("MEMBER#{user_id}"),
    )
}

/// Message ids are UUIDv7, so `MSG#` keys sort by send time.
pub fn message(conversation_id: Uuid, message_id: Uuid) -> Key {
    Key::new(
        conversation_partition(conversation_id),
        &format!("{MESSAGE_PREFIX}{message_id}"),
    )
}

/// What every message's sort key starts with (the partition also holds inbox entries).
pub const MESSAGE_PREFIX: &str = "MSG#";

// ---- files (`store::files`) ----

/// The partition a file's item lives in: its order's or its conversation's, so the file goes
/// (and is read) with what it belongs to.
fn file_partition(area: FileArea, owner_id: Uuid) -> String {
    match area {
        FileArea::Order => order_partition(owner_id),
        FileArea::Conversation => conversation_partition(owner_id),
    }
}

pub fn file(area: FileArea, owner_id: Uuid, file_id: Uuid) -> Key {
    Key::new(
        file_partition(area, owner_id),
        &format!("{FILE_PREFIX}{file_id}"),
    )
}

/// The sort key prefix of an order's or conversation's files: one Query lists them.
pub const FILE_PREFIX: &str = "FILE#";

pub fn files_of(area: FileArea, owner_id: Uuid) -> String {
    file_partition(area, owner_id)
}

/// The count of files declared in an order or conversation.
pub fn file_count(area: FileArea, owner_id: Uuid) -> Key {
    Key::new(file_partition(area, owner_id), "FILES")
}

/// The S3 object key of a file in the files bucket: `orders/<order_id>/<file_id>` or
/// `conversations/<conversation_id>/<file_id>`. The first segment is what each function's IAM
/// grant and the bucket's lifecycle rules are written against (infra/template.yaml, the CDK app).
pub fn file_object(area: FileArea, owner_id: Uuid, file_id: Uuid) -> String {
    format!("{}{owner_id}/{file_id}", file_object_prefix(area))
}

/// The first segment of an area's object keys, with its `/`.
pub fn file_object_prefix(area: FileArea) -> &'static str {
    match area {
        FileArea::Order => "orders/",
        FileArea::Conversation => "conversations/",
    }
}

/// The search index bucket's manifest: the one object there that changes (`search_index`).
#[cfg(feature = "s3")]
pub const SEARCH_INDEX_MANIFEST: &str = "search-index/manifest.json";

/// The S3 object key of a file of a published search index version (written once).
#[cfg(feature = "s3")]
pub fn search_index_file(name: &str) -> String {
    format!("search-index/files/{name}")
}

/// The sort-key bounds of the messages sent after `message_id` (UUIDv7 ids sort by send time;
/// `#` puts the lower bound just past that message, `~` sorts after every id).
pub fn messages_after(message_id: Uuid) -> (String, String) {
    (
        format!("{MESSAGE_PREFIX}{message_id}#"),
        format!("{MESSAGE_PREFIX}~"),
    )
}

/// gsi1 partition: a user's inbox.
pub fn inbox(user_id: Uuid) -> String {
    format!("INBOX#{user_id}")
}

/// gsi1 sort key of an inbox entry: the last activity (unix ms, zero-padded), then the id.
pub fn inbox_sort(last_activity_ms: i128, conversation_id: Uuid) -> String {
    format!("{last_activity_ms:016}#{conversation_id}")
}

/// The counter of conversations `user_id` opened in the clock hour starting at `hour_start`.
pub fn conversations_opened(user_id: Uuid, hour_start: i64) -> Key {
    Key::new(format!("CONVRATE#{user_id}"), &format!("HOUR#{hour_start}"))
}

/// A user's counter of `kind` actions (`domain::quota`) in the window starting at `window_start`.
pub fn quota(kind: &str, user_id: Uuid, window_start: i64) -> Key {
    Key::new(
        format!("QUOTA#{user_id}"),
        &format!("{kind}#{window_start}"),
    )
}

/// The counter of requests `client` (`RequestClient::key`) sent in the clock minute starting at
/// `minute_start` (`web::rate_limit`).
pub fn request_rate(client: &str, minute_start: i64) -> Key {
    Key::new(format!("RATE#{client}"), &format!("MINUTE#{minute_start}"))
}

/// The notifier's "mailed about this conversation lately" marker for one recipient.
pub fn message_mail_throttle(conversation_id: Uuid, recipient_id: Uuid) -> Key {
    Key::new(
        format!("MSGMAIL#{conversation_id}#{recipient_id}"),
        "THROTTLE",
    )
}

// ---- metrics counters ----

/// How many shard items each area's counters are spread over (see "Metrics counters").
pub const METRICS_SHARDS: u32 = 8;

/// The shard a write about `entity_id` adds to: the id's low bits (random in UUIDv4 and v7), so
/// writes spread evenly and a retry of the same write picks the same shard.
pub fn shard_of(entity_id: Uuid) -> u32 {
    (entity_id.as_u128() % u128::from(METRICS_SHARDS)) as u32
}

/// One shard item of an area's counters.
pub fn metrics_shard(area: &str, shard: u32) -> Key {
    Key::new(format!("METRICS#{area}"), &format!("SHARD#{shard}"))
}

// ---- end of metrics counters keys ----

// ---- admin: audit log and user maintenance ----

pub fn audit_entry(entry_id: Uuid) -> Key {
    Key::new(format!("AUDIT#{entry_id}"), "AUDIT")
}

/// gsi1 partition: the entries of one actor (an admin's user id or an operator's name).
pub fn audit_by_actor(actor_id: &str) -> String {
    format!("AUDIT#ACTOR#{actor_id}")
}

/// gsi2 partition: the entries about one user or gig.
pub fn audit_by_target(target_id: Uuid) -> String {
    format!("AUDIT#TARGET#{target_id}")
}

/// gsi3 partition: the entries of one calendar month, `yyyy-mm`.
pub fn audit_by_month(year_month: &str) -> String {
    format!("AUDIT#MONTH#{year_month}")
}

/// Sort key of an audit entry on every audit index: time, then id.
pub fn audit_sort(at_unix_ms: i128, entry_id: Uuid) -> String {
    format!("{at_unix_ms:016}#{entry_id}")
}

/// gsi4 partition of the users whose gigs still need re-listing or unlisting.
pub fn gig_reindex_due_partition() -> String {
    "DUE#GIGS_REINDEX".to_owned()
}

pub fn gig_reindex_due_sort(marked_unix_ms: i128, user_id: Uuid) -> String {
    format!("{marked_unix_ms:016}#{user_id}")
}

/// The highest re-listing mark made at or before `marked_unix_ms`.
pub fn gig_reindex_due_upper_bound(marked_unix_ms: i128) -> String {
    format!("{marked_unix_ms:016}#~")
}

// ---- end of admin keys ----

// ---- admin: the gig review queue ----

/// gsi2 partition of the gigs waiting for review (see "Admin: the gig review queue").
pub fn gig_review_queue_partition() -> String {
    "MODERATION#PENDING".to_owned()
}

/// gsi2 sort key of a gig in the queue: when it was submitted, then its id.
pub fn gig_review_queue_sort(submitted_unix_ms: i128, gig_id: Uuid) -> String {
    format!("{submitted_unix_ms:016}#{gig_id}")
}

// ---- end of gig review queue keys ----
// ---- admin lists ----

/// How many partitions each role and status of users is spread over.
pub const USER_LIST_SHARDS: u32 = 4;

/// gsi1/gsi2 partition of the users of one role, status and shard.
pub fn users_partition(role: &str, status: &str, shard: u32) -> String {
    format!("USERS#{role}#{status}#{shard}")
}

/// gsi1/gsi2 sort key of a user: a search key (normalised email or name), then the id.
pub fn user_list_sort(search_key: &str, user_id: Uuid) -> String {
    format!("{search_key}#{user_id}")
}

/// gsi4 partition of the orders created in one calendar month, `yyyy-mm`.
pub fn orders_by_month(year_month: &str) -> String {
    format!("ORDERS#{year_month}")
}

/// gsi4 partition of the reviews published in one calendar month, `yyyy-mm`.
pub fn reviews_by_month(year_month: &str) -> String {
    format!("REVIEWS#MONTH#{year_month}")
}

/// gsi4 partition of the charges and refunds written in one calendar month, `yyyy-mm`.
pub fn payments_by_month(year_month: &str) -> String {
    format!("PAYMENTS#{year_month}")
}

/// gsi4 sort key of a charge or refund in its month: time (unix ms), then the transaction id
/// (`order-paid:<uuid>`: its characters all sort before `~`, as [`month_list_bounds`] needs).
pub fn payment_list_sort(at_unix_ms: i128, transaction_id: &str) -> String {
    format!("{at_unix_ms:016}#{transaction_id}")
}

/// gsi4 sort key of an order or review in its month: time (unix ms), then the id.
pub fn month_list_sort(at_unix_ms: i128, id: Uuid) -> String {
    format!("{at_unix_ms:016}#{id}")
}

/// The lowest and highest month sort keys of a time range (unix ms, inclusive).
pub fn month_list_bounds(from_unix_ms: i128, to_unix_ms: i128) -> (String, String) {
    // `~` sorts after every character of a uuid.
    (
        format!("{from_unix_ms:016}#"),
        format!("{to_unix_ms:016}#~"),
    )
}

// ---- end of admin list keys ----

// ---- realtime ----

/// A WebSocket connection ticket, under the SHA-256 of its plaintext.
pub fn realtime_ticket(ticket_digest: &str) -> Key {
    Key::new(format!("TICKET#{ticket_digest}"), "REALTIME")
}

/// A connection by its id (what `$disconnect` knows).
pub fn connection(connection_id: &str) -> Key {
    Key::new(format!("CONNECTION#{connection_id}"), "CONNECTION")
}

/// The partition of one user's connections (what a push to the user reads).
pub fn connections_of(user_id: Uuid) -> String {
    format!("CONNECTIONS#{user_id}")
}

/// A connection in its user's partition.
pub fn user_connection(user_id: Uuid, connection_id: &str) -> Key {
    Key::new(
        connections_of(user_id),
        &format!("{USER_CONNECTION_PREFIX}{connection_id}"),
    )
}

pub const USER_CONNECTION_PREFIX: &str = "CONNECTION#";

// ---- end of realtime keys ----

/// Entity tags stored in every item's `entity` attribute; the stream dispatcher filters on them
/// (so they are public: `store::entity`).
pub mod entity {
    pub const USER: &str = "user";
    pub const CREDENTIALS: &str = "credentials";
    pub const REFRESH_TOKEN: &str = "refresh_token";
    pub const REFRESH_FAMILY: &str = "refresh_family";
    /// A throttle window's reserved-attempt count (`store::throttle`).
    pub const THROTTLE_WINDOW: &str = "throttle_window";
    pub const GIG: &str = "gig";
    /// The dispatcher turns stream records of these into order events.
    pub const ORDER: &str = "order";
    pub const ORDER_EVENT: &str = "order_event";
    pub const ORDER_REQUEST: &str = "order_request";
    pub const MAIL_SENT: &str = "mail_sent";
    // Payments.
    pub const LEDGER_TRANSACTION: &str = "ledger_transaction";
    pub const LEDGER_BALANCE: &str = "ledger_balance";
    pub const LEDGER_CURRENCIES: &str = "ledger_currencies";
    pub const PAYOUT_ACCOUNT: &str = "payout_account";
    pub const EARNING: &str = "earning";
    pub const EARNINGS_CURRENCIES: &str = "earnings_currencies";
    pub const WITHDRAWAL: &str = "withdrawal";
    pub const WITHDRAWAL_REQUEST: &str = "withdrawal_request";
    pub const DISPUTE: &str = "dispute";
    pub const ADMIN_REFUND: &str = "admin_refund";
    /// Every freelancer's balances of one kind together (`LedgerAccount::FreelancersTotal`),
    /// in the shape of a balance but no account's.
    pub const LEDGER_TOTAL: &str = "ledger_total";
    pub const REFUND_REQUEST: &str = "refund_request";
    pub const PROCESSOR_EVENT: &str = "processor_event";
    pub const RECONCILIATION_WATERMARK: &str = "reconciliation_watermark";
    pub const GIG_LISTING: &str = "gig_listing";
    // Reviews. The dispatcher turns stream records of reviews into review events.
    pub const REVIEW: &str = "review";
    pub const ORDER_REVIEWS: &str = "order_reviews";
    // Messaging. The dispatcher turns stream records of messages into `message.received`.
    pub const CONVERSATION_MEMBER: &str = "conversation_member";
    pub const MESSAGE: &str = "message";
    pub const CONVERSATIONS_OPENED: &str = "conversations_opened";
    pub const QUOTA_WINDOW: &str = "quota_window";
    pub const MESSAGE_MAIL_THROTTLE: &str = "message_mail_throttle";
    // Email verification and password reset.
    pub const ACCOUNT_TOKEN: &str = "account_token";
    // Metrics counters.
    pub const METRICS_SHARD: &str = "metrics_shard";
    pub const AUDIT_ENTRY: &str = "audit_entry";
    // Files (S3 objects' metadata) and their count per order or conversation.
    pub const FILE: &str = "file";
    pub const FILE_COUNT: &str = "file_count";
    // Real time (WebSocket API).
    pub const REALTIME_TICKET: &str = "realtime_ticket";
    pub const CONNECTION: &str = "connection";
    pub const USER_CONNECTION: &str = "user_connection";
}

//! Per-user quotas on actions that cost other people money or attention: orders placed per hour
//! (each one creates a PaymentIntent and lands in a freelancer's queue), messages sent per minute
//! in conversations that already exist (opening one has its own hourly limit in
//! `domain::message`), and gigs created per day (each one lands in the review queue).
//!
//! Each quota is a fixed-window counter counted in the same transaction as the action it limits
//! and conditioned on staying under the limit (`store::quotas`): however many requests race, at
//! most `limit` actions land per window, and a refused action counts nothing.

use time::OffsetDateTime;
use uuid::Uuid;

/// `ORDER_PLACEMENTS_PER_HOUR`'s default.
pub const DEFAULT_ORDER_PLACEMENTS_PER_HOUR: u32 = 20;
/// `MESSAGES_PER_MINUTE`'s default: a fast typist's pace, not a script's.
pub const DEFAULT_MESSAGES_PER_MINUTE: u32 = 30;
/// `GIGS_CREATED_PER_DAY`'s default.
pub const DEFAULT_GIGS_CREATED_PER_DAY: u32 = 10;

/// The configured limits (`ORDER_PLACEMENTS_PER_HOUR`, `MESSAGES_PER_MINUTE`,
/// `GIGS_CREATED_PER_DAY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimits {
    pub order_placements_per_hour: u32,
    pub messages_per_minute: u32,
    pub gigs_created_per_day: u32,
}

impl Default for QuotaLimits {
    fn default() -> Self {
        Self {
            order_placements_per_hour: DEFAULT_ORDER_PLACEMENTS_PER_HOUR,
            messages_per_minute: DEFAULT_MESSAGES_PER_MINUTE,
            gigs_created_per_day: DEFAULT_GIGS_CREATED_PER_DAY,
        }
    }
}

impl QuotaLimits {
    pub fn limit(&self, kind: QuotaKind) -> u32 {
        match kind {
            QuotaKind::OrderPlacements => self.order_placements_per_hour,
            QuotaKind::MessagesSent => self.messages_per_minute,
            QuotaKind::GigsCreated => self.gigs_created_per_day,
        }
    }

    /// `user_id`'s quota of `kind` in the window that holds `now`.
    pub fn quota(&self, kind: QuotaKind, user_id: Uuid, now: OffsetDateTime) -> Quota {
        Quota::at(kind, user_id, self.limit(kind), now)
    }
}

/// `REQUESTS_PER_MINUTE_PER_USER`'s default: ten a second sustained, far above what a person's
/// client sends.
pub const DEFAULT_REQUESTS_PER_MINUTE_PER_USER: u32 = 600;
/// `REQUESTS_PER_MINUTE_PER_ADDRESS`'s default, for requests without a valid token: an office
/// behind one address shares it.
pub const DEFAULT_REQUESTS_PER_MINUTE_PER_ADDRESS: u32 = 1200;

/// The per-client request rate every API function applies before routing
/// (`web::rate_limit`), so one client can not use up the capacity everyone shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    pub per_user_per_minute: u32,
    pub per_address_per_minute: u32,
    /// How long counting a request may take before it goes through uncounted: the limiter must
    /// never be what takes the API down.
    pub count_timeout: std::time::Duration,
}

/// `RequestLimits::count_timeout`'s default: DynamoDB answers an `UpdateItem` in single-digit
/// milliseconds, so this is an outage, not a slow moment.
pub const DEFAULT_REQUEST_COUNT_TIMEOUT: std::time::Duration =
    std::time::Duration::from_millis(500);

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            per_user_per_minute: DEFAULT_REQUESTS_PER_MINUTE_PER_USER,
            per_address_per_minute: DEFAULT_REQUESTS_PER_MINUTE_PER_ADDRESS,
            count_timeout: DEFAULT_REQUEST_COUNT_TIMEOUT,
        }
    }
}

impl RequestLimits {
    /// Counted but never refused: for the in-process tests, tools and benches, which send
    /// hundreds of requests a minute as one user or from one address (the count's cost still
    /// shows in their figures).
    pub const LIFTED: Self = Self {
        per_user_per_minute: u32::MAX,
        per_address_per_minute: u32::MAX,
        count_timeout: DEFAULT_REQUEST_COUNT_TIMEOUT,
    };
}

/// Who a request is counted against: a signed-in user wherever they are, anyone else by the
/// address API Gateway saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestClient {
    User(Uuid),
    Address(String),
}

impl RequestClient {
    /// Its name in the counter's key.
    pub fn key(&self) -> String {
        match self {
            Self::User(id) => format!("user#{id}"),
            Self::Address(address) => format!("addr#{address}"),
        }
    }

    pub fn limit(&self, limits: &RequestLimits) -> u32 {
        match self {
            Self::User(_) => limits.per_user_per_minute,
            Self::Address(_) => limits.per_address_per_minute,
        }
    }
}

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    OrderPlacements,
    MessagesSent,
    GigsCreated,
}

impl QuotaKind {
    /// The window's length in seconds (clock-aligned: a UTC hour, minute or day).
    pub const fn window_secs(self) -> u64 {
        match self {
            Self::OrderPlacements => 3600,
            Self::MessagesSent => 60,
            Self::GigsCreated => 86_400,
        }
    }

    /// The name it is stored and reported under.
    pub const fn name(self) -> &'static str {
        match self {
            Self::OrderPlacements => "order_placements",
            Self::MessagesSent => "messages_sent",
            Self::GigsCreated => "gigs_created",
        }
    }

    fn per(self) -> &'static str {
        match self {
            Self::OrderPlacements => "orders per hour",
            Self::MessagesSent => "messages per minute",
            Self::GigsCreated => "gigs per day",
        }
    }
}

/// A fixed, clock-aligned counting window: `[start, start + length)`, in unix seconds. Quotas
/// and the throttles (`store::throttle`) both count in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub length: i64,
}

impl Window {
    /// The window of `length_secs` (at least 1) that contains `now_unix`.
    pub fn containing(now_unix: i64, length_secs: u64) -> Self {
        let length = length_secs.max(1) as i64;
        Self {
            start: now_unix - now_unix.rem_euclid(length),
            length,
        }
    }

    pub fn end(self) -> i64 {
        self.start + self.length
    }

    /// Seconds from `now_unix` until the window ends (at least 1), for `Retry-After`.
    pub fn retry_after(self, now_unix: i64) -> u64 {
        (self.end() - now_unix).max(1) as u64
    }
}

/// One user's quota of one kind, in the window that holds `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub kind: QuotaKind,
    pub user_id: Uuid,
    pub limit: u32,
    pub window: Window,
}

impl Quota {
    pub fn at(kind: QuotaKind, user_id: Uuid, limit: u32, now: OffsetDateTime) -> Self {
        Self {
            kind,
            user_id,
            limit,
            window: Window::containing(now.unix_timestamp(), kind.window_secs()),
        }
    }

    /// When the counter may go: a little after its window, so a late transaction never finds
    /// it gone and starts over.
    pub fn expires_at(&self) -> i64 {
        self.window.end() + 3600
    }

    /// The refusal of one more action at `now`.
    pub fn exceeded(&self, now: OffsetDateTime) -> QuotaExceeded {
        QuotaExceeded {
            kind: self.kind,
            limit: self.limit,
            retry_after_secs: self.window.retry_after(now.unix_timestamp()),
        }
    }
}

/// One more action would pass the quota: wait `retry_after_secs` (until the window ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub kind: QuotaKind,
    pub limit: u32,
    pub retry_after_secs: u64,
}

impl QuotaExceeded {
    pub fn detail(&self) -> String {
        format!(
            "at most {} {}; try again in {} second(s)",
            self.limit,
            self.kind.per(),
            self.retry_after_secs
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn windows_are_clock_aligned_and_retry_after_runs_to_their_end() {
        let user = Uuid::nil();
        let now = datetime!(2026-12-06 14:59:30 UTC);
        let hourly = Quota::at(QuotaKind::OrderPlacements, user, 20, now);
        assert_eq!(
            hourly.window.start,
            datetime!(2026-12-06 14:00 UTC).unix_timestamp()
        );
        assert_eq!(hourly.exceeded(now).retry_after_secs, 30);
        let minute = Quota::at(QuotaKind::MessagesSent, user, 30, now);
        assert_eq!(
            minute.window.end(),
            datetime!(2026-12-06 15:00 UTC).unix_timestamp()
        );
        let daily = Quota::at(QuotaKind::GigsCreated, user, 10, now);
        assert_eq!(
            daily.window.start,
            datetime!(2026-12-06 00:00 UTC).unix_timestamp()
        );
        assert_eq!(daily.exceeded(now).retry_after_secs, 9 * 3600 + 30);
        assert!(daily.expires_at() > daily.window.end());
    }
}

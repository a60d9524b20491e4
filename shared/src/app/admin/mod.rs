//! The admin area's use cases, one module per thing an admin acts on: `users` (a user's
//! details, block, unblock, the users list), `gigs` (the review queue and its decisions),
//! `orders` (the orders list, an admin's cancel), `refunds` (an admin's refund of a completed
//! order), `reviews` (the reviews list, hide, unhide),
//! `metrics` (the marketplace's counters and money figures), `payments` (the charges and
//! refunds list), `audit` (the audit log) and `backfill` (the list keys of items older than the
//! lists). Every route of the `admin` function goes through
//! [`require_admin`] first; every admin action writes its audit entry in the action's own
//! transaction. `gigctl` calls the same use cases as an operator.

pub mod audit;
pub mod backfill;
pub mod disputes;
pub mod gigs;
pub mod metrics;
// Orders are charged and refunded through Stripe: only a build with its client has them.
#[cfg(feature = "stripe-client")]
pub mod orders;
pub mod payments;
// A refund goes back through Stripe: only a build with its client has it.
#[cfg(feature = "stripe-client")]
pub mod refunds;
pub mod reviews;
pub mod users;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::domain::audit::Actor;
use crate::domain::user::Caller;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, PageParams, PageRequest};
use crate::store::admin::lists::TimeRange;

/// Refuses every caller who is not an admin (403): the first line of every admin route.
pub fn require_admin(caller: &Caller) -> ApiResult<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only admins may use the admin API"))
    }
}

/// The admin `caller` as the actor of the audited actions of request `request_id`.
pub fn admin_actor(caller: &Caller, request_id: Option<String>) -> ApiResult<Actor> {
    require_admin(caller)?;
    Ok(Actor::admin(caller.id, request_id))
}

// ---- the time range of the month-bucketed lists (orders, reviews, payments) ----

/// Longest range of `GET /admin/orders`, `/admin/reviews` and `/admin/payments`: a year (a
/// leap one too).
pub const MAX_RANGE: Duration = Duration::days(366);

/// The range and the page of a month-bucketed list's query.
pub(crate) fn range_and_page(
    cursors: &CursorCodec,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
    now: OffsetDateTime,
) -> ApiResult<(TimeRange, PageRequest)> {
    let range = time_range(from.as_deref(), to.as_deref(), now)?;
    let page = cursors.page_request(&PageParams { limit, cursor })?;
    Ok((range, page))
}

/// `from`/`to` as given (RFC 3339 timestamps or `yyyy-mm-dd` dates, UTC) with their defaults:
/// 400 when unreadable, reversed or longer than [`MAX_RANGE`].
pub fn time_range(
    from: Option<&str>,
    to: Option<&str>,
    now: OffsetDateTime,
) -> ApiResult<TimeRange> {
    let asked_to = to
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| instant("to", text, true))
        .transpose()?;
    let asked_from = from
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| instant("from", text, false))
        .transpose()?;
    let to = asked_to.unwrap_or(now);
    let from = asked_from.unwrap_or(to - Duration::days(365));
    // Nothing on the marketplace is older (and the index keys hold non-negative times).
    if from < OffsetDateTime::UNIX_EPOCH {
        return Err(ApiError::invalid(
            "from",
            "out_of_range",
            "must be 1970-01-01 or later",
        ));
    }
    if from > to {
        return Err(ApiError::invalid(
            "from",
            "after_to",
            "must not be after `to`",
        ));
    }
    if to - from > MAX_RANGE {
        return Err(ApiError::invalid(
            "from",
            "range_too_long",
            "the range may span at most a year (366 days)",
        ));
    }
    Ok(TimeRange {
        from,
        to,
        asked: (asked_from, asked_to),
    })
}

/// An RFC 3339 timestamp, or a date (`yyyy-mm-dd`, UTC): its first instant, or with
/// `end_of_day` its last millisecond.
fn instant(field: &str, text: &str, end_of_day: bool) -> ApiResult<OffsetDateTime> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at.to_offset(UtcOffset::UTC));
    }
    let date = Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
        ApiError::invalid(
            field,
            "invalid_time",
            "must be an RFC 3339 timestamp (2026-11-26T10:00:00Z) or date (2026-11-26)",
        )
    })?;
    let start = date.midnight().assume_utc();
    Ok(if end_of_day {
        start + Duration::days(1) - Duration::milliseconds(1)
    } else {
        start
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::Role;
    use time::macros::datetime;
    use uuid::Uuid;

    #[test]
    fn only_admins_pass() {
        let id = Uuid::new_v4();
        for role in [Role::Client, Role::Freelancer] {
            assert!(
                require_admin(&Caller {
                    id,
                    role,
                    session: None
                })
                .is_err()
            );
        }
        assert!(
            require_admin(&Caller {
                id,
                role: Role::Admin,
                session: None
            })
            .is_ok()
        );
    }

    #[test]
    fn ranges_take_timestamps_and_whole_dates_and_refuse_bad_ones() {
        let now = datetime!(2026-11-26 10:00 UTC);
        let range = time_range(Some("2026-10-01"), Some("2026-10-31"), now).unwrap();
        assert_eq!(range.from, datetime!(2026-10-01 00:00 UTC));
        assert_eq!(range.to, datetime!(2026-10-31 23:59:59.999 UTC));
        let range = time_range(Some("2026-10-01T12:00:00+02:00"), None, now).unwrap();
        assert_eq!(range.from, datetime!(2026-10-01 10:00 UTC));
        assert_eq!(range.to, now);
        let default = time_range(None, None, now).unwrap();
        assert_eq!(default.to - default.from, Duration::days(365));
        for (from, to) in [
            (Some("2026-11-02"), Some("2026-11-01")),
            (Some("2025-01-01"), Some("2026-11-01")),
            (Some("yesterday"), None),
            (None, Some("2026-13-01")),
            (Some("2026-11-01T25:00:00Z"), None),
            (Some("1969-12-31"), Some("1970-06-01")),
            (None, Some("1900-01-01")),
        ] {
            assert!(time_range(from, to, now).is_err(), "{from:?} {to:?}");
        }
    }
}

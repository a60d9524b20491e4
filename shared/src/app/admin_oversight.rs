//! Admin oversight: the marketplace-wide lists (`GET /admin/users`, `/admin/orders`,
//! `/admin/reviews`; their layouts and read costs are in `store/keys.rs`, "Admin: oversight
//! lists") and cancelling orders. `POST /admin/orders/{id}/cancel` `{reason}` cancels any open
//! order (pending, in progress, delivered; a requested revision is in progress again). The
//! order state machine decides (`domain::order::decide`: an admin may cancel from any
//! non-terminal state, 409 from a closed one); the write is the orders' own transition
//! (version condition, timeline entry, gig `open_orders`, metrics, deadline keys dropped) with
//! the audit entry in the same transaction. Both parties are mailed `order.cancelled` through
//! the order event pipeline, saying an admin cancelled it and why.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use super::admin::require_admin;
use crate::domain::audit::{Actor, AuditAction, AuditEntry, ReasonBody, TargetKind};
use crate::domain::order::{self, ActionInput, Order, OrderAction, OrderStatus, Party};
use crate::domain::user::{Caller, PrivateProfile, Role, UserStatus};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, Page, PageParams, PageRequest};
use crate::store::Store;
use crate::store::oversight::{AdminReview, Backfilled, TimeRange, UserFilter};

/// What an admin cancel answers: the cancelled order and the audit entry that records it.
#[derive(Debug, Serialize)]
pub struct AdminOrderCancelled {
    pub order: Order,
    pub audit_id: Uuid,
}

/// `POST /admin/orders/{id}/cancel`. `reason` is the body as parsed (or why it could not be):
/// admins only, before it is judged.
pub async fn cancel_order(
    store: &Store,
    actor: &Actor,
    order_id: Uuid,
    reason: ApiResult<ReasonBody>,
    now: OffsetDateTime,
) -> ApiResult<AdminOrderCancelled> {
    let reason = reason?.validate()?;
    cancel_with_reason(store, actor, order_id, reason, now).await
}

/// The audited cancel: also what `POST /orders/{id}/cancel` runs when an admin calls it, so no
/// admin cancel goes unaudited.
pub async fn cancel_with_reason(
    store: &Store,
    actor: &Actor,
    order_id: Uuid,
    reason: String,
    now: OffsetDateTime,
) -> ApiResult<AdminOrderCancelled> {
    let order = store
        .get_order(order_id)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let order_actor = order::Actor {
        id: actor.user_id(),
        role: Party::Admin,
    };
    let transition = order.transition(
        OrderAction::Cancel,
        order_actor,
        ActionInput {
            note: Some(reason.clone()),
            attachments: Vec::new(),
        },
        now,
    )?;
    let entry = AuditEntry::new(
        actor,
        AuditAction::CancelOrder,
        (TargetKind::Order, order.id),
        Some(reason),
        now,
    );
    if store.apply_audited_transition(&transition, &entry).await? {
        Ok(AdminOrderCancelled {
            order: transition.after,
            audit_id: entry.id,
        })
    } else {
        Err(super::orders::order_changed())
    }
}

// ---- the marketplace-wide lists ----

/// Longest `q` of `GET /admin/users` (longer than any name or email prefix worth typing).
pub const USER_QUERY_MAX_CHARS: usize = 100;

/// Longest range of `GET /admin/orders` and `GET /admin/reviews`: a year (a leap one too).
pub const MAX_RANGE: Duration = Duration::days(366);

/// `GET /admin/users` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    /// An email or name prefix, any case.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /admin/users`: users by role, status and email or name prefix, in email (or matched
/// key) order, cursor-paged, from the sharded user index (never a Scan).
pub async fn list_users(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    query: UsersQuery,
) -> ApiResult<Page<PrivateProfile>> {
    require_admin(&caller)?;
    let q = query
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if let Some(q) = &q {
        if q.chars().count() > USER_QUERY_MAX_CHARS {
            return Err(ApiError::invalid(
                "q",
                "too_long",
                format!("must be at most {USER_QUERY_MAX_CHARS} characters"),
            ));
        }
        // No stored email or name holds one (and the index keys rely on it).
        if q.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "q",
                "invalid_characters",
                "must not contain control characters",
            ));
        }
    }
    let page = cursors.page_request(&PageParams {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let filter = UserFilter {
        role: query.role,
        status: query.status,
        q,
    };
    let (users, next) = store.list_users(&filter, &page).await?;
    let profiles = users.iter().map(PrivateProfile::from).collect();
    Ok(cursors.page(profiles, next))
}

/// `GET /admin/orders` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    pub status: Option<OrderStatus>,
    /// RFC 3339 timestamp or date (a date is its first instant), default `to` minus a year.
    pub from: Option<String>,
    /// RFC 3339 timestamp or date (a date is its last instant), default now.
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /admin/orders`: every order created in the range, newest first, optionally of one status.
pub async fn list_orders(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    query: OrdersQuery,
    now: OffsetDateTime,
) -> ApiResult<Page<Order>> {
    require_admin(&caller)?;
    let (range, page) = range_and_page(
        cursors,
        query.from,
        query.to,
        query.limit,
        query.cursor,
        now,
    )?;
    let (orders, next) = store.admin_orders(range, query.status, &page).await?;
    Ok(cursors.page(orders, next))
}

/// `GET /admin/reviews` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewsQuery {
    /// Only hidden (`true`) or only shown (`false`) reviews.
    pub hidden: Option<bool>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /admin/reviews`: every published review (hidden ones too) of the range, newest first.
pub async fn list_reviews(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    query: ReviewsQuery,
    now: OffsetDateTime,
) -> ApiResult<Page<AdminReview>> {
    require_admin(&caller)?;
    let (range, page) = range_and_page(
        cursors,
        query.from,
        query.to,
        query.limit,
        query.cursor,
        now,
    )?;
    let (reviews, next) = store.admin_reviews(range, query.hidden, &page).await?;
    Ok(cursors.page(reviews, next))
}

/// Gives the items stored before the lists existed their list keys (`gigctl
/// backfill-oversight-keys`; an operator's one-off Scan, never on a request path).
pub async fn backfill_list_keys(store: &Store) -> ApiResult<Backfilled> {
    store.backfill_oversight_keys().await
}

/// The range and the page of a month-bucketed list's query.
fn range_and_page(
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
    use time::macros::datetime;

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

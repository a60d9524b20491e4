//! What the admin lists share (`keys.rs`, "Admin: lists"): the month partitions the orders and
//! reviews lists read newest first, the scope of their cursors, and the backfill of the list
//! keys of items stored before the lists. The list keys themselves belong to the items that
//! carry them, written by the entities' own writes (`store::users`, `orders`, `reviews`).

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::{Date, Month, OffsetDateTime, UtcOffset};

use crate::domain::order::Order;
use crate::domain::review::Review;
use crate::domain::user::User;
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position, invalid_cursor};
use crate::store::audit::year_month;
use crate::store::keys::{self, Index, attr, entity};
use crate::store::orders::order_month_keys;
use crate::store::paged::{Listing, SortRange};
use crate::store::reviews::review_month_keys;
use crate::store::users::user_list_keys;
use crate::store::{Item, Store, from_item, s, sdk_error};

/// A short digest of a listing's query, the scope its cursors are bound to.
pub(super) fn digest_scope(text: &str) -> String {
    let digest = digest::digest(&digest::SHA256, text.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

// ---- the month partitions ----

/// `yyyy-mm` of each calendar month from `to` back to `from` (UTC), newest first.
pub fn months_newest_first(from: OffsetDateTime, to: OffsetDateTime) -> Vec<String> {
    let first = from.to_offset(UtcOffset::UTC).date();
    let mut month = to.to_offset(UtcOffset::UTC).date();
    let mut months = Vec::new();
    while (month.year(), month.month() as u8) >= (first.year(), first.month() as u8) {
        months.push(year_month(month.midnight().assume_utc()));
        let (year, previous) = match month.month() {
            Month::January => (month.year() - 1, Month::December),
            other => (month.year(), other.previous()),
        };
        month = Date::from_calendar_date(year, previous, 1).expect("the first of a month exists");
    }
    months
}

/// A time range of a month-bucketed list (both ends inclusive, `from <= to`), and which ends
/// the request gave (the others are defaults from the clock: a cursor keeps the range of its
/// first page, so they do not move under it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub asked: (Option<OffsetDateTime>, Option<OffsetDateTime>),
}

/// Month partitions a page may Query at most (a year and a month: every month of the longest
/// range); a page stopped by this has a cursor to go on.
const MONTH_QUERIES_PER_PAGE: usize = 13;

impl Store {
    /// Reads the month partitions of `range` newest first, resuming at the cursor's month and
    /// position, until the page is full.
    pub(super) async fn month_page(
        &self,
        range: TimeRange,
        listing: impl Fn(&str, (i128, i128)) -> Listing,
        page: &PageRequest,
    ) -> Result<(Vec<Item>, Option<Position>), ApiError> {
        // The query as asked: the filters (a listing of no month and no range) and the ends given.
        let scope = digest_scope(&format!(
            "{}|{:?}|{:?}",
            listing("", (0, 0)).scope(),
            range.asked.0.map(unix_ms),
            range.asked.1.map(unix_ms)
        ));
        let mut bounds = (unix_ms(range.from), unix_ms(range.to));
        let (mut month, mut after) = (None, None);
        if let Some(position) = &page.after {
            if position.scope != scope {
                return Err(invalid_cursor());
            }
            let number = |name: &str| {
                position.key[name]
                    .as_str()
                    .and_then(|text| text.parse::<i128>().ok())
                    .ok_or_else(invalid_cursor)
            };
            bounds = (number("from")?, number("to")?);
            let resumed = position.key["month"].as_str().ok_or_else(invalid_cursor)?;
            after = match &position.key["after"] {
                Value::Null => None,
                key => Some(Position {
                    scope: listing(resumed, bounds).scope(),
                    key: key.clone(),
                }),
            };
            month = Some(resumed.to_owned());
        }
        let instant = |ms: i128| {
            OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).map_err(|_| invalid_cursor())
        };
        let months = months_newest_first(instant(bounds.0)?, instant(bounds.1)?);
        let mut at = match month {
            Some(month) => months
                .iter()
                .position(|candidate| *candidate == month)
                .ok_or_else(invalid_cursor)?,
            None => 0,
        };
        let limit = page.limit as usize;
        let cursor = |month: &str, after: Value| Position {
            scope: scope.clone(),
            key: json!({
                "month": month,
                "after": after,
                "from": bounds.0.to_string(),
                "to": bounds.1.to_string(),
            }),
        };
        let mut items = Vec::new();
        let mut queried = 0;
        while at < months.len() {
            let month = &months[at];
            let request = PageRequest {
                limit: (limit - items.len()) as u32,
                after: after.take(),
            };
            let (read, next) = self.page(&listing(month, bounds), &request).await?;
            items.extend(read);
            queried += 1;
            if let Some(next) = next {
                return Ok((items, Some(cursor(month, next.key))));
            }
            at += 1;
            if at < months.len() && (items.len() == limit || queried == MONTH_QUERIES_PER_PAGE) {
                return Ok((items, Some(cursor(&months[at], Value::Null))));
            }
        }
        Ok((items, None))
    }
}

fn unix_ms(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

/// One month's partition of a month-bucketed index, limited to `range` (unix ms, inclusive),
/// newest first.
pub(super) fn month_listing(index: Index, partition: String, range: (i128, i128)) -> Listing {
    let (low, high) = keys::month_list_bounds(range.0, range.1);
    Listing::on(index, partition)
        .sort_range(SortRange::Between(low, high))
        .descending()
}

// ---- backfill of items written before the list keys ----

/// What [`Store::backfill_admin_list_keys`] rewrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Backfilled {
    pub users: u64,
    pub orders: u64,
    pub reviews: u64,
}

impl Store {
    /// Gives every user, order and published review written before the admin lists their
    /// list keys (an operator's one-off migration, `gigctl backfill-admin-list-keys`: it Scans the
    /// whole table, so nothing on a request path calls it). Idempotent: items that have the keys
    /// get the same ones again. A user's keys are written only if their status is still the one
    /// read (a concurrent block or unblock writes its own).
    pub async fn backfill_admin_list_keys(&self) -> Result<Backfilled, ApiError> {
        let mut done = Backfilled::default();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#entity IN (:user, :order, :review)")
                .expression_attribute_names("#entity", attr::ENTITY)
                .expression_attribute_values(":user", s(entity::USER))
                .expression_attribute_values(":order", s(entity::ORDER))
                .expression_attribute_values(":review", s(entity::REVIEW))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error("Scan"))?;
            for item in output.items.unwrap_or_default() {
                let tag = item
                    .get(attr::ENTITY)
                    .and_then(|value| value.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                let (key, list_keys, condition) = match tag.as_str() {
                    entity::USER => {
                        let user: User = from_item(item)?;
                        let status = crate::store::attribute(&user.status)?;
                        (keys::user(user.id), user_list_keys(&user), Some(status))
                    }
                    entity::ORDER => {
                        let order: Order = from_item(item)?;
                        (
                            keys::order(order.id),
                            order_month_keys(&order).to_vec(),
                            None,
                        )
                    }
                    _ => {
                        let review: Review = from_item(item)?;
                        let Some(published_at) = review.published_at.filter(|_| {
                            review.state == crate::domain::review::ReviewState::Published
                        }) else {
                            continue;
                        };
                        (
                            keys::review(review.id),
                            review_month_keys(review.id, published_at).to_vec(),
                            None,
                        )
                    }
                };
                let mut update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(crate::store::key_attributes(&key)))
                    .condition_expression(format!("attribute_exists({})", attr::PK));
                let mut set = Vec::new();
                for (number, (name, value)) in list_keys.into_iter().enumerate() {
                    set.push(format!("#k{number} = :k{number}"));
                    update = update
                        .expression_attribute_names(format!("#k{number}"), name)
                        .expression_attribute_values(format!(":k{number}"), value);
                }
                if let Some(status) = condition {
                    update = update
                        .condition_expression(format!(
                            "attribute_exists({}) AND #status = :status",
                            attr::PK
                        ))
                        .expression_attribute_names("#status", attr::STATUS)
                        .expression_attribute_values(":status", status);
                }
                match update
                    .update_expression(format!("SET {}", set.join(", ")))
                    .send()
                    .await
                {
                    Ok(_) => match tag.as_str() {
                        entity::USER => done.users += 1,
                        entity::ORDER => done.orders += 1,
                        _ => done.reviews += 1,
                    },
                    // Changed (or gone) since the Scan read it: that write set its own keys.
                    Err(error) if crate::store::condition_failed(&error) => {}
                    Err(error) => return Err(sdk_error("UpdateItem")(error)),
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(done),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn months_run_newest_first_across_a_year_boundary() {
        assert_eq!(
            months_newest_first(
                datetime!(2025-11-30 23:00 UTC),
                datetime!(2026-02-01 00:00 UTC)
            ),
            ["2026-02", "2026-01", "2025-12", "2025-11"]
        );
        assert_eq!(
            months_newest_first(
                datetime!(2026-03-05 00:00 UTC),
                datetime!(2026-03-31 23:59 UTC)
            ),
            ["2026-03"]
        );
        // UTC decides the month.
        assert_eq!(
            months_newest_first(
                datetime!(2026-03-31 23:30 -02:00),
                datetime!(2026-04-01 10:00 UTC)
            ),
            ["2026-04"]
        );
    }
}

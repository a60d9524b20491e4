//! The admin's orders list: every order by creation month (gsi4, `keys.rs`, "Admin: lists"),
//! newest first, optionally of one status.

use super::lists::{TimeRange, month_listing};
use crate::domain::order::{Order, OrderStatus};
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};
use crate::store::keys::{self, attr, index};
use crate::store::{Store, from_item, s};

impl Store {
    /// One page of the orders created in `range`, newest first, optionally of one status (a
    /// filter: a rare status reads more of each month to fill a page).
    pub async fn admin_orders(
        &self,
        range: TimeRange,
        status: Option<OrderStatus>,
        page: &PageRequest,
    ) -> Result<(Vec<Order>, Option<Position>), ApiError> {
        let listing = |month: &str, range: (i128, i128)| {
            let listing =
                month_listing(index::ORDERS_BY_MONTH, keys::orders_by_month(month), range);
            match status {
                Some(status) => listing.filter(attr::STATUS, "=", s(status.as_str())),
                None => listing,
            }
        };
        let (items, next) = self.month_page(range, listing, page).await?;
        let orders = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((orders, next))
    }
}

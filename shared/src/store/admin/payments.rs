//! The admin's payments list: the ledger's charges and refunds by the month they were written
//! (gsi4, `keys.rs`, "Admin: lists"), newest first.

use super::lists::{TimeRange, month_listing};
use crate::domain::ledger::PaymentEntry;
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};
use crate::store::Store;
use crate::store::keys::{self, index};
use crate::store::ledger::payment_entry;

impl Store {
    /// One page of the charges and refunds written in `range`, newest first.
    pub async fn admin_payments(
        &self,
        range: TimeRange,
        page: &PageRequest,
    ) -> Result<(Vec<PaymentEntry>, Option<Position>), ApiError> {
        let listing = |month: &str, range: (i128, i128)| {
            month_listing(
                index::PAYMENTS_BY_MONTH,
                keys::payments_by_month(month),
                range,
            )
        };
        let (items, next) = self.month_page(range, listing, page).await?;
        let payments = items
            .into_iter()
            .map(payment_entry)
            .collect::<Result<_, _>>()?;
        Ok((payments, next))
    }
}

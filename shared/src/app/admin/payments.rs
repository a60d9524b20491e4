//! `GET /admin/payments`: the ledger's charges and refunds, newest first (layout and read cost
//! in `store/keys.rs`, "Admin: lists").

use serde::Deserialize;
use time::OffsetDateTime;

use super::{range_and_page, require_admin};
use crate::domain::ledger::PaymentEntry;
use crate::domain::user::Caller;
use crate::error::ApiResult;
use crate::pagination::{CursorCodec, Page};
use crate::store::Store;

/// `GET /admin/payments` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentsQuery {
    /// RFC 3339 timestamp or date (a date is its first instant), default `to` minus a year.
    pub from: Option<String>,
    /// RFC 3339 timestamp or date (a date is its last instant), default now.
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Every charge and refund written in the range, newest first.
pub async fn list_payments(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    query: PaymentsQuery,
    now: OffsetDateTime,
) -> ApiResult<Page<PaymentEntry>> {
    require_admin(&caller)?;
    let (range, page) = range_and_page(
        cursors,
        query.from,
        query.to,
        query.limit,
        query.cursor,
        now,
    )?;
    let (payments, next) = store.admin_payments(range, &page).await?;
    Ok(cursors.page(payments, next))
}

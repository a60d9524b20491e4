//! Admin use cases on orders: the marketplace-wide orders list (`GET /admin/orders`; its layout
//! and read cost are in `store/keys.rs`, "Admin: lists") and `POST /admin/orders/{id}/cancel`
//! `{reason}`, which cancels any open order through the orders' own audited transition
//! (`app::orders::cancel_as_admin`).

use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{range_and_page, require_admin};
use crate::app::orders::{AdminOrderCancelled, cancel_as_admin};
use crate::domain::audit::{Actor, ReasonBody};
use crate::domain::order::{Order, OrderStatus};
use crate::domain::user::Caller;
use crate::error::ApiResult;
use crate::pagination::{CursorCodec, Page};
use crate::store::Store;
use crate::stripe::client::StripeClient;

/// `POST /admin/orders/{id}/cancel`. `reason` is the body as parsed (or why it could not be):
/// admins only, before it is judged. A paid order's charge is refunded (`app::payments`).
pub async fn cancel_order(
    store: &Store,
    stripe: &StripeClient,
    actor: &Actor,
    order_id: Uuid,
    reason: ApiResult<ReasonBody>,
    now: OffsetDateTime,
) -> ApiResult<AdminOrderCancelled> {
    let reason = reason?.validate()?;
    cancel_as_admin(store, stripe, actor, order_id, reason, now).await
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

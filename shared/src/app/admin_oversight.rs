//! Admin oversight of orders: `POST /admin/orders/{id}/cancel` `{reason}` cancels any open
//! order (pending, in progress, delivered; a requested revision is in progress again). The
//! order state machine decides (`domain::order::decide`: an admin may cancel from any
//! non-terminal state, 409 from a closed one); the write is the orders' own transition
//! (version condition, timeline entry, gig `open_orders`, metrics, deadline keys dropped) with
//! the audit entry in the same transaction. Both parties are mailed `order.cancelled` through
//! the order event pipeline, saying an admin cancelled it and why.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::audit::{Actor, AuditAction, AuditEntry, ReasonBody, TargetKind};
use crate::domain::order::{self, ActionInput, Order, OrderAction, Party};
use crate::error::{ApiError, ApiResult};
use crate::store::Store;

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

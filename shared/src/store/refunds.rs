//! Admin refunds of completed orders (key layouts: `store::keys`, "Payouts"). A refund is
//! written in one transaction with everything it changes: the order's `refunded_cents`
//! (conditioned on the order's version, so two refunds of one order can not both take what is
//! left), the order's earning (conditioned on what was read of it, as a withdrawal, a clearance
//! or a dispute may be moving it), the ledger's `admin-refund` transaction, the admin's audit
//! entry and the request's Idempotency-Key. What Stripe then answers is recorded on the refund
//! alone (each reversal's ledger transaction is written as it is made: `app::payouts`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::{self, attr, entity, index};
use super::transaction::TransactOutcome;
use super::{Store, n, to_item};
use crate::domain::audit::AuditEntry;
use crate::domain::ledger::{LedgerAccount, LedgerTransaction};
use crate::domain::order::Order;
use crate::domain::payout::Earning;
use crate::domain::refund::AdminRefund;
use crate::error::ApiError;

/// How long an admin refund request's Idempotency-Key is remembered.
pub const REFUND_REQUEST_TTL_SECS: i64 = 24 * 3600;

/// What a retried refund request finds: the refund the key made, and what it asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    pub order_id: Uuid,
    pub refund_id: Uuid,
    pub amount_cents: Option<u64>,
    pub expires_at: i64,
}

/// What a new admin refund changes beside the refund.
#[derive(Debug)]
pub struct NewAdminRefund<'a> {
    pub refund: &'a AdminRefund,
    /// The order as read (its version is the condition).
    pub order: &'a Order,
    /// The order's earning as read, and as the refund leaves it.
    pub earning: Option<(&'a Earning, Earning)>,
    pub ledger: &'a LedgerTransaction,
    pub audit: &'a AuditEntry,
    pub request: &'a RefundRequest,
    /// Who asked (the request key's partition) and their Idempotency-Key.
    pub actor_id: &'a str,
    pub idempotency_key: &'a str,
}

/// How recording a new admin refund ended.
#[derive(Debug)]
pub enum AdminRefundWrite {
    Recorded,
    /// The Idempotency-Key was used before: here is what it made.
    Replayed(RefundRequest),
    /// The order or its earning changed since they were read: read again.
    Raced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writing {
    Refund,
    Order,
    Earning,
    Request,
    Audit,
    LedgerEntry,
    Balance(LedgerAccount),
}

fn refund_item(refund: &AdminRefund) -> Result<super::Item, ApiError> {
    let mut item = to_item(&keys::admin_refund(refund.id), entity::ADMIN_REFUND, refund)?;
    item.insert(attr::VERSION.to_owned(), n(refund_version(refund)));
    if refund.unfinished() {
        super::put_on_list(
            &mut item,
            index::PAYOUT_DEADLINES,
            keys::due_admin_refund_partition(),
            keys::deadline_sort(refund.created_at.unix_timestamp(), refund.id),
        );
    }
    Ok(item)
}

/// A refund's version: its `updated_at` in nanoseconds, so a write conditioned on it fails when
/// anyone wrote the refund since it was read.
fn refund_version(refund: &AdminRefund) -> i128 {
    refund.updated_at.unix_timestamp_nanos()
}

impl Store {
    pub async fn get_admin_refund(&self, refund_id: Uuid) -> Result<Option<AdminRefund>, ApiError> {
        self.get_as(&keys::admin_refund(refund_id)).await
    }

    /// The request an Idempotency-Key made, while it is remembered.
    pub async fn admin_refund_request(
        &self,
        actor_id: &str,
        idempotency_key: &str,
        now_unix: i64,
    ) -> Result<Option<RefundRequest>, ApiError> {
        let request: Option<RefundRequest> = self
            .get_as(&keys::admin_refund_request(actor_id, idempotency_key))
            .await?;
        Ok(request.filter(|request| request.expires_at > now_unix))
    }

    /// Admin refunds written at or before `created_by` that Stripe has not answered for yet
    /// (`AdminRefund::unfinished`), oldest first.
    pub async fn due_admin_refunds(
        &self,
        created_by: time::OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<AdminRefund>, ApiError> {
        self.due(
            index::PAYOUT_DEADLINES,
            keys::due_admin_refund_partition(),
            created_by,
            limit,
        )
        .await
    }

    /// Records a new admin refund with what it changes (see the module docs).
    pub async fn record_admin_refund(
        &self,
        change: NewAdminRefund<'_>,
    ) -> Result<AdminRefundWrite, ApiError> {
        let now_unix = change.refund.created_at.unix_timestamp();
        let mut transaction = self.transaction();
        transaction.put_new(Writing::Refund, refund_item(change.refund)?)?;
        transaction.update(Writing::Order, &keys::order(change.order.id), |update| {
            update
                .update_expression("SET #refunded = :refunded, #version = #version + :one")
                .condition_expression("#version = :read")
                .expression_attribute_names("#refunded", "refunded_cents")
                .expression_attribute_names("#version", attr::VERSION)
                .expression_attribute_values(
                    ":refunded",
                    n(change.order.refunded_cents + change.refund.amount_cents),
                )
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":read", n(change.order.version))
        })?;
        if let Some((before, after)) = &change.earning {
            transaction.earning_as_read(Writing::Earning, before, after)?;
        }
        transaction.ledger(
            Writing::LedgerEntry,
            Writing::Balance,
            change.ledger,
            now_unix,
        )?;
        transaction.audit(Writing::Audit, change.audit)?;
        transaction.put_request(
            Writing::Request,
            to_item(
                &keys::admin_refund_request(change.actor_id, change.idempotency_key),
                entity::REFUND_REQUEST,
                change.request,
            )?,
            now_unix,
        )?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(AdminRefundWrite::Recorded),
            TransactOutcome::ConditionFailed(failed) if failed.includes(Writing::Request) => {
                match self
                    .admin_refund_request(change.actor_id, change.idempotency_key, now_unix)
                    .await?
                {
                    Some(request) => Ok(AdminRefundWrite::Replayed(request)),
                    None => Ok(AdminRefundWrite::Raced),
                }
            }
            TransactOutcome::ConditionFailed(_) => Ok(AdminRefundWrite::Raced),
        }
    }

    /// Writes `after`, the refund `before` with Stripe's answer (or the reversals) recorded.
    /// `false`: someone wrote the refund since it was read.
    pub async fn update_admin_refund(
        &self,
        before: &AdminRefund,
        after: &AdminRefund,
    ) -> Result<bool, ApiError> {
        let mut transaction = self.transaction();
        transaction.put(Writing::Refund, refund_item(after)?, |put| {
            put.condition_expression("#version = :version")
                .expression_attribute_names("#version", attr::VERSION)
                .expression_attribute_values(":version", n(refund_version(before)))
        })?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(_) => Ok(false),
        }
    }
}

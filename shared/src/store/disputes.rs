//! Disputes of orders' charges: one item per dispute (on gsi3 while open, for the admins'
//! list), written in one transaction with the order's `dispute` (its version moved, so a
//! transition computed before it fails and is read again), the order's earning (frozen,
//! released or forfeited, conditioned on what was read of it), the ledger transaction that
//! moves the money, and the Stripe event that reported it.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, attr, entity, index};
use super::paged::Listing;
use super::transaction::TransactOutcome;
use super::{Store, attribute, from_item, n, to_item};
use crate::domain::ledger::{LedgerAccount, LedgerTransaction};
use crate::domain::order::{DisputeStatus, Order, OrderDispute};
use crate::domain::payout::{DisputeRecord, Earning, PayoutReversal};
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};

/// How a dispute's write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeWrite {
    Recorded,
    /// The Stripe event (or this dispute's change) was applied before.
    AlreadyApplied,
    /// The order or its earning changed since they were read: read again.
    Raced,
}

/// What a dispute's write changes beside the dispute.
#[derive(Debug)]
pub struct DisputeChange<'a> {
    /// The order as read (its version is the condition).
    pub order: &'a Order,
    /// The dispute as read, when it is recorded already (its status is the condition).
    pub before: Option<&'a DisputeRecord>,
    pub after: &'a DisputeRecord,
    /// The order's earning as read, and as it becomes.
    pub earning: Option<(&'a Earning, Earning)>,
    pub ledger: Option<&'a LedgerTransaction>,
    pub processor_event: Option<&'a str>,
    pub now_unix: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writing {
    Dispute,
    Order,
    Earning,
    LedgerEntry,
    Balance(LedgerAccount),
    ProcessorEvent,
}

pub(super) fn dispute_item(record: &DisputeRecord) -> Result<super::Item, ApiError> {
    let mut item = to_item(&keys::dispute(&record.id), entity::DISPUTE, record)?;
    if record.status == DisputeStatus::Open {
        super::put_on_list(
            &mut item,
            index::OPEN_DISPUTES,
            keys::open_disputes_partition(),
            keys::dispute_sort(record.opened_at.unix_timestamp(), &record.id),
        );
    } else if record.reversals_due() {
        let closed_at = record.closed_at.unwrap_or(record.opened_at);
        super::put_on_list(
            &mut item,
            index::PAYOUT_DEADLINES,
            keys::due_dispute_reversal_partition(),
            keys::dispute_sort(closed_at.unix_timestamp(), &record.id),
        );
    }
    Ok(item)
}

impl Store {
    pub async fn get_dispute(&self, dispute_id: &str) -> Result<Option<DisputeRecord>, ApiError> {
        self.get_as(&keys::dispute(dispute_id)).await
    }

    /// Writes a dispute's change (see the module docs).
    pub async fn write_dispute(&self, change: DisputeChange<'_>) -> Result<DisputeWrite, ApiError> {
        let mut transaction = self.transaction();
        let item = dispute_item(change.after)?;
        match change.before {
            None => {
                transaction.put_new(Writing::Dispute, item)?;
            }
            Some(before) => {
                let status = attribute(&before.status)?;
                transaction.put(Writing::Dispute, item, |put| {
                    put.condition_expression("#status = :read")
                        .expression_attribute_names("#status", attr::STATUS)
                        .expression_attribute_values(":read", status)
                })?;
            }
        }
        let flag = attribute(&OrderDispute {
            id: change.after.id.clone(),
            status: change.after.status,
        })?;
        transaction.update(Writing::Order, &keys::order(change.order.id), |update| {
            update
                .update_expression("SET #dispute = :dispute, #version = #version + :one")
                .condition_expression("#version = :read")
                .expression_attribute_names("#dispute", "dispute")
                .expression_attribute_names("#version", attr::VERSION)
                .expression_attribute_values(":dispute", flag)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":read", n(change.order.version))
        })?;
        if let Some((before, after)) = &change.earning {
            transaction.earning_as_read(Writing::Earning, before, after)?;
        }
        if let Some(ledger) = change.ledger {
            transaction.ledger(
                Writing::LedgerEntry,
                Writing::Balance,
                ledger,
                change.now_unix,
            )?;
        }
        if let Some(event_id) = change.processor_event {
            transaction.processor_event(
                Writing::ProcessorEvent,
                event_id,
                change.order.id,
                change.now_unix,
            )?;
        }
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(DisputeWrite::Recorded),
            TransactOutcome::ConditionFailed(failed)
                if failed.includes(Writing::ProcessorEvent)
                    || failed.includes(Writing::Dispute) =>
            {
                Ok(DisputeWrite::AlreadyApplied)
            }
            TransactOutcome::ConditionFailed(_) => Ok(DisputeWrite::Raced),
        }
    }

    /// Records the reversals that took a lost dispute's paid-out share back, tried to the end:
    /// the dispute leaves the scheduler's list.
    pub async fn record_dispute_reversals(
        &self,
        dispute_id: &str,
        reversals: &[PayoutReversal],
    ) -> Result<(), ApiError> {
        let key = keys::dispute(dispute_id);
        let due = index::PAYOUT_DEADLINES;
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(super::key_attributes(&key)))
            .update_expression(
                "SET #reversals = :reversals, #tried = :tried REMOVE #due_pk, #due_sk",
            )
            .condition_expression(format!("attribute_exists({})", attr::PK))
            .expression_attribute_names("#reversals", "reversals")
            .expression_attribute_names("#tried", "reversals_tried")
            .expression_attribute_names("#due_pk", due.pk())
            .expression_attribute_names("#due_sk", due.sk())
            .expression_attribute_values(":reversals", attribute(&reversals)?)
            .expression_attribute_values(":tried", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(super::sdk_error("UpdateItem"))?;
        Ok(())
    }

    /// Lost disputes closed at or before `closed_by` whose reversals Stripe has not answered
    /// yet (`DisputeRecord::reversals_due`), oldest first.
    pub async fn due_dispute_reversals(
        &self,
        closed_by: time::OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<DisputeRecord>, ApiError> {
        self.due(
            index::PAYOUT_DEADLINES,
            keys::due_dispute_reversal_partition(),
            closed_by,
            limit,
        )
        .await
    }

    /// One page of the open disputes, oldest first.
    pub async fn open_disputes(
        &self,
        page: &PageRequest,
    ) -> Result<(Vec<DisputeRecord>, Option<Position>), ApiError> {
        let listing = Listing::on(index::OPEN_DISPUTES, keys::open_disputes_partition());
        let (items, next) = self.page(&listing, page).await?;
        let records = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((records, next))
    }
}

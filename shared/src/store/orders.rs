//! Orders, their timelines, idempotent placement, the scheduler's deadline index and the
//! notifier's mail dedupe records.
//!
//! Every change is one `TransactWriteItems`: the order put conditioned on the status and version it
//! was read at, its timeline entry, and the gig's counters when they move. Two racing changes can
//! therefore never both apply, and the timeline can never disagree with the order.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::year_month;
use super::keys::{self, attr, entity, index};
use super::paged::{Listing, SortRange};
use super::reviews::OrderReviews;
use super::transaction::{TransactOutcome, Transaction};
use super::users::UserCondition;
use super::{
    Item, Store, attribute, done_if_condition_failed, from_item, key_attributes, n, s, sdk_error,
    to_item,
};
use crate::domain::audit::AuditEntry;
use crate::domain::file::CheckedFile;
use crate::domain::gig::GigStatus;
use crate::domain::ledger::LedgerAccount;
use crate::domain::metrics::MetricsDelta;
use crate::domain::order::{
    Deadline, Order, OrderStatus, Party, Payment, Refund, RefundStatus, TimelineEntry, Transition,
};
use crate::domain::quota::Quota;
use crate::domain::review::OrderReviewStates;
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};

/// Index reads per page of a user's orders at most: a status filter may reject most of them.
const ORDER_LIST_REQUEST_CAP: usize = 10;

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;

/// What a placement request with an `Idempotency-Key` led to; replays answer from this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub client_id: Uuid,
    /// SHA-256 (hex) of the canonical request body.
    pub request_hash: String,
    pub order_id: Uuid,
    pub status_code: u16,
    pub expires_at: i64,
}

#[derive(Debug)]
pub enum Placement {
    Created,
    /// The key was used before; here is what it did.
    Replayed(IdempotencyRecord),
    /// The gig stopped being active between our read and the write.
    GigNotOrderable,
    /// The gig was edited between our read and the write: its package may not be what the
    /// client saw.
    GigChanged,
    /// The gig's freelancer was blocked (or removed) between our read and the write.
    FreelancerUnavailable,
    /// The client's order-placement quota is used up.
    QuotaReached,
}

/// Which of a user's order lists to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderList {
    AsClient,
    AsFreelancer,
}

/// The scheduler's lists of orders with a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueList {
    /// In progress and past `due_at`: to be marked late.
    Late,
    /// Delivered long enough ago: to be completed.
    AutoComplete,
    /// Unpaid for too long: to be expired.
    PaymentExpiry,
    /// A refund the payment processor has not accepted yet: to be asked for again.
    Refund,
}

impl DueList {
    /// Its partition of the deadline index.
    fn partition(self) -> String {
        match self {
            Self::Late => keys::due_late_partition(),
            Self::AutoComplete => keys::due_auto_complete_partition(),
            Self::PaymentExpiry => keys::due_payment_expiry_partition(),
            Self::Refund => keys::due_refund_partition(),
        }
    }
}

/// The items of an order placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placing {
    Order,
    FirstEntry,
    GigCounters,
    IdempotencyRecord,
    FreelancerCheck,
    Metrics,
    Quota,
}

/// The items of an order transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Changing {
    Order,
    Entry,
    GigCounters,
    Metrics,
    Audit,
    LedgerEntry,
    Balance(LedgerAccount),
    Earning,
    ProcessorEvent,
    File(Uuid),
    FileExpiry,
}

/// What a transition writes beside the order and its own ledger transaction: the payment
/// processor's event that caused it (recorded so its redelivery changes nothing), an admin's
/// audit entry, a delivery's files (recorded as used).
#[derive(Debug, Clone, Copy, Default)]
pub struct TransitionEffects<'a> {
    pub processor_event: Option<&'a str>,
    pub audit: Option<&'a AuditEntry>,
    pub files: &'a [CheckedFile],
}

/// How a transition's write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionWrite {
    Applied,
    /// The order is no longer in the state and version the transition was computed from.
    OrderChanged,
    /// The processor's event was applied before: nothing was written.
    EventAlreadyApplied,
}

/// Outcome of claiming the right to send one mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailClaim {
    /// Ours to send; mark it sent afterwards, or release it on failure.
    Claimed,
    AlreadySent,
    /// Another delivery of the same event is sending it right now.
    InFlight,
}

/// The order item: the order plus its index keys (gsi3 only while a deadline applies).
fn order_item(order: &Order) -> Result<Item, ApiError> {
    let mut item = to_item(&keys::order(order.id), entity::ORDER, order)?;
    let listing = s(keys::order_listing_sort(order.id));
    item.insert(
        index::ORDERS_OF_CLIENT.pk().into(),
        s(keys::orders_of_client(order.client_id)),
    );
    item.insert(index::ORDERS_OF_CLIENT.sk().into(), listing.clone());
    // The freelancer's list holds only orders that were paid (`Order::visible_to`).
    if order.visible_to(Party::Freelancer) {
        let index = index::ORDERS_OF_FREELANCER;
        item.insert(
            index.pk().into(),
            s(keys::orders_of_freelancer(order.freelancer_id)),
        );
        item.insert(index.sk().into(), listing);
    }
    // The admin list of every order, by creation month.
    item.extend(order_month_keys(order));
    if let Some(deadline) = order.deadline() {
        let (list, at) = match deadline {
            Deadline::Late(at) => (DueList::Late, at),
            Deadline::AutoComplete(at) => (DueList::AutoComplete, at),
            Deadline::PaymentExpiry(at) => (DueList::PaymentExpiry, at),
            Deadline::Refund(at) => (DueList::Refund, at),
        };
        let index = index::ORDER_DEADLINES;
        item.insert(index.pk().into(), s(list.partition()));
        item.insert(
            index.sk().into(),
            s(keys::deadline_sort(at.unix_timestamp(), order.id)),
        );
    }
    Ok(item)
}

fn timeline_item(order_id: Uuid, entry: &TimelineEntry) -> Result<Item, ApiError> {
    let mut item = to_item(
        &keys::order_timeline_entry(order_id, entry.seq),
        entity::ORDER_EVENT,
        entry,
    )?;
    item.insert(attr::ORDER_ID.into(), s(order_id.to_string()));
    Ok(item)
}

impl<N: Copy + std::fmt::Debug> Transaction<N> {
    /// Moves a gig's order counters; the gig must exist (and for a placement, still be active and
    /// at the version whose package the order snapshots: `placed_at_version`).
    fn gig_counters(
        &mut self,
        name: N,
        gig_id: Uuid,
        open_delta: i64,
        placed_at_version: Option<u64>,
    ) -> Result<&mut Self, ApiError> {
        let active = s(GigStatus::Active.as_str());
        self.update(name, &keys::gig(gig_id), |update| {
            let update = update.expression_attribute_values(":open", n(open_delta));
            if let Some(version) = placed_at_version {
                update
                    .update_expression(format!(
                        "ADD {} :open, {} :one",
                        attr::OPEN_ORDERS,
                        attr::ORDER_COUNT
                    ))
                    .condition_expression("#status = :active AND #version = :version")
                    .expression_attribute_names("#status", attr::STATUS)
                    .expression_attribute_names("#version", attr::VERSION)
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":active", active)
                    .expression_attribute_values(":version", n(version))
            } else {
                update
                    .update_expression(format!("ADD {} :open", attr::OPEN_ORDERS))
                    .condition_expression(format!("attribute_exists({})", attr::PK))
            }
        })
    }
}

/// A user's orders as one side, newest first.
fn order_list(list: OrderList, user_id: Uuid, status: Option<OrderStatus>) -> Listing {
    let (index, partition) = match list {
        OrderList::AsClient => (index::ORDERS_OF_CLIENT, keys::orders_of_client(user_id)),
        OrderList::AsFreelancer => (
            index::ORDERS_OF_FREELANCER,
            keys::orders_of_freelancer(user_id),
        ),
    };
    let listing = Listing::on(index, partition)
        .sort_range(SortRange::Prefix(keys::ORDER_LISTING_PREFIX.to_owned()))
        .descending()
        .request_cap(ORDER_LIST_REQUEST_CAP);
    match status {
        Some(status) => listing.filter(attr::STATUS, "=", s(status.as_str())),
        None => listing,
    }
}

impl Store {
    /// Places an order: the order, its first timeline entry, the gig's counters, the
    /// idempotency record and the count against the client's `quota`, all or nothing, and only
    /// while the freelancer is not blocked and the gig is still at `gig_version`.
    pub async fn place_order(
        &self,
        order: &Order,
        gig_version: u64,
        idempotency_key: &str,
        request_hash: &str,
        quota: &Quota,
        now_unix: i64,
    ) -> Result<Placement, ApiError> {
        let record = IdempotencyRecord {
            client_id: order.client_id,
            request_hash: request_hash.to_owned(),
            order_id: order.id,
            status_code: 201,
            expires_at: now_unix + IDEMPOTENCY_TTL_SECS,
        };
        let mut transaction = self.transaction();
        transaction
            .put_new(Placing::Order, order_item(order)?)?
            .put_new(
                Placing::FirstEntry,
                timeline_item(order.id, &order.last_change)?,
            )?
            .gig_counters(Placing::GigCounters, order.gig_id, 1, Some(gig_version))?
            .put_request(
                Placing::IdempotencyRecord,
                to_item(
                    &keys::order_idempotency(order.client_id, idempotency_key),
                    entity::ORDER_REQUEST,
                    &record,
                )?,
                now_unix,
            )?
            .check_user(
                Placing::FreelancerCheck,
                order.freelancer_id,
                UserCondition::NotBlocked,
            )?
            .count(
                Placing::Metrics,
                &MetricsDelta::order_placed(order),
                order.id,
            )?
            .within_quota(Placing::Quota, quota)?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(Placement::Created),
            TransactOutcome::ConditionFailed(failed)
                if failed.includes(Placing::IdempotencyRecord) =>
            {
                let earlier = self
                    .idempotency_record(order.client_id, idempotency_key)
                    .await?
                    .ok_or_else(|| {
                        ApiError::internal(anyhow::anyhow!(
                            "idempotency record vanished after its condition failed"
                        ))
                    })?;
                Ok(Placement::Replayed(earlier))
            }
            TransactOutcome::ConditionFailed(failed) if failed.includes(Placing::GigCounters) => {
                let still_active = self
                    .get_gig(order.gig_id)
                    .await?
                    .is_some_and(|gig| gig.status == GigStatus::Active);
                Ok(if still_active {
                    Placement::GigChanged
                } else {
                    Placement::GigNotOrderable
                })
            }
            TransactOutcome::ConditionFailed(failed)
                if failed.includes(Placing::FreelancerCheck) =>
            {
                Ok(Placement::FreelancerUnavailable)
            }
            TransactOutcome::ConditionFailed(failed) if failed.includes(Placing::Quota) => {
                Ok(Placement::QuotaReached)
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "order placement: unexpected condition failure of {failed:?}"
            ))),
        }
    }

    /// The live record for a client's key (TTL deletion is lazy, so expiry is checked here too).
    pub async fn idempotency_record(
        &self,
        client_id: Uuid,
        idempotency_key: &str,
    ) -> Result<Option<IdempotencyRecord>, ApiError> {
        let record: Option<IdempotencyRecord> = self
            .get_as(&keys::order_idempotency(client_id, idempotency_key))
            .await?;
        Ok(record.filter(|record| record.expires_at > crate::unix_now()))
    }

    pub async fn get_order(&self, order_id: Uuid) -> Result<Option<Order>, ApiError> {
        self.get_as(&keys::order(order_id)).await
    }

    /// The order, its whole timeline (oldest first) and each side's review state, in one
    /// Query of the order's partition.
    pub async fn order_with_timeline(
        &self,
        order_id: Uuid,
    ) -> Result<Option<(Order, Vec<TimelineEntry>, OrderReviewStates)>, ApiError> {
        let listing = Listing::table(keys::order_partition(order_id)).consistent();
        let mut order = None;
        let mut timeline = Vec::new();
        let mut reviews = OrderReviewStates::default();
        for item in self.read_all(&listing, usize::MAX).await? {
            match item.get(attr::ENTITY).and_then(|value| value.as_s().ok()) {
                Some(tag) if tag == entity::ORDER => order = Some(from_item::<Order>(item)?),
                Some(tag) if tag == entity::ORDER_EVENT => timeline.push(from_item(item)?),
                Some(tag) if tag == entity::ORDER_REVIEWS => {
                    reviews = from_item::<OrderReviews>(item)?.states();
                }
                _ => {}
            }
        }
        timeline.sort_by_key(|entry: &TimelineEntry| entry.seq);
        Ok(order.map(|order| (order, timeline, reviews)))
    }

    /// Writes a transition decided by the domain, with its ledger transaction and what else it
    /// moves beside the order, all in one DynamoDB transaction. `OrderChanged`: the order is no
    /// longer in the state and version the transition was computed from.
    pub async fn apply_transition_with(
        &self,
        transition: &Transition,
        effects: TransitionEffects<'_>,
    ) -> Result<TransitionWrite, ApiError> {
        self.write_transition(transition, effects).await
    }

    async fn write_transition(
        &self,
        transition: &Transition,
        effects: TransitionEffects<'_>,
    ) -> Result<TransitionWrite, ApiError> {
        let before = &transition.before;
        let mut transaction = self.transaction();
        transaction
            .put(Changing::Order, order_item(&transition.after)?, |put| {
                put.condition_expression(
                    "#status = :expected_status AND #version = :expected_version",
                )
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_names("#version", attr::VERSION)
                .expression_attribute_values(":expected_status", s(before.status.as_str()))
                .expression_attribute_values(":expected_version", n(before.version))
            })?
            .put_new(
                Changing::Entry,
                timeline_item(before.id, &transition.entry)?,
            )?
            .count(
                Changing::Metrics,
                &MetricsDelta::order_moved(before, &transition.after),
                before.id,
            )?;
        if transition.open_orders_delta != 0 {
            transaction.gig_counters(
                Changing::GigCounters,
                before.gig_id,
                transition.open_orders_delta,
                None,
            )?;
        }
        if let Some(entry) = effects.audit {
            transaction.audit(Changing::Audit, entry)?;
        }
        let now_unix = transition.after.updated_at.unix_timestamp();
        if let Some(ledger) = &transition.ledger {
            transaction.ledger(Changing::LedgerEntry, Changing::Balance, ledger, now_unix)?;
        }
        if let Some(earning) = transition.earning() {
            transaction.new_earning(Changing::Earning, &earning)?;
        }
        if let Some(event_id) = effects.processor_event {
            transaction.processor_event(Changing::ProcessorEvent, event_id, before.id, now_unix)?;
        }
        transaction.use_files(Changing::File, effects.files, transition.after.updated_at)?;
        if !before.status.is_terminal() && transition.after.status.is_terminal() {
            transaction.files_closed(
                Changing::FileExpiry,
                before.id,
                transition.after.updated_at,
            )?;
        }
        let failed = match self.transact(transaction).await? {
            TransactOutcome::Committed => return Ok(TransitionWrite::Applied),
            TransactOutcome::ConditionFailed(failed) => failed,
        };
        if failed.includes(Changing::ProcessorEvent) {
            return Ok(TransitionWrite::EventAlreadyApplied);
        }
        if failed.includes(Changing::Order) {
            return Ok(TransitionWrite::OrderChanged);
        }
        if let Some(checked) = effects
            .files
            .iter()
            .find(|checked| failed.includes(Changing::File(checked.file.id)))
        {
            return Err(super::files::file_unavailable(&checked.file));
        }
        Err(ApiError::internal(anyhow::anyhow!(
            "order transition: unexpected condition failure of {failed:?}"
        )))
    }

    /// Records what the payment processor reported about an unpaid order's payment, without a
    /// timeline entry (nothing changed hands), with the processor's event when there is one.
    pub async fn record_payment(
        &self,
        order: &Order,
        payment: &Payment,
        processor_event: Option<&str>,
        now_unix: i64,
    ) -> Result<TransitionWrite, ApiError> {
        let value = attribute(payment)?;
        let mut transaction = self.transaction();
        transaction.update(Changing::Order, &keys::order(order.id), |update| {
            update
                .update_expression("SET #payment = :payment")
                .condition_expression("#status = :awaiting AND #version = :version")
                .expression_attribute_names("#payment", "payment")
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_names("#version", attr::VERSION)
                .expression_attribute_values(":payment", value)
                .expression_attribute_values(":awaiting", s(OrderStatus::AwaitingPayment.as_str()))
                .expression_attribute_values(":version", n(order.version))
        })?;
        self.write_order_record(transaction, order.id, processor_event, now_unix)
            .await
    }

    /// Records where an order's refund stands now (`refund`, forward from what was read as
    /// `order.refund`), without a timeline entry: the refund was decided with the order's change.
    /// With the processor's event when there is one.
    pub async fn record_refund(
        &self,
        order: &Order,
        refund: &Refund,
        processor_event: Option<&str>,
        now_unix: i64,
    ) -> Result<TransitionWrite, ApiError> {
        let was = order
            .refund
            .as_ref()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no refund to record on")))?;
        let (value, was_status) = (attribute(refund)?, attribute(&was.status)?);
        // Once the processor has it, the order leaves the scheduler's refund list (a closed
        // order has no other deadline).
        let deadline = index::ORDER_DEADLINES;
        let leaves_due_list = refund.status != RefundStatus::Requested;
        let expression = if leaves_due_list {
            "SET #refund = :refund REMOVE #due_pk, #due_sk"
        } else {
            "SET #refund = :refund"
        };
        let mut transaction = self.transaction();
        transaction.update(Changing::Order, &keys::order(order.id), |update| {
            let update = update
                .update_expression(expression)
                .condition_expression("#refund.#status = :was AND #version = :version")
                .expression_attribute_names("#refund", "refund")
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_names("#version", attr::VERSION)
                .expression_attribute_values(":refund", value)
                .expression_attribute_values(":was", was_status)
                .expression_attribute_values(":version", n(order.version));
            if leaves_due_list {
                update
                    .expression_attribute_names("#due_pk", deadline.pk())
                    .expression_attribute_names("#due_sk", deadline.sk())
            } else {
                update
            }
        })?;
        self.write_order_record(transaction, order.id, processor_event, now_unix)
            .await
    }

    /// Commits a record of the payment processor's word on an order (its payment or refund
    /// status, an Update of the order in `transaction`), with the processor's event when there is
    /// one: a redelivered event, or an order that moved on, writes nothing.
    async fn write_order_record(
        &self,
        mut transaction: Transaction<Changing>,
        order_id: Uuid,
        processor_event: Option<&str>,
        now_unix: i64,
    ) -> Result<TransitionWrite, ApiError> {
        if let Some(event_id) = processor_event {
            transaction.processor_event(Changing::ProcessorEvent, event_id, order_id, now_unix)?;
        }
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(TransitionWrite::Applied),
            TransactOutcome::ConditionFailed(failed)
                if failed.includes(Changing::ProcessorEvent) =>
            {
                Ok(TransitionWrite::EventAlreadyApplied)
            }
            TransactOutcome::ConditionFailed(_) => Ok(TransitionWrite::OrderChanged),
        }
    }

    /// One page of a user's orders, newest first, optionally only those in `status`. With a
    /// status filter a page is filled from several index reads (bounded), so it may come back
    /// shorter than `limit` with a cursor to go on.
    pub async fn list_orders(
        &self,
        list: OrderList,
        user_id: Uuid,
        status: Option<OrderStatus>,
        page: &PageRequest,
    ) -> Result<(Vec<Order>, Option<Position>), ApiError> {
        self.page_as(&order_list(list, user_id, status), page).await
    }

    /// Orders on a due list whose deadline is at or before `now`, oldest first, at most `limit`.
    /// A Query on the sparse deadline index; the index is eventually consistent, so callers
    /// re-check each order (the transition's version condition does).
    pub async fn due_orders(
        &self,
        list: DueList,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Order>, ApiError> {
        self.due(index::ORDER_DEADLINES, list.partition(), now, limit)
            .await
    }

    /// Claims sending the mail for (`event_id`, `recipient_id`): succeeds when nobody has, or
    /// when an earlier claim is older than `lease_secs` and was never marked sent (its sender
    /// died). The record expires after `ttl_secs`.
    pub async fn claim_mail(
        &self,
        event_id: &str,
        recipient_id: Uuid,
        now_unix: i64,
        lease_secs: i64,
        ttl_secs: i64,
    ) -> Result<MailClaim, ApiError> {
        let mut item = key_attributes(&keys::mail_sent(event_id, recipient_id));
        item.extend(HashMap::from([
            (attr::ENTITY.to_owned(), s(entity::MAIL_SENT)),
            ("state".to_owned(), s("sending")),
            ("claimed_at".to_owned(), n(now_unix)),
            (attr::EXPIRES_AT.to_owned(), n(now_unix + ttl_secs)),
        ]));
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(#pk) OR (#state = :sending AND claimed_at < :stale)",
            )
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":stale", n(now_unix - lease_secs))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(MailClaim::Claimed),
            Err(error) => match error.as_service_error() {
                Some(service) if service.is_conditional_check_failed_exception() => {
                    let sent = match service {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(failed) => failed
                            .item()
                            .and_then(|old| old.get("state"))
                            .and_then(|state| state.as_s().ok())
                            .is_some_and(|state| state == "sent"),
                        _ => false,
                    };
                    Ok(if sent {
                        MailClaim::AlreadySent
                    } else {
                        MailClaim::InFlight
                    })
                }
                _ => Err(sdk_error("PutItem")(error)),
            },
        }
    }

    pub async fn mark_mail_sent(
        &self,
        event_id: &str,
        recipient_id: Uuid,
        message_id: &str,
    ) -> Result<(), ApiError> {
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::mail_sent(
                event_id,
                recipient_id,
            ))))
            .update_expression("SET #state = :sent, message_id = :message_id")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":message_id", AttributeValue::S(message_id.into()))
            .send()
            .await
            .map_err(sdk_error("UpdateItem"))?;
        Ok(())
    }

    /// Gives a claim back after a failed send, so the retry may send.
    pub async fn release_mail(&self, event_id: &str, recipient_id: Uuid) -> Result<(), ApiError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::mail_sent(
                event_id,
                recipient_id,
            ))))
            .condition_expression("#state = :sending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", s("sending"))
            .send()
            .await
            .map(|_| ())
            .or_else(done_if_condition_failed("DeleteItem"))
    }
}

// ---- the keys of the admin's orders list (`keys.rs`, "Admin: lists") ----

/// The gsi4 keys of an order: its creation month and time.
pub(crate) fn order_month_keys(order: &Order) -> [(String, AttributeValue); 2] {
    let index = index::ORDERS_BY_MONTH;
    [
        (
            index.pk().to_owned(),
            s(keys::orders_by_month(&year_month(order.created_at))),
        ),
        (
            index.sk().to_owned(),
            s(keys::month_list_sort(
                order.created_at.unix_timestamp_nanos() / 1_000_000,
                order.id,
            )),
        ),
    ]
}

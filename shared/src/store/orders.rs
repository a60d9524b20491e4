//! Orders, their timelines, idempotent placement, the scheduler's deadline index and the
//! notifier's mail dedupe records.
//!
//! Every change is one `TransactWriteItems`: the order put conditioned on the status and version it
//! was read at, its timeline entry, and the gig's counters when they move. Two racing changes can
//! therefore never both apply, and the timeline can never disagree with the order.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::keys::{self, DeadlineList, entity};
use super::{
    Item, Store, TransactOutcome, done_if_condition_failed, from_item, key_attributes, n, s,
    sdk_error, to_item,
};
use crate::domain::order::{Deadline, Order, OrderStatus, TimelineEntry, Transition};
use crate::error::ApiError;
use crate::pagination::PageRequest;

const BY_CLIENT_INDEX: &str = "gsi1";
const BY_FREELANCER_INDEX: &str = "gsi2";
const DEADLINE_INDEX: &str = "gsi3";

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
    /// The gig's freelancer was blocked (or removed) between our read and the write.
    FreelancerUnavailable,
}

/// Which of a user's order lists to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderList {
    AsClient,
    AsFreelancer,
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
    item.insert("gsi1pk".into(), s(keys::orders_of_client(order.client_id)));
    item.insert("gsi1sk".into(), listing.clone());
    item.insert(
        "gsi2pk".into(),
        s(keys::orders_of_freelancer(order.freelancer_id)),
    );
    item.insert("gsi2sk".into(), listing);
    if let Some(deadline) = order.deadline() {
        let (list, at) = match deadline {
            Deadline::Late(at) => (DeadlineList::Late, at),
            Deadline::AutoComplete(at) => (DeadlineList::AutoComplete, at),
        };
        item.insert("gsi3pk".into(), s(keys::deadline_partition(list)));
        item.insert(
            "gsi3sk".into(),
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
    item.insert("order_id".into(), s(order_id.to_string()));
    Ok(item)
}

/// Fails the placement unless the freelancer still exists and is not blocked: blocking is
/// another request's write, so the handler's earlier read of the user can be stale.
fn freelancer_not_blocked(table: &str, freelancer_id: Uuid) -> Result<TransactWriteItem, ApiError> {
    ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key_attributes(&keys::user(freelancer_id))))
        .condition_expression(
            "attribute_exists(pk) AND (attribute_not_exists(#status) OR #status <> :blocked)",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":blocked", s("blocked"))
        .build()
        .map(|check| TransactWriteItem::builder().condition_check(check).build())
        .map_err(ApiError::internal)
}

/// A gig counter change; the gig must exist (and for placement, still be active).
fn gig_counters(
    table: &str,
    gig_id: Uuid,
    open_delta: i64,
    placed: bool,
) -> Result<TransactWriteItem, ApiError> {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key_attributes(&keys::gig(gig_id))))
        .expression_attribute_values(":open", n(open_delta));
    update = if placed {
        update
            .update_expression("ADD open_orders :open, order_count :one")
            .condition_expression("#status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":active", s("active"))
    } else {
        update
            .update_expression("ADD open_orders :open")
            .condition_expression("attribute_exists(pk)")
    };
    update
        .build()
        .map(|update| TransactWriteItem::builder().update(update).build())
        .map_err(ApiError::internal)
}

/// Cursor positions are the query's `LastEvaluatedKey`, all of whose attributes are strings.
fn key_to_position(key: &Item) -> Value {
    Value::Object(
        key.iter()
            .filter_map(|(name, value)| {
                value
                    .as_s()
                    .ok()
                    .map(|text| (name.clone(), Value::String(text.clone())))
            })
            .collect(),
    )
}

fn position_to_key(position: &Value, index_pk: &str) -> Result<Item, ApiError> {
    let invalid = || ApiError::invalid("cursor", "invalid_cursor", "cursor is invalid");
    let object = position.as_object().ok_or_else(invalid)?;
    let key: Item = object
        .iter()
        .map(|(name, value)| {
            value
                .as_str()
                .map(|text| (name.clone(), s(text)))
                .ok_or_else(invalid)
        })
        .collect::<Result<_, _>>()?;
    if !key.contains_key(index_pk) {
        return Err(invalid());
    }
    Ok(key)
}

impl Store {
    /// Places an order: the order, its first timeline entry, the gig's counters and the
    /// idempotency record, all or nothing, and only while the freelancer is not blocked.
    pub async fn place_order(
        &self,
        order: &Order,
        idempotency_key: &str,
        request_hash: &str,
        now_unix: i64,
    ) -> Result<Placement, ApiError> {
        let record = IdempotencyRecord {
            client_id: order.client_id,
            request_hash: request_hash.to_owned(),
            order_id: order.id,
            status_code: 201,
            expires_at: now_unix + IDEMPOTENCY_TTL_SECS,
        };
        let items = vec![
            self.put_new(order_item(order)?)?,
            self.put_new(timeline_item(order.id, &order.last_change)?)?,
            gig_counters(self.table(), order.gig_id, 1, true)?,
            self.put_new(to_item(
                &keys::order_idempotency(order.client_id, idempotency_key),
                entity::ORDER_REQUEST,
                &record,
            )?)?,
            freelancer_not_blocked(self.table(), order.freelancer_id)?,
        ];
        match self.transact(items).await? {
            TransactOutcome::Committed => Ok(Placement::Created),
            TransactOutcome::ConditionFailed(failed) if failed.contains(&3) => {
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
            TransactOutcome::ConditionFailed(failed) if failed.contains(&2) => {
                Ok(Placement::GigNotOrderable)
            }
            TransactOutcome::ConditionFailed(failed) if failed.contains(&4) => {
                Ok(Placement::FreelancerUnavailable)
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "order placement: unexpected condition failure at {failed:?}"
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

    /// The order and its whole timeline (oldest first) in one Query of the order's partition.
    pub async fn order_with_timeline(
        &self,
        order_id: Uuid,
    ) -> Result<Option<(Order, Vec<TimelineEntry>)>, ApiError> {
        let mut order = None;
        let mut timeline = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(keys::order_partition(order_id)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error("Query"))?;
            for item in output.items.unwrap_or_default() {
                match item.get("entity").and_then(|value| value.as_s().ok()) {
                    Some(tag) if tag == entity::ORDER => order = Some(from_item::<Order>(item)?),
                    Some(tag) if tag == entity::ORDER_EVENT => timeline.push(from_item(item)?),
                    _ => {}
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        timeline.sort_by_key(|entry: &TimelineEntry| entry.seq);
        Ok(order.map(|order| (order, timeline)))
    }

    /// Writes a transition decided by the domain. `Ok(false)`: the order is no longer in the
    /// state and version the transition was computed from (somebody else changed it first).
    pub async fn apply_transition(&self, transition: &Transition) -> Result<bool, ApiError> {
        let before = &transition.before;
        let put_order = Put::builder()
            .table_name(self.table())
            .set_item(Some(order_item(&transition.after)?))
            .condition_expression("#status = :expected_status AND version = :expected_version")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":expected_status", s(before.status.as_str()))
            .expression_attribute_values(":expected_version", n(before.version))
            .build()
            .map_err(ApiError::internal)?;
        let mut items = vec![
            TransactWriteItem::builder().put(put_order).build(),
            self.put_new(timeline_item(before.id, &transition.entry)?)?,
        ];
        if transition.open_orders_delta != 0 {
            items.push(gig_counters(
                self.table(),
                before.gig_id,
                transition.open_orders_delta,
                false,
            )?);
        }
        match self.transact(items).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(failed) if failed.contains(&0) => Ok(false),
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "order transition: unexpected condition failure at {failed:?}"
            ))),
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
    ) -> Result<(Vec<Order>, Option<Value>), ApiError> {
        const MAX_READS: usize = 10;
        let (index, pk_name, pk) = match list {
            OrderList::AsClient => (BY_CLIENT_INDEX, "gsi1pk", keys::orders_of_client(user_id)),
            OrderList::AsFreelancer => (
                BY_FREELANCER_INDEX,
                "gsi2pk",
                keys::orders_of_freelancer(user_id),
            ),
        };
        let mut start = page
            .after
            .as_ref()
            .map(|position| position_to_key(position, pk_name))
            .transpose()?;
        if let Some(start) = &start
            && start.get(pk_name).and_then(|value| value.as_s().ok()) != Some(&pk)
        {
            return Err(ApiError::invalid(
                "cursor",
                "invalid_cursor",
                "cursor is invalid",
            ));
        }
        let limit = page.limit as usize;
        let mut orders = Vec::new();
        for _ in 0..MAX_READS {
            let mut query = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(index)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_names("#sk", pk_name.replace("pk", "sk"))
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":prefix", s("ORDER#"))
                .scan_index_forward(false)
                .limit((limit - orders.len()) as i32)
                .set_exclusive_start_key(start.take());
            if let Some(status) = status {
                query = query
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status.as_str()));
            }
            let output = query.send().await.map_err(sdk_error("Query"))?;
            for item in output.items.unwrap_or_default() {
                orders.push(from_item::<Order>(item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() || orders.len() >= limit {
                break;
            }
        }
        Ok((orders, start.as_ref().map(key_to_position)))
    }

    /// Orders on a deadline list whose deadline is at or before `now_unix`, oldest first, at most
    /// `limit`. A Query on the sparse gsi3; the index is eventually consistent, so callers
    /// re-check each order (the transition's version condition does).
    pub async fn orders_past_deadline(
        &self,
        list: DeadlineList,
        now_unix: i64,
        limit: usize,
    ) -> Result<Vec<Order>, ApiError> {
        let mut orders = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(DEADLINE_INDEX)
                .key_condition_expression("gsi3pk = :pk AND gsi3sk <= :now")
                .expression_attribute_values(":pk", s(keys::deadline_partition(list)))
                .expression_attribute_values(":now", s(keys::deadline_upper_bound(now_unix)))
                .limit((limit - orders.len()).min(100) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error("Query"))?;
            for item in output.items.unwrap_or_default() {
                orders.push(from_item::<Order>(item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() || orders.len() >= limit {
                return Ok(orders);
            }
        }
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
            ("entity".to_owned(), s(entity::MAIL_SENT)),
            ("state".to_owned(), s("sending")),
            ("claimed_at".to_owned(), n(now_unix)),
            ("expires_at".to_owned(), n(now_unix + ttl_secs)),
        ]));
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR (#state = :sending AND claimed_at < :stale)",
            )
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

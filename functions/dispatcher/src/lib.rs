//! `dispatcher`: turns the table's stream into events on the events queue, and every write of
//! a gig into a hint on the search index queue (`events::GigHint`, read by `indexer`).
//!
//! The API only writes to DynamoDB; this is the only path from a change to the queue, so there
//! is no dual write. Triggered by the table's stream (deployed with a filter on
//! `NewImage.entity` in `order`, `review`, `message`, `gig`, cleared earnings and settled
//! withdrawals, and `ReportBatchItemFailures`). The store decodes each record into a
//! change in domain words (`store::stream`), records that are no change are acknowledged and
//! skipped (so the function is correct without the filter), and each change becomes one event.
//!
//! Every record whose event could not be queued is reported in `batchItemFailures` (by its
//! sequence number), so Lambda retries from it: a crash or a failed send between the table write
//! and the queue never loses an event. Retries may queue an event twice; its `event_id` is
//! derived from the change, and the notifier sends once per id and recipient.

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use gigmarket_shared::domain::order::ChangeKind;
use gigmarket_shared::events::{Event, EventType, GigHint, ReviewEventKind};
use gigmarket_shared::store::stream::{self, StreamChange, UndecodableRecord};
use gigmarket_shared::triggers;
use lambda_runtime::Diagnostic;
use uuid::Uuid;

/// SQS accepts at most 10 messages per SendMessageBatch.
const SQS_BATCH: usize = 10;

/// The event a stream record stands for, if any. A change nobody is told of (an order placed
/// and not yet paid) queues nothing: the queue's one reader is the notifier.
pub fn event_for(record: &EventRecord) -> Result<Option<Event>, UndecodableRecord> {
    let event = stream::decode(record)?.and_then(|change| match change {
        StreamChange::Order(order) => Some(Event::for_order_change(&order)),
        StreamChange::ReviewSealed(review) => {
            Some(Event::for_review(&review, ReviewEventKind::Sealed))
        }
        StreamChange::ReviewPublished(review) => {
            Some(Event::for_review(&review, ReviewEventKind::Published))
        }
        StreamChange::Message(message) => Some(Event::for_message(&message)),
        StreamChange::GigDecision(decision) => Some(Event::for_gig_decision(&decision)),
        StreamChange::FundsCleared {
            earning,
            cleared_at,
        } => Some(Event::for_cleared_earning(&earning, cleared_at)),
        StreamChange::WithdrawalSent(withdrawal) => Some(Event::for_withdrawal_sent(&withdrawal)),
        StreamChange::Dispute(dispute) => Some(Event::for_dispute(&dispute)),
        StreamChange::AdminRefundIssued(refund) => Some(Event::for_admin_refund(&refund)),
        // Only pushed live (realtime); the dispatcher's filter never passes them.
        StreamChange::ReadReceipt(_) | StreamChange::UnreadTotal { .. } => None,
    });
    Ok(event.filter(|event| {
        event
            .notice()
            .map_or(true, |notice| !notice.recipients().is_empty())
    }))
}

/// The queues the dispatcher sends to.
#[derive(Debug, Clone)]
pub struct Queues {
    /// `ORDER_EVENTS_QUEUE_URL`: every event (the notifier's).
    pub events: String,
    /// `SEARCH_INDEX_QUEUE_URL`: a hint per changed gig (the indexer's).
    pub search_index: String,
}

/// The invocation: a stream batch is handled; any other payload (an SQS batch, an API request,
/// `{}`) is refused as the invocation's error (`errorType` `WrongTrigger`) and queues nothing.
pub async fn on_invocation(
    payload: serde_json::Value,
    sqs: &aws_sdk_sqs::Client,
    queues: &Queues,
) -> Result<DynamoDbEventResponse, Diagnostic> {
    let batch = triggers::stream_batch(payload)?;
    Ok(handle(batch, sqs, queues).await)
}

/// Handles one batch of stream records; the response lists the records to retry.
pub async fn handle(
    batch: StreamEvent,
    sqs: &aws_sdk_sqs::Client,
    queues: &Queues,
) -> DynamoDbEventResponse {
    let mut failed: Vec<&EventRecord> = Vec::new();
    let mut ready: Vec<(&EventRecord, Event)> = Vec::new();
    for record in &batch.records {
        match event_for(record) {
            Ok(Some(event)) => ready.push((record, event)),
            Ok(None) => {}
            Err(error) => {
                tracing::error!(error = %error, "undecodable stream record");
                failed.push(record);
            }
        }
    }
    for chunk in ready.chunks(SQS_BATCH) {
        failed.extend(send_chunk(chunk, sqs, &queues.events).await);
    }
    let hinted: Vec<(&EventRecord, Uuid)> = batch
        .records
        .iter()
        .filter_map(|record| stream::changed_gig(record).map(|gig_id| (record, gig_id)))
        .collect();
    let unsent = send_hints(&hinted, sqs, &queues.search_index).await;
    for (record, gig_id) in &hinted {
        if unsent.contains(gig_id) && !failed.iter().any(|bad| std::ptr::eq(*bad, *record)) {
            failed.push(record);
        }
    }
    count_business_events(&ready, &failed);
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failed.into_iter().map(failure).collect();
    tracing::info!(
        records = batch.records.len(),
        events = ready.len(),
        hints = hinted.len(),
        failures = response.batch_item_failures.len(),
        "dispatched"
    );
    response
}

/// Queues one hint per distinct gig of `hinted`; answers the gigs whose hint SQS did not take.
async fn send_hints(
    hinted: &[(&EventRecord, Uuid)],
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Vec<Uuid> {
    let mut gig_ids: Vec<Uuid> = hinted.iter().map(|(_, gig_id)| *gig_id).collect();
    gig_ids.sort_unstable();
    gig_ids.dedup();
    let mut unsent = Vec::new();
    for chunk in gig_ids.chunks(SQS_BATCH) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(index, gig_id)| {
                let body =
                    serde_json::to_string(&GigHint { gig_id: *gig_id }).expect("a hint serialises");
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(body)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>();
        let result = match entries {
            Ok(entries) => sqs
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| aws_sdk_sqs::error::DisplayErrorContext(&error).to_string()),
            Err(error) => Err(error.to_string()),
        };
        match result {
            Ok(output) => unsent.extend(chunk.iter().enumerate().filter_map(|(index, gig_id)| {
                let queued = output
                    .successful
                    .iter()
                    .any(|queued| queued.id == index.to_string());
                (!queued).then_some(*gig_id)
            })),
            Err(error) => {
                tracing::error!(error, "SendMessageBatch of search index hints failed");
                unsent.extend_from_slice(chunk);
            }
        }
    }
    unsent
}

/// Business metrics (EMF): orders paid and completed, from the events that were queued.
fn count_business_events(ready: &[(&EventRecord, Event)], failed: &[&EventRecord]) {
    use gigmarket_shared::emf;
    let queued = |kind: ChangeKind| {
        ready
            .iter()
            .filter(|(record, event)| {
                event.event_type == EventType::Order(kind)
                    && !failed.iter().any(|bad| std::ptr::eq(*bad, *record))
            })
            .count() as u64
    };
    emf::count(emf::ORDERS_PAID, queued(ChangeKind::Paid));
    emf::count(emf::ORDERS_COMPLETED, queued(ChangeKind::Completed));
}

fn failure(record: &EventRecord) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = record.change.sequence_number.clone();
    failure
}

/// The queue message of `event`: its JSON, with its type as the `event_type` attribute (for
/// subscription filters and for reading a queue without parsing bodies).
fn queue_entry(id: String, event: &Event) -> anyhow::Result<SendMessageBatchRequestEntry> {
    let event_type = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(event.event_type.to_string())
        .build()?;
    Ok(SendMessageBatchRequestEntry::builder()
        .id(id)
        .message_body(serde_json::to_string(event)?)
        .message_attributes("event_type", event_type)
        .build()?)
}

/// Sends up to ten events; returns the records whose event SQS did not report as queued
/// (refused, or never sent because its entry could not be built).
async fn send_chunk<'a>(
    chunk: &[(&'a EventRecord, Event)],
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Vec<&'a EventRecord> {
    let entries: Vec<SendMessageBatchRequestEntry> = chunk
        .iter()
        .enumerate()
        .filter_map(|(index, (_, event))| {
            queue_entry(index.to_string(), event)
                .inspect_err(|error| tracing::error!(error = %error, "building SQS entry"))
                .ok()
        })
        .collect();
    let result = sqs
        .send_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await;
    let output = match result {
        Ok(output) => output,
        Err(error) => {
            tracing::error!(
                error = %aws_sdk_sqs::error::DisplayErrorContext(&error),
                "SendMessageBatch failed"
            );
            return chunk.iter().map(|(record, _)| *record).collect();
        }
    };
    for refused in &output.failed {
        tracing::warn!(id = refused.id, code = refused.code, "event not queued");
    }
    chunk
        .iter()
        .enumerate()
        .filter(|(index, _)| {
            !output
                .successful
                .iter()
                .any(|queued| queued.id == index.to_string())
        })
        .map(|(_, (record, _))| *record)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample event is a real stream shape and yields exactly the event of its order record.
    #[test]
    fn sample_event_yields_one_order_event() {
        let sample = include_str!("../../../events/dispatcher/order-paid.json");
        let batch: StreamEvent = serde_json::from_str(sample).unwrap();
        let events: Vec<Option<Event>> = batch
            .records
            .iter()
            .map(|record| event_for(record).unwrap())
            .collect();
        assert_eq!(events.len(), 2);
        let paid = events[0].as_ref().expect("the order MODIFY is an event");
        assert_eq!(paid.event_type.to_string(), "order.paid");
        assert_eq!(
            paid.event_id,
            "order:0193a0c2-5f00-7c3e-9a51-3b9e2f1c0a11:2"
        );
        assert!(events[1].is_none(), "timeline entries are not events");
    }
}

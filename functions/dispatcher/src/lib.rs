//! `dispatcher`: turns DynamoDB stream records of order changes into order events on SQS.
//!
//! The API only writes to DynamoDB; this is the only path from a change to the queue, so there
//! is no dual write. Triggered by the table's stream (deployed with a filter on
//! `NewImage.entity = order` and `ReportBatchItemFailures`); records of other entities are
//! acknowledged and skipped here too, so the function is correct without the filter.
//!
//! Every record whose event could not be queued is reported in `batchItemFailures` (by its
//! sequence number), so Lambda retries from it: a crash or a failed send between the table write
//! and the queue never loses an event. Retries may queue an event twice; its `event_id` is
//! derived from the change, and the notifier sends once per id and recipient.

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use gigmarket_shared::domain::order::Order;
use gigmarket_shared::events::Event;
use gigmarket_shared::store::keys::entity;

/// SQS accepts at most 10 messages per SendMessageBatch.
const SQS_BATCH: usize = 10;

/// The order event a stream record stands for, if any: an order item inserted or modified with a
/// higher version than before.
pub fn order_event(record: &EventRecord) -> anyhow::Result<Option<Event>> {
    let new_image = &record.change.new_image;
    let is_order = matches!(
        new_image.get("entity"),
        Some(serde_dynamo::AttributeValue::S(tag)) if tag == entity::ORDER
    );
    if !is_order || record.event_name == "REMOVE" {
        return Ok(None);
    }
    let order: Order = serde_dynamo::from_item(new_image.clone())?;
    let old_version = match record.change.old_image.get("version") {
        Some(serde_dynamo::AttributeValue::N(version)) => version.parse::<u64>().ok(),
        _ => None,
    };
    if old_version.is_some_and(|old| old >= order.version) {
        return Ok(None);
    }
    Ok(Some(Event::for_order_change(&order)))
}

fn failure(record: &EventRecord) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = record.change.sequence_number.clone();
    failure
}

/// Handles one batch of stream records; the response lists the records to retry.
pub async fn handle(
    batch: StreamEvent,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> DynamoDbEventResponse {
    let mut failed: Vec<&EventRecord> = Vec::new();
    let mut ready: Vec<(&EventRecord, Event)> = Vec::new();
    for record in &batch.records {
        match order_event(record) {
            Ok(Some(event)) => ready.push((record, event)),
            Ok(None) => {}
            Err(error) => {
                tracing::error!(error = %error, event_id = %record.event_id, "undecodable order record");
                failed.push(record);
            }
        }
    }
    for chunk in ready.chunks(SQS_BATCH) {
        failed.extend(send_chunk(chunk, sqs, queue_url).await);
    }
    count_business_events(&ready, &failed);
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failed.into_iter().map(failure).collect();
    tracing::info!(
        records = batch.records.len(),
        events = ready.len(),
        failures = response.batch_item_failures.len(),
        "dispatched"
    );
    response
}

/// Business metrics (EMF): orders placed and completed, from the events that were queued.
fn count_business_events(ready: &[(&EventRecord, Event)], failed: &[&EventRecord]) {
    use gigmarket_shared::metrics;
    let queued = |kind: &str| {
        ready
            .iter()
            .filter(|(record, event)| {
                event.event_type.as_str() == kind
                    && !failed.iter().any(|bad| std::ptr::eq(*bad, *record))
            })
            .count() as u64
    };
    metrics::count(metrics::ORDERS_PLACED, queued("order.placed"));
    metrics::count(metrics::ORDERS_COMPLETED, queued("order.completed"));
}

/// Sends up to ten events; returns the records whose event was not accepted.
async fn send_chunk<'a>(
    chunk: &[(&'a EventRecord, Event)],
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Vec<&'a EventRecord> {
    let mut entries = Vec::with_capacity(chunk.len());
    for (index, (_, event)) in chunk.iter().enumerate() {
        let entry = serde_json::to_string(event)
            .map_err(anyhow::Error::from)
            .and_then(|body| {
                let attribute = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(event.event_type.as_str())
                    .build()?;
                Ok(SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(body)
                    .message_attributes("event_type", attribute)
                    .build()?)
            });
        match entry {
            Ok(entry) => entries.push(entry),
            Err(error) => tracing::error!(error = %error, "building SQS entry"),
        }
    }
    let result = sqs
        .send_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await;
    match result {
        Ok(output) => output
            .failed
            .iter()
            .filter_map(|failed| {
                tracing::warn!(id = failed.id, code = failed.code, "event not queued");
                failed.id.parse::<usize>().ok().map(|index| chunk[index].0)
            })
            .chain(
                // Entries we could not even build never reached SQS.
                chunk
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| {
                        !output
                            .successful
                            .iter()
                            .any(|ok| ok.id == index.to_string())
                            && !output.failed.iter().any(|bad| bad.id == index.to_string())
                    })
                    .map(|(_, (record, _))| *record),
            )
            .collect(),
        Err(error) => {
            tracing::error!(
                error = %aws_sdk_sqs::error::DisplayErrorContext(&error),
                "SendMessageBatch failed"
            );
            chunk.iter().map(|(record, _)| *record).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample event is a real stream shape and yields exactly the event of its order record.
    #[test]
    fn sample_event_yields_one_order_event() {
        let sample = include_str!("../../../events/dispatcher/order-placed.json");
        let batch: StreamEvent = serde_json::from_str(sample).unwrap();
        let events: Vec<Option<Event>> = batch
            .records
            .iter()
            .map(|record| order_event(record).unwrap())
            .collect();
        assert_eq!(events.len(), 2);
        let placed = events[0].as_ref().expect("the order INSERT is an event");
        assert_eq!(placed.event_type.as_str(), "order.placed");
        assert_eq!(
            placed.event_id,
            "order:0193a0c2-5f00-7c3e-9a51-3b9e2f1c0a11:1"
        );
        assert!(events[1].is_none(), "timeline entries are not events");
    }
}

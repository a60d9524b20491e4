//! Pushes: the table's stream (filtered to messages, read receipts, orders, published reviews and
//! unread totals) -> `PostToConnection` on every live connection of the users a change concerns.
//!
//! `realtime` is the stream's second and last reader (the dispatcher is the first): a DynamoDB
//! stream throttles past two, so a push never goes through the events queue or a third reader.
//! Each record's pushes run concurrently (at most [`CONCURRENT_POSTS`] at a time). A connection
//! the management API reports gone (410 `GoneException`: its `$disconnect` never came) is
//! deleted; any other failure is counted (`PushFailures`) and its record reported in
//! `batchItemFailures`, so Lambda retries from it. A retry may push twice; a client drops a push
//! whose `id` it already has.

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_apigatewaymanagement::primitives::Blob;
use futures_util::StreamExt;
use gigmarket_shared::domain::realtime::{Connection, Delivery};
use gigmarket_shared::emf;
use gigmarket_shared::events::pushes;
use gigmarket_shared::store::Store;
use gigmarket_shared::store::stream::{self, StreamChange};
use time::OffsetDateTime;

/// Posts in flight at once per record: enough for every device of a conversation's two
/// parties, few enough not to hold a burst of connections to the management API.
pub const CONCURRENT_POSTS: usize = 16;

/// What one post to one connection came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    Delivered,
    /// The connection is gone (and now deleted): nothing to retry.
    Gone,
    Failed,
}

/// The push a stream record stands for, if any.
pub fn delivery_for(record: &EventRecord, now: OffsetDateTime) -> anyhow::Result<Option<Delivery>> {
    Ok(match stream::decode(record)? {
        Some(StreamChange::Message(message)) => Some(pushes::message_received(&message)?),
        Some(StreamChange::ReadReceipt(entry)) => Delivery::message_read(&entry),
        Some(StreamChange::Order(order)) => Some(pushes::order_changed(&order)),
        Some(StreamChange::UnreadTotal {
            user_id,
            unread_messages,
        }) => Some(Delivery::unread_changed(user_id, unread_messages, now)),
        Some(StreamChange::ReviewPublished(review)) => Some(pushes::review_published(&review)?),
        // A sealed review is news to nobody live: its content stays hidden until published.
        // Payout changes are mailed, not pushed.
        Some(
            StreamChange::ReviewSealed(_)
            | StreamChange::GigDecision(_)
            | StreamChange::FundsCleared { .. }
            | StreamChange::WithdrawalSent(_)
            | StreamChange::Dispute(_)
            | StreamChange::AdminRefundIssued(_),
        ) => None,
        None => None,
    })
}

/// Handles one batch of stream records; the response lists the records to retry.
pub async fn handle(
    batch: StreamEvent,
    store: &Store,
    connections: &aws_sdk_apigatewaymanagement::Client,
    now: OffsetDateTime,
) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let (mut pushed, mut gone, mut failures) = (0u64, 0u64, 0u64);
    for record in &batch.records {
        let delivery = match delivery_for(record, now) {
            Ok(Some(delivery)) => delivery,
            Ok(None) => continue,
            Err(error) => {
                tracing::error!(error = %error, "undecodable stream record");
                response.batch_item_failures.push(failure(record));
                continue;
            }
        };
        match deliver(&delivery, store, connections, now).await {
            Ok(outcomes) => {
                let count = |wanted| outcomes.iter().filter(|&&o| o == wanted).count() as u64;
                pushed += count(Posted::Delivered);
                gone += count(Posted::Gone);
                let failed = count(Posted::Failed);
                failures += failed;
                if failed > 0 {
                    response.batch_item_failures.push(failure(record));
                }
            }
            Err(error) => {
                tracing::error!(error = %error, "reading connections");
                failures += 1;
                response.batch_item_failures.push(failure(record));
            }
        }
    }
    emf::count(emf::PUSH_FAILURES, failures);
    tracing::info!(
        records = batch.records.len(),
        pushed,
        gone,
        failures,
        "pushed"
    );
    response
}

/// Posts `delivery` to every live connection of its users; what each post came to.
pub async fn deliver(
    delivery: &Delivery,
    store: &Store,
    connections: &aws_sdk_apigatewaymanagement::Client,
    now: OffsetDateTime,
) -> anyhow::Result<Vec<Posted>> {
    let body = serde_json::to_vec(&delivery.push)?;
    let mut targets: Vec<Connection> = Vec::new();
    for user_id in &delivery.to {
        targets.extend(store.connections_of(*user_id, now.unix_timestamp()).await?);
    }
    Ok(futures_util::stream::iter(targets)
        .map(|connection| post(store, connections, connection, &body, now))
        .buffer_unordered(CONCURRENT_POSTS)
        .collect()
        .await)
}

/// Posts `body` to one connection; a gone connection is deleted, unless its `$connect` may
/// still be running (then the push is lost to it: the client catches up through the REST API).
async fn post(
    store: &Store,
    connections: &aws_sdk_apigatewaymanagement::Client,
    connection: Connection,
    body: &[u8],
    now: OffsetDateTime,
) -> Posted {
    let result = connections
        .post_to_connection()
        .connection_id(&connection.connection_id)
        .data(Blob::new(body))
        .send()
        .await;
    let error = match result {
        Ok(_) => return Posted::Delivered,
        Err(error) => error,
    };
    if is_gone(&error) && connection.may_be_opening(now) {
        tracing::info!(connection_id = %connection.connection_id, "connection still opening");
        return Posted::Gone;
    }
    if is_gone(&error) {
        tracing::info!(connection_id = %connection.connection_id, "connection gone");
        return match store.close_connection(&connection).await {
            Ok(()) => Posted::Gone,
            Err(error) => {
                tracing::error!(error = %error, "deleting a gone connection");
                Posted::Failed
            }
        };
    }
    tracing::warn!(
        connection_id = %connection.connection_id,
        error = %aws_sdk_apigatewaymanagement::error::DisplayErrorContext(&error),
        "PostToConnection failed"
    );
    Posted::Failed
}

/// Gone: the error code `GoneException`, or the status 410 when the body named no code (a
/// proxy in front of the endpoint); either way the connection will never take a push again.
fn is_gone(
    error: &aws_sdk_apigatewaymanagement::error::SdkError<
        aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError,
        aws_sdk_apigatewaymanagement::config::http::HttpResponse,
    >,
) -> bool {
    let status_gone = error
        .raw_response()
        .is_some_and(|response| response.status().as_u16() == 410);
    let code_gone = error
        .as_service_error()
        .is_some_and(|service| service.is_gone_exception());
    status_gone || code_gone
}

fn failure(record: &EventRecord) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = record.change.sequence_number.clone();
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample stream batch is a real shape and yields `message.received` to its recipient.
    #[test]
    fn the_sample_message_is_pushed_to_its_recipient() {
        let sample = include_str!("../../../events/realtime/message-sent.json");
        let batch: StreamEvent = serde_json::from_str(sample).unwrap();
        let now = OffsetDateTime::now_utc();
        let delivery = delivery_for(&batch.records[0], now)
            .unwrap()
            .expect("a message is pushed");
        let recipient = delivery
            .to
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>();
        assert_eq!(recipient, ["9b2e7d14-3c6a-4f0e-8b5d-1a7c2e9f4d32"]);
        assert_eq!(delivery.push.push_type, "message.received");
        assert_eq!(
            delivery.push.id,
            "message:0193a0d2-1a00-7b3c-9d4e-5f6071829304"
        );
        assert_eq!(
            delivery.push.data["conversation_id"],
            "0193a0d1-7e00-7a2b-8c3d-4e5f60718293"
        );
    }
}

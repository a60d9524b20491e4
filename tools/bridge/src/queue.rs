//! Queue -> `notifier`: received SQS messages as the Lambda SQS event, and the pump that
//! deletes only the messages the function acknowledged.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::{Value, json};

use crate::invoke::{failed_items, invoke};

/// A batch of received SQS messages as the event Lambda hands to a queue-triggered function.
pub fn sqs_event(messages: &[Message], queue_arn: &str, region: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let attributes: BTreeMap<String, String> = message
                .attributes()
                .map(|attributes| {
                    attributes
                        .iter()
                        .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let message_attributes: BTreeMap<String, Value> = message
                .message_attributes()
                .map(|attributes| {
                    attributes
                        .iter()
                        .map(|(name, value)| {
                            (
                                name.clone(),
                                json!({
                                    "stringValue": value.string_value(),
                                    "stringListValues": [],
                                    "binaryListValues": [],
                                    "dataType": value.data_type(),
                                }),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": message.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Queue -> `notifier`, deleting only acknowledged messages.
pub struct QueuePump {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub queue_arn: String,
    pub region: String,
    pub function: String,
}

impl QueuePump {
    pub async fn new(
        sqs: aws_sdk_sqs::Client,
        queue_url: String,
        region: String,
        function: String,
    ) -> anyhow::Result<Self> {
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .context("reading queue ARN")?
            .attributes
            .and_then(|attributes| {
                attributes
                    .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .context("queue without ARN")?;
        Ok(Self {
            sqs,
            queue_url,
            queue_arn,
            region,
            function,
        })
    }

    /// One long poll (up to `wait_secs`) and, if messages came, one invocation. Returns how many
    /// messages were acknowledged and deleted.
    pub async fn pump(
        &self,
        http: &reqwest::Client,
        invoke_url: &str,
        wait_secs: i32,
    ) -> anyhow::Result<usize> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_secs)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .context("ReceiveMessage")?;
        let messages = received.messages();
        if messages.is_empty() {
            return Ok(0);
        }
        let event = sqs_event(messages, &self.queue_arn, &self.region);
        let failed = match invoke(http, invoke_url, &self.function, &event).await {
            Ok(response) => failed_items(&response),
            Err(error) => {
                // The whole batch failed: leave every message to come back.
                eprintln!("bridge: {error:#}");
                return Ok(0);
            }
        };
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, message)| {
                !failed
                    .iter()
                    .any(|id| Some(id.as_str()) == message.message_id())
            })
            .filter_map(|(index, message)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(message.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect();
        let acknowledged = entries.len();
        if !entries.is_empty() {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .context("DeleteMessageBatch")?;
        }
        Ok(acknowledged)
    }
}

impl QueuePump {
    /// Pumps until the process ends; each round long-polls for a second, so it never spins.
    pub async fn run(self, http: reqwest::Client, invoke_url: String) {
        loop {
            match self.pump(&http, &invoke_url, 1).await {
                Ok(0) => {}
                Ok(count) => eprintln!("bridge: {} took {count} message(s)", self.function),
                Err(error) => {
                    eprintln!("bridge: queue: {error:#}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

//! Stream -> `dispatcher`: stream records as the Lambda DynamoDB event, and the pump that
//! delivers them with Lambda's retry-from-the-first-failure semantics.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::invoke::{failed_items, invoke};
use crate::stream_reader::StreamReader;

/// DynamoDB's stream attribute value as the JSON Lambda delivers (`{"S": "x"}`, `{"N": "1"}`...).
pub fn attribute_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(text) => json!({ "S": text }),
        AttributeValue::N(number) => json!({ "N": number }),
        AttributeValue::B(blob) => json!({ "B": STANDARD.encode(blob.as_ref()) }),
        AttributeValue::Ss(list) => json!({ "SS": list }),
        AttributeValue::Ns(list) => json!({ "NS": list }),
        AttributeValue::Bs(list) => {
            json!({ "BS": list.iter().map(|blob| STANDARD.encode(blob.as_ref())).collect::<Vec<_>>() })
        }
        AttributeValue::M(map) => json!({ "M": item_json(map) }),
        AttributeValue::L(list) => {
            json!({ "L": list.iter().map(attribute_json).collect::<Vec<_>>() })
        }
        AttributeValue::Null(is_null) => json!({ "NULL": is_null }),
        AttributeValue::Bool(flag) => json!({ "BOOL": flag }),
        _ => json!({ "NULL": true }),
    }
}

fn item_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), attribute_json(value)))
            .collect(),
    )
}

/// One stream record as a Lambda DynamoDB event record.
pub fn stream_record_json(record: &Record, stream_arn: &str, region: &str) -> Value {
    let mut change = serde_json::Map::new();
    if let Some(data) = record.dynamodb() {
        if let Some(at) = data.approximate_creation_date_time() {
            change.insert(
                "ApproximateCreationDateTime".into(),
                json!(at.secs() as f64),
            );
        }
        for (name, image) in [
            ("Keys", data.keys()),
            ("NewImage", data.new_image()),
            ("OldImage", data.old_image()),
        ] {
            if let Some(image) = image {
                change.insert(name.into(), item_json(image));
            }
        }
        change.insert("SequenceNumber".into(), json!(data.sequence_number()));
        change.insert("SizeBytes".into(), json!(data.size_bytes().unwrap_or(0)));
        if let Some(view) = data.stream_view_type() {
            change.insert("StreamViewType".into(), json!(view.as_str()));
        }
    }
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|name| name.as_str()),
        "eventVersion": record.event_version().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region().unwrap_or(region),
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    })
}

/// A batch of stream records as the event Lambda hands to a stream-triggered function.
pub fn stream_event(records: &[Record], stream_arn: &str, region: &str) -> Value {
    json!({
        "Records": records
            .iter()
            .map(|record| stream_record_json(record, stream_arn, region))
            .collect::<Vec<_>>()
    })
}

/// Stream -> `dispatcher`, with Lambda's retry-from-the-first-failure semantics per shard.
pub struct StreamPump {
    pub reader: StreamReader,
    pub region: String,
    pub function: String,
    /// Records waiting per shard (new ones behind the ones to retry), at most 100 per invoke.
    pending: BTreeMap<String, Vec<Record>>,
}

impl StreamPump {
    pub fn new(reader: StreamReader, region: String, function: String) -> Self {
        Self {
            reader,
            region,
            function,
            pending: BTreeMap::new(),
        }
    }

    /// One round: read new records, invoke for each shard with pending records. Returns how
    /// many records were acknowledged.
    pub async fn pump(
        &mut self,
        http: &reqwest::Client,
        invoke_url: &str,
    ) -> anyhow::Result<usize> {
        for (shard, records) in self.reader.poll().await? {
            self.pending.entry(shard).or_default().extend(records);
        }
        let mut acknowledged = 0;
        for records in self.pending.values_mut() {
            if records.is_empty() {
                continue;
            }
            let batch: Vec<Record> = records.iter().take(100).cloned().collect();
            let event = stream_event(&batch, &self.reader.stream_arn, &self.region);
            let done = match invoke(http, invoke_url, &self.function, &event).await {
                Ok(response) => {
                    let failed = failed_items(&response);
                    // Lambda checkpoints before the first failed record and retries from it.
                    batch
                        .iter()
                        .position(|record| {
                            record
                                .dynamodb()
                                .and_then(|data| data.sequence_number())
                                .is_some_and(|seq| failed.iter().any(|f| f == seq))
                        })
                        .unwrap_or(batch.len())
                }
                Err(error) => {
                    eprintln!("bridge: {error:#}");
                    0
                }
            };
            records.drain(..done);
            acknowledged += done;
        }
        Ok(acknowledged)
    }
}

impl StreamPump {
    /// Pumps until the process ends, idling briefly while the stream is quiet.
    pub async fn run(mut self, http: reqwest::Client, invoke_url: String) {
        loop {
            match self.pump(&http, &invoke_url).await {
                Ok(0) => tokio::time::sleep(Duration::from_millis(250)).await,
                Ok(count) => eprintln!("bridge: {} took {count} stream record(s)", self.function),
                Err(error) => {
                    eprintln!("bridge: stream: {error:#}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

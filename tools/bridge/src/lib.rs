//! The local bridge: what AWS's event source mappings and EventBridge do for the deployed
//! functions, done against the local stack and `cargo lambda watch`.
//!
//! - [`StreamPump`]: reads DynamoDB Local's stream of the table (every shard, from the trim
//!   horizon), turns records into the Lambda DynamoDB event JSON and invokes `dispatcher`. Records
//!   the dispatcher reports in `batchItemFailures` are redelivered from the first failed one, as
//!   Lambda does for a stream with `ReportBatchItemFailures`.
//! - [`QueuePump`]: receives from the order-events queue (moto), turns messages into the Lambda
//!   SQS event JSON, invokes `notifier` and deletes only the messages it acknowledged; the others
//!   come back after the visibility timeout and land in the DLQ after maxReceiveCount.
//! - `scheduler` is invoked with an EventBridge "Scheduled Event" every `--schedule-every` seconds.
//!
//! Invocations go to watch's Lambda invoke endpoint:
//! `POST <invoke-url>/2015-03-31/functions/<name>/invocations`.
//!
//! The event conversions are public so tests can feed real stream records and real SQS messages
//! to the handlers in-process.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

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

/// The EventBridge "Scheduled Event" the scheduler gets from its rule.
pub fn scheduled_event(region: &str) -> Value {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    json!({
        "version": "0",
        "id": format!("local-{}", now.unix_timestamp()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "region": region,
        "resources": [format!("arn:aws:events:{region}:000000000000:rule/gigmarket-scheduler")],
        "detail": {}
    })
}

/// Invokes `function` through `cargo lambda watch` and returns its JSON result.
pub async fn invoke(
    http: &reqwest::Client,
    invoke_url: &str,
    function: &str,
    payload: &Value,
) -> anyhow::Result<Value> {
    let url = format!(
        "{}/2015-03-31/functions/{function}/invocations",
        invoke_url.trim_end_matches('/')
    );
    let response = http
        .post(&url)
        .json(payload)
        .send()
        .await
        .with_context(|| format!("invoking {function}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{function} answered {status}: {text}");
    }
    let result: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if result.get("errorType").is_some() || result.get("errorMessage").is_some() {
        bail!("{function} failed: {text}");
    }
    Ok(result)
}

/// The `itemIdentifier`s of a `batchItemFailures` response.
pub fn failed_items(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .map(|failures| {
            failures
                .iter()
                .filter_map(|failure| failure["itemIdentifier"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Where reading one shard stands.
#[derive(Debug, Default)]
struct ShardCursor {
    /// `None`: (re)acquire one before the next read.
    iterator: Option<String>,
    /// The last record read, to resume after it when an iterator has to be replaced.
    last_sequence: Option<String>,
    /// The shard was closed (rolled over) and fully read.
    closed: bool,
}

/// Reads every shard of a table's stream from the trim horizon, following shard rollover.
pub struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    pub stream_arn: String,
    shards: BTreeMap<String, ShardCursor>,
}

impl StreamReader {
    pub async fn for_table(
        dynamodb: &aws_sdk_dynamodb::Client,
        client: aws_sdk_dynamodbstreams::Client,
        table: &str,
    ) -> anyhow::Result<Self> {
        let description = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .with_context(|| format!("describing table {table}"))?;
        let stream_arn = description
            .table()
            .and_then(|table| table.latest_stream_arn())
            .context("the table has no stream")?
            .to_owned();
        Ok(Self {
            client,
            stream_arn,
            shards: BTreeMap::new(),
        })
    }

    async fn discover_shards(&mut self) -> anyhow::Result<()> {
        let mut start: Option<String> = None;
        loop {
            let output = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.clone())
                .send()
                .await
                .context("DescribeStream")?;
            let description = output
                .stream_description()
                .context("no stream description")?;
            for shard in description.shards() {
                if let Some(id) = shard.shard_id() {
                    self.shards.entry(id.to_owned()).or_default();
                }
            }
            start = description.last_evaluated_shard_id().map(str::to_owned);
            if start.is_none() {
                return Ok(());
            }
        }
    }

    /// A fresh iterator: right after the last record read, or from the trim horizon.
    async fn acquire_iterator(
        &self,
        shard: &str,
        cursor: &ShardCursor,
    ) -> anyhow::Result<Option<String>> {
        let request = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard);
        let request = match &cursor.last_sequence {
            Some(sequence) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        Ok(request
            .send()
            .await
            .context("GetShardIterator")?
            .shard_iterator)
    }

    /// New records since the last poll, per shard, in stream order.
    pub async fn poll(&mut self) -> anyhow::Result<Vec<(String, Vec<Record>)>> {
        use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
        self.discover_shards().await?;
        let mut batches = Vec::new();
        let shard_ids: Vec<String> = self.shards.keys().cloned().collect();
        for shard in shard_ids {
            if self.shards[&shard].closed {
                continue;
            }
            if self.shards[&shard].iterator.is_none() {
                let iterator = self.acquire_iterator(&shard, &self.shards[&shard]).await?;
                self.shards.get_mut(&shard).expect("known shard").iterator = iterator;
            }
            let cursor = self.shards.get_mut(&shard).expect("known shard");
            let Some(current) = cursor.iterator.clone() else {
                cursor.closed = true;
                continue;
            };
            let output = match self
                .client
                .get_records()
                .shard_iterator(current)
                .send()
                .await
            {
                Ok(output) => output,
                // DynamoDB Local answers a trim-horizon iterator taken on an empty shard with
                // TrimmedDataAccess; iterators also expire. Take a new one next round.
                Err(error)
                    if matches!(
                        error.as_service_error(),
                        Some(GetRecordsError::TrimmedDataAccessException(_))
                            | Some(GetRecordsError::ExpiredIteratorException(_))
                    ) =>
                {
                    cursor.iterator = None;
                    continue;
                }
                Err(error) => return Err(anyhow::Error::from(error).context("GetRecords")),
            };
            let records = output.records().to_vec();
            if let Some(last) = records
                .last()
                .and_then(|record| record.dynamodb())
                .and_then(|data| data.sequence_number())
            {
                cursor.last_sequence = Some(last.to_owned());
            }
            match output.next_shard_iterator() {
                Some(next) => cursor.iterator = Some(next.to_owned()),
                None => cursor.closed = true,
            }
            if !records.is_empty() {
                batches.push((shard, records));
            }
        }
        Ok(batches)
    }

    /// Everything currently in the stream (for tests: read after the writes under test).
    pub async fn read_all(&mut self) -> anyhow::Result<Vec<Record>> {
        let mut all = Vec::new();
        loop {
            let batches = self.poll().await?;
            if batches.is_empty() {
                return Ok(all);
            }
            all.extend(batches.into_iter().flat_map(|(_, records)| records));
        }
    }
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

/// An HTTP client for invoking functions through watch; the first invocation of a function may
/// wait for it to start.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .no_proxy()
        .build()
        .expect("reqwest client builds")
}

//! Reading DynamoDB Local's stream of the table: every shard, from the trim horizon, following
//! shard rollover and replacing iterators that expired or were refused.

use std::collections::BTreeMap;

use anyhow::Context;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};

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

//! `indexer`: the search index writer. Gig hints (`events::GigHint`, one per changed gig, queued
//! by the dispatcher from the table's stream) arrive from the search index queue; each batch is
//! one run of `gigmarket_search::writer::index_gigs`, which re-reads the gigs from the table and
//! publishes the next index version to the search index bucket. A scheduled event
//! (EventBridge) runs the full rebuild instead, which repairs any drift.
//!
//! Deployed with reserved concurrency 1: it is the only writer, so publications rarely meet a
//! superseded manifest (the writer reloads and applies its gigs again when one does). A batch
//! whose run fails reports all its hints in `batchItemFailures`, so SQS delivers them again, and
//! after the queue's maxReceiveCount they reach the DLQ (alarmed). A message that is no hint
//! fails alone.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use gigmarket_search::published::{Replica, ReplicaError};
use gigmarket_search::writer::{self, IndexRun};
use gigmarket_shared::emf;
use gigmarket_shared::events::GigHint;
use gigmarket_shared::search_index::SearchIndexBucket;
use gigmarket_shared::store::Store;
use gigmarket_shared::triggers;
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::Mutex;
use uuid::Uuid;

pub struct Indexer {
    store: Store,
    bucket: SearchIndexBucket,
    /// The writer's copy of the published index, kept between invocations.
    replica: Mutex<Replica>,
}

impl Indexer {
    pub fn new(store: Store, bucket: SearchIndexBucket, replica: Replica) -> Self {
        Self {
            store,
            bucket,
            replica: Mutex::new(replica),
        }
    }

    /// The invocation: a scheduled event runs the full rebuild (its summary is the answer); an
    /// SQS batch is indexed (the answer lists the messages to retry). Any other payload is
    /// refused as the invocation's error (`errorType` `WrongTrigger`) and changes nothing.
    pub async fn on_invocation(&self, payload: Value) -> Result<Value, Diagnostic> {
        if triggers::scheduled_event(&payload).is_ok() {
            let run = self
                .rebuild(OffsetDateTime::now_utc())
                .await
                .map_err(|error| Diagnostic {
                    error_type: "RebuildFailed".to_owned(),
                    error_message: error.to_string(),
                })?;
            tracing::info!(
                version = run.version,
                listed = run.listed,
                unlisted = run.unlisted,
                "search index rebuilt"
            );
            return Ok(summary(&run));
        }
        let batch = triggers::sqs_batch(payload)?;
        let response = self.handle(batch).await;
        serde_json::to_value(response).map_err(|error| Diagnostic {
            error_type: "Serialization".to_owned(),
            error_message: error.to_string(),
        })
    }

    /// Indexes the gigs one SQS batch hints at, in one run and one publication.
    pub async fn handle(&self, batch: SqsEvent) -> SqsBatchResponse {
        let mut failed: Vec<String> = Vec::new();
        let mut hinted: Vec<(String, Uuid, Option<i64>)> = Vec::new();
        for message in &batch.records {
            let id = message.message_id.clone().unwrap_or_default();
            let hint = message.body.as_deref().map(serde_json::from_str::<GigHint>);
            match hint {
                Some(Ok(hint)) => {
                    let sent_ms = message
                        .attributes
                        .get("SentTimestamp")
                        .and_then(|sent| sent.parse().ok());
                    hinted.push((id, hint.gig_id, sent_ms));
                }
                _ => {
                    tracing::error!(message_id = id, "a search index message that is no hint");
                    failed.push(id);
                }
            }
        }
        if !hinted.is_empty() {
            let gig_ids: Vec<Uuid> = hinted.iter().map(|(_, gig_id, _)| *gig_id).collect();
            let now = OffsetDateTime::now_utc();
            let mut replica = self.replica.lock().await;
            match writer::index_gigs(&mut replica, &self.store, &self.bucket, &gig_ids, now).await {
                Ok(run) => {
                    tracing::info!(
                        hints = hinted.len(),
                        version = run.version,
                        listed = run.listed,
                        unlisted = run.unlisted,
                        "search index updated"
                    );
                    let published_ms =
                        (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
                    if let Some(oldest) = hinted.iter().filter_map(|(_, _, sent)| *sent).min() {
                        emf::milliseconds(
                            emf::SEARCH_INDEX_LAG,
                            published_ms.saturating_sub(oldest).max(0) as u64,
                        );
                    }
                }
                Err(error) => {
                    tracing::error!(
                        error = %error,
                        hints = hinted.len(),
                        "search index run failed; the hints will be retried"
                    );
                    failed.extend(hinted.into_iter().map(|(id, _, _)| id));
                }
            }
        }
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failed
            .into_iter()
            .map(|id| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            })
            .collect();
        response
    }

    /// The full rebuild (`writer::rebuild`) on the writer's copy.
    pub async fn rebuild(&self, now: OffsetDateTime) -> Result<IndexRun, ReplicaError> {
        let mut replica = self.replica.lock().await;
        writer::rebuild(&mut replica, &self.store, &self.bucket, now).await
    }
}

/// A run as the rebuild's invocation answers it.
pub fn summary(run: &IndexRun) -> Value {
    json!({ "version": run.version, "listed": run.listed, "unlisted": run.unlisted })
}

//! Transactions whose items have names. Each write names its items with an enum of its own
//! (`Placement::GigCounters`), and a cancelled transaction answers "did the gig check fail?" by
//! name, so reordering or adding items can not silently change what a failure means.
//!
//! ```ignore
//! #[derive(Debug, Clone, Copy, PartialEq, Eq)]
//! enum Signup { Profile, Email }
//! let mut transaction = self.transaction();
//! transaction.put_new(Signup::Profile, profile)?;
//! transaction.put_new(Signup::Email, credentials)?;
//! match self.transact(transaction).await? {
//!     TransactOutcome::Committed => Ok(()),
//!     TransactOutcome::ConditionFailed(failed) if failed.includes(Signup::Email) => /* 409 */,
//!     TransactOutcome::ConditionFailed(failed) => /* internal: {failed:?} */,
//! }
//! ```

use std::fmt::Debug;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::{
    ConditionCheckBuilder, DeleteBuilder, PutBuilder, UpdateBuilder,
};
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};

use super::keys::{Key, attr};
use super::{Item, Store, key_attributes, sdk_error};
use crate::error::{ApiError, is_contention_cancellation};

/// The items of one `TransactWriteItems`, each with its name. Names need not be unique (all
/// listing entries of a gig can share one).
#[derive(Debug, Clone)]
pub(crate) struct Transaction<N> {
    table: String,
    items: Vec<(N, TransactWriteItem)>,
}

/// How a transaction ended when DynamoDB judged its conditions.
#[derive(Debug)]
pub(crate) enum TransactOutcome<N> {
    Committed,
    /// Cancelled because these items' conditions failed.
    ConditionFailed(Failed<N>),
}

/// The names of the items whose condition failed.
#[derive(Debug)]
pub(crate) struct Failed<N>(Vec<N>);

impl<N: PartialEq> Failed<N> {
    pub fn includes(&self, name: N) -> bool {
        self.0.contains(&name)
    }
}

impl<N: Copy + Debug> Transaction<N> {
    /// A put that creates `item` only if no item has its key yet.
    pub fn put_new(&mut self, name: N, item: Item) -> Result<&mut Self, ApiError> {
        self.put(name, item, |put| {
            put.condition_expression(format!("attribute_not_exists({})", attr::PK))
        })
    }

    /// A put of `item`; `condition` adds a condition expression (or returns the put as it is).
    pub fn put(
        &mut self,
        name: N,
        item: Item,
        condition: impl FnOnce(PutBuilder) -> PutBuilder,
    ) -> Result<&mut Self, ApiError> {
        let put = condition(Put::builder().table_name(&self.table).set_item(Some(item)))
            .build()
            .map_err(ApiError::internal)?;
        Ok(self.push(name, TransactWriteItem::builder().put(put).build()))
    }

    /// An update of the item at `key`: `update` sets its expressions.
    pub fn update(
        &mut self,
        name: N,
        key: &Key,
        update: impl FnOnce(UpdateBuilder) -> UpdateBuilder,
    ) -> Result<&mut Self, ApiError> {
        let update = update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key_attributes(key))),
        )
        .build()
        .map_err(ApiError::internal)?;
        Ok(self.push(name, TransactWriteItem::builder().update(update).build()))
    }

    /// A condition on the item at `key` that writes nothing.
    pub fn check(
        &mut self,
        name: N,
        key: &Key,
        check: impl FnOnce(ConditionCheckBuilder) -> ConditionCheckBuilder,
    ) -> Result<&mut Self, ApiError> {
        let check = check(
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key_attributes(key))),
        )
        .build()
        .map_err(ApiError::internal)?;
        Ok(self.push(
            name,
            TransactWriteItem::builder().condition_check(check).build(),
        ))
    }

    pub fn delete(&mut self, name: N, key: &Key) -> Result<&mut Self, ApiError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .build()
            .map_err(ApiError::internal)?;
        Ok(self.push(name, TransactWriteItem::builder().delete(delete).build()))
    }

    /// A delete of the item at `key` under the condition `condition` sets (a single-use token:
    /// only the transaction that finds it as expected consumes it).
    pub fn delete_if(
        &mut self,
        name: N,
        key: &Key,
        condition: impl FnOnce(DeleteBuilder) -> DeleteBuilder,
    ) -> Result<&mut Self, ApiError> {
        let delete = condition(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key_attributes(key))),
        )
        .build()
        .map_err(ApiError::internal)?;
        Ok(self.push(name, TransactWriteItem::builder().delete(delete).build()))
    }

    /// A request's Idempotency-Key record, unless a live one holds the key. A record past its
    /// expiry is replaced in this same write: TTL deletion is lazy (up to days), and reads
    /// already ignore expired records, so a key reused after its expiry is a new request,
    /// never a failed insert with nothing to replay.
    pub fn put_request(
        &mut self,
        name: N,
        item: Item,
        now_unix: i64,
    ) -> Result<&mut Self, ApiError> {
        self.put(name, item, |put| {
            put.condition_expression(format!(
                "attribute_not_exists({}) OR #expires_at <= :now",
                attr::PK
            ))
            .expression_attribute_names("#expires_at", attr::EXPIRES_AT)
            .expression_attribute_values(":now", super::n(now_unix))
        })
    }

    fn push(&mut self, name: N, item: TransactWriteItem) -> &mut Self {
        self.items.push((name, item));
        self
    }
}

/// Jitter for retries: a few random bits from the crypto library the store already links.
fn jitter_millis() -> u64 {
    let mut byte = [0u8; 1];
    // A failed fill leaves zero jitter, which only makes the backoff less spread.
    let _ = aws_lc_rs::rand::fill(&mut byte);
    u64::from(byte[0]) % 20
}

impl Store {
    /// An empty transaction on this store's table.
    pub(crate) fn transaction<N>(&self) -> Transaction<N> {
        Transaction {
            table: self.table.clone(),
            items: Vec::new(),
        }
    }

    /// Runs a transaction. Contention (another in-flight transaction on the same items, or
    /// throttling) is retried with jittered backoff, because it says nothing about our conditions,
    /// and is a 503 with `Retry-After` when it outlasts the attempts; failed conditions come back,
    /// by item name, for the caller to judge.
    pub(crate) async fn transact<N: Copy>(
        &self,
        transaction: Transaction<N>,
    ) -> Result<TransactOutcome<N>, ApiError> {
        const ATTEMPTS: u32 = 8;
        let (names, mut items): (Vec<N>, Vec<TransactWriteItem>) =
            transaction.items.into_iter().unzip();
        // A write for a signed-in user refuses a blocked one (`store::acting`).
        let acting = self
            .acting
            .map(|acting| super::acting::add_acting_check(&mut items, &self.table, acting))
            .transpose()?;
        for attempt in 1..=ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .set_return_consumed_capacity(self.return_capacity())
                .send()
                .await;
            let error = match result {
                Ok(output) => {
                    self.record_capacity(output.consumed_capacity());
                    return Ok(TransactOutcome::Committed);
                }
                Err(error) => {
                    self.record_capacity(None);
                    error
                }
            };
            let retryable = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    // Reasons come one per item, in request order.
                    let codes: Vec<&str> = cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|reason| reason.code().unwrap_or("None"))
                        .collect();
                    if let Some(check) = acting
                        && codes.get(check.index) == Some(&"ConditionalCheckFailed")
                        && let Some(refusal) = self.acting_refusal(check).await?
                    {
                        return Err(refusal);
                    }
                    let failed: Vec<N> = codes
                        .iter()
                        .zip(&names)
                        .filter(|(code, _)| **code == "ConditionalCheckFailed")
                        .map(|(_, name)| *name)
                        .collect();
                    if !failed.is_empty() {
                        return Ok(TransactOutcome::ConditionFailed(Failed(failed)));
                    }
                    is_contention_cancellation(&codes)
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
                _ => false,
            };
            if !retryable {
                return Err(sdk_error("TransactWriteItems")(error));
            }
            // Contention that outlasts the attempts is the service being busy, not a bad request.
            if attempt == ATTEMPTS {
                return Err(ApiError::service_unavailable(
                    anyhow::Error::new(error).context(
                        "TransactWriteItems stayed cancelled by contention through every attempt",
                    ),
                ));
            }
            let backoff = 10 * u64::from(attempt) + jitter_millis();
            tokio::time::sleep(Duration::from_millis(backoff)).await;
        }
        unreachable!("loop returns on the last attempt")
    }
}

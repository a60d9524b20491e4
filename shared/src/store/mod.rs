//! The single-table store. The only module that knows the table's key layouts (see `keys`), index
//! names and DynamoDB expressions; everything above it works with domain types.

pub mod gigs;
pub mod keys;
pub mod orders;
pub mod sessions;
pub mod stream;
pub mod table;
pub mod users;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Put, ReturnConsumedCapacity, TransactWriteItem,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use keys::Key;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
    /// Off (None) in the functions; the bench turns it on to count requests and capacity.
    meter: Option<Arc<CapacityMeter>>,
}

/// Counts DynamoDB requests and the capacity they consumed (`ReturnConsumedCapacity=TOTAL`),
/// for benchmarks. Counted: every read and write of `Store::get`, `Store::transact` and the gig
/// store; the older user/session calls are not instrumented.
#[derive(Debug, Default)]
pub struct CapacityMeter {
    requests: AtomicU64,
    /// Capacity units x 1000, so fractional read units add up exactly enough.
    milli_units: AtomicU64,
}

impl CapacityMeter {
    /// (requests, capacity units) since the start or the last `take`, and resets both.
    pub fn take(&self) -> (u64, f64) {
        let requests = self.requests.swap(0, Ordering::Relaxed);
        let milli = self.milli_units.swap(0, Ordering::Relaxed);
        (requests, milli as f64 / 1000.0)
    }

    fn record<'a>(&self, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let units: f64 = consumed
            .into_iter()
            .filter_map(|capacity| capacity.capacity_units)
            .sum();
        self.milli_units
            .fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }
}

/// Turns any SDK failure into an internal error that keeps the service's own explanation.
pub(crate) fn sdk_error<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> ApiError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |error| {
        ApiError::Internal(anyhow::anyhow!(
            "{operation}: {}",
            DisplayErrorContext(error)
        ))
    }
}

/// The errors of the single-item writes that take a condition.
pub(crate) trait ConditionalWriteError: std::error::Error + Send + Sync + 'static {
    fn is_condition_failed(&self) -> bool;
}

impl ConditionalWriteError for UpdateItemError {
    fn is_condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionalWriteError for DeleteItemError {
    fn is_condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

pub(crate) fn condition_failed<E: ConditionalWriteError, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .is_some_and(ConditionalWriteError::is_condition_failed)
}

/// For an UpdateItem conditioned on the item existing: a failed condition means `what` is gone.
pub(crate) fn missing_if_condition_failed<R>(
    what: &'static str,
) -> impl FnOnce(SdkError<UpdateItemError, R>) -> ApiError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |error| {
        if condition_failed(&error) {
            ApiError::NotFound(what)
        } else {
            sdk_error("UpdateItem")(error)
        }
    }
}

/// For an idempotent write whose condition only says whether there is anything to do: a failed
/// condition is success (use with `.map(|_| ()).or_else(..)`).
pub(crate) fn done_if_condition_failed<E, R>(
    operation: &'static str,
) -> impl FnOnce(SdkError<E, R>) -> Result<(), ApiError>
where
    E: ConditionalWriteError,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |error| {
        if condition_failed(&error) {
            Ok(())
        } else {
            Err(sdk_error(operation)(error))
        }
    }
}

/// Builds a stored item: the domain value's attributes plus its key and entity tag.
pub(crate) fn to_item<T: Serialize>(key: &Key, entity: &str, value: &T) -> Result<Item, ApiError> {
    let mut item: Item =
        serde_dynamo::to_item(value).map_err(|error| ApiError::internal(anyhow::anyhow!(error)))?;
    item.insert("pk".to_owned(), AttributeValue::S(key.pk.clone()));
    item.insert("sk".to_owned(), AttributeValue::S(key.sk.clone()));
    item.insert("entity".to_owned(), AttributeValue::S(entity.to_owned()));
    Ok(item)
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, ApiError> {
    serde_dynamo::from_item(item)
        .map_err(|error| ApiError::internal(anyhow::anyhow!("decoding item: {error}")))
}

pub(crate) fn key_attributes(key: &Key) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(key.pk.clone())),
        ("sk".to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Why a transaction was cancelled, per item in request order (`None` = that item was fine).
#[derive(Debug)]
pub(crate) enum TransactOutcome {
    Committed,
    /// Indices of the items whose condition failed.
    ConditionFailed(Vec<usize>),
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            meter: None,
        }
    }

    /// This store, counting requests and consumed capacity into `meter`.
    pub fn with_capacity_meter(mut self, meter: Arc<CapacityMeter>) -> Self {
        self.meter = Some(meter);
        self
    }

    /// What to ask DynamoDB for: capacity only when someone is counting it.
    pub(crate) fn return_capacity(&self) -> Option<ReturnConsumedCapacity> {
        self.meter.as_ref().map(|_| ReturnConsumedCapacity::Total)
    }

    pub(crate) fn record_capacity<'a>(
        &self,
        consumed: impl IntoIterator<Item = &'a ConsumedCapacity>,
    ) {
        if let Some(meter) = &self.meter {
            meter.record(consumed);
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// A transaction item that creates `item` only if no item has its key yet.
    pub(crate) fn put_new(&self, item: Item) -> Result<TransactWriteItem, ApiError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// [`Store::get`], decoded into the domain type stored there.
    pub(crate) async fn get_as<T: DeserializeOwned>(
        &self,
        key: &Key,
    ) -> Result<Option<T>, ApiError> {
        self.get(key).await?.map(from_item).transpose()
    }

    pub(crate) async fn get(&self, key: &Key) -> Result<Option<Item>, ApiError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .set_return_consumed_capacity(self.return_capacity())
            .send()
            .await
            .map_err(sdk_error("GetItem"))?;
        self.record_capacity(output.consumed_capacity());
        Ok(output.item)
    }

    /// Runs a transaction. Conflicts with another in-flight transaction on the same items
    /// (`TransactionConflict`) are retried with jittered backoff, because they say nothing about
    /// our conditions; failed conditions come back to the caller to decide what they mean.
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<TransactOutcome, ApiError> {
        const ATTEMPTS: u32 = 8;
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
                    let codes: Vec<&str> = cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|reason| reason.code().unwrap_or("None"))
                        .collect();
                    let failed: Vec<usize> = codes
                        .iter()
                        .enumerate()
                        .filter(|(_, code)| **code == "ConditionalCheckFailed")
                        .map(|(index, _)| index)
                        .collect();
                    if !failed.is_empty() {
                        return Ok(TransactOutcome::ConditionFailed(failed));
                    }
                    codes.contains(&"TransactionConflict")
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
                _ => false,
            };
            if !retryable || attempt == ATTEMPTS {
                return Err(sdk_error("TransactWriteItems")(error));
            }
            let jitter = u64::from(crate::auth::refresh::random_bytes::<1>()[0]) % 20;
            tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt) + jitter)).await;
        }
        unreachable!("loop returns on the last attempt")
    }
}

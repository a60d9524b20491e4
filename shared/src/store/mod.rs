//! The single-table store. The only module that knows the table's key layouts (see `keys`), index
//! names and DynamoDB expressions; everything above it works with domain types.
//!
//! - `keys`: every key prefix, index and attribute name (crate-private).
//! - `paged`: the one paged-query reader every listing goes through (cursors bound to it).
//! - `transaction`: transactions whose items have names.
//! - `users`, `sessions`, `gigs`, `orders`: the entities' reads and writes.
//! - `admin`: the admin area's lists and its writes on users and reviews.
//! - `table`: the table definition (`infra/table.json`) and its creation.
//! - `throttle`: attempt counters reserved before the work they guard (login, registration).
//! - `testing` (feature `test-support`): what tests need beyond the public API.

pub mod account_tokens;
pub mod acting;
pub mod admin;
pub mod audit;
pub mod disputes;
pub mod files;
pub mod gigs;
pub(crate) mod keys;
pub mod ledger;
pub mod messages;
pub mod metrics;
pub mod orders;
pub(crate) mod paged;
pub mod passwords;
pub mod payouts;
pub mod quotas;
pub mod realtime;
pub mod reconciliation;
pub mod refunds;
pub mod reviews;
pub mod sessions;
pub mod stream;
pub mod table;
#[cfg(feature = "test-support")]
pub mod testing;
#[cfg(feature = "test-support")]
pub mod testing_accounts;
#[cfg(feature = "test-support")]
pub mod testing_scan;
pub mod throttle;
pub(crate) mod transaction;
pub mod users;

pub use keys::entity;
pub use orders::DueList;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::error::ApiError;
use keys::{Key, attr};

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
    /// Off (None) in the functions; the bench turns it on to count requests and capacity.
    meter: Option<Arc<CapacityMeter>>,
    // The signed-in user this store writes for (`acting::Store::acting_as`).
    acting: Option<acting::Acting>,
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

/// Turns any SDK failure into an error: 503 when transient (throttling, timeouts), else an
/// internal error that keeps the service's own explanation (`ApiError::from_sdk`).
pub(crate) fn sdk_error<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> ApiError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |error| ApiError::from_sdk(operation, error)
}

/// The errors of the single-item writes that take a condition.
pub(crate) trait ConditionalWriteError:
    aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static
{
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
    item.extend(key_attributes(key));
    item.insert(attr::ENTITY.to_owned(), s(entity));
    Ok(item)
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, ApiError> {
    serde_dynamo::from_item(item)
        .map_err(|error| ApiError::internal(anyhow::anyhow!("decoding item: {error}")))
}

/// Puts `item` on a sparse list of a secondary index: `partition` of `index`, at `sort` (a
/// deadline list's `keys::deadline_sort`, say). An item written without them is off the list.
pub(crate) fn put_on_list(item: &mut Item, index: keys::Index, partition: String, sort: String) {
    item.insert(index.pk().to_owned(), s(partition));
    item.insert(index.sk().to_owned(), s(sort));
}

pub(crate) fn key_attributes(key: &Key) -> Item {
    HashMap::from([
        (attr::PK.to_owned(), s(&key.pk)),
        (attr::SK.to_owned(), s(&key.sk)),
    ])
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A value serialised the way the domain types store it (serde), for expressions.
pub(crate) fn attribute<T: Serialize>(value: &T) -> Result<AttributeValue, ApiError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|error| ApiError::internal(anyhow::anyhow!(error)))
}

/// A timestamp as every item stores it (RFC 3339, the domain types' `time::serde::rfc3339`).
pub(crate) fn rfc3339(at: OffsetDateTime) -> AttributeValue {
    s(at.format(&time::format_description::well_known::Rfc3339)
        .expect("UTC timestamps format"))
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            meter: None,
            acting: None,
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

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn table(&self) -> &str {
        &self.table
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
}

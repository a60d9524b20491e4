//! What each DynamoDB call costs: requests and the read and write capacity they consumed, for the
//! cost-per-route bench (`tools/bench/src/bin/cost.rs`, run by `make bench`).
//!
//! Attached to every DynamoDB client (see `aws.rs`) as an interceptor, and inert unless
//! `GIGMARKET_DYNAMODB_CAPACITY` is set (to anything but empty) when the client is built: then
//! it asks DynamoDB for `ReturnConsumedCapacity=TOTAL` on every request that takes it and adds
//! each answer's consumed capacity to this process's counters ([`take`]). Deployed functions never
//! set it, so they neither ask for nor parse capacity.
//!
//! Read operations (GetItem, Query, Scan, BatchGetItem, TransactGetItems) count as read units,
//! every other operation as write units (a transaction's ConditionCheck costs write units too).
//! A request DynamoDB refused (a failed condition, a cancelled transaction) counts as a request
//! with no units: its error carries no consumed capacity.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation as ddb;
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};

/// The environment variable that turns counting on.
pub const ENV: &str = "GIGMARKET_DYNAMODB_CAPACITY";

static READ_REQUESTS: AtomicU64 = AtomicU64::new(0);
static WRITE_REQUESTS: AtomicU64 = AtomicU64::new(0);
/// Units x 1000, so half read units add up exactly.
static MILLI_READ_UNITS: AtomicU64 = AtomicU64::new(0);
static MILLI_WRITE_UNITS: AtomicU64 = AtomicU64::new(0);

/// DynamoDB requests and capacity since the start or the last `take`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Consumed {
    /// GetItem, Query, Scan, BatchGetItem, TransactGetItems calls.
    pub read_requests: u64,
    /// Every other DynamoDB call.
    pub write_requests: u64,
    pub read_units: f64,
    pub write_units: f64,
}

/// What this process's DynamoDB clients consumed since the last call, and resets the counters.
pub fn take() -> Consumed {
    Consumed {
        read_requests: READ_REQUESTS.swap(0, Ordering::SeqCst),
        write_requests: WRITE_REQUESTS.swap(0, Ordering::SeqCst),
        read_units: MILLI_READ_UNITS.swap(0, Ordering::SeqCst) as f64 / 1000.0,
        write_units: MILLI_WRITE_UNITS.swap(0, Ordering::SeqCst) as f64 / 1000.0,
    }
}

static S3_REQUESTS: AtomicU64 = AtomicU64::new(0);

/// The S3 requests this process's files client sent since the last call (HeadObject,
/// DeleteObject: each attempt S3 bills), and resets the count. A presigned URL is signed, never
/// sent, so it counts nothing here; the browser's upload and download are the bench's to count.
pub fn take_s3_requests() -> u64 {
    S3_REQUESTS.swap(0, Ordering::SeqCst)
}

/// Counts the files client's S3 requests for the cost bench, inert unless counting is on (the
/// same `GIGMARKET_DYNAMODB_CAPACITY`).
#[derive(Debug, Clone, Copy)]
pub struct S3Requests {
    on: bool,
}

impl S3Requests {
    pub fn from_env() -> Self {
        Self {
            on: CapacityLog::from_env().on,
        }
    }
}

impl Intercept for S3Requests {
    fn name(&self) -> &'static str {
        "GigmarketS3Requests"
    }

    // Per attempt S3 answered: what S3 bills. A presigned request stops before it is sent, so
    // it never gets here.
    fn read_after_transmit(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.on {
            S3_REQUESTS.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// The interceptor; `CapacityLog::from_env()` is inert unless counting is on.
#[derive(Debug, Clone, Copy)]
pub struct CapacityLog {
    on: bool,
}

impl CapacityLog {
    pub fn from_env() -> Self {
        Self {
            on: std::env::var_os(ENV).is_some_and(|value| !value.is_empty()),
        }
    }
}

impl Intercept for CapacityLog {
    fn name(&self) -> &'static str {
        "GigmarketCapacityLog"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.on {
            let read = ask_for_capacity(context.input_mut());
            let requests = if read {
                &READ_REQUESTS
            } else {
                &WRITE_REQUESTS
            };
            requests.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    // Once per operation, after its last attempt.
    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !self.on {
            return Ok(());
        }
        let Some(Ok(output)) = context.output_or_error() else {
            return Ok(());
        };
        let (units, read) = consumed(output);
        let counter = if read {
            &MILLI_READ_UNITS
        } else {
            &MILLI_WRITE_UNITS
        };
        counter.fetch_add((units * 1000.0).round() as u64, Ordering::SeqCst);
        Ok(())
    }
}

/// Asks for the operation's consumed capacity; returns whether it is a read.
fn ask_for_capacity(input: &mut Input) -> bool {
    let total = Some(ReturnConsumedCapacity::Total);
    macro_rules! ask {
        ($read:expr, $($input:ty),*) => {
            $(if let Some(input) = input.downcast_mut::<$input>() {
                input.return_consumed_capacity = total;
                return $read;
            })*
        };
    }
    ask!(
        true,
        ddb::get_item::GetItemInput,
        ddb::query::QueryInput,
        ddb::scan::ScanInput,
        ddb::batch_get_item::BatchGetItemInput,
        ddb::transact_get_items::TransactGetItemsInput
    );
    ask!(
        false,
        ddb::put_item::PutItemInput,
        ddb::update_item::UpdateItemInput,
        ddb::delete_item::DeleteItemInput,
        ddb::batch_write_item::BatchWriteItemInput,
        ddb::transact_write_items::TransactWriteItemsInput
    );
    // Describing the table and the like: neither, counted with the writes.
    false
}

/// (capacity units, whether they are read units) of an operation's output.
fn consumed(output: &Output) -> (f64, bool) {
    fn units<'a>(capacity: impl IntoIterator<Item = &'a ConsumedCapacity>) -> f64 {
        capacity
            .into_iter()
            .filter_map(|capacity| capacity.capacity_units)
            .sum()
    }
    macro_rules! one {
        ($read:expr, $($output:ty),*) => {
            $(if let Some(output) = output.downcast_ref::<$output>() {
                return (units(output.consumed_capacity.as_ref()), $read);
            })*
        };
    }
    macro_rules! many {
        ($read:expr, $($output:ty),*) => {
            $(if let Some(output) = output.downcast_ref::<$output>() {
                return (units(output.consumed_capacity.iter().flatten()), $read);
            })*
        };
    }
    one!(
        true,
        ddb::get_item::GetItemOutput,
        ddb::query::QueryOutput,
        ddb::scan::ScanOutput
    );
    one!(
        false,
        ddb::put_item::PutItemOutput,
        ddb::update_item::UpdateItemOutput,
        ddb::delete_item::DeleteItemOutput
    );
    many!(
        true,
        ddb::batch_get_item::BatchGetItemOutput,
        ddb::transact_get_items::TransactGetItemsOutput
    );
    many!(
        false,
        ddb::batch_write_item::BatchWriteItemOutput,
        ddb::transact_write_items::TransactWriteItemsOutput
    );
    (0.0, false)
}

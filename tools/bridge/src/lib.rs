//! The local bridge: what AWS's event source mappings and EventBridge do for the deployed
//! functions, done against the local stack and `cargo lambda watch`.
//!
//! - [`stream`]: [`StreamPump`] reads DynamoDB Local's stream of the table ([`StreamReader`]),
//!   turns records into the Lambda DynamoDB event JSON and invokes `dispatcher`; a second
//!   pump on its own reader invokes `realtime` (the stream's two readers, as deployed). Records the
//!   dispatcher reports in `batchItemFailures` are redelivered from the first failed one, as
//!   Lambda does for a stream with `ReportBatchItemFailures`.
//! - [`queue`]: [`QueuePump`] receives from a queue (moto), turns messages into the Lambda SQS
//!   event JSON, invokes its function and deletes only the messages it acknowledged; the others
//!   come back after the visibility timeout and land in the DLQ after maxReceiveCount. One pump
//!   serves the events queue (`notifier`), one the search index queue (`indexer`).
//! - [`schedule`]: `scheduler` is invoked with an EventBridge "Scheduled Event" every
//!   `--schedule-every` seconds, `indexer` (its full rebuild) at start and hourly.
//! - [`ses_faults`]: [`ses_faults::FaultProxy`], an SES in front of moto that fails the sends to
//!   chosen recipients (the `ses-faults` binary runs it on its own).
//! - [`invoke`]: every invocation goes to watch's Lambda invoke endpoint:
//!   `POST <invoke-url>/2015-03-31/functions/<name>/invocations`.
//!
//! The event conversions are public so tests can feed real stream records and real SQS messages
//! to the handlers in-process.

pub mod invoke;
pub mod queue;
pub mod schedule;
pub mod ses_faults;
pub mod stream;
pub mod stream_reader;

pub use invoke::{failed_items, http_client, invoke};
pub use queue::{QueuePump, sqs_event};
pub use schedule::{run_schedule, scheduled_event};
pub use stream::{StreamPump, attribute_json, stream_event, stream_record_json};
pub use stream_reader::StreamReader;

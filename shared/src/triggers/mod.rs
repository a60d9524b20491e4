//! The event functions' adapter, beside `web` (the API functions' one): what each event
//! function accepts as its invocation, the payload of its own trigger (a DynamoDB stream batch,
//! an SQS batch, a schedule's event) and nothing else.
//!
//! Lambda hands a function whatever JSON it was invoked with. The typed event structs are lenient
//! (every SQS message field is optional, a missing `Records` is not always an error), so an API
//! request, a DynamoDB stream batch sent to the notifier or `{}` would otherwise be read as an
//! empty or nonsensical batch: the notifier once answered a stream batch with
//! `batchItemFailures` whose `itemIdentifier`s were empty, which Lambda takes as the whole batch
//! failing. These checks refuse such a payload up front; the function returns the refusal as its
//! invocation error (a clean `errorType`/`errorMessage`, nothing processed).

use std::fmt;

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;

/// An invocation payload that is not the function's trigger's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongTrigger {
    /// The trigger the function is wired to, e.g. "an SQS batch".
    pub expected: &'static str,
    /// What is wrong with the payload.
    pub reason: String,
}

impl WrongTrigger {
    /// The invocation error's `errorType` the functions report it as.
    pub const ERROR_TYPE: &'static str = "WrongTrigger";
}

impl fmt::Display for WrongTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not {}: {}; nothing was processed",
            self.expected, self.reason
        )
    }
}

impl std::error::Error for WrongTrigger {}

/// The refusal as the invocation's error: `errorType` `WrongTrigger`, the reason as the message.
impl From<WrongTrigger> for lambda_runtime::Diagnostic {
    fn from(wrong: WrongTrigger) -> Self {
        Self {
            error_type: WrongTrigger::ERROR_TYPE.to_owned(),
            error_message: wrong.to_string(),
        }
    }
}

const SQS_BATCH: &str = "an SQS batch";
const STREAM_BATCH: &str = "a DynamoDB stream batch";
const SCHEDULED_EVENT: &str = "an EventBridge scheduled event";

/// The notifier's trigger: `{"Records": [...]}` where every record came from SQS
/// (`eventSource` `aws:sqs`) and has a non-empty `messageId`, the id a partial batch failure
/// must name.
pub fn sqs_batch(payload: Value) -> Result<SqsEvent, WrongTrigger> {
    let wrong = |reason: String| WrongTrigger {
        expected: SQS_BATCH,
        reason,
    };
    for (index, record) in records(&payload).map_err(wrong)?.iter().enumerate() {
        expect_source(record, "aws:sqs")
            .map_err(|reason| wrong(format!("record {index}: {reason}")))?;
        match record.get("messageId").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => {}
            _ => return Err(wrong(format!("record {index} has no messageId"))),
        }
    }
    serde_json::from_value(payload).map_err(|error| wrong(error.to_string()))
}

/// The dispatcher's trigger: `{"Records": [...]}` where every record came from a DynamoDB
/// stream (`eventSource` `aws:dynamodb`) and carries its change (`dynamodb`) with the
/// `SequenceNumber` a partial batch failure must name.
pub fn stream_batch(payload: Value) -> Result<StreamEvent, WrongTrigger> {
    let wrong = |reason: String| WrongTrigger {
        expected: STREAM_BATCH,
        reason,
    };
    for (index, record) in records(&payload).map_err(wrong)?.iter().enumerate() {
        expect_source(record, "aws:dynamodb")
            .map_err(|reason| wrong(format!("record {index}: {reason}")))?;
        let Some(change) = record.get("dynamodb").filter(|change| change.is_object()) else {
            return Err(wrong(format!("record {index} has no dynamodb change")));
        };
        match change.get("SequenceNumber").and_then(Value::as_str) {
            Some(sequence) if !sequence.is_empty() => {}
            _ => return Err(wrong(format!("record {index} has no SequenceNumber"))),
        }
    }
    serde_json::from_value(payload).map_err(|error| wrong(error.to_string()))
}

/// The scheduler's trigger, what its EventBridge rule (`Type: Schedule` in the SAM template)
/// sends: `"source": "aws.events"`, `"detail-type": "Scheduled Event"`.
pub fn scheduled_event(payload: &Value) -> Result<(), WrongTrigger> {
    let wrong = |reason: String| WrongTrigger {
        expected: SCHEDULED_EVENT,
        reason,
    };
    let field = |name: &str| payload.get(name).and_then(Value::as_str);
    if !payload.is_object() {
        return Err(wrong(format!("a JSON {}, not an object", kind_of(payload))));
    }
    if field("source") != Some("aws.events") {
        return Err(wrong(format!(
            "source is {}, not aws.events",
            shown(payload.get("source"))
        )));
    }
    if field("detail-type") != Some("Scheduled Event") {
        return Err(wrong(format!(
            "detail-type is {}, not Scheduled Event",
            shown(payload.get("detail-type"))
        )));
    }
    Ok(())
}

fn records(payload: &Value) -> Result<&Vec<Value>, String> {
    let Some(object) = payload.as_object() else {
        return Err(format!("a JSON {}, not an object", kind_of(payload)));
    };
    match object.get("Records") {
        Some(Value::Array(records)) => Ok(records),
        Some(other) => Err(format!("Records is a JSON {}", kind_of(other))),
        None => Err("no Records".to_owned()),
    }
}

fn expect_source(record: &Value, source: &str) -> Result<(), String> {
    if !record.is_object() {
        return Err(format!("a JSON {}, not an object", kind_of(record)));
    }
    match record.get("eventSource").and_then(Value::as_str) {
        Some(found) if found == source => Ok(()),
        _ => Err(format!(
            "eventSource is {}, not {source}",
            shown(record.get("eventSource"))
        )),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A field's value for an error message: short, and never a payload's content beyond 40 chars.
fn shown(value: Option<&Value>) -> String {
    match value {
        None => "missing".to_owned(),
        Some(Value::String(text)) => format!("{:?}", text.chars().take(40).collect::<String>()),
        Some(other) => format!("a JSON {}", kind_of(other)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sqs_record(id: &str) -> Value {
        json!({"messageId": id, "receiptHandle": "r", "body": "{}", "eventSource": "aws:sqs",
               "eventSourceARN": "arn:aws:sqs:us-east-1:1:q", "awsRegion": "us-east-1",
               "attributes": {}, "messageAttributes": {}})
    }

    fn stream_record() -> Value {
        json!({"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
               "awsRegion": "us-east-1", "eventVersion": "1.1",
               "dynamodb": {"Keys": {"pk": {"S": "A"}}, "SequenceNumber": "1",
                            "SizeBytes": 1, "StreamViewType": "NEW_AND_OLD_IMAGES"}})
    }

    fn api_request() -> Value {
        json!({"version": "2.0", "routeKey": "GET /gigs", "rawPath": "/gigs",
               "requestContext": {"http": {"method": "GET"}}})
    }

    #[test]
    fn an_sqs_batch_is_taken_and_nothing_else() {
        let batch = sqs_batch(json!({"Records": [sqs_record("m1"), sqs_record("m2")]})).unwrap();
        assert_eq!(batch.records.len(), 2);
        let stream = json!({"Records": [stream_record()]});
        for payload in [
            stream,
            api_request(),
            json!({}),
            json!([]),
            json!(null),
            json!({"Records": {}}),
            json!({"Records": [sqs_record("")]}),
            json!({"Records": [sqs_record("m1"), 3]}),
        ] {
            let refused = sqs_batch(payload.clone()).expect_err(&payload.to_string());
            assert_eq!(refused.expected, SQS_BATCH);
        }
        let mut no_id = sqs_record("m1");
        no_id.as_object_mut().unwrap().remove("messageId");
        assert!(sqs_batch(json!({"Records": [no_id]})).is_err());
    }

    #[test]
    fn a_stream_batch_is_taken_and_nothing_else() {
        let batch = stream_batch(json!({"Records": [stream_record()]})).unwrap();
        assert_eq!(batch.records.len(), 1);
        let mut no_change = stream_record();
        no_change.as_object_mut().unwrap().remove("dynamodb");
        let mut no_sequence = stream_record();
        no_sequence["dynamodb"]["SequenceNumber"] = json!("");
        for payload in [
            json!({"Records": [sqs_record("m1")]}),
            api_request(),
            json!({}),
            json!("Records"),
            json!({"Records": [no_change]}),
            json!({"Records": [no_sequence]}),
        ] {
            let refused = stream_batch(payload.clone()).expect_err(&payload.to_string());
            assert_eq!(refused.expected, STREAM_BATCH);
        }
    }

    #[test]
    fn a_scheduled_event_is_taken_and_nothing_else() {
        let scheduled = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event",
                               "source": "aws.events", "account": "1", "time": "t",
                               "region": "us-east-1", "resources": [], "detail": {}});
        assert_eq!(scheduled_event(&scheduled), Ok(()));
        let mut custom = scheduled.clone();
        custom["source"] = json!("my.app");
        for payload in [
            api_request(),
            json!({"Records": [sqs_record("m1")]}),
            json!({}),
            json!(42),
            custom,
        ] {
            let refused = scheduled_event(&payload).expect_err(&payload.to_string());
            assert_eq!(refused.expected, SCHEDULED_EVENT);
            assert!(refused.to_string().contains("nothing was processed"));
        }
    }
}

//! The evidence for IAM: every AWS operation a function calls, recorded as it is made.
//!
//! Attached to every SDK client (see `aws.rs`) as an interceptor. It records only when
//! `GIGMARKET_AWS_CALL_LOG` names a file AND the process is a Lambda function
//! (`AWS_LAMBDA_FUNCTION_NAME`, which Lambda and `cargo lambda watch` set); anywhere else (tests
//! that build their own clients, gigctl, the bridge) it does nothing. Each call appends one JSON
//! line per IAM authorisation it needs, so a `TransactWriteItems` of a Put, an Update and a
//! ConditionCheck is three lines (`dynamodb:PutItem`, `dynamodb:UpdateItem`,
//! `dynamodb:ConditionCheckItem`), exactly as DynamoDB authorises it:
//!
//! ```json
//! {"function":"orders","action":"dynamodb:ConditionCheckItem","resource":"table","leading_key":"USER#"}
//! ```
//!
//! `resource` is what IAM sees: `table` or `index` for DynamoDB (a Query with an `IndexName` is
//! authorised on `<table>/index/<name>`), `order-events-queue` (the queue in
//! `ORDER_EVENTS_QUEUE_URL`), `search-index-queue` (`SEARCH_INDEX_QUEUE_URL`) or `queue:<name>`, `jwt-keys-secret` (the secret in
//! `JWT_KEYS_SECRET_ID`), `jwt-signing-keys-secret` (`JWT_SIGNING_KEYS_SECRET_ID`), `stripe-secret-key-secret` (`STRIPE_SECRET_KEY_ID`),
//! `stripe-webhook-secrets-secret` (`STRIPE_WEBHOOK_SECRETS_ID`),
//! `stripe-connect-webhook-secrets-secret` (`STRIPE_CONNECT_WEBHOOK_SECRETS_ID`) or `secret:<id>`, `ses-identity`,
//! `files-bucket:<first key segment>/` for S3 objects (`files-bucket:orders/`; a presigned request
//! is recorded when it is signed: S3 authorises it as the signer's own call),
//! `search-index-bucket:search-index/` for the search index's (`SEARCH_INDEX_BUCKET`), and
//! `files-bucket` / `search-index-bucket` for the `s3:ListBucket` a HeadObject (and a GetObject
//! of the index) needs to be told 404 rather than 403. `leading_key` is the prefix (up to
//! and including the first `#`) of the item's partition key, what a `dynamodb:LeadingKeys`
//! condition is written against. Nothing else of the request (no payload) is written.
//!
//! `tests/permissions.rs` reads the file `make test` collected and checks the SAM template and
//! the CDK app against it. Lines are written with one `write` on a file opened with `O_APPEND`,
//! so concurrent functions never interleave.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use serde_json::json;

/// The environment variable naming the JSON-lines file.
pub const ENV: &str = "GIGMARKET_AWS_CALL_LOG";

/// The table's partition key attribute (`infra/table.json`).
const PARTITION_KEY: &str = "pk";

/// The interceptor; `CallLog::from_env()` is inert unless recording is on.
#[derive(Debug, Clone)]
pub struct CallLog {
    target: Option<(PathBuf, String)>,
}

impl CallLog {
    pub fn from_env() -> Self {
        let path = std::env::var_os(ENV).filter(|path| !path.is_empty());
        let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .filter(|name| !name.is_empty());
        Self {
            target: path.zip(function).map(|(path, f)| (PathBuf::from(path), f)),
        }
    }

    fn write(&self, calls: &[Call]) {
        let Some((path, function)) = &self.target else {
            return;
        };
        let mut text = String::new();
        for call in calls {
            let mut line = json!({
                "function": function,
                "action": call.action,
                "resource": call.resource,
            });
            if let Some(prefix) = &call.leading_key {
                line["leading_key"] = json!(prefix);
            }
            text.push_str(&line.to_string());
            text.push('\n');
        }
        if text.is_empty() {
            return;
        }
        // One write of all lines of this call on an O_APPEND file: atomic for regular files on
        // Linux, so processes writing at once never interleave.
        let result = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(text.as_bytes()));
        if let Err(error) = result {
            tracing::warn!(%error, path = %path.display(), "could not record an AWS call");
        }
    }
}

/// One IAM authorisation a call needs.
#[derive(Debug, PartialEq, Eq)]
pub struct Call {
    pub action: String,
    pub resource: String,
    pub leading_key: Option<String>,
}

impl Call {
    fn new(action: &str, resource: impl Into<String>, leading_key: Option<String>) -> Self {
        Self {
            action: action.to_owned(),
            resource: resource.into(),
            leading_key,
        }
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "GigmarketCallLog"
    }

    // Before execution, not per attempt: a retried call is one record.
    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.target.is_some() {
            self.write(&describe(context.input()));
        }
        Ok(())
    }
}

/// The first `#`-terminated prefix of a key value (`USER#123` -> `USER#`).
fn prefix(value: Option<&AttributeValue>) -> Option<String> {
    let text = value?.as_s().ok()?;
    let end = text.find('#').map_or(text.len(), |at| at + 1);
    Some(text[..end].to_owned())
}

fn key_prefix(key: Option<&HashMap<String, AttributeValue>>) -> Option<String> {
    prefix(key?.get(PARTITION_KEY))
}

/// The partition key value of a Query on the table, from `pk = :v` in its key condition.
fn query_prefix(
    expression: Option<&str>,
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
) -> Option<String> {
    let expression = expression?;
    for condition in expression.split(" AND ").chain(expression.split(" and ")) {
        let Some((left, right)) = condition.split_once('=') else {
            continue;
        };
        let (left, right) = (left.trim(), right.trim());
        let attribute = names
            .and_then(|names| names.get(left))
            .map_or(left, String::as_str);
        if attribute == PARTITION_KEY {
            return prefix(values?.get(right));
        }
    }
    None
}

#[cfg(feature = "sqs")]
fn queue_resource(url: &str) -> String {
    if std::env::var("ORDER_EVENTS_QUEUE_URL").is_ok_and(|queue| queue == url) {
        "order-events-queue".to_owned()
    } else if std::env::var("SEARCH_INDEX_QUEUE_URL").is_ok_and(|queue| queue == url) {
        "search-index-queue".to_owned()
    } else {
        format!("queue:{}", url.rsplit('/').next().unwrap_or(url))
    }
}

#[cfg(feature = "jwt-secret")]
fn secret_resource(id: &str) -> String {
    // Each secret a function reads by its configured id, named as the permissions test names
    // the template's secret.
    [
        ("JWT_KEYS_SECRET_ID", "jwt-keys-secret"),
        ("JWT_SIGNING_KEYS_SECRET_ID", "jwt-signing-keys-secret"),
        ("STRIPE_SECRET_KEY_ID", "stripe-secret-key-secret"),
        ("STRIPE_WEBHOOK_SECRETS_ID", "stripe-webhook-secrets-secret"),
        (
            "STRIPE_CONNECT_WEBHOOK_SECRETS_ID",
            "stripe-connect-webhook-secrets-secret",
        ),
    ]
    .into_iter()
    .find(|(variable, _)| std::env::var(variable).is_ok_and(|secret| secret == id))
    .map_or_else(|| format!("secret:{id}"), |(_, name)| name.to_owned())
}

/// The authorisations an operation input needs. An operation not described here is recorded as
/// `unknown:<input type>`, which no grant matches: the permissions test then fails until it is.
pub fn describe(input: &Input) -> Vec<Call> {
    use aws_sdk_dynamodb::operation as ddb;
    let item = |action: &str, key: Option<String>| Call::new(action, "table", key);
    if let Some(get) = input.downcast_ref::<ddb::get_item::GetItemInput>() {
        return vec![item("dynamodb:GetItem", key_prefix(get.key.as_ref()))];
    }
    if let Some(put) = input.downcast_ref::<ddb::put_item::PutItemInput>() {
        return vec![item("dynamodb:PutItem", key_prefix(put.item.as_ref()))];
    }
    if let Some(update) = input.downcast_ref::<ddb::update_item::UpdateItemInput>() {
        return vec![item("dynamodb:UpdateItem", key_prefix(update.key.as_ref()))];
    }
    if let Some(delete) = input.downcast_ref::<ddb::delete_item::DeleteItemInput>() {
        return vec![item("dynamodb:DeleteItem", key_prefix(delete.key.as_ref()))];
    }
    if let Some(query) = input.downcast_ref::<ddb::query::QueryInput>() {
        // On an index IAM sees `<table>/index/<name>`; LeadingKeys is the table's partition key.
        if query.index_name.is_some() {
            return vec![Call::new("dynamodb:Query", "index", None)];
        }
        let key = query_prefix(
            query.key_condition_expression.as_deref(),
            query.expression_attribute_names.as_ref(),
            query.expression_attribute_values.as_ref(),
        );
        return vec![item("dynamodb:Query", key)];
    }
    if let Some(transaction) =
        input.downcast_ref::<ddb::transact_write_items::TransactWriteItemsInput>()
    {
        // DynamoDB authorises each item of a transaction as the single-item action.
        return transaction
            .transact_items
            .iter()
            .flatten()
            .map(|entry| {
                if let Some(put) = &entry.put {
                    item("dynamodb:PutItem", key_prefix(Some(&put.item)))
                } else if let Some(update) = &entry.update {
                    item("dynamodb:UpdateItem", key_prefix(Some(&update.key)))
                } else if let Some(delete) = &entry.delete {
                    item("dynamodb:DeleteItem", key_prefix(Some(&delete.key)))
                } else if let Some(check) = &entry.condition_check {
                    item("dynamodb:ConditionCheckItem", key_prefix(Some(&check.key)))
                } else {
                    Call::new("unknown:TransactWriteItem", "table", None)
                }
            })
            .collect();
    }
    if let Some(batch) = input.downcast_ref::<ddb::batch_write_item::BatchWriteItemInput>() {
        return batch
            .request_items
            .iter()
            .flat_map(|tables| tables.values().flatten())
            .map(|request| {
                let key = request
                    .put_request
                    .as_ref()
                    .map(|put| &put.item)
                    .or(request.delete_request.as_ref().map(|delete| &delete.key));
                item("dynamodb:BatchWriteItem", key_prefix(key))
            })
            .collect();
    }
    // The admin function reads every counter shard in one BatchGetItem.
    if let Some(batch) = input.downcast_ref::<ddb::batch_get_item::BatchGetItemInput>() {
        return batch
            .request_items
            .iter()
            .flat_map(|tables| tables.values())
            .flat_map(|request| request.keys.iter())
            .map(|key| item("dynamodb:BatchGetItem", key_prefix(Some(key))))
            .collect();
    }
    #[cfg(feature = "sqs")]
    if let Some(send) =
        input.downcast_ref::<aws_sdk_sqs::operation::send_message_batch::SendMessageBatchInput>()
    {
        // SendMessageBatch is authorised as sqs:SendMessage.
        let url = send.queue_url.as_deref().unwrap_or_default();
        return vec![Call::new("sqs:SendMessage", queue_resource(url), None)];
    }
    #[cfg(feature = "sqs")]
    if let Some(send) =
        input.downcast_ref::<aws_sdk_sqs::operation::send_message::SendMessageInput>()
    {
        let url = send.queue_url.as_deref().unwrap_or_default();
        return vec![Call::new("sqs:SendMessage", queue_resource(url), None)];
    }
    #[cfg(feature = "ses")]
    if let Some(send) = input.downcast_ref::<aws_sdk_ses::operation::send_email::SendEmailInput>() {
        // The deployed grant is conditioned on ses:FromAddress = the configured sender.
        let sender = std::env::var("SENDER_EMAIL").ok();
        let resource = if send.source.is_some() && send.source == sender {
            "ses-identity"
        } else {
            "ses-identity:other-sender"
        };
        return vec![Call::new("ses:SendEmail", resource, None)];
    }
    #[cfg(feature = "jwt-secret")]
    if let Some(get) = input
        .downcast_ref::<aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueInput>()
    {
        let id = get.secret_id.as_deref().unwrap_or_default();
        return vec![Call::new(
            "secretsmanager:GetSecretValue",
            secret_resource(id),
            None,
        )];
    }
    #[cfg(feature = "s3")]
    {
        use aws_sdk_s3::operation as s3;
        // The search index bucket (`SEARCH_INDEX_BUCKET`) or the files bucket.
        let bucket_kind = |bucket: Option<&str>| {
            let search_index = std::env::var("SEARCH_INDEX_BUCKET").ok();
            if bucket.is_some() && bucket == search_index.as_deref() {
                "search-index-bucket"
            } else {
                "files-bucket"
            }
        };
        let object = |action: &str, bucket: Option<&str>, key: Option<&str>| {
            // The grant is on the key prefix (`<bucket>/orders/*`), the object key's first segment.
            let prefix = key
                .and_then(|key| key.split_once('/'))
                .map_or("", |(first, _)| first);
            Call::new(action, format!("{}:{prefix}/", bucket_kind(bucket)), None)
        };
        // The code tells a missing object from a refused one after these (a file never
        // uploaded; the index manifest before the first publication), and S3 answers 404 rather
        // than 403 only to a caller that may list the bucket.
        let listed = |bucket: Option<&str>| Call::new("s3:ListBucket", bucket_kind(bucket), None);
        // A presigned POST is authorised as PutObject, like the presigned PutObject that gives
        // its URL (`files::FileStorage::presign_upload`); HeadObject needs s3:GetObject.
        if let Some(put) = input.downcast_ref::<s3::put_object::PutObjectInput>() {
            return vec![object(
                "s3:PutObject",
                put.bucket.as_deref(),
                put.key.as_deref(),
            )];
        }
        if let Some(get) = input.downcast_ref::<s3::get_object::GetObjectInput>() {
            let bucket = get.bucket.as_deref();
            let read = object("s3:GetObject", bucket, get.key.as_deref());
            return if bucket_kind(bucket) == "search-index-bucket" {
                vec![read, listed(bucket)]
            } else {
                vec![read]
            };
        }
        if let Some(head) = input.downcast_ref::<s3::head_object::HeadObjectInput>() {
            let bucket = head.bucket.as_deref();
            return vec![
                object("s3:GetObject", bucket, head.key.as_deref()),
                listed(bucket),
            ];
        }
        if let Some(delete) = input.downcast_ref::<s3::delete_object::DeleteObjectInput>() {
            return vec![object(
                "s3:DeleteObject",
                delete.bucket.as_deref(),
                delete.key.as_deref(),
            )];
        }
    }
    // The management API: every call is execute-api:ManageConnections on the stage's
    // `@connections` (`<api>/<stage>/<METHOD>/@connections/*`).
    #[cfg(feature = "realtime-push")]
    {
        use aws_sdk_apigatewaymanagement::operation as mgmt;
        let connections = |method: &str| {
            vec![Call::new(
                "execute-api:ManageConnections",
                format!("websocket-connections:{method}"),
                None,
            )]
        };
        if input
            .downcast_ref::<mgmt::post_to_connection::PostToConnectionInput>()
            .is_some()
        {
            return connections("POST");
        }
        if input
            .downcast_ref::<mgmt::delete_connection::DeleteConnectionInput>()
            .is_some()
        {
            return connections("DELETE");
        }
        if input
            .downcast_ref::<mgmt::get_connection::GetConnectionInput>()
            .is_some()
        {
            return connections("GET");
        }
    }
    // Only the type name of the Debug rendering: never the request's content.
    let rendered = format!("{input:?}");
    let name: String = rendered
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    vec![Call::new(&format!("unknown:{name}"), "unknown", None)]
}

//! IAM from evidence: what each function was granted against what it really called.
//!
//! `make test` serves every function through `cargo lambda watch` with `GIGMARKET_AWS_CALL_LOG`
//! set, so each AWS call a function makes during the whole run (the load test, the end-to-end
//! tests with their sample events and scheduler runs, the refused mail, the schemathesis passes,
//! the bridge's stream/queue deliveries) is
//! one JSON line per IAM authorisation (`shared/src/call_log.rs`: every item of a
//! TransactWriteItems as its own Put/Update/Delete/ConditionCheckItem, the table or an index,
//! the leading key prefix). This test runs last and asserts, for the SAM template and for the
//! CDK synth output, per function:
//!
//! - every recorded call is granted: the action, on the right resource, and inside the
//!   statement's `dynamodb:LeadingKeys` condition when it has one;
//! - every grant was used: each granted action on each resource, and each LeadingKeys pattern,
//!   was recorded at least once;
//! - every table statement is limited by `dynamodb:LeadingKeys`.
//!
//! Grants the platform uses on the function's behalf (the stream and queue event source
//! mappings, the stream DLQ destination, X-Ray, logs) are not calls of our code: `PLATFORM` lists
//! them, with the resource each may be on.
//!
//! In-process tests build their own clients in a process that is no Lambda function, so they
//! record nothing: which function a store call "belongs to" would be a guess, and the deployed
//! role is proven by the deployed code path, through watch.
//!
//! Run by `scripts/test.sh` after everything else, beside `tests/after_run.rs` (the main test
//! run skips both):
//! `GIGMARKET_AWS_CALL_LOG=.local/aws-calls.jsonl cargo nextest run -p gigmarket-tests --test permissions`.

use std::collections::{BTreeMap, BTreeSet};

use gigmarket_tests::{function_crates, repo_path as repo};
use serde_json::{Value, json};

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo(relative)).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

/// One recorded authorisation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Recorded {
    action: String,
    resource: String,
    leading_key: Option<String>,
}

/// The call log, by function.
fn recorded() -> BTreeMap<String, BTreeSet<Recorded>> {
    let path = std::env::var("GIGMARKET_AWS_CALL_LOG").expect(
        "GIGMARKET_AWS_CALL_LOG must name the call log of a full `make test` run (scripts/test.sh runs this test last)",
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let mut by_function: BTreeMap<String, BTreeSet<Recorded>> = BTreeMap::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let call: Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("{line}: {error}"));
        let field = |name: &str| {
            call[name]
                .as_str()
                .unwrap_or_else(|| panic!("{line}: {name}"))
                .to_owned()
        };
        by_function
            .entry(field("function"))
            .or_default()
            .insert(Recorded {
                action: field("action"),
                resource: field("resource"),
                leading_key: call["leading_key"].as_str().map(str::to_owned),
            });
    }
    by_function
}

/// What a policy statement's resource is, in the call log's terms.
fn resource_kind(resource: &Value) -> String {
    let text = resource.to_string();
    // The WebSocket API's management calls, per method (`<api>/<stage>/POST/@connections/*`).
    if let Some(method) = text
        .split("/@connections")
        .next()
        .filter(|_| text.contains("/@connections"))
        .and_then(|before| before.rsplit('/').next())
    {
        return format!("websocket-connections:{method}");
    }
    // A bucket's objects, per key prefix (`<bucket>/orders/*`), as the call log names them; the
    // bucket itself (its `s3:ListBucket`) by its kind alone.
    for (logical_id, kind) in [
        ("FilesBucket", "files-bucket"),
        ("SearchIndexBucket", "search-index-bucket"),
    ] {
        if text.contains(logical_id) {
            if !text.contains("/*") {
                return kind.to_owned();
            }
            let prefix = text
                .rsplit("/*")
                .nth(1)
                .and_then(|before| before.rsplit('/').next())
                .unwrap_or_default();
            return format!("{kind}:{prefix}/");
        }
    }
    let kind = if text.contains("/index/") {
        "index"
    } else if text.contains("\"Table.Arn\"") || text.contains("[\"Table\",\"Arn\"]") {
        "table"
    } else if text.contains("StreamArn") {
        "table-stream"
    } else if text.contains("OrderEventsQueue") {
        "order-events-queue"
    } else if text.contains("SearchIndexQueue") {
        "search-index-queue"
    } else if text.contains("StreamFailuresDlq") {
        "stream-failures-dlq"
    } else if text.contains("JwtSigningKeysSecret") {
        "jwt-signing-keys-secret"
    } else if text.contains("JwtKeysSecret") {
        "jwt-keys-secret"
    } else if text.contains("StripeSecretKeySecret") {
        "stripe-secret-key-secret"
    } else if text.contains("StripeWebhookSecretsSecret") {
        "stripe-webhook-secrets-secret"
    } else if text.contains("StripeConnectWebhookSecretsSecret") {
        "stripe-connect-webhook-secrets-secret"
    } else if text.contains(":ses:") || text.contains("\"ses\"") {
        "ses-identity"
    } else if text == "\"*\"" {
        "*"
    } else {
        return text;
    };
    kind.to_owned()
}

/// Actions the Lambda service performs with the function's role, not our code: reading the table
/// stream, the order-events queue and the search index queue (event source mappings), sending a failed stream batch's
/// metadata to its DLQ, X-Ray segments.
const PLATFORM: &[(&str, &str)] = &[
    ("dynamodb:DescribeStream", "table-stream"),
    ("dynamodb:GetRecords", "table-stream"),
    ("dynamodb:GetShardIterator", "table-stream"),
    ("dynamodb:ListStreams", "*"),
    ("sqs:ReceiveMessage", "order-events-queue"),
    ("sqs:ChangeMessageVisibility", "order-events-queue"),
    ("sqs:GetQueueUrl", "order-events-queue"),
    ("sqs:DeleteMessage", "order-events-queue"),
    ("sqs:GetQueueAttributes", "order-events-queue"),
    ("sqs:ReceiveMessage", "search-index-queue"),
    ("sqs:ChangeMessageVisibility", "search-index-queue"),
    ("sqs:GetQueueUrl", "search-index-queue"),
    ("sqs:DeleteMessage", "search-index-queue"),
    ("sqs:GetQueueAttributes", "search-index-queue"),
    ("sqs:SendMessage", "stream-failures-dlq"),
    ("sqs:GetQueueAttributes", "stream-failures-dlq"),
    ("sqs:GetQueueUrl", "stream-failures-dlq"),
    ("xray:PutTraceSegments", "*"),
    ("xray:PutTelemetryRecords", "*"),
];

/// One granted action on one resource, with the LeadingKeys patterns that limit it (if any) and
/// whether the statement is limited to the configured sender (SES).
#[derive(Debug, Clone)]
struct Grant {
    action: String,
    resource: String,
    leading_keys: Option<Vec<String>>,
    sid: String,
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(list) => list.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

fn grants(statements: &[Value]) -> Vec<Grant> {
    let mut found = Vec::new();
    for statement in statements {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        let leading_keys = statement["Condition"].as_object().and_then(|conditions| {
            conditions.iter().find_map(|(operator, keys)| {
                let patterns = keys.get("dynamodb:LeadingKeys")?;
                assert_eq!(
                    operator, "ForAllValues:StringLike",
                    "LeadingKeys must be ForAllValues:StringLike: {statement}"
                );
                Some(
                    as_list(patterns)
                        .iter()
                        .map(|pattern| pattern.as_str().expect("pattern").to_owned())
                        .collect::<Vec<_>>(),
                )
            })
        });
        for action in as_list(&statement["Action"]) {
            for resource in as_list(&statement["Resource"]) {
                found.push(Grant {
                    action: action.as_str().expect("action").to_owned(),
                    resource: resource_kind(&resource),
                    leading_keys: leading_keys.clone(),
                    sid: statement["Sid"].as_str().unwrap_or("(no Sid)").to_owned(),
                });
            }
        }
    }
    found
}

/// `USER#*` matches the recorded prefix `USER#`.
fn pattern_matches(pattern: &str, prefix: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(start) => prefix.starts_with(start),
        None => pattern == prefix,
    }
}

fn is_platform(grant: &Grant) -> bool {
    PLATFORM
        .iter()
        .any(|(action, resource)| grant.action == *action && grant.resource == *resource)
}

fn statements_in(value: &Value, found: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(list)) = map.get("Statement") {
                found.extend(list.iter().cloned());
            }
            map.values().for_each(|child| statements_in(child, found));
        }
        Value::Array(list) => list.iter().for_each(|child| statements_in(child, found)),
        _ => {}
    }
}

/// SAM: each function's inline statements and the managed policies of the template it references.
fn sam_grants() -> BTreeMap<String, Vec<Grant>> {
    let yaml: serde_norway::Value =
        serde_norway::from_str(&read("infra/template.yaml")).expect("template.yaml is YAML");
    let template = serde_json::to_value(yaml).expect("template as JSON");
    let resources = template["Resources"].as_object().expect("Resources");
    let mut by_function = BTreeMap::new();
    for function in resources.values() {
        if function["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let name = function["Properties"]["CodeUri"]
            .as_str()
            .and_then(|uri| uri.strip_prefix("../functions/"))
            .expect("CodeUri ../functions/<crate>")
            .to_owned();
        let mut found = Vec::new();
        for policy in as_list(&function["Properties"]["Policies"]) {
            if let Some(id) = policy["!Ref"].as_str() {
                statements_in(&resources[id]["Properties"]["PolicyDocument"], &mut found);
            } else {
                statements_in(&policy, &mut found);
            }
        }
        by_function.insert(name, grants(&found));
    }
    by_function
}

/// CDK: the statements of every policy attached to each Rust function's role (inline policies
/// and customer managed policies of the stack; AWS managed ones only grant logging).
fn cdk_grants() -> BTreeMap<String, Vec<Grant>> {
    let relative = "infra/cdk/cdk.out/Gigmarket-dev.template.json";
    let template: Value = serde_json::from_str(&read(relative)).expect("synth output is JSON");
    let resources = template["Resources"].as_object().expect("Resources");
    let mut by_function = BTreeMap::new();
    for function in resources.values() {
        if function["Type"] != "AWS::Lambda::Function" {
            continue;
        }
        let Some(name) = as_list(&function["Properties"]["Tags"])
            .iter()
            .find(|tag| tag["Key"] == "gigmarket:function")
            .and_then(|tag| tag["Value"].as_str().map(str::to_owned))
        else {
            continue;
        };
        let role = function["Properties"]["Role"]["Fn::GetAtt"][0]
            .as_str()
            .expect("role");
        let mut found = Vec::new();
        for policy in resources.values() {
            if policy["Type"] == "AWS::IAM::Policy"
                && as_list(&policy["Properties"]["Roles"]).contains(&json!({"Ref": role}))
            {
                statements_in(&policy["Properties"]["PolicyDocument"], &mut found);
            }
        }
        for managed in as_list(&resources[role]["Properties"]["ManagedPolicyArns"]) {
            if let Some(id) = managed["Ref"].as_str() {
                statements_in(&resources[id]["Properties"]["PolicyDocument"], &mut found);
            }
        }
        by_function.insert(name, grants(&found));
    }
    by_function
}

/// Every problem of one deployment, one line each.
fn problems(
    deployment: &str,
    granted: &BTreeMap<String, Vec<Grant>>,
    recorded: &BTreeMap<String, BTreeSet<Recorded>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (function, grants) in granted {
        let calls = recorded.get(function).cloned().unwrap_or_default();
        if calls.is_empty() {
            problems.push(format!(
                "{deployment} {function}: no call recorded at all (was it served with the call log on?)"
            ));
        }
        // Every call is granted.
        for call in &calls {
            let covered = grants.iter().any(|grant| {
                grant.action == call.action
                    && grant.resource == call.resource
                    && match (&grant.leading_keys, &call.leading_key) {
                        (None, _) => true,
                        (Some(patterns), Some(prefix)) => patterns
                            .iter()
                            .any(|pattern| pattern_matches(pattern, prefix)),
                        (Some(_), None) => false,
                    }
            });
            if !covered {
                problems.push(format!(
                    "{deployment} {function}: calls {} on {}{} but is not granted it",
                    call.action,
                    call.resource,
                    call.leading_key
                        .as_ref()
                        .map(|key| format!(" (leading key {key})"))
                        .unwrap_or_default()
                ));
            }
        }
        // Every grant is used.
        for grant in grants.iter().filter(|grant| !is_platform(grant)) {
            let uses: Vec<&Recorded> = calls
                .iter()
                .filter(|call| call.action == grant.action && call.resource == grant.resource)
                .collect();
            if uses.is_empty() {
                problems.push(format!(
                    "{deployment} {function}: granted {} on {} (statement {}) but never called it",
                    grant.action, grant.resource, grant.sid
                ));
            }
            if grant.resource == "table" && grant.leading_keys.is_none() {
                problems.push(format!(
                    "{deployment} {function}: {} on the table is not limited by dynamodb:LeadingKeys",
                    grant.action
                ));
            }
            for pattern in grant.leading_keys.iter().flatten() {
                let used = calls.iter().any(|call| {
                    call.resource == grant.resource
                        && call
                            .leading_key
                            .as_deref()
                            .is_some_and(|prefix| pattern_matches(pattern, prefix))
                });
                if !used {
                    problems.push(format!(
                        "{deployment} {function}: LeadingKeys pattern {pattern} (statement {}) never used",
                        grant.sid
                    ));
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

#[test]
fn every_function_is_granted_exactly_what_it_was_seen_calling() {
    let recorded = recorded();
    let unknown: BTreeSet<&String> = recorded
        .keys()
        .filter(|name| !function_crates().contains(*name))
        .collect();
    assert!(
        unknown.is_empty(),
        "calls recorded for functions that are not crates: {unknown:?}"
    );
    let mut all = Vec::new();
    for (deployment, granted) in [("SAM", sam_grants()), ("CDK", cdk_grants())] {
        assert_eq!(
            granted.keys().cloned().collect::<BTreeSet<_>>(),
            function_crates(),
            "{deployment}: one function per crate"
        );
        all.extend(problems(deployment, &granted, &recorded));
    }
    let summary: Vec<String> = recorded
        .iter()
        .flat_map(|(function, calls)| {
            calls.iter().map(move |call| {
                format!(
                    "  {function}: {} on {}{}",
                    call.action,
                    call.resource,
                    call.leading_key
                        .as_ref()
                        .map(|key| format!(" {key}"))
                        .unwrap_or_default()
                )
            })
        })
        .collect();
    assert!(
        all.is_empty(),
        "IAM grants differ from the calls recorded in this run:\n{}\n\nrecorded:\n{}",
        all.join("\n"),
        summary.join("\n")
    );
}

#[test]
fn the_files_bucket_statements_name_their_prefix_as_the_call_log_does() {
    // SAM's `!Sub` and CDK's `Fn::Join` of the bucket's ARN and the prefix.
    assert_eq!(
        resource_kind(&json!({"Fn::Sub": "${FilesBucket.Arn}/orders/*"})),
        "files-bucket:orders/"
    );
    assert_eq!(
        resource_kind(
            &json!({"Fn::Join": ["", [{"Fn::GetAtt": ["FilesBucket", "Arn"]}, "/conversations/*"]]})
        ),
        "files-bucket:conversations/"
    );
}

#[test]
fn leading_key_patterns_match_like_iam() {
    assert!(pattern_matches("USER#*", "USER#"));
    assert!(!pattern_matches("USER#*", "EMAIL#"));
    assert!(pattern_matches("MAIL#*", "MAIL#"));
    assert!(!pattern_matches("GIG#*", "GIGOWNER#"));
}

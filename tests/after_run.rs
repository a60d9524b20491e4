//! Checks on the logs of a whole `make test` run, after every request of it (run last, beside
//! `tests/permissions.rs`): the business metrics' EMF lines in the functions' output, and no
//! password or token of the run in any log.
//!
//! `GIGMARKET_WATCH_LOG` names `cargo lambda watch`'s log (every function's output: tracing and
//! EMF), `GIGMARKET_BRIDGE_LOG` the bridge's, `GIGMARKET_SECRETS_FILE` the secrets the run used
//! (`gigmarket_tests::secrets`, and the fuzz accounts' from scripts/test.sh).

use std::collections::{BTreeMap, BTreeSet};

use gigmarket_tests::repo_path;
use gigmarket_tests::secrets::SECRET_FIELDS;
use serde_json::Value;

fn env_file(name: &str) -> (String, String) {
    let path = std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} must name a file of the run (scripts/test.sh sets it)"));
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    (path, String::from_utf8_lossy(&bytes).into_owned())
}

/// The EMF documents in a log: the JSON from a line's first `{`, when it has an `_aws` member.
fn emf_documents(log: &str) -> impl Iterator<Item = Value> + '_ {
    log.lines()
        .filter(|line| line.contains("\"_aws\""))
        .filter_map(|line| {
            let document: Value = serde_json::from_str(&line[line.find('{')?..]).ok()?;
            document.get("_aws").is_some().then_some(document)
        })
}

/// What CloudWatch turns into metrics: every counter is a positive count, the index lag a
/// duration in milliseconds, and each metric the run must have produced (placements,
/// completions, mail sent and refused, the indexer's publications) appears at least once.
#[test]
fn the_functions_emitted_each_business_counter_as_emf() {
    let (path, log) = env_file("GIGMARKET_WATCH_LOG");
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut lags: Vec<u64> = Vec::new();
    for document in emf_documents(&log) {
        for directive in document["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            for metric in directive["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                if name == gigmarket_shared::emf::SEARCH_INDEX_LAG {
                    assert_eq!(metric["Unit"], "Milliseconds", "{document}");
                    let lag = document[name].as_u64();
                    assert!(lag.is_some(), "{name} is not a duration: {document}");
                    lags.extend(lag);
                    *seen.entry(name.to_owned()).or_default() += 1;
                    continue;
                }
                let count = document[name].as_u64().filter(|count| *count > 0);
                assert!(
                    count.is_some(),
                    "{name} is not a positive count: {document}"
                );
                assert_eq!(metric["Unit"], "Count", "{document}");
                *seen.entry(name.to_owned()).or_default() += count.unwrap_or_default();
            }
        }
    }
    eprintln!("EMF metrics seen in {path}: {seen:?}");
    lags.sort_unstable();
    if !lags.is_empty() {
        let at = |share: f64| {
            lags[((lags.len() as f64 * share).ceil() as usize).clamp(1, lags.len()) - 1]
        };
        eprintln!(
            "search index lag over {} publications (ms): p50 {}, p99 {}, max {}",
            lags.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
    let missing: Vec<_> = [
        "OrdersPaid",
        "OrdersCompleted",
        "MailsSent",
        "MailFailures",
        gigmarket_shared::emf::SEARCH_INDEX_LAG,
    ]
    .into_iter()
    .filter(|name| !seen.contains_key(*name))
    .collect();
    assert!(missing.is_empty(), "no EMF line for {missing:?} in {path}");
}

/// The secret fields' values in the sample events' bodies (placeholders left out).
fn sample_event_secrets() -> BTreeSet<String> {
    fn collect(value: &Value, into: &mut BTreeSet<String>) {
        match value {
            Value::Object(fields) => fields.iter().for_each(|(name, value)| match value {
                Value::String(secret) if SECRET_FIELDS.contains(&name.as_str()) => {
                    if !secret.starts_with('<') {
                        into.insert(secret.clone());
                    }
                }
                other => collect(other, into),
            }),
            Value::Array(items) => items.iter().for_each(|item| collect(item, into)),
            _ => {}
        }
    }
    let mut secrets = BTreeSet::new();
    let mut folders = vec![repo_path("events")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("events/") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "json")
            {
                let event: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                if let Some(body) = event["body"].as_str() {
                    let body = serde_json::from_str(body).unwrap_or(Value::Null);
                    collect(&body, &mut secrets);
                }
            }
        }
    }
    secrets
}

/// No password or token the run used (recorded by the tests, the fuzz accounts', the sample
/// events') is in watch's log (every function's output) or the bridge's.
#[test]
fn no_secret_of_the_run_is_in_any_log() {
    let (secrets_path, recorded) = env_file("GIGMARKET_SECRETS_FILE");
    let mut secrets: BTreeSet<String> = recorded
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect();
    // Far fewer means the recording broke and the check proves nothing.
    assert!(
        secrets.len() >= 20,
        "only {} secrets recorded in {secrets_path}",
        secrets.len()
    );
    secrets.extend(sample_event_secrets());
    let mut leaks = Vec::new();
    for log_variable in ["GIGMARKET_WATCH_LOG", "GIGMARKET_BRIDGE_LOG"] {
        let (path, log) = env_file(log_variable);
        for secret in secrets
            .iter()
            .filter(|secret| log.contains(secret.as_str()))
        {
            let shown: String = secret.chars().take(6).collect();
            leaks.push(format!(
                "{path}: a secret ({shown}..., {} chars)",
                secret.len()
            ));
        }
    }
    assert!(leaks.is_empty(), "secrets in the logs: {leaks:#?}");
}

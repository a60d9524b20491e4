//! Schedules -> `scheduler` and `indexer`: the EventBridge "Scheduled Event" their rules send.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::invoke::invoke;

/// The EventBridge "Scheduled Event" the scheduler gets from its rule.
pub fn scheduled_event(region: &str) -> Value {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    json!({
        "version": "0",
        "id": format!("local-{}", now.unix_timestamp()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "region": region,
        "resources": [format!("arn:aws:events:{region}:000000000000:rule/gigmarket-scheduler")],
        "detail": {}
    })
}

/// Invokes `function` every `every` (first right away when `at_start`), as its EventBridge rule
/// does, until the process ends. A failed run is logged and the next one comes on time.
pub async fn run_schedule(
    http: reqwest::Client,
    invoke_url: String,
    region: String,
    function: &'static str,
    every: Duration,
    at_start: bool,
) {
    let mut next = Instant::now() + if at_start { Duration::ZERO } else { every };
    loop {
        tokio::time::sleep_until(next.into()).await;
        next += every;
        match invoke(&http, &invoke_url, function, &scheduled_event(&region)).await {
            Ok(summary) => eprintln!("bridge: {function}: {summary}"),
            Err(error) => eprintln!("bridge: {function}: {error:#}"),
        }
    }
}

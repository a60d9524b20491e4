//! EMF metrics: business counters as CloudWatch Embedded Metric Format, one JSON line on stdout
//! per data point, which CloudWatch Logs turns into a metric (no API call, no permission, no
//! extra latency).
//!
//! Namespace `METRICS_NAMESPACE` (the stacks set `Gigmarket/<stage>`; default `Gigmarket`), no
//! dimensions, unit Count (durations Milliseconds). A small writer rather than a metrics crate: a
//! few counters need no registry or flush hook, and nothing here can hold an invocation up.

use std::io::Write;

use serde_json::{Value, json};

/// An order was paid, so it reached its freelancer (dispatcher, from the order's `paid` change
/// on the stream): an order placed and never paid is no business.
pub const ORDERS_PAID: &str = "OrdersPaid";
/// An order reached `completed` (by its client or the scheduler's auto-complete).
pub const ORDERS_COMPLETED: &str = "OrdersCompleted";
/// SES accepted an order mail (notifier).
pub const MAILS_SENT: &str = "MailsSent";
/// SES refused or failed an order mail; the message is retried (notifier).
pub const MAIL_FAILURES: &str = "MailFailures";
/// A delivery to the Stripe webhook whose signature did not verify (forged, stale, or signed
/// with a secret we do not have): refused with 400 (payments; alarmed).
pub const WEBHOOK_SIGNATURE_FAILURES: &str = "WebhookSignatureFailures";
/// A push to a live WebSocket connection failed (not gone); its record is retried (realtime).
pub const PUSH_FAILURES: &str = "PushFailures";
/// The `search` function could not bring its copy of the index to the published version (a
/// manifest naming a missing file, S3 unreachable); it keeps serving the version it has
/// (alarmed).
pub const SEARCH_INDEX_REFRESH_FAILURES: &str = "SearchIndexRefreshFailures";
/// Milliseconds from a gig hint's enqueueing to the publication that applied it (indexer; its
/// p99 is alarmed): how stale search can be.
pub const SEARCH_INDEX_LAG: &str = "SearchIndexLag";

/// The EMF line for `value` of `metric` at `timestamp_ms`.
pub fn emf_line(namespace: &str, metric: &str, value: u64, timestamp_ms: i128) -> Value {
    emf_line_in(namespace, metric, value, "Count", timestamp_ms)
}

/// [`emf_line`] in `unit` (a CloudWatch unit name).
fn emf_line_in(namespace: &str, metric: &str, value: u64, unit: &str, timestamp_ms: i128) -> Value {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[]],
                "Metrics": [{"Name": metric, "Unit": unit}],
            }],
        },
        metric: value,
    })
}

/// Writes one data point to stdout (one write per line, so it never interleaves with log lines).
pub fn count(metric: &str, value: u64) {
    if value == 0 {
        return;
    }
    write(metric, value, "Count");
}

/// Writes one duration in milliseconds (a data point even when zero: a fast one is news too).
pub fn milliseconds(metric: &str, value: u64) {
    write(metric, value, "Milliseconds");
}

fn write(metric: &str, value: u64, unit: &str) {
    let namespace = std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "Gigmarket".to_owned());
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let mut line = emf_line_in(&namespace, metric, value, unit, now).to_string();
    line.push('\n');
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_an_emf_document_with_its_value() {
        let line = emf_line("Gigmarket/dev", MAILS_SENT, 2, 1_700_000_000_000);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        assert_eq!(directive["Namespace"], "Gigmarket/dev");
        assert_eq!(directive["Metrics"][0]["Name"], "MailsSent");
        assert_eq!(directive["Metrics"][0]["Unit"], "Count");
        assert_eq!(directive["Dimensions"], json!([[]]));
        // The member named by the directive holds the value.
        assert_eq!(line["MailsSent"], 2);
    }
}

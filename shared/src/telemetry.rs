//! Logs as Lambda's advanced logging controls document them for a custom runtime: the level comes
//! from `AWS_LAMBDA_LOG_LEVEL` (set from the function's `ApplicationLogLevel`), the format from
//! `AWS_LAMBDA_LOG_FORMAT` (`JSON`: one JSON object per line, with `level`, `timestamp` and
//! `message` at the top, what CloudWatch and Logs Insights read; `Text`: plain lines).
//! Locally neither is set: `RUST_LOG` may name a level, the format is JSON.
//!
//! Only levels are accepted, never filter directives, and never TRACE (it would log request and
//! SDK payloads): TRACE is lowered to DEBUG. A verbose level (DEBUG, INFO) applies to
//! Gigmarket's own crates only; every dependency (AWS SDK, hyper, the runtime) logs WARN and
//! above, so a debug session never dumps HTTP bodies either.

use tracing_subscriber::EnvFilter;

/// The crates whose logs follow the configured level: the shared library and every function.
pub const OWN_CRATES: &[&str] = &[
    "gigmarket_shared",
    "auth",
    "users",
    "gigs",
    "orders",
    "reviews",
    "messages",
    "admin",
    "dispatcher",
    "notifier",
    "scheduler",
    "realtime",
    "payments",
    "payouts",
    "search",
    "indexer",
    // The search crate's use cases log from the `search` and `indexer` functions.
    "gigmarket_search",
];

/// The `EnvFilter` directives for a configured level (`DEBUG`, `info`, ...; unknown: INFO).
pub fn filter_directives(level: Option<&str>) -> String {
    let level = match level
        .map(|level| level.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("trace" | "debug") => "debug",
        Some("warn" | "warning") => "warn",
        Some("error" | "fatal") => "error",
        _ => "info",
    };
    if matches!(level, "warn" | "error") {
        return level.to_owned();
    }
    let own: Vec<String> = OWN_CRATES
        .iter()
        .map(|name| format!("{name}={level}"))
        .collect();
    format!("warn,{}", own.join(","))
}

/// Whether `AWS_LAMBDA_LOG_FORMAT` asks for JSON (the default when it is not set).
pub fn json_format(format: Option<&str>) -> bool {
    !format.is_some_and(|format| format.eq_ignore_ascii_case("text"))
}

pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let filter = EnvFilter::new(filter_directives(level.as_deref()));
    let format = std::env::var("AWS_LAMBDA_LOG_FORMAT").ok();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false);
    let _ = if json_format(format.as_deref()) {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        // Lambda adds the timestamp and request id to text lines itself.
        builder.without_time().try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A function missing from `OWN_CRATES` logs only WARN and above, whatever its level says.
    #[test]
    fn every_function_crate_follows_the_configured_level() {
        let functions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
        let mut seen = 0;
        for entry in std::fs::read_dir(&functions).expect("the functions directory") {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                OWN_CRATES.contains(&name.replace('-', "_").as_str()),
                "functions/{name} is not in telemetry::OWN_CRATES: its logs would be cut at WARN"
            );
            seen += 1;
        }
        assert!(
            seen >= 10,
            "only {seen} function crates found in {functions:?}"
        );
    }

    #[test]
    fn verbose_levels_apply_to_our_crates_only() {
        let debug = filter_directives(Some("DEBUG"));
        assert!(debug.starts_with("warn,"), "{debug}");
        assert!(debug.contains("gigmarket_shared=debug"));
        assert!(debug.contains("orders=debug"));
        assert_eq!(
            filter_directives(Some("INFO")),
            debug.replace("=debug", "=info")
        );
        assert_eq!(filter_directives(None), filter_directives(Some("INFO")));
    }

    #[test]
    fn trace_is_never_enabled() {
        assert_eq!(
            filter_directives(Some("TRACE")),
            filter_directives(Some("DEBUG"))
        );
        assert!(!filter_directives(Some("trace")).contains("trace"));
        // A directive smuggled in as a level is not one.
        assert_eq!(
            filter_directives(Some("aws_smithy_runtime=trace")),
            filter_directives(Some("INFO"))
        );
    }

    #[test]
    fn quiet_levels_apply_everywhere() {
        assert_eq!(filter_directives(Some("WARN")), "warn");
        assert_eq!(filter_directives(Some("ERROR")), "error");
        assert_eq!(filter_directives(Some("FATAL")), "error");
    }

    #[test]
    fn format_follows_aws_lambda_log_format() {
        assert!(json_format(Some("JSON")));
        assert!(json_format(None));
        assert!(!json_format(Some("Text")));
    }
}

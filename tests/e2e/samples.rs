//! The sample events of `events/` at watch's Lambda invoke endpoint (what `cargo lambda invoke
//! <function> --data-file <event>` sends), and events from the wrong trigger, which each event
//! function refuses.

use gigmarket_tests::repo_path;
use gigmarket_tests::watch::{invoke, invoke_api};
use serde_json::Value;
use uuid::Uuid;

/// The sample event at `events/<relative>`, each `(placeholder, value)` filled in.
fn sample(relative: &str, fill: &[(&str, &str)]) -> Value {
    let path = repo_path(&format!("events/{relative}"));
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{relative}: {error}"));
    for (placeholder, value) in fill {
        text = text.replace(placeholder, value);
    }
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

/// The sample event with its JSON body's `email` replaced by `email` (so each run registers an
/// account of its own), its content-length following.
fn sample_for(relative: &str, email: &str) -> Value {
    let mut event = sample(relative, &[]);
    let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    body["email"] = email.into();
    let body = body.to_string();
    event["headers"]["content-length"] = body.len().to_string().into();
    event["body"] = body.into();
    event
}

/// Register and log in with the samples, then the profile, orders, categories, another
/// verification mail and a reset mail with the session's token; and the scheduler's sample
/// (what its rule sends) answers with a run summary.
#[tokio::test]
async fn sample_events_are_answered_through_the_invoke_endpoint() {
    let email = format!("sample-{}@example.com", Uuid::new_v4().simple());
    let (status, registered) = invoke_api("auth", &sample_for("auth/register.json", &email)).await;
    assert_eq!(status, 201, "{registered}");
    let (status, session) = invoke_api("auth", &sample_for("auth/login.json", &email)).await;
    assert_eq!(status, 200, "{session}");
    let token = session["access_token"].as_str().unwrap();

    for (function, relative, placeholder, expected) in [
        ("users", "users/get-me.json", "<ACCESS_TOKEN>", 200),
        ("orders", "orders/list-orders.json", "<CLIENT_TOKEN>", 200),
        ("gigs", "gigs/list-categories.json", "", 200),
        // Email verification and password reset: `account` events auth sends to the queue
        // itself; a reset is accepted whatever the email.
        (
            "auth",
            "auth/resend-verification.json",
            "<ACCESS_TOKEN>",
            202,
        ),
        ("auth", "auth/forgot-password.json", "", 202),
    ] {
        let fill: &[(&str, &str)] = if placeholder.is_empty() {
            &[]
        } else {
            &[(placeholder, token)]
        };
        let (status, body) = invoke_api(function, &sample(relative, fill)).await;
        assert_eq!(status, expected, "{relative}: {body}");
    }
    assert_eq!(
        invoke_api(
            "users",
            &sample("users/get-me.json", &[("<ACCESS_TOKEN>", token)])
        )
        .await
        .1["email"],
        email.as_str()
    );

    let summary = invoke("scheduler", &sample("scheduler/scheduled.json", &[]))
        .await
        .expect("the scheduler runs");
    for count in [
        "events_reconciled",
        "auto_completed",
        "marked_late",
        "skipped",
        "reviews_published",
    ] {
        assert!(summary[count].is_u64(), "{count} in {summary}");
    }
    // The indexer's rule: the full rebuild, answered with its run.
    let rebuilt = invoke("indexer", &sample("indexer/scheduled.json", &[]))
        .await
        .expect("the rebuild runs");
    for count in ["listed", "unlisted"] {
        assert!(rebuilt[count].is_u64(), "{count} in {rebuilt}");
    }
}

/// A stream batch to the notifier, a queue batch to the dispatcher, an API request to the
/// scheduler and the notifier: each is a `WrongTrigger` invocation error, nothing processed.
#[tokio::test]
async fn event_functions_refuse_events_of_another_trigger() {
    for (function, relative) in [
        ("notifier", "dispatcher/order-paid.json"),
        ("dispatcher", "notifier/order-paid.json"),
        ("scheduler", "search/browse-gigs.json"),
        ("notifier", "search/browse-gigs.json"),
        ("indexer", "search/browse-gigs.json"),
        ("indexer", "dispatcher/order-paid.json"),
    ] {
        let refusal = invoke(function, &sample(relative, &[]))
            .await
            .expect_err(&format!("{function} accepted {relative}"));
        assert!(
            refusal.to_string().contains("WrongTrigger"),
            "{function} {relative}: not a WrongTrigger refusal: {refusal}"
        );
    }
}

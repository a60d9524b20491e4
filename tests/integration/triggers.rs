//! Events from the wrong trigger: each event function, invoked as Lambda invokes it (the raw JSON
//! payload through its `on_*` entry point, what `main.rs` hands it), takes its own trigger's
//! sample and refuses every other function's sample, an API Gateway request and `{}` with a
//! `WrongTrigger` invocation error, having done nothing: nothing queued, nothing mailed, no
//! order changed.

use std::path::Path;

use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::triggers::WrongTrigger;
use gigmarket_tests::TestApp;
use gigmarket_tests::pipeline::subjects_to;
use lambda_http::lambda_runtime::Diagnostic;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// The freelancer of the order in the dispatcher and notifier samples.
const SAMPLE_EVENT_FREELANCER_ID: &str = "9b2e7d14-3c6a-4f0e-8b5d-1a7c2e9f4d32";

fn sample(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{relative}: {error}"));
    serde_json::from_str(&text).expect("sample is JSON")
}

/// Payloads no event function's trigger sends: an API request, nothing, not even an object, and
/// batches whose records do not say where they come from.
fn foreign_payloads() -> Vec<(&'static str, Value)> {
    vec![
        ("an API Gateway request", sample("search/browse-gigs.json")),
        ("an empty object", json!({})),
        ("null", Value::Null),
        ("a list", json!([1, 2])),
        (
            "records without a source",
            json!({"Records": [{"body": "{}"}]}),
        ),
    ]
}

fn assert_refused(refusal: &Diagnostic, what: &str) {
    assert_eq!(refusal.error_type, WrongTrigger::ERROR_TYPE, "{what}");
    assert!(
        refusal.error_message.contains("nothing was processed"),
        "{what}: {}",
        refusal.error_message
    );
}

#[tokio::test]
async fn the_notifier_takes_only_an_sqs_batch() {
    let (app, _pipeline) = TestApp::with_pipeline().await;
    let freelancer = app.register_freelancer().await;
    let notifier = app.notifier();
    let own = serde_json::to_string(&sample("notifier/order-paid.json"))
        .unwrap()
        .replace(SAMPLE_EVENT_FREELANCER_ID, &freelancer.id.to_string());
    let mut refused = foreign_payloads();
    // The dispatcher's stream batch with the notifier's freelancer in it: read as SQS messages
    // it would have been a batch of id-less failures.
    refused.push((
        "a DynamoDB stream batch",
        serde_json::from_str(
            &serde_json::to_string(&sample("dispatcher/order-paid.json"))
                .unwrap()
                .replace(SAMPLE_EVENT_FREELANCER_ID, &freelancer.id.to_string()),
        )
        .unwrap(),
    ));
    refused.push(("a scheduled event", sample("scheduler/scheduled.json")));
    // The notifier's own batch with one message that has lost its id: a failure could not name it.
    let mut id_less: Value = serde_json::from_str(&own).unwrap();
    id_less["Records"][0]["messageId"] = json!("");
    refused.push(("an SQS message without an id", id_less));
    for (what, payload) in refused {
        let refusal = notifier
            .on_invocation(payload)
            .await
            .expect_err(&format!("{what} is refused"));
        assert_refused(&refusal, what);
    }
    assert!(
        subjects_to(&freelancer.email).await.is_empty(),
        "nothing was mailed"
    );
    let response = notifier
        .on_invocation(serde_json::from_str(&own).unwrap())
        .await
        .expect("its own trigger's batch is taken");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(
        subjects_to(&freelancer.email).await,
        ["New order: I will design your logo"]
    );
}

#[tokio::test]
async fn the_dispatcher_takes_only_a_stream_batch() {
    let (_app, pipeline) = TestApp::with_pipeline().await;
    let mut refused = foreign_payloads();
    refused.push(("an SQS batch", sample("notifier/order-paid.json")));
    refused.push(("a scheduled event", sample("scheduler/scheduled.json")));
    for (what, payload) in refused {
        let refusal = dispatcher::on_invocation(payload, &pipeline.sqs, &pipeline.queues())
            .await
            .expect_err(&format!("{what} is refused"));
        assert_refused(&refusal, what);
    }
    assert!(
        pipeline.receive_everything().await.is_empty(),
        "nothing was queued"
    );
    let response = dispatcher::on_invocation(
        sample("dispatcher/order-paid.json"),
        &pipeline.sqs,
        &pipeline.queues(),
    )
    .await
    .expect("its own trigger's batch is taken");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(pipeline.receive_everything().await.len(), 1);
}

#[tokio::test]
async fn the_scheduler_runs_only_for_its_schedule() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let delivered = app.order_in(&cast, &gig, "delivered").await;
    // Three days on, the delivered order is due for auto-completion: a run would complete it.
    let due = OffsetDateTime::now_utc() + Duration::days(3) + Duration::minutes(1);
    let mut refused = foreign_payloads();
    refused.push(("an SQS batch", sample("notifier/order-paid.json")));
    refused.push((
        "a DynamoDB stream batch",
        sample("dispatcher/order-paid.json"),
    ));
    let mut custom = sample("scheduler/scheduled.json");
    custom["source"] = json!("com.example.someone-else");
    refused.push(("another source's event", custom));
    for (what, payload) in refused {
        let refusal = scheduler::on_schedule(
            &app.state.store,
            &app.stripe,
            &scheduler::Settings::default(),
            &payload,
            due,
        )
        .await
        .expect_err(&format!("{what} is refused"));
        assert_refused(&refusal, what);
    }
    assert_eq!(
        app.order(&cast.client, delivered).await.body["status"],
        "delivered",
        "no run happened"
    );
    let summary = scheduler::on_schedule(
        &app.state.store,
        &app.stripe,
        &scheduler::Settings::default(),
        &sample("scheduler/scheduled.json"),
        due,
    )
    .await
    .expect("its schedule's event runs");
    assert_eq!(summary.auto_completed, 1);
    assert_eq!(
        app.order(&cast.client, delivered).await.body["status"],
        "completed"
    );
}

//! Pipeline throughput (`make bench`): order transitions per second end to
//! end, from the API's answer to the mail in moto, and the lag from each transition to its mail.
//!
//! The API, `dispatcher` and `notifier` run in-process on the real local stack, driven the way the
//! local bridge drives them: DynamoDB Local's stream read by `bridge::StreamReader` (the bridge's
//! own reader) into `dispatcher::handle`, the order-events queue in moto long-polled into
//! `notifier::Notifier::handle` with only the acknowledged messages deleted. A watcher polls
//! moto's sent mail every 50 ms, so a lag is exact to about that. `PIPELINE_BENCH_ORDERS`
//! (default 100) orders are placed, paid and accepted one after another: two transitions with a
//! mail each (paid -> the freelancer's new order, accepted -> client).
//!
//! ```sh
//! cargo run --profile bench-fast -p bench --bin pipeline_bench
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gigmarket_shared::domain::gig::Revisions;
use gigmarket_tests::TestApp;
use gigmarket_tests::pipeline::{Pipeline, SentMail, all_mail, delete_messages};
use uuid::Uuid;

/// Which transition a mail is about, from its subject.
fn transition(mail: &SentMail) -> Option<&'static str> {
    if mail.subject.starts_with("New order: ") {
        Some("placed")
    } else if mail.subject.starts_with("Your order was accepted: ") {
        Some("accepted")
    } else {
        None
    }
}

/// The order a mail is about: its footer names it ("Order <id> - Gigmarket").
fn order_of(mail: &SentMail) -> Option<Uuid> {
    let after = mail.body.split("Order ").last()?;
    after.split_whitespace().next()?.parse().ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let orders: usize = std::env::var("PIPELINE_BENCH_ORDERS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(100);
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    // The cast's registrations are on the stream and the queue already: start after them.
    let _ = pipeline.stream_event().await;
    let queued = pipeline.receive_everything().await;
    delete_messages(&pipeline.sqs, &pipeline.queue_url, &queued).await;
    let notifier = app.notifier();
    let done = AtomicBool::new(false);
    let (sqs, queues) = (pipeline.sqs.clone(), pipeline.queues());
    let queue_url = queues.events.clone();

    let stream_pump = async {
        while !done.load(Ordering::SeqCst) {
            let event = pipeline.stream_event().await;
            if event.records.is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            let response = dispatcher::handle(event, &sqs, &queues).await;
            assert!(response.batch_item_failures.is_empty(), "{response:?}");
        }
    };
    let queue_pump = async {
        while !done.load(Ordering::SeqCst) {
            let messages = sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_attribute_names("All")
                .send()
                .await
                .expect("receive")
                .messages
                .unwrap_or_default();
            if messages.is_empty() {
                continue;
            }
            let response = notifier.handle(Pipeline::sqs_event(&messages)).await;
            assert!(response.batch_item_failures.is_empty(), "{response:?}");
            delete_messages(&sqs, &queue_url, &messages).await;
        }
    };
    let transitions = async {
        let mut at = BTreeMap::new();
        for _ in 0..orders {
            let order_id = app.place_order(&cast.client, &gig).await;
            at.insert((order_id, "placed"), Instant::now());
            app.order_step(&cast.freelancer, order_id, "accept").await;
            at.insert((order_id, "accepted"), Instant::now());
        }
        at
    };
    let watcher = async {
        let mut seen: BTreeMap<(Uuid, &'static str), Instant> = BTreeMap::new();
        let addresses = [cast.client.email.as_str(), cast.freelancer.email.as_str()];
        while seen.len() < 2 * orders {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = Instant::now();
            for mail in all_mail().await {
                if !mail.to.iter().any(|to| addresses.contains(&to.as_str())) {
                    continue;
                }
                if let (Some(order), Some(kind)) = (order_of(&mail), transition(&mail)) {
                    seen.entry((order, kind)).or_insert(now);
                }
            }
        }
        done.store(true, Ordering::SeqCst);
        seen
    };
    let started = Instant::now();
    let ((), (), at, seen) = tokio::join!(stream_pump, queue_pump, transitions, watcher);
    let last_mail = seen.values().max().copied().unwrap();
    let last_transition = at.values().max().copied().unwrap();
    let elapsed = last_mail - started;
    let mut lags: Vec<Duration> = seen
        .iter()
        .map(|(key, mailed)| {
            let transitioned = at.get(key).expect("a mail for a transition the bench made");
            mailed.saturating_duration_since(*transitioned)
        })
        .collect();
    lags.sort();
    let count = lags.len();
    println!(
        "\n| orders | transitions (= mails) | transitions/s at the API | seconds, first call to last mail | transitions/s end to end | lag p50 ms | lag p99 ms | lag max ms |\n|---|---|---|---|---|---|---|---|\n| {orders} | {count} | {:.1} | {:.1} | {:.1} | {} | {} | {} |",
        count as f64 / (last_transition - started).as_secs_f64(),
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        percentile(&lags, 0.50).as_millis(),
        percentile(&lags, 0.99).as_millis(),
        lags[count - 1].as_millis(),
    );
}

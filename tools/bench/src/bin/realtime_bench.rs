//! Real-time pushes (`make bench`): `REALTIME_BENCH_USERS` users (default 100) with two devices
//! each hold a WebSocket open through the local gateway, and `REALTIME_BENCH_MESSAGES` messages
//! (default 400) are sent between them; prints the latency from a message's send to its
//! `message.received` on each of the recipient's devices, and the pushes per second.
//!
//! The hops are the deployed code, on the real local stack: tickets from `POST /realtime/tickets`
//! and messages through `POST /conversations/{id}/messages` (the in-process API), the connections
//! through `tools/gateway` with `realtime`'s WebSocket handler behind it
//! (`gigmarket_tests::realtime`), and the table's stream in DynamoDB Local read with the bridge's
//! reader (`gigmarket_tests::pipeline`, polled every 20 ms as the bridge does) into
//! `realtime::push::handle`, which posts to the gateway's `@connections` API.
//! `REALTIME_BENCH_IN_FLIGHT` (default 4) messages are on their way at once.
//!
//! ```sh
//! cargo run --profile bench-fast -p bench --bin realtime_bench
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gigmarket_tests::{PASSWORD, RawRequest, Session, TestApp};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// Devices per user: each holds its own connection, and each gets every push.
const DEVICES: usize = 2;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

/// A verified user, registered from an address of its own (the API allows 20 registrations per
/// address and window).
async fn user(app: &TestApp, role: &str, index: usize) -> Session {
    let email = format!("rt-{role}-{}@example.com", Uuid::new_v4().simple());
    let response = app
        .send(
            RawRequest::new("POST", "/auth/register")
                .from_address(&format!("198.51.{}.{}", index / 200, index % 200 + 1))
                .json(&json!({"email": email, "password": PASSWORD, "name": "Bench user", "role": role})),
        )
        .await;
    assert_eq!(response.status, 201, "{response:?}");
    let session = Session::from_body(&response.body, email);
    app.state
        .store
        .mark_email_verified(session.id, time::OffsetDateTime::now_utc())
        .await
        .expect("verified");
    session
}

/// A push as a device saw it: its type, the message id for `message.received`, and when.
struct Seen {
    user_id: Uuid,
    push_type: String,
    message_id: Option<String>,
    at: Instant,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let users = setting("REALTIME_BENCH_USERS", 100).max(2) / 2 * 2;
    let messages = setting("REALTIME_BENCH_MESSAGES", 400);
    let in_flight = setting("REALTIME_BENCH_IN_FLIGHT", 4).max(1);
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let app = Arc::new(app);
    let api = app.socket_api().await;
    let url = api.gateway.websocket_url();

    // Pairs of a client and a freelancer, one conversation each.
    let mut pairs = Vec::new();
    for pair in 0..users / 2 {
        let client = user(&app, "client", 2 * pair).await;
        let freelancer = user(&app, "freelancer", 2 * pair + 1).await;
        let opened = app
            .post(
                "/conversations",
                &json!({"participant_id": freelancer.id, "text": "Hello"}),
                Some(&client.access_token),
            )
            .await;
        assert_eq!(opened.status, 201, "{opened:?}");
        let conversation = opened.body["conversation"]["id"]
            .as_str()
            .expect("a conversation id")
            .to_owned();
        pairs.push((client, freelancer, conversation));
    }

    // Every device connects with a ticket of its own; each socket reports what it receives.
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    let connect_started = Instant::now();
    for (client, freelancer, _) in &pairs {
        for session in [client, freelancer] {
            for _ in 0..DEVICES {
                let issued = app
                    .post("/realtime/tickets", &json!({}), Some(&session.access_token))
                    .await;
                assert_eq!(issued.status, 201, "{issued:?}");
                let ticket = issued.body["ticket"].as_str().expect("a ticket");
                let (socket, _) =
                    tokio_tungstenite::connect_async(format!("{url}?ticket={ticket}"))
                        .await
                        .expect("the ticket opens a connection");
                let (seen_tx, user_id) = (seen_tx.clone(), session.id);
                tokio::spawn(async move {
                    let mut socket = socket;
                    while let Some(Ok(frame)) = socket.next().await {
                        let Message::Text(text) = frame else { continue };
                        let at = Instant::now();
                        let push: Value = serde_json::from_str(&text).expect("a JSON push");
                        let push_type = push["type"].as_str().unwrap_or_default().to_owned();
                        let message_id = (push_type == "message.received")
                            .then(|| push["data"]["id"].as_str().map(str::to_owned))
                            .flatten();
                        let seen = Seen {
                            user_id,
                            push_type,
                            message_id,
                            at,
                        };
                        if seen_tx.send(seen).is_err() {
                            break;
                        }
                    }
                });
            }
        }
    }
    let connections = users * DEVICES;
    let connect_secs = connect_started.elapsed().as_secs_f64();
    drop(seen_tx);

    // What the setup wrote is not measured: start the stream after it.
    let _ = pipeline.stream_event().await;
    let done = Arc::new(AtomicBool::new(false));
    let pump = {
        let (done, store, management) = (done.clone(), app.state.store.clone(), api.connections);
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let batch = pipeline.stream_event().await;
                if batch.records.is_empty() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                let now = time::OffsetDateTime::now_utc();
                let response = realtime::push::handle(batch, &store, &management, now).await;
                assert!(response.batch_item_failures.is_empty(), "{response:?}");
            }
        })
    };

    // The messages: pair k % pairs, each direction in turn; `in_flight` at once.
    let started = Instant::now();
    let sends = futures_util::stream::iter(0..messages)
        .map(|k| {
            let app = app.clone();
            let (client, freelancer, conversation) = &pairs[k % pairs.len()];
            let (sender, recipient) = if (k / pairs.len()) % 2 == 0 {
                (client, freelancer)
            } else {
                (freelancer, client)
            };
            let (token, recipient, path) = (
                sender.access_token.clone(),
                recipient.id,
                format!("/conversations/{conversation}/messages"),
            );
            async move {
                let sent_at = Instant::now();
                let sent = app
                    .post(
                        &path,
                        &json!({"text": format!("Message {k}")}),
                        Some(&token),
                    )
                    .await;
                assert_eq!(sent.status, 201, "{sent:?}");
                let id = sent.body["message"]["id"]
                    .as_str()
                    .expect("an id")
                    .to_owned();
                (id, (recipient, sent_at))
            }
        })
        .buffer_unordered(in_flight)
        .collect::<HashMap<String, (Uuid, Instant)>>();
    let expected = messages * DEVICES;
    let receive = async {
        let mut seen = Vec::new();
        let mut received = 0;
        while received < expected {
            let next = tokio::time::timeout(Duration::from_secs(120), seen_rx.recv()).await;
            let Ok(Some(push)) = next else {
                panic!("{received} of {expected} message pushes arrived; the rest never did")
            };
            if push.push_type == "message.received" {
                received += 1;
            }
            seen.push(push);
        }
        seen
    };
    let (sent, seen) = tokio::join!(sends, receive);
    done.store(true, Ordering::SeqCst);
    pump.await.expect("the stream pump ran");

    let last = seen.iter().map(|push| push.at).max().expect("pushes");
    let elapsed = (last - started).as_secs_f64();
    let mut latencies: Vec<Duration> = seen
        .iter()
        .filter_map(|push| {
            let (recipient, sent_at) = sent.get(push.message_id.as_ref()?)?;
            assert_eq!(
                *recipient, push.user_id,
                "a message reached its recipient only"
            );
            Some(push.at.saturating_duration_since(*sent_at))
        })
        .collect();
    assert_eq!(
        latencies.len(),
        expected,
        "every device got every message once"
    );
    latencies.sort();
    let pushes = seen.len();
    println!(
        "\n| connections | messages | in flight | connect s (tickets + handshakes) | pushes received (message.received + unread.changed) | seconds, first send to last push | messages/s end to end | pushes/s | latency p50 ms | latency p99 ms | latency max ms |\n|---|---|---|---|---|---|---|---|---|---|---|\n| {connections} | {messages} | {in_flight} | {connect_secs:.1} | {pushes} | {elapsed:.1} | {:.1} | {:.1} | {} | {} | {} |",
        messages as f64 / elapsed,
        pushes as f64 / elapsed,
        percentile(&latencies, 0.50).as_millis(),
        percentile(&latencies, 0.99).as_millis(),
        latencies[latencies.len() - 1].as_millis(),
    );
}

//! SES failing for some recipients, with the notifier's SES client pointed at
//! `bridge::ses_faults::FaultProxy` (a proxy in front of moto that fails the sends to chosen
//! addresses) and its queue set up as infra sets it up (a DLQ after `maxReceiveCount` receives,
//! read from `infra/template.yaml`). Deliveries follow Lambda's SQS event source: a batch of up
//! to 10, the messages not in `batchItemFailures` deleted, the others back after the visibility
//! timeout (here made visible at once instead of waiting for it).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_sqs::types::{Message, QueueAttributeName};
use bridge::ses_faults::{Fault, FaultProxy};
use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::events::Event;
use gigmarket_tests::TestApp;
use gigmarket_tests::pipeline::{Pipeline, delete_messages, mail_to};
use notifier::{MAIL_CLAIM_LEASE_SECS, MAIL_DEDUPE_TTL_SECS, Notifier};
use serde_json::Value;
use uuid::Uuid;

/// The SAM template's order-events queue: (visibility timeout, maxReceiveCount).
fn infra_queue_settings() -> (i64, i64) {
    let text = std::fs::read_to_string(gigmarket_tests::repo_path("infra/template.yaml"))
        .expect("infra/template.yaml");
    let yaml: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    let template: Value = serde_json::to_value(yaml).expect("as JSON");
    let queue = &template["Resources"]["OrderEventsQueue"]["Properties"];
    (
        queue["VisibilityTimeout"]
            .as_i64()
            .expect("visibility timeout"),
        queue["RedrivePolicy"]["maxReceiveCount"]
            .as_i64()
            .expect("maxReceiveCount"),
    )
}

/// An order-events queue in moto with its DLQ and redrive policy as infra has them.
struct EventsQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
    dlq_url: String,
}

impl EventsQueue {
    async fn create(sqs: &aws_sdk_sqs::Client, max_receive_count: i64) -> Self {
        let name = format!("faults-{}", Uuid::new_v4().simple());
        let dlq_url = sqs
            .create_queue()
            .queue_name(format!("{name}-dlq"))
            .send()
            .await
            .expect("DLQ created")
            .queue_url
            .expect("DLQ url");
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("DLQ attributes")
            .attributes
            .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
            .expect("DLQ ARN");
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": max_receive_count,
        });
        let url = sqs
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .expect("queue created")
            .queue_url
            .expect("queue url");
        Self {
            sqs: sqs.clone(),
            url,
            dlq_url,
        }
    }

    /// Everything visible on `queue_url`, each message received once (and hidden for a minute).
    async fn receive(&self, queue_url: &str) -> Vec<Message> {
        let mut messages = Vec::new();
        loop {
            let batch = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .visibility_timeout(60)
                .send()
                .await
                .expect("receive")
                .messages
                .unwrap_or_default();
            if batch.is_empty() {
                return messages;
            }
            messages.extend(batch);
        }
    }

    /// One delivery of every visible message to `notifier`, in batches of up to 10 as Lambda
    /// hands them. Acknowledged messages are deleted; the failed ones are made visible again (as
    /// when the visibility timeout has passed). Returns the events delivered (by message id)
    /// and the ids of the messages that failed.
    async fn deliver(&self, notifier: &Notifier) -> (BTreeMap<String, Event>, BTreeSet<String>) {
        let messages = self.receive(&self.url).await;
        let mut failed = BTreeSet::new();
        for batch in messages.chunks(10) {
            let response = notifier.handle(Pipeline::sqs_event(batch)).await;
            let batch_failed: BTreeSet<String> = response
                .batch_item_failures
                .into_iter()
                .map(|failure| failure.item_identifier)
                .collect();
            let acknowledged = batch
                .iter()
                .filter(|message| !batch_failed.contains(message.message_id().unwrap()));
            delete_messages(&self.sqs, &self.url, acknowledged).await;
            for message in batch
                .iter()
                .filter(|message| batch_failed.contains(message.message_id().unwrap()))
            {
                self.make_visible(message).await;
            }
            failed.extend(batch_failed);
        }
        (events_by_id(&messages), failed)
    }

    async fn make_visible(&self, message: &Message) {
        self.sqs
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(message.receipt_handle().unwrap())
            .visibility_timeout(0)
            .send()
            .await
            .expect("visible again");
    }
}

/// The stream's order events so far, queued on `queue` by the dispatcher.
async fn dispatch(pipeline: &mut Pipeline, queue: &EventsQueue) {
    let queues = dispatcher::Queues {
        events: queue.url.clone(),
        ..pipeline.queues()
    };
    let response = dispatcher::handle(pipeline.stream_event().await, &queue.sqs, &queues).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
}

fn events_by_id(messages: &[Message]) -> BTreeMap<String, Event> {
    messages
        .iter()
        .map(|message| {
            (
                message.message_id().unwrap().to_owned(),
                serde_json::from_str(message.body().unwrap()).unwrap(),
            )
        })
        .collect()
}

/// The notifier as deployed, but mailing through `proxy`.
fn notifier_through(app: &TestApp, proxy: &FaultProxy) -> Notifier {
    let ses = aws_sdk_ses::Client::from_conf(
        aws_sdk_ses::config::Builder::from(&app.sdk)
            .endpoint_url(&proxy.endpoint)
            .build(),
    );
    Notifier {
        ses,
        ..app.notifier()
    }
}

/// How many mails moto accepted for `address`, by subject.
async fn mail_counts(address: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for mail in mail_to(address).await {
        *counts.entry(mail.subject).or_default() += 1;
    }
    counts
}

fn moto() -> String {
    std::env::var("MOTO_ENDPOINT").expect("MOTO_ENDPOINT (source scripts/env.sh)")
}

/// SES throttles every send to the client: only the messages with a mail to the client are
/// retried (the freelancer's mail of the same event is sent once, in the first delivery), each
/// delivery is a fresh SES attempt, and after `maxReceiveCount` receives they are in the DLQ.
/// Nobody gets a mail twice.
#[tokio::test]
async fn a_failing_recipient_is_retried_alone_until_the_dlq() {
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let (_, max_receive_count) = infra_queue_settings();
    let queue = EventsQueue::create(&pipeline.sqs, max_receive_count).await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    // paid (to both: the freelancer's new order, the client's receipt), accepted (to the
    // client); paid, cancelled (to both).
    app.order_in(&cast, &gig, "in_progress").await;
    app.order_in(&cast, &gig, "cancelled").await;
    dispatch(&mut pipeline, &queue).await;

    let proxy = FaultProxy::start(&moto(), vec![Fault::throttle(&cast.client.email)])
        .await
        .unwrap();
    let notifier = notifier_through(&app, &proxy);
    let (events, failed) = queue.deliver(&notifier).await;
    let mut types: Vec<String> = events.values().map(|e| e.event_type.to_string()).collect();
    types.sort();
    assert_eq!(
        types,
        [
            "order.accepted",
            "order.cancelled",
            "order.paid",
            "order.paid"
        ]
    );
    let to_client: BTreeSet<String> = events
        .iter()
        .filter(|(_, event)| {
            event
                .notice()
                .unwrap()
                .recipients()
                .iter()
                .any(|recipient| recipient.user_id == cast.client.id)
        })
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(to_client.len(), 4, "both receipts, accepted and cancelled");
    assert_eq!(
        failed, to_client,
        "delivery 1: exactly the messages with a mail to the client fail"
    );
    let mut deliveries = 1;
    loop {
        let (_, failed) = queue.deliver(&notifier).await;
        if failed.is_empty() {
            break;
        }
        deliveries += 1;
        assert_eq!(
            failed, to_client,
            "delivery {deliveries}: the same messages fail, nothing else is delivered"
        );
        assert!(deliveries <= max_receive_count, "past maxReceiveCount");
    }
    assert_eq!(
        deliveries, max_receive_count,
        "each failing message was received maxReceiveCount times"
    );
    assert!(
        proxy.refused() >= 2 * max_receive_count as usize,
        "SES was asked at every delivery: {} refusals",
        proxy.refused()
    );

    let dead: BTreeSet<String> = queue
        .receive(&queue.dlq_url)
        .await
        .iter()
        .map(|message| message.message_id().unwrap().to_owned())
        .collect();
    assert_eq!(dead, to_client, "then they are in the DLQ, nothing else");
    assert!(mail_to(&cast.client.email).await.is_empty());
    let title = &gig.title;
    assert_eq!(
        mail_counts(&cast.freelancer.email).await,
        BTreeMap::from([
            (format!("New order: {title}"), 2),
            (format!("Order cancelled: {title}"), 1),
        ]),
        "the freelancer's mails, each once (two orders placed), the cancellation despite the client's failures"
    );
}

/// The notifier dies after SES accepted a mail and before it marked the claim sent. A
/// redelivery within the claim's lease reports the message failed and sends nothing; a
/// delivery after the lease takes the claim over and sends the mail again: the one window in
/// which a mail can go out twice (docs/reliability.md says how wide it is).
#[tokio::test]
async fn a_crash_after_the_send_is_not_resent_within_the_lease() {
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let (visibility, max_receive_count) = infra_queue_settings();
    let queue = EventsQueue::create(&pipeline.sqs, max_receive_count).await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    app.order_in(&cast, &gig, "pending").await;
    dispatch(&mut pipeline, &queue).await;
    let subject = format!("New order: {}", gig.title);

    // SES accepts the mail; the answer never comes, and the invocation ends there (a timeout, an
    // out-of-memory kill): its future is dropped mid-send.
    let proxy = FaultProxy::start(
        &moto(),
        vec![Fault::accept_then_hang(&cast.freelancer.email)],
    )
    .await
    .unwrap();
    let crashing = notifier_through(&app, &proxy);
    let messages = queue.receive(&queue.url).await;
    let events = events_by_id(&messages);
    assert_eq!(events.len(), 1, "order.paid");
    let (message_id, placed) = events.into_iter().next().unwrap();
    tokio::select! {
        response = crashing.handle(Pipeline::sqs_event(&messages)) => {
            panic!("the held send answered: {response:?}")
        }
        () = proxy.accepted_and_held() => {}
    }
    drop(crashing);
    queue.make_visible(&messages[0]).await;
    assert_eq!(mail_counts(&cast.freelancer.email).await[&subject], 1);

    // Redelivered to a healthy notifier within the lease: the claim is in flight, so the message
    // fails (and is retried) and nothing is sent.
    let healthy = app.notifier();
    for _ in 0..2 {
        let (_, failed) = queue.deliver(&healthy).await;
        assert_eq!(failed, BTreeSet::from([message_id.clone()]));
        assert_eq!(mail_counts(&cast.freelancer.email).await[&subject], 1);
    }

    // After the lease the claim may be taken over: the delivery then would send the mail again.
    let after_lease = gigmarket_shared::unix_now() + MAIL_CLAIM_LEASE_SECS + 1;
    let claim = app
        .state
        .store
        .claim_mail(
            &placed.event_id,
            cast.freelancer.id,
            after_lease,
            MAIL_CLAIM_LEASE_SECS,
            MAIL_DEDUPE_TTL_SECS,
        )
        .await
        .unwrap();
    assert_eq!(
        claim,
        gigmarket_shared::store::orders::MailClaim::Claimed,
        "a claim nobody marked is taken over after its lease"
    );
    // With infra's queue, that delivery comes before the DLQ: receives are a visibility timeout
    // apart, so the lease has passed by receive 1 + lease / visibility + 1 at the latest.
    let takeover_receive = 1 + MAIL_CLAIM_LEASE_SECS / visibility + 1;
    assert!(
        takeover_receive <= max_receive_count,
        "a crashed send is retried (receive {takeover_receive}) before the DLQ (after {max_receive_count})"
    );
}

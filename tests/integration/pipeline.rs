//! The event pipeline in-process against the real local stack: real stream records from DynamoDB
//! Local through the `dispatcher` handler into a real moto queue, real SQS messages through the
//! `notifier` handler into moto's SES. Redelivery at both hops sends no second mail.

use std::collections::HashSet;

use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::domain::order::{Actor, Party};
use gigmarket_shared::events::{
    Event, EventType, RecipientRole, ReviewEventKind, ReviewSummary, SCHEMA_VERSION, Subject,
};
use gigmarket_tests::TestApp;
use gigmarket_tests::pipeline::{
    Pipeline, delete_messages, lifecycle_subjects, mail_to, subjects_to,
};

#[tokio::test]
async fn order_changes_become_events_and_each_mail_is_sent_once() {
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let order_id = app.order_in(&cast, &gig, "completed").await;

    // Stream -> dispatcher -> queue.
    let stream_event = pipeline.stream_event().await;
    assert!(
        stream_event.records.len() > 4,
        "users, gig, order items and timeline entries are all on the stream"
    );
    let response =
        dispatcher::handle(stream_event.clone(), &pipeline.sqs, &pipeline.queues()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let messages = pipeline.receive_all().await;
    let events: Vec<Event> = messages
        .iter()
        .map(|message| serde_json::from_str(message.body().unwrap()).unwrap())
        .collect();
    let mut types: Vec<String> = events.iter().map(|e| e.event_type.to_string()).collect();
    types.sort();
    assert_eq!(
        types,
        [
            "order.accepted",
            "order.completed",
            "order.delivered",
            "order.paid"
        ],
        "one event per order change, none for other items"
    );
    let ids: HashSet<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.contains(format!("order:{order_id}:2").as_str()));
    let completed = events
        .iter()
        .find(|e| e.event_type.to_string() == "order.completed")
        .unwrap();
    let Subject::Order(completed_order) = &completed.subject else {
        panic!("an order event: {completed:?}");
    };
    assert_eq!(completed_order.status.as_str(), "completed");
    assert_eq!(completed.actor.id, Some(cast.client.id));
    assert_eq!(completed.version, 1);
    assert_eq!(
        messages[0].message_attributes().unwrap()["event_type"].string_value(),
        Some(events[0].event_type.to_string().as_str())
    );

    // The stream retries the batch (say the dispatcher died after sending): the same events
    // again, with the same ids.
    let again = dispatcher::handle(stream_event, &pipeline.sqs, &pipeline.queues()).await;
    assert!(again.batch_item_failures.is_empty());
    let duplicates = pipeline.receive_all().await;
    let duplicate_ids: HashSet<String> = duplicates
        .iter()
        .map(|m| {
            serde_json::from_str::<Event>(m.body().unwrap())
                .unwrap()
                .event_id
        })
        .collect();
    assert_eq!(
        duplicate_ids,
        ids.iter().map(|id| id.to_string()).collect::<HashSet<_>>()
    );

    // Queue -> notifier -> SES, with the duplicates in the same batch.
    let mut all = messages.clone();
    all.extend(duplicates);
    let notifier = app.notifier();
    for batch in all.chunks(10) {
        let response = notifier.handle(Pipeline::sqs_event(batch)).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    let (expected_freelancer, expected_client) = lifecycle_subjects(&gig.title);
    assert_eq!(
        subjects_to(&cast.freelancer.email).await,
        expected_freelancer
    );
    assert_eq!(subjects_to(&cast.client.email).await, expected_client);
    let mail = mail_to(&cast.freelancer.email).await;
    assert!(mail[0].body.contains("Hello Test freelancer"), "{mail:?}");

    // SQS redelivers the whole batch: nothing new is sent.
    let response = notifier.handle(Pipeline::sqs_event(&messages)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        subjects_to(&cast.freelancer.email).await,
        expected_freelancer
    );
    assert_eq!(subjects_to(&cast.client.email).await, expected_client);
    assert!(subjects_to(&cast.stranger.email).await.is_empty());
    assert!(subjects_to(&cast.admin.email).await.is_empty());
}

#[tokio::test]
async fn notifier_fails_only_the_bad_messages() {
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    app.order_in(&cast, &gig, "pending").await;
    let queues = pipeline.queues();
    let response = dispatcher::handle(pipeline.stream_event().await, &pipeline.sqs, &queues).await;
    assert!(response.batch_item_failures.is_empty());
    let mut messages = pipeline.receive_all().await;
    assert_eq!(messages.len(), 1);
    let mut poison = messages[0].clone();
    poison.message_id = Some("poison-1".to_owned());
    poison.body = Some("{\"not\": \"an event\"}".to_owned());
    let mut future_schema = messages[0].clone();
    future_schema.message_id = Some("future-1".to_owned());
    let mut event: serde_json::Value = serde_json::from_str(future_schema.body().unwrap()).unwrap();
    event["version"] = 2.into();
    event["event_id"] = "order:other:1".into();
    future_schema.body = Some(event.to_string());
    messages.push(poison);
    messages.push(future_schema);

    let response = app.notifier().handle(Pipeline::sqs_event(&messages)).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["poison-1", "future-1"]);
    assert_eq!(subjects_to(&cast.freelancer.email).await.len(), 1);
}

#[tokio::test]
async fn dispatcher_reports_records_it_could_not_queue() {
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    app.order_in(&cast, &gig, "in_progress").await;
    let event = pipeline.stream_event().await;
    let order_records: Vec<String> = event
        .records
        .iter()
        .filter(|record| dispatcher::event_for(record).unwrap().is_some())
        .map(|record| record.change.sequence_number.clone().unwrap())
        .collect();
    assert_eq!(order_records.len(), 2, "placed and accepted");
    let missing_queue = format!("{}-missing", pipeline.queue_url);
    let queues = dispatcher::Queues {
        events: missing_queue,
        ..pipeline.queues()
    };
    let response = dispatcher::handle(event, &pipeline.sqs, &queues).await;
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .filter_map(|failure| failure.item_identifier)
        .collect();
    assert_eq!(
        failed, order_records,
        "exactly the order records are retried; the rest are acknowledged"
    );
}

/// A second subject needs no new plumbing: a `review.published` event
/// goes through the same notifier, claim and dedupe, and mails only the reviewed party, once.
#[tokio::test]
async fn the_notifier_mails_any_subject_through_the_same_claims() {
    let (app, _pipeline) = TestApp::with_pipeline().await;
    let cast = app.cast().await;
    let order_id = uuid::Uuid::now_v7();
    let event = Event {
        event_id: format!("review:{order_id}:client"),
        event_type: EventType::Review(ReviewEventKind::Published),
        occurred_at: time::OffsetDateTime::now_utc(),
        actor: Actor::user(cast.client.id, Party::Client),
        subject: Subject::Review(ReviewSummary {
            review_id: uuid::Uuid::now_v7(),
            order_id,
            gig_title: "A logo".to_owned(),
            reviewee_id: cast.freelancer.id,
            reviewee_role: RecipientRole::Freelancer,
            rating: 4,
            comment: "Quick and clean".to_owned(),
            window_closes_at: time::OffsetDateTime::now_utc(),
        }),
        version: SCHEMA_VERSION,
    };
    let message = aws_sdk_sqs::types::Message::builder()
        .message_id("review-1")
        .receipt_handle("handle-1")
        .body(serde_json::to_string(&event).unwrap())
        .build();
    let notifier = app.notifier();
    for _delivery in 0..2 {
        let response = notifier
            .handle(Pipeline::sqs_event(std::slice::from_ref(&message)))
            .await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    assert_eq!(
        subjects_to(&cast.freelancer.email).await,
        ["New review: 4 stars for A logo"]
    );
    assert!(subjects_to(&cast.client.email).await.is_empty());
}

// ---- account mails (email verification, password reset) ----

/// `auth` queues the verification mail itself; the notifier mails it to the unverified address,
/// and nothing else (here: a message notification) until the address is verified.
#[tokio::test]
async fn unverified_addresses_get_only_account_mails_until_verified() {
    use gigmarket_shared::domain::message::Message;
    use gigmarket_shared::domain::user::{Caller, Role};

    let (app, pipeline) = TestApp::with_pipeline().await;
    let user = app.register_unverified("client").await;
    let sender = app.register_freelancer().await;
    let message_event = || {
        let message = Message::new(
            uuid::Uuid::new_v4(),
            Caller {
                id: sender.id,
                role: Role::Freelancer,
                session: None,
            },
            user.id,
            "Hello, can I help with your logo?".to_owned(),
            time::OffsetDateTime::now_utc(),
        );
        serde_json::to_string(&Event::for_message(&message)).unwrap()
    };
    let types = queue_and_notify(&app, &pipeline, message_event()).await;
    assert!(
        types.contains(&"account.verification_requested".to_owned()),
        "registration queued the verification mail: {types:?}"
    );
    let mails = mail_to(&user.email).await;
    assert_eq!(
        mails
            .iter()
            .map(|mail| mail.subject.as_str())
            .collect::<Vec<_>>(),
        ["Verify your email address for Gigmarket"],
        "the message notification is not mailed to an unverified address"
    );

    // The link in the mail verifies the account; then other mails reach it.
    let token = mails[0]
        .body
        .split("token=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == '<').next())
        .expect("a link with a token");
    let verified = app
        .post("/auth/verify", &serde_json::json!({"token": token}), None)
        .await;
    assert_eq!(verified.status, 200, "{verified:?}");
    queue_and_notify(&app, &pipeline, message_event()).await;
    assert!(
        subjects_to(&user.email)
            .await
            .contains(&"You have a new message on Gigmarket".to_owned()),
        "mailed once verified"
    );
}

/// Queues `event`, runs the notifier over everything on the queue (account mails included) and
/// returns the types of what it handled.
async fn queue_and_notify(app: &TestApp, pipeline: &Pipeline, event: String) -> Vec<String> {
    pipeline
        .sqs
        .send_message()
        .queue_url(&pipeline.queue_url)
        .message_body(event)
        .send()
        .await
        .unwrap();
    let messages = pipeline.receive_everything().await;
    let response = app.notifier().handle(Pipeline::sqs_event(&messages)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    messages
        .iter()
        .map(|message| {
            serde_json::from_str::<Event>(message.body().unwrap())
                .unwrap()
                .event_type
                .to_string()
        })
        .collect()
}

// ---- payout mails (funds cleared, withdrawal sent) ----

/// The freelancer's earnings clear (the scheduler's use case, a clearance period on) and are
/// withdrawn (written through the store as the withdrawal use case writes them, one transfer
/// made and one refused): one `funds.cleared` per earning and one `withdrawal.sent` once no
/// transfer is on its way, each mailed once however often the records and messages come again.
#[tokio::test]
async fn cleared_earnings_and_settled_withdrawals_are_mailed_once() {
    use gigmarket_shared::domain::money::Currency;
    use gigmarket_shared::domain::payout::{TransferStatus, Withdrawal, plan_withdrawal};
    use gigmarket_shared::events::format_money;
    use gigmarket_shared::store::payouts::{WithdrawalRequest, WithdrawalWrite};
    use time::{Duration, OffsetDateTime};

    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let store = &app.state.store;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let orders = [
        app.order_in(&cast, &gig, "completed").await,
        app.order_in(&cast, &gig, "completed").await,
    ];
    // The orders' own events are another test's: only what follows is dispatched here.
    pipeline.stream_event().await;

    let later = OffsetDateTime::now_utc() + Duration::days(15);
    let cleared =
        gigmarket_shared::app::payouts::clear_earnings(store, Duration::days(14), later, 100)
            .await
            .unwrap();
    assert_eq!(cleared, 2);
    let eur = Currency::parse("EUR").unwrap();
    let mut available = store
        .available_earnings(cast.freelancer.id, &eur, 50)
        .await
        .unwrap();
    available.sort_by_key(|earning| earning.order_id);
    assert_eq!(available.len(), 2);

    // Clearance: one event per earning, its id from the order.
    let stream_event = pipeline.stream_event().await;
    let events = dispatch_and_mail_twice(&app, &pipeline, stream_event).await;
    let ids: HashSet<String> = events.iter().map(|event| event.event_id.clone()).collect();
    let expected: HashSet<String> = orders
        .iter()
        .map(|order_id| format!("funds:{order_id}:cleared"))
        .collect();
    assert_eq!(ids, expected, "one funds.cleared per earning: {events:?}");
    assert!(
        events
            .iter()
            .all(|event| event.event_type.to_string() == "funds.cleared")
    );
    let cleared_subjects: Vec<String> = available
        .iter()
        .map(|earning| {
            format!(
                "{} is available to withdraw",
                format_money(earning.amount_cents, "EUR")
            )
        })
        .collect();
    let mut mailed = subjects_to(&cast.freelancer.email).await;
    mailed.sort();
    let mut wanted = cleared_subjects.clone();
    wanted.sort();
    assert_eq!(mailed, wanted, "each cleared earning mailed once");
    let mail = mail_to(&cast.freelancer.email).await;
    assert!(
        mail.iter().any(|mail| mail.body.contains(&format!(
            "{} from order {} is now available to withdraw",
            format_money(available[0].amount_cents, "EUR"),
            available[0].order_id
        ))),
        "{mail:?}"
    );
    assert!(subjects_to(&cast.client.email).await.is_empty());

    // A withdrawal of both earnings, recorded as the use case records it.
    let now = OffsetDateTime::now_utc();
    let plan = plan_withdrawal(&available, &eur, None, 0).unwrap();
    let recorded = Withdrawal::planned(
        uuid::Uuid::now_v7(),
        cast.freelancer.id,
        &eur,
        "acct_pipeline",
        &plan,
        &available,
        now,
    );
    let request = WithdrawalRequest {
        user_id: cast.freelancer.id,
        withdrawal_id: recorded.id,
        amount_cents: None,
        currency: "EUR".to_owned(),
        expires_at: now.unix_timestamp() + 3600,
    };
    let written = store
        .record_withdrawal(&recorded, &available, &request, "pipeline-withdrawal")
        .await
        .unwrap();
    assert!(matches!(written, WithdrawalWrite::Recorded), "{written:?}");
    let step = |before: &Withdrawal, index: usize, status: TransferStatus| {
        let mut after = before.clone();
        after.updated_at = before.updated_at + Duration::milliseconds(1);
        after.transfers[index].status = status;
        after.transfers[index].transfer_id =
            (status != TransferStatus::Returned).then(|| format!("tr_pipeline_{index}"));
        after
    };
    // The first transfer is made (one still on its way: no mail yet), the second refused (its
    // amount back in available: now the withdrawal is settled), then Stripe confirms the first.
    let first_made = step(&recorded, 0, TransferStatus::Sent);
    assert!(
        store
            .record_transfer(&recorded, &first_made, None)
            .await
            .unwrap()
    );
    let second_refused = step(&first_made, 1, TransferStatus::Returned);
    let refused_earning = store
        .get_earning(cast.freelancer.id, recorded.transfers[1].order_id)
        .await
        .unwrap()
        .unwrap();
    let returned_cents = recorded.transfers[1].amount_cents;
    assert!(
        store
            .record_transfer(
                &first_made,
                &second_refused,
                Some((&refused_earning, returned_cents))
            )
            .await
            .unwrap()
    );
    let confirmed = step(&second_refused, 0, TransferStatus::Confirmed);
    assert!(
        store
            .record_transfer(&second_refused, &confirmed, None)
            .await
            .unwrap()
    );

    let stream_event = pipeline.stream_event().await;
    // The records as the deployed filter reads them (the stream's JSON).
    let withdrawal_images: Vec<serde_json::Value> = stream_event
        .records
        .iter()
        .map(|record| serde_json::to_value(record).unwrap()["dynamodb"]["NewImage"].clone())
        .filter(|image| image["entity"]["S"] == "withdrawal")
        .collect();
    // The dispatcher's filter passes withdrawals without a gsi3 key (no transfer on its way):
    // the written and the half-made one carry it, the settled ones do not.
    assert_eq!(
        withdrawal_images
            .iter()
            .map(|image| image.get("gsi3pk").is_some())
            .collect::<Vec<_>>(),
        [true, true, false, false],
        "written, made, refused, confirmed"
    );
    let settling = stream_event
        .records
        .iter()
        .filter(|record| dispatcher::event_for(record).unwrap().is_some())
        .count();
    assert_eq!(settling, 1, "only the write that settled it is an event");
    let events = dispatch_and_mail_twice(&app, &pipeline, stream_event).await;
    let ids: HashSet<String> = events.iter().map(|event| event.event_id.clone()).collect();
    assert_eq!(
        ids,
        HashSet::from([format!("withdrawal:{}:sent", recorded.id)]),
        "one event (queued again by the retried batch), for the refusal that settled it"
    );
    assert!(
        events
            .iter()
            .all(|event| event.event_type.to_string() == "withdrawal.sent")
    );
    let sent_cents = recorded.transfers[0].amount_cents;
    let sent_subject = format!("{} is on its way to you", format_money(sent_cents, "EUR"));
    let mut wanted = cleared_subjects;
    wanted.push(sent_subject.clone());
    wanted.sort();
    let mut mailed = subjects_to(&cast.freelancer.email).await;
    mailed.sort();
    assert_eq!(mailed, wanted, "the withdrawal mailed once");
    let mail = mail_to(&cast.freelancer.email).await;
    let sent_mail = mail
        .iter()
        .find(|mail| mail.subject == sent_subject)
        .unwrap();
    assert!(
        sent_mail.body.contains(&format!(
            "{} could not be transferred and is available again",
            format_money(returned_cents, "EUR")
        )),
        "{sent_mail:?}"
    );
}

/// A dispute of an order's charge mails its freelancer as the bank opens it and as it decides,
/// once each, however often the records are delivered; the order's client hears nothing.
#[tokio::test]
async fn disputes_are_mailed_to_the_freelancer_as_they_open_and_close() {
    use gigmarket_tests::payments::{CARD_DISPUTED, submit_evidence};
    use time::OffsetDateTime;

    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let order_id = app.place_unpaid_order(&cast.client, &gig).await;
    app.pay_order_with(order_id, CARD_DISPUTED, OffsetDateTime::now_utc())
        .await;
    let intent_id = app.payment_intent(order_id).await.id;
    // The order's own events are another test's: only what follows is dispatched here.
    pipeline.stream_event().await;

    let opened = app
        .deliver_dispute_event("charge.dispute.created", &intent_id)
        .await;
    assert_eq!(opened.body["outcome"], "recorded", "{opened:?}");
    let dispute_id = app.dispute_id_of(&intent_id).await;
    let records = pipeline.stream_event().await;
    let events: Vec<Event> = dispatch_and_mail_twice(&app, &pipeline, records)
        .await
        .into_iter()
        .filter(|event| event.event_type.to_string().starts_with("dispute."))
        .collect();
    // Dispatched twice, queued twice: one event id, mailed once below.
    let ids: HashSet<&str> = events.iter().map(|event| event.event_id.as_str()).collect();
    let opened_id = format!("dispute:{dispute_id}:opened");
    assert_eq!(ids, HashSet::from([opened_id.as_str()]), "{events:?}");
    assert_eq!(
        subjects_to(&cast.freelancer.email).await,
        [format!("The payment for order {order_id} is disputed")]
    );

    submit_evidence(&dispute_id, "losing_evidence").await;
    let closed = app
        .deliver_dispute_event("charge.dispute.closed", &intent_id)
        .await;
    assert_eq!(closed.body["outcome"], "recorded", "{closed:?}");
    let records = pipeline.stream_event().await;
    let events: Vec<Event> = dispatch_and_mail_twice(&app, &pipeline, records)
        .await
        .into_iter()
        .filter(|event| event.event_type.to_string().starts_with("dispute."))
        .collect();
    let ids: HashSet<&str> = events.iter().map(|event| event.event_id.as_str()).collect();
    let lost_id = format!("dispute:{dispute_id}:lost");
    assert_eq!(ids, HashSet::from([lost_id.as_str()]), "{events:?}");
    let mut subjects = subjects_to(&cast.freelancer.email).await;
    subjects.sort();
    assert_eq!(
        subjects,
        [
            format!("The payment for order {order_id} is disputed"),
            format!("The payment for order {order_id} went back to the client"),
        ]
    );
    assert!(subjects_to(&cast.client.email).await.is_empty());
}

/// The scheduler's automatic withdrawal is a withdrawal like the freelancer's own: once its
/// transfer is made, its freelancer is mailed that the money is on its way.
#[tokio::test]
async fn an_automatic_withdrawal_is_mailed_as_a_withdrawal() {
    use gigmarket_shared::domain::ledger::LedgerAccount;
    use gigmarket_shared::events::format_money;
    use time::{Duration, OffsetDateTime};

    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    app.order_in(&cast, &gig, "completed").await;
    app.onboard(&cast.freelancer).await;
    let on = app
        .payout_settings(
            &cast.freelancer,
            &serde_json::json!({"auto_withdraw": true}),
        )
        .await;
    assert_eq!(on.status, 200, "{on:?}");
    // The order's own events are another test's: only what follows is dispatched here.
    pipeline.stream_event().await;

    let later = OffsetDateTime::now_utc() + Duration::days(15);
    let summary = scheduler::run(&app.state.store, &app.stripe, later)
        .await
        .unwrap();
    assert_eq!(summary.auto_withdrawals, 1, "{summary:?}");
    let paid_out = gigmarket_tests::payments::balance(
        &app,
        LedgerAccount::FreelancerPaidOut(cast.freelancer.id),
    )
    .await;
    let stream_event = pipeline.stream_event().await;
    let events = dispatch_and_mail_twice(&app, &pipeline, stream_event).await;
    // One event (queued again by the retried batch).
    let sent: HashSet<&str> = events
        .iter()
        .filter(|event| event.event_type.to_string() == "withdrawal.sent")
        .map(|event| event.event_id.as_str())
        .collect();
    assert_eq!(sent.len(), 1, "{events:?}");
    let subject = format!(
        "{} is on its way to you",
        format_money(u64::try_from(paid_out).unwrap(), "EUR")
    );
    let mailed = subjects_to(&cast.freelancer.email).await;
    assert_eq!(
        mailed.iter().filter(|mailed| **mailed == subject).count(),
        1,
        "{mailed:?}"
    );
}

/// Runs the dispatcher twice over `stream_event` (a retried batch) and the notifier twice over
/// what it queued (a redelivery), then takes those messages off the queue; answers their events.
async fn dispatch_and_mail_twice(
    app: &TestApp,
    pipeline: &Pipeline,
    stream_event: aws_lambda_events::event::dynamodb::Event,
) -> Vec<Event> {
    for _delivery in 0..2 {
        let response =
            dispatcher::handle(stream_event.clone(), &pipeline.sqs, &pipeline.queues()).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    let messages = pipeline.receive_all().await;
    let notifier = app.notifier();
    for _delivery in 0..2 {
        let response = notifier.handle(Pipeline::sqs_event(&messages)).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    delete_messages(&pipeline.sqs, &pipeline.queue_url, &messages).await;
    messages
        .iter()
        .map(|message| serde_json::from_str::<Event>(message.body().unwrap()).unwrap())
        .collect()
}

/// An admin refunds part of a completed order: once Stripe accepted it, the client is mailed
/// what comes back to them and the freelancer what it took from their earnings, each once,
/// however often the records and messages come again.
#[tokio::test]
async fn an_admin_refund_is_mailed_to_the_client_and_the_freelancer_once() {
    use gigmarket_shared::app::admin::refunds::{RefundBody, refund_order};
    use gigmarket_shared::domain::audit::Actor as AuditActor;
    use gigmarket_shared::events::format_money;
    use time::OffsetDateTime;

    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let (cast, gig) = app.cast_with_gig().await;
    let order_id = app.place_order(&cast.client, &gig).await;
    for (who, step) in [
        (&cast.freelancer, "accept"),
        (&cast.freelancer, "deliver"),
        (&cast.client, "complete"),
    ] {
        app.order_step(who, order_id, step).await;
    }
    // The order's own events are another test's: only what follows is dispatched here.
    pipeline.stream_event().await;
    let clients_before = subjects_to(&cast.client.email).await;
    let freelancers_before = subjects_to(&cast.freelancer.email).await;

    let (_, refund) = refund_order(
        &app.state.store,
        &app.stripe,
        &AuditActor::admin(cast.admin.id, None),
        order_id,
        Ok(RefundBody {
            reason: "late delivery".to_owned(),
            amount_cents: Some(1_001),
        }),
        Some("pipeline-refund"),
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("the refund");
    let refund = refund.refund;
    let records = pipeline.stream_event().await;
    let events: Vec<Event> = dispatch_and_mail_twice(&app, &pipeline, records)
        .await
        .into_iter()
        .filter(|event| event.event_type.to_string().starts_with("admin_refund."))
        .collect();
    let ids: HashSet<&str> = events.iter().map(|event| event.event_id.as_str()).collect();
    let issued = format!("admin_refund:{}:issued", refund.id);
    assert_eq!(ids, HashSet::from([issued.as_str()]), "{events:?}");
    assert_eq!(events[0].event_type.to_string(), "admin_refund.issued");

    let amount = format_money(1_001, "EUR");
    let new_subjects = |before: Vec<String>, now: Vec<String>| -> Vec<String> {
        now.into_iter()
            .filter(|subject| !before.contains(subject))
            .collect()
    };
    assert_eq!(
        new_subjects(clients_before, subjects_to(&cast.client.email).await),
        [format!(
            "{amount} of your payment for order {order_id} is refunded"
        )]
    );
    assert_eq!(
        new_subjects(
            freelancers_before,
            subjects_to(&cast.freelancer.email).await
        ),
        [format!(
            "The client of order {order_id} was refunded {amount}"
        )]
    );
    let share = format_money(refund.freelancer_share_cents, "EUR");
    let mail = mail_to(&cast.freelancer.email).await;
    assert!(
        mail.iter().any(|mail| mail.body.contains(&format!(
            "{share} of it comes from your earnings from the order."
        ))),
        "{mail:?}"
    );
}

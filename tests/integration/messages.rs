//! `messages` function: opening conversations (contexts, blocked users, the hourly limit),
//! sending, the inbox with unread counts and read receipts, paging, and `GET /me`'s total.

use gigmarket_shared::app::messages as use_case;
use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::domain::message::OpenConversation;
use gigmarket_shared::domain::user::{Caller, Role, UserStatus};
use gigmarket_shared::events::Event;
use gigmarket_tests::pipeline::{Pipeline, mail_to};
use gigmarket_tests::{Session, TestApp, TestResponse};
use serde_json::{Value, json};
use uuid::Uuid;

async fn open(app: &TestApp, from: &Session, body: Value) -> TestResponse {
    app.post("/conversations", &body, Some(&from.access_token))
        .await
}

async fn open_with(app: &TestApp, from: &Session, to: &Session, text: &str) -> Uuid {
    let response = open(app, from, json!({"participant_id": to.id, "text": text})).await;
    assert!(
        response.status == 201 || response.status == 200,
        "{response:?}"
    );
    conversation_id(&response)
}

fn conversation_id(response: &TestResponse) -> Uuid {
    response.body["conversation"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a conversation: {response:?}"))
}

async fn send(app: &TestApp, from: &Session, conversation: Uuid, text: &str) -> TestResponse {
    app.post(
        &format!("/conversations/{conversation}/messages"),
        &json!({"text": text}),
        Some(&from.access_token),
    )
    .await
}

async fn inbox(app: &TestApp, who: &Session) -> Vec<Value> {
    let response = app.get("/conversations", Some(&who.access_token)).await;
    assert_eq!(response.status, 200, "{response:?}");
    response.body["items"].as_array().unwrap().clone()
}

async fn unread_total(app: &TestApp, who: &Session) -> u64 {
    let me = app.get("/me", Some(&who.access_token)).await;
    assert_eq!(me.status, 200);
    me.body["unread_messages"]
        .as_u64()
        .expect("unread_messages")
}

async fn block(app: &TestApp, user: &Session) {
    app.set_user_status(user.id, UserStatus::Blocked).await;
}

#[tokio::test]
async fn opening_twice_returns_the_same_conversation_with_both_messages() {
    let app = TestApp::new().await;
    let ann = app.register_client().await;
    let bob = app.register_freelancer().await;
    let first = open(
        &app,
        &ann,
        json!({"participant_id": bob.id, "text": " Hello Bob "}),
    )
    .await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(first.body["message"]["text"], "Hello Bob");
    assert_eq!(
        first.body["conversation"]["counterpart"]["id"],
        bob.id.to_string()
    );
    assert_eq!(
        first.body["conversation"]["counterpart"]["name"],
        "Test freelancer"
    );
    assert_eq!(first.body["conversation"]["unread_count"], 0);
    // Bob opening "the same" conversation (same pair, no context) lands in it: 200.
    let again = open(
        &app,
        &bob,
        json!({"participant_id": ann.id, "text": "Hi Ann"}),
    )
    .await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(conversation_id(&again), conversation_id(&first));
    let id = conversation_id(&first);
    let messages = app
        .get(
            &format!("/conversations/{id}/messages"),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(messages.status, 200);
    let texts: Vec<&str> = messages.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|message| message["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Hi Ann", "Hello Bob"], "newest first");
    // A different context is a different conversation.
    let gig = app.create_active_gig(bob.id, Revisions::Limited(1)).await;
    let about_gig = open(
        &app,
        &ann,
        json!({"participant_id": bob.id, "gig_id": gig.id, "text": "About your gig"}),
    )
    .await;
    assert_eq!(about_gig.status, 201, "{about_gig:?}");
    assert_ne!(conversation_id(&about_gig), id);
    assert_eq!(
        about_gig.body["conversation"]["context"]["gig_id"],
        gig.id.to_string()
    );
}

#[tokio::test]
async fn racing_opens_make_one_conversation() {
    let app = TestApp::new().await;
    let ann = app.register_client().await;
    let bob = app.register_freelancer().await;
    let (a, b) = tokio::join!(
        open(&app, &ann, json!({"participant_id": bob.id, "text": "one"})),
        open(&app, &bob, json!({"participant_id": ann.id, "text": "two"})),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 201], "{a:?} {b:?}");
    assert_eq!(conversation_id(&a), conversation_id(&b));
    assert_eq!(inbox(&app, &ann).await.len(), 1);
    assert_eq!(inbox(&app, &bob).await.len(), 1);
    assert_eq!(
        unread_total(&app, &ann).await + unread_total(&app, &bob).await,
        2
    );
}

#[tokio::test]
async fn requests_are_validated() {
    let app = TestApp::new().await;
    let ann = app.register_client().await;
    let bob = app.register_freelancer().await;
    let to_self = open(&app, &ann, json!({"participant_id": ann.id, "text": "me"})).await;
    assert_eq!(to_self.status, 400);
    assert_eq!(to_self.error_fields(), ["participant_id"]);
    let empty = open(&app, &ann, json!({"participant_id": bob.id, "text": "   "})).await;
    assert_eq!(empty.status, 400);
    assert_eq!(empty.error_fields(), ["text"]);
    let too_long = "x".repeat(5_001);
    let oversize = open(
        &app,
        &ann,
        json!({"participant_id": bob.id, "text": too_long}),
    )
    .await;
    assert_eq!(oversize.status, 400);
    assert_eq!(oversize.error_fields(), ["text"]);
    let unknown = open(
        &app,
        &ann,
        json!({"participant_id": Uuid::new_v4(), "text": "hi"}),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.problem(), "not-found");
    let unknown_field = open(
        &app,
        &ann,
        json!({"participant_id": bob.id, "text": "hi", "subject": "x"}),
    )
    .await;
    assert_eq!(unknown_field.status, 400);
    let no_token = app
        .post(
            "/conversations",
            &json!({"participant_id": bob.id, "text": "hi"}),
            None,
        )
        .await;
    assert_eq!(no_token.status, 401);
    let gig_missing = open(
        &app,
        &ann,
        json!({"participant_id": bob.id, "gig_id": Uuid::new_v4(), "text": "hi"}),
    )
    .await;
    assert_eq!(gig_missing.status, 404);

    let id = open_with(&app, &ann, &bob, "hi").await;
    let exactly_max = "é".repeat(5_000);
    assert_eq!(send(&app, &bob, id, &exactly_max).await.status, 201);
    let over = send(&app, &bob, id, &format!("{exactly_max}!")).await;
    assert_eq!(over.status, 400);
    assert_eq!(over.error_fields(), ["text"]);
    assert_eq!(send(&app, &bob, id, "").await.status, 400);
    // Nothing of the refused ones was stored.
    let page = app
        .get(
            &format!("/conversations/{id}/messages"),
            Some(&bob.access_token),
        )
        .await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn only_participants_see_or_write_a_conversation() {
    let app = TestApp::new().await;
    let ann = app.register_client().await;
    let bob = app.register_freelancer().await;
    let eve = app.register_client().await;
    let id = open_with(&app, &ann, &bob, "private").await;
    let paths = [
        ("GET", format!("/conversations/{id}/messages")),
        ("POST", format!("/conversations/{id}/messages")),
        ("POST", format!("/conversations/{id}/read")),
    ];
    for (method, path) in &paths {
        let response = if *method == "GET" {
            app.get(path, Some(&eve.access_token)).await
        } else {
            app.post(path, &json!({"text": "let me in"}), Some(&eve.access_token))
                .await
        };
        assert_eq!(response.status, 404, "{method} {path}: {response:?}");
        assert_eq!(response.problem(), "not-found");
    }
    let unknown = send(&app, &ann, Uuid::new_v4(), "hello?").await;
    assert_eq!(unknown.status, 404);
    let not_an_id = app
        .get("/conversations/nope/messages", Some(&ann.access_token))
        .await;
    assert_eq!(not_an_id.status, 404);
    assert!(inbox(&app, &eve).await.is_empty());
}

#[tokio::test]
async fn an_order_conversation_is_between_its_two_parties() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let order_id = app.order_in(&cast, &gig, "pending").await;
    let about_order =
        |to: Uuid| json!({"participant_id": to, "order_id": order_id, "text": "About the order"});
    // A stranger is no party: the order is not theirs to name.
    let stranger = open(&app, &cast.stranger, about_order(cast.freelancer.id)).await;
    assert_eq!(stranger.status, 404, "{stranger:?}");
    // A party may not pull a non-party into the order's conversation.
    let with_stranger = open(&app, &cast.client, about_order(cast.stranger.id)).await;
    assert_eq!(with_stranger.status, 403, "{with_stranger:?}");
    assert_eq!(with_stranger.problem(), "forbidden");
    let parties = open(&app, &cast.client, about_order(cast.freelancer.id)).await;
    assert_eq!(parties.status, 201, "{parties:?}");
    assert_eq!(
        parties.body["conversation"]["context"],
        json!({"order_id": order_id.to_string(), "gig_id": null})
    );
    let both = open(
        &app,
        &cast.client,
        json!({"participant_id": cast.freelancer.id, "order_id": order_id, "gig_id": gig.id, "text": "x"}),
    )
    .await;
    assert_eq!(both.status, 400);
}

#[tokio::test]
async fn blocked_users_can_not_start_or_send() {
    let app = TestApp::new().await;
    let ann = app.register_client().await;
    let bob = app.register_freelancer().await;
    let cid = app.register_client().await;
    let id = open_with(&app, &ann, &bob, "before").await;
    block(&app, &bob).await;
    // Ann can neither write to Bob in the existing conversation nor open a new one with him.
    let to_blocked = send(&app, &ann, id, "are you there?").await;
    assert_eq!(to_blocked.status, 403, "{to_blocked:?}");
    let gig = app.create_active_gig(bob.id, Revisions::Limited(1)).await;
    let new_with_blocked = open(
        &app,
        &ann,
        json!({"participant_id": bob.id, "gig_id": gig.id, "text": "hi"}),
    )
    .await;
    assert_eq!(new_with_blocked.status, 403, "{new_with_blocked:?}");
    // Bob's access token still runs until it expires, and he can not write either.
    let from_blocked = send(&app, &bob, id, "I am blocked").await;
    assert_eq!(from_blocked.status, 403);
    let opened_by_blocked = open(&app, &bob, json!({"participant_id": cid.id, "text": "hi"})).await;
    assert_eq!(opened_by_blocked.status, 403);
    assert_eq!(unread_total(&app, &ann).await, 0);
    assert_eq!(unread_total(&app, &cid).await, 0);
    assert!(inbox(&app, &cid).await.is_empty());
}

/// A test app that spawned tasks may share: it lives until the test process ends.
async fn shared_app() -> &'static TestApp {
    Box::leak(Box::new(TestApp::new().await))
}

#[tokio::test]
async fn concurrent_sends_keep_unread_counts_and_totals_exact() {
    let app = shared_app().await;
    let ann = app.register_client().await;
    let bob = app.register_freelancer().await;
    let cid = app.register_client().await;
    let with_bob = open_with(app, &ann, &bob, "hello bob").await;
    let with_cid = open_with(app, &ann, &cid, "hello cid").await;
    const EACH: usize = 6;
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..EACH {
        for (from, conversation, text) in [
            (bob.clone(), with_bob, format!("bob {round}")),
            (cid.clone(), with_cid, format!("cid {round}")),
            (ann.clone(), with_bob, format!("ann to bob {round}")),
        ] {
            tasks.spawn(async move { send(app, &from, conversation, &text).await });
        }
    }
    while let Some(response) = tasks.join_next().await {
        let response = response.unwrap();
        assert_eq!(response.status, 201, "{response:?}");
    }
    assert_eq!(unread_total(app, &ann).await, 2 * EACH as u64);
    assert_eq!(unread_total(app, &bob).await, 1 + EACH as u64);
    assert_eq!(unread_total(app, &cid).await, 1);
    let entries = inbox(app, &ann).await;
    assert_eq!(entries.len(), 2);
    let unread: u64 = entries
        .iter()
        .map(|entry| entry["unread_count"].as_u64().unwrap())
        .sum();
    assert_eq!(unread, 2 * EACH as u64, "entries add up to the total");
    let messages = app
        .get(
            &format!("/conversations/{with_bob}/messages?limit=100"),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(
        messages.body["items"].as_array().unwrap().len(),
        1 + 2 * EACH
    );

    // The most recent activity comes first.
    let later = send(app, &ann, with_cid, "latest").await;
    assert_eq!(later.status, 201);
    let entries = inbox(app, &ann).await;
    assert_eq!(entries[0]["id"], with_cid.to_string());
    assert_eq!(entries[0]["last_message"]["preview"], "latest");
    let entries = inbox(app, &bob).await;
    assert_eq!(entries[0]["counterpart"]["id"], ann.id.to_string());
}

#[tokio::test]
async fn reading_zeroes_the_count_lowers_the_total_and_shows_a_receipt() {
    let app = TestApp::new().await;
    let ann = app.register_client().await;
    let bob = app.register_freelancer().await;
    let cid = app.register_client().await;
    let with_bob = open_with(&app, &ann, &bob, "one").await;
    assert_eq!(send(&app, &ann, with_bob, "two").await.status, 201);
    let with_cid = open_with(&app, &cid, &bob, "from cid").await;
    assert_eq!(unread_total(&app, &bob).await, 3);
    let entry = |entries: &[Value], id: Uuid| {
        entries
            .iter()
            .find(|entry| entry["id"] == id.to_string())
            .cloned()
            .unwrap()
    };
    assert_eq!(
        entry(&inbox(&app, &ann).await, with_bob)["counterpart_last_read_at"],
        json!(null)
    );

    let read = app
        .post(
            &format!("/conversations/{with_bob}/read"),
            &json!({}),
            Some(&bob.access_token),
        )
        .await;
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.body["unread_count"], 0);
    assert!(read.body["last_read_at"].is_string());
    assert_eq!(
        unread_total(&app, &bob).await,
        1,
        "only cid's message is left"
    );
    let bobs = inbox(&app, &bob).await;
    assert_eq!(entry(&bobs, with_bob)["unread_count"], 0);
    assert_eq!(entry(&bobs, with_cid)["unread_count"], 1);
    // Ann sees that Bob read it (the receipt), Cid does not.
    assert_eq!(
        entry(&inbox(&app, &ann).await, with_bob)["counterpart_last_read_at"],
        read.body["last_read_at"]
    );
    assert_eq!(
        entry(&inbox(&app, &cid).await, with_cid)["counterpart_last_read_at"],
        json!(null)
    );
    // Reading again changes no count.
    let again = app
        .post(
            &format!("/conversations/{with_bob}/read"),
            &json!({}),
            Some(&bob.access_token),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(unread_total(&app, &bob).await, 1);
}

#[tokio::test]
async fn reads_racing_sends_leave_exact_totals() {
    let app = shared_app().await;
    let ann = app.register_client().await;
    let bob = app.register_freelancer().await;
    let id = open_with(app, &ann, &bob, "start").await;
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..8 {
        let ann = ann.clone();
        tasks.spawn(async move { send(app, &ann, id, &format!("m{round}")).await });
    }
    let read = app
        .post(
            &format!("/conversations/{id}/read"),
            &json!({}),
            Some(&bob.access_token),
        )
        .await;
    assert_eq!(read.status, 200, "{read:?}");
    while let Some(response) = tasks.join_next().await {
        assert_eq!(response.unwrap().status, 201);
    }
    let bobs = inbox(app, &bob).await;
    assert_eq!(
        bobs[0]["unread_count"].as_u64().unwrap(),
        unread_total(app, &bob).await,
        "the entry and the total agree whatever the interleaving"
    );
}

#[tokio::test]
async fn inbox_and_messages_are_paged() {
    let app = TestApp::new().await;
    let ann = app.register_client().await;
    let mut others = Vec::new();
    for _ in 0..3 {
        let other = app.register_freelancer().await;
        open_with(&app, &ann, &other, "hi").await;
        others.push(other);
    }
    let first = app
        .get("/conversations?limit=2", Some(&ann.access_token))
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let second = app
        .get(
            &format!("/conversations?limit=2&cursor={cursor}"),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["next_cursor"], json!(null));
    // Most recent first: the last conversation opened leads.
    assert_eq!(
        first.body["items"][0]["counterpart"]["id"],
        others[2].id.to_string()
    );

    let id = open_with(&app, &ann, &others[0], "more").await;
    for round in 0..4 {
        assert_eq!(
            send(&app, &others[0], id, &format!("r{round}"))
                .await
                .status,
            201
        );
    }
    let (ids, pages) = app
        .collect_pages(
            &format!("/conversations/{id}/messages?limit=2"),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(ids.len(), 6, "hi, more, r0..r3, each once");
    assert!(pages >= 3);
    // A cursor of the inbox is no cursor of the messages.
    let wrong = app
        .get(
            &format!("/conversations/{id}/messages?cursor={cursor}"),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(wrong.status, 400);
    let bad_limit = app
        .get("/conversations?limit=0", Some(&ann.access_token))
        .await;
    assert_eq!(bad_limit.status, 400);
}

#[tokio::test]
async fn opening_new_conversations_is_limited_per_hour() {
    gigmarket_tests::wait_unless_well_inside_the_clock_window(gigmarket_tests::CLOCK_HOUR).await;
    let app = TestApp::with_config(|config| config.conversations_per_hour = 2).await;
    let ann = app.register_client().await;
    let mut others = Vec::new();
    for _ in 0..4 {
        others.push(app.register_freelancer().await);
    }
    let first = open_with(&app, &ann, &others[0], "1").await;
    open_with(&app, &ann, &others[1], "2").await;
    let third = open(
        &app,
        &ann,
        json!({"participant_id": others[2].id, "text": "3"}),
    )
    .await;
    assert_eq!(third.status, 429, "{third:?}");
    assert_eq!(third.problem(), "rate-limited");
    let retry_after: u64 = third.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after));
    assert!(
        inbox(&app, &others[2]).await.is_empty(),
        "nothing was written"
    );
    // Existing conversations are not limited, and neither are other users.
    assert_eq!(send(&app, &ann, first, "still talking").await.status, 201);
    let again = open(
        &app,
        &ann,
        json!({"participant_id": others[0].id, "text": "again"}),
    )
    .await;
    assert_eq!(again.status, 200);
    open_with(&app, &others[3], &others[2], "someone else").await;

    // The next clock hour has a fresh allowance (driven through the use case's `now`).
    let caller = Caller {
        id: ann.id,
        role: Role::Client,
        session: None,
    };
    let request = OpenConversation {
        participant_id: others[2].id,
        gig_id: None,
        order_id: None,
        text: "next hour".to_owned(),
    };
    let next_hour = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let opened = use_case::open(
        &app.state.store,
        caller,
        &request,
        2,
        &app.state.config.quotas,
        next_hour,
    )
    .await
    .unwrap();
    assert!(opened.created);
}

/// `message.received` through the pipeline in-process (real stream records, dispatcher, a moto
/// queue, notifier, moto's SES): of three messages in one conversation the recipient is mailed
/// once (15-minute throttle), of a conversation they read before the notifier ran not at all,
/// and redelivery mails nothing new.
#[tokio::test]
async fn message_mails_are_throttled_per_conversation_and_skipped_once_read() {
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let ann = app.register_client().await;
    let bob = app.register_freelancer().await;
    let cid = app.register_client().await;
    let with_bob = open_with(&app, &ann, &bob, "first").await;
    assert_eq!(send(&app, &ann, with_bob, "second").await.status, 201);
    assert_eq!(send(&app, &ann, with_bob, "third").await.status, 201);
    let with_cid = open_with(&app, &cid, &bob, "from cid").await;
    let read = app
        .post(
            &format!("/conversations/{with_cid}/read"),
            &json!({}),
            Some(&bob.access_token),
        )
        .await;
    assert_eq!(read.status, 200);

    let stream_event = pipeline.stream_event().await;
    let response = dispatcher::handle(stream_event, &pipeline.sqs, &pipeline.queues()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let messages = pipeline.receive_all().await;
    let events: Vec<Event> = messages
        .iter()
        .map(|message| serde_json::from_str(message.body().unwrap()).unwrap())
        .collect();
    let types: Vec<String> = events
        .iter()
        .map(|event| event.event_type.to_string())
        .collect();
    assert_eq!(
        types, ["message.received"; 4],
        "one event per message; inbox entries, counters and reads are none"
    );

    let notifier = app.notifier();
    let handled = notifier.handle(Pipeline::sqs_event(&messages)).await;
    assert!(handled.batch_item_failures.is_empty(), "{handled:?}");
    let mails = mail_to(&bob.email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].subject, "You have a new message on Gigmarket");
    assert!(
        mails[0].body.contains(&format!("Conversation {with_bob}")),
        "{mails:?}"
    );
    assert!(
        mail_to(&ann.email).await.is_empty(),
        "senders are not mailed"
    );

    // Redelivered (a lost acknowledgement): nothing new.
    let again = notifier.handle(Pipeline::sqs_event(&messages)).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(mail_to(&bob.email).await.len(), 1);
}

/// `after=<message id>`: what a client missed while it was away (after a reconnect), oldest
/// first and paged; nothing after the last one; not a message id: 400.
#[tokio::test]
async fn a_client_catches_up_after_the_last_message_it_saw() {
    let app = TestApp::new().await;
    let ann = app.register_client().await;
    let bob = app.register_freelancer().await;
    let id = open_with(&app, &ann, &bob, "m0").await;
    let mut sent = Vec::new();
    for round in 1..=4 {
        let response = send(&app, &bob, id, &format!("m{round}")).await;
        assert_eq!(response.status, 201, "{response:?}");
        sent.push(response.body["message"]["id"].as_str().unwrap().to_owned());
    }
    let texts = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|message| message["text"].as_str().unwrap().to_owned())
            .collect()
    };
    let seen = &sent[0];
    let first = app
        .get(
            &format!("/conversations/{id}/messages?after={seen}&limit=2"),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(texts(&first.body), ["m2", "m3"]);
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let rest = app
        .get(
            &format!("/conversations/{id}/messages?after={seen}&limit=2&cursor={cursor}"),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(texts(&rest.body), ["m4"]);

    let last = &sent[3];
    let nothing = app
        .get(
            &format!("/conversations/{id}/messages?after={last}"),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(texts(&nothing.body), Vec::<String>::new());
    let bad = app
        .get(
            &format!("/conversations/{id}/messages?after=yesterday"),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    // A stranger still gets 404, `after` or not.
    let stranger = app.register_client().await;
    let hidden = app
        .get(
            &format!("/conversations/{id}/messages?after={seen}"),
            Some(&stranger.access_token),
        )
        .await;
    assert_eq!(hidden.status, 404);
}

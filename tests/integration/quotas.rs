//! Per-user quotas (`domain::quota`): orders placed per hour, messages per minute in existing
//! conversations, gigs created per day. Each is counted in the action's own transaction, so a
//! refused action writes nothing and racing requests never pass the limit.

use futures_util::future::join_all;
use gigmarket_tests::fixtures::{gig_body, order_body};
use gigmarket_tests::{Session, TestApp, TestResponse};
use serde_json::json;
use uuid::Uuid;

/// Waits for a fresh window unless at least `margin_secs` of the current one are left, so a test
/// that fills a window does not straddle its turn.
async fn wait_for_room_in_window(window_secs: u64, margin_secs: u64) {
    gigmarket_tests::wait_unless_inside_the_clock_window(
        std::time::Duration::from_secs(window_secs),
        std::time::Duration::from_secs(margin_secs),
    )
    .await;
}

fn assert_quota_refusal(response: &TestResponse, window_secs: u64) {
    assert_eq!(response.status, 429, "{response:?}");
    assert_eq!(response.problem(), "rate-limited");
    let retry_after: u64 = response
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After: {response:?}"));
    assert!((1..=window_secs).contains(&retry_after), "{retry_after}");
}

async fn my_order_count(app: &TestApp, client: &Session) -> usize {
    let (orders, _) = app
        .all_pages(&client.access_token, "/orders?as=client")
        .await;
    orders.len()
}

#[tokio::test]
async fn a_client_places_at_most_the_hourly_quota_even_when_racing() {
    wait_for_room_in_window(3600, 120).await;
    let app = TestApp::with_config(|config| config.quotas.order_placements_per_hour = 3).await;
    let (cast, gig) = app.cast_with_gig().await;

    // Six placements at once, each with its own key: exactly three land.
    let body = order_body(&gig);
    let answers = join_all((0..6).map(|_| {
        let key = Uuid::new_v4().to_string();
        let body = body.clone();
        let app = &app;
        let client = &cast.client;
        async move { app.place_order_with_key(client, &key, &body).await }
    }))
    .await;
    let placed = answers.iter().filter(|answer| answer.status == 201).count();
    assert_eq!(placed, 3, "{answers:?}");
    for refused in answers.iter().filter(|answer| answer.status != 201) {
        assert_quota_refusal(refused, 3600);
    }
    assert_eq!(
        my_order_count(&app, &cast.client).await,
        3,
        "nothing else stored"
    );
    assert_eq!(app.gig(gig.id).await.order_count, 3);

    // A replay of a placed order still answers it; another client has a quota of their own.
    let key = "quota-replay";
    let other = app.place_order_with_key(&cast.stranger, key, &body).await;
    assert_eq!(other.status, 201, "{other:?}");
    let replay = app.place_order_with_key(&cast.stranger, key, &body).await;
    assert_eq!(replay.status, 201, "{replay:?}");
    assert_eq!(replay.body["id"], other.body["id"]);
}

#[tokio::test]
async fn messages_into_existing_conversations_are_limited_per_minute() {
    wait_for_room_in_window(60, 40).await;
    let app = TestApp::with_config(|config| config.quotas.messages_per_minute = 2).await;
    let ann = app.register_client().await;
    let bob = app.register_freelancer().await;
    // Opening a conversation is limited per hour on its own; its first message is not counted.
    let opened = app
        .post(
            "/conversations",
            &json!({"participant_id": bob.id, "text": "Hello Bob"}),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(opened.status, 201, "{opened:?}");
    let conversation = opened.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/conversations/{conversation}/messages");
    let send = |who: &Session, text: &str| {
        let token = who.access_token.clone();
        let body = json!({"text": text});
        let app = &app;
        let path = path.clone();
        async move { app.post(&path, &body, Some(&token)).await }
    };
    for text in ["one", "two"] {
        assert_eq!(send(&ann, text).await.status, 201);
    }
    let refused = send(&ann, "three").await;
    assert_quota_refusal(&refused, 60);
    // Bob's quota is his own.
    assert_eq!(send(&bob, "Hi Ann").await.status, 201);
    let messages = app.get(&path, Some(&bob.access_token)).await;
    let texts: Vec<&str> = messages.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|message| message["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts.len(),
        4,
        "the refused message was not stored: {texts:?}"
    );
    assert!(!texts.contains(&"three"));
}

#[tokio::test]
async fn a_freelancer_creates_at_most_the_daily_quota_of_gigs() {
    wait_for_room_in_window(86_400, 120).await;
    let app = TestApp::with_config(|config| config.quotas.gigs_created_per_day = 2).await;
    let owner = app.register_freelancer().await;
    for title in ["Logo design one", "Logo design two"] {
        let created = app
            .post("/gigs", &gig_body(title), Some(&owner.access_token))
            .await;
        assert_eq!(created.status, 201, "{created:?}");
    }
    let refused = app
        .post(
            "/gigs",
            &gig_body("Logo design three"),
            Some(&owner.access_token),
        )
        .await;
    assert_quota_refusal(&refused, 86_400);
    let mine = app.get("/me/gigs", Some(&owner.access_token)).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 2, "{mine:?}");
    let other = app.register_freelancer().await;
    let theirs = app
        .post(
            "/gigs",
            &gig_body("Logo design four"),
            Some(&other.access_token),
        )
        .await;
    assert_eq!(theirs.status, 201, "{theirs:?}");
}

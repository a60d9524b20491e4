//! End to end over real HTTP through `cargo lambda watch` (started by `make test` with the
//! function router from Cargo.toml), each scenario with users and data of its own made through
//! the API: register, read and edit the profile, refresh, log out; an order's whole lifecycle
//! with its mail, through the local bridge; reviews, messaging, publishing and moderation. The
//! modules hold the sample events and wrong triggers at the invoke endpoint, the scheduler's
//! runs on deadlines moved into the past, the admin area, and search through the index pipeline.

mod admin;
mod files;
mod payouts;
mod realtime;
mod samples;
mod scheduler;
mod search;

use gigmarket_shared::domain::order::{Order, TimelineEntry};
use gigmarket_shared::events::Event;
use gigmarket_tests::fixtures::order_body;
use gigmarket_tests::pipeline::{lifecycle_subjects, mail_to};
use gigmarket_tests::watch::{
    active_gig_in_functions_table, admin_over_http, base_url, call, call_with, order_step,
    pay_over_http, register_over_http, subjects_to, wait_for_mail, wait_until_queue_is_drained,
};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn account_lifecycle_through_cargo_lambda_watch() {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let email = format!("e2e-{}@example.com", Uuid::new_v4().simple());
    let password = "an end-to-end password";

    let (status, _, registered) = call(
        &client,
        Method::POST,
        "/auth/register",
        None,
        Some(json!({"email": email, "password": password, "name": "E2E", "role": "freelancer"})),
    )
    .await;
    assert_eq!(status, 201, "{registered}");
    let user_id = registered["user"]["id"].as_str().unwrap().to_owned();

    let (status, _, session) = call(
        &client,
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(status, 200);
    let access = session["access_token"].as_str().unwrap().to_owned();

    let (status, _, patched) = call(
        &client,
        Method::PATCH,
        "/me",
        Some(&access),
        Some(json!({"skills": ["Rust"], "country": "de"})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["country"], "DE");

    let (status, _, public) = call(
        &client,
        Method::GET,
        &format!("/users/{user_id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(public["skills"], json!(["Rust"]));
    assert!(public.get("email").is_none());

    let (status, content_type, problem) = call(
        &client,
        Method::PATCH,
        "/me",
        Some(&access),
        Some(json!({"country": 7})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(problem["errors"][0]["field"], "country");

    let refresh_token = session["refresh_token"].as_str().unwrap();
    let (status, _, rotated) = call(
        &client,
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh_token})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = call(
        &client,
        Method::POST,
        "/auth/logout",
        None,
        Some(json!({"refresh_token": rotated["refresh_token"]})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = call(
        &client,
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": rotated["refresh_token"]})),
    )
    .await;
    assert_eq!(status, 401);

    let (status, _, _) = call(&client, Method::GET, "/me", None, None).await;
    assert_eq!(status, 401);
}

/// The whole path of an order through the deployed shape: HTTP through watch, the table's stream
/// through the bridge to `dispatcher`, the queue through the bridge to `notifier`, SES in moto.
#[tokio::test]
async fn an_order_lifecycle_over_http_mails_each_party_exactly_once() {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let (_, client_token, client_email) = register_over_http(&client, "client").await;
    let (freelancer_id, freelancer_token, freelancer_email) =
        register_over_http(&client, "freelancer").await;

    let (gig, config) = active_gig_in_functions_table(&freelancer_id).await;

    let body = order_body(&gig);
    let key = Uuid::new_v4().to_string();
    let (status, placed) = call_with(
        &client,
        Method::POST,
        "/orders",
        &client_token,
        &[("Idempotency-Key", &key)],
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let order_id = placed["id"].as_str().unwrap().to_owned();
    let (status, replayed) = call_with(
        &client,
        Method::POST,
        "/orders",
        &client_token,
        &[("Idempotency-Key", &key)],
        Some(body),
    )
    .await;
    assert_eq!((status, &replayed["id"]), (201, &placed["id"]));
    pay_over_http(&client, &client_token, &placed).await;

    for (token, action, body) in [
        (&freelancer_token, "accept", None),
        (
            &freelancer_token,
            "deliver",
            Some(
                json!({"message": "Done!", "attachments": ["https://files.example.com/logo.svg"]}),
            ),
        ),
        (&client_token, "complete", None),
    ] {
        order_step(&client, token, &order_id, action, body.unwrap_or(json!({}))).await;
    }
    let (status, order) = call_with(
        &client,
        Method::GET,
        &format!("/orders/{order_id}"),
        &client_token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(order["status"], "completed");
    // placed, paid, accepted, delivered, completed.
    assert_eq!(order["timeline"].as_array().unwrap().len(), 5);

    let (expected_freelancer, expected_client) = lifecycle_subjects(&gig.title);
    assert_eq!(
        wait_for_mail(&freelancer_email, 2).await,
        expected_freelancer
    );
    assert_eq!(wait_for_mail(&client_email, 3).await, expected_client);

    // Redeliver every event of the order onto the queue, as SQS would after a lost ack: the
    // bridge hands them to the notifier again, which sends nothing new.
    let queue_url = std::env::var("ORDER_EVENTS_QUEUE_URL").expect("ORDER_EVENTS_QUEUE_URL");
    let sqs = aws_sdk_sqs::Client::new(&config);
    let final_order: Order = serde_json::from_value(order.clone()).unwrap();
    for entry in order["timeline"].as_array().unwrap() {
        let entry: TimelineEntry = serde_json::from_value(entry.clone()).unwrap();
        let mut snapshot = final_order.clone();
        snapshot.last_change = entry.clone();
        let event = Event::for_order_change(&snapshot);
        assert_eq!(event.event_id, format!("order:{order_id}:{}", entry.seq));
        sqs.send_message()
            .queue_url(&queue_url)
            .message_body(serde_json::to_string(&event).unwrap())
            .send()
            .await
            .unwrap();
    }
    wait_until_queue_is_drained(&sqs, &queue_url).await;
    assert_eq!(subjects_to(&freelancer_email).await, expected_freelancer);
    assert_eq!(subjects_to(&client_email).await, expected_client);

    // The scheduler answers through watch too (nothing is due).
    let summary = bridge::invoke(
        &bridge::http_client(),
        &base_url(),
        "scheduler",
        &bridge::scheduled_event("us-east-1"),
    )
    .await
    .expect("scheduler runs");
    assert!(summary.get("auto_completed").is_some(), "{summary}");
}

#[tokio::test]
async fn gig_publishing_and_browse_through_cargo_lambda_watch() {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let (_, token, _) = register_over_http(&client, "freelancer").await;

    let (status, _, categories) = call(&client, Method::GET, "/categories", None, None).await;
    assert_eq!(status, 200);
    assert!(!categories["categories"].as_array().unwrap().is_empty());

    let word = format!("e2e{}", &Uuid::new_v4().simple().to_string()[..8]);
    let gig = json!({
        "title": format!("End to end {word} gig"),
        "description": "A gig created through cargo lambda watch.",
        "category": "programming-tech",
        "packages": [{"tier": "basic", "name": "Basic", "description": "One thing",
                      "price_cents": 1000, "currency": "EUR", "delivery_days": 2,
                      "revisions": 1, "features": []}]
    });
    let (status, _, created) = call(&client, Method::POST, "/gigs", Some(&token), Some(gig)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    // Review is required by default, so it is the owner's alone until approved.
    let (status, content_type, _) =
        call(&client, Method::GET, &format!("/gigs/{id}"), None, None).await;
    assert_eq!(status, 404);
    assert_eq!(content_type, "application/problem+json");
    let (status, _, mine) =
        call(&client, Method::GET, "/me/gigs?limit=5", Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(mine["items"][0]["id"], id.as_str());
    let (status, _, found) = call(
        &client,
        Method::GET,
        &format!("/gigs?q={word}&sort=price_asc&limit=5"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["items"], json!([]), "pending gigs are not browsable");
}

/// Reviews through watch and the pipeline: both sides review a completed order, the
/// first review is sealed (the other side is invited, once), the second publishes both (each
/// reviewee is mailed), the reviewee answers; listings and aggregates read through the API.
#[tokio::test]
async fn reviews_over_http_are_sealed_then_published_together_and_mailed() {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let (client_id, client_token, client_email) = register_over_http(&client, "client").await;
    let (freelancer_id, freelancer_token, freelancer_email) =
        register_over_http(&client, "freelancer").await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;

    let key = Uuid::new_v4().to_string();
    let (status, placed) = call_with(
        &client,
        Method::POST,
        "/orders",
        &client_token,
        &[("Idempotency-Key", &key)],
        Some(order_body(&gig)),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    pay_over_http(&client, &client_token, &placed).await;
    let order_id = placed["id"].as_str().unwrap().to_owned();
    for (token, action, body) in [
        (&freelancer_token, "accept", json!({})),
        (
            &freelancer_token,
            "deliver",
            json!({"message": "Done!", "attachments": ["https://files.example.com/logo.svg"]}),
        ),
        (&client_token, "complete", json!({})),
    ] {
        order_step(&client, token, &order_id, action, body).await;
    }

    let (status, sealed) = call_with(
        &client,
        Method::POST,
        "/reviews",
        &client_token,
        &[],
        Some(json!({"order_id": order_id, "rating": 4, "comment": "Good work.", "communication": 5, "would_recommend": true})),
    )
    .await;
    assert_eq!(status, 201, "{sealed}");
    assert_eq!(sealed["state"], "sealed");
    let (expected_freelancer, expected_client) = lifecycle_subjects(&gig.title);
    let invite = format!(
        "Your client reviewed \"{}\": leave your review to see theirs",
        gig.title
    );
    let sorted = |mut subjects: Vec<String>| {
        subjects.sort();
        subjects
    };
    let mut want_freelancer = expected_freelancer.clone();
    want_freelancer.push(invite);
    assert_eq!(
        sorted(wait_for_mail(&freelancer_email, want_freelancer.len()).await),
        sorted(want_freelancer.clone())
    );
    let gig_reviews = format!("/gigs/{}/reviews", gig.id);
    let (status, _, listed) = call(&client, Method::GET, &gig_reviews, None, None).await;
    assert_eq!((status, &listed["items"]), (200, &json!([])), "sealed");

    let (status, second) = call_with(
        &client,
        Method::POST,
        "/reviews",
        &freelancer_token,
        &[],
        Some(json!({"order_id": order_id, "rating": 5, "comment": "Clear brief."})),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["state"], "published");
    want_freelancer.push(format!("New review: 4 stars for {}", gig.title));
    let mut want_client = expected_client.clone();
    want_client.push(format!("New review: 5 stars for {}", gig.title));
    assert_eq!(
        sorted(wait_for_mail(&freelancer_email, want_freelancer.len()).await),
        sorted(want_freelancer.clone())
    );
    assert_eq!(
        sorted(wait_for_mail(&client_email, want_client.len()).await),
        sorted(want_client.clone())
    );

    let (_, _, listed) = call(&client, Method::GET, &gig_reviews, None, None).await;
    assert_eq!(listed["items"][0]["id"], sealed["id"]);
    let (_, _, as_buyer) = call(
        &client,
        Method::GET,
        &format!("/users/{client_id}/reviews?as=buyer"),
        None,
        None,
    )
    .await;
    assert_eq!(as_buyer["items"][0]["id"], second["id"]);
    let (status, replied) = call_with(
        &client,
        Method::POST,
        &format!("/reviews/{}/reply", sealed["id"].as_str().unwrap()),
        &freelancer_token,
        &[],
        Some(json!({"comment": "Thank you!"})),
    )
    .await;
    assert_eq!(status, 200, "{replied}");
    let (_, _, seen_gig) = call(
        &client,
        Method::GET,
        &format!("/gigs/{}", gig.id),
        None,
        None,
    )
    .await;
    assert_eq!(seen_gig["rating_summary"]["count"], 1, "{seen_gig}");
    let (_, _, seen_client) = call(
        &client,
        Method::GET,
        &format!("/users/{client_id}"),
        None,
        None,
    )
    .await;
    assert_eq!(seen_client["buyer_rating"]["average"], 5.0, "{seen_client}");
    // Nothing more is mailed for the reply.
    assert_eq!(
        sorted(subjects_to(&freelancer_email).await),
        sorted(want_freelancer)
    );
}

/// Messaging through watch and the bridge: conversations about a gig and an order, sends,
/// inbox, messages, reading; and the mail: of several messages in one conversation the
/// recipient is mailed once (the notifier's 15-minute throttle), with real mail in moto.
#[tokio::test]
async fn messaging_over_http_mails_once_per_conversation() {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let (client_id, client_token, client_email) = register_over_http(&client, "client").await;
    let (freelancer_id, freelancer_token, freelancer_email) =
        register_over_http(&client, "freelancer").await;
    let (gig, config) = active_gig_in_functions_table(&freelancer_id).await;

    // About the gig: three messages from the client in one conversation.
    let (status, opened) = call_with(
        &client,
        Method::POST,
        "/conversations",
        &client_token,
        &[],
        Some(json!({"participant_id": freelancer_id, "gig_id": gig.id, "text": "Is this available?"})),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    let about_gig = opened["conversation"]["id"].as_str().unwrap().to_owned();
    for text in ["Second question", "Third question"] {
        let (status, sent) = call_with(
            &client,
            Method::POST,
            &format!("/conversations/{about_gig}/messages"),
            &client_token,
            &[],
            Some(json!({"text": text})),
        )
        .await;
        assert_eq!(status, 201, "{sent}");
    }
    // About an order of theirs: the order context checks both are its parties.
    let (status, placed) = call_with(
        &client,
        Method::POST,
        "/orders",
        &client_token,
        &[("Idempotency-Key", &Uuid::new_v4().to_string())],
        Some(order_body(&gig)),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    pay_over_http(&client, &client_token, &placed).await;
    let (status, about_order) = call_with(
        &client,
        Method::POST,
        "/conversations",
        &freelancer_token,
        &[],
        Some(json!({"participant_id": client_id, "order_id": placed["id"], "text": "Thanks for the order!"})),
    )
    .await;
    assert_eq!(status, 201, "{about_order}");

    // The mail: one per conversation to each recipient, whatever the number of messages. Waited
    // for before the freelancer reads anything: a conversation read before the notifier handles
    // its message is not mailed about (by design), and under load the pipeline can lag the read.
    let message_mails = |subjects: Vec<String>| {
        subjects
            .into_iter()
            .filter(|subject| subject == "You have a new message on Gigmarket")
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while message_mails(subjects_to(&freelancer_email).await) < 1
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let queue_url = std::env::var("ORDER_EVENTS_QUEUE_URL").expect("ORDER_EVENTS_QUEUE_URL");
    wait_until_queue_is_drained(&aws_sdk_sqs::Client::new(&config), &queue_url).await;
    assert_eq!(
        message_mails(subjects_to(&freelancer_email).await),
        1,
        "three messages in one conversation, one mail"
    );

    let (status, inbox) = call_with(
        &client,
        Method::GET,
        "/conversations?limit=10",
        &freelancer_token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(inbox["items"].as_array().unwrap().len(), 2, "{inbox}");
    let (status, messages) = call_with(
        &client,
        Method::GET,
        &format!("/conversations/{about_gig}/messages"),
        &freelancer_token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(messages["items"][0]["text"], "Third question");
    let (status, read) = call_with(
        &client,
        Method::POST,
        &format!("/conversations/{about_gig}/read"),
        &freelancer_token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    let (status, _, me) = call(&client, Method::GET, "/me", Some(&client_token), None).await;
    assert_eq!(status, 200);
    assert_eq!(me["unread_messages"], 1, "the freelancer's order message");

    // The client's mail about the order conversation may be skipped only if they had read it,
    // which they had not.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while message_mails(subjects_to(&client_email).await) < 1
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(message_mails(subjects_to(&client_email).await), 1);
}

/// Gig moderation through watch and the pipeline: an admin (made outside the API, as `gigctl
/// create-admin` makes admins) finds a new gig in the queue and rejects it on the ETag reviewed;
/// the decision's event goes from the table's stream through `dispatcher` and the queue to
/// `notifier`, which mails its owner the reason, once.
#[tokio::test]
async fn a_moderation_decision_over_http_is_mailed_to_the_gig_owner() {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let (_, freelancer_token, freelancer_email) = register_over_http(&client, "freelancer").await;

    let (_, admin_token) = admin_over_http(&client).await;

    let title = format!(
        "Moderated e2e gig {}",
        &Uuid::new_v4().simple().to_string()[..8]
    );
    let gig = json!({
        "title": title,
        "description": "A gig an admin rejects through cargo lambda watch.",
        "category": "programming-tech",
        "packages": [{"tier": "basic", "name": "Basic", "description": "One thing",
                      "price_cents": 1000, "currency": "EUR", "delivery_days": 2,
                      "revisions": 1, "features": []}]
    });
    let (status, _, created) = call(
        &client,
        Method::POST,
        "/gigs",
        Some(&freelancer_token),
        Some(gig),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _, queue) = call(
        &client,
        Method::GET,
        "/admin/gigs?status=pending_review&limit=100",
        Some(&admin_token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{queue}");
    let etag = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["gig"]["id"] == id.as_str())
        .and_then(|item| item["etag"].as_str())
        .expect("the new gig is in the queue")
        .to_owned();
    let reason = "The packages promise more than one person can deliver.";
    let (status, rejected) = call_with(
        &client,
        Method::POST,
        &format!("/admin/gigs/{id}/reject"),
        &admin_token,
        &[("if-match", &etag)],
        Some(json!({"reason": reason})),
    )
    .await;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(rejected["status"], "rejected");

    let subjects = wait_for_mail(&freelancer_email, 1).await;
    assert_eq!(subjects, [format!("Your gig \"{title}\" was not approved")]);
    let mails = mail_to(&freelancer_email).await;
    let mail = mails
        .iter()
        .find(|mail| mail.subject.contains("was not approved"))
        .unwrap();
    assert!(mail.body.contains(reason), "{mail:?}");
}

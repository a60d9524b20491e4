//! The sample events in `events/<function>/*.json` (the ones docs/local-stack.md feeds to
//! `cargo lambda invoke --data-file`) are real events for their function: API Gateway HTTP API
//! (v2) requests for each API function's main routes, a DynamoDB stream batch for `dispatcher`,
//! an SQS batch for `notifier` and an EventBridge scheduled event for `scheduler`. Each one is
//! invoked on its function in-process and its response checked.
//!
//! Samples that need a session or an existing resource carry placeholders, replaced here as a
//! person would by hand: `<ACCESS_TOKEN>`, `<REFRESH_TOKEN>`, `<CLIENT_TOKEN>`,
//! `<FREELANCER_TOKEN>`, `<ADMIN_TOKEN>`, and the ids below.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use gigmarket_shared::domain::account_token::TokenPurpose;
use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::events::{Event, Subject};
use gigmarket_shared::routes::ROUTES;
use gigmarket_tests::TestApp;
use gigmarket_tests::function_crates;
use gigmarket_tests::pipeline::subjects_to;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The user in `events/users/get-user.json`.
const SAMPLE_USER_ID: &str = "11111111-1111-4111-8111-111111111111";
/// The order in `events/orders/*` (after placement, the placed order's id).
const SAMPLE_ORDER_ID: &str = "22222222-2222-4222-8222-222222222222";
/// The gig in `events/gigs/*` (after creation, the created gig's id), which
/// `events/orders/place-order.json` orders.
const SAMPLE_GIG_ID: &str = "33333333-3333-4333-8333-333333333333";
/// The review in `events/reviews/reply-to-review.json` (the client's review
/// posted by `events/reviews/post-review.json`).
const SAMPLE_REVIEW_ID: &str = "44444444-4444-4444-8444-444444444444";
/// The conversation in `events/messages/*` (after opening, the opened conversation's id).
const SAMPLE_CONVERSATION_ID: &str = "55555555-5555-4555-8555-555555555555";
/// The file in `events/{orders,messages}/delete-file.json` (the file the sample before declared).
const SAMPLE_FILE_ID: &str = "77777777-7777-4777-8777-777777777777";
/// The freelancer of the order in the dispatcher and notifier samples.
const SAMPLE_EVENT_FREELANCER_ID: &str = "9b2e7d14-3c6a-4f0e-8b5d-1a7c2e9f4d32";

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn sample(relative: &str) -> String {
    std::fs::read_to_string(events_dir().join(relative))
        .unwrap_or_else(|error| panic!("events/{relative}: {error}"))
}

/// Every sample, as `<function>/<file>`.
fn all_samples() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for function in std::fs::read_dir(events_dir()).expect("events/") {
        let function = function.unwrap().path();
        if !function.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&function).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|ext| ext == "json") {
                found.insert(format!(
                    "{}/{}",
                    function.file_name().unwrap().to_str().unwrap(),
                    file.file_name().unwrap().to_str().unwrap()
                ));
            }
        }
    }
    found
}

/// The API Gateway samples and what each must answer, in the order a person would try them.
const HTTP_SAMPLES: &[(&str, u16)] = &[
    ("auth/register.json", 201),
    ("auth/login.json", 200),
    // Ann asks for another verification mail, then follows a link: verified, she may publish.
    ("auth/resend-verification.json", 202),
    ("auth/verify-email.json", 200),
    ("users/get-me.json", 200),
    ("users/update-me.json", 200),
    ("users/get-user.json", 200),
    ("gigs/list-categories.json", 200),
    ("gigs/create-gig.json", 201),
    // An admin finds it in the review queue and approves it with the ETag reviewed.
    ("admin/gig-review-queue.json", 200),
    ("admin/approve-gig.json", 200),
    ("search/browse-gigs.json", 200),
    ("gigs/get-gig.json", 200),
    ("gigs/my-gigs.json", 200),
    ("orders/place-order.json", 201),
    ("orders/list-orders.json", 200),
    ("orders/accept-order.json", 200),
    // Files: Ann declares her delivery's file (the presigned POST), and lists the order's.
    ("orders/declare-file.json", 201),
    ("orders/list-files.json", 200),
    // She deletes it again, unused.
    ("orders/delete-file.json", 204),
    ("orders/deliver-order.json", 200),
    ("orders/complete-order.json", 200),
    // Both sides review the completed order, the freelancer answers.
    ("reviews/post-review.json", 201),
    ("reviews/post-review-freelancer.json", 201),
    ("reviews/gig-reviews.json", 200),
    ("reviews/user-reviews.json", 200),
    ("reviews/reply-to-review.json", 200),
    ("orders/get-order.json", 200),
    // The admin looks at Ann and at what was done to her (nothing yet).
    ("admin/get-user.json", 200),
    ("admin/audit-log.json", 200),
    ("admin/metrics.json", 200),
    // Admin: the client's review is hidden, then shown again.
    ("admin/hide-review.json", 200),
    ("admin/unhide-review.json", 200),
    // Ann's order is completed: an admin's cancel of a closed order is refused.
    ("admin/cancel-order.json", 409),
    // The marketplace-wide lists: Ann among the freelancers, her completed order, both reviews.
    ("admin/list-users.json", 200),
    ("admin/list-orders.json", 200),
    ("admin/list-reviews.json", 200),
    // The ledger's charges: Ann's client paid for the order.
    ("admin/list-payments.json", 200),
    // An admin refunds part of Ann's completed order (from her pending earnings and the fees).
    ("admin/refund-order.json", 201),
    // Messaging: the client asks Ann (the freelancer) about the order, she answers.
    ("messages/open-conversation.json", 201),
    ("messages/list-conversations.json", 200),
    ("messages/send-message.json", 201),
    ("messages/list-messages.json", 200),
    ("messages/mark-read.json", 200),
    ("messages/declare-file.json", 201),
    ("messages/list-files.json", 200),
    ("messages/delete-file.json", 204),
    ("gigs/update-gig.json", 200),
    // The edit went back to review; the admin rejects this version.
    ("admin/reject-gig.json", 200),
    ("auth/refresh.json", 200),
    ("auth/logout.json", 204),
    // Her logged-out session's access token writes nothing more: she changes her password with
    // it in vain, signs in again and changes it with the new session's.
    ("auth/change-password.json", 401),
    ("auth/login.json", 200),
    ("auth/change-password.json", 200),
    // Password reset: Ann asks for a link (202 whatever the email); the client resets theirs.
    ("auth/forgot-password.json", 202),
    ("auth/reset-password.json", 204),
    // A delivery signed long ago with a secret the stack does not have: refused, nothing stored.
    ("payments/stripe-webhook.json", 400),
    // A ticket for Ann's next WebSocket connection.
    ("realtime/post-ticket.json", 201),
    // Ann's payouts: her completed order's earnings are pending; she starts onboarding and
    // turns automatic withdrawal on, but can not withdraw before onboarding is finished; a
    // Connect delivery with a stale signature is refused.
    ("payouts/get-payouts.json", 200),
    ("payouts/open-account.json", 200),
    ("payouts/change-settings.json", 200),
    ("payouts/withdraw.json", 409),
    ("payouts/connect-webhook.json", 400),
];

/// The samples of the event-driven functions, each with the event source it stands for.
const EVENT_SAMPLES: &[(&str, &str)] = &[
    ("dispatcher/order-paid.json", "aws:dynamodb"),
    ("dispatcher/earning-cleared.json", "aws:dynamodb"),
    ("dispatcher/withdrawal-sent.json", "aws:dynamodb"),
    ("notifier/order-paid.json", "aws:sqs"),
    ("notifier/funds-cleared.json", "aws:sqs"),
    ("notifier/withdrawal-sent.json", "aws:sqs"),
    ("scheduler/scheduled.json", "aws.events"),
    ("realtime/message-sent.json", "aws:dynamodb"),
    ("indexer/gig-hints.json", "aws:sqs"),
    ("indexer/scheduled.json", "aws.events"),
];

/// The WebSocket API's events for `realtime`, each with its route key, in the order a
/// connection sees them (`<TICKET>`: a ticket issued to a fresh user).
const SOCKET_SAMPLES: &[(&str, &str)] = &[
    ("realtime/connect.json", "$connect"),
    ("realtime/ping.json", "ping"),
    ("realtime/typing.json", "$default"),
    ("realtime/disconnect.json", "$disconnect"),
];

#[test]
fn every_sample_is_checked_and_fits_its_function() {
    let checked: BTreeSet<String> = HTTP_SAMPLES
        .iter()
        .map(|(file, _)| (*file).to_owned())
        .chain(EVENT_SAMPLES.iter().map(|(file, _)| (*file).to_owned()))
        .chain(SOCKET_SAMPLES.iter().map(|(file, _)| (*file).to_owned()))
        .collect();
    assert_eq!(
        all_samples(),
        checked,
        "add new samples to HTTP_SAMPLES, EVENT_SAMPLES or SOCKET_SAMPLES"
    );
    for (file, _) in HTTP_SAMPLES {
        let event: Value = serde_json::from_str(&sample(file)).expect("sample is JSON");
        let function = file.split('/').next().unwrap();
        let route_key = event["routeKey"].as_str().expect("routeKey");
        assert!(
            ROUTES.iter().any(
                |route| format!("{} {}", route.method, route.path) == route_key
                    && route.function == function
            ),
            "{file}: {route_key} is not a route of {function}"
        );
        assert_eq!(event["version"], "2.0", "{file}: HTTP API payload v2");
        assert_eq!(event["requestContext"]["routeKey"], route_key, "{file}");
    }
    for (file, source) in EVENT_SAMPLES {
        let event: Value = serde_json::from_str(&sample(file)).expect("sample is JSON");
        match event["Records"].as_array() {
            Some(records) => {
                assert!(!records.is_empty(), "{file}");
                for record in records {
                    assert_eq!(record["eventSource"], *source, "{file}");
                }
            }
            None => {
                // The scheduler's: the same shape as what the local bridge sends it.
                assert_eq!(event["source"], *source, "{file}");
                assert_eq!(event["detail-type"], "Scheduled Event", "{file}");
                let keys = |value: &Value| -> BTreeSet<String> {
                    value.as_object().unwrap().keys().cloned().collect()
                };
                assert_eq!(keys(&event), keys(&bridge::scheduled_event("us-east-1")));
            }
        }
    }
    for (file, route_key) in SOCKET_SAMPLES {
        let event: Value = serde_json::from_str(&sample(file)).expect("sample is JSON");
        assert!(::realtime::socket::is_socket_event(&event), "{file}");
        assert_eq!(event["requestContext"]["routeKey"], *route_key, "{file}");
    }
    for function in function_crates() {
        assert!(
            checked
                .iter()
                .any(|file| file.starts_with(&format!("{function}/"))),
            "{function} has no sample event in events/{function}/"
        );
    }
}

#[tokio::test]
async fn every_api_sample_gets_its_expected_response() {
    let app = TestApp::new().await;
    let client = app.register_client().await;
    let admin = app.create_admin().await;
    let mut access_token = String::new();
    let mut refresh_token = String::new();
    let mut user_id = String::new();
    let mut order_id = SAMPLE_ORDER_ID.to_owned();
    let mut gig_id = SAMPLE_GIG_ID.to_owned();
    let mut logged_out_refresh_token = String::new();
    let mut review_id = SAMPLE_REVIEW_ID.to_owned();
    let mut conversation_id = SAMPLE_CONVERSATION_ID.to_owned();
    let mut file_id = SAMPLE_FILE_ID.to_owned();
    for (file, expected) in HTTP_SAMPLES {
        let function = file.split('/').next().unwrap();
        // The tokens the mails would carry: Ann's verification, the client's reset.
        let mail_token = |session: Option<Uuid>, purpose| {
            let app = &app;
            let user_id = session.or_else(|| user_id.parse().ok());
            async move {
                let Some(user_id) = user_id else {
                    return String::new();
                };
                let user = app.state.store.get_user(user_id).await.unwrap().unwrap();
                let now = time::OffsetDateTime::now_utc();
                let accounts = app.state.accounts();
                let mail = accounts.issue_token(&user, purpose, now).await;
                mail.unwrap().token
            }
        };
        let verify_token = match *file {
            "auth/verify-email.json" => mail_token(None, TokenPurpose::EmailVerification).await,
            _ => String::new(),
        };
        let reset_token = match *file {
            "auth/reset-password.json" => {
                mail_token(Some(client.id), TokenPurpose::PasswordReset).await
            }
            _ => String::new(),
        };
        let event = sample(file)
            .replace("<VERIFY_TOKEN>", &verify_token)
            .replace("<RESET_TOKEN>", &reset_token)
            .replace("<ACCESS_TOKEN>", &access_token)
            .replace("<REFRESH_TOKEN>", &refresh_token)
            .replace("<FREELANCER_TOKEN>", &access_token)
            .replace("<CLIENT_TOKEN>", &client.access_token)
            .replace("<ADMIN_TOKEN>", &admin.access_token)
            .replace(SAMPLE_USER_ID, &user_id)
            .replace(SAMPLE_ORDER_ID, &order_id)
            .replace(SAMPLE_GIG_ID, &gig_id)
            .replace(SAMPLE_REVIEW_ID, &review_id)
            .replace(SAMPLE_CONVERSATION_ID, &conversation_id)
            .replace(SAMPLE_FILE_ID, &file_id);
        let response = app.invoke(function, &event).await;
        assert_eq!(response.status, *expected, "{file}: {response:?}");
        if *file == "auth/logout.json" {
            logged_out_refresh_token = refresh_token.clone();
        }
        if let Some(token) = response.body["access_token"].as_str() {
            access_token = token.to_owned();
            refresh_token = response.body["refresh_token"].as_str().unwrap().to_owned();
            user_id = response.body["user"]["id"].as_str().unwrap().to_owned();
        }
        if let Some(declared) = response.body["file"]["id"].as_str() {
            file_id = declared.to_owned();
        }
        let body = &response.body;
        match *file {
            "auth/register.json" | "auth/login.json" => {
                assert_eq!(body["user"]["email"], "ann@example.com")
            }
            "auth/verify-email.json" => {
                assert_eq!(body["id"], user_id.as_str());
                assert_eq!(body["email_verified"], true);
            }
            "users/update-me.json" => assert_eq!(body["country"], "DE"),
            "admin/get-user.json" => {
                assert_eq!(body["profile"]["id"], user_id.as_str());
                assert_eq!(body["counts"]["gigs"], 1);
                assert_eq!(body["counts"]["orders_as_freelancer"], 1);
            }
            "admin/audit-log.json" => assert_eq!(body["items"], serde_json::json!([])),
            "admin/list-users.json" => {
                let ids: Vec<&str> = body["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .filter_map(|user| user["id"].as_str())
                    .collect();
                assert_eq!(ids, [user_id.as_str()]);
            }
            "admin/list-orders.json" => assert_eq!(body["items"][0]["id"], order_id.as_str()),
            "admin/list-payments.json" => {
                assert_eq!(body["items"].as_array().map(Vec::len), Some(1), "{body}");
                assert_eq!(body["items"][0]["kind"], "charge");
                assert_eq!(body["items"][0]["order_id"], order_id.as_str());
                assert_eq!(
                    body["items"][0]["amount_cents"], 5_275,
                    "price and service fee"
                );
            }
            "admin/refund-order.json" => {
                assert_eq!(body["order_id"], order_id.as_str());
                assert_eq!(body["amount_cents"], 1_000);
                assert_eq!(body["status"], "succeeded", "{body}");
            }
            "admin/list-reviews.json" => {
                assert_eq!(body["items"].as_array().map(Vec::len), Some(2))
            }
            "admin/hide-review.json" => assert_eq!(body["hidden"], true),
            "admin/unhide-review.json" => assert_eq!(body["hidden"], false),
            "admin/metrics.json" => {
                // The order Ann completed and the two reviews of it, from the counters.
                assert_eq!(body["orders"]["completed"], 1);
                assert_eq!(body["reviews"]["count"], 2);
                // Its charge, from the ledger's balances.
                assert_eq!(body["gross_order_value_cents"]["EUR"], 5_275);
            }
            "users/get-user.json" => {
                assert_eq!(body["id"], user_id.as_str());
                assert!(body.get("email").is_none(), "public profile");
            }
            "gigs/list-categories.json" => {
                assert!(body["categories"].as_array().is_some_and(|c| !c.is_empty()))
            }
            "gigs/create-gig.json" => {
                // Ann (a freelancer) publishes a gig; it waits for review.
                assert_eq!(body["status"], "pending_review");
                assert_eq!(body["freelancer_id"], user_id.as_str());
                assert_eq!(response.header("etag"), Some("\"1\""));
                gig_id = body["id"].as_str().unwrap().to_owned();
            }
            "admin/gig-review-queue.json" => {
                let queued: Vec<(&str, &str)> = body["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .map(|queued| {
                        let id = queued["gig"]["id"].as_str().unwrap();
                        (id, queued["etag"].as_str().unwrap())
                    })
                    .collect();
                assert_eq!(queued, [(gig_id.as_str(), "\"1\"")]);
            }
            "admin/approve-gig.json" => {
                assert_eq!(body["status"], "active");
                assert_eq!(response.header("etag"), Some("\"1\""));
            }
            "admin/reject-gig.json" => {
                assert_eq!(body["status"], "rejected");
                assert!(body["rejection_reason"].as_str().is_some());
            }
            "search/browse-gigs.json" | "gigs/my-gigs.json" => {
                let ids: Vec<&str> = body["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .filter_map(|gig| gig["id"].as_str())
                    .collect();
                assert_eq!(ids, [gig_id.as_str()], "{file}");
            }
            "gigs/get-gig.json" => {
                assert_eq!(body["id"], gig_id.as_str());
                assert!(body.get("open_orders").is_none(), "the public view");
            }
            "gigs/update-gig.json" => {
                // Edited with the ETag it was created with; the edit goes back to review.
                assert_eq!(body["version"], 2);
                assert_eq!(body["status"], "pending_review");
                assert_eq!(body["open_orders"], 0, "the order above is completed");
            }
            "orders/place-order.json" => {
                assert_eq!(body["status"], "awaiting_payment");
                assert!(body["payment"]["client_secret"].is_string(), "{body}");
                assert_eq!(body["gig_id"], gig_id.as_str());
                assert_eq!(body["freelancer_id"], user_id.as_str());
                assert_eq!(body["client_id"], client.id.to_string());
                assert_eq!(body["price_cents"], 5_000, "the basic package, snapshotted");
                order_id = body["id"].as_str().unwrap().to_owned();
                // The same sample again (same Idempotency-Key and body): the same order.
                let replay = app.invoke(function, &event).await;
                assert_eq!(replay.status, 201, "{replay:?}");
                assert_eq!(replay.body["id"], order_id.as_str());
                // The client pays, so the freelancer's samples find the order.
                app.pay_order(order_id.parse().unwrap()).await;
            }
            "orders/list-orders.json" => {
                let ids: Vec<&str> = body["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .filter_map(|order| order["id"].as_str())
                    .collect();
                assert_eq!(ids, [order_id.as_str()]);
                assert!(body["next_cursor"].is_null());
            }
            "orders/accept-order.json" => {
                assert_eq!(body["status"], "in_progress");
                assert!(body["due_at"].is_string());
            }
            "orders/deliver-order.json" => {
                assert_eq!(body["status"], "delivered");
                assert_eq!(
                    body["last_change"]["attachments"].as_array().unwrap().len(),
                    2
                );
            }
            "orders/complete-order.json" => assert_eq!(body["status"], "completed"),
            "payouts/get-payouts.json" => {
                // The completed order's net less the admin's refund, pending until it clears.
                assert_eq!(body["payouts_enabled"], false);
                assert!(body["balances"][0]["pending_cents"].as_i64().unwrap() > 0);
                let mut kinds: Vec<&str> = body["entries"]["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|entry| entry["kind"].as_str())
                    .collect();
                kinds.sort_unstable();
                assert_eq!(kinds, ["admin_refund", "order_completed"]);
            }
            "payouts/open-account.json" => {
                assert!(body["onboarding_url"].as_str().unwrap().starts_with("http"));
                assert_eq!(body["account"]["payouts_enabled"], false);
            }
            "payouts/change-settings.json" => assert_eq!(body["auto_withdraw"], true),
            "payouts/withdraw.json" => assert!(
                body["type"]
                    .as_str()
                    .unwrap()
                    .ends_with("/payouts-not-enabled"),
                "{body}"
            ),
            "reviews/post-review.json" => {
                assert_eq!(body["state"], "sealed");
                review_id = body["id"].as_str().unwrap().to_owned();
            }
            "reviews/post-review-freelancer.json" => assert_eq!(body["state"], "published"),
            "reviews/gig-reviews.json" | "reviews/user-reviews.json" => {
                let ids: Vec<&str> = body["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .filter_map(|review| review["id"].as_str())
                    .collect();
                assert_eq!(ids, [review_id.as_str()], "{file}");
            }
            "reviews/reply-to-review.json" => assert!(body["reply"]["comment"].is_string()),
            "orders/get-order.json" => {
                let kinds: Vec<&str> = body["timeline"]
                    .as_array()
                    .expect("timeline")
                    .iter()
                    .filter_map(|entry| entry["kind"].as_str())
                    .collect();
                assert_eq!(
                    kinds,
                    ["placed", "paid", "accepted", "delivered", "completed"]
                );
            }
            // Messaging.
            "messages/open-conversation.json" => {
                assert_eq!(
                    body["conversation"]["context"]["order_id"],
                    order_id.as_str()
                );
                assert_eq!(body["message"]["recipient_id"], user_id.as_str());
                conversation_id = body["conversation"]["id"].as_str().unwrap().to_owned();
            }
            "messages/list-conversations.json" => {
                assert_eq!(body["items"][0]["id"], conversation_id.as_str());
                assert_eq!(body["items"][0]["unread_count"], 1);
            }
            "messages/send-message.json" => {
                assert_eq!(body["message"]["text"], "Sure, blue it is.")
            }
            "messages/list-messages.json" => {
                assert_eq!(body["items"].as_array().unwrap().len(), 2)
            }
            "messages/mark-read.json" => assert_eq!(body["unread_count"], 0),
            _ => {}
        }
    }
    // The logout sample really ended the session.
    let event = sample("auth/refresh.json").replace("<REFRESH_TOKEN>", &logged_out_refresh_token);
    assert_eq!(app.invoke("auth", &event).await.status, 401);
    // The password-change sample answered with a new session that works.
    let event = sample("auth/refresh.json").replace("<REFRESH_TOKEN>", &refresh_token);
    assert_eq!(app.invoke("auth", &event).await.status, 200);
    // The reset sample set the client's password and ended their sessions.
    let event = sample("auth/refresh.json").replace("<REFRESH_TOKEN>", &client.refresh_token);
    assert_eq!(app.invoke("auth", &event).await.status, 401);
    assert_eq!(
        app.login(&client.email, "a fresh reset password")
            .await
            .status,
        200
    );
}

/// The stream batch (an order INSERT and its timeline entry) becomes exactly one order event on
/// the queue.
#[tokio::test]
async fn the_dispatcher_sample_queues_one_order_event() {
    let (_app, pipeline) = TestApp::with_pipeline().await;
    let batch: StreamEvent =
        serde_json::from_str(&sample("dispatcher/order-paid.json")).expect("a stream event");
    assert_eq!(batch.records.len(), 2);
    let response = dispatcher::handle(batch, &pipeline.sqs, &pipeline.queues()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let messages = pipeline.receive_all().await;
    assert_eq!(messages.len(), 1, "the timeline entry is no event");
    let event: Event = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(event.event_type.to_string(), "order.paid");
    assert_eq!(
        event.event_id,
        "order:0193a0c2-5f00-7c3e-9a51-3b9e2f1c0a11:2"
    );
    let Subject::Order(order) = &event.subject else {
        panic!("an order event: {event:?}");
    };
    assert_eq!(order.gig_title, "I will design your logo");
    // One wire format end to end: what the dispatcher queues for this record is the notifier
    // sample's message, body and attribute.
    let recorded: SqsEvent = serde_json::from_str(&sample("notifier/order-paid.json")).unwrap();
    let recorded = &recorded.records[0];
    let body = |text: &str| serde_json::from_str::<Value>(text).expect("JSON body");
    assert_eq!(
        body(messages[0].body().unwrap()),
        body(recorded.body.as_deref().unwrap())
    );
    assert_eq!(
        messages[0].message_attributes().unwrap()["event_type"].string_value(),
        recorded.message_attributes["event_type"]
            .string_value
            .as_deref()
    );
}

/// The SQS batch mails the order's freelancer once; the same batch again mails nobody.
#[tokio::test]
async fn the_notifier_sample_mails_the_freelancer_once() {
    let (app, _pipeline) = TestApp::with_pipeline().await;
    let freelancer = app.register_freelancer().await;
    let batch: SqsEvent = serde_json::from_str(
        &sample("notifier/order-paid.json")
            .replace(SAMPLE_EVENT_FREELANCER_ID, &freelancer.id.to_string()),
    )
    .expect("an SQS event");
    let notifier = app.notifier();
    let response = notifier.handle(batch.clone()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let expected = vec!["New order: I will design your logo".to_owned()];
    assert_eq!(subjects_to(&freelancer.email).await, expected);
    let redelivered = notifier.handle(batch).await;
    assert!(redelivered.batch_item_failures.is_empty());
    assert_eq!(subjects_to(&freelancer.email).await, expected);
    // A message that is not an order event fails alone (and is retried, then dead-lettered).
    let mut poison: SqsEvent = serde_json::from_str(&sample("notifier/order-paid.json")).unwrap();
    poison.records[0].body = Some("not an event".to_owned());
    let failed = notifier.handle(poison).await;
    assert_eq!(failed.batch_item_failures.len(), 1);
}

/// The payout samples: each stream record queues exactly its notifier sample's message, and that
/// message mails the freelancer once (and nobody again when it is redelivered).
#[tokio::test]
async fn the_payout_samples_queue_their_event_and_mail_it_once() {
    let (app, pipeline) = TestApp::with_pipeline().await;
    let freelancer = app.register_freelancer().await;
    let notifier = app.notifier();
    let mut expected = Vec::new();
    for (record, message, subject) in [
        (
            "dispatcher/earning-cleared.json",
            "notifier/funds-cleared.json",
            "EUR 40.00 is available to withdraw",
        ),
        (
            "dispatcher/withdrawal-sent.json",
            "notifier/withdrawal-sent.json",
            "EUR 40.00 is on its way to you",
        ),
    ] {
        let batch: StreamEvent = serde_json::from_str(&sample(record)).expect("a stream event");
        let response = dispatcher::handle(batch, &pipeline.sqs, &pipeline.queues()).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{record}: {response:?}"
        );
        let queued = pipeline.receive_all().await;
        gigmarket_tests::pipeline::delete_messages(&pipeline.sqs, &pipeline.queue_url, &queued)
            .await;
        let recorded: SqsEvent = serde_json::from_str(&sample(message)).unwrap();
        let body = |text: &str| serde_json::from_str::<Value>(text).expect("JSON body");
        assert_eq!(queued.len(), 1, "{record}");
        assert_eq!(
            body(queued[0].body().unwrap()),
            body(recorded.records[0].body.as_deref().unwrap()),
            "{record} queues {message}"
        );

        let batch: SqsEvent = serde_json::from_str(
            &sample(message).replace(SAMPLE_EVENT_FREELANCER_ID, &freelancer.id.to_string()),
        )
        .unwrap();
        expected.push(subject.to_owned());
        for _delivery in 0..2 {
            let response = notifier.handle(batch.clone()).await;
            assert!(
                response.batch_item_failures.is_empty(),
                "{message}: {response:?}"
            );
            assert_eq!(subjects_to(&freelancer.email).await, expected, "{message}");
        }
    }
}

/// The scheduled event is what the scheduler's rule sends; a run then completes the delivered
/// orders that are due (the handler ignores the event's content, so the run is called with a
/// clock three days on).
#[tokio::test]
async fn the_scheduler_sample_runs_the_housekeeping() {
    let scheduled: Value = serde_json::from_str(&sample("scheduler/scheduled.json")).expect("JSON");
    assert_eq!(scheduled["detail-type"], "Scheduled Event");
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let delivered = app.order_in(&cast, &gig, "delivered").await;
    let summary = scheduler::run(
        &app.state.store,
        &app.stripe,
        OffsetDateTime::now_utc() + Duration::days(3) + Duration::minutes(1),
    )
    .await
    .expect("run");
    assert_eq!(
        serde_json::to_value(&summary).unwrap(),
        serde_json::json!({"events_reconciled": 0, "auto_completed": 1, "marked_late": 0, "expired": 0, "refunds_issued": 0, "skipped": 0, "reviews_published": 0, "earnings_cleared": 0, "auto_withdrawals": 0, "withdrawals_finished": 0, "admin_refunds_finished": 0, "dispute_reversals_finished": 0, "gig_reindexes_resumed": 0, "order_files_expired": 0}),
        "the invocation's result"
    );
    assert_eq!(
        app.order(&cast.client, delivered).await.body["status"],
        "completed"
    );
}

/// The WebSocket samples, handed to `realtime`'s socket handler in order: a ticket opens the
/// connection, `ping` answers, `typing` on a conversation of others is refused, `$disconnect`
/// forgets it.
#[tokio::test]
async fn every_socket_sample_gets_its_expected_response() {
    use aws_lambda_events::encodings::Body;
    let app = TestApp::new().await;
    let client = app.register_client().await;
    let now = OffsetDateTime::now_utc();
    let caller = gigmarket_shared::domain::user::Caller {
        id: client.id,
        role: gigmarket_shared::domain::user::Role::Client,
        session: None,
    };
    let ticket = gigmarket_shared::app::realtime::issue_ticket(&app.state.store, caller, now)
        .await
        .unwrap()
        .ticket;
    for (file, _) in SOCKET_SAMPLES {
        let event: Value =
            serde_json::from_str(&sample(file).replace("<TICKET>", &ticket)).unwrap();
        let request = serde_json::from_value(event).expect("a WebSocket event");
        let response = ::realtime::socket::handle(&app.state, None, request, now).await;
        // The sample's conversation is not the fresh user's: refused as unknown to them.
        let expected = if *file == "realtime/typing.json" {
            404
        } else {
            200
        };
        assert_eq!(
            response.status_code, expected,
            "{file}: {:?}",
            response.body
        );
        if *file == "realtime/ping.json" {
            let Some(Body::Text(body)) = response.body else {
                panic!("{file}: no body");
            };
            assert_eq!(body, r#"{"type":"pong"}"#);
        }
    }
    let connections = app
        .state
        .store
        .connections_of(client.id, now.unix_timestamp())
        .await
        .unwrap();
    assert!(connections.is_empty(), "{connections:?}");
}

//! Load over loopback through `cargo lambda watch` (`GIGMARKET_API_URL`, `TABLE_NAME` as make
//! test sets them; its own binary so its 400 order events never slow the e2e tests' mail waits):
//! 200 concurrent order placements, then 200 concurrent transitions (accept). Nothing is lost
//! (every placement answered 201 with an order that is stored, every accept 200 and stored), no
//! 5xx, and the gig's counters equal what the stored orders add up to.
//!
//! Not yet part of `make test` (ignored): on 2026-11-26, against `cargo lambda watch
//! --concurrency 4` on the contended 2-core machine, the 200 concurrent placements stalled: no
//! answer for 5 minutes (watch's log showed the `orders` instances spawned, then nothing; `GET
//! /categories` hung too), so it needs watch's behaviour under 200 open connections understood
//! (or a bounded client-side concurrency) first. Run it by hand against a running watch:
//! `cargo nextest run -p gigmarket-tests --test load --run-ignored all`.

use std::sync::Arc;

use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::domain::order::OrderStatus;
use gigmarket_shared::store::Store;
use gigmarket_tests::TestApp;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use uuid::Uuid;

const CONCURRENT: usize = 200;
const PASSWORD: &str = "a load test password";

fn base_url() -> String {
    std::env::var("GIGMARKET_API_URL")
        .expect("GIGMARKET_API_URL must point at `cargo lambda watch` (make test starts it)")
}

async fn functions_store() -> Store {
    let table =
        std::env::var("TABLE_NAME").expect("TABLE_NAME of the functions (make test sets it)");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Store::new(gigmarket_shared::aws::dynamodb(&config), table)
}

async fn post(
    http: &reqwest::Client,
    path: &str,
    token: Option<&str>,
    body: Value,
    key: Option<&str>,
) -> (u16, Value) {
    let mut request = http.post(format!("{}{path}", base_url())).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("watch answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A registered user with a verified email (as an operator verifies, `gigctl verify-email`),
/// logged in afterwards; returns (id, access token).
async fn verified_user(http: &reqwest::Client, store: &Store, role: &str) -> (Uuid, String) {
    let email = format!("load-{role}-{}@example.com", Uuid::new_v4().simple());
    let (status, body) = post(
        http,
        "/auth/register",
        None,
        json!({"email": email, "password": PASSWORD, "name": format!("Load {role}"), "role": role}),
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id: Uuid = body["user"]["id"].as_str().unwrap().parse().unwrap();
    store
        .mark_email_verified(id, time::OffsetDateTime::now_utc())
        .await
        .expect("verified");
    let (status, session) = post(
        http,
        "/auth/login",
        None,
        json!({"email": email, "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{session}");
    (id, session["access_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
#[ignore = "stalls cargo lambda watch on this machine; see the module doc"]
async fn two_hundred_concurrent_placements_and_transitions_lose_nothing() {
    let store = functions_store().await;
    let http = reqwest::Client::new();
    let (_, client_token) = verified_user(&http, &store, "client").await;
    let (freelancer_id, freelancer_token) = verified_user(&http, &store, "freelancer").await;
    let gig = TestApp::active_gig(freelancer_id, Revisions::Limited(1));
    store.create_gig(&gig).await.unwrap();
    let (client_token, freelancer_token) = (Arc::new(client_token), Arc::new(freelancer_token));

    let mut placements = JoinSet::new();
    for index in 0..CONCURRENT {
        let (http, token) = (http.clone(), client_token.clone());
        placements.spawn(async move {
            let body = json!({"gig_id": gig.id, "package": "basic", "requirements": format!("Load order {index}.")});
            post(&http, "/orders", Some(&token), body, Some(&format!("load-{index}"))).await
        });
    }
    let mut placed = Vec::new();
    while let Some(result) = placements.join_next().await {
        let (status, body) = result.unwrap();
        assert_eq!(status, 201, "every placement is placed, no 5xx: {body}");
        placed.push(body["id"].as_str().unwrap().parse::<Uuid>().unwrap());
    }
    placed.sort();
    placed.dedup();
    assert_eq!(placed.len(), CONCURRENT, "200 distinct orders");

    let mut transitions = JoinSet::new();
    for order in placed.clone() {
        let (http, token) = (http.clone(), freelancer_token.clone());
        transitions.spawn(async move {
            post(
                &http,
                &format!("/orders/{order}/accept"),
                Some(&token),
                json!({}),
                None,
            )
            .await
        });
    }
    while let Some(result) = transitions.join_next().await {
        let (status, body) = result.unwrap();
        assert_eq!(status, 200, "every accept is done, no 5xx: {body}");
        assert_eq!(body["status"], "in_progress");
    }

    // Nothing lost: every order stored, accepted, with its whole timeline.
    for order in &placed {
        let (stored, timeline, _) = store
            .order_with_timeline(*order)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("order {order} stored"));
        assert_eq!(stored.status, OrderStatus::InProgress, "{order}");
        assert_eq!(timeline.len() as u64, stored.version, "{order}");
    }
    let gig = store.get_gig(gig.id).await.unwrap().expect("the gig");
    assert_eq!(gig.order_count, CONCURRENT as u64, "the gig's order count");
    assert_eq!(gig.open_orders, CONCURRENT as u64, "the gig's open orders");
}

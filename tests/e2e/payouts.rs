//! A freelancer paid out through the deployed shape: the order completed over HTTP, Stripe
//! Connect onboarding by following the local Stripe's hosted link, `account.updated` delivered
//! by the local Stripe to the Connect webhook under watch (its own secret, read from Secrets
//! Manager), the scheduler's clearance (`make test` runs watch with a clearance period of 0
//! days), and a withdrawal whose transfer `transfer.created` confirms through the platform
//! webhook, or the scheduler's automatic withdrawal. A disputed charge reaches the admins' list and leaves it when the dispute is won.

use std::time::{Duration, Instant};

use gigmarket_shared::domain::order::DisputeStatus;
use gigmarket_shared::domain::payout::DisputeRecord;
use gigmarket_tests::payments::CARD_DISPUTED;
use gigmarket_tests::watch::{
    active_gig_in_functions_table, admin_over_http, call_with, functions_store, order_step,
    pay_over_http_with, place_order, register_over_http, run_scheduler,
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// What happens between two reads of `GET /me/payouts` while waiting for a change.
#[derive(Clone, Copy)]
enum Between {
    /// Nothing: Stripe's webhook deliveries are asynchronous and bring the change.
    Waiting,
    /// A scheduler run under watch. Other tests run the scheduler at the same time and any run
    /// may be the one that makes the change, so runs go on until the page shows it.
    SchedulerRuns,
}

/// `GET /me/payouts` until `done` holds, doing `between` before each read.
async fn payouts_until(
    client: &reqwest::Client,
    token: &str,
    what: &str,
    between: Between,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Between::SchedulerRuns = between {
            run_scheduler().await;
        }
        let (status, page) = call_with(client, Method::GET, "/me/payouts", token, &[], None).await;
        assert_eq!(status, 200, "{page}");
        if done(&page) {
            return page;
        }
        assert!(Instant::now() < deadline, "{what} never happened: {page}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A freelancer with a completed order, onboarded through the local Stripe's hosted link (its
/// account.updated delivered to the Connect webhook under watch); answers their access token
/// and the order's id.
async fn onboarded_freelancer_with_completed_order(client: &reqwest::Client) -> (String, String) {
    let (_, client_token, _) = register_over_http(client, "client").await;
    let (freelancer_id, freelancer_token, _) = register_over_http(client, "freelancer").await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;
    let order_id = place_order(client, &client_token, &gig).await;
    order_step(client, &freelancer_token, &order_id, "accept", json!({})).await;
    order_step(
        client,
        &freelancer_token,
        &order_id,
        "deliver",
        json!({"message": "Done.", "attachments": ["https://files.example.com/logo.svg"]}),
    )
    .await;
    order_step(client, &client_token, &order_id, "complete", json!({})).await;

    let (status, onboarding) = call_with(
        client,
        Method::POST,
        "/me/payouts/account",
        &freelancer_token,
        &[],
        Some(json!({"country": "DE"})),
    )
    .await;
    assert_eq!(status, 200, "{onboarding}");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let visit = browser
        .get(onboarding["onboarding_url"].as_str().unwrap())
        .send()
        .await
        .expect("the onboarding link");
    assert_eq!(visit.status(), 302);
    // The local Stripe delivers account.updated to the Connect webhook under watch.
    payouts_until(
        client,
        &freelancer_token,
        "account.updated",
        Between::Waiting,
        |page| page["payouts_enabled"] == true,
    )
    .await;
    (freelancer_token, order_id)
}

#[tokio::test]
async fn a_freelancer_onboards_and_withdraws_through_cargo_lambda_watch() {
    let client = reqwest::Client::new();
    let (freelancer_token, order_id) = onboarded_freelancer_with_completed_order(&client).await;

    // The clearance period under `make test` is 0 days: a scheduler run clears it.
    let page = payouts_until(
        &client,
        &freelancer_token,
        "clearance",
        Between::SchedulerRuns,
        |page| page["balances"][0]["available_cents"].as_i64() > Some(0),
    )
    .await;
    let available = page["balances"][0]["available_cents"].as_i64().unwrap();

    let key = Uuid::new_v4().to_string();
    let everything = json!({"currency": "EUR"});
    let headers = [("Idempotency-Key", key.as_str())];
    let withdraw = || {
        call_with(
            &client,
            Method::POST,
            "/me/payouts/withdrawals",
            &freelancer_token,
            &headers,
            Some(everything.clone()),
        )
    };
    let (status, withdrawal) = withdraw().await;
    assert_eq!(status, 201, "{withdrawal}");
    assert_eq!(withdrawal["amount_cents"], available);
    assert_eq!(withdrawal["transfers"][0]["order_id"], order_id.as_str());
    // Stripe's transfer.created reaches the platform webhook (payments) and confirms it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, shown) = withdraw().await;
        assert_eq!(status, 200, "{shown}");
        assert_eq!(shown["id"], withdrawal["id"]);
        if shown["transfers"][0]["status"] == "confirmed" {
            break;
        }
        assert!(Instant::now() < deadline, "never confirmed: {shown}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let page = payouts_until(
        &client,
        &freelancer_token,
        "the withdrawal",
        Between::Waiting,
        |page| page["balances"][0]["paid_out_cents"].as_i64() == Some(available),
    )
    .await;
    assert_eq!(page["balances"][0]["available_cents"], 0);
}

/// Automatic withdrawal: the setting through watch (payouts), then the scheduler under watch
/// clears the earning and withdraws it through the withdrawal use case (`make test`'s
/// clearance period is 0 days). Another test's run may do it first: runs go on until one has.
#[tokio::test]
async fn the_scheduler_withdraws_automatically_through_cargo_lambda_watch() {
    let client = reqwest::Client::new();
    let (freelancer_token, _) = onboarded_freelancer_with_completed_order(&client).await;
    let (status, settings) = call_with(
        &client,
        Method::PUT,
        "/me/payouts/settings",
        &freelancer_token,
        &[],
        Some(json!({"auto_withdraw": true})),
    )
    .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["auto_withdraw"], true);
    let page = payouts_until(
        &client,
        &freelancer_token,
        "the automatic withdrawal",
        Between::SchedulerRuns,
        |page| page["balances"][0]["paid_out_cents"].as_i64() > Some(0),
    )
    .await;
    assert_eq!(page["auto_withdraw"], true);
    assert_eq!(page["balances"][0]["available_cents"], 0, "{page}");
    let withdrawals: Vec<&Value> = page["entries"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "withdrawal")
        .collect();
    assert_eq!(withdrawals.len(), 1, "{page}");
    assert_eq!(
        withdrawals[0]["paid_out_change_cents"],
        page["balances"][0]["paid_out_cents"]
    );
}

/// The open disputes through watch, as an admin sees them.
async fn open_disputes(client: &reqwest::Client, admin_token: &str) -> Vec<Value> {
    let (status, page) = call_with(
        client,
        Method::GET,
        "/admin/disputes?limit=100",
        admin_token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_disputed_charge_reaches_the_admins_and_a_won_dispute_leaves_their_list() {
    let client = reqwest::Client::new();
    let (_, client_token, _) = register_over_http(&client, "client").await;
    let (freelancer_id, _, _) = register_over_http(&client, "freelancer").await;
    let (_, admin_token) = admin_over_http(&client).await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;
    let (status, placed) = call_with(
        &client,
        Method::POST,
        "/orders",
        &client_token,
        &[("Idempotency-Key", &Uuid::new_v4().to_string())],
        Some(gigmarket_tests::fixtures::order_body(&gig)),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    pay_over_http_with(&client, &client_token, &placed, CARD_DISPUTED).await;
    let order_id = placed["id"].as_str().unwrap();
    // The local Stripe disputes the charge and delivers charge.dispute.created to watch.
    let deadline = Instant::now() + Duration::from_secs(60);
    let dispute = loop {
        let open = open_disputes(&client, &admin_token).await;
        if let Some(dispute) = open.into_iter().find(|d| d["order_id"] == order_id) {
            break dispute;
        }
        assert!(Instant::now() < deadline, "the dispute never arrived");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(dispute["status"], "open");
    // Stripe's test mode: winning evidence wins the dispute; charge.dispute.closed follows.
    let base = std::env::var("STRIPE_API_BASE").unwrap();
    let key = std::env::var("STRIPE_SECRET_KEY").unwrap();
    let answer = reqwest::Client::new()
        .post(format!(
            "{base}/v1/disputes/{}",
            dispute["id"].as_str().unwrap()
        ))
        .bearer_auth(key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("evidence[uncategorized_text]=winning_evidence")
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{answer:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while open_disputes(&client, &admin_token)
        .await
        .iter()
        .any(|d| d["order_id"] == order_id)
    {
        assert!(Instant::now() < deadline, "the dispute never closed");
        tokio::time::sleep(Duration::from_millis(250)).await;
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
    assert_eq!(order["dispute"]["status"], "won", "{order}");
}

/// A lost dispute whose reversals Stripe never answered, as the dispute's close leaves it
/// (written through the store: Stripe's test mode disputes a charge as it is paid, so no
/// dispute arrives after a payout): the scheduler under watch asks Stripe again and takes it
/// off its list. This order was never paid out, so nothing is reversed and the rest stays owed.
#[tokio::test]
async fn the_scheduler_retries_a_lost_disputes_reversals_through_cargo_lambda_watch() {
    let (store, _) = functions_store().await;
    let closed = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let record = DisputeRecord {
        id: format!("du_{}", Uuid::new_v4().simple()),
        order_id: Uuid::new_v4(),
        freelancer_id: Uuid::new_v4(),
        amount_cents: 1_000,
        currency: "EUR".to_owned(),
        status: DisputeStatus::Lost,
        frozen_cents: 0,
        opened_at: closed,
        closed_at: Some(closed),
        paid_out_cents: 800,
        reversals: Vec::new(),
        reversals_tried: false,
    };
    assert!(record.reversals_due());
    store.put_dispute(&record).await.expect("the dispute");
    // Another test's run may take it first and still be at work when this one ends: runs go on
    // until one has tried the reversals.
    let deadline = Instant::now() + Duration::from_secs(60);
    let after = loop {
        run_scheduler().await;
        let after = store
            .get_dispute(&record.id)
            .await
            .unwrap()
            .expect("the dispute");
        if after.reversals_tried {
            break after;
        }
        assert!(Instant::now() < deadline, "never tried: {after:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(after.reversals_tried, "{after:?}");
    assert!(!after.reversals_due(), "{after:?}");
    assert!(after.reversals.is_empty(), "{after:?}");
}

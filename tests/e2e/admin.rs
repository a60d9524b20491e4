//! The admin function through watch, on users, gigs and orders each test makes: a user's
//! details, block (their gig leaves the storefront), unblock and the audit log; the metrics; a
//! review's hide refused for an unknown review; gig moderation (the queue, reject on the ETag
//! reviewed, approve, remove, each audited); an admin's cancel of an open order and the users
//! and orders lists; a paid order's charge in the payments list and the money figures; and an
//! owner unlisting their gig. Each exercises the function's grants on
//! the deployed code path (`tests/permissions.rs` checks them against the run's call log).

use gigmarket_tests::fixtures::gig_body;
use gigmarket_tests::watch::{
    active_gig_in_functions_table, admin_over_http, call, call_with, find_in_listing, place_order,
    register_over_http,
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// A new gig by `token`, in review (a new gig's ETag is "1"); returns its id.
async fn submit_gig(client: &reqwest::Client, token: &str) -> String {
    let title = format!(
        "Admin e2e gig {}",
        &Uuid::new_v4().simple().to_string()[..8]
    );
    let (status, _, created) = call(
        client,
        Method::POST,
        "/gigs",
        Some(token),
        Some(gig_body(&title)),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// `POST /admin/gigs/{id}/<decision>` with `If-Match` when given; returns the status.
async fn moderate(
    client: &reqwest::Client,
    admin: &str,
    gig_id: &str,
    decision: &str,
    if_match: Option<&str>,
    body: Value,
) -> u16 {
    let headers: Vec<(&str, &str)> = if_match
        .map(|etag| ("if-match", etag))
        .into_iter()
        .collect();
    let path = format!("/admin/gigs/{gig_id}/{decision}");
    call_with(client, Method::POST, &path, admin, &headers, Some(body))
        .await
        .0
}

/// Approves a new gig on the ETag reviewed (a new gig's is "1").
async fn approve(client: &reqwest::Client, admin: &str, gig_id: &str) {
    let status = moderate(client, admin, gig_id, "approve", Some("\"1\""), json!({})).await;
    assert_eq!(status, 200, "approving {gig_id}");
}

/// The public status of a gig's page.
async fn public_status(client: &reqwest::Client, gig_id: &str) -> u16 {
    call(client, Method::GET, &format!("/gigs/{gig_id}"), None, None)
        .await
        .0
}

/// The actions of the audit log about `target`, newest first.
async fn audit_actions(client: &reqwest::Client, admin: &str, target: &str) -> Vec<String> {
    let path = format!("/admin/audit?target={target}");
    let (status, audit) = call_with(client, Method::GET, &path, admin, &[], None).await;
    assert_eq!(status, 200, "{audit}");
    audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap().to_owned())
        .collect()
}

/// The admin function's user grants: counts (index Queries), the block transaction (user
/// Update, audit Put), the re-listing (gig Update, entry Delete/Put, owner ConditionCheck), the
/// audit listing; then the metrics (BatchGetItem on the counters) and a hide of an unknown
/// review (GetItem). The owner unlists the gig last: its listing entries are deleted in the
/// gig's transaction.
#[tokio::test]
async fn an_admin_blocks_and_unblocks_a_freelancer_whose_gig_leaves_and_returns() {
    let client = reqwest::Client::new();
    let (_, admin) = admin_over_http(&client).await;
    let (freelancer_id, freelancer_token, freelancer_email) =
        register_over_http(&client, "freelancer").await;
    let gig_id = submit_gig(&client, &freelancer_token).await;
    approve(&client, &admin, &gig_id).await;
    assert_eq!(public_status(&client, &gig_id).await, 200);

    let user = format!("/admin/users/{freelancer_id}");
    let (status, details) = call_with(&client, Method::GET, &user, &admin, &[], None).await;
    assert_eq!(status, 200, "{details}");
    let (status, blocked) = call_with(
        &client,
        Method::POST,
        &format!("{user}/block"),
        &admin,
        &[],
        Some(json!({"reason": "make test: blocked for a moment"})),
    )
    .await;
    assert_eq!(status, 200, "{blocked}");
    assert_eq!(
        public_status(&client, &gig_id).await,
        404,
        "a blocked freelancer's gig is still public"
    );
    let (status, unblocked) = call_with(
        &client,
        Method::POST,
        &format!("{user}/unblock"),
        &admin,
        &[],
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{unblocked}");
    assert_eq!(public_status(&client, &gig_id).await, 200);
    assert_eq!(
        audit_actions(&client, &admin, &freelancer_id).await,
        ["unblock_user", "block_user"]
    );

    let (status, metrics) =
        call_with(&client, Method::GET, "/admin/metrics", &admin, &[], None).await;
    assert_eq!(status, 200, "{metrics}");
    assert!(
        metrics["users"]["admin"]["active"].as_u64() >= Some(1),
        "{metrics}"
    );
    assert!(metrics["orders"].get("pending").is_some(), "{metrics}");
    let (status, hidden) = call_with(
        &client,
        Method::POST,
        &format!("/admin/reviews/{}/hide", Uuid::new_v4()),
        &admin,
        &[],
        Some(json!({"reason": "make test"})),
    )
    .await;
    assert_eq!(status, 404, "hiding an unknown review: {hidden}");

    // The block ended every session of the freelancer: the old token writes nothing.
    let (status, _) = call_with(
        &client,
        Method::POST,
        &format!("/gigs/{gig_id}/pause"),
        &freelancer_token,
        &[],
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 401, "a session the block ended");
    let (status, _, session) = call(
        &client,
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"email": freelancer_email, "password": "an end-to-end password"})),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let freelancer_token = session["access_token"].as_str().unwrap().to_owned();
    let (status, paused) = call_with(
        &client,
        Method::POST,
        &format!("/gigs/{gig_id}/pause"),
        &freelancer_token,
        &[],
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["status"], "paused", "{paused}");
}

/// The moderation queue (its index Query), a rejection on the ETag reviewed, an approval and a
/// removal: gig Update, listing entry Put and Delete, owner ConditionCheck, counters Update and
/// audit Put in one transaction each.
#[tokio::test]
async fn gig_moderation_rejects_approves_and_removes_each_audited() {
    let client = reqwest::Client::new();
    let (_, admin) = admin_over_http(&client).await;
    let (_, freelancer_token, _) = register_over_http(&client, "freelancer").await;
    let to_reject = submit_gig(&client, &freelancer_token).await;
    let to_remove = submit_gig(&client, &freelancer_token).await;
    for gig in [&to_reject, &to_remove] {
        let queued = find_in_listing(
            &client,
            "/admin/gigs?status=pending_review&limit=100",
            &admin,
            |item| item["gig"]["id"] == gig.as_str(),
        )
        .await
        .unwrap_or_else(|| panic!("{gig} is not in the moderation queue"));
        assert_eq!(queued["etag"], "\"1\"", "{queued}");
    }

    let reason = json!({"reason": "make test"});
    let reject = |if_match, body| moderate(&client, &admin, &to_reject, "reject", if_match, body);
    assert_eq!(reject(None, reason.clone()).await, 428, "no If-Match");
    assert_eq!(reject(Some("\"7\""), reason).await, 412, "a stale ETag");
    assert_eq!(
        reject(Some("\"1\""), json!({"reason": "make test: rejected"})).await,
        200
    );
    approve(&client, &admin, &to_remove).await;
    assert_eq!(public_status(&client, &to_remove).await, 200);
    let removal = json!({"reason": "make test: removed"});
    assert_eq!(
        moderate(&client, &admin, &to_remove, "remove", None, removal).await,
        200
    );
    assert_eq!(
        public_status(&client, &to_remove).await,
        404,
        "a removed gig is still public"
    );
    assert_eq!(
        audit_actions(&client, &admin, &to_reject).await,
        ["reject_gig"]
    );
    assert_eq!(
        audit_actions(&client, &admin, &to_remove).await,
        ["remove_gig", "approve_gig"]
    );
}

/// An admin cancels an open order (GetItem and the transition's transaction on the order, the
/// gig, the counters and the audit log); the lists (index Queries) show the cancelled order and
/// find the freelancer by their email.
#[tokio::test]
async fn an_admin_cancels_an_open_order_and_finds_it_and_its_freelancer_in_the_lists() {
    let client = reqwest::Client::new();
    let (_, admin) = admin_over_http(&client).await;
    let (_, client_token, _) = register_over_http(&client, "client").await;
    let (freelancer_id, _, freelancer_email) = register_over_http(&client, "freelancer").await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;
    let order_id = place_order(&client, &client_token, &gig).await;

    let (status, cancelled) = call_with(
        &client,
        Method::POST,
        &format!("/admin/orders/{order_id}/cancel"),
        &admin,
        &[],
        Some(json!({"reason": "make test: cancelled by an admin"})),
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["order"]["status"], "cancelled", "{cancelled}");
    let listed = find_in_listing(
        &client,
        "/admin/orders?status=cancelled&limit=100",
        &admin,
        |order| order["id"] == order_id.as_str(),
    )
    .await;
    assert!(
        listed.is_some(),
        "{order_id} not among the cancelled orders"
    );

    let path = format!("/admin/users?role=freelancer&q={freelancer_email}");
    let (status, users) = call_with(&client, Method::GET, &path, &admin, &[], None).await;
    assert_eq!(status, 200, "{users}");
    let ids: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|user| user["id"].as_str())
        .collect();
    assert_eq!(ids, [freelancer_id.as_str()]);
}

/// A paid order (its webhook delivered through watch to `payments`) is a charge in the payments
/// list (a Query of gsi4) and in the money figures (the BatchGetItem of the counter and ledger
/// currency shards, then the platform balances).
#[tokio::test]
async fn a_paid_order_is_a_charge_in_the_payments_list_and_the_money_figures() {
    let client = reqwest::Client::new();
    let (_, admin) = admin_over_http(&client).await;
    let (_, client_token, _) = register_over_http(&client, "client").await;
    let (freelancer_id, _, _) = register_over_http(&client, "freelancer").await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;
    let order_id = place_order(&client, &client_token, &gig).await;

    let charge = find_in_listing(&client, "/admin/payments?limit=100", &admin, |entry| {
        entry["order_id"] == order_id.as_str()
    })
    .await
    .unwrap_or_else(|| panic!("no charge of {order_id} among the payments"));
    assert_eq!(charge["kind"], "charge", "{charge}");
    assert_eq!(charge["id"], format!("order-paid:{order_id}"), "{charge}");
    let amount = charge["amount_cents"].as_i64().expect("an amount");
    let currency = charge["currency"].as_str().expect("a currency");

    let (status, metrics) =
        call_with(&client, Method::GET, "/admin/metrics", &admin, &[], None).await;
    assert_eq!(status, 200, "{metrics}");
    // The functions' table is shared with the other tests: at least this charge.
    assert!(
        metrics["gross_order_value_cents"][currency].as_i64() >= Some(amount),
        "{metrics}"
    );
    assert!(
        metrics["escrow_held_cents"][currency].as_i64().is_some(),
        "{metrics}"
    );
}

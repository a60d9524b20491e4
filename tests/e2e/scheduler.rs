//! The scheduler through watch on deadlines moved into the past (through the store's test
//! support, which owns the item and index layout): an order auto-completed, one marked late,
//! and a review still sealed when its window closed published; the deployed code path does the
//! rest (order, timeline, the gig's counters; review states, rating totals, the gig's re-index).

use gigmarket_tests::watch::{
    active_gig_in_functions_table, admin_over_http, call, find_in_listing, order_step, place_order,
    register_over_http, run_scheduler,
};
use reqwest::Method;
use serde_json::json;

/// Long past: whatever runs the scheduler next finds these due.
fn past() -> time::OffsetDateTime {
    gigmarket_tests::watch::long_ago()
}

#[tokio::test]
async fn the_scheduler_completes_marks_late_and_publishes_what_is_due() {
    let client = reqwest::Client::new();
    let (_, client_token, _) = register_over_http(&client, "client").await;
    let (freelancer_id, freelancer_token, _) = register_over_http(&client, "freelancer").await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;
    let (store, _) = gigmarket_tests::watch::functions_store().await;
    let gig_id = gig.id.to_string();

    let to_complete = place_order(&client, &client_token, &gig).await;
    order_step(
        &client,
        &freelancer_token,
        &to_complete,
        "accept",
        json!({}),
    )
    .await;
    let delivery =
        json!({"message": "Done", "attachments": ["https://files.example.com/logo.png"]});
    order_step(
        &client,
        &freelancer_token,
        &to_complete,
        "deliver",
        delivery,
    )
    .await;
    let to_mark_late = place_order(&client, &client_token, &gig).await;
    order_step(
        &client,
        &freelancer_token,
        &to_mark_late,
        "accept",
        json!({}),
    )
    .await;
    for order in [&to_complete, &to_mark_late] {
        store
            .move_order_deadline(order.parse().unwrap(), past())
            .await
            .expect("deadline moved");
    }

    // Another test's run may handle these first: the orders' states are the evidence.
    let summary = run_scheduler().await;
    let order = |id: String| {
        let (client, token) = (client.clone(), client_token.clone());
        async move {
            let (status, _, order) = call(
                &client,
                Method::GET,
                &format!("/orders/{id}"),
                Some(&token),
                None,
            )
            .await;
            assert_eq!(status, 200, "{order}");
            order
        }
    };
    let completed = order(to_complete.clone()).await;
    assert_eq!(completed["status"], "completed", "{summary}: {completed}");
    let last = completed["timeline"].as_array().unwrap().last().unwrap();
    assert_eq!(last["actor"]["role"], "system", "{completed}");
    let late = order(to_mark_late).await;
    assert_eq!(late["status"], "in_progress", "{late}");
    assert_eq!(late["late"], true, "{summary}: {late}");

    // The client reviews the auto-completed order; the freelancer never does.
    let (status, _, sealed) = call(
        &client,
        Method::POST,
        "/reviews",
        Some(&client_token),
        Some(json!({"order_id": to_complete, "rating": 4, "comment": "Published by the clock."})),
    )
    .await;
    assert_eq!(status, 201, "{sealed}");
    assert_eq!(sealed["state"], "sealed");
    let review_id = sealed["id"].as_str().unwrap().to_owned();
    store
        .move_review_window(review_id.parse().unwrap(), past())
        .await
        .expect("window moved");
    let summary = run_scheduler().await;

    let (status, _, listed) = call(
        &client,
        Method::GET,
        &format!("/gigs/{gig_id}/reviews"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        listed["items"][0]["id"],
        review_id.as_str(),
        "{summary}: {listed}"
    );
    let (_, _, seen_gig) = call(&client, Method::GET, &format!("/gigs/{gig_id}"), None, None).await;
    assert_eq!(seen_gig["rating_summary"]["count"], 1, "{seen_gig}");

    // An admin finds it among the published reviews.
    let (_, admin_token) = admin_over_http(&client).await;
    let found = find_in_listing(
        &client,
        "/admin/reviews?hidden=false&limit=100",
        &admin_token,
        |item| item["review"]["id"] == review_id.as_str(),
    )
    .await;
    assert!(found.is_some(), "review {review_id} not in the admin list");
}

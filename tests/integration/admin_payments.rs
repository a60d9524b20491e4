//! `admin`: the ledger's charges and refunds (`GET /admin/payments`, cursor-paged across the
//! months they were written in) and the money figures of `GET /admin/metrics` (gross order
//! value, fees earned, refunds, escrow held), with orders paid through the local stack's Stripe
//! emulator.

use gigmarket_shared::app::orders;
use gigmarket_shared::domain::gig::{Gig, Revisions};
use gigmarket_shared::domain::order::{ActionInput, Actor, OrderAction, Party};
use gigmarket_tests::TestApp;
use gigmarket_tests::fixtures::Cast;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The money figures of one currency: gross, fees, refunds, escrow (0 where absent).
async fn money(app: &TestApp, cast: &Cast, currency: &str) -> [i64; 4] {
    let metrics = app
        .get("/admin/metrics", Some(&cast.admin.access_token))
        .await;
    assert_eq!(metrics.status, 200, "{metrics:?}");
    [
        "gross_order_value_cents",
        "fees_earned_cents",
        "refunds_cents",
        "escrow_held_cents",
    ]
    .map(|figure| metrics.body[figure][currency].as_i64().unwrap_or(0))
}

/// The client's whole charge for an order, as the order shows it.
async fn client_total(app: &TestApp, cast: &Cast, order_id: Uuid) -> i64 {
    let order = app.order(&cast.client, order_id).await;
    assert_eq!(order.status, 200, "{order:?}");
    order.body["client_total_cents"].as_i64().expect("total")
}

/// Every entry of `GET /admin/payments?<query>` (the limit included), in order, with the pages.
async fn all_payments(app: &TestApp, cast: &Cast, query: &str) -> (Vec<Value>, usize) {
    app.all_pages(
        &cast.admin.access_token,
        &format!("/admin/payments?{query}"),
    )
    .await
}

/// (transaction id, kind) of each entry.
fn listed(items: &[Value]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|item| {
            (
                item["id"].as_str().unwrap().to_owned(),
                item["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn charge(order_id: Uuid) -> (String, String) {
    (format!("order-paid:{order_id}"), "charge".to_owned())
}

fn refund(order_id: Uuid) -> (String, String) {
    (format!("order-refunded:{order_id}"), "refund".to_owned())
}

/// An order placed and paid as of `at` (so written in that month).
async fn paid_at(app: &TestApp, cast: &Cast, gig: &Gig, at: OffsetDateTime) -> Uuid {
    let order_id = app.place_unpaid_order_at(&cast.client, gig, at).await;
    app.pay_order_at(order_id, at + Duration::minutes(1)).await;
    order_id
}

#[tokio::test]
async fn a_paid_order_is_a_charge_and_moves_gross_and_escrow_by_its_client_total() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let before = money(&app, &cast, "EUR").await;
    assert_eq!(before, [0; 4], "a fresh table holds no money");

    // Placed and not paid: no money moved, nothing listed.
    let order_id = app.place_unpaid_order(&cast.client, &gig).await;
    assert_eq!(money(&app, &cast, "EUR").await, before);
    let (entries, _) = all_payments(&app, &cast, "limit=10").await;
    assert!(entries.is_empty(), "{entries:?}");

    app.pay_order(order_id).await;
    let total = client_total(&app, &cast, order_id).await;
    assert!(total > 5_000, "price and service fee: {total}");
    let [gross, fees, refunds, escrow] = money(&app, &cast, "EUR").await;
    assert_eq!(gross, before[0] + total, "gross order value");
    assert_eq!(escrow, before[3] + total, "escrow held");
    assert_eq!((fees, refunds), (0, 0));

    let (entries, pages) = all_payments(&app, &cast, "limit=10").await;
    assert_eq!(pages, 1);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(listed(&entries), [charge(order_id)]);
    assert_eq!(entry["order_id"], order_id.to_string());
    assert_eq!(entry["currency"], "EUR");
    assert_eq!(entry["amount_cents"], total);
    let at = OffsetDateTime::parse(
        entry["at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("an RFC 3339 time");
    assert!((OffsetDateTime::now_utc() - at).abs() < Duration::minutes(5));

    // The payments of the marketplace are for admins only.
    for token in [
        Some(&cast.client.access_token),
        Some(&cast.freelancer.access_token),
    ] {
        let refused = app.get("/admin/payments", token.map(String::as_str)).await;
        assert_eq!(refused.status, 403, "{refused:?}");
    }
    assert_eq!(app.get("/admin/payments", None).await.status, 401);
}

#[tokio::test]
async fn payments_page_newest_first_across_months_with_refunds_and_ranges() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let now = OffsetDateTime::now_utc();
    // Oldest first: paid 70 and 40 days ago (two earlier months), the second refunded 39 days
    // ago, then two paid now.
    let old = paid_at(&app, &cast, &gig, now - Duration::days(70)).await;
    let refunded = paid_at(&app, &cast, &gig, now - Duration::days(40)).await;
    // Its freelancer rejects it (as of 39 days ago): refunded whole.
    let order = app.state.store.get_order(refunded).await.unwrap().unwrap();
    orders::change(
        &app.state.store,
        &app.stripe,
        &order,
        OrderAction::Reject,
        Actor::user(cast.freelancer.id, Party::Freelancer),
        ActionInput {
            note: Some("Too busy.".into()),
            attachments: Vec::new(),
            files: Vec::new(),
        },
        now - Duration::days(39),
    )
    .await
    .expect("the rejection");
    let first = app.place_order(&cast.client, &gig).await;
    let second = app.place_order(&cast.client, &gig).await;
    let newest_first = vec![
        charge(second),
        charge(first),
        refund(refunded),
        charge(refunded),
        charge(old),
    ];

    let (entries, pages) = all_payments(&app, &cast, "limit=2").await;
    assert_eq!(
        listed(&entries),
        newest_first,
        "newest first, across months"
    );
    assert!(pages >= 3, "{pages} pages");
    let (one_by_one, _) = all_payments(&app, &cast, "limit=1").await;
    assert_eq!(listed(&one_by_one), newest_first);
    let refund_entry = &entries[2];
    assert_eq!(refund_entry["order_id"], refunded.to_string());
    assert_eq!(
        refund_entry["amount_cents"],
        client_total(&app, &cast, refunded).await,
        "the whole charge back"
    );

    // The range selects months and instants within them.
    let from = (now - Duration::days(55)).date();
    let (recent, _) = all_payments(&app, &cast, &format!("from={from}&limit=2")).await;
    assert_eq!(listed(&recent), newest_first[..4]);
    let to = (now - Duration::days(30)).date();
    let (window, _) = all_payments(&app, &cast, &format!("from={from}&to={to}&limit=1")).await;
    assert_eq!(listed(&window), [refund(refunded), charge(refunded)]);

    // Every charge is in the gross order value; escrow holds what was not refunded.
    let mut charged = 0;
    for order_id in [old, refunded, first, second] {
        charged += client_total(&app, &cast, order_id).await;
    }
    let back = client_total(&app, &cast, refunded).await;
    assert_eq!(
        money(&app, &cast, "EUR").await,
        [charged, 0, back, charged - back]
    );

    // A cursor belongs to its query: another range's, or another list's, is refused.
    let page = app
        .get("/admin/payments?limit=1", Some(&cast.admin.access_token))
        .await;
    let cursor = page.body["next_cursor"].as_str().expect("a next page");
    let orders = app
        .get("/admin/orders?limit=1", Some(&cast.admin.access_token))
        .await;
    let orders_cursor = orders.body["next_cursor"].as_str().expect("a next page");
    for bad in [
        format!("from={from}&cursor={cursor}"),
        format!("cursor={orders_cursor}"),
        "cursor=not-a-cursor".to_owned(),
        "from=2026-11-02&to=2026-11-01".to_owned(),
        "from=2024-01-01&to=2026-01-01".to_owned(),
        "to=2026-02-30".to_owned(),
        "kind=charge".to_owned(),
        "limit=0".to_owned(),
    ] {
        let response = app
            .get(
                &format!("/admin/payments?{bad}"),
                Some(&cast.admin.access_token),
            )
            .await;
        assert_eq!(response.status, 400, "{bad}: {response:?}");
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json")
        );
    }
}

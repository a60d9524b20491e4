//! `scheduler`: auto-completion 3 days after delivery and late marking past `due_at`, through the
//! sparse deadline index and the same transition code as people's actions. The handler's run
//! function is called in-process with a clock the test controls.

use gigmarket_shared::domain::gig::Revisions;
use gigmarket_tests::TestApp;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[tokio::test]
async fn delivered_orders_complete_after_three_days_and_overdue_ones_are_marked_late() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let delivered = app.order_in(&cast, &gig, "delivered").await;
    let in_progress = app.order_in(&cast, &gig, "in_progress").await;
    let completed_by_client = app.order_in(&cast, &gig, "delivered").await;
    let pending = app.order_in(&cast, &gig, "pending").await;
    let store = &app.state.store;
    let now = OffsetDateTime::now_utc();

    let nothing_due = scheduler::run(store, &app.stripe, now).await.unwrap();
    assert_eq!(nothing_due, scheduler::RunSummary::default());

    // Basic package: 2 delivery days. Past the due date, not yet 3 days after delivery.
    let summary = scheduler::run(
        store,
        &app.stripe,
        now + Duration::days(2) + Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!((summary.marked_late, summary.auto_completed), (1, 0));
    let late = app.order(&cast.client, in_progress).await.body;
    assert_eq!(late["late"], true);
    assert_eq!(late["status"], "in_progress");
    let last = late["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "late");
    assert_eq!(last["actor"]["role"], "system");

    app.order_step(&cast.client, completed_by_client, "complete")
        .await;
    let open_before = app.gig(gig.id).await.open_orders;
    let summary = scheduler::run(
        store,
        &app.stripe,
        now + Duration::days(3) + Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(
        (summary.auto_completed, summary.marked_late),
        (1, 0),
        "late is marked once; the client-completed order is no longer due"
    );
    let auto = app.order(&cast.freelancer, delivered).await.body;
    assert_eq!(auto["status"], "completed");
    let timeline = auto["timeline"].as_array().unwrap();
    assert_eq!(
        timeline.len(),
        5,
        "placed, paid, accepted, delivered, completed"
    );
    assert_eq!(timeline[4]["kind"], "completed");
    assert_eq!(timeline[4]["from"], "delivered");
    assert_eq!(timeline[4]["actor"]["role"], "system");
    assert_eq!(app.gig(gig.id).await.open_orders, open_before - 1);
    assert_eq!(
        app.order(&cast.client, pending).await.body["status"],
        "pending"
    );

    // A month on, the two completed orders' earnings have cleared; then nothing is left to do:
    // the indexes only hold what can still need the scheduler.
    let month = now + Duration::days(30);
    let cleared = scheduler::run(store, &app.stripe, month).await.unwrap();
    assert_eq!(
        cleared,
        scheduler::RunSummary {
            earnings_cleared: 2,
            ..scheduler::RunSummary::default()
        }
    );
    let idle = scheduler::run(store, &app.stripe, month).await.unwrap();
    assert_eq!(idle, scheduler::RunSummary::default());
}

#[tokio::test]
async fn a_revision_request_takes_an_order_off_the_auto_complete_list() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(2))
        .await;
    let order: Uuid = app.order_in(&cast, &gig, "delivered").await;
    app.order_step(&cast.client, order, "request-revision")
        .await;
    let summary = scheduler::run(
        &app.state.store,
        &app.stripe,
        OffsetDateTime::now_utc() + Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(summary, scheduler::RunSummary::default());
    assert_eq!(
        app.order(&cast.client, order).await.body["status"],
        "in_progress"
    );
}

//! `admin` oversight: cancelling any open order (audited, counters and deadlines kept right,
//! both parties mailed), and the marketplace-wide lists of users, orders and reviews.

use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::store::orders::DueList;
use gigmarket_tests::fixtures::Cast;
use gigmarket_tests::pipeline::{Pipeline, mail_to};
use gigmarket_tests::{TestApp, TestResponse};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

async fn admin_cancel(app: &TestApp, cast: &Cast, order_id: Uuid, reason: &str) -> TestResponse {
    app.post(
        &format!("/admin/orders/{order_id}/cancel"),
        &json!({"reason": reason}),
        Some(&cast.admin.access_token),
    )
    .await
}

async fn audit_of(app: &TestApp, cast: &Cast, target: Uuid) -> Vec<Value> {
    let log = app
        .get(
            &format!("/admin/audit?target={target}"),
            Some(&cast.admin.access_token),
        )
        .await;
    assert_eq!(log.status, 200, "{log:?}");
    log.body["items"].as_array().unwrap().clone()
}

/// Every order id on either of the scheduler's due lists, far in the future.
async fn due_ids(app: &TestApp) -> Vec<Uuid> {
    let later = OffsetDateTime::now_utc() + Duration::days(365);
    let mut ids = Vec::new();
    for list in [DueList::Late, DueList::AutoComplete] {
        let due = app
            .state
            .store
            .due_orders(list, later, 1_000)
            .await
            .unwrap();
        ids.extend(due.into_iter().map(|order| order.id));
    }
    ids
}

#[tokio::test]
async fn an_admin_cancels_every_open_state_audited_with_counters_and_deadlines_right() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(3))
        .await;
    for state in ["pending", "in_progress", "delivered", "revision_requested"] {
        let open_before = app.gig(gig.id).await.open_orders;
        let order_id = if state == "revision_requested" {
            let id = app.order_in(&cast, &gig, "delivered").await;
            app.order_step(&cast.client, id, "request-revision").await;
            id
        } else {
            app.order_in(&cast, &gig, state).await
        };
        assert_eq!(app.gig(gig.id).await.open_orders, open_before + 1);
        if state != "pending" {
            assert!(
                due_ids(&app).await.contains(&order_id),
                "{state}: on a due list"
            );
        }

        let response = admin_cancel(&app, &cast, order_id, "  Fraud reported.  ").await;
        assert_eq!(response.status, 200, "{state}: {response:?}");
        assert_eq!(response.body["order"]["status"], "cancelled", "{state}");
        let audit_id = response.body["audit_id"].clone();

        // The order, its timeline, the gig counter and the scheduler's lists.
        let order = app.order(&cast.client, order_id).await.body;
        assert_eq!(order["status"], "cancelled", "{state}");
        let last = order["timeline"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["kind"], "cancelled");
        assert_eq!(last["actor"]["role"], "admin");
        assert_eq!(last["actor"]["id"], json!(cast.admin.id));
        assert_eq!(last["note"], "Fraud reported.");
        assert_eq!(app.gig(gig.id).await.open_orders, open_before, "{state}");
        assert!(
            !due_ids(&app).await.contains(&order_id),
            "{state}: off the due lists"
        );

        // One audit entry, in the same transaction.
        let entries = audit_of(&app, &cast, order_id).await;
        assert_eq!(entries.len(), 1, "{state}: {entries:?}");
        assert_eq!(entries[0]["id"], audit_id);
        assert_eq!(entries[0]["action"], "cancel_order");
        assert_eq!(entries[0]["target_kind"], "order");
        assert_eq!(entries[0]["actor_id"], cast.admin.id.to_string());
        assert_eq!(entries[0]["reason"], "Fraud reported.");
        assert!(entries[0]["request_id"].is_string());
    }
}

#[tokio::test]
async fn closed_orders_are_409_and_bad_requests_are_refused_without_an_audit_entry() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    for state in ["completed", "rejected", "cancelled"] {
        let order_id = app.order_in(&cast, &gig, state).await;
        let response = admin_cancel(&app, &cast, order_id, "Too late.").await;
        assert_eq!(response.status, 409, "{state}: {response:?}");
        assert_eq!(response.problem(), "invalid-transition");
        assert!(audit_of(&app, &cast, order_id).await.is_empty(), "{state}");
        assert_eq!(
            app.order(&cast.client, order_id).await.body["status"],
            state
        );
    }
    let open = app.order_in(&cast, &gig, "in_progress").await;
    for body in [
        json!({}),
        json!({"reason": "  "}),
        json!({"reason": "x", "extra": 1}),
    ] {
        let response = app
            .post(
                &format!("/admin/orders/{open}/cancel"),
                &body,
                Some(&cast.admin.access_token),
            )
            .await;
        assert_eq!(response.status, 400, "{body}: {response:?}");
    }
    for party in [&cast.client, &cast.freelancer] {
        let response = app
            .post(
                &format!("/admin/orders/{open}/cancel"),
                &json!({"reason": "Mine."}),
                Some(&party.access_token),
            )
            .await;
        assert_eq!(response.status, 403, "{response:?}");
    }
    let unknown = admin_cancel(&app, &cast, Uuid::now_v7(), "Who?").await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert!(audit_of(&app, &cast, open).await.is_empty());
    assert_eq!(
        app.order(&cast.client, open).await.body["status"],
        "in_progress"
    );

    // An admin's cancel through the parties' route is audited the same way.
    let response = app.order_action(&cast.admin, open, "cancel").await;
    assert_eq!(response.status, 200, "{response:?}");
    let entries = audit_of(&app, &cast, open).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["action"], "cancel_order");
}

#[tokio::test]
async fn both_parties_are_mailed_that_an_admin_cancelled_and_why() {
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let order_id = app.order_in(&cast, &gig, "in_progress").await;
    let response = admin_cancel(&app, &cast, order_id, "The gig broke the rules.").await;
    assert_eq!(response.status, 200, "{response:?}");

    let stream_event = pipeline.stream_event().await;
    let dispatched = dispatcher::handle(stream_event, &pipeline.sqs, &pipeline.queue_url).await;
    assert!(dispatched.batch_item_failures.is_empty(), "{dispatched:?}");
    let messages = pipeline.receive_all().await;
    let notifier = app.notifier();
    for batch in messages.chunks(10) {
        let handled = notifier.handle(Pipeline::sqs_event(batch)).await;
        assert!(handled.batch_item_failures.is_empty(), "{handled:?}");
    }
    let subject = format!("Order cancelled: {}", gig.title);
    for party in [&cast.client, &cast.freelancer] {
        let mails: Vec<_> = mail_to(&party.email)
            .await
            .into_iter()
            .filter(|mail| mail.subject == subject)
            .collect();
        assert_eq!(mails.len(), 1, "{}: {mails:?}", party.email);
        assert!(mails[0].body.contains("An administrator"), "{mails:?}");
        assert!(
            mails[0].body.contains("The gig broke the rules."),
            "{mails:?}"
        );
    }
    assert!(mail_to(&cast.admin.email).await.is_empty());
}

//! `admin`: the marketplace-wide lists of users, orders and reviews, and cancelling any open
//! order (audited, counters and deadlines kept right, both parties mailed).

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
    let dispatched = dispatcher::handle(stream_event, &pipeline.sqs, &pipeline.queues()).await;
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

// ---- the lists ----

fn ids(items: &[Value]) -> Vec<Uuid> {
    items
        .iter()
        .map(|item| item["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

#[tokio::test]
async fn users_page_across_shards_by_role_status_and_email_or_name_prefix() {
    // 25 registrations from the one test address.
    let app = TestApp::with_config(|config| config.registrations_per_address = 50).await;
    let admin = app.create_admin().await;
    let token = admin.access_token.as_str();
    let mut clients = Vec::new();
    for _ in 0..15 {
        clients.push(app.register_client().await);
    }
    let mut freelancers = Vec::new();
    for _ in 0..10 {
        freelancers.push(app.register_freelancer().await);
    }
    // Five freelancers are renamed (through PATCH /me): the name index follows.
    for (number, freelancer) in freelancers.iter().take(5).enumerate() {
        let renamed = app
            .patch(
                "/me",
                &json!({"name": format!("Quentin  Number {number}")}),
                Some(&freelancer.access_token),
            )
            .await;
        assert_eq!(renamed.status, 200, "{renamed:?}");
    }
    // A client whose name matches the email prefix of every client too: listed once.
    let renamed = app
        .patch(
            "/me",
            &json!({"name": "Client Special"}),
            Some(&clients[0].access_token),
        )
        .await;
    assert_eq!(renamed.status, 200, "{renamed:?}");

    let everyone: Vec<Uuid> = clients
        .iter()
        .chain(&freelancers)
        .map(|session| session.id)
        .chain([admin.id])
        .collect();
    let (listed, pages) = app.all_pages(token, "/admin/users?limit=7").await;
    assert_eq!(ids(&listed).len(), everyone.len(), "no duplicates");
    assert_eq!(
        sorted(ids(&listed)),
        sorted(everyone.clone()),
        "no omissions"
    );
    assert!(pages >= 4, "{pages} pages of 7");
    let emails: Vec<&str> = listed
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    let mut in_order = emails.clone();
    in_order.sort();
    assert_eq!(emails, in_order, "by email");

    let client_ids = sorted(clients.iter().map(|session| session.id).collect());
    let (by_role, _) = app
        .all_pages(token, "/admin/users?role=client&limit=4")
        .await;
    assert_eq!(sorted(ids(&by_role)), client_ids);
    // `q` matches emails (every client's) and names ("Client Special"): each user once.
    let (by_prefix, _) = app.all_pages(token, "/admin/users?q=CLIENT&limit=3").await;
    assert_eq!(ids(&by_prefix).len(), clients.len(), "{by_prefix:?}");
    assert_eq!(sorted(ids(&by_prefix)), client_ids);
    let (by_name, _) = app
        .all_pages(token, "/admin/users?q=quentin%20%20num&limit=2")
        .await;
    assert_eq!(
        sorted(ids(&by_name)),
        sorted(freelancers.iter().take(5).map(|s| s.id).collect())
    );
    let exact = app
        .get(&format!("/admin/users?q={}", clients[3].email), Some(token))
        .await;
    assert_eq!(
        ids(exact.body["items"].as_array().unwrap()),
        [clients[3].id]
    );

    // A blocked user moves to the blocked results, and back.
    let blocked = &freelancers[7];
    let response = app
        .post(
            &format!("/admin/users/{}/block", blocked.id),
            &json!({"reason": "Spam."}),
            Some(token),
        )
        .await;
    assert_eq!(response.status, 200, "{response:?}");
    let (blocked_list, _) = app
        .all_pages(token, "/admin/users?status=blocked&limit=5")
        .await;
    assert_eq!(ids(&blocked_list), [blocked.id]);
    let (active_freelancers, _) = app
        .all_pages(token, "/admin/users?role=freelancer&status=active&limit=5")
        .await;
    assert_eq!(ids(&active_freelancers).len(), freelancers.len() - 1);
    assert!(!ids(&active_freelancers).contains(&blocked.id));
    let response = app
        .post(
            &format!("/admin/users/{}/unblock", blocked.id),
            &json!({}),
            Some(token),
        )
        .await;
    assert_eq!(response.status, 200, "{response:?}");
    let (none_blocked, _) = app
        .all_pages(token, "/admin/users?status=blocked&limit=5")
        .await;
    assert!(none_blocked.is_empty());

    // Refusals: bad filters, a cursor of another query, a non-admin.
    for bad in [
        "role=boss",
        "status=gone",
        "limit=0",
        "sort=email",
        "cursor=abc",
    ] {
        let response = app.get(&format!("/admin/users?{bad}"), Some(token)).await;
        assert_eq!(response.status, 400, "{bad}: {response:?}");
    }
    let long = "x".repeat(101);
    let response = app
        .get(&format!("/admin/users?q={long}"), Some(token))
        .await;
    assert_eq!(response.status, 400, "{response:?}");
    let first = app.get("/admin/users?limit=2", Some(token)).await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let foreign = app
        .get(
            &format!("/admin/users?role=client&limit=2&cursor={cursor}"),
            Some(token),
        )
        .await;
    assert_eq!(foreign.status, 400, "{foreign:?}");
    let response = app
        .get("/admin/users", Some(&clients[1].access_token))
        .await;
    assert_eq!(response.status, 403);
}

#[tokio::test]
async fn orders_list_newest_first_across_months_by_status_and_range() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let token = cast.admin.access_token.as_str();
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let now = OffsetDateTime::now_utc();
    // Oldest first: 70 and 40 days ago (two earlier months), then three now.
    let old = app
        .place_unpaid_order_at(&cast.client, &gig, now - Duration::days(70))
        .await;
    app.pay_order(old).await;
    let older_month = app
        .place_unpaid_order_at(&cast.client, &gig, now - Duration::days(40))
        .await;
    app.pay_order(older_month).await;
    let pending = app.order_in(&cast, &gig, "pending").await;
    let in_progress = app.order_in(&cast, &gig, "in_progress").await;
    let cancelled = app.order_in(&cast, &gig, "cancelled").await;
    let newest_first = vec![cancelled, in_progress, pending, older_month, old];

    let (listed, pages) = app.all_pages(token, "/admin/orders?limit=2").await;
    assert_eq!(ids(&listed), newest_first, "newest first, across months");
    assert!(pages >= 3);
    let (one_by_one, _) = app.all_pages(token, "/admin/orders?limit=1").await;
    assert_eq!(ids(&one_by_one), newest_first);

    let (by_status, _) = app
        .all_pages(token, "/admin/orders?status=pending&limit=1")
        .await;
    assert_eq!(ids(&by_status), [pending, older_month, old]);
    let (cancelled_only, _) = app.all_pages(token, "/admin/orders?status=cancelled").await;
    assert_eq!(ids(&cancelled_only), [cancelled]);

    // The range selects months and instants within them.
    let from = (now - Duration::days(55)).date();
    let (recent, _) = app
        .all_pages(token, &format!("/admin/orders?from={from}&limit=2"))
        .await;
    assert_eq!(ids(&recent), [cancelled, in_progress, pending, older_month]);
    let to = (now - Duration::days(30)).date();
    let (window, _) = app
        .all_pages(token, &format!("/admin/orders?from={from}&to={to}&limit=2"))
        .await;
    assert_eq!(ids(&window), [older_month]);
    let until = (now - Duration::days(60)).date();
    let (before, _) = app
        .all_pages(token, &format!("/admin/orders?to={until}"))
        .await;
    assert_eq!(ids(&before), [old]);

    for bad in [
        "from=2026-11-02&to=2026-11-01".to_owned(),
        "from=2024-01-01&to=2026-01-01".to_owned(),
        "from=yesterday".to_owned(),
        "to=2026-02-30".to_owned(),
        "status=lost".to_owned(),
    ] {
        let response = app.get(&format!("/admin/orders?{bad}"), Some(token)).await;
        assert_eq!(response.status, 400, "{bad}: {response:?}");
    }
    let response = app
        .get("/admin/orders", Some(&cast.client.access_token))
        .await;
    assert_eq!(response.status, 403);
}

/// Both sides review a completed order (published together): the client's review, then the
/// freelancer's.
async fn review_both_sides(app: &TestApp, cast: &Cast, order: Uuid) -> [Uuid; 2] {
    let mut ids = [Uuid::nil(); 2];
    for (id, author) in ids.iter_mut().zip([&cast.client, &cast.freelancer]) {
        let response = app
            .post(
                "/reviews",
                &json!({"order_id": order, "rating": 4, "comment": "Good work, on time."}),
                Some(&author.access_token),
            )
            .await;
        assert_eq!(response.status, 201, "{response:?}");
        *id = response.body["id"].as_str().unwrap().parse().unwrap();
    }
    ids
}

#[tokio::test]
async fn reviews_list_newest_first_with_the_hidden_filter() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let token = cast.admin.access_token.as_str();
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let mut published = Vec::new();
    for _ in 0..2 {
        let order = app.order_in(&cast, &gig, "completed").await;
        published.extend(review_both_sides(&app, &cast, order).await);
    }
    // A review still sealed (the other side has not written) is not listed.
    let sealed_order = app.order_in(&cast, &gig, "completed").await;
    let sealed = app
        .post(
            "/reviews",
            &json!({"order_id": sealed_order, "rating": 2, "comment": "Sealed for now."}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(sealed.status, 201, "{sealed:?}");

    let hidden_id = published[0];
    let hide = app
        .post(
            &format!("/admin/reviews/{hidden_id}/hide"),
            &json!({"reason": "Abusive."}),
            Some(token),
        )
        .await;
    assert_eq!(hide.status, 200, "{hide:?}");

    let reviews = |listed: &[Value]| -> Vec<Value> {
        listed.iter().map(|item| item["review"].clone()).collect()
    };
    let (all, _) = app.all_pages(token, "/admin/reviews?limit=3").await;
    assert_eq!(
        sorted(ids(&reviews(&all))),
        sorted(published.clone()),
        "published, hidden too"
    );
    let times: Vec<String> = all
        .iter()
        .map(|item| item["review"]["published_at"].as_str().unwrap().to_owned())
        .collect();
    let mut newest_first = times.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, newest_first);
    let (hidden, _) = app.all_pages(token, "/admin/reviews?hidden=true").await;
    assert_eq!(ids(&reviews(&hidden)), [hidden_id]);
    assert_eq!(hidden[0]["hidden"], true);
    let (shown, _) = app
        .all_pages(token, "/admin/reviews?hidden=false&limit=1")
        .await;
    assert_eq!(
        sorted(ids(&reviews(&shown))),
        sorted(published[1..].to_vec())
    );
    assert!(shown.iter().all(|review| review["hidden"] == false));

    for bad in ["hidden=maybe", "from=2026-11-02&to=2026-11-01"] {
        let response = app.get(&format!("/admin/reviews?{bad}"), Some(token)).await;
        assert_eq!(response.status, 400, "{bad}: {response:?}");
    }
}

/// Items stored before the list keys existed are listed once `gigctl backfill-admin-list-keys`
/// (this use case) has run.
#[tokio::test]
async fn the_backfill_gives_older_items_their_list_keys() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let token = cast.admin.access_token.as_str();
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let order_id = app.order_in(&cast, &gig, "pending").await;
    // As an item written before: without the list keys.
    let dynamodb = aws_sdk_dynamodb::Client::new(&app.sdk);
    let remove = |pk: String, sk: &str, attributes: &str| {
        dynamodb
            .update_item()
            .table_name(&app.state.config.table_name)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S(sk.to_owned()),
            )
            .update_expression(format!("REMOVE {attributes}"))
            .send()
    };
    remove(format!("ORDER#{order_id}"), "ORDER", "gsi4pk, gsi4sk")
        .await
        .unwrap();
    remove(
        format!("USER#{}", cast.client.id),
        "PROFILE",
        "gsi1pk, gsi1sk, gsi2pk, gsi2sk",
    )
    .await
    .unwrap();
    let orders = app.get("/admin/orders", Some(token)).await;
    assert_eq!(orders.body["items"], json!([]));
    let users = app
        .get(
            &format!("/admin/users?q={}", cast.client.email),
            Some(token),
        )
        .await;
    assert_eq!(users.body["items"], json!([]));

    let done = gigmarket_shared::app::admin::backfill::backfill_list_keys(&app.state.store)
        .await
        .unwrap();
    assert_eq!(done.orders, 1);
    assert_eq!(done.users, 4, "the cast");
    let orders = app.get("/admin/orders", Some(token)).await;
    assert_eq!(ids(orders.body["items"].as_array().unwrap()), [order_id]);
    let users = app
        .get(
            &format!("/admin/users?q={}", cast.client.email),
            Some(token),
        )
        .await;
    assert_eq!(
        ids(users.body["items"].as_array().unwrap()),
        [cast.client.id]
    );
}

#[tokio::test]
async fn a_hidden_review_takes_no_reply_until_unhidden() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let token = cast.admin.access_token.as_str();
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let order = app.order_in(&cast, &gig, "completed").await;
    let [review_by_client, _] = review_both_sides(&app, &cast, order).await;
    let hide = app
        .post(
            &format!("/admin/reviews/{review_by_client}/hide"),
            &json!({"reason": "Abusive."}),
            Some(token),
        )
        .await;
    assert_eq!(hide.status, 200, "{hide:?}");
    let reply_path = format!("/reviews/{review_by_client}/reply");
    let reply_body = json!({"comment": "That is not what happened."});
    let reply_token = Some(cast.freelancer.access_token.as_str());
    let refused = app.post(&reply_path, &reply_body, reply_token).await;
    assert_eq!(refused.status, 409, "{refused:?}");
    assert_eq!(refused.problem(), "review-hidden");

    let unhide = app
        .post(
            &format!("/admin/reviews/{review_by_client}/unhide"),
            &json!({}),
            Some(token),
        )
        .await;
    assert_eq!(unhide.status, 200, "{unhide:?}");
    let answered = app.post(&reply_path, &reply_body, reply_token).await;
    assert_eq!(answered.status, 200, "{answered:?}");
}

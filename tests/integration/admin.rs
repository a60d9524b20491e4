//! `admin` function: admin-only routes, blocking (effective at once, audited, resumable gig
//! re-listing), user details and the audit log.

use gigmarket_shared::app::admin::users::GIG_REINDEX_GRACE;
use gigmarket_shared::domain::audit::{Actor, AuditAction, AuditEntry, TargetKind};
use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::domain::user::UserStatus;
use gigmarket_shared::routes::ROUTES;
use gigmarket_tests::{PASSWORD, RawRequest, TestApp};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// An `/admin` route's path with `id` filled in (a real id, or a malformed one).
fn admin_path(path: &str, id: impl std::fmt::Display) -> String {
    path.replace("{id}", &id.to_string())
}

#[tokio::test]
async fn every_admin_route_refuses_clients_and_freelancers() {
    let app = TestApp::new().await;
    let client = app.register_client().await;
    let freelancer = app.register_freelancer().await;
    let admin_routes: Vec<_> = ROUTES
        .iter()
        .filter(|route| route.path.starts_with("/admin"))
        .collect();
    assert!(admin_routes.len() >= 4, "{admin_routes:?}");
    for route in admin_routes {
        assert_eq!(route.function, "admin", "{route:?}");
        for session in [&client, &freelancer] {
            // The target is the caller's own account: a route that skipped the guard would act.
            let path = admin_path(route.path, session.id);
            let mut request = RawRequest::new(route.method, path).bearer(&session.access_token);
            if route.method == "POST" {
                request = request.json(&json!({"reason": "because"}));
            }
            let response = app.send(request).await;
            assert_eq!(response.status, 403, "{route:?}: {response:?}");
            assert_eq!(response.problem(), "forbidden", "{route:?}");
        }
        // No token at all: 401.
        let response = app
            .send(RawRequest::new(
                route.method,
                admin_path(route.path, client.id),
            ))
            .await;
        assert_eq!(response.status, 401, "{route:?}");
    }
    // Nothing was done: the walk left no audit entries and nobody blocked.
    let admin = app.create_admin().await;
    let log = app
        .get(
            &format!("/admin/audit?target={}", client.id),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(log.body["items"], json!([]));
    assert_eq!(app.login(&client.email, PASSWORD).await.status, 200);
}

/// A non-admin learns nothing about what the admin API would accept: a malformed id and body
/// get the same 403 as good ones, while an admin sending them is told what is wrong: the id is
/// read first, and a malformed id is no such resource (404).
#[tokio::test]
async fn the_admin_api_refuses_non_admins_before_reading_the_request() {
    let app = TestApp::new().await;
    let client = app.register_client().await;
    let admin = app.create_admin().await;
    let with_ids: Vec<_> = ROUTES
        .iter()
        .filter(|route| route.function == "admin" && route.path.contains("{id}"))
        .collect();
    assert!(with_ids.len() >= 8, "{with_ids:?}");
    for route in with_ids {
        let malformed = |token: &str| {
            let request =
                RawRequest::new(route.method, admin_path(route.path, "not-an-id")).bearer(token);
            if route.method == "POST" {
                request.raw_body("application/json", "{".to_owned())
            } else {
                request
            }
        };
        let response = app.send(malformed(&client.access_token)).await;
        assert_eq!(response.status, 403, "{route:?}: {response:?}");
        assert_eq!(response.problem(), "forbidden", "{route:?}");
        let response = app.send(malformed(&admin.access_token)).await;
        assert_eq!(response.status, 404, "{route:?}: {response:?}");
        assert_eq!(response.problem(), "not-found", "{route:?}");
    }
}

#[tokio::test]
async fn a_block_is_effective_at_once_and_audited() {
    let app = TestApp::new().await;
    let admin = app.create_admin().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    assert_eq!(app.browse_ids("").await, vec![gig.id]);

    let blocked = app
        .post(
            &format!("/admin/users/{}/block", cast.freelancer.id),
            &json!({"reason": "  spam gigs  "}),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(blocked.status, 200, "{blocked:?}");
    assert_eq!(blocked.body["status"], "blocked");

    // Login (read as a wrong password) and refresh refused, gigs gone from browse, the
    // re-listing finished.
    assert_eq!(
        app.login(&cast.freelancer.email, PASSWORD).await.status,
        401
    );
    let refresh = app
        .post(
            "/auth/refresh",
            &json!({"refresh_token": cast.freelancer.refresh_token}),
            None,
        )
        .await;
    assert!(
        [401, 403].contains(&refresh.status),
        "refresh refused: {refresh:?}"
    );
    assert!(app.browse_ids("").await.is_empty());
    let detail = app
        .get(
            &format!("/admin/users/{}", cast.freelancer.id),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(detail.status, 200, "{detail:?}");
    assert_eq!(detail.body["profile"]["status"], "blocked");
    assert_eq!(detail.body["gigs_reindex_pending"], false);
    assert_eq!(detail.body["counts"]["gigs"], 1);

    // The audit entry names the admin, the target, the reason and the request.
    let log = app
        .get(
            &format!("/admin/audit?target={}", cast.freelancer.id),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(log.status, 200, "{log:?}");
    let entries = log.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log:?}");
    assert_eq!(entries[0]["id"], blocked.body["audit_id"]);
    assert_eq!(entries[0]["action"], "block_user");
    assert_eq!(entries[0]["actor_kind"], "admin");
    assert_eq!(entries[0]["actor_id"], admin.id.to_string());
    assert_eq!(entries[0]["target_kind"], "user");
    assert_eq!(entries[0]["reason"], "spam gigs");
    assert!(
        entries[0]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );

    // Unblock: the gig returns, the user may sign in again; audited too.
    let unblocked = app
        .post(
            &format!("/admin/users/{}/unblock", cast.freelancer.id),
            &json!({}),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(unblocked.status, 200, "{unblocked:?}");
    assert_eq!(app.browse_ids("").await, vec![gig.id]);
    assert_eq!(
        app.login(&cast.freelancer.email, PASSWORD).await.status,
        200
    );
    let log = app
        .get(
            &format!("/admin/audit?actor={}", admin.id),
            Some(&admin.access_token),
        )
        .await;
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["unblock_user", "block_user"], "newest first");
}

#[tokio::test]
async fn admins_can_block_neither_themselves_nor_other_admins() {
    let app = TestApp::new().await;
    let admin = app.create_admin().await;
    let other = app.create_admin().await;
    for target in [admin.id, other.id] {
        let response = app
            .post(
                &format!("/admin/users/{target}/block"),
                &json!({"reason": "test"}),
                Some(&admin.access_token),
            )
            .await;
        assert_eq!(response.status, 409, "{response:?}");
        assert_eq!(response.problem(), "admin-not-blockable");
    }
    assert_eq!(app.login(&other.email, PASSWORD).await.status, 200);
    // A failed action leaves no audit entry.
    let log = app
        .get(
            &format!("/admin/audit?actor={}", admin.id),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(log.body["items"], json!([]));
}

#[tokio::test]
async fn block_needs_a_reason_and_a_known_user() {
    let app = TestApp::new().await;
    let admin = app.create_admin().await;
    let user = app.register_client().await;
    let no_reason = app
        .post(
            &format!("/admin/users/{}/block", user.id),
            &json!({"reason": "   "}),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(no_reason.status, 400, "{no_reason:?}");
    let unknown = app
        .post(
            &format!("/admin/users/{}/block", Uuid::new_v4()),
            &json!({"reason": "spam"}),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert_eq!(app.login(&user.email, PASSWORD).await.status, 200);
}

/// A crash between the status transaction and the end of the re-listing leaves the user on the
/// due list; the scheduler finishes the job.
#[tokio::test]
async fn a_relisting_cut_short_is_resumed() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let store = &app.state.store;
    let operator = Actor::operator("crash-test");
    let now = OffsetDateTime::now_utc();
    let entry = AuditEntry::new(
        &operator,
        AuditAction::BlockUser,
        (TargetKind::User, cast.freelancer.id),
        Some("crash".into()),
        now,
    );
    // Only the status transaction: as if the function died right after it.
    store
        .commit_user_status(cast.freelancer.id, UserStatus::Blocked, &entry, now)
        .await
        .unwrap();
    assert!(store.gig_reindex_pending(cast.freelancer.id).await.unwrap());
    assert_eq!(
        app.browse_ids("").await,
        vec![gig.id],
        "still listed: the crash"
    );

    // The scheduler leaves a fresh mark to the request that made it...
    let run = scheduler::run(store, &app.stripe, now).await.unwrap();
    assert_eq!(run.gig_reindexes_resumed, 0, "{run:?}");
    assert_eq!(app.browse_ids("").await, vec![gig.id]);
    // ...and finishes the job once the grace has passed.
    let later = now + GIG_REINDEX_GRACE + Duration::seconds(1);
    let run = scheduler::run(store, &app.stripe, later).await.unwrap();
    assert_eq!(run.gig_reindexes_resumed, 1, "{run:?}");
    assert!(app.browse_ids("").await.is_empty());
    assert!(!store.gig_reindex_pending(cast.freelancer.id).await.unwrap());
    // Nothing left to resume.
    let run = scheduler::run(store, &app.stripe, later).await.unwrap();
    assert_eq!(run.gig_reindexes_resumed, 0, "{run:?}");
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_and_filters() {
    let app = TestApp::new().await;
    let admin = app.create_admin().await;
    let mut users = Vec::new();
    for _ in 0..3 {
        users.push(app.register_client().await);
    }
    for user in &users {
        for path in ["block", "unblock"] {
            let response = app
                .post(
                    &format!("/admin/users/{}/{path}", user.id),
                    &json!({"reason": "paging"}),
                    Some(&admin.access_token),
                )
                .await;
            assert_eq!(response.status, 200, "{response:?}");
        }
    }
    let token = Some(admin.access_token.as_str());
    let (ids, pages) = app.collect_pages("/admin/audit?limit=4", token).await;
    assert_eq!(ids.len(), 6);
    assert_eq!(pages, 2);
    let (by_actor, _) = app
        .collect_pages(&format!("/admin/audit?actor={}&limit=5", admin.id), token)
        .await;
    assert_eq!(by_actor, ids, "the same entries, newest first");
    let both = app
        .get(
            &format!("/admin/audit?actor={}&target={}", admin.id, users[1].id),
            token,
        )
        .await;
    assert_eq!(both.body["items"].as_array().unwrap().len(), 2);
    let nobody = app.get("/admin/audit?actor=somebody-else", token).await;
    assert_eq!(nobody.body["items"], json!([]));
    let bad = app.get("/admin/audit?month=2026-13", token).await;
    assert_eq!(bad.status, 400);
    let mixed = app
        .get(
            &format!("/admin/audit?month=2026-11&actor={}", admin.id),
            token,
        )
        .await;
    assert_eq!(mixed.status, 400);
}

/// One write a blocked user tries with their still-valid access token.
struct BlockedWrite {
    who: &'static str,
    method: &'static str,
    path: String,
    body: serde_json::Value,
    /// A header the write needs to get past its own checks (If-Match, Idempotency-Key).
    header: Option<(&'static str, &'static str)>,
}

fn write(
    who: &'static str,
    method: &'static str,
    path: String,
    body: serde_json::Value,
) -> BlockedWrite {
    BlockedWrite {
        who,
        method,
        path,
        body,
        header: None,
    }
}

/// EVERY write route refuses a blocked user whose access token is still valid: the write's own
/// transaction (or conditional write) checks the caller, so nothing cached can let it through.
#[tokio::test]
async fn every_write_of_a_blocked_user_is_refused_with_a_valid_token() {
    let app = TestApp::new().await;
    let admin = app.create_admin().await;
    let cast = app.cast().await;
    let other_freelancer = app.register_freelancer().await;
    let limited = Revisions::Limited(2);
    let ordered = app.create_active_gig(cast.freelancer.id, limited).await;
    let to_resume = app.create_active_gig(cast.freelancer.id, limited).await;
    let to_pause = app.create_active_gig(cast.freelancer.id, limited).await;
    let to_archive = app.create_active_gig(cast.freelancer.id, limited).await;
    let elsewhere = app.create_active_gig(other_freelancer.id, limited).await;
    let paused = app
        .post(
            &format!("/gigs/{}/pause", to_resume.id),
            &json!({}),
            Some(&cast.freelancer.access_token),
        )
        .await;
    assert_eq!(paused.status, 200, "{paused:?}");
    let to_accept = app.order_in(&cast, &ordered, "pending").await;
    let to_reject = app.order_in(&cast, &ordered, "pending").await;
    let to_cancel = app.order_in(&cast, &ordered, "pending").await;
    let to_deliver = app.order_in(&cast, &ordered, "in_progress").await;
    let to_revise = app.order_in(&cast, &ordered, "delivered").await;
    let to_complete = app.order_in(&cast, &ordered, "delivered").await;
    let to_review = app.order_in(&cast, &ordered, "completed").await;
    let reviewed = app.order_in(&cast, &ordered, "completed").await;
    let mut review_id = String::new();
    for (who, rating) in [(&cast.client, 5), (&cast.freelancer, 4)] {
        let response = app
            .post(
                "/reviews",
                &json!({"order_id": reviewed, "rating": rating, "comment": "Fair and square."}),
                Some(&who.access_token),
            )
            .await;
        assert_eq!(response.status, 201, "{response:?}");
        if who.id == cast.client.id {
            review_id = response.body["id"].as_str().unwrap().to_owned();
        }
    }
    let opened = app
        .post(
            "/conversations",
            &json!({"participant_id": cast.freelancer.id, "text": "Hello there"}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(opened.status, 201, "{opened:?}");
    let conversation = opened.body["conversation"]["id"]
        .as_str()
        .or_else(|| opened.body["id"].as_str())
        .expect("conversation id")
        .to_owned();

    for user in [cast.client.id, cast.freelancer.id] {
        let response = app
            .post(
                &format!("/admin/users/{user}/block"),
                &json!({"reason": "abuse"}),
                Some(&admin.access_token),
            )
            .await;
        assert_eq!(response.status, 200, "{response:?}");
    }

    let order = |id: Uuid, action: &str| format!("/orders/{id}/{action}");
    let writes = vec![
        // Gigs.
        write(
            "freelancer",
            "POST",
            "/gigs".into(),
            gigmarket_tests::fixtures::gig_body("A fresh gig while blocked"),
        ),
        BlockedWrite {
            header: Some(("If-Match", "\"1\"")),
            ..write(
                "freelancer",
                "PATCH",
                format!("/gigs/{}", to_pause.id),
                json!({"title": "A new title while blocked"}),
            )
        },
        write(
            "freelancer",
            "DELETE",
            format!("/gigs/{}", to_archive.id),
            json!(null),
        ),
        write(
            "freelancer",
            "POST",
            format!("/gigs/{}/pause", to_pause.id),
            json!({}),
        ),
        write(
            "freelancer",
            "POST",
            format!("/gigs/{}/resume", to_resume.id),
            json!({}),
        ),
        // Orders.
        BlockedWrite {
            header: Some(("Idempotency-Key", "blocked-order-attempt")),
            ..write(
                "client",
                "POST",
                "/orders".into(),
                json!({"gig_id": elsewhere.id, "package": "basic", "requirements": "Blue, please.",
                       "expected_price_cents": 5_000, "currency": "EUR"}),
            )
        },
        write("freelancer", "POST", order(to_accept, "accept"), json!({})),
        write(
            "freelancer",
            "POST",
            order(to_reject, "reject"),
            json!({"reason": "Not a fit."}),
        ),
        write(
            "freelancer",
            "POST",
            order(to_deliver, "deliver"),
            json!({"message": "Here it is.", "attachments": ["https://files.example.com/logo.png"]}),
        ),
        write(
            "client",
            "POST",
            order(to_revise, "request-revision"),
            json!({"message": "Make it bluer."}),
        ),
        write("client", "POST", order(to_complete, "complete"), json!({})),
        write(
            "client",
            "POST",
            order(to_cancel, "cancel"),
            json!({"reason": "Not a fit."}),
        ),
        // Reviews.
        write(
            "client",
            "POST",
            "/reviews".into(),
            json!({"order_id": to_review, "rating": 5, "comment": "Great work."}),
        ),
        write(
            "freelancer",
            "POST",
            format!("/reviews/{review_id}/reply"),
            json!({"comment": "Thank you!"}),
        ),
        // Messages.
        write(
            "client",
            "POST",
            "/conversations".into(),
            json!({"participant_id": cast.stranger.id, "text": "Hello"}),
        ),
        write(
            "client",
            "POST",
            format!("/conversations/{conversation}/messages"),
            json!({"text": "Still here"}),
        ),
        write(
            "freelancer",
            "POST",
            format!("/conversations/{conversation}/read"),
            json!({}),
        ),
        // The account itself.
        write("client", "PATCH", "/me".into(), json!({"bio": "Blocked"})),
        write(
            "client",
            "POST",
            "/auth/password/change".into(),
            json!({"current_password": PASSWORD, "new_password": "another long password"}),
        ),
    ];
    for attempt in writes {
        let session = match attempt.who {
            "client" => &cast.client,
            _ => &cast.freelancer,
        };
        let mut request =
            RawRequest::new(attempt.method, attempt.path.clone()).bearer(&session.access_token);
        if !attempt.body.is_null() {
            request = request.json(&attempt.body);
        }
        if let Some((name, value)) = attempt.header {
            request = request.header(name, value);
        }
        let response = app.send(request).await;
        let what = format!("{} {}: {response:?}", attempt.method, attempt.path);
        assert_eq!(response.status, 403, "{what}");
        assert_eq!(response.problem(), "account-blocked", "{what}");
    }
    // Reads go on until the token expires.
    let me = app.get("/me", Some(&cast.client.access_token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["status"], "blocked");
    // Nothing was written: the order is still pending, the profile unchanged.
    let pending = app.order(&admin, to_accept).await;
    assert_eq!(pending.body["status"], "pending", "{pending:?}");
    assert!(me.body["bio"].is_null());
}

/// `gigctl create-admin`'s use case: the admin and the audit entry naming the operator are one
/// transaction; an email taken already makes neither.
#[tokio::test]
async fn creating_an_admin_is_audited_with_the_operator() {
    let app = TestApp::new().await;
    let admin = app.create_admin().await;
    let operator = Actor::operator("ops-on-call");
    let now = OffsetDateTime::now_utc();
    let created = app
        .state
        .accounts()
        .create_admin(
            "new-admin@example.com".into(),
            PASSWORD.into(),
            "New Admin".into(),
            &operator,
            now,
        )
        .await
        .unwrap();
    let again = app
        .state
        .accounts()
        .create_admin(
            "new-admin@example.com".into(),
            PASSWORD.into(),
            "Twice".into(),
            &operator,
            now,
        )
        .await;
    assert!(again.is_err(), "the email is taken");
    let log = app
        .get("/admin/audit?actor=ops-on-call", Some(&admin.access_token))
        .await;
    let entries = log.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log:?}");
    assert_eq!(entries[0]["action"], "create_admin");
    assert_eq!(entries[0]["actor_kind"], "operator");
    assert_eq!(entries[0]["target_id"], created.id.to_string());
}

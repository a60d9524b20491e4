//! The gig review queue (`admin` function, `app::admin::gigs`): the queue itself, approve and reject on
//! the ETag reviewed (`If-Match`), removal of live gigs, audit entries written with each decision
//! and only with it, the metrics, and the decision mails through the event pipeline.

use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::events::{Event, Subject};
use gigmarket_tests::fixtures::{gig_body, gig_etag, gig_id};
use gigmarket_tests::pipeline::{Pipeline, mail_to, subjects_to};
use gigmarket_tests::{RawRequest, Session, TestApp};
use serde_json::{Value, json};
use uuid::Uuid;

/// The audit entries about `gig_id`, newest first.
async fn audit_of(app: &TestApp, admin: &Session, gig_id: Uuid) -> Vec<Value> {
    let log = app
        .get(
            &format!("/admin/audit?target={gig_id}"),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(log.status, 200, "{log:?}");
    log.body["items"].as_array().expect("items").clone()
}

/// The whole queue, page by page (`limit` a page): ids with their ETags, and how many pages.
async fn queue(app: &TestApp, admin: &Session, limit: u32) -> (Vec<(Uuid, String)>, usize) {
    let mut queued = Vec::new();
    let mut pages = 0;
    let base = format!("/admin/gigs?status=pending_review&limit={limit}");
    let mut path = base.clone();
    loop {
        let page = app.get(&path, Some(&admin.access_token)).await;
        assert_eq!(page.status, 200, "{page:?}");
        pages += 1;
        for queued_gig in page.body["items"].as_array().expect("items") {
            let gig = &queued_gig["gig"];
            assert_eq!(gig["status"], "pending_review", "{gig}");
            let etag = queued_gig["etag"].as_str().unwrap().to_owned();
            assert_eq!(
                etag,
                format!("\"{}\"", gig["version"]),
                "the version is the ETag"
            );
            queued.push((gig_id(gig), etag));
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("{base}&cursor={cursor}"),
            None => return (queued, pages),
        }
        assert!(pages < 100, "paging does not end");
    }
}

async fn edit(app: &TestApp, owner: &Session, gig_id: Uuid, etag: &str, title: &str) -> Value {
    let edited = app
        .send(
            RawRequest::new("PATCH", format!("/gigs/{gig_id}"))
                .json(&json!({ "title": title }))
                .bearer(&owner.access_token)
                .header("if-match", etag),
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:?}");
    edited.body
}

#[tokio::test]
async fn the_queue_lists_pending_gigs_oldest_first_page_by_page() {
    let app = TestApp::new().await;
    let admin = &app.create_admin().await;
    let owner = app.register_freelancer().await;
    let mut created = Vec::new();
    for number in 0..5 {
        let gig = app
            .create_gig(&owner, &gig_body(&format!("Queued logo design {number}")))
            .await;
        created.push(gig_id(&gig));
    }
    let expected: Vec<(Uuid, String)> =
        created.iter().map(|id| (*id, "\"1\"".to_owned())).collect();
    let (all, pages) = queue(&app, admin, 2).await;
    assert_eq!(all, expected, "oldest first, each once");
    assert_eq!(pages, 3);
    // Without `status` it is the same queue; other statuses have none.
    let default = app
        .get("/admin/gigs?limit=100", Some(&admin.access_token))
        .await;
    assert_eq!(default.body["items"].as_array().unwrap().len(), 5);
    let other = app
        .get("/admin/gigs?status=active", Some(&admin.access_token))
        .await;
    assert_eq!(other.status, 400, "{other:?}");
    assert_eq!(other.error_fields(), vec!["status"]);

    // Only pending gigs: the approved and the rejected leave; an approved gig edited back to
    // review comes back at the end, with its new ETag.
    assert_eq!(app.approve_gig(admin, created[0]).await.status, 200);
    assert_eq!(
        app.reject_gig(admin, created[1], "Not a fit").await.status,
        200
    );
    let approved_then_edited = app.approve_gig(admin, created[2]).await;
    assert_eq!(approved_then_edited.status, 200);
    let resubmitted = edit(
        &app,
        &owner,
        created[2],
        "\"1\"",
        "Queued logo design again",
    )
    .await;
    assert_eq!(resubmitted["status"], "pending_review");
    // Archived by its owner: out of the queue as well.
    let archived = app
        .delete(&format!("/gigs/{}", created[3]), Some(&owner.access_token))
        .await;
    assert_eq!(archived.status, 204);
    let (all, _) = queue(&app, admin, 100).await;
    assert_eq!(
        all,
        vec![
            (created[4], "\"1\"".to_owned()),
            (created[2], "\"2\"".to_owned())
        ]
    );
}

#[tokio::test]
async fn approve_takes_the_reviewed_etag_and_goes_live() {
    let app = TestApp::new().await;
    let admin = &app.create_admin().await;
    let owner = app.register_freelancer().await;
    let gig = app
        .create_gig(&owner, &gig_body("Reviewed logo design"))
        .await;
    let id = gig_id(&gig);
    let reviewed = gig_etag(&gig);

    // No If-Match: 428; `*` is no review: 400. Neither is audited nor moves the gig.
    let missing = app.moderate(admin, id, "approve", None, None).await;
    assert_eq!(missing.status, 428, "{missing:?}");
    assert_eq!(missing.problem(), "precondition-required");
    let star = app.moderate(admin, id, "approve", Some("*"), None).await;
    assert_eq!(star.status, 400, "{star:?}");

    // The owner edits it after the admin read it: the reviewed ETag is stale (412) and the gig
    // stays as edited, in review.
    let edited = edit(&app, &owner, id, &reviewed, "Reviewed logo design, edited").await;
    let stale = app
        .moderate(admin, id, "approve", Some(&reviewed), None)
        .await;
    assert_eq!(stale.status, 412, "{stale:?}");
    assert_eq!(stale.problem(), "precondition-failed");
    let unchanged = app
        .get(&format!("/gigs/{id}"), Some(&owner.access_token))
        .await;
    assert_eq!(unchanged.body["status"], "pending_review");
    assert_eq!(unchanged.body["title"], "Reviewed logo design, edited");
    assert!(app.browse_ids("").await.is_empty());
    assert!(
        audit_of(&app, admin, id).await.is_empty(),
        "refusals leave no entry"
    );

    // With the current ETag it goes live exactly as reviewed.
    let current = gig_etag(&edited);
    let approved = app
        .moderate(admin, id, "approve", Some(&current), None)
        .await;
    assert_eq!(approved.status, 200, "{approved:?}");
    assert_eq!(approved.body["status"], "active");
    assert_eq!(approved.header("etag"), Some(current.as_str()));
    assert_eq!(app.browse_ids("").await, vec![id]);
    let public = app.get(&format!("/gigs/{id}"), None).await;
    assert_eq!(public.status, 200);
    assert_eq!(public.body["title"], "Reviewed logo design, edited");

    // Approving again: it is no longer pending (409), and that is not audited either.
    let again = app
        .moderate(admin, id, "approve", Some(&current), None)
        .await;
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(again.problem(), "invalid-gig-status");
    let entries = audit_of(&app, admin, id).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["action"], "approve_gig");
    assert_eq!(entries[0]["actor_id"], admin.id.to_string());
    assert_eq!(entries[0]["target_kind"], "gig");

    // Unknown gigs are 404; only admins decide.
    let unknown = app
        .moderate(admin, Uuid::new_v4(), "approve", Some("\"1\""), None)
        .await;
    assert_eq!(unknown.status, 404);
    let by_owner = app.moderate(&owner, id, "remove", None, Some("mine")).await;
    assert_eq!(by_owner.status, 403);
}

#[tokio::test]
async fn reject_needs_a_reason_and_a_pending_gig() {
    let app = TestApp::new().await;
    let admin = &app.create_admin().await;
    let owner = app.register_freelancer().await;
    let gig = app
        .create_gig(&owner, &gig_body("Rejected logo design"))
        .await;
    let id = gig_id(&gig);
    let etag = gig_etag(&gig);
    for reason in [None, Some("  ")] {
        let no_reason = app.moderate(admin, id, "reject", Some(&etag), reason).await;
        assert_eq!(no_reason.status, 400, "{no_reason:?}");
    }
    let no_etag = app
        .moderate(admin, id, "reject", None, Some("Trademark"))
        .await;
    assert_eq!(no_etag.status, 428, "{no_etag:?}");
    let stale = app
        .moderate(admin, id, "reject", Some("\"7\""), Some("Trademark"))
        .await;
    assert_eq!(stale.status, 412, "{stale:?}");
    assert!(audit_of(&app, admin, id).await.is_empty());

    let rejected = app
        .moderate(admin, id, "reject", Some(&etag), Some("Uses a trademark"))
        .await;
    assert_eq!(rejected.status, 200, "{rejected:?}");
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(rejected.body["rejection_reason"], "Uses a trademark");
    let again = app
        .moderate(admin, id, "reject", Some(&etag), Some("Still"))
        .await;
    assert_eq!(again.status, 409, "{again:?}");
    let approve = app.moderate(admin, id, "approve", Some(&etag), None).await;
    assert_eq!(
        approve.status, 409,
        "a rejected gig is edited and resubmitted first"
    );

    // A live gig is removed, not rejected.
    let live = app
        .create_approved_gig(&owner, admin, &gig_body("Live logo design"))
        .await;
    let reject_live = app.reject_gig(admin, live, "Too late").await;
    assert_eq!(reject_live.status, 409, "{reject_live:?}");

    let entries = audit_of(&app, admin, id).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["action"], "reject_gig");
    assert_eq!(entries[0]["reason"], "Uses a trademark");
}

#[tokio::test]
async fn removal_takes_a_live_gig_down_for_good() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let (owner, admin) = (&cast.freelancer, &cast.admin);
    let gig = app.create_active_gig(owner.id, Revisions::Limited(1)).await;
    let id = gig.id;
    let paused = app
        .create_approved_gig(owner, admin, &gig_body("Paused logo design"))
        .await;
    let pause = app
        .post(
            &format!("/gigs/{paused}/pause"),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(pause.status, 200);
    // An order runs on it while it is removed.
    let order = app.order_in(&cast, &gig, "in_progress").await;
    let searched = "q=design".to_owned();
    assert_eq!(app.browse_ids(&searched).await, vec![id]);

    let no_reason = app.moderate(admin, id, "remove", None, None).await;
    assert_eq!(no_reason.status, 400, "{no_reason:?}");
    let stale = app
        .moderate(admin, id, "remove", Some("\"9\""), Some("Scam"))
        .await;
    assert_eq!(stale.status, 412, "an If-Match, when sent, is checked");
    let removed = app
        .moderate(admin, id, "remove", None, Some("Sells fake reviews"))
        .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    assert_eq!(removed.body["status"], "removed");
    assert_eq!(removed.body["rejection_reason"], "Sells fake reviews");
    let removed_paused = app
        .moderate(admin, paused, "remove", None, Some("Also fake"))
        .await;
    assert_eq!(removed_paused.status, 200, "{removed_paused:?}");

    // Gone from browse, search and the public read; the owner still sees why.
    assert!(app.browse_ids("").await.is_empty());
    assert!(app.browse_ids(&searched).await.is_empty());
    let owners_gigs = app.get(&format!("/users/{}/gigs", owner.id), None).await;
    assert_eq!(owners_gigs.body["items"], json!([]));
    assert_eq!(app.get(&format!("/gigs/{id}"), None).await.status, 404);
    let own = app
        .get(&format!("/gigs/{id}"), Some(&owner.access_token))
        .await;
    assert_eq!(own.body["status"], "removed");
    assert_eq!(own.body["rejection_reason"], "Sells fake reviews");

    // The owner can neither resume nor edit it back; removing twice is 409.
    let resume = app
        .post(
            &format!("/gigs/{id}/resume"),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(resume.status, 409, "{resume:?}");
    let etag = app.current_etag(owner, id).await;
    let edit = app
        .send(
            RawRequest::new("PATCH", format!("/gigs/{id}"))
                .json(&json!({"title": "Back again, I promise"}))
                .bearer(&owner.access_token)
                .header("if-match", &etag),
        )
        .await;
    assert_eq!(edit.status, 409, "{edit:?}");
    let twice = app.moderate(admin, id, "remove", None, Some("Again")).await;
    assert_eq!(twice.status, 409);
    // No new orders; the running one goes on.
    let new_order = app
        .send(
            RawRequest::new("POST", "/orders")
                .json(
                    &json!({"gig_id": id, "package": "basic", "requirements": "More please.",
                       "expected_price_cents": 5_000, "currency": "EUR"}),
                )
                .bearer(&cast.client.access_token)
                .header("idempotency-key", &Uuid::new_v4().to_string()),
        )
        .await;
    assert!(
        new_order.status == 404 || new_order.status == 409,
        "{new_order:?}"
    );
    let deliver = app
        .post(
            &format!("/orders/{order}/deliver"),
            &json!({"message": "Done", "attachments": []}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(deliver.status, 200, "{deliver:?}");

    let entries = audit_of(&app, admin, id).await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["remove_gig"]);
    assert_eq!(entries[0]["reason"], "Sells fake reviews");

    // The metrics moved with each decision.
    let metrics = app.get("/admin/metrics", Some(&admin.access_token)).await;
    assert_eq!(metrics.body["gigs"]["removed"], 2, "{metrics:?}");
    assert_eq!(metrics.body["gigs"]["active"], 0);
    assert_eq!(metrics.body["gigs"]["paused"], 0);
}

#[tokio::test]
async fn each_decision_is_mailed_to_the_owner_once() {
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let admin = &app.create_admin().await;
    let owner = app.register_freelancer().await;
    let approved = app
        .create_approved_gig(&owner, admin, &gig_body("Mailed approval gig"))
        .await;
    let rejected = gig_id(
        &app.create_gig(&owner, &gig_body("Mailed rejection gig"))
            .await,
    );
    let refused = app.reject_gig(admin, rejected, "Uses a trademark").await;
    assert_eq!(refused.status, 200);
    let removed = app
        .moderate(admin, approved, "remove", None, Some("Sells fake reviews"))
        .await;
    assert_eq!(removed.status, 200);
    // A write that is no decision (the owner's edit of the rejected gig) mails nothing.
    edit(
        &app,
        &owner,
        rejected,
        "\"1\"",
        "Mailed rejection gig, fixed",
    )
    .await;

    let stream_event = pipeline.stream_event().await;
    let response =
        dispatcher::handle(stream_event.clone(), &pipeline.sqs, &pipeline.queues()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let messages = pipeline.receive_all().await;
    let events: Vec<Event> = messages
        .iter()
        .map(|message| serde_json::from_str(message.body().unwrap()).unwrap())
        .collect();
    let mut types: Vec<String> = events.iter().map(|e| e.event_type.to_string()).collect();
    types.sort();
    assert_eq!(types, ["gig.approved", "gig.rejected", "gig.removed"]);
    let removal = events
        .iter()
        .find(|event| event.event_type.to_string() == "gig.removed")
        .unwrap();
    let Subject::Gig(gig) = &removal.subject else {
        panic!("a gig event: {removal:?}");
    };
    assert_eq!(gig.gig_id, approved);
    assert_eq!(gig.freelancer_id, owner.id);
    assert_eq!(gig.reason.as_deref(), Some("Sells fake reviews"));
    // The event id is the decision's audit entry.
    let audit_id = audit_of(&app, admin, approved).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(removal.event_id, format!("gig:{approved}:{audit_id}"));

    // The stream redelivers the batch: the same events again; the notifier sends each once.
    let again = dispatcher::handle(stream_event, &pipeline.sqs, &pipeline.queues()).await;
    assert!(again.batch_item_failures.is_empty());
    let mut all = messages.clone();
    all.extend(pipeline.receive_all().await);
    assert_eq!(all.len(), 6, "each decision twice");
    let notifier = app.notifier();
    for batch in all.chunks(10) {
        let response = notifier.handle(Pipeline::sqs_event(batch)).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    assert_eq!(
        subjects_to(&owner.email).await,
        [
            "Your gig \"Mailed approval gig\" is live",
            "Your gig \"Mailed approval gig\" was removed",
            "Your gig \"Mailed rejection gig\" was not approved",
        ]
    );
    let mails = mail_to(&owner.email).await;
    let rejection = mails
        .iter()
        .find(|mail| mail.subject.contains("not approved"))
        .unwrap();
    assert!(rejection.body.contains("Uses a trademark"), "{rejection:?}");
    assert!(subjects_to(&admin.email).await.is_empty());
}

/// An approval racing the owner's edit, both based on the same ETag: whatever lands first, what
/// goes live is only ever the version the admin approved.
#[tokio::test]
async fn an_approval_racing_an_edit_never_publishes_unreviewed_content() {
    let app = TestApp::new().await;
    let admin = &app.create_admin().await;
    let owner = app.register_freelancer().await;
    for round in 0..5 {
        let gig = app
            .create_gig(&owner, &gig_body(&format!("Raced logo design {round}")))
            .await;
        let id = gig_id(&gig);
        let reviewed = gig_etag(&gig);
        let edit_request = RawRequest::new("PATCH", format!("/gigs/{id}"))
            .json(&json!({"title": format!("Raced logo design {round}, edited")}))
            .bearer(&owner.access_token)
            .header("if-match", &reviewed);
        let (approved, edited) = tokio::join!(
            app.moderate(admin, id, "approve", Some(&reviewed), None),
            app.send(edit_request),
        );
        assert_eq!(
            edited.status, 200,
            "the edit is based on the current version: {edited:?}"
        );
        assert!(
            approved.status == 200 || approved.status == 412,
            "{approved:?}"
        );
        let now = app
            .get(&format!("/gigs/{id}"), Some(&owner.access_token))
            .await;
        // Either order ends with the edit in review: approved first, the edit sent it back.
        assert_eq!(now.body["status"], "pending_review", "{now:?}");
        assert_eq!(now.body["version"], 2);
        assert!(
            app.browse_ids("").await.is_empty(),
            "nothing unreviewed is listed"
        );
        let audited = audit_of(&app, admin, id).await.len();
        assert_eq!(audited, usize::from(approved.status == 200));
    }
}

//! Gig changes reaching `GET /gigs` through the hint path, as deployed: the table's stream into
//! the dispatcher, its hints on the search index queue in moto, the indexer's batch run
//! publishing to moto's S3, and the `search` router reading the published version (without the
//! full rebuild the other tests' searches run first).

use gigmarket_tests::pipeline::Pipeline;
use gigmarket_tests::{RawRequest, Session, TestApp, fixtures::gig_body, fixtures::gig_etag};
use serde_json::{Value, json};
use uuid::Uuid;

/// The ids `GET /gigs?<query>` answers from the published index.
async fn published_ids(app: &TestApp, query: &str) -> Vec<Uuid> {
    let response = app
        .search_as_published(&format!("/gigs?limit=100&{query}"))
        .await;
    assert_eq!(response.status, 200, "{response:?}");
    response.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|card| card["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// The gig ids some hint messages name.
fn hinted(messages: &[aws_sdk_sqs::types::Message]) -> Vec<Uuid> {
    messages
        .iter()
        .map(|message| {
            let hint: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            hint["gig_id"].as_str().unwrap().parse().unwrap()
        })
        .collect()
}

/// The stream so far through the dispatcher; the hints it queued.
async fn dispatch(pipeline: &mut Pipeline) -> Vec<aws_sdk_sqs::types::Message> {
    let queues = pipeline.queues();
    let response = dispatcher::handle(pipeline.stream_event().await, &pipeline.sqs, &queues).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    pipeline.receive_hints().await
}

/// Hands `messages` to the indexer as one SQS batch; every one must be taken.
async fn index(app: &TestApp, messages: &[aws_sdk_sqs::types::Message]) {
    let response = app.indexer.handle(Pipeline::sqs_event(messages)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
}

async fn follow(app: &TestApp, pipeline: &mut Pipeline) -> Vec<Uuid> {
    let messages = dispatch(pipeline).await;
    index(app, &messages).await;
    hinted(&messages)
}

async fn edit_title(app: &TestApp, owner: &Session, gig_id: Uuid, title: &str) {
    let current = app
        .get(&format!("/gigs/{gig_id}"), Some(&owner.access_token))
        .await;
    let response = app
        .send(
            RawRequest::new("PATCH", format!("/gigs/{gig_id}"))
                .bearer(&owner.access_token)
                .header("if-match", &gig_etag(&current.body))
                .json(&json!({ "title": title })),
        )
        .await;
    assert_eq!(response.status, 200, "{response:?}");
}

#[tokio::test]
async fn a_gig_created_edited_paused_and_blocked_follows_in_search_through_its_hints() {
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let admin = app.create_admin().await;
    let owner = app.register_freelancer().await;
    let _ = follow(&app, &mut pipeline).await;
    assert!(published_ids(&app, "q=harbour").await.is_empty());

    // Created and approved: each write of the gig item is one hint, and the gig is found.
    let gig_id = app
        .create_approved_gig(&owner, &admin, &gig_body("Harbour sketch portraits"))
        .await;
    let hinted = follow(&app, &mut pipeline).await;
    assert!(
        !hinted.is_empty() && hinted.iter().all(|id| *id == gig_id),
        "{hinted:?}"
    );
    assert_eq!(published_ids(&app, "q=harbour").await, vec![gig_id]);

    // Edited: found by its new words, no longer by the old ones (auto-approve is off, so the
    // edit waits for review and leaves the listing until approved again).
    edit_title(&app, &owner, gig_id, "Lighthouse sketch portraits").await;
    let _ = follow(&app, &mut pipeline).await;
    assert!(published_ids(&app, "q=harbour").await.is_empty());
    let etag = app.current_etag(&admin, gig_id).await;
    let approved = app
        .moderate(&admin, gig_id, "approve", Some(&etag), None)
        .await;
    assert_eq!(approved.status, 200, "{approved:?}");
    let _ = follow(&app, &mut pipeline).await;
    assert_eq!(published_ids(&app, "q=lighthouse").await, vec![gig_id]);
    assert!(published_ids(&app, "q=harbour").await.is_empty());

    // Paused, then resumed.
    let token = Some(owner.access_token.as_str());
    let paused = app
        .post(&format!("/gigs/{gig_id}/pause"), &json!({}), token)
        .await;
    assert_eq!(paused.status, 200, "{paused:?}");
    let _ = follow(&app, &mut pipeline).await;
    assert!(published_ids(&app, "q=lighthouse").await.is_empty());
    let resumed = app
        .post(&format!("/gigs/{gig_id}/resume"), &json!({}), token)
        .await;
    assert_eq!(resumed.status, 200, "{resumed:?}");
    let _ = follow(&app, &mut pipeline).await;
    assert_eq!(published_ids(&app, "q=lighthouse").await, vec![gig_id]);

    // The owner blocked: the re-listing's write of the gig item is the hint.
    let blocked = app
        .post(
            &format!("/admin/users/{}/block", owner.id),
            &json!({ "reason": "spam" }),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(blocked.status, 200, "{blocked:?}");
    let _ = follow(&app, &mut pipeline).await;
    assert!(published_ids(&app, "").await.is_empty());

    // Removed by an admin after an unblock.
    let unblocked = app
        .post(
            &format!("/admin/users/{}/unblock", owner.id),
            &json!({}),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(unblocked.status, 200, "{unblocked:?}");
    let _ = follow(&app, &mut pipeline).await;
    assert_eq!(published_ids(&app, "").await, vec![gig_id]);
    let etag = app.current_etag(&admin, gig_id).await;
    let removed = app
        .moderate(
            &admin,
            gig_id,
            "remove",
            Some(&etag),
            Some("Stolen artwork"),
        )
        .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    let _ = follow(&app, &mut pipeline).await;
    assert!(published_ids(&app, "").await.is_empty());
}

#[tokio::test]
async fn hints_delivered_twice_or_out_of_order_change_nothing() {
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let admin = app.create_admin().await;
    let owner = app.register_freelancer().await;
    let _ = follow(&app, &mut pipeline).await;
    let gig_id = app
        .create_approved_gig(&owner, &admin, &gig_body("Mosaic tile patterns"))
        .await;
    let listed = dispatch(&mut pipeline).await;
    let token = Some(owner.access_token.as_str());
    app.post(&format!("/gigs/{gig_id}/pause"), &json!({}), token)
        .await;
    let paused = dispatch(&mut pipeline).await;

    // The pause's hints first, the older ones after: the gig is read as it is now, paused.
    index(&app, &paused).await;
    index(&app, &listed).await;
    assert!(published_ids(&app, "q=mosaic").await.is_empty());
    // Twice more, in any order: nothing changes.
    index(&app, &listed).await;
    index(&app, &paused).await;
    assert!(published_ids(&app, "q=mosaic").await.is_empty());

    app.post(&format!("/gigs/{gig_id}/resume"), &json!({}), token)
        .await;
    let resumed = dispatch(&mut pipeline).await;
    index(&app, &resumed).await;
    index(&app, &paused).await;
    index(&app, &resumed).await;
    assert_eq!(published_ids(&app, "q=mosaic").await, vec![gig_id]);
}

#[tokio::test]
async fn a_hint_the_queue_refuses_is_retried_with_its_record() {
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let owner = app.register_freelancer().await;
    let _ = follow(&app, &mut pipeline).await;
    app.create_gig(&owner, &gig_body("Ceramic glaze recipes"))
        .await;
    let event = pipeline.stream_event().await;
    let queues = dispatcher::Queues {
        search_index: format!("{}-missing", pipeline.search_index_queue_url),
        ..pipeline.queues()
    };
    let response = dispatcher::handle(event.clone(), &pipeline.sqs, &queues).await;
    let gig_records: Vec<String> = event
        .records
        .iter()
        .filter(|record| gigmarket_shared::store::stream::changed_gig(record).is_some())
        .map(|record| record.change.sequence_number.clone().unwrap())
        .collect();
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .filter_map(|failure| failure.item_identifier)
        .collect();
    assert!(!gig_records.is_empty());
    assert_eq!(failed, gig_records, "exactly the gig records are retried");

    // The retry, with the queue there, hints and indexes the gig.
    let retried = dispatcher::handle(event, &pipeline.sqs, &pipeline.queues()).await;
    assert!(retried.batch_item_failures.is_empty(), "{retried:?}");
    let messages = pipeline.receive_hints().await;
    index(&app, &messages).await;
    // Pending review (auto-approve is off): hinted, and deleted rather than listed.
    assert_eq!(hinted(&messages).len(), 1);
    assert!(published_ids(&app, "q=ceramic").await.is_empty());
}

#[tokio::test]
async fn a_page_never_shows_a_gig_unlisted_since_the_version_it_was_read_from() {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let token = Some(owner.access_token.as_str());
    let mut ids = Vec::new();
    for name in ["one", "two", "three"] {
        let created = app
            .create_gig(&owner, &gig_body(&format!("Stale check gig {name}")))
            .await;
        ids.push(gigmarket_tests::fixtures::gig_id(&created));
    }
    // `send` catches the index up: all three are published.
    assert_eq!(app.browse_ids("q=stale").await.len(), 3);
    // Paused after publication: the index still names it, the page leaves it out.
    app.post(&format!("/gigs/{}/pause", ids[1]), &json!({}), token)
        .await;
    let page = app.search_as_published("/gigs?q=stale&limit=10").await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(page.body["total"], 3, "the version read still counts it");
    let shown: Vec<&str> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|card| card["id"].as_str().unwrap())
        .collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(!shown.contains(&ids[1].to_string().as_str()));
}

#[tokio::test]
async fn a_version_naming_a_missing_file_leaves_readers_on_theirs_until_the_rebuild_replaces_it() {
    use gigmarket_shared::search_index::{ManifestRead, ManifestWrite};
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let gig_id = gigmarket_tests::fixtures::gig_id(
        &app.create_gig(&owner, &gig_body("Origami crane tutorials"))
            .await,
    );
    assert_eq!(app.browse_ids("q=origami").await, vec![gig_id]);

    // A manifest naming a segment file the bucket never got (as if deleted early).
    let ManifestRead::Changed(stored) = app.search_index.manifest(None).await.unwrap() else {
        panic!("the catch-up published a manifest");
    };
    let mut manifest: Value = serde_json::from_slice(&stored.body).unwrap();
    manifest["files"]
        .as_array_mut()
        .unwrap()
        .push(json!("00000000000000000000000000000000.idx"));
    let written = app
        .search_index
        .put_manifest(serde_json::to_vec(&manifest).unwrap(), Some(&stored.etag))
        .await
        .unwrap();
    assert!(matches!(written, ManifestWrite::Written { .. }));

    // The reader tries the version on each request (it polls every time here), fails to load
    // it whole, and answers from the one it has, request after request.
    for _ in 0..3 {
        assert_eq!(published_ids(&app, "q=origami").await, vec![gig_id]);
    }

    // The full rebuild replaces the unreadable version with one read from the table alone, and
    // the reader moves on to it: a gig created since is found beside the first.
    let later = gigmarket_tests::fixtures::gig_id(
        &app.create_gig(&owner, &gig_body("Origami boat tutorials"))
            .await,
    );
    app.catch_up_search_index().await;
    let mut found = published_ids(&app, "q=origami").await;
    found.sort();
    let mut expected = vec![gig_id, later];
    expected.sort();
    assert_eq!(found, expected);
}

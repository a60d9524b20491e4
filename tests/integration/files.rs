//! Files (`app::files`): an order's and a conversation's uploads, really uploaded to the presigned
//! POST the API answers (moto's S3, as a browser's form would), delivered, checked at use,
//! listed and downloaded through the 302 to a presigned GET.
//!
//! moto does not enforce a POST policy (docs/local-stack.md), so the oversized and wrong-type
//! uploads below reach the bucket as they would not on AWS: what refuses them here is the check
//! at use, which is what keeps them out on both. The policy's conditions themselves are read by
//! `shared::files`' unit test.

use gigmarket_shared::aws;
use gigmarket_shared::domain::gig::Gig;
use gigmarket_tests::files::{self, upload};
use gigmarket_tests::fixtures::Cast;
use gigmarket_tests::{Session, TestApp, TestResponse};
use serde_json::{Value, json};
use uuid::Uuid;

const PNG: &str = "image/png";

fn bytes(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

async fn declare(
    app: &TestApp,
    who: &Session,
    path: &str,
    filename: &str,
    content_type: &str,
    size: usize,
) -> TestResponse {
    app.post(
        path,
        &json!({"filename": filename, "content_type": content_type, "size_bytes": size}),
        Some(&who.access_token),
    )
    .await
}

/// Declares a file of `size` bytes and answers `(file id, the upload)`.
async fn declared(
    app: &TestApp,
    who: &Session,
    path: &str,
    filename: &str,
    size: usize,
) -> (Uuid, Value) {
    let response = declare(app, who, path, filename, PNG, size).await;
    assert_eq!(response.status, 201, "{response:?}");
    let id = response.body["file"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (id, response.body["upload"].clone())
}

async fn deliver(app: &TestApp, who: &Session, order_id: Uuid, file_ids: &[Uuid]) -> TestResponse {
    app.post(
        &format!("/orders/{order_id}/deliver"),
        &json!({"message": "Here it is.", "file_ids": file_ids}),
        Some(&who.access_token),
    )
    .await
}

/// Follows a download's 302 to S3 and answers the object's response.
async fn follow(response: &TestResponse) -> reqwest::Response {
    assert_eq!(response.status, 302, "{response:?}");
    assert_eq!(response.header("cache-control"), Some("no-store"));
    files::download(response.header("location").expect("a Location")).await
}

/// Whether the bucket holds the file's object (`orders/<order>/<file>`).
async fn object_exists(app: &TestApp, key: &str) -> bool {
    let bucket = std::env::var("FILES_BUCKET").expect("FILES_BUCKET");
    match aws::s3(&app.sdk)
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(_) => true,
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => false,
        Err(error) => panic!("HeadObject {key}: {error:?}"),
    }
}

async fn in_progress(app: &TestApp) -> (Cast, Gig, Uuid) {
    let (cast, gig) = app.cast_with_gig().await;
    let order_id = app.order_in(&cast, &gig, "in_progress").await;
    (cast, gig, order_id)
}

#[tokio::test]
async fn a_delivered_file_is_downloaded_by_the_client_as_an_attachment() {
    let app = TestApp::new().await;
    let (cast, _, order_id) = in_progress(&app).await;
    let files = format!("/orders/{order_id}/files");
    let content = bytes(3_000);
    let (file_id, form) =
        declared(&app, &cast.freelancer, &files, "../Logo final é.png", 3_000).await;
    assert_eq!(
        form["fields"]["key"],
        format!("orders/{order_id}/{file_id}"),
        "{form}"
    );
    assert_eq!(upload(&form, content.clone(), None).await, 204);

    let delivered = deliver(&app, &cast.freelancer, order_id, &[file_id]).await;
    assert_eq!(delivered.status, 200, "{delivered:?}");
    assert_eq!(delivered.body["status"], "delivered");
    assert_eq!(delivered.body["last_change"]["files"], json!([file_id]));

    let listed = app.get(&files, Some(&cast.client.access_token)).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed:?}");
    assert_eq!(items[0]["filename"], "Logo final é.png");
    assert_eq!(items[0]["status"], "ready");
    assert_eq!(items[0]["size_bytes"], 3_000);
    assert_eq!(items[0]["uploader_id"], json!(cast.freelancer.id));

    let download = app
        .get(
            &format!("{files}/{file_id}"),
            Some(&cast.client.access_token),
        )
        .await;
    let object = follow(&download).await;
    assert_eq!(object.status(), 200);
    assert_eq!(
        object
            .headers()
            .get("content-disposition")
            .and_then(|value| value.to_str().ok()),
        Some(
            "attachment; filename=\"Logo final _.png\"; filename*=UTF-8''Logo%20final%20%C3%A9.png"
        )
    );
    assert_eq!(object.bytes().await.unwrap().to_vec(), content);
    // Admins may read an order's files too.
    let admin = app
        .get(
            &format!("{files}/{file_id}"),
            Some(&cast.admin.access_token),
        )
        .await;
    assert_eq!(admin.status, 302, "{admin:?}");
}

#[tokio::test]
async fn a_stranger_gets_404_for_the_list_and_the_download() {
    let app = TestApp::new().await;
    let (cast, _, order_id) = in_progress(&app).await;
    let files = format!("/orders/{order_id}/files");
    let (file_id, form) = declared(&app, &cast.freelancer, &files, "a.png", 10).await;
    assert_eq!(upload(&form, bytes(10), None).await, 204);
    let list = app.get(&files, Some(&cast.stranger.access_token)).await;
    assert_eq!(
        (list.status, list.problem()),
        (404, "not-found"),
        "{list:?}"
    );
    let download = app
        .get(
            &format!("{files}/{file_id}"),
            Some(&cast.stranger.access_token),
        )
        .await;
    assert_eq!(download.status, 404, "{download:?}");
    assert!(download.header("location").is_none());
    let declare = declare(&app, &cast.stranger, &files, "b.png", PNG, 10).await;
    assert_eq!(declare.status, 404, "{declare:?}");
}

#[tokio::test]
async fn an_oversized_upload_is_refused_and_deleted_when_a_delivery_references_it() {
    let app = TestApp::new().await;
    let (cast, _, order_id) = in_progress(&app).await;
    let files = format!("/orders/{order_id}/files");
    let (file_id, form) = declared(&app, &cast.freelancer, &files, "logo.png", 10).await;
    let key = format!("orders/{order_id}/{file_id}");
    // Real S3 refuses this at upload (content-length-range 10..10); moto stores it.
    assert_eq!(upload(&form, bytes(100), None).await, 204);
    assert!(object_exists(&app, &key).await);

    let refused = deliver(&app, &cast.freelancer, order_id, &[file_id]).await;
    assert_eq!(
        (refused.status, refused.problem()),
        (409, "file-mismatch"),
        "{refused:?}"
    );
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("100 bytes"),
        "{refused:?}"
    );
    assert!(
        !object_exists(&app, &key).await,
        "the bad upload is deleted"
    );
    let order = app.order(&cast.client, order_id).await;
    assert_eq!(order.body["status"], "in_progress", "nothing was delivered");
    let listed = app.get(&files, Some(&cast.freelancer.access_token)).await;
    assert_eq!(listed.body["items"], json!([]), "{listed:?}");
}

#[tokio::test]
async fn a_wrong_type_upload_is_refused_when_a_delivery_references_it() {
    let app = TestApp::new().await;
    let (cast, _, order_id) = in_progress(&app).await;
    let files = format!("/orders/{order_id}/files");
    let (file_id, form) = declared(&app, &cast.freelancer, &files, "logo.png", 10).await;
    // An HTML page declared as a PNG: real S3 refuses the form's Content-Type; moto stores it.
    assert_eq!(upload(&form, bytes(10), Some("text/html")).await, 204);
    let refused = deliver(&app, &cast.freelancer, order_id, &[file_id]).await;
    assert_eq!(
        (refused.status, refused.problem()),
        (409, "file-mismatch"),
        "{refused:?}"
    );
    assert!(
        !object_exists(&app, &format!("orders/{order_id}/{file_id}")).await,
        "the bad upload is deleted"
    );
}

#[tokio::test]
async fn a_file_of_another_order_can_not_be_delivered() {
    let app = TestApp::new().await;
    let (cast, gig, order_id) = in_progress(&app).await;
    let other = app.order_in(&cast, &gig, "in_progress").await;
    let (file_id, form) = declared(
        &app,
        &cast.freelancer,
        &format!("/orders/{other}/files"),
        "theirs.png",
        10,
    )
    .await;
    assert_eq!(upload(&form, bytes(10), None).await, 204);
    let refused = deliver(&app, &cast.freelancer, order_id, &[file_id]).await;
    assert_eq!(
        (refused.status, refused.problem()),
        (422, "unknown-file"),
        "{refused:?}"
    );
    // Nor can the client's requirement file be handed over as the delivery.
    let (client_file, form) = declared(
        &app,
        &cast.client,
        &format!("/orders/{order_id}/files"),
        "brief.png",
        10,
    )
    .await;
    assert_eq!(upload(&form, bytes(10), None).await, 204);
    let refused = deliver(&app, &cast.freelancer, order_id, &[client_file]).await;
    assert_eq!(
        (refused.status, refused.problem()),
        (422, "unknown-file"),
        "{refused:?}"
    );
    // And a file of this order from another order's download path is unknown there.
    let download = app
        .get(
            &format!("/orders/{order_id}/files/{file_id}"),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(download.status, 404, "{download:?}");
}

#[tokio::test]
async fn a_file_not_yet_uploaded_is_refused_in_a_delivery() {
    let app = TestApp::new().await;
    let (cast, _, order_id) = in_progress(&app).await;
    let files = format!("/orders/{order_id}/files");
    let (file_id, _) = declared(&app, &cast.freelancer, &files, "later.png", 10).await;
    let refused = deliver(&app, &cast.freelancer, order_id, &[file_id]).await;
    assert_eq!(
        (refused.status, refused.problem()),
        (409, "file-not-uploaded"),
        "{refused:?}"
    );
    let download = app
        .get(
            &format!("{files}/{file_id}"),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(
        (download.status, download.problem()),
        (409, "file-not-uploaded")
    );
    assert_eq!(
        app.order(&cast.client, order_id).await.body["status"],
        "in_progress"
    );
}

#[tokio::test]
async fn a_delivered_file_replaced_through_its_open_upload_window_is_not_served() {
    let app = TestApp::new().await;
    let (cast, _, order_id) = in_progress(&app).await;
    let files = format!("/orders/{order_id}/files");
    let (file_id, form) = declared(&app, &cast.freelancer, &files, "final.png", 10).await;
    assert_eq!(upload(&form, bytes(10), None).await, 204);
    let delivered = deliver(&app, &cast.freelancer, order_id, &[file_id]).await;
    assert_eq!(delivered.status, 200, "{delivered:?}");
    // The same form again, within its 15 minutes, with other bytes of the same size.
    assert_eq!(upload(&form, vec![7; 10], None).await, 204);
    let download = app
        .get(
            &format!("{files}/{file_id}"),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(
        (download.status, download.problem()),
        (409, "file-changed"),
        "{download:?}"
    );
}

#[tokio::test]
async fn declarations_follow_the_rules_and_the_limits() {
    let app = TestApp::with_config(|config| config.order_files.max_count = 2).await;
    let (cast, gig) = app.cast_with_gig().await;
    let order_id = app.order_in(&cast, &gig, "in_progress").await;
    let files = format!("/orders/{order_id}/files");
    let html = declare(&app, &cast.freelancer, &files, "x.html", "text/html", 10).await;
    assert_eq!((html.status, html.problem()), (400, "validation-error"));
    assert_eq!(html.body["errors"][0]["field"], "content_type", "{html:?}");
    let huge = declare(&app, &cast.freelancer, &files, "x.png", PNG, 250_000_001).await;
    assert_eq!(huge.body["errors"][0]["code"], "too_large", "{huge:?}");
    // Admins read files, they do not add them.
    let admin = declare(&app, &cast.admin, &files, "x.png", PNG, 10).await;
    assert_eq!(admin.status, 403, "{admin:?}");
    declared(&app, &cast.freelancer, &files, "1.png", 10).await;
    declared(&app, &cast.client, &files, "2.png", 10).await;
    let third = declare(&app, &cast.freelancer, &files, "3.png", PNG, 10).await;
    assert_eq!(
        (third.status, third.problem()),
        (409, "too-many-files"),
        "{third:?}"
    );
    let closed = app.order_in(&cast, &gig, "cancelled").await;
    let late = declare(
        &app,
        &cast.client,
        &format!("/orders/{closed}/files"),
        "x.png",
        PNG,
        10,
    )
    .await;
    assert_eq!(
        (late.status, late.problem()),
        (409, "order-closed"),
        "{late:?}"
    );
}

/// The client opens a conversation with the freelancer ("Hello") and answers its id.
async fn conversation(app: &TestApp, cast: &Cast) -> Uuid {
    let opened = app
        .post(
            "/conversations",
            &json!({"participant_id": cast.freelancer.id, "text": "Hello"}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(opened.status, 201, "{opened:?}");
    opened.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_message_carries_a_conversation_file_to_the_other_participant_only() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let conversation = conversation(&app, &cast).await;
    let files = format!("/conversations/{conversation}/files");
    let (file_id, form) = declared(&app, &cast.client, &files, "brief.png", 20).await;
    assert_eq!(
        form["fields"]["key"],
        format!("conversations/{conversation}/{file_id}")
    );
    assert_eq!(upload(&form, bytes(20), None).await, 204);
    let sent = app
        .post(
            &format!("/conversations/{conversation}/messages"),
            &json!({"text": "The brief", "file_ids": [file_id]}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(sent.status, 201, "{sent:?}");
    assert_eq!(sent.body["message"]["files"], json!([file_id]));
    // The freelancer can not send the client's file as their own.
    let theirs = app
        .post(
            &format!("/conversations/{conversation}/messages"),
            &json!({"text": "Yours", "file_ids": [file_id]}),
            Some(&cast.freelancer.access_token),
        )
        .await;
    assert_eq!((theirs.status, theirs.problem()), (422, "unknown-file"));
    let download = app
        .get(
            &format!("{files}/{file_id}"),
            Some(&cast.freelancer.access_token),
        )
        .await;
    let object = follow(&download).await;
    assert_eq!(object.status(), 200);
    assert_eq!(object.bytes().await.unwrap().to_vec(), bytes(20));
    let stranger = app
        .get(
            &format!("{files}/{file_id}"),
            Some(&cast.stranger.access_token),
        )
        .await;
    assert_eq!(stranger.status, 404, "{stranger:?}");
    let list = app.get(&files, Some(&cast.stranger.access_token)).await;
    assert_eq!(list.status, 404, "{list:?}");
    // Conversations take smaller files than orders.
    let big = declare(&app, &cast.client, &files, "big.png", PNG, 25_000_001).await;
    assert_eq!(big.body["errors"][0]["code"], "too_large", "{big:?}");
}

/// Messages racing to be a file's first use: each is written with its file recorded as used in
/// one transaction, or refused (409 `file-unavailable`) with nothing written; none is lost.
#[tokio::test]
async fn messages_racing_for_a_new_file_are_each_written_whole_or_refused() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let conversation = conversation(&app, &cast).await;
    let files = format!("/conversations/{conversation}/files");
    let (file_id, form) = declared(&app, &cast.client, &files, "brief.png", 20).await;
    assert_eq!(upload(&form, bytes(20), None).await, 204);
    let messages = format!("/conversations/{conversation}/messages");
    let bodies: Vec<Value> = (0..4)
        .map(|i| json!({"text": format!("Brief {i}"), "file_ids": [file_id]}))
        .collect();
    let sends = bodies
        .iter()
        .map(|body| app.post(&messages, body, Some(&cast.client.access_token)));
    let answers = futures_util::future::join_all(sends).await;
    let mut sent = 0;
    for answer in &answers {
        match answer.status {
            201 => sent += 1,
            _ => assert_eq!(
                (answer.status, answer.problem()),
                (409, "file-unavailable"),
                "{answer:?}"
            ),
        }
    }
    assert!(sent >= 1, "{answers:?}");
    let listed = app.get(&messages, Some(&cast.client.access_token)).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let with_file = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| message["files"] == json!([file_id]))
        .count();
    assert_eq!(with_file, sent, "{listed:?}");
    let items = app.get(&files, Some(&cast.client.access_token)).await;
    assert_eq!(items.body["items"][0]["status"], "ready", "{items:?}");
}

/// The uploader deletes an order's file no delivery uses (its object too); a delivered one is
/// part of the order's record; nobody else deletes either.
#[tokio::test]
async fn the_uploader_deletes_an_unused_order_file_but_never_a_delivered_one() {
    let app = TestApp::new().await;
    let (cast, _, order_id) = in_progress(&app).await;
    let files = format!("/orders/{order_id}/files");
    let (spare, form) = declared(&app, &cast.freelancer, &files, "draft.png", 10).await;
    assert_eq!(upload(&form, bytes(10), None).await, 204);
    let (kept, form) = declared(&app, &cast.freelancer, &files, "final.png", 10).await;
    assert_eq!(upload(&form, bytes(10), None).await, 204);
    let spare_path = format!("{files}/{spare}");
    let kept_path = format!("{files}/{kept}");

    // Not the uploader: the client and strangers do not know the file, admins do not change files.
    let client = app
        .delete(&spare_path, Some(&cast.client.access_token))
        .await;
    assert_eq!(client.status, 404, "{client:?}");
    let stranger = app
        .delete(&spare_path, Some(&cast.stranger.access_token))
        .await;
    assert_eq!(stranger.status, 404, "{stranger:?}");
    let admin = app
        .delete(&spare_path, Some(&cast.admin.access_token))
        .await;
    assert_eq!(admin.status, 403, "{admin:?}");

    let deleted = app
        .delete(&spare_path, Some(&cast.freelancer.access_token))
        .await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert!(!object_exists(&app, &format!("orders/{order_id}/{spare}")).await);
    let again = app
        .delete(&spare_path, Some(&cast.freelancer.access_token))
        .await;
    assert_eq!(again.status, 404, "{again:?}");
    let listed = app.get(&files, Some(&cast.client.access_token)).await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "{listed:?}"
    );
    assert_eq!(listed.body["items"][0]["id"], json!(kept));
    // A deleted file can not be delivered.
    let refused = deliver(&app, &cast.freelancer, order_id, &[spare]).await;
    assert_eq!((refused.status, refused.problem()), (422, "unknown-file"));

    let delivered = deliver(&app, &cast.freelancer, order_id, &[kept]).await;
    assert_eq!(delivered.status, 200, "{delivered:?}");
    let used = app
        .delete(&kept_path, Some(&cast.freelancer.access_token))
        .await;
    assert_eq!(
        (used.status, used.problem()),
        (409, "file-used"),
        "{used:?}"
    );
    assert!(object_exists(&app, &format!("orders/{order_id}/{kept}")).await);
    let download = app.get(&kept_path, Some(&cast.client.access_token)).await;
    assert_eq!(follow(&download).await.status(), 200);
}

/// A conversation's attachment: its uploader deletes it until a message carries it.
#[tokio::test]
async fn a_sent_attachment_stays_and_an_unsent_one_is_deleted() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let conversation = conversation(&app, &cast).await;
    let files = format!("/conversations/{conversation}/files");
    let (unsent, form) = declared(&app, &cast.client, &files, "old brief.png", 20).await;
    assert_eq!(upload(&form, bytes(20), None).await, 204);
    let (sent, form) = declared(&app, &cast.client, &files, "brief.png", 20).await;
    assert_eq!(upload(&form, bytes(20), None).await, 204);
    let message = app
        .post(
            &format!("/conversations/{conversation}/messages"),
            &json!({"text": "The brief", "file_ids": [sent]}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(message.status, 201, "{message:?}");

    let theirs = app
        .delete(
            &format!("{files}/{unsent}"),
            Some(&cast.freelancer.access_token),
        )
        .await;
    assert_eq!(theirs.status, 404, "{theirs:?}");
    let deleted = app
        .delete(
            &format!("{files}/{unsent}"),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert!(!object_exists(&app, &format!("conversations/{conversation}/{unsent}")).await);
    let used = app
        .delete(&format!("{files}/{sent}"), Some(&cast.client.access_token))
        .await;
    assert_eq!(
        (used.status, used.problem()),
        (409, "file-used"),
        "{used:?}"
    );
    assert!(object_exists(&app, &format!("conversations/{conversation}/{sent}")).await);
}

/// A message may be files alone: no text with files is sent (and previewed as its files), no
/// text without files is still refused.
#[tokio::test]
async fn a_message_of_files_alone_is_sent_without_text() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let conversation = conversation(&app, &cast).await;
    let files = format!("/conversations/{conversation}/files");
    let (file_id, form) = declared(&app, &cast.client, &files, "sketch.png", 20).await;
    assert_eq!(upload(&form, bytes(20), None).await, 204);
    let messages = format!("/conversations/{conversation}/messages");
    let empty = app
        .post(
            &messages,
            &json!({"text": "  "}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(empty.status, 400, "{empty:?}");
    assert_eq!(empty.body["errors"][0]["field"], "text", "{empty:?}");
    let nothing = app
        .post(
            &messages,
            &json!({"file_ids": []}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(nothing.status, 400, "{nothing:?}");

    let sent = app
        .post(
            &messages,
            &json!({"file_ids": [file_id]}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(sent.status, 201, "{sent:?}");
    assert_eq!(sent.body["message"]["text"], "");
    assert_eq!(sent.body["message"]["files"], json!([file_id]));
    let inbox = app
        .get("/conversations", Some(&cast.freelancer.access_token))
        .await;
    assert_eq!(
        inbox.body["items"][0]["last_message"]["preview"], "(1 file)",
        "{inbox:?}"
    );
}

/// An order's files are deleted from S3 their retention period after the order closes: the
/// scheduler (run as of a later `now`) deletes the objects, the items stay as `expired`, and a
/// download answers 410 `file-expired`.
#[tokio::test]
async fn a_closed_orders_files_expire_their_retention_period_after_the_close() {
    let app = TestApp::new().await;
    let (cast, _, order_id) = in_progress(&app).await;
    let files = format!("/orders/{order_id}/files");
    let (delivered, form) = declared(&app, &cast.freelancer, &files, "logo.png", 10).await;
    assert_eq!(upload(&form, bytes(10), None).await, 204);
    let (unused, form) = declared(&app, &cast.freelancer, &files, "draft.png", 10).await;
    assert_eq!(upload(&form, bytes(10), None).await, 204);
    let delivery = deliver(&app, &cast.freelancer, order_id, &[delivered]).await;
    assert_eq!(delivery.status, 200, "{delivery:?}");
    let completed = app
        .post(
            &format!("/orders/{order_id}/complete"),
            &json!({}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(completed.status, 200, "{completed:?}");

    let retention = time::Duration::days(90);
    let settings = scheduler::Settings {
        order_files: Some(scheduler::OrderFiles {
            storage: aws::file_storage(&app.sdk).unwrap(),
            retention,
        }),
        ..scheduler::Settings::default()
    };
    let closed = time::OffsetDateTime::now_utc();
    let keys = [delivered, unused].map(|file| format!("orders/{order_id}/{file}"));
    let store = &app.state.store;
    let early = scheduler::run_with(
        store,
        &app.stripe,
        &settings,
        closed + time::Duration::days(89),
    )
    .await
    .unwrap();
    assert_eq!(early.order_files_expired, 0, "{early:?}");
    for key in &keys {
        assert!(object_exists(&app, key).await, "{key}");
    }

    let due = scheduler::run_with(
        store,
        &app.stripe,
        &settings,
        closed + retention + time::Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(due.order_files_expired, 2, "{due:?}");
    for key in &keys {
        assert!(!object_exists(&app, key).await, "{key}");
    }
    let listed = app.get(&files, Some(&cast.client.access_token)).await;
    let statuses: Vec<&Value> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| &file["status"])
        .collect();
    assert_eq!(
        statuses,
        [&json!("expired"), &json!("expired")],
        "{listed:?}"
    );
    let download = app
        .get(
            &format!("{files}/{delivered}"),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(
        (download.status, download.problem()),
        (410, "file-expired"),
        "{download:?}"
    );
    // The order left the list: the next run has nothing to do.
    let again = scheduler::run_with(
        store,
        &app.stripe,
        &settings,
        closed + retention + time::Duration::days(2),
    )
    .await
    .unwrap();
    assert_eq!(again.order_files_expired, 0, "{again:?}");
}

//! Files through `cargo lambda watch`, as deployed functions serve them: an order's delivery and a
//! conversation's attachment, each uploaded to its presigned POST (moto's S3), used, listed and
//! downloaded through the 302, and a wrong upload refused and deleted. Besides the behaviour,
//! this is the call log's evidence for `orders`' and `messages`' S3 grants (PutObject by the
//! presigning, GetObject by HeadObject and the presigned GET, DeleteObject) on their prefixes,
//! and for the scheduler's DeleteObject of a closed order's files.

use gigmarket_tests::watch::{
    active_gig_in_functions_table, call_with, order_step, place_order, register_over_http,
};
use reqwest::Method;
use serde_json::{Value, json};

/// A client that does not follow redirects: the 302 itself is what the API answers.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Declares a PNG of `size` bytes under `path` and uploads `body` to its presigned POST; answers
/// the file's id.
async fn declare_and_upload(
    client: &reqwest::Client,
    token: &str,
    path: &str,
    size: usize,
    body: Vec<u8>,
) -> String {
    let (status, declared) = call_with(
        client,
        Method::POST,
        path,
        token,
        &[],
        Some(json!({"filename": "work.png", "content_type": "image/png", "size_bytes": size})),
    )
    .await;
    assert_eq!(status, 201, "{declared}");
    assert_eq!(
        gigmarket_tests::files::upload(&declared["upload"], body, None).await,
        204
    );
    declared["file"]["id"].as_str().unwrap().to_owned()
}

/// `GET path` must answer 302 to a presigned GET that serves `expected`.
async fn download(token: &str, path: &str, expected: &[u8]) {
    let response = no_redirects()
        .get(format!("{}{path}", gigmarket_tests::watch::base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("watch answers");
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let object = gigmarket_tests::files::download(&location).await;
    assert_eq!(object.status().as_u16(), 200);
    assert_eq!(object.bytes().await.unwrap().as_ref(), expected);
}

#[tokio::test]
async fn order_and_conversation_files_through_cargo_lambda_watch() {
    let client = reqwest::Client::new();
    let (_, client_token, _) = register_over_http(&client, "client").await;
    let (freelancer_id, freelancer_token, _) = register_over_http(&client, "freelancer").await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;
    let order_id = place_order(&client, &client_token, &gig).await;
    order_step(&client, &freelancer_token, &order_id, "accept", json!({})).await;

    // A delivery's file: uploaded, delivered, listed and downloaded by the client.
    let files = format!("/orders/{order_id}/files");
    let content = vec![42u8; 64];
    let file_id = declare_and_upload(&client, &freelancer_token, &files, 64, content.clone()).await;
    let delivered = order_step(
        &client,
        &freelancer_token,
        &order_id,
        "deliver",
        json!({"message": "Done", "file_ids": [file_id]}),
    )
    .await;
    assert_eq!(delivered["last_change"]["files"], json!([file_id]));
    let (status, listed) = call_with(&client, Method::GET, &files, &client_token, &[], None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"][0]["status"], "ready");
    download(&client_token, &format!("{files}/{file_id}"), &content).await;

    // A revision's delivery with an upload larger than declared: refused, and deleted.
    order_step(
        &client,
        &client_token,
        &order_id,
        "request-revision",
        json!({"message": "Bigger"}),
    )
    .await;
    let bad = declare_and_upload(&client, &freelancer_token, &files, 10, vec![1; 30]).await;
    let (status, refused) = call_with(
        &client,
        Method::POST,
        &format!("/orders/{order_id}/deliver"),
        &freelancer_token,
        &[],
        Some(json!({"message": "Again", "file_ids": [bad]})),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["type"],
        "https://gigmarket.dev/problems/file-mismatch"
    );

    // A conversation's attachment, and a wrong one.
    let (status, opened) = call_with(
        &client,
        Method::POST,
        "/conversations",
        &client_token,
        &[],
        Some(json!({"participant_id": freelancer_id, "text": "Hi"})),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    let conversation = opened["conversation"]["id"].as_str().unwrap().to_owned();
    let attachments = format!("/conversations/{conversation}/files");
    let brief = vec![9u8; 32];
    let brief_id =
        declare_and_upload(&client, &client_token, &attachments, 32, brief.clone()).await;
    let messages = format!("/conversations/{conversation}/messages");
    let (status, sent) = call_with(
        &client,
        Method::POST,
        &messages,
        &client_token,
        &[],
        Some(json!({"text": "The brief", "file_ids": [brief_id]})),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let (status, listed): (u16, Value) = call_with(
        &client,
        Method::GET,
        &attachments,
        &freelancer_token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    download(
        &freelancer_token,
        &format!("{attachments}/{brief_id}"),
        &brief,
    )
    .await;
    let wrong = declare_and_upload(&client, &client_token, &attachments, 5, vec![0; 50]).await;
    let (status, refused) = call_with(
        &client,
        Method::POST,
        &messages,
        &client_token,
        &[],
        Some(json!({"text": "Another", "file_ids": [wrong]})),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
}

#[tokio::test]
async fn a_closed_orders_files_are_deleted_by_the_scheduler_through_cargo_lambda_watch() {
    // The call log's evidence for the scheduler's DeleteObject on `orders/`.
    let client = reqwest::Client::new();
    let (_, client_token, _) = register_over_http(&client, "client").await;
    let (freelancer_id, freelancer_token, _) = register_over_http(&client, "freelancer").await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;
    let order_id = place_order(&client, &client_token, &gig).await;
    order_step(&client, &freelancer_token, &order_id, "accept", json!({})).await;
    let files = format!("/orders/{order_id}/files");
    let file_id = declare_and_upload(&client, &freelancer_token, &files, 16, vec![7; 16]).await;
    order_step(
        &client,
        &freelancer_token,
        &order_id,
        "deliver",
        json!({"message": "Done", "file_ids": [file_id]}),
    )
    .await;
    order_step(&client, &client_token, &order_id, "complete", json!({})).await;

    let (store, _) = gigmarket_tests::watch::functions_store().await;
    store
        .move_order_files_close(
            order_id.parse().unwrap(),
            gigmarket_tests::watch::long_ago(),
        )
        .await
        .expect("the close moved");
    // Other tests run the scheduler at the same time, and any run may be the one that expires
    // this order's files; what matters is that a run does, so run it until the file reads expired.
    let mut listed = Value::Null;
    let mut summaries = Vec::new();
    for _ in 0..5 {
        summaries.push(gigmarket_tests::watch::run_scheduler().await);
        let status;
        (status, listed) = call_with(&client, Method::GET, &files, &client_token, &[], None).await;
        assert_eq!(status, 200, "{listed}");
        if listed["items"][0]["status"] == "expired" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        listed["items"][0]["status"], "expired",
        "{listed} after {summaries:?}"
    );
    let (status, gone) = call_with(
        &client,
        Method::GET,
        &format!("{files}/{file_id}"),
        &client_token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 410, "{gone}");
    assert_eq!(gone["type"], "https://gigmarket.dev/problems/file-expired");
}

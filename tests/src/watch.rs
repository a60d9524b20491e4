//! Calls through `cargo lambda watch` (`GIGMARKET_API_URL`, which `make test` starts with the
//! function router from Cargo.toml) for the end-to-end tests: HTTP requests and raw Lambda
//! invocations, users registered and verified through the real mail, admins made as `gigctl
//! create-admin` makes them, and the mail moto's SES accepted. Every secret sent or received is
//! recorded (`secrets`) for the log check after the run.

use gigmarket_shared::domain::gig::{Gig, Revisions};
use gigmarket_shared::domain::user::Role;
use gigmarket_shared::store::Store;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::TestApp;
use crate::pipeline::mail_to;
use crate::secrets;

pub fn base_url() -> String {
    std::env::var("GIGMARKET_API_URL")
        .expect("GIGMARKET_API_URL must point at `cargo lambda watch` (make test starts it)")
}

pub async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value) {
    let mut request = client.request(method, format!("{}{path}", base_url()));
    if let Some(token) = token {
        secrets::remember(token);
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        secrets::remember_in(&body);
        request = request.json(&body);
    }
    let response = request.send().await.expect("watch answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    secrets::remember_in(&body);
    (status, content_type, body)
}

/// Sends a request with extra headers and returns (status, body).
pub async fn call_with(
    client: &reqwest::Client,
    method: reqwest::Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    secrets::remember(token);
    let mut request = client
        .request(method, format!("{}{path}", base_url()))
        .bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        secrets::remember_in(&body);
        request = request.json(&body);
    }
    let response = request.send().await.expect("watch answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    secrets::remember_in(&body);
    (status, body)
}

/// Registers a user and verifies their email for real: the verification mail goes from `auth`
/// to the events queue, through the bridge to `notifier`, into moto's SES; its link's token is
/// posted to `/auth/verify`. Returns (user id, access token, email).
pub async fn register_over_http(client: &reqwest::Client, role: &str) -> (String, String, String) {
    let email = format!("e2e-{role}-{}@example.com", Uuid::new_v4().simple());
    let (status, _, body) = call(
        client,
        reqwest::Method::POST,
        "/auth/register",
        None,
        Some(json!({"email": email, "password": "an end-to-end password", "name": format!("E2E {role}"), "role": role})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["email_verified"], false);
    let token = verification_token(&email).await;
    let (status, _, verified) = call(
        client,
        reqwest::Method::POST,
        "/auth/verify",
        None,
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["email_verified"], true);
    (
        body["user"]["id"].as_str().unwrap().to_owned(),
        body["access_token"].as_str().unwrap().to_owned(),
        email,
    )
}

pub const VERIFICATION_SUBJECT: &str = "Verify your email address for Gigmarket";

/// The token in the link of the verification mail moto's SES got for `address`.
pub async fn verification_token(address: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let mails = mail_to(address).await;
        if let Some(mail) = mails
            .iter()
            .find(|mail| mail.subject == VERIFICATION_SUBJECT)
        {
            return mail
                .body
                .split("token=")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == '<').next())
                .expect("a link with a token")
                .to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no verification mail for {address}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// The subjects of the mail to `address` about orders, reviews and messages, sorted. Left out:
/// the verification mail every e2e user gets, and the mail of cleared earnings, which any
/// scheduler run sends under `make test` (a clearance period of 0 days) at a moment no test
/// controls; the pipeline tests check that mail.
pub async fn subjects_to(address: &str) -> Vec<String> {
    crate::pipeline::subjects_to(address)
        .await
        .into_iter()
        .filter(|subject| subject != VERIFICATION_SUBJECT)
        .filter(|subject| !subject.ends_with(" is available to withdraw"))
        .collect()
}

/// An active gig of `freelancer_id`, put straight into the functions' table (a fixture, as the
/// order and messaging tests need one without going through review), and the SDK config used.
pub async fn active_gig_in_functions_table(freelancer_id: &str) -> (Gig, aws_config::SdkConfig) {
    let table =
        std::env::var("TABLE_NAME").expect("TABLE_NAME of the functions (make test sets it)");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), table);
    let gig = TestApp::active_gig(freelancer_id.parse().unwrap(), Revisions::Limited(1));
    store.create_gig(&gig).await.unwrap();
    (gig, config)
}

/// Waits until `address` has `count` mails (or the deadline passes) and returns their subjects.
pub async fn wait_for_mail(address: &str, count: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let subjects = subjects_to(address).await;
        if subjects.len() >= count || std::time::Instant::now() > deadline {
            return subjects;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

pub async fn wait_until_queue_is_drained(sqs: &aws_sdk_sqs::Client, queue_url: &str) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut empty_polls = 0;
    while empty_polls < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the bridge did not drain the queue"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        let count = |name| {
            attributes
                .get(&name)
                .and_then(|value| value.parse::<u64>().ok())
                .unwrap_or(0)
        };
        if count(QueueAttributeName::ApproximateNumberOfMessages) == 0
            && count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible) == 0
        {
            empty_polls += 1;
        } else {
            empty_polls = 0;
        }
    }
}
/// The functions' own store (`TABLE_NAME`, which `make test` gives watch too) and the SDK
/// configuration it was built from.
pub async fn functions_store() -> (Store, aws_config::SdkConfig) {
    let table =
        std::env::var("TABLE_NAME").expect("TABLE_NAME of the functions (make test sets it)");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    (
        Store::new(aws_sdk_dynamodb::Client::new(&config), table),
        config,
    )
}

/// An admin made outside the API, as `gigctl create-admin` makes admins, logged in through
/// watch; returns (user id, access token).
pub async fn admin_over_http(client: &reqwest::Client) -> (String, String) {
    let state = gigmarket_shared::web::AppState::from_env()
        .await
        .expect("the functions' configuration (make test sets it)");
    let email = format!("e2e-admin-{}@example.com", Uuid::new_v4().simple());
    let password = "an end-to-end admin password";
    secrets::remember(password);
    let admin = state
        .accounts()
        .create_user(
            email.clone(),
            password.to_owned(),
            "E2E admin".to_owned(),
            Role::Admin,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("admin created");
    let (status, _, login) = call(
        client,
        reqwest::Method::POST,
        "/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    (
        admin.id.to_string(),
        login["access_token"].as_str().unwrap().to_owned(),
    )
}

/// Invokes `function` with a raw event at watch's Lambda invoke endpoint (what `cargo lambda
/// invoke` calls): its result, or the invocation error's text.
pub async fn invoke(function: &str, event: &Value) -> anyhow::Result<Value> {
    bridge::invoke(&bridge::http_client(), &base_url(), function, event).await
}

/// Invokes an API function with an API Gateway request event; returns the response's status
/// and its body decoded as JSON.
pub async fn invoke_api(function: &str, event: &Value) -> (u16, Value) {
    if let Some(body) = event["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
    {
        secrets::remember_in(&body);
    }
    let response = invoke(function, event)
        .await
        .unwrap_or_else(|error| panic!("{function}: {error}"));
    let status = response["statusCode"]
        .as_u64()
        .unwrap_or_else(|| panic!("{function}: no statusCode in {response}"));
    let body = response["body"]
        .as_str()
        .and_then(|body| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null);
    secrets::remember_in(&body);
    (status as u16, body)
}

/// Reads the listing at `path` (a query string included) page by page as `token`, until an item
/// satisfies `wanted`; returns it, or `None` once the pages end.
pub async fn find_in_listing(
    client: &reqwest::Client,
    path: &str,
    token: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut cursor: Option<String> = None;
    loop {
        let page_path = match &cursor {
            Some(cursor) => format!("{path}{separator}cursor={cursor}"),
            None => path.to_owned(),
        };
        let (status, page) =
            call_with(client, reqwest::Method::GET, &page_path, token, &[], None).await;
        assert_eq!(status, 200, "{page_path}: {page}");
        if let Some(item) = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| wanted(item))
        {
            return Some(item.clone());
        }
        cursor = Some(page["next_cursor"].as_str()?.to_owned());
    }
}

/// Places an order for the basic package of `gig` as the client `token` (asserting 201) and
/// pays for it ([`pay_over_http`]); returns its id.
pub async fn place_order(client: &reqwest::Client, token: &str, gig: &Gig) -> String {
    let (status, placed) = call_with(
        client,
        reqwest::Method::POST,
        "/orders",
        token,
        &[("Idempotency-Key", &Uuid::new_v4().to_string())],
        Some(crate::fixtures::order_body(gig)),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    pay_over_http(client, token, &placed).await;
    placed["id"].as_str().unwrap().to_owned()
}

/// Pays for the order `placed` (a placement's answer) as the client's browser does, with a test
/// card that succeeds, and waits until Stripe's webhook delivery (through watch to `payments`)
/// has made it `pending`; panics if it never does.
pub async fn pay_over_http(client: &reqwest::Client, token: &str, placed: &Value) {
    pay_over_http_with(client, token, placed, crate::payments::CARD_OK).await
}

/// [`pay_over_http`] with the test card `card` (one whose payment succeeds).
pub async fn pay_over_http_with(client: &reqwest::Client, token: &str, placed: &Value, card: &str) {
    let client_secret = placed["payment"]["client_secret"]
        .as_str()
        .unwrap_or_else(|| panic!("a placement answers its client secret: {placed}"));
    // A client secret is `<intent id>_secret_<...>` (Stripe's documented form).
    let (intent_id, _) = client_secret
        .split_once("_secret_")
        .expect("a PaymentIntent client secret");
    let (status, body) = crate::payments::confirm_with(intent_id, card).await;
    assert!(
        status.is_success(),
        "confirm: {status} {}",
        String::from_utf8_lossy(&body)
    );
    let order_path = format!("/orders/{}", placed["id"].as_str().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let (status, order) =
            call_with(client, reqwest::Method::GET, &order_path, token, &[], None).await;
        assert_eq!(status, 200, "{order}");
        if order["status"] == "pending" {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook never reported the payment: {order}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// `POST /orders/{id}/<action>` as `token` (asserting 200); returns the order.
pub async fn order_step(
    client: &reqwest::Client,
    token: &str,
    order_id: &str,
    action: &str,
    body: Value,
) -> Value {
    let (status, order) = call_with(
        client,
        reqwest::Method::POST,
        &format!("/orders/{order_id}/{action}"),
        token,
        &[],
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{action}: {order}");
    order
}

/// The scheduler's run through watch, as its rule invokes it; returns its summary.
/// 2000-01-01: a deadline moved there is due whenever the scheduler runs next.
pub fn long_ago() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(946_684_800).expect("a valid time")
}

pub async fn run_scheduler() -> Value {
    invoke("scheduler", &bridge::scheduled_event("us-east-1"))
        .await
        .expect("the scheduler runs")
}

//! End to end over real HTTP through `cargo lambda watch` (started by `make test` with the
//! function router from Cargo.toml): register, read and edit the profile, refresh, log out.

use serde_json::{Value, json};
use uuid::Uuid;

fn base_url() -> String {
    std::env::var("GIGMARKET_API_URL")
        .expect("GIGMARKET_API_URL must point at `cargo lambda watch` (make test starts it)")
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value) {
    let mut request = client.request(method, format!("{}{path}", base_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
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
    (status, content_type, body)
}

#[tokio::test]
async fn account_lifecycle_through_cargo_lambda_watch() {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let email = format!("e2e-{}@example.com", Uuid::new_v4().simple());
    let password = "an end-to-end password";

    let (status, _, registered) = call(
        &client,
        Method::POST,
        "/auth/register",
        None,
        Some(json!({"email": email, "password": password, "name": "E2E", "role": "freelancer"})),
    )
    .await;
    assert_eq!(status, 201, "{registered}");
    let user_id = registered["user"]["id"].as_str().unwrap().to_owned();

    let (status, _, session) = call(
        &client,
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(status, 200);
    let access = session["access_token"].as_str().unwrap().to_owned();

    let (status, _, patched) = call(
        &client,
        Method::PATCH,
        "/me",
        Some(&access),
        Some(json!({"skills": ["Rust"], "country": "de"})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["country"], "DE");

    let (status, _, public) = call(
        &client,
        Method::GET,
        &format!("/users/{user_id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(public["skills"], json!(["Rust"]));
    assert!(public.get("email").is_none());

    let (status, content_type, problem) = call(
        &client,
        Method::PATCH,
        "/me",
        Some(&access),
        Some(json!({"country": 7})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(problem["errors"][0]["field"], "country");

    let refresh_token = session["refresh_token"].as_str().unwrap();
    let (status, _, rotated) = call(
        &client,
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh_token})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = call(
        &client,
        Method::POST,
        "/auth/logout",
        None,
        Some(json!({"refresh_token": rotated["refresh_token"]})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = call(
        &client,
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": rotated["refresh_token"]})),
    )
    .await;
    assert_eq!(status, 401);

    let (status, _, _) = call(&client, Method::GET, "/me", None, None).await;
    assert_eq!(status, 401);
}

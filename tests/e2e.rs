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

#[tokio::test]
async fn gig_publishing_and_browse_through_cargo_lambda_watch() {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let email = format!("e2e-gigs-{}@example.com", Uuid::new_v4().simple());
    let (status, _, registered) = call(
        &client,
        Method::POST,
        "/auth/register",
        None,
        Some(json!({"email": email, "password": "an end-to-end password", "name": "E2E", "role": "freelancer"})),
    )
    .await;
    assert_eq!(status, 201, "{registered}");
    let token = registered["access_token"].as_str().unwrap().to_owned();

    let (status, _, categories) = call(&client, Method::GET, "/categories", None, None).await;
    assert_eq!(status, 200);
    assert!(!categories["categories"].as_array().unwrap().is_empty());

    let word = format!("e2e{}", &Uuid::new_v4().simple().to_string()[..8]);
    let gig = json!({
        "title": format!("End to end {word} gig"),
        "description": "A gig created through cargo lambda watch.",
        "category": "programming-tech",
        "packages": [{"tier": "basic", "name": "Basic", "description": "One thing",
                      "price_cents": 1000, "currency": "EUR", "delivery_days": 2,
                      "revisions": 1, "features": []}]
    });
    let (status, _, created) = call(&client, Method::POST, "/gigs", Some(&token), Some(gig)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    // Review is required by default, so it is the owner's alone until approved.
    let (status, content_type, _) =
        call(&client, Method::GET, &format!("/gigs/{id}"), None, None).await;
    assert_eq!(status, 404);
    assert_eq!(content_type, "application/problem+json");
    let (status, _, mine) =
        call(&client, Method::GET, "/me/gigs?limit=5", Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(mine["items"][0]["id"], id.as_str());
    let (status, _, found) = call(
        &client,
        Method::GET,
        &format!("/gigs?q={word}&sort=price_asc&limit=5"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["items"], json!([]), "pending gigs are not browsable");
}

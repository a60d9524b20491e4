//! `auth` function: registration, login, throttling, refresh rotation and reuse detection,
//! logout, blocked accounts, and every way an access token can be bad.

use gigmarket_shared::domain::user::UserStatus;
use gigmarket_tests::{PASSWORD, TestApp, new_keyset};
use serde_json::json;
use uuid::Uuid;

fn unique_email() -> String {
    format!("user-{}@example.com", Uuid::new_v4().simple())
}

#[tokio::test]
async fn register_returns_a_session_and_never_the_password_hash() {
    let app = TestApp::new().await;
    let email = unique_email();
    let response = app
        .post(
            "/auth/register",
            &json!({"email": format!("  {}  ", email.to_uppercase()), "password": PASSWORD, "name": " Ann ", "role": "freelancer"}),
            None,
        )
        .await;
    assert_eq!(response.status, 201, "{response:?}");
    let body = &response.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(
        body["user"]["email"], email,
        "email is trimmed and lower-cased"
    );
    assert_eq!(body["user"]["name"], "Ann");
    assert_eq!(body["user"]["role"], "freelancer");
    let text = body.to_string();
    assert!(
        !text.contains("argon2") && !text.contains("password"),
        "no hash or password in {text}"
    );

    let me = app.get("/me", body["access_token"].as_str()).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["id"], body["user"]["id"]);
    assert!(!me.body.to_string().contains("argon2"));
}

#[tokio::test]
async fn duplicate_email_is_rejected_case_insensitively() {
    let app = TestApp::new().await;
    let first = app.register_client().await;
    let response = app
        .post(
            "/auth/register",
            &json!({"email": first.email.to_uppercase(), "password": PASSWORD, "name": "Eve", "role": "client"}),
            None,
        )
        .await;
    assert_eq!(response.status, 409);
    assert_eq!(response.problem(), "email-taken");
}

#[tokio::test]
async fn exactly_one_of_twenty_concurrent_registrations_wins() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let email = unique_email();
    let mut tasks = tokio::task::JoinSet::new();
    for attempt in 0..20 {
        let app = app.clone();
        let email = email.clone();
        tasks.spawn(async move {
            let body = json!({"email": email, "password": format!("{PASSWORD} {attempt}"), "name": "Racer", "role": "client"});
            let response = app.post("/auth/register", &body, None).await;
            (attempt, response)
        });
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    while let Some(result) = tasks.join_next().await {
        let (attempt, response) = result.unwrap();
        match response.status {
            201 => winners.push((attempt, response.body["user"]["id"].clone())),
            409 => {
                assert_eq!(response.problem(), "email-taken");
                conflicts += 1;
            }
            other => panic!("unexpected status {other}: {response:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner");
    assert_eq!(conflicts, 19);
    // The stored credentials belong to the winner: their password logs in, as that user.
    let (attempt, id) = winners.pop().unwrap();
    let login = app.login(&email, &format!("{PASSWORD} {attempt}")).await;
    assert_eq!(login.status, 200, "{login:?}");
    assert_eq!(login.body["user"]["id"], id);
}

#[tokio::test]
async fn admin_role_can_not_be_self_assigned() {
    let app = TestApp::new().await;
    let response = app
        .post(
            "/auth/register",
            &json!({"email": unique_email(), "password": PASSWORD, "name": "Mallory", "role": "admin"}),
            None,
        )
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.problem(), "validation-error");
    assert_eq!(response.error_fields(), vec!["role"]);

    let response = app
        .post(
            "/auth/register",
            &json!({"email": unique_email(), "password": PASSWORD, "name": "Mallory", "role": "superuser"}),
            None,
        )
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.error_fields(), vec!["role"]);
}

#[tokio::test]
async fn password_policy_reports_every_broken_rule_per_field() {
    let app = TestApp::new().await;
    let response = app
        .post(
            "/auth/register",
            &json!({"email": "not an email", "password": "short", "name": "", "role": "client"}),
            None,
        )
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.error_fields(), vec!["email", "name", "password"]);

    let email = unique_email();
    let response = app
        .post(
            "/auth/register",
            &json!({"email": email, "password": email, "name": "Ann", "role": "client"}),
            None,
        )
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.body["errors"][0]["code"], "contains_email");
}

#[tokio::test]
async fn login_failures_look_the_same_for_unknown_email_and_wrong_password() {
    let app = TestApp::new().await;
    let user = app.register_client().await;

    let ok = app.login(&user.email.to_uppercase(), PASSWORD).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["user"]["id"], user.id.to_string());

    let wrong_password = app.login(&user.email, "wrong password here").await;
    let unknown_email = app.login(&unique_email(), PASSWORD).await;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(unknown_email.status, 401);
    assert_eq!(wrong_password.body, unknown_email.body);
}

#[tokio::test]
async fn repeated_login_failures_are_throttled_per_email() {
    let app = TestApp::new().await;
    gigmarket_tests::wait_unless_well_inside_the_clock_window(
        app.state.config.login_failure_window,
    )
    .await;
    let user = app.register_client().await;
    let other = app.register_client().await;
    for _ in 0..5 {
        assert_eq!(
            app.login(&user.email, "wrong password here").await.status,
            401
        );
    }
    // Even the right password is refused now: the window is for the account, not the guess.
    let throttled = app.login(&user.email, PASSWORD).await;
    assert_eq!(throttled.status, 429, "{throttled:?}");
    assert_eq!(throttled.problem(), "rate-limited");
    let retry_after: u64 = throttled
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(
        (1..=900).contains(&retry_after),
        "retry after {retry_after}"
    );
    // Other accounts are unaffected.
    assert_eq!(app.login(&other.email, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let app = TestApp::new().await;
    let user = app.register_freelancer().await;

    let first = app
        .post(
            "/auth/refresh",
            &json!({"refresh_token": user.refresh_token}),
            None,
        )
        .await;
    assert_eq!(first.status, 200, "{first:?}");
    let rotated = first.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, user.refresh_token);
    assert_eq!(
        app.get("/me", first.body["access_token"].as_str())
            .await
            .status,
        200
    );

    let second = app
        .post("/auth/refresh", &json!({"refresh_token": rotated}), None)
        .await;
    assert_eq!(second.status, 200);
    let latest = second.body["refresh_token"].as_str().unwrap().to_owned();

    // Someone replays the first (spent) token: refused, and the family is revoked...
    let replay = app
        .post(
            "/auth/refresh",
            &json!({"refresh_token": user.refresh_token}),
            None,
        )
        .await;
    assert_eq!(replay.status, 401);
    assert_eq!(replay.problem(), "unauthorized");
    // ...so even the legitimate latest token no longer works.
    let after = app
        .post("/auth/refresh", &json!({"refresh_token": latest}), None)
        .await;
    assert_eq!(after.status, 401);

    // Another session of the same user is a different family and keeps working.
    let other_session = app.login(&user.email, PASSWORD).await;
    let token = other_session.body["refresh_token"].as_str().unwrap();
    assert_eq!(
        app.post("/auth/refresh", &json!({"refresh_token": token}), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn logout_revokes_the_session_and_is_idempotent() {
    let app = TestApp::new().await;
    let user = app.register_client().await;
    let body = json!({"refresh_token": user.refresh_token});
    let logout = app.post("/auth/logout", &body, None).await;
    assert_eq!(logout.status, 204);
    assert_eq!(app.post("/auth/refresh", &body, None).await.status, 401);
    assert_eq!(app.post("/auth/logout", &body, None).await.status, 204);
    assert_eq!(
        app.post("/auth/logout", &json!({"refresh_token": "unknown"}), None)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn expired_refresh_tokens_are_refused() {
    let app =
        TestApp::with_config(|config| config.refresh_token_ttl = std::time::Duration::ZERO).await;
    let user = app.register_client().await;
    let response = app
        .post(
            "/auth/refresh",
            &json!({"refresh_token": user.refresh_token}),
            None,
        )
        .await;
    assert_eq!(response.status, 401);
}

#[tokio::test]
async fn blocked_users_can_neither_log_in_nor_refresh() {
    let app = TestApp::new().await;
    let user = app.register_freelancer().await;
    app.set_user_status(user.id, UserStatus::Blocked).await;
    // The right password of a blocked account reads exactly as a wrong one: a guesser learns
    // nothing (only the request's own id differs).
    let login = app.login(&user.email, PASSWORD).await;
    let wrong = app.login(&user.email, "not the password at all").await;
    assert_eq!(login.status, 401, "{login:?}");
    let without_instance = |body: &serde_json::Value| {
        let mut body = body.clone();
        body.as_object_mut().unwrap().remove("instance");
        body
    };
    assert_eq!(without_instance(&login.body), without_instance(&wrong.body));
    assert_eq!(
        login.header("www-authenticate"),
        wrong.header("www-authenticate")
    );
    let refresh = app
        .post(
            "/auth/refresh",
            &json!({"refresh_token": user.refresh_token}),
            None,
        )
        .await;
    assert_eq!(refresh.status, 403);
    // Unblocking does not resurrect the session the block revoked.
    app.set_user_status(user.id, UserStatus::Active).await;
    let refresh = app
        .post(
            "/auth/refresh",
            &json!({"refresh_token": user.refresh_token}),
            None,
        )
        .await;
    assert_eq!(refresh.status, 401);
    assert_eq!(app.login(&user.email, PASSWORD).await.status, 200);
}

fn claims(app: &TestApp, user_id: Uuid, exp_offset: i64) -> serde_json::Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let _ = app;
    json!({
        "sub": user_id, "role": "client", "iss": "gigmarket", "aud": "gigmarket-api",
        "iat": now, "exp": now + exp_offset, "jti": Uuid::new_v4(),
        "sid": Uuid::new_v4(), "session_started_ms": now * 1000
    })
}

/// HS256 over `claims` keyed with `secret`: what a verifier that let the token pick its
/// algorithm would accept with the public key as the HMAC key.
fn hs256(claims: &serde_json::Value, kid: &str, secret: &[u8]) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

#[tokio::test]
async fn bad_access_tokens_are_all_401() {
    let app = TestApp::new().await;
    let user = app.register_client().await;
    let kid = app.signing_keyset.active_kid.clone();
    let secret = app.seed();

    // Baseline: a token we sign ourselves with the right key and claims is accepted.
    let good = app.sign(&claims(&app, user.id, 300), &kid, &secret);
    assert_eq!(app.get("/me", Some(&good)).await.status, 200);

    let mut bad_tokens = Vec::new();
    // Tampered: flip the payload's role, keep the signature.
    let (header, rest) = user.access_token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let forged_payload = engine.encode(
        claims(&app, user.id, 300)
            .to_string()
            .replace("client", "admin"),
    );
    bad_tokens.push(("tampered", format!("{header}.{forged_payload}.{signature}")));
    // Expired (beyond the 5 s leeway).
    bad_tokens.push((
        "expired",
        app.sign(&claims(&app, user.id, -60), &kid, &secret),
    ));
    // alg none, unsigned.
    let none_header = engine.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let payload = engine.encode(claims(&app, user.id, 300).to_string());
    bad_tokens.push(("alg none", format!("{none_header}.{payload}.")));
    // Algorithm confusion: HS256 keyed with our public key (which every function holds).
    bad_tokens.push((
        "HS256 with the public key",
        hs256(&claims(&app, user.id, 300), &kid, &app.public_key(&kid)),
    ));
    // Signed with another key under our kid, and with an unknown kid.
    let (other, _) = new_keyset("other");
    let other_secret = engine.decode(&other.keys["other"]).unwrap();
    bad_tokens.push((
        "wrong key",
        app.sign(&claims(&app, user.id, 300), &kid, &other_secret),
    ));
    bad_tokens.push((
        "unknown kid",
        app.sign(&claims(&app, user.id, 300), "other", &secret),
    ));
    // Wrong issuer and audience.
    let mut wrong_issuer = claims(&app, user.id, 300);
    wrong_issuer["iss"] = json!("someone-else");
    bad_tokens.push(("wrong issuer", app.sign(&wrong_issuer, &kid, &secret)));
    let mut wrong_audience = claims(&app, user.id, 300);
    wrong_audience["aud"] = json!("another-api");
    bad_tokens.push(("wrong audience", app.sign(&wrong_audience, &kid, &secret)));
    bad_tokens.push(("garbage", "not.a.jwt".to_owned()));

    for (what, token) in bad_tokens {
        let response = app.get("/me", Some(&token)).await;
        assert_eq!(
            response.status, 401,
            "{what} token must be refused: {response:?}"
        );
        assert_eq!(response.problem(), "unauthorized", "{what}");
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    }
    let missing = app.get("/me", None).await;
    assert_eq!(missing.status, 401);
    let basic = app
        .send(gigmarket_tests::RawRequest::new("GET", "/me").header("authorization", "Basic abc"))
        .await;
    assert_eq!(basic.status, 401);
}

/// An email longer than any account's is refused before the store is asked (its throttle key
/// would exceed DynamoDB's key size: this was a 500).
#[tokio::test]
async fn login_with_an_overlong_email_is_400_naming_the_field() {
    let app = TestApp::new().await;
    let email = format!("{}@example.com", "a".repeat(3000));
    let response = app.login(&email, PASSWORD).await;
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(response.error_fields(), vec!["email"]);
    assert_eq!(response.body["errors"][0]["code"], "too_long");
}

//! Sessions that end when they should: only `auth` can mint access tokens; a password change or
//! reset, a logout of one session or of every session end the writes of the access tokens
//! issued before (not only their refresh tokens); a reset token dies with any password change;
//! sessions have an absolute lifetime besides the sliding one.

use gigmarket_shared::auth::refresh::refresh_token_digest;
use gigmarket_shared::domain::account_token::TokenPurpose;
use gigmarket_shared::domain::user::{Role, SessionRef};
use gigmarket_tests::{PASSWORD, Session, TestApp, TestResponse};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

const NEW_PASSWORD: &str = "a brand new long password";

/// A second session of `user`'s account (another device).
async fn second_session(app: &TestApp, user: &Session) -> Session {
    let login = app.login(&user.email, PASSWORD).await;
    assert_eq!(login.status, 200, "{login:?}");
    Session::from_body(&login.body, user.email.clone())
}

async fn logout(app: &TestApp, session: &Session, everywhere: bool) -> TestResponse {
    app.post(
        "/auth/logout",
        &json!({"refresh_token": session.refresh_token, "everywhere": everywhere}),
        None,
    )
    .await
}

async fn refresh(app: &TestApp, refresh_token: &str) -> TestResponse {
    app.refresh(refresh_token).await
}

async fn change_password(app: &TestApp, session: &Session, new_password: &str) -> TestResponse {
    app.post(
        "/auth/password/change",
        &json!({"current_password": PASSWORD, "new_password": new_password}),
        Some(&session.access_token),
    )
    .await
}

async fn reset_password(app: &TestApp, token: &str, password: &str) -> TestResponse {
    app.post(
        "/auth/password/reset",
        &json!({"token": token, "password": password}),
        None,
    )
    .await
}

/// A write through a single-item update (`PATCH /me`).
async fn edit_profile(app: &TestApp, session: &Session) -> TestResponse {
    app.patch(
        "/me",
        &json!({"bio": format!("edited {}", Uuid::new_v4())}),
        Some(&session.access_token),
    )
    .await
}

/// A write through a transaction (`POST /realtime/tickets`).
async fn take_ticket(app: &TestApp, session: &Session) -> TestResponse {
    app.post("/realtime/tickets", &json!({}), Some(&session.access_token))
        .await
}

/// Both kinds of write are refused as an ended session (401), and reads still answer.
async fn assert_session_ended(app: &TestApp, session: &Session) {
    for (what, response) in [
        ("PATCH /me", edit_profile(app, session).await),
        ("POST /realtime/tickets", take_ticket(app, session).await),
    ] {
        assert_eq!(response.status, 401, "{what}: {response:?}");
        assert_eq!(response.problem(), "unauthorized", "{what}");
    }
    assert_eq!(
        app.get("/me", Some(&session.access_token)).await.status,
        200
    );
}

async fn assert_session_writes(app: &TestApp, session: &Session) {
    let edited = edit_profile(app, session).await;
    assert_eq!(edited.status, 200, "{edited:?}");
    let ticket = take_ticket(app, session).await;
    assert_eq!(ticket.status, 201, "{ticket:?}");
}

#[tokio::test]
async fn only_auth_holds_the_signing_key_and_the_others_verify_its_tokens() {
    let app = TestApp::new().await;
    let user = app.register_client().await;
    // Every other function's state verifies auth's token...
    let claims = app
        .verifying_state
        .tokens
        .verify(&user.access_token)
        .expect("auth's token verifies with the public keys alone");
    assert_eq!(claims.sub, user.id);
    // ...and can not issue one, for anyone.
    let session = SessionRef {
        id: Uuid::new_v4(),
        started_ms: 0,
    };
    assert!(
        app.verifying_state
            .tokens
            .issue(user.id, Role::Admin, session)
            .is_err()
    );
    // Nothing of the signing key is in what they hold: the verifying keyset is public keys of
    // 32 bytes and the cursor key.
    let document = serde_json::to_value(&app.keyset).unwrap();
    assert_eq!(
        document.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["cursor_key", "keys"]
    );
    for public in app.keyset.keys.values() {
        assert!(!app.signing_keyset.keys.values().any(|seed| seed == public));
    }
}

#[tokio::test]
async fn a_password_change_ends_the_writes_of_every_other_sessions_access_token() {
    let app = TestApp::new().await;
    let user = app.register_client().await;
    let other_device = second_session(&app, &user).await;
    assert_session_writes(&app, &other_device).await;

    let changed = change_password(&app, &user, NEW_PASSWORD).await;
    assert_eq!(changed.status, 200, "{changed:?}");

    assert_session_ended(&app, &other_device).await;
    assert_session_ended(&app, &user).await;
    // The session the change answered with writes, at once.
    let current = Session::from_body(&changed.body, user.email.clone());
    assert_session_writes(&app, &current).await;
}

#[tokio::test]
async fn logout_ends_this_sessions_access_token_and_no_other() {
    let app = TestApp::new().await;
    let user = app.register_client().await;
    let other_device = second_session(&app, &user).await;

    let ended = logout(&app, &user, false).await;
    assert_eq!(ended.status, 204, "{ended:?}");
    assert_session_ended(&app, &user).await;
    assert_session_writes(&app, &other_device).await;

    // A second logout, of the other session, keeps the first ended.
    let ended = logout(&app, &other_device, false).await;
    assert_eq!(ended.status, 204);
    assert_session_ended(&app, &other_device).await;
    assert_session_ended(&app, &user).await;
    // A new login writes.
    let fresh = second_session(&app, &user).await;
    assert_session_writes(&app, &fresh).await;
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_and_its_access_tokens() {
    let app = TestApp::new().await;
    let user = app.register_client().await;
    let other_device = second_session(&app, &user).await;

    let ended = logout(&app, &user, true).await;
    assert_eq!(ended.status, 204, "{ended:?}");
    assert_session_ended(&app, &user).await;
    assert_session_ended(&app, &other_device).await;
    let refreshed = refresh(&app, &other_device.refresh_token).await;
    assert_eq!(refreshed.status, 401, "{refreshed:?}");
    let fresh = second_session(&app, &user).await;
    assert_session_writes(&app, &fresh).await;
}

#[tokio::test]
async fn a_password_reset_ends_the_writes_of_every_access_token() {
    let app = TestApp::new().await;
    let user = app.register_client().await;
    let mail = reset_mail(&app, &user).await;
    let reset = reset_password(&app, &mail, NEW_PASSWORD).await;
    assert_eq!(reset.status, 204, "{reset:?}");
    assert_session_ended(&app, &user).await;
}

/// A reset token's plaintext, as the mail would carry it.
async fn reset_mail(app: &TestApp, user: &Session) -> String {
    let stored = app
        .state
        .store
        .get_user(user.id)
        .await
        .unwrap()
        .expect("user");
    app.state
        .accounts()
        .issue_token(
            &stored,
            TokenPurpose::PasswordReset,
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("token issued")
        .token
}

#[tokio::test]
async fn a_reset_token_dies_when_the_password_changes_by_any_route() {
    let app = TestApp::new().await;
    let user = app.register_client().await;

    // Changed with the current password: the reset mailed before is dead.
    let before_change = reset_mail(&app, &user).await;
    let changed = change_password(&app, &user, NEW_PASSWORD).await;
    assert_eq!(changed.status, 200, "{changed:?}");
    let late = reset_password(&app, &before_change, "yet another long password").await;
    assert_eq!(late.status, 400, "{late:?}");
    assert_eq!(late.problem(), "invalid-token");
    assert_eq!(app.login(&user.email, NEW_PASSWORD).await.status, 200);

    // Changed by another reset: the other mail is dead too.
    let first = reset_mail(&app, &user).await;
    let second = reset_mail(&app, &user).await;
    let used = reset_password(&app, &second, "the reset password one").await;
    assert_eq!(used.status, 204, "{used:?}");
    let other = reset_password(&app, &first, "the reset password two").await;
    assert_eq!(other.status, 400, "{other:?}");
    assert_eq!(other.problem(), "invalid-token");
    assert_eq!(
        app.login(&user.email, "the reset password one")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_often_it_refreshes() {
    // A refresh token lives 30 days unused, a session one hour from its login.
    let app = TestApp::with_config(|config| {
        config.session_max_age = std::time::Duration::from_secs(3600);
    })
    .await;
    let user = app.register_client().await;
    let started = OffsetDateTime::now_utc().unix_timestamp();
    let refreshed = refresh(&app, &user.refresh_token).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let next = refreshed.body["refresh_token"].as_str().unwrap();
    let stored = app
        .state
        .store
        .refresh_token(&refresh_token_digest(next))
        .await
        .unwrap()
        .expect("the rotated token");
    assert!(
        stored.expires_at <= started + 3600,
        "the rotated token outlives its session: {} > {}",
        stored.expires_at,
        started + 3600
    );

    // A session past its absolute lifetime refreshes no more.
    let expired = TestApp::with_config(|config| {
        config.session_max_age = std::time::Duration::ZERO;
    })
    .await;
    let user = expired.register_client().await;
    let refused = refresh(&expired, &user.refresh_token).await;
    assert_eq!(refused.status, 401, "{refused:?}");
}

/// The keysets the stack's custom resource makes (infra/jwt-keyset/index.py, which
/// scripts/stack.sh runs for the local stack) are what the functions load: the signing key's
/// public key is the verifying keyset's, and a token signed with one verifies with the other.
#[tokio::test]
async fn the_keysets_the_custom_resource_makes_sign_and_verify() {
    use gigmarket_shared::auth::{JwtKeys, JwtSigningKeys, TokenIssuer};
    gigmarket_tests::require_stack();
    let read = |variable: &str| {
        let path = std::env::var(variable).unwrap_or_else(|_| {
            panic!("{variable} (scripts/stack.sh start, source scripts/env.sh)")
        });
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    };
    let keys = JwtKeys::from_json(&read("JWT_KEYS_FILE")).expect("the verifying keyset loads");
    let signing = JwtSigningKeys::from_json(&read("JWT_SIGNING_KEYS_FILE"))
        .expect("the signing keyset loads");
    let ttl = std::time::Duration::from_secs(60);
    let verifier = TokenIssuer::new(keys, "gigmarket", "gigmarket-api", ttl);
    let issuer = verifier
        .clone()
        .with_signing_keys(signing)
        .expect("the signing key's public key is in the verifying keyset");
    let user = Uuid::new_v4();
    let session = SessionRef {
        id: Uuid::new_v4(),
        started_ms: 1,
    };
    let token = issuer.issue(user, Role::Freelancer, session).unwrap();
    assert_eq!(verifier.verify(&token).unwrap().sub, user);
}

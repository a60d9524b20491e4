//! `users` function: own profile, profile edits with per-field validation, public profiles.

use gigmarket_shared::domain::user::UserStatus;
use gigmarket_tests::TestApp;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn me_shows_the_private_profile() {
    let app = TestApp::new().await;
    let user = app.register_freelancer().await;
    let me = app.get("/me", Some(&user.access_token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], user.email);
    assert_eq!(me.body["role"], "freelancer");
    assert_eq!(me.body["status"], "active");
    assert_eq!(me.body["rating"], json!({"average": null, "count": 0}));
}

#[tokio::test]
async fn patch_me_updates_normalises_and_clears_fields() {
    let app = TestApp::new().await;
    let user = app.register_freelancer().await;
    let token = Some(user.access_token.as_str());
    let patched = app
        .patch(
            "/me",
            &json!({
                "name": "  Frida Kahlo ", "bio": "I paint.", "skills": ["Painting", "painting", "Design"],
                "country": "mx", "avatar_url": "https://cdn.example.com/frida.png"
            }),
            token,
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(patched.body["name"], "Frida Kahlo");
    assert_eq!(patched.body["skills"], json!(["Painting", "Design"]));
    assert_eq!(patched.body["country"], "MX");

    // The change is stored, not just echoed.
    let me = app.get("/me", token).await;
    assert_eq!(me.body["bio"], "I paint.");
    assert_eq!(me.body["avatar_url"], "https://cdn.example.com/frida.png");

    // null clears; absent fields stay.
    let cleared = app
        .patch("/me", &json!({"bio": null, "avatar_url": null}), token)
        .await;
    assert_eq!(cleared.status, 200);
    assert_eq!(cleared.body["bio"], json!(null));
    assert_eq!(cleared.body["avatar_url"], json!(null));
    assert_eq!(cleared.body["country"], "MX");

    // An empty patch changes nothing.
    let unchanged = app.patch("/me", &json!({}), token).await;
    assert_eq!(unchanged.status, 200);
    assert_eq!(unchanged.body["name"], "Frida Kahlo");
}

#[tokio::test]
async fn patch_me_rejects_bad_values_per_field_and_changes_nothing() {
    let app = TestApp::new().await;
    let user = app.register_client().await;
    let token = Some(user.access_token.as_str());
    let too_many_skills: Vec<String> = (0..21).map(|i| format!("skill {i}")).collect();
    let response = app
        .patch(
            "/me",
            &json!({
                "name": "", "bio": "x".repeat(2001), "skills": too_many_skills,
                "country": "Narnia", "avatar_url": "javascript:alert(1)"
            }),
            token,
        )
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.problem(), "validation-error");
    assert_eq!(
        response.error_fields(),
        vec!["avatar_url", "bio", "country", "name", "skills"]
    );

    let me = app.get("/me", token).await;
    assert_eq!(me.body["name"], "Test client", "nothing was written");

    // Fields that are not editable are unknown fields, not silently ignored.
    for body in [
        json!({"role": "admin"}),
        json!({"email": "x@example.com"}),
        json!({"status": "active"}),
    ] {
        let response = app.patch("/me", &body, token).await;
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(response.body["errors"][0]["code"], "unknown_field");
    }
    assert_eq!(app.get("/me", token).await.body["role"], "client");
}

#[tokio::test]
async fn public_profiles_hide_private_fields() {
    let app = TestApp::new().await;
    let freelancer = app.register_freelancer().await;
    app.patch(
        "/me",
        &json!({"bio": "Hello", "skills": ["Rust"]}),
        Some(&freelancer.access_token),
    )
    .await;
    let other = app.register_client().await;

    for token in [None, Some(other.access_token.as_str())] {
        let profile = app.get(&format!("/users/{}", freelancer.id), token).await;
        assert_eq!(profile.status, 200);
        let body = profile.body.as_object().unwrap();
        let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                "avatar_url",
                "bio",
                "buyer_rating",
                "country",
                "id",
                "member_since",
                "name",
                "rating",
                "role",
                "seller_rating",
                "skills"
            ]
        );
        assert_eq!(body["rating"], json!({"average": null, "count": 0}));
        assert!(!profile.body.to_string().contains(&freelancer.email));
    }
}

#[tokio::test]
async fn unknown_malformed_and_blocked_profiles_are_404() {
    let app = TestApp::new().await;
    let unknown = app.get(&format!("/users/{}", Uuid::new_v4()), None).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.problem(), "not-found");
    assert_eq!(app.get("/users/not-a-uuid", None).await.status, 404);

    let user = app.register_freelancer().await;
    app.set_user_status(user.id, UserStatus::Blocked).await;
    assert_eq!(
        app.get(&format!("/users/{}", user.id), None).await.status,
        404
    );
}

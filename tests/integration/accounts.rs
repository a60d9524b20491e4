//! Login and registration throttles that hold under concurrency
//! and can not be turned on a victim, idempotency keys reused past their expiry, and orders that
//! refuse a price the client never saw.

use std::sync::Arc;

use gigmarket_shared::app::accounts::password_verifications;
use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::domain::quota::Window;
use gigmarket_shared::store::throttle::Throttle;
use gigmarket_tests::fixtures::order_body;
use gigmarket_tests::{PASSWORD, RawRequest, TestApp, TestResponse};
use serde_json::json;
use uuid::Uuid;

const WRONG: &str = "wrong password here";
const ATTACKER: &str = "203.0.113.9";

async fn login_from(app: &TestApp, email: &str, password: &str, address: &str) -> TestResponse {
    app.send(
        RawRequest::new("POST", "/auth/login")
            .from_address(address)
            .json(&json!({"email": email, "password": password})),
    )
    .await
}

async fn refresh(app: &TestApp, refresh_token: &str) -> TestResponse {
    app.refresh(refresh_token).await
}

async fn register_from(app: &TestApp, address: &str) -> TestResponse {
    let email = format!("user-{}@example.com", Uuid::new_v4().simple());
    app.send(
        RawRequest::new("POST", "/auth/register")
            .from_address(address)
            .json(&json!({"email": email, "password": PASSWORD, "name": "Ann", "role": "client"})),
    )
    .await
}

#[tokio::test]
async fn two_hundred_concurrent_bad_logins_reach_password_verification_at_most_the_limit() {
    // One window for the whole test (a year long), so a fixed-window boundary can never fall
    // between the guesses and legitimately grant a second budget.
    let app = Arc::new(
        TestApp::with_config(|config| {
            config.login_failure_window = std::time::Duration::from_secs(365 * 24 * 3600)
        })
        .await,
    );
    let limit = app.state.config.login_max_failures;
    let victim = app.register_client().await;
    let verifications_before = password_verifications();

    // 200 guesses at once from one address: its bucket for the account must hold however many
    // arrive together.
    let mut tasks = tokio::task::JoinSet::new();
    for attempt in 0..200u32 {
        let app = app.clone();
        let email = victim.email.clone();
        tasks.spawn(async move {
            login_from(&app, &email, &format!("{WRONG} {attempt}"), ATTACKER).await
        });
    }
    let (mut unauthorized, mut throttled, mut unavailable) = (0, 0, 0);
    while let Some(response) = tasks.join_next().await {
        let response = response.unwrap();
        match response.status {
            401 => unauthorized += 1,
            429 => {
                assert_eq!(response.problem(), "rate-limited");
                assert!(response.header("retry-after").is_some());
                throttled += 1;
            }
            // DynamoDB Local can time out under 200 concurrent requests on a busy machine: that
            // is the 503 the store maps timeouts to, an answer the throttle's bound must survive.
            503 => {
                assert_eq!(response.problem(), "service-unavailable");
                unavailable += 1;
            }
            other => panic!("unexpected {other}: {response:?}"),
        }
    }
    let verified = password_verifications() - verifications_before;
    assert!(
        verified <= u64::from(limit),
        "{verified} guesses reached password verification; the limit is {limit}"
    );
    assert!(
        (1..=limit).contains(&unauthorized),
        "only verified guesses answer 401: {unauthorized}"
    );
    assert_eq!(unauthorized + throttled + unavailable, 200);
    // Added up rather than subtracted: with many 503s (DynamoDB Local timing out on a busy
    // machine) `200 - limit - unavailable` would underflow.
    assert!(
        throttled + unavailable + limit >= 200,
        "{throttled} throttled"
    );
    let window = Window::containing(
        time::OffsetDateTime::now_utc().unix_timestamp(),
        app.state.config.login_failure_window.as_secs(),
    );
    let stored = app
        .state
        .store
        .reserved_attempts(
            Throttle::LoginToEmailFromAddress {
                email: &victim.email,
                source_ip: ATTACKER,
            },
            window,
        )
        .await
        .unwrap();
    assert!(
        (unauthorized..=limit).contains(&stored),
        "the stored counter ({stored}) never passes the limit and counts every verified guess"
    );
}

/// Failures from one address lock only that address out of the account: the owner signs in
/// from an address they never used (a new device, a new account), and guessing from any one
/// address stays limited.
#[tokio::test]
async fn failures_from_elsewhere_never_lock_the_owner_out_even_from_a_new_address() {
    let app = TestApp::new().await;
    gigmarket_tests::wait_unless_well_inside_the_clock_window(
        app.state.config.login_failure_window,
    )
    .await;
    let owner = app.register_client().await;

    // An attacker uses up the account's budget from their own address.
    for _ in 0..app.state.config.login_max_failures {
        assert_eq!(
            login_from(&app, &owner.email, WRONG, ATTACKER).await.status,
            401
        );
    }
    // From the attacker's address even the right password waits now...
    let attacker = login_from(&app, &owner.email, PASSWORD, ATTACKER).await;
    assert_eq!(attacker.status, 429, "{attacker:?}");
    assert!(attacker.header("retry-after").is_some());
    // ...but the owner, from an address that never signed in to the account, gets in.
    let owner_login = login_from(&app, &owner.email, PASSWORD, "192.0.2.1").await;
    assert_eq!(owner_login.status, 200, "{owner_login:?}");
    assert_eq!(owner_login.body["user"]["id"], owner.id.to_string());

    // Each address has the same limit of its own: guessing from the owner's is no easier.
    let home = "198.51.100.7";
    for _ in 0..app.state.config.login_max_failures {
        assert_eq!(
            login_from(&app, &owner.email, WRONG, home).await.status,
            401
        );
    }
    assert_eq!(
        login_from(&app, &owner.email, PASSWORD, home).await.status,
        429
    );
}

#[tokio::test]
async fn successful_logins_do_not_use_up_the_budget() {
    let app = TestApp::new().await;
    let user = app.register_client().await;
    let limit = app.state.config.login_max_failures;
    for _ in 0..limit + 3 {
        assert_eq!(
            login_from(&app, &user.email, PASSWORD, "192.0.2.50")
                .await
                .status,
            200
        );
    }
    // All of the budget is still there for a mistyped password and a retry.
    for _ in 0..limit - 1 {
        assert_eq!(
            login_from(&app, &user.email, WRONG, "192.0.2.51")
                .await
                .status,
            401
        );
    }
    assert_eq!(
        login_from(&app, &user.email, PASSWORD, "192.0.2.51")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn logins_are_limited_per_source_address_across_emails() {
    let app = TestApp::with_config(|config| config.login_max_attempts_per_address = 3).await;
    gigmarket_tests::wait_unless_well_inside_the_clock_window(
        app.state.config.login_failure_window,
    )
    .await;
    let user = app.register_client().await;
    let sprayer = "203.0.113.77";
    for attempt in 0..3 {
        let email = format!("nobody-{attempt}@example.com");
        assert_eq!(login_from(&app, &email, WRONG, sprayer).await.status, 401);
    }
    let refused = login_from(&app, &user.email, PASSWORD, sprayer).await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert!(refused.body["detail"].as_str().unwrap().contains("address"));
    assert_eq!(
        login_from(&app, &user.email, PASSWORD, "203.0.113.78")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn registrations_are_limited_per_source_address() {
    let app = TestApp::with_config(|config| config.registrations_per_address = 2).await;
    gigmarket_tests::wait_unless_well_inside_the_clock_window(app.state.config.registration_window)
        .await;
    let address = "198.51.100.20";
    // Invalid requests are refused before the throttle and use none of the budget.
    let invalid = app
        .send(
            RawRequest::new("POST", "/auth/register")
                .from_address(address)
                .json(&json!({"email": "nope", "password": "x", "name": "", "role": "client"})),
        )
        .await;
    assert_eq!(invalid.status, 400);
    assert_eq!(register_from(&app, address).await.status, 201);
    assert_eq!(register_from(&app, address).await.status, 201);
    let refused = register_from(&app, address).await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.problem(), "rate-limited");
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(register_from(&app, "198.51.100.21").await.status, 201);
}

#[tokio::test]
async fn registration_signs_in_with_a_working_session() {
    let app = TestApp::new().await;
    let user = app.register_freelancer().await;
    let refreshed = refresh(&app, &user.refresh_token).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
}

#[tokio::test]
async fn an_idempotency_key_reused_after_its_record_expired_places_a_new_order() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(2))
        .await;
    let body = order_body(&gig);
    let first = app
        .place_order_with_key(&cast.client, "reused-key", &body)
        .await;
    assert_eq!(first.status, 201, "{first:?}");

    // A day later the record is past its expiry, but DynamoDB's lazy TTL has not deleted it.
    let yesterday = time::OffsetDateTime::now_utc().unix_timestamp() - 60;
    app.state
        .store
        .age_idempotency_record(cast.client.id, "reused-key", yesterday)
        .await
        .unwrap();

    let second = app
        .place_order_with_key(&cast.client, "reused-key", &body)
        .await;
    assert_eq!(second.status, 201, "a new order, not a 500: {second:?}");
    assert_ne!(second.body["id"], first.body["id"]);
    // The replaced record now answers replays with the new order.
    let replay = app
        .place_order_with_key(&cast.client, "reused-key", &body)
        .await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.body["id"], second.body["id"]);
}

#[tokio::test]
async fn an_order_at_a_price_the_client_did_not_see_is_refused_with_the_current_price() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(2))
        .await;
    let order = |expected: u64| {
        json!({"gig_id": gig.id, "package": "basic", "requirements": "Blue, please.",
               "expected_price_cents": expected, "currency": "EUR"})
    };
    let stale = app
        .place_order_with_key(&cast.client, &Uuid::new_v4().to_string(), &order(4_000))
        .await;
    assert_eq!(stale.status, 409, "{stale:?}");
    assert_eq!(stale.problem(), "price-changed");
    assert_eq!(stale.body["current_price_cents"], 5_000);
    assert_eq!(app.gig(gig.id).await.order_count, 0, "nothing placed");

    let current = app
        .place_order_with_key(&cast.client, &Uuid::new_v4().to_string(), &order(5_000))
        .await;
    assert_eq!(current.status, 201, "{current:?}");
    assert_eq!(current.body["price_cents"], 5_000);
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_and_keeps_the_callers() {
    let app = TestApp::new().await;
    let user = app.register_client().await;
    let other_device = app.login(&user.email, PASSWORD).await;
    assert_eq!(other_device.status, 200);
    let other_refresh = other_device.body["refresh_token"].as_str().unwrap();
    let new_password = "a brand new long password";

    let changed = app
        .post(
            "/auth/password/change",
            &json!({"current_password": PASSWORD, "new_password": new_password}),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.body["user"]["id"], user.id.to_string());

    // Both earlier sessions are over; the one the change answered with works.
    for revoked in [user.refresh_token.as_str(), other_refresh] {
        let refreshed = refresh(&app, revoked).await;
        assert_eq!(refreshed.status, 401, "{refreshed:?}");
    }
    let current = changed.body["refresh_token"].as_str().unwrap();
    let refreshed = refresh(&app, current).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    // ...and keeps working after rotation.
    let rotated = refreshed.body["refresh_token"].as_str().unwrap();
    let again = refresh(&app, rotated).await;
    assert_eq!(again.status, 200, "{again:?}");

    assert_eq!(app.login(&user.email, PASSWORD).await.status, 401);
    assert_eq!(app.login(&user.email, new_password).await.status, 200);
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_a_valid_new_one() {
    let app = TestApp::new().await;
    let user = app.register_freelancer().await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let wrong = app
        .post(
            "/auth/password/change",
            &change("not my password", "a brand new long password"),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(wrong.status, 400, "{wrong:?}");
    assert_eq!(wrong.error_fields(), ["current_password"]);
    let short = app
        .post(
            "/auth/password/change",
            &change(PASSWORD, "short"),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(short.status, 400);
    assert_eq!(short.error_fields(), ["new_password"]);
    let anonymous = app
        .post(
            "/auth/password/change",
            &change(PASSWORD, "a brand new long password"),
            None,
        )
        .await;
    assert_eq!(anonymous.status, 401);
    // Nothing changed: the old password and session still work.
    assert_eq!(app.login(&user.email, PASSWORD).await.status, 200);
    let refreshed = refresh(&app, &user.refresh_token).await;
    assert_eq!(refreshed.status, 200);
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled() {
    let app = TestApp::new().await;
    gigmarket_tests::wait_unless_well_inside_the_clock_window(
        app.state.config.login_failure_window,
    )
    .await;
    let user = app.register_client().await;
    let limit = app.state.config.login_max_failures;
    let body = json!({"current_password": "a guessed password", "new_password": "a brand new long password"});
    for _ in 0..limit {
        let guess = app
            .post("/auth/password/change", &body, Some(&user.access_token))
            .await;
        assert_eq!(guess.status, 400, "{guess:?}");
    }
    let throttled = app
        .post("/auth/password/change", &body, Some(&user.access_token))
        .await;
    assert_eq!(throttled.status, 429, "{throttled:?}");
    assert!(throttled.header("retry-after").is_some());
}

// ---- email verification and password reset ----

mod verification_and_reset {
    use gigmarket_shared::ApiError;
    use gigmarket_shared::app::account_tokens::{AccountMail, VERIFICATION_MAILS_PER_HOUR};
    use gigmarket_shared::domain::account_token::{PasswordReset, TokenPurpose};
    use gigmarket_shared::domain::gig::Revisions;
    use gigmarket_tests::fixtures::gig_body;
    use gigmarket_tests::{PASSWORD, RawRequest, Session, TestApp};
    use serde_json::json;
    use time::{Duration, OffsetDateTime};
    use uuid::Uuid;

    const NEW_PASSWORD: &str = "a brand new passphrase";
    const ADDRESS: &str = "203.0.113.77";

    /// A token for `session`'s account, as the mail would carry it.
    async fn token_for(
        app: &TestApp,
        session: &Session,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> AccountMail {
        let user = app
            .state
            .store
            .get_user(session.id)
            .await
            .unwrap()
            .expect("user");
        app.state
            .accounts()
            .issue_token(&user, purpose, now)
            .await
            .expect("token issued")
    }

    async fn verify(app: &TestApp, token: &str) -> gigmarket_tests::TestResponse {
        app.post("/auth/verify", &json!({"token": token}), None)
            .await
    }

    #[tokio::test]
    async fn unverified_accounts_browse_and_edit_but_can_not_publish_order_or_message() {
        let app = TestApp::new().await;
        let freelancer = app.register_unverified("freelancer").await;
        let client = app.register_unverified("client").await;
        let verified_freelancer = app.register_freelancer().await;
        let gig = app
            .create_active_gig(verified_freelancer.id, Revisions::Limited(1))
            .await;

        let me = app.get("/me", Some(&freelancer.access_token)).await;
        assert_eq!(me.status, 200, "{me:?}");
        assert_eq!(me.body["email_verified"], false);

        let publish = app
            .post(
                "/gigs",
                &gig_body("An unverified gig"),
                Some(&freelancer.access_token),
            )
            .await;
        assert_eq!(publish.status, 403, "{publish:?}");
        assert_eq!(publish.problem(), "email-unverified");

        let order = app
            .place_order_with_key(
                &client,
                &Uuid::new_v4().to_string(),
                &gigmarket_tests::fixtures::order_body(&gig),
            )
            .await;
        assert_eq!(order.status, 403, "{order:?}");
        assert_eq!(order.problem(), "email-unverified");

        let open = app
            .post(
                "/conversations",
                &json!({"participant_id": verified_freelancer.id, "text": "Hello there"}),
                Some(&client.access_token),
            )
            .await;
        assert_eq!(open.status, 403, "{open:?}");
        assert_eq!(open.problem(), "email-unverified");

        // A verified user may write to them; the unverified one can not answer yet.
        let opened = app
            .post(
                "/conversations",
                &json!({"participant_id": client.id, "text": "Can I help?"}),
                Some(&verified_freelancer.access_token),
            )
            .await;
        assert_eq!(opened.status, 201, "{opened:?}");
        let conversation = opened.body["conversation"]["id"].as_str().unwrap();
        let answer = app
            .post(
                &format!("/conversations/{conversation}/messages"),
                &json!({"text": "Yes please"}),
                Some(&client.access_token),
            )
            .await;
        assert_eq!(answer.status, 403, "{answer:?}");
        assert_eq!(answer.problem(), "email-unverified");

        // Browsing and profile edits stay open.
        assert_eq!(
            app.get("/gigs", Some(&client.access_token)).await.status,
            200
        );
        let edit = app
            .patch(
                "/me",
                &json!({"bio": "Still new here"}),
                Some(&client.access_token),
            )
            .await;
        assert_eq!(edit.status, 200, "{edit:?}");
    }

    #[tokio::test]
    async fn a_verification_token_works_once_for_a_day_and_only_for_verification() {
        let app = TestApp::new().await;
        let freelancer = app.register_unverified("freelancer").await;
        let now = OffsetDateTime::now_utc();

        assert_eq!(
            verify(&app, "not-a-token-we-issued").await.problem(),
            "invalid-token"
        );
        let reset = token_for(&app, &freelancer, TokenPurpose::PasswordReset, now).await;
        let wrong_purpose = verify(&app, &reset.token).await;
        assert_eq!(wrong_purpose.status, 400, "{wrong_purpose:?}");
        assert_eq!(wrong_purpose.problem(), "invalid-token");

        let mail = token_for(&app, &freelancer, TokenPurpose::EmailVerification, now).await;
        let verified = verify(&app, &mail.token).await;
        assert_eq!(verified.status, 200, "{verified:?}");
        assert_eq!(verified.body["email_verified"], true);
        assert_eq!(verified.body["id"], freelancer.id.to_string());
        let again = verify(&app, &mail.token).await;
        assert_eq!(again.status, 400, "{again:?}");
        assert_eq!(again.problem(), "invalid-token");

        // Now they may publish.
        app.create_gig(&freelancer, &gig_body("A verified gig"))
            .await;

        // A day later a token is refused; just before, it works.
        let late = app.register_unverified("client").await;
        let mail = token_for(&app, &late, TokenPurpose::EmailVerification, now).await;
        let expired = app
            .state
            .accounts()
            .verify_email(
                &mail.token,
                now + Duration::hours(24) + Duration::seconds(1),
            )
            .await;
        assert!(
            matches!(expired, Err(ApiError::InvalidToken)),
            "{expired:?}"
        );
        let in_time = app
            .state
            .accounts()
            .verify_email(&mail.token, now + Duration::hours(23))
            .await
            .expect("an unexpired token verifies");
        assert!(in_time.email_verified);
    }

    /// One inbox gets at most a day's cap of each mail, whatever the hour or the asking
    /// address: the hourly limits alone let 72 verification mails a day through, and reset
    /// mails from as many addresses as an attacker has.
    #[tokio::test]
    async fn one_inbox_gets_at_most_a_days_cap_whatever_the_hour_or_address() {
        use gigmarket_shared::app::account_tokens::{
            RESET_MAILS_PER_DAY, RESET_MAILS_PER_HOUR, VERIFICATION_MAILS_PER_DAY,
        };
        use gigmarket_shared::domain::user::{Caller, Role};
        let app = TestApp::new().await;
        let user = app.register_unverified("client").await;
        let caller = Caller {
            id: user.id,
            role: Role::Client,
            session: None,
        };
        // A fixed day, so no window turns under the test.
        let day = time::macros::datetime!(2026-03-02 00:00 UTC);
        let accounts = app.state.accounts();
        let (mut sent, mut refused) = (0, Vec::new());
        for hour in 0..4 {
            for _ in 0..VERIFICATION_MAILS_PER_HOUR {
                let at = day + Duration::hours(hour);
                match accounts.resend_verification(caller, at).await {
                    Ok(_) => sent += 1,
                    Err(ApiError::TooManyRequests {
                        retry_after_secs, ..
                    }) => refused.push(retry_after_secs),
                    Err(other) => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(sent, VERIFICATION_MAILS_PER_DAY);
        // Refused at 03:00 by the day, so asked to wait for its end.
        assert_eq!(
            refused,
            vec![21 * 3600; 12 - VERIFICATION_MAILS_PER_DAY as usize]
        );
        assert!(
            accounts
                .resend_verification(caller, day + Duration::days(1))
                .await
                .is_ok(),
            "a new day"
        );

        // Reset mails asked from a new address each time, in one hour: the day's cap holds.
        let mut reset_mails = 0;
        for address in 0..RESET_MAILS_PER_DAY + 2 {
            let mail = accounts
                .forgot_password(&user.email, &format!("198.51.100.{address}"), day)
                .await
                .expect("forgot");
            reset_mails += usize::from(mail.is_some());
        }
        // More addresses than an hour's limit per address could ever stop.
        const { assert!(RESET_MAILS_PER_HOUR < RESET_MAILS_PER_DAY) };
        assert_eq!(reset_mails, RESET_MAILS_PER_DAY as usize);
    }

    #[tokio::test]
    async fn resending_is_throttled_and_refused_once_verified() {
        gigmarket_tests::wait_unless_well_inside_the_clock_window(gigmarket_tests::CLOCK_HOUR)
            .await;
        let app = TestApp::new().await;
        let user = app.register_unverified("client").await;
        for _ in 0..VERIFICATION_MAILS_PER_HOUR {
            let resend = app
                .post("/auth/verify/resend", &json!({}), Some(&user.access_token))
                .await;
            assert_eq!(resend.status, 202, "{resend:?}");
        }
        let throttled = app
            .post("/auth/verify/resend", &json!({}), Some(&user.access_token))
            .await;
        assert_eq!(throttled.status, 429, "{throttled:?}");
        assert_eq!(throttled.problem(), "rate-limited");
        assert!(throttled.header("retry-after").is_some());

        let anonymous = app.post("/auth/verify/resend", &json!({}), None).await;
        assert_eq!(anonymous.status, 401, "{anonymous:?}");

        let verified = app.register_client().await;
        let done = app
            .post(
                "/auth/verify/resend",
                &json!({}),
                Some(&verified.access_token),
            )
            .await;
        assert_eq!(done.status, 409, "{done:?}");
        assert_eq!(done.problem(), "already-verified");
    }

    #[tokio::test]
    async fn forgot_password_always_answers_202_and_mails_only_real_accounts_a_few_times() {
        gigmarket_tests::wait_unless_well_inside_the_clock_window(gigmarket_tests::CLOCK_HOUR)
            .await;
        let app = TestApp::new().await;
        let user = app.register_unverified("client").await;
        for email in [user.email.as_str(), "nobody-here@example.com"] {
            let response = app
                .send(
                    RawRequest::new("POST", "/auth/password/forgot")
                        .from_address(ADDRESS)
                        .json(&json!({"email": email})),
                )
                .await;
            assert_eq!(response.status, 202, "{response:?}");
            assert_eq!(response.body, serde_json::Value::Null);
        }
        let accounts = app.state.accounts();
        let now = OffsetDateTime::now_utc();
        // An unknown email costs the same work as a real one (a token stored, a mail queued), for
        // the nil user: its event has no one to mail, and its token resets nothing.
        let unknown = accounts
            .forgot_password("nobody-else@example.com", ADDRESS, now)
            .await
            .unwrap()
            .expect("the same work for an unknown email");
        assert!(unknown.user_id.is_nil() && unknown.email.is_empty());
        assert!(
            app.state
                .store
                .account_token(&gigmarket_shared::auth::refresh::refresh_token_digest(
                    &unknown.token
                ))
                .await
                .unwrap()
                .is_some(),
            "the decoy token is stored as a real one is"
        );
        let event = gigmarket_shared::events::Event::for_account(
            gigmarket_shared::events::AccountEventKind::PasswordResetRequested,
            gigmarket_shared::events::AccountSummary {
                user_id: unknown.user_id,
                link: format!("https://example.com/reset-password?token={}", unknown.token),
                expires_at: now,
            },
            now,
        );
        assert!(
            event.notice().unwrap().recipients().is_empty(),
            "the decoy mails no one"
        );
        let reset = app
            .post(
                "/auth/password/reset",
                &json!({"token": unknown.token, "password": "a decoy never resets"}),
                None,
            )
            .await;
        assert_eq!(reset.status, 400, "{reset:?}");
        // One reset mail went out over HTTP above; two more this hour from this address, then none.
        let other = "198.51.100.7";
        for _ in 0..2 {
            let mail = accounts
                .forgot_password(&user.email, ADDRESS, now)
                .await
                .unwrap();
            assert!(mail.is_some_and(|mail| mail.purpose == TokenPurpose::PasswordReset));
        }
        let throttled = accounts
            .forgot_password(&user.email, ADDRESS, now)
            .await
            .unwrap();
        assert!(
            throttled.is_none(),
            "the fourth mail in an hour is not sent"
        );
        assert!(
            accounts
                .forgot_password(&user.email, other, now)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_reset_sets_the_password_once_revokes_every_session_and_verifies_the_email() {
        let app = TestApp::new().await;
        let user = app.register_unverified("client").await;
        let second = app.login(&user.email, PASSWORD).await;
        assert_eq!(second.status, 200, "{second:?}");
        let mail = app
            .state
            .accounts()
            .forgot_password(&user.email, ADDRESS, OffsetDateTime::now_utc())
            .await
            .unwrap()
            .expect("a reset mail");

        let weak = app
            .post(
                "/auth/password/reset",
                &json!({"token": mail.token, "password": "short"}),
                None,
            )
            .await;
        assert_eq!(weak.status, 400, "{weak:?}");
        assert_eq!(weak.problem(), "validation-error");

        let reset = app
            .post(
                "/auth/password/reset",
                &json!({"token": mail.token, "password": NEW_PASSWORD}),
                None,
            )
            .await;
        assert_eq!(reset.status, 204, "{reset:?}");
        let again = app
            .post(
                "/auth/password/reset",
                &json!({"token": mail.token, "password": "yet another passphrase"}),
                None,
            )
            .await;
        assert_eq!(again.status, 400, "{again:?}");
        assert_eq!(again.problem(), "invalid-token");

        for refresh_token in [
            user.refresh_token.as_str(),
            second.body["refresh_token"].as_str().unwrap(),
        ] {
            let refreshed = super::refresh(&app, refresh_token).await;
            assert_eq!(
                refreshed.status, 401,
                "a session from before the reset: {refreshed:?}"
            );
        }
        assert_eq!(app.login(&user.email, PASSWORD).await.status, 401);
        let signed_in = app.login(&user.email, NEW_PASSWORD).await;
        assert_eq!(signed_in.status, 200, "{signed_in:?}");
        assert_eq!(signed_in.body["user"]["email_verified"], true);
    }

    #[tokio::test]
    async fn a_reset_token_expires_after_an_hour_and_verifies_nothing() {
        let app = TestApp::new().await;
        let user = app.register_client().await;
        let now = OffsetDateTime::now_utc();
        let mail = token_for(&app, &user, TokenPurpose::PasswordReset, now).await;
        let reset = |token: &str| PasswordReset {
            token: token.to_owned(),
            password: NEW_PASSWORD.to_owned(),
        };
        let late = app
            .state
            .accounts()
            .reset_password(
                reset(&mail.token),
                now + Duration::hours(1) + Duration::seconds(1),
            )
            .await;
        assert!(matches!(late, Err(ApiError::InvalidToken)), "{late:?}");
        let verification = token_for(&app, &user, TokenPurpose::EmailVerification, now).await;
        let wrong = app
            .state
            .accounts()
            .reset_password(reset(&verification.token), now)
            .await;
        assert!(matches!(wrong, Err(ApiError::InvalidToken)), "{wrong:?}");
        assert_eq!(app.login(&user.email, PASSWORD).await.status, 200);
        app.state
            .accounts()
            .reset_password(reset(&mail.token), now + Duration::minutes(59))
            .await
            .expect("an unexpired reset token works");
    }

    #[tokio::test]
    async fn tokens_are_stored_only_as_digests() {
        let app = TestApp::new().await;
        let user = app.register_unverified("client").await;
        let now = OffsetDateTime::now_utc();
        let verification = token_for(&app, &user, TokenPurpose::EmailVerification, now).await;
        let reset = app
            .state
            .accounts()
            .forgot_password(&user.email, ADDRESS, now)
            .await
            .unwrap()
            .expect("a reset mail");
        let dynamodb = gigmarket_shared::aws::dynamodb(&app.sdk);
        let items = dynamodb
            .scan()
            .table_name(&app.state.config.table_name)
            .send()
            .await
            .expect("scan")
            .items
            .unwrap_or_default();
        let text = format!("{items:?}");
        // Registration's token, and the two issued here.
        assert!(
            text.matches("TOKEN#").count() >= 3,
            "token items exist: {text}"
        );
        for token in [&verification.token, &reset.token] {
            assert!(!text.contains(token.as_str()), "plaintext token stored");
        }
        assert!(
            !format!("{reset:?}").contains(&reset.token),
            "Debug shows the token"
        );
    }
}

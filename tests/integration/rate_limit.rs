//! The per-client request rate (`web::rate_limit`): a signed-in user, or an address without a
//! valid token, gets `RequestLimits` requests per clock minute across the API functions, then
//! 429 with `Retry-After`; others are not slowed; Stripe's deliveries are never counted.

use gigmarket_tests::{RawRequest, TestApp};
use serde_json::json;

#[tokio::test]
async fn one_client_gets_its_minute_and_no_more_while_others_go_on() {
    let app = TestApp::with_config(|config| {
        config.request_limits.per_user_per_minute = 6;
        config.request_limits.per_address_per_minute = 4;
        // This test is about counting; on a loaded machine a count can outlast the deployed
        // timeout, and such a request goes through uncounted by design.
        config.request_limits.count_timeout = std::time::Duration::from_secs(30);
    })
    .await;
    let ann = app.register_client().await;
    let bob = app.register_client().await;
    // Filling a minute's allowance must not straddle its turn.
    gigmarket_tests::wait_unless_inside_the_clock_window(
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(30),
    )
    .await;

    // Ann's token: six requests, to two functions, then 429.
    for path in ["/me", "/categories", "/me", "/gigs", "/me", "/orders"] {
        let response = app.get(path, Some(&ann.access_token)).await;
        assert_eq!(response.status, 200, "{path}: {response:?}");
    }
    let refused = app.get("/me", Some(&ann.access_token)).await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.problem(), "rate-limited");
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Bob signs in from the same address: his own allowance.
    assert_eq!(app.get("/me", Some(&bob.access_token)).await.status, 200);

    // Without a token, by address: four, then 429; another address goes on.
    let anonymous = |address: &str| RawRequest::new("GET", "/categories").from_address(address);
    for _ in 0..4 {
        assert_eq!(app.send(anonymous("198.51.100.7")).await.status, 200);
    }
    assert_eq!(app.send(anonymous("198.51.100.7")).await.status, 429);
    assert_eq!(app.send(anonymous("198.51.100.8")).await.status, 200);
    // A bad token counts against its address, and is still answered 401 there.
    let forged = RawRequest::new("GET", "/me")
        .bearer("not-a-token")
        .from_address("198.51.100.9");
    assert_eq!(app.send(forged).await.status, 401);

    // Stripe's deliveries are never counted: refused for their signature, not their rate.
    for _ in 0..6 {
        let delivery = app
            .send(
                RawRequest::new("POST", "/webhooks/stripe")
                    .from_address("198.51.100.7")
                    .json(&json!({"id": "evt_unsigned"})),
            )
            .await;
        assert_ne!(delivery.status, 429, "{delivery:?}");
    }
}

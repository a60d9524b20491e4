//! One route table: the `cargo lambda watch` router in Cargo.toml is generated from
//! `shared::routes::ROUTES`, and every listed route is really served by the function it names.

use gigmarket_shared::routes::{ROUTES, watch_router_toml};
use gigmarket_tests::{RawRequest, TestApp};

#[test]
fn cargo_watch_router_matches_the_route_table() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
    let parsed: toml::Table = toml::from_str(&manifest).unwrap();
    let router = &parsed["workspace"]["metadata"]["lambda"]["watch"]["router"];
    let expected: toml::Table = toml::from_str(&watch_router_toml()).unwrap();
    assert_eq!(
        router.as_table().unwrap(),
        &expected,
        "Cargo.toml's watch router is stale: regenerate it with `cargo run -p gigctl -- routes`"
    );
}

#[tokio::test]
async fn every_route_is_served_by_its_function() {
    let app = TestApp::new().await;
    for route in ROUTES {
        let path = route
            .path
            .replace("{id}", &uuid::Uuid::new_v4().to_string());
        let mut request = RawRequest::new(route.method, path);
        if route.method != "GET" {
            request = request.raw_body("application/json", "{}".to_owned());
        }
        let response = app.send(request).await;
        let route_missing = response.status == 405
            || (response.status == 404 && response.body["detail"] == "route not found");
        assert!(
            !route_missing,
            "{} {} is not served by {}: {response:?}",
            route.method, route.path, route.function
        );
    }
}

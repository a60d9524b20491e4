//! The sample events in `events/<function>/*.json` (the ones the README feeds to
//! `cargo lambda invoke --data-file`) are real API Gateway HTTP API (v2) requests for their
//! function's routes: each one is invoked on its function and its response checked.
//!
//! Samples that need a session carry placeholders, replaced here as a person would by hand:
//! `<ACCESS_TOKEN>`, `<REFRESH_TOKEN>` and the user id `11111111-1111-4111-8111-111111111111`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gigmarket_shared::routes::ROUTES;
use gigmarket_tests::TestApp;
use serde_json::Value;

const SAMPLE_USER_ID: &str = "11111111-1111-4111-8111-111111111111";

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn sample(relative: &str) -> String {
    std::fs::read_to_string(events_dir().join(relative))
        .unwrap_or_else(|error| panic!("events/{relative}: {error}"))
}

/// Every sample, as `<function>/<file>`.
fn all_samples() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for function in std::fs::read_dir(events_dir()).expect("events/") {
        let function = function.unwrap().path();
        if !function.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&function).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|ext| ext == "json") {
                found.insert(format!(
                    "{}/{}",
                    function.file_name().unwrap().to_str().unwrap(),
                    file.file_name().unwrap().to_str().unwrap()
                ));
            }
        }
    }
    found
}

/// What each sample must answer, in the order a person would try them.
const EXPECTED: &[(&str, u16)] = &[
    ("auth/register.json", 201),
    ("auth/login.json", 200),
    ("users/get-me.json", 200),
    ("users/update-me.json", 200),
    ("users/get-user.json", 200),
    ("auth/refresh.json", 200),
    ("auth/logout.json", 204),
];

#[test]
fn every_sample_is_checked_and_names_a_route_of_its_function() {
    let checked: BTreeSet<String> = EXPECTED
        .iter()
        .map(|(file, _)| (*file).to_owned())
        .collect();
    assert_eq!(all_samples(), checked, "add new samples to EXPECTED");
    for file in &checked {
        let event: Value = serde_json::from_str(&sample(file)).expect("sample is JSON");
        let function = file.split('/').next().unwrap();
        let route_key = event["routeKey"].as_str().expect("routeKey");
        assert!(
            ROUTES.iter().any(
                |route| format!("{} {}", route.method, route.path) == route_key
                    && route.function == function
            ),
            "{file}: {route_key} is not a route of {function}"
        );
        assert_eq!(event["version"], "2.0", "{file}: HTTP API payload v2");
    }
    let http_functions: BTreeSet<&str> = ROUTES.iter().map(|route| route.function).collect();
    for function in http_functions {
        assert!(
            checked
                .iter()
                .any(|file| file.starts_with(&format!("{function}/"))),
            "{function} has no sample event in events/{function}/"
        );
    }
}

#[tokio::test]
async fn every_sample_event_gets_its_expected_response() {
    let app = TestApp::new().await;
    let mut access_token = String::new();
    let mut refresh_token = String::new();
    let mut user_id = String::new();
    for (file, expected) in EXPECTED {
        let function = file.split('/').next().unwrap();
        let event = sample(file)
            .replace("<ACCESS_TOKEN>", &access_token)
            .replace("<REFRESH_TOKEN>", &refresh_token)
            .replace(SAMPLE_USER_ID, &user_id);
        let response = app.invoke(function, &event).await;
        assert_eq!(response.status, *expected, "{file}: {response:?}");
        if let Some(token) = response.body["access_token"].as_str() {
            access_token = token.to_owned();
            refresh_token = response.body["refresh_token"].as_str().unwrap().to_owned();
            user_id = response.body["user"]["id"].as_str().unwrap().to_owned();
        }
        match *file {
            "auth/register.json" | "auth/login.json" => {
                assert_eq!(response.body["user"]["email"], "ann@example.com")
            }
            "users/update-me.json" => assert_eq!(response.body["country"], "DE"),
            "users/get-user.json" => {
                assert_eq!(response.body["id"], user_id.as_str());
                assert!(response.body.get("email").is_none(), "public profile");
            }
            _ => {}
        }
    }
    // The logout sample really ended the session.
    let event = sample("auth/refresh.json").replace("<REFRESH_TOKEN>", &refresh_token);
    assert_eq!(app.invoke("auth", &event).await.status, 401);
}

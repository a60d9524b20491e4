//! Search through watch and the bridge, as deployed: a gig's writes go from the table's stream
//! through the dispatcher to the search index queue, the indexer publishes the next version to
//! the bucket, and `search` (polling every second under `make test`) answers `GET /gigs` from
//! it. Each change is waited for, never assumed: the lag is the pipeline's, seconds.

use std::time::{Duration, Instant};

use gigmarket_tests::fixtures::gig_body;
use gigmarket_tests::watch::{admin_over_http, call, call_with, register_over_http};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Longer than the pipeline takes on a loaded machine; the test ends as soon as it sees the change.
const LAG_LIMIT: Duration = Duration::from_secs(90);

/// Polls `GET /gigs?<query>` until `done` holds for its page; answers the page and the wait.
async fn search_until(
    client: &reqwest::Client,
    query: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> (Value, Duration) {
    let started = Instant::now();
    loop {
        let (status, _, page) =
            call(client, Method::GET, &format!("/gigs?{query}"), None, None).await;
        assert_eq!(status, 200, "{page}");
        if done(&page) {
            return (page, started.elapsed());
        }
        assert!(
            started.elapsed() < LAG_LIMIT,
            "{what}: GET /gigs?{query} still answers {page} after {LAG_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|card| card["id"].as_str())
        .collect()
}

#[tokio::test]
async fn a_gig_change_reaches_search_through_the_pipeline_within_seconds() {
    let client = reqwest::Client::new();
    let (_, admin) = admin_over_http(&client).await;
    let (freelancer_id, token, _) = register_over_http(&client, "freelancer").await;
    let word = format!("srch{}", &Uuid::new_v4().simple().to_string()[..8]);
    let (status, _, created) = call(
        &client,
        Method::POST,
        "/gigs",
        Some(&token),
        Some(gig_body(&format!("Lantern {word} illustrations"))),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let gig_id = created["id"].as_str().unwrap().to_owned();
    let query = format!("q={word}&limit=5");

    // Approved: found, with the query's total and facets.
    let (status, _) = call_with(
        &client,
        Method::POST,
        &format!("/admin/gigs/{gig_id}/approve"),
        &admin,
        &[("if-match", "\"1\"")],
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200);
    let (page, waited) = search_until(&client, &query, "approved", |page| {
        ids(page) == [gig_id.as_str()]
    })
    .await;
    eprintln!("approved -> searchable in {waited:?}");
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(
        page["facets"]["categories"],
        json!([{"category": "graphics-design", "count": 1}]),
        "{page}"
    );
    // A typo of the title's word finds it too (one edit from 5 characters).
    search_until(&client, "q=lantren&limit=50", "a typo", |page| {
        ids(page).contains(&gig_id.as_str())
    })
    .await;

    // Paused: gone; resumed: back.
    let (status, _) = call_with(
        &client,
        Method::POST,
        &format!("/gigs/{gig_id}/pause"),
        &token,
        &[],
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200);
    search_until(&client, &query, "paused", |page| page["total"] == 0).await;
    let (status, _) = call_with(
        &client,
        Method::POST,
        &format!("/gigs/{gig_id}/resume"),
        &token,
        &[],
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200);
    search_until(&client, &query, "resumed", |page| {
        ids(page) == [gig_id.as_str()]
    })
    .await;

    // Its owner blocked: gone from the page at once (the page's gigs are read from the table),
    // and from the index once the re-listing's hint is applied.
    let (status, _) = call_with(
        &client,
        Method::POST,
        &format!("/admin/users/{freelancer_id}/block"),
        &admin,
        &[],
        Some(json!({"reason": "make test: search"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, page) = call(&client, Method::GET, &format!("/gigs?{query}"), None, None).await;
    assert_eq!(status, 200);
    assert!(ids(&page).is_empty(), "{page}");
    search_until(&client, &query, "blocked", |page| page["total"] == 0).await;
}

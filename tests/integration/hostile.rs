//! The hostile input walk: EVERY route of `routes::ROUTES` (the table itself is iterated, so a new
//! route is walked without touching this file) is called with what an attacker or a broken client
//! sends, and must answer a clean client error: status 4xx, `application/problem+json` with
//! `status`, `title` and `detail`, never a 5xx, never another user's data.
//!
//! - another user's ids (IDOR): a stranger client and a stranger freelancer call every `{id}`
//!   route with the cast's order, unpublished gig, sealed review and conversation: 403 or 404,
//!   nothing private in the answer; the public reads (a user's profile, gigs and reviews) answer
//!   without anything private;
//! - paging: `limit` 0, -1, huge, non-numeric; a forged cursor; another user's cursor and another
//!   listing's cursor: 400 on every paged route (those `openapi.yaml` gives a `limit`);
//! - bodies: over the API's size limit, nested deeper than any parser allows, invalid UTF-8 sent
//!   base64-encoded (`isBase64Encoded`, as API Gateway does), not JSON, a valid body plus an
//!   unknown field: 4xx on every route that takes a body;
//! - injection-looking strings as ids and in search.

use std::collections::BTreeMap;

use base64::Engine;
use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::routes::{ROUTES, Route};
use gigmarket_tests::fixtures::{gig_body, gig_id};
use gigmarket_tests::{RawRequest, Session, TestApp, TestResponse, repo_path};
use serde_json::{Value, json};

/// Reads anyone may make about someone else's resource: what they answer is public by design
/// (checked to carry nothing private). Every other `{id}` route must refuse a stranger.
const PUBLIC_READS: &[&str] = &[
    "GET /users/{id}",
    "GET /users/{id}/gigs",
    "GET /users/{id}/reviews",
    "GET /gigs/{id}/reviews",
];

/// Strings an attacker puts where an id or a search term goes.
const INJECTIONS: &[&str] = &[
    "' OR '1'='1",
    "\"; DROP TABLE users; --",
    "../../me",
    "<script>alert(1)</script>",
    "${jndi:ldap://x/a}",
    "{\"$gt\": \"\"}",
    "%00",
    "ORDER#00000000-0000-0000-0000-000000000000",
    "\u{202e}\u{0000}",
];

/// Everything the cast owns that a stranger must never see.
struct World {
    app: TestApp,
    client: Session,
    freelancer: Session,
    strangers: Vec<(&'static str, Session)>,
    /// The owner's resource per `{id}` route prefix.
    ids: BTreeMap<&'static str, String>,
    /// Private strings: emails, an order's requirements, a sealed review, a message, a draft.
    private: Vec<String>,
    /// A real next-page cursor of the client's `GET /orders`.
    client_orders_cursor: String,
    /// The draft gig's current ETag (edits need `If-Match`): a stranger who has it still may not.
    draft_etag: String,
}

const REQUIREMENTS: &str = "Blue, please.";
const SEALED_REVIEW: &str = "A sealed opinion nobody may read yet.";
const PRIVATE_MESSAGE: &str = "My private phone number is 555-0100.";
const DRAFT_TITLE: &str = "I will write an unpublished secret draft";

async fn world() -> World {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let draft = app
        .create_gig(&cast.freelancer, &gig_body(DRAFT_TITLE))
        .await;
    let completed = app.order_in(&cast, &gig, "completed").await;
    let pending = app.order_in(&cast, &gig, "pending").await;
    let review = app
        .post(
            "/reviews",
            &json!({"order_id": completed, "rating": 4, "comment": SEALED_REVIEW}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(review.status, 201, "{review:?}");
    let conversation = app
        .post(
            "/conversations",
            &json!({"participant_id": cast.freelancer.id, "order_id": pending, "text": PRIVATE_MESSAGE}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(conversation.status, 201, "{conversation:?}");
    let page = app
        .get("/orders?limit=1", Some(&cast.client.access_token))
        .await;
    assert_eq!(page.status, 200, "{page:?}");
    let client_orders_cursor = page.body["next_cursor"]
        .as_str()
        .expect("two orders: a next page")
        .to_owned();
    let own_draft = app
        .get(
            &format!("/gigs/{}", gig_id(&draft)),
            Some(&cast.freelancer.access_token),
        )
        .await;
    let draft_etag = own_draft
        .header("etag")
        .unwrap_or_else(|| panic!("GET /gigs/{{id}} answers an ETag: {own_draft:?}"))
        .to_owned();
    let stranger_freelancer = app.register_freelancer().await;
    let ids = BTreeMap::from([
        ("/orders/{id}", pending.to_string()),
        ("/gigs/{id}", gig_id(&draft).to_string()),
        ("/users/{id}", cast.client.id.to_string()),
        ("/reviews/{id}", id_of(&review.body)),
        (
            "/conversations/{id}",
            id_of(&conversation.body["conversation"]),
        ),
        // Admin routes: a non-admin is refused whatever the id.
        ("/admin/users/{id}", cast.client.id.to_string()),
        ("/admin/reviews/{id}", id_of(&review.body)),
        ("/admin/orders/{id}", pending.to_string()),
        // The gig review queue: the draft in review, with the ETag every request here sends.
        ("/admin/gigs/{id}", gig_id(&draft).to_string()),
    ]);
    World {
        private: vec![
            cast.client.email.clone(),
            cast.freelancer.email.clone(),
            REQUIREMENTS.to_owned(),
            SEALED_REVIEW.to_owned(),
            PRIVATE_MESSAGE.to_owned(),
            DRAFT_TITLE.to_owned(),
        ],
        strangers: vec![
            ("a stranger client", cast.stranger.clone()),
            ("a stranger freelancer", stranger_freelancer),
        ],
        client: cast.client,
        freelancer: cast.freelancer,
        app,
        ids,
        client_orders_cursor,
        draft_etag,
    }
}

fn id_of(body: &Value) -> String {
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {body}"))
        .to_owned()
}

fn route_key(route: &Route) -> String {
    format!("{} {}", route.method, route.path)
}

/// The owner's resource for a route's `{id}`: by the path's first segment.
fn owners_id<'a>(world: &'a World, route: &Route) -> Option<&'a str> {
    let prefix = route.path.split("/{id}").next()?;
    world
        .ids
        .get(format!("{prefix}/{{id}}").as_str())
        .map(String::as_str)
}

/// The route's path as the cast's own resource's (or as it is, without `{id}`).
fn owners_path(world: &World, route: &Route) -> String {
    match owners_id(world, route) {
        Some(id) => path_with(route, id),
        None => route.path.to_owned(),
    }
}

/// The path with `{id}` replaced (percent-encoded, so any string is one segment).
fn path_with(route: &Route, id: &str) -> String {
    let mut encoded = String::new();
    for byte in id.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(byte as char)
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    route.path.replace("{id}", &encoded)
}

/// `openapi.yaml`, the API contract the walk takes request shapes from.
fn openapi() -> Value {
    let text = std::fs::read_to_string(repo_path("openapi.yaml")).expect("openapi.yaml");
    serde_norway::from_str(&text).expect("openapi.yaml parses")
}

fn operation<'a>(spec: &'a Value, route: &Route) -> &'a Value {
    &spec["paths"][route.path][route.method.to_lowercase()]
}

fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => {
            let mut target = spec;
            for part in reference.trim_start_matches("#/").split('/') {
                target = &target[part];
            }
            target
        }
        None => value,
    }
}

/// Whether the route takes a JSON body.
fn takes_body(spec: &Value, route: &Route) -> bool {
    !operation(spec, route)["requestBody"].is_null()
}

/// Whether the route pages (the spec gives it a `limit` parameter).
fn is_paged(spec: &Value, route: &Route) -> bool {
    operation(spec, route)["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|parameter| resolve(spec, parameter)["name"] == "limit")
}

/// A body the route would accept from its rightful caller: the sample event's for that route
/// where there is one, else the spec's required fields filled with plausible values; so a
/// stranger's refusal is about whose the resource is, not about the body.
fn valid_body(spec: &Value, route: &Route) -> Option<Value> {
    if !takes_body(spec, route) {
        return None;
    }
    for function in std::fs::read_dir(repo_path("events")).expect("events/") {
        for file in std::fs::read_dir(function.unwrap().path()).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            let event: Value = serde_json::from_str(&text).unwrap();
            if event["routeKey"] == route_key(route)
                && let Some(body) = event["body"].as_str()
                && let Ok(body) = serde_json::from_str::<Value>(body)
            {
                return Some(body);
            }
        }
    }
    let body = resolve(spec, &operation(spec, route)["requestBody"]);
    let schema = resolve(spec, &body["content"]["application/json"]["schema"]);
    let mut filled = serde_json::Map::new();
    for field in schema["required"].as_array().into_iter().flatten() {
        let field = field.as_str().unwrap();
        let value = match field {
            "attachments" => json!([]),
            "rating" => json!(5),
            _ => json!("A perfectly ordinary sentence."),
        };
        filled.insert(field.to_owned(), value);
    }
    Some(Value::Object(filled))
}

/// A clean client error: 4xx, problem+json, `status` as sent, a `title` and a `detail`.
fn assert_clean_4xx(response: &TestResponse, what: &str) {
    assert!(
        (400..500).contains(&response.status),
        "{what}: expected a 4xx, got {response:?}"
    );
    assert_clean_problem(response, what);
}

fn assert_clean_problem(response: &TestResponse, what: &str) {
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json"),
        "{what}: {response:?}"
    );
    assert_eq!(response.body["status"], response.status, "{what}");
    for field in ["title", "detail"] {
        assert!(
            response.body[field]
                .as_str()
                .is_some_and(|text| !text.is_empty()),
            "{what}: no {field} in {}",
            response.body
        );
    }
}

/// Never a 5xx; a 4xx is clean problem+json.
fn assert_no_5xx(response: &TestResponse, what: &str) {
    assert!(response.status < 500, "{what}: {response:?}");
    if response.status >= 400 {
        assert_clean_problem(response, what);
    }
}

fn assert_nothing_private(world: &World, response: &TestResponse, what: &str) {
    let text = response.body.to_string();
    for private in &world.private {
        assert!(
            !text.contains(private.as_str()),
            "{what}: the answer carries {private:?}: {text}"
        );
    }
}

fn request(route: &Route, path: String, token: &str, body: Option<&Value>) -> RawRequest {
    let request = RawRequest::new(route.method, path).bearer(token);
    match body {
        Some(body) => request.json(body),
        None => request,
    }
}

#[tokio::test]
async fn strangers_get_403_or_404_for_every_route_with_someone_elses_id() {
    let world = world().await;
    let spec = openapi();
    let mut walked = 0;
    for route in ROUTES.iter().filter(|route| route.path.contains("{id}")) {
        let key = route_key(route);
        let id = owners_id(&world, route)
            .unwrap_or_else(|| panic!("{key}: add the owner's resource for this path to world()"));
        let body = valid_body(&spec, route);
        for (who, stranger) in &world.strangers {
            let what = format!("{key} as {who}");
            let response = world
                .app
                .send(
                    request(
                        route,
                        path_with(route, id),
                        &stranger.access_token,
                        body.as_ref(),
                    )
                    .header("if-match", &world.draft_etag),
                )
                .await;
            if PUBLIC_READS.contains(&key.as_str()) {
                assert_no_5xx(&response, &what);
            } else {
                assert!(
                    [403, 404].contains(&response.status),
                    "{what}: only 403 or 404, got {response:?}"
                );
                assert_clean_problem(&response, &what);
            }
            assert_nothing_private(&world, &response, &what);
            walked += 1;
        }
    }
    assert!(walked >= 40, "every {{id}} route walked: {walked}");
    // The owners still reach theirs: the refusals above were about ownership, not the ids.
    let order = &world.ids["/orders/{id}"];
    let own = world
        .app
        .get(
            &format!("/orders/{order}"),
            Some(&world.client.access_token),
        )
        .await;
    assert_eq!(own.status, 200, "{own:?}");
    assert_eq!(own.body["requirements"], REQUIREMENTS);
}

#[tokio::test]
async fn every_paged_route_refuses_bad_limits_and_foreign_or_forged_cursors() {
    let world = world().await;
    let spec = openapi();
    let forged_body = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"s":"orders","p":{"pk":{"S":"USER#x"}}}"#);
    let forged = format!("{forged_body}.{}", "A".repeat(43));
    let foreign = world.client_orders_cursor.clone();
    let paged: Vec<&Route> = ROUTES
        .iter()
        .filter(|route| route.method == "GET" && is_paged(&spec, route))
        .collect();
    assert!(
        paged.len() >= 8,
        "paged routes found in openapi.yaml: {}",
        paged.len()
    );
    for route in paged {
        let key = route_key(route);
        let path = owners_path(&world, route);
        for (who, session) in [
            ("the client", &world.client),
            ("the freelancer", &world.freelancer),
            ("a stranger", &world.strangers[0].1),
        ] {
            let mut queries = vec![
                "limit=0".to_owned(),
                "limit=-1".to_owned(),
                "limit=100000000000000000000".to_owned(),
                "limit=ten".to_owned(),
                "limit=".to_owned(),
                format!("cursor={forged}"),
                "cursor=not-a-cursor".to_owned(),
                format!("cursor={}", "x".repeat(5000)),
            ];
            // The client's own orders cursor is the only place that cursor belongs.
            if !(key == "GET /orders" && who == "the client") {
                queries.push(format!("cursor={foreign}"));
            }
            for query in queries {
                let what = format!("{key}?{query} as {who}");
                let response = world
                    .app
                    .send(
                        RawRequest::new("GET", format!("{path}?{query}"))
                            .bearer(&session.access_token),
                    )
                    .await;
                if response.status == 404 || response.status == 403 {
                    // A stranger asking for someone else's listing is refused before paging.
                    assert_clean_problem(&response, &what);
                    continue;
                }
                assert_eq!(response.status, 400, "{what}: {response:?}");
                assert_clean_problem(&response, &what);
            }
        }
    }
}

#[tokio::test]
async fn every_route_refuses_hostile_bodies_and_ids_cleanly() {
    let world = world().await;
    let spec = openapi();
    let limit = world.app.state.config.max_body_bytes;
    let oversized = json!({"text": "x".repeat(limit + 1)}).to_string();
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let nested_object = format!("{}1{}", "{\"a\":".repeat(5_000), "}".repeat(5_000));
    for route in ROUTES {
        let key = route_key(route);
        let path = owners_path(&world, route);
        for (who, session) in [
            ("the client", &world.client),
            ("the freelancer", &world.freelancer),
        ] {
            let token = &session.access_token;
            // Bodies: only routes that take one must refuse them; the others ignore a body, but
            // never fail on one.
            let takes_body = takes_body(&spec, route);
            let mut bodies: Vec<(&str, RawRequest)> = vec![
                (
                    "an oversized body",
                    RawRequest::new(route.method, path.clone())
                        .bearer(token)
                        .raw_body("application/json", oversized.clone()),
                ),
                (
                    "a deeply nested array",
                    RawRequest::new(route.method, path.clone())
                        .bearer(token)
                        .raw_body("application/json", nested.clone()),
                ),
                (
                    "a deeply nested object",
                    RawRequest::new(route.method, path.clone())
                        .bearer(token)
                        .raw_body("application/json", nested_object.clone()),
                ),
                (
                    "not JSON",
                    RawRequest::new(route.method, path.clone())
                        .bearer(token)
                        .raw_body("application/json", "{\"a\": ".to_owned()),
                ),
            ];
            if let Some(Value::Object(mut body)) = valid_body(&spec, route) {
                body.insert("is_admin".to_owned(), json!(true));
                bodies.push((
                    "an unknown field",
                    RawRequest::new(route.method, path.clone())
                        .bearer(token)
                        .json(&Value::Object(body)),
                ));
            }
            if route.method != "GET" {
                for (what, request) in bodies {
                    let what = format!("{key} with {what} as {who}");
                    let response = world.app.send(request).await;
                    if takes_body {
                        assert_clean_4xx(&response, &what);
                    } else {
                        assert_no_5xx(&response, &what);
                    }
                }
                // Invalid UTF-8, base64-encoded as API Gateway sends a binary body.
                let mut event = RawRequest::new(route.method, path.clone())
                    .bearer(token)
                    .raw_body("application/json", String::new())
                    .to_apigw_event();
                event["body"] = json!(
                    base64::engine::general_purpose::STANDARD
                        .encode(b"{\"text\": \"\xff\xfe\xc3\x28\"}")
                );
                event["isBase64Encoded"] = json!(true);
                let what = format!("{key} with invalid UTF-8 as {who}");
                let response = world.app.invoke(route.function, &event.to_string()).await;
                if takes_body {
                    assert_clean_4xx(&response, &what);
                } else {
                    assert_no_5xx(&response, &what);
                }
            }
            // Injection-looking ids: no such resource, or not an id at all.
            if route.path.contains("{id}") {
                let body = valid_body(&spec, route);
                for injected in INJECTIONS {
                    let what = format!("{key} with id {injected:?} as {who}");
                    let response = world
                        .app
                        .send(request(
                            route,
                            path_with(route, injected),
                            token,
                            body.as_ref(),
                        ))
                        .await;
                    assert_clean_4xx(&response, &what);
                    // The admin API refuses a non-admin before it reads the id
                    // (`web::admins_only`); tests/integration/admin.rs has the admin's answer.
                    let expected: &[u16] = if route.function == "admin" {
                        &[403]
                    } else {
                        &[400, 404]
                    };
                    assert!(expected.contains(&response.status), "{what}: {response:?}");
                }
            }
        }
    }
}

#[tokio::test]
async fn injection_looking_searches_are_just_searches() {
    let world = world().await;
    let long = "a".repeat(1000);
    let searches = INJECTIONS
        .iter()
        .copied()
        .chain(["*", "%", "\\", long.as_str()]);
    for injected in searches {
        let mut query = String::new();
        for byte in injected.bytes() {
            query.push_str(&format!("%{byte:02X}"));
        }
        for parameter in ["q", "category", "tag", "sort", "min_price"] {
            let what = format!("GET /gigs?{parameter}={injected:?}");
            let response = world
                .app
                .get(&format!("/gigs?{parameter}={query}"), None)
                .await;
            assert_no_5xx(&response, &what);
            assert_nothing_private(&world, &response, &what);
            if response.status == 200 {
                assert!(response.body["items"].is_array(), "{what}: {response:?}");
            }
        }
    }
}

//! The test harness: every test gets a fresh table in the real DynamoDB Local, its own JWT keyset,
//! and calls the functions' routers in-process with requests built from API Gateway HTTP API (v2)
//! events, exactly as Lambda would hand them over.
//!
//! Needs the local stack: run the suite with `make test`, or `make stack` and then
//! `source scripts/env.sh` before `cargo nextest run`.

pub mod files;
pub mod fixtures;
// Paying for orders through the local stack's Stripe emulator.
pub mod payments;
pub mod payouts;
pub mod pipeline;
// The WebSocket API in-process: the local gateway in front of `realtime`.
pub mod realtime;
// The secrets an end-to-end run used, for the log check.
pub mod secrets;
// The local stack's Stripe for the Stripe tests: client, raw requests, webhook endpoints.
pub mod stripe;
// Calls through `cargo lambda watch`, for the end-to-end tests.
pub mod watch;

use std::collections::HashMap;

use axum::Router;
use gigmarket_shared::auth::access::{KeysetDocument, SigningKeysetDocument};
use gigmarket_shared::auth::{JwtKeys, JwtSigningKeys};
use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::routes::ROUTES;
use gigmarket_shared::search_index::SearchIndexBucket;
use gigmarket_shared::store::table;
use gigmarket_shared::stripe::client::{StripeClient, StripeConfig};
use gigmarket_shared::stripe::signature::SigningSecrets;
use gigmarket_shared::web::AppState;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";
/// The signing secret of the in-process Stripe webhook (`payments`): tests sign deliveries with it.
pub const WEBHOOK_SECRET: &str = "whsec_gigmarket_tests_only";
/// The in-process `payouts` router's Connect webhook secret: the tests sign Connect events with it.
pub const CONNECT_WEBHOOK_SECRET: &str = "whsec_gigmarket_connect_tests_only";

pub struct TestApp {
    /// `auth`'s state, the one with the signing keyset; every other function's router gets it
    /// without (`verifying_state`), as deployed.
    pub state: AppState,
    pub verifying_state: AppState,
    /// The verifying keyset (public keys) and the signing keyset (private seeds).
    pub keyset: KeysetDocument,
    pub signing_keyset: SigningKeysetDocument,
    /// The SDK configuration the state's clients were built from (the local stack's endpoints).
    pub sdk: aws_config::SdkConfig,
    /// The Stripe client of `orders`, on the local stack's emulator (`STRIPE_API_BASE`).
    pub stripe: StripeClient,
    /// This app's search index bucket in moto (`GET /gigs` reads it).
    pub search_index: SearchIndexBucket,
    /// The index writer on that bucket: the search router's requests run its full rebuild
    /// first, so a search sees the table as the writer would have caught up with it.
    pub indexer: indexer::Indexer,
    /// Whether a request to `search` runs the rebuild first (see [`TestApp::set_search_catch_up`]).
    search_catch_up: std::sync::atomic::AtomicBool,
    routers: HashMap<&'static str, Router>,
    /// Path -> the (method, function) pairs of the route table.
    matcher: matchit::Router<Vec<(&'static str, &'static str)>>,
}

/// A response with its body decoded as JSON when it is JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The problem `type` suffix (`validation-error`, ...), asserting the body is problem+json.
    pub fn problem(&self) -> &str {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "not a problem response: {self:?}"
        );
        assert_eq!(
            self.body["status"], self.status,
            "problem status matches HTTP status"
        );
        self.body["type"]
            .as_str()
            .and_then(|uri| uri.strip_prefix(gigmarket_shared::error::PROBLEM_TYPE_BASE))
            .unwrap_or_else(|| panic!("problem without our type URI: {}", self.body))
    }

    /// The `field` of every validation error, sorted.
    pub fn error_fields(&self) -> Vec<String> {
        let mut fields: Vec<String> = self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no field errors in {}", self.body))
            .iter()
            .map(|error| error["field"].as_str().unwrap_or_default().to_owned())
            .collect();
        fields.sort();
        fields
    }
}

/// A raw request: method, path (with query string), headers and body bytes.
pub struct RawRequest {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// `requestContext.http.sourceIp` (default `127.0.0.1`): what per-address throttles count.
    pub source_ip: Option<String>,
}

impl RawRequest {
    pub fn new(method: &'static str, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
            source_ip: None,
        }
    }

    /// Sends the request as if from `source_ip` (API Gateway's `sourceIp`).
    pub fn from_address(mut self, source_ip: &str) -> Self {
        self.source_ip = Some(source_ip.to_owned());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn json(self, body: &Value) -> Self {
        self.raw_body("application/json", body.to_string())
    }

    pub fn raw_body(mut self, content_type: &str, body: String) -> Self {
        self.headers
            .push(("content-type".to_owned(), content_type.to_owned()));
        self.body = Some(body);
        self
    }

    /// The API Gateway HTTP API payload format 2.0 event for this request.
    pub fn to_apigw_event(&self) -> Value {
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let mut headers = serde_json::Map::new();
        for (name, value) in &self.headers {
            headers.insert(name.to_lowercase(), Value::String(value.clone()));
        }
        if let Some(body) = &self.body {
            headers.insert(
                "content-length".to_owned(),
                Value::String(body.len().to_string()),
            );
        }
        headers.insert("host".to_owned(), json!("api.gigmarket.test"));
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "gigmarket",
                "domainName": "api.gigmarket.test",
                "domainPrefix": "api",
                "http": {
                    "method": self.method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip.as_deref().unwrap_or("127.0.0.1"),
                    "userAgent": "gigmarket-tests"
                },
                "requestId": Uuid::new_v4().to_string(),
                "routeKey": "$default",
                "stage": "$default",
                "time": "25/Nov/2026:08:00:00 +0000",
                "timeEpoch": 1795680000000u64
            },
            "body": self.body,
            "isBase64Encoded": false
        })
    }
}

/// Allowances count per fixed clock window (an hour, or a configured length), so a test that
/// fills one and expects a refusal must not straddle a window's turn: this waits out the last
/// minute of a window if it has begun.
pub async fn wait_unless_well_inside_the_clock_window(window: std::time::Duration) {
    wait_unless_inside_the_clock_window(window, std::time::Duration::from_secs(60)).await;
}

/// Waits for the next clock window of `window`'s length unless at least `margin` of the current
/// one is left.
pub async fn wait_unless_inside_the_clock_window(
    window: std::time::Duration,
    margin: std::time::Duration,
) {
    let length = window.as_secs() as i64;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let left = length - now.rem_euclid(length);
    if left < margin.as_secs() as i64 {
        tokio::time::sleep(std::time::Duration::from_secs(left as u64 + 1)).await;
    }
}

/// The clock hour, the window of the fixed hourly allowances.
pub const CLOCK_HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

/// The endpoint of the local DynamoDB, or a panic telling how to start the stack.
pub fn require_stack() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err()
        && std::env::var("AWS_ENDPOINT_URL").is_err()
    {
        panic!(
            "the local stack is not configured: run `make test`, or `make stack && source scripts/env.sh` \
             before running tests directly"
        );
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    /// A fresh table and keyset; `configure` may change the defaults (token lifetimes, limits...).
    pub async fn with_config(configure: impl FnOnce(&mut Config)) -> Self {
        require_stack();
        Self::with_sdk(aws::sdk_config().await, configure).await
    }

    /// Like [`TestApp::with_config`], on the AWS endpoints `sdk` names (reliability: a DynamoDB
    /// Local of the test's own, which it may stop and restart).
    pub async fn with_sdk(sdk: aws_config::SdkConfig, configure: impl FnOnce(&mut Config)) -> Self {
        let dynamodb = aws::dynamodb(&sdk);
        Self::with_dynamodb(sdk, dynamodb, configure).await
    }

    /// Like [`TestApp::with_sdk`], with `dynamodb` as the functions' client (reliability: the
    /// deployed timeouts rather than the local stack's). The table is created with a client of
    /// the environment's own settings, so setting it up is not part of what is tested.
    pub async fn with_dynamodb(
        sdk: aws_config::SdkConfig,
        dynamodb: aws_sdk_dynamodb::Client,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let table_name = format!("test-{}", Uuid::new_v4().simple());
        let mut config = Config::for_table(&table_name);
        // Tests send hundreds of requests a minute as one user; `rate_limit.rs` sets real limits.
        config.request_limits = gigmarket_shared::domain::quota::RequestLimits::LIFTED;
        configure(&mut config);
        table::create_table(&aws::dynamodb(&sdk), &table_name)
            .await
            .expect("creating test table");
        let (signing_keyset, keyset) = new_keyset("test-key-1");
        let keys = JwtKeys::from_document(&keyset).expect("valid keyset");
        let verifying_state = AppState::new(config, dynamodb, keys);
        let state = verifying_state
            .clone()
            .with_signing_keys(
                JwtSigningKeys::from_document(&signing_keyset).expect("valid signing keyset"),
            )
            .expect("the signing key's public key is in the keyset");
        let stripe = StripeClient::new(StripeConfig::from_env().expect(
            "STRIPE_SECRET_KEY and STRIPE_API_BASE (scripts/stack.sh start, source scripts/env.sh)",
        ))
        .expect("the Stripe client");
        // The files bucket the local stack created in moto (FILES_BUCKET, scripts/env.sh).
        let storage = aws::file_storage(&sdk).expect(
            "FILES_BUCKET and the S3 endpoint (scripts/stack.sh start, source scripts/env.sh)",
        );
        // The search index bucket: one per app, like the table, in the environment's moto (a
        // reliability test's `sdk` may point every service at a DynamoDB of its own).
        let s3 = aws::s3(&aws::sdk_config().await);
        let bucket_name = format!("test-search-{}", Uuid::new_v4().simple());
        s3.create_bucket()
            .bucket(&bucket_name)
            .send()
            .await
            .expect("a search index bucket in moto");
        let search_index = SearchIndexBucket::new(s3, bucket_name);
        let indexer = indexer::Indexer::new(
            verifying_state.store.clone(),
            search_index.clone(),
            gigmarket_search::published::Replica::load(&search_index)
                .await
                .expect("the writer's copy"),
        );
        // Polls on every request: the rebuild before it has just published.
        let search_reader =
            gigmarket_search::reader::Reader::load(&search_index, std::time::Duration::ZERO)
                .await
                .expect("the reader's copy");
        let signing_state = state;
        // Only `auth` holds the signing key; the others verify with the public keys alone.
        let state = verifying_state.clone();
        let routers = HashMap::from([
            ("auth", auth::router(signing_state.clone())),
            ("users", users::router(state.clone())),
            (
                "orders",
                orders::router(state.clone(), stripe.clone(), storage.clone()),
            ),
            ("gigs", ::gigs::router(state.clone())),
            (
                "search",
                ::search::router(state.clone(), search_index.clone(), search_reader),
            ),
            ("reviews", ::reviews::router(state.clone())),
            // Messaging.
            (
                "messages",
                ::messages::router(state.clone(), storage.clone()),
            ),
            ("admin", ::admin::router(state.clone(), stripe.clone())),
            (
                "payments",
                ::payments::router(
                    state.clone(),
                    SigningSecrets::parse(WEBHOOK_SECRET).expect("a secret"),
                    stripe.clone(),
                ),
            ),
            ("realtime", ::realtime::router(state.clone())),
            (
                "payouts",
                ::payouts::router(
                    state.clone(),
                    ::payouts::ConnectSecrets(
                        SigningSecrets::parse(CONNECT_WEBHOOK_SECRET).expect("a secret"),
                    ),
                    stripe.clone(),
                ),
            ),
        ]);
        let mut by_path: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
        for route in ROUTES {
            by_path
                .entry(route.path)
                .or_default()
                .push((route.method, route.function));
        }
        let mut matcher = matchit::Router::new();
        for (path, methods) in by_path {
            matcher.insert(path, methods).expect("distinct paths");
        }
        Self {
            state: signing_state,
            verifying_state,
            keyset,
            signing_keyset,
            sdk,
            stripe,
            search_index,
            indexer,
            search_catch_up: std::sync::atomic::AtomicBool::new(true),
            routers,
            matcher,
        }
    }

    /// Sends the request through the function that the route table assigns to its path, as API
    /// Gateway would. Unknown paths go to `auth`'s router, whose fallback answers 404.
    pub async fn send(&self, request: RawRequest) -> TestResponse {
        self.send_in(request, None).await
    }

    /// [`TestApp::send`] as Lambda invokes the function: with an invocation context whose
    /// deadline is `timeout` from now, so the API's own deadline (`web::ANSWER_MARGIN` before
    /// it) applies as deployed.
    pub async fn send_with_timeout(
        &self,
        request: RawRequest,
        timeout: std::time::Duration,
    ) -> TestResponse {
        let deadline = std::time::SystemTime::now() + timeout;
        let mut context = lambda_http::Context::default();
        context.deadline = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after the epoch")
            .as_millis() as u64;
        self.send_in(request, Some(context)).await
    }

    async fn send_in(
        &self,
        request: RawRequest,
        context: Option<lambda_http::Context>,
    ) -> TestResponse {
        let event = request.to_apigw_event().to_string();
        let path = request.path.split('?').next().unwrap_or_default();
        // A path's methods share one function but for `/gigs` (GET is `search`'s); a method
        // the path lacks goes to the first, whose router answers 405.
        let function = self
            .matcher
            .at(path)
            .ok()
            .and_then(|matched| {
                let methods = matched.value;
                methods
                    .iter()
                    .find(|(method, _)| *method == request.method)
                    .or(methods.first())
                    .map(|(_, function)| *function)
            })
            .unwrap_or("auth");
        self.invoke_in(function, &event, context).await
    }

    /// Invokes one function's router with a raw API Gateway HTTP API (v2) event, as Lambda would
    /// (what `cargo lambda invoke <function> --data-file <event>` does against the real binary).
    pub async fn invoke(&self, function: &str, event: &str) -> TestResponse {
        self.invoke_in(function, event, None).await
    }

    /// Runs the indexer's full rebuild: the published index then holds the table's listed gigs.
    pub async fn catch_up_search_index(&self) {
        self.indexer
            .rebuild(time::OffsetDateTime::now_utc())
            .await
            .expect("the search index caught up with the table");
    }

    /// Whether a request to `search` runs [`TestApp::catch_up_search_index`] first (on by
    /// default). The cost bench turns it off to count a search's own reads.
    pub fn set_search_catch_up(&self, on: bool) {
        self.search_catch_up
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// `GET <path>` through the `search` router on the index as published, without the full
    /// rebuild [`TestApp::send`] runs first: what a client sees before the writer catches up.
    pub async fn search_as_published(&self, path: &str) -> TestResponse {
        let event = RawRequest::new("GET", path).to_apigw_event().to_string();
        self.call_router("search", &event, None).await
    }

    async fn invoke_in(
        &self,
        function: &str,
        event: &str,
        context: Option<lambda_http::Context>,
    ) -> TestResponse {
        if function == "search"
            && self
                .search_catch_up
                .load(std::sync::atomic::Ordering::SeqCst)
        {
            self.catch_up_search_index().await;
        }
        self.call_router(function, event, context).await
    }

    async fn call_router(
        &self,
        function: &str,
        event: &str,
        context: Option<lambda_http::Context>,
    ) -> TestResponse {
        use lambda_http::RequestExt;
        let mut http_request =
            lambda_http::request::from_str(event).expect("valid API Gateway event");
        if let Some(context) = context {
            http_request = http_request.with_lambda_context(context);
        }
        let router = self
            .routers
            .get(function)
            .unwrap_or_else(|| panic!("no router for {function}"));
        let response = router
            .clone()
            .oneshot(http_request)
            .await
            .expect("routers are infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        let mut request = RawRequest::new("GET", path);
        if let Some(token) = token {
            request = request.bearer(token);
        }
        self.send(request).await
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> TestResponse {
        self.with_body("POST", path, body, token).await
    }

    pub async fn patch(&self, path: &str, body: &Value, token: Option<&str>) -> TestResponse {
        self.with_body("PATCH", path, body, token).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> TestResponse {
        let mut request = RawRequest::new("DELETE", path);
        if let Some(token) = token {
            request = request.bearer(token);
        }
        self.send(request).await
    }

    async fn with_body(
        &self,
        method: &'static str,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> TestResponse {
        let mut request = RawRequest::new(method, path).json(body);
        if let Some(token) = token {
            request = request.bearer(token);
        }
        self.send(request).await
    }

    /// Registers a user with a unique email, verifies their email (as following the mailed link
    /// would) and returns the session body. Most tests are about what verified users do;
    /// `register_unverified` is the user right after registration.
    pub async fn register(&self, role: &str) -> Session {
        let session = self.register_unverified(role).await;
        self.state
            .store
            .mark_email_verified(session.id, time::OffsetDateTime::now_utc())
            .await
            .expect("marking the test user verified");
        session
    }

    /// Registers a user with a unique email and returns the session body; the email stays
    /// unverified.
    pub async fn register_unverified(&self, role: &str) -> Session {
        let email = format!("{role}-{}@example.com", Uuid::new_v4().simple());
        let response = self
            .post(
                "/auth/register",
                &json!({"email": email, "password": PASSWORD, "name": format!("Test {role}"), "role": role}),
                None,
            )
            .await;
        assert_eq!(response.status, 201, "register failed: {response:?}");
        Session::from_body(&response.body, email)
    }

    pub async fn register_client(&self) -> Session {
        self.register("client").await
    }

    pub async fn register_freelancer(&self) -> Session {
        self.register("freelancer").await
    }

    /// A new session of `session`'s account, by logging in again with [`PASSWORD`]: what a user
    /// does after a block (which ends every session) was lifted.
    pub async fn sign_in_again(&self, session: &Session) -> Session {
        let login = self.login(&session.email, PASSWORD).await;
        assert_eq!(login.status, 200, "signing in again: {login:?}");
        Session::from_body(&login.body, session.email.clone())
    }

    /// Exchanges a refresh token (`POST /auth/refresh`).
    pub async fn refresh(&self, refresh_token: &str) -> TestResponse {
        self.post(
            "/auth/refresh",
            &json!({"refresh_token": refresh_token}),
            None,
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.post(
            "/auth/login",
            &json!({"email": email, "password": password}),
            None,
        )
        .await
    }

    /// Signs arbitrary claims with an Ed25519 seed under `kid` (this app's: [`TestApp::seed`]),
    /// for token-forgery tests.
    pub fn sign(&self, claims: &Value, kid: &str, seed: &[u8]) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &ed25519_key(seed)).expect("sign")
    }

    /// The seed of this app's active signing key.
    pub fn seed(&self) -> Vec<u8> {
        use base64::Engine;
        let encoded = &self.signing_keyset.keys[&self.signing_keyset.active_kid];
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .expect("keyset seed")
    }

    /// The public key under `kid` in this app's verifying keyset.
    pub fn public_key(&self, kid: &str) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&self.keyset.keys[kid])
            .expect("public key")
    }
}

/// The jsonwebtoken signing key of an Ed25519 seed.
pub fn ed25519_key(seed: &[u8]) -> jsonwebtoken::EncodingKey {
    let pair = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(seed).expect("a seed");
    jsonwebtoken::EncodingKey::from_ed_der(pair.to_pkcs8().expect("pkcs8").as_ref())
}

/// A fresh signing keyset of one key, and the verifying keyset with its public key.
pub fn new_keyset(kid: &str) -> (SigningKeysetDocument, KeysetDocument) {
    gigmarket_shared::auth::access::generate_documents(kid)
}

/// A logged-in user as the tests see them.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl Session {
    pub fn from_body(body: &Value, email: String) -> Self {
        Self {
            id: body["user"]["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .expect("user id"),
            email,
            access_token: body["access_token"]
                .as_str()
                .expect("access token")
                .to_owned(),
            refresh_token: body["refresh_token"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
        }
    }
}

/// A path in the repository, from the tests crate.
pub fn repo_path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// Every crate in `functions/`: one Lambda function each.
pub fn function_crates() -> std::collections::BTreeSet<String> {
    std::fs::read_dir(repo_path("functions"))
        .expect("functions/")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            path.join("Cargo.toml")
                .exists()
                .then(|| path.file_name()?.to_str().map(str::to_owned))?
        })
        .collect()
}

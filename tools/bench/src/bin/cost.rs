//! Cost per route (`make bench`): every route of `routes::ROUTES` called
//! once on its success path, in-process against DynamoDB Local, counting the DynamoDB requests and
//! the read and write capacity each call consumed (`shared::capacity_log`, on when
//! `GIGMARKET_DYNAMODB_CAPACITY` is set, which `scripts/bench.sh` does). Prints a markdown table
//! with the cost per million calls and marks the routes that miss the targets: a read in one
//! DynamoDB request, a state change in one write request (the reads a change makes first, to
//! check who may do what to the current state, are shown beside it). A second table does the same
//! for the real-time steps that are not routes. The files routes add S3 requests: the function's
//! own (HeadObject when a delivery or a message uses a file, counted by
//! `capacity_log::S3Requests`) and the browser's that the route hands out (the upload's POST to
//! its presigned form, the download's GET after the 302), which the bench makes as a browser
//! would and counts. A second table does the same
//! for the real-time steps that are not routes (`$connect`, `$disconnect`, a push to one live
//! connection through the local gateway) and adds API Gateway's WebSocket prices: per million
//! messages pushed, connection-minutes and connections.
//!
//! ```sh
//! GIGMARKET_DYNAMODB_CAPACITY=1 cargo run --profile bench-fast -p bench --bin cost
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use futures_util::StreamExt;
use gigmarket_shared::capacity_log::{self, Consumed};
use gigmarket_shared::domain::account_token::TokenPurpose;
use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::domain::message::Message;
use gigmarket_shared::events::pushes;
use gigmarket_shared::routes::ROUTES;
use gigmarket_shared::stripe::signature;
use gigmarket_tests::files;
use gigmarket_tests::fixtures::Cast;
use gigmarket_tests::fixtures::{gig_body, gig_id, order_body};
use gigmarket_tests::payments::{CARD_OK, confirm_with};
use gigmarket_tests::{
    CONNECT_WEBHOOK_SECRET, PASSWORD, RawRequest, Session, TestApp, TestResponse, WEBHOOK_SECRET,
};
use realtime::push::Posted;
use serde_json::{Value, json};
use uuid::Uuid;

/// us-east-1 list prices (USD), as published by AWS in 2025 (DynamoDB on-demand after its
/// 2024-11-01 reduction).
const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
/// Lambda on arm64, per GB-second (first 6 billion GB-seconds a month).
const LAMBDA_ARM64_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// The functions' memory (infra: 128 MB).
const LAMBDA_MEMORY_GB: f64 = 128.0 / 1024.0;
/// DynamoDB on-demand, per million read request units (one strongly consistent read of up to
/// 4 KB; transactions count double).
const DYNAMODB_PER_MILLION_READ_UNITS: f64 = 0.125;
/// DynamoDB on-demand, per million write request units (a write of up to 1 KB).
const DYNAMODB_PER_MILLION_WRITE_UNITS: f64 = 0.625;

/// S3 Standard, us-east-1: PUT, COPY, POST, LIST per million requests, and GET, HEAD and the
/// others (DELETE is free; none is on a success path here).
const S3_PER_MILLION_POSTS: f64 = 5.00;
const S3_PER_MILLION_GETS: f64 = 0.40;

/// API Gateway WebSocket API, us-east-1: per million messages (each 32 KB a message) and per
/// million connection-minutes.
const WEBSOCKET_PER_MILLION_MESSAGES: f64 = 1.00;
const WEBSOCKET_PER_MILLION_CONNECTION_MINUTES: f64 = 0.25;

/// One measured call.
struct Measured {
    status: u16,
    consumed: Consumed,
    elapsed: Duration,
    /// S3 requests the function sent (HeadObject: GET-priced).
    s3_by_function: u64,
    /// S3 requests the browser makes with what the route answered: uploads (POST-priced) and
    /// downloads (GET-priced).
    s3_uploads: u64,
    s3_downloads: u64,
}

impl Measured {
    /// USD per million such calls: Lambda (an invocation, billed by the millisecond rounded up)
    /// and DynamoDB (the consumed units).
    fn usd_per_million(&self) -> f64 {
        let millis = self.elapsed.as_secs_f64() * 1000.0;
        let lambda = LAMBDA_PER_MILLION_REQUESTS
            + millis.ceil() / 1000.0 * LAMBDA_MEMORY_GB * LAMBDA_ARM64_PER_GB_SECOND * 1e6;
        let dynamodb = self.consumed.read_units * DYNAMODB_PER_MILLION_READ_UNITS
            + self.consumed.write_units * DYNAMODB_PER_MILLION_WRITE_UNITS;
        lambda + dynamodb + self.s3_usd_per_million()
    }

    /// USD per million such calls in S3 requests, the browser's included.
    fn s3_usd_per_million(&self) -> f64 {
        (self.s3_by_function + self.s3_downloads) as f64 * S3_PER_MILLION_GETS
            + self.s3_uploads as f64 * S3_PER_MILLION_POSTS
    }

    /// The table cells every measured call has: status, DynamoDB requests (reads + writes), RCU,
    /// WCU, in-process milliseconds, USD per million.
    fn cells(&self) -> String {
        let Consumed {
            read_requests,
            write_requests,
            read_units,
            write_units,
        } = self.consumed;
        format!(
            "{} | {read_requests} + {write_requests} | {read_units} | {write_units} | {:.1} | {:.2}",
            self.status,
            self.elapsed.as_secs_f64() * 1000.0,
            self.usd_per_million()
        )
    }
}

/// Measures `work`'s DynamoDB requests, capacity and time; `status` reads its outcome.
async fn measured<T>(work: impl Future<Output = T>, status: impl Fn(&T) -> u16) -> (T, Measured) {
    capacity_log::take();
    let started = Instant::now();
    let output = work.await;
    let elapsed = started.elapsed();
    let row = Measured {
        status: status(&output),
        consumed: capacity_log::take(),
        elapsed,
        s3_by_function: capacity_log::take_s3_requests(),
        s3_uploads: 0,
        s3_downloads: 0,
    };
    (output, row)
}

struct Bench {
    app: TestApp,
    rows: BTreeMap<String, Measured>,
}

impl Bench {
    /// Sends `request` as `route` ("METHOD /path/{id}") and records what it cost; setup calls
    /// before it are not counted.
    async fn call(&mut self, route: &str, request: RawRequest) -> TestResponse {
        capacity_log::take();
        capacity_log::take_s3_requests();
        let started = Instant::now();
        let response = self.app.send(request).await;
        let elapsed = started.elapsed();
        let consumed = capacity_log::take();
        self.rows.insert(
            route.to_owned(),
            Measured {
                status: response.status,
                consumed,
                elapsed,
                s3_by_function: capacity_log::take_s3_requests(),
                s3_uploads: 0,
                s3_downloads: 0,
            },
        );
        response
    }

    /// Declares a file at `path` (the route `route`) and uploads it as the browser does, counted
    /// on the route; answers the file's id.
    async fn file_uploaded(&mut self, route: &str, path: &str, token: Option<&str>) -> String {
        let body = vec![7u8; 48_213];
        let declared = self
            .call(
                route,
                post(
                    path,
                    token,
                    json!({"filename": "logo-final.png", "content_type": "image/png", "size_bytes": body.len()}),
                ),
            )
            .await;
        assert_eq!(declared.status, 201, "{declared:?}");
        assert_eq!(
            files::upload(&declared.body["upload"], body, None).await,
            204
        );
        self.rows.get_mut(route).expect("measured").s3_uploads += 1;
        declared.body["file"]["id"]
            .as_str()
            .expect("a file id")
            .to_owned()
    }

    /// A file declared and uploaded at `files` (measured as `POST <files>` again, the same
    /// cost), then deleted unused by its uploader: the route `route`.
    async fn file_deleted(&mut self, route: &str, files: &str, token: Option<&str>) {
        let declare_route = route.replace("DELETE ", "POST ").replace("/{file_id}", "");
        let spare = self.file_uploaded(&declare_route, files, token).await;
        let request = RawRequest::new("DELETE", format!("{files}/{spare}"));
        let request = match token {
            Some(token) => request.bearer(token),
            None => request,
        };
        let deleted = self.call(route, request).await;
        assert_eq!(deleted.status, 204, "{deleted:?}");
    }

    /// A download (the route `route`): its 302, and the browser's GET of the presigned URL,
    /// counted on the route.
    async fn file_downloaded(&mut self, route: &str, path: &str, token: Option<&str>) {
        let redirect = self.call(route, get(path, token)).await;
        let location = redirect.header("location").expect("a 302 to S3");
        assert_eq!(files::download(location).await.status().as_u16(), 200);
        self.rows.get_mut(route).expect("measured").s3_downloads += 1;
    }
}

fn post(path: &str, token: Option<&str>, body: Value) -> RawRequest {
    let request = RawRequest::new("POST", path).json(&body);
    match token {
        Some(token) => request.bearer(token),
        None => request,
    }
}

fn get(path: &str, token: Option<&str>) -> RawRequest {
    let request = RawRequest::new("GET", path);
    match token {
        Some(token) => request.bearer(token),
        None => request,
    }
}

fn id_of(response: &TestResponse) -> String {
    response.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an id: {response:?}"))
        .to_owned()
}

async fn token(app: &TestApp, session: &Session, purpose: TokenPurpose) -> String {
    let user = app
        .state
        .store
        .get_user(session.id)
        .await
        .unwrap()
        .expect("user");
    app.state
        .accounts()
        .issue_token(&user, purpose, time::OffsetDateTime::now_utc())
        .await
        .expect("token issued")
        .token
}

// One thread, as the Lambda runtime runs a handler.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert!(
        std::env::var_os(capacity_log::ENV).is_some(),
        "set {} so the DynamoDB clients count capacity",
        capacity_log::ENV
    );
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let mut bench = Bench {
        app,
        rows: BTreeMap::new(),
    };
    let (client, freelancer, admin) = (
        cast.client.access_token.clone(),
        cast.freelancer.access_token.clone(),
        cast.admin.access_token.clone(),
    );
    let (client, freelancer, admin) = (Some(&*client), Some(&*freelancer), Some(&*admin));

    // Accounts.
    let email = format!("cost-{}@example.com", Uuid::new_v4().simple());
    bench
        .call(
            "POST /auth/register",
            post(
                "/auth/register",
                None,
                json!({"email": email, "password": PASSWORD, "name": "Cost", "role": "client"}),
            ),
        )
        .await;
    let login = bench
        .call(
            "POST /auth/login",
            post(
                "/auth/login",
                None,
                json!({"email": email, "password": PASSWORD}),
            ),
        )
        .await;
    let fresh = Session::from_body(&login.body, email.clone());
    let refreshed = bench
        .call(
            "POST /auth/refresh",
            post(
                "/auth/refresh",
                None,
                json!({"refresh_token": fresh.refresh_token}),
            ),
        )
        .await;
    bench
        .call(
            "POST /auth/verify/resend",
            post("/auth/verify/resend", Some(&fresh.access_token), json!({})),
        )
        .await;
    let verify = token(&bench.app, &fresh, TokenPurpose::EmailVerification).await;
    bench
        .call(
            "POST /auth/verify",
            post("/auth/verify", None, json!({"token": verify})),
        )
        .await;
    bench
        .call(
            "POST /auth/logout",
            post(
                "/auth/logout",
                Some(&fresh.access_token),
                json!({"refresh_token": refreshed.body["refresh_token"]}),
            ),
        )
        .await;
    bench
        .call(
            "POST /auth/password/forgot",
            post("/auth/password/forgot", None, json!({"email": email})),
        )
        .await;
    let reset = token(&bench.app, &fresh, TokenPurpose::PasswordReset).await;
    bench
        .call(
            "POST /auth/password/reset",
            post(
                "/auth/password/reset",
                None,
                json!({"token": reset, "password": "a fresh reset password"}),
            ),
        )
        .await;
    let relogin = bench.app.login(&email, "a fresh reset password").await;
    let fresh = Session::from_body(&relogin.body, email.clone());
    bench
        .call(
            "POST /auth/password/change",
            post(
                "/auth/password/change",
                Some(&fresh.access_token),
                json!({"current_password": "a fresh reset password", "new_password": "an even longer password"}),
            ),
        )
        .await;

    // Users.
    bench.call("GET /me", get("/me", client)).await;
    bench
        .call(
            "PATCH /me",
            RawRequest::new("PATCH", "/me")
                .bearer(client.unwrap())
                .json(
                    &json!({"bio": "I build things", "skills": ["Rust", "AWS"], "country": "DE"}),
                ),
        )
        .await;
    let freelancer_id = cast.freelancer.id;
    bench
        .call(
            "GET /users/{id}",
            get(&format!("/users/{freelancer_id}"), None),
        )
        .await;

    // Gigs.
    let created = bench
        .call(
            "POST /gigs",
            post("/gigs", freelancer, gig_body("I will write a cost report")),
        )
        .await;
    let draft = gig_id(&created.body);
    let own = bench
        .call("GET /gigs/{id}", get(&format!("/gigs/{draft}"), freelancer))
        .await;
    let etag = own.header("etag").expect("an ETag").to_owned();
    let edited = bench
        .call(
            "PATCH /gigs/{id}",
            RawRequest::new("PATCH", format!("/gigs/{draft}"))
                .bearer(freelancer.unwrap())
                .header("if-match", &etag)
                .json(&json!({"title": "I will write a careful cost report"})),
        )
        .await;
    let reviewed = edited.header("etag").expect("an ETag").to_owned();
    bench
        .call(
            "GET /admin/gigs",
            get("/admin/gigs?status=pending_review&limit=20", admin),
        )
        .await;
    bench
        .call(
            "POST /admin/gigs/{id}/approve",
            post(&format!("/admin/gigs/{draft}/approve"), admin, json!({}))
                .header("if-match", &reviewed),
        )
        .await;
    bench
        .call(
            "POST /gigs/{id}/pause",
            post(&format!("/gigs/{draft}/pause"), freelancer, json!({})),
        )
        .await;
    bench
        .call(
            "POST /gigs/{id}/resume",
            post(&format!("/gigs/{draft}/resume"), freelancer, json!({})),
        )
        .await;
    let to_reject = gig_id(
        &bench
            .app
            .create_gig(&cast.freelancer, &gig_body("I will be turned down"))
            .await,
    );
    bench
        .call(
            "POST /admin/gigs/{id}/reject",
            post(
                &format!("/admin/gigs/{to_reject}/reject"),
                admin,
                json!({"reason": "Not a service we list"}),
            )
            .header("if-match", "\"1\""),
        )
        .await;
    bench
        .call(
            "DELETE /gigs/{id}",
            RawRequest::new("DELETE", format!("/gigs/{to_reject}")).bearer(freelancer.unwrap()),
        )
        .await;
    let to_remove = bench
        .app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    bench
        .call(
            "POST /admin/gigs/{id}/remove",
            post(
                &format!("/admin/gigs/{}/remove", to_remove.id),
                admin,
                json!({"reason": "Sells a counterfeit service"}),
            ),
        )
        .await;
    // The index caught up and loaded by the reader first, outside the row: a search reads only
    // the page's gigs, and its reader asks S3 whether the manifest changed (the tests' reader
    // asks on every request; deployed, an instance asks every SEARCH_INDEX_POLL_SECS).
    bench.app.catch_up_search_index().await;
    bench.app.set_search_catch_up(false);
    bench
        .app
        .send(get("/gigs?q=logo&category=graphics-design&limit=20", None))
        .await;
    bench
        .call(
            "GET /gigs",
            get("/gigs?q=logo&category=graphics-design&limit=20", None),
        )
        .await;
    bench.app.set_search_catch_up(true);
    bench
        .call("GET /me/gigs", get("/me/gigs?limit=20", freelancer))
        .await;
    bench
        .call(
            "GET /users/{id}/gigs",
            get(&format!("/users/{freelancer_id}/gigs?limit=20"), None),
        )
        .await;
    bench
        .call("GET /categories", get("/categories", None))
        .await;

    // Orders.
    let order_body = order_body(&gig);
    let placed = bench
        .call(
            "POST /orders",
            post("/orders", client, order_body.clone())
                .header("idempotency-key", &Uuid::new_v4().to_string()),
        )
        .await;
    let order = id_of(&placed);
    // Paid as a browser pays, and applied as the webhook applies it.
    bench
        .app
        .pay_order(order.parse().expect("an order id"))
        .await;
    bench
        .call("GET /orders", get("/orders?limit=20", client))
        .await;
    bench
        .call("GET /orders/{id}", get(&format!("/orders/{order}"), client))
        .await;
    bench
        .call(
            "POST /orders/{id}/accept",
            post(&format!("/orders/{order}/accept"), freelancer, json!({})),
        )
        .await;
    // The delivery's file: declared (the presigned POST) and uploaded by the browser; the
    // delivery checks it in S3 (HeadObject).
    let file = bench
        .file_uploaded(
            "POST /orders/{id}/files",
            &format!("/orders/{order}/files"),
            freelancer,
        )
        .await;
    // A second file, uploaded and deleted unused (DeleteObject).
    bench
        .file_deleted(
            "DELETE /orders/{id}/files/{file_id}",
            &format!("/orders/{order}/files"),
            freelancer,
        )
        .await;
    let delivery = json!({"message": "Here it is.", "attachments": ["https://files.example.com/logo.svg"], "file_ids": [file]});
    bench
        .call(
            "POST /orders/{id}/deliver",
            post(
                &format!("/orders/{order}/deliver"),
                freelancer,
                delivery.clone(),
            ),
        )
        .await;
    bench
        .call(
            "GET /orders/{id}/files",
            get(&format!("/orders/{order}/files"), client),
        )
        .await;
    bench
        .file_downloaded(
            "GET /orders/{id}/files/{file_id}",
            &format!("/orders/{order}/files/{file}"),
            client,
        )
        .await;
    bench
        .call(
            "POST /orders/{id}/request-revision",
            post(
                &format!("/orders/{order}/request-revision"),
                client,
                json!({"message": "A little bluer, please."}),
            ),
        )
        .await;
    bench
        .app
        .post(&format!("/orders/{order}/deliver"), &delivery, freelancer)
        .await;
    bench
        .call(
            "POST /orders/{id}/complete",
            post(&format!("/orders/{order}/complete"), client, json!({})),
        )
        .await;
    let to_reject = bench.app.place_order(&cast.client, &gig).await;
    bench
        .call(
            "POST /orders/{id}/reject",
            post(
                &format!("/orders/{to_reject}/reject"),
                freelancer,
                json!({"reason": "Fully booked"}),
            ),
        )
        .await;
    let to_cancel = bench.app.place_order(&cast.client, &gig).await;
    bench
        .call(
            "POST /orders/{id}/cancel",
            post(
                &format!("/orders/{to_cancel}/cancel"),
                client,
                json!({"reason": "Found another way"}),
            ),
        )
        .await;

    // Reviews: the client's review (sealed), the freelancer's (both published), the reply.
    let review = bench
        .call(
            "POST /reviews",
            post(
                "/reviews",
                client,
                json!({"order_id": order, "rating": 5, "comment": "A clean logo, delivered early."}),
            ),
        )
        .await;
    let review = id_of(&review);
    bench
        .app
        .post(
            "/reviews",
            &json!({"order_id": order, "rating": 5, "comment": "Clear brief, quick answers."}),
            freelancer,
        )
        .await;
    bench
        .call(
            "POST /reviews/{id}/reply",
            post(
                &format!("/reviews/{review}/reply"),
                freelancer,
                json!({"comment": "Thank you!"}),
            ),
        )
        .await;
    bench
        .call(
            "GET /gigs/{id}/reviews",
            get(&format!("/gigs/{}/reviews?limit=10", gig.id), None),
        )
        .await;
    bench
        .call(
            "GET /users/{id}/reviews",
            get(
                &format!("/users/{freelancer_id}/reviews?as=seller&limit=10"),
                None,
            ),
        )
        .await;

    // Messages.
    let opened = bench
        .call(
            "POST /conversations",
            post(
                "/conversations",
                client,
                json!({"participant_id": freelancer_id, "order_id": order, "text": "Can the logo be blue?"}),
            ),
        )
        .await;
    let conversation = opened.body["conversation"]["id"]
        .as_str()
        .or(opened.body["id"].as_str())
        .unwrap_or_else(|| panic!("a conversation id: {opened:?}"))
        .to_owned();
    let attachment = bench
        .file_uploaded(
            "POST /conversations/{id}/files",
            &format!("/conversations/{conversation}/files"),
            freelancer,
        )
        .await;
    bench
        .file_deleted(
            "DELETE /conversations/{id}/files/{file_id}",
            &format!("/conversations/{conversation}/files"),
            freelancer,
        )
        .await;
    bench
        .call(
            "POST /conversations/{id}/messages",
            post(
                &format!("/conversations/{conversation}/messages"),
                freelancer,
                json!({"text": "Sure, blue it is.", "file_ids": [attachment]}),
            ),
        )
        .await;
    bench
        .call(
            "GET /conversations/{id}/files",
            get(&format!("/conversations/{conversation}/files"), client),
        )
        .await;
    bench
        .file_downloaded(
            "GET /conversations/{id}/files/{file_id}",
            &format!("/conversations/{conversation}/files/{attachment}"),
            client,
        )
        .await;
    bench
        .call("GET /conversations", get("/conversations?limit=10", client))
        .await;
    bench
        .call(
            "GET /conversations/{id}/messages",
            get(
                &format!("/conversations/{conversation}/messages?limit=20"),
                client,
            ),
        )
        .await;
    bench
        .call(
            "POST /conversations/{id}/read",
            post(
                &format!("/conversations/{conversation}/read"),
                client,
                json!({}),
            ),
        )
        .await;

    // Admin.
    let stranger = cast.stranger.id;
    bench
        .call(
            "GET /admin/users/{id}",
            get(&format!("/admin/users/{stranger}"), admin),
        )
        .await;
    bench
        .call(
            "POST /admin/users/{id}/block",
            post(
                &format!("/admin/users/{stranger}/block"),
                admin,
                json!({"reason": "Spam gigs"}),
            ),
        )
        .await;
    bench
        .call(
            "POST /admin/users/{id}/unblock",
            post(
                &format!("/admin/users/{stranger}/unblock"),
                admin,
                json!({}),
            ),
        )
        .await;
    bench
        .call(
            "GET /admin/audit",
            get(&format!("/admin/audit?target={stranger}&limit=20"), admin),
        )
        .await;
    bench
        .call("GET /admin/metrics", get("/admin/metrics", admin))
        .await;
    bench
        .call(
            "POST /admin/reviews/{id}/hide",
            post(
                &format!("/admin/reviews/{review}/hide"),
                admin,
                json!({"reason": "Abusive language"}),
            ),
        )
        .await;
    bench
        .call(
            "POST /admin/reviews/{id}/unhide",
            post(&format!("/admin/reviews/{review}/unhide"), admin, json!({})),
        )
        .await;
    bench
        .call(
            "GET /admin/users",
            get("/admin/users?role=client&status=active&limit=20", admin),
        )
        .await;
    bench
        .call("GET /admin/orders", get("/admin/orders?limit=20", admin))
        .await;
    bench
        .call("GET /admin/reviews", get("/admin/reviews?limit=20", admin))
        .await;
    bench
        .call(
            "GET /admin/payments",
            get("/admin/payments?limit=20", admin),
        )
        .await;
    let admin_cancelled = bench.app.place_order(&cast.client, &gig).await;
    bench
        .call(
            "POST /admin/orders/{id}/cancel",
            post(
                &format!("/admin/orders/{admin_cancelled}/cancel"),
                admin,
                json!({"reason": "Payment dispute"}),
            ),
        )
        .await;

    // Real time: a connection ticket.
    bench
        .call(
            "POST /realtime/tickets",
            post("/realtime/tickets", client, json!({})),
        )
        .await;

    // Real time beside the routes: a connection's `$connect` and `$disconnect` as the WebSocket
    // API delivers them to `realtime`, and the push of a sent message to one live connection.
    let socket_rows = realtime_steps(&bench.app, &cast, &conversation).await;

    // Payments: Stripe's own payment_intent.succeeded of a real confirm, delivered signed.
    let unpaid = bench.app.place_unpaid_order(&cast.client, &gig).await;
    let intent_id = bench.app.payment_intent(unpaid).await.id;
    let (status, _) = confirm_with(&intent_id, CARD_OK).await;
    assert!(status.is_success(), "confirming the bench's payment");
    let succeeded = bench
        .app
        .stripe_event("payment_intent.succeeded", |intent| {
            intent["id"] == intent_id
        })
        .await;
    let body = succeeded.to_string();
    let signed_at = time::OffsetDateTime::now_utc().unix_timestamp();
    let header = signature::header(WEBHOOK_SECRET.as_bytes(), signed_at, body.as_bytes());
    bench
        .call(
            "POST /webhooks/stripe",
            RawRequest::new("POST", "/webhooks/stripe")
                .header("Stripe-Signature", &header)
                .raw_body("application/json", body),
        )
        .await;

    // Payouts: the freelancer's page, onboarding through the local Stripe's link, the account's
    // account.updated on the Connect webhook, then a withdrawal of the cleared earnings.
    bench
        .call("GET /me/payouts", get("/me/payouts?limit=20", freelancer))
        .await;
    let onboarding = bench
        .call(
            "POST /me/payouts/account",
            post("/me/payouts/account", freelancer, json!({"country": "DE"})),
        )
        .await;
    let link = onboarding.body["onboarding_url"]
        .as_str()
        .unwrap()
        .to_owned();
    gigmarket_tests::payouts::follow_onboarding_link(&link).await;
    let account_id = bench
        .app
        .state
        .store
        .payout_account(cast.freelancer.id)
        .await
        .unwrap()
        .expect("the payout account")
        .stripe_account_id;
    let updated = bench.app.account_updated(&account_id).await.to_string();
    let signed_at = time::OffsetDateTime::now_utc().unix_timestamp();
    let header = signature::header(
        CONNECT_WEBHOOK_SECRET.as_bytes(),
        signed_at,
        updated.as_bytes(),
    );
    bench
        .call(
            "POST /webhooks/stripe/connect",
            RawRequest::new("POST", "/webhooks/stripe/connect")
                .header("Stripe-Signature", &header)
                .raw_body("application/json", updated),
        )
        .await;
    // Off: the withdrawal below is the freelancer's own.
    bench
        .call(
            "PUT /me/payouts/settings",
            RawRequest::new("PUT", "/me/payouts/settings")
                .bearer(freelancer.unwrap())
                .json(&json!({"auto_withdraw": false})),
        )
        .await;
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(15);
    gigmarket_shared::app::payouts::clear_earnings(
        &bench.app.state.store,
        time::Duration::days(14),
        later,
        100,
    )
    .await
    .expect("clearing the bench's earnings");
    bench
        .call(
            "POST /me/payouts/withdrawals",
            post(
                "/me/payouts/withdrawals",
                freelancer,
                json!({"currency": "EUR"}),
            )
            .header("Idempotency-Key", &Uuid::new_v4().to_string()),
        )
        .await;
    // An admin refunds the completed order whose earnings were just withdrawn: Stripe's refund,
    // then a reversal of the order's transfer.
    bench
        .call(
            "POST /admin/orders/{id}/refund",
            post(
                &format!("/admin/orders/{order}/refund"),
                admin,
                json!({"reason": "Not what was described"}),
            )
            .header("Idempotency-Key", &Uuid::new_v4().to_string()),
        )
        .await;
    bench
        .call(
            "GET /admin/disputes",
            get("/admin/disputes?limit=20", admin),
        )
        .await;

    print_table(&bench.rows);
    print_realtime_table(&socket_rows);
    let missing: Vec<String> = ROUTES
        .iter()
        .map(|route| format!("{} {}", route.method, route.path))
        .filter(|route| !bench.rows.contains_key(route))
        .collect();
    assert!(missing.is_empty(), "routes not measured: {missing:?}");
    let failed: Vec<(&String, u16)> = bench
        .rows
        .iter()
        .chain(socket_rows.iter().map(|(step, row)| (step, row)))
        // A download's success is its 302 to S3.
        .filter(|(_, row)| !(200..300).contains(&row.status) && row.status != 302)
        .map(|(route, row)| (route, row.status))
        .collect();
    assert!(failed.is_empty(), "not on their success path: {failed:?}");
}

fn print_table(rows: &BTreeMap<String, Measured>) {
    let mut table = String::from(
        "\n| route | status | DynamoDB requests (reads + writes) | RCU | WCU | in-process ms | USD per million calls (Lambda + DynamoDB + S3) | target | S3 requests (function; browser's uploads, downloads) |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for route in ROUTES {
        let name = format!("{} {}", route.method, route.path);
        let Some(row) = rows.get(&name) else {
            continue;
        };
        let Consumed {
            read_requests,
            write_requests,
            ..
        } = row.consumed;
        let requests = read_requests + write_requests;
        let target = match (route.method, read_requests, write_requests) {
            ("GET", 0, 0) => "met (no DynamoDB request)".to_owned(),
            ("GET", 1, 0) => "met".to_owned(),
            ("GET", _, _) => format!("**missed**: {requests} requests"),
            (_, 0, 1) => "met".to_owned(),
            (_, reads, 1) => format!("met, after {reads} read(s)"),
            (_, _, writes) => format!("**missed**: {writes} writes"),
        };
        let s3 = match (row.s3_by_function, row.s3_uploads, row.s3_downloads) {
            (0, 0, 0) => String::new(),
            (function, uploads, downloads) => {
                format!(
                    "{function}; {uploads}, {downloads} (USD {:.2})",
                    row.s3_usd_per_million()
                )
            }
        };
        table.push_str(&format!(
            "| `{name}` | {} | {target} | {s3} |\n",
            row.cells()
        ));
    }
    println!("{table}");
    println!(
        "Prices: us-east-1, 2025: Lambda arm64 USD {LAMBDA_ARM64_PER_GB_SECOND}/GB-s at {} MB + USD {LAMBDA_PER_MILLION_REQUESTS}/million requests, billed at the in-process duration above (debug build, so an upper bound); DynamoDB on-demand USD {DYNAMODB_PER_MILLION_READ_UNITS}/million RRU, USD {DYNAMODB_PER_MILLION_WRITE_UNITS}/million WRU; S3 Standard USD {S3_PER_MILLION_POSTS:.2}/million POSTs, USD {S3_PER_MILLION_GETS:.2}/million GETs and HEADs (storage and transfer out not included). API Gateway HTTP API adds USD 1.00/million.",
        LAMBDA_MEMORY_GB * 1024.0
    );
}

/// `events/realtime/<name>` for connection `connection_id`, with `<TICKET>` filled in.
fn socket_event(name: &str, connection_id: &str, ticket: &str) -> ApiGatewayWebsocketProxyRequest {
    let path = gigmarket_tests::repo_path(&format!("events/realtime/{name}"));
    let text = std::fs::read_to_string(&path).expect("a sample event");
    let mut event: Value = serde_json::from_str(&text.replace("<TICKET>", ticket)).unwrap();
    event["requestContext"]["connectionId"] = connection_id.into();
    serde_json::from_value(event).expect("a WebSocket event")
}

async fn ticket(app: &TestApp, session: &Session) -> String {
    let issued = app
        .post("/realtime/tickets", &json!({}), Some(&session.access_token))
        .await;
    assert_eq!(issued.status, 201, "{issued:?}");
    issued.body["ticket"].as_str().expect("a ticket").to_owned()
}

/// The real-time steps that are not routes: `$connect` and `$disconnect` (`realtime`'s
/// WebSocket handler, in-process, as for a route) and one push: a message sent to the client in
/// `conversation`, delivered to the one connection the client holds through the local gateway
/// (`realtime::push::deliver`, what a stream record of the message runs).
async fn realtime_steps(app: &TestApp, cast: &Cast, conversation: &str) -> Vec<(String, Measured)> {
    let mut rows = Vec::new();
    let now = time::OffsetDateTime::now_utc;
    let answered = |response: &ApiGatewayProxyResponse| response.status_code as u16;

    let connection_id = format!("{}=", Uuid::new_v4().simple());
    let connect = socket_event(
        "connect.json",
        &connection_id,
        &ticket(app, &cast.client).await,
    );
    let (_, row) = measured(
        realtime::socket::handle(&app.state, None, connect, now()),
        answered,
    )
    .await;
    rows.push(("$connect".to_owned(), row));
    let disconnect = socket_event("disconnect.json", &connection_id, "");
    let (_, row) = measured(
        realtime::socket::handle(&app.state, None, disconnect, now()),
        answered,
    )
    .await;
    rows.push(("$disconnect".to_owned(), row));

    let api = app.socket_api().await;
    let url = format!(
        "{}?ticket={}",
        api.gateway.websocket_url(),
        ticket(app, &cast.client).await
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the ticket opens a connection");
    let sent = app
        .post(
            &format!("/conversations/{conversation}/messages"),
            &json!({"text": "Pushed live."}),
            Some(&cast.freelancer.access_token),
        )
        .await;
    assert_eq!(sent.status, 201, "{sent:?}");
    let message: Message = serde_json::from_value(sent.body["message"].clone()).expect("a message");
    let delivery = pushes::message_received(&message).expect("a push");
    let (posted, row) = measured(
        realtime::push::deliver(&delivery, &app.state.store, &api.connections, now()),
        |posted| match posted.as_deref() {
            Ok([Posted::Delivered]) => 200,
            _ => 500,
        },
    )
    .await;
    assert!(
        matches!(posted.as_deref(), Ok([Posted::Delivered])),
        "one post, delivered: {posted:?}"
    );
    rows.push(("push to one connection".to_owned(), row));
    // The push did reach the socket (not timed).
    loop {
        let frame = socket
            .next()
            .await
            .expect("the socket is open")
            .expect("a frame");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            let push: Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(push["data"]["id"], sent.body["message"]["id"], "{push}");
            break;
        }
    }
    socket.close(None).await.ok();
    rows
}

/// The real-time steps and API Gateway's WebSocket prices: per million messages pushed, per
/// million connection-minutes, per million connections opened and closed.
fn print_realtime_table(rows: &[(String, Measured)]) {
    let mut table = String::from(
        "\n| real-time step | status | DynamoDB requests (reads + writes) | RCU | WCU | in-process ms | USD per million (Lambda + DynamoDB) |\n|---|---|---|---|---|---|---|\n",
    );
    for (step, row) in rows {
        table.push_str(&format!("| `{step}` | {} |\n", row.cells()));
    }
    let step = |name: &str| {
        rows.iter()
            .find(|(step, _)| step == name)
            .map(|(_, row)| row.usd_per_million())
            .unwrap_or_else(|| panic!("{name} measured"))
    };
    let push = step("push to one connection");
    let connection = step("$connect") + step("$disconnect");
    table.push_str(&format!(
        "\n| per million | API Gateway WebSocket USD | Lambda + DynamoDB USD | total USD |\n|---|---|---|---|\n\
         | messages pushed (one push to one connection, up to 32 KB) | {WEBSOCKET_PER_MILLION_MESSAGES:.2} | {push:.2} | {:.2} |\n\
         | connection-minutes (an open connection) | {WEBSOCKET_PER_MILLION_CONNECTION_MINUTES:.2} | 0.00 | {WEBSOCKET_PER_MILLION_CONNECTION_MINUTES:.2} |\n\
         | connections opened and closed (`$connect` + `$disconnect`) | - | {connection:.2} | {connection:.2} |\n",
        WEBSOCKET_PER_MILLION_MESSAGES + push,
    ));
    println!("{table}");
    println!(
        "A push runs in the stream's invocation of `realtime`; counted here as one invocation per push (one record, one connection), the most a push costs: a batch of records or a recipient's second device shares the invocation. API Gateway WebSocket API, us-east-1: USD {WEBSOCKET_PER_MILLION_MESSAGES:.2}/million messages (metered in 32 KB units), USD {WEBSOCKET_PER_MILLION_CONNECTION_MINUTES:.2}/million connection-minutes."
    );
}

//! DynamoDB goes away, or hangs: on a DynamoDB Local of its own (persistent: `-sharedDb -dbPath`
//! in a temporary directory, on a free port; the shared stack is never touched), a run of order
//! placements and transitions goes on while the database dies (SIGKILL: connections refused)
//! or hangs (SIGSTOP: connections accepted, requests never answered, until SIGCONT).
//! The functions' DynamoDB client has the deployed timeouts (`aws::DynamoDbTimeouts::default()`,
//! not the relaxed local ones `scripts/env.sh` sets for the shared stack), and every request is
//! sent as Lambda invokes a function, with the invocation's deadline (the function timeout from
//! now), so the web layer's deadline applies as deployed.
//! Every call answers in time (within the API functions' Lambda timeout, read from the SAM
//! template) with either its normal answer or a clean 503 problem+json with `Retry-After`,
//! never a 500 with an SDK message. After the restart on the same files (or the SIGCONT), every
//! placement is retried with its idempotency key, as a client would (again after a 503, once
//! `Retry-After` has passed), and every item of every order is checked whole: each order has
//! its idempotency record and a timeline entry per version, and each gig's counters equal what
//! its stored orders add up to.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gigmarket_shared::aws::{self, DynamoDbTimeouts};
use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::domain::order::OrderStatus;
use gigmarket_tests::fixtures::Cast;
use gigmarket_tests::{RawRequest, Session, TestApp, TestResponse, repo_path};
use serde_json::json;
use uuid::Uuid;

/// The API functions' Lambda timeout (`Timeout` in the SAM template's Globals, which no API
/// function overrides): no call may take longer, or Lambda would kill it mid-write.
fn function_timeout() -> Duration {
    static TIMEOUT: OnceLock<Duration> = OnceLock::new();
    *TIMEOUT.get_or_init(|| {
        let text =
            std::fs::read_to_string(repo_path("infra/template.yaml")).expect("infra/template.yaml");
        let yaml: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
        let template: serde_json::Value = serde_json::to_value(yaml).expect("as JSON");
        let seconds = template["Globals"]["Function"]["Timeout"]
            .as_u64()
            .expect("Globals.Function.Timeout");
        Duration::from_secs(seconds)
    })
}

/// A DynamoDB Local of the test's own, on a directory that outlives its process.
struct OwnDynamoDb {
    dir: std::path::PathBuf,
    port: u16,
    process: Option<Child>,
}

impl OwnDynamoDb {
    fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("gigmarket-outage-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut own = Self {
            dir,
            port,
            process: None,
        };
        own.launch();
        own
    }

    /// What scripts/bootstrap.sh found: the java binary and DynamoDB Local's directory.
    fn tools() -> (String, String) {
        let env = std::fs::read_to_string(repo_path(".local/tools.env"))
            .expect(".local/tools.env (run scripts/bootstrap.sh)");
        let value = |name: &str| {
            env.lines()
                .find_map(|line| line.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("{name} in .local/tools.env"))
                .trim_matches('\'')
                .to_owned()
        };
        (value("JAVA_BIN"), value("DYNAMODB_LOCAL_DIR"))
    }

    fn launch(&mut self) {
        let (java, local) = Self::tools();
        let child = Command::new(java)
            .arg(format!("-Djava.library.path={local}/DynamoDBLocal_lib"))
            .args(["-jar", &format!("{local}/DynamoDBLocal.jar")])
            .args(["-sharedDb", "-disableTelemetry", "-dbPath"])
            .arg(&self.dir)
            .args(["-port", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("DynamoDB Local starts");
        self.process = Some(child);
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        for _ in 0..120 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("DynamoDB Local on {} never answered", self.port);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP: the kernel still accepts connections and takes requests in, nothing answers.
    fn freeze(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: it answers again, starting with the requests that waited.
    fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.process.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pid}");
    }
}

impl Drop for OwnDynamoDb {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One write of the run: a placement (with its idempotency key) or a transition.
#[derive(Clone)]
enum Write {
    Place { key: String },
    Step { order: Uuid, action: &'static str },
}

/// A write as the request the API gets.
fn request(cast: &Cast, gig_id: Uuid, write: &Write) -> RawRequest {
    match write {
        Write::Place { key } => RawRequest::new("POST", "/orders")
            .bearer(&cast.client.access_token)
            .header("Idempotency-Key", key)
            .json(
                &json!({"gig_id": gig_id, "package": "basic", "requirements": "Blue, please.",
                         "expected_price_cents": 5_000, "currency": "EUR"}),
            ),
        Write::Step { order, action } => {
            let who: &Session = if *action == "complete" {
                &cast.client
            } else {
                &cast.freelancer
            };
            let body = match *action {
                "deliver" => json!({"message": "Here it is.", "attachments": []}),
                _ => json!({}),
            };
            RawRequest::new("POST", format!("/orders/{order}/{action}"))
                .bearer(&who.access_token)
                .json(&body)
        }
    }
}

/// A normal answer, or a clean 503: problem+json, `Retry-After`, no SDK text.
fn assert_answered_or_unavailable(response: &TestResponse, what: &str) -> bool {
    if response.status == 503 {
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json"),
            "{what}: {response:?}"
        );
        assert!(
            response.header("retry-after").is_some(),
            "{what}: {response:?}"
        );
        let text = response.body.to_string();
        for leak in [
            "dispatch failure",
            "SdkError",
            "DynamoDB",
            "127.0.0.1",
            "timeout",
            "deadline",
        ] {
            assert!(
                !text.contains(leak),
                "{what}: the answer leaks {leak:?}: {text}"
            );
        }
        return false;
    }
    assert!(
        response.status < 500,
        "{what}: a normal answer or a clean 503, got {response:?}"
    );
    true
}

/// `join_all` without a new dependency: polls every future until all are done; outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs = Vec::with_capacity(set.len());
    let joined = std::future::poll_fn(|context| {
        let mut pending = false;
        for (index, future) in set.iter_mut().enumerate() {
            if outputs.len() <= index {
                outputs.push(None);
            }
            if outputs[index].is_none() {
                match future.as_mut().poll(context) {
                    std::task::Poll::Ready(output) => outputs[index] = Some(output),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    });
    joined.await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// One outage run: the API on the test's own DynamoDB Local with the deployed client, a cast
/// and a gig, every idempotency key used and the last known status of every order.
struct OutageRun {
    app: TestApp,
    cast: Cast,
    gig_id: Uuid,
    keys: Vec<String>,
    orders: BTreeMap<Uuid, String>,
    /// The slowest answer so far, in milliseconds.
    slowest_ms: AtomicU64,
}

impl OutageRun {
    async fn on(dynamodb: &OwnDynamoDb) -> Self {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(dynamodb.endpoint())
            .load()
            .await;
        let client = aws::dynamodb_with(&sdk, DynamoDbTimeouts::default());
        let app = TestApp::with_dynamodb(sdk, client, |_| {}).await;
        let cast = app.cast().await;
        let gig = app
            .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
            .await;
        Self {
            app,
            cast,
            gig_id: gig.id,
            keys: Vec::new(),
            orders: BTreeMap::new(),
            slowest_ms: AtomicU64::new(0),
        }
    }

    /// Sends a request as Lambda invokes the function, with the function timeout as the
    /// invocation's deadline; an answer later than that fails the test.
    async fn call(&self, request: RawRequest, what: &str) -> TestResponse {
        let started = Instant::now();
        let invocation = self.app.send_with_timeout(request, function_timeout());
        let response = tokio::time::timeout(function_timeout(), invocation)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{what}: no answer within the {:?} function timeout",
                    function_timeout()
                )
            });
        self.slowest_ms
            .fetch_max(started.elapsed().as_millis() as u64, Ordering::SeqCst);
        response
    }

    async fn send(&self, write: &Write) -> TestResponse {
        self.call(request(&self.cast, self.gig_id, write), &describe(write))
            .await
    }

    /// `count` placements with new idempotency keys.
    fn placements(&mut self, round: &str, count: usize) -> Vec<Write> {
        (0..count)
            .map(|index| {
                let key = format!("{round}-{index}");
                self.keys.push(key.clone());
                Write::Place { key }
            })
            .collect()
    }

    /// The next transition of every open order.
    fn steps(&self) -> Vec<Write> {
        self.orders
            .iter()
            .filter_map(|(order, status)| {
                next_step(status).map(|action| Write::Step {
                    order: *order,
                    action,
                })
            })
            .collect()
    }

    /// Runs `writes` concurrently (all in flight at once), beside `fault`; records each answer
    /// and returns how many were 503s.
    async fn run_beside(&mut self, writes: &[Write], fault: impl std::future::Future) -> usize {
        let (results, _) = tokio::join!(self.send_all(writes), fault);
        self.record(results)
    }

    /// Sends `writes` concurrently (all in flight at once); returns each with its answer.
    async fn send_all(&self, writes: &[Write]) -> Vec<(Write, TestResponse)> {
        let calls = writes
            .iter()
            .map(|write| async move { (write.clone(), self.send(write).await) });
        futures_join_all(calls).await
    }

    async fn run(&mut self, writes: &[Write]) -> usize {
        self.run_beside(writes, async {}).await
    }

    /// Records each normal answer's order and status; returns how many writes got a 503.
    fn record(&mut self, results: Vec<(Write, TestResponse)>) -> usize {
        let mut unavailable = 0;
        for (write, response) in results {
            if !assert_answered_or_unavailable(&response, &describe(&write)) {
                unavailable += 1;
                continue;
            }
            if let Some(id) = response.body["id"].as_str() {
                let status = response.body["status"].as_str().unwrap_or_default();
                self.orders.insert(id.parse().unwrap(), status.to_owned());
            }
        }
        unavailable
    }

    /// With the table up, orders are placed and moved on, and nothing is a 503.
    async fn live(&mut self) {
        let placements = self.placements("live", 6);
        assert_eq!(
            self.run(&placements).await,
            0,
            "all answered while the table is up"
        );
        // The client pays, so the orders move on (orders placed during an outage stay unpaid).
        for (order, status) in &mut self.orders {
            self.app.pay_order(*order).await;
            *status = "pending".to_owned();
        }
        let steps = self.steps();
        assert_eq!(self.run(&steps).await, 0);
    }

    /// Six placements and the next step of every order, in flight when `fault` strikes.
    async fn interrupted(&mut self, round: &str, fault: impl std::future::Future) {
        let mut writes = self.placements(round, 6);
        writes.extend(self.steps());
        self.run_beside(&writes, fault).await;
    }

    /// Every placement retried with its idempotency key, as a client does, lands: after a 503
    /// the client waits its `Retry-After` and tries again (a few times).
    async fn retry_every_placement(&self) {
        for key in &self.keys {
            let write = Write::Place { key: key.clone() };
            let mut response = self.send(&write).await;
            for _ in 0..5 {
                if assert_answered_or_unavailable(&response, key) {
                    break;
                }
                let wait: u64 = response.header("retry-after").unwrap().parse().unwrap();
                tokio::time::sleep(Duration::from_secs(wait)).await;
                response = self.send(&write).await;
            }
            assert!(
                [200, 201].contains(&response.status),
                "retrying {key} after the outage: {response:?}"
            );
        }
    }

    /// Every order of the gig is whole: one per idempotency key, a timeline entry per version,
    /// and the gig's counters equal to what the orders add up to.
    async fn check_whole(&self) {
        let (app, cast, gig_id, keys) = (&self.app, &self.cast, self.gig_id, &self.keys);
        let mut by_key = BTreeMap::new();
        for key in keys {
            let replay = self.send(&Write::Place { key: key.clone() }).await;
            assert!([200, 201].contains(&replay.status), "{key}: {replay:?}");
            let id: Uuid = replay.body["id"].as_str().unwrap().parse().unwrap();
            by_key.insert(key.clone(), id);
        }
        let (ids, _) = app
            .collect_pages("/orders?limit=100", Some(&cast.client.access_token))
            .await;
        let mut listed = ids.clone();
        listed.sort();
        let mut keyed: Vec<Uuid> = by_key.values().copied().collect();
        keyed.sort();
        keyed.dedup();
        assert_eq!(keyed.len(), keys.len(), "one order per idempotency key");
        assert_eq!(
            listed, keyed,
            "every stored order is one placement's, and every placement is stored"
        );
        let mut open = 0;
        for id in &listed {
            let (order, timeline, _) = app
                .state
                .store
                .order_with_timeline(*id)
                .await
                .unwrap()
                .expect("the order item");
            assert_eq!(
                timeline.len() as u64,
                order.version,
                "order {id}: a timeline entry per version"
            );
            if !order.status.is_terminal() {
                open += 1;
            }
            assert_ne!(order.status, OrderStatus::Cancelled, "nobody cancelled");
        }
        let gig = app.gig(gig_id).await;
        assert_eq!(
            gig.order_count,
            listed.len() as u64,
            "the gig's order count"
        );
        assert_eq!(gig.open_orders, open, "the gig's open orders");
    }
}

fn describe(write: &Write) -> String {
    match write {
        Write::Place { key } => format!("placing {key}"),
        Write::Step { order, action } => format!("{action} {order}"),
    }
}

fn next_step(status: &str) -> Option<&'static str> {
    match status {
        "pending" => Some("accept"),
        "in_progress" => Some("deliver"),
        "delivered" => Some("complete"),
        _ => None,
    }
}

#[tokio::test]
async fn dynamodb_going_away_gives_clean_503s_and_leaves_nothing_half_written() {
    gigmarket_tests::require_stack();
    let mut dynamodb = OwnDynamoDb::start();
    dynamodb.wait_ready().await;
    let mut outage = OutageRun::on(&dynamodb).await;
    outage.live().await;

    // Dead in the middle of a run: the writes in flight and after answer, or 503.
    let killer = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        dynamodb.kill();
    };
    outage.interrupted("killed", killer).await;
    let after = outage.placements("dead", 3);
    assert_eq!(
        outage.run(&after).await,
        3,
        "every write to a dead table is a 503"
    );

    // Back on the same files: every placement retried with its key lands once.
    dynamodb.launch();
    dynamodb.wait_ready().await;
    outage.retry_every_placement().await;
    outage.check_whole().await;
}

#[tokio::test]
async fn a_hung_dynamodb_gives_clean_503s_in_time_and_leaves_nothing_half_written() {
    gigmarket_tests::require_stack();
    let dynamodb = OwnDynamoDb::start();
    dynamodb.wait_ready().await;
    let mut outage = OutageRun::on(&dynamodb).await;
    outage.live().await;

    // Hung in the middle of a run: connections are still accepted and requests taken in, but
    // nothing answers. The writes in flight, and the writes and reads sent after, answer in
    // time, or 503.
    let mut in_flight = outage.placements("hung", 6);
    in_flight.extend(outage.steps());
    let after = outage.placements("while-hung", 3);
    let order = *outage.orders.keys().next().expect("a live order");
    let client = &outage.cast.client.access_token;
    let reads = [
        RawRequest::new("GET", format!("/orders/{order}")).bearer(client),
        RawRequest::new("GET", "/orders?limit=10").bearer(client),
        RawRequest::new("GET", format!("/gigs/{}", outage.gig_id)),
    ];
    let after_the_freeze = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        dynamodb.freeze();
        let reads = futures_join_all(reads.into_iter().map(|read| async {
            let what = format!("GET {}", read.path);
            let response = outage.call(read, &what).await;
            (what, response)
        }));
        tokio::join!(outage.send_all(&after), reads)
    };
    let (in_flight, (after, reads)) = tokio::join!(outage.send_all(&in_flight), after_the_freeze);
    outage.record(in_flight);
    assert_eq!(
        outage.record(after),
        3,
        "every write to a hung table is a 503"
    );
    for (what, response) in reads {
        assert!(
            !assert_answered_or_unavailable(&response, &what),
            "a read of a hung table is a 503: {response:?}"
        );
    }

    // It answers again, first the requests that waited (some of them attempts the client had
    // given up on): every placement retried with its key lands once.
    dynamodb.thaw();
    outage.retry_every_placement().await;
    outage.check_whole().await;
    eprintln!(
        "slowest answer: {} ms (function timeout {:?})",
        outage.slowest_ms.load(Ordering::SeqCst),
        function_timeout()
    );
}

/// A queue that accepts connections and never answers (a listener on loopback that never reads:
/// the kernel completes the handshakes) costs a registration its verification mail, not its
/// answer: the account is written before the mail is queued, and the SQS client's timeouts
/// (`aws::sqs`) end the send in seconds, so the client gets its 201 inside the function timeout
/// rather than the web layer's 503 for an account that exists (and a 409 on the retry).
#[tokio::test]
async fn a_hung_queue_costs_a_registration_its_mail_not_its_answer() {
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let endpoint = format!("http://{}", black_hole.local_addr().unwrap());
    // SAFETY: nextest runs every test in a process of its own, and nothing reads the
    // environment yet: `auth` builds its SQS client from it at the first mail.
    unsafe { std::env::set_var("AWS_ENDPOINT_URL_SQS", &endpoint) };
    let app = TestApp::with_config(|config| {
        config.order_events_queue_url = Some(format!("{endpoint}/000000000000/account-mail"));
    })
    .await;

    let email = format!("hung-queue-{}@example.com", Uuid::new_v4().simple());
    let password = "a long password";
    let started = Instant::now();
    let response = app
        .send_with_timeout(
            RawRequest::new("POST", "/auth/register").json(&json!({
                "email": email, "password": password, "name": "Queue Hung", "role": "client"
            })),
            function_timeout(),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(response.status, 201, "{response:?}");
    assert!(
        took < function_timeout() - gigmarket_shared::web::ANSWER_MARGIN,
        "the registration waited {took:?} on the hung queue"
    );
    // The account is whole: its owner logs in.
    assert_eq!(app.login(&email, password).await.status, 200);
}

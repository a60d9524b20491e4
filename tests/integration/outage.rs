//! DynamoDB goes away: on a DynamoDB Local of its own (persistent: `-sharedDb -dbPath` in a
//! temporary directory, on a free port; the shared stack is never touched), a run of order
//! placements and transitions goes on while the database dies (SIGKILL: connections refused).
//! Not covered yet: a database that hangs (SIGSTOP, connections accepted but never answered)
//! hangs the call until the function timeout, because the DynamoDB client has no operation
//! timeout; an 8 s one made the in-process 200-concurrent-logins test answer 503 to every
//! login on the busy 2-core machine, so it needs tuning before it goes in.
//! Every call answers in time (well inside the API functions' 10 s Lambda timeout) with either
//! its normal answer or a clean 503 problem+json with `Retry-After`, never a 500 with an SDK
//! message. After the restart on the same files, every placement that got a 503 is retried with
//! its idempotency key, and every item of every order is checked whole: each order has its
//! idempotency record and a timeline entry per version, and each gig's counters equal what its
//! stored orders add up to.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gigmarket_shared::domain::gig::Revisions;
use gigmarket_shared::domain::order::OrderStatus;
use gigmarket_tests::fixtures::Cast;
use gigmarket_tests::{RawRequest, Session, TestApp, TestResponse, repo_path};
use serde_json::json;
use uuid::Uuid;

/// The API functions' Lambda timeout (`Timeout` in the SAM template's Globals): no call may take
/// longer, or Lambda would kill it mid-write.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Sends a write, bounded by the function timeout: a hang fails the test.
async fn send(app: &TestApp, cast: &Cast, gig_id: Uuid, write: &Write) -> TestResponse {
    let request = match write {
        Write::Place { key } => RawRequest::new("POST", "/orders")
            .bearer(&cast.client.access_token)
            .header("Idempotency-Key", key)
            .json(&json!({"gig_id": gig_id, "package": "basic", "requirements": "Blue, please."})),
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
    };
    tokio::time::timeout(FUNCTION_TIMEOUT, app.send(request))
        .await
        .expect("answered within the function timeout, not a hang")
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

/// Runs `writes` concurrently (all in flight at once); returns each with its answer.
async fn run(
    app: &TestApp,
    cast: &Cast,
    gig_id: Uuid,
    writes: &[Write],
) -> Vec<(Write, TestResponse)> {
    let calls = writes
        .iter()
        .map(|write| async move { (write.clone(), send(app, cast, gig_id, write).await) });
    futures_join_all(calls).await
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

/// Records each normal answer's order and status; returns how many writes got a 503.
fn record(results: Vec<(Write, TestResponse)>, orders: &mut BTreeMap<Uuid, String>) -> usize {
    let mut unavailable = 0;
    for (write, response) in results {
        let what = match &write {
            Write::Place { key } => format!("placing {key}"),
            Write::Step { order, action } => format!("{action} {order}"),
        };
        if !assert_answered_or_unavailable(&response, &what) {
            unavailable += 1;
            continue;
        }
        if let Some(id) = response.body["id"].as_str() {
            let status = response.body["status"].as_str().unwrap_or_default();
            orders.insert(id.parse().unwrap(), status.to_owned());
        }
    }
    unavailable
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
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(dynamodb.endpoint())
        .load()
        .await;
    let app = TestApp::with_sdk(sdk, |_| {}).await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let mut keys = Vec::new();
    let mut orders: BTreeMap<Uuid, String> = BTreeMap::new();
    let placements = |round: &str, count: usize, keys: &mut Vec<String>| -> Vec<Write> {
        (0..count)
            .map(|index| {
                let key = format!("{round}-{index}");
                keys.push(key.clone());
                Write::Place { key }
            })
            .collect()
    };
    let steps = |orders: &BTreeMap<Uuid, String>| -> Vec<Write> {
        orders
            .iter()
            .filter_map(|(order, status)| {
                next_step(status).map(|action| Write::Step {
                    order: *order,
                    action,
                })
            })
            .collect()
    };
    // Live: orders are placed and moved on.
    let live = run(&app, &cast, gig.id, &placements("live", 6, &mut keys)).await;
    assert_eq!(
        record(live, &mut orders),
        0,
        "all answered while the table is up"
    );
    let live = run(&app, &cast, gig.id, &steps(&orders)).await;
    assert_eq!(record(live, &mut orders), 0);

    // Dead in the middle of a run: the writes in flight and after answer, or 503.
    let mut doomed = placements("killed", 6, &mut keys);
    doomed.extend(steps(&orders));
    let killer = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        dynamodb.kill();
    };
    let (results, ()) = tokio::join!(run(&app, &cast, gig.id, &doomed), killer);
    record(results, &mut orders);
    let after = run(&app, &cast, gig.id, &placements("dead", 3, &mut keys)).await;
    assert_eq!(
        record(after, &mut orders),
        3,
        "every write to a dead table is a 503"
    );

    // Back on the same files: every placement retried with its key lands once.
    dynamodb.launch();
    dynamodb.wait_ready().await;
    for key in &keys {
        let response = send(&app, &cast, gig.id, &Write::Place { key: key.clone() }).await;
        assert!(
            [200, 201].contains(&response.status),
            "retrying {key} after the restart: {response:?}"
        );
    }
    check_whole(&app, &cast, gig.id, &keys).await;
}

/// Every order of the gig is whole: one per idempotency key, a timeline entry per version, and
/// the gig's counters equal to what the orders add up to.
async fn check_whole(app: &TestApp, cast: &Cast, gig_id: Uuid, keys: &[String]) {
    let mut by_key = BTreeMap::new();
    for key in keys {
        let replay = send(app, cast, gig_id, &Write::Place { key: key.clone() }).await;
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

//! `lambda_bench`: cold start and footprint of each release-built function binary (`make bench`).
//!
//! A small Lambda Runtime API emulator (the `/2018-06-01/runtime/...` endpoints a function's
//! runtime client polls) runs in this process; each function binary is spawned as Lambda spawns
//! `bootstrap`: `AWS_LAMBDA_RUNTIME_API` pointing at the emulator, the `AWS_LAMBDA_*` variables,
//! and the function's environment as in `infra/template.yaml` (`TABLE_NAME`,
//! `JWT_KEYS_SECRET_ID`: the keyset is read from Secrets Manager in moto, as deployed; the search
//! index's queue and bucket in moto, the bucket holding the seeded gigs as the indexer publishes
//! them). Measured:
//! init (spawn until the first `GET .../invocation/next`), the first invoke, warm p50/p99 over
//! `BENCH_INVOKES` (default 1,000) invokes of the function's sample event (`events/<function>/`,
//! its placeholders replaced by seeded ids and a minted token) against DynamoDB Local, peak RSS
//! (VmHWM from `/proc/<pid>/status`) and the zipped `bootstrap` size. Each function runs twice
//! (`BENCH_ROUNDS`): each round spawns every function under an emulator of its own, then hands
//! out the warm invokes round-robin, one to each function in turn, so load from elsewhere on the
//! machine falls on all of them alike. The floor (`src/bin/floor.rs`: one `GetItem`) runs in the
//! same rounds; ratios are to it.
//!
//! The attribution ladder (`src/bin/ladder.rs`) runs in the same rounds unless `BENCH_LADDER=0`:
//! the floor's read with an API function's parts added one per rung (tracing subscriber, JWT
//! keyset at init, `web::api` router, the use case's read, the client interceptors, the
//! function's router), for `GET /gigs/{id}` and `GET /gigs/{id}/reviews`, and the raw read
//! alone of `GET /orders/{id}` and `GET /conversations` (their reads are Queries of more than
//! one item: what the read costs, apart from the function), printed as a second table with what
//! each rung adds. `BENCH_ROUNDS` (default 2) sets the runs per subject.
//!
//! Invoke time is measured here, from handing the event out to receiving the response: the
//! emulator's own HTTP handling is in it, the same for every function and the floor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use gigmarket_search::published::Replica;
use gigmarket_shared::auth::{JwtKeys, JwtSigningKeys, TokenIssuer};
use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::domain::gig::{Gig, GigContent, GigStatus, Package, Revisions, Tier};
use gigmarket_shared::domain::message::OpenConversation;
use gigmarket_shared::domain::order::PlaceOrder;
use gigmarket_shared::domain::user::{Caller, Role, SessionRef, User};
use gigmarket_shared::search_index::SearchIndexBucket;
use gigmarket_shared::store::{Store, table};
use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

const RUNTIME: &str = "/2018-06-01/runtime";
/// The ids the sample events carry (tests/integration/events.rs), replaced by seeded ones.
const SAMPLE_USER_ID: &str = "11111111-1111-4111-8111-111111111111";
const SAMPLE_GIG_ID: &str = "33333333-3333-4333-8333-333333333333";
const SAMPLE_ORDER_ID: &str = "22222222-2222-4222-8222-222222222222";
/// The ids the event functions' samples (`events/dispatcher/`, `events/notifier/`) carry.
const SAMPLE_EVENT_CLIENT_ID: &str = "4f6c1a2e-8d0b-4c57-9a3e-2b1d0c9e7f61";
const SAMPLE_EVENT_FREELANCER_ID: &str = "9b2e7d14-3c6a-4f0e-8b5d-1a7c2e9f4d32";
const SAMPLE_EVENT_ORDER_ID: &str = "0193a0c2-5f00-7c3e-9a51-3b9e2f1c0a11";
const SAMPLE_EVENT_GIG_ID: &str = "c3d9e1f2-7a4b-4c8d-9e0f-1a2b3c4d5e6f";
const BENCH_PASSWORD: &str = "bench-password-123";

/// One invocation handed to the function, and where its answer goes.
struct Invocation {
    id: String,
    event: String,
    answer: oneshot::Sender<Answer>,
}

struct Answer {
    handed_out: Instant,
    answered: Instant,
    ok: bool,
    body: Bytes,
}

/// What the emulator serves: the current run's invocations and its init signal.
#[derive(Default)]
struct Emulator {
    queue: Mutex<Option<mpsc::Receiver<Invocation>>>,
    first_poll: Mutex<Option<oneshot::Sender<Instant>>>,
    in_flight: Mutex<HashMap<String, (Instant, oneshot::Sender<Answer>)>>,
}

async fn next(State(emulator): State<Arc<Emulator>>) -> impl IntoResponse {
    if let Some(signal) = emulator.first_poll.lock().await.take() {
        let _ = signal.send(Instant::now());
    }
    let invocation = {
        let mut queue = emulator.queue.lock().await;
        match queue.as_mut() {
            Some(queue) => queue.recv().await,
            None => None,
        }
    };
    let Some(invocation) = invocation else {
        // The run is over: the function is about to be killed; never answer.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let mut headers = HeaderMap::new();
    let deadline = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) + 30_000;
    for (name, value) in [
        ("lambda-runtime-aws-request-id", invocation.id.clone()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".to_owned(),
        ),
        ("content-type", "application/json".to_owned()),
    ] {
        headers.insert(name, HeaderValue::from_str(&value).expect("header value"));
    }
    emulator
        .in_flight
        .lock()
        .await
        .insert(invocation.id, (Instant::now(), invocation.answer));
    (StatusCode::OK, headers, invocation.event)
}

async fn answer(emulator: &Emulator, id: &str, ok: bool, body: Bytes) -> StatusCode {
    let answered = Instant::now();
    match emulator.in_flight.lock().await.remove(id) {
        Some((handed_out, sender)) => {
            let _ = sender.send(Answer {
                handed_out,
                answered,
                ok,
                body,
            });
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(emulator): State<Arc<Emulator>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    answer(&emulator, &id, true, body).await
}

async fn error(
    State(emulator): State<Arc<Emulator>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    answer(&emulator, &id, false, body).await
}

async fn init_error(body: Bytes) -> StatusCode {
    eprintln!("init error: {}", String::from_utf8_lossy(&body));
    StatusCode::ACCEPTED
}

/// One function to measure: its binary, its sample event (placeholders replaced) and extra env.
struct Subject {
    function: &'static str,
    route: &'static str,
    event: String,
    /// The binary, when it is not named after the function (the ladder's rungs).
    binary: Option<&'static str>,
    /// Environment beyond the functions' own (the ladder's `LADDER_*`).
    env: Vec<(String, String)>,
    /// The ladder this rung belongs to and the part it adds.
    rung: Option<(&'static str, &'static str)>,
}

impl Subject {
    fn function(function: &'static str, route: &'static str, event: String) -> Self {
        Self {
            function,
            route,
            event,
            binary: None,
            env: Vec::new(),
            rung: None,
        }
    }

    fn binary(&self) -> &'static str {
        self.binary.unwrap_or(self.function)
    }
}

/// The attribution ladder (`src/bin/ladder.rs`): per route, the floor's read with the parts of
/// an API function added one at a time, each rung a run of the same binary: its `LADDER_PARTS`,
/// more environment, and what it adds. The last two rungs are variants of the whole function,
/// not further parts.
/// A ladder rung: `LADDER_PARTS`, more environment, what it adds.
type Rung = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

const LADDER_RUNGS: &[Rung] = &[
    ("", &[], "none (the floor's read in the ladder binary)"),
    ("tracing", &[], "+ tracing subscriber (`telemetry::init`)"),
    (
        "tracing,keys",
        &[],
        "+ JWT keyset from Secrets Manager at init",
    ),
    (
        "tracing,keys,api",
        &[],
        "+ axum router in `web::api` (request span, log line)",
    ),
    (
        "tracing,keys,api,domain",
        &[],
        "+ the use case's read (domain decode, public view)",
    ),
    (
        "tracing,keys,api,domain,interceptors",
        &[],
        "+ call-log and capacity interceptors",
    ),
    (
        "tracing,keys,api,domain,interceptors,router",
        &[],
        "+ the function's whole router",
    ),
    (
        "tracing,keys,api,domain,interceptors,router",
        &[("AWS_LAMBDA_LOG_LEVEL", "WARN")],
        "variant: log level WARN (no per-request log line)",
    ),
    (
        "tracing,keys,api,domain,interceptors,router",
        &[("LADDER_RUNTIME", "current_thread")],
        "variant: current-thread tokio runtime",
    ),
];

struct Run {
    init: Duration,
    first: Duration,
    warm: Vec<Duration>,
    /// CPU time (user + system, every thread) the process spent on its warm invokes.
    warm_cpu: Duration,
    peak_kib: u64,
    /// Resident anonymous (heap, stacks, relocated data) and file-backed (code) memory at the end.
    anon_kib: u64,
    file_kib: u64,
}

impl Run {
    /// CPU time per warm invoke, in µs.
    fn cpu_us_per_invoke(&self) -> f64 {
        self.warm_cpu.as_secs_f64() * 1e6 / self.warm.len().max(1) as f64
    }
}

/// The CPU time (user + system) a process has used so far, its exited threads included:
/// `utime` + `stime` of `/proc/<pid>/stat`, in clock ticks of 10 ms (`USER_HZ`, 100 on Linux).
/// Over 1,000 invokes the tick is 10 µs per invoke.
fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    const TICK: Duration = Duration::from_millis(10);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let after_name = &stat[stat.rfind(')').context("/proc/<pid>/stat without a name")? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u32 = fields
        .get(11..13)
        .context("/proc/<pid>/stat too short")?
        .iter()
        .map(|field| field.parse::<u32>())
        .sum::<Result<_, _>>()?;
    Ok(TICK * ticks)
}

/// A `/proc/<pid>/status` field in KiB.
fn status_kib(status: &str, field: &str) -> anyhow::Result<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| field.to_owned())
}

async fn invoke(
    queue: &mpsc::Sender<Invocation>,
    event: &str,
    function: &str,
) -> anyhow::Result<Duration> {
    let (answer, answered) = oneshot::channel();
    queue
        .send(Invocation {
            id: Uuid::new_v4().to_string(),
            event: event.to_owned(),
            answer,
        })
        .await
        .map_err(|_| anyhow::anyhow!("emulator gone"))?;
    let answer = tokio::time::timeout(Duration::from_secs(30), answered)
        .await
        .with_context(|| format!("{function}: no answer within 30 s"))??;
    // An API function answers an HTTP response (2xx wanted); an event function its batch
    // response, which must name no failed item.
    let body = serde_json::from_slice::<serde_json::Value>(&answer.body).unwrap_or_default();
    let succeeded = match body.get("statusCode") {
        Some(status) => matches!(status.as_u64(), Some(200..=299)),
        None => body["batchItemFailures"]
            .as_array()
            .is_none_or(|failures| failures.is_empty()),
    };
    if !answer.ok || !succeeded {
        bail!(
            "{function}: failed invoke: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    Ok(answer.answered - answer.handed_out)
}

/// A Runtime API emulator of its own, so several functions can run side by side.
async fn start_emulator() -> anyhow::Result<(Arc<Emulator>, String, tokio::task::JoinHandle<()>)> {
    let emulator = Arc::new(Emulator::default());
    let app = Router::new()
        .route(&format!("{RUNTIME}/invocation/next"), get(next))
        .route(
            &format!("{RUNTIME}/invocation/{{id}}/response"),
            post(response),
        )
        .route(&format!("{RUNTIME}/invocation/{{id}}/error"), post(error))
        .route(&format!("{RUNTIME}/init/error"), post(init_error))
        .with_state(emulator.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let runtime_api = listener.local_addr()?.to_string();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((emulator, runtime_api, server))
}

/// A function process under its emulator; killed when dropped.
struct Running {
    child: std::process::Child,
    server: tokio::task::JoinHandle<()>,
    queue: mpsc::Sender<Invocation>,
    init: Duration,
    first: Duration,
    warm: Vec<Duration>,
    /// The process's CPU time when its warm invokes began.
    cpu_before_warm: Duration,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.server.abort();
    }
}

impl Running {
    /// The run's numbers, read before the process goes.
    fn finish(self) -> anyhow::Result<Run> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        Ok(Run {
            init: self.init,
            first: self.first,
            warm: self.warm.clone(),
            warm_cpu: cpu_time(self.child.id())?.saturating_sub(self.cpu_before_warm),
            peak_kib: status_kib(&status, "VmHWM:")?,
            anon_kib: status_kib(&status, "RssAnon:")?,
            file_kib: status_kib(&status, "RssFile:")?,
        })
    }
}

/// Spawns `binary` as Lambda spawns `bootstrap`, waits for its first poll (init) and gives it
/// its first invoke.
async fn spawn_function(
    binary: &Path,
    subject: &Subject,
    env: &[(String, String)],
    invokes: usize,
    log: &Path,
) -> anyhow::Result<Running> {
    let (emulator, runtime_api, server) = start_emulator().await?;
    let (queue, receiver) = mpsc::channel(1);
    let (first_poll, polled) = oneshot::channel();
    *emulator.queue.lock().await = Some(receiver);
    *emulator.first_poll.lock().await = Some(first_poll);
    let log = std::fs::File::create(log)?;
    let spawned = Instant::now();
    let child = Command::new(binary)
        .env_remove("JWT_KEYS_FILE")
        .env_remove("JWT_SIGNING_KEYS_FILE")
        .env_remove("RUST_LOG")
        .env_remove("JWT_KEYS")
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", subject.function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", subject.function),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .envs(env.iter().map(|(name, value)| (name, value)))
        .envs(subject.env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("spawning {}", binary.display()))?;
    let mut running = Running {
        child,
        server,
        queue,
        init: Duration::ZERO,
        first: Duration::ZERO,
        warm: Vec::with_capacity(invokes),
        cpu_before_warm: Duration::ZERO,
    };
    let polled = tokio::time::timeout(Duration::from_secs(30), polled)
        .await
        .context("no first poll within 30 s")??;
    running.init = polled - spawned;
    running.first = invoke(&running.queue, &subject.event, subject.function).await?;
    running.cpu_before_warm = cpu_time(running.child.id())?;
    Ok(running)
}

fn zipped_size(binary: &Path) -> anyhow::Result<u64> {
    // Lambda takes a zip with the binary named `bootstrap`, deflated (what the deployment uploads).
    let output = Command::new("python3")
        .args([
            "-c",
            "import io,sys,zipfile\nb=io.BytesIO()\nz=zipfile.ZipFile(b,'w',zipfile.ZIP_DEFLATED)\nz.write(sys.argv[1],'bootstrap')\nz.close()\nprint(len(b.getvalue()))",
        ])
        .arg(binary)
        .output()?;
    anyhow::ensure!(output.status.success(), "zipping {}", binary.display());
    Ok(String::from_utf8(output.stdout)?.trim().parse()?)
}

/// One subject over its runs: means of its runs, percentiles over all their warm invokes.
#[derive(Clone, Copy)]
struct Summary {
    init_ms: f64,
    first_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU time per warm invoke: what the process itself spent, apart from waiting on DynamoDB
    /// Local and on the machine's other work.
    cpu_us: f64,
    peak_mib: f64,
    anon_mib: f64,
    file_mib: f64,
}

impl Summary {
    fn of(runs: &[Run]) -> Self {
        let mut warm: Vec<Duration> = runs.iter().flat_map(|run| run.warm.clone()).collect();
        warm.sort();
        let mean =
            |value: &dyn Fn(&Run) -> f64| runs.iter().map(value).sum::<f64>() / runs.len() as f64;
        Self {
            init_ms: mean(&|run| run.init.as_secs_f64() * 1000.0),
            first_ms: mean(&|run| run.first.as_secs_f64() * 1000.0),
            p50_ms: percentile_ms(&warm, 0.50),
            p99_ms: percentile_ms(&warm, 0.99),
            cpu_us: mean(&Run::cpu_us_per_invoke),
            peak_mib: mean(&|run| run.peak_kib as f64 / 1024.0),
            anon_mib: mean(&|run| run.anon_kib as f64 / 1024.0),
            file_mib: mean(&|run| run.file_kib as f64 / 1024.0),
        }
    }
}

/// The ladder as a markdown table: each rung's numbers and, in brackets, what it adds to the row
/// before it (the first rung of the first route: to the floor; of the next route: to the first
/// route's first rung, i.e. that route's read instead of the other's; a variant: to the whole
/// function's rung), then the function itself against the whole function's rung.
fn print_ladder(subjects: &[Subject], summary: &[Summary], invokes: usize, rounds: usize) {
    let cell = |value: f64, previous: f64, digits: usize| {
        format!("{value:.digits$} ({:+.digits$})", value - previous)
    };
    let row = |label: &str, value: &Summary, previous: &Summary| {
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(value.init_ms, previous.init_ms, 1),
            cell(value.first_ms, previous.first_ms, 1),
            cell(
                value.init_ms + value.first_ms,
                previous.init_ms + previous.first_ms,
                1
            ),
            cell(value.p50_ms, previous.p50_ms, 3),
            cell(value.cpu_us, previous.cpu_us, 0),
            cell(value.peak_mib, previous.peak_mib, 2),
            cell(value.anon_mib, previous.anon_mib, 2),
            cell(value.file_mib, previous.file_mib, 2),
        );
    };
    println!("\n## Attribution ladder: the floor's read with one part added per rung\n");
    println!(
        "`tools/bench/src/bin/ladder.rs`, release build, its warm invokes interleaved with the functions'; {invokes} warm invokes x {rounds} runs per rung; anonymous and file-backed: resident at the end of the run (`RssAnon`, `RssFile`). Each cell: the rung's value (what it adds to the row above).\n"
    );
    println!(
        "| rung | init ms | first invoke ms | init + first ms | warm p50 ms | CPU µs / invoke | peak RSS MiB | anonymous MiB | file-backed MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let floor = &summary[0];
    row("floor (`floor.rs`)", floor, floor);
    let mut first_rung: Option<&Summary> = None;
    let mut previous = floor;
    let mut current_route = "";
    for (index, subject) in subjects.iter().enumerate() {
        let Some((route, part)) = subject.rung else {
            continue;
        };
        if route != current_route {
            if let Some(function) = function_of(subjects, current_route) {
                row(
                    &format!("the `{}` function itself", subjects[function].function),
                    &summary[function],
                    previous,
                );
            }
            current_route = route;
            println!("| **{route}** | | | | | | | | |");
            previous = first_rung.unwrap_or(floor);
            first_rung.get_or_insert(&summary[index]);
        }
        row(part, &summary[index], previous);
        // A variant is measured against the whole function's rung, not the variant before it.
        if !part.starts_with("variant") {
            previous = &summary[index];
        }
    }
    if let Some(function) = function_of(subjects, current_route) {
        row(
            &format!("the `{}` function itself", subjects[function].function),
            &summary[function],
            previous,
        );
    }
}

/// The measured function that serves `route`, if it ran.
fn function_of(subjects: &[Subject], route: &str) -> Option<usize> {
    subjects.iter().position(|subject| {
        subject.rung.is_none() && subject.function != "floor" && subject.route == route
    })
}

fn percentile_ms(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

fn sample(root: &Path, relative: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(root.join("events").join(relative))
        .with_context(|| format!("events/{relative}"))
}

/// A user, a freelancer's gig, and what the samples need, in a fresh table.
async fn seed(store: &Store) -> anyhow::Result<(User, Gig)> {
    let now = OffsetDateTime::now_utc();
    let hash = gigmarket_shared::auth::password::hash_password(BENCH_PASSWORD)?;
    let mut user = User::new(
        "bench-freelancer@example.com".to_owned(),
        "Bench Freelancer".to_owned(),
        Role::Freelancer,
        now,
    );
    user.email_verified = true;
    store
        .create_user(&user, &hash)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let content = GigContent {
        title: "Modern logo design".to_owned(),
        description: "Vector logo design with source files and three concepts.".to_owned(),
        category: gigmarket_shared::domain::category::CATEGORIES[0]
            .id
            .to_owned(),
        subcategory: Some(
            gigmarket_shared::domain::category::CATEGORIES[0].subcategories[0]
                .id
                .to_owned(),
        ),
        tags: vec!["logo".to_owned(), "branding".to_owned()],
        packages: vec![Package {
            tier: Tier::Basic,
            name: "Basic".to_owned(),
            description: "One concept".to_owned(),
            price_cents: 5_000,
            currency: "EUR".to_owned(),
            delivery_days: 3,
            revisions: Revisions::Limited(2),
            features: vec!["source files".to_owned()],
        }],
    };
    let gig = Gig::new(user.id, content, GigStatus::Active, now);
    store
        .import_listed_gigs(std::slice::from_ref(&gig))
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok((user, gig))
}

/// What the other functions' samples read: a client who placed an order of `gig` (through the
/// placement use case) and opened a conversation about it with the freelancer, and an admin.
struct Seeded {
    client: User,
    admin: User,
    order_id: Uuid,
}

async fn seed_orders(store: &Store, config: &Config, gig: &Gig) -> anyhow::Result<Seeded> {
    let now = OffsetDateTime::now_utc();
    let hash = gigmarket_shared::auth::password::hash_password(BENCH_PASSWORD)?;
    let mut created = Vec::new();
    for (email, name, role) in [
        ("bench-client@example.com", "Bench Client", Role::Client),
        ("bench-admin@example.com", "Bench Admin", Role::Admin),
    ] {
        let mut user = User::new(email.to_owned(), name.to_owned(), role, now);
        user.email_verified = true;
        store
            .create_user(&user, &hash)
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        created.push(user);
    }
    let admin = created.pop().context("admin")?;
    let client = created.pop().context("client")?;
    let caller = Caller {
        id: client.id,
        role: client.role,
        session: None,
    };
    // The local stack's Stripe emulator (`scripts/env.sh`), as `orders` uses it.
    let stripe = gigmarket_shared::stripe::client::StripeClient::new(
        gigmarket_shared::stripe::client::StripeConfig::from_env()?,
    )?;
    let placed = gigmarket_shared::app::orders::place(
        store,
        &stripe,
        config,
        caller,
        Some("bench-order"),
        &PlaceOrder {
            gig_id: gig.id,
            package: Tier::Basic,
            requirements: "Blue, please.".to_owned(),
            expected_price_cents: gig.packages[0].price_cents,
            currency: gig.packages[0].currency.clone(),
        },
        now,
    )
    .await
    .map_err(|error| anyhow::anyhow!("placing the order: {error}"))?;
    gigmarket_shared::app::messages::open(
        store,
        caller,
        &OpenConversation {
            participant_id: gig.freelancer_id,
            gig_id: None,
            order_id: Some(placed.order.id),
            text: "Hello, a question about the order.".to_owned(),
        },
        config.conversations_per_hour,
        &config.quotas,
        now,
    )
    .await
    .map_err(|error| anyhow::anyhow!("opening the conversation: {error}"))?;
    Ok(Seeded {
        client,
        admin,
        order_id: placed.order.id,
    })
}

/// The dispatcher's queue and the notifier's verified sender in moto, through the clients the
/// functions build (`aws::sqs`, `aws::ses`).
async fn moto_queue_and_sender(
    sdk: &aws_config::SdkConfig,
    queue: &str,
    sender: &str,
) -> anyhow::Result<String> {
    let queue_url = aws::sqs(sdk)
        .create_queue()
        .queue_name(queue)
        .send()
        .await
        .context("creating the dispatcher's queue in moto")?
        .queue_url
        .context("moto answered no queue URL")?;
    aws::ses(sdk)
        .verify_email_identity()
        .email_address(sender)
        .send()
        .await
        .context("verifying the sender in moto's SES")?;
    Ok(queue_url)
}

/// The search index's queue (the dispatcher's hints) and bucket in moto, the bucket holding the
/// seeded gigs as the indexer's full rebuild publishes them (`search` loads it at init); their
/// URL and name.
async fn moto_search_index(
    sdk: &aws_config::SdkConfig,
    store: &Store,
    table_name: &str,
) -> anyhow::Result<(String, String)> {
    let queue_url = aws::sqs(sdk)
        .create_queue()
        .queue_name(format!("{table_name}-search-index"))
        .send()
        .await
        .context("creating the search index queue in moto")?
        .queue_url
        .context("moto answered no queue URL")?;
    let s3 = aws::s3(sdk);
    let bucket_name = format!("{table_name}-search");
    s3.create_bucket()
        .bucket(&bucket_name)
        .send()
        .await
        .context("creating the search index bucket in moto")?;
    let bucket = SearchIndexBucket::new(s3, bucket_name.clone());
    let indexer =
        indexer::Indexer::new(store.clone(), bucket.clone(), Replica::load(&bucket).await?);
    indexer
        .rebuild(OffsetDateTime::now_utc())
        .await
        .context("publishing the seeded gigs")?;
    Ok((queue_url, bucket_name))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        bail!("run through `make bench` (or start the stack and `source scripts/env.sh`)");
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let binaries = PathBuf::from(std::env::var("BENCH_BINARIES").context(
        "BENCH_BINARIES: the directory of the release-built function binaries and floor",
    )?);
    let invokes: usize = std::env::var("BENCH_INVOKES")
        .ok()
        .map(|raw| raw.parse())
        .transpose()?
        .unwrap_or(1_000);
    let only: Option<Vec<String>> = std::env::var("BENCH_FUNCTIONS")
        .ok()
        .map(|raw| raw.split(',').map(str::to_owned).collect());
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .map(|raw| raw.parse())
        .transpose()?
        .unwrap_or(2);
    anyhow::ensure!(rounds >= 1, "BENCH_ROUNDS must be at least 1");
    let ladder = std::env::var("BENCH_LADDER").as_deref() != Ok("0");

    // The table, the data the samples read, and the keyset as a secret in moto.
    let sdk = aws::sdk_config().await;
    let dynamodb = aws::dynamodb(&sdk);
    let table_name = format!("bench-lambda-{}", Uuid::new_v4().simple());
    table::create_table(&dynamodb, &table_name).await?;
    let store = Store::new(dynamodb.clone(), table_name.clone());
    let (user, gig) = seed(&store).await?;
    let config = Config::for_table(&table_name);
    let seeded = seed_orders(&store, &config, &gig).await?;
    let keys_json = std::fs::read_to_string(
        std::env::var("JWT_KEYS_FILE").context("JWT_KEYS_FILE (scripts/env.sh)")?,
    )?;
    let signing_json = std::fs::read_to_string(
        std::env::var("JWT_SIGNING_KEYS_FILE").context("JWT_SIGNING_KEYS_FILE (scripts/env.sh)")?,
    )?;
    let keys = JwtKeys::from_json(&keys_json)?;
    let issuer = TokenIssuer::new(
        keys,
        config.jwt_issuer.clone(),
        config.jwt_audience.clone(),
        Duration::from_secs(3600),
    )
    .with_signing_keys(JwtSigningKeys::from_json(&signing_json)?)?;
    // Sessions of their own that nothing ends: the samples' writes go through.
    let session = || SessionRef {
        id: Uuid::new_v4(),
        started_ms: 0,
    };
    let token = issuer.issue(user.id, user.role, session())?;
    let client_token = issuer.issue(seeded.client.id, seeded.client.role, session())?;
    let admin_token = issuer.issue(seeded.admin.id, seeded.admin.role, session())?;
    let sender = "bench-sender@example.com";
    let queue_url = moto_queue_and_sender(&sdk, &table_name, sender).await?;
    let (search_index_queue_url, search_index_bucket) =
        moto_search_index(&sdk, &store, &table_name).await?;
    let secret_id = format!("gigmarket/{table_name}/jwt-keys");
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    secrets
        .create_secret()
        .name(&secret_id)
        .secret_string(&keys_json)
        .send()
        .await
        .context("creating the JWT secret in moto")?;
    let signing_secret_id = format!("gigmarket/{table_name}/jwt-signing-keys");
    secrets
        .create_secret()
        .name(&signing_secret_id)
        .secret_string(&signing_json)
        .send()
        .await
        .context("creating the JWT signing secret in moto")?;
    let env = vec![
        ("TABLE_NAME".to_owned(), table_name.clone()),
        ("JWT_KEYS_SECRET_ID".to_owned(), secret_id.clone()),
        // Read by auth alone, as deployed.
        (
            "JWT_SIGNING_KEYS_SECRET_ID".to_owned(),
            signing_secret_id.clone(),
        ),
        // A Lambda instance sees one address per request; the bench logs in from one.
        (
            "LOGIN_MAX_ATTEMPTS_PER_ADDRESS".to_owned(),
            "1000000".to_owned(),
        ),
        // The bench sends hundreds of requests a minute as one user and from one address; the
        // limiter still counts each (its cost is in the figures), it just never refuses.
        (
            "REQUESTS_PER_MINUTE_PER_USER".to_owned(),
            "1000000000".to_owned(),
        ),
        (
            "REQUESTS_PER_MINUTE_PER_ADDRESS".to_owned(),
            "1000000000".to_owned(),
        ),
        ("ORDER_EVENTS_QUEUE_URL".to_owned(), queue_url.clone()),
        ("SENDER_EMAIL".to_owned(), sender.to_owned()),
        (
            "SEARCH_INDEX_QUEUE_URL".to_owned(),
            search_index_queue_url.clone(),
        ),
        (
            "SEARCH_INDEX_BUCKET".to_owned(),
            search_index_bucket.clone(),
        ),
    ];
    let fill = |text: String| {
        text.replace(SAMPLE_GIG_ID, &gig.id.to_string())
            .replace(SAMPLE_USER_ID, &user.id.to_string())
            .replace("<ACCESS_TOKEN>", &token)
            .replace("<FREELANCER_TOKEN>", &token)
            .replace(SAMPLE_ORDER_ID, &seeded.order_id.to_string())
            .replace("<CLIENT_TOKEN>", &client_token)
            .replace("<ADMIN_TOKEN>", &admin_token)
            .replace(SAMPLE_EVENT_ORDER_ID, &seeded.order_id.to_string())
            .replace(SAMPLE_EVENT_CLIENT_ID, &seeded.client.id.to_string())
            .replace(SAMPLE_EVENT_FREELANCER_ID, &user.id.to_string())
            .replace(SAMPLE_EVENT_GIG_ID, &gig.id.to_string())
    };
    let login = {
        let mut event: serde_json::Value =
            serde_json::from_str(&sample(&root, "auth/login.json")?)?;
        let body = serde_json::json!({"email": user.email, "password": BENCH_PASSWORD}).to_string();
        event["body"] = body.clone().into();
        event["headers"]["content-length"] = body.len().to_string().into();
        event.to_string()
    };
    let gig_event = fill(sample(&root, "gigs/get-gig.json")?);
    let reviews_event = fill(sample(&root, "reviews/gig-reviews.json")?);
    let order_event = fill(sample(&root, "orders/get-order.json")?);
    let inbox_event = fill(sample(&root, "messages/list-conversations.json")?);
    let mut subjects = vec![
        Subject::function("floor", "GET /gigs/{id} (one GetItem)", gig_event.clone()),
        Subject::function("gigs", "GET /gigs/{id}", gig_event.clone()),
        Subject::function(
            "users",
            "GET /users/{id}",
            fill(sample(&root, "users/get-user.json")?),
        ),
        Subject::function(
            "users",
            "GET /me",
            fill(sample(&root, "users/get-me.json")?),
        ),
        Subject::function("reviews", "GET /gigs/{id}/reviews", reviews_event.clone()),
        Subject::function("auth", "POST /auth/login", login),
        Subject::function("orders", "GET /orders/{id}", order_event.clone()),
        Subject::function("messages", "GET /conversations", inbox_event.clone()),
        Subject::function(
            "admin",
            "GET /admin/metrics",
            fill(sample(&root, "admin/metrics.json")?),
        ),
        // The index of the seeded gigs, loaded from moto's S3 at init.
        Subject::function(
            "search",
            "GET /gigs (q, category, max_price)",
            fill(sample(&root, "search/browse-gigs.json")?),
        ),
        // Event functions: a stream batch queued to SQS, an SQS batch mailed through SES (its
        // first invoke mails; the warm ones are redeliveries the mail claim answers), a
        // scheduler pass over empty due lists (its first invoke also reconciles Stripe's
        // events; the warm ones find the reconciliation not due).
        Subject::function(
            "dispatcher",
            "stream batch (order placed)",
            fill(sample(&root, "dispatcher/order-paid.json")?),
        ),
        Subject::function(
            "notifier",
            "SQS batch (order placed)",
            fill(sample(&root, "notifier/order-paid.json")?),
        ),
        Subject::function(
            "scheduler",
            "scheduled event",
            fill(sample(&root, "scheduler/scheduled.json")?),
        ),
        // A hint of the seeded gig: it is read again, indexed and the version published.
        Subject::function(
            "indexer",
            "SQS batch (gig hint)",
            fill(sample(&root, "indexer/gig-hints.json")?),
        ),
    ];
    subjects.retain(|subject| {
        subject.function == "floor"
            || only
                .as_ref()
                .is_none_or(|only| only.iter().any(|name| name == subject.function))
    });
    if ladder {
        // The gig routes climb every rung; the order and the inbox read only the first (their
        // raw read: what the functions' read costs before any of their parts).
        let freelancer_id = user.id.to_string();
        for (ladder_route, route, event, rungs) in [
            ("gig", "GET /gigs/{id}", &gig_event, LADDER_RUNGS),
            (
                "reviews",
                "GET /gigs/{id}/reviews",
                &reviews_event,
                LADDER_RUNGS,
            ),
            (
                "order",
                "GET /orders/{id}",
                &order_event,
                &LADDER_RUNGS[..1],
            ),
            (
                "inbox",
                "GET /conversations",
                &inbox_event,
                &LADDER_RUNGS[..1],
            ),
        ] {
            for (parts, more_env, part) in rungs {
                let mut env = vec![
                    ("LADDER_ROUTE".to_owned(), ladder_route.to_owned()),
                    ("LADDER_PARTS".to_owned(), (*parts).to_owned()),
                    ("LADDER_USER_ID".to_owned(), freelancer_id.clone()),
                ];
                env.extend(
                    more_env
                        .iter()
                        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
                );
                subjects.push(Subject {
                    function: "ladder",
                    route,
                    event: event.clone(),
                    binary: None,
                    env,
                    rung: Some((route, part)),
                });
            }
        }
    }

    // Each round spawns every subject, one after the other (init and first invoke), then hands
    // out the warm invokes round-robin, one to each subject in turn: a busy moment of the shared
    // machine then falls on all of them alike, not on whichever ran at the time.
    let logs = root.join(".local/logs");
    std::fs::create_dir_all(&logs)?;
    // auth's logins (argon2id, about 20 MiB and tens of ms of CPU each, plus writes) slowed every
    // read interleaved with them several-fold: auth gets a round-robin of its own.
    let groups: [Vec<usize>; 2] = [
        (0..subjects.len())
            .filter(|&index| subjects[index].function != "auth")
            .collect(),
        (0..subjects.len())
            .filter(|&index| subjects[index].function == "auth")
            .collect(),
    ];
    let mut runs: Vec<Vec<Run>> = subjects.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for group in groups.iter().filter(|group| !group.is_empty()) {
            eprintln!("round {}: spawning {} subjects ...", round + 1, group.len());
            let mut running = Vec::with_capacity(group.len());
            for &index in group {
                let subject = &subjects[index];
                running.push(
                    spawn_function(
                        &binaries.join(subject.binary()),
                        subject,
                        &env,
                        invokes,
                        &logs.join(format!("bench-{}-{index}.log", subject.binary())),
                    )
                    .await
                    .with_context(|| format!("{} {}", subject.function, subject.route))?,
                );
            }
            eprintln!(
                "round {}: {invokes} warm invokes each, interleaved ...",
                round + 1
            );
            // Each cycle starts one subject further on, so none always follows the same one.
            for cycle in 0..invokes {
                for offset in 0..group.len() {
                    let slot = (cycle + offset) % group.len();
                    let subject = &subjects[group[slot]];
                    let took =
                        invoke(&running[slot].queue, &subject.event, subject.function).await?;
                    running[slot].warm.push(took);
                }
            }
            for (&index, running) in group.iter().zip(running) {
                runs[index].push(running.finish()?);
            }
        }
    }

    let summary: Vec<Summary> = runs.iter().map(|runs| Summary::of(runs)).collect();
    let floor = summary[0];
    println!(
        "\n## Cold start and footprint: release builds under the Runtime API emulator, DynamoDB Local\n"
    );
    println!(
        "{invokes} warm invokes per run, {rounds} runs per function, the warm invokes of all functions interleaved; init and first invoke and peak RSS are the mean of the {rounds} runs, p50/p99 over all runs' invokes; CPU: the process's user + system time over its warm invokes, per invoke.\n"
    );
    println!(
        "| function | route | init ms | first invoke ms | warm p50 ms | warm p99 ms | CPU µs / invoke | peak RSS MiB | zipped bootstrap MB | p50 / floor | CPU / floor | init / floor | RSS / floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (subject, row) in subjects
        .iter()
        .zip(&summary)
        .filter(|(subject, _)| subject.rung.is_none())
    {
        let zipped = zipped_size(&binaries.join(subject.function))? as f64 / 1e6;
        println!(
            "| {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.0} | {:.1} | {zipped:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            subject.function,
            subject.route,
            row.init_ms,
            row.first_ms,
            row.p50_ms,
            row.p99_ms,
            row.cpu_us,
            row.peak_mib,
            row.p50_ms / floor.p50_ms,
            row.cpu_us / floor.cpu_us,
            row.init_ms / floor.init_ms,
            row.peak_mib / floor.peak_mib,
        );
    }
    if ladder {
        print_ladder(&subjects, &summary, invokes, rounds);
    }
    for (subject, runs) in subjects.iter().zip(&runs) {
        let per_run: Vec<String> = runs
            .iter()
            .map(|run| {
                let mut warm = run.warm.clone();
                warm.sort();
                format!(
                    "init {:.1} ms, first {:.1} ms, p50 {:.3} ms, CPU {:.0} µs, RSS {:.1} MiB",
                    run.init.as_secs_f64() * 1000.0,
                    run.first.as_secs_f64() * 1000.0,
                    percentile_ms(&warm, 0.50),
                    run.cpu_us_per_invoke(),
                    run.peak_kib as f64 / 1024.0
                )
            })
            .collect();
        let rung = subject
            .rung
            .map_or(String::new(), |(_, part)| format!(" {part}"));
        eprintln!(
            "{} {}{rung}: {}",
            subject.function,
            subject.route,
            per_run.join("; ")
        );
    }

    secrets
        .delete_secret()
        .secret_id(&secret_id)
        .force_delete_without_recovery(true)
        .send()
        .await?;
    if std::env::var("BENCH_KEEP_TABLE").is_err() {
        table::delete_table(&dynamodb, &table_name).await?;
    }
    Ok(())
}

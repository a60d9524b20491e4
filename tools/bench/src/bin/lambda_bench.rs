//! `lambda_bench`: cold start and footprint of each release-built function binary (`make bench`).
//!
//! A small Lambda Runtime API emulator (the `/2018-06-01/runtime/...` endpoints a function's
//! runtime client polls) runs in this process; each function binary is spawned as Lambda spawns
//! `bootstrap`: `AWS_LAMBDA_RUNTIME_API` pointing at the emulator, the `AWS_LAMBDA_*` variables,
//! and the function's environment as in `infra/template.yaml` (`TABLE_NAME`,
//! `JWT_KEYS_SECRET_ID`: the keyset is read from Secrets Manager in moto, as deployed). Measured:
//! init (spawn until the first `GET .../invocation/next`), the first invoke, warm p50/p99 over
//! `BENCH_INVOKES` (default 1,000) invokes of the function's sample event (`events/<function>/`,
//! its placeholders replaced by seeded ids and a minted token) against DynamoDB Local, peak RSS
//! (VmHWM from `/proc/<pid>/status`) and the zipped `bootstrap` size. Each function runs twice,
//! alternating with the others. The floor (`src/bin/floor.rs`: one `GetItem`) runs in the same
//! rounds; ratios are to it.
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
use gigmarket_shared::auth::{JwtKeys, TokenIssuer};
use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::domain::gig::{Gig, GigContent, GigStatus, Package, Revisions, Tier};
use gigmarket_shared::domain::user::{Role, User};
use gigmarket_shared::store::{Store, table};
use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

const RUNTIME: &str = "/2018-06-01/runtime";
/// The ids the sample events carry (tests/integration/events.rs), replaced by seeded ones.
const SAMPLE_USER_ID: &str = "11111111-1111-4111-8111-111111111111";
const SAMPLE_GIG_ID: &str = "33333333-3333-4333-8333-333333333333";
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
}

struct Run {
    init: Duration,
    first: Duration,
    warm: Vec<Duration>,
    peak_kib: u64,
}

fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmHWM")
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
    let status = serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|body| body["statusCode"].as_u64());
    if !answer.ok || !matches!(status, Some(200..=299)) {
        bail!(
            "{function}: failed invoke: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    Ok(answer.answered - answer.handed_out)
}

async fn measure(
    emulator: &Arc<Emulator>,
    runtime_api: &str,
    binary: &Path,
    subject: &Subject,
    env: &[(String, String)],
    invokes: usize,
    log: &Path,
) -> anyhow::Result<Run> {
    let (queue, receiver) = mpsc::channel(1);
    let (first_poll, polled) = oneshot::channel();
    *emulator.queue.lock().await = Some(receiver);
    *emulator.first_poll.lock().await = Some(first_poll);
    let log = std::fs::File::create(log)?;
    let spawned = Instant::now();
    let mut child = Command::new(binary)
        .env_remove("JWT_KEYS_FILE")
        .env_remove("JWT_KEYS")
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", subject.function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", subject.function),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("spawning {}", binary.display()))?;
    let outcome = async {
        let polled = tokio::time::timeout(Duration::from_secs(30), polled)
            .await
            .context("no first poll within 30 s")??;
        let init = polled - spawned;
        let first = invoke(&queue, &subject.event, subject.function).await?;
        let mut warm = Vec::with_capacity(invokes);
        for _ in 0..invokes {
            warm.push(invoke(&queue, &subject.event, subject.function).await?);
        }
        let peak_kib = peak_rss_kib(child.id())?;
        anyhow::Ok(Run {
            init,
            first,
            warm,
            peak_kib,
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    *emulator.queue.lock().await = None;
    emulator.in_flight.lock().await.clear();
    outcome
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

    // The table, the data the samples read, and the keyset as a secret in moto.
    let sdk = aws::sdk_config().await;
    let dynamodb = aws::dynamodb(&sdk);
    let table_name = format!("bench-lambda-{}", Uuid::new_v4().simple());
    table::create_table(&dynamodb, &table_name).await?;
    let store = Store::new(dynamodb.clone(), table_name.clone());
    let (user, gig) = seed(&store).await?;
    let keys_json = std::fs::read_to_string(
        std::env::var("JWT_KEYS_FILE").context("JWT_KEYS_FILE (scripts/env.sh)")?,
    )?;
    let keys = JwtKeys::from_json(&keys_json)?;
    let config = Config::for_table(&table_name);
    let token = TokenIssuer::new(
        keys,
        config.jwt_issuer.clone(),
        config.jwt_audience.clone(),
        Duration::from_secs(3600),
    )
    .issue(user.id, user.role)?;
    let secret_id = format!("gigmarket/{table_name}/jwt-keys");
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    secrets
        .create_secret()
        .name(&secret_id)
        .secret_string(&keys_json)
        .send()
        .await
        .context("creating the JWT secret in moto")?;
    let env = vec![
        ("TABLE_NAME".to_owned(), table_name.clone()),
        ("JWT_KEYS_SECRET_ID".to_owned(), secret_id.clone()),
        // A Lambda instance sees one address per request; the bench logs in from one.
        (
            "LOGIN_MAX_ATTEMPTS_PER_ADDRESS".to_owned(),
            "1000000".to_owned(),
        ),
    ];
    let fill = |text: String| {
        text.replace(SAMPLE_GIG_ID, &gig.id.to_string())
            .replace(SAMPLE_USER_ID, &user.id.to_string())
            .replace("<ACCESS_TOKEN>", &token)
            .replace("<FREELANCER_TOKEN>", &token)
    };
    let login = {
        let mut event: serde_json::Value =
            serde_json::from_str(&sample(&root, "auth/login.json")?)?;
        let body = serde_json::json!({"email": user.email, "password": BENCH_PASSWORD}).to_string();
        event["body"] = body.clone().into();
        event["headers"]["content-length"] = body.len().to_string().into();
        event.to_string()
    };
    let subjects = vec![
        Subject {
            function: "floor",
            route: "GET /gigs/{id} (one GetItem)",
            event: fill(sample(&root, "gigs/get-gig.json")?),
        },
        Subject {
            function: "gigs",
            route: "GET /gigs/{id}",
            event: fill(sample(&root, "gigs/get-gig.json")?),
        },
        Subject {
            function: "users",
            route: "GET /users/{id}",
            event: fill(sample(&root, "users/get-user.json")?),
        },
        Subject {
            function: "users",
            route: "GET /me",
            event: fill(sample(&root, "users/get-me.json")?),
        },
        Subject {
            function: "reviews",
            route: "GET /gigs/{id}/reviews",
            event: fill(sample(&root, "reviews/gig-reviews.json")?),
        },
        Subject {
            function: "auth",
            route: "POST /auth/login",
            event: login,
        },
    ];
    let subjects: Vec<Subject> = subjects
        .into_iter()
        .filter(|subject| {
            subject.function == "floor"
                || only
                    .as_ref()
                    .is_none_or(|only| only.iter().any(|name| name == subject.function))
        })
        .collect();

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
    tokio::spawn(async move { axum::serve(listener, app).await });

    let logs = root.join(".local/logs");
    std::fs::create_dir_all(&logs)?;
    let mut runs: Vec<Vec<Run>> = subjects.iter().map(|_| Vec::new()).collect();
    for round in 0..2 {
        for (index, subject) in subjects.iter().enumerate() {
            eprintln!(
                "round {}: {} {} ...",
                round + 1,
                subject.function,
                subject.route
            );
            let run = measure(
                &emulator,
                &runtime_api,
                &binaries.join(subject.function),
                subject,
                &env,
                invokes,
                &logs.join(format!("bench-{}-{index}.log", subject.function)),
            )
            .await?;
            runs[index].push(run);
        }
    }

    let summary: Vec<(f64, f64, f64, f64, f64)> = runs
        .iter_mut()
        .map(|runs| {
            let mut warm: Vec<Duration> = runs.iter().flat_map(|run| run.warm.clone()).collect();
            warm.sort();
            let mean = |value: &dyn Fn(&Run) -> f64| {
                runs.iter().map(value).sum::<f64>() / runs.len() as f64
            };
            (
                mean(&|run| run.init.as_secs_f64() * 1000.0),
                mean(&|run| run.first.as_secs_f64() * 1000.0),
                percentile_ms(&warm, 0.50),
                percentile_ms(&warm, 0.99),
                mean(&|run| run.peak_kib as f64 / 1024.0),
            )
        })
        .collect();
    let floor = summary[0];
    println!(
        "\n## Cold start and footprint: release builds under the Runtime API emulator, DynamoDB Local\n"
    );
    println!(
        "{invokes} warm invokes per run, 2 runs per function alternating; init and first invoke and peak RSS are the mean of the 2 runs, p50/p99 over both runs' invokes.\n"
    );
    println!(
        "| function | route | init ms | first invoke ms | warm p50 ms | warm p99 ms | peak RSS MiB | zipped bootstrap MB | p50 / floor | init / floor | RSS / floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (subject, (init, first, p50, p99, rss)) in subjects.iter().zip(&summary) {
        let zipped = zipped_size(&binaries.join(subject.function))? as f64 / 1e6;
        println!(
            "| {} | {} | {init:.1} | {first:.2} | {p50:.2} | {p99:.2} | {rss:.1} | {zipped:.2} | {:.2} | {:.2} | {:.2} |",
            subject.function,
            subject.route,
            p50 / floor.2,
            init / floor.0,
            rss / floor.4,
        );
    }
    for (subject, runs) in subjects.iter().zip(&runs) {
        let per_run: Vec<String> = runs
            .iter()
            .map(|run| {
                format!(
                    "init {:.1} ms, RSS {:.1} MiB",
                    run.init.as_secs_f64() * 1000.0,
                    run.peak_kib as f64 / 1024.0
                )
            })
            .collect();
        eprintln!(
            "{} {}: {}",
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

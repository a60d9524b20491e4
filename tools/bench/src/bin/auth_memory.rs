//! `auth_memory`: what `auth`'s password hashing does to a process's peak memory (`make bench`).
//!
//! For each case (sequential logins, 8 concurrent logins; `PASSWORD_HASH_CONCURRENCY` 1 and 2)
//! it starts itself as a child process, so every case gets a fresh process and its own peak: the
//! child creates a table and users, reads its peak RSS (VmHWM) before any hash (the floor), runs
//! the logins through the login use case (`Accounts::login`, exactly what `POST /auth/login`
//! runs, throttles and session writes included), and reads the peak again. The bound it checks:
//! peak - floor <= permits x one argon2id working memory (19 MiB) + a small slack for the
//! sessions and the runtime's own growth.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use gigmarket_shared::auth::JwtKeys;
use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::domain::user::Role;
use gigmarket_shared::store::table;
use gigmarket_shared::web::AppState;
use time::OffsetDateTime;
use uuid::Uuid;

/// argon2id's working memory at the parameters `auth` hashes with (m = 19,456 KiB).
const HASH_MEMORY_KIB: u64 = 19 * 1024;
/// Growth not due to hashing that the bound allows (tokio blocking threads' stacks as touched,
/// SDK buffers, sessions): small next to one hash.
const SLACK_KIB: u64 = 4 * 1024;
const PASSWORD: &str = "bench-password-123";

fn status_kib(field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("{field} in /proc/self/status"))
}

async fn child(workers: usize, logins: usize, permits: usize) -> anyhow::Result<()> {
    let table_name = format!("bench-auth-{}", Uuid::new_v4().simple());
    let dynamodb = aws::dynamodb(&aws::sdk_config().await);
    table::create_table(&dynamodb, &table_name).await?;
    let mut config = Config::for_table(&table_name);
    // Hundreds of logins a minute from one address.
    config.request_limits = gigmarket_shared::domain::quota::RequestLimits::LIFTED;
    config.password_hash_concurrency = permits;
    // No login limit is the subject here: one account per worker, addresses given back on success.
    config.login_max_attempts_per_address = u32::MAX;
    let (signing, keys) = JwtKeys::generate("bench");
    let state = AppState::new(config, dynamodb.clone(), keys).with_signing_keys(signing)?;
    let now = OffsetDateTime::now_utc();
    // Users are stored with a hash the parent process made: this process has hashed nothing
    // before its floor is read.
    let hash = std::env::var("BENCH_PASSWORD_HASH").context("BENCH_PASSWORD_HASH")?;
    let mut emails = Vec::new();
    for worker in 0..workers {
        let email = format!("bench-login-{worker}@example.com");
        let user = gigmarket_shared::domain::user::User::new(
            email.clone(),
            format!("Bench {worker}"),
            Role::Client,
            now,
        );
        state
            .store
            .create_user(&user, &hash)
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        emails.push(email);
    }
    // The floor: set up, connected, no login and no hash yet.
    let floor = status_kib("VmHWM:")?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for email in emails {
        let state = state.clone();
        tasks.spawn(async move {
            for _ in 0..logins / workers {
                state
                    .accounts()
                    .login(
                        &email,
                        PASSWORD.to_owned(),
                        "203.0.113.9",
                        OffsetDateTime::now_utc(),
                    )
                    .await
                    .map_err(|error| anyhow::anyhow!("login: {error}"))?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:")?;
    let rss = status_kib("VmRSS:")?;
    println!(
        "{floor} {peak} {rss} {} {}",
        elapsed.as_millis(),
        gigmarket_shared::auth::password::pooled_working_memory()
    );
    table::delete_table(&dynamodb, &table_name).await?;
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        let number = |index: usize| -> anyhow::Result<usize> {
            Ok(args.get(index).context("child args")?.parse()?)
        };
        let (workers, logins, permits) = (number(2)?, number(3)?, number(4)?);
        return tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(child(workers, logins, permits));
    }
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        bail!("run through `make bench` (or start the stack and `source scripts/env.sh`)");
    }
    let logins: usize = std::env::var("BENCH_LOGINS")
        .ok()
        .map(|raw| raw.parse())
        .transpose()?
        .unwrap_or(1_000);
    println!("\n## auth: peak memory of {logins} logins (argon2id m=19 MiB, t=2, p=1)\n");
    println!(
        "| logins | PASSWORD_HASH_CONCURRENCY | floor VmHWM MiB | peak VmHWM MiB | peak - floor MiB | bound (permits x 19 MiB + 4) | blocks pooled | logins/s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let password_hash = gigmarket_shared::auth::password::hash_password(PASSWORD)?;
    let mut over = Vec::new();
    for (workers, permits) in [(1, 1), (8, 1), (8, 2)] {
        let output = Command::new(std::env::current_exe()?)
            .args([
                "child",
                &workers.to_string(),
                &logins.to_string(),
                &permits.to_string(),
            ])
            .env("BENCH_PASSWORD_HASH", &password_hash)
            .output()?;
        if !output.status.success() {
            bail!(
                "child {workers}x{permits}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let line = String::from_utf8(output.stdout)?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        let [floor, peak, _rss, millis, pooled] = fields[..] else {
            bail!("child output {line:?}");
        };
        let bound = permits as u64 * HASH_MEMORY_KIB + SLACK_KIB;
        let grown = peak.saturating_sub(floor);
        if grown > bound {
            over.push(format!("{workers} workers x {permits} permits"));
        }
        let mode = if workers == 1 {
            "sequential".to_owned()
        } else {
            format!("{workers} concurrent")
        };
        println!(
            "| {logins} {mode} | {permits} | {:.1} | {:.1} | {:.1} | {:.1} | {pooled} | {:.0} |",
            mib(floor),
            mib(peak),
            mib(grown),
            mib(bound),
            logins as f64 / (millis as f64 / 1000.0),
        );
    }
    if !over.is_empty() {
        bail!("peak memory above the bound: {}", over.join(", "));
    }
    Ok(())
}

//! `bench`: the storefront benchmark (`make bench`).
//!
//! Seeds a fresh table in DynamoDB Local with generated gigs (default 5,000, deterministic), then
//! calls `GET /gigs` (keyword + filters, filters only, plain) and `GET /gigs/{id}` through the
//! `gigs` function's in-process handler, built from API Gateway v2 events exactly as Lambda hands
//! them over, and prints p50/p95 latency with the DynamoDB requests and consumed capacity per call
//! (counted by the store's capacity meter). Then the search relevance set (`relevance.json`: the
//! demo gigs are added to the corpus, each query's page one is judged) with precision@5 and the
//! requests and RCU per query. Needs the local stack (`scripts/bench.sh` starts it).
//!
//! Latency here is DynamoDB Local on a laptop-class machine, not AWS: compare runs with each
//! other, not with production. Requests and capacity per call do carry over.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use gigmarket_shared::auth::JwtKeys;
use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::domain::category::CATEGORIES;
use gigmarket_shared::domain::gig::{Gig, GigContent, GigStatus, Package, Revisions, Tier};
use gigmarket_shared::domain::search::normalize_words;
use gigmarket_shared::domain::user::{Role, User};
use gigmarket_shared::store::{CapacityMeter, table};
use gigmarket_shared::web::AppState;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower::ServiceExt;
use uuid::Uuid;

/// Seeded gigs; `BENCH_GIGS` overrides.
const DEFAULT_GIGS: usize = 5_000;
/// Measured calls per scenario; `BENCH_CALLS` overrides.
const DEFAULT_CALLS: usize = 300;
const WARMUP_CALLS: usize = 20;
const SEED_WORKERS: usize = 8;
const FREELANCERS: usize = 100;

const ADJECTIVES: &[&str] = &[
    "modern",
    "minimalist",
    "vintage",
    "professional",
    "creative",
    "custom",
    "premium",
    "fast",
    "elegant",
    "playful",
    "bold",
    "clean",
    "responsive",
    "scalable",
    "secure",
    "friendly",
];
const SUBJECTS: &[&str] = &[
    "logo",
    "website",
    "illustration",
    "animation",
    "podcast",
    "article",
    "translation",
    "dashboard",
    "api",
    "newsletter",
    "brand",
    "portrait",
    "video",
    "landing",
    "store",
    "app",
    "campaign",
    "audit",
    "script",
    "mascot",
];
const SERVICES: &[&str] = &[
    "design",
    "development",
    "editing",
    "writing",
    "strategy",
    "setup",
    "optimization",
    "consulting",
    "production",
    "review",
];
const FILLER: &[&str] = &[
    "delivered",
    "quickly",
    "revisions",
    "included",
    "source",
    "files",
    "commercial",
    "license",
    "experience",
    "years",
    "clients",
    "worldwide",
    "quality",
    "guaranteed",
    "communication",
    "support",
    "after",
    "delivery",
    "detailed",
    "brief",
    "research",
    "concepts",
    "final",
    "formats",
    "vector",
    "print",
    "ready",
    "mobile",
    "desktop",
    "seo",
    "analytics",
    "wordpress",
    "shopify",
    "react",
    "rust",
    "python",
    "cloud",
    "aws",
    "marketing",
    "social",
    "media",
    "content",
    "english",
    "spanish",
    "german",
    "french",
    "coffee",
    "restaurant",
    "startup",
    "ecommerce",
    "fashion",
    "fitness",
    "gaming",
    "music",
    "travel",
    "education",
    "finance",
];

/// A small deterministic PRNG (xorshift64*): reproducible data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn env_number(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(raw) => raw
            .parse()
            .with_context(|| format!("{name} must be a number")),
        Err(_) => Ok(default),
    }
}

fn generated_gig(rng: &mut Rng, freelancer_id: Uuid, now: OffsetDateTime) -> Gig {
    let category = &CATEGORIES[rng.below(CATEGORIES.len())];
    let subcategory = category.subcategories[rng.below(category.subcategories.len())];
    let title = format!(
        "{} {} {}",
        rng.pick(ADJECTIVES),
        rng.pick(SUBJECTS),
        rng.pick(SERVICES)
    );
    let description: Vec<&str> = (0..12 + rng.below(12))
        .map(|_| {
            if rng.below(4) == 0 {
                rng.pick(SUBJECTS)
            } else {
                rng.pick(FILLER)
            }
        })
        .collect();
    let tags = (0..1 + rng.below(3))
        .map(|_| rng.pick(FILLER).to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let base_price = 500 + 100 * rng.below(1_500) as u64;
    let base_days = 1 + rng.below(20) as u32;
    let packages = [Tier::Basic, Tier::Standard, Tier::Premium]
        .into_iter()
        .take(1 + rng.below(3))
        .enumerate()
        .map(|(step, tier)| Package {
            tier,
            name: format!("{tier:?}"),
            description: "What this package includes".to_owned(),
            price_cents: base_price * (1 + step as u64 * 2),
            currency: "EUR".to_owned(),
            delivery_days: base_days + step as u32 * 2,
            revisions: Revisions::Limited(1 + step as u32),
            features: vec!["source files".to_owned()],
        })
        .collect();
    let content = GigContent {
        title,
        description: description.join(" "),
        category: category.id.to_owned(),
        subcategory: Some(subcategory.id.to_owned()),
        tags,
        packages,
    };
    let created = now - time::Duration::seconds(rng.below(90 * 24 * 3600) as i64);
    let mut gig = Gig::new(freelancer_id, content, GigStatus::Active, created);
    if rng.below(10) < 7 {
        gig.rating_count = 1 + rng.below(40) as u64;
        gig.rating_sum = gig.rating_count * (3 + rng.below(3) as u64);
    }
    gig
}

/// Seeds the gigs; their ids and titles.
async fn seed(state: &AppState, gigs: usize) -> anyhow::Result<(Vec<Uuid>, Vec<String>)> {
    let now = OffsetDateTime::now_utc();
    let mut freelancers = Vec::new();
    for index in 0..FREELANCERS {
        let user = User::new(
            format!("bench-{index}@example.com"),
            format!("Bench Freelancer {index}"),
            Role::Freelancer,
            now,
        );
        // The bench never logs in: any string does for the hash.
        state
            .store
            .create_user(&user, "not-a-password-hash")
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        freelancers.push(user.id);
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let all: Vec<Gig> = (0..gigs)
        .map(|index| generated_gig(&mut rng, freelancers[index % FREELANCERS], now))
        .collect();
    let ids = all.iter().map(|gig| gig.id).collect();
    let titles = all.iter().map(|gig| gig.content().title.clone()).collect();
    // Bulk import (BatchWriteItem) of exactly the items `create_gig` writes: DynamoDB Local runs
    // transactions one at a time, far slower than DynamoDB.
    let chunk = 50;
    let mut workers = tokio::task::JoinSet::new();
    let parts: Vec<Vec<Gig>> = all.chunks(chunk).map(<[Gig]>::to_vec).collect();
    let parts = Arc::new(std::sync::Mutex::new(parts));
    for _ in 0..SEED_WORKERS {
        let store = state.store.clone();
        let parts = parts.clone();
        workers.spawn(async move {
            loop {
                let Some(part) = parts.lock().expect("lock").pop() else {
                    return anyhow::Ok(());
                };
                store
                    .import_listed_gigs(&part)
                    .await
                    .map_err(|error| anyhow::anyhow!("{error}"))?;
            }
        });
    }
    while let Some(result) = workers.join_next().await {
        result??;
    }
    Ok((ids, titles))
}

/// The API Gateway HTTP API (v2) event of a GET, as Lambda would deliver it.
fn get_event(path_and_query: &str) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "api.gigmarket.bench"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "api.gigmarket.bench",
            "domainPrefix": "api",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": Uuid::new_v4().to_string(), "routeKey": "$default", "stage": "$default",
            "time": "25/Nov/2026:08:00:00 +0000", "timeEpoch": 1795680000000u64
        },
        "isBase64Encoded": false
    })
    .to_string()
}

struct Call {
    latency: Duration,
    requests: u64,
    capacity: f64,
    items: usize,
}

async fn call(router: &Router, meter: &CapacityMeter, path: &str) -> anyhow::Result<Call> {
    let request = lambda_http::request::from_str(&get_event(path)).context("event")?;
    meter.take();
    let started = Instant::now();
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let latency = started.elapsed();
    let (requests, capacity) = meter.take();
    anyhow::ensure!(
        status.is_success(),
        "{path}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    let body: Value = serde_json::from_slice(&bytes)?;
    let items = body["items"].as_array().map_or(1, Vec::len);
    Ok(Call {
        latency,
        requests,
        capacity,
        items,
    })
}

struct Scenario {
    name: &'static str,
    path: Box<dyn Fn(&mut Rng) -> String>,
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// Where the relevance set lives (its `about` says how it is judged).
const RELEVANCE_SET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/relevance.json");
/// Page one of a relevance query.
const RELEVANCE_PAGE: usize = 5;

#[derive(serde::Deserialize)]
struct RelevanceSet {
    demo_gigs: Vec<DemoGig>,
    queries: Vec<RelevanceQuery>,
}

#[derive(serde::Deserialize)]
struct DemoGig {
    title: String,
    category: String,
    subcategory: String,
    tags: Vec<String>,
    description: String,
}

#[derive(serde::Deserialize)]
struct RelevanceQuery {
    q: String,
    relevant_titles: Vec<String>,
    #[serde(default)]
    filters: Option<String>,
}

fn demo_gig(demo: &DemoGig, freelancer_id: Uuid, now: OffsetDateTime) -> Gig {
    let content = GigContent {
        title: demo.title.clone(),
        description: demo.description.clone(),
        category: demo.category.clone(),
        subcategory: Some(demo.subcategory.clone()),
        tags: demo.tags.clone(),
        packages: vec![Package {
            tier: Tier::Basic,
            name: "Basic".to_owned(),
            description: "What this package includes".to_owned(),
            price_cents: 9_000,
            currency: "EUR".to_owned(),
            delivery_days: 5,
            revisions: Revisions::Limited(1),
            features: vec!["source files".to_owned()],
        }],
    };
    Gig::new(freelancer_id, content, GigStatus::Active, now)
}

/// Whether a title is one a user asking the query expects: it holds every word of one of the
/// query's relevant titles (compared as search terms: case, accents and inflection folded).
fn is_relevant(title: &str, relevant_titles: &[String]) -> bool {
    let words = normalize_words(title);
    relevant_titles.iter().any(|relevant| {
        normalize_words(relevant)
            .iter()
            .all(|word| words.contains(word))
    })
}

/// Runs the relevance set against the seeded table and prints precision@5 and cost per query.
async fn relevance(
    router: &Router,
    meter: &CapacityMeter,
    set: &RelevanceSet,
    corpus_titles: &[String],
) -> anyhow::Result<()> {
    println!(
        "\n## Search relevance: {} queries, page one = {RELEVANCE_PAGE} results\n",
        set.queries.len()
    );
    println!(
        "| query | filters | relevant in corpus | relevant on page one | precision@5 | DDB req | RCU |"
    );
    println!("|---|---|---|---|---|---|---|");
    let (mut precision_sum, mut requests_sum, mut capacity_sum) = (0f64, 0u64, 0f64);
    let mut max_capacity = 0f64;
    let mut judged = 0usize;
    for query in &set.queries {
        let in_corpus = corpus_titles
            .iter()
            .filter(|title| is_relevant(title, &query.relevant_titles))
            .count();
        let encoded: String = form_urlencoded_query(&query.q);
        let filters = query.filters.as_deref().unwrap_or("");
        let path = format!(
            "/gigs?q={encoded}&limit={RELEVANCE_PAGE}{}{filters}",
            if filters.is_empty() { "" } else { "&" }
        );
        let request = lambda_http::request::from_str(&get_event(&path)).context("event")?;
        meter.take();
        let response = router.clone().oneshot(request).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        let (requests, capacity) = meter.take();
        anyhow::ensure!(status.is_success(), "{path}: {status}");
        let body: Value = serde_json::from_slice(&bytes)?;
        let titles: Vec<&str> = body["items"]
            .as_array()
            .context("items")?
            .iter()
            .filter_map(|item| item["title"].as_str())
            .collect();
        let hits = titles
            .iter()
            .filter(|title| is_relevant(title, &query.relevant_titles))
            .count();
        requests_sum += requests;
        capacity_sum += capacity;
        max_capacity = max_capacity.max(capacity);
        // Precision@5, out of what the corpus can give: a query with 2 relevant gigs and both
        // on page one scores 1. A query the corpus has no answer for (a smaller BENCH_GIGS)
        // is not judged.
        let precision = if in_corpus == 0 {
            "n/a".to_owned()
        } else {
            let precision = hits as f64 / in_corpus.min(RELEVANCE_PAGE) as f64;
            precision_sum += precision;
            judged += 1;
            format!("{precision:.2}")
        };
        println!(
            "| {} | {filters} | {in_corpus} | {hits} | {precision} | {requests} | {capacity:.1} |",
            query.q
        );
    }
    let count = set.queries.len() as f64;
    println!(
        "\nMean precision@5 {:.3} over {judged} judged queries; per query {:.2} DynamoDB requests and {:.2} RCU on average, {max_capacity:.1} RCU at most.",
        precision_sum / judged.max(1) as f64,
        requests_sum as f64 / count,
        capacity_sum / count
    );
    Ok(())
}

/// `q` as a query-string value (spaces and non-ASCII percent-encoded).
fn form_urlencoded_query(q: &str) -> String {
    q.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        anyhow::bail!("run through `make bench` (or start the stack and `source scripts/env.sh`)");
    }
    let gigs = env_number("BENCH_GIGS", DEFAULT_GIGS)?;
    let calls = env_number("BENCH_CALLS", DEFAULT_CALLS)?;
    let table_name = format!("bench-{}", Uuid::new_v4().simple());
    let dynamodb = aws::dynamodb(&aws::sdk_config().await);
    table::create_table(&dynamodb, &table_name).await?;
    let meter = Arc::new(CapacityMeter::default());
    let (signing, keys) = JwtKeys::generate("bench");
    let mut config = Config::for_table(&table_name);
    // The bench sends thousands of requests a minute from one address.
    config.request_limits = gigmarket_shared::domain::quota::RequestLimits::LIFTED;
    let mut state = AppState::new(config, dynamodb.clone(), keys).with_signing_keys(signing)?;
    state.store = state.store.clone().with_capacity_meter(meter.clone());

    println!("seeding {gigs} gigs of {FREELANCERS} freelancers into {table_name} ...");
    let started = Instant::now();
    let (ids, titles) = seed(&state, gigs).await?;
    let seeding = started.elapsed();
    let (seed_requests, seed_capacity) = meter.take();
    println!(
        "seeded in {:.1} s: {seed_requests} requests, {:.0} write capacity units ({:.1} per gig: the gig item and its listing entries, with their index writes; a transactional create_gig costs twice that)",
        seeding.as_secs_f64(),
        seed_capacity,
        seed_capacity / gigs as f64
    );

    // The relevance set's demo gigs join the corpus (listed, like the bench gigs).
    let relevance_set: RelevanceSet =
        serde_json::from_str(&std::fs::read_to_string(RELEVANCE_SET).context("relevance.json")?)
            .context("relevance.json")?;
    let demo_owner = User::new(
        "bench-demo@example.com".to_owned(),
        "Bench Demo".to_owned(),
        Role::Freelancer,
        OffsetDateTime::now_utc(),
    );
    state
        .store
        .create_user(&demo_owner, "not-a-password-hash")
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let demo_gigs: Vec<Gig> = relevance_set
        .demo_gigs
        .iter()
        .map(|demo| demo_gig(demo, demo_owner.id, OffsetDateTime::now_utc()))
        .collect();
    state
        .store
        .import_listed_gigs(&demo_gigs)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let corpus_titles: Vec<String> = titles
        .into_iter()
        .chain(demo_gigs.iter().map(|gig| gig.content().title.clone()))
        .collect();
    meter.take();

    let router = gigs::router(state.clone());
    let ids = Arc::new(ids);
    let scenarios = vec![
        Scenario {
            name: "GET /gigs q=1 word + max_price, relevance",
            path: Box::new(|rng| {
                format!(
                    "/gigs?q={}&max_price={}&limit=20",
                    rng.pick(SUBJECTS),
                    20_000 + 10_000 * rng.below(10)
                )
            }),
        },
        Scenario {
            name: "GET /gigs q=2 words + category + min_rating, price_asc",
            path: Box::new(|rng| {
                let category = CATEGORIES[rng.below(CATEGORIES.len())].id;
                format!(
                    "/gigs?q={}%20{}&category={category}&min_rating=4&sort=price_asc&limit=20",
                    rng.pick(SUBJECTS),
                    rng.pick(SERVICES)
                )
            }),
        },
        Scenario {
            name: "GET /gigs category + max_delivery_days, rating",
            path: Box::new(|rng| {
                let category = CATEGORIES[rng.below(CATEGORIES.len())].id;
                format!(
                    "/gigs?category={category}&max_delivery_days={}&sort=rating&limit=20",
                    3 + rng.below(10)
                )
            }),
        },
        Scenario {
            name: "GET /gigs price range, price_asc",
            path: Box::new(|rng| {
                let min = 1_000 * rng.below(50);
                format!(
                    "/gigs?min_price={min}&max_price={}&sort=price_asc&limit=20",
                    min + 20_000
                )
            }),
        },
        Scenario {
            name: "GET /gigs (newest)",
            path: Box::new(|_| "/gigs?limit=20".to_owned()),
        },
        Scenario {
            name: "GET /gigs/{id}",
            path: {
                let ids = ids.clone();
                Box::new(move |rng| format!("/gigs/{}", ids[rng.below(ids.len())]))
            },
        },
    ];

    println!(
        "\n{calls} calls per row after {WARMUP_CALLS} warm-up calls, sequential, in-process handler, DynamoDB Local\n"
    );
    println!(
        "| {:<56} | {:>7} | {:>7} | {:>7} | {:>9} | {:>9} | {:>9} |",
        "call", "p50 ms", "p95 ms", "max ms", "DDB req", "RCU", "items"
    );
    println!(
        "|{:-<58}|{:->9}|{:->9}|{:->9}|{:->11}|{:->11}|{:->11}|",
        "", "", "", "", "", "", ""
    );
    let mut rng = Rng(42);
    for scenario in &scenarios {
        for _ in 0..WARMUP_CALLS {
            call(&router, &meter, &(scenario.path)(&mut rng)).await?;
        }
        let mut latencies = Vec::with_capacity(calls);
        let (mut requests, mut capacity, mut items) = (0u64, 0f64, 0usize);
        for _ in 0..calls {
            let result = call(&router, &meter, &(scenario.path)(&mut rng)).await?;
            latencies.push(result.latency);
            requests += result.requests;
            capacity += result.capacity;
            items += result.items;
        }
        latencies.sort();
        let per_call = |total: f64| total / calls as f64;
        println!(
            "| {:<56} | {:>7.2} | {:>7.2} | {:>7.2} | {:>9.2} | {:>9.2} | {:>9.1} |",
            scenario.name,
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.95),
            percentile(&latencies, 1.0),
            per_call(requests as f64),
            per_call(capacity),
            per_call(items as f64),
        );
    }
    println!(
        "\nDDB req / RCU: DynamoDB requests and read capacity units per call (ReturnConsumedCapacity=TOTAL, means); items: results per page (limit 20)."
    );

    relevance(&router, &meter, &relevance_set, &corpus_titles).await?;

    if std::env::var("BENCH_KEEP_TABLE").is_err() {
        table::delete_table(&dynamodb, &table_name).await?;
    }
    Ok(())
}

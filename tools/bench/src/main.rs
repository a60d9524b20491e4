//! `bench`: the storefront benchmark (`make bench`).
//!
//! Seeds a fresh table in DynamoDB Local with generated gigs (default 5,000, deterministic),
//! publishes them to a search index bucket in moto with the indexer's full rebuild, then calls
//! `GET /gigs` (keyword + filters, filters only, plain) through the `search` function's in-process
//! handler and `GET /gigs/{id}` through the `gigs` function's, built from API Gateway v2 events
//! exactly as Lambda hands them over, and prints p50/p95 latency with the DynamoDB requests and
//! consumed capacity per call (counted by the store's capacity meter). Then the search relevance
//! set (`relevance.json`: the demo gigs are added to the corpus, each query's page one is judged)
//! with precision@5, nDCG@10 and the requests and RCU per query (`search_bench` judges it by kind).
//! Needs the local stack (`scripts/bench.sh` starts it).
//!
//! Latency here is DynamoDB Local on a laptop-class machine, not AWS: compare runs with each
//! other, not with production. Requests and capacity per call do carry over.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use bench::{
    BenchTable, DEFAULT_GIGS, FREELANCERS, JudgedQuery, RELEVANCE_PAGE, RELEVANT, RelevanceSet,
    Rng, SERVICES, SUBJECTS, api_answer, env_number, get_event, judged_corpus, mean, percentile,
    seed, seed_demo_gigs,
};
use gigmarket_shared::domain::category::CATEGORIES;
use gigmarket_shared::domain::gig::Gig;
use gigmarket_shared::store::CapacityMeter;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

/// Measured calls per scenario; `BENCH_CALLS` overrides.
const DEFAULT_CALLS: usize = 300;
const WARMUP_CALLS: usize = 20;

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
    /// The function that serves it.
    router: Router,
    path: Box<dyn Fn(&mut Rng) -> String>,
}

/// Runs the relevance set against the seeded table and prints precision@5, nDCG@10 and cost per
/// query.
async fn relevance(
    router: &Router,
    meter: &CapacityMeter,
    set: &RelevanceSet,
    corpus: &[Gig],
) -> anyhow::Result<()> {
    println!(
        "\n## Search relevance: {} queries, page one = {RELEVANCE_PAGE} results\n",
        set.queries.len()
    );
    println!(
        "| query | filters | relevant in corpus | relevant in top 5 | precision@5 | nDCG@10 | DDB req | RCU |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let corpus = judged_corpus(corpus);
    let (mut precisions, mut ndcgs) = (Vec::new(), Vec::new());
    let (mut requests_sum, mut capacity_sum, mut max_capacity) = (0u64, 0f64, 0f64);
    for query in &set.queries {
        let judged = JudgedQuery::new(query, &corpus)?;
        let answer = api_answer(router, meter, query).await?;
        let grades: Vec<u8> = answer
            .titles
            .iter()
            .map(|title| judged.grade(title))
            .collect();
        let precision = judged.precision_at_5(&grades);
        let ndcg = judged.ndcg_at_10(&grades);
        precisions.push(precision);
        ndcgs.push(ndcg);
        requests_sum += answer.requests;
        capacity_sum += answer.capacity;
        max_capacity = max_capacity.max(answer.capacity);
        let shown = |value: Option<f64>| value.map_or("n/a".to_owned(), |v| format!("{v:.2}"));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            query.q,
            query.filters.as_deref().unwrap_or(""),
            judged.relevant_in_corpus(),
            grades
                .iter()
                .take(5)
                .filter(|grade| **grade >= RELEVANT)
                .count(),
            shown(precision),
            shown(ndcg),
            answer.requests,
            answer.capacity
        );
    }
    let count = set.queries.len() as f64;
    let (precision, judged) = mean(precisions.into_iter());
    let (ndcg, _) = mean(ndcgs.into_iter());
    println!(
        "\nMean precision@5 {precision:.3} over {judged} judged queries, nDCG@10 {ndcg:.3}; per query {:.2} DynamoDB requests and {:.2} RCU on average, {max_capacity:.1} RCU at most.",
        requests_sum as f64 / count,
        capacity_sum / count
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        anyhow::bail!("run through `make bench` (or start the stack and `source scripts/env.sh`)");
    }
    let gigs = env_number("BENCH_GIGS", DEFAULT_GIGS)?;
    let calls = env_number("BENCH_CALLS", DEFAULT_CALLS)?;
    let bench_table = BenchTable::create("bench").await?;
    let (state, meter, table_name) = (
        bench_table.state.clone(),
        bench_table.meter.clone(),
        bench_table.name.clone(),
    );

    println!("seeding {gigs} gigs of {FREELANCERS} freelancers into {table_name} ...");
    let started = Instant::now();
    let corpus = seed(&state, gigs).await?;
    let seeding = started.elapsed();
    let (seed_requests, seed_capacity) = meter.take();
    println!(
        "seeded in {:.1} s: {seed_requests} requests, {:.0} write capacity units ({:.1} per gig: the gig item and its listing entries, with their index writes; a transactional create_gig costs twice that)",
        seeding.as_secs_f64(),
        seed_capacity,
        seed_capacity / gigs as f64
    );

    // The relevance set's demo gigs join the corpus (listed, like the bench gigs).
    let relevance_set = RelevanceSet::load()?;
    let demo_gigs = seed_demo_gigs(&state, &relevance_set).await?;
    let ids: Vec<Uuid> = corpus.iter().map(|gig| gig.id).collect();
    let corpus: Vec<Gig> = corpus.into_iter().chain(demo_gigs).collect();
    meter.take();
    let published = bench_table.published_search().await?;
    println!(
        "published the index of {} listed gigs in {:.1} s (the indexer's full rebuild: one Query of every listed gig, BatchGetItem, indexing, the files and manifest to moto's S3)",
        published.listed,
        published.build.as_secs_f64()
    );

    let router = gigs::router(state.clone());
    let search = published.router;
    let ids = Arc::new(ids);
    let scenarios = vec![
        Scenario {
            name: "GET /gigs q=1 word + max_price, relevance",
            router: search.clone(),
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
            router: search.clone(),
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
            router: search.clone(),
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
            router: search.clone(),
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
            router: search.clone(),
            path: Box::new(|_| "/gigs?limit=20".to_owned()),
        },
        Scenario {
            name: "GET /gigs/{id}",
            router: router.clone(),
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
            call(&scenario.router, &meter, &(scenario.path)(&mut rng)).await?;
        }
        let mut latencies = Vec::with_capacity(calls);
        let (mut requests, mut capacity, mut items) = (0u64, 0f64, 0usize);
        for _ in 0..calls {
            let result = call(&scenario.router, &meter, &(scenario.path)(&mut rng)).await?;
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

    relevance(&search, &meter, &relevance_set, &corpus).await?;

    bench_table.drop_unless_kept().await?;
    Ok(())
}

//! `search_bench`: the tantivy gig index (`gigmarket-search`) and `GET /gigs` served from it
//! (`make bench` runs it after the storefront bench).
//!
//! 1. Relevance: the storefront corpus (`BENCH_GIGS`, default 5,000, plus the demo gigs) and the
//!    relevance set (`relevance.json`), each query's page one judged: precision@5, nDCG@10,
//!    zero-result rate and the share of full pages, overall and per kind. Twice: the index in
//!    memory, and `GET /gigs` through the `search` function's in-process handler on the local
//!    stack (the indexer's full rebuild into moto's S3, a page's gigs read back from DynamoDB
//!    Local), exactly as the storefront bench asks it; without the stack
//!    (`AWS_ENDPOINT_URL_DYNAMODB` unset) only the index in memory is judged.
//! 2. Scale: for each size of `BENCH_SEARCH_SIZES` (default `5000,100000`; empty skips it) the
//!    generated corpus is indexed in memory: build time, index size, and warm p50/p95 per query kind
//!    (`BENCH_CALLS` calls each, default 300, after 20 warm-up calls), facets included. Each
//!    version is opened again from copies of its files; with the local stack it is also
//!    published to a bucket in moto and loaded by a fresh process of this binary, as a `search`
//!    cold start loads it: the load's time (manifest, files, open) and that process's RSS.
//!
//! Timings are this machine's, in-process, index in RAM: compare runs with each other.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bench::{
    Answer, BenchTable, DEFAULT_GIGS, FREELANCERS, JudgedQuery, RELEVANCE_PAGE, RELEVANT,
    RelevanceQuery, RelevanceSet, Rng, SERVICES, SUBJECTS, api_answer, corpus, demo_gig,
    env_number, judged_corpus, mean, percentile, seed, seed_demo_gigs,
};
use gigmarket_search::published::Replica;
use gigmarket_search::{Cursor, GigIndex, SearchRequest, Sort};
use gigmarket_shared::domain::browse::BrowseParams;
use gigmarket_shared::domain::category::CATEGORIES;
use gigmarket_shared::domain::gig::Gig;
use gigmarket_shared::search_index::SearchIndexBucket;
use time::OffsetDateTime;
use uuid::Uuid;

const DEFAULT_CALLS: usize = 300;
const WARMUP_CALLS: usize = 20;

/// A relevance query as the index's request.
fn index_request(filters: &BrowseParams, q: &str, limit: usize) -> SearchRequest {
    let sort = filters.sort.map_or(Sort::Relevance, Sort::from);
    SearchRequest {
        q: q.to_owned(),
        category: filters.category.clone(),
        subcategory: filters.subcategory.clone(),
        min_price: filters.min_price,
        max_price: filters.max_price,
        max_delivery_days: filters.max_delivery_days,
        min_rating_centi: filters
            .min_rating
            .map(|stars| (stars * 100.0).round() as u64),
        sort,
        limit,
        cursor: None,
    }
}

fn index_answer(
    index: &GigIndex,
    by_id: &HashMap<Uuid, &Gig>,
    query: &RelevanceQuery,
    filters: &BrowseParams,
) -> anyhow::Result<Answer> {
    let page = index.search(&index_request(filters, &query.q, RELEVANCE_PAGE))?;
    let titles = page
        .gig_ids
        .iter()
        .map(|id| by_id.get(id).map(|gig| gig.title.clone()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| anyhow::anyhow!("the index named a gig outside the corpus"))?;
    Ok(Answer {
        full_page: titles.len() == RELEVANCE_PAGE || page.next_cursor.is_none(),
        titles,
        requests: 0,
        capacity: 0.0,
    })
}

/// One search's results over the relevance set.
#[derive(Default)]
struct Scores {
    precision: Vec<Option<f64>>,
    ndcg: Vec<Option<f64>>,
    zero: usize,
    full: usize,
    count: usize,
}

impl Scores {
    fn add(&mut self, judged: &JudgedQuery, answer: &Answer) {
        let grades: Vec<u8> = answer
            .titles
            .iter()
            .map(|title| judged.grade(title))
            .collect();
        self.precision.push(judged.precision_at_5(&grades));
        self.ndcg.push(judged.ndcg_at_10(&grades));
        self.zero += usize::from(answer.titles.is_empty());
        self.full += usize::from(answer.full_page);
        self.count += 1;
    }

    fn row(&self, name: &str, kind: &str) -> String {
        let (precision, judged) = mean(self.precision.iter().copied());
        let (ndcg, _) = mean(self.ndcg.iter().copied());
        let share = |part: usize| 100.0 * part as f64 / self.count.max(1) as f64;
        format!(
            "| {name} | {kind} | {} | {judged} | {precision:.3} | {ndcg:.3} | {:.1} % | {:.1} % |",
            self.count,
            share(self.zero),
            share(self.full)
        )
    }
}

/// `GET /gigs`' answers (the `search` function on the published index), or `None` without the
/// local stack.
async fn api_answers(
    gigs: usize,
    set: &RelevanceSet,
) -> anyhow::Result<Option<(Vec<Gig>, Vec<Answer>)>> {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        return Ok(None);
    }
    let bench_table = BenchTable::create("bench-search").await?;
    println!(
        "seeding {gigs} gigs into {} for GET /gigs ...",
        bench_table.name
    );
    let mut all = seed(&bench_table.state, gigs).await?;
    all.extend(seed_demo_gigs(&bench_table.state, set).await?);
    let search = bench_table.published_search().await?;
    let mut answers = Vec::with_capacity(set.queries.len());
    for query in &set.queries {
        answers.push(api_answer(&search.router, &bench_table.meter, query).await?);
    }
    bench_table.drop_unless_kept().await?;
    Ok(Some((all, answers)))
}

fn build_index(gigs: &[Gig]) -> anyhow::Result<(GigIndex, Duration)> {
    let started = Instant::now();
    let mut index = GigIndex::in_ram()?;
    for gig in gigs {
        index.replace(gig)?;
    }
    index.commit()?;
    Ok((index, started.elapsed()))
}

async fn relevance(gigs: usize, set: &RelevanceSet) -> anyhow::Result<()> {
    let served = api_answers(gigs, set).await?;
    let corpus_gigs = match &served {
        Some((all, _)) => all.clone(),
        None => {
            let now = OffsetDateTime::now_utc();
            let freelancers: Vec<Uuid> = (0..FREELANCERS).map(|_| Uuid::new_v4()).collect();
            let demo_owner = Uuid::new_v4();
            let mut all = corpus(gigs, &freelancers, now);
            all.extend(
                set.demo_gigs
                    .iter()
                    .map(|demo| demo_gig(demo, demo_owner, now)),
            );
            all
        }
    };
    let (index, _) = build_index(&corpus_gigs)?;
    let by_id: HashMap<Uuid, &Gig> = corpus_gigs.iter().map(|gig| (gig.id, gig)).collect();
    let judged_corpus = judged_corpus(&corpus_gigs);
    let kinds = ["keyword", "typo", "filter", "sort"];
    let mut through_api: HashMap<&str, Scores> = HashMap::new();
    let mut in_memory: HashMap<&str, Scores> = HashMap::new();
    let mut unanswered: Vec<&str> = Vec::new();
    for (place, query) in set.queries.iter().enumerate() {
        let judged = JudgedQuery::new(query, &judged_corpus)?;
        if let Some((_, answers)) = &served {
            through_api
                .entry("all")
                .or_default()
                .add(&judged, &answers[place]);
            through_api
                .entry(query.kind.as_str())
                .or_default()
                .add(&judged, &answers[place]);
        }
        let answer = index_answer(&index, &by_id, query, &judged.filters)?;
        if answer.titles.is_empty() {
            unanswered.push(&query.q);
        }
        in_memory.entry("all").or_default().add(&judged, &answer);
        in_memory
            .entry(query.kind.as_str())
            .or_default()
            .add(&judged, &answer);
    }
    println!(
        "\n## Search relevance: the tantivy index in memory and GET /gigs served from it, {} gigs, {} queries, page one = {RELEVANCE_PAGE}\n",
        corpus_gigs.len(),
        set.queries.len()
    );
    println!(
        "| search | kind | queries | judged | precision@5 | nDCG@10 | zero results | full pages |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for kind in std::iter::once("all").chain(kinds) {
        if let Some(scores) = in_memory.get(kind) {
            println!("{}", scores.row("index in memory", kind));
        }
        if let Some(scores) = through_api.get(kind) {
            println!("{}", scores.row("GET /gigs (search)", kind));
        }
    }
    let unanswered = if unanswered.is_empty() {
        "none".to_owned()
    } else {
        unanswered.join(", ")
    };
    println!("\nQueries the index answers with nothing: {unanswered}");
    if served.is_none() {
        println!("\n(no local stack: GET /gigs was not judged)");
    }
    println!(
        "\nprecision@5: grade-{RELEVANT} results in the first 5 out of what the corpus holds (judged: queries the corpus has a relevant gig for); nDCG@10: gains 2^grade-1 against the corpus's ideal order of the admitted gigs; full page: {RELEVANCE_PAGE} results or no further page."
    );
    Ok(())
}

/// A query kind of the latency table.
struct Kind {
    name: &'static str,
    request: Box<dyn Fn(&mut Rng) -> SearchRequest>,
}

fn kinds() -> Vec<Kind> {
    let page = 20;
    vec![
        Kind {
            name: "q=1 word, relevance",
            request: Box::new(move |rng| SearchRequest {
                q: rng.pick(SUBJECTS).to_owned(),
                limit: page,
                ..SearchRequest::default()
            }),
        },
        Kind {
            name: "q=2 words + category + min_rating, price_asc",
            request: Box::new(move |rng| SearchRequest {
                q: format!("{} {}", rng.pick(SUBJECTS), rng.pick(SERVICES)),
                category: Some(CATEGORIES[rng.below(CATEGORIES.len())].id.to_owned()),
                min_rating_centi: Some(400),
                sort: Sort::PriceAsc,
                limit: page,
                ..SearchRequest::default()
            }),
        },
        Kind {
            name: "q=2 words, one misspelled, relevance",
            request: Box::new(move |rng| {
                let subject = rng.pick(SUBJECTS);
                let cut = subject.len() / 2;
                SearchRequest {
                    q: format!(
                        "{}{} {}",
                        &subject[..cut],
                        &subject[cut + 1..],
                        rng.pick(SERVICES)
                    ),
                    limit: page,
                    ..SearchRequest::default()
                }
            }),
        },
        Kind {
            name: "category + max_delivery_days, rating",
            request: Box::new(move |rng| SearchRequest {
                category: Some(CATEGORIES[rng.below(CATEGORIES.len())].id.to_owned()),
                max_delivery_days: Some(3 + rng.below(10) as u32),
                sort: Sort::Rating,
                limit: page,
                ..SearchRequest::default()
            }),
        },
        Kind {
            name: "price range, price_asc",
            request: Box::new(move |rng| {
                let min = 1_000 * rng.below(50) as u64;
                SearchRequest {
                    min_price: Some(min),
                    max_price: Some(min + 20_000),
                    sort: Sort::PriceAsc,
                    limit: page,
                    ..SearchRequest::default()
                }
            }),
        },
        Kind {
            name: "q=1 word, page 3 (cursor), newest",
            request: Box::new(move |rng| SearchRequest {
                q: rng.pick(SUBJECTS).to_owned(),
                sort: Sort::Newest,
                limit: page,
                cursor: Some(Cursor {
                    version: 0,
                    offset: 2 * page,
                }),
                ..SearchRequest::default()
            }),
        },
    ]
}

/// Set in the child process that plays a reader's cold start: the bucket to load from.
const COLD_LOAD_BUCKET: &str = "BENCH_SEARCH_COLD_LOAD_BUCKET";

/// The child's part: `Replica::load` from the bucket (what `search` does at cold start), then
/// one line `<load ms> <VmRSS KiB> <VmHWM KiB>` on stdout.
async fn cold_load(bucket: &str) -> anyhow::Result<()> {
    let sdk = gigmarket_shared::aws::sdk_config().await;
    let bucket = SearchIndexBucket::new(gigmarket_shared::aws::s3(&sdk), bucket);
    let started = Instant::now();
    let replica = Replica::load(&bucket).await?;
    let loaded = started.elapsed();
    anyhow::ensure!(!replica.index().is_empty(), "an empty index was loaded");
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    println!(
        "{:.1} {} {}",
        loaded.as_secs_f64() * 1000.0,
        kib("VmRSS:"),
        kib("VmHWM:")
    );
    Ok(())
}

/// Publishes `index` to a fresh bucket in moto and has a fresh process load it; the cells of
/// its row (`None` without the local stack).
async fn published_cold_load(size: usize, index: GigIndex) -> anyhow::Result<Option<String>> {
    if std::env::var("AWS_ENDPOINT_URL_S3").is_err() {
        return Ok(None);
    }
    let sdk = gigmarket_shared::aws::sdk_config().await;
    let client = gigmarket_shared::aws::s3(&sdk);
    let name = format!("bench-search-{size}-{}", Uuid::new_v4().simple());
    client.create_bucket().bucket(&name).send().await?;
    let bucket = SearchIndexBucket::new(client, name.clone());
    let mut writer = Replica::unpublished(index);
    let started = Instant::now();
    writer.publish(&bucket, OffsetDateTime::now_utc()).await?;
    let published = started.elapsed();
    drop(writer);
    let output = std::process::Command::new(std::env::current_exe()?)
        .env(COLD_LOAD_BUCKET, &name)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "the cold load: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = String::from_utf8(output.stdout)?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    anyhow::ensure!(fields.len() == 3, "the cold load said {line:?}");
    let mib = |kib: &str| kib.parse::<f64>().unwrap_or(0.0) / 1024.0;
    Ok(Some(format!(
        "| {size} | {:.0} | {} | {:.1} | {:.1} |",
        published.as_secs_f64() * 1000.0,
        fields[0],
        mib(fields[1]),
        mib(fields[2])
    )))
}

async fn scale(sizes: &[usize], calls: usize) -> anyhow::Result<()> {
    println!(
        "\n## tantivy index at scale: in memory, one writer thread, {calls} calls per kind after {WARMUP_CALLS} warm-up calls, page of 20 with facets\n"
    );
    println!("| gigs | build s | index MiB | query kind | p50 ms | p95 ms | results per page |");
    println!("|---|---|---|---|---|---|---|");
    let mut published = Vec::new();
    let mut cold_loads = Vec::new();
    for &size in sizes {
        let now = OffsetDateTime::now_utc();
        let freelancers: Vec<Uuid> = (0..FREELANCERS).map(|_| Uuid::new_v4()).collect();
        let gigs = corpus(size, &freelancers, now);
        let (index, build) = build_index(&gigs)?;
        drop(gigs);
        let megabytes = index.size_bytes()? as f64 / (1024.0 * 1024.0);
        published.push(loaded_from_files(size, &index)?);
        let mut rng = Rng(42);
        for (place, kind) in kinds().iter().enumerate() {
            for _ in 0..WARMUP_CALLS {
                index.search(&(kind.request)(&mut rng))?;
            }
            let mut latencies = Vec::with_capacity(calls);
            let mut items = 0usize;
            for _ in 0..calls {
                let request = (kind.request)(&mut rng);
                let started = Instant::now();
                let page = index.search(&request)?;
                latencies.push(started.elapsed());
                items += page.gig_ids.len();
            }
            latencies.sort();
            let (gigs, build, size) = if place == 0 {
                (
                    size.to_string(),
                    format!("{:.1}", build.as_secs_f64()),
                    format!("{megabytes:.1}"),
                )
            } else {
                (String::new(), String::new(), String::new())
            };
            println!(
                "| {gigs} | {build} | {size} | {} | {:.2} | {:.2} | {:.1} |",
                kind.name,
                percentile(&latencies, 0.50),
                percentile(&latencies, 0.95),
                items as f64 / calls as f64
            );
        }
        cold_loads.extend(published_cold_load(size, index).await?);
    }
    println!(
        "\n## The index as published: its files, and a reader's copy opened from them (no download: what a cold start adds to the transfer)\n"
    );
    println!("| gigs | files | MiB | open ms | first query ms |");
    println!("|---|---|---|---|---|");
    for row in published {
        println!("{row}");
    }
    if cold_loads.is_empty() {
        println!("\n(no local stack: the index was not published to S3)");
    } else {
        println!(
            "\n## A reader's cold start: the index published to moto's S3, loaded by a fresh process (`Replica::load`: the manifest, every file 8 at a time, the open)\n"
        );
        println!("| gigs | publish ms | cold load ms | reader RSS MiB | peak RSS MiB |");
        println!("|---|---|---|---|---|");
        for row in cold_loads {
            println!("{row}");
        }
    }
    Ok(())
}

/// The committed version as the writer publishes it (`GigIndex::files`), opened again from
/// copies of its files as a reader does (`GigIndex::from_files`), and a first search on it.
fn loaded_from_files(size: usize, index: &GigIndex) -> anyhow::Result<String> {
    let files = index.files()?;
    let copies: std::collections::HashMap<&str, Vec<u8>> = files
        .files
        .iter()
        .map(|name| Ok((name.as_str(), index.file(name)?)))
        .collect::<Result<_, gigmarket_search::SearchError>>()?;
    let bytes: usize = copies.values().map(Vec::len).sum::<usize>() + files.meta.len();
    let started = Instant::now();
    let copy = GigIndex::from_files(&files, |name| copies.get(name).cloned())?;
    let opened = started.elapsed();
    let started = Instant::now();
    copy.search(&SearchRequest {
        q: "logo design".to_owned(),
        limit: 20,
        ..SearchRequest::default()
    })?;
    let first = started.elapsed();
    Ok(format!(
        "| {size} | {} | {:.1} | {:.1} | {:.1} |",
        files.files.len() + 1,
        bytes as f64 / (1024.0 * 1024.0),
        opened.as_secs_f64() * 1000.0,
        first.as_secs_f64() * 1000.0
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Ok(bucket) = std::env::var(COLD_LOAD_BUCKET) {
        return cold_load(&bucket).await;
    }
    let gigs = env_number("BENCH_GIGS", DEFAULT_GIGS)?;
    let calls = env_number("BENCH_CALLS", DEFAULT_CALLS)?;
    let sizes: Vec<usize> = std::env::var("BENCH_SEARCH_SIZES")
        .unwrap_or_else(|_| "5000,100000".to_owned())
        .split(',')
        .filter(|size| !size.trim().is_empty())
        .map(|size| size.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("BENCH_SEARCH_SIZES: sizes separated by commas"))?;
    let set = RelevanceSet::load()?;
    relevance(gigs, &set).await?;
    scale(&sizes, calls).await?;
    Ok(())
}

//! `search_bench`: the tantivy gig index (`gigmarket-search`, issue 27) beside the DynamoDB
//! search (`make bench` runs it after the storefront bench).
//!
//! 1. Relevance: the storefront corpus (`BENCH_GIGS`, default 5,000, plus the demo gigs) and the
//!    relevance set (`relevance.json`), each query's page one judged for both searches:
//!    precision@5, nDCG@10, zero-result rate and the share of full pages, overall and per kind.
//!    The DynamoDB search is asked through the `gigs` function's in-process handler on the local
//!    stack, exactly as the storefront bench asks it; without the stack
//!    (`AWS_ENDPOINT_URL_DYNAMODB` unset) only the index is judged.
//! 2. Scale: for each size of `BENCH_SEARCH_SIZES` (default `5000,100000`; empty skips it) the
//!    generated corpus is indexed in memory: build time, index size, and warm p50/p95 per query kind
//!    (`BENCH_CALLS` calls each, default 300, after 20 warm-up calls), facets included.
//!
//! Timings are this machine's, in-process, index in RAM: compare runs with each other.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bench::{
    Answer, BenchTable, DEFAULT_GIGS, FREELANCERS, JudgedQuery, RELEVANCE_PAGE, RELEVANT,
    RelevanceQuery, RelevanceSet, Rng, SERVICES, SUBJECTS, corpus, demo_gig, dynamodb_answer,
    env_number, judged_corpus, mean, percentile, seed, seed_demo_gigs,
};
use gigmarket_search::{Cursor, GigIndex, SearchRequest, Sort};
use gigmarket_shared::domain::browse::{BrowseParams, SortOrder};
use gigmarket_shared::domain::category::CATEGORIES;
use gigmarket_shared::domain::gig::Gig;
use time::OffsetDateTime;
use uuid::Uuid;

const DEFAULT_CALLS: usize = 300;
const WARMUP_CALLS: usize = 20;

/// A relevance query as the index's request.
fn index_request(filters: &BrowseParams, q: &str, limit: usize) -> SearchRequest {
    let sort = match filters.sort {
        None | Some(SortOrder::Relevance) => Sort::Relevance,
        Some(SortOrder::PriceAsc) => Sort::PriceAsc,
        Some(SortOrder::PriceDesc) => Sort::PriceDesc,
        Some(SortOrder::Rating) => Sort::Rating,
        Some(SortOrder::Newest) => Sort::Newest,
    };
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

/// The DynamoDB search's answers, or `None` without the local stack.
async fn dynamodb_answers(
    gigs: usize,
    set: &RelevanceSet,
) -> anyhow::Result<Option<(Vec<Gig>, Vec<Answer>)>> {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        return Ok(None);
    }
    let bench_table = BenchTable::create("bench-search").await?;
    println!(
        "seeding {gigs} gigs into {} for the DynamoDB search ...",
        bench_table.name
    );
    let mut all = seed(&bench_table.state, gigs).await?;
    all.extend(seed_demo_gigs(&bench_table.state, set).await?);
    let router = gigs::router(bench_table.state.clone());
    let mut answers = Vec::with_capacity(set.queries.len());
    for query in &set.queries {
        answers.push(dynamodb_answer(&router, &bench_table.meter, query).await?);
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
    let dynamodb = dynamodb_answers(gigs, set).await?;
    let corpus_gigs = match &dynamodb {
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
    let mut before: HashMap<&str, Scores> = HashMap::new();
    let mut after: HashMap<&str, Scores> = HashMap::new();
    let mut unanswered: Vec<&str> = Vec::new();
    for (place, query) in set.queries.iter().enumerate() {
        let judged = JudgedQuery::new(query, &judged_corpus)?;
        if let Some((_, answers)) = &dynamodb {
            before
                .entry("all")
                .or_default()
                .add(&judged, &answers[place]);
            before
                .entry(query.kind.as_str())
                .or_default()
                .add(&judged, &answers[place]);
        }
        let answer = index_answer(&index, &by_id, query, &judged.filters)?;
        if answer.titles.is_empty() {
            unanswered.push(&query.q);
        }
        after.entry("all").or_default().add(&judged, &answer);
        after
            .entry(query.kind.as_str())
            .or_default()
            .add(&judged, &answer);
    }
    println!(
        "\n## Search relevance: DynamoDB search and tantivy index, {} gigs, {} queries, page one = {RELEVANCE_PAGE}\n",
        corpus_gigs.len(),
        set.queries.len()
    );
    println!(
        "| search | kind | queries | judged | precision@5 | nDCG@10 | zero results | full pages |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for kind in std::iter::once("all").chain(kinds) {
        if let Some(scores) = before.get(kind) {
            println!("{}", scores.row("DynamoDB (TERM#)", kind));
        }
        if let Some(scores) = after.get(kind) {
            println!("{}", scores.row("tantivy index", kind));
        }
    }
    let unanswered = if unanswered.is_empty() {
        "none".to_owned()
    } else {
        unanswered.join(", ")
    };
    println!("\nQueries the index answers with nothing: {unanswered}");
    if dynamodb.is_none() {
        println!("\n(no local stack: the DynamoDB search was not judged)");
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

fn scale(sizes: &[usize], calls: usize) -> anyhow::Result<()> {
    println!(
        "\n## tantivy index at scale: in memory, one writer thread, {calls} calls per kind after {WARMUP_CALLS} warm-up calls, page of 20 with facets\n"
    );
    println!("| gigs | build s | index MiB | query kind | p50 ms | p95 ms | results per page |");
    println!("|---|---|---|---|---|---|---|");
    let mut published = Vec::new();
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
    }
    println!(
        "\n## The index as published: its files, and a reader's copy opened from them (no download: what a cold start adds to the transfer)\n"
    );
    println!("| gigs | files | MiB | open ms | first query ms |");
    println!("|---|---|---|---|---|");
    for row in published {
        println!("{row}");
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
    scale(&sizes, calls)?;
    Ok(())
}

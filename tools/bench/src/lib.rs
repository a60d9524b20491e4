//! What the benchmarks share: the generated storefront corpus, the API Gateway events the
//! in-process handlers are called with, and the search relevance set with its judging and
//! metrics (the storefront bench judges the DynamoDB search with it, `search_bench` that search
//! and the tantivy index).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use gigmarket_search::published::Replica;
use gigmarket_search::reader::Reader;
use gigmarket_shared::auth::JwtKeys;
use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::domain::browse::BrowseParams;
use gigmarket_shared::domain::category::CATEGORIES;
use gigmarket_shared::domain::gig::{Gig, GigContent, GigStatus, Package, Revisions, Tier};
use gigmarket_shared::domain::quota::RequestLimits;
use gigmarket_shared::domain::rating::rating_centi;
use gigmarket_shared::domain::search::normalize_words;
use gigmarket_shared::domain::user::{Role, User};
use gigmarket_shared::search_index::SearchIndexBucket;
use gigmarket_shared::store::{CapacityMeter, table};
use gigmarket_shared::web::AppState;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower::ServiceExt;
use uuid::Uuid;

/// Seeded gigs; `BENCH_GIGS` overrides.
pub const DEFAULT_GIGS: usize = 5_000;
pub const SEED_WORKERS: usize = 8;
pub const FREELANCERS: usize = 100;

pub const ADJECTIVES: &[&str] = &[
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
pub const SUBJECTS: &[&str] = &[
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
pub const SERVICES: &[&str] = &[
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
pub const FILLER: &[&str] = &[
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
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

pub fn env_number(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(raw) => raw
            .parse()
            .with_context(|| format!("{name} must be a number")),
        Err(_) => Ok(default),
    }
}

pub fn generated_gig(rng: &mut Rng, freelancer_id: Uuid, now: OffsetDateTime) -> Gig {
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

/// The generated corpus: `gigs` gigs of `freelancers` (round robin), the same titles, prices and
/// ratings on every run (the ids are new each run).
pub fn corpus(gigs: usize, freelancers: &[Uuid], now: OffsetDateTime) -> Vec<Gig> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..gigs)
        .map(|index| generated_gig(&mut rng, freelancers[index % freelancers.len()], now))
        .collect()
}

/// Seeds `FREELANCERS` freelancers and the corpus of `gigs` gigs; the gigs.
pub async fn seed(state: &AppState, gigs: usize) -> anyhow::Result<Vec<Gig>> {
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
    let all = corpus(gigs, &freelancers, now);
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
    Ok(all)
}

/// The API Gateway HTTP API (v2) event of a GET, as Lambda would deliver it.
pub fn get_event(path_and_query: &str) -> String {
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

pub fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// Where the relevance set lives (its `about` says how it is judged).
pub const RELEVANCE_SET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/relevance.json");
/// Results of a relevance query's page one: nDCG@10 judges all of them, precision@5 the first 5.
pub const RELEVANCE_PAGE: usize = 10;
/// The grade of a relevant result (precision counts these).
pub const RELEVANT: u8 = 3;

#[derive(serde::Deserialize)]
pub struct RelevanceSet {
    pub demo_gigs: Vec<DemoGig>,
    pub queries: Vec<RelevanceQuery>,
}

impl RelevanceSet {
    pub fn load() -> anyhow::Result<Self> {
        serde_json::from_str(&std::fs::read_to_string(RELEVANCE_SET).context("relevance.json")?)
            .context("relevance.json")
    }
}

#[derive(serde::Deserialize)]
pub struct DemoGig {
    pub title: String,
    pub category: String,
    pub subcategory: String,
    pub tags: Vec<String>,
    pub description: String,
}

#[derive(serde::Deserialize)]
pub struct RelevanceQuery {
    pub q: String,
    /// keyword, typo, filter or sort.
    pub kind: String,
    pub judgements: Vec<Judgement>,
    /// The rest of the query string (`category=...&sort=...`).
    #[serde(default)]
    pub filters: Option<String>,
}

/// Results whose title holds every word of `title` get `grade` (0-3).
#[derive(serde::Deserialize)]
pub struct Judgement {
    pub title: String,
    pub grade: u8,
}

pub fn demo_gig(demo: &DemoGig, freelancer_id: Uuid, now: OffsetDateTime) -> Gig {
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

/// Lists the relevance set's demo gigs (of one demo freelancer) in the table; the gigs.
pub async fn seed_demo_gigs(state: &AppState, set: &RelevanceSet) -> anyhow::Result<Vec<Gig>> {
    let now = OffsetDateTime::now_utc();
    let owner = User::new(
        "bench-demo@example.com".to_owned(),
        "Bench Demo".to_owned(),
        Role::Freelancer,
        now,
    );
    state
        .store
        .create_user(&owner, "not-a-password-hash")
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let gigs: Vec<Gig> = set
        .demo_gigs
        .iter()
        .map(|demo| demo_gig(demo, owner.id, now))
        .collect();
    state
        .store
        .import_listed_gigs(&gigs)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(gigs)
}

/// The filters of a relevance query (`filters`), read as `GET /gigs` reads its query string.
pub fn filters(query: &RelevanceQuery) -> anyhow::Result<BrowseParams> {
    serde_urlencoded::from_str(query.filters.as_deref().unwrap_or(""))
        .with_context(|| format!("relevance.json: filters of {:?}", query.q))
}

/// Whether `gig` passes the filters of `params` (what either search may return at all).
pub fn admits(params: &BrowseParams, gig: &Gig) -> bool {
    let price = gig.starting_price_cents();
    params
        .category
        .as_deref()
        .is_none_or(|id| gig.category == id)
        && params
            .subcategory
            .as_deref()
            .is_none_or(|id| gig.subcategory.as_deref() == Some(id))
        && params.min_price.is_none_or(|min| price >= min)
        && params.max_price.is_none_or(|max| price <= max)
        && params
            .max_delivery_days
            .is_none_or(|days| gig.fastest_delivery_days() <= days)
        && params.min_rating.is_none_or(|stars| {
            rating_centi(gig.rating_sum, gig.rating_count) >= (stars * 100.0).round() as u64
        })
}

/// A table in DynamoDB Local with the storefront's state on it, its requests counted.
pub struct BenchTable {
    pub name: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub state: AppState,
    pub meter: Arc<CapacityMeter>,
}

impl BenchTable {
    /// A fresh table `{prefix}-{uuid}`.
    pub async fn create(prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}-{}", Uuid::new_v4().simple());
        let dynamodb = aws::dynamodb(&aws::sdk_config().await);
        table::create_table(&dynamodb, &name).await?;
        let meter = Arc::new(CapacityMeter::default());
        let (signing, keys) = JwtKeys::generate("bench");
        let mut config = Config::for_table(&name);
        // The bench sends thousands of requests a minute from one address.
        config.request_limits = RequestLimits::LIFTED;
        let mut state = AppState::new(config, dynamodb.clone(), keys).with_signing_keys(signing)?;
        state.store = state.store.clone().with_capacity_meter(meter.clone());
        Ok(Self {
            name,
            dynamodb,
            state,
            meter,
        })
    }

    /// `GET /gigs` as deployed on this table: the indexer's full rebuild publishes every listed
    /// gig to a fresh bucket in moto, and the `search` function's router reads it (polling the
    /// manifest every 15 s, as deployed). The rebuild's reads are taken off the meter.
    pub async fn published_search(&self) -> anyhow::Result<PublishedSearch> {
        let s3 = aws::s3(&aws::sdk_config().await);
        let name = format!("{}-search", self.name);
        s3.create_bucket().bucket(&name).send().await?;
        let bucket = SearchIndexBucket::new(s3, name);
        let indexer = indexer::Indexer::new(
            self.state.store.clone(),
            bucket.clone(),
            Replica::load(&bucket).await?,
        );
        let started = std::time::Instant::now();
        let run = indexer.rebuild(OffsetDateTime::now_utc()).await?;
        let build = started.elapsed();
        let _ = self.meter.take();
        let reader = Reader::load(&bucket, Duration::from_secs(15)).await?;
        Ok(PublishedSearch {
            router: search::router(self.state.clone(), bucket, reader),
            build,
            listed: run.listed,
        })
    }

    /// Deletes the table unless `BENCH_KEEP_TABLE` is set.
    pub async fn drop_unless_kept(self) -> anyhow::Result<()> {
        if std::env::var("BENCH_KEEP_TABLE").is_err() {
            table::delete_table(&self.dynamodb, &self.name).await?;
        }
        Ok(())
    }
}

/// `GET /gigs` served from the published index (`BenchTable::published_search`).
pub struct PublishedSearch {
    /// The `search` function's router.
    pub router: Router,
    /// How long the full rebuild took (reads, indexing, publication).
    pub build: Duration,
    /// Gigs the rebuild indexed.
    pub listed: usize,
}

/// A relevance query made ready to judge: its judgements as search terms, its filters, and the
/// grades the corpus can give (for the ideal ranking).
pub struct JudgedQuery<'a> {
    pub query: &'a RelevanceQuery,
    pub filters: BrowseParams,
    judgements: Vec<(Vec<String>, u8)>,
    /// Grades of the admitted corpus gigs, highest first.
    pub ideal: Vec<u8>,
}

impl<'a> JudgedQuery<'a> {
    /// `corpus`: every gig with its title's search terms.
    pub fn new(query: &'a RelevanceQuery, corpus: &[(Vec<String>, &Gig)]) -> anyhow::Result<Self> {
        let filters = filters(query)?;
        let mut judged = Self {
            query,
            filters,
            judgements: query
                .judgements
                .iter()
                .map(|judgement| (normalize_words(&judgement.title), judgement.grade))
                .collect(),
            ideal: Vec::new(),
        };
        let mut ideal: Vec<u8> = corpus
            .iter()
            .filter(|(_, gig)| admits(&judged.filters, gig))
            .map(|(words, _)| judged.grade_words(words))
            .filter(|grade| *grade > 0)
            .collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        judged.ideal = ideal;
        Ok(judged)
    }

    /// The grade of a result with this title.
    pub fn grade(&self, title: &str) -> u8 {
        self.grade_words(&normalize_words(title))
    }

    fn grade_words(&self, words: &[String]) -> u8 {
        self.judgements
            .iter()
            .filter(|(wanted, _)| wanted.iter().all(|word| words.contains(word)))
            .map(|(_, grade)| *grade)
            .max()
            .unwrap_or(0)
    }

    /// Relevant (grade 3) gigs the corpus holds for this query.
    pub fn relevant_in_corpus(&self) -> usize {
        self.ideal
            .iter()
            .filter(|grade| **grade >= RELEVANT)
            .count()
    }

    /// Precision@5 out of what the corpus can give (2 relevant gigs, both on page one: 1);
    /// `None` when the corpus holds no relevant gig.
    pub fn precision_at_5(&self, grades: &[u8]) -> Option<f64> {
        let possible = self.relevant_in_corpus().min(5);
        let hits = grades
            .iter()
            .take(5)
            .filter(|grade| **grade >= RELEVANT)
            .count();
        (possible > 0).then(|| hits as f64 / possible as f64)
    }

    /// nDCG@10 with gains 2^grade - 1; `None` when the corpus holds nothing graded.
    pub fn ndcg_at_10(&self, grades: &[u8]) -> Option<f64> {
        let dcg = |grades: &[u8]| -> f64 {
            grades
                .iter()
                .take(10)
                .enumerate()
                .map(|(place, grade)| {
                    (2f64.powi(i32::from(*grade)) - 1.0) / (place as f64 + 2.0).log2()
                })
                .sum()
        };
        let ideal = dcg(&self.ideal);
        (ideal > 0.0).then(|| dcg(grades) / ideal)
    }
}

/// The judged corpus: each gig with its title's search terms.
pub fn judged_corpus(gigs: &[Gig]) -> Vec<(Vec<String>, &Gig)> {
    gigs.iter()
        .map(|gig| (normalize_words(&gig.title), gig))
        .collect()
}

/// Page one of a query as one search engine answered it.
pub struct Answer {
    /// Titles of the page's results, in order.
    pub titles: Vec<String>,
    /// Full (`RELEVANCE_PAGE` results) or the last page.
    pub full_page: bool,
    /// DynamoDB requests and read capacity the answer took (0 for the index in memory).
    pub requests: u64,
    pub capacity: f64,
}

/// Asks `GET /gigs` (the `search` function's handler, in-process: the index, then one
/// `BatchGetItem` of the page) for a relevance query's page one.
pub async fn api_answer(
    router: &Router,
    meter: &CapacityMeter,
    query: &RelevanceQuery,
) -> anyhow::Result<Answer> {
    let encoded = form_urlencoded_query(&query.q);
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
    let titles: Vec<String> = body["items"]
        .as_array()
        .context("items")?
        .iter()
        .filter_map(|item| item["title"].as_str().map(str::to_owned))
        .collect();
    Ok(Answer {
        full_page: titles.len() == RELEVANCE_PAGE || body["next_cursor"].is_null(),
        titles,
        requests,
        capacity,
    })
}

/// `q` as a query-string value (spaces and non-ASCII percent-encoded).
pub fn form_urlencoded_query(q: &str) -> String {
    q.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Mean of the defined values and how many there were.
pub fn mean(values: impl Iterator<Item = Option<f64>>) -> (f64, usize) {
    let (sum, count) = values.flatten().fold((0.0, 0usize), |(sum, count), value| {
        (sum + value, count + 1)
    });
    (sum / count.max(1) as f64, count)
}

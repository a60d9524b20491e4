//! The bench's attribution ladder (`lambda_bench` runs it next to the floor): the floor's
//! `GET /gigs/{id}` (or `GET /gigs/{id}/reviews`) with the parts of an API function switched on
//! at run time, so one release binary measures what each part adds to init, invoke time and
//! memory. Each part is the shared code the functions run, never a copy of it.
//!
//! `LADDER_ROUTE`: `gig` (default; one `GetItem`) or `reviews` (one `Query` of the gig's
//! reviews index partition), or, for the raw read alone (no parts: it prices the read that
//! `orders` and `messages` make, which is more than the floor's `GetItem`), `order` (the
//! consistent `Query` of an order's partition, `GET /orders/{id}`) or `inbox` (one page of
//! `LADDER_USER_ID`'s inbox on gsi1, `GET /conversations`). `LADDER_PARTS`, comma-separated,
//! any of:
//! - `tracing`: the subscriber `telemetry::init` installs (JSON, level filter);
//! - `keys`: the JWT keyset read from Secrets Manager at init (`aws::jwt_keys`);
//! - `api`: an axum router with the route, wrapped in `web::api` (request span, one log line
//!   per request, problem+json fallbacks) instead of a bare `service_fn`;
//! - `domain`: the use case's real read (`app::gigs::get`: consistent `GetItem`, the stored gig
//!   decoded, the public view serialised; `app::reviews::of_gig`: the paged Query, reviews
//!   decoded, the page) instead of the raw item as JSON;
//! - `interceptors`: the DynamoDB client of `aws::dynamodb` (call log, capacity log) instead of a
//!   plain one;
//! - `router`: the function's own router (`gigs::router`, `reviews::router`) instead of the
//!   one-route router (implies `api` and `domain`).
//!
//! `LADDER_RUNTIME=current_thread` runs it on tokio's current-thread runtime instead of the
//! multi-thread one `#[tokio::main]` starts (one worker per CPU).
//!
//! Without any part this is the floor (`floor.rs`) linked into a larger binary. The raw reads
//! take their keys from `store::keys` (through `store::testing::raw_keys`, as the floor does) and
//! send the Query the store sends (`store::paged`: `Limit` one more than the page).

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, ETAG};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::get;
use gigmarket_shared::app;
use gigmarket_shared::auth::JwtKeys;
use gigmarket_shared::config::Config;
use gigmarket_shared::pagination::PageParams;
use gigmarket_shared::store::testing::raw_keys::{self, Index};
use gigmarket_shared::web::{self, AppState, PathParam};
use gigmarket_shared::{ApiError, aws, telemetry};
use lambda_http::{Body, Error, Request, Response, run, service_fn};
use uuid::Uuid;

/// The keyset of the rungs that do not read it from Secrets Manager (a 32-byte zero key).
const UNMEASURED_KEYSET: &str = r#"{"keys": {"ladder": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "cursor_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#;

/// The page size the reviews sample event asks for (`events/reviews/gig-reviews.json`).
const REVIEWS_LIMIT: u32 = 10;

/// The page size the inbox sample event asks for (`events/messages/list-conversations.json`).
const INBOX_LIMIT: i32 = 10;

/// How many items the store reads of an order's partition per request (`Store::read_all`'s
/// chunk, plus the one that tells whether there is more).
const ORDER_PARTITION_LIMIT: i32 = 101;

#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Parts {
    tracing: bool,
    keys: bool,
    api: bool,
    domain: bool,
    interceptors: bool,
    router: bool,
}

impl Parts {
    fn parse(raw: &str) -> anyhow::Result<Self> {
        let mut parts = Self::default();
        for part in raw
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            match part {
                "tracing" => parts.tracing = true,
                "keys" => parts.keys = true,
                "api" => parts.api = true,
                "domain" => parts.domain = true,
                "interceptors" => parts.interceptors = true,
                "router" => {
                    parts.router = true;
                    parts.api = true;
                    parts.domain = true;
                }
                other => anyhow::bail!("LADDER_PARTS: unknown part {other:?}"),
            }
        }
        Ok(parts)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Gig,
    Reviews,
    Order,
    Inbox(Uuid),
}

impl Route {
    /// Only the gig routes have the parts; `order` and `inbox` price the raw read alone.
    fn has_parts(self) -> bool {
        matches!(self, Self::Gig | Self::Reviews)
    }
}

/// What one read answers: status, JSON body, the gig's ETag when there is one.
type Answer = (StatusCode, String, Option<String>);

/// Everything a read needs; built once in `main`.
struct Reader {
    route: Route,
    domain: bool,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    state: AppState,
}

impl Reader {
    /// `id`: the gig's or the order's id from the path (unused by the inbox).
    async fn read(&self, id: Uuid) -> Result<Answer, Error> {
        match (self.route, self.domain) {
            (Route::Gig, false) => {
                let key = raw_keys::gig(id);
                let item = self
                    .dynamodb
                    .get_item()
                    .table_name(&self.table)
                    .key(raw_keys::PK, AttributeValue::S(key.pk))
                    .key(raw_keys::SK, AttributeValue::S(key.sk))
                    .send()
                    .await?
                    .item;
                Ok(match item {
                    Some(item) => {
                        let json: serde_json::Value = serde_dynamo::from_item(item)?;
                        (StatusCode::OK, json.to_string(), None)
                    }
                    None => (StatusCode::NOT_FOUND, String::new(), None),
                })
            }
            (Route::Reviews, false) => {
                let query = RawQuery::newest_first_on(
                    raw_keys::REVIEWS_OF_GIG,
                    raw_keys::reviews_of_gig(id),
                );
                self.raw_query(query, REVIEWS_LIMIT as i32 + 1).await
            }
            (Route::Order, _) => {
                let query = RawQuery {
                    index: None,
                    partition: raw_keys::order_partition(id),
                    ascending: true,
                    consistent: true,
                };
                self.raw_query(query, ORDER_PARTITION_LIMIT).await
            }
            (Route::Inbox(user_id), _) => {
                let query = RawQuery::newest_first_on(raw_keys::INBOX, raw_keys::inbox(user_id));
                self.raw_query(query, INBOX_LIMIT + 1).await
            }
            (Route::Gig, true) => Ok(match app::gigs::get(&self.state.store, None, id).await {
                Ok(seen) => (
                    StatusCode::OK,
                    serde_json::to_string(&seen.view)?,
                    Some(seen.etag),
                ),
                Err(error) => (error.status(), String::new(), None),
            }),
            (Route::Reviews, true) => {
                let paging = PageParams {
                    limit: Some(REVIEWS_LIMIT),
                    cursor: None,
                };
                Ok(
                    match app::reviews::of_gig(&self.state.store, &self.state.cursors, id, paging)
                        .await
                    {
                        Ok(page) => (StatusCode::OK, serde_json::to_string(&page)?, None),
                        Err(error) => (error.status(), String::new(), None),
                    },
                )
            }
        }
    }
}

/// A raw read of one partition, as the store's Query of it (`store::paged`).
struct RawQuery {
    /// A partition of this index, or else of the table.
    index: Option<Index>,
    partition: String,
    ascending: bool,
    consistent: bool,
}

impl RawQuery {
    /// Newest first on an index (reviews of a gig, an inbox), eventually consistent as indexes
    /// are.
    fn newest_first_on(index: Index, partition: String) -> Self {
        Self {
            index: Some(index),
            partition,
            ascending: false,
            consistent: false,
        }
    }
}

impl Reader {
    /// `query`'s items, up to `limit`, as a JSON array.
    async fn raw_query(&self, query: RawQuery, limit: i32) -> Result<Answer, Error> {
        let key = query.index.map_or(raw_keys::PK, Index::pk);
        let index = query.index.map(|index| index.name().to_owned());
        let items = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .set_index_name(index)
            .key_condition_expression(format!("{key} = :partition"))
            .expression_attribute_values(":partition", AttributeValue::S(query.partition))
            .scan_index_forward(query.ascending)
            .consistent_read(query.consistent)
            .limit(limit)
            .send()
            .await?
            .items
            .unwrap_or_default();
        let json: Vec<serde_json::Value> = serde_dynamo::from_items(items)?;
        Ok((StatusCode::OK, serde_json::to_string(&json)?, None))
    }
}

/// The id of `/gigs/{id}`, `/gigs/{id}/reviews` and `/orders/{id}` (`/conversations` has
/// none: the inbox reads `LADDER_USER_ID`'s, so any id will do there).
fn id_of(path: &str, route: Route) -> Option<Uuid> {
    match route {
        Route::Inbox(_) => Some(Uuid::nil()),
        _ => path.split('/').nth(2)?.parse().ok(),
    }
}

async fn one_route(
    State(reader): State<std::sync::Arc<Reader>>,
    PathParam(gig_id): PathParam<Uuid>,
) -> Result<AxumResponse, ApiError> {
    let (status, body, etag) = reader
        .read(gig_id)
        .await
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("{error}")))?;
    let mut response = (status, [(CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(etag) = etag.and_then(|etag| HeaderValue::from_str(&etag).ok()) {
        response.headers_mut().insert(ETAG, etag);
    }
    Ok(response)
}

fn main() -> Result<(), Error> {
    let mut runtime = match std::env::var("LADDER_RUNTIME").as_deref() {
        Err(_) | Ok("multi_thread") => tokio::runtime::Builder::new_multi_thread(),
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread(),
        Ok(other) => return Err(format!("LADDER_RUNTIME: unknown runtime {other:?}").into()),
    };
    runtime.enable_all().build()?.block_on(serve())
}

async fn serve() -> Result<(), Error> {
    let parts = Parts::parse(&std::env::var("LADDER_PARTS").unwrap_or_default())?;
    let route = match std::env::var("LADDER_ROUTE").as_deref() {
        Err(_) | Ok("gig") => Route::Gig,
        Ok("reviews") => Route::Reviews,
        Ok("order") => Route::Order,
        Ok("inbox") => Route::Inbox(
            std::env::var("LADDER_USER_ID")
                .map_err(|_| "LADDER_ROUTE=inbox needs LADDER_USER_ID")?
                .parse()?,
        ),
        Ok(other) => return Err(format!("LADDER_ROUTE: unknown route {other:?}").into()),
    };
    if !route.has_parts() && parts != Parts::default() {
        return Err("LADDER_ROUTE order and inbox take no LADDER_PARTS: the raw read only".into());
    }
    if parts.tracing {
        telemetry::init();
    }
    let sdk = aws::sdk_config().await;
    let keys = if parts.keys {
        aws::jwt_keys(&sdk).await?
    } else {
        // The same parsing as the rung with the keyset, without the network call. A constant,
        // not `JwtKeys::generate`: seeding the random generator costs init time of its own.
        JwtKeys::from_json(UNMEASURED_KEYSET)?
    };
    let dynamodb = if parts.interceptors {
        aws::dynamodb(&sdk)
    } else {
        aws_sdk_dynamodb::Client::new(&sdk)
    };
    let config = Config::from_env()?;
    let table = config.table_name.clone();
    let state = AppState::new(config, dynamodb.clone(), keys);

    if parts.router {
        return match route {
            Route::Gig => run(gigs::router(state)).await,
            Route::Reviews => run(reviews::router(state)).await,
            Route::Order | Route::Inbox(_) => unreachable!("refused above: no parts"),
        };
    }
    let reader = std::sync::Arc::new(Reader {
        route,
        domain: parts.domain,
        dynamodb,
        table,
        state: state.clone(),
    });
    if parts.api {
        let path = match route {
            Route::Gig => "/gigs/{id}",
            Route::Reviews => "/gigs/{id}/reviews",
            Route::Order | Route::Inbox(_) => unreachable!("refused above: no parts"),
        };
        let routes = Router::new().route(path, get(one_route).with_state(reader));
        return run(web::api(routes, state)).await;
    }
    let reader = &reader;
    run(service_fn(move |request: Request| async move {
        let Some(id) = id_of(request.uri().path(), reader.route) else {
            return Ok::<_, Error>(Response::builder().status(404).body(Body::Empty)?);
        };
        let (status, body, etag) = reader.read(id).await?;
        let mut response = Response::builder()
            .status(status)
            .header("content-type", "application/json");
        if let Some(etag) = etag {
            response = response.header("etag", etag);
        }
        Ok(response.body(Body::from(body))?)
    }))
    .await
}

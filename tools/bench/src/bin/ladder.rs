//! The bench's attribution ladder (`lambda_bench` runs it next to the floor): the floor's
//! `GET /gigs/{id}` (or `GET /gigs/{id}/reviews`) with the parts of an API function switched on
//! at run time, so one release binary measures what each part adds to init, invoke time and
//! memory. Each part is the shared code the functions run, never a copy of it.
//!
//! `LADDER_ROUTE`: `gig` (default; one `GetItem`) or `reviews` (one `Query` of the gig's
//! reviews index partition). `LADDER_PARTS`, comma-separated, any of:
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
//! mirror `store::keys` (`GIG#<id>` / `GIG`, `REVIEWS#GIG#<id>` on gsi1) as the floor does.

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
use gigmarket_shared::web::{self, AppState, PathParam};
use gigmarket_shared::{ApiError, aws, telemetry};
use lambda_http::{Body, Error, Request, Response, run, service_fn};
use uuid::Uuid;

/// The keyset of the rungs that do not read it from Secrets Manager (a 32-byte zero key).
const UNMEASURED_KEYSET: &str = r#"{"active_kid": "ladder", "keys": {"ladder": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}"#;

/// The page size the reviews sample event asks for (`events/reviews/gig-reviews.json`).
const REVIEWS_LIMIT: u32 = 10;

#[derive(Clone, Copy, Default)]
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
    async fn read(&self, gig_id: Uuid) -> Result<Answer, Error> {
        match (self.route, self.domain) {
            (Route::Gig, false) => {
                let item = self
                    .dynamodb
                    .get_item()
                    .table_name(&self.table)
                    .key("pk", AttributeValue::S(format!("GIG#{gig_id}")))
                    .key("sk", AttributeValue::S("GIG".to_owned()))
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
                let items = self
                    .dynamodb
                    .query()
                    .table_name(&self.table)
                    .index_name("gsi1")
                    .key_condition_expression("gsi1pk = :partition")
                    .expression_attribute_values(
                        ":partition",
                        AttributeValue::S(format!("REVIEWS#GIG#{gig_id}")),
                    )
                    .scan_index_forward(false)
                    .limit(REVIEWS_LIMIT as i32 + 1)
                    .send()
                    .await?
                    .items
                    .unwrap_or_default();
                let json: Vec<serde_json::Value> = serde_dynamo::from_items(items)?;
                Ok((StatusCode::OK, serde_json::to_string(&json)?, None))
            }
            (Route::Gig, true) => Ok(
                match app::gigs::get(&self.state.store, None, gig_id).await {
                    Ok(seen) => (
                        StatusCode::OK,
                        serde_json::to_string(&seen.view)?,
                        Some(seen.etag),
                    ),
                    Err(error) => (error.status(), String::new(), None),
                },
            ),
            (Route::Reviews, true) => {
                let paging = PageParams {
                    limit: Some(REVIEWS_LIMIT),
                    cursor: None,
                };
                Ok(
                    match app::reviews::of_gig(
                        &self.state.store,
                        &self.state.cursors,
                        gig_id,
                        paging,
                    )
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

/// The gig id of `/gigs/{id}` and `/gigs/{id}/reviews`.
fn gig_id_of(path: &str) -> Option<Uuid> {
    path.split('/').nth(2)?.parse().ok()
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
        Ok(other) => return Err(format!("LADDER_ROUTE: unknown route {other:?}").into()),
    };
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
        };
        let routes = Router::new().route(path, get(one_route).with_state(reader));
        return run(web::api(routes, state)).await;
    }
    let reader = &reader;
    run(service_fn(move |request: Request| async move {
        let Some(gig_id) = gig_id_of(request.uri().path()) else {
            return Ok::<_, Error>(Response::builder().status(404).body(Body::Empty)?);
        };
        let (status, body, etag) = reader.read(gig_id).await?;
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

//! `orders`: place orders, move them through their lifecycle, read them with their timeline, and
//! their files (uploads straight to S3, downloads by redirect). Handlers parse and authenticate;
//! `app::orders`, `app::files` and the order state machine decide.

use axum::extract::{FromRequest, Request, State};
use axum::response::Json;
use axum::routing::{get, post};
use axum::{Extension, Router};
use gigmarket_shared::app::files;
use gigmarket_shared::app::orders::{self, ListAs, OrderWithTimeline};
use gigmarket_shared::domain::file::FileArea;
use gigmarket_shared::domain::order::{
    ActionInput, DeliveryBody, MessageBody, Order, OrderAction, OrderStatus, PlaceOrder, ReasonBody,
};
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::files::FileStorage;
use gigmarket_shared::pagination::{Page, PageParams};
use gigmarket_shared::stripe::client::StripeClient;
use gigmarket_shared::web::{self, AppState, JsonBody, PathParam, QueryParams};
use gigmarket_shared::{ApiError, ApiResult};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// The action routes, `POST /orders/{id}/<path>`, and the body each takes.
const ACTION_ROUTES: [(&str, OrderAction, ActionBody); 6] = [
    ("accept", OrderAction::Accept, ActionBody::None),
    ("reject", OrderAction::Reject, ActionBody::Reason),
    ("deliver", OrderAction::Deliver, ActionBody::Delivery),
    (
        "request-revision",
        OrderAction::RequestRevision,
        ActionBody::Message,
    ),
    ("complete", OrderAction::Complete, ActionBody::None),
    ("cancel", OrderAction::Cancel, ActionBody::Reason),
];

/// What an action's request body must be.
#[derive(Debug, Clone, Copy)]
enum ActionBody {
    /// None is read: accept and complete carry nothing.
    None,
    Reason,
    Message,
    Delivery,
}

/// The routes, with the Stripe client placement creates PaymentIntents with and changes refund
/// through, and the files bucket.
pub fn router(state: AppState, stripe: StripeClient, storage: FileStorage) -> Router {
    let mut routes = Router::new()
        .route("/orders", post(place_order).get(list_orders))
        .route("/orders/{id}", get(get_order))
        .merge(web::files::routes(FileArea::Order));
    for (path, action, body) in ACTION_ROUTES {
        routes = routes.route(
            &format!("/orders/{{id}}/{path}"),
            post(
                move |State(state): State<AppState>,
                      Extension(stripe): Extension<StripeClient>,
                      Extension(storage): Extension<FileStorage>,
                      caller: Caller,
                      PathParam(order_id): PathParam<Uuid>,
                      request: Request| {
                    let services = Services { stripe, storage };
                    act(state, services, caller, order_id, action, body, request)
                },
            ),
        );
    }
    web::api(routes, state)
        .layer(Extension(stripe))
        .layer(Extension(storage))
}

/// What an action may call beyond the table: Stripe, and S3 for a delivery's files.
struct Services {
    stripe: StripeClient,
    storage: FileStorage,
}

/// `POST /orders`. A header value that is not even text is present but invalid (not
/// "required"), so it is read lossily.
async fn place_order(
    State(state): State<AppState>,
    Extension(stripe): Extension<StripeClient>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(request): JsonBody<PlaceOrder>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let key = headers
        .get(web::IDEMPOTENCY_KEY_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()));
    let placed = orders::place(
        &state.store,
        &stripe,
        &state.config,
        caller,
        key.as_deref(),
        &request,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let status = StatusCode::from_u16(placed.status_code).map_err(ApiError::internal)?;
    Ok((status, Json(placed.body()?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(rename = "as")]
    list_as: Option<ListAs>,
    status: Option<OrderStatus>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<Order>>> {
    let paging = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    orders::list(
        &state.store,
        &state.cursors,
        caller,
        query.list_as,
        query.status,
        paging,
    )
    .await
    .map(Json)
}

async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(order_id): PathParam<Uuid>,
) -> ApiResult<Json<OrderWithTimeline>> {
    orders::get(&state.store, caller, order_id).await.map(Json)
}

/// Every action route: parse the body the action takes, then act.
async fn act(
    state: AppState,
    services: Services,
    caller: Caller,
    order_id: Uuid,
    action: OrderAction,
    body: ActionBody,
    request: Request,
) -> ApiResult<Json<Order>> {
    let now = OffsetDateTime::now_utc();
    let input = match body {
        ActionBody::None => ActionInput::default(),
        ActionBody::Reason => parse::<ReasonBody>(request, &state).await?.validate()?,
        ActionBody::Message => parse::<MessageBody>(request, &state).await?.validate()?,
        ActionBody::Delivery => {
            // A delivery's files are checked in S3 before it is written.
            let input = parse::<DeliveryBody>(request, &state).await?.validate()?;
            return files::deliver(
                &state.store,
                &services.storage,
                &services.stripe,
                caller,
                order_id,
                input,
                now,
            )
            .await
            .map(Json);
        }
    };
    orders::act(
        &state.store,
        &services.stripe,
        caller,
        order_id,
        action,
        input,
        now,
    )
    .await
    .map(Json)
}

async fn parse<T: serde::de::DeserializeOwned>(request: Request, state: &AppState) -> ApiResult<T> {
    JsonBody::<T>::from_request(request, state)
        .await
        .map(|JsonBody(body)| body)
}

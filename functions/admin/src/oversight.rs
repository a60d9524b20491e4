//! Admin oversight routes (`app::admin_oversight`): cancelling any open order, and the
//! marketplace-wide lists of users, orders and reviews. Thin handlers, admin-only.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::post;
use gigmarket_shared::app::admin::admin_actor;
use gigmarket_shared::app::admin_oversight::{self, AdminOrderCancelled};
use gigmarket_shared::domain::audit::ReasonBody;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::web::{AppState, JsonBody, PathParam, RequestId};
use gigmarket_shared::{ApiError, ApiResult};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/admin/orders/{id}/cancel", post(cancel_order))
}

async fn cancel_order(
    State(state): State<AppState>,
    caller: Caller,
    RequestId(request_id): RequestId,
    PathParam(order_id): PathParam<Uuid>,
    body: Result<JsonBody<ReasonBody>, ApiError>,
) -> ApiResult<Json<AdminOrderCancelled>> {
    let actor = admin_actor(&caller, Some(request_id))?;
    admin_oversight::cancel_order(
        &state.store,
        &actor,
        order_id,
        body.map(|JsonBody(reason)| reason),
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

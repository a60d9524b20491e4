//! `GET /admin/payments` (`app::admin::payments`): the ledger's charges and refunds. Thin
//! handler, admin-only.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::get;
use gigmarket_shared::ApiResult;
use gigmarket_shared::app::admin::payments::{self, PaymentsQuery};
use gigmarket_shared::domain::ledger::PaymentEntry;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::pagination::Page;
use gigmarket_shared::web::{AppState, QueryParams};
use time::OffsetDateTime;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/admin/payments", get(list_payments))
}

async fn list_payments(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<PaymentsQuery>,
) -> ApiResult<Json<Page<PaymentEntry>>> {
    payments::list_payments(
        &state.store,
        &state.cursors,
        caller,
        query,
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

//! `payouts`: Pays freelancers out: Connect onboarding, balances, withdrawals. Handlers parse and authenticate; the use cases in
//! `gigmarket_shared::app` decide.

use axum::Router;
use axum::response::Json;
use axum::routing::get;
use gigmarket_shared::ApiResult;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::web::{self, AppState};
use serde::Serialize;
use uuid::Uuid;

/// Every route of this function; each is also a line of `shared/src/routes.rs`.
pub fn router(state: AppState) -> Router {
    let routes = Router::new().route("/payouts", get(caller));
    web::api(routes, state)
}

#[derive(Debug, Serialize)]
struct CallerView {
    user_id: Uuid,
}

/// The example route: who is calling (a request without a valid token is refused before it).
async fn caller(caller: Caller) -> ApiResult<Json<CallerView>> {
    Ok(Json(CallerView { user_id: caller.id }))
}

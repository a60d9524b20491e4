//! `admin`: the admin API. Every route is admin-only (the `web::admins_only` layer refuses any
//! other token with 403 before a handler runs) and every action is audited in its own
//! transaction. Handlers parse and authenticate; `app::admin` decides. One module per thing an
//! admin acts on, as in `app::admin`: `users`, `gigs`, `orders`, `reviews`, `metrics`,
//! `payments`, `disputes`, `audit`; each adds its routes in [`router`].

use axum::middleware;
use axum::{Extension, Router};
use gigmarket_shared::stripe::client::StripeClient;
use gigmarket_shared::web::{self, AppState};

mod audit;
mod disputes;
mod gigs;
mod metrics;
mod orders;
mod payments;
mod reviews;
mod users;

/// The routes, with the Stripe client an admin's cancel refunds a paid order through.
pub fn router(state: AppState, stripe: StripeClient) -> Router {
    let routes = Router::new()
        .merge(users::routes())
        .merge(gigs::routes())
        .merge(orders::routes())
        .merge(reviews::routes())
        .merge(metrics::routes())
        .merge(payments::routes())
        .merge(disputes::routes())
        .merge(audit::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            web::admins_only,
        ));
    web::api(routes, state).layer(Extension(stripe))
}

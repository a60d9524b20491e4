//! The use cases: one function for each thing a caller can do, and the only layer that puts the
//! domain's rules and the store together. Called "app" as in the application layer of a
//! ports-and-adapters design: below it the domain (pure rules) and the store (DynamoDB), above it
//! the adapters that call it (the Lambda handlers in `functions/`, the scheduler, `gigctl`, tests).
//!
//! Each use case takes the caller (a domain [`Caller`], never an HTTP type), its input, the
//! store, and `now` (so nothing here reads the clock: the adapter does, once per request), and
//! answers with domain values or an [`ApiError`]. Domain refusals become `ApiError` through the
//! `From` impls in `error.rs`, the one place that decides how a refusal reads over HTTP.

pub mod account_tokens;
pub mod accounts;
pub mod admin;
#[cfg(feature = "stripe-client")]
pub mod disputes;
#[cfg(feature = "s3")]
pub mod files;
pub mod gigs;
pub mod messages;
// Orders are charged and refunded through Stripe: only a build with its client has them.
#[cfg(feature = "stripe-client")]
pub mod orders;
#[cfg(feature = "stripe-client")]
pub mod payments;
#[cfg(feature = "stripe-client")]
pub mod payouts;
pub mod realtime;
#[cfg(feature = "stripe-client")]
pub mod reconciliation;
pub mod reviews;
#[cfg(feature = "stripe-client")]
pub mod stripe_reports;
pub mod users;

use crate::auth::TokenIssuer;
use crate::config::Config;
use crate::domain::user::{Caller, Role, User};
use crate::error::{ApiError, ApiResult};
use crate::store::Store;

/// What the account use cases (`accounts`, `account_tokens`) work with: the store, token
/// signing, and the session rules (`config`: token lifetimes, login throttle). Built per request
/// from the function's state.
#[derive(Clone, Copy)]
pub struct Accounts<'a> {
    pub store: &'a Store,
    pub tokens: &'a TokenIssuer,
    pub config: &'a Config,
}

/// The order with the caller's side of it, if they may see it: its client, its freelancer (once
/// paid) and admins; anyone else gets 404, as for an unknown id. (`orders` and `files` use it.)
#[cfg(any(feature = "stripe-client", feature = "s3"))]
pub(crate) async fn visible_order(
    store: &Store,
    caller: Caller,
    order_id: uuid::Uuid,
) -> ApiResult<(crate::domain::order::Order, crate::domain::order::Party)> {
    use crate::domain::order::Party;

    let order = store
        .get_order(order_id)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let party = Party::of(caller.id, caller.role, &order);
    if !order.visible_to(party) {
        return Err(ApiError::NotFound("order"));
    }
    Ok((order, party))
}

/// Refuses a caller whose role is not `role`.
pub(crate) fn require_role(caller: Caller, role: Role) -> ApiResult<()> {
    if caller.role == role {
        Ok(())
    } else {
        Err(ApiError::Forbidden("your role may not perform this action"))
    }
}

/// Refuses a user who has not verified their email (403 `email-unverified`): what publishing a
/// gig, placing an order and messaging require. Takes the user item the use case read anyway.
pub(crate) fn require_verified(user: &User) -> ApiResult<()> {
    if user.email_verified {
        Ok(())
    } else {
        Err(ApiError::EmailUnverified)
    }
}

/// Reads the caller's user item and applies [`require_verified`], for use cases that do not
/// read it otherwise. A caller whose account is gone is not verified either.
pub(crate) async fn verified_caller(store: &Store, caller: Caller) -> ApiResult<User> {
    let user = store
        .get_user(caller.id)
        .await?
        .ok_or(ApiError::Unauthorized("this account no longer exists"))?;
    require_verified(&user)?;
    Ok(user)
}

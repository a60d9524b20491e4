//! The use cases: one function for each thing a caller can do, and the only layer that puts the
//! domain's rules and the store together. Called "app" as in the application layer of a
//! ports-and-adapters design: below it the domain (pure rules) and the store (DynamoDB), above it
//! the adapters that call it (the Lambda handlers in `functions/`, the scheduler, `gigctl`, tests).
//!
//! Each use case takes the caller (a domain [`Caller`], never an HTTP type), its input, the
//! store, and `now` (so nothing here reads the clock: the adapter does, once per request), and
//! answers with domain values or an [`ApiError`]. Domain refusals become `ApiError` through the
//! `From` impls in `error.rs`, the one place that decides how a refusal reads over HTTP.

pub mod accounts;
pub mod gigs;
pub mod messages;
pub mod orders;
pub mod reviews;
pub mod users;

use crate::domain::user::{Caller, Role};
use crate::error::{ApiError, ApiResult};

/// Refuses a caller whose role is not `role`.
pub(crate) fn require_role(caller: Caller, role: Role) -> ApiResult<()> {
    if caller.role == role {
        Ok(())
    } else {
        Err(ApiError::Forbidden("your role may not perform this action"))
    }
}

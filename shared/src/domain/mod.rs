//! Domain types and rules. No AWS types here: these are plain data plus the checks that decide
//! whether a request is acceptable, unit-tested without any server.

pub mod account_token;
pub mod audit;
pub mod browse;
pub mod category;
pub mod file;
pub mod gig;
pub mod ledger;
pub mod message;
pub mod metrics;
pub mod money;
pub mod order;
pub mod password_change;
pub mod payout;
pub mod quota;
pub mod rating;
pub mod realtime;
pub mod reconciliation;
pub mod refund;
pub mod review;
pub mod search;
pub mod user;
pub mod validation;

pub use validation::{FieldError, Invalid, Violations};
pub(crate) use validation::{check_text, display_text, required_text};

/// Each id once, in the order first given: a request naming a file twice means it once.
pub(crate) fn distinct(ids: &[uuid::Uuid]) -> Vec<uuid::Uuid> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

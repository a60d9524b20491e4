//! Stripe, as the platform's payment processor: the pieces of its REST API that Gigmarket uses.
//! Nothing here decides about orders or money; the use cases do, with `domain::money` and
//! `domain::ledger`.
//!
//! - `signature`: checks the `Stripe-Signature` of a webhook delivery before anything else reads it.
//! - `client` (feature `stripe-client`): the typed REST client for PaymentIntents, refunds,
//!   events, and Connect's accounts, account links, transfers, reversals and disputes.

#[cfg(feature = "stripe-client")]
pub mod client;
pub mod signature;

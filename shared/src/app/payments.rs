//! Payment use cases: what the payment processor reports about an order's PaymentIntent moves
//! the order and the ledger. The Stripe webhook (`payments`) and the tests' paying fixture call
//! [`payment_reported`], so a payment is applied the same way whoever reports it.
//!
//! Reports arrive at least once and in any order: only forward moves are applied (an unpaid
//! order becomes paid once; a payment status never goes back to an earlier one), a report about
//! an order that moved on changes nothing, and the event that carried a report is written in the
//! same DynamoDB transaction as the change it causes, so a redelivered event changes nothing.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::ledger::LedgerTransaction;
use crate::domain::order::{
    ActionInput, Actor, Order, OrderAction, OrderStatus, Payment, PaymentStatus,
};
use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use crate::store::orders::{TransitionEffects, TransitionWrite};

/// What the payment processor says about one PaymentIntent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReport {
    pub order_id: Uuid,
    pub intent_id: String,
    pub status: PaymentStatus,
    /// The last attempt's failure (a declined card), if any.
    pub error: Option<String>,
}

/// What a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The order is paid now: it went to `pending`.
    Paid,
    /// The order's payment shows the new status.
    Recorded,
    /// Nothing to do: an unknown order or intent, or a report older than what the order shows.
    Ignored,
    /// The event that carries the report was applied before.
    AlreadyApplied,
}

/// Applies `report` to its order; `event_id` is the processor's event that carried it, if any.
pub async fn payment_reported(
    store: &Store,
    event_id: Option<&str>,
    report: &PaymentReport,
    now: OffsetDateTime,
) -> ApiResult<PaymentOutcome> {
    let Some(order) = store.get_order(report.order_id).await? else {
        return Ok(PaymentOutcome::Ignored);
    };
    let Some(payment) = order.payment.as_ref() else {
        return Ok(PaymentOutcome::Ignored);
    };
    if payment.intent_id != report.intent_id || order.status != OrderStatus::AwaitingPayment {
        return Ok(PaymentOutcome::Ignored);
    }
    if report.status == PaymentStatus::Succeeded {
        return pay(store, event_id, &order, now).await;
    }
    if report.status.progress() < payment.status.progress()
        || (report.status == payment.status && report.error == payment.error)
    {
        return Ok(PaymentOutcome::Ignored);
    }
    let reported = Payment {
        status: report.status,
        error: report.error.clone(),
        ..payment.clone()
    };
    let write = store
        .record_payment(&order, &reported, event_id, now.unix_timestamp())
        .await?;
    outcome(write, PaymentOutcome::Recorded)
}

/// The order is paid: it goes to `pending`, and its whole charge into escrow (ledger
/// `order_paid`), in one transaction.
async fn pay(
    store: &Store,
    event_id: Option<&str>,
    order: &Order,
    now: OffsetDateTime,
) -> ApiResult<PaymentOutcome> {
    let transition = order.transition(
        OrderAction::Pay,
        Actor::system(),
        ActionInput::default(),
        now,
    )?;
    let split = order.split().map_err(ApiError::internal)?;
    let ledger = LedgerTransaction::order_paid(order.id, &split).map_err(ApiError::internal)?;
    let effects = TransitionEffects {
        ledger: Some(&ledger),
        processor_event: event_id,
        audit: None,
    };
    let write = store.apply_transition_with(&transition, effects).await?;
    outcome(write, PaymentOutcome::Paid)
}

fn outcome(write: TransitionWrite, applied: PaymentOutcome) -> ApiResult<PaymentOutcome> {
    match write {
        TransitionWrite::Applied => Ok(applied),
        TransitionWrite::EventAlreadyApplied => Ok(PaymentOutcome::AlreadyApplied),
        TransitionWrite::OrderChanged => Err(payment_raced()),
    }
}

/// The order changed while the report was applied: the sender retries (a webhook answers 5xx).
fn payment_raced() -> ApiError {
    ApiError::ServiceUnavailable {
        retry_after_secs: 1,
        cause: anyhow::anyhow!("the order changed while a payment report was applied"),
    }
}

#[cfg(feature = "stripe-client")]
mod stripe_reports {
    use super::*;
    use crate::stripe::client::{PaymentIntent, PaymentIntentStatus, StripeError};

    /// The order's payment record of a new intent for `amount_cents` of `currency`.
    pub fn payment_of(intent: &PaymentIntent, amount_cents: u64, currency: &str) -> Payment {
        Payment {
            status: status_of(intent.status),
            intent_id: intent.id.clone(),
            amount_cents,
            currency: currency.to_owned(),
            error: None,
        }
    }

    fn status_of(status: PaymentIntentStatus) -> PaymentStatus {
        match status {
            PaymentIntentStatus::RequiresConfirmation => PaymentStatus::RequiresConfirmation,
            PaymentIntentStatus::RequiresAction => PaymentStatus::RequiresAction,
            PaymentIntentStatus::Processing | PaymentIntentStatus::RequiresCapture => {
                PaymentStatus::Processing
            }
            PaymentIntentStatus::Succeeded => PaymentStatus::Succeeded,
            PaymentIntentStatus::Canceled => PaymentStatus::Canceled,
            PaymentIntentStatus::RequiresPaymentMethod | PaymentIntentStatus::Other => {
                PaymentStatus::RequiresPaymentMethod
            }
        }
    }

    /// The report a PaymentIntent (as Stripe sends it in an event or answers a read) makes;
    /// `None` for an intent that is no order's (no `metadata[order_id]`).
    pub fn report_of(intent: &PaymentIntent) -> Option<PaymentReport> {
        let order_id = intent.order_id()?.parse().ok()?;
        Some(PaymentReport {
            order_id,
            intent_id: intent.id.clone(),
            status: status_of(intent.status),
            error: intent
                .last_payment_error
                .as_ref()
                .map(|error| error.message.clone().unwrap_or_else(|| error.kind.clone())),
        })
    }

    /// A Stripe call that failed: 503 when worth retrying, else an internal error (a refused
    /// request is our bug, never the caller's). The cause is logged, never shown.
    pub fn unavailable(error: StripeError) -> ApiError {
        if error.is_retryable() {
            ApiError::ServiceUnavailable {
                retry_after_secs: 2,
                cause: anyhow::Error::new(error),
            }
        } else {
            ApiError::internal(error)
        }
    }
}

#[cfg(feature = "stripe-client")]
pub use stripe_reports::{payment_of, report_of, unavailable};

//! What the use cases that act on Stripe share: what a report did ([`PaymentOutcome`]), how
//! Stripe's refund status reads in ours, and how a failed Stripe call answers. The webhook's
//! dispatch (`payments`) calls `payouts`, `disputes` and `admin::refunds`, so these live apart,
//! below all four.

use crate::domain::order::RefundStatus;
use crate::error::ApiError;
use crate::stripe::client::StripeError;

/// What a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The order is paid now: it went to `pending`.
    Paid,
    /// The payment arrived after the order was cancelled: it is being refunded.
    PaidAfterClose,
    /// The order's payment (or refund) shows the new status.
    Recorded,
    /// Nothing to do: an unknown order or intent, or a report older than what the order shows.
    Ignored,
    /// The event that carries the report was applied before.
    AlreadyApplied,
    /// A withdrawal's transfer Stripe made, recorded from its event (`app::payouts`).
    TransferRecorded,
}

impl PaymentOutcome {
    /// The outcome's name in the webhook's answer.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::PaidAfterClose => "paid_after_close",
            Self::Recorded => "recorded",
            Self::Ignored => "ignored",
            Self::AlreadyApplied => "already_applied",
            Self::TransferRecorded => "transfer_recorded",
        }
    }
}

/// Stripe's status of a refund, as the order and admin refunds record it.
pub fn refund_status_of(status: crate::stripe::client::RefundStatus) -> RefundStatus {
    use crate::stripe::client::RefundStatus as Stripe;
    match status {
        Stripe::Succeeded => RefundStatus::Succeeded,
        Stripe::Failed | Stripe::Canceled => RefundStatus::Failed,
        Stripe::Pending | Stripe::RequiresAction | Stripe::Other => RefundStatus::Pending,
    }
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

//! Payment use cases: what the payment processor reports about an order's PaymentIntent and its
//! refund moves the order (and, through the order's transition, the ledger), and what an order's
//! change asks of the processor afterwards (a refund, the cancel of an unpaid intent). The Stripe
//! webhook (`payments`), the scheduler and the tests' paying fixture all call these, so a payment
//! is applied the same way whoever reports it.
//!
//! Reports arrive at least once and in any order: only forward moves are applied (an unpaid
//! order becomes paid once; a payment or refund status never goes back to an earlier one), and
//! the event that carried a report is written in the same DynamoDB transaction as the change it
//! causes, so a redelivered event changes nothing.
//!
//! The processor is asked for a refund after the change that decided it is written, never
//! before: a refund must not go out for an order whose change lost a race. A refund the processor
//! did not accept then stays `requested` on the order's deadline list, and the scheduler asks
//! again (the same Idempotency-Key, so never twice).

use time::OffsetDateTime;
use uuid::Uuid;

use super::stripe_reports::{PaymentOutcome, refund_status_of, unavailable};
use crate::domain::order::{
    ActionInput, Actor, Order, OrderAction, OrderStatus, Payment, PaymentStatus, RefundStatus,
};
use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use crate::store::orders::{TransitionEffects, TransitionWrite};
use crate::stripe::client::{
    Charge, Event, PaymentIntent, PaymentIntentStatus, StripeClient, StripeError, Transfer,
};

/// Every event type this code acts on: the webhook endpoint subscribes to these only
/// (`enabled_events`; `scripts/stack.sh stripe-webhook` locally), and acknowledges and ignores
/// anything else it is sent.
pub const WEBHOOK_EVENTS: [&str; 9] = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.processing",
    "payment_intent.canceled",
    CHARGE_REFUNDED,
    super::payouts::TRANSFER_CREATED,
    super::disputes::DISPUTE_CREATED,
    super::disputes::DISPUTE_CLOSED,
];
const CHARGE_REFUNDED: &str = "charge.refunded";

/// What the payment processor says about one PaymentIntent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReport {
    pub order_id: Uuid,
    pub intent_id: String,
    pub status: PaymentStatus,
    /// The last attempt's failure (a declined card), if any.
    pub error: Option<String>,
    /// The charge that paid it, once it succeeded.
    pub charge_id: Option<String>,
}

/// What the payment processor says about an order's refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundReport {
    pub order_id: Uuid,
    pub refund_id: String,
    pub status: RefundStatus,
}

/// Applies one of the processor's events (a webhook delivery, or an event the reconciliation
/// found): PaymentIntent events move the order's payment, `charge.refunded` its refund (or an
/// admin refund's, `app::admin::refunds`), `charge.dispute.*` its dispute (`app::disputes`),
/// `transfer.created` a withdrawal's transfer (`app::payouts`). An event this code does not use, or about no order of ours, is `Ignored`.
pub async fn event_received(
    store: &Store,
    stripe: &StripeClient,
    event: &Event,
    now: OffsetDateTime,
) -> ApiResult<PaymentOutcome> {
    let kind = event.kind.as_str();
    if kind.starts_with("payment_intent.") && WEBHOOK_EVENTS.contains(&kind) {
        let sent: PaymentIntent = event.object().map_err(|_| {
            ApiError::BadRequest("the event's object is no PaymentIntent".to_owned())
        })?;
        // Events arrive in any order, and the unpaid states (declined, 3-D Secure, waiting for
        // a card) have no order among themselves: the intent as Stripe holds it now decides.
        // A success is final, so its event is taken as sent.
        let intent = if sent.status == PaymentIntentStatus::Succeeded || sent.order_id().is_none() {
            sent
        } else {
            stripe
                .retrieve_payment_intent(&sent.id)
                .await
                .map_err(unavailable)?
        };
        return match report_of(&intent) {
            Some(report) => payment_reported(store, stripe, Some(&event.id), &report, now).await,
            None => Ok(PaymentOutcome::Ignored),
        };
    }
    if kind == CHARGE_REFUNDED {
        let charge: Charge = event
            .object()
            .map_err(|_| ApiError::BadRequest("the event's object is no Charge".to_owned()))?;
        // An admin's refund of a completed order (whole or part) records Stripe's status on
        // itself; its money moved when it was written.
        let refunds = charge
            .refunds
            .as_ref()
            .map_or(&[][..], |list| &list.data[..]);
        if super::admin::refunds::admin_refunds_reported(store, refunds, now).await? {
            return Ok(PaymentOutcome::Recorded);
        }
        return match refund_report_of(&charge) {
            Some(report) => refund_reported(store, Some(&event.id), &report, now).await,
            None => Ok(PaymentOutcome::Ignored),
        };
    }
    if kind == super::disputes::DISPUTE_CREATED || kind == super::disputes::DISPUTE_CLOSED {
        return super::disputes::dispute_reported(store, stripe, event, now).await;
    }
    if kind == super::payouts::TRANSFER_CREATED {
        let transfer: Transfer = event
            .object()
            .map_err(|_| ApiError::BadRequest("the event's object is no Transfer".to_owned()))?;
        return Ok(
            if super::payouts::transfer_reported(store, &transfer, now).await? {
                PaymentOutcome::TransferRecorded
            } else {
                PaymentOutcome::Ignored
            },
        );
    }
    Ok(PaymentOutcome::Ignored)
}

/// How often a payment report is applied to a freshly read order when the order changed
/// between the read and the write (a dispute or refund report of the same charge arriving at the
/// same moment) before the sender is asked to retry.
const PAYMENT_REPORT_ATTEMPTS: u32 = 4;

/// Applies `report` to its order; `event_id` is the processor's event that carried it, if any.
pub async fn payment_reported(
    store: &Store,
    stripe: &StripeClient,
    event_id: Option<&str>,
    report: &PaymentReport,
    now: OffsetDateTime,
) -> ApiResult<PaymentOutcome> {
    for _ in 0..PAYMENT_REPORT_ATTEMPTS {
        if let Some(outcome) = apply_payment_report(store, stripe, event_id, report, now).await? {
            return Ok(outcome);
        }
    }
    Err(payment_raced())
}

/// One attempt of `payment_reported` on the order as read now; `None` when the order changed
/// before the write.
async fn apply_payment_report(
    store: &Store,
    stripe: &StripeClient,
    event_id: Option<&str>,
    report: &PaymentReport,
    now: OffsetDateTime,
) -> ApiResult<Option<PaymentOutcome>> {
    let Some(order) = store.get_order(report.order_id).await? else {
        return Ok(Some(PaymentOutcome::Ignored));
    };
    let Some(payment) = order.payment.as_ref() else {
        return Ok(Some(PaymentOutcome::Ignored));
    };
    if payment.intent_id != report.intent_id {
        return Ok(Some(PaymentOutcome::Ignored));
    }
    if report.status == PaymentStatus::Succeeded && payment.status != PaymentStatus::Succeeded {
        let paid = match order.status {
            OrderStatus::AwaitingPayment => PaymentOutcome::Paid,
            // Cancelled (or expired) while the card was being charged: refund at once.
            OrderStatus::Cancelled => PaymentOutcome::PaidAfterClose,
            _ => return Ok(Some(PaymentOutcome::Ignored)),
        };
        // The order as the report shows it: the charge its payouts will be transferred from.
        let mut order = order.clone();
        if let Some(payment) = order.payment.as_mut() {
            payment.charge_id.clone_from(&report.charge_id);
        }
        return pay(store, stripe, event_id, &order, now, paid).await;
    }
    if order.status != OrderStatus::AwaitingPayment
        || report.status.progress() < payment.status.progress()
        || (report.status == payment.status && report.error == payment.error)
    {
        return Ok(Some(PaymentOutcome::Ignored));
    }
    let reported = Payment {
        status: report.status,
        error: report.error.clone(),
        ..payment.clone()
    };
    let write = store
        .record_payment(&order, &reported, event_id, now.unix_timestamp())
        .await?;
    Ok(outcome(write, PaymentOutcome::Recorded))
}

/// The payment succeeded: the order's `pay` transition, which moves the charge into escrow (or,
/// on a cancelled order, straight back to the client), with the event, in one transaction; then
/// the refund that decided, if any. `None` when the order changed before the write.
async fn pay(
    store: &Store,
    stripe: &StripeClient,
    event_id: Option<&str>,
    order: &Order,
    now: OffsetDateTime,
    paid: PaymentOutcome,
) -> ApiResult<Option<PaymentOutcome>> {
    let transition = order.transition(
        OrderAction::Pay,
        Actor::system(),
        ActionInput::default(),
        now,
    )?;
    let effects = TransitionEffects {
        processor_event: event_id,
        ..TransitionEffects::default()
    };
    let write = store.apply_transition_with(&transition, effects).await?;
    let outcome = outcome(write, paid);
    if outcome == Some(paid) {
        follow_up(store, stripe, transition.after).await;
    }
    Ok(outcome)
}

/// Applies a refund's report to its order: only forward (`requested` → `pending` →
/// `succeeded`/`failed`).
pub async fn refund_reported(
    store: &Store,
    event_id: Option<&str>,
    report: &RefundReport,
    now: OffsetDateTime,
) -> ApiResult<PaymentOutcome> {
    let Some(order) = store.get_order(report.order_id).await? else {
        return Ok(PaymentOutcome::Ignored);
    };
    let Some(refund) = order.refund_reported(report.status, &report.refund_id) else {
        return Ok(PaymentOutcome::Ignored);
    };
    let write = store
        .record_refund(&order, &refund, event_id, now.unix_timestamp())
        .await?;
    outcome(write, PaymentOutcome::Recorded).ok_or_else(payment_raced)
}

/// What an order's written change asks of the processor: the refund it decided, or the cancel
/// of the PaymentIntent of an order closed unpaid; answers the order as that leaves it. Failures
/// are logged, never returned: the change stands, the scheduler asks for a refund again, and an
/// intent left open that is paid after all is refunded on arrival.
pub async fn follow_up(store: &Store, stripe: &StripeClient, order: Order) -> Order {
    let order = match issue_refund(store, stripe, &order).await {
        Ok(Some(refunded)) => refunded,
        Ok(None) => order,
        Err(error) => {
            tracing::warn!(order_id = %order.id, error = %error, "refund not issued; the scheduler retries");
            order
        }
    };
    if let Some(payment) = &order.payment
        && order.status.is_terminal()
        && order.paid_at.is_none()
        && payment.status.progress() < PaymentStatus::Succeeded.progress()
    {
        match stripe.cancel_payment_intent(&payment.intent_id).await {
            Ok(_) => {}
            // Already succeeded or cancelled: a success arrives as a late payment and is refunded.
            Err(StripeError::Request { .. }) => {}
            Err(error) => {
                tracing::warn!(order_id = %order.id, error = %error, "PaymentIntent not cancelled");
            }
        }
    }
    order
}

/// Asks the processor for the order's refund when it is `requested`, and records its answer;
/// answers the order with it (`None` when there was nothing to ask, or the `charge.refunded`
/// webhook recorded it first).
pub async fn issue_refund(
    store: &Store,
    stripe: &StripeClient,
    order: &Order,
) -> ApiResult<Option<Order>> {
    let (Some(refund), Some(payment)) = (&order.refund, &order.payment) else {
        return Ok(None);
    };
    if refund.status != RefundStatus::Requested {
        return Ok(None);
    }
    let issued = stripe
        .refund_payment_intent(&order.id.to_string(), &payment.intent_id)
        .await
        .map_err(unavailable)?;
    let Some(refund) = order.refund_reported(refund_status_of(issued.status), &issued.id) else {
        return Ok(None);
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    match store.record_refund(order, &refund, None, now).await? {
        TransitionWrite::Applied => Ok(Some(Order {
            refund: Some(refund),
            ..order.clone()
        })),
        TransitionWrite::OrderChanged | TransitionWrite::EventAlreadyApplied => Ok(None),
    }
}

/// The outcome of a report's write; `None` when the order changed before it.
fn outcome(write: TransitionWrite, applied: PaymentOutcome) -> Option<PaymentOutcome> {
    match write {
        TransitionWrite::Applied => Some(applied),
        TransitionWrite::EventAlreadyApplied => Some(PaymentOutcome::AlreadyApplied),
        TransitionWrite::OrderChanged => None,
    }
}

/// The order kept changing while the report was applied: the sender retries (a webhook answers
/// 5xx).
fn payment_raced() -> ApiError {
    ApiError::ServiceUnavailable {
        retry_after_secs: 1,
        cause: anyhow::anyhow!("the order changed while a payment report was applied"),
    }
}

/// The order's payment record of a new intent for `amount_cents` of `currency`.
pub fn payment_of(intent: &PaymentIntent, amount_cents: u64, currency: &str) -> Payment {
    Payment {
        status: status_of(intent.status),
        intent_id: intent.id.clone(),
        amount_cents,
        currency: currency.to_owned(),
        charge_id: intent.latest_charge.clone(),
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
        charge_id: intent.latest_charge.clone(),
    })
}

/// The refund report a refunded charge makes: its order is the charge's transfer group (copied
/// from the order's PaymentIntent), its refund the newest one listed. `None` while the charge
/// is not refunded in full (orders are only ever refunded whole), or is no order's.
pub fn refund_report_of(charge: &Charge) -> Option<RefundReport> {
    if !charge.refunded {
        return None;
    }
    let order_id = charge.transfer_group.as_deref()?.parse().ok()?;
    let refund = charge.refunds.as_ref()?.data.first()?;
    Some(RefundReport {
        order_id,
        refund_id: refund.id.clone(),
        status: refund_status_of(refund.status),
    })
}

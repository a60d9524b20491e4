//! Disputes: a client's bank contests an order's charge (`charge.dispute.created`), and later
//! decides (`charge.dispute.closed`). While open, the order's earnings are frozen wherever they
//! sit (pending or available; an order that completes meanwhile freezes them on completion);
//! won, they go back to pending and clear as usual; lost, the disputed amount leaves for the
//! bank: the freelancer's share out of what was frozen and, for what they had withdrawn
//! already, a debt, which a reversal of the order's transfers repays as far as their connected
//! account covers it (the path an admin refund takes) and their next earnings pay otherwise; the platform's share out of its fees (or all
//! of it out of escrow, for an order not completed yet, which can then no longer complete).
//!
//! Stripe's dispute fee is the platform's cost: the fee on each of the dispute's balance
//! transactions (the withdrawal as it opens; a reinstatement when won, should Stripe return the
//! fee with it) is booked out of the platform's fees, once per balance transaction.
//!
//! Events arrive in any order and more than once: each is recorded in the transaction of the
//! change it causes, and a `closed` that arrives before its `created` applies both.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::app::payouts::{Clawback, reverse_payouts};
use crate::domain::ledger::{LedgerAccount, LedgerKind, LedgerTransaction};
use crate::domain::money::Currency;
use crate::domain::order::{DisputeStatus, Order, OrderStatus};
use crate::domain::payout::{DisputeRecord, Earning, EarningStatus, dispute_lost_sources};
use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use crate::store::disputes::{DisputeChange, DisputeWrite};
use crate::store::ledger::LedgerWrite;
use crate::stripe::client::{Dispute, DisputeStatus as StripeDisputeStatus, Event, StripeClient};

use super::stripe_reports::{PaymentOutcome, unavailable};

pub const DISPUTE_CREATED: &str = "charge.dispute.created";
pub const DISPUTE_CLOSED: &str = "charge.dispute.closed";

/// Attempts at a dispute's write while the order or its earning keeps changing under it.
const ATTEMPTS: u32 = 4;

/// Applies `charge.dispute.created` or `charge.dispute.closed`.
pub async fn dispute_reported(
    store: &Store,
    stripe: &StripeClient,
    event: &Event,
    now: OffsetDateTime,
) -> ApiResult<PaymentOutcome> {
    let dispute: Dispute = event
        .object()
        .map_err(|_| ApiError::BadRequest("the event's object is no Dispute".to_owned()))?;
    let Some(intent_id) = dispute.payment_intent.as_deref() else {
        return Ok(PaymentOutcome::Ignored);
    };
    let intent = stripe
        .retrieve_payment_intent(intent_id)
        .await
        .map_err(unavailable)?;
    let Some(order_id) = intent.order_id().and_then(|id| id.parse().ok()) else {
        return Ok(PaymentOutcome::Ignored);
    };
    let outcome = apply(store, stripe, event, &dispute, order_id, now).await?;
    if outcome != PaymentOutcome::Ignored {
        // After the dispute's own write: a booking that fails is retried with the event, which
        // then finds the dispute applied.
        book_fees(store, &dispute, order_id, now).await?;
    }
    Ok(outcome)
}

/// Applies the event's change to the dispute of `order_id` (opening or closing it).
async fn apply(
    store: &Store,
    stripe: &StripeClient,
    event: &Event,
    dispute: &Dispute,
    order_id: Uuid,
    now: OffsetDateTime,
) -> ApiResult<PaymentOutcome> {
    let closing = event.kind == DISPUTE_CLOSED;
    for _ in 0..ATTEMPTS {
        let Some(order) = store.get_order(order_id).await? else {
            return Ok(PaymentOutcome::Ignored);
        };
        let recorded = store.get_dispute(&dispute.id).await?;
        let write = match (&recorded, closing) {
            (None, _) => {
                // A `closed` before its `created`: open it first (without the event), then close.
                let event_id = (!closing).then_some(event.id.as_str());
                open(store, &order, dispute, event_id, now).await?
            }
            (Some(record), true) if record.status == DisputeStatus::Open => {
                let decided = match dispute.status {
                    StripeDisputeStatus::Won | StripeDisputeStatus::WarningClosed => {
                        DisputeStatus::Won
                    }
                    StripeDisputeStatus::Lost => DisputeStatus::Lost,
                    _ => return Ok(PaymentOutcome::Ignored),
                };
                close(store, stripe, &order, record, decided, &event.id, now).await?
            }
            (Some(_), _) => return Ok(PaymentOutcome::AlreadyApplied),
        };
        match write {
            DisputeWrite::Recorded if closing && recorded.is_none() => continue,
            DisputeWrite::Recorded => return Ok(PaymentOutcome::Recorded),
            DisputeWrite::AlreadyApplied => return Ok(PaymentOutcome::AlreadyApplied),
            DisputeWrite::Raced => continue,
        }
    }
    Err(ApiError::ServiceUnavailable {
        retry_after_secs: 2,
        cause: anyhow::anyhow!("the order kept changing while its dispute was applied"),
    })
}

/// Books Stripe's fee on each of the dispute's balance transactions, as the event carries them,
/// as the platform's cost (`dispute-fee:<txn>`: out of its fees, never the freelancer's; a fee
/// Stripe returns books back). Keyed by the balance transaction, so an event delivered again, or
/// a later one that carries the same transactions, books each once.
async fn book_fees(
    store: &Store,
    dispute: &Dispute,
    order_id: Uuid,
    now: OffsetDateTime,
) -> ApiResult<()> {
    for transaction in dispute.balance_transactions.iter().filter(|t| t.fee != 0) {
        let currency = Currency::parse(&transaction.currency).map_err(ApiError::internal)?;
        let ledger =
            LedgerTransaction::dispute_fee(&transaction.id, order_id, currency, transaction.fee)
                .map_err(ApiError::internal)?;
        match store.write_ledger(&ledger, now.unix_timestamp()).await? {
            LedgerWrite::Written | LedgerWrite::Exists => {}
            // Only a returned fee has a condition (no more back than was paid): its charge is
            // not booked yet.
            LedgerWrite::BalanceChanged => {
                return Err(ApiError::ServiceUnavailable {
                    retry_after_secs: 2,
                    cause: anyhow::anyhow!(
                        "dispute {}: fee of {} returned before it was booked",
                        dispute.id,
                        transaction.id
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The order's earning, if it has one that a dispute concerns.
async fn earning_of(store: &Store, order: &Order) -> ApiResult<Option<Earning>> {
    if order.status != OrderStatus::Completed {
        return Ok(None);
    }
    store.get_earning(order.freelancer_id, order.id).await
}

/// Records an open dispute, freezing what the order's earnings still hold on the platform.
async fn open(
    store: &Store,
    order: &Order,
    dispute: &Dispute,
    event_id: Option<&str>,
    now: OffsetDateTime,
) -> ApiResult<DisputeWrite> {
    let currency = Currency::parse(&order.currency).map_err(ApiError::internal)?;
    let earning = earning_of(store, order).await?;
    let from = earning.as_ref().and_then(|earning| match earning.status {
        EarningStatus::Pending => Some(LedgerAccount::FreelancerPending(order.freelancer_id)),
        EarningStatus::Available => Some(LedgerAccount::FreelancerAvailable(order.freelancer_id)),
        EarningStatus::Frozen | EarningStatus::Forfeited => None,
    });
    let frozen = match (&earning, from) {
        (Some(earning), Some(_)) => earning.unwithdrawn_cents(),
        _ => 0,
    };
    let record = DisputeRecord {
        id: dispute.id.clone(),
        order_id: order.id,
        freelancer_id: order.freelancer_id,
        amount_cents: dispute.amount.max(0).unsigned_abs(),
        currency: order.currency.clone(),
        status: DisputeStatus::Open,
        frozen_cents: frozen,
        opened_at: now,
        closed_at: None,
        paid_out_cents: 0,
        reversals: Vec::new(),
        reversals_tried: false,
    };
    let ledger = match from {
        Some(from) if frozen > 0 => Some(
            LedgerTransaction::dispute_frozen(
                &dispute.id,
                order.id,
                from,
                order.freelancer_id,
                currency,
                frozen,
            )
            .map_err(ApiError::internal)?,
        ),
        _ => None,
    };
    let earning = earning.filter(|_| frozen > 0).map(|earning| {
        let after = Earning {
            status: EarningStatus::Frozen,
            ..earning.clone()
        };
        (earning, after)
    });
    store
        .write_dispute(DisputeChange {
            order,
            before: None,
            after: &record,
            earning: earning
                .as_ref()
                .map(|(before, after)| (before, after.clone())),
            ledger: ledger.as_ref(),
            processor_event: event_id,
            now_unix: now.unix_timestamp(),
        })
        .await
}

/// Records the bank's decision: releases the frozen earnings (won) or sends the disputed amount
/// to the client's bank (lost).
async fn close(
    store: &Store,
    stripe: &StripeClient,
    order: &Order,
    record: &DisputeRecord,
    decided: DisputeStatus,
    event_id: &str,
    now: OffsetDateTime,
) -> ApiResult<DisputeWrite> {
    let currency = Currency::parse(&order.currency).map_err(ApiError::internal)?;
    // Frozen by the dispute, or on completion while it was open.
    let earning = earning_of(store, order)
        .await?
        .filter(|earning| earning.status == EarningStatus::Frozen);
    let frozen = earning.as_ref().map_or(0, Earning::unwithdrawn_cents);
    let mut paid_out = 0;
    let (ledger, earning_after) = match decided {
        DisputeStatus::Won => {
            let ledger = (frozen > 0)
                .then(|| {
                    LedgerTransaction::dispute_released(
                        &record.id,
                        order.id,
                        order.freelancer_id,
                        currency.clone(),
                        frozen,
                    )
                })
                .transpose()
                .map_err(ApiError::internal)?;
            (ledger, EarningStatus::Pending)
        }
        DisputeStatus::Lost | DisputeStatus::Open => {
            let sources = dispute_lost_sources(
                order.freelancer_id,
                order.status == OrderStatus::Completed,
                record.amount_cents,
                order.client_total_cents,
                order.freelancer_net_cents,
                frozen,
            );
            paid_out = sources
                .iter()
                .filter(|(account, _)| matches!(account, LedgerAccount::FreelancerDebt(_)))
                .map(|(_, amount)| amount)
                .sum();
            let ledger =
                LedgerTransaction::dispute_lost(&record.id, order.id, currency.clone(), &sources)
                    .map_err(ApiError::internal)?;
            (Some(ledger), EarningStatus::Forfeited)
        }
    };
    // The released or forfeited earning: its frozen amount goes back to pending, or is gone.
    let earning = earning.map(|earning| {
        let after = Earning {
            status: earning_after,
            released_by: (decided == DisputeStatus::Won).then(|| record.id.clone()),
            ..earning.clone()
        };
        (earning, after)
    });
    let after = DisputeRecord {
        status: decided,
        closed_at: Some(now),
        paid_out_cents: paid_out,
        ..record.clone()
    };
    let written = store
        .write_dispute(DisputeChange {
            order,
            before: Some(record),
            after: &after,
            earning: earning
                .as_ref()
                .map(|(before, after)| (before, after.clone())),
            ledger: ledger.as_ref(),
            processor_event: Some(event_id),
            now_unix: now.unix_timestamp(),
        })
        .await?;
    if written == DisputeWrite::Recorded
        && paid_out > 0
        && let Err(error) = reverse_paid_out(store, stripe, &after, now).await
    {
        // The dispute's write stands: the scheduler tries the reversals again.
        tracing::warn!(error = %error, dispute = %after.id, "lost dispute's payout not reversed yet; it stays a debt");
    }
    Ok(written)
}

/// A lost dispute's share that was paid out already is a debt: it is reversed from the order's
/// transfers as far as the connected account covers it, as an admin refund's is
/// (`app::payouts::reverse_payouts`). Tried when the dispute is lost; when Stripe does not
/// answer, the dispute stays on the scheduler's list ([`finish_due_reversals`]) and the debt
/// stands until a retry (the same keys) takes it back.
async fn reverse_paid_out(
    store: &Store,
    stripe: &StripeClient,
    record: &DisputeRecord,
    now: OffsetDateTime,
) -> ApiResult<()> {
    let currency = Currency::parse(&record.currency).map_err(ApiError::internal)?;
    let cause = format!("{}:{}", LedgerKind::DisputeLost.id_prefix(), record.id);
    let clawback = Clawback {
        cause: &cause,
        order_id: record.order_id,
        freelancer_id: record.freelancer_id,
        currency: &currency,
        paid_out_cents: record.paid_out_cents,
    };
    let reversals = reverse_payouts(store, stripe, clawback, &record.reversals, now).await?;
    store.record_dispute_reversals(&record.id, &reversals).await
}

/// Tries again the reversals of lost disputes closed at least `grace` before `now` whose
/// reversals Stripe did not answer; answers how many are done. A dispute Stripe still does
/// not answer for stays on the list.
pub async fn finish_due_reversals(
    store: &Store,
    stripe: &StripeClient,
    grace: time::Duration,
    now: OffsetDateTime,
    limit: usize,
) -> ApiResult<usize> {
    let mut finished = 0;
    for record in store.due_dispute_reversals(now - grace, limit).await? {
        match reverse_paid_out(store, stripe, &record, now).await {
            Ok(()) => finished += 1,
            Err(ApiError::ServiceUnavailable { cause, .. }) => {
                tracing::warn!(error = %cause, dispute = %record.id, "reversal still not answered; the next run retries");
            }
            Err(error) => return Err(error),
        }
    }
    Ok(finished)
}

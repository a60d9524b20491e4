//! The reconciliation pass (`domain::reconciliation`): lists Stripe's events of the types the
//! webhook takes, from the end of the last pass (with an overlap) to now, and applies each one
//! through [`payments::event_received`], the webhook's own use case, so a missed delivery ends
//! exactly as a delivered one would have. An event that was applied already changes nothing:
//! its record is checked first (one read instead of the order's and Stripe's), and the change's
//! transaction refuses it again anyway.
//!
//! Events about orders this table does not hold (another integration on the same Stripe
//! account, or another environment) are `Ignored` by the use case, as the webhook ignores them.
//!
//! A run handles at most [`MAX_EVENTS_PER_RUN`] events, so a pass fits the scheduler's timeout
//! beside its other work; a longer window goes on from its cursor on the next run.

use time::OffsetDateTime;

use crate::app::payments::{self, WEBHOOK_EVENTS};
use crate::app::stripe_reports::{PaymentOutcome, unavailable};
use crate::domain::reconciliation::{Watermark, Window};
use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use crate::stripe::client::{Event, EventsQuery, MAX_EVENT_TYPES, StripeClient};

/// Events listed per request (Stripe's maximum page).
const PAGE_SIZE: u8 = 100;
/// Events handled per scheduler run, each at most a read, a Stripe read and a transaction:
/// well inside the scheduler's 60 s with its other work.
pub const MAX_EVENTS_PER_RUN: usize = 300;

// Stripe refuses a list request with more types than this.
const _: () = assert!(WEBHOOK_EVENTS.len() <= MAX_EVENT_TYPES);

/// What one run's reconciliation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Whether a pass ran (it was due, and this run claimed it).
    pub ran: bool,
    /// Events listed.
    pub listed: usize,
    /// Events that changed an order: the ones the webhook had missed.
    pub applied: usize,
    /// Whether the pass reached the end of its window (else the next run goes on).
    pub finished: bool,
}

/// Runs the reconciliation pass if one is due at `now` and no other run holds it. An error
/// (Stripe or the table could not answer, an event could not be applied) is returned after the
/// watermark is written back unmoved, so the next run tries the same window again.
pub async fn reconcile_if_due(
    store: &Store,
    stripe: &StripeClient,
    now: OffsetDateTime,
) -> ApiResult<Reconciliation> {
    let now_unix = now.unix_timestamp();
    let stored = store.reconciliation_watermark().await?;
    let (watermark, read_version) = match stored {
        Some(stored) => (stored.watermark, Some(stored.version)),
        None => (Watermark::default(), None),
    };
    if !watermark.is_due(now_unix) {
        return Ok(Reconciliation::default());
    }
    let claimed = watermark.claimed(now_unix);
    let Some(claimed_version) = store
        .save_reconciliation_watermark(&claimed, read_version)
        .await?
    else {
        // Another run claimed it between our read and write: that run does the pass.
        return Ok(Reconciliation::default());
    };
    let window = watermark.window(now_unix);
    let mut reconciliation = Reconciliation {
        ran: true,
        ..Reconciliation::default()
    };
    let pass = apply_window(store, stripe, &window, now, &mut reconciliation).await;
    let after = match &pass {
        Err(_) => claimed.failed(now_unix),
        Ok(None) => {
            reconciliation.finished = true;
            claimed.finished(&window, now_unix)
        }
        Ok(Some(last_event_id)) => claimed.cut_short(&window, last_event_id, now_unix),
    };
    if store
        .save_reconciliation_watermark(&after, Some(claimed_version))
        .await?
        .is_none()
    {
        // Our lease ran out and another run took the pass over: its watermark stands.
        tracing::warn!("reconciliation pass outlived its lease; the watermark was not moved");
    }
    tracing::info!(
        created_gte = window.created_gte,
        created_lte = window.created_lte,
        listed = reconciliation.listed,
        applied = reconciliation.applied,
        finished = reconciliation.finished,
        "reconciliation pass"
    );
    pass.map(|_| reconciliation)
}

/// Lists and applies the window's events, newest first, up to the per-run bound. `Ok(None)`
/// when the window is done, `Ok(Some(id))` when the bound stopped it after event `id`.
async fn apply_window(
    store: &Store,
    stripe: &StripeClient,
    window: &Window,
    now: OffsetDateTime,
    reconciliation: &mut Reconciliation,
) -> ApiResult<Option<String>> {
    let mut cursor = window.starting_after.clone();
    loop {
        let page = stripe
            .list_events(&EventsQuery {
                created_gte: window.created_gte,
                created_lte: Some(window.created_lte),
                types: &WEBHOOK_EVENTS,
                starting_after: cursor.as_deref(),
                limit: PAGE_SIZE,
            })
            .await
            .map_err(unavailable)?;
        for event in &page.data {
            reconciliation.listed += 1;
            if apply(store, stripe, event, now).await? {
                reconciliation.applied += 1;
            }
        }
        match page.data.last() {
            Some(last) if page.has_more => cursor = Some(last.id.clone()),
            _ => return Ok(None),
        }
        if reconciliation.listed >= MAX_EVENTS_PER_RUN {
            return Ok(cursor);
        }
    }
}

/// Applies one listed event as the webhook would; `true` when it changed an order.
async fn apply(
    store: &Store,
    stripe: &StripeClient,
    event: &Event,
    now: OffsetDateTime,
) -> ApiResult<bool> {
    // The list was asked for these types only; the check keeps that true whatever answers.
    if !WEBHOOK_EVENTS.contains(&event.kind.as_str())
        || store.processor_event_applied(&event.id).await?
    {
        return Ok(false);
    }
    let mut outcome = payments::event_received(store, stripe, event, now).await;
    if let Err(ApiError::ServiceUnavailable { .. }) = outcome {
        // Mostly the webhook's own delivery of the same event, applied a moment before ours
        // (the order changed under us); read again, it is done and this changes nothing.
        outcome = payments::event_received(store, stripe, event, now).await;
    }
    match outcome {
        Ok(
            PaymentOutcome::Paid
            | PaymentOutcome::PaidAfterClose
            | PaymentOutcome::Recorded
            | PaymentOutcome::TransferRecorded,
        ) => Ok(true),
        Ok(PaymentOutcome::Ignored | PaymentOutcome::AlreadyApplied) => Ok(false),
        // An object that is not what its type says can never be applied: the webhook refuses
        // it too. Skipped, so it does not hold up every pass after it.
        Err(ApiError::BadRequest(reason)) => {
            tracing::error!(event_id = %event.id, %reason, "event skipped by the reconciliation");
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

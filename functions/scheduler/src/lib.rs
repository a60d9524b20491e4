//! `scheduler` (EventBridge schedule, every 15 minutes): once a day, reconciles Stripe's events
//! (applies the payments and refunds whose webhook never arrived), then completes orders
//! delivered more than 3 days ago, marks in-progress orders past their due date as late, expires
//! orders unpaid 24 hours after placement (cancelling their PaymentIntent), asks Stripe again for
//! refunds it has not accepted yet, publishes the reviews still sealed when their order's
//! review window closed, clears the earnings of orders completed a clearance period ago,
//! withdraws the cleared earnings of freelancers who asked for automatic withdrawal, asks
//! Stripe again for withdrawals' transfers, admin refunds and lost disputes' reversals it did
//! not answer, finishes re-listing the gigs of users whose block or unblock request died
//! half-way, and deletes the files of orders closed their retention period ago.
//!
//! The daily reconciliation is a step of this run, gated by its stored watermark, not a second
//! schedule: see `domain::reconciliation` for why.
//!
//! It reads the sparse deadline index (gsi3) with a key condition on time, never a Scan, and
//! changes each order through `app::orders::change`, the same state machine and transaction
//! as a person's action. A client completing at the same moment simply wins (the version
//! condition fails and the order is skipped); a run that stops half-way is finished by the next.

use gigmarket_shared::ApiError;
use gigmarket_shared::app::admin::refunds::finish_due_refunds;
use gigmarket_shared::app::admin::users::{GIG_REINDEX_GRACE, resume_gig_reindexes};
use gigmarket_shared::app::disputes::finish_due_reversals;
use gigmarket_shared::app::files::expire_order_files;
use gigmarket_shared::app::orders::change as change_order;
use gigmarket_shared::app::payments::issue_refund;
use gigmarket_shared::app::payouts::{clear_earnings, resend_transfers, withdraw_automatically};
use gigmarket_shared::app::reconciliation::reconcile_if_due;
use gigmarket_shared::app::reviews::publish_due as publish_due_reviews;
use gigmarket_shared::domain::order::{ActionInput, Actor, OrderAction};
use gigmarket_shared::files::FileStorage;
use gigmarket_shared::store::{DueList, Store};
use gigmarket_shared::stripe::client::StripeClient;
use gigmarket_shared::triggers;
use lambda_runtime::Diagnostic;
use serde::Serialize;
use time::OffsetDateTime;

/// Orders handled per list and run; the rest wait for the next run.
pub const MAX_PER_RUN: usize = 500;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Stripe events the webhook had missed, applied by this run's reconciliation pass (none
    /// when no pass was due).
    pub events_reconciled: usize,
    pub auto_completed: usize,
    pub marked_late: usize,
    /// Unpaid orders expired.
    pub expired: usize,
    /// Refunds Stripe accepted on this run's asking.
    pub refunds_issued: usize,
    /// Changed by someone else between the index read and our write, or not yet due.
    pub skipped: usize,
    /// Sealed reviews published because their window closed.
    pub reviews_published: usize,
    /// Completed orders' earnings that passed the clearance period: now withdrawable.
    pub earnings_cleared: usize,
    /// Withdrawals made (or finished, after a run that stopped half-way) for freelancers whose
    /// cleared earnings are withdrawn automatically.
    pub auto_withdrawals: usize,
    /// Withdrawals whose last transfers Stripe made on this run's asking.
    pub withdrawals_finished: usize,
    /// Admin refunds whose refund and reversals Stripe answered on this run's asking.
    pub admin_refunds_finished: usize,
    /// Lost disputes whose reversals Stripe answered on this run's asking.
    pub dispute_reversals_finished: usize,
    /// Blocked or unblocked users whose gigs were still waiting to be re-listed or unlisted.
    pub gig_reindexes_resumed: usize,
    /// Files of orders closed the retention period ago whose objects were deleted.
    pub order_files_expired: usize,
}

/// What a run is told by configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `PAYOUT_CLEARANCE_DAYS`: how long earnings stay pending.
    pub payout_clearance: time::Duration,
    /// `PAYOUT_MINIMUM_HUNDREDTHS`: the least automatic withdrawal, as the least withdrawal.
    pub payout_minimum_hundredths: u64,
    /// The files bucket and `ORDER_FILES_RETENTION_DAYS`; without them no file expires (a run
    /// with the default settings, as most tests make).
    pub order_files: Option<OrderFiles>,
}

/// Where closed orders' files are deleted from, and how long after the close.
#[derive(Debug, Clone)]
pub struct OrderFiles {
    pub storage: FileStorage,
    pub retention: time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            payout_clearance: time::Duration::days(14),
            payout_minimum_hundredths: 1_000,
            order_files: None,
        }
    }
}

/// A withdrawal, admin refund or lost dispute whose Stripe calls are still being made by its
/// own request is left alone this long before the scheduler asks again.
const STRIPE_GRACE: time::Duration = time::Duration::minutes(5);

/// The invocation: a run as of `now` when the payload is what the schedule's EventBridge rule
/// sends; any other payload (an API request, a queue batch, `{}`) is refused as the invocation's
/// error (`errorType` `WrongTrigger`) and runs nothing.
pub async fn on_schedule(
    store: &Store,
    stripe: &StripeClient,
    settings: &Settings,
    payload: &serde_json::Value,
    now: OffsetDateTime,
) -> Result<RunSummary, Diagnostic> {
    triggers::scheduled_event(payload)?;
    run_with(store, stripe, settings, now)
        .await
        .map_err(|error| lambda_runtime::Error::from(error).into())
}

/// One scheduler run as of `now`, with the default [`Settings`].
pub async fn run(
    store: &Store,
    stripe: &StripeClient,
    now: OffsetDateTime,
) -> Result<RunSummary, ApiError> {
    run_with(store, stripe, &Settings::default(), now).await
}

/// One scheduler run as of `now`.
pub async fn run_with(
    store: &Store,
    stripe: &StripeClient,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<RunSummary, ApiError> {
    let mut summary = RunSummary::default();
    let mut first_error = None;
    // What Stripe reported and the webhook missed comes first: an order paid meanwhile is then
    // not expired below, and a refund Stripe confirmed is not asked for again.
    match reconcile_if_due(store, stripe, now).await {
        Ok(reconciliation) => summary.events_reconciled = reconciliation.applied,
        Err(error) => {
            tracing::error!(error = %error, "reconciliation pass failed; the next run retries");
            first_error.get_or_insert(error);
        }
    }
    for (list, action) in [
        (DueList::AutoComplete, OrderAction::AutoComplete),
        (DueList::Late, OrderAction::MarkLate),
        (DueList::PaymentExpiry, OrderAction::Expire),
    ] {
        let due = store.due_orders(list, now, MAX_PER_RUN).await?;
        for order in due {
            match change_order(
                store,
                stripe,
                &order,
                action,
                Actor::system(),
                ActionInput::default(),
                now,
            )
            .await
            {
                Ok(_) => match action {
                    OrderAction::AutoComplete => summary.auto_completed += 1,
                    OrderAction::Expire => summary.expired += 1,
                    _ => summary.marked_late += 1,
                },
                Err(ApiError::Conflict { .. }) => summary.skipped += 1,
                Err(error) => {
                    tracing::error!(order_id = %order.id, error = %error, "scheduler change failed");
                    first_error.get_or_insert(error);
                }
            }
        }
    }
    // Refunds Stripe did not accept when their order changed (an outage): the same
    // Idempotency-Key, so asking again never refunds twice.
    for order in store.due_orders(DueList::Refund, now, MAX_PER_RUN).await? {
        match issue_refund(store, stripe, &order).await {
            Ok(Some(_)) => summary.refunds_issued += 1,
            // The charge.refunded webhook recorded it first.
            Ok(None) => summary.skipped += 1,
            Err(error) => {
                tracing::error!(order_id = %order.id, error = %error, "refund not issued");
                first_error.get_or_insert(error);
            }
        }
    }
    // What is still sealed when its window closes is published alone.
    match publish_due_reviews(store, now, MAX_PER_RUN).await {
        Ok(publication) => {
            summary.reviews_published = publication.published;
            summary.skipped += publication.skipped;
        }
        Err(error) => {
            tracing::error!(error = %error, "publishing due reviews failed");
            first_error.get_or_insert(error);
        }
    }
    // Earnings that passed the clearance period become withdrawable.
    match clear_earnings(store, settings.payout_clearance, now, MAX_PER_RUN).await {
        Ok(cleared) => summary.earnings_cleared = cleared,
        Err(error) => {
            tracing::error!(error = %error, "clearing earnings failed");
            first_error.get_or_insert(error);
        }
    }
    // What cleared (now or before) for freelancers who withdraw automatically: through the
    // same use case as their own withdrawals, keyed by the mark, so never twice.
    match withdraw_automatically(
        store,
        stripe,
        settings.payout_minimum_hundredths,
        now,
        MAX_PER_RUN,
    )
    .await
    {
        Ok(withdrawn) => summary.auto_withdrawals = withdrawn,
        Err(error) => {
            tracing::error!(error = %error, "automatic withdrawals failed");
            first_error.get_or_insert(error);
        }
    }
    // Transfers Stripe could not answer when their withdrawal was made: the same
    // Idempotency-Key, so asking again never transfers twice.
    match resend_transfers(store, stripe, STRIPE_GRACE, now, MAX_PER_RUN).await {
        Ok(finished) => summary.withdrawals_finished = finished,
        Err(error) => {
            tracing::error!(error = %error, "resending transfers failed");
            first_error.get_or_insert(error);
        }
    }
    // Admin refunds and lost disputes' reversals Stripe did not answer (an outage, a crash
    // between our write and Stripe's answer): the same Idempotency-Keys, and a reversal made
    // for an attempt that never heard of it is found on its transfer, so nothing is refunded
    // or reversed twice.
    match finish_due_refunds(store, stripe, STRIPE_GRACE, now, MAX_PER_RUN).await {
        Ok(finished) => summary.admin_refunds_finished = finished,
        Err(error) => {
            tracing::error!(error = %error, "finishing admin refunds failed");
            first_error.get_or_insert(error);
        }
    }
    match finish_due_reversals(store, stripe, STRIPE_GRACE, now, MAX_PER_RUN).await {
        Ok(finished) => summary.dispute_reversals_finished = finished,
        Err(error) => {
            tracing::error!(error = %error, "finishing lost disputes' reversals failed");
            first_error.get_or_insert(error);
        }
    }
    // A block or unblock whose request died before its gigs were re-listed or unlisted.
    match resume_gig_reindexes(store, now - GIG_REINDEX_GRACE, MAX_PER_RUN).await {
        Ok(resumed) => summary.gig_reindexes_resumed = resumed,
        Err(error) => {
            tracing::error!(error = %error, "resuming gig re-listings failed");
            first_error.get_or_insert(error);
        }
    }
    // Files of orders closed their retention period ago.
    if let Some(files) = &settings.order_files {
        match expire_order_files(store, &files.storage, files.retention, now, MAX_PER_RUN).await {
            Ok(expired) => summary.order_files_expired = expired,
            Err(error) => {
                tracing::error!(error = %error, "expiring closed orders' files failed");
                first_error.get_or_insert(error);
            }
        }
    }
    tracing::info!(?summary, "scheduler run finished");
    // Report a failure (so the invocation is retried) only after doing everything else.
    match first_error {
        Some(error) => Err(error),
        None => Ok(summary),
    }
}

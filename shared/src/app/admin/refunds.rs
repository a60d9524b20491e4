//! `POST /admin/orders/{id}/refund {reason, amount_cents?}`: an admin refunds all or part of a
//! completed order's charge (an open order is cancelled instead, which refunds it whole:
//! `app::orders::cancel_as_admin`). What it takes from the freelancer and the platform is
//! `domain::refund`'s split.
//!
//! The refund is written first (the refund, the order's refunded amount, the earning it takes
//! from, the ledger's `admin-refund` transaction with a debt for what was paid out already, the
//! audit entry and the request's Idempotency-Key, in one DynamoDB transaction), and only then
//! does Stripe hear of it, keyed by the refund's id: a retried request answers the same refund
//! and finishes what is left of it (a refund Stripe could not answer, the reversals), never a
//! second one. Once the refund is made, the paid-out part is reversed from the transfers of the
//! order's earnings as far as the connected account can cover it (`app::payouts::reverse_payouts`);
//! each reversal repays the debt it was booked as, and what no reversal took back stays a debt
//! that cleared earnings repay first.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::app::payouts::{Clawback, reverse_payouts};
use crate::app::stripe_reports::{refund_status_of, unavailable};
use crate::domain::audit::{Actor, AuditAction, AuditEntry, TargetKind};
use crate::domain::ledger::{LedgerKind, LedgerTransaction};
use crate::domain::money::Currency;
use crate::domain::order::{REASON_MAX_CHARS, RefundStatus, check_idempotency_key};
use crate::domain::payout::Earning;
use crate::domain::refund::{AdminRefund, RefundError, plan_refund};
use crate::domain::{Violations, check_text};
use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use crate::store::refunds::{
    AdminRefundWrite, NewAdminRefund, REFUND_REQUEST_TTL_SECS, RefundRequest,
};
use crate::stripe::client::{Refund, StripeClient};

/// `POST /admin/orders/{id}/refund`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub reason: String,
    /// Minor units; everything still refundable when absent.
    #[serde(default)]
    pub amount_cents: Option<u64>,
}

impl RefundBody {
    /// The trimmed reason (1..=1000 characters) and the amount asked for.
    fn validate(self) -> ApiResult<(String, Option<u64>)> {
        let reason = self.reason.trim().to_owned();
        let mut violations = Violations::new();
        check_text(&mut violations, "reason", &reason, 1, REASON_MAX_CHARS);
        violations.check(
            self.amount_cents != Some(0),
            "amount_cents",
            "out_of_range",
            "a positive amount in minor units",
        );
        violations.into_result()?;
        Ok((reason, self.amount_cents))
    }
}

/// What the refund answers: the refund as recorded, and what of its paid-out part is still
/// owed by the freelancer.
#[derive(Debug, Clone, Serialize)]
pub struct AdminRefundView {
    #[serde(flatten)]
    pub refund: AdminRefund,
    /// What reversals took back of `paid_out_cents`.
    pub reversed_cents: u64,
}

impl From<AdminRefund> for AdminRefundView {
    fn from(refund: AdminRefund) -> Self {
        Self {
            reversed_cents: refund.reversed_cents(),
            refund,
        }
    }
}

/// Whether a refund request made a new refund or found the one its key made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refunded {
    Created,
    Replayed,
}

/// Attempts at writing the refund while the order or its earning keeps changing under it.
const ATTEMPTS: u32 = 4;

/// Refunds `body.amount_cents` (or everything left) of the completed order `order_id`.
/// `body` is the body as parsed (or why it could not be): the caller is an admin already.
pub async fn refund_order(
    store: &Store,
    stripe: &StripeClient,
    actor: &Actor,
    order_id: Uuid,
    body: ApiResult<RefundBody>,
    idempotency_key: Option<&str>,
    now: OffsetDateTime,
) -> ApiResult<(Refunded, AdminRefundView)> {
    let (reason, amount) = body?.validate()?;
    let idempotency_key = check_idempotency_key(idempotency_key)?;
    if let Some(request) = store
        .admin_refund_request(&actor.id, &idempotency_key, now.unix_timestamp())
        .await?
    {
        return replay(store, stripe, &request, order_id, amount, now).await;
    }
    for _ in 0..ATTEMPTS {
        let order = store
            .get_order(order_id)
            .await?
            .ok_or(ApiError::NotFound("order"))?;
        let earning = store.get_earning(order.freelancer_id, order.id).await?;
        let plan = plan_refund(&order, earning.as_ref(), amount).map_err(refused)?;
        let currency = Currency::parse(&order.currency).map_err(ApiError::internal)?;
        let audit = AuditEntry::new(
            actor,
            AuditAction::RefundOrder,
            (TargetKind::Order, order.id),
            Some(reason.clone()),
            now,
        );
        let refund = AdminRefund {
            id: Uuid::now_v7(),
            order_id: order.id,
            client_id: order.client_id,
            freelancer_id: order.freelancer_id,
            currency: order.currency.clone(),
            amount_cents: plan.amount,
            reason: reason.clone(),
            freelancer_share_cents: plan.freelancer_share,
            platform_share_cents: plan.platform_share,
            from_earnings_cents: plan.from_earnings,
            paid_out_cents: plan.paid_out,
            reversals: Vec::new(),
            reversals_tried: false,
            status: RefundStatus::Requested,
            refund_id: None,
            failure: None,
            audit_id: audit.id,
            created_at: now,
            updated_at: now,
        };
        let ledger = LedgerTransaction::admin_refund(
            refund.id,
            order.id,
            order.freelancer_id,
            currency,
            &plan,
        )
        .map_err(ApiError::internal)?;
        let earning = earning.filter(|_| plan.from_earnings > 0).map(|earning| {
            let after = Earning {
                refunded_cents: earning.refunded_cents + plan.from_earnings,
                ..earning.clone()
            };
            (earning, after)
        });
        let request = RefundRequest {
            order_id: order.id,
            refund_id: refund.id,
            amount_cents: amount,
            expires_at: now.unix_timestamp() + REFUND_REQUEST_TTL_SECS,
        };
        let write = store
            .record_admin_refund(NewAdminRefund {
                refund: &refund,
                order: &order,
                earning: earning
                    .as_ref()
                    .map(|(before, after)| (before, after.clone())),
                ledger: &ledger,
                audit: &audit,
                request: &request,
                actor_id: &actor.id,
                idempotency_key: &idempotency_key,
            })
            .await?;
        match write {
            AdminRefundWrite::Recorded => {
                let refund = finish(store, stripe, refund, now).await?;
                return Ok((Refunded::Created, refund.into()));
            }
            AdminRefundWrite::Replayed(request) => {
                return replay(store, stripe, &request, order_id, amount, now).await;
            }
            AdminRefundWrite::Raced => continue,
        }
    }
    Err(ApiError::conflict(
        "order-changed",
        "the order was changed by someone else at the same time; reload it and try again",
    ))
}

/// The refund an Idempotency-Key made, if the request is the same one, finished as far as
/// Stripe lets it.
async fn replay(
    store: &Store,
    stripe: &StripeClient,
    request: &RefundRequest,
    order_id: Uuid,
    amount: Option<u64>,
    now: OffsetDateTime,
) -> ApiResult<(Refunded, AdminRefundView)> {
    if request.order_id != order_id || request.amount_cents != amount {
        return Err(ApiError::unprocessable(
            "idempotency-key-reused",
            "this Idempotency-Key was used for another refund request",
        ));
    }
    let refund = store
        .get_admin_refund(request.refund_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("refund of a request missing")))?;
    let refund = finish(store, stripe, refund, now).await?;
    Ok((Refunded::Replayed, refund.into()))
}

fn refused(error: RefundError) -> ApiError {
    let detail = error.to_string();
    match error {
        RefundError::NotCompleted
        | RefundError::NotPaid
        | RefundError::Disputed
        | RefundError::NothingLeft => ApiError::conflict("order-not-refundable", detail),
        RefundError::MoreThanRemains { .. } => {
            ApiError::conflict("refund-exceeds-remaining", detail)
        }
        RefundError::NotPayable(_) => ApiError::invalid("amount_cents", "invalid_value", detail),
    }
}

/// Asks Stripe for what the recorded refund still needs: the refund itself while `requested`,
/// then the reversals of its paid-out part. A call Stripe could not answer leaves the refund as
/// it is (503; the same request again, or the scheduler's [`finish_due_refunds`], finishes it).
async fn finish(
    store: &Store,
    stripe: &StripeClient,
    mut refund: AdminRefund,
    now: OffsetDateTime,
) -> ApiResult<AdminRefund> {
    if refund.status == RefundStatus::Requested {
        let order = store
            .get_order(refund.order_id)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("refunded order missing")))?;
        let intent_id = order
            .payment
            .as_ref()
            .map(|payment| payment.intent_id.clone())
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("refunded order unpaid")))?;
        let answer = stripe
            .refund_part_of_payment_intent(
                &intent_id,
                i64::try_from(refund.amount_cents).map_err(ApiError::internal)?,
                &refund.id.to_string(),
            )
            .await;
        let mut after = refund.clone();
        after.updated_at = next_update(&refund, now);
        match answer {
            Ok(made) => {
                after.status = refund_status_of(made.status);
                after.refund_id = Some(made.id);
            }
            Err(error) if error.is_retryable() => return Err(unavailable(error)),
            Err(error) => {
                // Booked, not paid back: support follows up, as with a cancelled order's
                // refund that fails.
                tracing::warn!(error = %error, refund = %refund.id, "admin refund refused");
                after.status = RefundStatus::Failed;
                after.failure = Some(
                    error
                        .body()
                        .and_then(|body| body.message.clone())
                        .unwrap_or_else(|| "refused by the payment processor".to_owned()),
                );
            }
        }
        refund = record(store, &refund, after).await?;
    }
    if matches!(
        refund.status,
        RefundStatus::Pending | RefundStatus::Succeeded
    ) && refund.paid_out_cents > 0
        && !refund.reversals_tried
    {
        refund = reverse(store, stripe, refund, now).await?;
    }
    Ok(refund)
}

/// Asks Stripe again for what admin refunds written at least `grace` before `now` still need
/// (the refund, then the reversals), with the same Idempotency-Keys, so a retry never refunds
/// or reverses twice; answers how many are done. A refund Stripe still does not answer for
/// stays on the list for the next run.
pub async fn finish_due_refunds(
    store: &Store,
    stripe: &StripeClient,
    grace: time::Duration,
    now: OffsetDateTime,
    limit: usize,
) -> ApiResult<usize> {
    let mut finished = 0;
    for refund in store.due_admin_refunds(now - grace, limit).await? {
        match finish(store, stripe, refund.clone(), now).await {
            Ok(after) if !after.unfinished() => finished += 1,
            Ok(_) => {}
            Err(ApiError::ServiceUnavailable { cause, .. }) => {
                tracing::warn!(error = %cause, refund = %refund.id, "admin refund still not answered; the next run retries");
            }
            Err(error) => return Err(error),
        }
    }
    Ok(finished)
}

/// Takes the refund's paid-out part back from the order's transfers (`app::payouts`, the path a
/// lost dispute takes too), then records the reversals and that they were tried.
async fn reverse(
    store: &Store,
    stripe: &StripeClient,
    refund: AdminRefund,
    now: OffsetDateTime,
) -> ApiResult<AdminRefund> {
    let currency = Currency::parse(&refund.currency).map_err(ApiError::internal)?;
    let cause = format!("{}:{}", LedgerKind::AdminRefund.id_prefix(), refund.id);
    let reversals = reverse_payouts(
        store,
        stripe,
        Clawback {
            cause: &cause,
            order_id: refund.order_id,
            freelancer_id: refund.freelancer_id,
            currency: &currency,
            paid_out_cents: refund.paid_out_cents,
        },
        &refund.reversals,
        now,
    )
    .await?;
    let mut after = refund.clone();
    after.updated_at = next_update(&refund, now);
    after.reversals = reversals;
    after.reversals_tried = true;
    record(store, &refund, after).await
}

/// Writes `after` over `before`; 503 when someone wrote the refund meanwhile: the same request
/// again reads it anew and finishes it.
async fn record(store: &Store, before: &AdminRefund, after: AdminRefund) -> ApiResult<AdminRefund> {
    if store.update_admin_refund(before, &after).await? {
        Ok(after)
    } else {
        Err(ApiError::ServiceUnavailable {
            retry_after_secs: 1,
            cause: anyhow::anyhow!("admin refund {} changed while it was recorded", before.id),
        })
    }
}

/// A refund's next `updated_at`: now, and always after the last one (its version).
fn next_update(refund: &AdminRefund, now: OffsetDateTime) -> OffsetDateTime {
    now.max(refund.updated_at + time::Duration::nanoseconds(1))
}

/// `charge.refunded` names the admin refunds among the charge's refunds
/// (`metadata[admin_refund_id]`): each records Stripe's status, only forward. Answers whether
/// any changed. The ledger moved when the refund was written, so an event never books money.
pub async fn admin_refunds_reported(
    store: &Store,
    refunds: &[Refund],
    now: OffsetDateTime,
) -> ApiResult<bool> {
    let mut changed = false;
    for reported in refunds {
        let Some(refund_id) = reported
            .metadata
            .get("admin_refund_id")
            .and_then(|id| id.parse::<Uuid>().ok())
        else {
            continue;
        };
        let Some(refund) = store.get_admin_refund(refund_id).await? else {
            continue;
        };
        let status = refund_status_of(reported.status);
        let moved = status.progress() > refund.status.progress()
            || (refund.refund_id.is_none() && status.progress() == refund.status.progress());
        if !moved {
            continue;
        }
        let mut after = refund.clone();
        after.updated_at = next_update(&refund, now);
        after.status = status;
        after.refund_id = Some(reported.id.clone());
        record(store, &refund, after).await?;
        changed = true;
    }
    Ok(changed)
}

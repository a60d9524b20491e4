//! An admin's refund of a completed order: all or part of the client's charge goes back, and
//! what it takes is split between the freelancer's earnings and the platform's fees in the
//! proportion the order's charge was split in.
//!
//! The split rounds the freelancer's share down and gives the remainder to the platform, over
//! the order's refunds together: the freelancer's part of everything refunded so far is
//! `refunded * net / client_total` (rounded down), and each refund takes the growth of that
//! figure. So however a charge is refunded in parts, a whole refund takes exactly the
//! freelancer's net and the platform's fees, and no part ever takes a cent more.
//!
//! The freelancer's share comes first from what the order's earning still holds on the platform
//! (pending or available); what was paid out already is booked as a debt, which a reversal of
//! the order's transfer repays when the connected account can cover it, and cleared earnings
//! repay otherwise (`app::admin::refunds`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::money::Currency;
use super::order::{DisputeStatus, Order, OrderStatus, RefundStatus};
use super::payout::{Earning, EarningStatus, PayoutReversal};

/// An admin's refund of (part of) a completed order's charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRefund {
    /// UUIDv7; Stripe's Idempotency-Key of the refund is derived from it.
    pub id: Uuid,
    pub order_id: Uuid,
    /// Who paid: the refund goes back to them (and they are mailed). A stored refund without
    /// it reads as the nil id: its mail finds no recipient and is skipped.
    #[serde(default)]
    pub client_id: Uuid,
    pub freelancer_id: Uuid,
    pub currency: String,
    /// What goes back to the client, in minor units.
    pub amount_cents: u64,
    pub reason: String,
    /// Of `amount_cents`: the freelancer's share.
    pub freelancer_share_cents: u64,
    /// Of `amount_cents`: the platform's share, out of its fees.
    pub platform_share_cents: u64,
    /// Of the freelancer's share: what the order's earning still held (pending or available).
    pub from_earnings_cents: u64,
    /// Of the freelancer's share: what was paid out already, booked as their debt.
    pub paid_out_cents: u64,
    /// The transfer reversals that took the paid-out part back.
    #[serde(default)]
    pub reversals: Vec<PayoutReversal>,
    /// Whether the reversals were asked for (once the refund was made): whatever they did not
    /// take back stays a debt.
    #[serde(default)]
    pub reversals_tried: bool,
    pub status: RefundStatus,
    /// Stripe's refund (`re_...`), once it made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// Why Stripe refused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The admin audit entry written with it.
    pub audit_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl AdminRefund {
    /// What reversals took back of the paid-out part.
    pub fn reversed_cents(&self) -> u64 {
        self.reversals
            .iter()
            .map(|reversal| reversal.amount_cents)
            .sum()
    }

    /// Whether Stripe still has to answer for it: the refund itself was never answered, or
    /// the reversals of its paid-out part were never tried to the end. Such a refund is on the
    /// scheduler's list until it is not.
    pub fn unfinished(&self) -> bool {
        match self.status {
            RefundStatus::Requested => true,
            RefundStatus::Pending | RefundStatus::Succeeded => {
                self.paid_out_cents > 0 && !self.reversals_tried
            }
            RefundStatus::Failed => false,
        }
    }
}

/// What one admin refund takes, from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundPlan {
    pub amount: u64,
    pub freelancer_share: u64,
    pub platform_share: u64,
    pub from_earnings: u64,
    /// Where `from_earnings` sits: the earning's status (pending or available).
    pub earning_status: Option<EarningStatus>,
    pub paid_out: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error(
        "only a completed order is refunded here; an open one is cancelled (and refunded whole)"
    )]
    NotCompleted,
    #[error("the order was never paid")]
    NotPaid,
    #[error("the order's charge is disputed: the bank decides what goes back")]
    Disputed,
    #[error("the order's charge is refunded in full already")]
    NothingLeft,
    #[error("{requested} is more than the {remaining} left to refund (minor units of {currency})")]
    MoreThanRemains {
        requested: u64,
        remaining: u64,
        currency: String,
    },
    #[error("the amount must be a positive amount {0} can be paid in")]
    NotPayable(String),
}

/// The freelancer's part of `refunded` of a charge of `client_total` split into `net` for them:
/// rounded down (the remainder is the platform's).
fn freelancer_part(refunded: u64, net: u64, client_total: u64) -> u64 {
    if client_total == 0 {
        return 0;
    }
    u64::try_from(u128::from(refunded) * u128::from(net) / u128::from(client_total))
        .unwrap_or(u64::MAX)
}

/// What refunding `requested` (everything left, when `None`) of `order`'s charge takes, given the
/// order's earning as it is now (`None` when the order earned the freelancer nothing).
pub fn plan_refund(
    order: &Order,
    earning: Option<&Earning>,
    requested: Option<u64>,
) -> Result<RefundPlan, RefundError> {
    if order.status != OrderStatus::Completed {
        return Err(RefundError::NotCompleted);
    }
    if order.paid_at.is_none() || order.payment.is_none() {
        return Err(RefundError::NotPaid);
    }
    let frozen = earning.is_some_and(|earning| {
        matches!(
            earning.status,
            EarningStatus::Frozen | EarningStatus::Forfeited
        )
    });
    if frozen
        || matches!(
            order.dispute_status(),
            Some(DisputeStatus::Open | DisputeStatus::Lost)
        )
    {
        return Err(RefundError::Disputed);
    }
    let total = order.client_total_cents;
    let before = order.refunded_cents.min(total);
    let remaining = total - before;
    if remaining == 0 {
        return Err(RefundError::NothingLeft);
    }
    let amount = requested.unwrap_or(remaining);
    let currency = Currency::parse(&order.currency)
        .map_err(|_| RefundError::NotPayable(order.currency.clone()))?;
    if amount == 0 || !currency.is_chargeable(amount) {
        return Err(RefundError::NotPayable(order.currency.clone()));
    }
    if amount > remaining {
        return Err(RefundError::MoreThanRemains {
            requested: amount,
            remaining,
            currency: order.currency.clone(),
        });
    }
    let net = order.freelancer_net_cents;
    let freelancer_share =
        freelancer_part(before + amount, net, total) - freelancer_part(before, net, total);
    let held = earning.map_or(0, Earning::unwithdrawn_cents);
    let from_earnings = freelancer_share.min(held);
    Ok(RefundPlan {
        amount,
        freelancer_share,
        platform_share: amount - freelancer_share,
        from_earnings,
        earning_status: earning
            .filter(|_| from_earnings > 0)
            .map(|earning| earning.status),
        paid_out: freelancer_share - from_earnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::tests::completed;

    /// The completed order's earning, `withdrawn` of it paid out.
    fn earning_of(order: &Order, withdrawn: u64, status: EarningStatus) -> Earning {
        Earning {
            order_id: order.id,
            freelancer_id: order.freelancer_id,
            currency: order.currency.clone(),
            amount_cents: order.freelancer_net_cents,
            withdrawn_cents: withdrawn,
            debt_repaid_cents: 0,
            refunded_cents: 0,
            released_by: None,
            status,
            charge_id: None,
            completed_at: order.updated_at,
        }
    }

    #[test]
    fn refunds_in_parts_take_exactly_the_net_and_the_fees_in_the_end() {
        let mut order = completed();
        let (total, net) = (order.client_total_cents, order.freelancer_net_cents);
        let mut held = earning_of(&order, 0, EarningStatus::Pending);
        let (mut freelancer, mut platform) = (0, 0);
        // Odd parts, each rounding the freelancer's share down.
        for part in [1, 1, 999, 1_000, total - 2_001] {
            let plan = plan_refund(&order, Some(&held), Some(part)).unwrap();
            assert_eq!(plan.freelancer_share + plan.platform_share, part);
            assert_eq!(plan.from_earnings, plan.freelancer_share);
            assert_eq!(
                plan.earning_status,
                (plan.from_earnings > 0).then_some(EarningStatus::Pending)
            );
            freelancer += plan.freelancer_share;
            platform += plan.platform_share;
            order.refunded_cents += part;
            held.refunded_cents += plan.from_earnings;
        }
        assert_eq!((freelancer, platform), (net, total - net));
        assert_eq!(held.unwithdrawn_cents(), 0);
        assert_eq!(
            plan_refund(&order, Some(&held), None),
            Err(RefundError::NothingLeft)
        );
    }

    #[test]
    fn what_was_paid_out_is_the_part_a_reversal_or_a_debt_takes() {
        let order = completed();
        let (total, net) = (order.client_total_cents, order.freelancer_net_cents);
        // All but 999 of the net was withdrawn.
        let held = earning_of(&order, net - 999, EarningStatus::Available);
        let plan = plan_refund(&order, Some(&held), None).unwrap();
        assert_eq!(plan.amount, total);
        assert_eq!(plan.from_earnings, 999);
        assert_eq!(plan.earning_status, Some(EarningStatus::Available));
        assert_eq!(plan.paid_out, net - 999);
        assert_eq!(plan.platform_share, total - net);
    }

    #[test]
    fn only_a_completed_undisputed_order_with_something_left_is_refunded() {
        let mut open = completed();
        open.status = OrderStatus::Delivered;
        assert_eq!(
            plan_refund(&open, None, None),
            Err(RefundError::NotCompleted)
        );
        let mut disputed = completed();
        disputed.dispute = Some(crate::domain::order::OrderDispute {
            id: "du_1".into(),
            status: DisputeStatus::Open,
        });
        assert_eq!(
            plan_refund(&disputed, None, None),
            Err(RefundError::Disputed)
        );
        let mut partly = completed();
        partly.refunded_cents = partly.client_total_cents - 274;
        assert!(matches!(
            plan_refund(&partly, None, Some(275)),
            Err(RefundError::MoreThanRemains { remaining: 274, .. })
        ));
        assert_eq!(
            plan_refund(&partly, None, Some(0)),
            Err(RefundError::NotPayable("EUR".into()))
        );
    }
}

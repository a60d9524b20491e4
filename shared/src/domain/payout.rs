//! Paying freelancers out: the Stripe Connect account earnings are transferred to, the earnings
//! of each completed order on their way from `pending` to `available` (the clearance period),
//! and the withdrawals that transfer them.
//!
//! An order's earnings are one [`Earning`]: its freelancer's net, created in the same write as the
//! order's completion, cleared once the clearance period has passed since then, and drawn on by
//! withdrawals oldest first. A withdrawal is one Stripe transfer per earning it draws on, because
//! a transfer names the one charge it is paid from (`source_transaction`), so the money can leave
//! before that charge's funds are available on the platform's balance.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::money::Currency;

/// The freelancer's Stripe Connect (Express) account, as Stripe last reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutAccount {
    pub user_id: Uuid,
    /// Stripe's id of the connected account (`acct_...`).
    pub stripe_account_id: String,
    /// Whether Stripe lets the account receive transfers and pay them out.
    pub payouts_enabled: bool,
    /// What Stripe still needs from the freelancer (`requirements.currently_due`).
    #[serde(default)]
    pub requirements_due: Vec<String>,
    /// The freelancer's setting: the scheduler withdraws whatever clears (at least the least
    /// withdrawal of its currency) without being asked.
    #[serde(default)]
    pub auto_withdraw: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl PayoutAccount {
    /// Whether the scheduler withdraws the freelancer's cleared earnings now: they asked for
    /// it, and Stripe lets the account receive transfers.
    pub fn withdraws_automatically(&self) -> bool {
        self.auto_withdraw && self.payouts_enabled
    }
}

/// Where one order's earnings stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EarningStatus {
    /// Within the clearance period: not yet withdrawable.
    Pending,
    /// Cleared: withdrawable, as far as no withdrawal has taken it.
    Available,
    /// Held while the order's charge is disputed (what no withdrawal had taken yet).
    Frozen,
    /// The dispute was lost: nothing of it is the freelancer's any more.
    Forfeited,
}

/// The freelancer's net from one completed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Earning {
    pub order_id: Uuid,
    pub freelancer_id: Uuid,
    pub currency: String,
    pub amount_cents: u64,
    /// How much of it withdrawals have taken (and not given back).
    #[serde(default)]
    pub withdrawn_cents: u64,
    /// How much of it paid the freelancer's debt when it cleared.
    #[serde(default)]
    pub debt_repaid_cents: u64,
    /// How much of it admin refunds of the order took back before it was withdrawn.
    #[serde(default)]
    pub refunded_cents: u64,
    /// The won dispute that released it back to pending: its next clearance is a movement
    /// of its own (`earnings-cleared:<order>:<dispute>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_by: Option<String>,
    pub status: EarningStatus,
    /// The order's charge (`ch_...`): the transfer that pays this earning out is paid from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub completed_at: OffsetDateTime,
}

impl Earning {
    /// When the earning clears, for a clearance period of `clearance`.
    pub fn clears_at(&self, clearance: Duration) -> OffsetDateTime {
        self.completed_at + clearance
    }

    /// What a withdrawal may still take from it.
    pub fn remaining_cents(&self) -> u64 {
        match self.status {
            EarningStatus::Available => self.unwithdrawn_cents(),
            EarningStatus::Pending | EarningStatus::Frozen | EarningStatus::Forfeited => 0,
        }
    }

    /// What of it is still on the platform: neither withdrawn, spent on a debt, nor refunded.
    pub fn unwithdrawn_cents(&self) -> u64 {
        self.amount_cents
            .saturating_sub(self.withdrawn_cents)
            .saturating_sub(self.debt_repaid_cents)
            .saturating_sub(self.refunded_cents)
    }
}

/// Where one transfer of a withdrawal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Written, not yet accepted by Stripe (the scheduler asks again when a call failed).
    Sending,
    /// Stripe made the transfer (its answer to our call).
    Sent,
    /// Stripe's `transfer.created` event arrived for it.
    Confirmed,
    /// Stripe refused it: its amount is back in `available`.
    Returned,
}

/// One transfer of a withdrawal: the part of it paid out of one order's earnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalTransfer {
    pub order_id: Uuid,
    pub amount_cents: u64,
    /// The charge the transfer is paid from (`source_transaction`), when the order has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    pub status: TransferStatus,
    /// Stripe's transfer id, once it is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<String>,
    /// Why Stripe refused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Where a withdrawal stands, from its transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalStatus {
    /// Some transfer is not yet made.
    Sending,
    /// Every transfer was made.
    Sent,
    /// Some were made, the others refused and given back.
    PartlySent,
    /// Every transfer was refused: the whole amount is back in `available`.
    Failed,
}

/// A freelancer's withdrawal of available earnings to their connected account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub id: Uuid,
    pub freelancer_id: Uuid,
    pub currency: String,
    pub amount_cents: u64,
    /// The connected account it is transferred to.
    pub stripe_account_id: String,
    pub transfers: Vec<WithdrawalTransfer>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Withdrawal {
    /// A new withdrawal of `plan` ([`plan_withdrawal`]'s answer for `available`) to the
    /// connected account `stripe_account_id`: one transfer per earning drawn on, each paid from
    /// that order's charge and still to be made.
    pub fn planned(
        id: Uuid,
        freelancer_id: Uuid,
        currency: &Currency,
        stripe_account_id: &str,
        plan: &[(Uuid, u64)],
        available: &[Earning],
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            freelancer_id,
            currency: currency.code().to_owned(),
            amount_cents: plan.iter().map(|(_, amount)| amount).sum(),
            stripe_account_id: stripe_account_id.to_owned(),
            transfers: plan
                .iter()
                .map(|&(order_id, amount_cents)| WithdrawalTransfer {
                    order_id,
                    amount_cents,
                    charge_id: available
                        .iter()
                        .find(|earning| earning.order_id == order_id)
                        .and_then(|earning| earning.charge_id.clone()),
                    status: TransferStatus::Sending,
                    transfer_id: None,
                    failure: None,
                })
                .collect(),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn status(&self) -> WithdrawalStatus {
        let count = |wanted| {
            self.transfers
                .iter()
                .filter(|transfer| transfer.status == wanted)
                .count()
        };
        let (sending, returned) = (
            count(TransferStatus::Sending),
            count(TransferStatus::Returned),
        );
        if sending > 0 {
            WithdrawalStatus::Sending
        } else if returned == 0 {
            WithdrawalStatus::Sent
        } else if returned == self.transfers.len() {
            WithdrawalStatus::Failed
        } else {
            WithdrawalStatus::PartlySent
        }
    }

    /// What was sent or is on its way (the withdrawal's amount less what came back).
    pub fn outstanding_cents(&self) -> u64 {
        self.transfers
            .iter()
            .filter(|transfer| transfer.status != TransferStatus::Returned)
            .map(|transfer| transfer.amount_cents)
            .sum()
    }
}

/// A reversal of (part of) a transfer that paid out an order's earning: what a refund or a lost
/// dispute of the order takes back from the freelancer's connected account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutReversal {
    /// The reversed transfer (`tr_...`).
    pub transfer_id: String,
    /// Stripe's reversal (`trr_...`).
    pub reversal_id: String,
    pub amount_cents: u64,
}

/// A dispute of an order's charge, as the platform records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeRecord {
    /// The processor's id (`du_...`).
    pub id: String,
    pub order_id: Uuid,
    pub freelancer_id: Uuid,
    /// What the bank took back, in minor units.
    pub amount_cents: u64,
    pub currency: String,
    pub status: super::order::DisputeStatus,
    /// What of the order's earnings was frozen for it (0 when the order was not completed yet,
    /// or its earnings were withdrawn already).
    pub frozen_cents: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// A lost dispute's share that was paid out already, booked as the freelancer's debt, and
    /// what reversals of the order's transfers took back of it.
    #[serde(default)]
    pub paid_out_cents: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reversals: Vec<PayoutReversal>,
    /// Whether the reversals were tried to the end (Stripe made or refused each): whatever
    /// they did not take back stays a debt.
    #[serde(default)]
    pub reversals_tried: bool,
}

impl DisputeRecord {
    /// Whether the reversals of a lost dispute's paid-out share still wait for Stripe's
    /// answer: such a dispute is on the scheduler's list until they do not.
    pub fn reversals_due(&self) -> bool {
        self.status == super::order::DisputeStatus::Lost
            && self.paid_out_cents > 0
            && !self.reversals_tried
    }
}

/// Where a lost dispute's `amount` comes from, for an order split into the freelancer's
/// `net` and the platform's fees of a `client_total`: when the order completed, the freelancer's
/// share (in proportion) from their frozen earnings and, for what was paid out already, a debt;
/// the platform's share from its fees. Before completion, all of it from escrow.
pub fn dispute_lost_sources(
    freelancer_id: Uuid,
    completed: bool,
    amount: u64,
    client_total: u64,
    net: u64,
    frozen: u64,
) -> Vec<(super::ledger::LedgerAccount, u64)> {
    use super::ledger::LedgerAccount;
    let amount = amount.min(client_total);
    if !completed {
        return vec![(LedgerAccount::Escrow, amount)];
    }
    let freelancer_share = if client_total == 0 {
        0
    } else {
        u64::try_from(u128::from(amount) * u128::from(net) / u128::from(client_total))
            .unwrap_or(u64::MAX)
    };
    let from_frozen = freelancer_share.min(frozen);
    vec![
        (LedgerAccount::FreelancerFrozen(freelancer_id), from_frozen),
        (
            LedgerAccount::FreelancerDebt(freelancer_id),
            freelancer_share - from_frozen,
        ),
        (LedgerAccount::PlatformFees, amount - freelancer_share),
    ]
}

/// A withdrawal draws on at most this many earnings: each is a transfer and an item in the
/// DynamoDB transaction that records the withdrawal (100 items at most). A larger balance is
/// withdrawn in several steps.
pub const MAX_TRANSFERS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WithdrawalError {
    #[error("nothing is available to withdraw in {0}")]
    NothingAvailable(String),
    #[error("{requested} is below the least withdrawal of {minimum} (minor units of {currency})")]
    BelowMinimum {
        requested: u64,
        minimum: u64,
        currency: String,
    },
    #[error("{requested} is more than the {available} available (minor units of {currency})")]
    MoreThanAvailable {
        requested: u64,
        available: u64,
        currency: String,
    },
    #[error("the amount must be a positive amount {0} can be paid in")]
    NotPayable(String),
}

/// What a withdrawal takes from which earning, oldest earnings first: `requested` (everything
/// the first [`MAX_TRANSFERS`] available earnings hold, when `None`), at least `minimum`.
pub fn plan_withdrawal(
    available: &[Earning],
    currency: &Currency,
    requested: Option<u64>,
    minimum: u64,
) -> Result<Vec<(Uuid, u64)>, WithdrawalError> {
    let mut earnings: Vec<&Earning> = available
        .iter()
        .filter(|earning| earning.currency == currency.code() && earning.remaining_cents() > 0)
        .collect();
    earnings.sort_by_key(|earning| (earning.completed_at, earning.order_id));
    earnings.truncate(MAX_TRANSFERS);
    let total: u64 = earnings
        .iter()
        .map(|earning| earning.remaining_cents())
        .sum();
    if total == 0 {
        return Err(WithdrawalError::NothingAvailable(
            currency.code().to_owned(),
        ));
    }
    let wanted = requested.unwrap_or(total);
    if wanted == 0 || !currency.is_chargeable(wanted) {
        return Err(WithdrawalError::NotPayable(currency.code().to_owned()));
    }
    if wanted < minimum {
        return Err(WithdrawalError::BelowMinimum {
            requested: wanted,
            minimum,
            currency: currency.code().to_owned(),
        });
    }
    if wanted > total {
        return Err(WithdrawalError::MoreThanAvailable {
            requested: wanted,
            available: total,
            currency: currency.code().to_owned(),
        });
    }
    let mut left = wanted;
    let mut plan = Vec::new();
    for earning in earnings {
        if left == 0 {
            break;
        }
        let take = earning.remaining_cents().min(left);
        plan.push((earning.order_id, take));
        left -= take;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn earning(amount: u64, withdrawn: u64, minutes: i64) -> Earning {
        Earning {
            order_id: Uuid::new_v4(),
            freelancer_id: Uuid::nil(),
            currency: "EUR".into(),
            amount_cents: amount,
            withdrawn_cents: withdrawn,
            debt_repaid_cents: 0,
            refunded_cents: 0,
            released_by: None,
            status: EarningStatus::Available,
            charge_id: None,
            completed_at: OffsetDateTime::UNIX_EPOCH + Duration::minutes(minutes),
        }
    }

    #[test]
    fn a_withdrawal_takes_the_oldest_earnings_first() {
        let eur = Currency::parse("EUR").unwrap();
        let (old, new) = (earning(3_000, 1_000, 1), earning(5_000, 0, 2));
        let everything = plan_withdrawal(&[new.clone(), old.clone()], &eur, None, 1_000).unwrap();
        assert_eq!(
            everything,
            vec![(old.order_id, 2_000), (new.order_id, 5_000)]
        );
        let part = plan_withdrawal(&[new.clone(), old.clone()], &eur, Some(2_500), 1_000).unwrap();
        assert_eq!(part, vec![(old.order_id, 2_000), (new.order_id, 500)]);
    }

    #[test]
    fn a_withdrawal_stays_within_what_is_available_and_above_the_minimum() {
        let eur = Currency::parse("EUR").unwrap();
        let available = [earning(3_000, 0, 1)];
        assert!(matches!(
            plan_withdrawal(&available, &eur, Some(3_001), 1_000),
            Err(WithdrawalError::MoreThanAvailable {
                available: 3_000,
                ..
            })
        ));
        assert!(matches!(
            plan_withdrawal(&available, &eur, Some(999), 1_000),
            Err(WithdrawalError::BelowMinimum { minimum: 1_000, .. })
        ));
        let mut pending = earning(3_000, 0, 1);
        pending.status = EarningStatus::Pending;
        assert_eq!(
            plan_withdrawal(&[pending], &eur, None, 1_000),
            Err(WithdrawalError::NothingAvailable("EUR".into()))
        );
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(
            plan_withdrawal(&available, &usd, None, 1_000),
            Err(WithdrawalError::NothingAvailable("USD".into()))
        );
    }

    #[test]
    fn the_minimum_follows_the_currency() {
        assert_eq!(
            Currency::parse("EUR").unwrap().minor_from_hundredths(1_000),
            1_000
        );
        assert_eq!(
            Currency::parse("JPY").unwrap().minor_from_hundredths(1_000),
            10
        );
        assert_eq!(
            Currency::parse("KWD").unwrap().minor_from_hundredths(1_000),
            10_000
        );
    }

    #[test]
    fn a_lost_dispute_takes_the_freelancers_share_from_frozen_earnings_then_as_debt() {
        use crate::domain::ledger::LedgerAccount;
        let freelancer = Uuid::new_v4();
        // 5274 charged: 3999 net, 1275 fees; 2000 of the net was withdrawn before the dispute.
        let sources = dispute_lost_sources(freelancer, true, 5_274, 5_274, 3_999, 1_999);
        assert_eq!(
            sources,
            vec![
                (LedgerAccount::FreelancerFrozen(freelancer), 1_999),
                (LedgerAccount::FreelancerDebt(freelancer), 2_000),
                (LedgerAccount::PlatformFees, 1_275),
            ]
        );
        assert_eq!(
            dispute_lost_sources(freelancer, false, 5_274, 5_274, 3_999, 0),
            vec![(LedgerAccount::Escrow, 5_274)]
        );
    }

    #[test]
    fn a_withdrawal_is_sent_when_every_transfer_is() {
        let transfer = |status| WithdrawalTransfer {
            order_id: Uuid::nil(),
            amount_cents: 100,
            charge_id: None,
            status,
            transfer_id: None,
            failure: None,
        };
        let mut withdrawal = Withdrawal {
            id: Uuid::nil(),
            freelancer_id: Uuid::nil(),
            currency: "EUR".into(),
            amount_cents: 200,
            stripe_account_id: "acct_1".into(),
            transfers: vec![
                transfer(TransferStatus::Sent),
                transfer(TransferStatus::Sending),
            ],
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(withdrawal.status(), WithdrawalStatus::Sending);
        withdrawal.transfers[1].status = TransferStatus::Returned;
        assert_eq!(withdrawal.status(), WithdrawalStatus::PartlySent);
        assert_eq!(withdrawal.outstanding_cents(), 100);
        withdrawal.transfers[0].status = TransferStatus::Returned;
        assert_eq!(withdrawal.status(), WithdrawalStatus::Failed);
    }
}

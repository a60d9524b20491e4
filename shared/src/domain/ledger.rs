//! The ledger: double entry in minor units. Every movement of money is one [`LedgerTransaction`]
//! of postings that sum to zero, named by an id that makes it idempotent (`order-paid:<order>`),
//! so a webhook delivered twice or a retried completion can not move money twice. An account's
//! balance is the sum of its postings; only [`LedgerAccount::StripeClearing`], the side money
//! enters from, a freelancer's debt and the platform's fees (which pay Stripe's dispute fees)
//! may go below zero.
//!
//! Pure rules: the store writes a transaction's postings and balance changes in the same DynamoDB
//! transaction as the order change that causes them, conditioned as [`Balances::apply`] checks.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::money::{Currency, PriceSplit};
use super::payout::EarningStatus;
use super::refund::RefundPlan;

/// Where money sits. Balances are kept per account and currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LedgerAccount {
    /// Clients' charges as they reach the platform's Stripe balance: negative by everything
    /// charged, the source side of every payment.
    StripeClearing,
    /// Held for orders that are paid and not yet completed or refunded.
    Escrow,
    /// The platform's service fees and commissions, less what it paid out of them (its shares
    /// of refunds and lost disputes, Stripe's dispute fees): below zero when those cost more
    /// than it earned.
    PlatformFees,
    /// Paid back to clients.
    Refunds,
    /// A freelancer's earnings from completed orders, not yet cleared for withdrawal.
    FreelancerPending(Uuid),
    /// A freelancer's cleared earnings, free to withdraw.
    FreelancerAvailable(Uuid),
    /// What was transferred to a freelancer.
    FreelancerPaidOut(Uuid),
    /// A freelancer's earnings held while their order's charge is disputed.
    FreelancerFrozen(Uuid),
    /// What a freelancer owes the platform, as a balance at or below zero: a lost dispute's
    /// share that was paid out already. Their next cleared earnings pay it first.
    FreelancerDebt(Uuid),
    /// Given back to clients by their banks (lost disputes).
    DisputesLost,
    /// Stripe's dispute fees, paid out of the platform's fees, less those Stripe returned.
    DisputeFees,
    /// Every freelancer's balance of one kind together (pending, available, paid out, frozen,
    /// debt): a total kept beside their own accounts for `GET /admin/metrics`, moved by every
    /// posting to one of those ([`LedgerAccount::total`]) and never posted to itself.
    FreelancersTotal(EarningsKind),
}

/// The kinds of a freelancer's balances, as their totals name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EarningsKind {
    Pending,
    Available,
    PaidOut,
    Frozen,
    Debt,
}

impl EarningsKind {
    fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Available => "available",
            Self::PaidOut => "paid_out",
            Self::Frozen => "frozen",
            Self::Debt => "debt",
        }
    }
}

impl LedgerAccount {
    /// Whether a balance below zero is allowed: the clearing account's (the source of every
    /// charge), a debt's (what is owed) and the platform's fees' (a dispute fee is owed to
    /// Stripe whatever the platform earned before it).
    pub fn may_go_negative(self) -> bool {
        matches!(
            self,
            Self::StripeClearing | Self::FreelancerDebt(_) | Self::PlatformFees
        )
    }

    /// Whether a balance above zero is allowed: not a debt's (a repayment never overpays).
    pub fn may_go_positive(self) -> bool {
        !matches!(self, Self::FreelancerDebt(_))
    }

    /// The total every posting to this account moves too: a freelancer's balance's kind.
    pub fn total(self) -> Option<Self> {
        let kind = match self {
            Self::FreelancerPending(_) => EarningsKind::Pending,
            Self::FreelancerAvailable(_) => EarningsKind::Available,
            Self::FreelancerPaidOut(_) => EarningsKind::PaidOut,
            Self::FreelancerFrozen(_) => EarningsKind::Frozen,
            Self::FreelancerDebt(_) => EarningsKind::Debt,
            _ => return None,
        };
        Some(Self::FreelancersTotal(kind))
    }
}

impl fmt::Display for LedgerAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StripeClearing => f.write_str("stripe_clearing"),
            Self::Escrow => f.write_str("escrow"),
            Self::PlatformFees => f.write_str("platform_fees"),
            Self::Refunds => f.write_str("refunds"),
            Self::FreelancerPending(id) => write!(f, "freelancer:{id}:pending"),
            Self::FreelancerAvailable(id) => write!(f, "freelancer:{id}:available"),
            Self::FreelancerPaidOut(id) => write!(f, "freelancer:{id}:paid_out"),
            Self::FreelancerFrozen(id) => write!(f, "freelancer:{id}:frozen"),
            Self::FreelancerDebt(id) => write!(f, "freelancer:{id}:debt"),
            Self::DisputesLost => f.write_str("disputes_lost"),
            Self::DisputeFees => f.write_str("dispute_fees"),
            Self::FreelancersTotal(kind) => write!(f, "freelancers:{}", kind.name()),
        }
    }
}

/// One side of a movement: positive adds to the account's balance, negative takes from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub account: LedgerAccount,
    pub amount: i64,
}

/// What a transaction records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    /// A client's payment for an order arrived: into escrow.
    OrderPaid,
    /// A paid order was rejected or cancelled: its whole charge back to the client.
    OrderRefunded,
    /// An order completed: escrow to the freelancer's pending earnings and the platform's fees.
    OrderCompleted,
    /// An order's earnings passed the clearance period: pending to available.
    EarningsCleared,
    /// A withdrawal: available to paid out.
    Withdrawal,
    /// A transfer of a withdrawal that Stripe refused: paid out back to available.
    WithdrawalReturned,
    /// A dispute opened: the order's unwithdrawn earnings are frozen.
    DisputeFrozen,
    /// A dispute won: the frozen earnings go back to pending.
    DisputeReleased,
    /// A dispute lost: the disputed amount left with the client's bank.
    DisputeLost,
    /// Stripe's fee on a dispute's balance transaction: the platform's cost (or, returned, its
    /// refund).
    DisputeFee,
    /// An admin refunded (part of) a completed order: from the freelancer's earnings (or, for
    /// what was paid out, their debt) and the platform's fees back to the client.
    AdminRefund,
    /// A transfer reversal took a paid-out share back from the connected account (an admin
    /// refund's or a lost dispute's): the debt it was booked as is repaid.
    PayoutReversed,
}

impl LedgerKind {
    /// The start of the ids of this kind's transactions (`order-paid:<order>`).
    pub fn id_prefix(self) -> &'static str {
        match self {
            Self::OrderPaid => "order-paid",
            Self::OrderRefunded => "order-refunded",
            Self::OrderCompleted => "order-completed",
            Self::EarningsCleared => "earnings-cleared",
            Self::Withdrawal => "withdrawal",
            Self::WithdrawalReturned => "withdrawal-returned",
            Self::DisputeFrozen => "dispute-frozen",
            Self::DisputeReleased => "dispute-released",
            Self::DisputeLost => "dispute-lost",
            Self::DisputeFee => "dispute-fee",
            Self::AdminRefund => "admin-refund",
            Self::PayoutReversed => "payout-reversed",
        }
    }

    /// The kind whose [`LedgerKind::id_prefix`] is `prefix`.
    pub fn from_id_prefix(prefix: &str) -> Option<Self> {
        [
            Self::OrderPaid,
            Self::OrderRefunded,
            Self::OrderCompleted,
            Self::EarningsCleared,
            Self::Withdrawal,
            Self::WithdrawalReturned,
            Self::DisputeFrozen,
            Self::DisputeReleased,
            Self::DisputeLost,
            Self::DisputeFee,
            Self::AdminRefund,
            Self::PayoutReversed,
        ]
        .into_iter()
        .find(|kind| kind.id_prefix() == prefix)
    }

    /// What the payments list calls it: the movements of a client's money in or out of the
    /// platform. A completion moves money inside it, so it is none.
    pub fn payment_kind(self) -> Option<PaymentKind> {
        match self {
            Self::OrderPaid => Some(PaymentKind::Charge),
            Self::OrderRefunded | Self::AdminRefund => Some(PaymentKind::Refund),
            Self::OrderCompleted
            | Self::EarningsCleared
            | Self::Withdrawal
            | Self::WithdrawalReturned
            | Self::DisputeFrozen
            | Self::DisputeReleased
            | Self::DisputeLost
            | Self::DisputeFee
            | Self::PayoutReversed => None,
        }
    }
}

/// A movement of a client's money across the platform's edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// The client paid for an order (`order_paid`).
    Charge,
    /// The client got the whole charge back (`order_refunded`), or what an admin refunded of a
    /// completed order (`admin_refund`).
    Refund,
}

/// One entry of `GET /admin/payments`: a charge or refund ledger transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentEntry {
    /// The ledger transaction's id (`order-paid:<order>`).
    pub id: String,
    pub kind: PaymentKind,
    pub order_id: Uuid,
    pub currency: String,
    /// What moved: the client's whole charge (price and service fee), or the part an admin
    /// refund gave back, in minor units.
    pub amount_cents: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// One entry of a freelancer's `GET /me/payouts`: a ledger transaction that moved their
/// earnings, as the change of each of their balances (signed minor units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EarningsEntry {
    /// The ledger transaction's id (`earnings-cleared:<order>`).
    pub id: String,
    #[serde(serialize_with = "kind_name")]
    pub kind: LedgerKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawal_id: Option<Uuid>,
    pub currency: String,
    pub pending_change_cents: i64,
    pub available_change_cents: i64,
    pub paid_out_change_cents: i64,
    /// Held for a dispute (`dispute_frozen`), released or lost at its close.
    pub frozen_change_cents: i64,
    /// What they owe moves: negative when a lost dispute's share was paid out already,
    /// positive when cleared earnings pay it back.
    pub debt_change_cents: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A kind as the API names it: its id prefix with underscores (`earnings_cleared`).
fn kind_name<S: serde::Serializer>(kind: &LedgerKind, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&kind.id_prefix().replace('-', "_"))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("the postings sum to {0}, not zero")]
    Unbalanced(i128),
    #[error("a transaction needs postings, none of them zero")]
    EmptyPosting,
    #[error("{0} appears in more than one posting")]
    RepeatedAccount(LedgerAccount),
    #[error("the amount does not fit a posting")]
    Overflow,
    #[error("{account} would fall to {balance} {currency}")]
    WouldGoNegative {
        account: LedgerAccount,
        currency: Currency,
        balance: i64,
    },
}

/// What a movement is about: the order whose money it moves, or the withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerSubject {
    Order(Uuid),
    Withdrawal(Uuid),
}

impl LedgerSubject {
    /// The subject's own id (an order's or a withdrawal's).
    pub fn id(self) -> Uuid {
        match self {
            Self::Order(id) | Self::Withdrawal(id) => id,
        }
    }

    pub fn order_id(self) -> Option<Uuid> {
        match self {
            Self::Order(id) => Some(id),
            Self::Withdrawal(_) => None,
        }
    }

    pub fn withdrawal_id(self) -> Option<Uuid> {
        match self {
            Self::Withdrawal(id) => Some(id),
            Self::Order(_) => None,
        }
    }
}

/// An immutable, balanced set of postings in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerTransaction {
    /// Idempotency: the same movement always has the same id.
    pub id: String,
    pub kind: LedgerKind,
    pub subject: LedgerSubject,
    pub currency: Currency,
    pub postings: Vec<Posting>,
}

fn signed(amount: u64) -> Result<i64, LedgerError> {
    i64::try_from(amount).map_err(|_| LedgerError::Overflow)
}

impl LedgerTransaction {
    /// Refuses postings that do not sum to zero, a zero posting, or an account twice.
    pub fn new(
        id: String,
        kind: LedgerKind,
        subject: LedgerSubject,
        currency: Currency,
        postings: Vec<Posting>,
    ) -> Result<Self, LedgerError> {
        if postings.is_empty() || postings.iter().any(|posting| posting.amount == 0) {
            return Err(LedgerError::EmptyPosting);
        }
        for (index, posting) in postings.iter().enumerate() {
            if postings[..index]
                .iter()
                .any(|p| p.account == posting.account)
            {
                return Err(LedgerError::RepeatedAccount(posting.account));
            }
        }
        let sum: i128 = postings.iter().map(|p| i128::from(p.amount)).sum();
        if sum != 0 {
            return Err(LedgerError::Unbalanced(sum));
        }
        Ok(Self {
            id,
            kind,
            subject,
            currency,
            postings,
        })
    }

    /// The freelancer whose earnings it moves, if any.
    pub fn freelancer_id(&self) -> Option<Uuid> {
        self.postings
            .iter()
            .find_map(|posting| match posting.account {
                LedgerAccount::FreelancerPending(id)
                | LedgerAccount::FreelancerAvailable(id)
                | LedgerAccount::FreelancerPaidOut(id)
                | LedgerAccount::FreelancerFrozen(id)
                | LedgerAccount::FreelancerDebt(id) => Some(id),
                _ => None,
            })
    }

    /// The client's charge (price and service fee) arrives and is held.
    pub fn order_paid(order_id: Uuid, split: &PriceSplit) -> Result<Self, LedgerError> {
        Self::whole_charge(
            LedgerKind::OrderPaid,
            order_id,
            split,
            LedgerAccount::StripeClearing,
            LedgerAccount::Escrow,
        )
    }

    /// The whole charge, service fee included, goes back to the client.
    pub fn order_refunded(order_id: Uuid, split: &PriceSplit) -> Result<Self, LedgerError> {
        Self::whole_charge(
            LedgerKind::OrderRefunded,
            order_id,
            split,
            LedgerAccount::Escrow,
            LedgerAccount::Refunds,
        )
    }

    /// A payment that arrived after its order was cancelled goes straight back to the client: it
    /// was never held, so it never enters escrow.
    pub fn paid_after_close(order_id: Uuid, split: &PriceSplit) -> Result<Self, LedgerError> {
        Self::whole_charge(
            LedgerKind::OrderRefunded,
            order_id,
            split,
            LedgerAccount::StripeClearing,
            LedgerAccount::Refunds,
        )
    }

    /// The client's whole charge moves from one account to another.
    fn whole_charge(
        kind: LedgerKind,
        order_id: Uuid,
        split: &PriceSplit,
        from: LedgerAccount,
        to: LedgerAccount,
    ) -> Result<Self, LedgerError> {
        let total = signed(split.client_total)?;
        Self::new(
            format!("{}:{order_id}", kind.id_prefix()),
            kind,
            LedgerSubject::Order(order_id),
            split.currency.clone(),
            vec![posting(from, -total), posting(to, total)],
        )
    }

    /// Escrow is released: the freelancer's net to their pending earnings (or straight to
    /// frozen, while the charge is `disputed`), the service fee and commission to the platform.
    pub fn order_completed(
        order_id: Uuid,
        freelancer_id: Uuid,
        split: &PriceSplit,
        disputed: bool,
    ) -> Result<Self, LedgerError> {
        let earnings = if disputed {
            LedgerAccount::FreelancerFrozen(freelancer_id)
        } else {
            LedgerAccount::FreelancerPending(freelancer_id)
        };
        let mut postings = vec![
            posting(LedgerAccount::Escrow, -signed(split.client_total)?),
            posting(earnings, signed(split.freelancer_net)?),
            posting(LedgerAccount::PlatformFees, signed(split.platform_fees())?),
        ];
        // A fully commissioned price leaves the freelancer nothing: no zero posting.
        postings.retain(|posting| posting.amount != 0);
        Self::new(
            format!("{}:{order_id}", LedgerKind::OrderCompleted.id_prefix()),
            LedgerKind::OrderCompleted,
            LedgerSubject::Order(order_id),
            split.currency.clone(),
            postings,
        )
    }

    /// An order's earnings cleared: `debt_repaid` of them pays what the freelancer owes, the
    /// rest they may withdraw. `released_by`: the won dispute after which they clear again.
    pub fn earnings_cleared(
        order_id: Uuid,
        freelancer_id: Uuid,
        currency: Currency,
        amount: u64,
        debt_repaid: u64,
        released_by: Option<&str>,
    ) -> Result<Self, LedgerError> {
        let (amount, repaid) = (signed(amount)?, signed(debt_repaid.min(amount))?);
        let mut postings = vec![
            posting(LedgerAccount::FreelancerPending(freelancer_id), -amount),
            posting(LedgerAccount::FreelancerDebt(freelancer_id), repaid),
            posting(
                LedgerAccount::FreelancerAvailable(freelancer_id),
                amount - repaid,
            ),
        ];
        postings.retain(|posting| posting.amount != 0);
        let prefix = LedgerKind::EarningsCleared.id_prefix();
        Self::new(
            match released_by {
                None => format!("{prefix}:{order_id}"),
                Some(dispute_id) => format!("{prefix}:{order_id}:{dispute_id}"),
            },
            LedgerKind::EarningsCleared,
            LedgerSubject::Order(order_id),
            currency,
            postings,
        )
    }

    /// A dispute of `order_id`'s charge opened: `amount` of the order's earnings is held,
    /// taken from where it sits (`from`: pending or available).
    pub fn dispute_frozen(
        dispute_id: &str,
        order_id: Uuid,
        from: LedgerAccount,
        freelancer_id: Uuid,
        currency: Currency,
        amount: u64,
    ) -> Result<Self, LedgerError> {
        let amount = signed(amount)?;
        Self::new(
            format!("{}:{dispute_id}", LedgerKind::DisputeFrozen.id_prefix()),
            LedgerKind::DisputeFrozen,
            LedgerSubject::Order(order_id),
            currency,
            vec![
                posting(from, -amount),
                posting(LedgerAccount::FreelancerFrozen(freelancer_id), amount),
            ],
        )
    }

    /// A dispute won: the held earnings go back to pending (the scheduler clears them).
    pub fn dispute_released(
        dispute_id: &str,
        order_id: Uuid,
        freelancer_id: Uuid,
        currency: Currency,
        amount: u64,
    ) -> Result<Self, LedgerError> {
        let amount = signed(amount)?;
        Self::new(
            format!("{}:{dispute_id}", LedgerKind::DisputeReleased.id_prefix()),
            LedgerKind::DisputeReleased,
            LedgerSubject::Order(order_id),
            currency,
            vec![
                posting(LedgerAccount::FreelancerFrozen(freelancer_id), -amount),
                posting(LedgerAccount::FreelancerPending(freelancer_id), amount),
            ],
        )
    }

    /// A dispute lost: the disputed amount leaves for the client's bank, taken from `sources`
    /// (each account and how much of it).
    pub fn dispute_lost(
        dispute_id: &str,
        order_id: Uuid,
        currency: Currency,
        sources: &[(LedgerAccount, u64)],
    ) -> Result<Self, LedgerError> {
        let mut postings = Vec::with_capacity(sources.len() + 1);
        let mut total: i64 = 0;
        for &(account, amount) in sources.iter().filter(|(_, amount)| *amount > 0) {
            let amount = signed(amount)?;
            total = total.checked_add(amount).ok_or(LedgerError::Overflow)?;
            postings.push(posting(account, -amount));
        }
        postings.push(posting(LedgerAccount::DisputesLost, total));
        Self::new(
            format!("{}:{dispute_id}", LedgerKind::DisputeLost.id_prefix()),
            LedgerKind::DisputeLost,
            LedgerSubject::Order(order_id),
            currency,
            postings,
        )
    }

    /// Stripe's `fee` on a dispute's balance transaction `transaction_id` (`txn_...`), in its
    /// currency: the platform pays it out of its fees, never the freelancer's earnings; a
    /// negative fee (one Stripe returned) books back. One transaction per balance transaction,
    /// so an event that carries it again books nothing.
    pub fn dispute_fee(
        transaction_id: &str,
        order_id: Uuid,
        currency: Currency,
        fee: i64,
    ) -> Result<Self, LedgerError> {
        Self::new(
            format!("{}:{transaction_id}", LedgerKind::DisputeFee.id_prefix()),
            LedgerKind::DisputeFee,
            LedgerSubject::Order(order_id),
            currency,
            vec![
                posting(
                    LedgerAccount::PlatformFees,
                    fee.checked_neg().ok_or(LedgerError::Overflow)?,
                ),
                posting(LedgerAccount::DisputeFees, fee),
            ],
        )
    }

    /// A withdrawal leaves the freelancer's available earnings for their connected account.
    pub fn withdrawal(
        withdrawal_id: Uuid,
        freelancer_id: Uuid,
        currency: Currency,
        amount: u64,
    ) -> Result<Self, LedgerError> {
        let amount = signed(amount)?;
        Self::new(
            format!("{}:{withdrawal_id}", LedgerKind::Withdrawal.id_prefix()),
            LedgerKind::Withdrawal,
            LedgerSubject::Withdrawal(withdrawal_id),
            currency,
            vec![
                posting(LedgerAccount::FreelancerAvailable(freelancer_id), -amount),
                posting(LedgerAccount::FreelancerPaidOut(freelancer_id), amount),
            ],
        )
    }

    /// A transfer of a withdrawal (the part paid from `order_id`'s earnings) was refused: its
    /// amount is available again.
    pub fn withdrawal_returned(
        withdrawal_id: Uuid,
        order_id: Uuid,
        freelancer_id: Uuid,
        currency: Currency,
        amount: u64,
    ) -> Result<Self, LedgerError> {
        let amount = signed(amount)?;
        Self::new(
            format!(
                "{}:{withdrawal_id}:{order_id}",
                LedgerKind::WithdrawalReturned.id_prefix()
            ),
            LedgerKind::WithdrawalReturned,
            LedgerSubject::Withdrawal(withdrawal_id),
            currency,
            vec![
                posting(LedgerAccount::FreelancerPaidOut(freelancer_id), -amount),
                posting(LedgerAccount::FreelancerAvailable(freelancer_id), amount),
            ],
        )
    }
}

impl LedgerTransaction {
    /// An admin's refund of a completed order (`domain::refund`): `plan.amount` to the client,
    /// the platform's share out of its fees, the freelancer's out of the order's earnings where
    /// they sit (pending or available) and, for what was paid out already, as their debt.
    pub fn admin_refund(
        refund_id: Uuid,
        order_id: Uuid,
        freelancer_id: Uuid,
        currency: Currency,
        plan: &RefundPlan,
    ) -> Result<Self, LedgerError> {
        let from_earnings = match plan.earning_status {
            Some(EarningStatus::Available) => LedgerAccount::FreelancerAvailable(freelancer_id),
            _ => LedgerAccount::FreelancerPending(freelancer_id),
        };
        let mut postings = vec![
            posting(LedgerAccount::Refunds, signed(plan.amount)?),
            posting(LedgerAccount::PlatformFees, -signed(plan.platform_share)?),
            posting(from_earnings, -signed(plan.from_earnings)?),
            posting(
                LedgerAccount::FreelancerDebt(freelancer_id),
                -signed(plan.paid_out)?,
            ),
        ];
        postings.retain(|posting| posting.amount != 0);
        Self::new(
            format!("{}:{refund_id}", LedgerKind::AdminRefund.id_prefix()),
            LedgerKind::AdminRefund,
            LedgerSubject::Order(order_id),
            currency,
            postings,
        )
    }

    /// A reversal took `amount` back from the freelancer's connected account for `cause` (an
    /// admin refund's or a lost dispute's paid-out share, `admin-refund:<id>`,
    /// `dispute-lost:<id>`): it repays their debt (at most the `owed` left of it; cleared
    /// earnings may have repaid some meanwhile, and the rest is theirs to withdraw again).
    pub fn payout_reversed(
        cause: &str,
        transfer_id: &str,
        order_id: Uuid,
        freelancer_id: Uuid,
        currency: Currency,
        amount: u64,
        owed: u64,
    ) -> Result<Self, LedgerError> {
        let repaid = signed(amount.min(owed))?;
        let amount = signed(amount)?;
        let mut postings = vec![
            posting(LedgerAccount::FreelancerPaidOut(freelancer_id), -amount),
            posting(LedgerAccount::FreelancerDebt(freelancer_id), repaid),
            posting(
                LedgerAccount::FreelancerAvailable(freelancer_id),
                amount - repaid,
            ),
        ];
        postings.retain(|posting| posting.amount != 0);
        Self::new(
            format!(
                "{}:{cause}:{transfer_id}",
                LedgerKind::PayoutReversed.id_prefix()
            ),
            LedgerKind::PayoutReversed,
            LedgerSubject::Order(order_id),
            currency,
            postings,
        )
    }
}

fn posting(account: LedgerAccount, amount: i64) -> Posting {
    Posting { account, amount }
}

/// Balances by account and currency, as the postings applied so far leave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Balances(BTreeMap<(LedgerAccount, Currency), i64>);

impl FromIterator<((LedgerAccount, Currency), i64)> for Balances {
    fn from_iter<I: IntoIterator<Item = ((LedgerAccount, Currency), i64)>>(balances: I) -> Self {
        Self(balances.into_iter().collect())
    }
}

impl Balances {
    /// Every currency some account holds a balance in.
    pub fn currencies(&self) -> BTreeSet<Currency> {
        self.0
            .keys()
            .map(|(_, currency)| currency.clone())
            .collect()
    }

    pub fn get(&self, account: LedgerAccount, currency: &Currency) -> i64 {
        self.0
            .get(&(account, currency.clone()))
            .copied()
            .unwrap_or(0)
    }

    /// Applies a transaction whole, or not at all when it would take an account that must not
    /// go negative below zero (the condition the store puts on each balance item).
    pub fn apply(&mut self, transaction: &LedgerTransaction) -> Result<(), LedgerError> {
        let mut next = Vec::with_capacity(transaction.postings.len());
        for posting in &transaction.postings {
            let balance = self
                .get(posting.account, &transaction.currency)
                .checked_add(posting.amount)
                .ok_or(LedgerError::Overflow)?;
            if (balance < 0 && !posting.account.may_go_negative())
                || (balance > 0 && !posting.account.may_go_positive())
            {
                return Err(LedgerError::WouldGoNegative {
                    account: posting.account,
                    currency: transaction.currency.clone(),
                    balance,
                });
            }
            next.push(((posting.account, transaction.currency.clone()), balance));
        }
        self.0.extend(next);
        Ok(())
    }

    /// The sum over every account of one currency: zero whenever only balanced transactions
    /// were applied.
    pub fn total(&self, currency: &Currency) -> i64 {
        self.0
            .iter()
            .filter(|((_, c), _)| c == currency)
            .map(|(_, balance)| balance)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::{BasisPoints, FeeSchedule};

    fn split(price: u64) -> PriceSplit {
        let schedule = FeeSchedule {
            service_fee: BasisPoints(550),
            service_fee_minimum_hundredths: 200,
            commission: BasisPoints(2_000),
        };
        schedule
            .split(&Currency::parse("EUR").unwrap(), price)
            .unwrap()
    }

    #[test]
    fn unbalanced_or_degenerate_postings_are_refused() {
        let eur = Currency::parse("EUR").unwrap();
        let order = Uuid::nil();
        let new = |postings| {
            LedgerTransaction::new(
                "t".into(),
                LedgerKind::OrderPaid,
                LedgerSubject::Order(order),
                eur.clone(),
                postings,
            )
        };
        assert_eq!(
            new(vec![posting(LedgerAccount::Escrow, 5)]),
            Err(LedgerError::Unbalanced(5))
        );
        assert_eq!(new(vec![]), Err(LedgerError::EmptyPosting));
        assert_eq!(
            new(vec![
                posting(LedgerAccount::Escrow, 0),
                posting(LedgerAccount::Refunds, 0)
            ]),
            Err(LedgerError::EmptyPosting)
        );
        assert_eq!(
            new(vec![
                posting(LedgerAccount::Escrow, 5),
                posting(LedgerAccount::Escrow, -5)
            ]),
            Err(LedgerError::RepeatedAccount(LedgerAccount::Escrow))
        );
    }

    #[test]
    fn a_completed_order_empties_its_escrow_into_earnings_and_fees() {
        let (order, freelancer) = (Uuid::new_v4(), Uuid::new_v4());
        let split = split(4_999);
        let eur = split.currency.clone();
        let mut balances = Balances::default();
        balances
            .apply(&LedgerTransaction::order_paid(order, &split).unwrap())
            .unwrap();
        assert_eq!(balances.get(LedgerAccount::Escrow, &eur), 5_274);
        balances
            .apply(&LedgerTransaction::order_completed(order, freelancer, &split, false).unwrap())
            .unwrap();
        assert_eq!(balances.get(LedgerAccount::Escrow, &eur), 0);
        assert_eq!(
            balances.get(LedgerAccount::FreelancerPending(freelancer), &eur),
            3_999
        );
        assert_eq!(balances.get(LedgerAccount::PlatformFees, &eur), 1_275);
        assert_eq!(balances.get(LedgerAccount::StripeClearing, &eur), -5_274);
        assert_eq!(balances.total(&eur), 0);
    }

    #[test]
    fn escrow_can_not_be_released_twice_or_before_payment() {
        let (order, freelancer) = (Uuid::new_v4(), Uuid::new_v4());
        let split = split(10_000);
        let mut balances = Balances::default();
        let completed =
            LedgerTransaction::order_completed(order, freelancer, &split, false).unwrap();
        assert!(matches!(
            balances.apply(&completed),
            Err(LedgerError::WouldGoNegative {
                account: LedgerAccount::Escrow,
                ..
            })
        ));
        assert_eq!(
            balances,
            Balances::default(),
            "a refused transaction changes nothing"
        );
        balances
            .apply(&LedgerTransaction::order_paid(order, &split).unwrap())
            .unwrap();
        balances
            .apply(&LedgerTransaction::order_refunded(order, &split).unwrap())
            .unwrap();
        assert!(balances.apply(&completed).is_err());
        assert_eq!(
            balances.get(LedgerAccount::Refunds, &split.currency),
            i64::try_from(split.client_total).unwrap()
        );
    }

    #[test]
    fn a_movement_has_one_id_however_often_it_is_built() {
        let order = Uuid::new_v4();
        let split = split(2_500);
        assert_eq!(
            LedgerTransaction::order_paid(order, &split).unwrap().id,
            LedgerTransaction::order_paid(order, &split).unwrap().id
        );
        assert_ne!(
            LedgerTransaction::order_paid(order, &split).unwrap().id,
            LedgerTransaction::order_refunded(order, &split).unwrap().id
        );
    }

    #[test]
    fn kinds_are_read_back_from_their_id_prefix() {
        for kind in [
            LedgerKind::OrderPaid,
            LedgerKind::OrderRefunded,
            LedgerKind::OrderCompleted,
        ] {
            assert_eq!(LedgerKind::from_id_prefix(kind.id_prefix()), Some(kind));
        }
        assert_eq!(LedgerKind::from_id_prefix("order"), None);
        assert_eq!(
            LedgerKind::OrderPaid.payment_kind(),
            Some(PaymentKind::Charge)
        );
        assert_eq!(LedgerKind::OrderCompleted.payment_kind(), None);
    }

    /// A dispute fee is the platform's cost even when it earned less than it: never the
    /// freelancer's; one Stripe returns books back, and the same balance transaction is one id.
    #[test]
    fn a_dispute_fee_comes_out_of_the_platforms_fees_and_books_back_when_returned() {
        let (order, freelancer) = (Uuid::new_v4(), Uuid::new_v4());
        let split = split(1_000);
        let eur = split.currency.clone();
        let mut balances = Balances::default();
        balances
            .apply(&LedgerTransaction::order_paid(order, &split).unwrap())
            .unwrap();
        balances
            .apply(&LedgerTransaction::order_completed(order, freelancer, &split, false).unwrap())
            .unwrap();
        let fees = balances.get(LedgerAccount::PlatformFees, &eur);
        let charged = LedgerTransaction::dispute_fee("txn_w", order, eur.clone(), 1_500).unwrap();
        assert_eq!(charged.id, "dispute-fee:txn_w");
        assert_eq!(charged.freelancer_id(), None, "no freelancer's money moves");
        balances.apply(&charged).unwrap();
        assert_eq!(
            balances.get(LedgerAccount::PlatformFees, &eur),
            fees - 1_500
        );
        assert!(fees < 1_500, "the platform is at a loss: {fees}");
        assert_eq!(balances.get(LedgerAccount::DisputeFees, &eur), 1_500);
        assert_eq!(
            balances.get(LedgerAccount::FreelancerPending(freelancer), &eur),
            800
        );
        let returned = LedgerTransaction::dispute_fee("txn_r", order, eur.clone(), -1_500).unwrap();
        balances.apply(&returned).unwrap();
        assert_eq!(balances.get(LedgerAccount::DisputeFees, &eur), 0);
        assert_eq!(balances.get(LedgerAccount::PlatformFees, &eur), fees);
        assert!(
            balances.apply(&returned).is_err(),
            "no more is returned than was paid"
        );
        assert_eq!(balances.total(&eur), 0);
        assert_eq!(
            LedgerTransaction::dispute_fee("txn_0", order, eur, 0),
            Err(LedgerError::EmptyPosting)
        );
    }

    /// `GET /admin/metrics` reads the gross order value off the clearing balance: that holds
    /// while a charge is the only movement that touches it.
    #[test]
    fn only_a_charge_posts_to_the_clearing_account() {
        let (order, freelancer) = (Uuid::new_v4(), Uuid::new_v4());
        let split = split(4_999);
        let eur = split.currency.clone();
        for transaction in [
            LedgerTransaction::order_refunded(order, &split).unwrap(),
            LedgerTransaction::order_completed(order, freelancer, &split, false).unwrap(),
            LedgerTransaction::dispute_fee("txn_1", order, eur, 1_500).unwrap(),
        ] {
            assert!(
                transaction
                    .postings
                    .iter()
                    .all(|posting| posting.account != LedgerAccount::StripeClearing),
                "{transaction:?}"
            );
        }
        let paid = LedgerTransaction::order_paid(order, &split).unwrap();
        assert!(paid.postings.contains(&posting(
            LedgerAccount::StripeClearing,
            -i64::try_from(split.client_total).unwrap()
        )));
    }
}

//! Payout events, from the payouts' items on the table's stream (`store::stream`), both to the
//! freelancer: `funds.cleared` when an order's earning clears (withdrawable from now on), and
//! `withdrawal.sent` once every transfer of a withdrawal is made or refused (what was sent, and
//! what came back to the balance), and `dispute.opened` / `dispute.won` / `dispute.lost` as a
//! client's bank disputes an order's charge and decides; `admin_refund.issued` to the client
//! and the freelancer once Stripe accepted an admin's refund of a completed order.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::mail::{Message, format_money};
use super::{Event, EventType, Recipient, RecipientRole, SCHEMA_VERSION, Subject};
use crate::domain::order::Actor;
use crate::domain::order::DisputeStatus;
use crate::domain::payout::{DisputeRecord, Earning, TransferStatus, Withdrawal};
use crate::domain::refund::AdminRefund;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FundsEventKind {
    /// An order's earning went from pending to available.
    Cleared,
}

impl FundsEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cleared => "cleared",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalEventKind {
    /// No transfer of the withdrawal is on its way any more: each was made or refused.
    Sent,
}

impl WithdrawalEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeEventKind {
    /// The client's bank disputes the order's charge: its earnings are on hold.
    Opened,
    /// The bank decided for the freelancer: the earnings are released.
    Won,
    /// The bank gave the payment back to the client.
    Lost,
}

impl DisputeEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRefundEventKind {
    /// Stripe accepted the refund: the client's money is on its way back.
    Issued,
}

impl AdminRefundEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
        }
    }
}

/// An admin's refund of a completed order, as `admin_refund` events carry it
/// (`"admin_refund": {...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminRefundSummary {
    pub refund_id: Uuid,
    pub order_id: Uuid,
    pub client_id: Uuid,
    pub freelancer_id: Uuid,
    pub currency: String,
    /// What goes back to the client.
    pub amount_cents: u64,
    /// What of it comes from the freelancer's earnings (the rest from the platform's fees).
    pub freelancer_share_cents: u64,
    /// Of the freelancer's share, what they had withdrawn already: taken back from their
    /// payout account, or owed.
    pub paid_out_cents: u64,
}

/// A dispute, as `dispute` events carry it (`"dispute": {...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisputeSummary {
    pub dispute_id: String,
    pub order_id: Uuid,
    pub freelancer_id: Uuid,
    pub currency: String,
    /// What the bank took back.
    pub amount_cents: u64,
    /// What of the order's earnings is (or was) on hold for it.
    pub frozen_cents: u64,
}

/// A cleared earning, as `funds` events carry it (`"funds": {...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FundsSummary {
    pub order_id: Uuid,
    pub freelancer_id: Uuid,
    pub currency: String,
    /// What became withdrawable: the earning less what paid the freelancer's debt.
    pub amount_cents: u64,
    /// What of the earning paid the freelancer's debt as it cleared.
    #[serde(default)]
    pub debt_repaid_cents: u64,
}

/// A withdrawal whose transfers are settled, as `withdrawal` events carry it
/// (`"withdrawal": {...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WithdrawalSummary {
    pub withdrawal_id: Uuid,
    pub freelancer_id: Uuid,
    pub currency: String,
    /// What the freelancer asked to withdraw.
    pub amount_cents: u64,
    /// What Stripe transferred to the connected account.
    pub sent_cents: u64,
    /// What Stripe refused: back in the freelancer's available balance.
    pub returned_cents: u64,
}

impl Event {
    /// The event of an earning cleared at `cleared_at`. Its id is the order's (an order has one
    /// earning, and it clears once; again only after a won dispute released it, which that
    /// dispute's id tells apart), so a record delivered twice mails once.
    pub fn for_cleared_earning(earning: &Earning, cleared_at: OffsetDateTime) -> Self {
        let kind = FundsEventKind::Cleared;
        let event_id = match &earning.released_by {
            None => format!("funds:{}:{}", earning.order_id, kind.as_str()),
            Some(dispute_id) => {
                format!("funds:{}:{}:{dispute_id}", earning.order_id, kind.as_str())
            }
        };
        Self {
            event_id,
            event_type: EventType::Funds(kind),
            occurred_at: cleared_at,
            actor: Actor::system(),
            subject: Subject::Funds(FundsSummary {
                order_id: earning.order_id,
                freelancer_id: earning.freelancer_id,
                currency: earning.currency.clone(),
                amount_cents: earning.remaining_cents(),
                debt_repaid_cents: earning.debt_repaid_cents,
            }),
            version: SCHEMA_VERSION,
        }
    }

    /// The event of a withdrawal whose transfers are all made or refused. Its id is the
    /// withdrawal's: it is sent once.
    pub fn for_withdrawal_sent(withdrawal: &Withdrawal) -> Self {
        let kind = WithdrawalEventKind::Sent;
        let total = |wanted: &[TransferStatus]| {
            withdrawal
                .transfers
                .iter()
                .filter(|transfer| wanted.contains(&transfer.status))
                .map(|transfer| transfer.amount_cents)
                .sum()
        };
        Self {
            event_id: format!("withdrawal:{}:{}", withdrawal.id, kind.as_str()),
            event_type: EventType::Withdrawal(kind),
            occurred_at: withdrawal.updated_at,
            actor: Actor::system(),
            subject: Subject::Withdrawal(WithdrawalSummary {
                withdrawal_id: withdrawal.id,
                freelancer_id: withdrawal.freelancer_id,
                currency: withdrawal.currency.clone(),
                amount_cents: withdrawal.amount_cents,
                sent_cents: total(&[TransferStatus::Sent, TransferStatus::Confirmed]),
                returned_cents: total(&[TransferStatus::Returned]),
            }),
            version: SCHEMA_VERSION,
        }
    }
}

impl Event {
    /// The event of a dispute as recorded now: opened, won or lost. Its id is the dispute's and
    /// the kind's: each is mailed once.
    pub fn for_dispute(dispute: &DisputeRecord) -> Self {
        let kind = match dispute.status {
            DisputeStatus::Open => DisputeEventKind::Opened,
            DisputeStatus::Won => DisputeEventKind::Won,
            DisputeStatus::Lost => DisputeEventKind::Lost,
        };
        Self {
            event_id: format!("dispute:{}:{}", dispute.id, kind.as_str()),
            event_type: EventType::Dispute(kind),
            occurred_at: dispute.closed_at.unwrap_or(dispute.opened_at),
            actor: Actor::system(),
            subject: Subject::Dispute(DisputeSummary {
                dispute_id: dispute.id.clone(),
                order_id: dispute.order_id,
                freelancer_id: dispute.freelancer_id,
                currency: dispute.currency.clone(),
                amount_cents: dispute.amount_cents,
                frozen_cents: dispute.frozen_cents,
            }),
            version: SCHEMA_VERSION,
        }
    }
}

impl Event {
    /// The event of an admin refund Stripe accepted. Its id is the refund's: it is mailed once.
    pub fn for_admin_refund(refund: &AdminRefund) -> Self {
        let kind = AdminRefundEventKind::Issued;
        Self {
            event_id: format!("admin_refund:{}:{}", refund.id, kind.as_str()),
            event_type: EventType::AdminRefund(kind),
            occurred_at: refund.updated_at,
            actor: Actor::system(),
            subject: Subject::AdminRefund(AdminRefundSummary {
                refund_id: refund.id,
                order_id: refund.order_id,
                client_id: refund.client_id,
                freelancer_id: refund.freelancer_id,
                currency: refund.currency.clone(),
                amount_cents: refund.amount_cents,
                freelancer_share_cents: refund.freelancer_share_cents,
                paid_out_cents: refund.paid_out_cents,
            }),
            version: SCHEMA_VERSION,
        }
    }
}

/// The client, then the freelancer.
pub(super) fn admin_refund_recipients(refund: &AdminRefundSummary) -> Vec<Recipient> {
    vec![
        Recipient {
            user_id: refund.client_id,
            role: RecipientRole::Client,
        },
        Recipient {
            user_id: refund.freelancer_id,
            role: RecipientRole::Freelancer,
        },
    ]
}

/// The client reads what comes back to them; the freelancer what it took from their earnings.
pub(super) fn admin_refund_message(
    kind: AdminRefundEventKind,
    refund: &AdminRefundSummary,
    role: RecipientRole,
) -> Message {
    let order = refund.order_id;
    let money = |cents| format_money(cents, &refund.currency);
    let amount = money(refund.amount_cents);
    let (subject, lines) = match (kind, role) {
        (AdminRefundEventKind::Issued, RecipientRole::Client) => (
            format!("{amount} of your payment for order {order} is refunded"),
            vec![
                format!("We refunded {amount} of your payment for order {order} to the card you paid with."),
                "Your bank shows it within 5 to 10 business days.".to_owned(),
            ],
        ),
        (AdminRefundEventKind::Issued, _) => (
            format!("The client of order {order} was refunded {amount}"),
            std::iter::once(if refund.freelancer_share_cents == 0 {
                "The platform's fees covered it: your earnings are unchanged.".to_owned()
            } else {
                format!(
                    "{} of it comes from your earnings from the order.",
                    money(refund.freelancer_share_cents)
                )
            })
            .chain((refund.paid_out_cents > 0).then(|| {
                format!(
                    "{} of that you had withdrawn already: it is taken back from your payout account, or from your next earnings where the account no longer holds it.",
                    money(refund.paid_out_cents)
                )
            }))
            .collect(),
        ),
    };
    Message {
        subject,
        lines,
        footer: format!("Order {order} - Gigmarket"),
    }
}

pub(super) fn dispute_message(kind: DisputeEventKind, dispute: &DisputeSummary) -> Message {
    let order = dispute.order_id;
    let held = format_money(dispute.frozen_cents, &dispute.currency);
    let (subject, lines) = match kind {
        DisputeEventKind::Opened => (
            format!("The payment for order {order} is disputed"),
            vec![
                format!(
                    "The client's bank disputes the payment of {} for order {order}.",
                    format_money(dispute.amount_cents, &dispute.currency)
                ),
                if dispute.frozen_cents > 0 {
                    format!("{held} of your earnings from it are on hold until the bank decides.")
                } else {
                    "Your earnings from it are on hold until the bank decides.".to_owned()
                },
            ],
        ),
        DisputeEventKind::Won => (
            format!("The dispute of order {order} was decided for you"),
            vec!["Your earnings from the order are released and clear as usual.".to_owned()],
        ),
        DisputeEventKind::Lost => (
            format!("The payment for order {order} went back to the client"),
            vec![
                "The client's bank decided the dispute for the client.".to_owned(),
                "Your earnings from the order are forfeit; what you had withdrawn of them is taken from your next earnings.".to_owned(),
            ],
        ),
    };
    Message {
        subject,
        lines,
        footer: format!("Order {order} - Gigmarket"),
    }
}

pub(super) fn freelancer(freelancer_id: Uuid) -> Vec<Recipient> {
    vec![Recipient {
        user_id: freelancer_id,
        role: RecipientRole::Freelancer,
    }]
}

/// An earning that all went to the freelancer's debt made nothing withdrawable: nobody is told.
pub(super) fn funds_recipients(funds: &FundsSummary) -> Vec<Recipient> {
    if funds.amount_cents == 0 {
        return Vec::new();
    }
    freelancer(funds.freelancer_id)
}

pub(super) fn funds_message(kind: FundsEventKind, funds: &FundsSummary) -> Message {
    let amount = format_money(funds.amount_cents, &funds.currency);
    let repaid = (funds.debt_repaid_cents > 0).then(|| {
        format!(
            "{} of the order's earnings paid what you owed from an earlier refund or dispute.",
            format_money(funds.debt_repaid_cents, &funds.currency)
        )
    });
    let (subject, lines) = match kind {
        FundsEventKind::Cleared => (
            format!("{amount} is available to withdraw"),
            std::iter::once(format!(
                "{amount} from order {} is now available to withdraw.",
                funds.order_id
            ))
            .chain(repaid)
            .chain(["Withdraw it to your payout account from your earnings page.".to_owned()])
            .collect(),
        ),
    };
    Message {
        subject,
        lines,
        footer: format!("Order {} - Gigmarket", funds.order_id),
    }
}

pub(super) fn withdrawal_message(
    kind: WithdrawalEventKind,
    withdrawal: &WithdrawalSummary,
) -> Message {
    let money = |cents| format_money(cents, &withdrawal.currency);
    let returned = (withdrawal.returned_cents > 0).then(|| {
        format!(
            "{} could not be transferred and is available again.",
            money(withdrawal.returned_cents)
        )
    });
    let (subject, lines) = match kind {
        WithdrawalEventKind::Sent if withdrawal.sent_cents == 0 => (
            "Your withdrawal could not be transferred".to_owned(),
            returned.into_iter().collect(),
        ),
        WithdrawalEventKind::Sent => (
            format!("{} is on its way to you", money(withdrawal.sent_cents)),
            std::iter::once(format!(
                "We sent {} to your payout account; your bank shows it within a few days.",
                money(withdrawal.sent_cents)
            ))
            .chain(returned)
            .collect(),
        ),
    };
    Message {
        subject,
        lines,
        footer: format!("Withdrawal {} - Gigmarket", withdrawal.withdrawal_id),
    }
}

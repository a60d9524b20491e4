//! Orders: what a client bought from a freelancer, and the state machine every change goes through.
//!
//! ```text
//!   awaiting_payment ──pay (system, the payment succeeded)──▶ pending
//!     └──cancel (client; admin), expire (system, unpaid after 24 h)──▶ cancelled
//!                                    pay (system: a payment that arrives late) ──▶ cancelled
//!
//!             accept (freelancer)          deliver (freelancer)
//!   pending ─────────────────────▶ in_progress ─────────────────▶ delivered ──complete (client)──▶ completed
//!     │  │                           ▲   │ mark_late (system)       │  │      auto_complete (system, 3 days)
//!     │  └─reject (freelancer)─▶ rejected└───────────────────────────┘  │
//!     │                               request_revision (client, limited) │
//!     └──cancel (client; admin from any non-terminal state)──▶ cancelled ◀┘
//! ```
//!
//! [`decide`] is the whole table of states x actions x parties; [`Order::transition`] applies it
//! and yields the next order, its timeline entry, the gig counter change and the money it moves
//! (a ledger transaction), so handlers and the scheduler never decide anything themselves.
//! A paid order that is rejected or cancelled is refunded in full, as is a payment that arrives
//! after its order was cancelled. Pure: no clock, no AWS.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::gig::{Gig, Revisions, Tier};
use super::ledger::{LedgerError, LedgerKind, LedgerTransaction};
use super::money::{Currency, FeeSchedule, PriceSplit, UnknownCurrency};
use super::payout::{Earning, EarningStatus};
use super::user::Role;
use super::validation::check_https_url;
use super::{Invalid, Violations, check_text, required_text};

/// Delivered orders the client neither accepts nor disputes complete by themselves after this.
pub const AUTO_COMPLETE_AFTER: Duration = Duration::days(3);
/// An order not paid this long after placement expires (its PaymentIntent is cancelled).
pub const PAYMENT_EXPIRES_AFTER: Duration = Duration::hours(24);
pub const REQUIREMENTS_MAX_CHARS: usize = 5_000;
pub const MESSAGE_MAX_CHARS: usize = 5_000;
pub const REASON_MAX_CHARS: usize = 1_000;
pub const ATTACHMENTS_MAX: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, its PaymentIntent not yet succeeded: the freelancer does not see it yet.
    AwaitingPayment,
    Pending,
    InProgress,
    Delivered,
    Completed,
    Rejected,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [Self; 7] = [
        Self::AwaitingPayment,
        Self::Pending,
        Self::InProgress,
        Self::Delivered,
        Self::Completed,
        Self::Rejected,
        Self::Cancelled,
    ];

    /// No action leaves a terminal state; the gig's open-order count drops on entering one.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Rejected | Self::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingPayment => "awaiting_payment",
            Self::Pending => "pending",
            Self::InProgress => "in_progress",
            Self::Delivered => "delivered",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Something a party asks to do to an existing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    /// The system, when the order's PaymentIntent succeeded.
    Pay,
    Accept,
    Reject,
    Deliver,
    RequestRevision,
    Complete,
    Cancel,
    /// The scheduler, 3 days after delivery.
    AutoComplete,
    /// The scheduler, once `due_at` has passed on an order still in progress.
    MarkLate,
    /// The scheduler, on an order still unpaid [`PAYMENT_EXPIRES_AFTER`] its placement.
    Expire,
}

impl OrderAction {
    pub const ALL: [Self; 10] = [
        Self::Pay,
        Self::Accept,
        Self::Reject,
        Self::Deliver,
        Self::RequestRevision,
        Self::Complete,
        Self::Cancel,
        Self::AutoComplete,
        Self::MarkLate,
        Self::Expire,
    ];

    /// The verb in messages: "cannot accept an order that is delivered".
    pub fn verb(self) -> &'static str {
        match self {
            Self::Pay => "pay",
            Self::Accept => "accept",
            Self::Reject => "reject",
            Self::Deliver => "deliver",
            Self::RequestRevision => "request a revision of",
            Self::Complete => "complete",
            Self::Cancel => "cancel",
            Self::AutoComplete => "auto-complete",
            Self::MarkLate => "mark late",
            Self::Expire => "expire",
        }
    }

    /// What the timeline (and the event) calls the change this action makes.
    pub fn change_kind(self) -> ChangeKind {
        match self {
            Self::Pay => ChangeKind::Paid,
            Self::Accept => ChangeKind::Accepted,
            Self::Reject => ChangeKind::Rejected,
            Self::Deliver => ChangeKind::Delivered,
            Self::RequestRevision => ChangeKind::RevisionRequested,
            Self::Complete | Self::AutoComplete => ChangeKind::Completed,
            Self::Cancel | Self::Expire => ChangeKind::Cancelled,
            Self::MarkLate => ChangeKind::Late,
        }
    }
}

/// Who is acting, relative to one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Client,
    Freelancer,
    Admin,
    /// Anyone else: they may not even learn the order exists.
    Stranger,
    /// The scheduler, or the payment processor's word (a webhook).
    System,
}

impl Party {
    pub const ALL: [Self; 5] = [
        Self::Client,
        Self::Freelancer,
        Self::Admin,
        Self::Stranger,
        Self::System,
    ];

    pub fn of(user_id: Uuid, role: Role, order: &Order) -> Self {
        if user_id == order.client_id {
            Self::Client
        } else if user_id == order.freelancer_id {
            Self::Freelancer
        } else if role == Role::Admin {
            Self::Admin
        } else {
            Self::Stranger
        }
    }

    /// Client, freelancer and admins may read an order; nobody else.
    pub fn may_view(self) -> bool {
        !matches!(self, Self::Stranger)
    }
}

/// The kind of a timeline entry, and (prefixed `order.`) the type of its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Placed,
    Paid,
    Accepted,
    Rejected,
    Delivered,
    RevisionRequested,
    Completed,
    Cancelled,
    Late,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "placed",
            Self::Paid => "paid",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Delivered => "delivered",
            Self::RevisionRequested => "revision_requested",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Late => "late",
        }
    }
}

/// Who did something: a user (with their party) or the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub role: Party,
}

impl Actor {
    pub fn user(id: Uuid, role: Party) -> Self {
        Self { id: Some(id), role }
    }

    pub fn system() -> Self {
        Self {
            id: None,
            role: Party::System,
        }
    }
}

/// One line of an order's history: who changed what, when, from which state to which, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// 1 for placement, then one more per change; equals the order's `version` after the change.
    pub seq: u64,
    pub kind: ChangeKind,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// The order's files a delivery hands over (`GET /orders/{id}/files/{file_id}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// An order. Everything the client agreed to is a snapshot of the gig package at placement, so
/// later gig edits never change what was bought.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// UUIDv7: time-ordered, so ids sort by placement time.
    pub id: Uuid,
    pub client_id: Uuid,
    pub freelancer_id: Uuid,
    pub gig_id: Uuid,
    pub gig_title: String,
    pub package: Tier,
    /// Integer minor units of `currency`.
    pub price_cents: u64,
    pub currency: String,
    /// The client's service fee on top of the price (`domain::money::FeeSchedule`), fixed at
    /// placement like the price. Minor units of `currency`, as are the three below.
    #[serde(default)]
    pub service_fee_cents: u64,
    /// What the client is charged: `price_cents + service_fee_cents`.
    #[serde(default)]
    pub client_total_cents: u64,
    /// The platform's commission out of the price.
    #[serde(default)]
    pub commission_cents: u64,
    /// The freelancer's share: `price_cents - commission_cents`.
    #[serde(default)]
    pub freelancer_net_cents: u64,
    /// The charge for this order; absent only on orders placed before payments existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// When the payment succeeded; from then on the freelancer sees the order.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub paid_at: Option<OffsetDateTime>,
    /// The refund of the charge, once the paid order was rejected or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
    /// What admin refunds of the completed order gave back so far (`domain::refund`), in minor
    /// units of `currency`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refunded_cents: u64,
    /// The client's bank disputes the charge (`app::disputes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute: Option<OrderDispute>,
    pub delivery_days: u32,
    /// `revisions` and `unlimited_revisions` on the wire and in the table.
    #[serde(flatten)]
    pub revisions: Revisions,
    #[serde(default)]
    pub revisions_used: u32,
    pub requirements: String,
    pub status: OrderStatus,
    /// Set once by the scheduler when an in-progress order passes `due_at`.
    #[serde(default)]
    pub late: bool,
    /// Bumped by every change; every write is conditioned on the version it read.
    pub version: u64,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_at: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub delivered_at: Option<OffsetDateTime>,
    /// While delivered: when the scheduler completes it if the client has not.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_complete_at: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The newest timeline entry (also stored on its own): the change the order's stream record
    /// describes, so the event dispatcher needs nothing but the record.
    pub last_change: TimelineEntry,
}

/// Serde's test for amounts left out while nothing was moved (`refunded_cents`).
fn is_zero(amount: &u64) -> bool {
    *amount == 0
}

/// Where the client's payment for an order stands, as the payment processor last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// No card yet, or the last one was declined: the client may (re)try.
    RequiresPaymentMethod,
    RequiresConfirmation,
    /// The bank asks the client to authenticate (3-D Secure).
    RequiresAction,
    Processing,
    Succeeded,
    Canceled,
}

impl PaymentStatus {
    /// How far along a payment is, so an older report never overwrites a newer one:
    /// webhooks arrive in any order.
    pub fn progress(self) -> u8 {
        match self {
            Self::RequiresPaymentMethod | Self::RequiresConfirmation | Self::RequiresAction => 0,
            Self::Processing => 1,
            Self::Succeeded | Self::Canceled => 2,
        }
    }
}

/// The charge of an order: one PaymentIntent for `amount_cents` (the client total) of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub status: PaymentStatus,
    /// The payment processor's id of the PaymentIntent.
    pub intent_id: String,
    pub amount_cents: u64,
    pub currency: String,
    /// The processor's id of the successful charge (`ch_...`): the freelancer's payout is
    /// transferred from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    /// Why the last attempt failed (a declined card), while the client may retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A dispute of the order's charge, as the order shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDispute {
    /// The processor's id of the dispute (`du_...`).
    pub id: String,
    pub status: DisputeStatus,
}

/// Where a dispute stands: open until the bank decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    Open,
    /// The charge stays with the platform: frozen earnings are released.
    Won,
    /// The client got the money back through their bank.
    Lost,
}

/// Where the refund of an order's charge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Decided with the order's change, not yet accepted by the payment processor (the
    /// scheduler asks again until it is).
    Requested,
    /// Accepted by the processor, not yet confirmed.
    Pending,
    Succeeded,
    /// The processor could not pay it back (a closed card): support follows up.
    Failed,
}

impl RefundStatus {
    /// How far along a refund is, so an older report never overwrites a newer one.
    pub fn progress(self) -> u8 {
        match self {
            Self::Requested => 0,
            Self::Pending => 1,
            Self::Succeeded | Self::Failed => 2,
        }
    }
}

/// The refund of an order's whole charge (service fee included), after the paid order was
/// rejected or cancelled, or its payment arrived after the order was cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub status: RefundStatus,
    /// The client total, in minor units of the order's currency.
    pub amount_cents: u64,
    /// The payment processor's id of the refund, once it accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
}

/// Why an order's money could not be booked.
#[derive(Debug, thiserror::Error)]
enum MoneyError {
    #[error(transparent)]
    Currency(#[from] UnknownCurrency),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Why an order can not be placed for a package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unorderable {
    #[error("this gig does not offer that package")]
    PackageNotOffered,
    #[error("the package's price can not be charged: {0}")]
    NotChargeable(String),
}

/// What the scheduler watches an order for, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// In progress and not yet late: mark late at `due_at`.
    Late(OffsetDateTime),
    /// Delivered: complete at `auto_complete_at`.
    AutoComplete(OffsetDateTime),
    /// Unpaid: expire [`PAYMENT_EXPIRES_AFTER`] the placement.
    PaymentExpiry(OffsetDateTime),
    /// A refund the payment processor has not accepted yet: ask (again) from its request on.
    Refund(OffsetDateTime),
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The caller is not a party to the order: answer as if it did not exist.
    NotVisible,
    /// A party to the order, but this action is not theirs.
    WrongParty,
    /// The action is theirs, but not from this state.
    WrongState {
        action: OrderAction,
        status: OrderStatus,
    },
    RevisionLimitReached {
        limit: u32,
    },
    /// A scheduler action before its time.
    NotDue,
    /// The order's money can not be booked (an amount past the ledger's range): a bug, never
    /// the caller's fault.
    Unbookable(String),
    /// The client's bank took the charge back (a lost dispute): the order can not complete.
    DisputeLost,
}

/// The table: may `party` do `action` to an order in `status`, and to which state does it lead?
/// Order of checks: visibility (404), party (403), state (409).
pub fn decide(
    status: OrderStatus,
    action: OrderAction,
    party: Party,
) -> Result<OrderStatus, Refusal> {
    use OrderAction as A;
    use OrderStatus as S;
    if !party.may_view() {
        return Err(Refusal::NotVisible);
    }
    let allowed_parties: &[Party] = match action {
        A::Accept | A::Reject | A::Deliver => &[Party::Freelancer],
        A::RequestRevision | A::Complete => &[Party::Client],
        A::Cancel => &[Party::Client, Party::Admin],
        A::Pay | A::AutoComplete | A::MarkLate | A::Expire => &[Party::System],
    };
    if !allowed_parties.contains(&party) {
        return Err(Refusal::WrongParty);
    }
    let next = match (action, status, party) {
        (A::Pay, S::AwaitingPayment, _) => S::Pending,
        // The client cancelled (or it expired) while the card was being charged: recorded, and
        // refunded at once.
        (A::Pay, S::Cancelled, _) => S::Cancelled,
        (A::Expire, S::AwaitingPayment, _) => S::Cancelled,
        (A::Accept, S::Pending, _) => S::InProgress,
        (A::Reject, S::Pending, _) => S::Rejected,
        (A::Deliver, S::InProgress, _) => S::Delivered,
        (A::RequestRevision, S::Delivered, _) => S::InProgress,
        (A::Complete | A::AutoComplete, S::Delivered, _) => S::Completed,
        (A::Cancel, S::AwaitingPayment | S::Pending, Party::Client) => S::Cancelled,
        (A::Cancel, from, Party::Admin) if !from.is_terminal() => S::Cancelled,
        (A::MarkLate, S::InProgress, _) => S::InProgress,
        _ => return Err(Refusal::WrongState { action, status }),
    };
    Ok(next)
}

/// An accepted change: the order after it, its timeline entry, what it does to the gig's
/// open-order counter (-1 on entering a terminal state) and the money it moves.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub before: Order,
    pub after: Order,
    pub entry: TimelineEntry,
    pub open_orders_delta: i64,
    /// Written in the same DynamoDB transaction as the order: paid into escrow, refunded out of
    /// it, or released to the freelancer and the platform on completion.
    pub ledger: Option<LedgerTransaction>,
}

impl Transition {
    /// The freelancer's earnings this transition creates: the net of an order that completes
    /// (nothing when the commission took the whole price).
    pub fn earning(&self) -> Option<Earning> {
        let ledger = self.ledger.as_ref()?;
        if ledger.kind != LedgerKind::OrderCompleted || self.after.freelancer_net_cents == 0 {
            return None;
        }
        let order = &self.after;
        Some(Earning {
            order_id: order.id,
            freelancer_id: order.freelancer_id,
            currency: order.currency.clone(),
            amount_cents: order.freelancer_net_cents,
            withdrawn_cents: 0,
            debt_repaid_cents: 0,
            refunded_cents: 0,
            released_by: None,
            // An open dispute holds the earnings from the start (see `money_moved`).
            status: if order.dispute_status() == Some(DisputeStatus::Open) {
                EarningStatus::Frozen
            } else {
                EarningStatus::Pending
            },
            charge_id: order
                .payment
                .as_ref()
                .and_then(|payment| payment.charge_id.clone()),
            completed_at: order.updated_at,
        })
    }
}

/// What the caller says with an action (reason, delivery message, attachments, the order's files
/// a delivery hands over).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionInput {
    pub note: Option<String>,
    pub attachments: Vec<String>,
    pub files: Vec<Uuid>,
}

impl Order {
    /// A new order for `package` of `gig` awaiting its payment, snapshotting what the client
    /// buys and splitting its price by `fees` once.
    pub fn place(
        client_id: Uuid,
        gig: &Gig,
        package: Tier,
        requirements: String,
        fees: &FeeSchedule,
        now: OffsetDateTime,
    ) -> Result<Self, Unorderable> {
        let bought = gig.package(package).ok_or(Unorderable::PackageNotOffered)?;
        let currency = Currency::parse(&bought.currency)
            .map_err(|error| Unorderable::NotChargeable(error.to_string()))?;
        let split = fees
            .split(&currency, bought.price_cents)
            .map_err(|error| Unorderable::NotChargeable(error.to_string()))?;
        let entry = TimelineEntry {
            seq: 1,
            kind: ChangeKind::Placed,
            actor: Actor::user(client_id, Party::Client),
            from: None,
            to: OrderStatus::AwaitingPayment,
            note: None,
            attachments: Vec::new(),
            files: Vec::new(),
            at: now,
        };
        Ok(Self {
            id: Uuid::now_v7(),
            client_id,
            freelancer_id: gig.freelancer_id,
            gig_id: gig.id,
            gig_title: gig.title.clone(),
            package,
            price_cents: split.price,
            currency: currency.code().to_owned(),
            service_fee_cents: split.service_fee,
            client_total_cents: split.client_total,
            commission_cents: split.commission,
            freelancer_net_cents: split.freelancer_net,
            payment: None,
            paid_at: None,
            refund: None,
            refunded_cents: 0,
            dispute: None,
            delivery_days: bought.delivery_days,
            revisions: bought.revisions,
            revisions_used: 0,
            requirements,
            status: OrderStatus::AwaitingPayment,
            late: false,
            version: 1,
            due_at: None,
            delivered_at: None,
            auto_complete_at: None,
            closed_at: None,
            created_at: now,
            updated_at: now,
            last_change: entry,
        })
    }

    /// Applies `action` by `actor` at `now`, or says why not. The only way an order changes.
    pub fn transition(
        &self,
        action: OrderAction,
        actor: Actor,
        input: ActionInput,
        now: OffsetDateTime,
    ) -> Result<Transition, Refusal> {
        let to = decide(self.status, action, actor.role)?;
        let mut after = self.clone();
        match action {
            OrderAction::Accept => {
                after.due_at = Some(now + Duration::days(i64::from(self.delivery_days)));
            }
            OrderAction::Deliver => {
                after.delivered_at = Some(now);
                after.auto_complete_at = Some(now + AUTO_COMPLETE_AFTER);
            }
            OrderAction::RequestRevision => {
                if !self.revisions.allows_another(self.revisions_used) {
                    let Revisions::Limited(limit) = self.revisions else {
                        unreachable!("unlimited revisions always allow another")
                    };
                    return Err(Refusal::RevisionLimitReached { limit });
                }
                after.revisions_used += 1;
                after.auto_complete_at = None;
            }
            OrderAction::AutoComplete => {
                if self.auto_complete_at.is_none_or(|at| at > now) {
                    return Err(Refusal::NotDue);
                }
            }
            OrderAction::MarkLate => {
                if self.late || self.due_at.is_none_or(|at| at > now) {
                    return Err(Refusal::NotDue);
                }
                after.late = true;
            }
            OrderAction::Pay => {
                // A late payment leaves the order closed and unseen by the freelancer.
                if self.status == OrderStatus::AwaitingPayment {
                    after.paid_at = Some(now);
                }
                if let Some(payment) = after.payment.as_mut() {
                    payment.status = PaymentStatus::Succeeded;
                    payment.error = None;
                }
            }
            OrderAction::Expire => {
                if self.created_at + PAYMENT_EXPIRES_AFTER > now {
                    return Err(Refusal::NotDue);
                }
            }
            OrderAction::Reject | OrderAction::Complete | OrderAction::Cancel => {}
        }
        if to == OrderStatus::Completed && self.dispute_status() == Some(DisputeStatus::Lost) {
            return Err(Refusal::DisputeLost);
        }
        let ledger = self
            .money_moved(action, to)
            .map_err(|error| Refusal::Unbookable(error.to_string()))?;
        if ledger
            .as_ref()
            .is_some_and(|ledger| ledger.kind == LedgerKind::OrderRefunded)
        {
            after.refund = Some(Refund {
                status: RefundStatus::Requested,
                amount_cents: self.client_total_cents,
                refund_id: None,
                requested_at: now,
            });
        }
        if to.is_terminal() {
            after.closed_at = Some(now);
            after.auto_complete_at = None;
        }
        after.status = to;
        after.version = self.version + 1;
        after.updated_at = now;
        let entry = TimelineEntry {
            seq: after.version,
            kind: action.change_kind(),
            actor,
            from: Some(self.status),
            to,
            note: input.note,
            attachments: input.attachments,
            files: input.files,
            at: now,
        };
        after.last_change = entry.clone();
        Ok(Transition {
            before: self.clone(),
            after,
            entry,
            open_orders_delta: if to.is_terminal() && !self.status.is_terminal() {
                -1
            } else {
                0
            },
            ledger,
        })
    }

    /// The ledger transaction of `action` taking this order to `to`, if it moves money: the
    /// payment into escrow; the whole charge back to the client when a paid order is rejected or
    /// cancelled (straight from the clearing account when the payment arrives after the cancel,
    /// as it never was held); escrow released on completion. Orders without a payment move none.
    fn money_moved(
        &self,
        action: OrderAction,
        to: OrderStatus,
    ) -> Result<Option<LedgerTransaction>, MoneyError> {
        if self.payment.is_none() {
            return Ok(None);
        }
        let split = self.split()?;
        let paid = self.paid_at.is_some();
        // A lost dispute already gave the client their money back, out of escrow.
        let charged_back = self.dispute_status() == Some(DisputeStatus::Lost);
        Ok(match (action, to) {
            (OrderAction::Pay, OrderStatus::Pending) => {
                Some(LedgerTransaction::order_paid(self.id, &split)?)
            }
            (OrderAction::Pay, _) => Some(LedgerTransaction::paid_after_close(self.id, &split)?),
            (_, OrderStatus::Completed) if paid => Some(LedgerTransaction::order_completed(
                self.id,
                self.freelancer_id,
                &split,
                self.dispute_status() == Some(DisputeStatus::Open),
            )?),
            (_, OrderStatus::Rejected | OrderStatus::Cancelled) if paid && !charged_back => {
                Some(LedgerTransaction::order_refunded(self.id, &split)?)
            }
            _ => None,
        })
    }

    /// Where the order's dispute stands, if its charge is disputed.
    pub fn dispute_status(&self) -> Option<DisputeStatus> {
        self.dispute.as_ref().map(|dispute| dispute.status)
    }

    /// The order's money as fixed at placement.
    pub fn split(&self) -> Result<PriceSplit, UnknownCurrency> {
        Ok(PriceSplit {
            currency: Currency::parse(&self.currency)?,
            price: self.price_cents,
            service_fee: self.service_fee_cents,
            client_total: self.client_total_cents,
            commission: self.commission_cents,
            freelancer_net: self.freelancer_net_cents,
        })
    }

    /// Whether `party` may see the order: its freelancer only once it is paid, so nobody works
    /// on (or is told of) an order that may never be paid.
    pub fn visible_to(&self, party: Party) -> bool {
        match party {
            Party::Freelancer => self.paid_at.is_some(),
            other => other.may_view(),
        }
    }

    /// The scheduler's next look at this order, if any. The store keeps the sparse index of
    /// deadlines from this, so only orders that can still need the scheduler are in it.
    pub fn deadline(&self) -> Option<Deadline> {
        if let Some(refund) = &self.refund
            && refund.status == RefundStatus::Requested
        {
            return Some(Deadline::Refund(refund.requested_at));
        }
        match self.status {
            OrderStatus::AwaitingPayment if self.payment.is_some() => Some(
                Deadline::PaymentExpiry(self.created_at + PAYMENT_EXPIRES_AFTER),
            ),
            OrderStatus::InProgress if !self.late => self.due_at.map(Deadline::Late),
            OrderStatus::Delivered => self.auto_complete_at.map(Deadline::AutoComplete),
            _ => None,
        }
    }

    /// The refund as the payment processor now reports it, if that moves it forward.
    pub fn refund_reported(&self, status: RefundStatus, refund_id: &str) -> Option<Refund> {
        let refund = self.refund.as_ref()?;
        let moved = status.progress() > refund.status.progress()
            || (refund.refund_id.is_none() && status.progress() == refund.status.progress());
        moved.then(|| Refund {
            status,
            refund_id: Some(refund_id.to_owned()),
            ..refund.clone()
        })
    }
}

/// `POST /orders`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    pub gig_id: Uuid,
    pub package: Tier,
    pub requirements: String,
    /// The package price the client saw, in minor units of `currency`. When the gig's price or
    /// currency differs now, the order is refused (409 `price-changed`) instead of charging a
    /// price the client never saw.
    pub expected_price_cents: u64,
    /// The currency the client saw the price in (ISO 4217).
    pub currency: String,
}

impl PlaceOrder {
    /// Checks the rules and returns the trimmed requirements.
    pub fn validate(&self) -> Result<String, Invalid> {
        required_text(
            "requirements",
            &self.requirements,
            1,
            REQUIREMENTS_MAX_CHARS,
        )
    }
}

/// `Idempotency-Key`: 1..=255 visible ASCII characters (a UUID is the usual choice).
pub fn check_idempotency_key(key: Option<&str>) -> Result<String, Invalid> {
    let key = key.map(str::trim).unwrap_or_default();
    if key.is_empty() {
        return Err(Invalid::field(
            "Idempotency-Key",
            "required",
            "the Idempotency-Key header is required (e.g. a UUID per order attempt)",
        ));
    }
    if key.len() > 255 || !key.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(Invalid::field(
            "Idempotency-Key",
            "invalid_value",
            "must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(key.to_owned())
}

/// `POST /orders/{id}/reject` and `/cancel`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

impl ReasonBody {
    pub fn validate(self) -> Result<ActionInput, Invalid> {
        let reason = required_text("reason", &self.reason, 1, REASON_MAX_CHARS)?;
        Ok(ActionInput {
            note: Some(reason),
            ..ActionInput::default()
        })
    }
}

/// `POST /orders/{id}/request-revision`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    pub message: String,
}

impl MessageBody {
    pub fn validate(self) -> Result<ActionInput, Invalid> {
        let message = required_text("message", &self.message, 1, MESSAGE_MAX_CHARS)?;
        Ok(ActionInput {
            note: Some(message),
            ..ActionInput::default()
        })
    }
}

/// The most files one delivery hands over.
pub const DELIVERY_FILES_MAX: usize = 20;

/// `POST /orders/{id}/deliver`: links (`attachments`), the order's uploaded files (`file_ids`),
/// both or neither.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryBody {
    pub message: String,
    #[serde(default)]
    pub attachments: Vec<String>,
    #[serde(default)]
    pub file_ids: Vec<Uuid>,
}

impl DeliveryBody {
    pub fn validate(self) -> Result<ActionInput, Invalid> {
        let message = self.message.trim().to_owned();
        let mut violations = Violations::new();
        check_text(&mut violations, "message", &message, 1, MESSAGE_MAX_CHARS);
        violations.check(
            self.attachments.len() <= ATTACHMENTS_MAX,
            "attachments",
            "too_many",
            format!("at most {ATTACHMENTS_MAX} attachments"),
        );
        let attachments: Vec<String> = self
            .attachments
            .iter()
            .map(|url| url.trim().to_owned())
            .collect();
        for (index, url) in attachments.iter().enumerate() {
            check_https_url(&mut violations, &format!("attachments[{index}]"), url);
        }
        let files = crate::domain::distinct(&self.file_ids);
        violations.check(
            files.len() <= DELIVERY_FILES_MAX,
            "file_ids",
            "too_many",
            format!("at most {DELIVERY_FILES_MAX} files"),
        );
        violations.into_result()?;
        Ok(ActionInput {
            note: Some(message),
            attachments,
            files,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::gig::{GigContent, GigStatus, Package};
    use OrderAction as A;
    use OrderStatus as S;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-11-25 12:00 UTC)
    }

    fn gig(revisions: Revisions) -> Gig {
        Gig::new(
            Uuid::new_v4(),
            GigContent {
                title: "A logo".to_owned(),
                description: "d".to_owned(),
                category: "design".to_owned(),
                subcategory: None,
                tags: Vec::new(),
                packages: vec![Package {
                    tier: Tier::Basic,
                    name: "Basic".to_owned(),
                    description: "one logo".to_owned(),
                    price_cents: 5_000,
                    currency: "EUR".to_owned(),
                    delivery_days: 2,
                    revisions,
                    features: Vec::new(),
                }],
            },
            GigStatus::Active,
            now(),
        )
    }

    /// An order as placed: awaiting its payment.
    fn placed(revisions: Revisions) -> Order {
        Order::place(
            Uuid::new_v4(),
            &gig(revisions),
            Tier::Basic,
            "r".into(),
            &FeeSchedule::default(),
            now(),
        )
        .unwrap()
    }

    /// A paid order, in front of its freelancer.
    fn order(revisions: Revisions) -> Order {
        step(&placed(revisions), A::Pay, Party::System)
    }

    fn actor(order: &Order, party: Party) -> Actor {
        match party {
            Party::Client => Actor::user(order.client_id, party),
            Party::Freelancer => Actor::user(order.freelancer_id, party),
            Party::System => Actor::system(),
            _ => Actor::user(Uuid::new_v4(), party),
        }
    }

    fn step(order: &Order, action: OrderAction, party: Party) -> Order {
        order
            .transition(
                action,
                actor(order, party),
                ActionInput::default(),
                order.updated_at,
            )
            .unwrap_or_else(|refusal| panic!("{action:?} by {party:?}: {refusal:?}"))
            .after
    }

    #[test]
    fn placement_snapshots_the_package() {
        let order = placed(Revisions::Limited(2));
        assert_eq!(order.status, S::AwaitingPayment);
        assert!(!order.visible_to(Party::Freelancer));
        assert_eq!(order.price_cents, 5_000);
        assert_eq!(order.currency, "EUR");
        assert_eq!(order.delivery_days, 2);
        assert_eq!(order.gig_title, "A logo");
        assert_eq!(order.version, 1);
        assert_eq!(order.last_change.kind, ChangeKind::Placed);
        assert!(
            Order::place(
                Uuid::new_v4(),
                &gig(Revisions::Unlimited),
                Tier::Premium,
                "r".into(),
                &FeeSchedule::default(),
                now()
            )
            .is_err()
        );
    }

    /// A paid order its client accepted: completed, its earnings booked.
    pub(crate) fn completed() -> Order {
        let mut order = with_payment(placed(Revisions::Limited(1)));
        for (action, party) in [
            (A::Pay, Party::System),
            (A::Accept, Party::Freelancer),
            (A::Deliver, Party::Freelancer),
            (A::Complete, Party::Client),
        ] {
            order = step(&order, action, party);
        }
        order
    }

    fn with_payment(mut order: Order) -> Order {
        order.payment = Some(Payment {
            status: PaymentStatus::RequiresPaymentMethod,
            intent_id: "pi_1".into(),
            amount_cents: order.client_total_cents,
            currency: order.currency.clone(),
            charge_id: None,
            error: None,
        });
        order
    }

    fn kind_of(transition: &Transition) -> Option<LedgerKind> {
        transition.ledger.as_ref().map(|ledger| ledger.kind)
    }

    fn try_step(
        order: &Order,
        action: OrderAction,
        party: Party,
        at: OffsetDateTime,
    ) -> Transition {
        order
            .transition(action, actor(order, party), ActionInput::default(), at)
            .unwrap_or_else(|refusal| panic!("{action:?} by {party:?}: {refusal:?}"))
    }

    /// Money moves with the change that causes it: paid into escrow, refunded whole (with a
    /// refund requested) when a paid order is rejected or cancelled, released on completion; an
    /// unpaid order that is cancelled moves none.
    #[test]
    fn each_change_moves_the_money_it_causes() {
        let unpaid = with_payment(placed(Revisions::Limited(1)));
        let at = unpaid.created_at;
        assert_eq!(
            unpaid.deadline(),
            Some(Deadline::PaymentExpiry(at + PAYMENT_EXPIRES_AFTER))
        );
        let cancelled = try_step(&unpaid, A::Cancel, Party::Client, at);
        assert_eq!(kind_of(&cancelled), None);
        assert_eq!(cancelled.after.refund, None);

        let paid = try_step(&unpaid, A::Pay, Party::System, at);
        assert_eq!(kind_of(&paid), Some(LedgerKind::OrderPaid));
        let rejected = try_step(&paid.after, A::Reject, Party::Freelancer, at);
        assert_eq!(kind_of(&rejected), Some(LedgerKind::OrderRefunded));
        let refund = rejected.after.refund.clone().expect("a refund");
        assert_eq!(refund.status, RefundStatus::Requested);
        assert_eq!(refund.amount_cents, unpaid.client_total_cents);
        assert_eq!(rejected.after.deadline(), Some(Deadline::Refund(at)));

        let mut delivered = paid.after.clone();
        for (action, party) in [
            (A::Accept, Party::Freelancer),
            (A::Deliver, Party::Freelancer),
        ] {
            delivered = try_step(&delivered, action, party, at).after;
        }
        let completed = try_step(&delivered, A::Complete, Party::Client, at);
        assert_eq!(kind_of(&completed), Some(LedgerKind::OrderCompleted));
        assert_eq!(completed.after.refund, None);
    }

    /// A payment that succeeds after the order was cancelled is refunded at once, straight from
    /// the clearing account, and the freelancer still never sees the order.
    #[test]
    fn a_late_payment_is_refunded_and_stays_unseen() {
        let unpaid = with_payment(placed(Revisions::Limited(1)));
        let at = unpaid.created_at;
        let cancelled = try_step(&unpaid, A::Cancel, Party::Client, at).after;
        let late = try_step(&cancelled, A::Pay, Party::System, at);
        assert_eq!(late.after.status, S::Cancelled);
        assert_eq!(late.open_orders_delta, 0, "closed once, counted once");
        assert!(!late.after.visible_to(Party::Freelancer));
        let ledger = late.ledger.expect("the refund's ledger transaction");
        assert_eq!(ledger.kind, LedgerKind::OrderRefunded);
        assert_eq!(
            ledger.postings.first().map(|posting| posting.account),
            Some(crate::domain::ledger::LedgerAccount::StripeClearing)
        );
        assert_eq!(
            late.after.refund.map(|refund| refund.status),
            Some(RefundStatus::Requested)
        );
    }

    #[test]
    fn an_unpaid_order_expires_only_after_a_day() {
        let unpaid = with_payment(placed(Revisions::Limited(1)));
        let early = unpaid.created_at + PAYMENT_EXPIRES_AFTER - Duration::seconds(1);
        assert_eq!(
            unpaid
                .transition(A::Expire, Actor::system(), ActionInput::default(), early)
                .map(|_| ()),
            Err(Refusal::NotDue)
        );
        let expired = try_step(
            &unpaid,
            A::Expire,
            Party::System,
            early + Duration::seconds(1),
        );
        assert_eq!(expired.after.status, S::Cancelled);
        assert_eq!(expired.entry.kind, ChangeKind::Cancelled);
        assert_eq!(expired.after.deadline(), None);
    }

    #[test]
    fn a_refund_report_only_moves_forward() {
        let unpaid = with_payment(placed(Revisions::Limited(1)));
        let at = unpaid.created_at;
        let paid = try_step(&unpaid, A::Pay, Party::System, at).after;
        let mut order = try_step(&paid, A::Cancel, Party::Client, at).after;
        let pending = order
            .refund_reported(RefundStatus::Pending, "re_1")
            .expect("forward");
        order.refund = Some(pending);
        let done = order
            .refund_reported(RefundStatus::Succeeded, "re_1")
            .expect("forward");
        order.refund = Some(done);
        assert_eq!(order.refund_reported(RefundStatus::Pending, "re_1"), None);
        assert_eq!(order.refund_reported(RefundStatus::Succeeded, "re_1"), None);
        assert_eq!(
            order.deadline(),
            None,
            "accepted refunds leave the scheduler's list"
        );
    }

    /// Every (state, action, party) cell, against the expectation written out independently.
    #[test]
    fn the_whole_table() {
        let allowed = |status, action, party| -> Option<OrderStatus> {
            match (status, action, party) {
                (S::AwaitingPayment, A::Pay, Party::System) => Some(S::Pending),
                (S::Cancelled, A::Pay, Party::System) => Some(S::Cancelled),
                (S::AwaitingPayment, A::Expire, Party::System) => Some(S::Cancelled),
                (S::Pending, A::Accept, Party::Freelancer) => Some(S::InProgress),
                (S::Pending, A::Reject, Party::Freelancer) => Some(S::Rejected),
                (S::InProgress, A::Deliver, Party::Freelancer) => Some(S::Delivered),
                (S::Delivered, A::RequestRevision, Party::Client) => Some(S::InProgress),
                (S::Delivered, A::Complete, Party::Client) => Some(S::Completed),
                (S::Delivered, A::AutoComplete, Party::System) => Some(S::Completed),
                (S::InProgress, A::MarkLate, Party::System) => Some(S::InProgress),
                (S::AwaitingPayment | S::Pending, A::Cancel, Party::Client) => Some(S::Cancelled),
                (
                    S::AwaitingPayment | S::Pending | S::InProgress | S::Delivered,
                    A::Cancel,
                    Party::Admin,
                ) => Some(S::Cancelled),
                _ => None,
            }
        };
        let mut cells = 0;
        for status in S::ALL {
            for action in A::ALL {
                for party in Party::ALL {
                    cells += 1;
                    let result = decide(status, action, party);
                    match allowed(status, action, party) {
                        Some(to) => assert_eq!(result, Ok(to), "{status:?} {action:?} {party:?}"),
                        None => {
                            let refusal = result.expect_err("must be refused");
                            let expected = if party == Party::Stranger {
                                Refusal::NotVisible
                            } else if decide_party_ok(action, party) {
                                Refusal::WrongState { action, status }
                            } else {
                                Refusal::WrongParty
                            };
                            assert_eq!(refusal, expected, "{status:?} {action:?} {party:?}");
                        }
                    }
                }
            }
        }
        assert_eq!(cells, 7 * 10 * 5);
    }

    fn decide_party_ok(action: OrderAction, party: Party) -> bool {
        matches!(
            (action, party),
            (A::Accept | A::Reject | A::Deliver, Party::Freelancer)
                | (A::RequestRevision | A::Complete | A::Cancel, Party::Client)
                | (A::Cancel, Party::Admin)
                | (
                    A::Pay | A::AutoComplete | A::MarkLate | A::Expire,
                    Party::System
                )
        )
    }

    #[test]
    fn happy_path_sets_deadlines_and_counters() {
        let paid = order(Revisions::Limited(1));
        assert!(paid.visible_to(Party::Freelancer));
        assert_eq!(paid.deadline(), None);
        let accepted = step(&paid, A::Accept, Party::Freelancer);
        assert_eq!(accepted.due_at, Some(now() + Duration::days(2)));
        assert_eq!(
            accepted.deadline(),
            Some(Deadline::Late(now() + Duration::days(2)))
        );
        let delivered = step(&accepted, A::Deliver, Party::Freelancer);
        assert_eq!(
            delivered.deadline(),
            Some(Deadline::AutoComplete(now() + AUTO_COMPLETE_AFTER))
        );
        let transition = delivered
            .transition(
                A::Complete,
                actor(&delivered, Party::Client),
                ActionInput::default(),
                now(),
            )
            .unwrap();
        assert_eq!(transition.open_orders_delta, -1);
        // placed, paid, accepted, delivered, completed.
        assert_eq!(transition.after.version, 5);
        assert_eq!(transition.entry.seq, 5);
        assert_eq!(transition.entry.from, Some(S::Delivered));
        assert_eq!(transition.after.last_change, transition.entry);
        assert_eq!(transition.after.deadline(), None);
        assert_eq!(transition.after.closed_at, Some(now()));
    }

    #[test]
    fn revisions_are_limited_by_the_package() {
        let delivered = step(
            &step(&order(Revisions::Limited(1)), A::Accept, Party::Freelancer),
            A::Deliver,
            Party::Freelancer,
        );
        let revised = step(&delivered, A::RequestRevision, Party::Client);
        assert_eq!(revised.revisions_used, 1);
        let again = step(&revised, A::Deliver, Party::Freelancer);
        let refused = again
            .transition(
                A::RequestRevision,
                actor(&again, Party::Client),
                ActionInput::default(),
                now(),
            )
            .unwrap_err();
        assert_eq!(refused, Refusal::RevisionLimitReached { limit: 1 });
        let none = step(
            &step(&order(Revisions::Limited(0)), A::Accept, Party::Freelancer),
            A::Deliver,
            Party::Freelancer,
        );
        assert!(
            none.transition(
                A::RequestRevision,
                actor(&none, Party::Client),
                ActionInput::default(),
                now()
            )
            .is_err()
        );
        let mut unlimited = step(
            &step(&order(Revisions::Unlimited), A::Accept, Party::Freelancer),
            A::Deliver,
            Party::Freelancer,
        );
        for _ in 0..12 {
            unlimited = step(
                &step(&unlimited, A::RequestRevision, Party::Client),
                A::Deliver,
                Party::Freelancer,
            );
        }
        assert_eq!(unlimited.revisions_used, 12);
    }

    #[test]
    fn scheduler_actions_wait_for_their_time() {
        let accepted = step(&order(Revisions::Unlimited), A::Accept, Party::Freelancer);
        let due = accepted.due_at.unwrap();
        let early = accepted.transition(
            A::MarkLate,
            Actor::system(),
            ActionInput::default(),
            due - Duration::seconds(1),
        );
        assert_eq!(early.unwrap_err(), Refusal::NotDue);
        let late = accepted
            .transition(A::MarkLate, Actor::system(), ActionInput::default(), due)
            .unwrap();
        assert!(late.after.late);
        assert_eq!(late.entry.kind, ChangeKind::Late);
        assert_eq!(late.after.deadline(), None, "late is marked once");
        assert_eq!(
            late.after
                .transition(A::MarkLate, Actor::system(), ActionInput::default(), due)
                .unwrap_err(),
            Refusal::NotDue
        );
        let delivered = step(&late.after, A::Deliver, Party::Freelancer);
        let at = delivered.auto_complete_at.unwrap();
        assert!(
            delivered
                .transition(
                    A::AutoComplete,
                    Actor::system(),
                    ActionInput::default(),
                    at - Duration::seconds(1)
                )
                .is_err()
        );
        let done = delivered
            .transition(A::AutoComplete, Actor::system(), ActionInput::default(), at)
            .unwrap();
        assert_eq!(done.after.status, S::Completed);
        assert_eq!(done.entry.kind, ChangeKind::Completed);
        assert_eq!(done.entry.actor, Actor::system());
    }

    #[test]
    fn a_delivery_names_each_file_once_and_at_most_the_limit() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let delivery = |file_ids: Vec<Uuid>| DeliveryBody {
            message: "Here".into(),
            attachments: Vec::new(),
            file_ids,
        };
        assert_eq!(delivery(vec![a, b, a]).validate().unwrap().files, [a, b]);
        let Invalid(errors) = delivery((0..=DELIVERY_FILES_MAX).map(|_| Uuid::now_v7()).collect())
            .validate()
            .unwrap_err();
        assert_eq!(errors[0].field, "file_ids");
    }

    #[test]
    fn bodies_are_validated() {
        let bad = DeliveryBody {
            message: " ".into(),
            attachments: vec!["http://x.example".into(), "https://ok.example/a.png".into()],
            file_ids: Vec::new(),
        }
        .validate()
        .unwrap_err();
        let Invalid(errors) = bad;
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["message", "attachments[0]"]);
        assert!(
            ReasonBody {
                reason: "x".repeat(REASON_MAX_CHARS + 1)
            }
            .validate()
            .is_err()
        );
        assert!(check_idempotency_key(None).is_err());
        assert!(check_idempotency_key(Some("has space")).is_err());
        assert_eq!(check_idempotency_key(Some("k-1")).unwrap(), "k-1");
    }
}

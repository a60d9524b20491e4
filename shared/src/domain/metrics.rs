//! Marketplace metrics: the figures `GET /admin/metrics` shows, and the change each write makes
//! to them. Every write that moves a figure carries its [`MetricsDelta`] into its own
//! transaction (the store keeps the counters), so the figures are exact without ever counting
//! the items again.
//!
//! What is counted:
//! - users by role and status (registration, block, unblock);
//! - gigs by status (creation, every status move; archived is what `DELETE` leaves);
//! - orders by status (placement, every transition, the scheduler's too);
//! - the completed-order value (GMV) per currency, in minor units, when an order completes;
//! - published, not hidden reviews (both sides): their count and rating sum (-> average);
//! - messages sent (the first message of a conversation included).
//!
//! The money figures are not counters: they are the platform accounts' balances in the ledger
//! ([`MoneyFigures`]), which every money movement keeps in its own transaction already.

use std::collections::BTreeMap;

use serde::Serialize;

use super::gig::GigStatus;
use super::ledger::{Balances, EarningsKind, LedgerAccount};
use super::order::{Order, OrderStatus};
use super::user::{Role, UserStatus};

/// One counted figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counter {
    Users(Role, UserStatus),
    Gigs(GigStatus),
    Orders(OrderStatus),
    /// Completed-order value in minor units of the currency (ISO 4217 code, as orders store it).
    CompletedValue(String),
    Reviews,
    ReviewRatingSum,
    MessagesSent,
}

pub const ROLES: [Role; 3] = [Role::Client, Role::Freelancer, Role::Admin];
pub const USER_STATUSES: [UserStatus; 2] = [UserStatus::Active, UserStatus::Blocked];
pub const GIG_STATUSES: [GigStatus; 6] = [
    GigStatus::PendingReview,
    GigStatus::Active,
    GigStatus::Paused,
    GigStatus::Rejected,
    GigStatus::Archived,
    GigStatus::Removed,
];

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Client => "client",
        Role::Freelancer => "freelancer",
        Role::Admin => "admin",
    }
}

pub fn user_status_name(status: UserStatus) -> &'static str {
    match status {
        UserStatus::Active => "active",
        UserStatus::Blocked => "blocked",
    }
}

const GMV_PREFIX: &str = "gmv_";

impl Counter {
    /// The counter's stable name (letters, digits and `_`): the store keeps each counter under
    /// it, so it must never change for an existing counter.
    pub fn name(&self) -> String {
        match self {
            Self::Users(role, status) => {
                format!("users_{}_{}", role_name(*role), user_status_name(*status))
            }
            Self::Gigs(status) => format!("gigs_{}", status.as_str()),
            Self::Orders(status) => format!("orders_{}", status.as_str()),
            Self::CompletedValue(currency) => format!("{GMV_PREFIX}{currency}"),
            Self::Reviews => "reviews_count".to_owned(),
            Self::ReviewRatingSum => "reviews_rating_sum".to_owned(),
            Self::MessagesSent => "messages_sent".to_owned(),
        }
    }

    /// The counter of a name [`Counter::name`] gave; `None` for any other string.
    pub fn from_name(name: &str) -> Option<Self> {
        if let Some(currency) = name.strip_prefix(GMV_PREFIX) {
            return (!currency.is_empty()).then(|| Self::CompletedValue(currency.to_owned()));
        }
        Self::fixed()
            .into_iter()
            .find(|counter| counter.name() == name)
    }

    /// Every counter but the open-ended GMV ones.
    fn fixed() -> Vec<Self> {
        let mut all = Vec::new();
        for role in ROLES {
            for status in USER_STATUSES {
                all.push(Self::Users(role, status));
            }
        }
        all.extend(GIG_STATUSES.map(Self::Gigs));
        all.extend(OrderStatus::ALL.map(Self::Orders));
        all.extend([Self::Reviews, Self::ReviewRatingSum, Self::MessagesSent]);
        all
    }

    /// Which area it belongs to: `users`, `gigs`, `orders` (GMV too), `reviews`, `messages`.
    pub fn area(&self) -> &'static str {
        match self {
            Self::Users(..) => "users",
            Self::Gigs(_) => "gigs",
            Self::Orders(_) | Self::CompletedValue(_) => "orders",
            Self::Reviews | Self::ReviewRatingSum => "reviews",
            Self::MessagesSent => "messages",
        }
    }
}

/// What one write changes in the counters. Changes of the same counter add up, and those that
/// cancel out vanish, so a write that moves nothing carries nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsDelta {
    changes: Vec<(Counter, i64)>,
}

impl MetricsDelta {
    pub fn add(mut self, counter: Counter, by: i64) -> Self {
        match self.changes.iter_mut().find(|(known, _)| *known == counter) {
            Some((_, total)) => *total += by,
            None => self.changes.push((counter, by)),
        }
        self.changes.retain(|(_, total)| *total != 0);
        self
    }

    /// Both changes together (one transaction doing both writes).
    pub fn and(self, other: MetricsDelta) -> Self {
        other
            .changes
            .into_iter()
            .fold(self, |delta, (counter, by)| delta.add(counter, by))
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The non-zero changes.
    pub fn changes(&self) -> &[(Counter, i64)] {
        &self.changes
    }

    pub fn user_registered(role: Role, status: UserStatus) -> Self {
        Self::default().add(Counter::Users(role, status), 1)
    }

    pub fn user_status_changed(role: Role, from: UserStatus, to: UserStatus) -> Self {
        Self::default()
            .add(Counter::Users(role, from), -1)
            .add(Counter::Users(role, to), 1)
    }

    pub fn gig_created(status: GigStatus) -> Self {
        Self::default().add(Counter::Gigs(status), 1)
    }

    pub fn gig_moved(from: GigStatus, to: GigStatus) -> Self {
        Self::default()
            .add(Counter::Gigs(from), -1)
            .add(Counter::Gigs(to), 1)
    }

    pub fn order_placed(order: &Order) -> Self {
        Self::default().add(Counter::Orders(order.status), 1)
    }

    /// An order's status leaves `before` and enters `after`; entering `completed` adds its price
    /// to the completed value of its currency.
    pub fn order_moved(before: &Order, after: &Order) -> Self {
        let delta = Self::default()
            .add(Counter::Orders(before.status), -1)
            .add(Counter::Orders(after.status), 1);
        if after.status == OrderStatus::Completed && before.status != OrderStatus::Completed {
            let cents = i64::try_from(after.price_cents).unwrap_or(i64::MAX);
            delta.add(Counter::CompletedValue(after.currency.clone()), cents)
        } else {
            delta
        }
    }

    /// A review becomes visible (published, or unhidden).
    pub fn review_shown(rating: u8) -> Self {
        Self::default()
            .add(Counter::Reviews, 1)
            .add(Counter::ReviewRatingSum, i64::from(rating))
    }

    /// A published review is hidden by moderation.
    pub fn review_hidden(rating: u8) -> Self {
        Self::default()
            .add(Counter::Reviews, -1)
            .add(Counter::ReviewRatingSum, -i64::from(rating))
    }

    pub fn message_sent() -> Self {
        Self::default().add(Counter::MessagesSent, 1)
    }
}

/// The review figures: count, rating sum and their average (two decimals; `null` with none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewFigures {
    pub count: i64,
    pub rating_sum: i64,
    pub average_rating: Option<f64>,
}

/// `GET /admin/metrics`: every figure, each known status present (zero when nothing is in it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// role -> status -> users.
    pub users: BTreeMap<String, BTreeMap<String, i64>>,
    /// status -> gigs.
    pub gigs: BTreeMap<String, i64>,
    /// status -> orders.
    pub orders: BTreeMap<String, i64>,
    /// currency -> completed-order value in minor units.
    pub completed_order_value_cents: BTreeMap<String, i64>,
    pub reviews: ReviewFigures,
    pub messages_sent: i64,
    #[serde(flatten)]
    pub money: MoneyFigures,
}

/// The money figures of `GET /admin/metrics`, each currency (ISO 4217 code) -> minor units,
/// read off the balances of the platform's ledger accounts and the freelancers' totals. Every
/// currency the ledger knows is in every map (0 where nothing moved).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MoneyFigures {
    /// What clients were charged: the `stripe_clearing` balance negated. A charge
    /// (`order_paid`) takes its whole amount from that account and no other movement touches
    /// it (refunds go to `refunds`, completions move escrow), so one balance item holds the
    /// sum of every charge, where summing the `order_paid` transactions would read them all.
    /// Refunded charges stay in it: `refunds_cents` says how much went back.
    pub gross_order_value_cents: BTreeMap<String, i64>,
    /// The platform's service fees and commissions of completed orders, less its shares of
    /// refunds and lost disputes and Stripe's dispute fees (`platform_fees`; below zero when
    /// those cost more).
    pub fees_earned_cents: BTreeMap<String, i64>,
    /// Paid back to clients (`refunds`).
    pub refunds_cents: BTreeMap<String, i64>,
    /// Held for orders paid and not yet completed or refunded (`escrow`).
    pub escrow_held_cents: BTreeMap<String, i64>,
    /// Freelancers' earnings within the clearance period (`freelancers:pending`).
    pub earnings_pending_cents: BTreeMap<String, i64>,
    /// Freelancers' cleared earnings, free to withdraw (`freelancers:available`).
    pub earnings_available_cents: BTreeMap<String, i64>,
    /// Transferred to freelancers, less what reversals took back (`freelancers:paid_out`).
    pub paid_out_cents: BTreeMap<String, i64>,
    /// Freelancers' earnings held while their orders' charges are disputed
    /// (`freelancers:frozen`).
    pub earnings_frozen_cents: BTreeMap<String, i64>,
    /// What freelancers owe (paid-out shares of lost disputes and refunds): the
    /// `freelancers:debt` total negated.
    pub owed_by_freelancers_cents: BTreeMap<String, i64>,
    /// Given back to clients by their banks (`disputes_lost`).
    pub disputes_lost_cents: BTreeMap<String, i64>,
    /// Stripe's dispute fees the platform paid, less those returned (`dispute_fees`).
    pub dispute_fees_cents: BTreeMap<String, i64>,
}

impl MoneyFigures {
    /// The accounts the figures are read from.
    pub const ACCOUNTS: [LedgerAccount; 11] = [
        LedgerAccount::StripeClearing,
        LedgerAccount::PlatformFees,
        LedgerAccount::Refunds,
        LedgerAccount::Escrow,
        LedgerAccount::FreelancersTotal(EarningsKind::Pending),
        LedgerAccount::FreelancersTotal(EarningsKind::Available),
        LedgerAccount::FreelancersTotal(EarningsKind::PaidOut),
        LedgerAccount::FreelancersTotal(EarningsKind::Frozen),
        LedgerAccount::FreelancersTotal(EarningsKind::Debt),
        LedgerAccount::DisputesLost,
        LedgerAccount::DisputeFees,
    ];

    /// The figures of every currency in `balances` (the [`Self::ACCOUNTS`] balances).
    pub fn from_balances(balances: &Balances) -> Self {
        let mut figures = Self::default();
        for currency in balances.currencies() {
            let code = currency.code().to_owned();
            let balance = |account| balances.get(account, &currency);
            figures
                .gross_order_value_cents
                .insert(code.clone(), -balance(LedgerAccount::StripeClearing));
            figures
                .fees_earned_cents
                .insert(code.clone(), balance(LedgerAccount::PlatformFees));
            figures
                .refunds_cents
                .insert(code.clone(), balance(LedgerAccount::Refunds));
            figures
                .escrow_held_cents
                .insert(code.clone(), balance(LedgerAccount::Escrow));
            let total = |kind| balance(LedgerAccount::FreelancersTotal(kind));
            figures
                .earnings_pending_cents
                .insert(code.clone(), total(EarningsKind::Pending));
            figures
                .earnings_available_cents
                .insert(code.clone(), total(EarningsKind::Available));
            figures
                .paid_out_cents
                .insert(code.clone(), total(EarningsKind::PaidOut));
            figures
                .earnings_frozen_cents
                .insert(code.clone(), total(EarningsKind::Frozen));
            figures
                .owed_by_freelancers_cents
                .insert(code.clone(), -total(EarningsKind::Debt));
            figures
                .disputes_lost_cents
                .insert(code.clone(), balance(LedgerAccount::DisputesLost));
            figures
                .dispute_fees_cents
                .insert(code, balance(LedgerAccount::DisputeFees));
        }
        figures
    }
}

impl Metrics {
    /// The figures from the counters' totals (name -> value, as [`Counter::name`] names them);
    /// names of no counter are ignored.
    pub fn from_totals<'a>(totals: impl IntoIterator<Item = (&'a str, i64)>) -> Self {
        let mut users: BTreeMap<String, BTreeMap<String, i64>> = ROLES
            .iter()
            .map(|role| {
                let statuses = USER_STATUSES
                    .iter()
                    .map(|status| (user_status_name(*status).to_owned(), 0))
                    .collect();
                (role_name(*role).to_owned(), statuses)
            })
            .collect();
        let mut gigs: BTreeMap<String, i64> = GIG_STATUSES
            .iter()
            .map(|status| (status.as_str().to_owned(), 0))
            .collect();
        let mut orders: BTreeMap<String, i64> = OrderStatus::ALL
            .iter()
            .map(|status| (status.as_str().to_owned(), 0))
            .collect();
        let mut completed = BTreeMap::new();
        let (mut reviews, mut rating_sum, mut messages) = (0, 0, 0);
        for (name, value) in totals {
            match Counter::from_name(name) {
                Some(Counter::Users(role, status)) => {
                    *users
                        .entry(role_name(role).to_owned())
                        .or_default()
                        .entry(user_status_name(status).to_owned())
                        .or_default() += value;
                }
                Some(Counter::Gigs(status)) => {
                    *gigs.entry(status.as_str().to_owned()).or_default() += value
                }
                Some(Counter::Orders(status)) => {
                    *orders.entry(status.as_str().to_owned()).or_default() += value
                }
                Some(Counter::CompletedValue(currency)) => {
                    *completed.entry(currency).or_default() += value
                }
                Some(Counter::Reviews) => reviews += value,
                Some(Counter::ReviewRatingSum) => rating_sum += value,
                Some(Counter::MessagesSent) => messages += value,
                None => {}
            }
        }
        let average_rating =
            (reviews > 0).then(|| (rating_sum as f64 / reviews as f64 * 100.0).round() / 100.0);
        Self {
            users,
            gigs,
            orders,
            completed_order_value_cents: completed,
            reviews: ReviewFigures {
                count: reviews,
                rating_sum,
                average_rating,
            },
            messages_sent: messages,
            money: MoneyFigures::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixed_counter_name_round_trips() {
        for counter in Counter::fixed() {
            assert_eq!(Counter::from_name(&counter.name()), Some(counter));
        }
        let gmv = Counter::CompletedValue("EUR".to_owned());
        assert_eq!(Counter::from_name(&gmv.name()), Some(gmv));
        assert_eq!(Counter::from_name("gmv_"), None);
        assert_eq!(Counter::from_name("pk"), None);
    }

    #[test]
    fn changes_of_one_counter_add_up_and_cancel_out() {
        let delta = MetricsDelta::gig_moved(GigStatus::Active, GigStatus::Active);
        assert!(delta.is_empty());
        let both = MetricsDelta::review_shown(4).and(MetricsDelta::review_shown(2));
        assert_eq!(
            both.changes(),
            &[(Counter::Reviews, 2), (Counter::ReviewRatingSum, 6)]
        );
        assert!(
            MetricsDelta::review_shown(5)
                .and(MetricsDelta::review_hidden(5))
                .is_empty()
        );
    }

    #[test]
    fn figures_sum_shards_and_fill_every_status() {
        let metrics = Metrics::from_totals([
            ("users_client_active", 2),
            ("users_client_active", 1),
            ("orders_completed", 1),
            ("gmv_EUR", 5_000),
            ("gmv_EUR", 2_000),
            ("reviews_count", 3),
            ("reviews_rating_sum", 13),
            ("messages_sent", 4),
            ("entity", 7),
        ]);
        assert_eq!(metrics.users["client"]["active"], 3);
        assert_eq!(metrics.users["admin"]["blocked"], 0);
        assert_eq!(metrics.gigs.len(), 6);
        assert_eq!(metrics.orders["completed"], 1);
        assert_eq!(metrics.orders["pending"], 0);
        assert_eq!(metrics.completed_order_value_cents["EUR"], 7_000);
        assert_eq!(metrics.reviews.average_rating, Some(4.33));
        assert_eq!(metrics.messages_sent, 4);
        assert_eq!(Metrics::from_totals([]).reviews.average_rating, None);
    }

    #[test]
    fn money_figures_come_from_the_platform_balances_of_every_currency() {
        use crate::domain::ledger::LedgerTransaction;
        use crate::domain::money::{BasisPoints, Currency, FeeSchedule};
        let schedule = FeeSchedule {
            service_fee: BasisPoints(550),
            service_fee_minimum_hundredths: 200,
            commission: BasisPoints(2_000),
        };
        let (eur, jpy) = (
            Currency::parse("EUR").unwrap(),
            Currency::parse("JPY").unwrap(),
        );
        let (kept, refunded, done) = (
            schedule.split(&eur, 4_999).unwrap(),
            schedule.split(&eur, 10_000).unwrap(),
            schedule.split(&jpy, 3_000).unwrap(),
        );
        let ids = [
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
        ];
        let mut balances = Balances::default();
        for transaction in [
            LedgerTransaction::order_paid(ids[0], &kept),
            LedgerTransaction::order_paid(ids[1], &refunded),
            LedgerTransaction::order_refunded(ids[1], &refunded),
            LedgerTransaction::order_paid(ids[2], &done),
            LedgerTransaction::order_completed(ids[2], uuid::Uuid::new_v4(), &done, false),
        ] {
            balances.apply(&transaction.unwrap()).unwrap();
        }
        let figures = MoneyFigures::from_balances(&balances);
        let cents = |amount: u64| i64::try_from(amount).unwrap();
        let eur_charged = cents(kept.client_total + refunded.client_total);
        assert_eq!(figures.gross_order_value_cents["EUR"], eur_charged);
        assert_eq!(figures.refunds_cents["EUR"], cents(refunded.client_total));
        assert_eq!(figures.escrow_held_cents["EUR"], cents(kept.client_total));
        assert_eq!(figures.fees_earned_cents["EUR"], 0);
        assert_eq!(
            figures.gross_order_value_cents["JPY"],
            cents(done.client_total)
        );
        assert_eq!(
            figures.fees_earned_cents["JPY"],
            cents(done.platform_fees())
        );
        assert_eq!(figures.escrow_held_cents["JPY"], 0);
        assert_eq!(
            MoneyFigures::from_balances(&Balances::default()),
            MoneyFigures::default()
        );
    }
}

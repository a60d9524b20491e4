//! The ledger's items: one item per ledger transaction (its postings, immutable, keyed by the
//! transaction's idempotent id) and one balance item per account and currency, moved by `ADD` in
//! the same DynamoDB transaction as the order change that causes the movement. A balance that
//! must not go negative is conditioned on holding at least what a posting takes from it, so the
//! table can never show one below zero (and a debt, which stays at or below zero, on owing at
//! least what a repayment pays). Also the payment processor's events that changed
//! something, written in that same transaction, so a redelivered event changes nothing.
//!
//!
//! Transactions that move a freelancer's earnings carry gsi1 keys for their `GET /me/payouts`.
//! Charges and refunds carry month keys on gsi4 for `GET /admin/payments`
//! (`store::admin::payments`), and every transaction adds its currency to the sharded set of
//! currencies the ledger holds money in, so `GET /admin/metrics` knows which balances to read
//! without a Scan (`store::metrics`).
//!
//! ```text
//! pk LEDGER#<transaction id>            sk TX         id, kind, order_id | withdrawal_id, currency, postings[], at
//! pk BALANCE#<account>#<currency>       sk BALANCE    account, currency, balance
//! pk LEDGER#CURRENCIES                  sk SHARD#<n>  currencies (a string set)
//! pk STRIPE_EVENT#<event id>            sk EVENT      order_id, expires_at
//! ```

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{self, Key, METRICS_SHARDS, attr, entity, index};
use super::transaction::Transaction;
use super::{Item, Store, from_item, n, s, to_item};
use crate::domain::ledger::{
    Balances, EarningsEntry, LedgerAccount, LedgerKind, LedgerTransaction, PaymentEntry,
};
use crate::domain::metrics::MoneyFigures;
use crate::domain::money::Currency;
use crate::error::ApiError;
use crate::store::audit::year_month;

/// How long an applied event is remembered: Stripe retries a delivery for up to three days.
const PROCESSOR_EVENT_TTL_SECS: i64 = 30 * 24 * 3600;

/// The balance attribute of a balance item.
const BALANCE: &str = "balance";

/// Written borrowing from the domain's transaction, read back owned.
#[derive(Serialize, Deserialize)]
struct StoredTransaction<'a> {
    id: Cow<'a, str>,
    kind: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    order_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    withdrawal_id: Option<Uuid>,
    currency: Cow<'a, str>,
    postings: Vec<StoredPosting>,
    /// Unix seconds.
    at: i64,
}

#[derive(Serialize, Deserialize)]
struct StoredPosting {
    account: String,
    amount: i64,
}

#[derive(Serialize)]
struct ProcessorEvent {
    order_id: Uuid,
    expires_at: i64,
}

#[derive(Deserialize)]
struct StoredBalance {
    #[serde(default)]
    balance: i64,
}

impl<N: Copy + Debug> Transaction<N> {
    /// The ledger transaction `ledger` (created once: its id is its idempotency) and the change of
    /// each account's balance it posts, named `entry` and `balance(account)`.
    pub(crate) fn ledger(
        &mut self,
        entry: N,
        balance: impl Fn(LedgerAccount) -> N,
        ledger: &LedgerTransaction,
        now_unix: i64,
    ) -> Result<&mut Self, ApiError> {
        let currency = ledger.currency.code();
        let stored = StoredTransaction {
            id: Cow::Borrowed(&ledger.id),
            kind: Cow::Borrowed(ledger.kind.id_prefix()),
            order_id: ledger.subject.order_id(),
            withdrawal_id: ledger.subject.withdrawal_id(),
            currency: Cow::Borrowed(currency),
            postings: ledger
                .postings
                .iter()
                .map(|posting| StoredPosting {
                    account: posting.account.to_string(),
                    amount: posting.amount,
                })
                .collect(),
            at: now_unix,
        };
        let mut item = to_item(
            &keys::ledger_transaction(&ledger.id),
            entity::LEDGER_TRANSACTION,
            &stored,
        )?;
        if ledger.kind.payment_kind().is_some() {
            item.extend(payment_month_keys(&ledger.id, now_unix));
        }
        if let Some(freelancer_id) = ledger.freelancer_id() {
            item.extend(freelancer_entry_keys(freelancer_id, &ledger.id, now_unix));
        }
        self.put_new(entry, item)?;
        // A set: adding a currency it holds changes nothing.
        self.update(
            entry,
            &keys::ledger_currencies(keys::shard_of(ledger.subject.id())),
            |update| {
                update
                    .update_expression("ADD #currencies :currency SET #entity = :entity")
                    .expression_attribute_names("#currencies", attr::CURRENCIES)
                    .expression_attribute_names("#entity", attr::ENTITY)
                    .expression_attribute_values(
                        ":currency",
                        AttributeValue::Ss(vec![currency.to_owned()]),
                    )
                    .expression_attribute_values(":entity", s(entity::LEDGER_CURRENCIES))
            },
        )?;
        // The freelancers' totals move with their balances (one posting per kind at most: a
        // transaction moves one freelancer's money). No condition: a total is only ever read.
        for posting in &ledger.postings {
            let Some(total) = posting.account.total() else {
                continue;
            };
            let key = keys::ledger_balance(&total.to_string(), currency);
            self.update(entry, &key, |update| {
                update
                    .update_expression(
                        "ADD #balance :amount SET #entity = :entity, account = :account, currency = :currency",
                    )
                    .expression_attribute_names("#balance", BALANCE)
                    .expression_attribute_names("#entity", super::keys::attr::ENTITY)
                    .expression_attribute_values(":amount", n(posting.amount))
                    .expression_attribute_values(":entity", s(entity::LEDGER_TOTAL))
                    .expression_attribute_values(":account", s(total.to_string()))
                    .expression_attribute_values(":currency", s(currency))
            })?;
        }
        for posting in &ledger.postings {
            let account = posting.account;
            let key = keys::ledger_balance(&account.to_string(), currency);
            self.update(balance(account), &key, |update| {
                let update = update
                    .update_expression(
                        "ADD #balance :amount SET #entity = :entity, account = :account, currency = :currency",
                    )
                    .expression_attribute_names("#balance", BALANCE)
                    .expression_attribute_names("#entity", super::keys::attr::ENTITY)
                    .expression_attribute_values(":amount", n(posting.amount))
                    .expression_attribute_values(":entity", s(entity::LEDGER_BALANCE))
                    .expression_attribute_values(":account", s(account.to_string()))
                    .expression_attribute_values(":currency", s(currency));
                if posting.amount < 0 && !account.may_go_negative() {
                    update
                        .condition_expression("#balance >= :needed")
                        .expression_attribute_values(":needed", n(-posting.amount))
                } else if posting.amount > 0 && !account.may_go_positive() {
                    // A debt is paid off at most whole: it stays at or below zero.
                    update
                        .condition_expression("#balance <= :limit")
                        .expression_attribute_values(":limit", n(-posting.amount))
                } else {
                    update
                }
            })?;
        }
        Ok(self)
    }

    /// Records that the processor's event `event_id` (about `order_id`) was applied; fails the
    /// transaction when it already was.
    pub(crate) fn processor_event(
        &mut self,
        name: N,
        event_id: &str,
        order_id: Uuid,
        now_unix: i64,
    ) -> Result<&mut Self, ApiError> {
        let event = ProcessorEvent {
            order_id,
            expires_at: now_unix + PROCESSOR_EVENT_TTL_SECS,
        };
        self.put_new(
            name,
            to_item(
                &keys::processor_event(event_id),
                entity::PROCESSOR_EVENT,
                &event,
            )?,
        )
    }
}

/// The gsi4 keys of a charge or refund written at `at_unix` (seconds).
fn payment_month_keys(transaction_id: &str, at_unix: i64) -> [(String, AttributeValue); 2] {
    let index = index::PAYMENTS_BY_MONTH;
    let at = OffsetDateTime::from_unix_timestamp(at_unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    [
        (
            index.pk().to_owned(),
            s(keys::payments_by_month(&year_month(at))),
        ),
        (
            index.sk().to_owned(),
            s(keys::payment_list_sort(
                i128::from(at_unix) * 1_000,
                transaction_id,
            )),
        ),
    ]
}

/// The gsi1 keys of a transaction that moves `freelancer_id`'s earnings, for their payouts page.
fn freelancer_entry_keys(
    freelancer_id: Uuid,
    transaction_id: &str,
    at_unix: i64,
) -> [(String, AttributeValue); 2] {
    let index = index::FREELANCER_LEDGER;
    [
        (
            index.pk().to_owned(),
            s(keys::freelancer_ledger_partition(freelancer_id)),
        ),
        (
            index.sk().to_owned(),
            s(keys::payment_list_sort(
                i128::from(at_unix) * 1_000,
                transaction_id,
            )),
        ),
    ]
}

/// A ledger transaction item as a freelancer's payouts page shows it: what it changed of
/// `freelancer_id`'s three balances.
pub(crate) fn earnings_entry(item: Item, freelancer_id: Uuid) -> Result<EarningsEntry, ApiError> {
    let stored: StoredTransaction = from_item(item)?;
    let kind = LedgerKind::from_id_prefix(&stored.kind).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!(
            "ledger transaction {} of an unknown kind",
            stored.id
        ))
    })?;
    let change = |account: LedgerAccount| {
        let name = account.to_string();
        stored
            .postings
            .iter()
            .filter(|posting| posting.account == name)
            .map(|posting| posting.amount)
            .sum::<i64>()
    };
    Ok(EarningsEntry {
        id: stored.id.to_string(),
        kind,
        order_id: stored.order_id,
        withdrawal_id: stored.withdrawal_id,
        currency: stored.currency.into_owned(),
        pending_change_cents: change(LedgerAccount::FreelancerPending(freelancer_id)),
        available_change_cents: change(LedgerAccount::FreelancerAvailable(freelancer_id)),
        paid_out_change_cents: change(LedgerAccount::FreelancerPaidOut(freelancer_id)),
        frozen_change_cents: change(LedgerAccount::FreelancerFrozen(freelancer_id)),
        debt_change_cents: change(LedgerAccount::FreelancerDebt(freelancer_id)),
        at: OffsetDateTime::from_unix_timestamp(stored.at).map_err(ApiError::internal)?,
    })
}

/// A charge or refund transaction item as `GET /admin/payments` lists it.
pub(crate) fn payment_entry(item: Item) -> Result<PaymentEntry, ApiError> {
    let stored: StoredTransaction = from_item(item)?;
    let kind = LedgerKind::from_id_prefix(&stored.kind)
        .and_then(LedgerKind::payment_kind)
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "ledger transaction {} of kind {} is no payment",
                stored.id,
                stored.kind
            ))
        })?;
    // A charge and a refund each move the whole charge from one account to another.
    let amount: i64 = stored
        .postings
        .iter()
        .map(|posting| posting.amount.max(0))
        .sum();
    let order_id = stored.order_id.ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("payment {} names no order", stored.id))
    })?;
    Ok(PaymentEntry {
        id: stored.id.into_owned(),
        kind,
        order_id,
        currency: stored.currency.into_owned(),
        amount_cents: u64::try_from(amount).map_err(ApiError::internal)?,
        at: OffsetDateTime::from_unix_timestamp(stored.at).map_err(ApiError::internal)?,
    })
}

/// Every shard of the ledger's currency set.
pub(super) fn currency_shards() -> Vec<Key> {
    (0..METRICS_SHARDS).map(keys::ledger_currencies).collect()
}

/// The currencies in the currency shard items among `items` (other items are skipped).
pub(super) fn currencies_in(items: &[Item]) -> BTreeSet<Currency> {
    items
        .iter()
        .filter(|item| {
            item.get(attr::ENTITY).and_then(|value| value.as_s().ok())
                == Some(&entity::LEDGER_CURRENCIES.to_owned())
        })
        .filter_map(|item| item.get(attr::CURRENCIES)?.as_ss().ok())
        .flatten()
        .filter_map(|code| Currency::parse(code).ok())
        .collect()
}

/// The balance items the money figures of `currencies` are read from, by the partition key
/// each has.
pub(super) fn figure_balances(
    currencies: &BTreeSet<Currency>,
) -> HashMap<Key, (LedgerAccount, Currency)> {
    currencies
        .iter()
        .flat_map(|currency| {
            MoneyFigures::ACCOUNTS.map(|account| {
                (
                    keys::ledger_balance(&account.to_string(), currency.code()),
                    (account, currency.clone()),
                )
            })
        })
        .collect()
}

/// The balances in `items`, each found by its key in `wanted` ([`figure_balances`]); a balance
/// item that does not exist yet is a zero balance.
pub(super) fn balances_in(
    items: Vec<Item>,
    wanted: &HashMap<Key, (LedgerAccount, Currency)>,
) -> Result<Balances, ApiError> {
    let mut balances: HashMap<(LedgerAccount, Currency), i64> =
        wanted.values().map(|wanted| (wanted.clone(), 0)).collect();
    for item in items {
        let text = |name: &str| {
            item.get(name)
                .and_then(|value| value.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let key = Key {
            pk: text(attr::PK),
            sk: text(attr::SK),
        };
        let Some(wanted) = wanted.get(&key) else {
            continue;
        };
        let stored: StoredBalance = from_item(item)?;
        balances.insert(wanted.clone(), stored.balance);
    }
    Ok(balances.into_iter().collect())
}

/// How writing a ledger transaction on its own ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerWrite {
    Written,
    /// A transaction of this id was written before: the movement happened.
    Exists,
    /// A balance it moves changed since it was computed (its condition failed): compute again.
    BalanceChanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writing {
    Entry,
    Balance(LedgerAccount),
}

impl Store {
    /// Writes a ledger transaction that changes no item of its own (a reversal's, which only
    /// the processor records): idempotent by its id.
    pub async fn write_ledger(
        &self,
        ledger: &LedgerTransaction,
        now_unix: i64,
    ) -> Result<LedgerWrite, ApiError> {
        let mut transaction = self.transaction();
        transaction.ledger(Writing::Entry, Writing::Balance, ledger, now_unix)?;
        Ok(match self.transact(transaction).await? {
            super::transaction::TransactOutcome::Committed => LedgerWrite::Written,
            super::transaction::TransactOutcome::ConditionFailed(failed)
                if failed.includes(Writing::Entry) =>
            {
                LedgerWrite::Exists
            }
            super::transaction::TransactOutcome::ConditionFailed(_) => LedgerWrite::BalanceChanged,
        })
    }

    /// One account's balance in `currency` (0 when nothing was ever posted to it).
    pub async fn ledger_balance(
        &self,
        account: LedgerAccount,
        currency: &Currency,
    ) -> Result<i64, ApiError> {
        let stored: Option<StoredBalance> = self
            .get_as(&keys::ledger_balance(&account.to_string(), currency.code()))
            .await?;
        Ok(stored.map_or(0, |stored| stored.balance))
    }

    /// Whether the processor's event `event_id` was applied (within the record's 30 days).
    pub async fn processor_event_applied(&self, event_id: &str) -> Result<bool, ApiError> {
        Ok(self.get(&keys::processor_event(event_id)).await?.is_some())
    }

    /// Whether the ledger transaction `id` was written.
    pub async fn ledger_transaction_exists(&self, id: &str) -> Result<bool, ApiError> {
        Ok(self.get(&keys::ledger_transaction(id)).await?.is_some())
    }
}

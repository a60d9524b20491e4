//! The ledger's items: one item per ledger transaction (its postings, immutable, keyed by the
//! transaction's idempotent id) and one balance item per account and currency, moved by `ADD` in
//! the same DynamoDB transaction as the order change that causes the movement. A balance that
//! must not go negative is conditioned on holding at least what a posting takes from it, so the
//! table can never show one below zero. Also the payment processor's events that changed
//! something, written in that same transaction, so a redelivered event changes nothing.
//!
//! ```text
//! pk LEDGER#<transaction id>            sk TX       kind, order_id, currency, postings[]
//! pk BALANCE#<account>#<currency>       sk BALANCE  account, currency, balance
//! pk STRIPE_EVENT#<event id>            sk EVENT    order_id, expires_at
//! ```

use std::fmt::Debug;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::{self, entity};
use super::transaction::Transaction;
use super::{Store, n, s, to_item};
use crate::domain::ledger::{LedgerAccount, LedgerTransaction};
use crate::domain::money::Currency;
use crate::error::ApiError;

/// How long an applied event is remembered: Stripe retries a delivery for up to three days.
const PROCESSOR_EVENT_TTL_SECS: i64 = 30 * 24 * 3600;

/// The balance attribute of a balance item.
const BALANCE: &str = "balance";

#[derive(Serialize)]
struct StoredTransaction<'a> {
    kind: &'static str,
    order_id: Uuid,
    currency: &'a str,
    postings: Vec<StoredPosting>,
    at: i64,
}

#[derive(Serialize)]
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
            kind: ledger.kind.id_prefix(),
            order_id: ledger.order_id,
            currency,
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
        self.put_new(
            entry,
            to_item(
                &keys::ledger_transaction(&ledger.id),
                entity::LEDGER_TRANSACTION,
                &stored,
            )?,
        )?;
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
                if account.may_go_negative() || posting.amount >= 0 {
                    update
                } else {
                    update
                        .condition_expression("#balance >= :needed")
                        .expression_attribute_values(":needed", n(-posting.amount))
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

impl Store {
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

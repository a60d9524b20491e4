//! Payouts' items: the freelancer's connected account, one earning per completed order, the
//! withdrawals and the idempotency record of a withdrawal request (key layouts: `store::keys`,
//! "Payouts").
//!
//! Every movement of earnings is a ledger transaction written in the same DynamoDB transaction
//! as the earning or withdrawal it concerns, so the items and the balances never disagree:
//! an earning is created with its order's completion (`store::orders`), cleared with
//! `earnings_cleared`, drawn on by a withdrawal (conditioned on the amount withdrawn as read,
//! so two concurrent withdrawals can not both take the same money, and on the `available`
//! balance), and given back with `withdrawal_returned` when Stripe refuses a transfer.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{self, attr, entity, index};
use super::paged::Listing;
use super::transaction::{TransactOutcome, Transaction};
use super::{Item, Store, from_item, n, s, to_item};
use crate::domain::ledger::{EarningsEntry, LedgerAccount, LedgerTransaction};
use crate::domain::money::Currency;
use crate::domain::payout::{Earning, EarningStatus, PayoutAccount, TransferStatus, Withdrawal};
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};

/// How long a withdrawal request's Idempotency-Key is remembered.
pub const WITHDRAWAL_REQUEST_TTL_SECS: i64 = 24 * 3600;

const WITHDRAWN: &str = "withdrawn_cents";

/// What a retried withdrawal request finds: the withdrawal the key made, and what it asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalRequest {
    pub user_id: Uuid,
    pub withdrawal_id: Uuid,
    pub amount_cents: Option<u64>,
    pub currency: String,
    pub expires_at: i64,
}

/// How recording a withdrawal ended.
#[derive(Debug)]
pub enum WithdrawalWrite {
    Recorded,
    /// The Idempotency-Key was used before: here is what it made.
    Replayed(WithdrawalRequest),
    /// Another withdrawal took from the same earnings or balance first: read again.
    Raced,
}

/// A freelancer's balances in one currency, with their next clearances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarningsBalance {
    pub currency: Currency,
    pub pending: i64,
    pub available: i64,
    pub paid_out: i64,
    pub frozen: i64,
    /// At or below zero: what the freelancer owes.
    pub debt: i64,
    /// The oldest pending earnings (they clear first).
    pub next_pending: Vec<Earning>,
}

/// A freelancer's automatic withdrawal, marked due on their payout account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct AutoWithdrawalDue {
    pub user_id: Uuid,
    /// The mark's id, new with each mark: the scheduler's withdrawal keys derive from it, so a
    /// run that stopped half-way and runs again finds the withdrawals it made.
    #[serde(rename = "auto_withdrawal_mark")]
    pub mark: Uuid,
}

/// The `SET` clause that marks an automatic withdrawal due, for an update made with
/// [`marking_due`].
const MARK_DUE: &str = "#due_pk = :due_pk, #due_sk = :due_sk, #mark = :mark";

/// Marks the freelancer's automatic withdrawal due as of `now_unix`, with a fresh mark (its
/// `SET` clause is [`MARK_DUE`]).
fn marking_due(update: UpdateBuilder, user_id: Uuid, now_unix: i64) -> UpdateBuilder {
    let due = index::PAYOUT_DEADLINES;
    update
        .expression_attribute_names("#due_pk", due.pk())
        .expression_attribute_names("#due_sk", due.sk())
        .expression_attribute_names("#mark", attr::AUTO_WITHDRAWAL_MARK)
        .expression_attribute_values(":due_pk", s(keys::due_auto_withdrawal_partition()))
        .expression_attribute_values(":due_sk", s(keys::deadline_sort(now_unix, user_id)))
        .expression_attribute_values(":mark", s(Uuid::now_v7().to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writing {
    Account,
    Earning,
    Withdrawal,
    Request,
    LedgerEntry,
    Balance(LedgerAccount),
}

/// The earning's item with the index keys of its status.
pub(super) fn earning_item(earning: &Earning) -> Result<Item, ApiError> {
    let mut item = to_item(
        &keys::earning(earning.freelancer_id, earning.order_id),
        entity::EARNING,
        earning,
    )?;
    item.extend(earning_index_keys(earning));
    Ok(item)
}

/// gsi2 by status (while it holds something), gsi3 while pending.
fn earning_index_keys(earning: &Earning) -> Vec<(String, AttributeValue)> {
    let completed = earning.completed_at.unix_timestamp();
    let sort = keys::deadline_sort(completed, earning.order_id);
    let mut keys_of = Vec::new();
    let status = match earning.status {
        EarningStatus::Pending => Some("PENDING"),
        EarningStatus::Available if earning.remaining_cents() > 0 => Some("AVAILABLE"),
        EarningStatus::Available | EarningStatus::Frozen | EarningStatus::Forfeited => None,
    };
    if let Some(status) = status {
        let by_status = index::EARNINGS_BY_STATUS;
        keys_of.push((
            by_status.pk().to_owned(),
            s(keys::earnings_by_status(
                earning.freelancer_id,
                status,
                &earning.currency,
            )),
        ));
        keys_of.push((by_status.sk().to_owned(), s(sort.clone())));
    }
    if earning.status == EarningStatus::Pending {
        let due = index::PAYOUT_DEADLINES;
        keys_of.push((due.pk().to_owned(), s(keys::due_clearance_partition())));
        keys_of.push((due.sk().to_owned(), s(sort)));
    }
    keys_of
}

fn withdrawal_item(withdrawal: &Withdrawal) -> Result<Item, ApiError> {
    let mut item = to_item(
        &keys::withdrawal(withdrawal.freelancer_id, withdrawal.id),
        entity::WITHDRAWAL,
        withdrawal,
    )?;
    item.insert(attr::VERSION.to_owned(), n(withdrawal_version(withdrawal)));
    if withdrawal
        .transfers
        .iter()
        .any(|transfer| transfer.status == TransferStatus::Sending)
    {
        super::put_on_list(
            &mut item,
            index::PAYOUT_DEADLINES,
            keys::due_withdrawal_partition(),
            keys::deadline_sort(withdrawal.created_at.unix_timestamp(), withdrawal.id),
        );
    }
    Ok(item)
}

/// A withdrawal's version: its `updated_at` in nanoseconds, so a write conditioned on it fails
/// when anyone wrote the withdrawal since it was read.
fn withdrawal_version(withdrawal: &Withdrawal) -> i128 {
    withdrawal.updated_at.unix_timestamp_nanos()
}

impl<N: Copy + std::fmt::Debug> Transaction<N> {
    /// A completed order's earning, created once, and its currency in the freelancer's set.
    pub(crate) fn new_earning(
        &mut self,
        name: N,
        earning: &Earning,
    ) -> Result<&mut Self, ApiError> {
        self.put_new(name, earning_item(earning)?)?;
        self.update(
            name,
            &keys::earnings_currencies(earning.freelancer_id),
            |update| {
                update
                    .update_expression("ADD #currencies :currency SET #entity = :entity")
                    .expression_attribute_names("#currencies", attr::CURRENCIES)
                    .expression_attribute_names("#entity", attr::ENTITY)
                    .expression_attribute_values(
                        ":currency",
                        AttributeValue::Ss(vec![earning.currency.clone()]),
                    )
                    .expression_attribute_values(":entity", s(entity::EARNINGS_CURRENCIES))
            },
        )
    }
}

impl<N: Copy + std::fmt::Debug> Transaction<N> {
    /// Writes `after` over the earning `before` as it was read: fails when a withdrawal, a
    /// clearance, a dispute or a refund moved it since.
    pub(crate) fn earning_as_read(
        &mut self,
        name: N,
        before: &Earning,
        after: &Earning,
    ) -> Result<&mut Self, ApiError> {
        let status = super::attribute(&before.status)?;
        self.put(name, earning_item(after)?, |put| {
            put.condition_expression(
                "#status = :status AND #withdrawn = :withdrawn \
                 AND (attribute_not_exists(#repaid) OR #repaid = :repaid) \
                 AND (attribute_not_exists(#refunded) OR #refunded = :refunded)",
            )
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#withdrawn", WITHDRAWN)
            .expression_attribute_names("#repaid", "debt_repaid_cents")
            .expression_attribute_names("#refunded", "refunded_cents")
            .expression_attribute_values(":status", status)
            .expression_attribute_values(":withdrawn", n(before.withdrawn_cents))
            .expression_attribute_values(":repaid", n(before.debt_repaid_cents))
            .expression_attribute_values(":refunded", n(before.refunded_cents))
        })
    }
}

impl Store {
    /// The freelancer's connected account, if they started onboarding.
    pub async fn payout_account(&self, user_id: Uuid) -> Result<Option<PayoutAccount>, ApiError> {
        self.get_as(&keys::payout_account(user_id)).await
    }

    /// Records the freelancer's connected account unless one is recorded; answers the one that
    /// is (a concurrent first request may have won).
    pub async fn create_payout_account(
        &self,
        account: &PayoutAccount,
    ) -> Result<PayoutAccount, ApiError> {
        let item = to_item(
            &keys::payout_account(account.user_id),
            entity::PAYOUT_ACCOUNT,
            account,
        )?;
        let written = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(format!("attribute_not_exists({})", attr::PK))
            .send()
            .await;
        match written {
            Ok(_) => Ok(account.clone()),
            Err(error) if super::condition_failed(&error) => self
                .payout_account(account.user_id)
                .await?
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("payout account vanished"))),
            Err(error) => Err(super::sdk_error("PutItem")(error)),
        }
    }

    /// Records what Stripe holds about the account now: whether it takes payouts and what
    /// Stripe still needs. Conditioned on the account it is about and on `auto_withdraw` as
    /// read; `mark_due` also marks an automatic withdrawal due (payouts just enabled under the
    /// setting). `false`: another account, or the setting changed since it was read.
    pub async fn record_payout_account(
        &self,
        account: &PayoutAccount,
        mark_due: bool,
    ) -> Result<bool, ApiError> {
        let mut set =
            "#enabled = :enabled, #requirements = :requirements, #updated = :updated".to_owned();
        if mark_due {
            set = format!("{set}, {MARK_DUE}");
        }
        let setting = if account.auto_withdraw {
            "#auto = :true"
        } else {
            "(attribute_not_exists(#auto) OR #auto = :false)"
        };
        let mut transaction = self.transaction();
        transaction.update(
            Writing::Account,
            &keys::payout_account(account.user_id),
            |update| {
                let update = update
                    .update_expression(format!("SET {set}"))
                    .condition_expression(format!("stripe_account_id = :account AND {setting}"))
                    .expression_attribute_names("#enabled", "payouts_enabled")
                    .expression_attribute_names("#requirements", "requirements_due")
                    .expression_attribute_names("#updated", "updated_at")
                    .expression_attribute_names("#auto", attr::AUTO_WITHDRAW)
                    .expression_attribute_values(
                        ":enabled",
                        AttributeValue::Bool(account.payouts_enabled),
                    )
                    .expression_attribute_values(
                        ":requirements",
                        AttributeValue::L(account.requirements_due.iter().map(s).collect()),
                    )
                    .expression_attribute_values(":updated", super::rfc3339(account.updated_at))
                    .expression_attribute_values(":account", s(&account.stripe_account_id));
                let update = if account.auto_withdraw {
                    update.expression_attribute_values(":true", AttributeValue::Bool(true))
                } else {
                    update.expression_attribute_values(":false", AttributeValue::Bool(false))
                };
                if mark_due {
                    marking_due(update, account.user_id, account.updated_at.unix_timestamp())
                } else {
                    update
                }
            },
        )?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(_) => Ok(false),
        }
    }

    /// Turns the freelancer's automatic withdrawal on or off, on their payout account (written
    /// for the store's acting user). On, it also marks an automatic withdrawal due: what is
    /// available already is withdrawn by the scheduler's next run. `false`: no payout account.
    pub async fn set_auto_withdraw(
        &self,
        user_id: Uuid,
        on: bool,
        now_unix: i64,
    ) -> Result<bool, ApiError> {
        let mut transaction = self.transaction();
        transaction.update(Writing::Account, &keys::payout_account(user_id), |update| {
            let update = update
                .condition_expression(format!("attribute_exists({})", attr::PK))
                .expression_attribute_names("#auto", attr::AUTO_WITHDRAW)
                .expression_attribute_values(":on", AttributeValue::Bool(on));
            if on {
                marking_due(
                    update.update_expression(format!("SET #auto = :on, {MARK_DUE}")),
                    user_id,
                    now_unix,
                )
            } else {
                let due = index::PAYOUT_DEADLINES;
                update
                    .update_expression("SET #auto = :on REMOVE #due_pk, #due_sk, #mark")
                    .expression_attribute_names("#due_pk", due.pk())
                    .expression_attribute_names("#due_sk", due.sk())
                    .expression_attribute_names("#mark", attr::AUTO_WITHDRAWAL_MARK)
            }
        })?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(failed) if failed.includes(Writing::Account) => {
                Ok(false)
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "payout settings: unexpected condition failure of {failed:?}"
            ))),
        }
    }

    /// Payout accounts whose automatic withdrawal was marked due at or before `marked_by`.
    pub async fn due_auto_withdrawals(
        &self,
        marked_by: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<AutoWithdrawalDue>, ApiError> {
        self.due(
            index::PAYOUT_DEADLINES,
            keys::due_auto_withdrawal_partition(),
            marked_by,
            limit,
        )
        .await
    }

    /// Takes the automatic withdrawal off the scheduler's list, unless it was marked again
    /// since `due` was read (then the next run withdraws what the new mark is for).
    pub async fn auto_withdrawal_done(&self, due: &AutoWithdrawalDue) -> Result<bool, ApiError> {
        let index = index::PAYOUT_DEADLINES;
        let written = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(super::key_attributes(&keys::payout_account(
                due.user_id,
            ))))
            .update_expression("REMOVE #due_pk, #due_sk, #mark")
            .condition_expression("#mark = :mark")
            .expression_attribute_names("#due_pk", index.pk())
            .expression_attribute_names("#due_sk", index.sk())
            .expression_attribute_names("#mark", attr::AUTO_WITHDRAWAL_MARK)
            .expression_attribute_values(":mark", s(due.mark.to_string()))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(error) if super::condition_failed(&error) => Ok(false),
            Err(error) => Err(super::sdk_error("UpdateItem")(error)),
        }
    }

    /// Pending earnings completed at or before `completed_by`: what has cleared.
    pub async fn due_clearances(
        &self,
        completed_by: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Earning>, ApiError> {
        self.due(
            index::PAYOUT_DEADLINES,
            keys::due_clearance_partition(),
            completed_by,
            limit,
        )
        .await
    }

    /// Moves a pending earning to available, with its ledger transaction; what the freelancer
    /// owes (a lost dispute's debt) is paid from it first. `false` when it was cleared already,
    /// or the debt changed meanwhile (the next run clears it).
    ///
    /// `auto_withdrawal`: the freelancer's cleared earnings are withdrawn automatically, so the
    /// same transaction marks an automatic withdrawal due on their payout account.
    pub async fn clear_earning(
        &self,
        earning: &Earning,
        auto_withdrawal: bool,
        now_unix: i64,
    ) -> Result<bool, ApiError> {
        let currency = Currency::parse(&earning.currency).map_err(ApiError::internal)?;
        let owed = self
            .ledger_balance(
                LedgerAccount::FreelancerDebt(earning.freelancer_id),
                &currency,
            )
            .await?
            .min(0)
            .unsigned_abs();
        let clearing = earning.unwithdrawn_cents();
        let repaid = owed.min(clearing);
        let ledger = LedgerTransaction::earnings_cleared(
            earning.order_id,
            earning.freelancer_id,
            currency,
            clearing,
            repaid,
            earning.released_by.as_deref(),
        )
        .map_err(ApiError::internal)?;
        let cleared = Earning {
            status: EarningStatus::Available,
            debt_repaid_cents: earning.debt_repaid_cents + repaid,
            ..earning.clone()
        };
        let mut transaction = self.transaction();
        transaction.put(Writing::Earning, earning_item(&cleared)?, |put| {
            put.condition_expression("#status = :pending")
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_values(":pending", s("pending"))
        })?;
        transaction.ledger(Writing::LedgerEntry, Writing::Balance, &ledger, now_unix)?;
        if auto_withdrawal {
            let user_id = earning.freelancer_id;
            transaction.update(Writing::Account, &keys::payout_account(user_id), |update| {
                marking_due(
                    update
                        .update_expression(format!("SET {MARK_DUE}"))
                        .condition_expression(format!("attribute_exists({})", attr::PK)),
                    user_id,
                    now_unix,
                )
            })?;
        }
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(failed)
                if failed.includes(Writing::Earning)
                    || failed.includes(Writing::Account)
                    || failed.includes(Writing::Balance(LedgerAccount::FreelancerDebt(
                        earning.freelancer_id,
                    ))) =>
            {
                Ok(false)
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "clearance: unexpected condition failure of {failed:?}"
            ))),
        }
    }

    /// Every currency the freelancer earned in, sorted.
    pub async fn earned_currencies(&self, freelancer_id: Uuid) -> Result<Vec<Currency>, ApiError> {
        #[derive(Deserialize)]
        struct Currencies {
            #[serde(default)]
            currencies: Vec<String>,
        }
        let currencies: Option<Currencies> = self
            .get_as(&keys::earnings_currencies(freelancer_id))
            .await?;
        let mut currencies: Vec<Currency> = currencies
            .map(|stored| stored.currencies)
            .unwrap_or_default()
            .iter()
            .filter_map(|code| Currency::parse(code).ok())
            .collect();
        currencies.sort();
        Ok(currencies)
    }

    /// The freelancer's balances in every currency they earned in, with the oldest
    /// `next_clearances` pending earnings of each.
    pub async fn earnings_balances(
        &self,
        freelancer_id: Uuid,
        next_clearances: usize,
    ) -> Result<Vec<EarningsBalance>, ApiError> {
        let currencies = self.earned_currencies(freelancer_id).await?;
        let accounts = |currency: &Currency| {
            [
                LedgerAccount::FreelancerPending(freelancer_id),
                LedgerAccount::FreelancerAvailable(freelancer_id),
                LedgerAccount::FreelancerPaidOut(freelancer_id),
                LedgerAccount::FreelancerFrozen(freelancer_id),
                LedgerAccount::FreelancerDebt(freelancer_id),
            ]
            .map(|account| {
                (
                    keys::ledger_balance(&account.to_string(), currency.code()),
                    (account, currency.clone()),
                )
            })
        };
        let wanted = currencies.iter().flat_map(accounts).collect();
        let items = self
            .batch_get(
                currencies
                    .iter()
                    .flat_map(accounts)
                    .map(|(key, _)| key)
                    .collect(),
            )
            .await?;
        let balances = super::ledger::balances_in(items, &wanted)?;
        let mut all = Vec::with_capacity(currencies.len());
        for currency in currencies {
            let listing = Listing::on(
                index::EARNINGS_BY_STATUS,
                keys::earnings_by_status(freelancer_id, "PENDING", currency.code()),
            );
            let next_pending = self
                .page_as(&listing, &PageRequest::first(next_clearances as u32))
                .await?
                .0;
            all.push(EarningsBalance {
                pending: balances.get(LedgerAccount::FreelancerPending(freelancer_id), &currency),
                available: balances
                    .get(LedgerAccount::FreelancerAvailable(freelancer_id), &currency),
                paid_out: balances.get(LedgerAccount::FreelancerPaidOut(freelancer_id), &currency),
                frozen: balances.get(LedgerAccount::FreelancerFrozen(freelancer_id), &currency),
                debt: balances.get(LedgerAccount::FreelancerDebt(freelancer_id), &currency),
                currency,
                next_pending,
            });
        }
        Ok(all)
    }

    /// One page of the ledger transactions that moved the freelancer's earnings, newest first.
    pub async fn earnings_entries(
        &self,
        freelancer_id: Uuid,
        page: &PageRequest,
    ) -> Result<(Vec<EarningsEntry>, Option<Position>), ApiError> {
        let listing = Listing::on(
            index::FREELANCER_LEDGER,
            keys::freelancer_ledger_partition(freelancer_id),
        )
        .descending();
        let (items, next) = self.page(&listing, page).await?;
        let entries = items
            .into_iter()
            .map(|item| super::ledger::earnings_entry(item, freelancer_id))
            .collect::<Result<_, _>>()?;
        Ok((entries, next))
    }

    /// The freelancer's available earnings in `currency` with something left, oldest first
    /// (strongly consistent: a withdrawal is planned from them).
    pub async fn available_earnings(
        &self,
        freelancer_id: Uuid,
        currency: &Currency,
        limit: usize,
    ) -> Result<Vec<Earning>, ApiError> {
        let listing = Listing::on(
            index::EARNINGS_BY_STATUS,
            keys::earnings_by_status(freelancer_id, "AVAILABLE", currency.code()),
        );
        let items = self.read_all(&listing, limit).await?;
        // The index is eventually consistent: read each earning itself, as it is now.
        let keys_of = items
            .into_iter()
            .map(from_item::<Earning>)
            .map(|earning| earning.map(|e| keys::earning(e.freelancer_id, e.order_id)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut earnings: Vec<Earning> = self
            .batch_get(keys_of)
            .await?
            .into_iter()
            .map(from_item)
            .collect::<Result<_, _>>()?;
        earnings.sort_by_key(|earning| (earning.completed_at, earning.order_id));
        Ok(earnings)
    }

    /// The request an Idempotency-Key made, while it is remembered.
    pub async fn withdrawal_request(
        &self,
        user_id: Uuid,
        idempotency_key: &str,
        now_unix: i64,
    ) -> Result<Option<WithdrawalRequest>, ApiError> {
        let request: Option<WithdrawalRequest> = self
            .get_as(&keys::withdrawal_request(user_id, idempotency_key))
            .await?;
        Ok(request.filter(|request| request.expires_at > now_unix))
    }

    /// Records a new withdrawal: the withdrawal, what it takes from each earning (each
    /// conditioned on what was read of it), its ledger transaction (conditioned on the
    /// available balance) and the request's Idempotency-Key, in one transaction.
    pub async fn record_withdrawal(
        &self,
        withdrawal: &Withdrawal,
        drawn_from: &[Earning],
        request: &WithdrawalRequest,
        idempotency_key: &str,
    ) -> Result<WithdrawalWrite, ApiError> {
        let now_unix = withdrawal.created_at.unix_timestamp();
        let currency = Currency::parse(&withdrawal.currency).map_err(ApiError::internal)?;
        let ledger = LedgerTransaction::withdrawal(
            withdrawal.id,
            withdrawal.freelancer_id,
            currency,
            withdrawal.amount_cents,
        )
        .map_err(ApiError::internal)?;
        let mut transaction = self.transaction();
        transaction.put_new(Writing::Withdrawal, withdrawal_item(withdrawal)?)?;
        for transfer in &withdrawal.transfers {
            let earning = drawn_from
                .iter()
                .find(|earning| earning.order_id == transfer.order_id)
                .ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("a transfer of no earning read"))
                })?;
            let drawn = Earning {
                withdrawn_cents: earning.withdrawn_cents + transfer.amount_cents,
                ..earning.clone()
            };
            transaction.put(Writing::Earning, earning_item(&drawn)?, |put| {
                put.condition_expression("#withdrawn = :read AND #status = :available")
                    .expression_attribute_names("#withdrawn", WITHDRAWN)
                    .expression_attribute_names("#status", attr::STATUS)
                    .expression_attribute_values(":read", n(earning.withdrawn_cents))
                    .expression_attribute_values(":available", s("available"))
            })?;
        }
        transaction.ledger(Writing::LedgerEntry, Writing::Balance, &ledger, now_unix)?;
        transaction.put_request(
            Writing::Request,
            to_item(
                &keys::withdrawal_request(withdrawal.freelancer_id, idempotency_key),
                entity::WITHDRAWAL_REQUEST,
                request,
            )?,
            now_unix,
        )?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(WithdrawalWrite::Recorded),
            TransactOutcome::ConditionFailed(failed) if failed.includes(Writing::Request) => {
                match self
                    .withdrawal_request(withdrawal.freelancer_id, idempotency_key, now_unix)
                    .await?
                {
                    Some(request) => Ok(WithdrawalWrite::Replayed(request)),
                    None => Ok(WithdrawalWrite::Raced),
                }
            }
            TransactOutcome::ConditionFailed(_) => Ok(WithdrawalWrite::Raced),
        }
    }

    pub async fn get_withdrawal(
        &self,
        freelancer_id: Uuid,
        withdrawal_id: Uuid,
    ) -> Result<Option<Withdrawal>, ApiError> {
        self.get_as(&keys::withdrawal(freelancer_id, withdrawal_id))
            .await
    }

    /// Withdrawals with a transfer not yet made, created at or before `created_by`.
    pub async fn due_withdrawals(
        &self,
        created_by: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Withdrawal>, ApiError> {
        self.due(
            index::PAYOUT_DEADLINES,
            keys::due_withdrawal_partition(),
            created_by,
            limit,
        )
        .await
    }

    /// Writes `after`, the withdrawal `before` with one transfer moved on (made or refused),
    /// with what a refused transfer gives back (its earning's withdrawn amount, as read, and the
    /// ledger's `withdrawal_returned`; one a write, as each moves the same two balances).
    /// `false`: someone wrote the withdrawal or the earning since they were read.
    pub async fn record_transfer(
        &self,
        before: &Withdrawal,
        after: &Withdrawal,
        returned: Option<(&Earning, u64)>,
    ) -> Result<bool, ApiError> {
        let now_unix = after.updated_at.unix_timestamp();
        let currency = Currency::parse(&after.currency).map_err(ApiError::internal)?;
        let mut transaction = self.transaction();
        transaction.put(Writing::Withdrawal, withdrawal_item(after)?, |put| {
            put.condition_expression("#version = :version")
                .expression_attribute_names("#version", attr::VERSION)
                .expression_attribute_values(":version", n(withdrawal_version(before)))
        })?;
        if let Some((earning, amount)) = returned {
            let given_back = Earning {
                withdrawn_cents: earning.withdrawn_cents.saturating_sub(amount),
                ..earning.clone()
            };
            transaction.put(Writing::Earning, earning_item(&given_back)?, |put| {
                put.condition_expression("#withdrawn = :read")
                    .expression_attribute_names("#withdrawn", WITHDRAWN)
                    .expression_attribute_values(":read", n(earning.withdrawn_cents))
            })?;
            let ledger = LedgerTransaction::withdrawal_returned(
                after.id,
                earning.order_id,
                after.freelancer_id,
                currency,
                amount,
            )
            .map_err(ApiError::internal)?;
            transaction.ledger(Writing::LedgerEntry, Writing::Balance, &ledger, now_unix)?;
        }
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(_) => Ok(false),
        }
    }

    /// One earning as it is now.
    pub async fn get_earning(
        &self,
        freelancer_id: Uuid,
        order_id: Uuid,
    ) -> Result<Option<Earning>, ApiError> {
        self.get_as(&keys::earning(freelancer_id, order_id)).await
    }
}

//! Payout use cases: a freelancer's Stripe Connect onboarding, their balances, withdrawals and
//! the transfers that pay them, the clearance of earnings, and what Stripe reports about
//! connected accounts and transfers.
//!
//! A withdrawal is written first (the earnings it draws on, the ledger's `withdrawal`
//! transaction and the request's Idempotency-Key, in one DynamoDB transaction), and only then
//! does Stripe hear of it: one transfer per earning, each with an Idempotency-Key derived from
//! the withdrawal and the order (`transfer:<withdrawal>:<order>`), so a retried request, a
//! crash between the calls or the scheduler's second attempt can never make a second transfer.
//! A transfer Stripe refuses gives its amount back to `available`; one Stripe could not answer
//! stays `sending` on the scheduler's list.
//!
//! A freelancer with automatic withdrawal on is marked due when something of theirs may be
//! withdrawn (an earning cleared, payouts enabled, the setting turned on); the scheduler then
//! withdraws through [`withdraw`] itself, under an Idempotency-Key derived from the mark.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::ledger::{EarningsEntry, LedgerAccount, LedgerTransaction};
use crate::domain::money::Currency;
use crate::domain::order::check_idempotency_key;
use crate::domain::payout::{
    Earning, MAX_TRANSFERS, PayoutAccount, PayoutReversal, TransferStatus, Withdrawal,
    WithdrawalError, WithdrawalStatus, plan_withdrawal,
};
use crate::domain::user::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, Page, PageParams};
use crate::store::Store;
use crate::store::ledger::LedgerWrite;
use crate::store::payouts::{
    AutoWithdrawalDue, WITHDRAWAL_REQUEST_TTL_SECS, WithdrawalRequest, WithdrawalWrite,
};
use crate::stripe::client::{
    Account, Event, NewAccount, NewTransfer, StripeClient, Transfer, TransferReversal,
};

use super::stripe_reports::unavailable;

/// The Connect event types the Connect webhook endpoint subscribes to.
pub const CONNECT_WEBHOOK_EVENTS: [&str; 1] = [ACCOUNT_UPDATED];
const ACCOUNT_UPDATED: &str = "account.updated";
/// The platform event that confirms a transfer (delivered to the payments webhook).
pub const TRANSFER_CREATED: &str = "transfer.created";

/// Attempts at recording `account.updated` while the freelancer changes their settings.
const ACCOUNT_WRITE_ATTEMPTS: u32 = 3;

/// How many pending earnings of each currency `GET /me/payouts` shows as the next clearances.
const NEXT_CLEARANCES: usize = 5;

/// `POST /me/payouts/account`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAccountBody {
    /// ISO 3166-1 alpha-2: where the freelancer's bank account is (Stripe fixes it for good).
    pub country: String,
}

/// The connected account as the freelancer sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PayoutAccountView {
    pub payouts_enabled: bool,
    pub requirements_due: Vec<String>,
}

impl From<&PayoutAccount> for PayoutAccountView {
    fn from(account: &PayoutAccount) -> Self {
        Self {
            payouts_enabled: account.payouts_enabled,
            requirements_due: account.requirements_due.clone(),
        }
    }
}

/// What `POST /me/payouts/account` answers: a fresh single-use onboarding link.
#[derive(Debug, Clone, Serialize)]
pub struct Onboarding {
    pub onboarding_url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub account: PayoutAccountView,
}

/// Creates the freelancer's Express account once (Stripe's Idempotency-Key
/// `payout_account:<user>` and a conditional put make a retry or a concurrent request find the
/// same one), then answers a new onboarding link: links are single-use and expire in minutes.
pub async fn open_account(
    store: &Store,
    stripe: &StripeClient,
    caller: Caller,
    body: OpenAccountBody,
    app_base_url: &str,
    now: OffsetDateTime,
) -> ApiResult<Onboarding> {
    require_freelancer(caller)?;
    let country = body.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|byte| byte.is_ascii_uppercase()) {
        return Err(ApiError::invalid(
            "country",
            "invalid_value",
            "an ISO 3166-1 alpha-2 country code (DE, US)",
        ));
    }
    let account = match store.payout_account(caller.id).await? {
        Some(account) => account,
        None => {
            let user = store
                .get_user(caller.id)
                .await?
                .ok_or(ApiError::NotFound("user"))?;
            let user_id = caller.id.to_string();
            let created = stripe
                .create_account(
                    &NewAccount {
                        email: &user.email,
                        country: &country,
                        user_id: &user_id,
                    },
                    &format!("payout_account:{user_id}"),
                )
                .await
                .map_err(unavailable)?;
            store
                .create_payout_account(&payout_account_of(caller.id, &created, now, now))
                .await?
        }
    };
    let base = app_base_url.trim_end_matches('/');
    let link = stripe
        .create_account_link(
            &account.stripe_account_id,
            &format!("{base}/payouts/onboarding/refresh"),
            &format!("{base}/payouts/onboarding/return"),
        )
        .await
        .map_err(unavailable)?;
    Ok(Onboarding {
        onboarding_url: link.url,
        expires_at: OffsetDateTime::from_unix_timestamp(link.expires_at)
            .map_err(ApiError::internal)?,
        account: PayoutAccountView::from(&account),
    })
}

fn payout_account_of(
    user_id: Uuid,
    account: &Account,
    created_at: OffsetDateTime,
    now: OffsetDateTime,
) -> PayoutAccount {
    PayoutAccount {
        user_id,
        stripe_account_id: account.id.clone(),
        payouts_enabled: account.payouts_enabled,
        requirements_due: account
            .requirements
            .as_ref()
            .map(|requirements| requirements.currently_due.clone())
            .unwrap_or_default(),
        auto_withdraw: false,
        created_at,
        updated_at: now,
    }
}

/// What a Connect event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectOutcome {
    /// The freelancer's account shows what Stripe holds now.
    Recorded,
    /// Not an event this code uses, or about no account of ours.
    Ignored,
}

impl ConnectOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recorded => "recorded",
            Self::Ignored => "ignored",
        }
    }
}

/// `account.updated` from the Connect webhook: records whether the account can be paid out to.
/// Events arrive in any order, so the account is read back from Stripe and recorded as it is
/// now; a repeated event then writes the same state again.
pub async fn connect_event_received(
    store: &Store,
    stripe: &StripeClient,
    event: &Event,
    now: OffsetDateTime,
) -> ApiResult<ConnectOutcome> {
    if event.kind != ACCOUNT_UPDATED {
        return Ok(ConnectOutcome::Ignored);
    }
    let sent: Account = event
        .object()
        .map_err(|_| ApiError::BadRequest("the event's object is no Account".to_owned()))?;
    let Some(user_id) = sent.user_id().and_then(|id| id.parse::<Uuid>().ok()) else {
        return Ok(ConnectOutcome::Ignored);
    };
    let Some(first) = store.payout_account(user_id).await? else {
        return Ok(ConnectOutcome::Ignored);
    };
    if first.stripe_account_id != sent.id {
        return Ok(ConnectOutcome::Ignored);
    }
    let current = stripe
        .retrieve_account(&sent.id)
        .await
        .map_err(unavailable)?;
    let mut recorded = first;
    for _ in 0..ACCOUNT_WRITE_ATTEMPTS {
        let account = PayoutAccount {
            auto_withdraw: recorded.auto_withdraw,
            ..payout_account_of(user_id, &current, recorded.created_at, now)
        };
        // Payouts enabled under the setting: what cleared meanwhile is withdrawn.
        let mark_due = account.withdraws_automatically() && !recorded.payouts_enabled;
        if store.record_payout_account(&account, mark_due).await? {
            return Ok(ConnectOutcome::Recorded);
        }
        // The setting changed since it was read (or the account is another one now).
        match store.payout_account(user_id).await? {
            Some(again) if again.stripe_account_id == sent.id => recorded = again,
            _ => return Ok(ConnectOutcome::Ignored),
        }
    }
    Err(ApiError::service_unavailable(anyhow::anyhow!(
        "the payout settings kept changing while account.updated was recorded"
    )))
}

/// A freelancer's balances in one currency.
#[derive(Debug, Clone, Serialize)]
pub struct CurrencyBalance {
    pub currency: String,
    pub pending_cents: i64,
    pub available_cents: i64,
    pub paid_out_cents: i64,
    /// Held while an order's charge is disputed.
    pub frozen_cents: i64,
    /// What the freelancer owes (a lost dispute's share paid out already); cleared earnings
    /// pay it first.
    pub owed_cents: i64,
    /// The oldest pending earnings and when each clears.
    pub next_clearances: Vec<Clearance>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Clearance {
    pub order_id: Uuid,
    pub amount_cents: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub clears_at: OffsetDateTime,
}

/// `GET /me/payouts`.
#[derive(Debug, Serialize)]
pub struct PayoutsOverview {
    pub payouts_enabled: bool,
    /// The freelancer's setting: cleared earnings are withdrawn without being asked.
    pub auto_withdraw: bool,
    /// The connected account, once onboarding started.
    pub account: Option<PayoutAccountView>,
    pub balances: Vec<CurrencyBalance>,
    /// The ledger entries that moved the freelancer's earnings, newest first.
    pub entries: Page<EarningsEntry>,
}

/// The freelancer's payouts page: account, balances per currency, one page of ledger entries.
pub async fn overview(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    paging: &PageParams,
    clearance: time::Duration,
) -> ApiResult<PayoutsOverview> {
    require_freelancer(caller)?;
    let page = cursors.page_request(paging)?;
    let account = store.payout_account(caller.id).await?;
    let balances = store
        .earnings_balances(caller.id, NEXT_CLEARANCES)
        .await?
        .into_iter()
        .map(|balance| CurrencyBalance {
            currency: balance.currency.code().to_owned(),
            pending_cents: balance.pending,
            available_cents: balance.available,
            paid_out_cents: balance.paid_out,
            frozen_cents: balance.frozen,
            owed_cents: -balance.debt,
            next_clearances: balance
                .next_pending
                .iter()
                .map(|earning| Clearance {
                    order_id: earning.order_id,
                    amount_cents: earning.amount_cents,
                    clears_at: earning.clears_at(clearance),
                })
                .collect(),
        })
        .collect();
    let (entries, next) = store.earnings_entries(caller.id, &page).await?;
    Ok(PayoutsOverview {
        payouts_enabled: account
            .as_ref()
            .is_some_and(|account| account.payouts_enabled),
        auto_withdraw: account
            .as_ref()
            .is_some_and(|account| account.auto_withdraw),
        account: account.as_ref().map(PayoutAccountView::from),
        balances,
        entries: cursors.page(entries, next),
    })
}

/// `PUT /me/payouts/settings`, and what it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutSettings {
    /// Whether the scheduler withdraws cleared earnings without being asked.
    pub auto_withdraw: bool,
}

/// Changes the freelancer's payout settings. They belong to the payout account (where the
/// money goes), so the account must be opened first (`POST /me/payouts/account`); its
/// onboarding need not be finished: nothing is withdrawn before Stripe enables payouts.
/// Turned on, the scheduler's next run withdraws what is available already.
pub async fn change_settings(
    store: &Store,
    caller: Caller,
    settings: PayoutSettings,
    now: OffsetDateTime,
) -> ApiResult<PayoutSettings> {
    require_freelancer(caller)?;
    let written = store
        .acting_as(caller)
        .set_auto_withdraw(caller.id, settings.auto_withdraw, now.unix_timestamp())
        .await?;
    if !written {
        return Err(ApiError::conflict(
            "no-payout-account",
            "open the payout account first (POST /me/payouts/account)",
        ));
    }
    Ok(settings)
}

/// `POST /me/payouts/withdrawals`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalBody {
    /// Minor units; everything available (up to [`MAX_TRANSFERS`] earnings) when absent.
    #[serde(default)]
    pub amount_cents: Option<u64>,
    pub currency: String,
}

/// A withdrawal as its freelancer sees it.
#[derive(Debug, Clone, Serialize)]
pub struct WithdrawalView {
    #[serde(flatten)]
    pub withdrawal: Withdrawal,
    pub status: WithdrawalStatus,
}

impl From<Withdrawal> for WithdrawalView {
    fn from(withdrawal: Withdrawal) -> Self {
        Self {
            status: withdrawal.status(),
            withdrawal,
        }
    }
}

/// Whether a withdrawal request made a new withdrawal or found the one its key made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawn {
    Created,
    Replayed,
}

/// Attempts at writing a withdrawal while concurrent ones take the same earnings.
const WITHDRAWAL_ATTEMPTS: u32 = 4;

/// Withdraws `body.amount_cents` (or everything available) of `body.currency` to the
/// freelancer's connected account. The same Idempotency-Key answers the same withdrawal.
pub async fn withdraw(
    store: &Store,
    stripe: &StripeClient,
    caller: Caller,
    body: WithdrawalBody,
    idempotency_key: Option<&str>,
    minimum_hundredths: u64,
    now: OffsetDateTime,
) -> ApiResult<(Withdrawn, WithdrawalView)> {
    require_freelancer(caller)?;
    // A blocked freelancer withdraws nothing (403 `account-blocked`), checked in the write.
    let store = &store.acting_as(caller);
    let idempotency_key = check_idempotency_key(idempotency_key)?;
    let currency = Currency::parse(&body.currency)
        .map_err(|_| ApiError::invalid("currency", "invalid_value", "an ISO 4217 currency code"))?;
    if let Some(request) = store
        .withdrawal_request(caller.id, &idempotency_key, now.unix_timestamp())
        .await?
    {
        return replay(store, caller, &request, &body, &currency).await;
    }
    let account = store
        .payout_account(caller.id)
        .await?
        .filter(|account| account.payouts_enabled)
        .ok_or_else(|| {
            ApiError::conflict(
                "payouts-not-enabled",
                "finish the payout account's onboarding first (POST /me/payouts/account)",
            )
        })?;
    let minimum = currency.minor_from_hundredths(minimum_hundredths);
    for _ in 0..WITHDRAWAL_ATTEMPTS {
        let available = store
            .available_earnings(caller.id, &currency, MAX_TRANSFERS)
            .await?;
        let plan =
            plan_withdrawal(&available, &currency, body.amount_cents, minimum).map_err(refused)?;
        let withdrawal = Withdrawal::planned(
            Uuid::now_v7(),
            caller.id,
            &currency,
            &account.stripe_account_id,
            &plan,
            &available,
            now,
        );
        let request = WithdrawalRequest {
            user_id: caller.id,
            withdrawal_id: withdrawal.id,
            amount_cents: body.amount_cents,
            currency: currency.code().to_owned(),
            expires_at: now.unix_timestamp() + WITHDRAWAL_REQUEST_TTL_SECS,
        };
        match store
            .record_withdrawal(&withdrawal, &available, &request, &idempotency_key)
            .await?
        {
            WithdrawalWrite::Recorded => {
                let sent = send_transfers(store, stripe, withdrawal, now).await;
                return Ok((Withdrawn::Created, sent.into()));
            }
            WithdrawalWrite::Replayed(request) => {
                return replay(store, caller, &request, &body, &currency).await;
            }
            WithdrawalWrite::Raced => continue,
        }
    }
    Err(ApiError::conflict(
        "withdrawal-conflict",
        "other withdrawals kept taking the same earnings; try again",
    ))
}

/// The withdrawal an Idempotency-Key made, if the request is the same one.
async fn replay(
    store: &Store,
    caller: Caller,
    request: &WithdrawalRequest,
    body: &WithdrawalBody,
    currency: &Currency,
) -> ApiResult<(Withdrawn, WithdrawalView)> {
    if request.amount_cents != body.amount_cents || request.currency != currency.code() {
        return Err(ApiError::unprocessable(
            "idempotency-key-reused",
            "this Idempotency-Key was used for another withdrawal request",
        ));
    }
    let withdrawal = store
        .get_withdrawal(caller.id, request.withdrawal_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("withdrawal of a request missing")))?;
    Ok((Withdrawn::Replayed, withdrawal.into()))
}

fn refused(error: WithdrawalError) -> ApiError {
    let detail = error.to_string();
    match error {
        WithdrawalError::NothingAvailable(_) => {
            ApiError::unprocessable("nothing-to-withdraw", detail)
        }
        WithdrawalError::BelowMinimum { .. } => {
            ApiError::unprocessable("below-minimum-withdrawal", detail)
        }
        WithdrawalError::MoreThanAvailable { .. } => {
            ApiError::unprocessable("more-than-available", detail)
        }
        WithdrawalError::NotPayable(_) => {
            ApiError::invalid("amount_cents", "invalid_value", detail)
        }
    }
}

/// Asks Stripe for every transfer of `withdrawal` not yet made, one at a time, and records
/// each answer: made (`sent`), refused (`returned`, its amount back in `available`), or left
/// `sending` when Stripe could not answer (the scheduler asks again with the same key).
/// Answers the withdrawal as last recorded; failures are logged, never returned: the
/// withdrawal is written and the scheduler finishes it.
pub async fn send_transfers(
    store: &Store,
    stripe: &StripeClient,
    mut withdrawal: Withdrawal,
    now: OffsetDateTime,
) -> Withdrawal {
    for index in 0..withdrawal.transfers.len() {
        let transfer = withdrawal.transfers[index].clone();
        if transfer.status != TransferStatus::Sending {
            continue;
        }
        let order_id = transfer.order_id.to_string();
        let withdrawal_id = withdrawal.id.to_string();
        let answer = stripe
            .create_transfer(
                &NewTransfer {
                    amount_minor: i64::try_from(transfer.amount_cents).unwrap_or(i64::MAX),
                    currency: &withdrawal.currency,
                    destination: &withdrawal.stripe_account_id,
                    transfer_group: &order_id,
                    source_transaction: transfer.charge_id.as_deref(),
                    withdrawal_id: &withdrawal_id,
                },
                &format!("transfer:{withdrawal_id}:{order_id}"),
            )
            .await;
        let mut after = withdrawal.clone();
        after.updated_at = now.max(withdrawal.updated_at + time::Duration::nanoseconds(1));
        let returned = match answer {
            Ok(made) => {
                after.transfers[index].status = TransferStatus::Sent;
                after.transfers[index].transfer_id = Some(made.id);
                None
            }
            Err(error) if error.is_retryable() => {
                tracing::warn!(error = %error, withdrawal = %withdrawal.id, "transfer not answered; the scheduler retries");
                return withdrawal;
            }
            Err(error) => {
                tracing::warn!(error = %error, withdrawal = %withdrawal.id, "transfer refused; its amount is available again");
                after.transfers[index].status = TransferStatus::Returned;
                after.transfers[index].failure = Some(
                    error
                        .body()
                        .and_then(|body| body.message.clone())
                        .unwrap_or_else(|| "refused by the payment processor".to_owned()),
                );
                match store
                    .get_earning(withdrawal.freelancer_id, transfer.order_id)
                    .await
                {
                    Ok(Some(earning)) => Some(earning),
                    Ok(None) | Err(_) => return withdrawal,
                }
            }
        };
        let written = store
            .record_transfer(
                &withdrawal,
                &after,
                returned
                    .as_ref()
                    .map(|earning: &Earning| (earning, transfer.amount_cents)),
            )
            .await;
        match written {
            Ok(true) => withdrawal = after,
            Ok(false) | Err(_) => {
                tracing::warn!(withdrawal = %withdrawal.id, "withdrawal changed while its transfer was recorded; the scheduler finishes it");
                return withdrawal;
            }
        }
    }
    withdrawal
}

/// `transfer.created` on the platform webhook: Stripe confirms a transfer it made for a
/// withdrawal. The transfer is recorded as confirmed, with its id (the answer to our own call
/// may have been lost); a repeated event finds it confirmed and changes nothing.
pub async fn transfer_reported(
    store: &Store,
    transfer: &Transfer,
    now: OffsetDateTime,
) -> ApiResult<bool> {
    let Some(withdrawal_id) = transfer
        .metadata
        .get("withdrawal_id")
        .and_then(|id| id.parse::<Uuid>().ok())
    else {
        return Ok(false);
    };
    let Some(order_id) = transfer
        .transfer_group
        .as_deref()
        .and_then(|id| id.parse::<Uuid>().ok())
    else {
        return Ok(false);
    };
    let Some(order) = store.get_order(order_id).await? else {
        return Ok(false);
    };
    let Some(withdrawal) = store
        .get_withdrawal(order.freelancer_id, withdrawal_id)
        .await?
    else {
        return Ok(false);
    };
    let Some(index) = withdrawal.transfers.iter().position(|part| {
        part.order_id == order_id
            && matches!(part.status, TransferStatus::Sending | TransferStatus::Sent)
    }) else {
        return Ok(false);
    };
    let mut after = withdrawal.clone();
    after.updated_at = now.max(withdrawal.updated_at + time::Duration::nanoseconds(1));
    after.transfers[index].status = TransferStatus::Confirmed;
    after.transfers[index].transfer_id = Some(transfer.id.clone());
    store.record_transfer(&withdrawal, &after, None).await
}

/// Clears every pending earning completed a clearance period before `now`; answers how many.
pub async fn clear_earnings(
    store: &Store,
    clearance: time::Duration,
    now: OffsetDateTime,
    limit: usize,
) -> ApiResult<usize> {
    let due = store.due_clearances(now - clearance, limit).await?;
    let mut automatic = HashMap::new();
    let mut cleared = 0;
    for earning in &due {
        let auto_withdrawal = match automatic.get(&earning.freelancer_id) {
            Some(&automatic) => automatic,
            None => {
                let account = store.payout_account(earning.freelancer_id).await?;
                let on = account.is_some_and(|account| account.withdraws_automatically());
                automatic.insert(earning.freelancer_id, on);
                on
            }
        };
        if store
            .clear_earning(earning, auto_withdrawal, now.unix_timestamp())
            .await?
        {
            cleared += 1;
        }
    }
    Ok(cleared)
}

/// Withdraws, for each freelancer whose automatic withdrawal is marked due, everything
/// available in each currency they earned in (when it is at least the least withdrawal: less
/// stays available), through [`withdraw`] as `POST /me/payouts/withdrawals` does, then takes
/// the mark off the list. Each withdrawal's Idempotency-Key derives from the mark
/// ([`auto_withdrawal_key`]), so a run that stopped between its withdrawal and the mark's
/// removal finds the same withdrawal when it runs again (and makes the transfers it had not
/// made), never a second one. Answers how many withdrawals it made or finished.
pub async fn withdraw_automatically(
    store: &Store,
    stripe: &StripeClient,
    minimum_hundredths: u64,
    now: OffsetDateTime,
    limit: usize,
) -> ApiResult<usize> {
    let mut withdrawn = 0;
    let mut first_error = None;
    for due in store.due_auto_withdrawals(now, limit).await? {
        let done = match withdraw_marked(store, stripe, &due, minimum_hundredths, now).await {
            Ok((made, true)) => {
                withdrawn += made;
                store.auto_withdrawal_done(&due).await.map(drop)
            }
            // Left marked for the next run.
            Ok((made, false)) => {
                withdrawn += made;
                Ok(())
            }
            Err(error) => Err(error),
        };
        if let Err(error) = done {
            tracing::error!(error = %error, user_id = %due.user_id, "automatic withdrawal failed; the next run retries");
            first_error.get_or_insert(error);
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(withdrawn),
    }
}

/// Withdrawals of one currency an automatic withdrawal makes at most per run (each of at most
/// [`MAX_TRANSFERS`] earnings); what is left waits for the next mark.
const AUTO_WITHDRAWAL_STEPS: usize = 10;

/// The Idempotency-Key of the `step`th automatic withdrawal of `currency` for a mark (a
/// balance of more than [`MAX_TRANSFERS`] earnings takes several).
pub fn auto_withdrawal_key(mark: Uuid, currency: &Currency, step: usize) -> String {
    format!("auto-withdrawal:{mark}:{}:{step}", currency.code())
}

/// A marked freelancer's withdrawals, one currency after the other; answers how many it made
/// or finished, and whether it is done with the mark. Concurrent withdrawals that kept taking
/// the same earnings, or an error, leave the mark for the next run.
async fn withdraw_marked(
    store: &Store,
    stripe: &StripeClient,
    due: &AutoWithdrawalDue,
    minimum_hundredths: u64,
    now: OffsetDateTime,
) -> ApiResult<(usize, bool)> {
    let account = store.payout_account(due.user_id).await?;
    if !account.is_some_and(|account| account.withdraws_automatically()) {
        return Ok((0, true));
    }
    let caller = Caller {
        id: due.user_id,
        role: Role::Freelancer,
        session: None,
    };
    let mut made = 0;
    for currency in store.earned_currencies(due.user_id).await? {
        for step in 0..AUTO_WITHDRAWAL_STEPS {
            let body = WithdrawalBody {
                amount_cents: None,
                currency: currency.code().to_owned(),
            };
            let key = auto_withdrawal_key(due.mark, &currency, step);
            let withdrawal = match withdraw(
                store,
                stripe,
                caller,
                body,
                Some(&key),
                minimum_hundredths,
                now,
            )
            .await
            {
                Ok((Withdrawn::Created, view)) => view.withdrawal,
                // Made by a run that stopped before it was done: its transfers are finished
                // with their own keys.
                Ok((Withdrawn::Replayed, view)) if view.status == WithdrawalStatus::Sending => {
                    send_transfers(store, stripe, view.withdrawal, now).await
                }
                Ok((Withdrawn::Replayed, view)) => view.withdrawal,
                Err(ApiError::Conflict {
                    code: "withdrawal-conflict",
                    ..
                }) => return Ok((made, false)),
                // Nothing (more) to withdraw, less than the least withdrawal (or an amount the
                // currency can not be paid in), payouts disabled or the freelancer blocked
                // meanwhile: nothing to do until the next mark.
                Err(
                    ApiError::Unprocessable { .. }
                    | ApiError::Validation(_)
                    | ApiError::Conflict {
                        code: "payouts-not-enabled",
                        ..
                    }
                    | ApiError::AccountBlocked,
                ) => break,
                Err(error) => return Err(error),
            };
            made += 1;
            if withdrawal.transfers.len() < MAX_TRANSFERS {
                break;
            }
        }
    }
    Ok((made, true))
}

/// Asks Stripe again for the transfers of withdrawals written at least `grace` ago and still
/// sending; answers how many withdrawals it finished.
pub async fn resend_transfers(
    store: &Store,
    stripe: &StripeClient,
    grace: time::Duration,
    now: OffsetDateTime,
    limit: usize,
) -> ApiResult<usize> {
    let due = store.due_withdrawals(now - grace, limit).await?;
    let mut finished = 0;
    for withdrawal in due {
        if send_transfers(store, stripe, withdrawal, now)
            .await
            .status()
            != WithdrawalStatus::Sending
        {
            finished += 1;
        }
    }
    Ok(finished)
}

/// What a reversal of paid-out earnings is for: the order and freelancer, the share paid out
/// already (booked as their debt), and the cause that names its Stripe keys and ledger ids
/// (`admin-refund:<id>`, `dispute-lost:<id>`).
#[derive(Debug, Clone, Copy)]
pub struct Clawback<'a> {
    pub cause: &'a str,
    pub order_id: Uuid,
    pub freelancer_id: Uuid,
    pub currency: &'a Currency,
    pub paid_out_cents: u64,
}

/// Attempts at a reversal's ledger write while cleared earnings keep repaying the same debt.
const REVERSAL_BOOKING_ATTEMPTS: u32 = 3;

/// Takes `clawback.paid_out_cents` back from the transfers that paid out the order's earning
/// (newest first), as far as the connected account covers it, less what `done` took already.
/// Each reversal is keyed by the cause and the transfer and booked as it is made
/// (`payout-reversed:<cause>:<transfer>`: paid out back to the debt it was booked as). A
/// reversal carries its cause (`metadata[cause]`), so one Stripe made for an attempt that
/// never heard the answer is found on its transfer and booked, not made again. Stripe
/// refusing one (`balance_insufficient`) ends the attempt: the rest stays a debt, which cleared
/// earnings repay. Answers every reversal, `done`'s first; 503 when Stripe did not answer (the
/// same call again finishes it: the scheduler retries).
pub async fn reverse_payouts(
    store: &Store,
    stripe: &StripeClient,
    clawback: Clawback<'_>,
    done: &[PayoutReversal],
    now: OffsetDateTime,
) -> ApiResult<Vec<PayoutReversal>> {
    let mut reversals = done.to_vec();
    let taken = |reversals: &[PayoutReversal]| -> u64 {
        reversals.iter().map(|reversal| reversal.amount_cents).sum()
    };
    if clawback.paid_out_cents <= taken(&reversals) {
        return Ok(reversals);
    }
    let transfers = stripe
        .list_transfers(&clawback.order_id.to_string())
        .await
        .map_err(unavailable)?
        .data;
    for transfer in transfers {
        let left = clawback.paid_out_cents.saturating_sub(taken(&reversals));
        if left == 0 {
            break;
        }
        if reversals
            .iter()
            .any(|reversal| reversal.transfer_id == transfer.id)
        {
            continue;
        }
        // Made for this cause by an attempt that never heard Stripe's answer (or crashed
        // before booking it): booked now, never asked for again.
        let made_before = reversal_for(stripe, &transfer, clawback.cause).await?;
        let reversal = match made_before {
            Some(reversal) => reversal,
            None => {
                let reversible = (transfer.amount - transfer.amount_reversed)
                    .max(0)
                    .unsigned_abs();
                if reversible == 0 {
                    continue;
                }
                let reversed = stripe
                    .create_transfer_reversal(
                        &transfer.id,
                        Some(i64::try_from(left.min(reversible)).map_err(ApiError::internal)?),
                        clawback.cause,
                        &format!("reversal:{}:{}", clawback.cause, transfer.id),
                    )
                    .await;
                match reversed {
                    Ok(reversal) => reversal,
                    Err(error) if error.is_retryable() => return Err(unavailable(error)),
                    Err(error) => {
                        tracing::info!(error = %error, cause = clawback.cause, "reversal refused; the rest stays a debt");
                        break;
                    }
                }
            }
        };
        let amount = reversal.amount.max(0).unsigned_abs();
        book_reversal(store, &clawback, &transfer.id, amount, now).await?;
        reversals.push(PayoutReversal {
            transfer_id: transfer.id,
            reversal_id: reversal.id,
            amount_cents: amount,
        });
    }
    Ok(reversals)
}

/// The transfer's reversal made for `cause` (`metadata[cause]`), if any: among the ten the
/// transfer embeds, then the pages of `GET /v1/transfers/{id}/reversals` after them while
/// Stripe says there are more.
async fn reversal_for(
    stripe: &StripeClient,
    transfer: &Transfer,
    cause: &str,
) -> ApiResult<Option<TransferReversal>> {
    let mut page = transfer.reversals.clone();
    loop {
        if let Some(found) = page
            .data
            .iter()
            .find(|reversal| reversal.cause() == Some(cause))
        {
            return Ok(Some(found.clone()));
        }
        let Some(last) = page.data.last().filter(|_| page.has_more) else {
            return Ok(None);
        };
        page = stripe
            .list_transfer_reversals(&transfer.id, Some(&last.id))
            .await
            .map_err(unavailable)?;
    }
}

/// Books a reversal Stripe made: the freelancer's paid-out share back to the debt it was booked
/// as (what of that debt is still owed; cleared earnings may repay it meanwhile).
async fn book_reversal(
    store: &Store,
    clawback: &Clawback<'_>,
    transfer_id: &str,
    amount: u64,
    now: OffsetDateTime,
) -> ApiResult<()> {
    for _ in 0..REVERSAL_BOOKING_ATTEMPTS {
        let owed = store
            .ledger_balance(
                LedgerAccount::FreelancerDebt(clawback.freelancer_id),
                clawback.currency,
            )
            .await?
            .min(0)
            .unsigned_abs();
        let ledger = LedgerTransaction::payout_reversed(
            clawback.cause,
            transfer_id,
            clawback.order_id,
            clawback.freelancer_id,
            clawback.currency.clone(),
            amount,
            owed,
        )
        .map_err(ApiError::internal)?;
        match store.write_ledger(&ledger, now.unix_timestamp()).await? {
            LedgerWrite::Written | LedgerWrite::Exists => return Ok(()),
            LedgerWrite::BalanceChanged => continue,
        }
    }
    Err(ApiError::ServiceUnavailable {
        retry_after_secs: 1,
        cause: anyhow::anyhow!("the debt kept changing while a reversal was booked"),
    })
}

fn require_freelancer(caller: Caller) -> ApiResult<()> {
    if caller.role == Role::Freelancer {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only freelancers are paid out"))
    }
}

//! Automatic withdrawal through the real stack: a freelancer's setting, the scheduler (driven by
//! `now`) withdrawing what cleared through the withdrawal use case, exactly once per mark, and
//! nothing when the setting is off, payouts are not enabled or the balance is below the least
//! withdrawal. A run that stops between its withdrawal and the mark's removal is finished by
//! the next, never paid twice.

use gigmarket_shared::app::payouts::{auto_withdrawal_key, clear_earnings};
use gigmarket_shared::domain::ledger::LedgerAccount;
use gigmarket_shared::domain::money::Currency;
use gigmarket_shared::domain::payout::{Withdrawal, WithdrawalStatus, plan_withdrawal};
use gigmarket_shared::store::payouts::{
    WITHDRAWAL_REQUEST_TTL_SECS, WithdrawalRequest, WithdrawalWrite,
};
use gigmarket_tests::payments::{assert_ledger_balances, balance};
use gigmarket_tests::{Session, TestApp};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A freelancer with `orders` completed (paid) orders of one gig; answers them and the orders.
async fn freelancer_with_completed_orders(app: &TestApp, orders: usize) -> (Session, Vec<Uuid>) {
    let (cast, gig) = app.cast_with_gig().await;
    let mut ids = Vec::new();
    for _ in 0..orders {
        let order_id = app.place_order(&cast.client, &gig).await;
        app.order_step(&cast.freelancer, order_id, "accept").await;
        app.order_step(&cast.freelancer, order_id, "deliver").await;
        app.order_step(&cast.client, order_id, "complete").await;
        ids.push(order_id);
    }
    (cast.freelancer, ids)
}

/// After the clearance period (the scheduler runs as of 15 days on).
fn cleared_by() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::days(15)
}

async fn run(app: &TestApp, now: OffsetDateTime) -> scheduler::RunSummary {
    scheduler::run(&app.state.store, &app.stripe, now)
        .await
        .expect("a scheduler run")
}

async fn turn_on(app: &TestApp, freelancer: &Session) {
    let on = app
        .payout_settings(freelancer, &json!({"auto_withdraw": true}))
        .await;
    assert_eq!(on.status, 200, "{on:?}");
    assert_eq!(on.body, json!({"auto_withdraw": true}));
}

async fn payouts(app: &TestApp, who: &Session) -> Value {
    let response = app.get("/me/payouts", Some(&who.access_token)).await;
    assert_eq!(response.status, 200, "{response:?}");
    response.body
}

/// No automatic withdrawal is marked due (as of `at`).
async fn assert_no_mark(app: &TestApp, at: OffsetDateTime) {
    let due = app.state.store.due_auto_withdrawals(at, 10).await.unwrap();
    assert!(due.is_empty(), "{due:?}");
}

/// The freelancer's ledger entries of withdrawals.
async fn withdrawal_entries(app: &TestApp, who: &Session) -> usize {
    payouts(app, who).await["entries"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "withdrawal")
        .count()
}

/// The transfers the local Stripe holds for an order (its transfer group).
async fn transfers(app: &TestApp, order_id: Uuid) -> usize {
    app.stripe
        .list_transfers(&order_id.to_string())
        .await
        .unwrap()
        .data
        .len()
}

#[tokio::test]
async fn cleared_earnings_are_withdrawn_once_by_the_scheduler() {
    let app = TestApp::new().await;
    let (freelancer, orders) = freelancer_with_completed_orders(&app, 2).await;
    app.onboard(&freelancer).await;
    assert_eq!(payouts(&app, &freelancer).await["auto_withdraw"], false);
    turn_on(&app, &freelancer).await;
    assert_eq!(payouts(&app, &freelancer).await["auto_withdraw"], true);

    // Nothing has cleared yet: the run the setting marked finds nothing to withdraw.
    let early = run(&app, OffsetDateTime::now_utc()).await;
    assert_eq!(early.auto_withdrawals, 0, "{early:?}");
    let net = balance(&app, LedgerAccount::FreelancerPending(freelancer.id)).await;

    let later = cleared_by();
    let first = run(&app, later).await;
    assert_eq!(first.earnings_cleared, 2, "{first:?}");
    assert_eq!(first.auto_withdrawals, 1, "{first:?}");
    for order_id in &orders {
        assert_eq!(
            transfers(&app, *order_id).await,
            1,
            "one transfer per earning"
        );
    }
    let page = payouts(&app, &freelancer).await;
    assert_eq!(page["balances"][0]["available_cents"], 0);
    assert_eq!(page["balances"][0]["paid_out_cents"], net);
    assert_eq!(withdrawal_entries(&app, &freelancer).await, 1);

    let second = run(&app, later).await;
    assert_eq!(second.auto_withdrawals, 0, "{second:?}");
    for order_id in &orders {
        assert_eq!(transfers(&app, *order_id).await, 1, "no second transfer");
    }
    assert_eq!(withdrawal_entries(&app, &freelancer).await, 1);
    assert_no_mark(&app, later).await;
    assert_ledger_balances(&app, freelancer.id).await;
}

#[tokio::test]
async fn less_than_the_least_withdrawal_stays_available() {
    let app = TestApp::new().await;
    let (freelancer, orders) = freelancer_with_completed_orders(&app, 1).await;
    app.onboard(&freelancer).await;
    turn_on(&app, &freelancer).await;
    let net = balance(&app, LedgerAccount::FreelancerPending(freelancer.id)).await;
    // The least withdrawal one cent above what clears (EUR: hundredths are cents).
    let settings = scheduler::Settings {
        payout_minimum_hundredths: u64::try_from(net).unwrap() + 1,
        ..scheduler::Settings::default()
    };
    let later = cleared_by();
    let summary = scheduler::run_with(&app.state.store, &app.stripe, &settings, later)
        .await
        .unwrap();
    assert_eq!(summary.earnings_cleared, 1, "{summary:?}");
    assert_eq!(summary.auto_withdrawals, 0, "{summary:?}");
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerAvailable(freelancer.id)).await,
        net
    );
    assert_eq!(transfers(&app, orders[0]).await, 0);
    assert_eq!(withdrawal_entries(&app, &freelancer).await, 0);
    // The mark is gone: what stays waits for the next clearance (or the setting turned on).
    assert_no_mark(&app, later).await;
}

#[tokio::test]
async fn nothing_is_withdrawn_before_payouts_are_enabled_then_it_is() {
    let app = TestApp::new().await;
    let (freelancer, orders) = freelancer_with_completed_orders(&app, 1).await;
    // The account is opened but its onboarding not finished: the setting may be turned on.
    let opened = app
        .post(
            "/me/payouts/account",
            &json!({"country": "DE"}),
            Some(&freelancer.access_token),
        )
        .await;
    assert_eq!(opened.status, 200, "{opened:?}");
    turn_on(&app, &freelancer).await;
    let later = cleared_by();
    let summary = run(&app, later).await;
    assert_eq!(summary.earnings_cleared, 1, "{summary:?}");
    assert_eq!(summary.auto_withdrawals, 0, "{summary:?}");
    let net = balance(&app, LedgerAccount::FreelancerAvailable(freelancer.id)).await;
    assert!(net > 0);
    assert_eq!(transfers(&app, orders[0]).await, 0);

    // Onboarding finishes: account.updated enables payouts and marks the withdrawal due.
    app.finish_onboarding(&freelancer, opened.body["onboarding_url"].as_str().unwrap())
        .await;
    let page = payouts(&app, &freelancer).await;
    assert_eq!(page["payouts_enabled"], true);
    assert_eq!(
        page["auto_withdraw"], true,
        "account.updated keeps the setting"
    );

    let summary = run(&app, later).await;
    assert_eq!(summary.auto_withdrawals, 1, "{summary:?}");
    assert_eq!(transfers(&app, orders[0]).await, 1);
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPaidOut(freelancer.id)).await,
        net
    );
    assert_ledger_balances(&app, freelancer.id).await;
}

#[tokio::test]
async fn with_the_setting_off_nothing_is_withdrawn() {
    let app = TestApp::new().await;
    let (freelancer, orders) = freelancer_with_completed_orders(&app, 1).await;
    // Before the account is opened the setting has nowhere to live.
    let early = app
        .payout_settings(&freelancer, &json!({"auto_withdraw": true}))
        .await;
    assert_eq!(early.status, 409, "{early:?}");
    assert_eq!(early.problem(), "no-payout-account");
    app.onboard(&freelancer).await;
    for bad in [
        json!({}),
        json!({"auto_withdraw": "yes"}),
        json!({"auto_withdraw": true, "minimum": 5}),
    ] {
        let refused = app.payout_settings(&freelancer, &bad).await;
        assert_eq!(refused.status, 400, "{bad}: {refused:?}");
    }
    turn_on(&app, &freelancer).await;
    let off = app
        .payout_settings(&freelancer, &json!({"auto_withdraw": false}))
        .await;
    assert_eq!(off.status, 200, "{off:?}");
    assert_eq!(off.body, json!({"auto_withdraw": false}));
    assert_eq!(payouts(&app, &freelancer).await["auto_withdraw"], false);

    let summary = run(&app, cleared_by()).await;
    assert_eq!(summary.earnings_cleared, 1, "{summary:?}");
    assert_eq!(summary.auto_withdrawals, 0, "{summary:?}");
    assert_eq!(transfers(&app, orders[0]).await, 0);
    assert!(balance(&app, LedgerAccount::FreelancerAvailable(freelancer.id)).await > 0);
}

#[tokio::test]
async fn clients_have_no_payout_settings() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let refused = app
        .payout_settings(&cast.client, &json!({"auto_withdraw": true}))
        .await;
    assert_eq!(refused.status, 403, "{refused:?}");
}

/// A run wrote its automatic withdrawal (as the use case writes it, under the key derived from
/// the mark) and stopped before any transfer was made or the mark removed: the next run finds
/// that withdrawal, makes its transfers and removes the mark; no second withdrawal.
#[tokio::test]
async fn a_run_that_stopped_half_way_is_finished_without_a_second_withdrawal() {
    let app = TestApp::new().await;
    let store = &app.state.store;
    let (freelancer, orders) = freelancer_with_completed_orders(&app, 2).await;
    let account = app.onboard(&freelancer).await;
    turn_on(&app, &freelancer).await;
    let later = cleared_by();
    // The stopped run: the clearance (which marks the withdrawal due) ...
    assert_eq!(
        clear_earnings(store, Duration::days(14), later, 100)
            .await
            .unwrap(),
        2
    );
    let due = store.due_auto_withdrawals(later, 10).await.unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].user_id, freelancer.id);
    // ... and its withdrawal, written but not yet sent.
    let eur = Currency::parse("EUR").unwrap();
    let available = store
        .available_earnings(freelancer.id, &eur, 50)
        .await
        .unwrap();
    let plan = plan_withdrawal(&available, &eur, None, 0).unwrap();
    let withdrawal = Withdrawal::planned(
        Uuid::now_v7(),
        freelancer.id,
        &eur,
        &account,
        &plan,
        &available,
        later,
    );
    let request = WithdrawalRequest {
        user_id: freelancer.id,
        withdrawal_id: withdrawal.id,
        amount_cents: None,
        currency: "EUR".to_owned(),
        expires_at: later.unix_timestamp() + WITHDRAWAL_REQUEST_TTL_SECS,
    };
    let key = auto_withdrawal_key(due[0].mark, &eur, 0);
    assert!(matches!(
        store
            .record_withdrawal(&withdrawal, &available, &request, &key)
            .await
            .unwrap(),
        WithdrawalWrite::Recorded
    ));

    // The next run (within the grace the transfers' own retry waits) finishes it.
    let summary = run(&app, later).await;
    assert_eq!(summary.auto_withdrawals, 1, "{summary:?}");
    assert_eq!(summary.withdrawals_finished, 0, "{summary:?}");
    let finished = store
        .get_withdrawal(freelancer.id, withdrawal.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finished.status(), WithdrawalStatus::Sent, "{finished:?}");
    for order_id in &orders {
        assert_eq!(
            transfers(&app, *order_id).await,
            1,
            "one transfer per earning"
        );
    }
    assert_eq!(withdrawal_entries(&app, &freelancer).await, 1);
    assert_no_mark(&app, later).await;
    let again = run(&app, later).await;
    assert_eq!(again.auto_withdrawals, 0, "{again:?}");
    assert_eq!(withdrawal_entries(&app, &freelancer).await, 1);
    assert_ledger_balances(&app, freelancer.id).await;
}

//! Payouts through the real stack: a completed order's earnings pending, Stripe Connect
//! onboarding through the local Stripe's hosted link, `account.updated` on the Connect webhook,
//! clearance by the scheduler (driven by `now`), and withdrawals that transfer the money exactly
//! once however often and however concurrently they are asked for, with balances that add up.

use futures_util::future::join_all;
use gigmarket_shared::domain::ledger::LedgerAccount;
use gigmarket_shared::domain::user::UserStatus;
use gigmarket_shared::stripe::client::EventsQuery;
use gigmarket_tests::payments::{assert_ledger_balances, balance};
use gigmarket_tests::{CONNECT_WEBHOOK_SECRET, Session, TestApp, TestResponse, WEBHOOK_SECRET};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// A completed (paid) basic order of the cast's gig; answers the freelancer and the order id.
async fn completed_order(app: &TestApp) -> (Session, Session, Uuid) {
    let (cast, gig) = app.cast_with_gig().await;
    let order_id = app.place_order(&cast.client, &gig).await;
    app.order_step(&cast.freelancer, order_id, "accept").await;
    app.order_step(&cast.freelancer, order_id, "deliver").await;
    app.order_step(&cast.client, order_id, "complete").await;
    (cast.freelancer, cast.client, order_id)
}

async fn payouts(app: &TestApp, who: &Session) -> Value {
    let response = app.get("/me/payouts", Some(&who.access_token)).await;
    assert_eq!(response.status, 200, "{response:?}");
    response.body
}

/// The ids of the transfers the local Stripe made for `order_id` (its transfer group), from
/// its `transfer.created` events of the last five minutes.
async fn transfers_for(app: &TestApp, order_id: Uuid) -> Vec<String> {
    let group = order_id.to_string();
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = app
            .stripe
            .list_events(&EventsQuery {
                created_gte: OffsetDateTime::now_utc().unix_timestamp() - 300,
                types: &["transfer.created"],
                starting_after: cursor.as_deref(),
                limit: 100,
                ..EventsQuery::default()
            })
            .await
            .expect("listing events");
        ids.extend(
            page.data
                .iter()
                .filter(|event| event.data.object["transfer_group"] == group.as_str())
                .map(|event| event.data.object["id"].as_str().unwrap().to_owned()),
        );
        match page.data.last() {
            Some(last) if page.has_more => cursor = Some(last.id.clone()),
            _ => return ids,
        }
    }
}

#[tokio::test]
async fn earnings_clear_and_are_withdrawn_exactly_once() {
    let app = TestApp::new().await;
    let (freelancer, client, order_id) = completed_order(&app).await;
    let net = balance(&app, LedgerAccount::FreelancerPending(freelancer.id)).await;
    assert!(net > 0);

    let page = payouts(&app, &freelancer).await;
    assert_eq!(page["payouts_enabled"], false);
    assert_eq!(page["balances"][0]["currency"], "EUR");
    assert_eq!(page["balances"][0]["pending_cents"], net);
    assert_eq!(page["balances"][0]["available_cents"], 0);
    assert_eq!(
        page["balances"][0]["next_clearances"][0]["order_id"],
        order_id.to_string()
    );
    assert_eq!(page["entries"]["items"][0]["kind"], "order_completed");
    assert_eq!(page["entries"]["items"][0]["pending_change_cents"], net);
    // Nobody but a freelancer has payouts.
    let refused = app.get("/me/payouts", Some(&client.access_token)).await;
    assert_eq!(refused.status, 403);

    // Before onboarding nothing can be withdrawn.
    let early = app
        .withdraw(&freelancer, "early", &json!({"currency": "EUR"}))
        .await;
    assert_eq!(early.status, 409, "{early:?}");
    assert_eq!(early.problem(), "payouts-not-enabled");

    app.onboard(&freelancer).await;
    assert_eq!(payouts(&app, &freelancer).await["payouts_enabled"], true);
    // Asking again creates no second account: a new link for the same one.
    let before = app.state.store.payout_account(freelancer.id).await.unwrap();
    let again = app
        .post(
            "/me/payouts/account",
            &json!({"country": "DE"}),
            Some(&freelancer.access_token),
        )
        .await;
    assert_eq!(again.status, 200);
    let after = app.state.store.payout_account(freelancer.id).await.unwrap();
    assert_eq!(
        before.unwrap().stripe_account_id,
        after.unwrap().stripe_account_id
    );

    // Still pending: nothing available yet.
    let pending = app
        .withdraw(&freelancer, "pending", &json!({"currency": "EUR"}))
        .await;
    assert_eq!(pending.problem(), "nothing-to-withdraw");

    // The clearance period passes (the scheduler runs as of 15 days later).
    let later = OffsetDateTime::now_utc() + time::Duration::days(15);
    let early_run = scheduler::run(&app.state.store, &app.stripe, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(early_run.earnings_cleared, 0, "not before 14 days");
    let run = scheduler::run(&app.state.store, &app.stripe, later)
        .await
        .unwrap();
    assert_eq!(run.earnings_cleared, 1);
    let again = scheduler::run(&app.state.store, &app.stripe, later)
        .await
        .unwrap();
    assert_eq!(again.earnings_cleared, 0, "cleared once");
    let page = payouts(&app, &freelancer).await;
    assert_eq!(page["balances"][0]["pending_cents"], 0);
    assert_eq!(page["balances"][0]["available_cents"], net);
    assert_eq!(page["entries"]["items"][0]["kind"], "earnings_cleared");

    // Out of bounds: below the minimum, more than available.
    let small = app
        .withdraw(
            &freelancer,
            "small",
            &json!({"currency": "EUR", "amount_cents": 999}),
        )
        .await;
    assert_eq!(small.problem(), "below-minimum-withdrawal");
    let large = app
        .withdraw(
            &freelancer,
            "large",
            &json!({"currency": "EUR", "amount_cents": net + 1}),
        )
        .await;
    assert_eq!(large.problem(), "more-than-available");

    // A blocked freelancer withdraws nothing; unblocked, they may again.
    app.set_user_status(freelancer.id, UserStatus::Blocked)
        .await;
    let blocked = app
        .withdraw(&freelancer, "blocked", &json!({"currency": "EUR"}))
        .await;
    assert_eq!(blocked.status, 403, "{blocked:?}");
    assert_eq!(blocked.problem(), "account-blocked");
    app.set_user_status(freelancer.id, UserStatus::Active).await;
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerAvailable(freelancer.id)).await,
        net
    );
    // The block ended the freelancer's sessions: they sign in again.
    let freelancer = app.sign_in_again(&freelancer).await;

    // Eight concurrent withdrawals of everything, each with its own key: one wins.
    let keys: Vec<String> = (0..8).map(|n| format!("all-{n}")).collect();
    let everything = json!({"currency": "EUR"});
    let answers = join_all(
        keys.iter()
            .map(|key| app.withdraw(&freelancer, key, &everything)),
    )
    .await;
    let created: Vec<&TestResponse> = answers.iter().filter(|a| a.status == 201).collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    for answer in answers.iter().filter(|a| a.status != 201) {
        assert!(
            matches!(
                answer.problem(),
                "nothing-to-withdraw" | "withdrawal-conflict"
            ),
            "{answer:?}"
        );
    }
    let withdrawal = &created[0].body;
    assert_eq!(withdrawal["amount_cents"], net);
    assert_eq!(withdrawal["status"], "sent", "{withdrawal}");
    let transfer = &withdrawal["transfers"][0];
    assert_eq!(transfer["order_id"], order_id.to_string());
    assert!(transfer["charge_id"].as_str().unwrap().starts_with("ch_"));
    let winner = answers.iter().position(|a| a.status == 201).unwrap();

    // The winner's request retried: the same withdrawal, no second transfer.
    let retried = app
        .withdraw(&freelancer, &keys[winner], &json!({"currency": "EUR"}))
        .await;
    assert_eq!(retried.status, 200, "{retried:?}");
    assert_eq!(retried.body["id"], withdrawal["id"]);
    let reused = app
        .withdraw(
            &freelancer,
            &keys[winner],
            &json!({"currency": "EUR", "amount_cents": 1000}),
        )
        .await;
    assert_eq!(reused.problem(), "idempotency-key-reused");
    let made = transfers_for(&app, order_id).await;
    assert_eq!(made, [transfer["transfer_id"].as_str().unwrap()]);

    // Stripe's transfer.created confirms it; a redelivery changes nothing.
    let event = app
        .stripe_event("transfer.created", |object| {
            object["transfer_group"] == order_id.to_string()
        })
        .await;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let delivered = app.deliver_stripe_event(&event, WEBHOOK_SECRET, now).await;
    assert_eq!(
        delivered.body["outcome"], "transfer_recorded",
        "{delivered:?}"
    );
    let redelivered = app.deliver_stripe_event(&event, WEBHOOK_SECRET, now).await;
    assert_eq!(redelivered.body["outcome"], "ignored");
    let shown = app
        .withdraw(&freelancer, &keys[winner], &json!({"currency": "EUR"}))
        .await;
    assert_eq!(shown.body["transfers"][0]["status"], "confirmed");
    assert_eq!(shown.body["status"], "sent");

    let page = payouts(&app, &freelancer).await;
    assert_eq!(page["balances"][0]["available_cents"], 0);
    assert_eq!(page["balances"][0]["paid_out_cents"], net);
    // (The clearance was booked as of 15 days on, so it is the newest entry.)
    let withdrawal_entry = page["entries"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["kind"] == "withdrawal")
        .expect("the withdrawal's entry");
    assert_eq!(withdrawal_entry["paid_out_change_cents"], net);
    assert_eq!(withdrawal_entry["available_change_cents"], -net);
    assert_ledger_balances(&app, freelancer.id).await;
}

#[tokio::test]
async fn a_transfer_stripe_refuses_puts_the_money_back() {
    let app = TestApp::new().await;
    let (freelancer, _, order_id) = completed_order(&app).await;
    let account_id = app.onboard(&freelancer).await;
    let later = OffsetDateTime::now_utc() + time::Duration::days(15);
    scheduler::run(&app.state.store, &app.stripe, later)
        .await
        .unwrap();
    let net = balance(&app, LedgerAccount::FreelancerAvailable(freelancer.id)).await;
    // Stripe asks the freelancer for more; until they answer, the account takes no transfers.
    // (Its account.updated has not arrived yet: ours still shows it enabled.)
    let base = std::env::var("STRIPE_API_BASE").unwrap();
    let key = std::env::var("STRIPE_SECRET_KEY").unwrap();
    let response = reqwest::Client::new()
        .post(format!("{base}/_test/accounts/{account_id}/requirements"))
        .bearer_auth(key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("currently_due[]=individual.verification.document")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");

    let refused = app
        .withdraw(&freelancer, "refused", &json!({"currency": "EUR"}))
        .await;
    assert_eq!(refused.status, 201, "{refused:?}");
    assert_eq!(refused.body["status"], "failed");
    assert_eq!(refused.body["transfers"][0]["status"], "returned");
    assert!(refused.body["transfers"][0]["failure"].is_string());
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerAvailable(freelancer.id)).await,
        net,
        "the money is available again"
    );
    assert_eq!(
        balance(&app, LedgerAccount::FreelancerPaidOut(freelancer.id)).await,
        0
    );
    let page = payouts(&app, &freelancer).await;
    let kinds: Vec<&str> = page["entries"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"withdrawal_returned"), "{kinds:?}");
    assert!(transfers_for(&app, order_id).await.is_empty());
    assert_ledger_balances(&app, freelancer.id).await;

    // The account.updated arrives: payouts are disabled, and a withdrawal says so.
    let event = app.account_updated(&account_id).await;
    assert_eq!(
        app.deliver_connect_event(&event, CONNECT_WEBHOOK_SECRET)
            .await
            .body["outcome"],
        "recorded"
    );
    let page = payouts(&app, &freelancer).await;
    assert_eq!(page["payouts_enabled"], false);
    assert_eq!(
        page["account"]["requirements_due"],
        json!(["individual.verification.document"])
    );
    let blocked = app
        .withdraw(&freelancer, "blocked", &json!({"currency": "EUR"}))
        .await;
    assert_eq!(blocked.problem(), "payouts-not-enabled");
}

#[tokio::test]
async fn bad_payout_requests_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    let (freelancer, client, _) = completed_order(&app).await;
    let bad_country = app
        .post(
            "/me/payouts/account",
            &json!({"country": "Germany"}),
            Some(&freelancer.access_token),
        )
        .await;
    assert_eq!(bad_country.status, 400);
    assert_eq!(bad_country.error_fields(), ["country"]);
    let by_client = app
        .post(
            "/me/payouts/account",
            &json!({"country": "DE"}),
            Some(&client.access_token),
        )
        .await;
    assert_eq!(by_client.status, 403);
    assert!(
        app.state
            .store
            .payout_account(freelancer.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.state
            .store
            .payout_account(client.id)
            .await
            .unwrap()
            .is_none()
    );

    let no_key = app
        .post(
            "/me/payouts/withdrawals",
            &json!({"currency": "EUR"}),
            Some(&freelancer.access_token),
        )
        .await;
    assert_eq!(no_key.status, 400);
    assert_eq!(no_key.error_fields(), ["Idempotency-Key"]);
    let unknown = app
        .withdraw(&freelancer, "k", &json!({"currency": "EUR", "to": "me"}))
        .await;
    assert_eq!(unknown.status, 400);
    let currency = app
        .withdraw(&freelancer, "k", &json!({"currency": "EURO"}))
        .await;
    assert_eq!(currency.status, 400);

    // A Connect delivery signed with another secret (the platform endpoint's) is refused.
    let forged = app
        .deliver_connect_event(
            &json!({"id": "evt_forged", "type": "account.updated", "data": {"object": {}}}),
            WEBHOOK_SECRET,
        )
        .await;
    assert_eq!(forged.status, 400);
    // Nothing of the freelancer's earnings moved.
    let page = payouts(&app, &freelancer).await;
    assert!(page["balances"][0]["pending_cents"].as_i64().unwrap() > 0);
    assert_eq!(page["balances"][0]["paid_out_cents"], 0);
    assert_eq!(page["entries"]["items"].as_array().unwrap().len(), 1);
}

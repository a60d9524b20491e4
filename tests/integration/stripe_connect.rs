//! Stripe Connect through the client against the local stack's stripe service
//! (`tools/stripe-local`): Express accounts and their onboarding links, transfers to them funded
//! by a charge, reversals, and disputes opened by Stripe's test card. Onboarding is finished the
//! way the freelancer's browser finishes it in test mode: a GET on the link, which redirects
//! back. Each test makes its own accounts, charges and transfers and picks out its own events
//! by their ids, so tests running at once share the emulator.

use gigmarket_shared::stripe::client::{
    Account, Dispute, DisputeStatus, Event, EventsQuery, NewAccount, NewTransfer,
    PaymentIntentStatus, StripeClient, StripeConfig, StripeError, Transfer,
};
use gigmarket_tests::payments::{CARD_DISPUTED, confirm_with};
use gigmarket_tests::stripe::{
    Endpoint, capture_one_request, client, config, events_since, new_intent, now_unix, order_id,
    paid_intent, raw, raw_as,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

fn user_id() -> String {
    Uuid::new_v4().to_string()
}

/// A freelancer's Express account in Germany, keyed by the user as the payouts use case keys it.
async fn new_account(stripe: &StripeClient, user: &str) -> Account {
    let email = format!("{user}@example.com");
    stripe
        .create_account(
            &NewAccount {
                email: &email,
                country: "DE",
                user_id: user,
            },
            &format!("account:{user}"),
        )
        .await
        .expect("a new account")
}

/// The refresh and return URLs of a user's onboarding link.
fn onboarding_urls(user: &str) -> (String, String) {
    (
        format!("https://app.example.com/payouts/refresh?u={user}"),
        format!("https://app.example.com/payouts/done?u={user}"),
    )
}

/// A browser's GET on `url` that does not follow redirects: the status and `Location`.
async fn follow(url: &str) -> (StatusCode, Option<String>) {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser.get(url).send().await.expect("the onboarding page");
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned());
    (response.status(), location)
}

/// A new account whose freelancer went through onboarding.
async fn onboarded_account(stripe: &StripeClient) -> Account {
    let user = user_id();
    let account = new_account(stripe, &user).await;
    onboard(stripe, &account.id, &user).await
}

/// The freelancer `user` goes through a fresh onboarding link of `account`, which redirects
/// back to the app; answers the account, enabled.
async fn onboard(stripe: &StripeClient, account: &str, user: &str) -> Account {
    let (refresh, back) = onboarding_urls(user);
    let link = stripe
        .create_account_link(account, &refresh, &back)
        .await
        .unwrap();
    assert_eq!(follow(&link.url).await, (StatusCode::FOUND, Some(back)));
    let onboarded = stripe.retrieve_account(account).await.unwrap();
    assert!(onboarded.payouts_enabled, "{onboarded:?}");
    onboarded
}

/// A paid order (10.55 EUR) and an onboarded account to pay its freelancer: what a transfer
/// funded by the order's charge needs.
struct Funded {
    order: String,
    charge: String,
    account: Account,
}

async fn funded(stripe: &StripeClient) -> Funded {
    let order = order_id();
    let charge = paid_intent(stripe, &order)
        .await
        .latest_charge
        .expect("the charge");
    let account = onboarded_account(stripe).await;
    Funded {
        order,
        charge,
        account,
    }
}

impl Funded {
    /// A transfer of `amount_minor` EUR from the charge to the account, for `withdrawal_id`.
    fn transfer<'a>(&'a self, amount_minor: i64, withdrawal_id: &'a str) -> NewTransfer<'a> {
        NewTransfer {
            amount_minor,
            currency: "EUR",
            destination: &self.account.id,
            transfer_group: &self.order,
            source_transaction: Some(&self.charge),
            withdrawal_id,
        }
    }
}

/// The available balance in `currency` of the platform (`account` None) or a connected account.
async fn available(account: Option<&str>, currency: &str) -> i64 {
    let (status, balance) = match account {
        Some(account) => raw_as(account, Method::GET, "/v1/balance", "").await,
        None => raw(Method::GET, "/v1/balance", "").await,
    };
    assert_eq!(status, StatusCode::OK, "{balance}");
    balance["available"]
        .as_array()
        .expect("available balances")
        .iter()
        .find(|funds| funds["currency"] == currency)
        .map_or(0, |funds| funds["amount"].as_i64().expect("an amount"))
}

/// Stripe's error code of a refused call.
fn code(error: &StripeError) -> Option<&str> {
    error.body().and_then(|body| body.code.as_deref())
}

fn refused(result: Result<impl std::fmt::Debug, StripeError>) -> StripeError {
    let error = result.expect_err("Stripe refuses it");
    assert!(
        matches!(&error, StripeError::Request { status, .. } if *status == StatusCode::BAD_REQUEST),
        "{error:?}"
    );
    error
}

#[tokio::test]
async fn an_account_is_created_once_and_onboarded_through_its_link() {
    // The platform endpoint is registered first: the emulator goes through its endpoints in
    // that order, so once the Connect endpoint has an event, the platform's turn has passed.
    let mut platform = Endpoint::register(&["account.updated", "payment_intent.canceled"]).await;
    let mut connect = Endpoint::register_connect(&["account.updated"]).await;
    let stripe = client();
    let since = now_unix() - 1;
    let user = user_id();
    let created = new_account(&stripe, &user).await;
    assert!(created.id.starts_with("acct_"), "{created:?}");
    assert!(!created.payouts_enabled && !created.details_submitted);
    assert_eq!(created.user_id(), Some(user.as_str()));
    let requirements = created.requirements.clone().expect("requirements");
    assert!(
        requirements
            .currently_due
            .contains(&"external_account".to_owned()),
        "{requirements:?}"
    );
    assert_eq!(
        requirements.disabled_reason.as_deref(),
        Some("requirements.past_due")
    );
    // A retried creation (same key) answers the same account, never a second one.
    assert_eq!(new_account(&stripe, &user).await, created);
    assert_eq!(stripe.retrieve_account(&created.id).await.unwrap(), created);

    let (refresh, back) = onboarding_urls(&user);
    let link = stripe
        .create_account_link(&created.id, &refresh, &back)
        .await
        .unwrap();
    assert!(link.url.starts_with(&config().api_base), "{link:?}");
    assert!(link.expires_at > since, "{link:?}");
    assert_eq!(follow(&link.url).await, (StatusCode::FOUND, Some(back)));

    let delivered = connect.wait_for(&[("account.updated", &created.id)]).await;
    let body = &delivered[&("account.updated".to_owned(), created.id.clone())];
    let event: Event = serde_json::from_slice(body).unwrap();
    assert_eq!(event.account.as_deref(), Some(created.id.as_str()));
    let updated: Account = event.object().unwrap();
    assert!(
        updated.payouts_enabled && updated.details_submitted,
        "{updated:?}"
    );
    let previous = &serde_json::from_slice::<Value>(body).unwrap()["data"]["previous_attributes"];
    assert_eq!(previous["payouts_enabled"], false, "{previous}");
    assert_eq!(previous["details_submitted"], false, "{previous}");
    assert_eq!(
        previous["capabilities"]["transfers"], "inactive",
        "{previous}"
    );

    let onboarded = stripe.retrieve_account(&created.id).await.unwrap();
    assert_eq!(onboarded, updated);
    let requirements = onboarded.requirements.clone().expect("requirements");
    assert!(requirements.currently_due.is_empty(), "{requirements:?}");
    assert_eq!(requirements.disabled_reason, None);

    // A link is single-use: again, it leads to the refresh URL and changes nothing.
    assert_eq!(follow(&link.url).await, (StatusCode::FOUND, Some(refresh)));
    assert_eq!(
        stripe.retrieve_account(&created.id).await.unwrap(),
        onboarded
    );

    // The platform endpoint never hears the connected account's event: a platform event made
    // after it arrives there, and the account's did not come before it.
    let marker = new_intent(&stripe, &order_id()).await;
    stripe.cancel_payment_intent(&marker.id).await.unwrap();
    platform
        .wait_for(&[("payment_intent.canceled", &marker.id)])
        .await;
    assert!(!platform.saw("account.updated", &created.id));
    // Nor does the platform's event list show it; the account's own list does.
    assert!(
        !events_since(&stripe, since)
            .await
            .iter()
            .any(|listed| listed.id == event.id)
    );
    let (status, listed) = raw_as(
        &created.id,
        Method::GET,
        "/v1/events?type=account.updated",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["data"][0]["id"], event.id.as_str(), "{listed}");
    platform.close().await;
    connect.close().await;
}

/// Stripe asks an onboarded account for more (a failed verification): it is disabled, takes no
/// transfer, and a new onboarding link enables it again.
#[tokio::test]
async fn an_account_asked_for_more_is_disabled_until_onboarded_again() {
    let mut connect = Endpoint::register_connect(&["account.updated"]).await;
    let stripe = client();
    let funded = funded(&stripe).await;
    let account = &funded.account;

    let path = format!("/_test/accounts/{}/requirements", account.id);
    let (status, body) = raw(Method::POST, &path, "currently_due%5B%5D=external_account").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = connect
        .wait_until("account.updated disabling the account", |event| {
            event["type"] == "account.updated"
                && event["data"]["object"]["id"] == account.id.as_str()
                && event["data"]["object"]["payouts_enabled"] == false
        })
        .await;
    assert_eq!(event["account"], account.id.as_str(), "{event}");
    assert_eq!(
        event["data"]["previous_attributes"]["payouts_enabled"], true,
        "{event}"
    );
    let disabled = stripe.retrieve_account(&account.id).await.unwrap();
    assert!(!disabled.payouts_enabled, "{disabled:?}");
    let requirements = disabled.requirements.clone().expect("requirements");
    assert_eq!(requirements.currently_due, ["external_account"]);
    assert_eq!(
        requirements.disabled_reason.as_deref(),
        Some("requirements.past_due")
    );

    let transfer = funded.transfer(500, "wd_disabled");
    let error = refused(
        stripe
            .create_transfer(&transfer, &format!("transfer:{}", funded.order))
            .await,
    );
    assert_eq!(code(&error), Some("insufficient_capabilities_for_transfer"));

    let again = onboard(&stripe, &account.id, &user_id()).await;
    let requirements = again.requirements.expect("requirements");
    assert!(requirements.currently_due.is_empty(), "{requirements:?}");
    connect.close().await;
}

/// A transfer funded by a charge (`source_transaction`): never more than the charge holds, one
/// per Idempotency-Key however often it is sent, only to an account that can take transfers;
/// one without a charge needs the platform's balance.
#[tokio::test]
async fn a_transfer_from_a_charge_is_made_once_and_never_for_more_than_the_charge() {
    let stripe = client();
    let since = now_unix() - 1;
    let funded = funded(&stripe).await;
    let (order, charge, account) = (&funded.order, &funded.charge, &funded.account);
    let transfer = |amount_minor, withdrawal_id| funded.transfer(amount_minor, withdrawal_id);
    let withdrawal = format!("wd_{}", Uuid::new_v4().simple());
    let key = format!("transfer:{withdrawal}");

    let over = refused(
        stripe
            .create_transfer(&transfer(1056, &withdrawal), &format!("{key}:over"))
            .await,
    );
    assert!(!over.balance_insufficient(), "{over:?}");

    let first = stripe
        .create_transfer(&transfer(900, &withdrawal), &key)
        .await
        .unwrap();
    assert!(first.id.starts_with("tr_"), "{first:?}");
    assert_eq!((first.amount, first.currency.as_str()), (900, "eur"));
    assert_eq!(first.destination, account.id);
    assert_eq!(first.source_transaction.as_deref(), Some(charge.as_str()));
    assert_eq!(first.transfer_group.as_deref(), Some(order.as_str()));
    assert_eq!(first.metadata["withdrawal_id"], withdrawal);
    assert_eq!((first.amount_reversed, first.reversed), (0, false));
    let replayed = stripe
        .create_transfer(&transfer(900, &withdrawal), &key)
        .await
        .unwrap();
    assert_eq!(replayed, first);
    let (status, read) = raw(Method::GET, &format!("/v1/transfers/{}", first.id), "").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(serde_json::from_value::<Transfer>(read).unwrap(), first);
    assert_eq!(available(Some(&account.id), "eur").await, 900);

    // What is left of the charge goes in a second transfer; then nothing more.
    let rest = stripe
        .create_transfer(&transfer(155, "wd_rest"), &format!("{key}:rest"))
        .await
        .unwrap();
    assert_eq!(rest.amount, 155);
    refused(
        stripe
            .create_transfer(&transfer(1, "wd_more"), &format!("{key}:more"))
            .await,
    );

    // One transfer.created per transfer made, none for the replay or the refusals.
    let created: Vec<Transfer> = events_since(&stripe, since)
        .await
        .iter()
        .filter(|event| event.kind == "transfer.created")
        .map(|event| event.object::<Transfer>().unwrap())
        .filter(|listed| listed.source_transaction.as_deref() == Some(charge.as_str()))
        .collect();
    let mut ids: Vec<&str> = created.iter().map(|listed| listed.id.as_str()).collect();
    ids.sort_unstable();
    let mut made = vec![first.id.as_str(), rest.id.as_str()];
    made.sort_unstable();
    assert_eq!(ids, made);

    // In another currency than the charge's, or to an account not yet onboarded: refused.
    let other_order = order_id();
    let other_charge = paid_intent(&stripe, &other_order)
        .await
        .latest_charge
        .expect("the charge");
    let in_dollars = NewTransfer {
        currency: "USD",
        source_transaction: Some(&other_charge),
        ..transfer(100, "wd_usd")
    };
    refused(
        stripe
            .create_transfer(&in_dollars, &format!("{key}:usd"))
            .await,
    );
    let newcomer = new_account(&stripe, &user_id()).await;
    let to_newcomer = NewTransfer {
        destination: &newcomer.id,
        source_transaction: Some(&other_charge),
        ..transfer(100, "wd_newcomer")
    };
    let error = refused(
        stripe
            .create_transfer(&to_newcomer, &format!("{key}:newcomer"))
            .await,
    );
    assert_eq!(code(&error), Some("insufficient_capabilities_for_transfer"));

    // Without a charge the platform's available balance must cover it.
    let beyond = available(None, "eur").await.max(0) + 100_000_000;
    let unfunded = NewTransfer {
        source_transaction: None,
        ..transfer(beyond, "wd_unfunded")
    };
    let error = refused(
        stripe
            .create_transfer(&unfunded, &format!("{key}:unfunded"))
            .await,
    );
    assert!(error.balance_insufficient(), "{error:?}");
}

/// A reversal takes money back from the connected account: never more than the transfer has
/// left, and only while the account's balance covers it (`balance_insufficient` once it was
/// paid out to the bank).
#[tokio::test]
async fn a_reversal_takes_back_what_the_account_still_holds() {
    let stripe = client();
    let since = now_unix() - 1;
    let funded = funded(&stripe).await;
    let account = &funded.account;
    let withdrawal = format!("wd_{}", Uuid::new_v4().simple());
    let transfer = |amount_minor| funded.transfer(amount_minor, &withdrawal);
    let paid = stripe
        .create_transfer(&transfer(1000), &format!("transfer:{withdrawal}"))
        .await
        .unwrap();

    let key = format!("reversal:{withdrawal}");
    let reversal = stripe
        .create_transfer_reversal(&paid.id, Some(300), "admin-refund:r1", &key)
        .await
        .unwrap();
    assert!(reversal.id.starts_with("trr_"), "{reversal:?}");
    assert_eq!(
        (reversal.amount, reversal.transfer.as_str()),
        (300, paid.id.as_str())
    );
    let replayed = stripe
        .create_transfer_reversal(&paid.id, Some(300), "admin-refund:r1", &key)
        .await
        .unwrap();
    assert_eq!(replayed.id, reversal.id);
    let over = refused(
        stripe
            .create_transfer_reversal(
                &paid.id,
                Some(701),
                "admin-refund:r1",
                &format!("{key}:over"),
            )
            .await,
    );
    assert!(!over.balance_insufficient(), "{over:?}");
    let (status, read) = raw(Method::GET, &format!("/v1/transfers/{}", paid.id), "").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    let read: Transfer = serde_json::from_value(read).unwrap();
    assert_eq!((read.amount_reversed, read.reversed), (300, false));
    // The transfer carries its reversals, each with the cause it was made for.
    assert_eq!(read.reversals.data.len(), 1, "{read:?}");
    assert_eq!(read.reversals.data[0].id, reversal.id);
    assert_eq!(read.reversals.data[0].cause(), Some("admin-refund:r1"));
    assert_eq!(available(Some(&account.id), "eur").await, 700);

    // The freelancer's money goes to the bank (a payout on the account): nothing left to take.
    let (status, payout) = raw_as(
        &account.id,
        Method::POST,
        "/v1/payouts",
        "amount=700&currency=eur",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{payout}");
    assert_eq!(available(Some(&account.id), "eur").await, 0);
    let error = refused(
        stripe
            .create_transfer_reversal(
                &paid.id,
                Some(100),
                "admin-refund:r2",
                &format!("{key}:drained"),
            )
            .await,
    );
    assert!(error.balance_insufficient(), "{error:?}");
    let (_, read) = raw(Method::GET, &format!("/v1/transfers/{}", paid.id), "").await;
    assert_eq!(read["amount_reversed"], 300, "{read}");

    // A reversal without an amount takes all that is left of the transfer.
    let rest = stripe
        .create_transfer(&transfer(55), &format!("transfer:{withdrawal}:rest"))
        .await
        .unwrap();
    let whole = stripe
        .create_transfer_reversal(&rest.id, None, "admin-refund:r3", &format!("{key}:rest"))
        .await
        .unwrap();
    assert_eq!(whole.amount, 55);
    let (_, read) = raw(Method::GET, &format!("/v1/transfers/{}", rest.id), "").await;
    assert_eq!(read["reversed"], true, "{read}");

    // One transfer.reversed per reversal made.
    let reversed: Vec<String> = events_since(&stripe, since)
        .await
        .iter()
        .filter(|event| event.kind == "transfer.reversed")
        .map(|event| event.object::<Transfer>().unwrap().id)
        .filter(|id| *id == paid.id || *id == rest.id)
        .collect();
    assert_eq!(reversed, [rest.id.clone(), paid.id.clone()]);
}

/// Stripe's dispute test card: the payment succeeds and is then disputed as fraudulent
/// (`charge.dispute.created`); evidence `winning_evidence` wins it, `losing_evidence` loses
/// it, and closing it accepts the loss, each announced by `charge.dispute.closed`.
#[tokio::test]
async fn a_disputed_payment_is_won_or_lost_by_its_evidence() {
    let mut platform =
        Endpoint::register(&["charge.dispute.created", "charge.dispute.closed"]).await;
    let stripe = client();
    let since = now_unix() - 1;
    let mut disputed = Vec::new();
    for _ in 0..3 {
        let order = order_id();
        let intent = new_intent(&stripe, &order).await;
        let (status, body) = confirm_with(&intent.id, CARD_DISPUTED).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let paid = stripe.retrieve_payment_intent(&intent.id).await.unwrap();
        assert_eq!(paid.status, PaymentIntentStatus::Succeeded);
        let charge = paid.latest_charge.expect("the charge");
        let dispute = dispute_of(&stripe, &charge, since).await;
        assert_eq!(dispute.status, DisputeStatus::NeedsResponse);
        assert_eq!((dispute.amount, dispute.currency.as_str()), (1055, "eur"));
        assert_eq!(dispute.payment_intent.as_deref(), Some(intent.id.as_str()));
        // A charged-back payment can no longer be refunded.
        let error = refused(stripe.refund_payment_intent(&order, &intent.id).await);
        assert_eq!(code(&error), Some("charge_disputed"));
        disputed.push(dispute);
    }
    let opened: Vec<(&str, &str)> = disputed
        .iter()
        .map(|dispute| ("charge.dispute.created", dispute.id.as_str()))
        .collect();
    for body in platform.wait_for(&opened).await.values() {
        let event: Event = serde_json::from_slice(body).unwrap();
        assert_eq!(event.account, None, "a platform event");
        let dispute: Dispute = event.object().unwrap();
        assert_eq!(dispute.status, DisputeStatus::NeedsResponse);
    }

    let [won, lost, accepted] = [&disputed[0], &disputed[1], &disputed[2]];
    for (dispute, evidence, status) in [
        (won, "winning_evidence", "won"),
        (lost, "losing_evidence", "lost"),
    ] {
        let form = format!("evidence%5Buncategorized_text%5D={evidence}");
        let path = format!("/v1/disputes/{}", dispute.id);
        let (answered, answer) = raw(Method::POST, &path, &form).await;
        assert_eq!(answered, StatusCode::OK, "{answer}");
        assert_eq!(answer["status"], status, "{answer}");
    }
    let path = format!("/v1/disputes/{}/close", accepted.id);
    let (answered, answer) = raw(Method::POST, &path, "").await;
    assert_eq!(answered, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "lost", "{answer}");

    let closed = platform
        .wait_for(&[
            ("charge.dispute.closed", &won.id),
            ("charge.dispute.closed", &lost.id),
            ("charge.dispute.closed", &accepted.id),
        ])
        .await;
    for (dispute, status) in [
        (won, DisputeStatus::Won),
        (lost, DisputeStatus::Lost),
        (accepted, DisputeStatus::Lost),
    ] {
        let body = &closed[&("charge.dispute.closed".to_owned(), dispute.id.clone())];
        let event: Event = serde_json::from_slice(body).unwrap();
        assert_eq!(event.object::<Dispute>().unwrap().status, status);
        let read = stripe.retrieve_dispute(&dispute.id).await.unwrap();
        assert_eq!(read.status, status);
        assert_eq!(read.charge, dispute.charge);
        // Withdrawn with Stripe's dispute fee as it opened; reinstated (the fee kept) if won.
        let moved: Vec<(i64, i64, Option<&str>)> = read
            .balance_transactions
            .iter()
            .map(|txn| (txn.amount, txn.fee, txn.reporting_category.as_deref()))
            .collect();
        let mut expected = vec![(-1055, 1500, Some("dispute"))];
        if status == DisputeStatus::Won {
            expected.push((1055, 0, Some("dispute_reversal")));
        }
        assert_eq!(moved, expected, "{read:?}");
    }
    // A closed dispute takes no more evidence.
    let (answered, answer) = raw(
        Method::POST,
        &format!("/v1/disputes/{}", won.id),
        "evidence%5Buncategorized_text%5D=losing_evidence",
    )
    .await;
    assert_eq!(answered, StatusCode::BAD_REQUEST, "{answer}");
    platform.close().await;
}

/// The dispute Stripe opened on `charge`, found through the platform's events since `since`.
async fn dispute_of(stripe: &StripeClient, charge: &str, since: i64) -> Dispute {
    let page = stripe
        .list_events(&EventsQuery {
            created_gte: since,
            types: &["charge.dispute.created"],
            limit: 100,
            ..EventsQuery::default()
        })
        .await
        .unwrap();
    let opened = page
        .data
        .iter()
        .map(|event| event.object::<Dispute>().unwrap())
        .find(|dispute| dispute.charge == charge)
        .unwrap_or_else(|| panic!("no dispute of {charge}"));
    let read = stripe.retrieve_dispute(&opened.id).await.unwrap();
    assert_eq!(read, opened);
    read
}

/// What the Connect calls send: the caller's Idempotency-Key on the account, the transfer and
/// the reversal, none on the onboarding link (each call must answer a new link), and Stripe's
/// bracketed form fields.
#[tokio::test]
async fn connect_posts_carry_the_callers_key_and_stripes_fields() {
    let account = NewAccount {
        email: "ann@example.com",
        country: "DE",
        user_id: "u-1",
    };
    let sent = sent_by(
        r#"{"id":"acct_1","payouts_enabled":false,"details_submitted":false}"#,
        |stripe| async move { stripe.create_account(&account, "account:u-1").await },
    )
    .await;
    assert_post(
        &sent,
        "/v1/accounts",
        Some("account:u-1"),
        "type=express&country=de&email=ann%40example.com\
         &capabilities%5btransfers%5d%5brequested%5d=true&metadata%5buser_id%5d=u-1",
    );

    let sent = sent_by(
        r#"{"object":"account_link","url":"https://x/y","expires_at":1}"#,
        |stripe| async move {
            stripe
                .create_account_link("acct_1", "https://a/refresh", "https://a/return")
                .await
        },
    )
    .await;
    assert_post(
        &sent,
        "/v1/account_links",
        None,
        "account=acct_1&type=account_onboarding&refresh_url=https%3a%2f%2fa%2frefresh\
         &return_url=https%3a%2f%2fa%2freturn",
    );

    let transfer = NewTransfer {
        amount_minor: 900,
        currency: "EUR",
        destination: "acct_1",
        transfer_group: "ord_1",
        source_transaction: Some("ch_1"),
        withdrawal_id: "wd_1",
    };
    let sent = sent_by(
        r#"{"id":"tr_1","amount":900,"currency":"eur","destination":"acct_1"}"#,
        |stripe| async move { stripe.create_transfer(&transfer, "transfer:wd_1").await },
    )
    .await;
    assert_post(
        &sent,
        "/v1/transfers",
        Some("transfer:wd_1"),
        "amount=900&currency=eur&destination=acct_1&transfer_group=ord_1\
         &metadata%5bwithdrawal_id%5d=wd_1&source_transaction=ch_1",
    );

    // No amount: the whole rest of the transfer.
    let sent = sent_by(
        r#"{"id":"trr_1","amount":900,"transfer":"tr_1"}"#,
        |stripe| async move {
            stripe
                .create_transfer_reversal("tr_1", None, "dispute-lost:du_1", "reversal:wd_1")
                .await
        },
    )
    .await;
    assert_post(
        &sent,
        "/v1/transfers/tr_1/reversals",
        Some("reversal:wd_1"),
        "metadata%5bcause%5d=dispute-lost%3adu_1",
    );
}

/// The request `call` sends with a client pointed at a one-request capture that answers
/// `answer`, lower-cased.
async fn sent_by<T: std::fmt::Debug, F: std::future::Future<Output = Result<T, StripeError>>>(
    answer: &'static str,
    call: impl FnOnce(StripeClient) -> F,
) -> String {
    let (api_base, request) = capture_one_request(answer);
    let stripe = StripeClient::new(StripeConfig {
        api_base,
        ..config()
    })
    .unwrap();
    call(stripe).await.expect("the captured answer reads");
    request.join().unwrap().to_ascii_lowercase()
}

/// `sent` is a POST to `path` with `key` as its Idempotency-Key (or none) and `body` as its form.
fn assert_post(sent: &str, path: &str, key: Option<&str>, body: &str) {
    assert!(sent.starts_with(&format!("post {path} ")), "{sent}");
    match key {
        Some(key) => assert!(
            sent.contains(&format!("\r\nidempotency-key: {key}\r\n")),
            "{sent}"
        ),
        None => assert!(!sent.contains("idempotency-key"), "{sent}"),
    }
    let (_, form) = sent.split_once("\r\n\r\n").expect("a head and a body");
    assert_eq!(form, body, "{sent}");
}

//! Getting paid out the way a freelancer and Stripe do it against the local stack: onboarding
//! through the local Stripe's hosted link, its `account.updated` on the Connect webhook, and
//! withdrawals.

use gigmarket_shared::stripe::client::Transfer;
use gigmarket_shared::stripe::signature;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{CONNECT_WEBHOOK_SECRET, RawRequest, Session, TestApp, TestResponse};

impl TestApp {
    /// `POST /me/payouts/withdrawals` as `who` with the Idempotency-Key `key`.
    pub async fn withdraw(&self, who: &Session, key: &str, body: &Value) -> TestResponse {
        self.send(
            RawRequest::new("POST", "/me/payouts/withdrawals")
                .bearer(&who.access_token)
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
    }

    /// `PUT /me/payouts/settings` as `who`.
    pub async fn payout_settings(&self, who: &Session, body: &Value) -> TestResponse {
        self.send(
            RawRequest::new("PUT", "/me/payouts/settings")
                .bearer(&who.access_token)
                .json(body),
        )
        .await
    }

    /// Onboards `freelancer` as Stripe's hosted form would: asks for the link and finishes
    /// onboarding on it ([`Self::finish_onboarding`]). Answers the connected account's id.
    pub async fn onboard(&self, freelancer: &Session) -> String {
        let app = self;
        let response = app
            .post(
                "/me/payouts/account",
                &json!({"country": "DE"}),
                Some(&freelancer.access_token),
            )
            .await;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.body["account"]["payouts_enabled"], false);
        let url = response.body["onboarding_url"].as_str().unwrap().to_owned();
        self.finish_onboarding(freelancer, &url).await
    }

    /// Finishes onboarding as the freelancer's browser does on the link `url` (single-use: a
    /// second visit leads to the refresh URL), then delivers the account's `account.updated` to
    /// the Connect webhook. Answers the connected account's id.
    pub async fn finish_onboarding(&self, freelancer: &Session, url: &str) -> String {
        let app = self;
        let location = follow_onboarding_link(url).await;
        assert!(
            location.ends_with("/payouts/onboarding/return"),
            "{location}"
        );
        assert!(
            follow_onboarding_link(url)
                .await
                .ends_with("/payouts/onboarding/refresh")
        );
        let account_id = app
            .state
            .store
            .payout_account(freelancer.id)
            .await
            .unwrap()
            .expect("the account is recorded")
            .stripe_account_id;
        let event = app.account_updated(&account_id).await;
        let delivered = app
            .deliver_connect_event(&event, CONNECT_WEBHOOK_SECRET)
            .await;
        assert_eq!(delivered.status, 200, "{delivered:?}");
        assert_eq!(delivered.body["outcome"], "recorded");
        account_id
    }

    /// `account.updated` of `account_id` as the Connect endpoint receives it: the account object as
    /// the local Stripe holds it (with `account` on the event, as Connect events carry it).
    pub async fn account_updated(&self, account_id: &str) -> Value {
        let app = self;
        let account = app.stripe.retrieve_account(account_id).await.unwrap();
        let object = json!({
            "id": account.id, "object": "account", "payouts_enabled": account.payouts_enabled,
            "details_submitted": account.details_submitted, "metadata": account.metadata,
        });
        json!({"id": format!("evt_{}", Uuid::new_v4().simple()), "object": "event",
           "type": "account.updated", "account": account_id,
           "created": OffsetDateTime::now_utc().unix_timestamp(), "data": {"object": object}})
    }

    /// Pays `amount` (EUR minor units) of the freelancer's connected account out to their bank,
    /// as Stripe's payouts do, so a reversal finds nothing to take.
    pub async fn pay_out_to_bank(&self, freelancer: &Session, amount: i64) {
        let account = self
            .state
            .store
            .payout_account(freelancer.id)
            .await
            .unwrap()
            .expect("onboarded")
            .stripe_account_id;
        let (status, payout) = crate::stripe::raw_as(
            &account,
            reqwest::Method::POST,
            "/v1/payouts",
            &format!("amount={amount}&currency=eur"),
        )
        .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{payout}");
    }

    /// Clears the freelancer's earnings (the scheduler's clearance step, as of 15 days from now)
    /// and withdraws everything available in EUR; answers the transfer that paid `order_id`
    /// out. The freelancer is onboarded already.
    pub async fn pay_out(&self, freelancer: &Session, order_id: Uuid) -> Transfer {
        gigmarket_shared::app::payouts::clear_earnings(
            &self.state.store,
            time::Duration::days(14),
            OffsetDateTime::now_utc() + time::Duration::days(15),
            100,
        )
        .await
        .unwrap();
        let withdrawn = self
            .withdraw(freelancer, "all", &json!({"currency": "EUR"}))
            .await;
        assert_eq!(withdrawn.status, 201, "{withdrawn:?}");
        self.transfer_of(order_id).await
    }

    /// The one transfer that paid `order_id` out, as Stripe holds it now.
    pub async fn transfer_of(&self, order_id: Uuid) -> Transfer {
        let mut transfers = self
            .stripe
            .list_transfers(&order_id.to_string())
            .await
            .unwrap()
            .data;
        assert_eq!(transfers.len(), 1, "{transfers:?}");
        transfers.remove(0)
    }

    pub async fn deliver_connect_event(&self, event: &Value, secret: &str) -> TestResponse {
        let app = self;
        let body = event.to_string();
        let header = signature::header(
            secret.as_bytes(),
            OffsetDateTime::now_utc().unix_timestamp(),
            body.as_bytes(),
        );
        app.send(
            RawRequest::new("POST", "/webhooks/stripe/connect")
                .header("Stripe-Signature", &header)
                .raw_body("application/json", body),
        )
        .await
    }
}

/// Visits an onboarding link as the freelancer's browser would (the local Stripe's hosted
/// onboarding finishes it on the first visit); answers where it redirects to.
pub async fn follow_onboarding_link(url: &str) -> String {
    let visit = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .expect("the onboarding link");
    assert_eq!(visit.status().as_u16(), 302, "{visit:?}");
    visit.headers()["location"].to_str().unwrap().to_owned()
}

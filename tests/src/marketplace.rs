//! Helpers for order tests: active gigs written straight to the store (the gigs API lives on
//! another branch), order placement, and moving an order to a given state through the API.

use gigmarket_shared::accounts;
use gigmarket_shared::domain::gig::{Gig, GigStatus, Package, Revisions, Tier};
use gigmarket_shared::domain::user::Role;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{PASSWORD, RawRequest, Session, TestApp, TestResponse};

/// The parties of one order.
pub struct Cast {
    pub client: Session,
    pub freelancer: Session,
    pub admin: Session,
    pub stranger: Session,
}

impl TestApp {
    /// An admin, created the only way admins are: outside the API.
    pub async fn create_admin(&self) -> Session {
        let email = format!("admin-{}@example.com", Uuid::new_v4().simple());
        accounts::create_user(
            &self.state,
            email.clone(),
            PASSWORD.to_owned(),
            "Test admin".to_owned(),
            Role::Admin,
        )
        .await
        .expect("admin created");
        let response = self.login(&email, PASSWORD).await;
        assert_eq!(response.status, 200, "{response:?}");
        Session::from_body(&response.body, email)
    }

    pub async fn cast(&self) -> Cast {
        Cast {
            client: self.register_client().await,
            freelancer: self.register_freelancer().await,
            admin: self.create_admin().await,
            stranger: self.register_client().await,
        }
    }

    /// An active gig of `freelancer_id` with a basic (EUR 50, 2 days, `revisions`) and a premium
    /// (EUR 200, 5 days, unlimited revisions) package.
    pub async fn create_active_gig(&self, freelancer_id: Uuid, revisions: Revisions) -> Gig {
        let now = OffsetDateTime::now_utc();
        let package = |tier, price_cents, delivery_days, revisions| Package {
            tier,
            name: format!("{tier:?}"),
            description: "what you get".to_owned(),
            price_cents,
            currency: "EUR".to_owned(),
            delivery_days,
            revisions,
            features: Vec::new(),
        };
        let gig = Gig {
            id: Uuid::new_v4(),
            freelancer_id,
            title: "I will design your logo".to_owned(),
            description: "A logo.".to_owned(),
            category: "design".to_owned(),
            subcategory: None,
            tags: Vec::new(),
            packages: vec![
                package(Tier::Basic, 5_000, 2, revisions),
                package(Tier::Premium, 20_000, 5, Revisions::Unlimited),
            ],
            status: GigStatus::Active,
            version: 1,
            open_orders: 0,
            order_count: 0,
            rating_sum: 0,
            rating_count: 0,
            created_at: now,
            updated_at: now,
        };
        self.state.store.create_gig(&gig).await.expect("gig stored");
        gig
    }

    pub async fn gig(&self, gig_id: Uuid) -> Gig {
        self.state
            .store
            .get_gig(gig_id)
            .await
            .unwrap()
            .expect("gig exists")
    }

    /// `POST /orders` with an `Idempotency-Key`.
    pub async fn place_order_with_key(
        &self,
        client: &Session,
        key: &str,
        body: &Value,
    ) -> TestResponse {
        self.send(
            RawRequest::new("POST", "/orders")
                .bearer(&client.access_token)
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
    }

    /// Places a basic-package order with a fresh key and returns its id.
    pub async fn place_order(&self, client: &Session, gig: &Gig) -> Uuid {
        let response = self
            .place_order_with_key(
                client,
                &Uuid::new_v4().to_string(),
                &json!({"gig_id": gig.id, "package": "basic", "requirements": "Blue, please."}),
            )
            .await;
        assert_eq!(response.status, 201, "{response:?}");
        response.body["id"].as_str().unwrap().parse().unwrap()
    }

    /// `POST /orders/{id}/{action}` with the body that action takes.
    pub async fn order_action(&self, who: &Session, order_id: Uuid, action: &str) -> TestResponse {
        let body = match action {
            "reject" | "cancel" => json!({"reason": "Not a fit."}),
            "deliver" => {
                json!({"message": "Here it is.", "attachments": ["https://files.example.com/logo.png"]})
            }
            "request-revision" => json!({"message": "Make it bluer."}),
            _ => json!({}),
        };
        self.post(
            &format!("/orders/{order_id}/{action}"),
            &body,
            Some(&who.access_token),
        )
        .await
    }

    /// Performs `action` and asserts it succeeded.
    pub async fn order_step(&self, who: &Session, order_id: Uuid, action: &str) -> Value {
        let response = self.order_action(who, order_id, action).await;
        assert_eq!(response.status, 200, "{action}: {response:?}");
        response.body
    }

    /// A fresh order in `status`, reached through the API like a user would.
    pub async fn order_in(&self, cast: &Cast, gig: &Gig, status: &str) -> Uuid {
        let id = self.place_order(&cast.client, gig).await;
        let steps: &[(&Session, &str)] = match status {
            "pending" => &[],
            "in_progress" => &[(&cast.freelancer, "accept")],
            "delivered" => &[(&cast.freelancer, "accept"), (&cast.freelancer, "deliver")],
            "completed" => &[
                (&cast.freelancer, "accept"),
                (&cast.freelancer, "deliver"),
                (&cast.client, "complete"),
            ],
            "rejected" => &[(&cast.freelancer, "reject")],
            "cancelled" => &[(&cast.client, "cancel")],
            other => panic!("no such status {other}"),
        };
        for (who, action) in steps {
            self.order_step(who, id, action).await;
        }
        id
    }

    /// `GET /orders/{id}` as `who`.
    pub async fn order(&self, who: &Session, order_id: Uuid) -> TestResponse {
        self.get(&format!("/orders/{order_id}"), Some(&who.access_token))
            .await
    }
}

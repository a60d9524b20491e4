//! Test data, made the way the API makes it: users registered through `auth` (admins created as
//! `gigmarket_shared::app::accounts` creates them for `gigctl`), gigs built by the domain's own
//! constructor and validation (`GigDraft::validate`, `Gig::new`) or posted through `gigs`, and
//! orders placed and moved through `orders`. Never raw items: a fixture the API would refuse
//! proves nothing about the API.

use std::collections::HashSet;

use gigmarket_shared::domain::gig::{Gig, GigDraft, GigStatus, PackageDraft, Revisions, Tier};
use gigmarket_shared::domain::order::PlaceOrder;
use gigmarket_shared::domain::user::{Caller, Role, UserStatus};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{PASSWORD, RawRequest, Session, TestApp, TestResponse};

/// The body of a basic-package order of `gig` at the price and currency the client sees.
pub fn order_body(gig: &Gig) -> Value {
    let basic = gig.package(Tier::Basic).expect("a basic package");
    json!({
        "gig_id": gig.id,
        "package": "basic",
        "requirements": "Blue, please.",
        "expected_price_cents": basic.price_cents,
        "currency": basic.currency,
    })
}

/// A valid gig body; tests change what they are about.
pub fn gig_body(title: &str) -> Value {
    json!({
        "title": title,
        "description": "A careful, complete service description that is long enough.",
        "category": "graphics-design",
        "subcategory": "logo-design",
        "tags": ["branding"],
        "packages": [
            package("basic", 5_000, 7),
            package("standard", 10_000, 5),
            package("premium", 20_000, 3),
        ]
    })
}

pub fn package(tier: &str, price_cents: u64, delivery_days: u32) -> Value {
    json!({
        "tier": tier,
        "name": format!("{tier} package"),
        "description": format!("What the {tier} package includes"),
        "price_cents": price_cents,
        "currency": "EUR",
        "delivery_days": delivery_days,
        "revisions": 2,
        "features": ["source files"]
    })
}

/// A gig with a single basic package at this price and delivery time.
pub fn priced_gig(title: &str, price_cents: u64, delivery_days: u32) -> Value {
    let mut body = gig_body(title);
    body["packages"] = json!([package("basic", price_cents, delivery_days)]);
    body
}

impl TestApp {
    /// Creates a gig (asserting 201) and returns its body.
    pub async fn create_gig(&self, owner: &Session, body: &Value) -> Value {
        let response = self.post("/gigs", body, Some(&owner.access_token)).await;
        assert_eq!(response.status, 201, "create gig: {response:?}");
        response.body
    }

    /// Creates a gig and has `admin` approve it; returns its id.
    pub async fn create_approved_gig(
        &self,
        owner: &Session,
        admin: &Session,
        body: &Value,
    ) -> Uuid {
        let gig = self.create_gig(owner, body).await;
        let id = gig_id(&gig);
        let approved = self
            .moderate(admin, id, "approve", Some(&gig_etag(&gig)), None)
            .await;
        assert_eq!(approved.status, 200, "approve: {approved:?}");
        assert_eq!(approved.body["status"], "active");
        id
    }

    /// `POST /admin/gigs/{id}/<decision>` (`approve`, `reject`, `remove`) as `admin`, with
    /// `If-Match: <if_match>` when given and `reason` as the body's when given.
    pub async fn moderate(
        &self,
        admin: &Session,
        gig_id: Uuid,
        decision: &str,
        if_match: Option<&str>,
        reason: Option<&str>,
    ) -> TestResponse {
        let body = match reason {
            Some(reason) => json!({ "reason": reason }),
            None => json!({}),
        };
        let mut request = RawRequest::new("POST", format!("/admin/gigs/{gig_id}/{decision}"))
            .bearer(&admin.access_token)
            .json(&body);
        if let Some(if_match) = if_match {
            request = request.header("if-match", if_match);
        }
        self.send(request).await
    }

    /// The gig's current ETag, read as `viewer` (its owner or an admin) through `GET /gigs/{id}`.
    pub async fn current_etag(&self, viewer: &Session, gig_id: Uuid) -> String {
        let response = self
            .get(&format!("/gigs/{gig_id}"), Some(&viewer.access_token))
            .await;
        assert_eq!(response.status, 200, "read gig: {response:?}");
        response.header("etag").expect("an ETag").to_owned()
    }

    /// Approves the gig as it is now (its current ETag, read first as `admin`).
    pub async fn approve_gig(&self, admin: &Session, gig_id: Uuid) -> TestResponse {
        let etag = self.current_etag(admin, gig_id).await;
        self.moderate(admin, gig_id, "approve", Some(&etag), None)
            .await
    }

    /// Rejects the gig as it is now (its current ETag, read first as `admin`).
    pub async fn reject_gig(&self, admin: &Session, gig_id: Uuid, reason: &str) -> TestResponse {
        let etag = self.current_etag(admin, gig_id).await;
        self.moderate(admin, gig_id, "reject", Some(&etag), Some(reason))
            .await
    }

    /// Follows `next_cursor` from `path` (which has a query string) to the end; asserts no item
    /// repeats and returns ids in order with the number of pages.
    pub async fn collect_pages(&self, path: &str, token: Option<&str>) -> (Vec<Uuid>, usize) {
        let mut ids = Vec::new();
        let mut pages = 0;
        let mut url = path.to_owned();
        loop {
            let response = self.get(&url, token).await;
            assert_eq!(response.status, 200, "{url}: {response:?}");
            pages += 1;
            for item in response.body["items"].as_array().expect("items") {
                ids.push(gig_id(item));
            }
            match response.body["next_cursor"].as_str() {
                Some(cursor) => url = format!("{path}&cursor={cursor}"),
                None => break,
            }
            assert!(pages < 1_000, "paging does not end");
        }
        let distinct: HashSet<&Uuid> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "no item appears twice: {ids:?}");
        (ids, pages)
    }

    /// Every gig id `GET /gigs?<query>` returns, over all pages (limit 100).
    pub async fn browse_ids(&self, query: &str) -> Vec<Uuid> {
        self.collect_pages(&format!("/gigs?limit=100&{query}"), None)
            .await
            .0
    }
}

/// The ETag of a gig as its body shows it (`"<version>"`, what the `ETag` header carries).
pub fn gig_etag(body: &Value) -> String {
    format!("\"{}\"", body["version"].as_u64().expect("a gig version"))
}

pub fn gig_id(body: &Value) -> Uuid {
    body["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no gig id in {body}"))
}

impl TestApp {
    /// Gives a gig a rating the way reviews will: counters on the gig item, then a re-index.
    pub async fn rate_gig(&self, gig_id: Uuid, rating_sum: u64, rating_count: u64) {
        self.state
            .store
            .set_gig_rating(gig_id, rating_sum, rating_count)
            .await
            .expect("rating set and re-indexed");
    }
}

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
        self.state
            .accounts()
            .create_user(
                email.clone(),
                PASSWORD.to_owned(),
                "Test admin".to_owned(),
                Role::Admin,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .expect("admin created");
        let response = self.login(&email, PASSWORD).await;
        assert_eq!(response.status, 200, "{response:?}");
        Session::from_body(&response.body, email)
    }

    /// Blocks or unblocks a user the way an operator does (`gigctl block-user`/`unblock-user`:
    /// the admin use case, so the status, sessions, gigs' listing, list keys, metrics and audit
    /// log all move as in production).
    pub async fn set_user_status(&self, user_id: Uuid, status: UserStatus) {
        use gigmarket_shared::app::admin::users::{block_user, unblock_user};
        use gigmarket_shared::domain::audit::{Actor, ReasonBody};
        let actor = Actor::operator("tests");
        let now = OffsetDateTime::now_utc();
        let changed = match status {
            UserStatus::Blocked => {
                let reason = ReasonBody {
                    reason: "Blocked by a test.".to_owned(),
                };
                block_user(&self.state.store, &actor, user_id, Ok(reason), now).await
            }
            UserStatus::Active => unblock_user(&self.state.store, &actor, user_id, now).await,
        };
        changed.unwrap_or_else(|error| panic!("setting {user_id} {status:?}: {error:?}"));
    }

    pub async fn cast(&self) -> Cast {
        Cast {
            client: self.register_client().await,
            freelancer: self.register_freelancer().await,
            admin: self.create_admin().await,
            stranger: self.register_client().await,
        }
    }

    /// A fresh table's cast, and an active gig of its freelancer (one revision in the basic
    /// package): where most order stories start.
    pub async fn cast_with_gig(&self) -> (Cast, Gig) {
        let cast = self.cast().await;
        let gig = self
            .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
            .await;
        (cast, gig)
    }

    /// An active gig of `freelancer_id` with a basic (EUR 50, 2 days, `revisions`) and a premium
    /// (EUR 200, 5 days, unlimited revisions) package.
    pub async fn create_active_gig(&self, freelancer_id: Uuid, revisions: Revisions) -> Gig {
        let gig = Self::active_gig(freelancer_id, revisions);
        self.state.store.create_gig(&gig).await.expect("gig stored");
        gig
    }

    /// The gig [`TestApp::create_active_gig`] stores, for tests that store it elsewhere. Its
    /// content passes the same validation as `POST /gigs`.
    pub fn active_gig(freelancer_id: Uuid, revisions: Revisions) -> Gig {
        Self::active_gig_priced(freelancer_id, revisions, 5_000, "EUR")
    }

    /// Like [`TestApp::active_gig`], priced in `currency`: the basic package at `basic_price`
    /// and the premium one at 20,000, in the currency's minor units.
    pub fn active_gig_priced(
        freelancer_id: Uuid,
        revisions: Revisions,
        basic_price: u64,
        currency: &str,
    ) -> Gig {
        let now = OffsetDateTime::now_utc();
        let package = |tier, price_cents, delivery_days, revisions: Revisions| PackageDraft {
            tier,
            name: format!("{tier:?} logo"),
            description: "A logo in two colour variants".to_owned(),
            price_cents,
            currency: currency.to_owned(),
            delivery_days,
            revisions: revisions.count(),
            unlimited_revisions: revisions == Revisions::Unlimited,
            features: Vec::new(),
        };
        let content = GigDraft {
            title: "I will design your logo".to_owned(),
            description: "A clean, memorable logo designed from your brief.".to_owned(),
            category: "graphics-design".to_owned(),
            subcategory: Some("logo-design".to_owned()),
            tags: Vec::new(),
            packages: vec![
                package(Tier::Basic, basic_price, 2, revisions),
                package(Tier::Premium, 20_000, 5, Revisions::Unlimited),
            ],
        }
        .validate()
        .expect("a gig the API would accept");
        Gig::new(freelancer_id, content, GigStatus::Active, now)
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

    /// Places a basic-package order with a fresh key, unpaid; returns its id.
    pub async fn place_unpaid_order(&self, client: &Session, gig: &Gig) -> Uuid {
        let response = self
            .place_order_with_key(client, &Uuid::new_v4().to_string(), &order_body(gig))
            .await;
        assert_eq!(response.status, 201, "{response:?}");
        assert_eq!(response.body["status"], "awaiting_payment", "{response:?}");
        response.body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Places a basic-package order of `gig` through the use case with its clock at `at` (so in
    /// an earlier month, say), unpaid; returns its id.
    pub async fn place_unpaid_order_at(
        &self,
        client: &Session,
        gig: &Gig,
        at: OffsetDateTime,
    ) -> Uuid {
        let basic = gig.package(Tier::Basic).expect("a basic package");
        let placed = gigmarket_shared::app::orders::place(
            &self.state.store,
            &self.stripe,
            &self.state.config,
            Caller {
                id: client.id,
                role: Role::Client,
                session: None,
            },
            Some(&Uuid::new_v4().to_string()),
            &PlaceOrder {
                gig_id: gig.id,
                package: Tier::Basic,
                requirements: "Blue, please.".into(),
                expected_price_cents: basic.price_cents,
                currency: basic.currency.clone(),
            },
            at,
        )
        .await
        .expect("placed");
        placed.order.id
    }

    /// Places a basic-package order with a fresh key and pays for it (the order is `pending`);
    /// returns its id.
    pub async fn place_order(&self, client: &Session, gig: &Gig) -> Uuid {
        let id = self.place_unpaid_order(client, gig).await;
        self.pay_order(id).await;
        id
    }

    /// Every item of a paged list (`path` with its query, the limit included) as `token` sees
    /// it, in order, following `next_cursor`, with the number of pages.
    pub async fn all_pages(&self, token: &str, path: &str) -> (Vec<Value>, usize) {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut pages = 0;
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(cursor) => format!("{path}{separator}cursor={cursor}"),
                None => path.to_owned(),
            };
            let response = self.get(&url, Some(token)).await;
            assert_eq!(response.status, 200, "{url}: {response:?}");
            pages += 1;
            items.extend(response.body["items"].as_array().unwrap().iter().cloned());
            match response.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return (items, pages),
            }
            assert!(pages < 100, "{path}: the pages never end");
        }
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

//! Gig fixtures: valid gig bodies to vary, and helpers that create, approve and page through gigs
//! over the API (admins come from [`TestApp::create_admin`]).

use std::collections::HashSet;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Session, TestApp};

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
            .post(
                &format!("/gigs/{id}/approve"),
                &json!({}),
                Some(&admin.access_token),
            )
            .await;
        assert_eq!(approved.status, 200, "approve: {approved:?}");
        assert_eq!(approved.body["status"], "active");
        id
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

//! Metrics counters and `GET /admin/metrics`: a randomized workload through the API
//! (registrations, gigs in every status, orders in every state incl. cancellations by clients
//! and admins and the scheduler's moves, reviews of both sides and the scheduler's publication,
//! messages, blocks and unblocks), then every figure recomputed from the stored items (a test-support Scan) must
//! equal what `GET /admin/metrics` answers: the money figures from the ledger transactions'
//! postings, so each platform balance is checked against the sum of its postings.
//!
//! The seed is printed; `GIGMARKET_WORKLOAD_SEED=<seed>` replays a run.

use std::collections::BTreeMap;

use gigmarket_tests::fixtures::gig_body;
use gigmarket_tests::{Session, TestApp};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// SplitMix64: a small seeded generator, so a failing run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn seed() -> u64 {
    std::env::var("GIGMARKET_WORKLOAD_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp_nanos() as u64)
}

/// The figures as `GET /admin/metrics` gives them.
async fn counted(app: &TestApp, admin: &Session) -> Value {
    let response = app.get("/admin/metrics", Some(&admin.access_token)).await;
    assert_eq!(response.status, 200, "{response:?}");
    response.body
}

/// Every figure recomputed from the stored items, in the shape `Metrics` serialises to.
async fn recomputed(app: &TestApp) -> Value {
    let mut users: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for role in ["client", "freelancer", "admin"] {
        for status in ["active", "blocked"] {
            users
                .entry(role.into())
                .or_default()
                .insert(status.into(), 0);
        }
    }
    let mut gigs: BTreeMap<String, i64> = [
        "pending_review",
        "active",
        "paused",
        "rejected",
        "archived",
        "removed",
    ]
    .map(|status| (status.to_owned(), 0))
    .into();
    let mut orders: BTreeMap<String, i64> = [
        "awaiting_payment",
        "pending",
        "in_progress",
        "delivered",
        "completed",
        "rejected",
        "cancelled",
    ]
    .map(|status| (status.to_owned(), 0))
    .into();
    let mut completed: BTreeMap<String, i64> = BTreeMap::new();
    let (mut reviews, mut rating_sum, mut messages) = (0i64, 0i64, 0i64);
    // (account, currency) -> the sum of its postings.
    let mut posted: BTreeMap<(String, String), i64> = BTreeMap::new();
    let text = |item: &Value, name: &str| item[name].as_str().unwrap_or_default().to_owned();
    for item in app.state.store.scan_all_items().await.expect("scan") {
        match item["entity"].as_str().unwrap_or_default() {
            "user" => {
                let status = item["status"].as_str().unwrap_or("active").to_owned();
                *users
                    .entry(text(&item, "role"))
                    .or_default()
                    .entry(status)
                    .or_default() += 1;
            }
            "gig" => *gigs.entry(text(&item, "status")).or_default() += 1,
            "order" => {
                let status = text(&item, "status");
                if status == "completed" {
                    *completed.entry(text(&item, "currency")).or_default() +=
                        item["price_cents"].as_i64().expect("price");
                }
                *orders.entry(status).or_default() += 1;
            }
            "review" => {
                let hidden = item["hidden"].as_bool().unwrap_or(false);
                if item["state"] == "published" && !hidden {
                    reviews += 1;
                    rating_sum += item["rating"].as_i64().expect("rating");
                }
            }
            "message" => messages += 1,
            "ledger_transaction" => {
                let currency = text(&item, "currency");
                for posting in item["postings"].as_array().expect("postings") {
                    *posted
                        .entry((text(posting, "account"), currency.clone()))
                        .or_default() += posting["amount"].as_i64().expect("amount");
                }
            }
            _ => {}
        }
    }
    let average =
        (reviews > 0).then(|| (rating_sum as f64 / reviews as f64 * 100.0).round() / 100.0);
    // The money figures: each platform account's postings, every currency posted in.
    let mut money: BTreeMap<&str, BTreeMap<String, i64>> = BTreeMap::new();
    for (_, currency) in posted.keys() {
        let sum = |account: &str| {
            posted
                .get(&(account.to_owned(), currency.clone()))
                .copied()
                .unwrap_or(0)
        };
        // Every freelancer's balance of one kind (`freelancer:<id>:<kind>`) together.
        let every = |kind: &str| -> i64 {
            posted
                .iter()
                .filter(|((account, posted_in), _)| {
                    posted_in == currency
                        && account.starts_with("freelancer:")
                        && account.ends_with(&format!(":{kind}"))
                })
                .map(|(_, amount)| amount)
                .sum()
        };
        for (figure, value) in [
            ("gross_order_value_cents", -sum("stripe_clearing")),
            ("fees_earned_cents", sum("platform_fees")),
            ("refunds_cents", sum("refunds")),
            ("escrow_held_cents", sum("escrow")),
            ("earnings_pending_cents", every("pending")),
            ("earnings_available_cents", every("available")),
            ("paid_out_cents", every("paid_out")),
            ("earnings_frozen_cents", every("frozen")),
            ("owed_by_freelancers_cents", -every("debt")),
            ("disputes_lost_cents", sum("disputes_lost")),
            ("dispute_fees_cents", sum("dispute_fees")),
        ] {
            money
                .entry(figure)
                .or_default()
                .insert(currency.clone(), value);
        }
    }
    let figure = |name: &str| money.get(name).cloned().unwrap_or_default();
    json!({
        "users": users,
        "gigs": gigs,
        "orders": orders,
        "completed_order_value_cents": completed,
        "reviews": {"count": reviews, "rating_sum": rating_sum, "average_rating": average},
        "messages_sent": messages,
        "gross_order_value_cents": figure("gross_order_value_cents"),
        "fees_earned_cents": figure("fees_earned_cents"),
        "refunds_cents": figure("refunds_cents"),
        "escrow_held_cents": figure("escrow_held_cents"),
        "earnings_pending_cents": figure("earnings_pending_cents"),
        "earnings_available_cents": figure("earnings_available_cents"),
        "paid_out_cents": figure("paid_out_cents"),
        "earnings_frozen_cents": figure("earnings_frozen_cents"),
        "owed_by_freelancers_cents": figure("owed_by_freelancers_cents"),
        "disputes_lost_cents": figure("disputes_lost_cents"),
        "dispute_fees_cents": figure("dispute_fees_cents"),
    })
}

/// The people and things of one workload.
struct World {
    admin: Session,
    clients: Vec<Session>,
    freelancers: Vec<Session>,
    /// (owner index, gig id) of every active gig.
    active_gigs: Vec<(usize, Uuid)>,
}

async fn register_people(app: &TestApp, rng: &mut Rng) -> World {
    let admin = app.create_admin().await;
    let mut clients = Vec::new();
    for _ in 0..2 + rng.below(3) {
        clients.push(app.register_client().await);
    }
    let mut freelancers = Vec::new();
    for _ in 0..2 + rng.below(2) {
        freelancers.push(app.register_freelancer().await);
    }
    World {
        admin,
        clients,
        freelancers,
        active_gigs: Vec::new(),
    }
}

/// Gigs in every status: created (pending review), approved, rejected, paused, archived,
/// removed by moderation.
async fn create_gigs(app: &TestApp, rng: &mut Rng, world: &mut World) {
    for (owner_index, owner) in world.freelancers.iter().enumerate() {
        for number in 0..1 + rng.below(3) {
            let mut body = gig_body(&format!("Logo design number {number}"));
            let currency = *rng.pick(&["EUR", "USD", "GBP"]);
            for package in body["packages"].as_array_mut().unwrap() {
                package["currency"] = json!(currency);
            }
            let gig = app.create_gig(owner, &body).await;
            let id: Uuid = gig["id"].as_str().unwrap().parse().unwrap();
            let admin = &world.admin;
            match rng.below(10) {
                0 => continue,
                1 => {
                    let rejected = app.reject_gig(admin, id, "Not a fit.").await;
                    assert_eq!(rejected.status, 200, "{rejected:?}");
                    continue;
                }
                _ => {
                    let approved = app.approve_gig(admin, id).await;
                    assert_eq!(approved.status, 200, "{approved:?}");
                }
            }
            let owner_token = Some(owner.access_token.as_str());
            match rng.below(8) {
                0 => {
                    let paused = app
                        .post(&format!("/gigs/{id}/pause"), &json!({}), owner_token)
                        .await;
                    assert_eq!(paused.status, 200, "{paused:?}");
                }
                1 => {
                    let archived = app.delete(&format!("/gigs/{id}"), owner_token).await;
                    assert!(archived.status < 300, "{archived:?}");
                }
                2 => {
                    let removed = app
                        .moderate(admin, id, "remove", None, Some("Breaks the rules."))
                        .await;
                    assert_eq!(removed.status, 200, "{removed:?}");
                }
                _ => world.active_gigs.push((owner_index, id)),
            }
        }
    }
    if world.active_gigs.is_empty() {
        // At least one gig to order from.
        let owner = &world.freelancers[0];
        let id = app
            .create_approved_gig(owner, &world.admin, &gig_body("Logo design"))
            .await;
        world.active_gigs.push((0, id));
    }
}

/// Orders driven to every state through the API; returns the completed ones with their parties.
async fn place_orders(app: &TestApp, rng: &mut Rng, world: &World) -> Vec<(Uuid, usize, usize)> {
    let mut completed = Vec::new();
    for _ in 0..6 + rng.below(8) {
        let client_index = rng.below(world.clients.len());
        let client = &world.clients[client_index];
        let &(owner_index, gig_id) = rng.pick(&world.active_gigs);
        let freelancer = &world.freelancers[owner_index];
        let gig = app.gig(gig_id).await;
        let id = app.place_order(client, &gig).await;
        let steps: &[(&Session, &str)] = match rng.below(9) {
            0 => &[],
            1 => &[(freelancer, "accept")],
            2 => &[(freelancer, "accept"), (freelancer, "deliver")],
            3 => &[
                (freelancer, "accept"),
                (freelancer, "deliver"),
                (client, "request-revision"),
            ],
            4 => &[(freelancer, "reject")],
            5 => &[(client, "cancel")],
            _ => &[
                (freelancer, "accept"),
                (freelancer, "deliver"),
                (client, "complete"),
            ],
        };
        for (who, action) in steps {
            app.order_step(who, id, action).await;
        }
        let closed = steps
            .last()
            .is_some_and(|(_, action)| matches!(*action, "reject" | "cancel" | "complete"));
        if !closed && rng.chance(25) {
            let cancelled = app
                .post(
                    &format!("/admin/orders/{id}/cancel"),
                    &json!({"reason": "Cancelled by an admin."}),
                    Some(&world.admin.access_token),
                )
                .await;
            assert_eq!(cancelled.status, 200, "{cancelled:?}");
            continue;
        }
        if steps
            .last()
            .is_some_and(|(_, action)| *action == "complete")
        {
            completed.push((id, client_index, owner_index));
        }
    }
    completed
}

/// Reviews of completed orders: none, one side (left sealed), or both (published together).
/// Returns the ids of the reviews written.
async fn write_reviews(
    app: &TestApp,
    rng: &mut Rng,
    world: &World,
    completed: &[(Uuid, usize, usize)],
) -> Vec<Uuid> {
    let mut written = Vec::new();
    for &(order_id, client_index, owner_index) in completed {
        let sides = rng.below(4);
        let mut authors = Vec::new();
        if sides & 1 == 1 {
            authors.push(&world.clients[client_index]);
        }
        if sides & 2 == 2 {
            authors.push(&world.freelancers[owner_index]);
        }
        for author in authors {
            let rating = 1 + rng.below(5);
            let response = app
                .post(
                    "/reviews",
                    &json!({"order_id": order_id, "rating": rating, "comment": "Good work, on time."}),
                    Some(&author.access_token),
                )
                .await;
            assert_eq!(response.status, 201, "{response:?}");
            written.push(response.body["id"].as_str().unwrap().parse().unwrap());
        }
    }
    written
}

/// Hides some reviews (a sealed one is 409, which must change nothing) and unhides some again.
async fn hide_some(app: &TestApp, rng: &mut Rng, world: &World, reviews: &[Uuid]) {
    let admin = Some(world.admin.access_token.as_str());
    for review in reviews {
        if !rng.chance(40) {
            continue;
        }
        let hidden = app
            .post(
                &format!("/admin/reviews/{review}/hide"),
                &json!({"reason": "Abusive language."}),
                admin,
            )
            .await;
        match hidden.status {
            200 => {}
            409 => {
                assert_eq!(hidden.problem(), "review-not-published", "{hidden:?}");
                continue;
            }
            _ => panic!("hide: {hidden:?}"),
        }
        if rng.chance(30) {
            let shown = app
                .post(
                    &format!("/admin/reviews/{review}/unhide"),
                    &json!({}),
                    admin,
                )
                .await;
            assert_eq!(shown.status, 200, "{shown:?}");
        }
    }
}

async fn send_messages(app: &TestApp, rng: &mut Rng, world: &World) {
    for _ in 0..rng.below(4) {
        let client = rng.pick(&world.clients);
        let freelancer = rng.pick(&world.freelancers);
        let opened = app
            .post(
                "/conversations",
                &json!({"participant_id": freelancer.id, "text": "Hello, a question."}),
                Some(&client.access_token),
            )
            .await;
        assert!(opened.status == 201 || opened.status == 200, "{opened:?}");
        let conversation = opened.body["conversation"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for _ in 0..rng.below(3) {
            let from = if rng.chance(50) { client } else { freelancer };
            let sent = app
                .post(
                    &format!("/conversations/{conversation}/messages"),
                    &json!({"text": "And another thing."}),
                    Some(&from.access_token),
                )
                .await;
            assert_eq!(sent.status, 201, "{sent:?}");
        }
    }
}

/// Blocks some clients and freelancers (after their writes), and unblocks some of them again.
async fn block_some(app: &TestApp, rng: &mut Rng, world: &World) {
    let admin = Some(world.admin.access_token.as_str());
    for user in world.clients.iter().chain(&world.freelancers) {
        if !rng.chance(30) {
            continue;
        }
        let blocked = app
            .post(
                &format!("/admin/users/{}/block", user.id),
                &json!({"reason": "Spam."}),
                admin,
            )
            .await;
        assert_eq!(blocked.status, 200, "{blocked:?}");
        if rng.chance(30) {
            let unblocked = app
                .post(
                    &format!("/admin/users/{}/unblock", user.id),
                    &json!({}),
                    admin,
                )
                .await;
            assert_eq!(unblocked.status, 200, "{unblocked:?}");
        }
    }
}

/// The scheduler as of `days` from now: auto-completes delivered orders, marks late ones,
/// publishes reviews whose window closed.
async fn run_scheduler(app: &TestApp, days: i64) {
    scheduler::run(
        &app.state.store,
        &app.stripe,
        OffsetDateTime::now_utc() + Duration::days(days),
    )
    .await
    .expect("scheduler run");
}

#[tokio::test]
async fn counters_equal_the_figures_recomputed_from_the_items_after_a_random_workload() {
    let seed = seed();
    println!("workload seed: {seed} (GIGMARKET_WORKLOAD_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let app = TestApp::new().await;

    let mut world = register_people(&app, &mut rng).await;
    create_gigs(&app, &mut rng, &mut world).await;
    let completed = place_orders(&app, &mut rng, &world).await;
    let reviews = write_reviews(&app, &mut rng, &world, &completed).await;
    send_messages(&app, &mut rng, &world).await;
    if rng.chance(50) {
        // Past the auto-complete and due dates, within the review window.
        run_scheduler(&app, 4).await;
    }
    if rng.chance(50) {
        // Past every review window: what is still sealed is published alone.
        run_scheduler(&app, 30).await;
    }

    hide_some(&app, &mut rng, &world, &reviews).await;
    block_some(&app, &mut rng, &world).await;

    let expected = recomputed(&app).await;
    let counted = counted(&app, &world.admin).await;
    assert_eq!(counted, expected, "seed {seed}");
    // The workload really moved the figures (a test that can fail): every order is paid.
    assert!(
        expected["orders"]
            .as_object()
            .unwrap()
            .values()
            .any(|n| n != 0)
    );
    assert!(
        expected["gross_order_value_cents"]
            .as_object()
            .unwrap()
            .values()
            .any(|n| n.as_i64() > Some(0)),
        "seed {seed}: {expected}"
    );
    // Every registered client is counted once, whatever the blocks left active.
    let clients: i64 = expected["users"]["client"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_i64().unwrap())
        .sum();
    assert_eq!(clients, world.clients.len() as i64, "seed {seed}");
}

/// The rating totals a review can count in: the gig's, the freelancer's (seller), the client's
/// (buyer).
async fn totals(
    app: &TestApp,
    gig_id: Uuid,
    freelancer: Uuid,
    client: Uuid,
) -> (
    gigmarket_shared::domain::rating::RatingTotals,
    gigmarket_shared::domain::rating::RatingTotals,
    gigmarket_shared::domain::rating::RatingTotals,
) {
    let store = &app.state.store;
    let (_, gig) = store
        .stored_gig_with_ratings(gig_id)
        .await
        .unwrap()
        .unwrap();
    let (_, seller) = store.user_with_ratings(freelancer).await.unwrap().unwrap();
    let (_, buyer) = store.user_with_ratings(client).await.unwrap().unwrap();
    (gig, seller.seller, buyer.buyer)
}

async fn listed_reviews(app: &TestApp, path: &str) -> usize {
    let response = app.get(path, None).await;
    assert_eq!(response.status, 200, "{response:?}");
    response.body["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn hiding_a_review_takes_it_out_of_every_total_and_listing_and_unhiding_puts_it_back() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(
            cast.freelancer.id,
            gigmarket_shared::domain::gig::Revisions::Limited(1),
        )
        .await;
    let order = app.order_in(&cast, &gig, "completed").await;
    let post = |who: &Session, body: Value| {
        let token = who.access_token.clone();
        let app = &app;
        async move { app.post("/reviews", &body, Some(&token)).await }
    };
    let by_client = post(
        &cast.client,
        json!({"order_id": order, "rating": 5, "comment": "Great logo, fast.", "communication": 4, "would_recommend": true}),
    )
    .await;
    assert_eq!(by_client.status, 201, "{by_client:?}");
    let client_review = by_client.body["id"].as_str().unwrap().to_owned();
    let by_freelancer = post(
        &cast.freelancer,
        json!({"order_id": order, "rating": 3, "comment": "Slow to answer."}),
    )
    .await;
    assert_eq!(
        by_freelancer.body["state"], "published",
        "{by_freelancer:?}"
    );
    let freelancer_review = by_freelancer.body["id"].as_str().unwrap().to_owned();

    let ids = (gig.id, cast.freelancer.id, cast.client.id);
    let before = totals(&app, ids.0, ids.1, ids.2).await;
    assert_eq!((before.0.count, before.1.count, before.2.count), (1, 1, 1));
    let gig_reviews = format!("/gigs/{}/reviews", gig.id);
    let seller_reviews = format!("/users/{}/reviews?as=seller", cast.freelancer.id);
    assert_eq!(listed_reviews(&app, &gig_reviews).await, 1);
    let admin = Some(cast.admin.access_token.as_str());

    let hidden = app
        .post(
            &format!("/admin/reviews/{client_review}/hide"),
            &json!({"reason": "Mentions a phone number."}),
            admin,
        )
        .await;
    assert_eq!(hidden.status, 200, "{hidden:?}");
    assert_eq!(hidden.body["hidden"], true);
    let after = totals(&app, ids.0, ids.1, ids.2).await;
    assert_eq!(after.0, Default::default(), "the gig's totals lose it all");
    assert_eq!(
        after.1,
        Default::default(),
        "the seller's totals lose it all"
    );
    assert_eq!(after.2, before.2, "the buyer rating is the other review's");
    assert_eq!(listed_reviews(&app, &gig_reviews).await, 0);
    assert_eq!(listed_reviews(&app, &seller_reviews).await, 0);
    let metrics = app.get("/admin/metrics", admin).await.body;
    assert_eq!(
        metrics["reviews"],
        json!({"count": 1, "rating_sum": 3, "average_rating": 3.0})
    );
    let audit = app
        .get(&format!("/admin/audit?target={client_review}"), admin)
        .await;
    assert_eq!(audit.status, 200, "{audit:?}");
    assert_eq!(audit.body["items"][0]["action"], "hide_review");
    assert_eq!(audit.body["items"][0]["reason"], "Mentions a phone number.");

    let again = app
        .post(
            &format!("/admin/reviews/{client_review}/hide"),
            &json!({"reason": "Again."}),
            admin,
        )
        .await;
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(again.problem(), "review-hidden");

    let shown = app
        .post(
            &format!("/admin/reviews/{client_review}/unhide"),
            &json!({}),
            admin,
        )
        .await;
    assert_eq!(shown.status, 200, "{shown:?}");
    assert_eq!(totals(&app, ids.0, ids.1, ids.2).await, before);
    assert_eq!(listed_reviews(&app, &gig_reviews).await, 1);
    assert_eq!(listed_reviews(&app, &seller_reviews).await, 1);

    // The freelancer's review of the client counts in the buyer rating only.
    let hidden = app
        .post(
            &format!("/admin/reviews/{freelancer_review}/hide"),
            &json!({"reason": "Personal attack."}),
            admin,
        )
        .await;
    assert_eq!(hidden.status, 200, "{hidden:?}");
    let after = totals(&app, ids.0, ids.1, ids.2).await;
    assert_eq!((after.0, after.1), (before.0, before.1));
    assert_eq!(after.2, Default::default());
    let buyer_reviews = format!("/users/{}/reviews?as=buyer", cast.client.id);
    assert_eq!(listed_reviews(&app, &buyer_reviews).await, 0);

    let unknown = app
        .post(
            &format!("/admin/reviews/{}/unhide", Uuid::now_v7()),
            &json!({}),
            admin,
        )
        .await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
}

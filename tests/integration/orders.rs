//! `orders` function: placement (rules, snapshot, idempotency), every transition of the state
//! machine through the real handlers and store, races, revision limits, reading and listing.

use std::collections::HashSet;

use futures_util::future::join_all;
use gigmarket_shared::domain::gig::{Gig, GigStatus, Revisions, Tier};
use gigmarket_shared::domain::order::Order;
use gigmarket_shared::domain::quota::{Quota, QuotaKind, QuotaLimits};
use gigmarket_shared::domain::user::UserStatus;
use gigmarket_shared::store::orders::Placement;
use gigmarket_tests::fixtures::Cast;
use gigmarket_tests::{Session, TestApp};
use serde_json::{Value, json};
use uuid::Uuid;

/// An order of the basic package of a fixture gig (`TestApp::active_gig`: 50.00 EUR).
fn basic_order(gig_id: Uuid) -> Value {
    json!({"gig_id": gig_id, "package": "basic", "requirements": "Blue, please.",
           "expected_price_cents": 5_000, "currency": "EUR"})
}

/// The order a placement decides from its reads, before its write.
/// The placement quota of the order's client, at the default limit.
fn placement_quota(order: &Order, now: time::OffsetDateTime) -> Quota {
    QuotaLimits::default().quota(QuotaKind::OrderPlacements, order.client_id, now)
}

fn order_as_read(app: &TestApp, cast: &Cast, gig: &Gig, now: time::OffsetDateTime) -> Order {
    Order::place(
        cast.client.id,
        gig,
        Tier::Basic,
        "Blue, please.".into(),
        &app.state.config.fees,
        now,
    )
    .expect("the gig offers a basic package")
}

#[tokio::test]
async fn placing_an_order_snapshots_the_package_and_counts_on_the_gig() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(2))
        .await;
    let response = app
        .place_order_with_key(&cast.client, "key-1", &basic_order(gig.id))
        .await;
    assert_eq!(response.status, 201, "{response:?}");
    let order = &response.body;
    assert_eq!(order["status"], "awaiting_payment");
    assert_eq!(order["price_cents"], 5_000);
    assert_eq!(order["currency"], "EUR");
    // The default schedule: 5.5 % service fee on top, 20 % commission out of the price.
    assert_eq!(order["service_fee_cents"], 275);
    assert_eq!(order["client_total_cents"], 5_275);
    assert_eq!(order["commission_cents"], 1_000);
    assert_eq!(order["freelancer_net_cents"], 4_000);
    let payment = &order["payment"];
    assert_eq!(payment["status"], "requires_payment_method", "{payment}");
    assert_eq!(payment["amount_cents"], 5_275);
    assert_eq!(payment["currency"], "EUR");
    assert!(payment["client_secret"].as_str().is_some(), "{payment}");
    // The PaymentIntent charges exactly the client total, for this order.
    let order_id: Uuid = order["id"].as_str().unwrap().parse().unwrap();
    let intent = app.payment_intent(order_id).await;
    assert_eq!((intent.amount, intent.currency.as_str()), (5_275, "eur"));
    assert_eq!(intent.order_id(), Some(order_id.to_string().as_str()));
    assert_eq!(
        intent.client_secret.as_deref(),
        payment["client_secret"].as_str()
    );
    // Unpaid, the order is not the freelancer's to see, list or act on.
    assert_eq!(app.order(&cast.freelancer, order_id).await.status, 404);
    let theirs = app
        .get("/orders?as=freelancer", Some(&cast.freelancer.access_token))
        .await;
    assert_eq!(theirs.body["items"], json!([]), "{theirs:?}");
    let accept = app.order_action(&cast.freelancer, order_id, "accept").await;
    assert_eq!(accept.status, 404, "{accept:?}");
    assert_eq!(order["delivery_days"], 2);
    assert_eq!(order["revisions"], 2);
    assert_eq!(order["unlimited_revisions"], false);
    assert_eq!(order["package"], "basic");
    assert_eq!(order["gig_title"], gig.title);
    assert_eq!(order["freelancer_id"], cast.freelancer.id.to_string());
    assert_eq!(order["client_id"], cast.client.id.to_string());
    assert_eq!(order["version"], 1);
    let stored = app.gig(gig.id).await;
    assert_eq!((stored.open_orders, stored.order_count), (1, 1));
    assert_eq!(stored.title, gig.title, "no other gig field written");

    app.pay_order(order_id).await;
    let paid = app.order(&cast.freelancer, order_id).await;
    assert_eq!(paid.status, 200, "{paid:?}");
    assert_eq!(paid.body["status"], "pending");
    assert_eq!(paid.body["payment"]["status"], "succeeded");
    assert!(paid.body["payment"].get("client_secret").is_none());
    let theirs = app
        .get("/orders?as=freelancer", Some(&cast.freelancer.access_token))
        .await;
    assert_eq!(theirs.body["items"][0]["id"], order_id.to_string());
}

/// The client pays what they saw: a price or currency other than the package's now is refused
/// with what it costs now, and the package edited between the read and the write is refused too.
#[tokio::test]
async fn placement_pins_the_price_and_currency_the_client_saw() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(2))
        .await;
    for (price, currency) in [(4_999, "EUR"), (5_000, "KWD"), (5_000, "eur ")] {
        let mut body = basic_order(gig.id);
        body["expected_price_cents"] = json!(price);
        body["currency"] = json!(currency);
        let response = app
            .place_order_with_key(&cast.client, &Uuid::new_v4().to_string(), &body)
            .await;
        if currency == "eur " {
            assert_eq!(
                response.status, 201,
                "case and blanks do not matter: {response:?}"
            );
            continue;
        }
        assert_eq!(response.status, 409, "{response:?}");
        assert_eq!(response.problem(), "price-changed");
        assert_eq!(response.body["current_price_cents"], 5_000);
        assert_eq!(response.body["current_currency"], "EUR");
    }
    for missing in ["expected_price_cents", "currency"] {
        let mut body = basic_order(gig.id);
        body.as_object_mut().unwrap().remove(missing);
        let response = app
            .place_order_with_key(&cast.client, &Uuid::new_v4().to_string(), &body)
            .await;
        assert_eq!(response.status, 400, "{response:?}");
        assert_eq!(response.error_fields(), [missing]);
    }

    // What the handler read, then an edit of the gig before the placement's write.
    let now = time::OffsetDateTime::now_utc();
    let order = order_as_read(&app, &cast, &gig, now);
    let before = app
        .state
        .store
        .get_stored_gig(gig.id)
        .await
        .unwrap()
        .unwrap();
    let mut edited = gig.clone();
    edited.version += 1;
    edited.packages[0].price_cents = 9_000;
    app.state
        .store
        .save_gig(&before, &edited, None)
        .await
        .unwrap();
    assert_eq!(app.gig(gig.id).await.version, gig.version + 1);
    let placement = app
        .state
        .store
        .place_order(
            &order,
            gig.version,
            "edited-key",
            "h",
            &placement_quota(&order, now),
            now.unix_timestamp(),
        )
        .await
        .unwrap();
    assert!(matches!(placement, Placement::GigChanged), "{placement:?}");
    assert!(app.state.store.get_order(order.id).await.unwrap().is_none());
}

#[tokio::test]
async fn placement_rules_are_enforced_and_store_nothing() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(2))
        .await;
    let place = |who: &gigmarket_tests::Session, body: Value| {
        let who = who.clone();
        let app = &app;
        async move {
            app.place_order_with_key(&who, &Uuid::new_v4().to_string(), &body)
                .await
        }
    };

    let no_key = app
        .post(
            "/orders",
            &basic_order(gig.id),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(no_key.status, 400);
    assert_eq!(no_key.error_fields(), ["Idempotency-Key"]);
    assert_eq!(no_key.body["errors"][0]["code"], "required");
    // Present but not visible ASCII (here not even ASCII): invalid, not missing.
    for bad_key in ["schlüssel", "two words", &"k".repeat(256)] {
        let bad = app
            .place_order_with_key(&cast.client, bad_key, &basic_order(gig.id))
            .await;
        assert_eq!(bad.status, 400, "{bad_key}: {bad:?}");
        assert_eq!(bad.error_fields(), ["Idempotency-Key"]);
        assert_eq!(bad.body["errors"][0]["code"], "invalid_value", "{bad_key}");
    }

    let by_freelancer = place(&cast.freelancer, basic_order(gig.id)).await;
    assert_eq!(by_freelancer.status, 403, "{by_freelancer:?}");
    let by_admin = place(&cast.admin, basic_order(gig.id)).await;
    assert_eq!(by_admin.status, 403);

    let unknown_gig = place(&cast.client, basic_order(Uuid::new_v4())).await;
    assert_eq!(unknown_gig.status, 404);

    let premium_only = place(
        &cast.client,
        json!({"gig_id": gig.id, "package": "standard", "requirements": "x",
               "expected_price_cents": 5_000, "currency": "EUR"}),
    )
    .await;
    assert_eq!(premium_only.status, 400);
    assert_eq!(premium_only.error_fields(), ["package"]);

    let too_long = place(
        &cast.client,
        json!({"gig_id": gig.id, "package": "basic", "requirements": "x".repeat(5_001),
               "expected_price_cents": 5_000, "currency": "EUR"}),
    )
    .await;
    assert_eq!(too_long.error_fields(), ["requirements"]);
    let unknown_field = place(
        &cast.client,
        json!({"gig_id": gig.id, "package": "basic", "requirements": "x", "price_cents": 1,
               "expected_price_cents": 5_000, "currency": "EUR"}),
    )
    .await;
    assert_eq!(unknown_field.error_fields(), ["price_cents"]);

    let mut paused = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    paused.id = Uuid::new_v4();
    paused.status = GigStatus::Paused;
    app.state.store.create_gig(&paused).await.unwrap();
    let not_active = place(&cast.client, basic_order(paused.id)).await;
    assert_eq!(not_active.status, 409);
    assert_eq!(not_active.problem(), "gig-not-orderable");

    app.set_user_status(cast.freelancer.id, UserStatus::Blocked)
        .await;
    let blocked = place(&cast.client, basic_order(gig.id)).await;
    assert_eq!(blocked.status, 409);
    assert_eq!(blocked.problem(), "freelancer-unavailable");

    let stored = app.gig(gig.id).await;
    assert_eq!((stored.open_orders, stored.order_count), (0, 0));
    let listed = app.get("/orders", Some(&cast.client.access_token)).await;
    assert_eq!(listed.body["items"], json!([]));
}

#[tokio::test]
async fn idempotency_key_replays_the_same_order_and_refuses_a_different_body() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(2))
        .await;
    let first = app
        .place_order_with_key(&cast.client, "retry-me", &basic_order(gig.id))
        .await;
    assert_eq!(first.status, 201);
    let again = app
        .place_order_with_key(&cast.client, "retry-me", &basic_order(gig.id))
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], first.body["id"]);

    let different = app
        .place_order_with_key(
            &cast.client,
            "retry-me",
            &json!({"gig_id": gig.id, "package": "premium", "requirements": "Blue, please.",
                    "expected_price_cents": 20_000, "currency": "EUR"}),
        )
        .await;
    assert_eq!(different.status, 422);
    assert_eq!(different.problem(), "idempotency-key-reused");

    // A replay answers as the first request did, even after the gig stopped taking orders.
    gig_step(&app, &cast.freelancer, gig.id, "pause").await;
    let after_pause = app
        .place_order_with_key(&cast.client, "retry-me", &basic_order(gig.id))
        .await;
    assert_eq!(after_pause.status, 201, "{after_pause:?}");
    assert_eq!(after_pause.body["id"], first.body["id"]);
    let fresh_key = app
        .place_order_with_key(&cast.client, "another-key", &basic_order(gig.id))
        .await;
    assert_eq!(fresh_key.status, 409, "a new order on a paused gig");
    gig_step(&app, &cast.freelancer, gig.id, "resume").await;

    let other_client = app.register_client().await;
    let replay_other_client = app
        .place_order_with_key(&other_client, "retry-me", &basic_order(gig.id))
        .await;
    assert_eq!(
        replay_other_client.status, 201,
        "keys are per client: another client's key is a new order"
    );
    assert_ne!(replay_other_client.body["id"], first.body["id"]);
    let stored = app.gig(gig.id).await;
    assert_eq!(stored.order_count, 2);
}

#[tokio::test]
async fn ten_concurrent_identical_requests_make_one_order() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(2))
        .await;
    let body = basic_order(gig.id);
    let responses =
        join_all((0..10).map(|_| app.place_order_with_key(&cast.client, "double-click", &body)))
            .await;
    let ids: HashSet<String> = responses
        .iter()
        .map(|response| {
            assert_eq!(response.status, 201, "{response:?}");
            response.body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one order for ten identical requests");
    let stored = app.gig(gig.id).await;
    assert_eq!((stored.open_orders, stored.order_count), (1, 1));
    let listed = app.get("/orders", Some(&cast.client.access_token)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}

/// `POST /gigs/{id}/{action}` as the gig's owner, asserting it succeeded.
async fn gig_step(app: &TestApp, owner: &Session, gig_id: Uuid, action: &str) {
    let response = app
        .post(
            &format!("/gigs/{gig_id}/{action}"),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(response.status, 200, "{action}: {response:?}");
}

const STATES: [&str; 6] = [
    "pending",
    "in_progress",
    "delivered",
    "completed",
    "rejected",
    "cancelled",
];
const ACTIONS: [&str; 6] = [
    "accept",
    "reject",
    "deliver",
    "request-revision",
    "complete",
    "cancel",
];
const ACTORS: [&str; 4] = ["client", "freelancer", "admin", "stranger"];

/// The specification, written out independently of the domain's table: the resulting state, or
/// the refusal status.
fn expected(state: &str, action: &str, actor: &str) -> Result<&'static str, u16> {
    if actor == "stranger" {
        return Err(404);
    }
    let party_may = match action {
        "accept" | "reject" | "deliver" => actor == "freelancer",
        "request-revision" | "complete" => actor == "client",
        "cancel" => actor == "client" || actor == "admin",
        _ => unreachable!(),
    };
    if !party_may {
        return Err(403);
    }
    match (state, action, actor) {
        ("pending", "accept", _) => Ok("in_progress"),
        ("pending", "reject", _) => Ok("rejected"),
        ("in_progress", "deliver", _) => Ok("delivered"),
        ("delivered", "request-revision", _) => Ok("in_progress"),
        ("delivered", "complete", _) => Ok("completed"),
        ("pending", "cancel", "client") => Ok("cancelled"),
        ("pending" | "in_progress" | "delivered", "cancel", "admin") => Ok("cancelled"),
        _ => Err(409),
    }
}

fn who<'a>(cast: &'a Cast, actor: &str) -> &'a gigmarket_tests::Session {
    match actor {
        "client" => &cast.client,
        "freelancer" => &cast.freelancer,
        "admin" => &cast.admin,
        _ => &cast.stranger,
    }
}

/// Every state x action x actor through the real handlers: the status code, the state after,
/// the timeline length and the gig's open-order counter.
#[tokio::test]
async fn every_transition_is_allowed_or_refused_as_specified() {
    // One client places an order per cell: more than an hour's quota allows a person.
    let app = TestApp::with_config(|config| config.quotas.order_placements_per_hour = 1_000).await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(3))
        .await;
    let mut allowed = 0;
    let mut refused = 0;
    for state in STATES {
        for action in ACTIONS {
            for actor in ACTORS {
                let order_id = app.order_in(&cast, &gig, state).await;
                let before = app.order(&cast.client, order_id).await.body;
                let open_before = app.gig(gig.id).await.open_orders;
                let response = app.order_action(who(&cast, actor), order_id, action).await;
                let after = app.order(&cast.client, order_id).await.body;
                let timeline_before = before["timeline"].as_array().unwrap().len();
                let timeline_after = after["timeline"].as_array().unwrap().len();
                let case = format!("{action} by {actor} on {state}");
                match expected(state, action, actor) {
                    Ok(next) => {
                        allowed += 1;
                        assert_eq!(response.status, 200, "{case}: {response:?}");
                        assert_eq!(response.body["status"], next, "{case}");
                        assert_eq!(after["status"], next, "{case}");
                        assert_eq!(timeline_after, timeline_before + 1, "{case}");
                        let entry = &after["timeline"][timeline_before];
                        assert_eq!(entry["from"], state, "{case}");
                        assert_eq!(entry["to"], next, "{case}");
                        assert_eq!(entry["actor"]["id"], who(&cast, actor).id.to_string());
                        assert_eq!(entry["actor"]["role"], actor, "{case}");
                        let closes = ["completed", "rejected", "cancelled"].contains(&next);
                        let open_after = app.gig(gig.id).await.open_orders;
                        assert_eq!(
                            open_after,
                            if closes { open_before - 1 } else { open_before },
                            "{case}: open_orders"
                        );
                    }
                    Err(status) => {
                        refused += 1;
                        assert_eq!(response.status, status, "{case}: {response:?}");
                        response.problem();
                        assert_eq!(after, before, "{case}: nothing changed");
                    }
                }
            }
        }
    }
    assert_eq!(allowed + refused, 6 * 6 * 4);
    assert_eq!(allowed, 9);
    // Every order ever placed here and still open is counted once.
    let listed = app
        .get("/orders?limit=100", Some(&cast.client.access_token))
        .await;
    let still_open = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|order| {
            ["pending", "in_progress", "delivered"].contains(&order["status"].as_str().unwrap())
        })
        .count() as u64;
    let mut total = still_open;
    let mut cursor = listed.body["next_cursor"].as_str().map(str::to_owned);
    while let Some(next) = cursor {
        let page = app
            .get(
                &format!("/orders?limit=100&cursor={next}"),
                Some(&cast.client.access_token),
            )
            .await;
        total += page.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|order| {
                ["pending", "in_progress", "delivered"].contains(&order["status"].as_str().unwrap())
            })
            .count() as u64;
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(app.gig(gig.id).await.open_orders, total);
}

#[tokio::test]
async fn twenty_concurrent_conflicting_transitions_one_wins() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(3))
        .await;
    let order_id = app.order_in(&cast, &gig, "pending").await;
    let attempts = (0..20).map(|index| {
        let (who, action) = match index % 3 {
            0 => (&cast.freelancer, "accept"),
            1 => (&cast.freelancer, "reject"),
            _ => (&cast.client, "cancel"),
        };
        app.order_action(who, order_id, action)
    });
    let responses = join_all(attempts).await;
    let winners = responses.iter().filter(|r| r.status == 200).count();
    let conflicts = responses.iter().filter(|r| r.status == 409).count();
    assert_eq!((winners, conflicts), (1, 19), "{responses:?}");
    let order = app.order(&cast.client, order_id).await.body;
    let timeline = order["timeline"].as_array().unwrap();
    assert_eq!(
        timeline.len(),
        3,
        "placed, paid + exactly one change: {timeline:?}"
    );
    assert_eq!(order["version"], 3);
    let winner = responses.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(winner.body["status"], order["status"]);
    let open = app.gig(gig.id).await.open_orders;
    assert_eq!(open, u64::from(order["status"] == "in_progress"));
}

#[tokio::test]
async fn revisions_stop_at_the_package_limit() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let order_id = app.order_in(&cast, &gig, "delivered").await;
    let revised = app
        .order_step(&cast.client, order_id, "request-revision")
        .await;
    assert_eq!(revised["revisions_used"], 1);
    assert_eq!(revised["status"], "in_progress");
    app.order_step(&cast.freelancer, order_id, "deliver").await;
    let refused = app
        .order_action(&cast.client, order_id, "request-revision")
        .await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.problem(), "revision-limit-reached");
    let completed = app.order_step(&cast.client, order_id, "complete").await;
    assert_eq!(completed["status"], "completed");
}

#[tokio::test]
async fn an_order_shows_its_timeline_to_its_parties_only() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let order_id = app.order_in(&cast, &gig, "delivered").await;
    let order = app.order(&cast.freelancer, order_id).await;
    assert_eq!(order.status, 200);
    let timeline = order.body["timeline"].as_array().unwrap();
    let kinds: Vec<&str> = timeline
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["placed", "paid", "accepted", "delivered"]);
    assert_eq!(timeline[0]["to"], "awaiting_payment");
    assert!(timeline[0].get("from").is_none());
    assert_eq!(timeline[1]["to"], "pending");
    assert_eq!(timeline[1]["actor"]["role"], "system");
    assert_eq!(timeline[3]["note"], "Here it is.");
    assert_eq!(
        timeline[3]["attachments"],
        json!(["https://files.example.com/logo.png"])
    );
    assert!(timeline[3]["at"].as_str().is_some());
    assert!(order.body["due_at"].as_str().is_some());
    assert!(order.body["auto_complete_at"].as_str().is_some());
    assert_eq!(app.order(&cast.admin, order_id).await.status, 200);
    assert_eq!(app.order(&cast.client, order_id).await.status, 200);
    let stranger = app.order(&cast.stranger, order_id).await;
    assert_eq!(stranger.status, 404);
    assert_eq!(stranger.problem(), "not-found");
    assert_eq!(app.order(&cast.client, Uuid::new_v4()).await.status, 404);
    assert_eq!(
        app.get("/orders/not-a-uuid", Some(&cast.client.access_token))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/orders/{order_id}"), None).await.status,
        401
    );
}

#[tokio::test]
async fn orders_are_listed_newest_first_paged_and_filtered() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let mut placed = Vec::new();
    for _ in 0..5 {
        placed.push(app.place_order(&cast.client, &gig).await);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    app.order_step(&cast.freelancer, placed[1], "accept").await;
    app.order_step(&cast.freelancer, placed[3], "accept").await;
    let newest_first: Vec<String> = placed.iter().rev().map(Uuid::to_string).collect();

    let token = Some(cast.client.access_token.as_str());
    let first = app.get("/orders?limit=2", token).await;
    assert_eq!(first.status, 200, "{first:?}");
    let mut seen: Vec<String> = ids(&first.body);
    let mut cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let page = app
            .get(&format!("/orders?limit=2&cursor={cursor}"), token)
            .await;
        assert_eq!(page.status, 200, "{page:?}");
        seen.extend(ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);

    let in_progress = app.get("/orders?status=in_progress", token).await;
    assert_eq!(
        ids(&in_progress.body),
        [placed[3].to_string(), placed[1].to_string()]
    );
    let as_freelancer = app
        .get("/orders?as=freelancer", Some(&cast.freelancer.access_token))
        .await;
    assert_eq!(ids(&as_freelancer.body), newest_first);
    let stranger = app.get("/orders", Some(&cast.stranger.access_token)).await;
    assert_eq!(stranger.body["items"], json!([]));

    let bad_status = app.get("/orders?status=lost", token).await;
    assert_eq!(bad_status.status, 400);
    assert_eq!(bad_status.error_fields(), ["status"]);
    let other_query_cursor = app
        .get(&format!("/orders?status=pending&cursor={cursor}"), token)
        .await;
    assert_eq!(other_query_cursor.status, 400);
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|order| order["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Blocking is another request's write: a placement that read the freelancer as active just
/// before must still be refused by its own transaction, and write nothing.
#[tokio::test]
async fn placement_refuses_a_freelancer_blocked_after_the_handler_read_them() {
    let app = TestApp::new().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let now = time::OffsetDateTime::now_utc();
    // What the handler decided from its reads, while the freelancer was still active.
    let order = order_as_read(&app, &cast, &gig, now);
    app.set_user_status(cast.freelancer.id, UserStatus::Blocked)
        .await;

    let placement = app
        .state
        .store
        .place_order(
            &order,
            gig.version,
            "raced-key",
            "raced-hash",
            &placement_quota(&order, now),
            now.unix_timestamp(),
        )
        .await
        .unwrap();

    assert!(
        matches!(placement, Placement::FreelancerUnavailable),
        "{placement:?}"
    );
    assert!(app.state.store.get_order(order.id).await.unwrap().is_none());
    assert!(
        app.state
            .store
            .idempotency_record(cast.client.id, "raced-key")
            .await
            .unwrap()
            .is_none()
    );
    let stored = app.gig(gig.id).await;
    assert_eq!((stored.open_orders, stored.order_count), (0, 0));
}

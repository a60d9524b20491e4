//! Load over loopback through `cargo lambda watch` (`GIGMARKET_API_URL` and `TABLE_NAME` as
//! `make test` sets them). `scripts/test.sh` runs this binary as a step of its own, while nothing
//! else writes orders, so the marketplace metrics' change is this workload's alone, and its 500
//! order events never slow the e2e tests' mail waits.
//!
//! 10 clients order from 4 gigs of 3 freelancers: 200 placements started at once (with a few
//! keys sent 4 times at once, which must land once), each paid with a test card, then 240 transitions started at once (accept,
//! reject, cancel, and accept racing cancel on the same order), then 60 deliveries, then 30
//! completions.
//! Afterwards nothing is lost and nothing is counted twice: every 2xx answer is a stored order in
//! the state answered, with a timeline entry per version and its idempotency record; every race
//! has exactly one winner; there is no 5xx; every gig's `order_count` and `open_orders`, every
//! user's counters and the metrics' order figures equal what the stored orders add up to, and
//! its money figures what the ledger transactions written for them post.
//!
//! At most [`IN_FLIGHT`] requests are on the wire at once: `cargo lambda watch` 1.9.2 deadlocks
//! for good (every function, not just the busy one) once more than 100 requests wait for one
//! function (docs/reliability.md).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gigmarket_shared::domain::gig::{Revisions, Tier};
use gigmarket_shared::domain::ledger::{Balances, LedgerAccount, LedgerTransaction};
use gigmarket_shared::domain::metrics::MoneyFigures;
use gigmarket_shared::domain::money::Currency;
use gigmarket_shared::domain::order::OrderStatus;
use gigmarket_shared::store::Store;
use gigmarket_tests::{TestApp, secrets};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

const PLACEMENTS: usize = 200;
const CLIENTS: usize = 10;
const FREELANCERS: usize = 3;
/// The owner (freelancer index) of each gig: one freelancer has two gigs.
const GIG_OWNERS: [usize; 4] = [0, 0, 1, 2];
/// Placements whose key is sent [`COPIES`] times at once.
const REPEATED_KEYS: usize = 5;
const COPIES: usize = 4;
/// Requests on the wire at once. watch 1.9.2 queues each function's requests in a channel of 100
/// and awaits a free slot while holding the lock its instances need to take one, so a 101st
/// waiting request stops it for good; this leaves room for anyone else's requests to `orders`.
const IN_FLIGHT: usize = 80;
/// A request that gets no answer in this long means watch stalled: fail instead of hanging.
const NO_ANSWER: Duration = Duration::from_secs(120);
/// Orders being paid at once: each payment is a confirm at the Stripe emulator and its webhook's
/// delivery through watch, which the emulator sends unbounded.
const PAYING: usize = 16;
const PASSWORD: &str = "a load test password";

/// One placed order and what the test expects of it.
#[derive(Debug, Clone)]
struct Placed {
    id: Uuid,
    client: usize,
    gig: usize,
    key: String,
    /// Set after each answered transition.
    status: OrderStatus,
    price_cents: u64,
    currency: String,
}

/// The HTTP side: watch's URL, one pooled client, and the gate on requests in flight.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base_url: Arc<str>,
    gate: Arc<Semaphore>,
}

impl Api {
    fn new() -> Self {
        let base_url = std::env::var("GIGMARKET_API_URL")
            .expect("GIGMARKET_API_URL must point at `cargo lambda watch` (make test starts it)");
        Self {
            http: reqwest::Client::builder()
                .timeout(NO_ANSWER)
                .build()
                .expect("an HTTP client"),
            base_url: base_url.into(),
            gate: Arc::new(Semaphore::new(IN_FLIGHT)),
        }
    }

    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
        key: Option<&str>,
    ) -> (u16, Value) {
        let _permit = self.gate.acquire().await.expect("the gate stays open");
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("POST {path}: no answer from watch: {error}"));
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        assert!(status < 500, "POST {path} answered {status}: {body}");
        (status, body)
    }
}

async fn functions_store() -> Store {
    let table =
        std::env::var("TABLE_NAME").expect("TABLE_NAME of the functions (make test sets it)");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Store::new(gigmarket_shared::aws::dynamodb(&config), table)
}

/// A registered user with a verified email (as an operator verifies, `gigctl verify-email`),
/// logged in afterwards; returns (id, access token).
async fn verified_user(api: Api, store: Store, role: &'static str) -> (Uuid, String) {
    secrets::remember(PASSWORD);
    let email = format!("load-{role}-{}@example.com", Uuid::new_v4().simple());
    let body =
        json!({"email": email, "password": PASSWORD, "name": format!("Load {role}"), "role": role});
    let (status, body) = api.post("/auth/register", None, body, None).await;
    assert_eq!(status, 201, "{body}");
    secrets::remember_in(&body);
    let id: Uuid = body["user"]["id"].as_str().unwrap().parse().unwrap();
    store
        .mark_email_verified(id, time::OffsetDateTime::now_utc())
        .await
        .expect("verified");
    let login = json!({"email": email, "password": PASSWORD});
    let (status, session) = api.post("/auth/login", None, login, None).await;
    assert_eq!(status, 200, "{session}");
    secrets::remember_in(&session);
    (id, session["access_token"].as_str().unwrap().to_owned())
}

/// The people: (clients, freelancers), each (id, token), registered concurrently.
async fn people(api: &Api, store: &Store) -> (Vec<(Uuid, String)>, Vec<(Uuid, String)>) {
    let mut registrations = JoinSet::new();
    for index in 0..CLIENTS + FREELANCERS {
        let role = if index < CLIENTS {
            "client"
        } else {
            "freelancer"
        };
        let (api, store) = (api.clone(), store.clone());
        registrations.spawn(async move { (index, verified_user(api, store, role).await) });
    }
    let mut people: Vec<(usize, (Uuid, String))> = registrations.join_all().await;
    people.sort_by_key(|(index, _)| *index);
    let mut people: Vec<(Uuid, String)> = people.into_iter().map(|(_, person)| person).collect();
    let freelancers = people.split_off(CLIENTS);
    (people, freelancers)
}

/// Sends every `(order index, who, path, body)` at once; answers (order index, path, status, body).
async fn transitions(
    api: &Api,
    requests: Vec<(usize, String, String, Value)>,
) -> Vec<(usize, String, u16, Value)> {
    let mut calls = JoinSet::new();
    for (index, token, path, body) in requests {
        let api = api.clone();
        calls.spawn(async move {
            let (status, answer) = api.post(&path, Some(&token), body, None).await;
            (index, path, status, answer)
        });
    }
    calls.join_all().await
}

/// One round: `action` on each of `orders` at once, by the party `token` names; each is done.
async fn round(
    api: &Api,
    placed: &mut BTreeMap<usize, Placed>,
    orders: &[usize],
    action: &str,
    token: &dyn Fn(&Placed) -> String,
    body: Value,
) {
    let requests = orders
        .iter()
        .map(|index| {
            let order = &placed[index];
            let path = format!("/orders/{}/{action}", order.id);
            (*index, token(order), path, body.clone())
        })
        .collect();
    for (index, path, status, answer) in transitions(api, requests).await {
        assert_eq!(status, 200, "{path}: {answer}");
        placed.get_mut(&index).unwrap().status = status_of(&answer);
    }
}

fn status_of(body: &Value) -> OrderStatus {
    serde_json::from_value(body["status"].clone())
        .unwrap_or_else(|error| panic!("an order's status in {body}: {error}"))
}

#[tokio::test]
async fn concurrent_placements_and_transitions_lose_nothing_and_count_everything_once() {
    let setup = Instant::now();
    let api = Api::new();
    let store = functions_store().await;
    let (clients, freelancers) = people(&api, &store).await;
    let mut gigs = Vec::new();
    let mut offers = Vec::new();
    for owner in GIG_OWNERS {
        let gig = TestApp::active_gig(freelancers[owner].0, Revisions::Limited(1));
        store.create_gig(&gig).await.expect("gig stored");
        gigs.push(gig.id);
        offers.push(gig);
    }
    let metrics_before = store.metrics().await.expect("metrics");
    eprintln!(
        "load: {} users and {} gigs in {:.1?}",
        CLIENTS + FREELANCERS,
        GIG_OWNERS.len(),
        setup.elapsed()
    );
    let since = Instant::now();

    // 200 placements, and the first few keys sent COPIES times at once.
    let mut placements = JoinSet::new();
    for index in 0..PLACEMENTS {
        let copies = if index < REPEATED_KEYS { COPIES } else { 1 };
        for _ in 0..copies {
            let (api, token) = (api.clone(), clients[index % CLIENTS].1.clone());
            let tier = if index % 3 == 0 {
                Tier::Premium
            } else {
                Tier::Basic
            };
            let offer = offers[index % offers.len()]
                .package(tier)
                .expect("a package");
            let body = json!({
                "gig_id": gigs[index % gigs.len()],
                "package": tier,
                "requirements": format!("Load order {index}."),
                "expected_price_cents": offer.price_cents,
                "currency": offer.currency,
            });
            placements.spawn(async move {
                let key = format!("load-{index}");
                let (status, body) = api.post("/orders", Some(&token), body, Some(&key)).await;
                (index, status, body)
            });
        }
    }
    let mut placed: BTreeMap<usize, Placed> = BTreeMap::new();
    let mut answers: BTreeMap<usize, Value> = BTreeMap::new();
    for (index, status, body) in placements.join_all().await {
        assert_eq!(
            status, 201,
            "placement {index} (a replay answers as the first): {body}"
        );
        let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
        let order = Placed {
            id,
            client: index % CLIENTS,
            gig: index % gigs.len(),
            key: format!("load-{index}"),
            status: status_of(&body),
            price_cents: body["price_cents"].as_u64().expect("a price"),
            currency: body["currency"].as_str().expect("a currency").to_owned(),
        };
        assert_eq!(order.status, OrderStatus::AwaitingPayment, "{body}");
        if let Some(earlier) = placed.insert(index, order) {
            assert_eq!(
                earlier.id, id,
                "every copy of key load-{index} answers the same order"
            );
        } else {
            answers.insert(index, body);
        }
    }
    let mut distinct: Vec<Uuid> = placed.values().map(|order| order.id).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), PLACEMENTS, "one order per key");
    eprintln!("load: placements done at {:.1?}", since.elapsed());

    // Every order is paid the way a browser pays (a test card on its PaymentIntent), and Stripe's
    // webhook, through watch to `payments`, makes it pending.
    let paying = Arc::new(Semaphore::new(PAYING));
    let mut payments = JoinSet::new();
    for (index, answer) in answers {
        let (api, token, paying) = (
            api.clone(),
            clients[index % CLIENTS].1.clone(),
            paying.clone(),
        );
        payments.spawn(async move {
            let _permit = paying.acquire().await.expect("the gate stays open");
            gigmarket_tests::watch::pay_over_http(&api.http, &token, &answer).await;
        });
    }
    payments.join_all().await;
    for order in placed.values_mut() {
        order.status = OrderStatus::Pending;
    }
    eprintln!("load: payments done at {:.1?}", since.elapsed());

    // Every order moves at once: accept, reject, cancel, and on every fifth order the client's
    // cancel races the freelancer's accept (exactly one wins, the other is a 409).
    let freelancer_token = |order: &Placed| freelancers[GIG_OWNERS[order.gig]].1.clone();
    let client_token = |order: &Placed| clients[order.client].1.clone();
    let reason = json!({"reason": "Load test."});
    let mut requests = Vec::new();
    for (&index, order) in &placed {
        let path = |action: &str| format!("/orders/{}/{action}", order.id);
        match index % 5 {
            0 | 1 => requests.push((index, freelancer_token(order), path("accept"), json!({}))),
            2 => requests.push((
                index,
                freelancer_token(order),
                path("reject"),
                reason.clone(),
            )),
            3 => requests.push((index, client_token(order), path("cancel"), reason.clone())),
            _ => {
                requests.push((index, freelancer_token(order), path("accept"), json!({})));
                requests.push((index, client_token(order), path("cancel"), reason.clone()));
            }
        }
    }
    let mut winners: HashMap<usize, usize> = HashMap::new();
    let sent = requests.len();
    for (index, path, status, body) in transitions(&api, requests).await {
        let order = placed.get_mut(&index).unwrap();
        match status {
            200 => {
                *winners.entry(index).or_default() += 1;
                order.status = status_of(&body);
            }
            // The loser of a race: the order changed under it, or is no longer pending.
            409 if index % 5 == 4 => {}
            _ => panic!("{path} answered {status}: {body}"),
        }
    }
    for index in placed.keys() {
        assert_eq!(
            winners.get(index),
            Some(&1),
            "exactly one transition of order {index} won"
        );
    }

    eprintln!("load: {sent} transitions done at {:.1?}", since.elapsed());

    // Every other accepted order is delivered, then every other delivery completed.
    let accepted: Vec<usize> = placed
        .iter()
        .filter(|(_, order)| order.status == OrderStatus::InProgress)
        .map(|(index, _)| *index)
        .collect();
    assert!(
        accepted.len() >= PLACEMENTS * 2 / 5,
        "{} accepted",
        accepted.len()
    );
    let delivered: Vec<usize> = accepted.into_iter().step_by(2).collect();
    let delivery = json!({"message": "Done.", "attachments": []});
    round(
        &api,
        &mut placed,
        &delivered,
        "deliver",
        &freelancer_token,
        delivery,
    )
    .await;
    let completed: Vec<usize> = delivered.into_iter().step_by(2).collect();
    round(
        &api,
        &mut placed,
        &completed,
        "complete",
        &client_token,
        json!({}),
    )
    .await;
    eprintln!(
        "load: deliveries and completions done at {:.1?}",
        since.elapsed()
    );

    // Nothing lost: every order stored in the state last answered, whole, with its key's record.
    let mut reads = JoinSet::new();
    for (&index, order) in &placed {
        let (store, order, client_id) = (store.clone(), order.clone(), clients[order.client].0);
        reads.spawn(async move {
            let stored = store.order_with_timeline(order.id).await.expect("read");
            let record = store
                .idempotency_record(client_id, &order.key)
                .await
                .expect("read");
            (index, order, stored, record)
        });
    }
    let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
    let mut completed_value: BTreeMap<String, i64> = BTreeMap::new();
    let mut stored_orders = Vec::new();
    for (index, order, stored, record) in reads.join_all().await {
        let (stored, timeline, _) =
            stored.unwrap_or_else(|| panic!("order {index} ({}) stored", order.id));
        stored_orders.push(stored.clone());
        assert_eq!(stored.status, order.status, "order {index}");
        assert_eq!(stored.gig_id, gigs[order.gig], "order {index}");
        assert_eq!(
            timeline.len() as u64,
            stored.version,
            "a timeline entry per version of order {index}"
        );
        let record = record.unwrap_or_else(|| panic!("the idempotency record of order {index}"));
        assert_eq!(record.order_id, order.id, "order {index}");
        *by_status
            .entry(order.status.as_str().to_owned())
            .or_default() += 1;
        if order.status == OrderStatus::Completed {
            *completed_value.entry(order.currency.clone()).or_default() += order.price_cents as i64;
        }
    }

    // Every gig's counters are what its orders add up to (these gigs have only these orders).
    for (gig_index, gig_id) in gigs.iter().enumerate() {
        let orders: Vec<&Placed> = placed
            .values()
            .filter(|order| order.gig == gig_index)
            .collect();
        let open = orders
            .iter()
            .filter(|order| !order.status.is_terminal())
            .count();
        let gig = store
            .get_gig(*gig_id)
            .await
            .expect("read")
            .expect("the gig");
        assert_eq!(
            gig.order_count,
            orders.len() as u64,
            "order_count of gig {gig_index}"
        );
        assert_eq!(
            gig.open_orders, open as u64,
            "open_orders of gig {gig_index}"
        );
    }
    // Orders move no user counter (ratings come from reviews, unread counts from messages).
    for (user_id, _) in clients.iter().chain(&freelancers) {
        let user = store
            .get_user(*user_id)
            .await
            .expect("read")
            .expect("the user");
        assert_eq!(
            (user.rating_sum, user.rating_count, user.unread_messages),
            (0, 0, 0),
            "{user_id}"
        );
    }
    // What the ledger transactions written for these orders post, whichever were written: the
    // money figures must have moved by exactly that (every balance is the sum of its postings,
    // however many transactions ADDed to it at once).
    let mut moved = Balances::default();
    // The freelancers' running totals move with every posting to a freelancer's balance (the
    // store writes them beside the balances, not as postings of their own).
    let mut totals: BTreeMap<(LedgerAccount, Currency), i64> = BTreeMap::new();
    for order in &stored_orders {
        let split = order.split().expect("a known currency");
        for transaction in [
            LedgerTransaction::order_paid(order.id, &split),
            LedgerTransaction::order_refunded(order.id, &split),
            LedgerTransaction::order_completed(order.id, order.freelancer_id, &split, false),
        ] {
            let transaction = transaction.expect("a balanced transaction");
            if store
                .ledger_transaction_exists(&transaction.id)
                .await
                .expect("read")
            {
                moved
                    .apply(&transaction)
                    .unwrap_or_else(|error| panic!("{}: {error}", transaction.id));
                for posting in &transaction.postings {
                    if let Some(total) = posting.account.total() {
                        *totals
                            .entry((total, transaction.currency.clone()))
                            .or_insert(0) += posting.amount;
                    }
                }
            }
        }
    }
    let charged = moved.get(
        LedgerAccount::StripeClearing,
        &stored_orders[0].split().unwrap().currency,
    );
    assert!(charged < 0, "the workload's charges moved money: {moved:?}");
    let figures: Balances = moved
        .currencies()
        .into_iter()
        .flat_map(|currency| {
            let (moved, totals) = (&moved, &totals);
            MoneyFigures::ACCOUNTS.into_iter().map(move |account| {
                let value = match account {
                    LedgerAccount::FreelancersTotal(_) => totals
                        .get(&(account, currency.clone()))
                        .copied()
                        .unwrap_or(0),
                    _ => moved.get(account, &currency),
                };
                ((account, currency.clone()), value)
            })
        })
        .collect();
    let money = serde_json::to_value(MoneyFigures::from_balances(&figures)).unwrap();

    // The metrics moved by exactly this workload's orders.
    let metrics_after = store.metrics().await.expect("metrics");
    eprintln!("load: checked at {:.1?}", since.elapsed());
    let mut expected = serde_json::to_value(&metrics_before).unwrap();
    for (figure, by_currency) in money.as_object().unwrap() {
        for (currency, value) in by_currency.as_object().unwrap() {
            let before = &mut expected[figure][currency];
            *before = json!(before.as_i64().unwrap_or(0) + value.as_i64().unwrap());
        }
    }
    for (status, count) in &by_status {
        let figure = &mut expected["orders"][status];
        *figure = json!(figure.as_i64().unwrap() + count);
    }
    for (currency, value) in &completed_value {
        let figure = &mut expected["completed_order_value_cents"][currency];
        *figure = json!(figure.as_i64().unwrap_or(0) + value);
    }
    assert_eq!(
        serde_json::to_value(&metrics_after).unwrap(),
        expected,
        "metrics after the workload: before plus its orders {by_status:?}, completed {completed_value:?}"
    );
}

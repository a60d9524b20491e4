//! The local stack's Stripe as the Stripe tests reach it (`tests/integration/stripe_client.rs`,
//! `stripe_connect.rs`): the typed client, raw requests for what the client has no call for,
//! and webhook endpoints of a test's own.
//!
//! Webhooks: a test that waits for events registers an endpoint of its own (a loopback listener,
//! a fresh id and signing secret) through the emulator's `/_config/webhooks/{id}`, as a platform
//! endpoint ([`Endpoint::register`]) or a Connect one ([`Endpoint::register_connect`]), which
//! hears only connected accounts' events. Every event goes to every endpoint of its kind, so a
//! listener also hears other tests' events: each test picks out its own by the ids of the objects
//! it created.

use std::collections::HashMap;
use std::time::Duration;

use gigmarket_shared::stripe::client::{
    Event, EventsQuery, NewPaymentIntent, PaymentIntent, StripeClient, StripeConfig,
};
use gigmarket_shared::stripe::signature::{self, DEFAULT_TOLERANCE_SECONDS, SignatureError};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::payments::{CARD_OK, confirm_with};

pub fn config() -> StripeConfig {
    StripeConfig::from_env().expect(
        "STRIPE_SECRET_KEY and STRIPE_API_BASE (run scripts/stack.sh start, source scripts/env.sh)",
    )
}

pub fn client() -> StripeClient {
    StripeClient::new(config()).expect("the Stripe client")
}

pub fn order_id() -> String {
    format!("ord_{}", Uuid::new_v4().simple())
}

/// A PaymentIntent of 10.55 EUR for `order_id`.
pub async fn new_intent(stripe: &StripeClient, order_id: &str) -> PaymentIntent {
    stripe
        .create_payment_intent(&NewPaymentIntent {
            order_id,
            amount_minor: 1055,
            currency: "EUR",
        })
        .await
        .expect("a new PaymentIntent")
}

/// [`new_intent`], paid with the test card that succeeds.
pub async fn paid_intent(stripe: &StripeClient, order: &str) -> PaymentIntent {
    let intent = new_intent(stripe, order).await;
    let (status, body) = confirm_with(&intent.id, CARD_OK).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    stripe.retrieve_payment_intent(&intent.id).await.unwrap()
}

/// The real client pointed at a port nobody listens on: Stripe out of reach (every call is a
/// transport error, retryable with the same Idempotency-Key).
pub fn unreachable() -> StripeClient {
    StripeClient::new(StripeConfig::with_key(
        |_| Some("http://127.0.0.1:9".to_owned()),
        gigmarket_shared::stripe::client::SecretKey::new("sk_test_local"),
    ))
    .unwrap()
}

/// Makes the stripe service lose its answer to the next successful `method path` once: it acts
/// (and saves the answer under the request's Idempotency-Key, as Stripe does) but the caller
/// gets a 500, as when the connection drops or the caller crashes before reading the answer.
pub async fn lose_next_answer(method: &str, path: &str) {
    let (status, body) = raw(
        reqwest::Method::POST,
        "/_config/lost_answers",
        &format!("method={method}&path={path}"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "registering the lost answer: {body}"
    );
}

pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A request to the emulator as the client would send it, for what the typed client has no call
/// for: answers the status and the JSON body.
pub async fn raw(method: reqwest::Method, path: &str, form: &str) -> (StatusCode, Value) {
    send_raw(method, path, form, None).await
}

/// [`raw`] on behalf of a connected account (Stripe's `Stripe-Account` header).
pub async fn raw_as(
    account: &str,
    method: reqwest::Method,
    path: &str,
    form: &str,
) -> (StatusCode, Value) {
    send_raw(method, path, form, Some(account)).await
}

async fn send_raw(
    method: reqwest::Method,
    path: &str,
    form: &str,
    account: Option<&str>,
) -> (StatusCode, Value) {
    let config = config();
    let key = std::env::var("STRIPE_SECRET_KEY").expect("STRIPE_SECRET_KEY");
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", config.api_base))
        .bearer_auth(key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some(account) = account {
        request = request.header("Stripe-Account", account);
    }
    let response = request
        .send()
        .await
        .expect("an answer from the stripe service");
    let status = response.status();
    let body = response.bytes().await.expect("a body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// One webhook delivery as it arrived: the `Stripe-Signature` header and the raw body.
struct Delivery {
    signature: String,
    body: Vec<u8>,
}

/// A webhook endpoint of the test's own, registered with the emulator under a fresh id and
/// signing secret; `close` unregisters it.
pub struct Endpoint {
    id: String,
    secret: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    listener: tokio::task::JoinHandle<()>,
    /// (type, id of `data.object`) of every delivery [`Endpoint::wait_for`] has read.
    seen: Vec<(String, String)>,
}

/// Far longer than the emulator's one second before it delivers: only a missing delivery waits
/// this long, and then the test fails instead of hanging.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(60);

impl Endpoint {
    /// A platform endpoint for `events` (Stripe's event types) on a free loopback port.
    pub async fn register(events: &[&str]) -> Self {
        Self::register_as(events, false).await
    }

    /// A Connect endpoint for `events`: it hears only what happens on connected accounts.
    pub async fn register_connect(events: &[&str]) -> Self {
        Self::register_as(events, true).await
    }

    async fn register_as(events: &[&str], connect: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}/webhooks/stripe", listener.local_addr().unwrap());
        let (sender, deliveries) = mpsc::unbounded_channel();
        let listener = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Some(delivery) = receive(stream).await {
                        let _ = sender.send(delivery);
                    }
                });
            }
        });
        let id = format!("test_{}", Uuid::new_v4().simple());
        let secret = format!("whsec_{}", Uuid::new_v4().simple());
        let mut form = format!("url={url}&secret={secret}&connect={connect}");
        for event in events {
            form.push_str(&format!("&events%5B%5D={event}"));
        }
        let (status, body) = raw(
            reqwest::Method::POST,
            &format!("/_config/webhooks/{id}"),
            &form,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "registering the endpoint: {body}");
        Self {
            id,
            secret,
            deliveries,
            listener,
            seen: Vec::new(),
        }
    }

    /// Waits for the events named by (type, id of `data.object`), whatever else arrives between
    /// or in which order; checks every delivery's signature against this endpoint's secret on
    /// the way. Answers each wanted event with its raw body.
    pub async fn wait_for(
        &mut self,
        wanted: &[(&str, &str)],
    ) -> HashMap<(String, String), Vec<u8>> {
        let mut found = HashMap::new();
        while found.len() < wanted.len() {
            let (event, body) = self.next_delivery(&format!("{wanted:?}")).await;
            let kind = event["type"].as_str().unwrap_or_default();
            let object = event["data"]["object"]["id"].as_str().unwrap_or_default();
            if wanted.contains(&(kind, object)) {
                found.insert((kind.to_owned(), object.to_owned()), body);
            }
        }
        found
    }

    /// Waits for the first event `matches` (the event as JSON), checking signatures on the way
    /// as [`Endpoint::wait_for`] does; answers it.
    pub async fn wait_until(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        loop {
            let (event, _) = self.next_delivery(what).await;
            if matches(&event) {
                return event;
            }
        }
    }

    /// The next delivery, its signature checked against this endpoint's secret (and refused
    /// with another's); `what` names what the test waits for, should none come.
    async fn next_delivery(&mut self, what: &str) -> (Value, Vec<u8>) {
        let delivery = tokio::time::timeout(DELIVERY_DEADLINE, self.deliveries.recv())
            .await
            .unwrap_or_else(|_| panic!("no delivery of {what}; saw {:?}", self.seen))
            .expect("the listener runs");
        let event: Value = serde_json::from_slice(&delivery.body).expect("a JSON event");
        let signed_at = signature::verify(
            &delivery.signature,
            &delivery.body,
            &[self.secret.as_bytes()],
            now_unix(),
            DEFAULT_TOLERANCE_SECONDS,
        )
        .unwrap_or_else(|error| panic!("{error}: {}", delivery.signature));
        assert_eq!(
            Some(signed_at),
            event["created"].as_i64(),
            "t= is the event's created"
        );
        assert_eq!(
            signature::verify(
                &delivery.signature,
                &delivery.body,
                &[b"whsec_another_endpoint".as_slice()],
                now_unix(),
                DEFAULT_TOLERANCE_SECONDS,
            ),
            Err(SignatureError::Mismatch)
        );
        let kind = event["type"].as_str().unwrap_or_default().to_owned();
        let object = event["data"]["object"]["id"].as_str().unwrap_or_default();
        self.seen.push((kind, object.to_owned()));
        (event, delivery.body)
    }

    /// Whether a delivery of (type, object id) has been read by [`Endpoint::wait_for`].
    pub fn saw(&self, kind: &str, object: &str) -> bool {
        self.seen
            .iter()
            .any(|(seen_kind, seen_object)| seen_kind == kind && seen_object == object)
    }

    pub async fn close(self) {
        let (status, _) = raw(
            reqwest::Method::DELETE,
            &format!("/_config/webhooks/{}", self.id),
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "unregistering {}", self.id);
        self.listener.abort();
    }
}

/// Reads one HTTP/1.1 request (headers, then a Content-Length body) and answers 200.
async fn receive(stream: tokio::net::TcpStream) -> Option<Delivery> {
    let mut reader = BufReader::new(stream);
    let (mut signature, mut length) = (String::new(), 0);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            } else if name.eq_ignore_ascii_case("stripe-signature") {
                signature = value.trim().to_owned();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    reader
        .get_mut()
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
        .ok()?;
    Some(Delivery { signature, body })
}

/// One HTTP exchange on a loopback socket: answers `answer` (JSON, 200) and hands back the raw
/// request, so a test sees exactly what the client sent.
pub fn capture_one_request(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Read, Write};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the client's connection");
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let mut content_length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("a header line");
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().expect("a length");
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).expect("the body");
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        );
        reader
            .get_mut()
            .write_all(response.as_bytes())
            .expect("answering");
        head + &String::from_utf8(body).expect("a UTF-8 body")
    });
    (base, handle)
}

/// Every event of the platform created at or after `since`, through the client's paged list;
/// checks that the list runs newest first, as Stripe's does.
pub async fn events_since(stripe: &StripeClient, since: i64) -> Vec<Event> {
    let (mut events, mut cursor) = (Vec::<Event>::new(), None::<String>);
    loop {
        let page = stripe
            .list_events(&EventsQuery {
                created_gte: since,
                starting_after: cursor.as_deref(),
                limit: 100,
                ..EventsQuery::default()
            })
            .await
            .unwrap();
        for event in page.data {
            if let Some(newer) = events.last() {
                assert!(event.created <= newer.created, "{event:?} after {newer:?}");
            }
            events.push(event);
        }
        match events.last() {
            Some(last) if page.has_more => cursor = Some(last.id.clone()),
            _ => return events,
        }
    }
}

//! `realtime` through `cargo lambda watch`: a ticket over HTTP, then the WebSocket API's events
//! at the invoke endpoint, as API Gateway delivers them to the deployed function.

use gigmarket_tests::repo_path;
use gigmarket_tests::watch::{call, invoke_api, register_over_http};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

/// `events/realtime/<name>` for connection `connection_id`, with `<TICKET>` filled in.
fn socket_sample(name: &str, connection_id: &str, ticket: &str) -> Value {
    let path = repo_path(&format!("events/realtime/{name}"));
    let text = std::fs::read_to_string(&path).expect("sample");
    let mut event: Value = serde_json::from_str(&text.replace("<TICKET>", ticket)).unwrap();
    event["requestContext"]["connectionId"] = connection_id.into();
    // Opened now, as API Gateway's `connectedAt` says of a connection it hands over.
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    event["requestContext"]["connectedAt"] = (now_ms as i64).into();
    event
}

#[tokio::test]
async fn a_ticket_opens_one_connection_through_watch() {
    let client = reqwest::Client::new();
    let (_, token, _) = register_over_http(&client, "client").await;
    let (status, _, issued) = call(
        &client,
        Method::POST,
        "/realtime/tickets",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    let ticket = issued["ticket"].as_str().expect("ticket").to_owned();
    let connection_id = format!("{}=", Uuid::new_v4().simple());

    let connect = socket_sample("connect.json", &connection_id, &ticket);
    let (status, body) = invoke_api("realtime", &connect).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        invoke_api("realtime", &socket_sample("ping.json", &connection_id, "")).await;
    assert_eq!((status, body["type"].as_str()), (200, Some("pong")));

    // Used once: another connection with the same ticket is refused at the handshake.
    let again = socket_sample(
        "connect.json",
        &format!("{}=", Uuid::new_v4().simple()),
        &ticket,
    );
    let (status, problem) = invoke_api("realtime", &again).await;
    assert_eq!(status, 401, "{problem}");

    let disconnect = socket_sample("disconnect.json", &connection_id, "");
    assert_eq!(invoke_api("realtime", &disconnect).await.0, 200);
}

// ---- through the local WebSocket gateway, with a real WebSocket client ----

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gigmarket_shared::store::Store;
use gigmarket_tests::watch::{base_url, functions_store};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Where clients connect: the gateway `make test` starts (`GIGMARKET_WEBSOCKET_URL`).
fn websocket_url() -> String {
    std::env::var("GIGMARKET_WEBSOCKET_URL")
        .expect("GIGMARKET_WEBSOCKET_URL must point at the local gateway (make test starts it)")
}

/// The management API's URL, as the functions are given it (`REALTIME_CALLBACK_URL`).
fn callback_url() -> String {
    std::env::var("REALTIME_CALLBACK_URL")
        .expect("REALTIME_CALLBACK_URL must point at the local gateway (make test sets it)")
}

async fn new_ticket(client: &reqwest::Client, token: &str) -> String {
    let (status, _, issued) =
        call(client, Method::POST, "/realtime/tickets", Some(token), None).await;
    assert_eq!(status, 201, "{issued}");
    issued["ticket"].as_str().expect("ticket").to_owned()
}

async fn open_socket(url: &str, ticket: &str) -> Result<Socket, u16> {
    match tokio_tungstenite::connect_async(format!("{url}?ticket={ticket}")).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("connecting to {url}: {other}"),
    }
}

/// The next text message, skipping control frames; `None` once the server closed.
async fn next_text(socket: &mut Socket) -> Option<Value> {
    let wait = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(message) = socket.next().await {
            match message.expect("a frame") {
                Message::Text(text) => return Some(serde_json::from_str(&text).expect("JSON")),
                Message::Close(_) => return None,
                _ => {}
            }
        }
        None
    });
    wait.await.expect("a message within a minute")
}

/// The close frame the server ends the connection with.
async fn close_frame(socket: &mut Socket) -> (CloseCode, String) {
    let wait = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(message) = socket.next().await {
            if let Ok(Message::Close(Some(frame))) = message {
                return (frame.code, frame.reason.to_string());
            }
        }
        panic!("the server dropped the connection without a close frame");
    });
    wait.await.expect("closed within two minutes")
}

/// The user's stored connection ids, once `ready` holds for them (the gateway invokes
/// `$disconnect` after the close, so the table follows a moment later).
async fn connections_when(
    store: &Store,
    user_id: Uuid,
    ready: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    for _ in 0..300 {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let ids: Vec<String> = store
            .connections_of(user_id, now)
            .await
            .unwrap()
            .into_iter()
            .map(|connection| connection.connection_id)
            .collect();
        if ready(&ids) {
            return ids;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the connections of {user_id} never got there");
}

#[tokio::test]
async fn a_socket_opens_with_a_fresh_ticket_only_and_answers_ping() {
    let client = reqwest::Client::new();
    let (_, token, _) = register_over_http(&client, "client").await;
    let url = websocket_url();

    let ticket = new_ticket(&client, &token).await;
    let mut socket = open_socket(&url, &ticket)
        .await
        .expect("the ticket opens it");
    socket
        .send(Message::text(r#"{"action":"ping"}"#))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut socket).await,
        Some(serde_json::json!({"type": "pong"}))
    );

    // Used, forged, missing: refused at the handshake with the function's status.
    assert_eq!(open_socket(&url, &ticket).await.err(), Some(401));
    assert_eq!(open_socket(&url, &"A".repeat(43)).await.err(), Some(401));
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401)
        }
        other => panic!("connected without a ticket: {:?}", other.map(|_| ())),
    }
    socket.close(None).await.unwrap();
}

#[tokio::test]
async fn the_management_api_posts_describes_and_deletes_connections() {
    use aws_sdk_apigatewaymanagement::primitives::Blob;
    let client = reqwest::Client::new();
    let (user_id, token, _) = register_over_http(&client, "client").await;
    let user_id: Uuid = user_id.parse().unwrap();
    let (store, sdk) = functions_store().await;
    let connections = gigmarket_shared::aws::connections(&sdk, &callback_url());

    let mut socket = open_socket(&websocket_url(), &new_ticket(&client, &token).await)
        .await
        .unwrap();
    let ids = connections_when(&store, user_id, |ids| ids.len() == 1).await;
    let id = &ids[0];

    connections
        .post_to_connection()
        .connection_id(id)
        .data(Blob::new(r#"{"type":"hello"}"#))
        .send()
        .await
        .expect("posted");
    assert_eq!(
        next_text(&mut socket).await,
        Some(serde_json::json!({"type": "hello"}))
    );

    let described = connections
        .get_connection()
        .connection_id(id)
        .send()
        .await
        .unwrap();
    assert!(described.connected_at().is_some());
    assert_eq!(
        described
            .identity()
            .and_then(|identity| identity.source_ip()),
        Some("127.0.0.1")
    );

    // Past API Gateway's 128 KB: refused, nothing delivered.
    let too_large = connections
        .post_to_connection()
        .connection_id(id)
        .data(Blob::new(vec![b'x'; 128 * 1024 + 1]))
        .send()
        .await
        .expect_err("413");
    assert_eq!(
        too_large.raw_response().map(|raw| raw.status().as_u16()),
        Some(413)
    );

    connections
        .delete_connection()
        .connection_id(id)
        .send()
        .await
        .expect("deleted");
    assert_eq!(close_frame(&mut socket).await.0, CloseCode::Normal);
    connections_when(&store, user_id, <[String]>::is_empty).await;

    // A connection that is gone: 410 GoneException, by status and by error code.
    let gone = connections
        .post_to_connection()
        .connection_id(id)
        .data(Blob::new("{}"))
        .send()
        .await
        .expect_err("gone");
    assert_eq!(
        gone.raw_response().map(|raw| raw.status().as_u16()),
        Some(410)
    );
    assert!(
        gone.as_service_error()
            .is_some_and(|error| error.is_gone_exception()),
        "{gone:?}"
    );
}

/// A gateway of the test's own with API Gateway's limits shortened: 10 minutes idle become
/// `idle`, 2 hours open become `lifetime`.
async fn gateway_with_limits(idle: Duration, lifetime: Duration) -> gateway::Running {
    let settings = gateway::Settings {
        invoke_url: base_url(),
        function: "realtime".to_owned(),
        routes: vec!["ping".to_owned()],
        stage: "local".to_owned(),
        idle_timeout: idle,
        max_lifetime: lifetime,
    };
    gateway::serve(settings, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("gateway starts")
}

#[tokio::test]
async fn idle_and_old_connections_are_closed_and_forgotten() {
    let client = reqwest::Client::new();
    let (user_id, token, _) = register_over_http(&client, "client").await;
    let user_id: Uuid = user_id.parse().unwrap();
    let (store, _) = functions_store().await;

    // Idle: nothing sent, closed with 1001 "Going away", and $disconnect forgets it.
    let idle = gateway_with_limits(Duration::from_secs(2), Duration::from_secs(3600)).await;
    let mut quiet = open_socket(&idle.websocket_url(), &new_ticket(&client, &token).await)
        .await
        .unwrap();
    assert_eq!(
        close_frame(&mut quiet).await,
        (CloseCode::Away, "Going away".to_owned())
    );
    connections_when(&store, user_id, <[String]>::is_empty).await;

    // Busy but old: pings keep it from idling, the lifetime limit still closes it.
    let old = gateway_with_limits(Duration::from_secs(3600), Duration::from_secs(3)).await;
    let mut busy = open_socket(&old.websocket_url(), &new_ticket(&client, &token).await)
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            busy.send(Message::text(r#"{"action":"ping"}"#)).await.ok();
            match busy.next().await {
                Some(Ok(Message::Text(pong))) => assert!(pong.contains("pong"), "{pong}"),
                Some(Ok(Message::Close(Some(frame)))) => break frame.code,
                Some(Ok(_)) => {}
                other => panic!("no close frame: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    assert_eq!(closed.await.expect("closed"), CloseCode::Away);
    connections_when(&store, user_id, <[String]>::is_empty).await;
}

/// The next push of type `push_type`, skipping others (a push for an earlier change may still be
/// on its way).
async fn next_push(socket: &mut Socket, push_type: &str) -> Value {
    loop {
        let push = next_text(socket).await.expect("the socket is open");
        if push["type"] == push_type {
            return push;
        }
    }
}

/// Pushes through the stream's second reader: a message reaches every device of its recipient
/// and nobody else; a connection whose `$disconnect` never came is deleted at the push that
/// finds it gone; a device that was away catches up through `after=<message id>`.
#[tokio::test]
async fn a_message_reaches_every_device_of_its_recipient_and_survives_a_reconnect() {
    use gigmarket_tests::watch::{active_gig_in_functions_table, call_with};
    let client = reqwest::Client::new();
    let url = websocket_url();
    let (_, client_token, _) = register_over_http(&client, "client").await;
    let (freelancer_id, freelancer_token, _) = register_over_http(&client, "freelancer").await;
    let (_, stranger_token, _) = register_over_http(&client, "freelancer").await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;
    let freelancer: Uuid = freelancer_id.parse().unwrap();
    let (store, _) = functions_store().await;

    let mut phone = open_socket(&url, &new_ticket(&client, &freelancer_token).await)
        .await
        .unwrap();
    let mut laptop = open_socket(&url, &new_ticket(&client, &freelancer_token).await)
        .await
        .unwrap();
    let mut stranger = open_socket(&url, &new_ticket(&client, &stranger_token).await)
        .await
        .unwrap();
    // A device that vanished without `$disconnect`: stored, unknown to the gateway. It opened
    // a minute ago: a 410 for a connection younger than `CONNECT_GRACE` may be one whose
    // `$connect` is still running, and is not deleted.
    let vanished = format!("{}=", Uuid::new_v4().simple());
    let mut connect = socket_sample(
        "connect.json",
        &vanished,
        &new_ticket(&client, &freelancer_token).await,
    );
    let minute_ago = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    connect["requestContext"]["connectedAt"] =
        ((minute_ago.unix_timestamp_nanos() / 1_000_000) as i64).into();
    assert_eq!(invoke_api("realtime", &connect).await.0, 200);
    connections_when(&store, freelancer, |ids| ids.len() == 3).await;

    let (status, opened) = call_with(
        &client,
        Method::POST,
        "/conversations",
        &client_token,
        &[],
        Some(serde_json::json!({"participant_id": freelancer_id, "gig_id": gig.id, "text": "Hello?"})),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    let message = &opened["message"];
    let conversation_id = opened["conversation"]["id"].as_str().unwrap().to_owned();
    for device in [&mut phone, &mut laptop] {
        let push = next_push(device, "message.received").await;
        assert_eq!(push["data"], *message, "{push}");
        assert_eq!(
            push["id"],
            format!("message:{}", message["id"].as_str().unwrap())
        );
        assert_eq!(push["data"]["conversation_id"], conversation_id.as_str());
    }
    let left = connections_when(&store, freelancer, |ids| ids.len() == 2).await;
    assert!(!left.contains(&vanished), "{left:?}");
    // The stranger's socket got nothing: the next thing on it answers its own ping.
    stranger
        .send(Message::text(r#"{"action":"ping"}"#))
        .await
        .unwrap();
    assert_eq!(next_text(&mut stranger).await.unwrap()["type"], "pong");

    // The laptop goes away; what is sent meanwhile reaches the phone, and the laptop catches up.
    let seen = message["id"].as_str().unwrap().to_owned();
    laptop.close(None).await.unwrap();
    connections_when(&store, freelancer, |ids| ids.len() == 1).await;
    let (status, missed) = call_with(
        &client,
        Method::POST,
        &format!("/conversations/{conversation_id}/messages"),
        &client_token,
        &[],
        Some(serde_json::json!({"text": "Still there?"})),
    )
    .await;
    assert_eq!(status, 201, "{missed}");
    let push = next_push(&mut phone, "message.received").await;
    assert_eq!(push["data"], missed["message"]);
    let mut laptop = open_socket(&url, &new_ticket(&client, &freelancer_token).await)
        .await
        .unwrap();
    let (status, _, caught_up) = call(
        &client,
        Method::GET,
        &format!("/conversations/{conversation_id}/messages?after={seen}"),
        Some(&freelancer_token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{caught_up}");
    assert_eq!(caught_up["items"], serde_json::json!([missed["message"]]));
    for socket in [&mut phone, &mut laptop, &mut stranger] {
        socket.close(None).await.unwrap();
    }
}

/// The read receipt reaches the sender, the reader's unread total reaches the reader, and an
/// order's acceptance reaches both parties with its new status.
#[tokio::test]
async fn read_receipts_unread_totals_and_order_changes_are_pushed() {
    use gigmarket_tests::watch::{
        active_gig_in_functions_table, call_with, order_step, place_order,
    };
    let client = reqwest::Client::new();
    let url = websocket_url();
    let (client_id, client_token, _) = register_over_http(&client, "client").await;
    let (freelancer_id, freelancer_token, _) = register_over_http(&client, "freelancer").await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;
    let (store, _) = functions_store().await;

    let mut buyer = open_socket(&url, &new_ticket(&client, &client_token).await)
        .await
        .unwrap();
    let mut seller = open_socket(&url, &new_ticket(&client, &freelancer_token).await)
        .await
        .unwrap();
    connections_when(&store, client_id.parse().unwrap(), |ids| ids.len() == 1).await;
    connections_when(&store, freelancer_id.parse().unwrap(), |ids| ids.len() == 1).await;

    let (status, opened) = call_with(
        &client,
        Method::POST,
        "/conversations",
        &client_token,
        &[],
        Some(serde_json::json!({"participant_id": freelancer_id, "gig_id": gig.id, "text": "Hi"})),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    let conversation_id = opened["conversation"]["id"].as_str().unwrap().to_owned();
    next_push(&mut seller, "message.received").await;
    assert_eq!(
        next_push(&mut seller, "unread.changed").await["data"],
        serde_json::json!({"unread_messages": 1})
    );

    let (status, read) = call_with(
        &client,
        Method::POST,
        &format!("/conversations/{conversation_id}/read"),
        &freelancer_token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    let receipt = next_push(&mut buyer, "message.read").await;
    assert_eq!(receipt["data"]["conversation_id"], conversation_id.as_str());
    assert_eq!(receipt["data"]["reader_id"], freelancer_id.as_str());
    assert_eq!(
        next_push(&mut seller, "unread.changed").await["data"],
        serde_json::json!({"unread_messages": 0})
    );

    let order_id = place_order(&client, &client_token, &gig).await;
    order_step(
        &client,
        &freelancer_token,
        &order_id,
        "accept",
        serde_json::json!({}),
    )
    .await;
    for party in [&mut buyer, &mut seller] {
        let accepted = next_push(party, "order.accepted").await;
        assert_eq!(
            accepted["data"]["order_id"],
            order_id.as_str(),
            "{accepted}"
        );
        assert_eq!(accepted["data"]["status"], "in_progress", "{accepted}");
    }
    for socket in [&mut buyer, &mut seller] {
        socket.close(None).await.unwrap();
    }
}

/// Typing reaches the other participant only; a stranger's typing on the conversation is
/// refused (404), and past the limit a participant's is too (429). Nothing is stored.
#[tokio::test]
async fn typing_reaches_the_other_participant_only() {
    use gigmarket_shared::domain::realtime::TYPING_LIMIT;
    use gigmarket_tests::watch::{active_gig_in_functions_table, call_with};
    let client = reqwest::Client::new();
    let url = websocket_url();
    let (client_id, client_token, _) = register_over_http(&client, "client").await;
    let (freelancer_id, freelancer_token, _) = register_over_http(&client, "freelancer").await;
    let (_, stranger_token, _) = register_over_http(&client, "client").await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;
    let (status, opened) = call_with(
        &client,
        Method::POST,
        "/conversations",
        &client_token,
        &[],
        Some(serde_json::json!({"participant_id": freelancer_id, "gig_id": gig.id, "text": "Hi"})),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    let conversation_id = opened["conversation"]["id"].as_str().unwrap().to_owned();
    let typing = serde_json::json!({"action": "typing", "conversation_id": conversation_id});

    let mut buyer = open_socket(&url, &new_ticket(&client, &client_token).await)
        .await
        .unwrap();
    let mut seller = open_socket(&url, &new_ticket(&client, &freelancer_token).await)
        .await
        .unwrap();
    let mut stranger = open_socket(&url, &new_ticket(&client, &stranger_token).await)
        .await
        .unwrap();

    stranger
        .send(Message::text(typing.to_string()))
        .await
        .unwrap();
    let refused = next_text(&mut stranger).await.unwrap();
    assert_eq!(refused["status"], 404, "{refused}");

    buyer.send(Message::text(typing.to_string())).await.unwrap();
    let signal = next_push(&mut seller, "typing").await;
    assert_eq!(
        signal["data"],
        serde_json::json!({"conversation_id": conversation_id, "user_id": client_id})
    );

    // The limit: the window's remaining signals pass, then one is refused (unless the window
    // turned meanwhile, when the refusal comes later: keep sending until it does).
    let mut refusal = None;
    for _ in 0..(3 * TYPING_LIMIT) {
        buyer.send(Message::text(typing.to_string())).await.unwrap();
        buyer
            .send(Message::text(r#"{"action":"ping"}"#))
            .await
            .unwrap();
        let answer = next_text(&mut buyer).await.unwrap();
        if answer["type"] != "pong" {
            refusal = Some(answer);
            break;
        }
    }
    let refusal = refusal.expect("a refusal past the limit");
    assert_eq!(refusal["status"], 429, "{refusal}");
    for socket in [&mut buyer, &mut seller, &mut stranger] {
        socket.close(None).await.unwrap();
    }
}

/// A review published reaches both parties of its order, as the REST API lists it: the second
/// review publishes both, so each party hears of the one they got and the one they wrote; a
/// stranger hears of neither.
#[tokio::test]
async fn published_reviews_reach_both_parties_and_nobody_else() {
    use gigmarket_tests::watch::{
        active_gig_in_functions_table, call_with, order_step, place_order,
    };
    let client = reqwest::Client::new();
    let url = websocket_url();
    let (client_id, client_token, _) = register_over_http(&client, "client").await;
    let (freelancer_id, freelancer_token, _) = register_over_http(&client, "freelancer").await;
    let (stranger_id, stranger_token, _) = register_over_http(&client, "client").await;
    let (gig, _) = active_gig_in_functions_table(&freelancer_id).await;
    let (store, _) = functions_store().await;

    let order_id = place_order(&client, &client_token, &gig).await;
    for (token, action, body) in [
        (&freelancer_token, "accept", serde_json::json!({})),
        (
            &freelancer_token,
            "deliver",
            serde_json::json!({"message": "Done!", "attachments": ["https://files.example.com/logo.svg"]}),
        ),
        (&client_token, "complete", serde_json::json!({})),
    ] {
        order_step(&client, token, &order_id, action, body).await;
    }

    let mut buyer = open_socket(&url, &new_ticket(&client, &client_token).await)
        .await
        .unwrap();
    let mut seller = open_socket(&url, &new_ticket(&client, &freelancer_token).await)
        .await
        .unwrap();
    let mut stranger = open_socket(&url, &new_ticket(&client, &stranger_token).await)
        .await
        .unwrap();
    for user_id in [&client_id, &freelancer_id, &stranger_id] {
        connections_when(&store, user_id.parse().unwrap(), |ids| ids.len() == 1).await;
    }

    let review = |token: &str, body: Value| {
        let client = &client;
        let token = token.to_owned();
        async move {
            let (status, review) =
                call_with(client, Method::POST, "/reviews", &token, &[], Some(body)).await;
            assert_eq!(status, 201, "{review}");
            review
        }
    };
    let sealed = review(
        &client_token,
        serde_json::json!({"order_id": order_id, "rating": 4, "comment": "Good work.", "communication": 5}),
    )
    .await;
    assert_eq!(sealed["state"], "sealed");
    let second = review(
        &freelancer_token,
        serde_json::json!({"order_id": order_id, "rating": 5, "comment": "Clear brief."}),
    )
    .await;
    assert_eq!(second["state"], "published");

    // Both reviews as the REST API lists them now: each in its reviewee's published reviews.
    let mut listed = Vec::new();
    for (reviewee, side) in [(&freelancer_id, "seller"), (&client_id, "buyer")] {
        let (status, _, page) = call(
            &client,
            Method::GET,
            &format!("/users/{reviewee}/reviews?as={side}"),
            None,
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
        listed.push(page["items"][0].clone());
    }
    let mut expected: Vec<String> = listed
        .iter()
        .map(|review| review["id"].as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    let mut posted = [&sealed, &second].map(|review| review["id"].as_str().unwrap().to_owned());
    posted.sort();
    assert_eq!(posted.as_slice(), expected.as_slice());

    for party in [&mut buyer, &mut seller] {
        let mut received = Vec::new();
        for _ in 0..2 {
            let push = next_push(party, "review.published").await;
            let id = push["data"]["id"].as_str().expect("a review id").to_owned();
            assert_eq!(push["id"], format!("review:{id}:published"), "{push}");
            let shown = listed
                .iter()
                .find(|review| review["id"] == id.as_str())
                .unwrap_or_else(|| panic!("pushed a review nobody listed: {push}"));
            assert_eq!(&push["data"], shown, "{push}");
            assert_eq!(push["at"], shown["published_at"], "{push}");
            received.push(id);
        }
        received.sort();
        assert_eq!(received, expected);
    }
    // The stranger's socket got nothing: the next thing on it answers its own ping.
    stranger
        .send(Message::text(r#"{"action":"ping"}"#))
        .await
        .unwrap();
    assert_eq!(next_text(&mut stranger).await.unwrap()["type"], "pong");
    for socket in [&mut buyer, &mut seller, &mut stranger] {
        socket.close(None).await.unwrap();
    }
}

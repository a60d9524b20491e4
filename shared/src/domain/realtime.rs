//! Real time over the WebSocket API: the single-use tickets a client connects with, the limits
//! API Gateway puts on a connection, and what a client may send on the socket.
//!
//! Browsers can not set headers on a WebSocket, so a signed-in client trades its access token for
//! a ticket (`POST /realtime/tickets`) and connects with `?ticket=` in the URL; a URL ends up in
//! logs, so the ticket lives a minute and works once.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// How long a ticket may wait for its connection.
pub const TICKET_LIFETIME_SECS: i64 = 60;

/// API Gateway closes every WebSocket connection after 2 hours, whatever happens on it; the
/// stored connection expires (TTL) then too, so one whose `$disconnect` never came is ignored
/// on read and deleted by the table.
pub const CONNECTION_LIFETIME_SECS: i64 = 2 * 3600;

/// API Gateway closes a connection idle for 10 minutes; `{"action":"ping"}` keeps it open.
pub const IDLE_TIMEOUT_SECS: i64 = 10 * 60;

/// The answer to `POST /realtime/tickets`: the ticket's plaintext (never stored) and when it
/// stops working.
#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub ticket: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// One open WebSocket connection of a user (one per device).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// API Gateway's id of the connection, the address of every push to it.
    pub connection_id: String,
    pub user_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub connected_at: OffsetDateTime,
    /// Unix seconds: API Gateway's 2-hour limit; also the table's TTL attribute.
    pub expires_at: i64,
}

impl Connection {
    /// A connection API Gateway opened at `connected_at`, stored `now`: it expires by our clock,
    /// at the 2-hour limit from its storing.
    pub fn new(
        connection_id: String,
        user_id: Uuid,
        connected_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            connection_id,
            user_id,
            connected_at,
            expires_at: now.unix_timestamp() + CONNECTION_LIFETIME_SECS,
        }
    }

    pub fn is_live(&self, now_unix: i64) -> bool {
        self.expires_at > now_unix
    }

    /// Whether its `$connect` may still be running: the item is written during `$connect`,
    /// and API Gateway answers a post to a connection whose `$connect` has not returned yet
    /// as gone (410). Such a connection is not deleted on a 410; one whose `$connect` never
    /// completed goes with a later push or its TTL.
    pub fn may_be_opening(&self, now: OffsetDateTime) -> bool {
        now - self.connected_at < CONNECT_GRACE
    }
}

/// How long a `$connect` may run: API Gateway's integration timeout (29 s), and a second.
pub const CONNECT_GRACE: time::Duration = time::Duration::seconds(30);

/// What a client sends on the socket: a JSON object whose `action` picks the route (the API's
/// route selection expression is `$request.body.action`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum SocketAction {
    /// Answered with `{"type":"pong"}`: keeps an idle connection open.
    Ping,
    /// "I am typing in this conversation": forwarded to the other participant, not stored.
    Typing { conversation_id: Uuid },
}

/// Typing signals a user may send per [`TYPING_WINDOW_SECS`]: a client sends one every few
/// seconds while its user types; more is a client gone wrong, and each costs a push.
pub const TYPING_LIMIT: u32 = 10;
pub const TYPING_WINDOW_SECS: u64 = 10;

impl SocketAction {
    /// The action a message body asks for, or why it is refused (shown to the client).
    pub fn parse(body: &str) -> Result<Self, String> {
        serde_json::from_str(body).map_err(|error| format!("not a known action: {error}"))
    }
}

/// What the socket pushes to a connection: `{type, id, at, data}`. `type` and `id` are the
/// event's (`message.received`, `message:<message id>`): a stream record retried after a partial
/// failure pushes again, and the id lets a client drop what it already has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Push {
    #[serde(rename = "type")]
    pub push_type: String,
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub data: serde_json::Value,
}

/// A push and the users whose every live connection gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub to: Vec<Uuid>,
    pub push: Push,
}

impl Delivery {
    /// A read receipt, to the other participant (the owner of the inbox entry it landed on):
    /// who read which conversation, and when.
    pub fn message_read(entry: &crate::domain::message::InboxEntry) -> Option<Self> {
        let read_at = entry.counterpart_last_read_at?;
        Some(Self {
            to: vec![entry.owner_id],
            push: Push {
                push_type: "message.read".to_owned(),
                id: format!(
                    "read:{}:{}:{}",
                    entry.id,
                    entry.counterpart.id,
                    read_at.unix_timestamp_nanos()
                ),
                at: read_at,
                data: serde_json::json!({
                    "conversation_id": entry.id,
                    "reader_id": entry.counterpart.id,
                    "read_at": read_at.format(&time::format_description::well_known::Rfc3339).ok(),
                }),
            },
        })
    }

    /// A typing signal, to the other participant of the conversation.
    pub fn typing(conversation_id: Uuid, typist_id: Uuid, to: Uuid, now: OffsetDateTime) -> Self {
        Self {
            to: vec![to],
            push: Push {
                push_type: "typing".to_owned(),
                id: format!(
                    "typing:{conversation_id}:{typist_id}:{}",
                    now.unix_timestamp_nanos()
                ),
                at: now,
                data: serde_json::json!({
                    "conversation_id": conversation_id,
                    "user_id": typist_id,
                }),
            },
        }
    }

    /// The user's unread total moved: the badge's new number. Its id names the total, so two
    /// pushes of one total are one.
    pub fn unread_changed(user_id: Uuid, unread_messages: u64, at: OffsetDateTime) -> Self {
        Self {
            to: vec![user_id],
            push: Push {
                push_type: "unread.changed".to_owned(),
                id: format!("unread:{user_id}:{unread_messages}"),
                at,
                data: serde_json::json!({ "unread_messages": unread_messages }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_lives_two_hours() {
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        let connection = Connection::new("c1".to_owned(), Uuid::nil(), now, now);
        assert!(connection.is_live(1_000 + CONNECTION_LIFETIME_SECS - 1));
        assert!(!connection.is_live(1_000 + CONNECTION_LIFETIME_SECS));
    }

    #[test]
    fn actions_parse_by_name_and_refuse_the_rest() {
        assert_eq!(
            SocketAction::parse(r#"{"action":"ping"}"#),
            Ok(SocketAction::Ping)
        );
        assert!(SocketAction::parse(r#"{"action":"shout"}"#).is_err());
        let conversation_id = Uuid::now_v7();
        assert_eq!(
            SocketAction::parse(&format!(
                r#"{{"action":"typing","conversation_id":"{conversation_id}"}}"#
            )),
            Ok(SocketAction::Typing { conversation_id })
        );
        assert!(SocketAction::parse(r#"{"action":"typing"}"#).is_err());
        assert!(SocketAction::parse("ping").is_err());
    }
}

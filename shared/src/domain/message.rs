//! Messaging: conversations between two users about a context (a gig, an order, or nothing),
//! their messages, and each participant's inbox entry (unread count, read receipts).
//!
//! A conversation's id is derived from its two participants (in either order) and its context,
//! so "open or return the existing one" needs no lookup table: two racing requests compute the
//! same id and the store's conditional put lets exactly one create it.

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::user::{Caller, Role};
use super::{Invalid, Violations, required_text};

/// A message's text, in characters.
pub const MESSAGE_MAX_CHARS: usize = 5_000;
/// How much of the last message an inbox entry shows.
pub const PREVIEW_MAX_CHARS: usize = 100;
/// New conversations one user may open per clock hour, unless configured otherwise.
pub const DEFAULT_CONVERSATIONS_PER_HOUR: u32 = 20;

/// What a conversation is about. At most one of the two. Both are always written (null when
/// absent): an empty map would reach the stream as `{}`, which DynamoDB Local emits unreadably.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    #[serde(default)]
    pub gig_id: Option<Uuid>,
    #[serde(default)]
    pub order_id: Option<Uuid>,
}

impl Context {
    /// The text the conversation id is derived from.
    fn canonical(&self) -> String {
        match (self.gig_id, self.order_id) {
            (_, Some(order_id)) => format!("order:{order_id}"),
            (Some(gig_id), None) => format!("gig:{gig_id}"),
            (None, None) => "direct".to_owned(),
        }
    }
}

/// The id of the one conversation between `a` and `b` (in either order) about `context`.
pub fn conversation_id(a: Uuid, b: Uuid, context: &Context) -> Uuid {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let canonical = format!("conversation|{low}|{high}|{}", context.canonical());
    let hash = digest::digest(&digest::SHA256, canonical.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash.as_ref()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// `POST /conversations`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenConversation {
    pub participant_id: Uuid,
    #[serde(default)]
    pub gig_id: Option<Uuid>,
    #[serde(default)]
    pub order_id: Option<Uuid>,
    pub text: String,
}

/// `POST /conversations/{id}/messages`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    #[serde(default)]
    pub text: String,
    /// The conversation's files (uploaded by the sender) this message carries.
    #[serde(default)]
    pub file_ids: Vec<Uuid>,
}

/// The most files one message carries.
pub const MESSAGE_FILES_MAX: usize = 10;

impl SendMessage {
    /// The message's text: required, unless it carries files (then it may be empty or left
    /// out, and is still at most [`MESSAGE_MAX_CHARS`]).
    pub fn text(&self) -> Result<String, Invalid> {
        if !self.file_ids.is_empty() && self.text.trim().is_empty() {
            return Ok(String::new());
        }
        check_message_text(&self.text)
    }

    /// The message's file ids, each once, at most [`MESSAGE_FILES_MAX`].
    pub fn files(&self) -> Result<Vec<Uuid>, Invalid> {
        let files = super::distinct(&self.file_ids);
        if files.len() > MESSAGE_FILES_MAX {
            return Err(Invalid::field(
                "file_ids",
                "too_many",
                format!("at most {MESSAGE_FILES_MAX} files"),
            ));
        }
        Ok(files)
    }
}

/// A validated message text: trimmed, 1..=5,000 characters. The limit holds before trimming
/// too, so nothing longer than the contract's `maxLength` is ever accepted.
pub fn check_message_text(raw: &str) -> Result<String, Invalid> {
    if raw.chars().count() > MESSAGE_MAX_CHARS {
        return Err(Invalid::field(
            "text",
            "too_long",
            format!("must be at most {MESSAGE_MAX_CHARS} characters"),
        ));
    }
    required_text("text", raw, 1, MESSAGE_MAX_CHARS)
}

impl OpenConversation {
    /// The checks that need nothing but the request and who sends it.
    pub fn validate(&self, caller_id: Uuid) -> Result<(Context, String), Invalid> {
        let mut violations = Violations::new();
        violations.check(
            self.participant_id != caller_id,
            "participant_id",
            "is_self",
            "you can not start a conversation with yourself",
        );
        violations.check(
            self.gig_id.is_none() || self.order_id.is_none(),
            "order_id",
            "one_context",
            "give a gig_id or an order_id, not both",
        );
        let text = match check_message_text(&self.text) {
            Ok(text) => text,
            Err(Invalid(errors)) => {
                for error in errors {
                    violations.add(error.field, error.code, error.message);
                }
                String::new()
            }
        };
        violations.into_result()?;
        Ok((
            Context {
                gig_id: self.gig_id,
                order_id: self.order_id,
            },
            text,
        ))
    }
}

/// One message, as stored and as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// UUIDv7 from the send time: messages sort by it.
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub sender_id: Uuid,
    /// The sender's role when they sent it (the `message.received` event's actor).
    pub sender_role: Role,
    pub recipient_id: Uuid,
    pub text: String,
    /// The conversation's files it carries (`GET /conversations/{id}/files/{file_id}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
}

impl Message {
    pub fn new(
        conversation_id: Uuid,
        sender: Caller,
        recipient_id: Uuid,
        text: String,
        now: OffsetDateTime,
    ) -> Self {
        let nanos = now.unix_timestamp_nanos();
        let timestamp = uuid::Timestamp::from_unix(
            uuid::NoContext,
            (nanos / 1_000_000_000) as u64,
            (nanos % 1_000_000_000) as u32,
        );
        Self {
            id: Uuid::new_v7(timestamp),
            conversation_id,
            sender_id: sender.id,
            sender_role: sender.role,
            recipient_id,
            text,
            files: Vec::new(),
            sent_at: now,
        }
    }

    pub fn preview(&self) -> LastMessage {
        LastMessage {
            id: self.id,
            sender_id: self.sender_id,
            preview: self.preview_text(),
            sent_at: self.sent_at,
        }
    }

    /// What an inbox entry and a mail show of it: its text's [`preview`], or for a message of
    /// files alone how many it carries, so neither shows an empty quote.
    pub fn preview_text(&self) -> String {
        match (self.text.is_empty(), self.files.len()) {
            (true, 1) => "(1 file)".to_owned(),
            (true, count) if count > 1 => format!("({count} files)"),
            _ => preview(&self.text),
        }
    }
}

/// The first [`PREVIEW_MAX_CHARS`] characters, with an ellipsis when cut.
pub fn preview(text: &str) -> String {
    if text.chars().count() <= PREVIEW_MAX_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(PREVIEW_MAX_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The last message as an inbox entry shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastMessage {
    pub id: Uuid,
    pub sender_id: Uuid,
    pub preview: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
}

/// The other participant, as the inbox shows them (the name as it was when the conversation
/// was opened).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counterpart {
    pub id: Uuid,
    pub name: String,
}

/// One participant's view of a conversation: their inbox entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// The conversation's id.
    pub id: Uuid,
    /// Whose entry this is (not shown: [`ConversationView`] is what its owner sees).
    pub owner_id: Uuid,
    pub counterpart: Counterpart,
    pub context: Context,
    pub last_message: LastMessage,
    /// Messages from the counterpart since the owner last read the conversation.
    pub unread_count: u64,
    /// When the owner last read the conversation.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_read_at: Option<OffsetDateTime>,
    /// When the counterpart last read it: the owner's read receipt.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub counterpart_last_read_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl InboxEntry {
    /// The two entries of a conversation opened by `sender` with its first message.
    pub fn pair(
        message: &Message,
        sender_name: &str,
        recipient_name: &str,
        context: Context,
    ) -> (InboxEntry, InboxEntry) {
        let entry = |owner_id, counterpart_id, counterpart_name: &str, unread_count| InboxEntry {
            id: message.conversation_id,
            owner_id,
            counterpart: Counterpart {
                id: counterpart_id,
                name: counterpart_name.to_owned(),
            },
            context,
            last_message: message.preview(),
            unread_count,
            last_read_at: None,
            counterpart_last_read_at: None,
            created_at: message.sent_at,
        };
        (
            entry(message.sender_id, message.recipient_id, recipient_name, 0),
            entry(message.recipient_id, message.sender_id, sender_name, 1),
        )
    }
}

/// An inbox entry as its owner sees it (`GET /conversations`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationView {
    pub id: Uuid,
    pub counterpart: Counterpart,
    pub context: Context,
    pub last_message: LastMessage,
    pub unread_count: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_read_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub counterpart_last_read_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<InboxEntry> for ConversationView {
    fn from(entry: InboxEntry) -> Self {
        Self {
            id: entry.id,
            counterpart: entry.counterpart,
            context: entry.context,
            last_message: entry.last_message,
            unread_count: entry.unread_count,
            last_read_at: entry.last_read_at,
            counterpart_last_read_at: entry.counterpart_last_read_at,
            created_at: entry.created_at,
        }
    }
}

/// The start of the clock hour `now` is in (unix seconds), and the seconds until the next.
pub fn hour_window(now: OffsetDateTime) -> (i64, u64) {
    let unix = now.unix_timestamp();
    let start = unix - unix.rem_euclid(3600);
    (start, (start + 3600 - unix) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_ignore_participant_order_and_follow_the_context() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let direct = Context::default();
        let gig = Context {
            gig_id: Some(Uuid::new_v4()),
            order_id: None,
        };
        assert_eq!(
            conversation_id(a, b, &direct),
            conversation_id(b, a, &direct)
        );
        assert_ne!(conversation_id(a, b, &direct), conversation_id(a, b, &gig));
        assert_ne!(
            conversation_id(a, b, &direct),
            conversation_id(a, Uuid::new_v4(), &direct)
        );
    }

    #[test]
    fn a_message_of_files_alone_needs_no_text() {
        let send = |text: &str, file_ids: Vec<Uuid>| SendMessage {
            text: text.to_owned(),
            file_ids,
        };
        let field = |result: Result<String, Invalid>| result.unwrap_err().0[0].field.clone();
        assert_eq!(send(" ", vec![Uuid::now_v7()]).text().unwrap(), "");
        assert_eq!(send(" Hi ", vec![Uuid::now_v7()]).text().unwrap(), "Hi");
        assert_eq!(field(send("  ", Vec::new()).text()), "text");
        let long = "x".repeat(MESSAGE_MAX_CHARS + 1);
        assert_eq!(field(send(&long, vec![Uuid::now_v7()]).text()), "text");
        let caller = Caller {
            id: Uuid::now_v7(),
            role: Role::Client,
            session: None,
        };
        let mut message = Message::new(
            Uuid::now_v7(),
            caller,
            Uuid::now_v7(),
            String::new(),
            OffsetDateTime::UNIX_EPOCH,
        );
        message.files = vec![Uuid::now_v7(), Uuid::now_v7()];
        assert_eq!(message.preview_text(), "(2 files)");
    }

    #[test]
    fn requests_are_checked() {
        let me = Uuid::new_v4();
        let request = |participant_id, text: &str| OpenConversation {
            participant_id,
            gig_id: None,
            order_id: None,
            text: text.to_owned(),
        };
        let fields = |result: Result<_, Invalid>| -> Vec<String> {
            result
                .unwrap_err()
                .0
                .into_iter()
                .map(|error| format!("{}:{}", error.field, error.code))
                .collect()
        };
        assert_eq!(
            fields(request(me, " hi ").validate(me)),
            ["participant_id:is_self"]
        );
        assert_eq!(
            fields(request(Uuid::new_v4(), "  ").validate(me)),
            ["text:required"]
        );
        let long = "x".repeat(MESSAGE_MAX_CHARS + 1);
        assert_eq!(
            fields(request(Uuid::new_v4(), &long).validate(me)),
            ["text:too_long"]
        );
        let (_, text) = request(Uuid::new_v4(), " hi ").validate(me).unwrap();
        assert_eq!(text, "hi");
        assert!(check_message_text(&"é".repeat(MESSAGE_MAX_CHARS)).is_ok());
        let padded = format!(" {}", "x".repeat(MESSAGE_MAX_CHARS));
        assert!(
            check_message_text(&padded).is_err(),
            "counted before trimming"
        );
    }

    #[test]
    fn previews_are_cut_by_characters() {
        assert_eq!(preview("short"), "short");
        let cut = preview(&"ü".repeat(300));
        assert_eq!(cut.chars().count(), PREVIEW_MAX_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn hour_windows() {
        let now = time::macros::datetime!(2026-11-26 03:59:30 UTC);
        let (start, retry) = hour_window(now);
        assert_eq!(
            start,
            time::macros::datetime!(2026-11-26 03:00 UTC).unix_timestamp()
        );
        assert_eq!(retry, 30);
    }
}

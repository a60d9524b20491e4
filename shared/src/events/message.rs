//! Message events (`message.<kind>`): a message arrived for someone. Mailed at most once per
//! conversation, recipient and 15 minutes, and not at all once the recipient has read the
//! conversation (the notifier asks [`super::Notice::conversation_gate`]).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::mail::Message as Mail;
use super::{Recipient, RecipientRole};
use crate::domain::message::Message;

/// At most one mail per conversation and recipient in this many seconds.
pub const MESSAGE_MAIL_WINDOW_SECS: i64 = 15 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageEventKind {
    /// A message was sent to the recipient.
    Received,
}

impl MessageEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
        }
    }
}

/// A message, as message events carry it (`"message": {...}`): a preview, never the whole text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSummary {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub sender_id: Uuid,
    pub recipient_id: Uuid,
    pub preview: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
}

impl From<&Message> for MessageSummary {
    fn from(message: &Message) -> Self {
        Self {
            conversation_id: message.conversation_id,
            message_id: message.id,
            sender_id: message.sender_id,
            recipient_id: message.recipient_id,
            preview: message.preview_text(),
            sent_at: message.sent_at,
        }
    }
}

pub(super) fn recipients(kind: MessageEventKind, message: &MessageSummary) -> Vec<Recipient> {
    match kind {
        MessageEventKind::Received => vec![Recipient {
            user_id: message.recipient_id,
            role: RecipientRole::Participant,
        }],
    }
}

pub(super) fn message(kind: MessageEventKind, message: &MessageSummary) -> Mail {
    let (subject, lines) = match kind {
        MessageEventKind::Received => (
            "You have a new message on Gigmarket".to_owned(),
            vec![
                "Someone wrote to you:".to_owned(),
                format!("\"{}\"", message.preview),
                "Open your inbox to read and answer it.".to_owned(),
            ],
        ),
    };
    Mail {
        subject,
        lines,
        footer: format!("Conversation {} - Gigmarket", message.conversation_id),
    }
}

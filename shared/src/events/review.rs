//! Review events (`review.<kind>`), from the review items on the table's stream
//! (`store::stream`): a review sealed (the other side is invited to review: "leave yours to see
//! theirs") and a review published (the reviewed party reads it). Both go to the reviewed party.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::mail::Message;
use super::{Event, Recipient, RecipientRole, SCHEMA_VERSION, Subject};
use crate::domain::order::{Actor, Party};
use crate::domain::review::{Review, Side};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewEventKind {
    /// One side reviewed; the review stays sealed until the other side reviews too.
    Sealed,
    /// A review became visible to the party it reviews (and everyone else).
    Published,
}

impl ReviewEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sealed => "sealed",
            Self::Published => "published",
        }
    }
}

/// A review, as review events carry it (`"review": {...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewSummary {
    pub review_id: Uuid,
    pub order_id: Uuid,
    pub gig_title: String,
    /// The party reviewed, who is told; the other party of the order wrote the review.
    pub reviewee_id: Uuid,
    pub reviewee_role: RecipientRole,
    pub rating: u8,
    #[serde(default)]
    pub comment: String,
    /// When a sealed review is published even if the reviewee never reviews.
    #[serde(with = "time::serde::rfc3339")]
    pub window_closes_at: OffsetDateTime,
}

impl Event {
    /// The event of a review change: `kind` says which (see `store::stream`). The id is derived
    /// from the review and the kind, so a record delivered twice mails once.
    pub fn for_review(review: &Review, kind: ReviewEventKind) -> Self {
        let (author_party, reviewee_role) = match review.author_side {
            Side::Client => (Party::Client, RecipientRole::Freelancer),
            Side::Freelancer => (Party::Freelancer, RecipientRole::Client),
        };
        let occurred_at = match kind {
            ReviewEventKind::Sealed => review.created_at,
            ReviewEventKind::Published => review.published_at.unwrap_or(review.created_at),
        };
        Self {
            event_id: format!("review:{}:{}", review.id, kind.as_str()),
            event_type: super::EventType::Review(kind),
            occurred_at,
            actor: Actor::user(review.author_id, author_party),
            subject: Subject::Review(ReviewSummary {
                review_id: review.id,
                order_id: review.order_id,
                gig_title: review.gig_title.clone(),
                reviewee_id: review.reviewee_id,
                reviewee_role,
                rating: review.rating,
                comment: review.comment.clone(),
                window_closes_at: review.window_closes_at,
            }),
            version: SCHEMA_VERSION,
        }
    }
}

pub(super) fn recipients(kind: ReviewEventKind, review: &ReviewSummary) -> Vec<Recipient> {
    match kind {
        ReviewEventKind::Sealed | ReviewEventKind::Published => vec![Recipient {
            user_id: review.reviewee_id,
            role: review.reviewee_role,
        }],
    }
}

pub(super) fn message(
    kind: ReviewEventKind,
    review: &ReviewSummary,
    recipient: RecipientRole,
) -> Message {
    let title = &review.gig_title;
    let author = match recipient {
        RecipientRole::Freelancer => "client",
        RecipientRole::Client | RecipientRole::Participant => "freelancer",
    };
    let (subject, lines) = match kind {
        // Sealed: nothing of the review itself, or the rule would leak.
        ReviewEventKind::Sealed => (
            format!("Your {author} reviewed \"{title}\": leave your review to see theirs"),
            vec![
                format!("Your {author} has reviewed your order \"{title}\"."),
                "Their review stays sealed until you leave yours; then both are published together."
                    .to_owned(),
                format!(
                    "If you do not, it is published on {}.",
                    review.window_closes_at.date()
                ),
            ],
        ),
        ReviewEventKind::Published => (
            format!("New review: {} stars for {title}", review.rating),
            vec![
                format!("Your {author} reviewed \"{title}\": {} / 5.", review.rating),
                format!("\"{}\"", review.comment),
            ],
        ),
    };
    Message {
        subject,
        lines,
        footer: format!("Order {} - Gigmarket", review.order_id),
    }
}

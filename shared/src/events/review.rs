//! Review events (`review.<kind>`). Reserved for the reviews feature: `review.posted` is mailed
//! already but nothing produces it yet; the feature reshapes [`ReviewSummary`] into its review.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::mail::Message;
use super::{Recipient, RecipientRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewEventKind {
    /// A review became visible to the party it reviews.
    Posted,
}

impl ReviewEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Posted => "posted",
        }
    }
}

/// A review, as review events carry it (`"review": {...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewSummary {
    pub order_id: Uuid,
    pub gig_title: String,
    /// The party reviewed, who is told; the other party of the order wrote the review.
    pub reviewee_id: Uuid,
    pub reviewee_role: RecipientRole,
    pub rating: u8,
    #[serde(default)]
    pub comment: String,
}

pub(super) fn recipients(kind: ReviewEventKind, review: &ReviewSummary) -> Vec<Recipient> {
    match kind {
        ReviewEventKind::Posted => vec![Recipient {
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
        ReviewEventKind::Posted => (
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

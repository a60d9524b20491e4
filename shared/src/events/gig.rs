//! Gig events (`gig.<decision>`): a moderation decision on a gig (approved, rejected, removed),
//! from the gig item on the table's stream (`store::stream`: a new `decision_id`). The gig's
//! owner is told, with the reason for a rejection or removal.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::mail::Message;
use super::{Event, EventType, Recipient, RecipientRole, SCHEMA_VERSION, Subject};
use crate::domain::gig::{DecidedGig, GigDecision};
use crate::domain::order::{Actor, Party};

/// A decided gig, as gig events carry it (`"gig": {...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GigDecisionSummary {
    pub gig_id: Uuid,
    pub freelancer_id: Uuid,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
}

impl Event {
    /// The event of a moderation decision. Its id is the decision's (its audit entry's), so a
    /// record delivered twice mails once and every later decision mails again.
    pub fn for_gig_decision(change: &DecidedGig) -> Self {
        let gig = &change.gig;
        Self {
            event_id: format!("gig:{}:{}", gig.id, change.decision_id),
            event_type: EventType::Gig(change.decision),
            occurred_at: gig.updated_at,
            actor: Actor {
                id: None,
                role: Party::Admin,
            },
            subject: Subject::Gig(GigDecisionSummary {
                gig_id: gig.id,
                freelancer_id: gig.freelancer_id,
                title: gig.title.clone(),
                reason: change.reason.clone(),
                decided_at: gig.updated_at,
            }),
            version: SCHEMA_VERSION,
        }
    }
}

pub(super) fn recipients(gig: &GigDecisionSummary) -> Vec<Recipient> {
    vec![Recipient {
        user_id: gig.freelancer_id,
        role: RecipientRole::Freelancer,
    }]
}

pub(super) fn message(decision: GigDecision, gig: &GigDecisionSummary) -> Message {
    let title = &gig.title;
    let reason = gig.reason.as_deref().unwrap_or("(no reason given)");
    let (subject, lines) = match decision {
        GigDecision::Approved => (
            format!("Your gig \"{title}\" is live"),
            vec![
                format!("Your gig \"{title}\" was approved and is now listed on Gigmarket."),
                "Clients can find it in browse and search and order it.".to_owned(),
            ],
        ),
        GigDecision::Rejected => (
            format!("Your gig \"{title}\" was not approved"),
            vec![
                format!("Your gig \"{title}\" was not approved. The reason:"),
                format!("\"{reason}\""),
                "You can edit it and submit it for review again.".to_owned(),
            ],
        ),
        GigDecision::Removed => (
            format!("Your gig \"{title}\" was removed"),
            vec![
                format!("Your gig \"{title}\" was taken down by moderation. The reason:"),
                format!("\"{reason}\""),
                "It can no longer be found or ordered; orders already placed continue.".to_owned(),
            ],
        ),
    };
    Message {
        subject,
        lines,
        footer: format!("Gig {} - Gigmarket", gig.gig_id),
    }
}

/// A search index hint (the search index queue's message): the gig `gig_id` changed. It carries
/// no content: the index writer re-reads the gig, so hints may repeat or arrive out of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GigHint {
    pub gig_id: Uuid,
}

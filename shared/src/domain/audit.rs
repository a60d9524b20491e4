//! The audit trail of admin actions: who did what to which target, why, when, and in which
//! request. An entry is written in the same transaction as the action it records, so there is
//! never an action without its entry nor an entry for an action that did not happen.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Invalid, Violations, check_text};

/// Who acted: an admin through the API (their user id) or an operator through `gigctl` (the
/// name they gave, or `$USER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Admin,
    Operator,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// An admin's user id, or an operator's name.
    pub id: String,
    /// The API request (API Gateway's request id, else the Lambda invocation id); none from
    /// `gigctl`.
    pub request_id: Option<String>,
}

impl Actor {
    pub fn admin(user_id: Uuid, request_id: Option<String>) -> Self {
        Self {
            kind: ActorKind::Admin,
            id: user_id.to_string(),
            request_id,
        }
    }

    pub fn operator(name: &str) -> Self {
        Self {
            kind: ActorKind::Operator,
            id: name.trim().to_owned(),
            request_id: None,
        }
    }

    /// The admin's user id; `None` for an operator.
    pub fn user_id(&self) -> Option<Uuid> {
        match self.kind {
            ActorKind::Admin => self.id.parse().ok(),
            ActorKind::Operator => None,
        }
    }

    /// Whether this actor is the user `user_id` (an admin may not block themselves).
    pub fn is_user(&self, user_id: Uuid) -> bool {
        self.kind == ActorKind::Admin && self.id == user_id.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    BlockUser,
    UnblockUser,
    CreateAdmin,
    ApproveGig,
    RejectGig,
    RemoveGig,
    // Reviews.
    HideReview,
    UnhideReview,
    // Orders.
    CancelOrder,
    RefundOrder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    User,
    Gig,
    Review,
    Order,
}

/// One audit entry, as stored and as `GET /admin/audit` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// UUIDv7: entries of one instant still sort by creation.
    pub id: Uuid,
    pub actor_kind: ActorKind,
    pub actor_id: String,
    pub action: AuditAction,
    pub target_kind: TargetKind,
    pub target_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl AuditEntry {
    pub fn new(
        actor: &Actor,
        action: AuditAction,
        target: (TargetKind, Uuid),
        reason: Option<String>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            actor_kind: actor.kind,
            actor_id: actor.id.clone(),
            action,
            target_kind: target.0,
            target_id: target.1,
            reason,
            at: now,
            request_id: actor.request_id.clone(),
        }
    }
}

pub const REASON_MAX_CHARS: usize = 1_000;

/// The body of an action that needs a reason (`block`, `reject`, `remove`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

impl ReasonBody {
    /// The trimmed reason, 1..=1000 characters.
    pub fn validate(self) -> Result<String, Invalid> {
        let reason = self.reason.trim().to_owned();
        let mut violations = Violations::new();
        check_text(&mut violations, "reason", &reason, 1, REASON_MAX_CHARS);
        violations.into_result().map(|()| reason)
    }
}

/// An operator's name as `gigctl` records it: 1..=80 characters.
pub fn check_operator_name(name: &str) -> Result<(), Invalid> {
    let mut violations = Violations::new();
    check_text(&mut violations, "operator", name.trim(), 1, 80);
    violations.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        let ok = ReasonBody {
            reason: "  spam  ".into(),
        };
        assert_eq!(ok.validate().unwrap(), "spam");
        assert!(
            ReasonBody {
                reason: "  ".into()
            }
            .validate()
            .is_err()
        );
        assert!(
            ReasonBody {
                reason: "x".repeat(REASON_MAX_CHARS + 1)
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn an_admin_actor_is_their_user_but_an_operator_is_nobody() {
        let id = Uuid::new_v4();
        assert!(Actor::admin(id, None).is_user(id));
        assert!(!Actor::admin(Uuid::new_v4(), None).is_user(id));
        assert!(!Actor::operator(&id.to_string()).is_user(id));
    }
}

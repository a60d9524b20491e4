//! An admin's decisions on a gig: what was decided, and what it does to the gig.

use serde::{Deserialize, Serialize};

use super::{Gig, GigRefusal, GigStatus};
use crate::domain::audit::AuditAction;

/// An admin's decision on a gig. Its owner is mailed each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GigDecision {
    /// In review -> active: it goes live as reviewed.
    Approved,
    /// In review -> rejected, with a reason the owner reads (they may edit and resubmit).
    Rejected,
    /// Live (active or paused) -> removed, with a reason; the owner can not bring it back.
    Removed,
}

impl GigDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Removed => "removed",
        }
    }

    /// The name a stored decision was written under ([`GigDecision::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Approved, Self::Rejected, Self::Removed]
            .into_iter()
            .find(|decision| decision.as_str() == name)
    }

    /// The status the gig moves to from `status`, or why it can not.
    pub fn apply(self, status: GigStatus) -> Result<GigStatus, GigRefusal> {
        match self {
            Self::Approved => status.approve(),
            Self::Rejected => status.reject(),
            Self::Removed => status.remove(),
        }
    }

    /// Whether the decision needs a reason (shown to the owner).
    pub fn needs_reason(self) -> bool {
        !matches!(self, Self::Approved)
    }

    pub fn audit_action(self) -> AuditAction {
        match self {
            Self::Approved => AuditAction::ApproveGig,
            Self::Rejected => AuditAction::RejectGig,
            Self::Removed => AuditAction::RemoveGig,
        }
    }
}

/// A decision as the gig records it (the table's stream reads it back for the owner's mail).
#[derive(Debug, Clone, PartialEq)]
pub struct DecidedGig {
    /// The gig right after the decision.
    pub gig: Gig,
    pub decision: GigDecision,
    /// The decision's audit entry id: one per decision, the same in a redelivered record.
    pub decision_id: String,
    /// The reason the owner reads (reject, remove).
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_move_only_the_statuses_they_are_for() {
        use GigStatus::*;
        assert_eq!(GigDecision::Approved.apply(PendingReview), Ok(Active));
        assert_eq!(GigDecision::Rejected.apply(PendingReview), Ok(Rejected));
        assert_eq!(GigDecision::Removed.apply(Paused), Ok(Removed));
        assert!(GigDecision::Approved.apply(Rejected).is_err());
        assert!(GigDecision::Rejected.apply(Active).is_err());
        assert!(GigDecision::Removed.apply(PendingReview).is_err());
        for decision in [
            GigDecision::Approved,
            GigDecision::Rejected,
            GigDecision::Removed,
        ] {
            assert_eq!(GigDecision::from_name(decision.as_str()), Some(decision));
        }
        assert_eq!(GigDecision::from_name("teleported"), None);
    }
}

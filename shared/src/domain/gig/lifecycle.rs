//! Lifecycle: which status a gig moves to, and why a move is refused.

use super::GigStatus;

impl GigStatus {
    /// The status a new gig starts in.
    pub fn initial(auto_approve: bool) -> Self {
        if auto_approve {
            Self::Active
        } else {
            Self::PendingReview
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingReview => "pending_review",
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Rejected => "rejected",
            Self::Archived => "archived",
            Self::Removed => "removed",
        }
    }

    fn refuse(self, action: &'static str) -> GigRefusal {
        GigRefusal::WrongStatus {
            status: self,
            action,
        }
    }

    /// After a content edit. With review required every edit goes (back) to review, because
    /// what was approved is no longer what is shown; with auto-approval an active or paused gig
    /// keeps its status and a pending or rejected one becomes active.
    pub fn after_edit(self, auto_approve: bool) -> Result<Self, GigRefusal> {
        match (self, auto_approve) {
            (Self::Archived | Self::Removed, _) => Err(self.refuse("edited")),
            (_, false) => Ok(Self::PendingReview),
            (Self::Paused, true) => Ok(Self::Paused),
            (_, true) => Ok(Self::Active),
        }
    }

    pub fn approve(self) -> Result<Self, GigRefusal> {
        match self {
            Self::PendingReview => Ok(Self::Active),
            _ => Err(self.refuse("approved")),
        }
    }

    /// Moderation refuses a gig in review; a live one is removed instead.
    pub fn reject(self) -> Result<Self, GigRefusal> {
        match self {
            Self::PendingReview => Ok(Self::Rejected),
            _ => Err(self.refuse("rejected")),
        }
    }

    /// Moderation takes a live (active or paused) gig down.
    pub fn remove(self) -> Result<Self, GigRefusal> {
        match self {
            Self::Active | Self::Paused => Ok(Self::Removed),
            _ => Err(self.refuse("removed")),
        }
    }

    pub fn pause(self) -> Result<Self, GigRefusal> {
        match self {
            Self::Active => Ok(Self::Paused),
            _ => Err(self.refuse("paused")),
        }
    }

    pub fn resume(self) -> Result<Self, GigRefusal> {
        match self {
            Self::Paused => Ok(Self::Active),
            _ => Err(self.refuse("resumed")),
        }
    }
}

/// Why a gig change is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GigRefusal {
    /// The status does not allow the change (approve an active gig, pause a paused one...).
    WrongStatus {
        status: GigStatus,
        action: &'static str,
    },
}

//! Lifecycle: which status a gig moves to, and why a move is refused.

use serde::Deserialize;

use super::{Gig, GigStatus};
use crate::domain::{Invalid, required_text};

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
            (Self::Archived, _) => Err(self.refuse("edited")),
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

    /// Moderation may refuse a gig in review or take down an active one.
    pub fn reject(self) -> Result<Self, GigRefusal> {
        match self {
            Self::PendingReview | Self::Active | Self::Paused => Ok(Self::Rejected),
            _ => Err(self.refuse("rejected")),
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
    /// Archiving while orders are open: they still need the gig.
    HasOpenOrders { open_orders: u64 },
}

pub const REJECTION_REASON_MAX_CHARS: usize = 1_000;

/// `POST /gigs/{id}/reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    pub reason: String,
}

impl Rejection {
    pub fn validate(self) -> Result<String, Invalid> {
        required_text("reason", &self.reason, 1, REJECTION_REASON_MAX_CHARS)
    }
}

impl Gig {
    /// Only a gig without open orders may be archived: its orders still need it.
    pub fn check_archivable(&self) -> Result<(), GigRefusal> {
        if self.open_orders > 0 {
            return Err(GigRefusal::HasOpenOrders {
                open_orders: self.open_orders,
            });
        }
        Ok(())
    }
}

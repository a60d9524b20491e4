//! Admin use cases on gigs: the review queue `GET /admin/gigs`, and the decisions
//! `POST /admin/gigs/{id}/approve`, `/reject` `{reason}` and `/remove` `{reason}`.
//!
//! Approve and reject carry the `ETag` the admin reviewed (`If-Match`): the decision is made on
//! that version and the write is conditioned on it (`app::gigs::change_gig`, the path `PATCH`
//! takes), so a gig edited since is 412 and what was approved is what goes live. Every decision
//! is one transaction with its audit entry and the metrics counters; the owner is mailed it
//! through the event pipeline (the gig item carries the decision, see `store::stream`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::require_admin;
use crate::app::gigs::{Change, GigEditor, SeenGig, change_gig};
use crate::domain::audit::{Actor, AuditEntry, ReasonBody, TargetKind};
use crate::domain::gig::{Gig, GigDecision, GigStatus, GigView};
use crate::domain::user::Caller;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, Page, PageParams};
use crate::store::Store;
use crate::store::gigs::{Decided, StoredGig};

/// `GET /admin/gigs` query. `status` names the queue: only `pending_review` has one (the default).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A gig in the queue: everything its owner submitted (the owner's view: status, open orders,
/// any earlier rejection reason) and the `etag` to approve or reject it with (`If-Match`).
#[derive(Debug, Serialize)]
pub struct QueuedGig {
    pub gig: GigView,
    pub etag: String,
}

fn admin_view(stored: &StoredGig) -> GigView {
    GigView::private(&stored.gig, stored.rejection_reason.as_deref())
}

/// `GET /admin/gigs?status=pending_review`: the gigs waiting for review, oldest submission
/// first, cursor-paged (one Query of the sparse queue index; never a Scan).
pub async fn queue(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    query: QueueQuery,
) -> ApiResult<Page<QueuedGig>> {
    require_admin(&caller)?;
    match query.status.as_deref() {
        None | Some("pending_review") => {}
        Some(_) => {
            return Err(ApiError::invalid(
                "status",
                "unsupported_status",
                "only the pending_review queue can be listed",
            ));
        }
    }
    let page = cursors.page_request(&PageParams {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let (gigs, next) = store.gig_review_queue(&page).await?;
    let queued = gigs
        .iter()
        .map(|stored| QueuedGig {
            gig: admin_view(stored),
            etag: stored.gig.etag(),
        })
        .collect();
    Ok(cursors.page(queued, next))
}

/// `POST /admin/gigs/{id}/approve`: `If-Match` (the reviewed ETag) required.
pub async fn approve(
    store: &Store,
    actor: &Actor,
    gig_id: Uuid,
    if_match: Option<String>,
    now: OffsetDateTime,
) -> ApiResult<SeenGig> {
    let if_match = reviewed_version(if_match)?;
    decide(
        store,
        actor,
        gig_id,
        GigDecision::Approved,
        Some(&if_match),
        None,
        now,
    )
    .await
}

/// `POST /admin/gigs/{id}/reject` and `/remove` `{reason}` (`decision`: `Rejected` or `Removed`;
/// an approval takes no reason, see [`approve`]). `reason` is the body as parsed (or why it
/// could not be); the owner reads it.
///
/// - Reject: a gig in review, on the ETag reviewed (`If-Match` required); its owner may edit and
///   resubmit.
/// - Remove: a live (active or paused) gig, out of browse and search in the same transaction.
///   Orders already placed on it run on; no new ones can be placed. `If-Match` is optional (a
///   takedown is about the gig, whatever its version); when sent it is checked like the others.
pub async fn decide_with_reason(
    store: &Store,
    actor: &Actor,
    gig_id: Uuid,
    decision: GigDecision,
    if_match: Option<String>,
    reason: ApiResult<ReasonBody>,
    now: OffsetDateTime,
) -> ApiResult<SeenGig> {
    let reason = reason?.validate()?;
    let if_match = match decision {
        GigDecision::Removed => if_match
            .map(|tag| reviewed_version(Some(tag)))
            .transpose()?,
        GigDecision::Approved | GigDecision::Rejected => Some(reviewed_version(if_match)?),
    };
    decide(
        store,
        actor,
        gig_id,
        decision,
        if_match.as_deref(),
        Some(reason),
        now,
    )
    .await
}

/// The ETag the admin reviewed: required (428), and a real one: `*` would approve whatever the
/// gig is by then, which is what the header is there to prevent (400).
fn reviewed_version(if_match: Option<String>) -> ApiResult<String> {
    let if_match = if_match.ok_or(ApiError::PreconditionRequired(
        "send If-Match with the ETag of the gig you reviewed (from GET /admin/gigs or GET /gigs/{id})",
    ))?;
    if if_match.split(',').any(|tag| tag.trim() == "*") {
        return Err(ApiError::BadRequest(
            "If-Match must name the ETag of the gig you reviewed, not `*`".into(),
        ));
    }
    Ok(if_match)
}

async fn decide(
    store: &Store,
    actor: &Actor,
    gig_id: Uuid,
    decision: GigDecision,
    if_match: Option<&str>,
    reason: Option<String>,
    now: OffsetDateTime,
) -> ApiResult<SeenGig> {
    let entry = AuditEntry::new(
        actor,
        decision.audit_action(),
        (TargetKind::Gig, gig_id),
        reason.clone(),
        now,
    );
    let decided = Decided {
        decision,
        audit: &entry,
    };
    let stored = change_gig(
        store,
        gig_id,
        GigEditor::Moderator,
        Some(decided),
        |stored| {
            // Archived is deleted as far as the API goes: the same 404 as `GET /gigs/{id}`.
            if stored.gig.status == GigStatus::Archived {
                return Err(ApiError::NotFound("gig"));
            }
            if let Some(if_match) = if_match
                && !stored.gig.matches_if_match(if_match)
            {
                return Err(ApiError::PreconditionFailed(format!(
                    "the gig changed since you reviewed it (its ETag is now {}); review it again",
                    stored.gig.etag()
                )));
            }
            let status = decision.apply(stored.gig.status)?;
            Ok(Change::To {
                gig: Gig {
                    status,
                    updated_at: now,
                    ..stored.gig.clone()
                },
                rejection_reason: reason.clone(),
            })
        },
    )
    .await?;
    Ok(SeenGig {
        view: admin_view(&stored),
        etag: stored.gig.etag(),
    })
}

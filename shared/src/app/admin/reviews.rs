//! Admin use cases on reviews: the marketplace-wide reviews list (`GET /admin/reviews`), and
//! `POST /admin/reviews/{id}/hide` `{reason}` and `/unhide`. A hide
//! takes a published review out of every listing and every total it counted in (gig, seller
//! and buyer ratings, the metrics) with its audit entry, in one transaction
//! (`Store::set_review_hidden`); unhide puts it all back. The gig's listing entries take the new
//! rating right after, as after a publication.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{range_and_page, require_admin};
use crate::domain::audit::{Actor, AuditAction, AuditEntry, ReasonBody, TargetKind};
use crate::domain::review::{ReviewState, Side};
use crate::domain::user::Caller;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, Page};
use crate::store::Store;
use crate::store::admin::reviews::AdminReview;

/// What a hide or unhide answers.
#[derive(Debug, Serialize)]
pub struct ReviewVisibility {
    pub id: Uuid,
    pub hidden: bool,
    pub audit_id: Uuid,
}

/// `POST /admin/reviews/{id}/hide`. `reason` is the body as parsed (or why it could not be).
pub async fn hide(
    store: &Store,
    actor: &Actor,
    review_id: Uuid,
    reason: ApiResult<ReasonBody>,
    now: OffsetDateTime,
) -> ApiResult<ReviewVisibility> {
    let reason = reason?.validate()?;
    set_hidden(store, actor, review_id, true, Some(reason), now).await
}

/// `POST /admin/reviews/{id}/unhide`.
pub async fn unhide(
    store: &Store,
    actor: &Actor,
    review_id: Uuid,
    now: OffsetDateTime,
) -> ApiResult<ReviewVisibility> {
    set_hidden(store, actor, review_id, false, None, now).await
}

async fn set_hidden(
    store: &Store,
    actor: &Actor,
    review_id: Uuid,
    hide: bool,
    reason: Option<String>,
    now: OffsetDateTime,
) -> ApiResult<ReviewVisibility> {
    let (review, hidden) = store
        .review_with_visibility(review_id)
        .await?
        .ok_or(ApiError::NotFound("review"))?;
    if review.state != ReviewState::Published {
        return Err(ApiError::conflict(
            "review-not-published",
            "only published reviews can be hidden or unhidden",
        ));
    }
    if hidden == hide {
        return Err(if hide {
            ApiError::conflict("review-hidden", "the review is hidden already")
        } else {
            ApiError::conflict("review-not-hidden", "the review is not hidden")
        });
    }
    let action = if hide {
        AuditAction::HideReview
    } else {
        AuditAction::UnhideReview
    };
    let entry = AuditEntry::new(actor, action, (TargetKind::Review, review.id), reason, now);
    if !store.set_review_hidden(&review, hide, &entry).await? {
        return Err(ApiError::conflict(
            "review-changed",
            "the review changed while it was being hidden or unhidden; reload and try again",
        ));
    }
    if review.author_side == Side::Client {
        // Committed: a failed re-index leaves the listing's older rating until the gig's next
        // write, so it is logged, not answered.
        if let Err(error) = store.reindex_gig(review.gig_id).await {
            tracing::error!(gig_id = %review.gig_id, error = %error, "re-indexing after hiding or unhiding a review failed");
        }
    }
    Ok(ReviewVisibility {
        id: review.id,
        hidden: hide,
        audit_id: entry.id,
    })
}

/// `GET /admin/reviews` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewsQuery {
    /// Only hidden (`true`) or only shown (`false`) reviews.
    pub hidden: Option<bool>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /admin/reviews`: every published review (hidden ones too) of the range, newest first.
pub async fn list_reviews(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    query: ReviewsQuery,
    now: OffsetDateTime,
) -> ApiResult<Page<AdminReview>> {
    require_admin(&caller)?;
    let (range, page) = range_and_page(
        cursors,
        query.from,
        query.to,
        query.limit,
        query.cursor,
        now,
    )?;
    let (reviews, next) = store.admin_reviews(range, query.hidden, &page).await?;
    Ok(cursors.page(reviews, next))
}

//! Review use cases: post (sealed until both have spoken), reply, list, and the scheduler's
//! publication of what is left sealed when the window closes. The rules are in
//! `domain::review`; the store writes each decision in one transaction conditioned on the
//! order's review states as read, so a racing second review, a duplicate or the scheduler
//! never count a review twice.

use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::review::{
    PostReply, PostReview, Review, ReviewRefusal, ReviewState, Side, reply_to, write_review,
};
use crate::domain::user::{Caller, User};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, Page, PageParams};
use crate::store::Store;
use crate::store::reviews::{ReviewWrite, ReviewedAs};

/// How often a post re-reads after losing a race (the other side's review or the scheduler).
const POST_ATTEMPTS: usize = 3;

/// Blocked accounts may not review or reply (their access token may outlive the block).
async fn require_not_blocked(store: &Store, caller: Caller) -> ApiResult<()> {
    let blocked = store
        .get_user(caller.id)
        .await?
        .is_none_or(|user: User| user.is_blocked());
    if blocked {
        Err(ApiError::AccountBlocked)
    } else {
        Ok(())
    }
}

/// `POST /reviews`: the caller reviews the other party of one of their completed orders.
pub async fn post(
    store: &Store,
    caller: Caller,
    request: PostReview,
    now: OffsetDateTime,
) -> ApiResult<Review> {
    let draft = request.validate()?;
    let order = store
        .get_order(draft.order_id)
        .await?
        .filter(|order| Side::of(caller.id, order).is_some())
        .ok_or(ApiError::NotFound("order"))?;
    require_not_blocked(store, caller).await?;
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller);
    for _ in 0..POST_ATTEMPTS {
        let reviews = store.order_reviews(order.id).await?;
        let review = write_review(&order, caller.id, draft.clone(), reviews.states(), now)?;
        let other = match review.state {
            ReviewState::Sealed => None,
            ReviewState::Published => {
                let other_id = reviews
                    .review_id(review.author_side.other())
                    .ok_or_else(|| {
                        ApiError::internal(anyhow::anyhow!("sealed review state without its id"))
                    })?;
                let other = store.get_review(other_id).await?.ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("sealed review {other_id} missing"))
                })?;
                Some(other)
            }
        };
        match store.post_review(&review, other.as_ref(), now).await? {
            ReviewWrite::Written => {
                refresh_gig_listing(store, &review, other.as_ref()).await;
                return Ok(review);
            }
            ReviewWrite::AuthorBlocked => {
                return Err(ApiError::Forbidden("this account is blocked"));
            }
            ReviewWrite::Stale => continue,
        }
    }
    Err(ApiError::conflict(
        "order-changed",
        "the order's reviews changed while you posted; reload and try again",
    ))
}

/// After a client's review was counted, the gig's listing entries take its new rating (so
/// browse sorted by rating sees it).
async fn refresh_gig_listing(store: &Store, review: &Review, other: Option<&Review>) {
    // `other` is the sealed review as read: this review's transaction published it.
    let counted = match review.state {
        ReviewState::Sealed => Vec::new(),
        ReviewState::Published => [Some(review), other].into_iter().flatten().collect(),
    };
    if counted
        .iter()
        .any(|review| review.author_side == Side::Client)
    {
        reindex_after_rating_change(store, review.gig_id).await;
    }
}

/// Re-indexes a gig after its rating changed. The review is committed by then, so a failure is
/// logged, not answered: the listing keeps the older rating until the gig's next write.
async fn reindex_after_rating_change(store: &Store, gig_id: Uuid) {
    if let Err(error) = store.reindex_gig(gig_id).await {
        tracing::error!(%gig_id, error = %error, "re-indexing a gig after a rating change failed");
    }
}

/// `POST /reviews/{id}/reply`: the reviewed party answers a published review, once.
pub async fn reply(
    store: &Store,
    caller: Caller,
    review_id: Uuid,
    request: PostReply,
    now: OffsetDateTime,
) -> ApiResult<Review> {
    let comment = request.validate()?;
    let (review, hidden) = store
        .review_with_visibility(review_id)
        .await?
        .ok_or(ApiError::NotFound("review"))?;
    let answer = reply_to(&review, caller.id, comment, now)?;
    if hidden {
        return Err(review_hidden());
    }
    require_not_blocked(store, caller).await?;
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let acting = store.acting_as(caller);
    if !acting.reply_to_review(review.id, &answer).await? {
        // Answered meanwhile, or hidden meanwhile (the write's condition checks both).
        let hidden_now = store
            .review_with_visibility(review_id)
            .await?
            .is_some_and(|(_, hidden)| hidden);
        return Err(if hidden_now {
            review_hidden()
        } else {
            ReviewRefusal::AlreadyReplied.into()
        });
    }
    Ok(Review {
        reply: Some(answer),
        ..review
    })
}

/// A review an admin hid takes no reply (409).
fn review_hidden() -> ApiError {
    ApiError::conflict(
        "review-hidden",
        "this review was hidden by an admin; it takes no reply",
    )
}

/// `GET /gigs/{id}/reviews`: published reviews, newest first (an unknown gig has none, and so
/// has a removed one or one whose seller is blocked).
pub async fn of_gig(
    store: &Store,
    cursors: &CursorCodec,
    gig_id: Uuid,
    paging: PageParams,
) -> ApiResult<Page<Review>> {
    let page = cursors.page_request(&paging)?;
    let (reviews, next) = store.reviews_of_gig(gig_id, &page).await?;
    Ok(cursors.page(publicly_listed(store, reviews).await?, next))
}

/// The reviews of a page the public may see: none naming a blocked user or a removed gig. A page
/// can come out shorter than asked; its cursor still leads on.
async fn publicly_listed(store: &Store, reviews: Vec<Review>) -> ApiResult<Vec<Review>> {
    let withheld = store.withheld(&reviews).await?;
    Ok(reviews
        .into_iter()
        .filter(|review| !withheld.hides(review))
        .collect())
}

/// Which reviews of a user to list (`?as=`).
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReviewsAs {
    Seller,
    Buyer,
}

/// `GET /users/{id}/reviews?as=seller|buyer`: published reviews the user received, newest
/// first; `as` defaults to seller.
pub async fn of_user(
    store: &Store,
    cursors: &CursorCodec,
    user_id: Uuid,
    reviews_as: Option<ReviewsAs>,
    paging: PageParams,
) -> ApiResult<Page<Review>> {
    let page = cursors.page_request(&paging)?;
    let reviewed_as = match reviews_as.unwrap_or(ReviewsAs::Seller) {
        ReviewsAs::Seller => ReviewedAs::Seller,
        ReviewsAs::Buyer => ReviewedAs::Buyer,
    };
    let (reviews, next) = store.reviews_of_user(user_id, reviewed_as, &page).await?;
    Ok(cursors.page(publicly_listed(store, reviews).await?, next))
}

/// What one scheduler pass over the sealed reviews did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Publication {
    pub published: usize,
    /// Published (or changed) by someone else between the index read and our write.
    pub skipped: usize,
}

/// The scheduler: publishes every review still sealed when its window has closed, at most
/// `limit`. Idempotent: a review already published (by the other side's review or an earlier
/// run) fails the write's condition and is skipped.
pub async fn publish_due(
    store: &Store,
    now: OffsetDateTime,
    limit: usize,
) -> ApiResult<Publication> {
    let mut publication = Publication::default();
    for review in store.due_reviews(now, limit).await? {
        if review.state != ReviewState::Sealed || review.window_closes_at > now {
            publication.skipped += 1;
            continue;
        }
        if store.publish_sealed_review(&review, now).await? {
            if review.author_side == Side::Client {
                reindex_after_rating_change(store, review.gig_id).await;
            }
            publication.published += 1;
        } else {
            publication.skipped += 1;
        }
    }
    Ok(publication)
}

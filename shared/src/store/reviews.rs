//! Reviews, each order's review states and the rating totals (key layout: `keys`, "Reviews").
//!
//! Every write is one `TransactWriteItems` conditioned on the order's review states as read:
//! - the first review of an order: the review (sealed, on the deadline index), its side's state,
//!   and a check that its author is not blocked;
//! - the second: the review, the other review flipped from sealed to published, both states, and
//!   the rating totals both reviews add to (gig, seller, buyer), all or nothing;
//! - the scheduler's publication of a review left sealed when its window closed: the review, its
//!   state and its totals, conditioned on it still being sealed.
//!
//! So a review is counted exactly once, by whichever of the racing second review and scheduler
//! wins; the loser's condition fails and it re-reads.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::year_month;
use super::gigs::{StoredGig, decode_stored_gig};
use super::keys::{self, attr, entity, index};
use super::paged::Listing;
use super::transaction::{TransactOutcome, Transaction};
use super::users::UserCondition;
use super::{Item, Store, attribute, from_item, n, rfc3339, s, to_item};
use crate::domain::gig::GigStatus;
use crate::domain::metrics::MetricsDelta;
use crate::domain::rating::{RatingTotals, UserRatings};
use crate::domain::review::{
    OrderReviewStates, Reply, Review, ReviewState, Side, SideReviewState, Withheld,
};
use crate::domain::user::{User, UserStatus};
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};

/// Which published reviews of a user to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewedAs {
    /// Reviews by their clients.
    Seller,
    /// Reviews by their freelancers.
    Buyer,
}

/// What became of a review write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewWrite {
    Written,
    /// The order's review states are no longer as read (the other side or the scheduler got
    /// there first): re-read and decide again.
    Stale,
    /// The author is blocked.
    AuthorBlocked,
}

/// The order review states item: per side, the review's id and state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OrderReviews {
    #[serde(default)]
    pub client_review_id: Option<Uuid>,
    #[serde(default)]
    pub client_review_state: Option<ReviewState>,
    #[serde(default)]
    pub freelancer_review_id: Option<Uuid>,
    #[serde(default)]
    pub freelancer_review_state: Option<ReviewState>,
}

impl OrderReviews {
    pub fn states(&self) -> OrderReviewStates {
        OrderReviewStates {
            client: SideReviewState::from(self.client_review_state),
            freelancer: SideReviewState::from(self.freelancer_review_state),
        }
    }

    pub fn review_id(&self, side: Side) -> Option<Uuid> {
        match side {
            Side::Client => self.client_review_id,
            Side::Freelancer => self.freelancer_review_id,
        }
    }
}

fn state_attr(side: Side) -> &'static str {
    match side {
        Side::Client => "client_review_state",
        Side::Freelancer => "freelancer_review_state",
    }
}

fn id_attr(side: Side) -> &'static str {
    match side {
        Side::Client => "client_review_id",
        Side::Freelancer => "freelancer_review_id",
    }
}

/// The items of a review write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reviewing {
    States,
    Review,
    OtherReview,
    /// The author's user item: a check, or the ratings the other review gives them.
    Author,
    RevieweeRatings,
    GigRatings,
    Metrics,
}

/// The stored review: the review plus the index keys of its state.
pub(super) fn review_item(review: &Review) -> Result<Item, ApiError> {
    let mut item = to_item(&keys::review(review.id), entity::REVIEW, review)?;
    let mut index_key = |index: keys::Index, partition: String, sort: String| {
        item.insert(index.pk().into(), s(partition));
        item.insert(index.sk().into(), s(sort));
    };
    match (review.state, review.published_at) {
        (ReviewState::Published, Some(published_at)) => {
            let sort = keys::review_listing_sort(
                published_at.unix_timestamp_nanos() / 1_000_000,
                review.id,
            );
            let user_partition = match review.author_side {
                Side::Client => {
                    index_key(
                        index::REVIEWS_OF_GIG,
                        keys::reviews_of_gig(review.gig_id),
                        sort.clone(),
                    );
                    keys::reviews_of_seller(review.reviewee_id)
                }
                Side::Freelancer => keys::reviews_of_buyer(review.reviewee_id),
            };
            index_key(index::REVIEWS_OF_USER, user_partition, sort);
            // The admin list of every published review, by publication month (kept when
            // hidden).
            for (name, value) in review_month_keys(review.id, published_at) {
                item.insert(name, value);
            }
        }
        _ => index_key(
            index::REVIEW_DEADLINES,
            keys::due_reviews_partition(),
            keys::deadline_sort(review.window_closes_at.unix_timestamp(), review.id),
        ),
    }
    Ok(item)
}

/// The totals prefix a review adds to on its reviewee's user item.
pub(super) fn reviewee_prefix(review: &Review) -> &'static str {
    match review.author_side {
        Side::Client => attr::SELLER_RATING_PREFIX,
        Side::Freelancer => attr::BUYER_RATING_PREFIX,
    }
}

/// `ADD`s `review` to the totals under `prefix`; `condition` (if any) is kept.
fn add_to_totals(update: UpdateBuilder, prefix: &str, review: &Review) -> UpdateBuilder {
    move_totals(update, prefix, review, 1)
}

/// `ADD`s `review` to the totals under `prefix` times `sign` (-1: takes a counted review out,
/// when an admin hides it); `condition` (if any) is kept.
pub(super) fn move_totals(
    update: UpdateBuilder,
    prefix: &str,
    review: &Review,
    sign: i64,
) -> UpdateBuilder {
    let mut adds: Vec<(String, u64)> = vec![
        (format!("{prefix}_count"), 1),
        (format!("{prefix}_sum"), u64::from(review.rating)),
        (format!("{prefix}_stars_{}", review.rating), 1),
    ];
    let subs = review.sub_ratings;
    if let Some(value) = subs.communication {
        adds.push((format!("{prefix}_communication_sum"), u64::from(value)));
        adds.push((format!("{prefix}_communication_count"), 1));
    }
    if let Some(value) = subs.as_described {
        adds.push((format!("{prefix}_as_described_sum"), u64::from(value)));
        adds.push((format!("{prefix}_as_described_count"), 1));
    }
    if let Some(yes) = subs.would_recommend {
        adds.push((format!("{prefix}_recommend_yes"), u64::from(yes)));
        adds.push((format!("{prefix}_recommend_count"), 1));
    }
    let mut clauses = Vec::new();
    let mut update = update;
    for (position, (name, value)) in adds.into_iter().enumerate() {
        clauses.push(format!("#t{position} :t{position}"));
        update = update
            .expression_attribute_names(format!("#t{position}"), name)
            .expression_attribute_values(format!(":t{position}"), n(sign * value as i64));
    }
    update.update_expression(format!("ADD {}", clauses.join(", ")))
}

/// The totals under `prefix` of a stored item (absent attributes are zero).
pub(crate) fn totals(item: &Item, prefix: &str) -> RatingTotals {
    let number = |suffix: &str| -> u64 {
        match item.get(&format!("{prefix}_{suffix}")) {
            Some(AttributeValue::N(value)) => value.parse().unwrap_or(0),
            _ => 0,
        }
    };
    RatingTotals {
        count: number("count"),
        sum: number("sum"),
        stars: [1, 2, 3, 4, 5].map(|star| number(&format!("stars_{star}"))),
        communication_sum: number("communication_sum"),
        communication_count: number("communication_count"),
        as_described_sum: number("as_described_sum"),
        as_described_count: number("as_described_count"),
        recommend_yes: number("recommend_yes"),
        recommend_count: number("recommend_count"),
    }
}

/// The condition "exists and is not blocked" on a user item, for an update that carries it.
fn not_blocked(update: UpdateBuilder, blocked: AttributeValue) -> UpdateBuilder {
    update
        .condition_expression(format!(
            "attribute_exists({}) AND (attribute_not_exists(#user_status) OR #user_status <> :blocked)",
            attr::PK
        ))
        .expression_attribute_names("#user_status", attr::STATUS)
        .expression_attribute_values(":blocked", blocked)
}

impl Transaction<Reviewing> {
    /// Adds `review`'s rating to everything it rates: its reviewee (seller or buyer totals) and,
    /// for a client's review, the gig. When the reviewee is `author_id` (the other review of a
    /// pair rates the author), that update also carries the author's not-blocked condition.
    fn count_review(&mut self, review: &Review, author_id: Uuid) -> Result<&mut Self, ApiError> {
        let blocked = attribute(&UserStatus::Blocked)?;
        let (name, guarded) = if review.reviewee_id == author_id {
            (Reviewing::Author, true)
        } else {
            (Reviewing::RevieweeRatings, false)
        };
        self.update(name, &keys::user(review.reviewee_id), |update| {
            let update = add_to_totals(update, reviewee_prefix(review), review);
            if guarded {
                not_blocked(update, blocked)
            } else {
                update.condition_expression(format!("attribute_exists({})", attr::PK))
            }
        })?;
        if review.author_side == Side::Client {
            self.update(Reviewing::GigRatings, &keys::gig(review.gig_id), |update| {
                add_to_totals(update, attr::SELLER_RATING_PREFIX, review)
                    .condition_expression(format!("attribute_exists({})", attr::PK))
            })?;
        }
        Ok(self)
    }
}

impl Store {
    /// Each side's review id and state of an order (one GetItem; nothing reviewed: all none).
    pub async fn order_reviews(&self, order_id: Uuid) -> Result<OrderReviews, ApiError> {
        Ok(self
            .get_as(&keys::order_reviews(order_id))
            .await?
            .unwrap_or_default())
    }

    pub async fn get_review(&self, review_id: Uuid) -> Result<Option<Review>, ApiError> {
        self.get_as(&keys::review(review_id)).await
    }

    /// Writes `review`, decided from the order's review states as read. A sealed review is the
    /// first of its order; a published one is the second and publishes `other` (the first, as
    /// read, still sealed) with it, counting both.
    pub async fn post_review(
        &self,
        review: &Review,
        other: Option<&Review>,
        now: OffsetDateTime,
    ) -> Result<ReviewWrite, ApiError> {
        let side = review.author_side;
        let mine = state_attr(side);
        let theirs = state_attr(side.other());
        let mut transaction = self.transaction();
        transaction.put_new(Reviewing::Review, review_item(review)?)?;
        match (review.state, other) {
            (ReviewState::Sealed, _) => {
                transaction
                    .update(
                        Reviewing::States,
                        &keys::order_reviews(review.order_id),
                        |update| {
                            update
                                .update_expression(
                                    "SET #mine = :state, #mine_id = :id, #entity = :entity, order_id = :order",
                                )
                                .condition_expression(
                                    "attribute_not_exists(#mine) AND attribute_not_exists(#theirs)",
                                )
                                .expression_attribute_names("#mine", mine)
                                .expression_attribute_names("#theirs", theirs)
                                .expression_attribute_names("#mine_id", id_attr(side))
                                .expression_attribute_names("#entity", attr::ENTITY)
                                .expression_attribute_values(":state", s(ReviewState::Sealed.as_str()))
                                .expression_attribute_values(":id", s(review.id.to_string()))
                                .expression_attribute_values(":entity", s(entity::ORDER_REVIEWS))
                                .expression_attribute_values(":order", s(review.order_id.to_string()))
                        },
                    )?
                    .check_user(Reviewing::Author, review.author_id, UserCondition::NotBlocked)?;
            }
            (ReviewState::Published, Some(other)) => {
                let published = s(ReviewState::Published.as_str());
                transaction
                    .update(
                        Reviewing::States,
                        &keys::order_reviews(review.order_id),
                        |update| {
                            update
                                .update_expression(
                                    "SET #mine = :published, #mine_id = :id, #theirs = :published",
                                )
                                .condition_expression(
                                    "attribute_not_exists(#mine) AND #theirs = :sealed AND #theirs_id = :other_id",
                                )
                                .expression_attribute_names("#mine", mine)
                                .expression_attribute_names("#theirs", theirs)
                                .expression_attribute_names("#mine_id", id_attr(side))
                                .expression_attribute_names("#theirs_id", id_attr(side.other()))
                                .expression_attribute_values(":published", published)
                                .expression_attribute_values(":sealed", s(ReviewState::Sealed.as_str()))
                                .expression_attribute_values(":id", s(review.id.to_string()))
                                .expression_attribute_values(":other_id", s(other.id.to_string()))
                        },
                    )?
                    .put(
                        Reviewing::OtherReview,
                        review_item(&other.published(now))?,
                        sealed_condition,
                    )?
                    .count_review(review, review.author_id)?
                    .count_review(other, review.author_id)?
                    .count(
                        Reviewing::Metrics,
                        &MetricsDelta::review_shown(review.rating)
                            .and(MetricsDelta::review_shown(other.rating)),
                        review.id,
                    )?;
            }
            (ReviewState::Published, None) => {
                return Err(ApiError::internal(anyhow::anyhow!(
                    "a published new review needs the sealed review it publishes"
                )));
            }
        }
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(ReviewWrite::Written),
            TransactOutcome::ConditionFailed(failed)
                if failed.includes(Reviewing::States)
                    || failed.includes(Reviewing::OtherReview) =>
            {
                Ok(ReviewWrite::Stale)
            }
            TransactOutcome::ConditionFailed(failed) if failed.includes(Reviewing::Author) => {
                Ok(ReviewWrite::AuthorBlocked)
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "review write: unexpected condition failure of {failed:?}"
            ))),
        }
    }

    /// Publishes a review left sealed when its window closed, counting it. `false` when it is
    /// no longer sealed (the other side's review published it first, or another run did).
    pub async fn publish_sealed_review(
        &self,
        review: &Review,
        now: OffsetDateTime,
    ) -> Result<bool, ApiError> {
        let side = review.author_side;
        let mut transaction = self.transaction();
        transaction
            .put(
                Reviewing::Review,
                review_item(&review.published(now))?,
                sealed_condition,
            )?
            .update(
                Reviewing::States,
                &keys::order_reviews(review.order_id),
                |update| {
                    update
                        .update_expression("SET #mine = :published")
                        .condition_expression("#mine = :sealed")
                        .expression_attribute_names("#mine", state_attr(side))
                        .expression_attribute_values(
                            ":published",
                            s(ReviewState::Published.as_str()),
                        )
                        .expression_attribute_values(":sealed", s(ReviewState::Sealed.as_str()))
                },
            )?
            // The author is not the reviewee, so nothing here is conditioned on them.
            .count_review(review, review.author_id)?
            .count(
                Reviewing::Metrics,
                &MetricsDelta::review_shown(review.rating),
                review.id,
            )?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(failed)
                if failed.includes(Reviewing::Review) || failed.includes(Reviewing::States) =>
            {
                Ok(false)
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "review publication: unexpected condition failure of {failed:?}"
            ))),
        }
    }

    /// Sets the reply of a published, not hidden review that has none; `false` if it has one by
    /// now or was hidden meanwhile.
    pub async fn reply_to_review(&self, review_id: Uuid, reply: &Reply) -> Result<bool, ApiError> {
        // A transaction of one item, so a store acting for the replier adds its
        // not-blocked check (`store::acting`).
        let mut transaction = self.transaction();
        transaction.update(ReplyItem::Review, &keys::review(review_id), |update| {
            update
                .update_expression("SET #reply = :reply")
                .condition_expression(
                    "attribute_not_exists(#reply) AND #state = :published \
                     AND (attribute_not_exists(#hidden) OR #hidden <> :hidden)",
                )
                .expression_attribute_names("#reply", attr::REPLY)
                .expression_attribute_names("#state", attr::REVIEW_STATE)
                .expression_attribute_names("#hidden", attr::HIDDEN)
                .expression_attribute_values(":hidden", AttributeValue::Bool(true))
                .expression_attribute_values(
                    ":reply",
                    AttributeValue::M(HashMap::from([
                        ("comment".to_owned(), s(&reply.comment)),
                        ("created_at".to_owned(), rfc3339(reply.created_at)),
                    ])),
                )
                .expression_attribute_values(":published", s(ReviewState::Published.as_str()))
        })?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(_) => Ok(false),
        }
    }

    /// Which of the users and gigs `reviews` name the public no longer sees, in one
    /// `BatchGetItem` per 100 of them (every gig, author and reviewee once).
    pub async fn withheld(&self, reviews: &[Review]) -> Result<Withheld, ApiError> {
        let mut named: HashMap<String, (Uuid, bool)> = HashMap::new();
        for review in reviews {
            for user_id in [review.author_id, review.reviewee_id] {
                named.insert(keys::user(user_id).pk, (user_id, true));
            }
            named.insert(keys::gig(review.gig_id).pk, (review.gig_id, false));
        }
        if named.is_empty() {
            return Ok(Withheld::default());
        }
        let wanted: Vec<keys::Key> = named
            .values()
            .map(|&(id, is_user)| {
                if is_user {
                    keys::user(id)
                } else {
                    keys::gig(id)
                }
            })
            .collect();
        let blocked = attribute(&UserStatus::Blocked)?;
        let removed = attribute(&GigStatus::Removed)?;
        let mut withheld = Withheld {
            blocked_users: HashSet::new(),
            removed_gigs: HashSet::new(),
        };
        for item in self.batch_get(wanted).await? {
            let named_as = item
                .get(attr::PK)
                .and_then(|pk| pk.as_s().ok())
                .and_then(|pk| named.get(pk));
            let status = item.get(attr::STATUS);
            match named_as {
                Some(&(user_id, true)) if status == Some(&blocked) => {
                    withheld.blocked_users.insert(user_id);
                }
                Some(&(gig_id, false)) if status == Some(&removed) => {
                    withheld.removed_gigs.insert(gig_id);
                }
                _ => {}
            }
        }
        Ok(withheld)
    }

    /// One page of a gig's published reviews, newest first.
    pub async fn reviews_of_gig(
        &self,
        gig_id: Uuid,
        page: &PageRequest,
    ) -> Result<(Vec<Review>, Option<Position>), ApiError> {
        let listing = Listing::on(index::REVIEWS_OF_GIG, keys::reviews_of_gig(gig_id)).descending();
        self.page_as(&listing, page).await
    }

    /// One page of the published reviews a user received as `reviewed_as`, newest first.
    pub async fn reviews_of_user(
        &self,
        user_id: Uuid,
        reviewed_as: ReviewedAs,
        page: &PageRequest,
    ) -> Result<(Vec<Review>, Option<Position>), ApiError> {
        let partition = match reviewed_as {
            ReviewedAs::Seller => keys::reviews_of_seller(user_id),
            ReviewedAs::Buyer => keys::reviews_of_buyer(user_id),
        };
        let listing = Listing::on(index::REVIEWS_OF_USER, partition).descending();
        self.page_as(&listing, page).await
    }

    /// Sealed reviews whose window closed at or before `now`, oldest first, at most `limit`.
    /// The index is eventually consistent: the publication's condition re-checks each one.
    pub async fn due_reviews(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Review>, ApiError> {
        self.due(
            index::REVIEW_DEADLINES,
            keys::due_reviews_partition(),
            now,
            limit,
        )
        .await
    }

    /// A user with their seller and buyer rating totals (one GetItem of the profile).
    pub async fn user_with_ratings(
        &self,
        user_id: Uuid,
    ) -> Result<Option<(User, UserRatings)>, ApiError> {
        self.get(&keys::user(user_id))
            .await?
            .map(|item| {
                let ratings = UserRatings {
                    seller: totals(&item, attr::SELLER_RATING_PREFIX),
                    buyer: totals(&item, attr::BUYER_RATING_PREFIX),
                };
                Ok((from_item(item)?, ratings))
            })
            .transpose()
    }

    /// A gig as stored with its rating totals (one GetItem of the gig).
    pub async fn stored_gig_with_ratings(
        &self,
        gig_id: Uuid,
    ) -> Result<Option<(StoredGig, RatingTotals)>, ApiError> {
        self.get(&keys::gig(gig_id))
            .await?
            .map(|item| {
                let ratings = totals(&item, attr::SELLER_RATING_PREFIX);
                Ok((decode_stored_gig(item)?, ratings))
            })
            .transpose()
    }
}

fn sealed_condition(
    put: aws_sdk_dynamodb::types::builders::PutBuilder,
) -> aws_sdk_dynamodb::types::builders::PutBuilder {
    put.condition_expression("#state = :sealed")
        .expression_attribute_names("#state", attr::REVIEW_STATE)
        .expression_attribute_values(":sealed", s(ReviewState::Sealed.as_str()))
}

/// The one item of a reply's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplyItem {
    Review,
}

// ---- the keys of the admin's reviews list (`keys.rs`, "Admin: lists") ----

/// The gsi4 keys of a review published at `published_at`.
pub(crate) fn review_month_keys(
    review_id: Uuid,
    published_at: OffsetDateTime,
) -> [(String, AttributeValue); 2] {
    let index = index::REVIEWS_BY_MONTH;
    [
        (
            index.pk().to_owned(),
            s(keys::reviews_by_month(&year_month(published_at))),
        ),
        (
            index.sk().to_owned(),
            s(keys::month_list_sort(
                published_at.unix_timestamp_nanos() / 1_000_000,
                review_id,
            )),
        ),
    ]
}

//! Reviews: after a completed order, each side reviews the other once, within a window.
//!
//! **Sealed until both have spoken.** A review starts `sealed`: only its author sees it. It is
//! `published` (visible to everyone, counted in the ratings) when the other side has reviewed
//! too (both in the same transaction as the second review) or when the window has closed (the
//! scheduler publishes what is left). So nobody can write their review after reading the other.
//!
//! A client's review rates the freelancer as a seller (and the gig); it may carry sub-ratings.
//! A freelancer's review rates the client as a buyer. Pure: no clock, no AWS.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::order::{Order, OrderStatus};
use super::rating::SubRatings;
use super::{Invalid, Violations, check_text};

/// How long after completion both sides may review.
pub const REVIEW_WINDOW: Duration = Duration::days(10);
pub const COMMENT_MAX_CHARS: usize = 2_000;
pub const REPLY_MAX_CHARS: usize = 2_000;

/// Which side of the order wrote a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The client, reviewing the freelancer (as a seller) and the gig.
    Client,
    /// The freelancer, reviewing the client (as a buyer).
    Freelancer,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Client, Side::Freelancer];

    pub fn other(self) -> Self {
        match self {
            Self::Client => Self::Freelancer,
            Self::Freelancer => Self::Client,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Freelancer => "freelancer",
        }
    }

    /// The side `user_id` is on in `order`, if any.
    pub fn of(user_id: Uuid, order: &Order) -> Option<Self> {
        if user_id == order.client_id {
            Some(Self::Client)
        } else if user_id == order.freelancer_id {
            Some(Self::Freelancer)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Written, seen by its author only.
    Sealed,
    /// Visible to everyone and counted in the ratings.
    Published,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sealed => "sealed",
            Self::Published => "published",
        }
    }
}

/// What `GET /orders/{id}` shows of each side's review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SideReviewState {
    #[default]
    None,
    Sealed,
    Published,
}

impl From<Option<ReviewState>> for SideReviewState {
    fn from(state: Option<ReviewState>) -> Self {
        match state {
            None => Self::None,
            Some(ReviewState::Sealed) => Self::Sealed,
            Some(ReviewState::Published) => Self::Published,
        }
    }
}

/// Each side's review state of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct OrderReviewStates {
    pub client: SideReviewState,
    pub freelancer: SideReviewState,
}

/// The reviewed party's answer to a published review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub comment: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One review of one side of a completed order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// UUIDv7: time-ordered.
    pub id: Uuid,
    pub order_id: Uuid,
    pub gig_id: Uuid,
    pub gig_title: String,
    pub author_id: Uuid,
    pub author_side: Side,
    /// The other party of the order: the one this review rates.
    pub reviewee_id: Uuid,
    pub rating: u8,
    pub comment: String,
    #[serde(flatten)]
    pub sub_ratings: SubRatings,
    pub state: ReviewState,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the window closes: a review still sealed then is published alone.
    #[serde(with = "time::serde::rfc3339")]
    pub window_closes_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub published_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
}

impl Review {
    /// This review, published at `now`.
    pub fn published(&self, now: OffsetDateTime) -> Self {
        Self {
            state: ReviewState::Published,
            published_at: Some(now),
            ..self.clone()
        }
    }
}

/// Why a review or a reply is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewRefusal {
    /// Not a party to the order (or no such review visible to the caller): as if it did not exist.
    NotVisible,
    /// A party, but not the one who may do this (replying to one's own review, a review of others).
    WrongParty,
    /// The order is not completed.
    OrderNotCompleted(OrderStatus),
    /// This side has reviewed this order already.
    AlreadyReviewed,
    /// The review window closed at this time.
    WindowClosed(OffsetDateTime),
    /// Sub-ratings rate a seller: a freelancer's review may not carry them.
    SubRatingsFromFreelancer,
    /// Replies are to published reviews only.
    NotPublished,
    AlreadyReplied,
}

/// Who and what the public no longer sees, among those a page of reviews names: blocked users
/// (their profile and gigs are hidden) and gigs moderation removed. A review naming any of them
/// leaves the public listings; it still counts in the rating totals, which are the record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Withheld {
    pub blocked_users: HashSet<Uuid>,
    pub removed_gigs: HashSet<Uuid>,
}

impl Withheld {
    pub fn hides(&self, review: &Review) -> bool {
        self.removed_gigs.contains(&review.gig_id)
            || self.blocked_users.contains(&review.author_id)
            || self.blocked_users.contains(&review.reviewee_id)
    }
}

/// `POST /reviews`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostReview {
    pub order_id: Uuid,
    pub rating: i64,
    pub comment: String,
    #[serde(default)]
    pub communication: Option<i64>,
    #[serde(default)]
    pub as_described: Option<i64>,
    #[serde(default)]
    pub would_recommend: Option<bool>,
}

/// A review request that passed validation (nothing about the order is known yet).
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewDraft {
    pub order_id: Uuid,
    pub rating: u8,
    pub comment: String,
    pub sub_ratings: SubRatings,
}

fn stars(violations: &mut Violations, field: &str, value: i64) -> u8 {
    violations.check(
        (1..=5).contains(&value),
        field,
        "out_of_range",
        "must be an integer from 1 to 5",
    );
    value.clamp(1, 5) as u8
}

impl PostReview {
    pub fn validate(self) -> Result<ReviewDraft, Invalid> {
        let mut violations = Violations::new();
        let rating = stars(&mut violations, "rating", self.rating);
        let comment = self.comment.trim().to_owned();
        check_text(&mut violations, "comment", &comment, 1, COMMENT_MAX_CHARS);
        let communication = self
            .communication
            .map(|value| stars(&mut violations, "communication", value));
        let as_described = self
            .as_described
            .map(|value| stars(&mut violations, "as_described", value));
        violations.into_result()?;
        Ok(ReviewDraft {
            order_id: self.order_id,
            rating,
            comment,
            sub_ratings: SubRatings {
                communication,
                as_described,
                would_recommend: self.would_recommend,
            },
        })
    }
}

/// `POST /reviews/{id}/reply`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostReply {
    pub comment: String,
}

impl PostReply {
    pub fn validate(self) -> Result<String, Invalid> {
        super::required_text("comment", &self.comment, 1, REPLY_MAX_CHARS)
    }
}

/// When the review window of a completed order closes (`None`: not completed).
pub fn window_closes_at(order: &Order) -> Option<OffsetDateTime> {
    match order.status {
        OrderStatus::Completed => order.closed_at.map(|closed| closed + REVIEW_WINDOW),
        _ => None,
    }
}

/// Decides whether `author_id` may review `order` at `now`, given the states of both sides'
/// reviews as read, and builds the review. Order of checks: party (404), order state and
/// duplicates (409), sub-ratings only from clients (400), window (409).
pub fn write_review(
    order: &Order,
    author_id: Uuid,
    draft: ReviewDraft,
    states: OrderReviewStates,
    now: OffsetDateTime,
) -> Result<Review, ReviewRefusal> {
    let side = Side::of(author_id, order).ok_or(ReviewRefusal::NotVisible)?;
    let closes = window_closes_at(order).ok_or(ReviewRefusal::OrderNotCompleted(order.status))?;
    let (mine, theirs) = match side {
        Side::Client => (states.client, states.freelancer),
        Side::Freelancer => (states.freelancer, states.client),
    };
    if mine != SideReviewState::None {
        return Err(ReviewRefusal::AlreadyReviewed);
    }
    if side == Side::Freelancer && !draft.sub_ratings.is_empty() {
        return Err(ReviewRefusal::SubRatingsFromFreelancer);
    }
    if now >= closes {
        return Err(ReviewRefusal::WindowClosed(closes));
    }
    // The other side's sealed review is published with this one.
    let state = if theirs == SideReviewState::Sealed {
        ReviewState::Published
    } else {
        ReviewState::Sealed
    };
    Ok(Review {
        id: Uuid::now_v7(),
        order_id: order.id,
        gig_id: order.gig_id,
        gig_title: order.gig_title.clone(),
        author_id,
        author_side: side,
        reviewee_id: match side {
            Side::Client => order.freelancer_id,
            Side::Freelancer => order.client_id,
        },
        rating: draft.rating,
        comment: draft.comment,
        sub_ratings: draft.sub_ratings,
        state,
        created_at: now,
        window_closes_at: closes,
        published_at: (state == ReviewState::Published).then_some(now),
        reply: None,
    })
}

/// Decides whether `replier_id` may answer `review` (as read) and gives the reply.
pub fn reply_to(
    review: &Review,
    replier_id: Uuid,
    comment: String,
    now: OffsetDateTime,
) -> Result<Reply, ReviewRefusal> {
    let visible = review.state == ReviewState::Published || review.author_id == replier_id;
    if !visible {
        return Err(ReviewRefusal::NotVisible);
    }
    if review.reviewee_id != replier_id {
        return Err(ReviewRefusal::WrongParty);
    }
    if review.state != ReviewState::Published {
        return Err(ReviewRefusal::NotPublished);
    }
    if review.reply.is_some() {
        return Err(ReviewRefusal::AlreadyReplied);
    }
    Ok(Reply {
        comment,
        created_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gig::{Gig, GigContent, GigStatus, Package, Revisions, Tier};
    use crate::domain::order::{ActionInput, Actor, OrderAction, Party};

    fn at(days: i64) -> OffsetDateTime {
        time::macros::datetime!(2026-11-01 12:00 UTC) + Duration::days(days)
    }

    fn completed() -> Order {
        let gig = Gig::new(
            Uuid::new_v4(),
            GigContent {
                title: "Logo".to_owned(),
                description: "d".to_owned(),
                category: "design".to_owned(),
                subcategory: None,
                tags: Vec::new(),
                packages: vec![Package {
                    tier: Tier::Basic,
                    name: "Basic".to_owned(),
                    description: "d".to_owned(),
                    price_cents: 5_000,
                    currency: "EUR".to_owned(),
                    delivery_days: 2,
                    revisions: Revisions::Limited(1),
                    features: Vec::new(),
                }],
            },
            GigStatus::Active,
            at(0),
        );
        let mut order = Order::place(
            Uuid::new_v4(),
            &gig,
            Tier::Basic,
            "r".into(),
            &Default::default(),
            at(0),
        )
        .unwrap()
        .transition(
            OrderAction::Pay,
            Actor::system(),
            ActionInput::default(),
            at(0),
        )
        .unwrap()
        .after;
        for (action, party) in [
            (OrderAction::Accept, Party::Freelancer),
            (OrderAction::Deliver, Party::Freelancer),
            (OrderAction::Complete, Party::Client),
        ] {
            let id = if party == Party::Client {
                order.client_id
            } else {
                order.freelancer_id
            };
            order = order
                .transition(
                    action,
                    Actor::user(id, party),
                    ActionInput::default(),
                    at(1),
                )
                .unwrap()
                .after;
        }
        order
    }

    fn draft(order: &Order, rating: u8) -> ReviewDraft {
        ReviewDraft {
            order_id: order.id,
            rating,
            comment: "Great".to_owned(),
            sub_ratings: SubRatings::default(),
        }
    }

    #[test]
    fn the_first_review_is_sealed_and_the_second_publishes() {
        let order = completed();
        let first = write_review(
            &order,
            order.client_id,
            draft(&order, 5),
            OrderReviewStates::default(),
            at(2),
        )
        .unwrap();
        assert_eq!(first.state, ReviewState::Sealed);
        assert_eq!(first.reviewee_id, order.freelancer_id);
        assert_eq!(first.window_closes_at, at(11));
        let states = OrderReviewStates {
            client: SideReviewState::Sealed,
            freelancer: SideReviewState::None,
        };
        let second =
            write_review(&order, order.freelancer_id, draft(&order, 4), states, at(3)).unwrap();
        assert_eq!(second.state, ReviewState::Published);
        assert_eq!(
            write_review(&order, order.client_id, draft(&order, 4), states, at(3)),
            Err(ReviewRefusal::AlreadyReviewed)
        );
    }

    #[test]
    fn strangers_late_reviews_and_freelancer_sub_ratings_are_refused() {
        let order = completed();
        let none = OrderReviewStates::default();
        assert_eq!(
            write_review(&order, Uuid::new_v4(), draft(&order, 5), none, at(2)),
            Err(ReviewRefusal::NotVisible)
        );
        assert_eq!(
            write_review(&order, order.client_id, draft(&order, 5), none, at(11)),
            Err(ReviewRefusal::WindowClosed(at(11)))
        );
        let mut with_subs = draft(&order, 5);
        with_subs.sub_ratings.communication = Some(5);
        assert_eq!(
            write_review(&order, order.freelancer_id, with_subs, none, at(2)),
            Err(ReviewRefusal::SubRatingsFromFreelancer)
        );
    }

    #[test]
    fn validation_reports_every_field() {
        let invalid = PostReview {
            order_id: Uuid::new_v4(),
            rating: 6,
            comment: "x".repeat(COMMENT_MAX_CHARS + 1),
            communication: Some(0),
            as_described: None,
            would_recommend: None,
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = invalid.0.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["rating", "comment", "communication"]);
    }
}

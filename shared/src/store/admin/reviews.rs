//! Admin writes and reads on reviews: the reviews list (every published review by publication
//! month, gsi4, `keys.rs`, "Admin: lists"), and hiding and unhiding a published review. One
//! transaction each: the review
//! (its `hidden` flag, and its listing keys removed or restored), every rating total it counted
//! in (the reviewee's seller or buyer totals, and the gig's for a client's review), the metrics
//! counters and the audit entry. The gig's listing entries take the new rating afterwards
//! (`reindex_gig`, as a publication does).

use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

use super::lists::{TimeRange, month_listing};
use crate::domain::audit::AuditEntry;
use crate::domain::metrics::MetricsDelta;
use crate::domain::review::{Review, ReviewState, Side};
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};
use crate::store::keys::{self, attr, index};
use crate::store::reviews::{move_totals, review_item, reviewee_prefix};
use crate::store::transaction::{TransactOutcome, Transaction};
use crate::store::{Store, from_item, s};

/// The items of a hide or unhide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HideItem {
    Review,
    RevieweeRatings,
    GigRatings,
    Metrics,
    Audit,
}

/// A review as admins list it: the review and whether it is hidden.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdminReview {
    pub review: Review,
    pub hidden: bool,
}

impl Store {
    /// One page of the reviews published in `range`, newest first; `hidden` keeps only hidden
    /// (`true`) or shown (`false`) ones.
    pub async fn admin_reviews(
        &self,
        range: TimeRange,
        hidden: Option<bool>,
        page: &PageRequest,
    ) -> Result<(Vec<AdminReview>, Option<Position>), ApiError> {
        let listing = |month: &str, range: (i128, i128)| {
            let listing = month_listing(
                index::REVIEWS_BY_MONTH,
                keys::reviews_by_month(month),
                range,
            );
            match hidden {
                Some(true) => listing.filter(attr::HIDDEN, "=", AttributeValue::Bool(true)),
                // Never hidden reviews have no `hidden` attribute.
                Some(false) => listing.filter_not(attr::HIDDEN, "=", AttributeValue::Bool(true)),
                None => listing,
            }
        };
        let (items, next) = self.month_page(range, listing, page).await?;
        let reviews = items
            .into_iter()
            .map(|item| {
                let hidden = matches!(item.get(attr::HIDDEN), Some(AttributeValue::Bool(true)));
                Ok(AdminReview {
                    review: from_item(item)?,
                    hidden,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok((reviews, next))
    }

    /// A review and whether an admin hid it (one GetItem).
    pub async fn review_with_visibility(
        &self,
        review_id: Uuid,
    ) -> Result<Option<(Review, bool)>, ApiError> {
        self.get(&keys::review(review_id))
            .await?
            .map(|item| {
                let hidden = matches!(item.get(attr::HIDDEN), Some(AttributeValue::Bool(true)));
                Ok((from_item(item)?, hidden))
            })
            .transpose()
    }

    /// Hides (`hide`) or unhides the published `review`, with `audit`, in one transaction.
    /// `Ok(false)`: it is no longer published and shown (resp. hidden) as read.
    pub async fn set_review_hidden(
        &self,
        review: &Review,
        hide: bool,
        audit: &AuditEntry,
    ) -> Result<bool, ApiError> {
        let sign = if hide { -1 } else { 1 };
        let listing_keys = [index::REVIEWS_OF_GIG, index::REVIEWS_OF_USER]
            .into_iter()
            .flat_map(|index| [index.pk(), index.sk()]);
        let stored = review_item(review)?;
        let mut transaction: Transaction<HideItem> = self.transaction();
        transaction.update(HideItem::Review, &keys::review(review.id), |update| {
            let update = update
                .expression_attribute_names("#hidden", attr::HIDDEN)
                .expression_attribute_names("#state", attr::REVIEW_STATE)
                .expression_attribute_values(":published", s(ReviewState::Published.as_str()))
                .expression_attribute_values(":true", AttributeValue::Bool(true));
            if hide {
                let removed: Vec<&str> = listing_keys.collect();
                update
                    .update_expression(format!("SET #hidden = :true REMOVE {}", removed.join(", ")))
                    .condition_expression(
                        "#state = :published AND (attribute_not_exists(#hidden) OR #hidden <> :true)",
                    )
            } else {
                // The listing keys the published review has (`review_item`), put back.
                let mut set = vec!["#hidden = :false".to_owned()];
                let mut update =
                    update.expression_attribute_values(":false", AttributeValue::Bool(false));
                for name in listing_keys {
                    if let Some(value) = stored.get(name) {
                        set.push(format!("{name} = :{name}"));
                        update = update.expression_attribute_values(format!(":{name}"), value.clone());
                    }
                }
                update
                    .update_expression(format!("SET {}", set.join(", ")))
                    .condition_expression("#state = :published AND #hidden = :true")
            }
        })?;
        transaction.update(
            HideItem::RevieweeRatings,
            &keys::user(review.reviewee_id),
            |update| {
                move_totals(update, reviewee_prefix(review), review, sign)
                    .condition_expression(format!("attribute_exists({})", attr::PK))
            },
        )?;
        if review.author_side == Side::Client {
            transaction.update(HideItem::GigRatings, &keys::gig(review.gig_id), |update| {
                move_totals(update, attr::SELLER_RATING_PREFIX, review, sign)
                    .condition_expression(format!("attribute_exists({})", attr::PK))
            })?;
        }
        let counted = if hide {
            MetricsDelta::review_hidden(review.rating)
        } else {
            MetricsDelta::review_shown(review.rating)
        };
        transaction
            .count(HideItem::Metrics, &counted, review.id)?
            .audit(HideItem::Audit, audit)?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(failed) if failed.includes(HideItem::Review) => {
                Ok(false)
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "review hide or unhide: unexpected condition failure of {failed:?}"
            ))),
        }
    }
}

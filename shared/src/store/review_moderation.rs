//! Hiding and unhiding a published review (admin oversight). One transaction each: the review
//! (its `hidden` flag, and its listing keys removed or restored), every rating total it counted
//! in (the reviewee's seller or buyer totals, and the gig's for a client's review), the metrics
//! counters and the audit entry. The gig's listing entries take the new rating afterwards
//! (`reindex_gig`, as a publication does).

use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

use super::keys::{self, attr, index};
use super::reviews::{move_totals, review_item, reviewee_prefix};
use super::transaction::{TransactOutcome, Transaction};
use super::{Store, from_item, s};
use crate::domain::audit::AuditEntry;
use crate::domain::metrics::MetricsDelta;
use crate::domain::review::{Review, ReviewState, Side};
use crate::error::ApiError;

/// The items of a hide or unhide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moderating {
    Review,
    RevieweeRatings,
    GigRatings,
    Metrics,
    Audit,
}

impl Store {
    /// A review and whether moderation hid it (one GetItem).
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
        let mut transaction: Transaction<Moderating> = self.transaction();
        transaction.update(Moderating::Review, &keys::review(review.id), |update| {
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
            Moderating::RevieweeRatings,
            &keys::user(review.reviewee_id),
            |update| {
                move_totals(update, reviewee_prefix(review), review, sign)
                    .condition_expression(format!("attribute_exists({})", attr::PK))
            },
        )?;
        if review.author_side == Side::Client {
            transaction.update(
                Moderating::GigRatings,
                &keys::gig(review.gig_id),
                |update| {
                    move_totals(update, attr::SELLER_RATING_PREFIX, review, sign)
                        .condition_expression(format!("attribute_exists({})", attr::PK))
                },
            )?;
        }
        let counted = if hide {
            MetricsDelta::review_hidden(review.rating)
        } else {
            MetricsDelta::review_shown(review.rating)
        };
        transaction
            .count(Moderating::Metrics, &counted, review.id)?
            .audit(Moderating::Audit, audit)?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(failed) if failed.includes(Moderating::Review) => {
                Ok(false)
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "review moderation: unexpected condition failure of {failed:?}"
            ))),
        }
    }
}

//! What tests need beyond the store's public API (feature `test-support`, never in a deployed
//! build): stand-ins for writes whose own code does not exist yet, raw reads for store-level
//! tests, and deadlines moved into the past for the scheduler's tests through watch.

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{self, Index, Key, attr, index};
use super::{Item, Store, n, s, sdk_error};
use crate::domain::order::{Deadline, Order, PAYMENT_EXPIRES_AFTER};
use crate::domain::review::Review;
use crate::error::ApiError;

/// The key layouts the bench's raw reads use (tools/bench: `floor`, and the `ladder`'s raw rungs),
/// which read the table without the store on purpose. Through here, a changed layout breaks
/// their build instead of leaving them reading empty partitions.
pub mod raw_keys {
    pub use crate::store::keys::attr::{PK, SK};
    pub use crate::store::keys::index::{INBOX, REVIEWS_OF_GIG};
    pub use crate::store::keys::{Index, gig, inbox, order_partition, reviews_of_gig};
}

impl Store {
    /// Gives a gig the rating counters the reviews transaction will maintain, then re-indexes
    /// it as that transaction will (`reindex_gig`).
    pub async fn set_gig_rating(
        &self,
        gig_id: Uuid,
        rating_sum: u64,
        rating_count: u64,
    ) -> Result<(), ApiError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(super::key_attributes(&keys::gig(gig_id))))
            .update_expression("SET #sum = :sum, #count = :count")
            .condition_expression(format!("attribute_exists({})", attr::PK))
            .expression_attribute_names("#sum", attr::RATING_SUM)
            .expression_attribute_names("#count", attr::RATING_COUNT)
            .expression_attribute_values(":sum", n(rating_sum))
            .expression_attribute_values(":count", n(rating_count))
            .send()
            .await
            .map_err(sdk_error("UpdateItem"))?;
        self.reindex_gig(gig_id).await
    }

    /// The raw item at (`pk`, `sk`) as JSON, for tests of the stored layout itself.
    pub async fn raw_item(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<serde_json::Value>, ApiError> {
        let key = Key {
            pk: pk.to_owned(),
            sk: sk.to_owned(),
        };
        self.get(&key)
            .await?
            .map(|item| {
                serde_dynamo::from_item(item)
                    .map_err(|error| ApiError::internal(anyhow::anyhow!(error)))
            })
            .transpose()
    }
}

impl Store {
    /// Moves an order's scheduler deadline (its due date while in progress, its auto-complete
    /// time once delivered, its expiry while unpaid, its refund's request while the payment
    /// processor has not accepted it) to `at`, with its deadline index entry: a test through
    /// the deployed functions cannot pass a clock to the scheduler, nor wait days.
    pub async fn move_order_deadline(
        &self,
        order_id: Uuid,
        at: OffsetDateTime,
    ) -> Result<(), ApiError> {
        self.move_deadline(
            &keys::order(order_id),
            index::ORDER_DEADLINES,
            |order: &mut Order| {
                match order.deadline() {
                    Some(Deadline::Late(_)) => order.due_at = Some(at),
                    Some(Deadline::AutoComplete(_)) => order.auto_complete_at = Some(at),
                    Some(Deadline::PaymentExpiry(_)) => {
                        order.created_at = at - PAYMENT_EXPIRES_AFTER;
                    }
                    Some(Deadline::Refund(_)) => {
                        order.refund.as_mut()?.requested_at = at;
                    }
                    None => return None,
                }
                Some(keys::deadline_sort(at.unix_timestamp(), order_id))
            },
        )
        .await
    }

    /// Moves a sealed review's window close to `closes_at`, with its deadline index entry.
    pub async fn move_review_window(
        &self,
        review_id: Uuid,
        closes_at: OffsetDateTime,
    ) -> Result<(), ApiError> {
        self.move_deadline(
            &keys::review(review_id),
            index::REVIEW_DEADLINES,
            |review: &mut Review| {
                review.window_closes_at = closes_at;
                Some(keys::deadline_sort(closes_at.unix_timestamp(), review_id))
            },
        )
        .await
    }

    /// Rewrites the item at `key` with `edit`'s change to its value and `edit`'s new sort key in
    /// the deadline index `deadlines`; the item must still be in that index (`edit` answers
    /// `None` when the value has no deadline to move).
    /// Moves a closed order's close, as its file expiry list holds it, to `at`: a test through
    /// the deployed scheduler can not wait out the files' retention period.
    pub async fn move_order_files_close(
        &self,
        order_id: Uuid,
        at: OffsetDateTime,
    ) -> Result<(), ApiError> {
        let deadlines = index::ORDER_DEADLINES;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(super::key_attributes(&keys::file_count(
                crate::domain::file::FileArea::Order,
                order_id,
            ))))
            .update_expression("SET #due_sk = :due_sk")
            .condition_expression("#due_pk = :due_pk")
            .expression_attribute_names("#due_pk", deadlines.pk())
            .expression_attribute_names("#due_sk", deadlines.sk())
            .expression_attribute_values(":due_pk", s(keys::due_file_expiry_partition()))
            .expression_attribute_values(
                ":due_sk",
                s(keys::deadline_sort(at.unix_timestamp(), order_id)),
            )
            .send()
            .await
            .map_err(sdk_error("UpdateItem"))?;
        Ok(())
    }

    async fn move_deadline<T: Serialize + DeserializeOwned>(
        &self,
        key: &Key,
        deadlines: Index,
        edit: impl FnOnce(&mut T) -> Option<String>,
    ) -> Result<(), ApiError> {
        let refused = || ApiError::internal(anyhow::anyhow!("{key:?}: no deadline to move"));
        let mut item = self.get(key).await?.ok_or_else(refused)?;
        let mut value: T = super::from_item(item.clone())?;
        let sort = edit(&mut value).ok_or_else(refused)?;
        let fields: Item = serde_dynamo::to_item(&value)
            .map_err(|error| ApiError::internal(anyhow::anyhow!(error)))?;
        item.extend(fields);
        item.insert(deadlines.sk().into(), s(sort));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_exists(#due)")
            .expression_attribute_names("#due", deadlines.pk())
            .send()
            .await
            .map_err(sdk_error("PutItem"))?;
        Ok(())
    }
}

impl Store {
    /// A dispute as its own writes leave it (on the scheduler's list when it is lost with
    /// reversals not yet answered). Stripe's test mode disputes a charge as it is paid, before
    /// any payout, so a lost dispute with a paid-out share is written here for the tests
    /// through watch.
    pub async fn put_dispute(
        &self,
        record: &crate::domain::payout::DisputeRecord,
    ) -> Result<(), ApiError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(super::disputes::dispute_item(record)?))
            .send()
            .await
            .map_err(sdk_error("PutItem"))?;
        Ok(())
    }
}

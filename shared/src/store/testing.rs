//! What tests need beyond the store's public API (feature `test-support`, never in a deployed
//! build): stand-ins for writes whose own code does not exist yet, and raw reads for
//! store-level tests.

use uuid::Uuid;

use super::keys::{self, Key, attr};
use super::{Store, n, sdk_error};
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

//! The reconciliation's watermark (`domain::reconciliation`): one item, written only with the
//! version it was read at, so of two scheduler runs that find a pass due only one claims it.
//!
//! pk RECONCILIATION#stripe-events    sk WATERMARK    the watermark's fields, version

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use serde::Deserialize;

use super::keys::{self, attr, entity};
use super::{ConditionalWriteError, Store, condition_failed, from_item, n, sdk_error, to_item};
use crate::domain::reconciliation::Watermark;
use crate::error::ApiError;

/// The watermark as read, with the version a write must expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWatermark {
    pub watermark: Watermark,
    pub version: u64,
}

#[derive(Deserialize)]
struct Versioned {
    version: u64,
}

impl ConditionalWriteError for PutItemError {
    fn is_condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl Store {
    /// The watermark of the Stripe events' reconciliation; `None` before the first pass.
    pub async fn reconciliation_watermark(&self) -> Result<Option<StoredWatermark>, ApiError> {
        let Some(item) = self.get(&keys::reconciliation_watermark()).await? else {
            return Ok(None);
        };
        let Versioned { version } = from_item(item.clone())?;
        Ok(Some(StoredWatermark {
            watermark: from_item(item)?,
            version,
        }))
    }

    /// Writes `watermark` if the stored one is still at `read_version` (`None`: there is none
    /// yet), and answers the version written; `None` when another run wrote it since: that run
    /// holds the pass.
    pub async fn save_reconciliation_watermark(
        &self,
        watermark: &Watermark,
        read_version: Option<u64>,
    ) -> Result<Option<u64>, ApiError> {
        let version = read_version.map_or(1, |version| version + 1);
        let mut item = to_item(
            &keys::reconciliation_watermark(),
            entity::RECONCILIATION_WATERMARK,
            watermark,
        )?;
        item.insert(attr::VERSION.to_owned(), n(version));
        let request = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item));
        let request = match read_version {
            None => request
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", attr::PK),
            Some(version) => request
                .condition_expression("#version = :read")
                .expression_attribute_names("#version", attr::VERSION)
                .expression_attribute_values(":read", n(version)),
        };
        match request.send().await {
            Ok(_) => Ok(Some(version)),
            Err(error) if condition_failed(&error) => Ok(None),
            Err(error) => Err(sdk_error("PutItem")(error)),
        }
    }
}

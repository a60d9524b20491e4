//! Test support (feature `test-support`, never in a deployed build): every item of the table,
//! for tests that recompute figures from what is stored (the metrics workload test). A Scan
//! reads the whole table, so nothing on a request path may do this.

use super::{Store, sdk_error};
use crate::error::ApiError;

impl Store {
    /// Every item of the table as JSON (a paged, strongly consistent Scan).
    pub async fn scan_all_items(&self) -> Result<Vec<serde_json::Value>, ApiError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error("Scan"))?;
            for item in output.items.unwrap_or_default() {
                items.push(
                    serde_dynamo::from_item(item)
                        .map_err(|error| ApiError::internal(anyhow::anyhow!(error)))?,
                );
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }
}

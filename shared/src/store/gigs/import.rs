//! Bulk loading of listed gigs (the benchmark, data migrations).

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use super::internal;
use super::items::{gig_item, listing_entries};
use crate::domain::gig::Gig;
use crate::error::ApiError;
use crate::store::{Store, sdk_error};

impl Store {
    /// Bulk import into a fresh table (the benchmark, data migrations): each gig as listed with
    /// its entries, through BatchWriteItem. NOT transactional and no owner check, so never on a
    /// request path; DynamoDB Local runs transactions one at a time, which makes seeding
    /// thousands of gigs through `create_gig` take most of an hour.
    pub async fn import_listed_gigs(&self, gigs: &[Gig]) -> Result<(), ApiError> {
        let mut requests = Vec::new();
        for gig in gigs {
            requests.push(gig_item(gig, true)?);
            requests.extend(listing_entries(gig)?.into_iter().map(|(_, item)| item));
        }
        for chunk in requests.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map_err(ApiError::internal)?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, ApiError>>()?;
            for attempt in 0..10u64 {
                if pending.is_empty() {
                    break;
                }
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .set_return_consumed_capacity(self.return_capacity())
                    .send()
                    .await
                    .map_err(sdk_error("BatchWriteItem"))?;
                self.record_capacity(output.consumed_capacity());
                pending = output
                    .unprocessed_items
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * (attempt + 1))).await;
                }
            }
            if !pending.is_empty() {
                return Err(internal("import: items stayed unprocessed"));
            }
        }
        Ok(())
    }
}

//! Gigs.

use aws_sdk_dynamodb::types::ReturnValue;
use uuid::Uuid;

use super::keys::{self, entity};
use super::{Store, from_item, sdk_error, to_item};
use crate::domain::gig::Gig;
use crate::error::ApiError;

impl Store {
    /// Stores a new gig.
    pub async fn create_gig(&self, gig: &Gig) -> Result<(), ApiError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(&keys::gig(gig.id), entity::GIG, gig)?))
            .condition_expression("attribute_not_exists(pk)")
            .return_values(ReturnValue::None)
            .send()
            .await
            .map_err(sdk_error("PutItem"))?;
        Ok(())
    }

    pub async fn get_gig(&self, gig_id: Uuid) -> Result<Option<Gig>, ApiError> {
        self.get(&keys::gig(gig_id))
            .await?
            .map(from_item)
            .transpose()
    }
}

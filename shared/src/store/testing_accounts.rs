//! Test support for the accounts hardening (feature `test-support`, never in a deployed build):
//! ageing stored records past their expiry, which no test can wait for.

use uuid::Uuid;

use super::keys::{self, attr};
use super::{Store, key_attributes, n, sdk_error};
use crate::error::ApiError;

impl Store {
    /// Moves a client's idempotency record's expiry to `expires_at` (e.g. the past), as if 24 h
    /// had gone by and DynamoDB's lazy TTL had not deleted it yet.
    pub async fn age_idempotency_record(
        &self,
        client_id: Uuid,
        idempotency_key: &str,
        expires_at: i64,
    ) -> Result<(), ApiError> {
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::order_idempotency(
                client_id,
                idempotency_key,
            ))))
            .update_expression("SET #expires_at = :expires_at")
            .condition_expression(format!("attribute_exists({})", attr::PK))
            .expression_attribute_names("#expires_at", attr::EXPIRES_AT)
            .expression_attribute_values(":expires_at", n(expires_at))
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error("UpdateItem"))
    }
}

//! The list keys of items stored before the admin lists existed: an operator's one-off
//! migration (`gigctl backfill-admin-list-keys`).

use crate::error::ApiResult;
use crate::store::Store;
use crate::store::admin::lists::Backfilled;

/// Gives the items stored before the lists existed their list keys (`gigctl
/// backfill-admin-list-keys`; an operator's one-off Scan, never on a request path).
pub async fn backfill_list_keys(store: &Store) -> ApiResult<Backfilled> {
    store.backfill_admin_list_keys().await
}

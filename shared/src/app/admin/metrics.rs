//! `GET /admin/metrics`: the marketplace's figures, read from the counters every write keeps in
//! its own transaction (`store::metrics`: one BatchGetItem of the shard items, never a Scan).

use super::require_admin;
use crate::domain::metrics::Metrics;
use crate::domain::user::Caller;
use crate::error::ApiResult;
use crate::store::Store;

pub async fn metrics(store: &Store, caller: Caller) -> ApiResult<Metrics> {
    require_admin(&caller)?;
    store.metrics().await
}

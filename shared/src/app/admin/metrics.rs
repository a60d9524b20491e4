//! `GET /admin/metrics`: the marketplace's figures, read from the counters every write keeps in
//! its own transaction, and the money figures, read from the ledger's platform balances
//! (`store::metrics`: BatchGetItems of known keys, never a Scan).

use super::require_admin;
use crate::domain::metrics::Metrics;
use crate::domain::user::Caller;
use crate::error::ApiResult;
use crate::store::Store;

pub async fn metrics(store: &Store, caller: Caller) -> ApiResult<Metrics> {
    require_admin(&caller)?;
    store.metrics().await
}

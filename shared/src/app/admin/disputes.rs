//! `GET /admin/disputes`: the disputes still open, oldest first (`app::disputes` applies them).

use super::require_admin;
use crate::domain::payout::DisputeRecord;
use crate::domain::user::Caller;
use crate::error::ApiResult;
use crate::pagination::{CursorCodec, Page, PageParams};
use crate::store::Store;

pub async fn open_disputes(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    paging: &PageParams,
) -> ApiResult<Page<DisputeRecord>> {
    require_admin(&caller)?;
    let page = cursors.page_request(paging)?;
    let (records, next) = store.open_disputes(&page).await?;
    Ok(cursors.page(records, next))
}

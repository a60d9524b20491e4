//! File use cases: declare a file and get its upload (the presigned POST), list an order's or a
//! conversation's files, download one (a redirect to a short presigned GET), and use files in a
//! delivery or a message, which is when an upload is checked.
//!
//! Who may touch an order's files is who may see the order (its client, its freelancer, admins
//! read-only; anyone else gets 404, as for an unknown order); a conversation's, its two
//! participants. S3 checks the upload's policy on AWS, but the local stack's S3 (moto) does not,
//! so the check at use ([`check_files`]: HeadObject, size and type as declared) is what keeps a
//! wrong upload out everywhere: a mismatch is deleted and refused with 409 `file-mismatch`.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::visible_order;
use crate::domain::file::{
    CheckedFile, FileArea, FileLimits, FileStatus, NewFile, StoredFile, check_upload,
};
use crate::domain::order::Party;
use crate::domain::user::Caller;
use crate::error::{ApiError, ApiResult};
use crate::files::{FileStorage, PresignedPost};
use crate::store::Store;
use crate::store::files::{Declaring, object_key};

/// What declaring a file answers: the file as stored (pending until used) and how to upload it.
#[derive(Debug, Serialize)]
pub struct FileUpload {
    pub file: StoredFile,
    pub upload: PresignedPost,
}

/// The files of an order or a conversation, oldest first.
#[derive(Debug, Serialize)]
pub struct FileList {
    pub items: Vec<StoredFile>,
}

/// What a caller asks of an area's files: to read them (list, download) or to change them
/// (declare, delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Change,
}

/// Decides who may touch an area's files. An order's: who may see the order reads them (its
/// client, its freelancer, admins); only its client and freelancer change them, and only while
/// it is open. A conversation's: its two participants. Anyone else gets 404, as for an unknown
/// order or conversation.
async fn require_access(
    store: &Store,
    caller: Caller,
    area: FileArea,
    owner_id: Uuid,
    access: Access,
) -> ApiResult<()> {
    match area {
        FileArea::Order => {
            let (order, party) = visible_order(store, caller, owner_id).await?;
            if access == Access::Read {
                return Ok(());
            }
            if !matches!(party, Party::Client | Party::Freelancer) {
                return Err(ApiError::Forbidden(
                    "only the order's client and freelancer change its files",
                ));
            }
            if order.status.is_terminal() {
                return Err(ApiError::conflict(
                    "order-closed",
                    "the order is closed: its files can be changed only while it is open",
                ));
            }
        }
        FileArea::Conversation => {
            store
                .inbox_entry(owner_id, caller.id)
                .await?
                .ok_or(ApiError::NotFound("conversation"))?;
        }
    }
    Ok(())
}

/// `POST /orders/{id}/files` (its freelancer's deliveries, its client's requirement files, while
/// the order is open) and `POST /conversations/{id}/files` (its participants).
#[allow(clippy::too_many_arguments)]
pub async fn declare_file(
    store: &Store,
    storage: &FileStorage,
    limits: FileLimits,
    caller: Caller,
    area: FileArea,
    owner_id: Uuid,
    request: &NewFile,
    now: OffsetDateTime,
) -> ApiResult<FileUpload> {
    require_access(store, caller, area, owner_id, Access::Change).await?;
    let declared = request.validate(limits)?;
    let file = StoredFile::declare(area, owner_id, caller.id, declared, now);
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller.id);
    match store.declare_file(&file, limits.max_count).await? {
        Declaring::Declared => {}
        Declaring::LimitReached => {
            return Err(ApiError::conflict(
                "too-many-files",
                format!("at most {} files may be added here", limits.max_count),
            ));
        }
    }
    let upload = storage
        .presign_upload(&object_key(&file), &file.content_type, file.size_bytes, now)
        .await?;
    Ok(FileUpload { file, upload })
}

/// `GET /orders/{id}/files` (the order's parties and admins) and `GET /conversations/{id}/files`
/// (its participants).
pub async fn list_files(
    store: &Store,
    caller: Caller,
    area: FileArea,
    owner_id: Uuid,
) -> ApiResult<FileList> {
    require_access(store, caller, area, owner_id, Access::Read).await?;
    let items = store.files(area, owner_id).await?;
    Ok(FileList { items })
}

/// `GET /orders/{id}/files/{file_id}` and `GET /conversations/{id}/files/{file_id}`: the URL to
/// redirect to (a presigned GET), for whoever may read the area's files. A HeadObject first:
/// nothing uploaded is a clear 409 instead of S3's 404 after the redirect, and a used file must
/// still be the object it was checked as (its ETag): an upload window still open after the
/// delivery must not replace what was delivered.
pub async fn download_file(
    store: &Store,
    storage: &FileStorage,
    caller: Caller,
    area: FileArea,
    owner_id: Uuid,
    file_id: Uuid,
    now: OffsetDateTime,
) -> ApiResult<String> {
    require_access(store, caller, area, owner_id, Access::Read).await?;
    let file = store
        .get_file(area, owner_id, file_id)
        .await?
        .ok_or(ApiError::NotFound("file"))?;
    if file.status == FileStatus::Expired {
        return Err(ApiError::Gone {
            code: "file-expired",
            detail: "the order closed long enough ago that its files were deleted".to_owned(),
        });
    }
    let key = object_key(&file);
    let object = storage.head(&key).await?.ok_or_else(not_uploaded)?;
    if file.status == FileStatus::Ready && file.etag.is_some() && object.etag != file.etag {
        tracing::warn!(file_id = %file.id, "a used file's object was replaced");
        return Err(file_changed());
    }
    storage.presign_download(&key, &file.filename, now).await
}

/// `DELETE /orders/{id}/files/{file_id}` and `DELETE /conversations/{id}/files/{file_id}`: its
/// uploader removes a file no delivery or message uses (its item, its place in the count, its
/// object). A used file is part of the record: 409 `file-used`. Someone else's file is unknown
/// (404), as is a stranger's order or conversation.
pub async fn delete_file(
    store: &Store,
    storage: &FileStorage,
    caller: Caller,
    area: FileArea,
    owner_id: Uuid,
    file_id: Uuid,
) -> ApiResult<()> {
    require_access(store, caller, area, owner_id, Access::Change).await?;
    let file = store
        .get_file(area, owner_id, file_id)
        .await?
        .filter(|file| file.uploader_id == caller.id)
        .ok_or(ApiError::NotFound("file"))?;
    let used = || {
        ApiError::conflict(
            "file-used",
            "a delivery or message uses this file: it is part of the record and stays",
        )
    };
    if file.status == FileStatus::Ready {
        return Err(used());
    }
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    if !store.acting_as(caller.id).forget_file(&file).await? {
        // Used, or deleted, by a racing request since it was read.
        return match store.get_file(area, owner_id, file_id).await? {
            Some(_) => Err(used()),
            None => Err(ApiError::NotFound("file")),
        };
    }
    // The item goes first: an object left behind by a failure here is unreachable, never a
    // used file's bytes gone.
    storage.delete(&object_key(&file)).await
}

/// The scheduler's step: deletes the objects of the files of orders closed at least
/// `retention` before `now` (at most `limit` orders a run; the rest wait for the next) and marks
/// the files expired, their items kept as the order's record. An order leaves the list once all
/// its files are expired, so a run that stops half-way is finished by the next. Answers how many
/// files expired.
pub async fn expire_order_files(
    store: &Store,
    storage: &FileStorage,
    retention: time::Duration,
    now: OffsetDateTime,
    limit: usize,
) -> ApiResult<usize> {
    let mut expired = 0;
    for order_id in store
        .orders_with_expiring_files(now - retention, limit)
        .await?
    {
        for file in store.files(FileArea::Order, order_id).await? {
            if file.status == FileStatus::Expired {
                continue;
            }
            // The object first: a file marked expired never still has its bytes.
            storage.delete(&object_key(&file)).await?;
            store.mark_file_expired(&file, now).await?;
            expired += 1;
        }
        store.files_expired(order_id).await?;
    }
    Ok(expired)
}

fn not_uploaded() -> ApiError {
    ApiError::conflict(
        "file-not-uploaded",
        "the file was declared but nothing was uploaded (or the upload has not finished)",
    )
}

fn file_changed() -> ApiError {
    ApiError::conflict(
        "file-changed",
        "the file's content changed after it was used; it can not be served",
    )
}

/// The files `file_ids` of `owner_id`, each uploaded by `caller` and found in S3 as declared
/// (or, once checked, still the object it was checked as). A file of another order or
/// conversation, or someone else's, is unknown here (422 `unknown-file`); nothing uploaded is
/// 409 `file-not-uploaded`; a wrong size or type is deleted and forgotten (its place in the
/// count given back) and refused with 409 `file-mismatch`. Answers each file with the ETag to
/// record when the use is written, in the same transaction as the delivery or message.
pub async fn check_files(
    store: &Store,
    storage: &FileStorage,
    caller: Caller,
    area: FileArea,
    owner_id: Uuid,
    file_ids: &[Uuid],
) -> ApiResult<Vec<CheckedFile>> {
    let mut checked = Vec::with_capacity(file_ids.len());
    for file_id in file_ids {
        let file = store
            .get_file(area, owner_id, *file_id)
            .await?
            .filter(|file| file.uploader_id == caller.id)
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "unknown-file",
                    format!(
                        "{file_id} is not a file you added to this {}",
                        area.as_str()
                    ),
                )
            })?;
        let key = object_key(&file);
        let object = storage.head(&key).await?.ok_or_else(not_uploaded)?;
        if file.status == FileStatus::Ready {
            if file.etag.is_some() && object.etag != file.etag {
                return Err(file_changed());
            }
        } else if let Err(mismatch) = check_upload(&file, &object) {
            storage.delete(&key).await?;
            // Already forgotten by a concurrent use of the same bad upload: nothing left to do.
            store.forget_file(&file).await?;
            return Err(ApiError::conflict(
                "file-mismatch",
                format!(
                    "{} ({}): {}; it was deleted, upload it again",
                    file.filename,
                    file.id,
                    mismatch.detail()
                ),
            ));
        }
        checked.push(CheckedFile {
            file,
            etag: object.etag,
        });
    }
    Ok(checked)
}

/// `POST /conversations/{id}/messages` with its files: participants only; the files checked
/// before the message is written, and recorded as used in its transaction.
pub async fn send_message(
    store: &Store,
    storage: &FileStorage,
    caller: Caller,
    conversation_id: Uuid,
    request: &crate::domain::message::SendMessage,
    quotas: &crate::domain::quota::QuotaLimits,
    now: OffsetDateTime,
) -> ApiResult<super::messages::Sent> {
    let files = request.files()?;
    let checked = if files.is_empty() {
        Vec::new()
    } else {
        require_access(
            store,
            caller,
            FileArea::Conversation,
            conversation_id,
            Access::Read,
        )
        .await?;
        check_files(
            store,
            storage,
            caller,
            FileArea::Conversation,
            conversation_id,
            &files,
        )
        .await?
    };
    super::messages::send(
        store,
        caller,
        conversation_id,
        request,
        &checked,
        quotas,
        now,
    )
    .await
}

/// `POST /orders/{id}/deliver` with its files: the delivery is decided first (a refused
/// transition touches no file), then its files are checked, then the delivery is written with
/// its files recorded as used in the same transaction.
#[cfg(feature = "stripe-client")]
pub async fn deliver(
    store: &Store,
    storage: &FileStorage,
    stripe: &crate::stripe::client::StripeClient,
    caller: Caller,
    order_id: Uuid,
    input: crate::domain::order::ActionInput,
    now: OffsetDateTime,
) -> ApiResult<crate::domain::order::Order> {
    use crate::domain::order::{Actor, OrderAction};

    if input.files.is_empty() {
        return super::orders::act(
            store,
            stripe,
            caller,
            order_id,
            OrderAction::Deliver,
            input,
            now,
        )
        .await;
    }
    let (order, party) = visible_order(store, caller, order_id).await?;
    let files = input.files.clone();
    let transition = order.transition(
        OrderAction::Deliver,
        Actor::user(caller.id, party),
        input,
        now,
    )?;
    let checked = check_files(store, storage, caller, FileArea::Order, order_id, &files).await?;
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller);
    super::orders::written_with_files(store, stripe, transition, &checked).await
}

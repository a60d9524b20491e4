//! Files' metadata: one item per declared file in its order's or conversation's partition
//! (`FILE#<file_id>`), and a count item (`FILES`) that holds the number declared under the
//! area's limit. The bytes are in S3 (`crate::files`); the object key comes from `keys` too.

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{self, attr, entity, index};
use super::paged::{Listing, SortRange};
use super::transaction::{TransactOutcome, Transaction};
use super::{Store, attribute, from_item, key_attributes, n, rfc3339, s, to_item};
use crate::domain::file::{CheckedFile, FileArea, FileStatus, StoredFile};
use crate::error::ApiError;

/// What declaring a file led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declaring {
    Declared,
    /// The order or conversation holds as many files as it may.
    LimitReached,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writing {
    Count,
    File,
}

/// The most files one listing reads: above every configured per-area limit.
const LIST_MAX: usize = 1_000;

impl Store {
    /// Writes a new file's item with the count of its area, refused when the count is at
    /// `max_count`: one transaction, so concurrent declarations never pass the limit.
    pub async fn declare_file(
        &self,
        file: &StoredFile,
        max_count: u32,
    ) -> Result<Declaring, ApiError> {
        let item = to_item(
            &keys::file(file.area, file.owner_id, file.id),
            entity::FILE,
            file,
        )?;
        let mut transaction = self.transaction();
        transaction
            .update(
                Writing::Count,
                &keys::file_count(file.area, file.owner_id),
                |update| {
                    update
                        .update_expression("ADD #count :one SET #entity = :entity")
                        .condition_expression("attribute_not_exists(#count) OR #count < :max")
                        .expression_attribute_names("#count", attr::FILE_COUNT)
                        .expression_attribute_names("#entity", attr::ENTITY)
                        .expression_attribute_values(":one", n(1))
                        .expression_attribute_values(":max", n(max_count))
                        .expression_attribute_values(":entity", s(entity::FILE_COUNT))
                },
            )?
            .put_new(Writing::File, item)?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(Declaring::Declared),
            TransactOutcome::ConditionFailed(failed) if failed.includes(Writing::Count) => {
                Ok(Declaring::LimitReached)
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "declaring a file failed on {failed:?}"
            ))),
        }
    }

    pub async fn get_file(
        &self,
        area: FileArea,
        owner_id: Uuid,
        file_id: Uuid,
    ) -> Result<Option<StoredFile>, ApiError> {
        self.get_as(&keys::file(area, owner_id, file_id)).await
    }

    /// Every file of an order or conversation, oldest first (ids are UUIDv7): one Query.
    pub async fn files(&self, area: FileArea, owner_id: Uuid) -> Result<Vec<StoredFile>, ApiError> {
        let listing = Listing::table(keys::files_of(area, owner_id))
            .sort_range(SortRange::Prefix(keys::FILE_PREFIX.to_owned()));
        self.read_all(&listing, LIST_MAX)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// The orders that closed at or before `closed_before` and whose files have not expired yet,
    /// oldest first: one Query of the sparse deadline index.
    pub async fn orders_with_expiring_files(
        &self,
        closed_before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Uuid>, ApiError> {
        let listing = Listing::on(index::ORDER_DEADLINES, keys::due_file_expiry_partition())
            .sort_range(SortRange::AtMost(keys::deadline_upper_bound(
                closed_before.unix_timestamp(),
            )));
        self.read_all(&listing, limit)
            .await?
            .iter()
            .map(|item| {
                item.get(index::ORDER_DEADLINES.sk())
                    .and_then(|sort| sort.as_s().ok())
                    .and_then(|sort| sort.split_once('#'))
                    .and_then(|(_, order_id)| order_id.parse().ok())
                    .ok_or_else(|| {
                        ApiError::internal(anyhow::anyhow!("a file expiry entry without an order"))
                    })
            })
            .collect()
    }

    /// Records that a file's object was deleted at `now`: the item stays, as the record.
    pub async fn mark_file_expired(
        &self,
        file: &StoredFile,
        now: OffsetDateTime,
    ) -> Result<(), ApiError> {
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::file(
                file.area,
                file.owner_id,
                file.id,
            ))))
            .update_expression("SET #status = :expired, #expired_at = :now")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#expired_at", "expired_at")
            .expression_attribute_values(":expired", attribute(&FileStatus::Expired)?)
            .expression_attribute_values(":now", rfc3339(now))
            .send()
            .await
            .map_err(super::missing_if_condition_failed("file"))?;
        Ok(())
    }

    /// Takes an order off the file expiry list once all its files expired.
    pub async fn files_expired(&self, order_id: Uuid) -> Result<(), ApiError> {
        let deadline = index::ORDER_DEADLINES;
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::file_count(
                FileArea::Order,
                order_id,
            ))))
            .update_expression("REMOVE #due_pk, #due_sk")
            .expression_attribute_names("#due_pk", deadline.pk())
            .expression_attribute_names("#due_sk", deadline.sk())
            .send()
            .await
            .map_err(super::sdk_error("UpdateItem"))?;
        Ok(())
    }

    /// Forgets a file not yet used: its item is deleted and its place in the count given back.
    /// A refused upload is forgotten so it does not use up the limit; its uploader deletes one
    /// they no longer need. Conditioned on the file being still pending, so a file a delivery or
    /// message is using at the same moment is never forgotten: `false` when it was used, or
    /// already forgotten, meanwhile. The caller deletes the object.
    pub async fn forget_file(&self, file: &StoredFile) -> Result<bool, ApiError> {
        let pending = attribute(&FileStatus::Pending)?;
        let mut transaction = self.transaction();
        transaction
            .delete_if(
                Writing::File,
                &keys::file(file.area, file.owner_id, file.id),
                |delete| {
                    delete
                        .condition_expression("#status = :pending")
                        .expression_attribute_names("#status", attr::STATUS)
                        .expression_attribute_values(":pending", pending)
                },
            )?
            .update(
                Writing::Count,
                &keys::file_count(file.area, file.owner_id),
                |update| {
                    update
                        .update_expression("ADD #count :minus_one")
                        .condition_expression("#count > :zero")
                        .expression_attribute_names("#count", attr::FILE_COUNT)
                        .expression_attribute_values(":minus_one", n(-1))
                        .expression_attribute_values(":zero", n(0))
                },
            )?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(_) => Ok(false),
        }
    }
}

impl<N: Copy + std::fmt::Debug> Transaction<N> {
    /// Puts a closed order on the scheduler's file expiry list (gsi3 of its file count item,
    /// sorted by `closed_at`), in the transaction that closes it. The item is made if the order
    /// has no file yet: an Update that demanded it would fail the close.
    pub(crate) fn files_closed(
        &mut self,
        name: N,
        order_id: Uuid,
        closed_at: OffsetDateTime,
    ) -> Result<&mut Self, ApiError> {
        let deadline = index::ORDER_DEADLINES;
        self.update(
            name,
            &keys::file_count(FileArea::Order, order_id),
            |update| {
                update
                    .update_expression(
                        "SET #entity = :entity, #due_pk = :due_pk, #due_sk = :due_sk",
                    )
                    .expression_attribute_names("#entity", attr::ENTITY)
                    .expression_attribute_names("#due_pk", deadline.pk())
                    .expression_attribute_names("#due_sk", deadline.sk())
                    .expression_attribute_values(":entity", s(entity::FILE_COUNT))
                    .expression_attribute_values(":due_pk", s(keys::due_file_expiry_partition()))
                    .expression_attribute_values(
                        ":due_sk",
                        s(keys::deadline_sort(closed_at.unix_timestamp(), order_id)),
                    )
            },
        )
    }

    /// Records each checked file as used at `now` (ready, with the ETag it was checked with when
    /// this is its first use) in the transaction of the delivery or message that uses it, named
    /// `name(file id)`. Each is conditioned on the file being still as it was read: a file deleted
    /// meanwhile, or first used by a racing action (whose check recorded the ETag), fails the
    /// whole action.
    pub(crate) fn use_files(
        &mut self,
        name: impl Fn(Uuid) -> N,
        files: &[CheckedFile],
        now: OffsetDateTime,
    ) -> Result<&mut Self, ApiError> {
        for CheckedFile { file, etag } in files {
            let mut expression =
                "SET #status = :ready, #used_at = if_not_exists(#used_at, :now)".to_owned();
            if etag.is_some() {
                expression.push_str(", #etag = if_not_exists(#etag, :etag)");
            }
            let (ready, was) = (attribute(&FileStatus::Ready)?, attribute(&file.status)?);
            self.update(
                name(file.id),
                &keys::file(file.area, file.owner_id, file.id),
                |update| {
                    let update = update
                        .update_expression(expression)
                        .condition_expression("attribute_exists(#pk) AND #status = :was")
                        .expression_attribute_names("#pk", attr::PK)
                        .expression_attribute_names("#status", attr::STATUS)
                        .expression_attribute_names("#used_at", attr::USED_AT)
                        .expression_attribute_values(":ready", ready)
                        .expression_attribute_values(":was", was)
                        .expression_attribute_values(":now", rfc3339(now));
                    match etag {
                        Some(etag) => update
                            .expression_attribute_names("#etag", attr::ETAG)
                            .expression_attribute_values(":etag", AttributeValue::S(etag.clone())),
                        None => update,
                    }
                },
            )?;
        }
        Ok(self)
    }
}

/// A delivery or message failed on one of its files' conditions ([`Transaction::use_files`]):
/// the file was deleted, or first used by a racing action, since it was checked (409). Nothing
/// of the action was written.
pub(crate) fn file_unavailable(file: &StoredFile) -> ApiError {
    ApiError::conflict(
        "file-unavailable",
        format!(
            "{} ({}) was deleted or used by another action at the same time; nothing was \
             changed, try again",
            file.filename, file.id
        ),
    )
}

/// The S3 object key of a stored file (the one layout, in `keys`).
pub fn object_key(file: &StoredFile) -> String {
    keys::file_object(file.area, file.owner_id, file.id)
}

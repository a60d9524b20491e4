//! Conversations, messages, inbox entries and the unread counters, plus the notifier's
//! per-conversation mail throttle.
//!
//! A conversation's partition `CONV#<id>` holds one inbox entry per participant
//! (`MEMBER#<user_id>`, in the owner's inbox on gsi1, sorted by last activity) and its messages
//! (`MSG#<uuidv7>`). Every write that moves a counter is one transaction with the counters it
//! moves: a message, both inbox entries, the recipient's unread count on the entry and their
//! total on the user item. So the totals stay exact under any number of concurrent sends.

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{self, attr, entity, index};
use super::paged::{Listing, SortRange};
use super::transaction::{TransactOutcome, Transaction};
use super::{Item, Store, attribute, n, rfc3339, s, sdk_error, to_item};
use crate::domain::file::CheckedFile;
use crate::domain::message::{InboxEntry, Message};
use crate::domain::metrics::MetricsDelta;
use crate::domain::quota::Quota;
use crate::domain::user::UserStatus;
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position};

/// What opening a conversation led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    Created,
    /// It existed already (perhaps created a moment ago by a racing request); nothing written.
    Exists,
    /// The opener has opened as many conversations this hour as they may.
    RateLimited,
    SenderBlocked,
    RecipientBlocked,
}

/// What sending into an existing conversation led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    Sent,
    /// No such conversation, or the sender is not in it.
    NotMember,
    SenderBlocked,
    RecipientBlocked,
    /// The sender's messages-per-minute quota is used up.
    QuotaReached,
}

/// The per-hour limit on new conversations, checked in the opening's transaction.
#[derive(Debug, Clone, Copy)]
pub struct OpenLimit {
    pub hour_start: i64,
    pub max_per_hour: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writing {
    Message,
    SenderEntry,
    RecipientEntry,
    RecipientUser,
    SenderCheck,
    OpenCounter,
    Quota,
    Metrics,
    File(Uuid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    OwnEntry,
    OwnTotal,
    CounterpartEntry,
}

/// The condition "the user exists and is not blocked", for a check or an update of the user item.
const USER_NOT_BLOCKED: &str =
    "attribute_exists(#pk) AND (attribute_not_exists(#status) OR #status <> :blocked)";

fn entry_item(entry: &InboxEntry) -> Result<Item, ApiError> {
    let mut item = to_item(
        &keys::conversation_member(entry.id, entry.owner_id),
        entity::CONVERSATION_MEMBER,
        entry,
    )?;
    item.insert(index::INBOX.pk().into(), s(keys::inbox(entry.owner_id)));
    item.insert(
        index::INBOX.sk().into(),
        s(inbox_sort(entry.last_message.sent_at, entry.id)),
    );
    Ok(item)
}

fn inbox_sort(at: OffsetDateTime, conversation_id: Uuid) -> String {
    keys::inbox_sort(at.unix_timestamp_nanos() / 1_000_000, conversation_id)
}

fn message_item(message: &Message) -> Result<Item, ApiError> {
    to_item(
        &keys::message(message.conversation_id, message.id),
        entity::MESSAGE,
        message,
    )
}

impl<N: Copy + std::fmt::Debug> Transaction<N> {
    /// Adds one unread message to the recipient's total, as long as they are not blocked.
    fn count_unread_for(&mut self, name: N, recipient_id: Uuid) -> Result<&mut Self, ApiError> {
        let blocked = attribute(&UserStatus::Blocked)?;
        self.update(name, &keys::user(recipient_id), |update| {
            update
                .update_expression("ADD #unread :one")
                .condition_expression(USER_NOT_BLOCKED)
                .expression_attribute_names("#unread", attr::UNREAD_MESSAGES)
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":blocked", blocked)
        })
    }

    fn check_not_blocked(&mut self, name: N, user_id: Uuid) -> Result<&mut Self, ApiError> {
        let blocked = attribute(&UserStatus::Blocked)?;
        self.check(name, &keys::user(user_id), |check| {
            check
                .condition_expression(USER_NOT_BLOCKED)
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_values(":blocked", blocked)
        })
    }
}

impl Store {
    /// `user_id`'s inbox entry of the conversation: `None` when they are not in it.
    pub async fn inbox_entry(
        &self,
        conversation_id: Uuid,
        user_id: Uuid,
    ) -> Result<Option<InboxEntry>, ApiError> {
        self.get_as(&keys::conversation_member(conversation_id, user_id))
            .await
    }

    /// Creates the conversation with its first message: both inbox entries (each only if it does
    /// not exist), the message, the recipient's unread total, and the opener's hourly counter
    /// (only under the limit), all or nothing.
    pub async fn open_conversation(
        &self,
        entries: (&InboxEntry, &InboxEntry),
        message: &Message,
        limit: OpenLimit,
        expires_at: i64,
    ) -> Result<Opening, ApiError> {
        let (sender_entry, recipient_entry) = entries;
        let mut transaction = self.transaction();
        transaction
            .put_new(Writing::Message, message_item(message)?)?
            .put_new(Writing::SenderEntry, entry_item(sender_entry)?)?
            .put_new(Writing::RecipientEntry, entry_item(recipient_entry)?)?
            .count_unread_for(Writing::RecipientUser, message.recipient_id)?
            .check_not_blocked(Writing::SenderCheck, message.sender_id)?
            .count(Writing::Metrics, &MetricsDelta::message_sent(), message.id)?
            .update(
                Writing::OpenCounter,
                &keys::conversations_opened(message.sender_id, limit.hour_start),
                |update| {
                    update
                        .update_expression(
                            "SET #entity = :entity, #expires = :expires ADD #opened :one",
                        )
                        .condition_expression("attribute_not_exists(#opened) OR #opened < :max")
                        .expression_attribute_names("#entity", attr::ENTITY)
                        .expression_attribute_names("#expires", attr::EXPIRES_AT)
                        .expression_attribute_names("#opened", attr::OPENED)
                        .expression_attribute_values(":entity", s(entity::CONVERSATIONS_OPENED))
                        .expression_attribute_values(":expires", n(expires_at))
                        .expression_attribute_values(":one", n(1))
                        .expression_attribute_values(":max", n(limit.max_per_hour))
                },
            )?;
        Ok(match self.transact(transaction).await? {
            TransactOutcome::Committed => Opening::Created,
            TransactOutcome::ConditionFailed(failed)
                if failed.includes(Writing::SenderEntry)
                    || failed.includes(Writing::RecipientEntry) =>
            {
                Opening::Exists
            }
            TransactOutcome::ConditionFailed(failed) if failed.includes(Writing::SenderCheck) => {
                Opening::SenderBlocked
            }
            TransactOutcome::ConditionFailed(failed) if failed.includes(Writing::RecipientUser) => {
                Opening::RecipientBlocked
            }
            TransactOutcome::ConditionFailed(failed) if failed.includes(Writing::OpenCounter) => {
                Opening::RateLimited
            }
            TransactOutcome::ConditionFailed(failed) => {
                return Err(ApiError::internal(anyhow::anyhow!(
                    "opening a conversation: unexpected condition failure of {failed:?}"
                )));
            }
        })
    }

    /// Adds `message` to its conversation: the message, both inbox entries' last activity and
    /// preview, the recipient's unread count on their entry and their total, in one transaction.
    pub async fn append_message(
        &self,
        message: &Message,
        quota: &Quota,
        files: &[CheckedFile],
    ) -> Result<Sending, ApiError> {
        let last = attribute(&message.preview())?;
        let sort = s(inbox_sort(message.sent_at, message.conversation_id));
        let entry_update = |unread: bool| {
            let last = last.clone();
            let sort = sort.clone();
            move |update: aws_sdk_dynamodb::types::builders::UpdateBuilder| {
                let expression = if unread {
                    "SET #last = :last, #sk1 = :sort ADD #unread :one"
                } else {
                    "SET #last = :last, #sk1 = :sort"
                };
                let update = update
                    .update_expression(expression)
                    .condition_expression("attribute_exists(#pk)")
                    .expression_attribute_names("#pk", attr::PK)
                    .expression_attribute_names("#last", attr::LAST_MESSAGE)
                    .expression_attribute_names("#sk1", index::INBOX.sk())
                    .expression_attribute_values(":last", last)
                    .expression_attribute_values(":sort", sort);
                if unread {
                    update
                        .expression_attribute_names("#unread", attr::UNREAD_COUNT)
                        .expression_attribute_values(":one", n(1))
                } else {
                    update
                }
            }
        };
        let conversation = message.conversation_id;
        let mut transaction = self.transaction();
        transaction
            .put_new(Writing::Message, message_item(message)?)?
            .update(
                Writing::SenderEntry,
                &keys::conversation_member(conversation, message.sender_id),
                entry_update(false),
            )?
            .update(
                Writing::RecipientEntry,
                &keys::conversation_member(conversation, message.recipient_id),
                entry_update(true),
            )?
            .count_unread_for(Writing::RecipientUser, message.recipient_id)?
            .check_not_blocked(Writing::SenderCheck, message.sender_id)?
            .count(Writing::Metrics, &MetricsDelta::message_sent(), message.id)?
            .within_quota(Writing::Quota, quota)?
            .use_files(Writing::File, files, message.sent_at)?;
        Ok(match self.transact(transaction).await? {
            TransactOutcome::Committed => Sending::Sent,
            TransactOutcome::ConditionFailed(failed)
                if let Some(checked) = files
                    .iter()
                    .find(|checked| failed.includes(Writing::File(checked.file.id))) =>
            {
                return Err(super::files::file_unavailable(&checked.file));
            }
            TransactOutcome::ConditionFailed(failed) if failed.includes(Writing::Quota) => {
                Sending::QuotaReached
            }
            TransactOutcome::ConditionFailed(failed)
                if failed.includes(Writing::SenderEntry)
                    || failed.includes(Writing::RecipientEntry) =>
            {
                Sending::NotMember
            }
            TransactOutcome::ConditionFailed(failed) if failed.includes(Writing::SenderCheck) => {
                Sending::SenderBlocked
            }
            TransactOutcome::ConditionFailed(failed) if failed.includes(Writing::RecipientUser) => {
                Sending::RecipientBlocked
            }
            TransactOutcome::ConditionFailed(failed) => {
                return Err(ApiError::internal(anyhow::anyhow!(
                    "sending a message: unexpected condition failure of {failed:?}"
                )));
            }
        })
    }

    /// Marks `entry` (as read just before) read at `now`: its unread count to zero, the owner's
    /// total down by exactly that count, and the counterpart's read receipt. `Ok(false)`: a
    /// message arrived since `entry` was read (its count moved); read it again and retry.
    pub async fn mark_read(
        &self,
        entry: &InboxEntry,
        now: OffsetDateTime,
    ) -> Result<bool, ApiError> {
        let mut transaction = self.transaction();
        transaction.update(
            Reading::OwnEntry,
            &keys::conversation_member(entry.id, entry.owner_id),
            |update| {
                update
                    .update_expression("SET #unread = :zero, #read = :now")
                    .condition_expression("#unread = :seen")
                    .expression_attribute_names("#unread", attr::UNREAD_COUNT)
                    .expression_attribute_names("#read", attr::LAST_READ_AT)
                    .expression_attribute_values(":zero", n(0))
                    .expression_attribute_values(":seen", n(entry.unread_count))
                    .expression_attribute_values(":now", rfc3339(now))
            },
        )?;
        if entry.unread_count > 0 {
            let minus = -(entry.unread_count as i64);
            transaction.update(Reading::OwnTotal, &keys::user(entry.owner_id), |update| {
                update
                    .update_expression("ADD #unread :minus")
                    .condition_expression("attribute_exists(#pk)")
                    .expression_attribute_names("#pk", attr::PK)
                    .expression_attribute_names("#unread", attr::UNREAD_MESSAGES)
                    .expression_attribute_values(":minus", n(minus))
            })?;
        }
        transaction.update(
            Reading::CounterpartEntry,
            &keys::conversation_member(entry.id, entry.counterpart.id),
            |update| {
                update
                    .update_expression("SET #receipt = :now")
                    .condition_expression("attribute_exists(#pk)")
                    .expression_attribute_names("#pk", attr::PK)
                    .expression_attribute_names("#receipt", attr::COUNTERPART_LAST_READ_AT)
                    .expression_attribute_values(":now", rfc3339(now))
            },
        )?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(true),
            TransactOutcome::ConditionFailed(failed) if failed.includes(Reading::OwnEntry) => {
                Ok(false)
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "marking a conversation read: unexpected condition failure of {failed:?}"
            ))),
        }
    }

    /// One page of `user_id`'s inbox, most recent activity first: one Query on gsi1.
    pub async fn inbox(
        &self,
        user_id: Uuid,
        page: &PageRequest,
    ) -> Result<(Vec<InboxEntry>, Option<Position>), ApiError> {
        let listing = Listing::on(index::INBOX, keys::inbox(user_id)).descending();
        self.page_as(&listing, page).await
    }

    /// One page of a conversation's messages, newest first: one Query on its partition.
    pub async fn messages(
        &self,
        conversation_id: Uuid,
        page: &PageRequest,
    ) -> Result<(Vec<Message>, Option<Position>), ApiError> {
        let listing = Listing::table(keys::conversation_partition(conversation_id))
            .sort_range(SortRange::Prefix(keys::MESSAGE_PREFIX.to_owned()))
            .descending();
        self.page_as(&listing, page).await
    }

    /// One page of the messages sent after `after`, oldest first (a client catching up after a
    /// reconnect): one Query on the conversation's partition.
    pub async fn messages_after(
        &self,
        conversation_id: Uuid,
        after: Uuid,
        page: &PageRequest,
    ) -> Result<(Vec<Message>, Option<Position>), ApiError> {
        let (from, to) = keys::messages_after(after);
        let listing = Listing::table(keys::conversation_partition(conversation_id))
            .sort_range(SortRange::Between(from, to));
        self.page_as(&listing, page).await
    }

    /// The notifier's throttle: takes the right to mail `recipient_id` about the conversation
    /// unless someone took it less than `window_secs` ago. `true`: ours, mail now.
    pub async fn take_message_mail_slot(
        &self,
        conversation_id: Uuid,
        recipient_id: Uuid,
        now_unix: i64,
        window_secs: i64,
    ) -> Result<bool, ApiError> {
        let mut item =
            super::key_attributes(&keys::message_mail_throttle(conversation_id, recipient_id));
        item.insert(attr::ENTITY.to_owned(), s(entity::MESSAGE_MAIL_THROTTLE));
        item.insert("mailed_at".to_owned(), n(now_unix));
        item.insert(attr::EXPIRES_AT.to_owned(), n(now_unix + window_secs));
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR mailed_at <= :stale")
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_values(
                ":stale",
                AttributeValue::N((now_unix - window_secs).to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|service| service.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(sdk_error("PutItem")(error)),
        }
    }
}

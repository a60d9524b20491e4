//! The table's stream in domain words: which change, if any, a stream record stands for.
//!
//! Only the store knows how items are tagged (`entity`) and versioned, so only the store reads
//! stream images. The dispatcher gets a [`StreamChange`] and maps it to an event; it never sees
//! an attribute. A new kind of change (a review published, a message sent, an account created)
//! is a new variant here, decoded from its entity's items.

use aws_lambda_events::event::dynamodb::EventRecord;
use serde_dynamo::{AttributeValue, Item};
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{attr, entity};
use crate::domain::gig::{DecidedGig, GigDecision};
use crate::domain::message::{InboxEntry, Message};
use crate::domain::order::Order;
use crate::domain::payout::{DisputeRecord, Earning, TransferStatus, Withdrawal};
use crate::domain::refund::AdminRefund;
use crate::domain::review::{Review, ReviewState};

/// A change someone may need to hear about.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one change lives at a time per record; boxing would buy nothing"
)]
pub enum StreamChange {
    /// An order was placed or changed: `order.last_change` is the change, and the order is as it
    /// was right after it. Every change bumps the order's `version`, so a record whose version did
    /// not go up (a rewrite of the same state) is none.
    Order(Order),
    /// A review written sealed (its INSERT as `sealed`).
    ReviewSealed(Review),
    /// A review published: inserted as `published` (the second of a pair), or flipped from
    /// `sealed` to `published` (by the second review or the scheduler). A reply is none.
    ReviewPublished(Review),
    /// A message was sent (messages are only ever inserted).
    Message(Message),
    /// Moderation decided on a gig (a new `decision_id` on the gig item; its other writes, such
    /// as the orders' counters, are none).
    GigDecision(DecidedGig),
    /// A participant read a conversation: the other participant's inbox entry got a new
    /// `counterpart_last_read_at` (their read receipt). Only pushed live, never mailed.
    ReadReceipt(InboxEntry),
    /// A user's unread total (`unread_messages` on the user item) moved. Only pushed live.
    UnreadTotal { user_id: Uuid, unread_messages: u64 },
    /// An earning cleared: its `status` went from `pending` to `available` (the scheduler's
    /// clearance), at `cleared_at` (the record's time: the earning keeps none of its own).
    /// Its other writes (withdrawals drawing on it) are none.
    FundsCleared {
        earning: Earning,
        cleared_at: OffsetDateTime,
    },
    /// A withdrawal's transfers are all made or refused: the first write of it with no transfer
    /// `sending`. Later writes (Stripe confirming a transfer) are none.
    WithdrawalSent(Withdrawal),
    /// A dispute was opened (its first write) or decided (its status left `open`).
    Dispute(DisputeRecord),
    /// Stripe accepted an admin refund: its status went from `requested` to `pending` or
    /// `succeeded`. Its other writes (Stripe's later reports, the reversals) are none.
    AdminRefundIssued(AdminRefund),
}

/// A record of a known entity whose image does not read as that entity.
#[derive(Debug, thiserror::Error)]
#[error("stream record {event_id}: an image of it is no readable {entity}: {source}")]
pub struct UndecodableRecord {
    pub event_id: String,
    pub entity: &'static str,
    #[source]
    pub source: serde_dynamo::Error,
}

/// The change `record` stands for; `None` for records nobody is told about (other entities,
/// removals, same-version rewrites).
pub fn decode(record: &EventRecord) -> Result<Option<StreamChange>, UndecodableRecord> {
    // Items leave the table only by TTL or cleanup, never as a change to announce.
    if record.event_name == "REMOVE" {
        return Ok(None);
    }
    let new_image = &record.change.new_image;
    match string(new_image, "entity") {
        Some(entity::ORDER) => {
            let order: Order = read(record, entity::ORDER)?;
            let old_version = number(&record.change.old_image, "version");
            // A transition: a newer version whose last change is its own. A write that moves
            // the version without a change of its own (a dispute's flag) is none.
            let changed = old_version.is_none()
                || (old_version.is_some_and(|old| old < order.version)
                    && order.last_change.seq == order.version);
            Ok(changed.then_some(StreamChange::Order(order)))
        }
        Some(entity::REVIEW) => {
            let review: Review = read(record, entity::REVIEW)?;
            let was = string(&record.change.old_image, attr::REVIEW_STATE);
            Ok(match (was, review.state) {
                (None, ReviewState::Sealed) => Some(StreamChange::ReviewSealed(review)),
                (None | Some("sealed"), ReviewState::Published) => {
                    Some(StreamChange::ReviewPublished(review))
                }
                _ => None,
            })
        }
        Some(entity::MESSAGE) if record.event_name == "INSERT" => {
            Ok(Some(StreamChange::Message(read(record, entity::MESSAGE)?)))
        }
        Some(entity::GIG) => gig_decision(record),
        Some(entity::CONVERSATION_MEMBER) => {
            let receipt = string(new_image, attr::COUNTERPART_LAST_READ_AT);
            if receipt.is_none()
                || receipt == string(&record.change.old_image, attr::COUNTERPART_LAST_READ_AT)
            {
                return Ok(None);
            }
            Ok(Some(StreamChange::ReadReceipt(read(
                record,
                entity::CONVERSATION_MEMBER,
            )?)))
        }
        Some(entity::USER) => Ok(unread_total(record)),
        Some(entity::EARNING) => {
            let cleared = string(&record.change.old_image, attr::STATUS) == Some("pending")
                && string(new_image, attr::STATUS) == Some("available");
            if !cleared {
                return Ok(None);
            }
            let earning: Earning = read(record, entity::EARNING)?;
            let cleared_at = OffsetDateTime::from_unix_timestamp(
                record.change.approximate_creation_date_time.timestamp(),
            )
            .unwrap_or(earning.completed_at);
            Ok(Some(StreamChange::FundsCleared {
                earning,
                cleared_at,
            }))
        }
        Some(entity::WITHDRAWAL) => withdrawal_sent(record),
        Some(entity::DISPUTE) => {
            let before = string(&record.change.old_image, attr::STATUS).map(str::to_owned);
            let dispute: DisputeRecord = read(record, entity::DISPUTE)?;
            let now = string(new_image, attr::STATUS);
            Ok((before.as_deref() != now).then_some(StreamChange::Dispute(dispute)))
        }
        Some(entity::ADMIN_REFUND) => {
            let accepted = |status: Option<&str>| matches!(status, Some("pending" | "succeeded"));
            if accepted(string(&record.change.old_image, attr::STATUS))
                || !accepted(string(new_image, attr::STATUS))
            {
                return Ok(None);
            }
            Ok(Some(StreamChange::AdminRefundIssued(read(
                record,
                entity::ADMIN_REFUND,
            )?)))
        }
        _ => Ok(None),
    }
}

/// The user's new unread total, when it moved.
fn unread_total(record: &EventRecord) -> Option<StreamChange> {
    let unread_messages = number(&record.change.new_image, attr::UNREAD_MESSAGES)?;
    let before = number(&record.change.old_image, attr::UNREAD_MESSAGES).unwrap_or(0);
    if before == unread_messages {
        return None;
    }
    let user_id = string(&record.change.new_image, "id")?.parse().ok()?;
    Some(StreamChange::UnreadTotal {
        user_id,
        unread_messages,
    })
}

/// The withdrawal, when this write is the first with no transfer `sending`.
fn withdrawal_sent(record: &EventRecord) -> Result<Option<StreamChange>, UndecodableRecord> {
    let sending = |withdrawal: &Withdrawal| {
        withdrawal
            .transfers
            .iter()
            .any(|transfer| transfer.status == TransferStatus::Sending)
    };
    let withdrawal: Withdrawal = read(record, entity::WITHDRAWAL)?;
    if sending(&withdrawal) {
        return Ok(None);
    }
    // No old image: written with every transfer settled already.
    let was_sending = record.change.old_image.is_empty()
        || sending(&read_image(
            record,
            &record.change.old_image,
            entity::WITHDRAWAL,
        )?);
    Ok(was_sending.then_some(StreamChange::WithdrawalSent(withdrawal)))
}

/// The gig a record of a gig item is of, whatever the write: created, edited, paused, decided,
/// re-listed after its owner's block, its rating or order count moved, or the item removed. The
/// search index writer re-reads the gig, so every such record is a hint and none is an event.
pub fn changed_gig(record: &EventRecord) -> Option<Uuid> {
    let image = if record.event_name == "REMOVE" {
        &record.change.old_image
    } else {
        &record.change.new_image
    };
    if string(image, "entity") != Some(entity::GIG) {
        return None;
    }
    string(image, "id").and_then(|id| id.parse().ok())
}

/// The decision a gig record carries, when its `decision_id` is new.
fn gig_decision(record: &EventRecord) -> Result<Option<StreamChange>, UndecodableRecord> {
    let image = &record.change.new_image;
    let Some(decision_id) = string(image, attr::DECISION_ID) else {
        return Ok(None);
    };
    if string(&record.change.old_image, attr::DECISION_ID) == Some(decision_id) {
        return Ok(None);
    }
    let Some(decision) = string(image, attr::DECISION).and_then(GigDecision::from_name) else {
        return Ok(None);
    };
    Ok(Some(StreamChange::GigDecision(DecidedGig {
        gig: read(record, entity::GIG)?,
        decision,
        decision_id: decision_id.to_owned(),
        reason: string(image, attr::REJECTION_REASON).map(str::to_owned),
    })))
}

fn read<T: serde::de::DeserializeOwned>(
    record: &EventRecord,
    entity: &'static str,
) -> Result<T, UndecodableRecord> {
    read_image(record, &record.change.new_image, entity)
}

fn read_image<T: serde::de::DeserializeOwned>(
    record: &EventRecord,
    image: &Item,
    entity: &'static str,
) -> Result<T, UndecodableRecord> {
    serde_dynamo::from_item(image.clone()).map_err(|source| UndecodableRecord {
        event_id: record.event_id.clone(),
        entity,
        source,
    })
}

fn string<'a>(image: &'a Item, name: &str) -> Option<&'a str> {
    match image.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

fn number(image: &Item, name: &str) -> Option<u64> {
    match image.get(name) {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::dynamodb::Event as StreamBatch;

    use super::*;
    use crate::domain::order::ChangeKind;

    fn sample() -> StreamBatch {
        serde_json::from_str(include_str!("../../../events/dispatcher/order-paid.json")).unwrap()
    }

    #[test]
    fn an_order_record_is_its_last_change_and_timeline_entries_are_none() {
        let batch = sample();
        let Some(StreamChange::Order(order)) = decode(&batch.records[0]).unwrap() else {
            panic!("the order MODIFY is a change");
        };
        assert_eq!(order.id.to_string(), "0193a0c2-5f00-7c3e-9a51-3b9e2f1c0a11");
        assert_eq!(order.last_change.seq, 2);
        assert_eq!(order.last_change.kind, ChangeKind::Paid);
        assert_eq!(decode(&batch.records[1]).unwrap(), None);
    }

    #[test]
    fn only_a_higher_version_with_its_own_change_is_a_change() {
        let mut record = sample().records.remove(0);
        let modified = record.change.new_image.clone();
        let with_version = |version: &str, seq: Option<&str>| {
            let mut image = modified.clone();
            image.insert("version".into(), AttributeValue::N(version.into()));
            if let (Some(seq), Some(AttributeValue::M(change))) =
                (seq, image.get_mut("last_change"))
            {
                change.insert("seq".into(), AttributeValue::N(seq.into()));
            }
            image
        };
        record.change.old_image = with_version("2", None);
        assert_eq!(decode(&record).unwrap(), None, "same version: a rewrite");
        record.change.new_image = with_version("3", None);
        assert_eq!(
            decode(&record).unwrap(),
            None,
            "version 2 -> 3 without a change of its own (a dispute's flag)"
        );
        record.change.new_image = with_version("3", Some("3"));
        assert!(
            decode(&record).unwrap().is_some(),
            "version 2 -> 3, change 3"
        );
        record.event_name = "REMOVE".into();
        assert_eq!(decode(&record).unwrap(), None);
    }

    #[test]
    fn a_new_decision_on_a_gig_is_a_change_and_its_other_writes_are_none() {
        use crate::domain::gig::{Gig, GigContent, GigStatus, Package, Revisions, Tier};
        let gig = Gig::new(
            uuid::Uuid::new_v4(),
            GigContent {
                title: "Logo design".to_owned(),
                description: "d".to_owned(),
                category: "graphics-design".to_owned(),
                subcategory: None,
                tags: Vec::new(),
                packages: vec![Package {
                    tier: Tier::Basic,
                    name: "Basic".to_owned(),
                    description: "d".to_owned(),
                    price_cents: 5_000,
                    currency: "EUR".to_owned(),
                    delivery_days: 2,
                    revisions: Revisions::Limited(1),
                    features: Vec::new(),
                }],
            },
            GigStatus::Removed,
            time::macros::datetime!(2026-11-25 12:00 UTC),
        );
        let undecided: Item = serde_dynamo::to_item(&gig).unwrap();
        let mut undecided = undecided;
        undecided.insert("entity".into(), AttributeValue::S(entity::GIG.into()));
        let decided = |decision: &str, id: &str| {
            let mut image = undecided.clone();
            image.insert(attr::DECISION.into(), AttributeValue::S(decision.into()));
            image.insert(attr::DECISION_ID.into(), AttributeValue::S(id.into()));
            image.insert(
                attr::REJECTION_REASON.into(),
                AttributeValue::S("Fake reviews".into()),
            );
            image
        };
        let mut record = sample().records.remove(0);
        record.event_name = "MODIFY".into();
        record.change.old_image = undecided.clone();
        record.change.new_image = decided("removed", "audit-1");
        let Some(StreamChange::GigDecision(change)) = decode(&record).unwrap() else {
            panic!("a new decision is a change");
        };
        assert_eq!(change.decision, GigDecision::Removed);
        assert_eq!(change.decision_id, "audit-1");
        assert_eq!(change.reason.as_deref(), Some("Fake reviews"));
        assert_eq!(change.gig.id, gig.id);

        // The same decision again (an order counter moved on the gig): none.
        record.change.old_image = decided("removed", "audit-1");
        assert_eq!(decode(&record).unwrap(), None);
        // A gig never decided on, and a listing entry: none.
        record.change.old_image = undecided.clone();
        record.change.new_image = undecided.clone();
        assert_eq!(decode(&record).unwrap(), None);
        let mut entry = decided("removed", "audit-2");
        entry.insert(
            "entity".into(),
            AttributeValue::S(entity::GIG_LISTING.into()),
        );
        record.change.new_image = entry;
        assert_eq!(decode(&record).unwrap(), None);
        // Every write of the gig item is a search hint, a listing entry's none; a removal is
        // read from its old image.
        assert_eq!(changed_gig(&record), None);
        record.change.new_image = undecided.clone();
        assert_eq!(changed_gig(&record), Some(gig.id));
        record.event_name = "REMOVE".into();
        record.change.new_image = Item::default();
        assert_eq!(changed_gig(&record), Some(gig.id));
    }

    #[test]
    fn an_earning_is_a_change_only_as_it_clears() {
        use crate::domain::payout::{Earning, EarningStatus};
        let earning = Earning {
            order_id: Uuid::new_v4(),
            freelancer_id: Uuid::new_v4(),
            currency: "EUR".to_owned(),
            amount_cents: 3_999,
            withdrawn_cents: 0,
            debt_repaid_cents: 0,
            refunded_cents: 0,
            released_by: None,
            status: EarningStatus::Pending,
            charge_id: None,
            completed_at: time::macros::datetime!(2026-11-25 12:00 UTC),
        };
        let image = |earning: &Earning| {
            let mut item: Item = serde_dynamo::to_item(earning).unwrap();
            item.insert("entity".into(), AttributeValue::S(entity::EARNING.into()));
            item
        };
        let available = Earning {
            status: EarningStatus::Available,
            ..earning.clone()
        };
        let mut record = sample().records.remove(0);
        record.event_name = "MODIFY".into();
        record.change.old_image = image(&earning);
        record.change.new_image = image(&available);
        let Some(StreamChange::FundsCleared {
            earning: cleared, ..
        }) = decode(&record).unwrap()
        else {
            panic!("pending -> available is a change");
        };
        assert_eq!(cleared, available);
        // Created pending, and a withdrawal drawing on it: none.
        record.change.new_image = image(&earning);
        record.event_name = "INSERT".into();
        record.change.old_image = Item::default();
        assert_eq!(decode(&record).unwrap(), None);
        record.event_name = "MODIFY".into();
        record.change.old_image = image(&available);
        record.change.new_image = image(&Earning {
            withdrawn_cents: 1_000,
            ..available
        });
        assert_eq!(decode(&record).unwrap(), None);
    }

    #[test]
    fn a_withdrawal_is_a_change_when_its_last_transfer_settles() {
        use crate::domain::payout::{Withdrawal, WithdrawalTransfer};
        let at = time::macros::datetime!(2026-11-25 12:00 UTC);
        let transfer = |status| WithdrawalTransfer {
            order_id: Uuid::new_v4(),
            amount_cents: 1_000,
            charge_id: None,
            status,
            transfer_id: None,
            failure: None,
        };
        let withdrawal = |statuses: &[TransferStatus]| Withdrawal {
            id: Uuid::nil(),
            freelancer_id: Uuid::nil(),
            currency: "EUR".to_owned(),
            amount_cents: 1_000 * statuses.len() as u64,
            stripe_account_id: "acct_1".to_owned(),
            transfers: statuses.iter().map(|status| transfer(*status)).collect(),
            created_at: at,
            updated_at: at,
        };
        let image = |statuses: &[TransferStatus]| {
            let mut item: Item = serde_dynamo::to_item(withdrawal(statuses)).unwrap();
            item.insert(
                "entity".into(),
                AttributeValue::S(entity::WITHDRAWAL.into()),
            );
            item
        };
        use TransferStatus::{Confirmed, Returned, Sending, Sent};
        let mut record = sample().records.remove(0);
        record.event_name = "MODIFY".into();
        let change = |old: &[TransferStatus], new: &[TransferStatus]| {
            let mut record = record.clone();
            record.change.old_image = image(old);
            record.change.new_image = image(new);
            decode(&record).unwrap()
        };
        assert!(matches!(
            change(&[Sent, Sending], &[Sent, Returned]),
            Some(StreamChange::WithdrawalSent(_))
        ));
        assert_eq!(change(&[Sending, Sending], &[Sent, Sending]), None);
        assert_eq!(change(&[Sent, Returned], &[Confirmed, Returned]), None);
        record.event_name = "INSERT".into();
        record.change.old_image = Item::default();
        record.change.new_image = image(&[Sending]);
        assert_eq!(decode(&record).unwrap(), None, "written: on its way");
    }

    #[test]
    fn an_unreadable_order_is_an_error_not_a_skip() {
        let mut record = sample().records.remove(0);
        record.change.new_image.remove("status");
        let error = decode(&record).unwrap_err();
        assert_eq!(error.entity, entity::ORDER);
        assert_eq!(error.event_id, "c4ca4238a0b923820dcc509a6f75849b");
    }
}

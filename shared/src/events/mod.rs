//! The one event schema on the events queue, and which mail each event becomes.
//!
//! The dispatcher builds events from the table's stream (see `store::stream`); the notifier mails
//! them. Both sides use these types, so the wire format has one definition:
//!
//! ```json
//! {"event_id": "order:<order_id>:<seq>", "type": "order.placed", "occurred_at": "...",
//!  "actor": {"id": "...", "role": "client"}, "order": {...}, "version": 1}
//! ```
//!
//! Every event is about one [`Subject`], carried under the subject's own key (`"order"` today;
//! `"review"`, `"message"`, `"account"` next), and its `type` is `<subject>.<kind>`. Everything
//! between the table and the mail (dispatcher, queue message attribute, notifier claim, dedupe and
//! send loop) only sees `Event`: a new kind of event is a new [`Subject`] variant and
//! [`EventType`] variant plus its recipients and wording in this module, and no new plumbing.
//!
//! `version` is the schema version: a consumer that sees a version it does not know leaves the
//! message for the DLQ instead of guessing. `event_id` is derived from the change itself, so a
//! stream record delivered twice yields the same id and the notifier mails nothing twice.
//!
//! Rendering is pure: subject, plain text and HTML per event type and recipient.

mod account;
mod gig;
mod mail;
mod message;
mod order;
mod payout;
pub mod pushes;
mod review;

use std::fmt;

use serde::de::{Error as _, IntoDeserializer};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::gig::GigDecision;
use crate::domain::order::{Actor, ChangeKind, Order};

pub use account::{AccountEventKind, AccountSummary};
pub use gig::{GigDecisionSummary, GigHint};
pub use mail::{Email, format_money};
pub use message::{MESSAGE_MAIL_WINDOW_SECS, MessageEventKind, MessageSummary};
pub use payout::{
    AdminRefundEventKind, AdminRefundSummary, DisputeEventKind, DisputeSummary, FundsEventKind,
    FundsSummary, WithdrawalEventKind, WithdrawalSummary,
};
pub use review::{ReviewEventKind, ReviewSummary};

pub const SCHEMA_VERSION: u32 = 1;

/// What an event is about, serialised under the subject's name beside the event's other fields
/// (`"order": {...}`): flattened, externally tagged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::large_enum_variant,
    reason = "one event lives at a time per record or message; boxing would buy nothing"
)]
pub enum Subject {
    /// The order as it was right after the change.
    Order(Order),
    /// A review as it was right after the change.
    Review(ReviewSummary),
    /// A message to someone (messaging).
    Message(MessageSummary),
    /// A link for an account's owner (email verification, password reset).
    Account(AccountSummary),
    /// A moderation decision on a gig, for its owner.
    Gig(GigDecisionSummary),
    /// An order's earning that cleared, for its freelancer.
    Funds(FundsSummary),
    /// A withdrawal whose transfers are settled, for its freelancer.
    Withdrawal(WithdrawalSummary),
    /// A dispute of an order's charge, opened or decided, for the order's freelancer.
    Dispute(DisputeSummary),
    /// An admin's refund of a completed order, for its client and freelancer.
    AdminRefund(AdminRefundSummary),
}

impl Subject {
    /// The subject's name: its key on the wire and the prefix of its events' types.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Order(_) => "order",
            Self::Review(_) => "review",
            Self::Message(_) => "message",
            Self::Account(_) => "account",
            Self::Gig(_) => "gig",
            Self::Funds(_) => "funds",
            Self::Withdrawal(_) => "withdrawal",
            Self::Dispute(_) => "dispute",
            Self::AdminRefund(_) => "admin_refund",
        }
    }
}

/// What happened to the subject; on the wire `<subject>.<kind>`, e.g. `order.revision_requested`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// One per kind of order change (the timeline entry's kind).
    Order(ChangeKind),
    Review(ReviewEventKind),
    Message(MessageEventKind),
    Account(AccountEventKind),
    /// A moderation decision (`gig.approved`, `gig.rejected`, `gig.removed`).
    Gig(GigDecision),
    Funds(FundsEventKind),
    Withdrawal(WithdrawalEventKind),
    Dispute(DisputeEventKind),
    AdminRefund(AdminRefundEventKind),
}

impl EventType {
    /// The name of the [`Subject`] events of this type are about.
    pub fn subject_name(self) -> &'static str {
        match self {
            Self::Order(_) => "order",
            Self::Review(_) => "review",
            Self::Message(_) => "message",
            Self::Account(_) => "account",
            Self::Gig(_) => "gig",
            Self::Funds(_) => "funds",
            Self::Withdrawal(_) => "withdrawal",
            Self::Dispute(_) => "dispute",
            Self::AdminRefund(_) => "admin_refund",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Self::Order(kind) => kind.as_str(),
            Self::Review(kind) => kind.as_str(),
            Self::Message(kind) => kind.as_str(),
            Self::Account(kind) => kind.as_str(),
            Self::Gig(decision) => decision.as_str(),
            Self::Funds(kind) => kind.as_str(),
            Self::Withdrawal(kind) => kind.as_str(),
            Self::Dispute(kind) => kind.as_str(),
            Self::AdminRefund(kind) => kind.as_str(),
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.subject_name(), self.kind())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        let parsed = match name.split_once('.') {
            Some(("order", kind_name)) => kind(kind_name).map(Self::Order),
            Some(("review", kind_name)) => kind(kind_name).map(Self::Review),
            Some(("message", kind_name)) => kind(kind_name).map(Self::Message),
            Some(("account", kind_name)) => kind(kind_name).map(Self::Account),
            Some(("gig", kind_name)) => kind(kind_name).map(Self::Gig),
            Some(("funds", kind_name)) => kind(kind_name).map(Self::Funds),
            Some(("withdrawal", kind_name)) => kind(kind_name).map(Self::Withdrawal),
            Some(("dispute", kind_name)) => kind(kind_name).map(Self::Dispute),
            Some(("admin_refund", kind_name)) => kind(kind_name).map(Self::AdminRefund),
            _ => Err(serde::de::value::Error::custom("no such subject")),
        };
        parsed.map_err(|error| D::Error::custom(format!("event type `{name}`: {error}")))
    }
}

/// A kind read by its own enum's snake_case names, so no second table of names exists.
fn kind<'a, K: Deserialize<'a>>(name: &'a str) -> Result<K, serde::de::value::Error> {
    K::deserialize(name.into_deserializer())
}

/// One event on the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor: Actor,
    /// Between `actor` and `version`, so the fields keep the order they have always had on the
    /// wire.
    #[serde(flatten)]
    pub subject: Subject,
    pub version: u32,
}

impl Event {
    /// The event for an account mail (`auth` sends it to the queue itself: there is no stream
    /// record to derive it from). Its id is random: each request is its own mail.
    pub fn for_account(
        kind: AccountEventKind,
        account: AccountSummary,
        occurred_at: OffsetDateTime,
    ) -> Self {
        Self {
            event_id: format!("account:{}", Uuid::new_v4()),
            event_type: EventType::Account(kind),
            occurred_at,
            actor: Actor::system(),
            subject: Subject::Account(account),
            version: SCHEMA_VERSION,
        }
    }

    /// The event for the order's latest change (`order.last_change`).
    pub fn for_order_change(order: &Order) -> Self {
        let change = &order.last_change;
        Self {
            event_id: format!("order:{}:{}", order.id, change.seq),
            event_type: EventType::Order(change.kind),
            occurred_at: change.at,
            actor: change.actor,
            subject: Subject::Order(order.clone()),
            version: SCHEMA_VERSION,
        }
    }

    /// The event for a message just sent: its recipient hears of it.
    pub fn for_message(message: &crate::domain::message::Message) -> Self {
        let sender_party = match message.sender_role {
            crate::domain::user::Role::Client => crate::domain::order::Party::Client,
            crate::domain::user::Role::Freelancer => crate::domain::order::Party::Freelancer,
            crate::domain::user::Role::Admin => crate::domain::order::Party::Admin,
        };
        Self {
            event_id: format!("message:{}", message.id),
            event_type: EventType::Message(MessageEventKind::Received),
            occurred_at: message.sent_at,
            actor: Actor::user(message.sender_id, sender_party),
            subject: Subject::Message(MessageSummary::from(message)),
            version: SCHEMA_VERSION,
        }
    }

    /// The event as something this build can mail: a schema version it knows and a type that
    /// belongs to the subject. Anything else is for the DLQ, not for guessing.
    pub fn notice(&self) -> Result<Notice<'_>, UnmailableEvent> {
        if self.version != SCHEMA_VERSION {
            return Err(UnmailableEvent::UnknownVersion(self.version));
        }
        if self.event_type.subject_name() != self.subject.name() {
            return Err(UnmailableEvent::TypeOfAnotherSubject {
                event_type: self.event_type,
                subject: self.subject.name(),
            });
        }
        Ok(Notice { event: self })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnmailableEvent {
    #[error("unknown event schema version {0}")]
    UnknownVersion(u32),
    #[error("a {event_type} event about a {subject}")]
    TypeOfAnotherSubject {
        event_type: EventType,
        subject: &'static str,
    },
}

/// One person an event is mailed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Recipient {
    pub user_id: Uuid,
    pub role: RecipientRole,
}

/// The part the recipient plays in the subject; the mail's wording depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    Client,
    Freelancer,
    /// One of a conversation's two participants (messaging: their role plays no part), or the
    /// owner of the account an account event is about.
    Participant,
}

/// A checked event (see [`Event::notice`]): who is told, and what each one reads.
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    event: &'a Event,
}

impl Notice<'_> {
    pub fn event(&self) -> &Event {
        self.event
    }

    /// Who is mailed, in a stable order.
    pub fn recipients(&self) -> Vec<Recipient> {
        match (&self.event.subject, self.event.event_type) {
            (Subject::Order(subject), EventType::Order(kind)) => order::recipients(kind, subject),
            (Subject::Review(subject), EventType::Review(kind)) => {
                review::recipients(kind, subject)
            }
            (Subject::Message(subject), EventType::Message(kind)) => {
                message::recipients(kind, subject)
            }
            (Subject::Account(subject), EventType::Account(_)) => account::recipients(subject),
            (Subject::Gig(subject), EventType::Gig(_)) => gig::recipients(subject),
            (Subject::Funds(subject), EventType::Funds(_)) => payout::funds_recipients(subject),
            (Subject::Withdrawal(subject), EventType::Withdrawal(_)) => {
                payout::freelancer(subject.freelancer_id)
            }
            (Subject::Dispute(subject), EventType::Dispute(_)) => {
                payout::freelancer(subject.freelancer_id)
            }
            (Subject::AdminRefund(subject), EventType::AdminRefund(_)) => {
                payout::admin_refund_recipients(subject)
            }
            _ => unreachable!("Event::notice pairs every type with its subject"),
        }
    }

    /// The mail for `recipient`, greeting them by `recipient_name`.
    pub fn render(&self, recipient: &Recipient, recipient_name: &str) -> Email {
        let event = self.event;
        let message = match (&event.subject, event.event_type) {
            (Subject::Order(subject), EventType::Order(kind)) => {
                order::message(kind, subject, &event.actor, recipient.role)
            }
            (Subject::Review(subject), EventType::Review(kind)) => {
                review::message(kind, subject, recipient.role)
            }
            (Subject::Message(subject), EventType::Message(kind)) => {
                message::message(kind, subject)
            }
            (Subject::Account(subject), EventType::Account(kind)) => {
                account::message(kind, subject)
            }
            (Subject::Gig(subject), EventType::Gig(decision)) => gig::message(decision, subject),
            (Subject::Funds(subject), EventType::Funds(kind)) => {
                payout::funds_message(kind, subject)
            }
            (Subject::Withdrawal(subject), EventType::Withdrawal(kind)) => {
                payout::withdrawal_message(kind, subject)
            }
            (Subject::Dispute(subject), EventType::Dispute(kind)) => {
                payout::dispute_message(kind, subject)
            }
            (Subject::AdminRefund(subject), EventType::AdminRefund(kind)) => {
                payout::admin_refund_message(kind, subject, recipient.role)
            }
            _ => unreachable!("Event::notice pairs every type with its subject"),
        };
        message.to_email(recipient_name)
    }

    /// Whether this mail may go to an address that is not verified yet: only the mails that
    /// carry an account link do (everything else could carry other people's text to whoever's
    /// address was registered).
    pub fn mails_unverified_addresses(&self) -> bool {
        matches!(self.event.subject, Subject::Account(_))
    }

    /// For mails about a conversation: which conversation, and when the news was made. The
    /// notifier mails only if the recipient has not read the conversation since and has not
    /// been mailed about it within [`MESSAGE_MAIL_WINDOW_SECS`].
    pub fn conversation_gate(&self) -> Option<ConversationGate> {
        match &self.event.subject {
            Subject::Message(message) => Some(ConversationGate {
                conversation_id: message.conversation_id,
                sent_at: message.sent_at,
                window_secs: MESSAGE_MAIL_WINDOW_SECS,
            }),
            Subject::Order(_)
            | Subject::Review(_)
            | Subject::Account(_)
            | Subject::Gig(_)
            | Subject::Funds(_)
            | Subject::Withdrawal(_)
            | Subject::Dispute(_)
            | Subject::AdminRefund(_) => None,
        }
    }
}

/// See [`Notice::conversation_gate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationGate {
    pub conversation_id: Uuid,
    pub sent_at: OffsetDateTime,
    pub window_secs: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gig::{Gig, GigContent, GigStatus, Package, Revisions, Tier};
    use crate::domain::order::{ActionInput, OrderAction, Party};

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-11-25 12:00 UTC)
    }

    fn placed() -> Order {
        let gig = Gig::new(
            Uuid::new_v4(),
            GigContent {
                title: "Logo <b>design</b>".to_owned(),
                description: "d".to_owned(),
                category: "design".to_owned(),
                subcategory: None,
                tags: Vec::new(),
                packages: vec![Package {
                    tier: Tier::Basic,
                    name: "Basic".to_owned(),
                    description: "d".to_owned(),
                    price_cents: 5_005,
                    currency: "EUR".to_owned(),
                    delivery_days: 2,
                    revisions: Revisions::Limited(1),
                    features: Vec::new(),
                }],
            },
            GigStatus::Active,
            now(),
        );
        Order::place(
            Uuid::new_v4(),
            &gig,
            Tier::Basic,
            "Blue".into(),
            &Default::default(),
            now(),
        )
        .unwrap()
    }

    /// A placed order once paid: what its freelancer is first told of.
    fn paid() -> Order {
        step(&placed(), OrderAction::Pay, Actor::system(), None)
    }

    fn step(order: &Order, action: OrderAction, actor: Actor, note: Option<&str>) -> Order {
        order
            .transition(
                action,
                actor,
                ActionInput {
                    note: note.map(str::to_owned),
                    attachments: Vec::new(),
                    files: Vec::new(),
                },
                now(),
            )
            .unwrap()
            .after
    }

    /// The mail of `event` to its recipient in `role`.
    fn mail(event: &Event, role: RecipientRole, name: &str) -> Email {
        let notice = event.notice().unwrap();
        let recipient = notice
            .recipients()
            .into_iter()
            .find(|recipient| recipient.role == role)
            .unwrap_or_else(|| panic!("{} is not mailed to the {role:?}", event.event_type));
        notice.render(&recipient, name)
    }

    /// The notifier sample's event body: what the dispatcher has always queued.
    fn recorded_order_event() -> String {
        let sample: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/notifier/order-paid.json")).unwrap();
        sample["Records"][0]["body"].as_str().unwrap().to_owned()
    }

    #[test]
    fn event_ids_are_derived_from_the_change() {
        let order = placed();
        let event = Event::for_order_change(&order);
        assert_eq!(event.event_id, format!("order:{}:1", order.id));
        assert_eq!(event.event_type, EventType::Order(ChangeKind::Placed));
        assert_eq!(event, Event::for_order_change(&order), "deterministic");
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "order.placed");
        assert_eq!(json["version"], 1);
        assert_eq!(json["actor"]["role"], "client");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    /// Order events read and write exactly the JSON they always had: the recorded body reads,
    /// and writes back to the same value, with the fields in the same order as before subjects
    /// existed (the struct below is that old layout).
    #[test]
    fn order_events_keep_their_wire_format() {
        let recorded = recorded_order_event();
        let event: Event = serde_json::from_str(&recorded).unwrap();
        let Subject::Order(order) = &event.subject else {
            panic!("an order event: {event:?}");
        };
        assert_eq!(order.gig_title, "I will design your logo");
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::from_str::<serde_json::Value>(&recorded).unwrap()
        );

        #[derive(Serialize)]
        struct EventBeforeSubjects<'a> {
            event_id: &'a str,
            #[serde(rename = "type")]
            event_type: &'a str,
            #[serde(with = "time::serde::rfc3339")]
            occurred_at: OffsetDateTime,
            actor: &'a Actor,
            order: &'a Order,
            version: u32,
        }
        let before = EventBeforeSubjects {
            event_id: &event.event_id,
            event_type: "order.paid",
            occurred_at: event.occurred_at,
            actor: &event.actor,
            order,
            version: event.version,
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            serde_json::to_string(&before).unwrap()
        );
    }

    #[test]
    fn event_types_are_subject_dot_kind() {
        use ChangeKind as K;
        for kind in [
            K::Placed,
            K::Accepted,
            K::Rejected,
            K::Delivered,
            K::RevisionRequested,
            K::Completed,
            K::Cancelled,
            K::Late,
        ] {
            let event_type = EventType::Order(kind);
            let name = format!("order.{}", kind.as_str());
            assert_eq!(event_type.to_string(), name);
            assert_eq!(serde_json::to_value(event_type).unwrap(), name.as_str());
            assert_eq!(
                serde_json::from_value::<EventType>(name.into()).unwrap(),
                event_type
            );
        }
        let published = EventType::Review(ReviewEventKind::Published);
        assert_eq!(published.to_string(), "review.published");
        assert_eq!(
            serde_json::from_value::<EventType>("review.published".into()).unwrap(),
            published
        );
        for unknown in ["order.shipped", "gig.placed", "placed", ""] {
            assert!(
                serde_json::from_value::<EventType>(unknown.into()).is_err(),
                "{unknown}"
            );
        }
    }

    #[test]
    fn money_is_written_in_the_currency_s_own_decimals() {
        assert_eq!(format_money(5_005, "EUR"), "EUR 50.05");
        assert_eq!(format_money(1_054, "JPY"), "JPY 1054");
        assert_eq!(format_money(5_005, "KWD"), "KWD 5.005");
    }

    #[test]
    fn recipients_follow_the_spec() {
        use RecipientRole::{Client, Freelancer};
        let order = paid();
        let roles_of = |order: &Order, kind: ChangeKind| -> Vec<RecipientRole> {
            let mut changed = order.clone();
            changed.last_change.kind = kind;
            let event = Event::for_order_change(&changed);
            let recipients = event.notice().unwrap().recipients();
            for recipient in &recipients {
                let expected = match recipient.role {
                    Client => order.client_id,
                    Freelancer => order.freelancer_id,
                    RecipientRole::Participant => panic!("order mails go to its parties"),
                };
                assert_eq!(recipient.user_id, expected);
            }
            recipients.iter().map(|recipient| recipient.role).collect()
        };
        let roles_for = |kind: ChangeKind| roles_of(&order, kind);
        assert_eq!(roles_for(ChangeKind::Placed), []);
        // The client's receipt, the freelancer's new order.
        assert_eq!(roles_for(ChangeKind::Paid), [Client, Freelancer]);
        // An unpaid order is the client's alone: the freelancer never saw it.
        assert_eq!(roles_of(&placed(), ChangeKind::Cancelled), [Client]);
        assert_eq!(roles_for(ChangeKind::Accepted), [Client]);
        assert_eq!(roles_for(ChangeKind::Rejected), [Client]);
        assert_eq!(roles_for(ChangeKind::Delivered), [Client]);
        assert_eq!(roles_for(ChangeKind::RevisionRequested), [Freelancer]);
        assert_eq!(roles_for(ChangeKind::Completed), [Client, Freelancer]);
        assert_eq!(roles_for(ChangeKind::Cancelled), [Client, Freelancer]);
        assert_eq!(roles_for(ChangeKind::Late), [Client, Freelancer]);
    }

    #[test]
    fn emails_are_rendered_per_type_and_recipient_and_escaped() {
        let order = paid();
        let placed_mail = mail(
            &Event::for_order_change(&order),
            RecipientRole::Freelancer,
            "Frida",
        );
        assert_eq!(placed_mail.subject, "New order: Logo <b>design</b>");
        assert!(placed_mail.text.starts_with("Hello Frida,\n\n"));
        assert!(placed_mail.text.contains("EUR 50.05"));
        assert!(
            placed_mail
                .text
                .ends_with(&format!("\n\nOrder {} - Gigmarket", order.id))
        );
        assert!(placed_mail.html.contains("Logo &lt;b&gt;design&lt;/b&gt;"));
        assert!(!placed_mail.html.contains("<b>"));

        let freelancer = Actor::user(order.freelancer_id, Party::Freelancer);
        let rejected = step(&order, OrderAction::Reject, freelancer, Some("Too busy"));
        let rejected_mail = mail(
            &Event::for_order_change(&rejected),
            RecipientRole::Client,
            "Clara",
        );
        assert!(rejected_mail.subject.starts_with("Your order was declined"));
        assert!(rejected_mail.text.contains("Reason: Too busy"));

        let accepted = step(&order, OrderAction::Accept, freelancer, None);
        let delivered = step(&accepted, OrderAction::Deliver, freelancer, Some("Done"));
        let auto = delivered
            .transition(
                OrderAction::AutoComplete,
                Actor::system(),
                ActionInput::default(),
                delivered.auto_complete_at.unwrap(),
            )
            .unwrap()
            .after;
        let event = Event::for_order_change(&auto);
        let to_freelancer = mail(&event, RecipientRole::Freelancer, "Frida");
        let to_client = mail(&event, RecipientRole::Client, "Clara");
        assert!(to_freelancer.text.contains("completed automatically"));
        let net = format_money(order.freelancer_net_cents, "EUR");
        assert!(
            to_freelancer
                .text
                .contains(&format!("You earned {net} (EUR 50.05 less")),
            "{}",
            to_freelancer.text
        );
        assert!(to_client.text.contains("leave a review"));
        for kind in [
            ChangeKind::Accepted,
            ChangeKind::Delivered,
            ChangeKind::RevisionRequested,
            ChangeKind::Cancelled,
            ChangeKind::Late,
        ] {
            let mut changed = delivered.clone();
            changed.last_change.kind = kind;
            let event = Event::for_order_change(&changed);
            let notice = event.notice().unwrap();
            for recipient in notice.recipients() {
                let mail = notice.render(&recipient, "X");
                assert!(!mail.subject.is_empty() && mail.html.starts_with("<!doctype html>"));
            }
        }
    }

    /// A second subject goes through the same schema, checks and mail layout: nothing else
    /// learns about it.
    #[test]
    fn review_events_are_carried_under_their_own_key() {
        let order = placed();
        let event = Event {
            event_id: format!("review:{}:client", order.id),
            event_type: EventType::Review(ReviewEventKind::Published),
            occurred_at: now(),
            actor: Actor::user(order.client_id, Party::Client),
            subject: Subject::Review(ReviewSummary {
                review_id: Uuid::now_v7(),
                order_id: order.id,
                gig_title: order.gig_title.clone(),
                reviewee_id: order.freelancer_id,
                reviewee_role: RecipientRole::Freelancer,
                rating: 5,
                comment: "Great & fast".to_owned(),
                window_closes_at: now(),
            }),
            version: SCHEMA_VERSION,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "review.published");
        assert_eq!(json["review"]["rating"], 5);
        assert!(json.get("order").is_none());
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);

        let notice = event.notice().unwrap();
        assert_eq!(
            notice.recipients(),
            [Recipient {
                user_id: order.freelancer_id,
                role: RecipientRole::Freelancer
            }]
        );
        let review_mail = mail(&event, RecipientRole::Freelancer, "Frida");
        assert_eq!(
            review_mail.subject,
            "New review: 5 stars for Logo <b>design</b>"
        );
        assert!(review_mail.text.contains("Your client reviewed"));
        assert!(review_mail.html.contains("Great &amp; fast"));
    }

    /// Payout events: to the freelancer, ids from the earning's order and the withdrawal, and
    /// the returned part of a withdrawal said as such.
    #[test]
    fn payout_events_go_to_the_freelancer_with_their_amounts() {
        use crate::domain::payout::{
            Earning, EarningStatus, TransferStatus, Withdrawal, WithdrawalTransfer,
        };
        let freelancer_id = Uuid::new_v4();
        let earning = Earning {
            order_id: Uuid::new_v4(),
            freelancer_id,
            currency: "EUR".to_owned(),
            amount_cents: 3_999,
            withdrawn_cents: 0,
            debt_repaid_cents: 0,
            refunded_cents: 0,
            released_by: None,
            status: EarningStatus::Available,
            charge_id: None,
            completed_at: now(),
        };
        let cleared = Event::for_cleared_earning(&earning, now());
        assert_eq!(
            cleared.event_id,
            format!("funds:{}:cleared", earning.order_id)
        );
        let json = serde_json::to_value(&cleared).unwrap();
        assert_eq!(json["type"], "funds.cleared");
        assert_eq!(json["funds"]["amount_cents"], 3_999);
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), cleared);
        let cleared_mail = mail(&cleared, RecipientRole::Freelancer, "Frida");
        assert_eq!(cleared_mail.subject, "EUR 39.99 is available to withdraw");
        assert!(cleared_mail.text.contains(&format!(
            "EUR 39.99 from order {} is now available to withdraw.",
            earning.order_id
        )));
        assert!(!cleared_mail.text.contains("owed"));
        // Part of it paid a debt: the rest is what is said to be available; all of it: no mail.
        let repaying = Earning {
            amount_cents: 5_000,
            debt_repaid_cents: 1_001,
            ..earning.clone()
        };
        let repaying_mail = mail(
            &Event::for_cleared_earning(&repaying, now()),
            RecipientRole::Freelancer,
            "Frida",
        );
        assert_eq!(repaying_mail.subject, "EUR 39.99 is available to withdraw");
        assert!(
            repaying_mail
                .text
                .contains("EUR 10.01 of the order's earnings paid")
        );
        let all_owed = Event::for_cleared_earning(
            &Earning {
                debt_repaid_cents: 5_000,
                ..repaying
            },
            now(),
        );
        assert!(all_owed.notice().unwrap().recipients().is_empty());

        let transfer = |amount_cents, status| WithdrawalTransfer {
            order_id: Uuid::new_v4(),
            amount_cents,
            charge_id: None,
            status,
            transfer_id: None,
            failure: None,
        };
        let mut withdrawal = Withdrawal {
            id: Uuid::now_v7(),
            freelancer_id,
            currency: "EUR".to_owned(),
            amount_cents: 5_000,
            stripe_account_id: "acct_1".to_owned(),
            transfers: vec![
                transfer(3_999, TransferStatus::Confirmed),
                transfer(1_001, TransferStatus::Returned),
            ],
            created_at: now(),
            updated_at: now(),
        };
        let sent = Event::for_withdrawal_sent(&withdrawal);
        assert_eq!(sent.event_id, format!("withdrawal:{}:sent", withdrawal.id));
        assert_eq!(sent.event_type.to_string(), "withdrawal.sent");
        let notice = sent.notice().unwrap();
        assert_eq!(
            notice.recipients(),
            [Recipient {
                user_id: freelancer_id,
                role: RecipientRole::Freelancer
            }]
        );
        let partly = notice.render(&notice.recipients()[0], "Frida");
        assert_eq!(partly.subject, "EUR 39.99 is on its way to you");
        assert!(
            partly
                .text
                .contains("EUR 10.01 could not be transferred and is available again."),
            "{}",
            partly.text
        );
        withdrawal.transfers[0].status = TransferStatus::Sent;
        withdrawal.transfers.pop();
        let whole = mail(
            &Event::for_withdrawal_sent(&withdrawal),
            RecipientRole::Freelancer,
            "Frida",
        );
        assert!(!whole.text.contains("could not be transferred"));
        withdrawal.transfers[0].status = TransferStatus::Returned;
        let refused = mail(
            &Event::for_withdrawal_sent(&withdrawal),
            RecipientRole::Freelancer,
            "Frida",
        );
        assert_eq!(refused.subject, "Your withdrawal could not be transferred");
        assert!(refused.text.contains("EUR 39.99 could not be transferred"));
    }

    #[test]
    fn events_this_build_can_not_mail_are_refused() {
        let mut event: Event = serde_json::from_str(&recorded_order_event()).unwrap();
        event.version = 2;
        assert_eq!(
            event.notice().unwrap_err(),
            UnmailableEvent::UnknownVersion(2)
        );
        event.version = SCHEMA_VERSION;
        event.event_type = EventType::Review(ReviewEventKind::Published);
        assert!(matches!(
            event.notice().unwrap_err(),
            UnmailableEvent::TypeOfAnotherSubject {
                subject: "order",
                ..
            }
        ));
        let mut json: serde_json::Value = serde_json::from_str(&recorded_order_event()).unwrap();
        json["type"] = "order.teleported".into();
        assert!(serde_json::from_value::<Event>(json).is_err());
    }

    /// Messaging: a message event is carried under `message`, mailed to its recipient only,
    /// with a preview, and gated by its conversation.
    #[test]
    fn message_events_go_to_the_recipient_and_are_gated_by_the_conversation() {
        use crate::domain::message::Message;
        use crate::domain::user::{Caller, Role};
        let sender = Caller {
            id: Uuid::new_v4(),
            role: Role::Client,
            session: None,
        };
        let recipient_id = Uuid::new_v4();
        let message = Message::new(
            Uuid::new_v4(),
            sender,
            recipient_id,
            format!("<b>Hi</b> {}", "x".repeat(300)),
            now(),
        );
        let event = Event::for_message(&message);
        assert_eq!(event.event_id, format!("message:{}", message.id));
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "message.received");
        assert_eq!(json["message"]["recipient_id"], recipient_id.to_string());
        assert_eq!(json["actor"]["role"], "client");
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
        let notice = event.notice().unwrap();
        let recipients = notice.recipients();
        assert_eq!(recipients.len(), 1);
        assert_eq!(recipients[0].user_id, recipient_id);
        let mail = notice.render(&recipients[0], "Rita");
        assert!(mail.text.starts_with("Hello Rita,"));
        assert!(mail.html.contains("&lt;b&gt;Hi"));
        assert!(
            !mail.text.contains(&"x".repeat(200)),
            "a preview, not the text"
        );
        let gate = notice.conversation_gate().expect("gated");
        assert_eq!(gate.conversation_id, message.conversation_id);
        assert_eq!(gate.window_secs, 15 * 60);
        let order_event: Event = serde_json::from_str(&recorded_order_event()).unwrap();
        assert!(order_event.notice().unwrap().conversation_gate().is_none());
    }
}

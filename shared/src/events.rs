//! The one event schema on the order-events queue, and how each event reads as an email.
//!
//! The dispatcher builds events from DynamoDB stream records; the notifier renders them. Both sides
//! use these types, so the wire format has one definition. `version` is the schema version: a
//! consumer that sees a version it does not know leaves the message for the DLQ instead of
//! guessing. `event_id` is derived from the change itself (`order:<order_id>:<timeline seq>`), so a
//! stream record delivered twice yields the same id and the notifier sends nothing twice.
//!
//! Rendering is pure: subject, plain text and HTML per event type and recipient.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::order::{Actor, ChangeKind, Order, Party};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "order.placed")]
    OrderPlaced,
    #[serde(rename = "order.accepted")]
    OrderAccepted,
    #[serde(rename = "order.rejected")]
    OrderRejected,
    #[serde(rename = "order.delivered")]
    OrderDelivered,
    #[serde(rename = "order.revision_requested")]
    OrderRevisionRequested,
    #[serde(rename = "order.completed")]
    OrderCompleted,
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    #[serde(rename = "order.late")]
    OrderLate,
    /// Reserved for the reviews feature: rendered already, not yet produced.
    #[serde(rename = "review.posted")]
    ReviewPosted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderPlaced => "order.placed",
            Self::OrderAccepted => "order.accepted",
            Self::OrderRejected => "order.rejected",
            Self::OrderDelivered => "order.delivered",
            Self::OrderRevisionRequested => "order.revision_requested",
            Self::OrderCompleted => "order.completed",
            Self::OrderCancelled => "order.cancelled",
            Self::OrderLate => "order.late",
            Self::ReviewPosted => "review.posted",
        }
    }

    pub fn for_change(kind: ChangeKind) -> Self {
        match kind {
            ChangeKind::Placed => Self::OrderPlaced,
            ChangeKind::Accepted => Self::OrderAccepted,
            ChangeKind::Rejected => Self::OrderRejected,
            ChangeKind::Delivered => Self::OrderDelivered,
            ChangeKind::RevisionRequested => Self::OrderRevisionRequested,
            ChangeKind::Completed => Self::OrderCompleted,
            ChangeKind::Cancelled => Self::OrderCancelled,
            ChangeKind::Late => Self::OrderLate,
        }
    }

    /// Who is told: placed and revision requests go to the freelancer (they must act), answers
    /// and deliveries to the client, endings and lateness to both.
    pub fn recipients(self) -> &'static [Recipient] {
        use Recipient::{Client, Freelancer};
        match self {
            Self::OrderPlaced | Self::OrderRevisionRequested | Self::ReviewPosted => &[Freelancer],
            Self::OrderAccepted | Self::OrderRejected | Self::OrderDelivered => &[Client],
            Self::OrderCompleted | Self::OrderCancelled | Self::OrderLate => &[Client, Freelancer],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    Client,
    Freelancer,
}

/// A review, as `review.posted` will carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewSummary {
    pub rating: u8,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor: Actor,
    /// The order as it was right after the change.
    pub order: Order,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewSummary>,
    pub version: u32,
}

impl Event {
    /// The event for the order's latest change (`order.last_change`).
    pub fn for_order_change(order: &Order) -> Self {
        let change = &order.last_change;
        Self {
            event_id: format!("order:{}:{}", order.id, change.seq),
            event_type: EventType::for_change(change.kind),
            occurred_at: change.at,
            actor: change.actor,
            order: order.clone(),
            review: None,
            version: SCHEMA_VERSION,
        }
    }

    pub fn recipient_id(&self, recipient: Recipient) -> uuid::Uuid {
        match recipient {
            Recipient::Client => self.order.client_id,
            Recipient::Freelancer => self.order.freelancer_id,
        }
    }
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `5000` `EUR` -> `EUR 50.00`.
pub fn format_money(cents: u64, currency: &str) -> String {
    format!("{currency} {}.{:02}", cents / 100, cents % 100)
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn date(at: Option<OffsetDateTime>) -> String {
    at.map(|at| {
        format!(
            "{} {:02}, {} {:02}:{:02} UTC",
            at.month(),
            at.day(),
            at.year(),
            at.hour(),
            at.minute()
        )
    })
    .unwrap_or_else(|| "-".to_owned())
}

/// Renders `event` for `recipient`, greeting them by `recipient_name`.
pub fn render(event: &Event, recipient: Recipient, recipient_name: &str) -> Email {
    let order = &event.order;
    let title = &order.gig_title;
    let price = format_money(order.price_cents, &order.currency);
    let note = order.last_change.note.clone();
    let by_system = event.actor.role == Party::System;
    let (subject, lines): (String, Vec<String>) = match (event.event_type, recipient) {
        (EventType::OrderPlaced, _) => (
            format!("New order: {title}"),
            vec![
                format!("You have a new order for \"{title}\" ({price})."),
                format!("Requirements: {}", order.requirements),
                "Accept or reject it from your orders page.".to_owned(),
            ],
        ),
        (EventType::OrderAccepted, _) => (
            format!("Your order was accepted: {title}"),
            vec![
                format!("The freelancer accepted your order for \"{title}\"."),
                format!("Expected delivery: {}.", date(order.due_at)),
            ],
        ),
        (EventType::OrderRejected, _) => (
            format!("Your order was declined: {title}"),
            vec![
                format!("The freelancer declined your order for \"{title}\"."),
                format!("Reason: {}", note.unwrap_or_default()),
            ],
        ),
        (EventType::OrderDelivered, _) => {
            let mut lines = vec![
                format!("Your order for \"{title}\" has been delivered."),
                format!("Message: {}", note.unwrap_or_default()),
            ];
            lines.extend(
                order
                    .last_change
                    .attachments
                    .iter()
                    .map(|url| format!("Attachment: {url}")),
            );
            lines.push(format!(
                "Complete it or request a revision; it completes by itself on {}.",
                date(order.auto_complete_at)
            ));
            (format!("Delivered: {title}"), lines)
        }
        (EventType::OrderRevisionRequested, _) => (
            format!("Revision requested: {title}"),
            vec![
                format!("The client asked for a revision of \"{title}\"."),
                format!("Message: {}", note.unwrap_or_default()),
            ],
        ),
        (EventType::OrderCompleted, who) => (
            format!("Order completed: {title}"),
            vec![
                if by_system {
                    format!(
                        "The order for \"{title}\" completed automatically 3 days after delivery."
                    )
                } else {
                    format!("The client marked the order for \"{title}\" as complete.")
                },
                match who {
                    Recipient::Freelancer => format!("You earned {price}. Thank you!"),
                    Recipient::Client => {
                        "Thank you for your order. You can now leave a review.".to_owned()
                    }
                },
            ],
        ),
        (EventType::OrderCancelled, _) => (
            format!("Order cancelled: {title}"),
            vec![
                format!("The order for \"{title}\" ({price}) was cancelled."),
                format!("Reason: {}", note.unwrap_or_default()),
            ],
        ),
        (EventType::OrderLate, who) => (
            format!("Order overdue: {title}"),
            vec![
                format!(
                    "The order for \"{title}\" was due on {} and has not been delivered.",
                    date(order.due_at)
                ),
                match who {
                    Recipient::Freelancer => "Please deliver as soon as you can.".to_owned(),
                    Recipient::Client => {
                        "You may contact the freelancer or ask support to cancel.".to_owned()
                    }
                },
            ],
        ),
        (EventType::ReviewPosted, _) => {
            let review = event.review.clone().unwrap_or(ReviewSummary {
                rating: 0,
                comment: String::new(),
            });
            (
                format!("New review: {} stars for {title}", review.rating),
                vec![
                    format!("Your client reviewed \"{title}\": {} / 5.", review.rating),
                    format!("\"{}\"", review.comment),
                ],
            )
        }
    };
    let greeting = format!("Hello {recipient_name},");
    let footer = format!("Order {} - Gigmarket", order.id);
    let text = std::iter::once(greeting.clone())
        .chain(std::iter::once(String::new()))
        .chain(lines.iter().cloned())
        .chain([String::new(), footer.clone()])
        .collect::<Vec<_>>()
        .join("\n");
    let html = format!(
        "<!doctype html><html><body><p>{}</p>{}<p style=\"color:#888\">{}</p></body></html>",
        escape_html(&greeting),
        lines
            .iter()
            .map(|line| format!("<p>{}</p>", escape_html(line)))
            .collect::<String>(),
        escape_html(&footer)
    );
    Email {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gig::{Gig, GigContent, GigStatus, Package, Revisions, Tier};
    use crate::domain::order::{ActionInput, OrderAction};
    use uuid::Uuid;

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
        Order::place(Uuid::new_v4(), &gig, Tier::Basic, "Blue".into(), now()).unwrap()
    }

    fn step(order: &Order, action: OrderAction, actor: Actor, note: Option<&str>) -> Order {
        order
            .transition(
                action,
                actor,
                ActionInput {
                    note: note.map(str::to_owned),
                    attachments: Vec::new(),
                },
                now(),
            )
            .unwrap()
            .after
    }

    #[test]
    fn event_ids_are_derived_from_the_change() {
        let order = placed();
        let event = Event::for_order_change(&order);
        assert_eq!(event.event_id, format!("order:{}:1", order.id));
        assert_eq!(event.event_type, EventType::OrderPlaced);
        assert_eq!(event, Event::for_order_change(&order), "deterministic");
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "order.placed");
        assert_eq!(json["version"], 1);
        assert_eq!(json["actor"]["role"], "client");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn recipients_follow_the_spec() {
        use Recipient::{Client, Freelancer};
        assert_eq!(EventType::OrderPlaced.recipients(), [Freelancer]);
        assert_eq!(EventType::OrderAccepted.recipients(), [Client]);
        assert_eq!(EventType::OrderRejected.recipients(), [Client]);
        assert_eq!(EventType::OrderDelivered.recipients(), [Client]);
        assert_eq!(EventType::OrderRevisionRequested.recipients(), [Freelancer]);
        assert_eq!(EventType::OrderCompleted.recipients(), [Client, Freelancer]);
        assert_eq!(EventType::OrderCancelled.recipients(), [Client, Freelancer]);
        assert_eq!(EventType::ReviewPosted.recipients(), [Freelancer]);
    }

    #[test]
    fn emails_are_rendered_per_type_and_recipient_and_escaped() {
        let order = placed();
        let placed_mail = render(
            &Event::for_order_change(&order),
            Recipient::Freelancer,
            "Frida",
        );
        assert_eq!(placed_mail.subject, "New order: Logo <b>design</b>");
        assert!(placed_mail.text.starts_with("Hello Frida,"));
        assert!(placed_mail.text.contains("EUR 50.05"));
        assert!(placed_mail.html.contains("Logo &lt;b&gt;design&lt;/b&gt;"));
        assert!(!placed_mail.html.contains("<b>"));

        let freelancer = Actor::user(order.freelancer_id, Party::Freelancer);
        let rejected = step(&order, OrderAction::Reject, freelancer, Some("Too busy"));
        let mail = render(
            &Event::for_order_change(&rejected),
            Recipient::Client,
            "Clara",
        );
        assert!(mail.subject.starts_with("Your order was declined"));
        assert!(mail.text.contains("Reason: Too busy"));

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
        let to_freelancer = render(&event, Recipient::Freelancer, "Frida");
        let to_client = render(&event, Recipient::Client, "Clara");
        assert!(to_freelancer.text.contains("completed automatically"));
        assert!(to_freelancer.text.contains("You earned EUR 50.05"));
        assert!(to_client.text.contains("leave a review"));
        for event_type in [
            EventType::OrderAccepted,
            EventType::OrderDelivered,
            EventType::OrderRevisionRequested,
            EventType::OrderCancelled,
            EventType::OrderLate,
            EventType::ReviewPosted,
        ] {
            let mut event = Event::for_order_change(&delivered);
            event.event_type = event_type;
            for recipient in event_type.recipients() {
                let mail = render(&event, *recipient, "X");
                assert!(!mail.subject.is_empty() && mail.html.starts_with("<!doctype html>"));
            }
        }
    }
}

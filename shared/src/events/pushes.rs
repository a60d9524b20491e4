//! The pushes that mirror an event: a sent message, an order's change and a published review
//! reach the socket with the event's type and id, so a client matches a push with what it mirrors and drops a retried
//! one it already has. They live beside the events, which the domain does not know.

use crate::domain::message::Message;
use crate::domain::order::{Order, Party};
use crate::domain::realtime::{Delivery, Push};
use crate::domain::review::Review;
use crate::events::Event;
use crate::events::ReviewEventKind;

/// A sent message, to its recipient: the message itself, whose time-ordered id and
/// conversation id let a client order it and catch up (`after=<id>`) after a reconnect.
pub fn message_received(message: &Message) -> serde_json::Result<Delivery> {
    let event = Event::for_message(message);
    Ok(Delivery {
        to: vec![message.recipient_id],
        push: Push {
            push_type: event.event_type.to_string(),
            id: event.event_id,
            at: event.occurred_at,
            data: serde_json::to_value(message)?,
        },
    })
}

/// An order's change, to the parties who may see it, with the order's new status and version (a
/// client reloads the order if it wants more).
pub fn order_changed(order: &Order) -> Delivery {
    let event = Event::for_order_change(order);
    Delivery {
        // The freelancer hears of an order only once it is paid, as they see it.
        to: [
            (order.client_id, Party::Client),
            (order.freelancer_id, Party::Freelancer),
        ]
        .into_iter()
        .filter(|(_, party)| order.visible_to(*party))
        .map(|(id, _)| id)
        .collect(),
        push: Push {
            push_type: event.event_type.to_string(),
            id: event.event_id,
            at: event.occurred_at,
            data: serde_json::json!({
                "order_id": order.id,
                "status": order.status,
                "version": order.version,
            }),
        },
    }
}

/// A published review, to both parties of its order: the reviewed party reads it, and its author
/// learns it is out (a sealed review is published by the other side's review or the window's
/// close, neither of them the author's doing). The review as the REST API shows it.
pub fn review_published(review: &Review) -> serde_json::Result<Delivery> {
    let event = Event::for_review(review, ReviewEventKind::Published);
    Ok(Delivery {
        to: vec![review.reviewee_id, review.author_id],
        push: Push {
            push_type: event.event_type.to_string(),
            id: event.event_id,
            at: event.occurred_at,
            data: serde_json::to_value(review)?,
        },
    })
}

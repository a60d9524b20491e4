//! Order events (`order.<change kind>`): who is told of each change and what they read.

use super::mail::{Message, format_date, format_money};
use super::{Recipient, RecipientRole};
use crate::domain::order::{Actor, ChangeKind, Order, OrderStatus, Party};

/// A paid order goes to the freelancer (they must act) and, as a receipt, to the client;
/// revision requests to the freelancer, answers and deliveries to the client, endings and
/// lateness to both. Only to whom the order is visible: a placed order is nobody's mail, and the
/// freelancer hears of an order only once it is paid (an unpaid order's cancel is the client's
/// alone).
pub(super) fn recipients(kind: ChangeKind, order: &Order) -> Vec<Recipient> {
    use ChangeKind as K;
    use RecipientRole::{Client, Freelancer};
    let roles: &[RecipientRole] = match kind {
        K::Placed => &[],
        K::RevisionRequested => &[Freelancer],
        K::Accepted | K::Rejected | K::Delivered => &[Client],
        K::Paid | K::Completed | K::Cancelled | K::Late => &[Client, Freelancer],
    };
    roles
        .iter()
        .filter(|&&role| match role {
            Freelancer => order.visible_to(Party::Freelancer),
            _ => true,
        })
        .map(|&role| Recipient {
            user_id: match role {
                Client => order.client_id,
                Freelancer => order.freelancer_id,
                RecipientRole::Participant => unreachable!("order mails go to its parties"),
            },
            role,
        })
        .collect()
}

pub(super) fn message(
    kind: ChangeKind,
    order: &Order,
    actor: &Actor,
    recipient: RecipientRole,
) -> Message {
    let title = &order.gig_title;
    let price = format_money(order.price_cents, &order.currency);
    let note = order.last_change.note.clone().unwrap_or_default();
    // A refunded order tells its client so, with the amount.
    let refund_line = order.refund.as_ref().map(|refund| {
        format!(
            "Your payment of {} is refunded in full; your bank shows it within 5 to 10 business days.",
            format_money(refund.amount_cents, &order.currency)
        )
    });
    let (subject, mut lines) = match kind {
        ChangeKind::Paid if recipient == RecipientRole::Client => {
            let total = format_money(order.client_total_cents, &order.currency);
            let fee = format_money(order.service_fee_cents, &order.currency);
            if order.status == OrderStatus::Cancelled {
                (
                    format!("Payment refunded: {title}"),
                    vec![format!(
                        "Your payment of {total} for \"{title}\" arrived after the order was cancelled."
                    )],
                )
            } else {
                (
                    format!("Receipt: {title}"),
                    vec![
                        format!("We received your payment of {total} for \"{title}\"."),
                        format!("Price {price}, service fee {fee}."),
                        "We hold it until you accept the delivery; the freelancer has your order now."
                            .to_owned(),
                    ],
                )
            }
        }
        ChangeKind::Placed | ChangeKind::Paid => (
            format!("New order: {title}"),
            vec![
                format!("You have a new order for \"{title}\" ({price})."),
                format!("Requirements: {}", order.requirements),
                "Accept or reject it from your orders page.".to_owned(),
            ],
        ),
        ChangeKind::Accepted => (
            format!("Your order was accepted: {title}"),
            vec![
                format!("The freelancer accepted your order for \"{title}\"."),
                format!("Expected delivery: {}.", format_date(order.due_at)),
            ],
        ),
        ChangeKind::Rejected => (
            format!("Your order was declined: {title}"),
            vec![
                format!("The freelancer declined your order for \"{title}\"."),
                format!("Reason: {note}"),
            ],
        ),
        ChangeKind::Delivered => {
            let mut lines = vec![
                format!("Your order for \"{title}\" has been delivered."),
                format!("Message: {note}"),
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
                format_date(order.auto_complete_at)
            ));
            (format!("Delivered: {title}"), lines)
        }
        ChangeKind::RevisionRequested => (
            format!("Revision requested: {title}"),
            vec![
                format!("The client asked for a revision of \"{title}\"."),
                format!("Message: {note}"),
            ],
        ),
        ChangeKind::Completed => (
            format!("Order completed: {title}"),
            vec![
                if actor.role == Party::System {
                    format!(
                        "The order for \"{title}\" completed automatically 3 days after delivery."
                    )
                } else {
                    format!("The client marked the order for \"{title}\" as complete.")
                },
                match recipient {
                    RecipientRole::Freelancer => format!(
                        "You earned {} ({price} less the platform's commission). Thank you!",
                        format_money(order.freelancer_net_cents, &order.currency)
                    ),
                    RecipientRole::Client | RecipientRole::Participant => {
                        "Thank you for your order. You can now leave a review.".to_owned()
                    }
                },
            ],
        ),
        ChangeKind::Cancelled => (
            format!("Order cancelled: {title}"),
            vec![
                if actor.role == Party::Admin {
                    format!(
                        "An administrator of Gigmarket cancelled the order for \"{title}\" ({price})."
                    )
                } else {
                    format!("The order for \"{title}\" ({price}) was cancelled.")
                },
                format!("Reason: {note}"),
            ],
        ),
        ChangeKind::Late => (
            format!("Order overdue: {title}"),
            vec![
                format!(
                    "The order for \"{title}\" was due on {} and has not been delivered.",
                    format_date(order.due_at)
                ),
                match recipient {
                    RecipientRole::Freelancer => "Please deliver as soon as you can.".to_owned(),
                    RecipientRole::Client | RecipientRole::Participant => {
                        "You may contact the freelancer or ask support to cancel.".to_owned()
                    }
                },
            ],
        ),
    };
    if recipient == RecipientRole::Client
        && let Some(line) = refund_line
    {
        lines.push(line);
    }
    Message {
        subject,
        lines,
        footer: format!("Order {} - Gigmarket", order.id),
    }
}

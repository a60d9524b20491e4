//! `notifier`: events from SQS -> emails through SES, to the recipients each event names, worded
//! by `gigmarket_shared::events` (this function knows no event type or subject).
//!
//! Exactly once per (event, recipient) as far as people can tell: before sending, the notifier
//! claims a dedupe record (conditional put, TTL 7 days); after SES accepts the mail the record is
//! marked sent, and a redelivered event finds it and sends nothing. A failed send releases the
//! claim and reports the message in `batchItemFailures`, so only that message is retried, and
//! only for the recipients it has not mailed; a claim left by a crashed invocation can be taken
//! over once its lease has passed. So a mail goes out twice only if SES accepted it and the mark
//! was never written (the invocation died in between, or SES's answer was lost and the send
//! retried): SES takes no idempotency key. Messages that
//! keep failing (unparsable, unknown schema version, a type that is not its subject's) reach the DLQ after the queue's
//! maxReceiveCount.

use anyhow::{Context, bail};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use gigmarket_shared::domain::user::User;
use gigmarket_shared::events::{Email, Event, Notice, Recipient};
use gigmarket_shared::store::Store;
use gigmarket_shared::store::orders::MailClaim;
use gigmarket_shared::triggers;
use gigmarket_shared::unix_now;
use lambda_runtime::Diagnostic;

/// Longer than the notifier may run, so a live sender's claim is never taken over.
pub const MAIL_CLAIM_LEASE_SECS: i64 = 120;
/// Longer than any redelivery (SQS keeps messages 4 days by default).
pub const MAIL_DEDUPE_TTL_SECS: i64 = 7 * 24 * 3600;

pub struct Notifier {
    pub store: Store,
    pub ses: aws_sdk_ses::Client,
    /// A verified SES identity.
    pub sender: String,
}

impl Notifier {
    /// The invocation: an SQS batch is handled; any other payload (a stream batch, an API
    /// request, `{}`, a message without an id) is refused as the invocation's error and mails
    /// nobody, so no partial batch failure ever names an empty `itemIdentifier`. The refusal's
    /// `errorType` is `WrongTrigger`.
    pub async fn on_invocation(
        &self,
        payload: serde_json::Value,
    ) -> Result<SqsBatchResponse, Diagnostic> {
        let batch = triggers::sqs_batch(payload)?;
        Ok(self.handle(batch).await)
    }

    /// Handles one SQS batch; the response names only the messages that failed.
    pub async fn handle(&self, batch: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for message in &batch.records {
            if let Err(error) = self.process(message).await {
                tracing::error!(
                    error = format!("{error:#}"),
                    message_id = message.message_id.as_deref().unwrap_or_default(),
                    "notification failed; the message will be retried"
                );
                response.add_failure(message.message_id.clone().unwrap_or_default());
            }
        }
        response
    }

    /// Mails every recipient of the message's event. A recipient whose mail fails does not keep
    /// the others from theirs: each is tried, and the message fails if any did (a retry then
    /// finds the others' claims marked sent and mails only the one that failed).
    async fn process(&self, message: &SqsMessage) -> anyhow::Result<()> {
        let body = message.body.as_deref().context("message without body")?;
        let event: Event = serde_json::from_str(body).context("not an event")?;
        let notice = event.notice()?;
        let mut first_failure = None;
        for recipient in notice.recipients() {
            if let Err(error) = self.mail(&notice, &recipient).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    event_id = event.event_id,
                    user_id = %recipient.user_id,
                    "mail failed"
                );
                first_failure.get_or_insert(error);
            }
        }
        first_failure.map_or(Ok(()), Err)
    }

    /// Mails one recipient once: claim, send, mark sent (or release the claim if the send fails).
    async fn mail(&self, notice: &Notice<'_>, recipient: &Recipient) -> anyhow::Result<()> {
        let event = notice.event();
        let user_id = recipient.user_id;
        let Some(user) = self.store.get_user(user_id).await? else {
            tracing::warn!(%user_id, event_id = event.event_id, "recipient not found; skipped");
            return Ok(());
        };
        match self
            .store
            .claim_mail(
                &event.event_id,
                user_id,
                unix_now(),
                MAIL_CLAIM_LEASE_SECS,
                MAIL_DEDUPE_TTL_SECS,
            )
            .await?
        {
            MailClaim::AlreadySent => {
                tracing::info!(event_id = event.event_id, %user_id, "already mailed");
                return Ok(());
            }
            MailClaim::InFlight => bail!("another delivery of this event is mailing {user_id}"),
            MailClaim::Claimed => {}
        }
        if let Some(reason) = self.suppressed(notice, &user).await? {
            // Handled: a redelivery finds the claim marked and sends nothing either.
            self.store
                .mark_mail_sent(&event.event_id, user_id, reason)
                .await?;
            tracing::info!(event_id = event.event_id, %user_id, reason, "not mailed");
            return Ok(());
        }
        let email = notice.render(recipient, &user.name);
        match self.send(&user.email, &email).await {
            Ok(message_id) => {
                gigmarket_shared::emf::count(gigmarket_shared::emf::MAILS_SENT, 1);
                self.store
                    .mark_mail_sent(&event.event_id, user_id, &message_id)
                    .await?;
                tracing::info!(
                    event_id = event.event_id,
                    event_type = %event.event_type,
                    %user_id,
                    "mailed"
                );
                Ok(())
            }
            Err(error) => {
                gigmarket_shared::emf::count(gigmarket_shared::emf::MAIL_FAILURES, 1);
                self.store.release_mail(&event.event_id, user_id).await?;
                Err(error)
            }
        }
    }

    /// Why a mail is not sent, if it is not: the recipient's address is not verified and the
    /// mail is not one of the account links (so nobody's text reaches an address someone else
    /// registered); or, for a conversation's mail, the recipient has read the conversation since
    /// the message, or was mailed about it within the window (whose slot this takes otherwise).
    async fn suppressed(
        &self,
        notice: &Notice<'_>,
        user: &User,
    ) -> anyhow::Result<Option<&'static str>> {
        if !user.email_verified && !notice.mails_unverified_addresses() {
            return Ok(Some("suppressed: email not verified"));
        }
        let user_id = user.id;
        let Some(gate) = notice.conversation_gate() else {
            return Ok(None);
        };
        let read = self
            .store
            .inbox_entry(gate.conversation_id, user_id)
            .await?
            .and_then(|entry| entry.last_read_at)
            .is_some_and(|read_at| read_at >= gate.sent_at);
        if read {
            return Ok(Some("suppressed: already read"));
        }
        let slot = self
            .store
            .take_message_mail_slot(gate.conversation_id, user_id, unix_now(), gate.window_secs)
            .await?;
        Ok((!slot).then_some("suppressed: mailed about this conversation lately"))
    }

    async fn send(&self, to: &str, email: &Email) -> anyhow::Result<String> {
        let content = |data: &str| Content::builder().data(data).charset("UTF-8").build();
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .text(content(&email.text)?)
                    .html(content(&email.html)?)
                    .build(),
            )
            .build();
        let output = self
            .ses
            .send_email()
            .source(&self.sender)
            .destination(Destination::builder().to_addresses(to).build())
            .message(message)
            .send()
            .await
            .map_err(|error| anyhow::anyhow!("{}", aws_sdk_ses::error::DisplayErrorContext(error)))
            .context("SES SendEmail")?;
        Ok(output.message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_event_carries_an_order_event() {
        let sample = include_str!("../../../events/notifier/order-paid.json");
        let batch: SqsEvent = serde_json::from_str(sample).unwrap();
        let event: Event = serde_json::from_str(batch.records[0].body.as_deref().unwrap()).unwrap();
        assert!(event.notice().is_ok(), "a known version and type");
        assert_eq!(event.event_type.to_string(), "order.paid");
    }
}

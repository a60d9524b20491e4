//! Sending the mails that carry account links: an `account` event straight to the events queue
//! (the one the dispatcher feeds; the notifier mails it). Only after the token's write has
//! committed; a failed send is logged (without the link) and the user asks again
//! (`/auth/verify/resend`, `/auth/password/forgot`): the request itself has succeeded.

use anyhow::Context;
use aws_sdk_sqs::types::MessageAttributeValue;
use gigmarket_shared::app::account_tokens::AccountMail;
use gigmarket_shared::aws;
use gigmarket_shared::domain::account_token::TokenPurpose;
use gigmarket_shared::events::{AccountEventKind, AccountSummary, Event};
use gigmarket_shared::web::AppState;
use time::OffsetDateTime;
use tokio::sync::OnceCell;

/// Built on the first mail of a cold start and reused, like the clients `main` builds; the
/// routers (also built by the tests) keep the shared `AppState`.
static SQS: OnceCell<aws_sdk_sqs::Client> = OnceCell::const_new();

/// The event for `mail`: its link opens the web app's page for the token's purpose.
pub fn event_for(mail: &AccountMail, app_base_url: &str, now: OffsetDateTime) -> Event {
    let (kind, page) = match mail.purpose {
        TokenPurpose::EmailVerification => {
            (AccountEventKind::VerificationRequested, "verify-email")
        }
        TokenPurpose::PasswordReset => (AccountEventKind::PasswordResetRequested, "reset-password"),
    };
    let base = app_base_url.trim_end_matches('/');
    let summary = AccountSummary {
        user_id: mail.user_id,
        // Our tokens are base64url: nothing to escape in a query.
        link: format!("{base}/{page}?token={}", mail.token),
        expires_at: OffsetDateTime::from_unix_timestamp(mail.expires_at).unwrap_or(now),
    };
    Event::for_account(kind, summary, now)
}

pub async fn send(state: &AppState, mail: &AccountMail) {
    let Some(queue_url) = state.config.order_events_queue_url.as_deref() else {
        tracing::warn!(
            ?mail,
            "ORDER_EVENTS_QUEUE_URL is not set: account mail not sent"
        );
        return;
    };
    let event = event_for(mail, &state.config.app_base_url, OffsetDateTime::now_utc());
    match send_event(queue_url, &event).await {
        Ok(()) => {
            tracing::info!(event_id = event.event_id, event_type = %event.event_type, user_id = %mail.user_id, "account mail queued")
        }
        Err(error) => tracing::error!(
            error = format!("{error:#}"),
            event_type = %event.event_type,
            user_id = %mail.user_id,
            "account mail not queued; the user can ask for another"
        ),
    }
}

async fn send_event(queue_url: &str, event: &Event) -> anyhow::Result<()> {
    let sqs = SQS
        .get_or_init(|| async { aws::sqs(&aws::sdk_config().await) })
        .await;
    let event_type = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(event.event_type.to_string())
        .build()?;
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(serde_json::to_string(event)?)
        .message_attributes("event_type", event_type)
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(error)))
        .context("SQS SendMessage")?;
    Ok(())
}

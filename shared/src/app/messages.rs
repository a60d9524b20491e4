//! Messaging use cases: open (or continue) a conversation, send, read, list the inbox and a
//! conversation's messages. Who may talk is decided here; the store writes each step as one
//! transaction (see `store::messages`).

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::verified_caller;
use crate::domain::file::CheckedFile;
use crate::domain::gig::GigStatus;
use crate::domain::message::{
    self, Context, ConversationView, InboxEntry, Message, OpenConversation, SendMessage,
};
use crate::domain::quota::{QuotaKind, QuotaLimits};
use crate::domain::user::Caller;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, Page, PageParams};
use crate::store::Store;
use crate::store::messages::{OpenLimit, Opening, Sending};

/// Reading a conversation retries this often when messages keep arriving meanwhile.
const MARK_READ_ATTEMPTS: u32 = 5;

/// What `POST /conversations` and `POST /conversations/{id}/messages` answer.
#[derive(Debug, Serialize)]
pub struct Sent {
    pub conversation: ConversationView,
    pub message: Message,
    /// Whether this request created the conversation (201) or added to an existing one (200).
    #[serde(skip)]
    pub created: bool,
}

/// `POST /conversations`: the conversation between the caller and the participant about the
/// context, with `text` as its first message, or the existing one with `text` added.
pub async fn open(
    store: &Store,
    caller: Caller,
    request: &OpenConversation,
    max_per_hour: u32,
    quotas: &QuotaLimits,
    now: OffsetDateTime,
) -> ApiResult<Sent> {
    let (context, text) = request.validate(caller.id)?;
    let sender = verified_caller(store, caller).await?;
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller);
    if sender.is_blocked() {
        return Err(ApiError::AccountBlocked);
    }
    let participant_id = request.participant_id;
    let conversation_id = message::conversation_id(caller.id, participant_id, &context);
    let message = Message::new(conversation_id, caller, participant_id, text, now);
    // An existing conversation was allowed when it was opened; it only takes the new message.
    if store
        .inbox_entry(conversation_id, caller.id)
        .await?
        .is_some()
    {
        return send_into(store, caller, &message, &[], quotas, now).await;
    }
    let participant = store
        .get_user(participant_id)
        .await?
        .ok_or(ApiError::NotFound("participant"))?;
    if sender.is_blocked() || participant.is_blocked() {
        return Err(blocked());
    }
    check_context(store, caller, participant_id, &context).await?;
    let (sender_entry, recipient_entry) =
        InboxEntry::pair(&message, &sender.name, &participant.name, context);
    let (hour_start, retry_after_secs) = message::hour_window(now);
    let limit = OpenLimit {
        hour_start,
        max_per_hour,
    };
    // The counter outlives its hour by a little, so a late transaction never sees it gone.
    let expires_at = hour_start + 2 * 3600;
    match store
        .open_conversation(
            (&sender_entry, &recipient_entry),
            &message,
            limit,
            expires_at,
        )
        .await?
    {
        Opening::Created => Ok(Sent {
            conversation: sender_entry.into(),
            message,
            created: true,
        }),
        // A racing request opened it first: this message joins it.
        Opening::Exists => send_into(store, caller, &message, &[], quotas, now).await,
        Opening::SenderBlocked | Opening::RecipientBlocked => Err(blocked()),
        Opening::RateLimited => Err(ApiError::TooManyRequests {
            retry_after_secs,
            detail: format!(
                "you can open at most {max_per_hour} new conversations per hour; \
                 existing conversations are not limited"
            ),
        }),
    }
}

/// An order context needs both users to be the order's two parties (a caller who is not a
/// party does not learn the order exists); a gig context a gig they can see.
async fn check_context(
    store: &Store,
    caller: Caller,
    participant_id: Uuid,
    context: &Context,
) -> ApiResult<()> {
    if let Some(order_id) = context.order_id {
        let order = store
            .get_order(order_id)
            .await?
            .filter(|order| caller.id == order.client_id || caller.id == order.freelancer_id)
            .ok_or(ApiError::NotFound("order"))?;
        let other = if caller.id == order.client_id {
            order.freelancer_id
        } else {
            order.client_id
        };
        if other != participant_id {
            return Err(ApiError::Forbidden(
                "an order's conversation is between its client and its freelancer",
            ));
        }
    }
    if let Some(gig_id) = context.gig_id {
        store
            .get_gig(gig_id)
            .await?
            .filter(|gig| {
                gig.status == GigStatus::Active
                    || gig.freelancer_id == caller.id
                    || gig.freelancer_id == participant_id
            })
            .ok_or(ApiError::NotFound("gig"))?;
    }
    Ok(())
}

fn blocked() -> ApiError {
    ApiError::Forbidden("blocked accounts can not send or receive messages")
}

/// `POST /conversations/{id}/messages`: participants only (anyone else: 404). Its `file_ids`
/// were checked by `app::files::send_message`, which calls this with them (`files`), recorded
/// as used in the message's own transaction.
pub async fn send(
    store: &Store,
    caller: Caller,
    conversation_id: Uuid,
    request: &SendMessage,
    files: &[CheckedFile],
    quotas: &QuotaLimits,
    now: OffsetDateTime,
) -> ApiResult<Sent> {
    let text = request.text()?;
    let file_ids = request.files()?;
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller);
    let entry = store
        .inbox_entry(conversation_id, caller.id)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    verified_caller(store, caller).await?;
    let mut message = Message::new(conversation_id, caller, entry.counterpart.id, text, now);
    message.files = file_ids;
    send_into(store, caller, &message, files, quotas, now).await
}

/// Adds `message` to its existing conversation, counted against the sender's
/// messages-per-minute quota in the same transaction, with its `files` recorded as used.
async fn send_into(
    store: &Store,
    caller: Caller,
    message: &Message,
    files: &[CheckedFile],
    quotas: &QuotaLimits,
    now: OffsetDateTime,
) -> ApiResult<Sent> {
    let quota = quotas.quota(QuotaKind::MessagesSent, caller.id, now);
    match store.append_message(message, &quota, files).await? {
        Sending::Sent => {}
        Sending::QuotaReached => return Err(quota.exceeded(now).into()),
        Sending::NotMember => return Err(ApiError::NotFound("conversation")),
        Sending::SenderBlocked | Sending::RecipientBlocked => return Err(blocked()),
    }
    let entry = store
        .inbox_entry(message.conversation_id, caller.id)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    Ok(Sent {
        conversation: entry.into(),
        message: message.clone(),
        created: false,
    })
}

/// `POST /conversations/{id}/read`: the caller has read everything in it.
pub async fn mark_read(
    store: &Store,
    caller: Caller,
    conversation_id: Uuid,
    now: OffsetDateTime,
) -> ApiResult<ConversationView> {
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller);
    for _ in 0..MARK_READ_ATTEMPTS {
        let entry = store
            .inbox_entry(conversation_id, caller.id)
            .await?
            .ok_or(ApiError::NotFound("conversation"))?;
        if store.mark_read(&entry, now).await? {
            let mut read: ConversationView = entry.into();
            read.unread_count = 0;
            read.last_read_at = Some(now);
            return Ok(read);
        }
    }
    Err(ApiError::conflict(
        "concurrent-update",
        "messages kept arriving while marking the conversation read; retry",
    ))
}

/// `GET /conversations`: the caller's inbox, most recent activity first.
pub async fn inbox(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    paging: PageParams,
) -> ApiResult<Page<ConversationView>> {
    let page = cursors.page_request(&paging)?;
    let (entries, next) = store.inbox(caller.id, &page).await?;
    let views = entries.into_iter().map(ConversationView::from).collect();
    Ok(cursors.page(views, next))
}

/// `GET /conversations/{id}/messages`: newest first; participants only (anyone else: 404).
pub async fn messages(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    conversation_id: Uuid,
    after: Option<Uuid>,
    paging: PageParams,
) -> ApiResult<Page<Message>> {
    let page = cursors.page_request(&paging)?;
    store
        .inbox_entry(conversation_id, caller.id)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    // `after`: what a client missed (catching up after a reconnect), oldest first.
    let (messages, next) = match after {
        Some(after) => store.messages_after(conversation_id, after, &page).await?,
        None => store.messages(conversation_id, &page).await?,
    };
    Ok(cursors.page(messages, next))
}

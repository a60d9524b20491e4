//! Real time: issuing connection tickets, and the WebSocket API's `$connect` (which trades a
//! ticket for a stored connection) and `$disconnect`.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::refresh::{new_refresh_token, refresh_token_digest};
use crate::domain::quota::Window;
use crate::domain::realtime::{
    Connection, Delivery, TICKET_LIFETIME_SECS, TYPING_LIMIT, TYPING_WINDOW_SECS, Ticket,
};
use crate::domain::user::Caller;
use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use crate::store::realtime::{Opened, StoredTicket};
use crate::store::throttle::Throttle;

/// The one refusal of a ticket that is unknown, expired or used: which of them it was would
/// only help someone guessing.
const TICKET_REFUSED: ApiError = ApiError::Unauthorized("ticket unknown, expired or already used");

/// `POST /realtime/tickets`: a single-use ticket for the caller's next connection, valid
/// [`TICKET_LIFETIME_SECS`]. A blocked caller is refused (403) by the write itself.
pub async fn issue_ticket(store: &Store, caller: Caller, now: OffsetDateTime) -> ApiResult<Ticket> {
    // 256 random bits, as refresh tokens: a plain SHA-256 is the right digest.
    let ticket = new_refresh_token();
    let expires_at = now.unix_timestamp() + TICKET_LIFETIME_SECS;
    store
        .acting_as(caller)
        .put_ticket(
            &refresh_token_digest(&ticket),
            &StoredTicket {
                user_id: caller.id,
                expires_at,
            },
        )
        .await?;
    Ok(Ticket {
        ticket,
        expires_at: OffsetDateTime::from_unix_timestamp(expires_at)
            .map_err(|error| ApiError::internal(anyhow::anyhow!(error)))?,
    })
}

/// `$connect?ticket=...`: consumes the ticket and stores the connection as its user's, opened
/// at `connected_at` (API Gateway's `connectedAt`). Refused (401) without a ticket or with one
/// that is unknown, expired or used, and (403) for a blocked user; API Gateway then refuses the
/// WebSocket handshake with that status.
pub async fn connect(
    store: &Store,
    ticket: Option<&str>,
    connection_id: &str,
    connected_at: OffsetDateTime,
    now: OffsetDateTime,
) -> ApiResult<Connection> {
    let ticket = ticket
        .map(str::trim)
        .filter(|ticket| !ticket.is_empty())
        .ok_or(ApiError::Unauthorized("missing ticket"))?;
    let digest = refresh_token_digest(ticket);
    let now_unix = now.unix_timestamp();
    let stored = store
        .ticket(&digest)
        .await?
        .filter(|stored| stored.expires_at > now_unix)
        .ok_or(TICKET_REFUSED)?;
    let connection = Connection::new(
        connection_id.to_owned(),
        stored.user_id,
        connected_at.min(now),
        now,
    );
    match store
        .acting_as(stored.user_id)
        .open_connection(&digest, &connection, now_unix)
        .await?
    {
        Opened::Open => Ok(connection),
        Opened::TicketRefused => Err(TICKET_REFUSED),
    }
}

/// `$disconnect`: forgets the connection. API Gateway sends it on a best-effort basis, so a push
/// that finds a connection gone deletes it too, and the stored one expires at the 2-hour limit.
pub async fn disconnect(store: &Store, connection_id: &str) -> ApiResult<Option<Uuid>> {
    let Some(connection) = store.connection(connection_id).await? else {
        return Ok(None);
    };
    store.close_connection(&connection).await?;
    Ok(Some(connection.user_id))
}

/// `{"action":"typing","conversation_id":...}` on connection `connection_id`: the push to the
/// other participant. Only a participant may signal (anyone else: 404, as for the messages), at
/// most [`TYPING_LIMIT`] a [`TYPING_WINDOW_SECS`] window (429); nothing of it is stored.
pub async fn typing(
    store: &Store,
    connection_id: &str,
    conversation_id: Uuid,
    now: OffsetDateTime,
) -> ApiResult<Delivery> {
    let now_unix = now.unix_timestamp();
    let connection = store
        .connection(connection_id)
        .await?
        .filter(|connection| connection.is_live(now_unix))
        .ok_or(ApiError::Unauthorized("connection unknown or expired"))?;
    let entry = store
        .inbox_entry(conversation_id, connection.user_id)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    let window = Window::containing(now_unix, TYPING_WINDOW_SECS);
    if !store
        .reserve_attempt(Throttle::Typing(connection.user_id), TYPING_LIMIT, window)
        .await?
    {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: window.retry_after(now_unix),
            detail: "too many typing signals; slow down".to_owned(),
        });
    }
    Ok(Delivery::typing(
        conversation_id,
        connection.user_id,
        entry.counterpart.id,
        now,
    ))
}

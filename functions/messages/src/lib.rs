//! `messages`: conversations between users, their messages, the inbox, read receipts and
//! attachments (uploads straight to S3, downloads by redirect). Handlers parse and authenticate;
//! `app::messages` and `app::files` decide.

use axum::extract::State;
use axum::response::Json;
use axum::routing::{get, post};
use axum::{Extension, Router};
use gigmarket_shared::ApiResult;
use gigmarket_shared::app::files;
use gigmarket_shared::app::messages::{self, Sent};
use gigmarket_shared::domain::file::FileArea;
use gigmarket_shared::domain::message::{ConversationView, Message, OpenConversation, SendMessage};
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::files::FileStorage;
use gigmarket_shared::pagination::{Page, PageParams, PagingOnly};
use gigmarket_shared::web::{self, AppState, JsonBody, PathParam, QueryParams};
use http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// The message list's query string (unknown parameters are a 400).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    after: Option<Uuid>,
}

/// The routes, with the files bucket the attachments are in.
pub fn router(state: AppState, storage: FileStorage) -> Router {
    let routes = Router::new()
        .route("/conversations", post(open_conversation).get(inbox))
        .route(
            "/conversations/{id}/messages",
            get(list_messages).post(send_message),
        )
        .route("/conversations/{id}/read", post(mark_read))
        .merge(web::files::routes(FileArea::Conversation));
    web::api(routes, state).layer(Extension(storage))
}

/// `POST /conversations`: 201 when this request opened it, 200 when it existed.
async fn open_conversation(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<OpenConversation>,
) -> ApiResult<(StatusCode, Json<Sent>)> {
    let sent = messages::open(
        &state.store,
        caller,
        &request,
        state.config.conversations_per_hour,
        &state.config.quotas,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let status = if sent.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(sent)))
}

async fn inbox(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<PagingOnly>,
) -> ApiResult<Json<Page<ConversationView>>> {
    messages::inbox(&state.store, &state.cursors, caller, query.into())
        .await
        .map(Json)
}

/// `GET /conversations/{id}/messages`: newest first, or with `after=<message id>` the messages
/// sent after that one, oldest first.
async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(conversation_id): PathParam<Uuid>,
    QueryParams(query): QueryParams<MessageQuery>,
) -> ApiResult<Json<Page<Message>>> {
    let paging = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    messages::messages(
        &state.store,
        &state.cursors,
        caller,
        conversation_id,
        query.after,
        paging,
    )
    .await
    .map(Json)
}

/// `POST /conversations/{id}/messages`: 201 with the message and the caller's inbox entry.
async fn send_message(
    State(state): State<AppState>,
    Extension(storage): Extension<FileStorage>,
    caller: Caller,
    PathParam(conversation_id): PathParam<Uuid>,
    JsonBody(request): JsonBody<SendMessage>,
) -> ApiResult<(StatusCode, Json<Sent>)> {
    // Its files (if any) are checked in S3 before the message is written.
    let sent = files::send_message(
        &state.store,
        &storage,
        caller,
        conversation_id,
        &request,
        &state.config.quotas,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(sent)))
}

async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(conversation_id): PathParam<Uuid>,
) -> ApiResult<Json<ConversationView>> {
    messages::mark_read(
        &state.store,
        caller,
        conversation_id,
        OffsetDateTime::now_utc(),
    )
    .await
    .map(Json)
}

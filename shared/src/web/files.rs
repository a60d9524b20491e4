//! The file routes of an area, the same handlers for an order's files (`orders`) and a
//! conversation's (`messages`): declare, list, download, delete. The area decides the path, the limits
//! and who may touch them (`app::files`).

use axum::extract::State;
use axum::response::{Json, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::StatusCode;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AppState, JsonBody, PathParam};
use crate::app::files::{self, FileList, FileUpload};
use crate::domain::file::{FileArea, NewFile};
use crate::domain::user::Caller;
use crate::error::ApiResult;
use crate::files::FileStorage;

/// `POST`/`GET <area>/{id}/files` and `GET`/`DELETE <area>/{id}/files/{file_id}` for `area`, which the
/// handlers read as an extension. The function's router adds the [`FileStorage`] extension.
pub fn routes(area: FileArea) -> Router<AppState> {
    let files = match area {
        FileArea::Order => "/orders/{id}/files",
        FileArea::Conversation => "/conversations/{id}/files",
    };
    Router::new()
        .route(files, post(declare).get(list))
        .route(
            &format!("{files}/{{file_id}}"),
            get(download).delete(delete),
        )
        .layer(Extension(area))
}

/// 201 with the file and its presigned POST.
async fn declare(
    Extension(area): Extension<FileArea>,
    State(state): State<AppState>,
    Extension(storage): Extension<FileStorage>,
    caller: Caller,
    PathParam(owner_id): PathParam<Uuid>,
    JsonBody(request): JsonBody<NewFile>,
) -> ApiResult<(StatusCode, Json<FileUpload>)> {
    let upload = files::declare_file(
        &state.store,
        &storage,
        state.config.file_limits(area),
        caller,
        area,
        owner_id,
        &request,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(upload)))
}

async fn list(
    Extension(area): Extension<FileArea>,
    State(state): State<AppState>,
    caller: Caller,
    PathParam(owner_id): PathParam<Uuid>,
) -> ApiResult<Json<FileList>> {
    files::list_files(&state.store, caller, area, owner_id)
        .await
        .map(Json)
}

/// 302 to a presigned GET.
async fn download(
    Extension(area): Extension<FileArea>,
    State(state): State<AppState>,
    Extension(storage): Extension<FileStorage>,
    caller: Caller,
    PathParam((owner_id, file_id)): PathParam<(Uuid, Uuid)>,
) -> ApiResult<Response> {
    let url = files::download_file(
        &state.store,
        &storage,
        caller,
        area,
        owner_id,
        file_id,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(super::redirect(&url))
}

/// 204 once the file and its object are gone.
async fn delete(
    Extension(area): Extension<FileArea>,
    State(state): State<AppState>,
    Extension(storage): Extension<FileStorage>,
    caller: Caller,
    PathParam((owner_id, file_id)): PathParam<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    files::delete_file(&state.store, &storage, caller, area, owner_id, file_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

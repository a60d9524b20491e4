//! `search`: `GET /gigs`, browse and keyword search, served from the function's copy of the
//! published search index (`gigmarket_search::reader`). The rest of the gig routes are the
//! `gigs` function's; tantivy stays out of its build. Handlers parse; the reader decides.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Json;
use axum::routing::get;
use axum::{Extension, Router};
use gigmarket_search::reader::{self, GigSearchResults, Reader};
use gigmarket_shared::ApiResult;
use gigmarket_shared::domain::browse::BrowseParams;
use gigmarket_shared::search_index::SearchIndexBucket;
use gigmarket_shared::web::{self, AppState, QueryParams};
use tokio::sync::Mutex;

/// The index copy and the bucket it is refreshed from, shared by the instance's requests.
#[derive(Clone)]
struct SearchIndex {
    reader: Arc<Mutex<Reader>>,
    bucket: SearchIndexBucket,
}

pub fn router(state: AppState, bucket: SearchIndexBucket, reader: Reader) -> Router {
    let index = SearchIndex {
        reader: Arc::new(Mutex::new(reader)),
        bucket,
    };
    let routes = Router::new()
        .route("/gigs", get(search_gigs))
        .layer(Extension(index));
    web::api(routes, state)
}

async fn search_gigs(
    State(state): State<AppState>,
    Extension(index): Extension<SearchIndex>,
    QueryParams(params): QueryParams<BrowseParams>,
) -> ApiResult<Json<GigSearchResults>> {
    reader::search_gigs(
        &index.reader,
        &index.bucket,
        &state.store,
        &state.cursors,
        params,
    )
    .await
    .map(Json)
}

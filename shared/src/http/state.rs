//! Everything a handler needs, built once per cold start and shared by every request.

use std::sync::Arc;

use anyhow::Context;

use crate::auth::{JwtKeys, TokenIssuer};
use crate::aws::AwsClients;
use crate::config::Config;
use crate::pagination::CursorCodec;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub tokens: TokenIssuer,
    pub cursors: CursorCodec,
    pub aws: AwsClients,
}

impl AppState {
    /// Reads config and the JWT keyset, builds the AWS clients. Called once in each `main`.
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let aws = AwsClients::from_env().await;
        let keys = crate::aws::load_jwt_keys(&aws)
            .await
            .context("loading JWT keys")?;
        Ok(Self::new(config, aws, keys))
    }

    pub fn new(config: Config, aws: AwsClients, keys: JwtKeys) -> Self {
        let store = Store::new(aws.dynamodb.clone(), config.table_name.clone());
        let tokens = TokenIssuer::new(
            keys.clone(),
            config.jwt_issuer.clone(),
            config.jwt_audience.clone(),
            config.access_token_ttl,
        );
        Self {
            cursors: CursorCodec::new(keys.cursor_secret()),
            config: Arc::new(config),
            store,
            tokens,
            aws,
        }
    }
}

//! Everything a handler needs, built once per cold start and shared by every request.

use std::sync::Arc;

use anyhow::Context;

use crate::app::Accounts;
use crate::auth::{JwtKeys, JwtSigningKeys, TokenIssuer};
use crate::aws;
use crate::config::Config;
use crate::pagination::CursorCodec;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub tokens: TokenIssuer,
    pub cursors: CursorCodec,
}

impl AppState {
    /// Reads config and the verifying JWT keyset, builds the one AWS client API functions use
    /// (DynamoDB). Called once in each `main`.
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let sdk = aws::sdk_config().await;
        let keys = aws::jwt_keys(&sdk).await.context("loading JWT keys")?;
        Ok(Self::new(config, aws::dynamodb(&sdk), keys))
    }

    /// [`AppState::from_env`] plus the signing keyset: `auth`'s state, the one function that
    /// issues access tokens.
    pub async fn from_env_signing() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let sdk = aws::sdk_config().await;
        let keys = aws::jwt_keys(&sdk).await.context("loading JWT keys")?;
        let signing = aws::jwt_signing_keys(&sdk)
            .await
            .context("loading JWT signing keys")?;
        Self::new(config, aws::dynamodb(&sdk), keys).with_signing_keys(signing)
    }

    /// This state, able to issue access tokens with `signing` (see `TokenIssuer`).
    pub fn with_signing_keys(mut self, signing: JwtSigningKeys) -> anyhow::Result<Self> {
        self.tokens = self.tokens.with_signing_keys(signing)?;
        Ok(self)
    }

    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client, keys: JwtKeys) -> Self {
        let store = Store::new(dynamodb, config.table_name.clone());
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
        }
    }

    /// The account use cases, on this function's store, keys and session rules.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts {
            store: &self.store,
            tokens: &self.tokens,
            config: &self.config,
        }
    }
}

//! JWT access tokens.
//!
//! HS256 only, signed with the keyset's active key and tagged with its `kid`, so the key can rotate:
//! add a new key, make it active, keep the old one until the last token signed with it has expired
//! (access-token lifetime), then drop it. Verification looks the key up by `kid`; an unknown `kid`,
//! another algorithm (including `none`), a bad signature, a wrong issuer or audience, or an expired
//! token are all the same 401 to the caller.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::user::Role;
use crate::error::ApiError;

/// The keyset as stored in Secrets Manager (deployed) or `JWT_KEYS_FILE` / `JWT_KEYS` (local):
/// `{"active_kid": "k2", "keys": {"k1": "<base64url secret>", "k2": "<base64url secret>"}}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct KeysetDocument {
    pub active_kid: String,
    pub keys: HashMap<String, String>,
}

/// Minimum secret length: HS256 keys shorter than the hash output weaken the MAC.
const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone)]
pub struct JwtKeys {
    active_kid: String,
    /// Derived from the active key; signs pagination cursors (see `pagination`).
    cursor_secret: Vec<u8>,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("active_kid", &self.active_kid)
            .field("kids", &self.decoding.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    pub fn from_document(document: &KeysetDocument) -> anyhow::Result<Self> {
        let mut decoding = HashMap::new();
        let mut active = None;
        let mut cursor_secret = Vec::new();
        for (kid, encoded) in &document.keys {
            let secret = URL_SAFE_NO_PAD
                .decode(encoded.trim_end_matches('='))
                .with_context(|| format!("JWT key {kid:?} is not base64url"))?;
            if secret.len() < MIN_SECRET_BYTES {
                bail!("JWT key {kid:?} is shorter than {MIN_SECRET_BYTES} bytes");
            }
            if *kid == document.active_kid {
                active = Some(EncodingKey::from_secret(&secret));
                // A separate key per purpose: a cursor MAC can never pass as a token signature.
                let derive = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
                cursor_secret = aws_lc_rs::hmac::sign(&derive, b"gigmarket/cursor/v1")
                    .as_ref()
                    .to_vec();
            }
            decoding.insert(kid.clone(), DecodingKey::from_secret(&secret));
        }
        let encoding = active.with_context(|| {
            format!("active_kid {:?} is not in the keyset", document.active_kid)
        })?;
        Ok(Self {
            active_kid: document.active_kid.clone(),
            cursor_secret,
            encoding,
            decoding,
        })
    }

    pub fn from_json(json: &str) -> anyhow::Result<Self> {
        let document: KeysetDocument =
            serde_json::from_str(json).context("JWT keyset is not valid JSON")?;
        Self::from_document(&document)
    }

    pub fn cursor_secret(&self) -> &[u8] {
        &self.cursor_secret
    }

    /// A fresh single-key keyset; for tests and tools that mint their own.
    pub fn generate(kid: &str) -> Self {
        let secret = crate::auth::refresh::random_bytes::<64>();
        let document = KeysetDocument {
            active_kid: kid.to_owned(),
            keys: HashMap::from([(kid.to_owned(), URL_SAFE_NO_PAD.encode(secret))]),
        };
        Self::from_document(&document).expect("generated keyset is valid")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: Uuid,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// Unique token id, for log correlation.
    pub jti: Uuid,
}

/// Issues and verifies access tokens for one issuer/audience.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    keys: JwtKeys,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl TokenIssuer {
    pub fn new(
        keys: JwtKeys,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        Self {
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, user_id: Uuid, role: Role) -> anyhow::Result<String> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = AccessClaims {
            sub: user_id,
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: Uuid::new_v4(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.keys.active_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.keys.encoding).context("signing access token")
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims, ApiError> {
        const INVALID: ApiError = ApiError::Unauthorized("invalid or expired access token");
        let header = jsonwebtoken::decode_header(token).map_err(|_| INVALID)?;
        if header.alg != Algorithm::HS256 {
            return Err(INVALID);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.decoding.get(kid))
            .ok_or(INVALID)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Clock skew between Lambda hosts is small; keep the grace period short.
        validation.leeway = 5;
        jsonwebtoken::decode::<AccessClaims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|error| {
                tracing::debug!(%error, "access token rejected");
                INVALID
            })
    }
}

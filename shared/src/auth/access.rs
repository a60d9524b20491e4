//! JWT access tokens, signed with Ed25519 (`EdDSA`).
//!
//! Two keysets, so that only `auth` can mint a token: the signing keyset (the private seeds,
//! read by `auth` alone) and the verifying keyset (the public keys, read by every API function).
//! Both name keys by `kid`, so a key can rotate: add its public key to the verifying keyset, then
//! its seed to the signing keyset and make it active, keep the old public key until the last
//! token signed with it has expired (access-token lifetime), then drop the old key from both.
//! Verification looks the public key up by `kid`; an unknown `kid`, another algorithm
//! (including `none` and HS256 keyed with a public key), a bad signature, a wrong issuer or
//! audience, or an expired token are all the same 401 to the caller.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::user::{Role, SessionRef};
use crate::error::ApiError;

/// The verifying keyset, as stored in Secrets Manager (deployed, `JWT_KEYS_SECRET_ID`) or
/// `JWT_KEYS_FILE` / `JWT_KEYS` (local):
/// `{"keys": {"k1": "<Ed25519 public key, base64url>"}, "cursor_key": "<base64url, >= 32 bytes>"}`.
/// `cursor_key` signs pagination cursors (see `pagination`): every API function pages, and a
/// public key can not be a MAC key.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct KeysetDocument {
    pub keys: HashMap<String, String>,
    pub cursor_key: String,
}

/// The signing keyset, read by `auth` alone (`JWT_SIGNING_KEYS_SECRET_ID`, or
/// `JWT_SIGNING_KEYS_FILE` locally):
/// `{"active_kid": "k2", "keys": {"k1": "<Ed25519 seed, base64url>", "k2": "..."}}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SigningKeysetDocument {
    pub active_kid: String,
    pub keys: HashMap<String, String>,
}

/// Minimum cursor key length: HMAC-SHA256 keys shorter than the hash output weaken the MAC.
const MIN_CURSOR_KEY_BYTES: usize = 32;

fn decode(what: &str, kid: &str, encoded: &str) -> anyhow::Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .with_context(|| format!("{what} {kid:?} is not base64url"))
}

/// The public keys every API function verifies access tokens with.
#[derive(Clone)]
pub struct JwtKeys {
    /// Signs pagination cursors (see `pagination`).
    cursor_secret: Vec<u8>,
    public_keys: HashMap<String, Vec<u8>>,
    decoding: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("kids", &self.decoding.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    pub fn from_document(document: &KeysetDocument) -> anyhow::Result<Self> {
        let mut decoding = HashMap::new();
        let mut public_keys = HashMap::new();
        for (kid, encoded) in &document.keys {
            let public = decode("JWT public key", kid, encoded)?;
            if public.len() != 32 {
                bail!("JWT public key {kid:?} is not a 32-byte Ed25519 key");
            }
            decoding.insert(kid.clone(), DecodingKey::from_ed_der(&public));
            public_keys.insert(kid.clone(), public);
        }
        let cursor_secret = decode("cursor_key", "", &document.cursor_key)?;
        if cursor_secret.len() < MIN_CURSOR_KEY_BYTES {
            bail!("cursor_key is shorter than {MIN_CURSOR_KEY_BYTES} bytes");
        }
        Ok(Self {
            cursor_secret,
            public_keys,
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

    /// A fresh single-key pair of keysets; for tests and tools that mint their own.
    pub fn generate(kid: &str) -> (JwtSigningKeys, Self) {
        let (signing, verifying) = generate_documents(kid);
        (
            JwtSigningKeys::from_document(&signing).expect("generated signing keyset is valid"),
            Self::from_document(&verifying).expect("generated keyset is valid"),
        )
    }
}

/// A fresh signing keyset of one Ed25519 key and the verifying keyset that goes with it.
pub fn generate_documents(kid: &str) -> (SigningKeysetDocument, KeysetDocument) {
    let seed = crate::auth::refresh::random_bytes::<32>();
    let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("any 32 bytes are a seed");
    let signing = SigningKeysetDocument {
        active_kid: kid.to_owned(),
        keys: HashMap::from([(kid.to_owned(), URL_SAFE_NO_PAD.encode(seed))]),
    };
    let verifying = KeysetDocument {
        keys: HashMap::from([(
            kid.to_owned(),
            URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        )]),
        cursor_key: URL_SAFE_NO_PAD.encode(crate::auth::refresh::random_bytes::<32>()),
    };
    (signing, verifying)
}

/// The active private key `auth` signs access tokens with.
#[derive(Clone)]
pub struct JwtSigningKeys {
    active_kid: String,
    public_key: Vec<u8>,
    encoding: EncodingKey,
}

impl std::fmt::Debug for JwtSigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSigningKeys")
            .field("active_kid", &self.active_kid)
            .finish_non_exhaustive()
    }
}

impl JwtSigningKeys {
    /// Only the active key is kept: older seeds stay in the document for the rotation's
    /// bookkeeping, but nothing is signed with them.
    pub fn from_document(document: &SigningKeysetDocument) -> anyhow::Result<Self> {
        let kid = &document.active_kid;
        let encoded = document
            .keys
            .get(kid)
            .with_context(|| format!("active_kid {kid:?} is not in the signing keyset"))?;
        let seed = decode("JWT signing key", kid, encoded)?;
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| {
            anyhow::anyhow!("JWT signing key {kid:?} is not a 32-byte Ed25519 seed")
        })?;
        let pkcs8 = pair
            .to_pkcs8()
            .map_err(|_| anyhow::anyhow!("encoding JWT signing key {kid:?}"))?;
        Ok(Self {
            active_kid: kid.clone(),
            public_key: pair.public_key().as_ref().to_vec(),
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
        })
    }

    pub fn from_json(json: &str) -> anyhow::Result<Self> {
        let document: SigningKeysetDocument =
            serde_json::from_str(json).context("JWT signing keyset is not valid JSON")?;
        Self::from_document(&document)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: Uuid,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    /// Issued at, unix seconds.
    pub iat: i64,
    pub exp: i64,
    /// Unique token id, for log correlation.
    pub jti: Uuid,
    /// The session (refresh-token family) the token was issued in: logging out of it ends the
    /// token's writes too (see `store::acting`).
    pub sid: Uuid,
    /// When that session started, unix ms: a password change or "log out everywhere" ends the
    /// sessions that started before it (the user's `sessions_revoked_before_ms`).
    pub session_started_ms: i64,
}

impl AccessClaims {
    pub fn session(&self) -> SessionRef {
        SessionRef {
            id: self.sid,
            started_ms: self.session_started_ms,
        }
    }
}

/// Issues and verifies access tokens for one issuer/audience. Every API function verifies; only
/// a function built with the signing keyset (`auth`) issues.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    keys: JwtKeys,
    signing: Option<JwtSigningKeys>,
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
            signing: None,
            issuer: issuer.into(),
            audience: audience.into(),
            ttl,
        }
    }

    /// Adds the signing key; refuses one whose public key the verifying keyset does not hold
    /// under the same `kid` (a rotation step done out of order), so no token is ever issued
    /// that the other functions would refuse.
    pub fn with_signing_keys(mut self, signing: JwtSigningKeys) -> anyhow::Result<Self> {
        match self.keys.public_keys.get(&signing.active_kid) {
            Some(public) if *public == signing.public_key => {}
            Some(_) => bail!(
                "the verifying keyset's key {:?} is not the public key of the active signing key",
                signing.active_kid
            ),
            None => bail!(
                "the verifying keyset has no key {:?}: add the public key before activating it",
                signing.active_kid
            ),
        }
        self.signing = Some(signing);
        Ok(self)
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `user_id` in `session`, issued now.
    pub fn issue(&self, user_id: Uuid, role: Role, session: SessionRef) -> anyhow::Result<String> {
        let signing = self
            .signing
            .as_ref()
            .context("this function holds no JWT signing key (only auth issues tokens)")?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = AccessClaims {
            sub: user_id,
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: Uuid::new_v4(),
            sid: session.id,
            session_started_ms: session.started_ms,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(signing.active_kid.clone());
        jsonwebtoken::encode(&header, &claims, &signing.encoding).context("signing access token")
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims, ApiError> {
        const INVALID: ApiError = ApiError::Unauthorized("invalid or expired access token");
        let header = jsonwebtoken::decode_header(token).map_err(|_| INVALID)?;
        if header.alg != Algorithm::EdDSA {
            return Err(INVALID);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.decoding.get(kid))
            .ok_or(INVALID)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(kid: &str) -> (TokenIssuer, JwtKeys) {
        let (signing, keys) = JwtKeys::generate(kid);
        let issuer = TokenIssuer::new(keys.clone(), "i", "a", Duration::from_secs(60))
            .with_signing_keys(signing)
            .unwrap();
        (issuer, keys)
    }

    #[test]
    fn a_verifier_without_the_signing_key_accepts_tokens_and_can_not_issue_any() {
        let (signer, keys) = issuer("k1");
        let verifier = TokenIssuer::new(keys, "i", "a", Duration::from_secs(60));
        let user = Uuid::new_v4();
        let session = SessionRef {
            id: Uuid::new_v4(),
            started_ms: 1_700_000_000_123,
        };
        let token = signer.issue(user, Role::Client, session).unwrap();
        let claims = verifier.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.session()), (user, session));
        assert!(verifier.issue(user, Role::Admin, session).is_err());
    }

    #[test]
    fn a_signing_key_the_verifying_keyset_lacks_is_refused() {
        let (_, keys) = JwtKeys::generate("k1");
        let (other, _) = JwtKeys::generate("k1");
        let (unknown, _) = JwtKeys::generate("k2");
        let verifier = TokenIssuer::new(keys, "i", "a", Duration::from_secs(60));
        assert!(verifier.clone().with_signing_keys(other).is_err());
        assert!(verifier.with_signing_keys(unknown).is_err());
    }
}

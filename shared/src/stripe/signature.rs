//! Webhook signatures as Stripe makes them: the `Stripe-Signature` header
//! `t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]`, where each `v1` is HMAC-SHA256 keyed with an
//! endpoint's signing secret over `<t>.<raw body>`. A delivery is genuine when any `v1` matches
//! any of the endpoint's current secrets (Stripe signs with the old and the new secret while one
//! is rolled), and fresh when `t` is at most the tolerance old, which bounds how long a captured
//! delivery can be replayed. Comparison is constant-time (`hmac::verify`).

use aws_lc_rs::hmac;

/// Stripe's own libraries refuse deliveries older than five minutes.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing or has no timestamp")]
    NoTimestamp,
    #[error("the Stripe-Signature header has no v1 signature")]
    NoSignature,
    #[error("no v1 signature matches a signing secret")]
    Mismatch,
    #[error("the delivery was signed {age_seconds} s ago, past the tolerance")]
    Stale { age_seconds: i64 },
}

/// A webhook endpoint's signing secrets (`whsec_...`), several while one is rolled. Its `Debug`
/// redacts them, so a logged state never shows one.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecrets(Vec<String>);

impl SigningSecrets {
    /// The secrets of a list, one per line or comma (blank entries ignored); at least one.
    pub fn parse(list: &str) -> Option<Self> {
        let secrets: Vec<String> = list
            .split([',', '\n'])
            .map(str::trim)
            .filter(|secret| !secret.is_empty())
            .map(str::to_owned)
            .collect();
        (!secrets.is_empty()).then_some(Self(secrets))
    }

    /// [`verify`] against these secrets with Stripe's tolerance.
    pub fn verify(&self, header: &str, body: &[u8], now_unix: i64) -> Result<i64, SignatureError> {
        verify(header, body, &self.0, now_unix, DEFAULT_TOLERANCE_SECONDS)
    }
}

impl std::fmt::Debug for SigningSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningSecrets({} redacted)", self.0.len())
    }
}

/// Checks `header` against `body` (the raw bytes, before any parsing) and each of `secrets`.
/// Answers the signed timestamp.
pub fn verify<S: AsRef<[u8]>>(
    header: &str,
    body: &[u8],
    secrets: &[S],
    now_unix: i64,
    tolerance_seconds: i64,
) -> Result<i64, SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for (key, value) in header
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
    {
        match key {
            "t" if timestamp.is_none() => timestamp = Some(value),
            // A v1 that is not hex can match nothing: skip it like an unknown scheme.
            "v1" => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::NoTimestamp)?;
    let signed_at: i64 = timestamp.parse().map_err(|_| SignatureError::NoTimestamp)?;
    if signatures.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let payload = signed_payload(timestamp, body);
    let genuine = secrets.iter().any(|secret| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref());
        signatures
            .iter()
            .any(|signature| hmac::verify(&key, &payload, signature).is_ok())
    });
    if !genuine {
        return Err(SignatureError::Mismatch);
    }
    let age_seconds = now_unix.saturating_sub(signed_at);
    if age_seconds > tolerance_seconds {
        return Err(SignatureError::Stale { age_seconds });
    }
    Ok(signed_at)
}

fn signed_payload(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(timestamp.len() + 1 + body.len());
    payload.extend_from_slice(timestamp.as_bytes());
    payload.push(b'.');
    payload.extend_from_slice(body);
    payload
}

/// The header Stripe would send for `body` signed with `secret` at `timestamp`: for tests that
/// deliver webhooks of their own (forged, stale, replayed ones among them).
#[cfg(any(test, feature = "test-support"))]
pub fn header(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, &signed_payload(&timestamp.to_string(), body));
    format!("t={timestamp},v1={}", hex::encode(tag.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    const NOW: i64 = 1_765_000_000;

    fn check(header: &str) -> Result<i64, SignatureError> {
        verify(header, BODY, &[SECRET], NOW, DEFAULT_TOLERANCE_SECONDS)
    }

    #[test]
    fn a_genuine_fresh_delivery_passes() {
        assert_eq!(check(&header(SECRET, NOW - 10, BODY)), Ok(NOW - 10));
    }

    #[test]
    fn a_signature_computed_elsewhere_verifies() {
        // python3: hmac.new(b"whsec_test_secret", b"1765000000." + BODY, hashlib.sha256)
        // .hexdigest(): checks the signed payload's layout against an independent HMAC.
        let header =
            "t=1765000000,v1=d16c557ef02d1491465b883b1d6d74f92a8e37c0ddce7aec2ea93dd9802874ab";
        assert_eq!(check(header), Ok(NOW));
        assert_eq!(
            header_hex(SECRET, NOW, BODY),
            header.split_once("v1=").unwrap().1
        );
    }

    fn header_hex(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
        header(secret, timestamp, body)
            .split_once("v1=")
            .map(|(_, hex)| hex.to_owned())
            .unwrap()
    }

    #[test]
    fn any_v1_against_any_current_secret_passes_while_secrets_roll() {
        let old = b"whsec_old".as_slice();
        let rolled = format!(
            "t={NOW},v1={},v1={},v0=ignored",
            header_hex(b"whsec_new", NOW, BODY),
            header_hex(old, NOW, BODY)
        );
        assert!(
            verify(
                &rolled,
                BODY,
                &[b"whsec_unrelated".as_slice(), old],
                NOW,
                300
            )
            .is_ok()
        );
    }

    #[test]
    fn forged_tampered_and_malformed_deliveries_fail() {
        assert_eq!(
            check(&header(b"whsec_someone_else", NOW, BODY)),
            Err(SignatureError::Mismatch)
        );
        let genuine = header(SECRET, NOW, BODY);
        assert_eq!(
            verify(&genuine, b"{\"id\":\"evt_2\"}", &[SECRET], NOW, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(check(""), Err(SignatureError::NoTimestamp));
        assert_eq!(check("v1=abcd"), Err(SignatureError::NoTimestamp));
        assert_eq!(check("t=soon,v1=abcd"), Err(SignatureError::NoTimestamp));
        assert_eq!(check(&format!("t={NOW}")), Err(SignatureError::NoSignature));
        assert_eq!(
            check(&format!("t={NOW},v1=not-hex")),
            Err(SignatureError::NoSignature)
        );
    }

    #[test]
    fn a_replay_past_the_tolerance_fails_even_when_genuine() {
        assert_eq!(
            check(&header(SECRET, NOW - 301, BODY)),
            Err(SignatureError::Stale { age_seconds: 301 })
        );
        assert!(check(&header(SECRET, NOW - 300, BODY)).is_ok());
    }
}

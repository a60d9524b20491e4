//! Opaque refresh tokens: 256 random bits, base64url. Only their SHA-256 is stored, so a leaked
//! table does not leak usable tokens; 256 bits of entropy make a salted slow hash unnecessary.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("system RNG available");
    bytes
}

/// A new refresh token to hand to the client.
pub fn new_refresh_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// The lookup key under which a refresh token is stored.
pub fn refresh_token_digest(token: &str) -> String {
    let digest = digest::digest(&digest::SHA256, token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_digests_stable() {
        let a = new_refresh_token();
        let b = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(refresh_token_digest(&a), refresh_token_digest(&a));
        assert_ne!(refresh_token_digest(&a), refresh_token_digest(&b));
    }
}

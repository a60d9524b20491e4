//! Authentication primitives: access tokens (JWT, EdDSA with `kid`), password hashing (argon2id)
//! and opaque refresh tokens. Pure functions and small types; storage lives in `store`.

pub mod access;
pub mod password;
pub mod refresh;

pub use access::{AccessClaims, JwtKeys, JwtSigningKeys, TokenIssuer};

//! Password hashing with argon2id (the crate's defaults: OWASP's m=19 MiB, t=2, p=1) in PHC format,
//! so parameters can be raised later and old hashes still verify.
//!
//! Memory: one argon2id hash works through `m` KiB (19 MiB by default). Letting the crate allocate
//! it per hash made `auth`'s RSS grow with the number of threads that ever hashed (the allocator
//! keeps each freed 19 MiB block in the arena of the thread that freed it: about 125 MB after 30
//! logins). Here each hash borrows a block from one process-wide pool and gives it back, so the
//! process holds at most one block per hash that ever ran at the same time; [`blocking`], which
//! every use case hashes through, bounds that number with `PASSWORD_HASH_CONCURRENCY` (see
//! `Config`).

use std::sync::Mutex;

use anyhow::anyhow;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use time::OffsetDateTime;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};

/// Argon2 working memory returned by finished hashes, ready for the next.
static WORKING_MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs `work` with at least `blocks` argon2 blocks of working memory from the pool.
fn with_working_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    let pooled = WORKING_MEMORY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .pop();
    // A block too small for these parameters (a hash made with a larger `m`) is replaced, not
    // kept beside the larger one: the pool never holds more blocks than hashes ran at once.
    let mut memory = match pooled {
        Some(memory) if memory.len() >= blocks => memory,
        _ => vec![Block::default(); blocks],
    };
    let result = work(&mut memory);
    WORKING_MEMORY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(memory);
    result
}

/// The argon2 output of `password` with `salt` under `argon2`'s parameters, `output_len` bytes.
fn argon2_output(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &str,
    salt: Salt<'_>,
    output_len: usize,
) -> anyhow::Result<Output> {
    // The PHC salt is decoded to bytes before hashing, as the argon2 crate's own
    // `PasswordHasher` does: hashes made either way verify either way.
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|error| anyhow!("password salt: {error}"))?;
    with_working_memory(params.block_count(), |memory| {
        Output::init_with(output_len, |out| {
            argon2
                .hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, memory)
                .map_err(|_| argon2::password_hash::Error::Password)
        })
    })
    .map_err(|error| anyhow!("hashing password: {error}"))
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = argon2_output(
        &argon2,
        &params,
        password,
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|error| anyhow!("{error}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

pub fn verify_password(password: &str, phc_hash: &str) -> bool {
    let verify = || -> anyhow::Result<bool> {
        let parsed = PasswordHash::new(phc_hash).map_err(|error| anyhow!("{error}"))?;
        let algorithm =
            Algorithm::try_from(parsed.algorithm).map_err(|error| anyhow!("{error}"))?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(|error| anyhow!("{error}"))?
            .unwrap_or_default();
        let params = Params::try_from(&parsed).map_err(|error| anyhow!("{error}"))?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(false);
        };
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let computed = argon2_output(&argon2, &params, password, salt, expected.len())?;
        // `Output`'s equality is constant-time.
        Ok(computed == expected)
    };
    verify().unwrap_or(false)
}

/// Burns the same time as a real verification, so "no such email" and "wrong password" are
/// indistinguishable by timing as well as by response.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash =
        DUMMY.get_or_init(|| hash_password("dummy-password-for-timing").expect("argon2 works"));
    let _ = verify_password(password, hash);
}

/// How many argon2 working-memory blocks the pool holds now (tests and the bench).
pub fn pooled_working_memory() -> usize {
    WORKING_MEMORY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .len()
}

/// Unix milliseconds: session start and revocation times compare at this resolution, so a
/// session started right after a password change is not caught by it.
pub(crate) fn unix_ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// argon2 takes tens of milliseconds of pure CPU and 19 MiB of working memory: keep it off the
/// async workers, and run at most `config.password_hash_concurrency` hashes at once in this
/// process (this module keeps one working-memory block per hash that ran at the same time, so
/// this bounds the memory for good). The permit travels with the blocking work: a request
/// dropped mid-hash holds it until its hash has really ended. The first config seen sizes the
/// process-wide semaphore (one config per process).
pub(crate) async fn blocking<T: Send + 'static>(
    config: &Config,
    work: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    static PERMITS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        std::sync::Arc::new(tokio::sync::Semaphore::new(
            config.password_hash_concurrency.max(1),
        ))
    });
    let permit = permits
        .clone()
        .acquire_owned()
        .await
        .map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_verify_only_their_password() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterx", &hash));
        assert!(!verify_password("anything", "not-a-phc-string"));
    }

    #[test]
    fn pooled_hashes_and_the_crates_own_hashes_verify_each_other() {
        // Stored hashes were made by `Argon2::default().hash_password`: they must still verify.
        let salt = SaltString::generate(&mut OsRng);
        let crate_hash = Argon2::default()
            .hash_password(b"stored before the pool", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("stored before the pool", &crate_hash));
        assert!(!verify_password("stored before the poo1", &crate_hash));
        // Other parameters (a future raise of m or t) verify too, with a larger block.
        let raised = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(24 * 1024, 3, 1, None).unwrap(),
        )
        .hash_password(b"raised", &salt)
        .unwrap()
        .to_string();
        assert!(verify_password("raised", &raised));
        let ours = hash_password("made by the pool").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"made by the pool", &parsed)
                .is_ok()
        );
    }

    #[test]
    fn sequential_hashes_reuse_one_working_memory_block() {
        for _ in 0..5 {
            hash_password("one at a time").unwrap();
        }
        // nextest runs each test in its own process: this one alone used the pool.
        assert_eq!(pooled_working_memory(), 1);
    }
}

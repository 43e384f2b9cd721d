//! Password hashing with argon2id (RustCrypto `argon2`, default parameters: 19 MiB, 2 passes,
//! 1 lane, as OWASP recommends), producing self-describing PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) so parameters can be raised later without
//! breaking old hashes.
//!
//! Hashing costs tens of milliseconds of CPU on purpose, so the async functions run it on
//! tokio's blocking pool and never stall the reactor; the `*_blocking` variants are for the CLI.
//! No password ever appears in an error, a log line or a `Debug` output: errors carry only
//! argon2's own message, which never includes its input.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::StoreError;

/// Hashes `pw` with argon2id and a fresh random salt; returns the PHC string to store.
pub async fn hash(pw: &str) -> Result<String, StoreError> {
    let pw = pw.to_owned();
    tokio::task::spawn_blocking(move || hash_blocking(&pw))
        .await
        .map_err(|e| StoreError::other(format!("password hashing task failed: {e}")))?
}

/// Whether `pw` matches `hash` (a PHC string from [`hash`]). A malformed hash is `false`.
pub async fn verify(pw: &str, hash: &str) -> bool {
    let (pw, hash) = (pw.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || verify_blocking(&pw, &hash)).await.unwrap_or(false)
}

/// Checks a login: `hash` is the account's hash, or `None` when there is no such account.
/// In that case a dummy hash is verified anyway and `false` returned, so that "no such user"
/// takes as long as "wrong password" and response times do not reveal which names exist.
pub async fn verify_login(pw: &str, hash: Option<&str>) -> bool {
    match hash {
        Some(h) => verify(pw, h).await,
        None => {
            let _ = verify(pw, dummy_hash()).await;
            false
        }
    }
}

/// [`hash`] without tokio, for the CLI.
pub fn hash_blocking(pw: &str) -> Result<String, StoreError> {
    Argon2::default()
        .hash_password(pw.as_bytes())
        .map(|h| h.to_string())
        // argon2's error names the failed step, never the input.
        .map_err(|e| StoreError::other(format!("password hashing failed: {e}")))
}

/// [`verify`] without tokio, for the CLI.
pub fn verify_blocking(pw: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(pw.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Whether `hash` is an argon2id PHC string (e.g. to spot accounts imported with another
/// scheme).
pub fn is_argon2id(hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| h.algorithm.as_str() == "argon2id")
}

/// A fixed valid hash of a random password nobody knows, with the default parameters.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let pw: [u8; 16] = rand::random();
        Argon2::default().hash_password(&pw).map(|h| h.to_string()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_blocking("비밀번호-123").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(is_argon2id(&h));
        assert!(verify_blocking("비밀번호-123", &h));
        assert!(!verify_blocking("비밀번호-124", &h));
        assert!(!verify_blocking("x", "not a hash"));
        // Salted: the same password hashes differently each time.
        assert_ne!(h, hash_blocking("비밀번호-123").unwrap());
    }
}

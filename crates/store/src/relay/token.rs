//! Device tokens for the relay (migration `0006_relay_tokens`): with `[relay] auth = "tokens"`
//! a connection presents one before its records are taken, and a token covers the sources its
//! glob pattern matches.
//!
//! A token is 256 random bits, written as `sht_` and 64 hex digits, shown once when it is made
//! (`sockhub relay token add`). Only its SHA-256 is stored: a token is far too random to be found
//! from its hash by guessing, so unlike a password it needs no slow, salted hash — and a plain
//! hash can be looked up by an index, one query per connection. Revoking keeps the row, so the
//! list shows who had access until when.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::RelayStore;
use crate::error::StoreError;

/// Longest source pattern of a token, in characters.
pub const RELAY_TOKEN_GLOB_MAX_CHARS: usize = 255;
/// Longest label of a token, in characters.
pub const RELAY_TOKEN_LABEL_MAX_CHARS: usize = 255;
/// What every token starts with (so a leaked one is recognisable in a file or a log).
const TOKEN_PREFIX: &str = "sht_";

/// A device token as stored (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayToken {
    pub id: i64,
    /// The glob pattern of the sources the token covers (`fan-*`).
    pub source_glob: String,
    pub label: String,
    pub created_ms: i64,
    /// When it was revoked; a revoked token is refused.
    pub revoked_ms: Option<i64>,
}

/// The stored form of a token: its SHA-256, lowercase hex.
pub fn relay_token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random token.
fn new_token() -> String {
    let bits: [u8; 32] = rand::random();
    let mut t = String::from(TOKEN_PREFIX);
    for b in bits {
        t.push_str(&format!("{b:02x}"));
    }
    t
}

/// `SELECT <every column but the hash> FROM relay_tokens <rest>`.
macro_rules! tokens {
    ($rest:literal) => {
        concat!("SELECT id, source_glob, label, created_ms, revoked_ms FROM relay_tokens ", $rest)
    };
}

/// `INSERT INTO relay_tokens ...`, without and with `RETURNING id`.
macro_rules! insert_token {
    ($($returning:literal)?) => {
        concat!(
            "INSERT INTO relay_tokens (token_hash, source_glob, label, created_ms) VALUES ($1, $2, $3, $4)",
            $($returning)?
        )
    };
}

impl RelayStore<'_> {
    /// Makes a token for the sources `source_glob` matches (the caller checks that it is a valid
    /// pattern); returns it and the token itself, which is not stored and cannot be shown again.
    pub async fn token_add(self, source_glob: &str, label: &str) -> Result<(RelayToken, String), StoreError> {
        if source_glob.is_empty() || source_glob.chars().count() > RELAY_TOKEN_GLOB_MAX_CHARS {
            return Err(StoreError::Invalid(format!(
                "a token's source pattern must be 1 to {RELAY_TOKEN_GLOB_MAX_CHARS} characters"
            )));
        }
        if label.chars().count() > RELAY_TOKEN_LABEL_MAX_CHARS {
            return Err(StoreError::Invalid(format!(
                "a token's label is at most {RELAY_TOKEN_LABEL_MAX_CHARS} characters"
            )));
        }
        let token = new_token();
        let now = crate::model::to_ms(crate::model::now());
        let id = self
            .insert_returning_id(insert_token!(), insert_token!(" RETURNING id"), |q| {
                q.bind(relay_token_hash(&token)).bind(source_glob.to_owned()).bind(label.to_owned()).bind(now)
            })
            .await?;
        let row = RelayToken {
            id,
            source_glob: source_glob.to_owned(),
            label: label.to_owned(),
            created_ms: now,
            revoked_ms: None,
        };
        Ok((row, token))
    }

    /// The token a connection presented, if it exists and is not revoked.
    pub async fn token_check(self, token: &str) -> Result<Option<RelayToken>, StoreError> {
        let row = self
            .query(tokens!("WHERE token_hash = $1 AND revoked_ms IS NULL"))
            .bind(relay_token_hash(token))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Whether token `id` is still valid (a connection re-checks now and then, so a revocation
    /// reaches connections that authenticated before it).
    pub async fn token_valid(self, id: i64) -> Result<bool, StoreError> {
        let row = self
            .query("SELECT id FROM relay_tokens WHERE id = $1 AND revoked_ms IS NULL")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Every token, revoked ones too, oldest first.
    pub async fn tokens(self) -> Result<Vec<RelayToken>, StoreError> {
        let rows = self.query(tokens!("ORDER BY id")).fetch_all(self.pool()).await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes token `id`; false if there is no such token or it was revoked already.
    pub async fn token_revoke(self, id: i64) -> Result<bool, StoreError> {
        let now = crate::model::to_ms(crate::model::now());
        let done = self
            .query("UPDATE relay_tokens SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL")
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(done > 0)
    }
}

fn token_from_row(r: &AnyRow) -> Result<RelayToken, StoreError> {
    Ok(RelayToken {
        id: r.try_get("id")?,
        source_glob: r.try_get("source_glob")?,
        label: r.try_get("label")?,
        created_ms: r.try_get("created_ms")?,
        revoked_ms: r.try_get("revoked_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed_to_hex() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64, "{a}");
        let h = relay_token_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(
            relay_token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

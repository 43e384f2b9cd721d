//! Ban state: who is banned, from which address group, until when, by whom.
//!
//! Like the mute state, and unlike the moderation *log*, a ban is written synchronously: when an
//! admin is told "banned", the row is committed, so a restart a second later still refuses the
//! user. One row per target, keyed by the name's confusable skeleton ([`crate::name_skeleton`]),
//! so a ban on `teacher` is found for `tеacher` (Cyrillic `е`) too; banning again replaces it.
//! Expired rows are not deleted eagerly: queries compare `until_ms` with the caller's `now`.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::StoreError;
use crate::model::{Ban, clip, column_key, column_skeleton, display_name_form, from_ms, limits, to_ms};
use crate::store::Backend;

/// The longest address group stored (an IPv6 address in full is 39 characters).
const ADDRESS_MAX_CHARS: usize = 64;

query_group! {
    /// The bans' queries, borrowed from a [`Store`](crate::Store) ([`Store::bans`](crate::Store::bans)).
    pub struct BanStore;
    /// Bans by name and address, and the last address a name logged in from.
    fn bans;
}

impl BanStore<'_> {
    /// Bans `b.target` (replacing any earlier ban of that name or a look-alike of it).
    pub async fn set(self, b: &Ban) -> Result<(), StoreError> {
        let target = clip(&display_name_form(b.target.trim()), limits::NAME_MAX_CHARS).into_owned();
        if target.is_empty() {
            return Err(StoreError::Invalid("ban target must not be empty".into()));
        }
        let sql = match self.backend() {
            Backend::MySql => {
                "INSERT INTO bans (target_key, target, address, until_ms, reason, actor, at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON DUPLICATE KEY UPDATE target = VALUES(target), address = VALUES(address), \
                 until_ms = VALUES(until_ms), reason = VALUES(reason), actor = VALUES(actor), \
                 at_ms = VALUES(at_ms)"
            }
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO bans (target_key, target, address, until_ms, reason, actor, at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (target_key) DO UPDATE SET target = excluded.target, \
                 address = excluded.address, until_ms = excluded.until_ms, \
                 reason = excluded.reason, actor = excluded.actor, at_ms = excluded.at_ms"
            }
        };
        self.query(sql)
            .bind(column_skeleton(&target))
            .bind(target.clone())
            .bind(b.address.as_deref().map(|a| clip(a, ADDRESS_MAX_CHARS).into_owned()))
            .bind(b.until.map(to_ms))
            .bind(b.reason.as_deref().map(|r| clip(r, limits::REASON_MAX_CHARS).into_owned()))
            .bind(clip(&b.actor, limits::NAME_MAX_CHARS).into_owned())
            .bind(to_ms(b.at))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Lifts the ban on `target` (or a look-alike of it). `true` if there was a ban row to
    /// remove (active or expired).
    pub async fn clear(self, target: &str) -> Result<bool, StoreError> {
        let done = self
            .query("DELETE FROM bans WHERE target_key = $1")
            .bind(column_skeleton(target.trim()))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The ban on `target` (or a look-alike of it) in force at `now`, if any.
    pub async fn active(self, target: &str, now: DateTime<Utc>) -> Result<Option<Ban>, StoreError> {
        let row = self
            .query(
                "SELECT target, address, until_ms, reason, actor, at_ms FROM bans \
                 WHERE target_key = $1 AND (until_ms IS NULL OR until_ms > $2)",
            )
            .bind(column_skeleton(target.trim()))
            .bind(to_ms(now))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(ban_from_row).transpose()
    }

    /// Every ban in force at `now`, by target (e.g. to load at startup).
    pub async fn list_active(self, now: DateTime<Utc>) -> Result<Vec<Ban>, StoreError> {
        let rows = self
            .query(
                "SELECT target, address, until_ms, reason, actor, at_ms FROM bans \
                 WHERE until_ms IS NULL OR until_ms > $1 ORDER BY target_key",
            )
            .bind(to_ms(now))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(ban_from_row).collect()
    }

    /// The address (`ip:port`, as the login log has it) of `name`'s most recent successful login
    /// on any service, if the log has one: where an address ban of a user who is not connected
    /// here points.
    pub async fn last_login_peer(self, name: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .query(
                "SELECT peer FROM logins WHERE name_key = $1 AND outcome = 'success' \
                 ORDER BY at_ms DESC, id DESC LIMIT 1",
            )
            .bind(column_key(&display_name_form(name.trim())))
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("peer")).transpose()?)
    }
}

fn ban_from_row(row: &AnyRow) -> Result<Ban, StoreError> {
    Ok(Ban {
        target: row.try_get("target")?,
        address: row.try_get("address")?,
        until: row.try_get::<Option<i64>, _>("until_ms")?.map(from_ms).transpose()?,
        reason: row.try_get("reason")?,
        actor: row.try_get("actor")?,
        at: from_ms(row.try_get("at_ms")?)?,
    })
}

//! Mute state: who is muted, until when, by whom.
//!
//! Unlike the moderation *log* (queued to the batched writer), the mute *state* is written
//! synchronously: when an admin is told "muted", the row is committed, so a server restart a
//! second later still refuses the user's messages. One row per target and room (`target_key`
//! and `room_key` are the primary key; `room_key` is `''` for a server-wide mute); setting a mute
//! again replaces it. Expired rows are not deleted eagerly: they
//! are simply not active (queries compare `until_ms` with the caller's `now`), and the next
//! `set_mute` or `clear_mute` for that name replaces or removes them.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::StoreError;
use crate::model::{Mute, clip, column_key, display_name_form, from_ms, limits, to_ms};
use crate::store::{Backend, Store};

impl Store {
    /// Mutes `m.target` in `m.room`, or everywhere (replacing any earlier mute of that name in the
    /// same place, active or expired).
    pub async fn set_mute(&self, m: &Mute) -> Result<(), StoreError> {
        // Clip before deriving the key, so key and name agree and fit their columns.
        let target = clip(&display_name_form(m.target.trim()), limits::NAME_MAX_CHARS).into_owned();
        if target.is_empty() {
            return Err(StoreError::Invalid("mute target must not be empty".into()));
        }
        // An upsert is one atomic statement on every backend; only its spelling differs.
        let sql = match self.backend() {
            Backend::MySql => {
                "INSERT INTO mutes (target_key, target, until_ms, reason, actor, at_ms, room_key, room) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON DUPLICATE KEY UPDATE target = VALUES(target), until_ms = VALUES(until_ms), \
                 reason = VALUES(reason), actor = VALUES(actor), at_ms = VALUES(at_ms)"
            }
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO mutes (target_key, target, until_ms, reason, actor, at_ms, room_key, room) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (target_key, room_key) DO UPDATE SET target = excluded.target, \
                 until_ms = excluded.until_ms, reason = excluded.reason, \
                 actor = excluded.actor, at_ms = excluded.at_ms"
            }
        };
        self.query(sql)
            .bind(column_key(&target))
            .bind(target.clone())
            .bind(m.until.map(to_ms))
            .bind(m.reason.as_deref().map(|r| clip(r, limits::REASON_MAX_CHARS).into_owned()))
            .bind(clip(&m.actor, limits::NAME_MAX_CHARS).into_owned())
            .bind(to_ms(m.at))
            .bind(room_key(m.room.as_deref()))
            .bind(m.room.as_deref().map(|r| clip(r, limits::NAME_MAX_CHARS).into_owned()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Lifts the server-wide mute on `target`. `true` if there was a mute row to remove (active
    /// or expired), `false` if the name was not muted at all.
    pub async fn clear_mute(&self, target: &str) -> Result<bool, StoreError> {
        self.clear_mute_in(target, None).await
    }

    /// Lifts the mute on `target` in `room` (`None`: the server-wide one), as [`Self::clear_mute`].
    pub async fn clear_mute_in(&self, target: &str, room: Option<&str>) -> Result<bool, StoreError> {
        let done = self
            .query("DELETE FROM mutes WHERE target_key = $1 AND room_key = $2")
            .bind(column_key(target.trim()))
            .bind(room_key(room))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The server-wide mute on `target` in force at `now`, if any.
    pub async fn active_mute(&self, target: &str, now: DateTime<Utc>) -> Result<Option<Mute>, StoreError> {
        let row = self
            .query(
                "SELECT target, until_ms, reason, actor, at_ms, room FROM mutes \
                 WHERE target_key = $1 AND room_key = '' AND (until_ms IS NULL OR until_ms > $2)",
            )
            .bind(column_key(target.trim()))
            .bind(to_ms(now))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(mute_from_row).transpose()
    }

    /// Every mute in force at `now`, server-wide and per room, by target name (e.g. to load at
    /// startup).
    pub async fn active_mutes(&self, now: DateTime<Utc>) -> Result<Vec<Mute>, StoreError> {
        let rows = self
            .query(
                "SELECT target, until_ms, reason, actor, at_ms, room FROM mutes \
                 WHERE until_ms IS NULL OR until_ms > $1 ORDER BY target_key, room_key",
            )
            .bind(to_ms(now))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(mute_from_row).collect()
    }
}

fn mute_from_row(row: &AnyRow) -> Result<Mute, StoreError> {
    Ok(Mute {
        target: row.try_get("target")?,
        until: row.try_get::<Option<i64>, _>("until_ms")?.map(from_ms).transpose()?,
        reason: row.try_get("reason")?,
        actor: row.try_get("actor")?,
        at: from_ms(row.try_get("at_ms")?)?,
        room: row.try_get("room")?,
    })
}

/// The `room_key` column of a mute: the room's key, or `''` for a server-wide mute.
fn room_key(room: Option<&str>) -> String {
    room.map(|r| column_key(r.trim())).unwrap_or_default()
}

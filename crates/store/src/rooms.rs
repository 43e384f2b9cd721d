//! Persistent chat rooms: the rooms configured in `[[chat.room]]` or created by an admin, and
//! their topics (`chat_rooms`).
//!
//! Rooms created by an ordinary join live only in memory and vanish when empty; a persistent room
//! is a row here, so it (and its topic) is back after a restart. Like the mute state, a room and a
//! topic are written synchronously: when an admin is told "topic set", the row is committed.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::StoreError;
use crate::model::{clip, column_key, from_ms, limits, to_ms};
use crate::store::{Backend, Store};

/// A persistent room as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRoom {
    /// The room's name as it was created (`#Lab`).
    pub name: String,
    pub topic: Option<String>,
    /// Who set the topic, and when.
    pub topic_by: Option<String>,
    pub topic_at: Option<DateTime<Utc>>,
    /// Who created the room (`config` for a configured one).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Store `room` unless a room of that name (case-insensitively) is stored already; `true` if
    /// it was added. An existing room keeps its topic.
    pub async fn add_room(&self, room: &StoredRoom) -> Result<bool, StoreError> {
        let sql = match self.backend() {
            Backend::MySql => {
                "INSERT IGNORE INTO chat_rooms \
                 (name_key, name, topic, topic_by, topic_at_ms, created_by, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            }
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO chat_rooms \
                 (name_key, name, topic, topic_by, topic_at_ms, created_by, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name_key) DO NOTHING"
            }
        };
        let done = self
            .query(sql)
            .bind(column_key(&room.name))
            .bind(clip(&room.name, limits::NAME_MAX_CHARS).into_owned())
            .bind(room.topic.as_deref().map(|t| clip(t, limits::BODY_MAX_CHARS).into_owned()))
            .bind(room.topic_by.clone())
            .bind(room.topic_at.map(to_ms))
            .bind(clip(&room.created_by, limits::NAME_MAX_CHARS).into_owned())
            .bind(to_ms(room.created_at))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Set (or with `None` clear) the topic of the stored room `name`; `false` if no such room is
    /// stored.
    pub async fn set_room_topic(
        &self,
        name: &str,
        topic: Option<&str>,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = self
            .query("UPDATE chat_rooms SET topic = $1, topic_by = $2, topic_at_ms = $3 WHERE name_key = $4")
            .bind(topic.map(|t| clip(t, limits::BODY_MAX_CHARS).into_owned()))
            .bind(clip(by, limits::NAME_MAX_CHARS).into_owned())
            .bind(to_ms(at))
            .bind(column_key(name))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every stored room, by name.
    pub async fn rooms(&self) -> Result<Vec<StoredRoom>, StoreError> {
        let rows = self
            .query(
                "SELECT name, topic, topic_by, topic_at_ms, created_by, created_at_ms FROM chat_rooms \
                 ORDER BY name_key",
            )
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(room_from_row).collect()
    }
}

fn room_from_row(row: &AnyRow) -> Result<StoredRoom, StoreError> {
    Ok(StoredRoom {
        name: row.try_get("name")?,
        topic: row.try_get("topic")?,
        topic_by: row.try_get("topic_by")?,
        topic_at: row.try_get::<Option<i64>, _>("topic_at_ms")?.map(from_ms).transpose()?,
        created_by: row.try_get("created_by")?,
        created_at: from_ms(row.try_get("created_at_ms")?)?,
    })
}

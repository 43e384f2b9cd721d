//! Reads of the logs the batched writer fills: logins by time range and user, chat history
//! (whispers included) by user and time, moderation actions, and the recent public lines a
//! joining chat client is shown.
//!
//! Every result is oldest first (`ORDER BY at_ms, id`: `id` breaks ties in insertion order).
//! A `limit` keeps the *newest* rows, because "the last 50 lines" is what a history view and
//! an admin skimming a report want; the rows are fetched newest first and reversed here.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::StoreError;
use crate::model::{
    ChatFilter, ChatRow, LoginFilter, LoginRow, ModerationFilter, ModerationRow, column_key, from_ms, to_ms,
};
use crate::store::{SqlBuf, Store};

impl Store {
    /// Login-log rows matching `f`, oldest first.
    pub async fn logins(&self, f: &LoginFilter) -> Result<Vec<LoginRow>, StoreError> {
        let mut b = self.buf();
        b.push("SELECT id, name, peer, service, outcome, at_ms FROM logins WHERE 1 = 1");
        if let Some(from) = f.from {
            b.push(" AND at_ms >= ").bind(to_ms(from));
        }
        if let Some(to) = f.to {
            b.push(" AND at_ms < ").bind(to_ms(to));
        }
        if let Some(user) = &f.user {
            b.push(" AND name_key = ").bind(column_key(user.trim()));
        }
        let rows = fetch_ordered(self, b, f.limit).await?;
        rows.iter().map(login_from_row).collect()
    }

    /// Chat-log rows matching `f` (public lines and whispers), oldest first.
    pub async fn chat_log(&self, f: &ChatFilter) -> Result<Vec<ChatRow>, StoreError> {
        let mut b = self.buf();
        b.push("SELECT id, sender, recipient, body, at_ms, room FROM chat_messages WHERE 1 = 1");
        if let Some(room) = &f.room {
            b.push(" AND recipient_key IS NULL AND room_key = ").bind(column_key(room.trim()));
        }
        if let Some(user) = &f.user {
            let key = column_key(user.trim());
            b.push(" AND (sender_key = ").bind(key.clone()).push(" OR recipient_key = ").bind(key).push(")");
        }
        if let Some(since) = f.since {
            b.push(" AND at_ms >= ").bind(to_ms(since));
        }
        if let Some(until) = f.until {
            b.push(" AND at_ms < ").bind(to_ms(until));
        }
        let rows = fetch_ordered(self, b, f.limit).await?;
        rows.iter().map(chat_from_row).collect()
    }

    /// Moderation-log rows matching `f`, oldest first.
    pub async fn moderation_log(&self, f: &ModerationFilter) -> Result<Vec<ModerationRow>, StoreError> {
        let mut b = self.buf();
        b.push(
            "SELECT id, actor, target, action, reason, until_ms, at_ms, room FROM moderation \
             WHERE 1 = 1",
        );
        if let Some(from) = f.from {
            b.push(" AND at_ms >= ").bind(to_ms(from));
        }
        if let Some(to) = f.to {
            b.push(" AND at_ms < ").bind(to_ms(to));
        }
        if let Some(target) = &f.target {
            b.push(" AND target_key = ").bind(column_key(target.trim()));
        }
        if let Some(actor) = &f.actor {
            b.push(" AND actor_key = ").bind(column_key(actor.trim()));
        }
        let rows = fetch_ordered(self, b, f.limit).await?;
        rows.iter().map(moderation_from_row).collect()
    }

    /// The newest `limit` public lines (no whispers) of every room, oldest first.
    pub async fn recent_public_messages(&self, limit: u32) -> Result<Vec<ChatRow>, StoreError> {
        let mut b = self.buf();
        b.push(
            "SELECT id, sender, recipient, body, at_ms, room FROM chat_messages \
             WHERE recipient_key IS NULL",
        );
        let rows = fetch_ordered(self, b, Some(limit)).await?;
        rows.iter().map(chat_from_row).collect()
    }

    /// The newest `limit` public lines of `room` (case-insensitive), oldest first: what a client
    /// joining the room is shown.
    pub async fn recent_room_messages(&self, room: &str, limit: u32) -> Result<Vec<ChatRow>, StoreError> {
        let mut b = self.buf();
        b.push(
            "SELECT id, sender, recipient, body, at_ms, room FROM chat_messages \
             WHERE recipient_key IS NULL AND room_key = ",
        )
        .bind(column_key(room.trim()));
        let rows = fetch_ordered(self, b, Some(limit)).await?;
        rows.iter().map(chat_from_row).collect()
    }
}

/// Appends the ordering (and limit) and runs the query; rows come back oldest first.
async fn fetch_ordered(store: &Store, mut b: SqlBuf, limit: Option<u32>) -> Result<Vec<AnyRow>, StoreError> {
    match limit {
        None => {
            b.push(" ORDER BY at_ms, id");
            Ok(b.build()?.fetch_all(&store.pool).await?)
        }
        Some(n) => {
            b.push(" ORDER BY at_ms DESC, id DESC LIMIT ").bind(i64::from(n));
            let mut rows = b.build()?.fetch_all(&store.pool).await?;
            rows.reverse();
            Ok(rows)
        }
    }
}

fn login_from_row(row: &AnyRow) -> Result<LoginRow, StoreError> {
    Ok(LoginRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        peer: row.try_get("peer")?,
        service: row.try_get("service")?,
        outcome: row.try_get::<String, _>("outcome")?.parse()?,
        at: from_ms(row.try_get("at_ms")?)?,
    })
}

fn chat_from_row(row: &AnyRow) -> Result<ChatRow, StoreError> {
    Ok(ChatRow {
        id: row.try_get("id")?,
        sender: row.try_get("sender")?,
        recipient: row.try_get("recipient")?,
        text: row.try_get("body")?,
        at: from_ms(row.try_get("at_ms")?)?,
        room: row.try_get("room")?,
    })
}

fn moderation_from_row(row: &AnyRow) -> Result<ModerationRow, StoreError> {
    Ok(ModerationRow {
        id: row.try_get("id")?,
        actor: row.try_get("actor")?,
        target: row.try_get("target")?,
        action: row.try_get::<String, _>("action")?.parse()?,
        reason: row.try_get("reason")?,
        until: row.try_get::<Option<i64>, _>("until_ms")?.map(from_ms).transpose()?,
        at: from_ms(row.try_get("at_ms")?)?,
        room: row.try_get("room")?,
    })
}

//! Admins' tools: kick, mute and unmute, server-wide or in one room, and the mutes in force.
//!
//! With a room, a kick removes the target from that room only (they stay connected) and a mute
//! stops their lines in that room only; the events go to that room's members. Without one, a
//! kick disconnects and a mute covers every room, and everyone online is told.
//!
//! A mute is state, not just a log line: it is written to the database before anyone is told
//! (so it survives a restart at once) and kept in memory for the check on every message. A timed
//! mute has a timer that lifts it and tells the room when it runs out; a mute loaded at start
//! gets its timer again. Every action is also written to the moderation log.
//!
//! In a cluster the target may be on another node: a kick is published and carried out by the
//! node holding the connection; a mute or unmute is published so every node's mute cache changes
//! at once (and a node that missed it reloads the mutes from the database when it resyncs). Each
//! action takes its place on the way to the other nodes before it does anything
//! ([`crate::bus::place`]), so none is dropped when the bus is behind: it waits, or is refused
//! with `unavailable` and nothing done.

use sockhub_i18n::{Msg, msg};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use sockhub_proto::ErrorCode;
use sockhub_proto::chat::ChatEvent;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::time::Timestamp;
use sockhub_store::{Journal, ModerationAction, ModerationRecord, Mute, Store};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use super::ChatService;
use super::room::Located;
use crate::bus::{self, ChatMsg, Message, WireMute};
use crate::names;
use crate::net::outbox::Frame;

/// The mutes in force, and the means to change them.
pub struct Moderation {
    store: Store,
    journal: Journal,
    /// By (user key, room key or `""` for a server-wide mute).
    mutes: Mutex<HashMap<(String, String), Mute>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    log_wait: Duration,
}

impl Moderation {
    pub fn new(
        store: Store,
        journal: Journal,
        tracker: TaskTracker,
        shutdown: CancellationToken,
        log_wait: Duration,
    ) -> Self {
        Moderation { store, journal, mutes: Mutex::new(HashMap::new()), tracker, shutdown, log_wait }
    }

    /// The server-wide mute in force for `name`, if any.
    pub fn muted(&self, name: &str, now: Timestamp) -> Option<Mute> {
        self.muted_in(name, None, now)
    }

    /// The mute in force for `name` in `room` (`None`: the server-wide one), if any.
    pub fn muted_in(&self, name: &str, room: Option<&str>, now: Timestamp) -> Option<Mute> {
        self.mutes.lock().get(&mute_key(name, room)).filter(|m| m.is_active(now)).cloned()
    }

    /// Refuse with `muted` if `name` may not speak in `room` now (a server-wide mute, or one in
    /// that room).
    pub fn check(&self, name: &str, room: Option<&str>, now: Timestamp) -> Result<(), ErrorEvent> {
        let room_key = room.map(super::rooms::key);
        self.check_keys(&names::key(name), room_key.as_deref(), now)
    }

    /// [`Moderation::check`] for a user and a room already in key form ([`names::key`],
    /// [`super::rooms::key`]): every public line's path, so no name is normalized again, and
    /// nothing is looked up while nobody is muted.
    pub fn check_keys(
        &self,
        user_key: &str,
        room_key: Option<&str>,
        now: Timestamp,
    ) -> Result<(), ErrorEvent> {
        let mute = {
            let mutes = self.mutes.lock();
            if mutes.is_empty() {
                return Ok(());
            }
            let find = |room: &str| {
                mutes.get(&(user_key.to_owned(), room.to_owned())).filter(|m| m.is_active(now)).cloned()
            };
            find("").or_else(|| room_key.and_then(find))
        };
        let Some(mute) = mute else { return Ok(()) };
        let why = mute.reason.map(|r| format!(" ({r})")).unwrap_or_default();
        let message = match (mute.until, mute.room) {
            (Some(t), None) => {
                msg!("chat-muted-you-until", until = sockhub_proto::time::clock(&t), why = why)
            }
            (None, None) => msg!("chat-muted-you", why = why),
            (Some(t), Some(room)) => {
                msg!(
                    "chat-muted-in-room-until",
                    room = room,
                    until = sockhub_proto::time::clock(&t),
                    why = why
                )
            }
            (None, Some(room)) => msg!("chat-muted-in-room", room = room, why = why),
        };
        Err(ErrorEvent::new(ErrorCode::Muted, message))
    }

    /// Every mute in force at `now`, sorted by name.
    pub fn active(&self, now: Timestamp) -> Vec<Mute> {
        let mut mutes: Vec<Mute> = self.mutes.lock().values().filter(|m| m.is_active(now)).cloned().collect();
        mutes.sort_by_key(|m| mute_key(&m.target, m.room.as_deref()));
        mutes
    }

    /// Disconnect `target` (who must be online): everyone (the target too) is told who did it and
    /// why, then the target gets a final `bye`. With `room`: remove the target from that room
    /// only (the room's members are told, the target too, and they get `left`).
    pub async fn kick(
        &self,
        chat: &ChatService,
        actor: &str,
        target: &str,
        reason: Option<String>,
        room: Option<String>,
    ) -> Result<(), ErrorEvent> {
        check_reason(reason.as_deref())?;
        let located = chat.room.locate(&names::key(target)).ok_or_else(|| not_online(target))?;
        let name = located.name().to_owned();
        if names::key(actor) == names::key(&name) && room.is_none() {
            return Err(ErrorEvent::new(ErrorCode::BadRequest, msg!("chat-kick-yourself")));
        }
        if let Some(r) = &room {
            let room = chat.rooms.existing(r)?;
            if !chat.rooms.is_member(&room, &names::key(&name)) {
                let e = msg!("chat-not-in-room", room = room);
                return Err(ErrorEvent::new(
                    ErrorCode::NotInRoom,
                    msg!("common-reason", text = name.clone(), reason = e),
                ));
            }
            return self.kick_from_room(chat, actor, located, room, reason).await;
        }
        let slot = bus::place(chat.bus.as_ref(), "a kick").await?;
        let mut record = ModerationRecord::new(actor, &name, ModerationAction::Kick);
        record.reason = reason.clone();
        self.log(record).await?;
        let bye = kicked_by(actor, reason.as_deref());
        chat.room.broadcast(&Frame::new(ChatEvent::Kicked {
            name: name.clone(),
            by: actor.to_owned(),
            reason: reason.clone(),
            room: None,
        }));
        // Every node shows the kick; the one holding the connection closes it.
        let (node, conn) = match located {
            Located::Here(member) => {
                member
                    .outbox
                    .close_with(Some(Frame::new(sockhub_proto::notice::Notice::Bye { reason: bye })));
                (chat.bus.node(), member.conn)
            }
            Located::There { node, conn, .. } => (node, conn),
        };
        if let Some(slot) = slot {
            let kicked =
                ChatMsg::Kicked { name: name.clone(), node, conn, by: actor.to_owned(), reason, room: None };
            slot.send(Message::Chat(kicked));
        }
        info!(target = %name, by = %actor, "kicked");
        Ok(())
    }

    /// `/kick name #room`: the room's members (the target too) see `kicked`; the node holding
    /// the target's connection takes them out of the room.
    async fn kick_from_room(
        &self,
        chat: &ChatService,
        actor: &str,
        located: Located,
        room: String,
        reason: Option<String>,
    ) -> Result<(), ErrorEvent> {
        let name = located.name().to_owned();
        let slot = bus::place(chat.bus.as_ref(), "a kick").await?;
        let record = ModerationRecord {
            reason: reason.clone(),
            ..ModerationRecord::new(actor, &name, ModerationAction::Kick)
        };
        self.log(record.in_room(Some(room.clone()))).await?;
        let event = ChatEvent::Kicked {
            name: name.clone(),
            by: actor.to_owned(),
            reason: reason.clone(),
            room: Some(room.clone()),
        };
        chat.rooms.broadcast(&room, event);
        let (node, conn) = match &located {
            Located::Here(member) => (chat.bus.node(), member.conn),
            Located::There { node, conn, .. } => (node.clone(), *conn),
        };
        if let Some(slot) = slot {
            let kicked = ChatMsg::Kicked {
                name: name.clone(),
                node,
                conn,
                by: actor.to_owned(),
                reason,
                room: Some(room.clone()),
            };
            slot.send(Message::Chat(kicked));
        }
        if let Located::Here(_) = located {
            chat.remove_from_room(&name, &room).await;
        }
        info!(target = %name, by = %actor, room = %room, "removed from a room");
        Ok(())
    }

    /// Mute `target` (online or not) for `minutes`, or until unmuted.
    pub async fn mute(
        &self,
        chat: &Arc<ChatService>,
        actor: &str,
        target: &str,
        minutes: Option<f64>,
        reason: Option<String>,
        room: Option<String>,
    ) -> Result<(), ErrorEvent> {
        let room = room.map(|r| chat.rooms.existing(&r)).transpose()?;
        let now = sockhub_store::now();
        let until = match minutes {
            Some(m) if m.is_finite() && m > 0.0 && m <= 525_600.0 => {
                Some(now + chrono::Duration::milliseconds((m * 60_000.0) as i64))
            }
            Some(_) => {
                return Err(ErrorEvent::new(ErrorCode::BadRequest, msg!("chat-mute-minutes")));
            }
            None => None,
        };
        check_reason(reason.as_deref())?;
        // Use the name as the room knows it when the target is online; an offline name must be
        // one that could log in (it is shown to everyone).
        let name = match chat.room.locate(&names::key(target)) {
            Some(member) => member.name().to_owned(),
            None => {
                names::validate(target)?;
                target.to_owned()
            }
        };
        let slot = bus::place(chat.bus.as_ref(), "a mute").await?;
        let mute = Mute {
            target: name.clone(),
            until,
            reason: reason.clone(),
            actor: actor.to_owned(),
            at: now,
            room: room.clone(),
        };
        self.store.set_mute(&mute).await.map_err(|e| {
            warn!(error = %e, "could not store a mute");
            unavailable()
        })?;
        let mut record = ModerationRecord::new(actor, &name, ModerationAction::Mute).in_room(room.clone());
        (record.reason, record.until) = (reason.clone(), until);
        self.log(record).await?;
        if let Some(slot) = slot {
            slot.send(Message::Chat(ChatMsg::Muted { mute: WireMute::from(&mute) }));
        }
        self.remember(chat, mute);
        let event =
            ChatEvent::Muted { name: name.clone(), by: actor.to_owned(), until, reason, room: room.clone() };
        tell(chat, room.as_deref(), event);
        info!(target = %name, by = %actor, room = ?room, "muted");
        Ok(())
    }

    /// Lift `target`'s mute: the server-wide one, or with `room` the one in that room.
    pub async fn unmute(
        &self,
        chat: &ChatService,
        actor: &str,
        target: &str,
        room: Option<String>,
    ) -> Result<(), ErrorEvent> {
        let room = room.map(|r| chat.rooms.existing(&r)).transpose()?;
        let key = mute_key(target, room.as_deref());
        let was = self.mutes.lock().get(&key).filter(|m| m.is_active(sockhub_store::now())).cloned();
        let Some(was) = was else {
            let message = match &room {
                Some(r) => msg!("chat-not-muted-in", name = target, room = r.clone()),
                None => msg!("chat-not-muted", name = target),
            };
            return Err(ErrorEvent::new(ErrorCode::NotMuted, message));
        };
        let slot = bus::place(chat.bus.as_ref(), "an unmute").await?;
        self.store.clear_mute_in(&was.target, room.as_deref()).await.map_err(|e| {
            warn!(error = %e, "could not clear a mute");
            unavailable()
        })?;
        let record =
            ModerationRecord::new(actor, &was.target, ModerationAction::Unmute).in_room(room.clone());
        self.log(record).await?;
        self.mutes.lock().remove(&key);
        if let Some(slot) = slot {
            let unmuted =
                ChatMsg::Unmuted { name: was.target.clone(), by: actor.to_owned(), room: room.clone() };
            slot.send(Message::Chat(unmuted));
        }
        let event =
            ChatEvent::Unmuted { name: was.target.clone(), by: Some(actor.to_owned()), room: room.clone() };
        tell(chat, room.as_deref(), event);
        info!(target = %was.target, by = %actor, room = ?room, "unmuted");
        Ok(())
    }

    /// Keep `mute` in memory and, if it has an end, lift it then.
    pub(crate) fn remember(&self, chat: &Arc<ChatService>, mute: Mute) {
        let key = mute_key(&mute.target, mute.room.as_deref());
        if let Some(until) = mute.until {
            let chat: Weak<ChatService> = Arc::downgrade(chat);
            let (set_at, shutdown) = (mute.at, self.shutdown.clone());
            let wait = (until - sockhub_store::now()).to_std().unwrap_or_default();
            self.tracker.spawn(async move {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(wait) => {
                        if let Some(chat) = chat.upgrade() {
                            chat.moderation.expire(&chat, &key, set_at);
                        }
                    }
                }
            });
        }
        self.mutes.lock().insert(mute_key(&mute.target, mute.room.as_deref()), mute);
    }

    /// Another node lifted `name`'s mute (in `room`, or the server-wide one): forget it. `false`
    /// if it was not muted here.
    pub(crate) fn forget(&self, name: &str, room: Option<&str>) -> bool {
        self.mutes.lock().remove(&mute_key(name, room)).is_some()
    }

    /// Make the mutes in force exactly `mutes` (read from the database after a resync: another
    /// node may have changed them while this one could not hear it). Nobody is told; the next
    /// message of a muted user is refused as usual.
    pub(crate) fn reload(&self, chat: &Arc<ChatService>, mutes: Vec<Mute>) {
        let fresh: HashMap<(String, String), Mute> =
            mutes.into_iter().map(|m| (mute_key(&m.target, m.room.as_deref()), m)).collect();
        let changed: Vec<Mute> = {
            let mut current = self.mutes.lock();
            current.retain(|k, _| fresh.contains_key(k));
            fresh.into_iter().filter(|(k, m)| current.get(k) != Some(m)).map(|(_, m)| m).collect()
        };
        for mute in changed {
            self.remember(chat, mute);
        }
    }

    /// A timed mute ran out: forget it and tell the room, unless it was replaced or lifted.
    fn expire(&self, chat: &ChatService, key: &(String, String), set_at: Timestamp) {
        let expired = {
            let mut mutes = self.mutes.lock();
            match mutes.get(key) {
                Some(m) if m.at == set_at => mutes.remove(key),
                _ => None,
            }
        };
        if let Some(m) = expired {
            info!(target = %m.target, room = ?m.room, "a mute expired");
            let room = m.room.clone();
            tell(chat, room.as_deref(), ChatEvent::Unmuted { name: m.target, by: None, room: m.room });
        }
    }

    async fn log(&self, record: ModerationRecord) -> Result<(), ErrorEvent> {
        self.journal.send_timeout(record, self.log_wait).await.map_err(|_| unavailable())
    }

    /// Write a moderation-log line (a topic change, say) through the batched writer.
    pub(crate) async fn log_record(&self, record: ModerationRecord) -> Result<(), ErrorEvent> {
        self.log(record).await
    }
}

/// The key of a mute: the user's key, and the room's (`""` for a server-wide mute).
fn mute_key(name: &str, room: Option<&str>) -> (String, String) {
    (names::key(name), room.map(super::rooms::key).unwrap_or_default())
}

/// Tell a room's members (`Some`), or everyone online here (`None`), about a moderation event.
pub(super) fn tell(chat: &ChatService, room: Option<&str>, event: ChatEvent) {
    match room {
        Some(r) => chat.rooms.broadcast(r, event),
        None => chat.room.broadcast(&Frame::new(event)),
    }
}

/// `no_such_user`, echoing the name as typed (escaped: it is unchecked input).
pub(super) fn not_online(name: &str) -> ErrorEvent {
    let name = sockhub_proto::text::escape(name);
    ErrorEvent::new(ErrorCode::NoSuchUser, msg!("chat-no-such-user", name = name.into_owned()))
}

fn unavailable() -> ErrorEvent {
    ErrorEvent::new(ErrorCode::Unavailable, msg!("chat-moderation-unavailable"))
}

/// A moderation reason is shown to everyone: it must be text.
fn check_reason(reason: Option<&str>) -> Result<(), ErrorEvent> {
    reason.map_or(Ok(()), |r| sockhub_proto::text::require("reason", r))
}

/// The `bye` reason of a kicked user: `kicked by alice: spamming`.
pub(crate) fn kicked_by(by: &str, reason: Option<&str>) -> Msg {
    let kicked = msg!("chat-kicked-by", by = by);
    match reason {
        Some(r) => msg!("common-reason", text = kicked, reason = r),
        None => kicked,
    }
}

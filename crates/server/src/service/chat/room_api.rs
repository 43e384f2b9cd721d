//! The chat service's room API: join, part, switch, say in a room, the room list, topics and
//! members, for any front end that holds a logged-in chat user (the chat session, an IRC
//! listener).
//!
//! A front end registers its user with [`ChatService::enter_rooms`] once the name is claimed in
//! the presence, then calls the rest with the user's name (and [`crate::names::key`] of it).
//! Every call checks what it must (room names, membership, limits, mutes, admin rights), writes
//! what is stored (persistent rooms, topics, the chat log) before anyone is told, delivers to the
//! local members, and tells the other nodes through the bus. Errors are protocol errors with
//! their codes (`bad_room_name`, `not_in_room`, ...), ready to send.

use std::sync::Arc;

use sockhub_i18n::msg;
use sockhub_proto::ErrorCode;
use sockhub_proto::chat::{ChatEvent, RoomInfo};
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::time;
use sockhub_store::{ChatRecord, ModerationAction, ModerationRecord, Store, StoreError, StoredRoom};
use tracing::{info, warn};

use super::ChatService;
use super::rooms::{self, Create, Extra, Joined, Rooms, Topic};
use crate::bus::{self, ChatMsg, Message, Slot};
use crate::config::{ChatConfig, RoomCreation};
use crate::net::outbox::Outbox;

/// A local member's change of rooms, for the other nodes.
pub(super) enum RoomChange {
    /// Joined; `persistent`: this join created the room as an admin's.
    Joined { persistent: bool },
    /// Left, saying `reason`.
    Left { reason: Option<String> },
}

/// The rooms at start: the default room, the configured ones (stored as persistent rooms) and
/// those admins created, each with its topic and its last `[chat] history` lines.
pub(super) async fn load_rooms(config: &ChatConfig, store: &Store) -> Result<Rooms, StoreError> {
    let rooms = Rooms::new(config.history, config.max_rooms_per_user, config.max_rooms);
    let now = time::now();
    for setting in &config.room {
        let stored = StoredRoom {
            name: setting.name.clone(),
            topic: setting.topic.clone(),
            topic_by: setting.topic.as_ref().map(|_| "config".to_owned()),
            topic_at: setting.topic.as_ref().map(|_| now),
            created_by: "config".into(),
            created_at: now,
        };
        store.add_room(&stored).await?;
    }
    let mut names: Vec<(String, Option<Topic>)> = store
        .rooms()
        .await?
        .into_iter()
        .map(|r| {
            let topic = r.topic.map(|text| Topic {
                text,
                by: r.topic_by.unwrap_or_default(),
                at: r.topic_at.unwrap_or(r.created_at),
            });
            (r.name, topic)
        })
        .collect();
    names.push((config.default_room.clone(), None));
    let limit = config.history.min(u32::MAX as usize) as u32;
    for (name, topic) in names {
        let history = store.recent_room_messages(&name, limit).await?;
        rooms.ensure_persistent(&name, topic, history);
    }
    Ok(rooms)
}

impl ChatService {
    /// Register a logged-in user with the rooms (in none yet). Call [`Self::join_room`] with the
    /// default room next.
    pub fn enter_rooms(&self, key: &str, name: &Arc<str>, outbox: &Outbox) {
        self.rooms.enter(key, name, outbox);
    }

    /// The room every login joins first.
    pub fn default_room(&self) -> &str {
        &self.config.default_room
    }

    /// `name` joins `room` (creating it as `[chat] rooms` allows: anyone in `"open"` mode, admins
    /// only in `"admin"` mode; an admin's room is persistent). The user receives `joined` (with
    /// the topic) and the room's history, or `switched` when already in it.
    pub async fn join_room(&self, key: &str, name: &str, admin: bool, room: &str) -> Result<(), ErrorEvent> {
        self.join_room_as(key, name, admin, room, false).await
    }

    /// The login's join of the default room: as [`Self::join_room`], but the user's own `joined`
    /// is left out (their `welcome` says where they are); its topic, when set, is sent instead.
    pub async fn join_default_room(&self, key: &str, name: &str) -> Result<(), ErrorEvent> {
        let lobby = self.config.default_room.clone();
        self.join_room_as(key, name, false, &lobby, true).await
    }

    async fn join_room_as(
        &self,
        key: &str,
        name: &str,
        admin: bool,
        room: &str,
        quiet_self: bool,
    ) -> Result<(), ErrorEvent> {
        sockhub_proto::chat::check_room_name(room)?;
        let create = match (admin, self.config.rooms) {
            (true, _) => Create::Persistent,
            (false, RoomCreation::Open) => Create::Transient,
            (false, RoomCreation::Admin) => Create::No,
        };
        // A room this join may create starts with its last lines from the log.
        let mut history = Vec::new();
        if create != Create::No && !self.rooms.exists(room) {
            let limit = self.config.history.min(u32::MAX as usize) as u32;
            match self.store.recent_room_messages(room, limit).await {
                Ok(rows) => history = rows,
                Err(e) => warn!(error = %e, room = %room, "cannot read the history of a room"),
            }
        }
        // In a cluster, follow the room's lines before joining, so none said after the `joined`
        // is missed.
        let room_key = rooms::key(room);
        if self.bus.is_shared() {
            self.bus.watch_room(&room_key, true).await;
        }
        // A place for the `RoomJoined` before joining (see [`bus::place`]).
        let joined = bus::place(self.bus.as_ref(), "a join")
            .await
            .and_then(|slot| Ok((self.rooms.join(key, room, create, quiet_self, || history)?, slot)));
        if joined.is_err() && self.bus.is_shared() {
            self.bus.watch_room(&room_key, self.rooms.has_local_members(&room_key)).await;
        }
        match joined? {
            (Joined::Switched { room }, _) => {
                self.rooms_outbox(key, ChatEvent::Switched { room });
            }
            (Joined::Joined { room, created }, slot) => {
                // Told to the other nodes before anything here is awaited, so that one node's
                // changes of a room leave in the order they happened.
                let persistent = created == Some(Create::Persistent);
                self.publish_room_change(slot, &room, name, RoomChange::Joined { persistent }).await;
                if persistent {
                    self.store_room(&room, name).await;
                }
                self.room_metrics.joins.inc();
                info!(name = %name, room = %room, "joined a room");
            }
        }
        Ok(())
    }

    async fn store_room(&self, room: &str, by: &str) {
        let stored = StoredRoom {
            name: room.to_owned(),
            topic: None,
            topic_by: None,
            topic_at: None,
            created_by: by.to_owned(),
            created_at: time::now(),
        };
        if let Err(e) = self.store.add_room(&stored).await {
            warn!(error = %e, room = %room, "cannot store the room; it lasts until the server stops");
        }
    }

    /// `name` leaves `room` (`None`: the current room), saying `reason` (checked as text). They
    /// and the room get `left`.
    pub async fn part_room(
        &self,
        key: &str,
        name: &str,
        room: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(), ErrorEvent> {
        if let Some(r) = room {
            sockhub_proto::chat::check_room_name(r)?;
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if let Some(r) = reason {
            sockhub_proto::text::require("reason", r)?;
        }
        let slot = bus::place(self.bus.as_ref(), "a part").await?;
        let (room, _gone) = self.rooms.part(key, room, reason)?;
        let reason = reason.map(str::to_owned);
        self.publish_room_change(slot, &room, name, RoomChange::Left { reason }).await;
        info!(name = %name, room = %room, "left a room");
        Ok(())
    }

    /// Tell the other nodes that `name` joined or left `room`, into the place `slot` reserved
    /// for it (`None`: a single node), and follow the room's subject while this node has members
    /// in it.
    pub(super) async fn publish_room_change(
        &self,
        slot: Option<Slot<'_>>,
        room: &str,
        name: &str,
        change: RoomChange,
    ) {
        self.room_metrics.rooms.set(self.rooms.count() as i64);
        let Some(slot) = slot else { return };
        let room_key = rooms::key(room);
        let (room, name) = (room.to_owned(), name.to_owned());
        let msg = match change {
            RoomChange::Joined { persistent } => ChatMsg::RoomJoined { room, name, persistent },
            RoomChange::Left { reason } => ChatMsg::RoomLeft { room, name, reason },
        };
        slot.send(Message::Chat(msg));
        self.bus.watch_room(&room_key, self.rooms.has_local_members(&room_key)).await;
        self.room_metrics.subscriptions.set(self.bus.watched_rooms() as i64);
    }

    /// Make joined `room` the user's current room; they get `switched`.
    pub fn switch_room(&self, key: &str, room: &str) -> Result<(), ErrorEvent> {
        sockhub_proto::chat::check_room_name(room)?;
        let room = self.rooms.switch(key, room)?;
        self.rooms_outbox(key, ChatEvent::Switched { room });
        Ok(())
    }

    /// Send a reply to a user of the rooms (through their outbox, as the rooms know it).
    fn rooms_outbox(&self, key: &str, event: ChatEvent) {
        self.rooms.send_to(key, event);
    }

    /// `name` says `text` in `room` (`None`: their current room), as a notice when `notice`:
    /// checked (text, mutes), logged,
    /// delivered to the room here and published to the room's subject (waiting, in a cluster, for
    /// room on the way out: see [`crate::bus::Bus::reserve_room`]).
    pub async fn say_in_room(
        &self,
        key: &str,
        name: &Arc<str>,
        room: Option<&str>,
        text: String,
        notice: bool,
        tags: Vec<(String, Option<String>)>,
    ) -> Result<(), ErrorEvent> {
        if text.trim().is_empty() {
            return Err(ErrorEvent::new(ErrorCode::EmptyMessage, msg!("chat-nothing-to-say")));
        }
        sockhub_proto::text::require("message", &text)?;
        let (room_key, room) = self.rooms.resolve_key(key, room)?;
        let at = time::now();
        self.moderation.check_keys(key, Some(&room_key), at)?;
        // In a cluster, a place for the line on its way to the other nodes first: when the bus is
        // behind, the sender waits here (never is the line dropped), or is refused after
        // `cluster.publish_wait_ms` before anything was logged or delivered.
        let slot = if self.bus.is_shared() {
            Some(self.bus.reserve_room(&room_key).await.map_err(|e| e.refusal("a public line", true))?)
        } else {
            None
        };
        let record = ChatRecord {
            sender: name.to_string(),
            recipient: None,
            text: text.clone(),
            at,
            room: Some(room.clone()),
        };
        self.journal.send_timeout(record, self.log_wait).await.map_err(|e| {
            warn!(error = %e, "the chat log is not accepting lines");
            ErrorEvent::new(ErrorCode::Unavailable, msg!("chat-log-behind"))
        })?;
        let extra = Extra { notice, id: Some(self.next_line_id()), tags };
        let for_bus = slot.map(|slot| (slot, extra.clone()));
        self.rooms.say(&room_key, name, &text, at, extra);
        self.room_metrics.messages.inc();
        if let Some((slot, Extra { notice, id, tags })) = for_bus {
            slot.send(Message::Chat(ChatMsg::Said {
                from: name.to_string(),
                text,
                at,
                room,
                notice,
                id,
                tags,
            }));
        }
        Ok(())
    }

    /// A new public line's id (IRC's `msgid`): this node's id and start, and a counter, so it is
    /// unique across the cluster and across restarts.
    pub(crate) fn next_line_id(&self) -> String {
        let n = self.line_ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let node = self.bus.node();
        format!("{}-{}-{n}", node.id, node.boot)
    }

    /// Every room, sorted by name, as `key` sees them (`joined`), and their current room.
    pub fn room_list(&self, key: &str) -> (Option<String>, Vec<RoomInfo>) {
        self.rooms.list(key)
    }

    /// The members of `room` (`None`: the current room of `key`), on every node, sorted; with the
    /// room's name.
    pub fn room_members(&self, key: &str, room: Option<&str>) -> Result<(String, Vec<String>), ErrorEvent> {
        let room = match room {
            Some(r) => self.rooms.existing(r)?,
            None => self.rooms.resolve(key, None)?,
        };
        let names = self.rooms.names(&room);
        Ok((room, names))
    }

    /// The `topic` event of `room` (`None`: the current room of `key`).
    pub fn room_topic(&self, key: &str, room: Option<&str>) -> Result<ChatEvent, ErrorEvent> {
        let room = match room {
            Some(r) => self.rooms.existing(r)?,
            None => self.rooms.resolve(key, None)?,
        };
        self.rooms.topic(&room)
    }

    /// Admin `actor` sets the topic of `room` (`""` clears it): stored for a persistent room,
    /// logged, shown to the room's members here and on every node. The caller checks that
    /// `actor` is an admin.
    pub async fn set_room_topic(
        &self,
        key: &str,
        actor: &str,
        room: Option<&str>,
        topic: &str,
    ) -> Result<(), ErrorEvent> {
        let room = match room {
            Some(r) => self.rooms.existing(r)?,
            None => self.rooms.resolve(key, None)?,
        };
        sockhub_proto::text::require("topic", topic)?;
        let slot = bus::place(self.bus.as_ref(), "a topic").await?;
        let at = time::now();
        let text = (!topic.trim().is_empty()).then(|| topic.trim().to_owned());
        if self.rooms.is_persistent(&room) {
            self.store.set_room_topic(&room, text.as_deref(), actor, at).await.map_err(|e| {
                warn!(error = %e, "cannot store a topic");
                ErrorEvent::new(ErrorCode::Unavailable, msg!("chat-moderation-unavailable"))
            })?;
        }
        let mut record =
            ModerationRecord::new(actor, &room, ModerationAction::Topic).in_room(Some(room.clone()));
        record.reason = text.clone();
        self.moderation.log_record(record).await?;
        let value = text.clone().map(|text| Topic { text, by: actor.to_owned(), at });
        let event = self.rooms.set_topic(&room, value, actor)?;
        if !self.rooms.is_member(&room, key) {
            self.rooms.send_to(key, event);
        }
        if let Some(slot) = slot {
            let msg = ChatMsg::Topic { room: room.clone(), topic: text, by: actor.to_owned(), at };
            slot.send(Message::Chat(msg));
        }
        info!(by = %actor, room = %room, "set the topic of a room");
        Ok(())
    }

    /// The rooms `key` is in, in the order joined, and the current one.
    pub fn rooms_of(&self, key: &str) -> (Vec<String>, Option<String>) {
        self.rooms.rooms_of(key)
    }
}

impl ChatService {
    /// A local user disconnected: they leave every room (each room's members here get `left`;
    /// other nodes learn it from the user's `left`), and rooms with no members here are no longer
    /// followed.
    pub async fn leave_rooms(&self, key: &str, quietly: bool) {
        let left = self.rooms.leave_all(key, quietly);
        self.room_metrics.rooms.set(self.rooms.count() as i64);
        if self.bus.is_shared() {
            for room in left {
                let room_key = rooms::key(&room);
                self.bus.watch_room(&room_key, self.rooms.has_local_members(&room_key)).await;
            }
            self.room_metrics.subscriptions.set(self.bus.watched_rooms() as i64);
        }
    }

    /// Take the local user `name` out of `room` (an admin's `/kick name #room`, being carried
    /// out: past refusing, so its `RoomLeft` goes out even when no place came in time, see
    /// [`bus::place_or_publish`]).
    pub(crate) async fn remove_from_room(&self, name: &str, room: &str) {
        let slot = bus::place_or_publish(self.bus.as_ref()).await;
        if self.rooms.part(&crate::names::key(name), Some(room), None).is_ok() {
            self.publish_room_change(slot, room, name, RoomChange::Left { reason: None }).await;
        }
    }

    /// A user of another node is gone: they leave every room here.
    pub(crate) fn forget_remote(&self, member: &crate::bus::RemoteMember) {
        let key = crate::names::key(&member.name);
        for room in self.rooms.remote_rooms_of(&key) {
            self.rooms.remote_part(&room, &key, None);
        }
    }
}

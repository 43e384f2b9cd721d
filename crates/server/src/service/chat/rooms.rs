//! Rooms: who is in which room, each room's topic and recent history, and the fan-out of a
//! room's events to its members.
//!
//! Presence (who is online at all, names, whispers) stays in [`super::room::Room`]; this is the
//! layer above it. Every user is in zero or more rooms and has a current one (where a `say`
//! without a room goes). One read-write lock covers every room, held only while frames are
//! *queued*, so a room's members all see one order of joins, leaves and messages; nothing here
//! waits for a database or a socket (the callers in the session do that first). Every event
//! (a message, a join, a leave, a topic, an operator change, a reply to one user) is queued in a
//! [`Fanout`] under the lock and written to quiet sockets only after the lock is released
//! ([`Rooms::read_then_send`], [`Rooms::write_then_send`]), so no socket is written while other
//! sessions wait for the rooms.
//!
//! The fan-out keeps one shared [`Frame`] per message and a second one with the `[#room] `
//! prefix ([`InRoom`]), built only when a text-mode member is in more than one room; each
//! member's room count is an atomic the push reads, so no recipient is encoded for.
//!
//! In a cluster a room also lists its members on other nodes (`remote`, by user key), kept up to
//! date from the bus (see `cluster.rs`); member counts and `who` include them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};
use sockhub_i18n::msg;
use sockhub_proto::chat::{ChatEvent, InRoom, RoomInfo, check_room_name};
use sockhub_proto::error::{ErrorCode, ErrorEvent};
use sockhub_proto::time::Timestamp;
use sockhub_store::ChatRow;

use crate::net::fanout::Fanout;
use crate::net::outbox::{Frame, Outbox};

mod ops;
mod remote;
#[cfg(test)]
mod tests;

/// The key a room is found by: its name compared as user names are.
pub fn key(room: &str) -> String {
    crate::names::key(room)
}

/// A room's topic: the text, who set it, when.
#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    pub text: String,
    pub by: String,
    pub at: Timestamp,
}

/// What a live public line carries besides its text: whether it is a notice, its id (`msgid`)
/// and the sender's IRC client-only tags.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    pub notice: bool,
    pub id: Option<String>,
    pub tags: Vec<(String, Option<String>)>,
}

/// A public line kept for newcomers.
#[derive(Clone)]
struct Said {
    from: Arc<str>,
    text: Arc<str>,
    at: Timestamp,
}

/// A local member's seat in a room: enough to queue a frame in the right variant.
#[derive(Clone)]
struct Seat {
    outbox: Outbox,
    /// How many rooms the member is in (shared with every seat of theirs).
    rooms: Arc<AtomicUsize>,
}

struct RoomState {
    name: Arc<str>,
    persistent: bool,
    topic: Option<Topic>,
    members: HashMap<String, Seat>,
    /// Members on other nodes: user key → name.
    remote: HashMap<String, Arc<str>>,
    /// The room's operators among its local members (user keys): see `ops.rs`.
    ops: HashSet<String>,
    /// Its own lock, so a message can be remembered under the rooms' read lock.
    history: Mutex<VecDeque<Said>>,
}

impl RoomState {
    fn new(name: &str, persistent: bool) -> Self {
        RoomState {
            name: name.into(),
            persistent,
            topic: None,
            members: HashMap::new(),
            remote: HashMap::new(),
            ops: HashSet::new(),
            history: Mutex::new(VecDeque::new()),
        }
    }

    fn online(&self) -> usize {
        self.members.len() + self.remote.len()
    }

    fn has(&self, user: &str) -> bool {
        self.members.contains_key(user) || self.remote.contains_key(user)
    }

    /// Queue `event` in `fanout` for every local member: for a member in more than one room, the
    /// event with its room (`[#room] ` before each text line); for a member in this room only,
    /// the plain event (`joined` and `left` then leave `room` out, as before rooms).
    ///
    /// Only the forms some member needs are made, and the event is cloned only when both are. A
    /// member whose room count changes between the count and the push (a join elsewhere) gets the
    /// form the count saw, as if the line had come a moment earlier.
    fn push(&self, event: ChatEvent, fanout: &mut Fanout) {
        let in_several = |seat: &Seat| seat.rooms.load(Ordering::Relaxed) > 1;
        let several = self.members.values().filter(|s| in_several(s)).count();
        let (plain, prefixed) = match (self.members.len() - several, several) {
            (0, 0) => return,
            (_, 0) => (Some(Frame::new(single_room_form(event))), None),
            (0, _) => (None, Some(Frame::new(InRoom(event)))),
            _ => (Some(Frame::new(single_room_form(event.clone()))), Some(Frame::new(InRoom(event)))),
        };
        for seat in self.members.values() {
            let (wanted, other) = if in_several(seat) { (&prefixed, &plain) } else { (&plain, &prefixed) };
            if let Some(frame) = wanted.as_ref().or(other.as_ref()) {
                fanout.push(&seat.outbox, frame);
            }
        }
    }
}

/// A local user's rooms.
struct UserRooms {
    name: Arc<str>,
    outbox: Outbox,
    count: Arc<AtomicUsize>,
    /// Room keys, in the order joined.
    joined: Vec<String>,
    current: Option<String>,
}

impl UserRooms {
    /// Queue `event` in `fanout` for this user alone, prefixed when they are in several rooms
    /// (text mode).
    fn send(&self, event: ChatEvent, fanout: &mut Fanout) {
        let frame = if self.count.load(Ordering::Relaxed) > 1 && event.room().is_some() {
            Frame::new(InRoom(event))
        } else {
            Frame::new(event)
        };
        fanout.push(&self.outbox, &frame);
    }
}

#[derive(Default)]
struct State {
    rooms: HashMap<String, RoomState>,
    users: HashMap<String, UserRooms>,
}

/// What a join may do when the room does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Create it; it vanishes when empty.
    Transient,
    /// Create it and keep it (an admin's room).
    Persistent,
    /// Refuse with `rooms_admin_only`.
    No,
}

/// The outcome of a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// Joined `room` (its name as the room spells it); `created` when this join made it.
    Joined { room: String, created: Option<Create> },
    /// Already a member: it became the current room.
    Switched { room: String },
}

/// The rooms and their limits.
pub struct Rooms {
    state: RwLock<State>,
    history_len: usize,
    max_per_user: usize,
    max_rooms: usize,
}

impl Rooms {
    pub fn new(history_len: usize, max_per_user: usize, max_rooms: usize) -> Self {
        Rooms { state: RwLock::default(), history_len, max_per_user, max_rooms }
    }

    /// Run `f` under the read lock, with a [`Fanout`] to queue its events in; they are written to
    /// the sockets once the lock is released.
    fn read_then_send<R>(&self, f: impl FnOnce(&State, &mut Fanout) -> R) -> R {
        let mut fanout = Fanout::new();
        let state = self.state.read();
        let result = f(&state, &mut fanout);
        drop(state);
        drop(fanout);
        result
    }

    /// [`Self::read_then_send`] under the write lock.
    fn write_then_send<R>(&self, f: impl FnOnce(&mut State, &mut Fanout) -> R) -> R {
        let mut fanout = Fanout::new();
        let mut state = self.state.write();
        let result = f(&mut state, &mut fanout);
        drop(state);
        drop(fanout);
        result
    }

    /// Make `name` exist as a persistent room (a configured or stored one), with `topic` unless
    /// it has one, and `history` (oldest first) unless it has one.
    pub fn ensure_persistent(&self, name: &str, topic: Option<Topic>, history: Vec<ChatRow>) {
        let mut state = self.state.write();
        let room = state.rooms.entry(key(name)).or_insert_with(|| RoomState::new(name, true));
        room.persistent = true;
        if room.topic.is_none() {
            room.topic = topic;
        }
        let mut kept = room.history.lock();
        if kept.is_empty() {
            *kept = self.history_from(history);
        }
    }

    /// Whether the room under `room_key` has members on this node.
    pub fn has_local_members(&self, room_key: &str) -> bool {
        self.state.read().rooms.get(room_key).is_some_and(|r| !r.members.is_empty())
    }

    /// Send `event` to the local user `user` alone (prefixed as their room lines are).
    pub fn send_to(&self, user: &str, event: ChatEvent) {
        self.read_then_send(|state, fanout| {
            if let Some(me) = state.users.get(user) {
                me.send(event, fanout);
            }
        })
    }

    /// Whether a room of that name exists.
    pub fn exists(&self, name: &str) -> bool {
        self.state.read().rooms.contains_key(&key(name))
    }

    /// How many rooms exist.
    pub fn count(&self) -> usize {
        self.state.read().rooms.len()
    }

    fn history_from(&self, rows: Vec<ChatRow>) -> VecDeque<Said> {
        let skip = rows.len().saturating_sub(self.history_len);
        rows.into_iter()
            .skip(skip)
            .map(|row| Said {
                from: sockhub_proto::text::escape(&row.sender).into(),
                text: sockhub_proto::text::escape(&row.text).into(),
                at: row.at,
            })
            .collect()
    }

    /// Register a logged-in local user (in no room yet).
    pub fn enter(&self, user: &str, name: &Arc<str>, outbox: &Outbox) {
        let rooms = UserRooms {
            name: Arc::clone(name),
            outbox: outbox.clone(),
            count: Arc::default(),
            joined: Vec::new(),
            current: None,
        };
        self.state.write().users.insert(user.to_owned(), rooms);
    }

    /// `user` joins `room` (see [`Create`] for a room that does not exist yet). The user gets
    /// `joined` with the topic (unless `quiet_self`: the login's join, which `welcome` announces),
    /// then the room's history; the other members get `joined`. `history` seeds a room this join
    /// creates (its last lines from the database).
    pub fn join(
        &self,
        user: &str,
        room: &str,
        create: Create,
        quiet_self: bool,
        history: impl FnOnce() -> Vec<ChatRow>,
    ) -> Result<Joined, ErrorEvent> {
        check_room_name(room)?;
        let room_key = key(room);
        self.write_then_send(|state, fanout| {
            let me = state.users.get_mut(user).ok_or_else(not_in_any_room)?;
            if me.joined.contains(&room_key) {
                me.current = Some(room_key.clone());
                let name = state.rooms.get(&room_key).map(|r| r.name.to_string()).unwrap_or_default();
                return Ok(Joined::Switched { room: name });
            }
            if me.joined.len() >= self.max_per_user {
                let max = self.max_per_user;
                return Err(ErrorEvent::new(ErrorCode::TooManyRooms, msg!("chat-too-many-rooms", max = max)));
            }
            let mut created = None;
            if !state.rooms.contains_key(&room_key) {
                match create {
                    Create::No => {
                        return Err(ErrorEvent::new(
                            ErrorCode::RoomsAdminOnly,
                            msg!("chat-rooms-admin-only"),
                        ));
                    }
                    _ if state.rooms.len() >= self.max_rooms => {
                        let max = self.max_rooms;
                        return Err(ErrorEvent::new(
                            ErrorCode::RoomLimit,
                            msg!("chat-room-limit", max = max),
                        ));
                    }
                    c => {
                        let mut fresh = RoomState::new(room, c == Create::Persistent);
                        fresh.history = Mutex::new(self.history_from(history()));
                        state.rooms.insert(room_key.clone(), fresh);
                        created = Some(c);
                    }
                }
            }
            let target = state.rooms.get_mut(&room_key).expect("the room exists now");
            let seat = Seat { outbox: me.outbox.clone(), rooms: Arc::clone(&me.count) };
            me.joined.push(room_key.clone());
            me.count.store(me.joined.len(), Ordering::Relaxed);
            me.current = Some(room_key);
            let online = target.online() + 1;
            let (name, room_name) = (me.name.to_string(), target.name.to_string());
            let joined =
                ChatEvent::Joined { name: name.clone(), online, room: room_name.clone(), topic: None };
            target.push(joined, fanout);
            let topic = target.topic.as_ref().map(|t| t.text.clone());
            if !quiet_self {
                me.send(ChatEvent::Joined { name, online, room: room_name.clone(), topic }, fanout);
            } else if let Some(t) = &target.topic {
                me.send(topic_event(&target.name, Some(t), None), fanout);
            }
            for said in target.history.lock().iter() {
                let said = ChatEvent::Message {
                    from: said.from.to_string(),
                    text: said.text.to_string(),
                    at: said.at,
                    history: true,
                    room: room_name.clone(),
                    notice: false,
                    id: None,
                    tags: Vec::new(),
                };
                me.send(said, fanout);
            }
            if created == Some(Create::Transient) {
                target.ops.insert(user.to_owned());
            }
            target.members.insert(user.to_owned(), seat);
            Ok(Joined::Joined { room: room_name, created })
        })
    }

    /// `user` leaves `room` (`None`: the current one), saying `reason`; they and the others get
    /// `left`. Returns the room's name, and whether the room vanished (it was transient and is
    /// now empty).
    pub fn part(
        &self,
        user: &str,
        room: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(String, bool), ErrorEvent> {
        self.write_then_send(|state, fanout| {
            let me = state.users.get_mut(user).ok_or_else(not_in_any_room)?;
            let room_key = match room {
                Some(r) => key(r),
                None => me.current.clone().ok_or_else(not_in_any_room)?,
            };
            let Some(i) = me.joined.iter().position(|r| *r == room_key) else {
                return Err(not_in(room.unwrap_or_default()));
            };
            // The user's own `left` is queued while they still count this room (so it is
            // prefixed like the room's other lines were).
            let target = state.rooms.get_mut(&room_key).expect("a joined room exists");
            target.members.remove(user);
            target.ops.remove(user);
            let left = ChatEvent::Left {
                name: me.name.to_string(),
                online: target.online(),
                room: target.name.to_string(),
                reason: reason.map(str::to_owned),
            };
            me.send(left.clone(), fanout);
            me.joined.remove(i);
            me.count.store(me.joined.len(), Ordering::Relaxed);
            if me.current.as_deref() == Some(room_key.as_str()) {
                me.current = me.joined.last().cloned();
            }
            target.push(left, fanout);
            let name = target.name.to_string();
            Ok((name, self.drop_if_empty(state, &room_key)))
        })
    }

    /// `user` disconnected: they leave every room (each room's members get `left`). Returns the
    /// names of the rooms they were in.
    pub fn leave_all(&self, user: &str, quietly: bool) -> Vec<String> {
        self.write_then_send(|state, fanout| {
            let Some(me) = state.users.remove(user) else { return Vec::new() };
            let mut names = Vec::with_capacity(me.joined.len());
            for room_key in &me.joined {
                if let Some(room) = state.rooms.get_mut(room_key) {
                    room.members.remove(user);
                    room.ops.remove(user);
                    if !quietly {
                        let left = ChatEvent::Left {
                            name: me.name.to_string(),
                            online: room.online(),
                            room: room.name.to_string(),
                            reason: None,
                        };
                        room.push(left, fanout);
                    }
                    names.push(room.name.to_string());
                }
                self.drop_if_empty(state, room_key);
            }
            names
        })
    }

    /// Remove a transient room nobody is in; `true` if it was removed.
    fn drop_if_empty(&self, state: &mut State, room_key: &str) -> bool {
        let empty = state.rooms.get(room_key).is_some_and(|r| !r.persistent && r.online() == 0);
        if empty {
            state.rooms.remove(room_key);
        }
        empty
    }

    /// Make joined `room` the user's current room.
    pub fn switch(&self, user: &str, room: &str) -> Result<String, ErrorEvent> {
        let mut state = self.state.write();
        let state = &mut *state;
        let me = state.users.get_mut(user).ok_or_else(not_in_any_room)?;
        let room_key = key(room);
        if !me.joined.contains(&room_key) {
            return Err(not_in(room));
        }
        me.current = Some(room_key.clone());
        Ok(state.rooms.get(&room_key).map(|r| r.name.to_string()).unwrap_or_default())
    }

    /// The room a request of `user` is about: `room` if they are in it, else their current room.
    /// Returns the room's name.
    pub fn resolve(&self, user: &str, room: Option<&str>) -> Result<String, ErrorEvent> {
        self.resolve_key(user, room).map(|(_, name)| name)
    }

    /// [`Self::resolve`], with the room's key.
    pub fn resolve_key(&self, user: &str, room: Option<&str>) -> Result<(String, String), ErrorEvent> {
        let state = self.state.read();
        let me = state.users.get(user).ok_or_else(not_in_any_room)?;
        let room_key = match room {
            Some(r) => key(r),
            None => me.current.clone().ok_or_else(not_in_any_room)?,
        };
        if !me.joined.contains(&room_key) {
            return Err(not_in(room.unwrap_or_default()));
        }
        let name = state.rooms.get(&room_key).map(|r| r.name.to_string()).unwrap_or_default();
        Ok((room_key, name))
    }

    /// The name of an existing room as it spells it, or `no_such_room`.
    pub fn existing(&self, room: &str) -> Result<String, ErrorEvent> {
        check_room_name(room)?;
        let state = self.state.read();
        state.rooms.get(&key(room)).map(|r| r.name.to_string()).ok_or_else(|| no_such_room(room))
    }

    /// A public line in the room under `room_key` (see [`key`]) to its members (the sender too);
    /// kept for newcomers (as a plain message). `false` when the room does not exist here.
    pub fn say(&self, room_key: &str, from: &Arc<str>, text: &str, at: Timestamp, extra: Extra) -> bool {
        // Under the read lock: joins take the write lock, so a newcomer gets this line exactly
        // once, live or from the history.
        self.read_then_send(|state, fanout| {
            let Some(target) = state.rooms.get(room_key) else { return false };
            if self.history_len > 0 {
                let mut history = target.history.lock();
                if history.len() == self.history_len {
                    history.pop_front();
                }
                history.push_back(Said { from: Arc::clone(from), text: text.into(), at });
            }
            let message = ChatEvent::Message {
                from: from.to_string(),
                text: text.to_owned(),
                at,
                history: false,
                room: target.name.to_string(),
                notice: extra.notice,
                id: extra.id,
                tags: extra.tags,
            };
            target.push(message, fanout);
            true
        })
    }

    /// The members of `room` (every node), sorted.
    pub fn names(&self, room: &str) -> Vec<String> {
        let state = self.state.read();
        let Some(target) = state.rooms.get(&key(room)) else { return Vec::new() };
        let users = &state.users;
        let mut names: Vec<String> = target
            .members
            .keys()
            .filter_map(|k| users.get(k).map(|u| u.name.to_string()))
            .chain(target.remote.values().map(|n| n.to_string()))
            .collect();
        names.sort_unstable_by_key(|n| n.to_lowercase());
        names
    }

    /// Whether `user` (local or remote) is in `room`.
    pub fn is_member(&self, room: &str, user: &str) -> bool {
        self.state.read().rooms.get(&key(room)).is_some_and(|r| r.has(user))
    }

    /// The rooms `user` is in (names), in the order joined, and the current one.
    pub fn rooms_of(&self, user: &str) -> (Vec<String>, Option<String>) {
        let state = self.state.read();
        let Some(me) = state.users.get(user) else { return (Vec::new(), None) };
        let name = |k: &String| state.rooms.get(k).map(|r| r.name.to_string());
        (me.joined.iter().filter_map(name).collect(), me.current.as_ref().and_then(name))
    }

    /// Every room for `rooms`, sorted by name, as `user` sees them.
    pub fn list(&self, user: &str) -> (Option<String>, Vec<RoomInfo>) {
        let state = self.state.read();
        let me = state.users.get(user);
        let mut list: Vec<RoomInfo> = state
            .rooms
            .iter()
            .map(|(k, r)| RoomInfo {
                name: r.name.to_string(),
                topic: r.topic.as_ref().map(|t| t.text.clone()),
                members: r.online(),
                joined: me.is_some_and(|m| m.joined.contains(k)),
                persistent: r.persistent,
            })
            .collect();
        list.sort_by_key(|r| r.name.to_lowercase());
        let current =
            me.and_then(|m| m.current.as_ref()).and_then(|k| state.rooms.get(k)).map(|r| r.name.to_string());
        (current, list)
    }

    /// The topic of `room` as the `topic` event.
    pub fn topic(&self, room: &str) -> Result<ChatEvent, ErrorEvent> {
        let state = self.state.read();
        let target = state.rooms.get(&key(room)).ok_or_else(|| no_such_room(room))?;
        Ok(topic_event(&target.name, target.topic.as_ref(), None))
    }

    /// Whether `room` is persistent (its topic is stored).
    pub fn is_persistent(&self, room: &str) -> bool {
        self.state.read().rooms.get(&key(room)).is_some_and(|r| r.persistent)
    }

    /// Set (`Some`) or clear the topic of `room` and tell its members. `by` is who did it.
    pub fn set_topic(&self, room: &str, topic: Option<Topic>, by: &str) -> Result<ChatEvent, ErrorEvent> {
        self.write_then_send(|state, fanout| {
            let target = state.rooms.get_mut(&key(room)).ok_or_else(|| no_such_room(room))?;
            target.topic = topic;
            let event = topic_event(&target.name, target.topic.as_ref(), Some(by));
            target.push(event.clone(), fanout);
            Ok(event)
        })
    }

    /// Send `event` to the local members of `room`.
    pub fn broadcast(&self, room: &str, event: ChatEvent) {
        self.read_then_send(|state, fanout| {
            if let Some(target) = state.rooms.get(&key(room)) {
                target.push(event, fanout);
            }
        })
    }
}

/// A room event as a member of that room only receives it: `joined` and `left` without `room`.
fn single_room_form(mut event: ChatEvent) -> ChatEvent {
    if let ChatEvent::Joined { room, .. } | ChatEvent::Left { room, .. } = &mut event {
        room.clear();
    }
    event
}

/// The `topic` event for `room`.
fn topic_event(room: &str, topic: Option<&Topic>, cleared_by: Option<&str>) -> ChatEvent {
    match topic {
        Some(t) => ChatEvent::Topic {
            room: room.to_owned(),
            topic: Some(t.text.clone()),
            by: Some(t.by.clone()),
            at: Some(t.at),
        },
        None => ChatEvent::Topic {
            room: room.to_owned(),
            topic: None,
            by: cleared_by.map(str::to_owned),
            at: None,
        },
    }
}

fn not_in_any_room() -> ErrorEvent {
    ErrorEvent::new(ErrorCode::NotInRoom, msg!("chat-in-no-room"))
}

fn not_in(room: &str) -> ErrorEvent {
    let room = sockhub_proto::text::escape(room).into_owned();
    ErrorEvent::new(ErrorCode::NotInRoom, msg!("chat-not-in-room", room = room))
}

/// `no_such_room`, quoting the name (escaped: it is unchecked input).
pub fn no_such_room(room: &str) -> ErrorEvent {
    let room = sockhub_proto::text::escape(room).into_owned();
    ErrorEvent::new(ErrorCode::NoSuchRoom, msg!("chat-no-such-room", room = room))
}

//! The rooms' members on other nodes: joins and parts the bus reports, and what this node tells
//! the others of its own members' rooms (for snapshots).

use sockhub_proto::chat::ChatEvent;

use super::{RoomState, Rooms, key};

impl Rooms {
    /// Rooms with local members (their names), for a node's snapshot and subscriptions.
    pub fn local_rooms_of_all(&self) -> Vec<(String, Vec<String>)> {
        let state = self.state.read();
        state
            .users
            .iter()
            .map(|(k, u)| {
                let rooms = u.joined.iter().filter_map(|r| state.rooms.get(r).map(|r| r.name.to_string()));
                (k.clone(), rooms.collect())
            })
            .collect()
    }

    /// A member on another node joined `room` (created here if need be, transient unless
    /// `persistent`); the local members get `joined`. `false` if they were in it already.
    pub fn remote_join(&self, room: &str, user: &str, name: &str, persistent: bool) -> bool {
        if !sockhub_proto::chat::is_room_name(room) {
            return false;
        }
        self.write_then_send(|state, fanout| {
            let target = state.rooms.entry(key(room)).or_insert_with(|| RoomState::new(room, persistent));
            if target.has(user) {
                return false;
            }
            target.remote.insert(user.to_owned(), name.into());
            let event = ChatEvent::Joined {
                name: name.to_owned(),
                online: target.online(),
                room: target.name.to_string(),
                topic: None,
            };
            target.push(event, fanout);
            true
        })
    }

    /// A member on another node left `room` (saying `reason`); the local members get `left`.
    pub fn remote_part(&self, room: &str, user: &str, reason: Option<String>) -> bool {
        let room_key = key(room);
        self.write_then_send(|state, fanout| {
            let Some(target) = state.rooms.get_mut(&room_key) else { return false };
            let Some(name) = target.remote.remove(user) else { return false };
            let left = ChatEvent::Left {
                name: name.to_string(),
                online: target.online(),
                room: target.name.to_string(),
                reason,
            };
            target.push(left, fanout);
            self.drop_if_empty(state, &room_key);
            true
        })
    }

    /// The rooms a remote user is in (names).
    pub fn remote_rooms_of(&self, user: &str) -> Vec<String> {
        let state = self.state.read();
        state.rooms.values().filter(|r| r.remote.contains_key(user)).map(|r| r.name.to_string()).collect()
    }
}

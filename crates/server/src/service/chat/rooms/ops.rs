//! Room operators: who may kick, mute and set the topic in one room, without being an admin.
//!
//! Whoever creates a transient room by joining it is its operator; an operator (or an admin)
//! may make another member one, or take it away. Operator status is held per node, for the
//! room's local members, and ends when the member leaves the room. Admins are operators of
//! every room without being listed here (the callers check the role).

use sockhub_proto::chat::ChatEvent;
use sockhub_proto::error::ErrorEvent;

use super::{Rooms, key, no_such_room};

impl Rooms {
    /// Whether the local member `user` (a user key) is an operator of `room`.
    pub fn is_op(&self, room: &str, user: &str) -> bool {
        self.state.read().rooms.get(&key(room)).is_some_and(|r| r.ops.contains(user))
    }

    /// The operators of `room` (user keys).
    pub fn ops_of(&self, room: &str) -> Vec<String> {
        let state = self.state.read();
        state.rooms.get(&key(room)).map(|r| r.ops.iter().cloned().collect()).unwrap_or_default()
    }

    /// Make the member `user` (`name` as shown) an operator of `room` (`op`), or no longer one,
    /// and tell the room's local members (`opped`, from `by`). `Ok(false)`: nothing changed.
    pub fn set_op(&self, room: &str, user: &str, name: &str, op: bool, by: &str) -> Result<bool, ErrorEvent> {
        self.write_then_send(|state, fanout| {
            let target = state.rooms.get_mut(&key(room)).ok_or_else(|| no_such_room(room))?;
            let changed = if op { target.ops.insert(user.to_owned()) } else { target.ops.remove(user) };
            if changed {
                let event = ChatEvent::Opped {
                    name: name.to_owned(),
                    by: by.to_owned(),
                    room: target.name.to_string(),
                    op,
                };
                target.push(event, fanout);
            }
            Ok(changed)
        })
    }
}

//! The rooms the full-screen chat client's user is in, as the events tell them: the current room
//! (where plain lines go), the others, how many members each has, and how many messages arrived
//! in each since the user last made it current. The screen shows the current room and the unread counts in its status bar
//! (`#lobby │ unread: #team(3)`) and puts `[#room] ` before the lines of every other room.
//!
//! The client follows the server: a join makes the joined room current, `switch` answers with
//! `switched`, and the client sends the current room along with every plain line, so the room
//! the status bar shows is the room a line goes to. When the user leaves the current room, the
//! room joined last (of those left) becomes current here; lines then name it explicitly.

use sockhub_proto::chat::ChatEvent;

/// Room names compare case-insensitively, as the server compares them.
fn same(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// A room the user is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub name: String,
    /// Members, as the last join, leave or member list in the room said.
    pub online: usize,
    /// Messages that arrived while another room was current.
    pub unread: usize,
}

/// What leaving a room did to the current room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    /// Nothing: the room left was not the current one (or nothing was left).
    Stayed,
    /// The current room was left; this one is current now.
    To(String),
    /// The current room was left and it was the last: the user is in no room.
    Nowhere,
}

/// The user's rooms, in the order they were joined.
#[derive(Debug, Default)]
pub struct Rooms {
    current: Option<String>,
    joined: Vec<Joined>,
}

impl Rooms {
    /// Where plain lines go, if the user is in a room.
    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// The rooms the user is in.
    pub fn joined(&self) -> &[Joined] {
        &self.joined
    }

    /// Whether an event of `room` belongs to the current room. An event without a room (from a
    /// server without rooms) always does.
    pub fn is_current(&self, room: &str) -> bool {
        room.is_empty() || self.current.as_deref().is_some_and(|c| same(c, room))
    }

    /// The room to name before an event's lines: its room, when that is not the current one.
    pub fn prefix<'e>(&self, event: &'e ChatEvent) -> Option<&'e str> {
        event.room().filter(|room| !self.is_current(room))
    }

    /// The current room's members, when the user is in a room.
    pub fn online(&self) -> Option<usize> {
        let current = self.current.as_deref()?;
        self.joined.iter().find(|j| same(&j.name, current)).map(|j| j.online)
    }

    /// The rooms with unread messages, `#team(3), #x(1)`; `None` when there are none.
    pub fn unread(&self) -> Option<String> {
        let unread: Vec<String> = self
            .joined
            .iter()
            .filter(|j| j.unread > 0)
            .map(|j| format!("{}({})", j.name, j.unread))
            .collect();
        (!unread.is_empty()).then(|| unread.join(", "))
    }

    /// Follow an event; `me` is the user's own name (as the welcome gave it).
    pub fn on_event(&mut self, event: &ChatEvent, me: &str) -> Moved {
        match event {
            ChatEvent::Welcome { room, online, .. } if !room.is_empty() => {
                self.joined = vec![Joined { name: room.clone(), online: *online, unread: 0 }];
                self.current = Some(room.clone());
            }
            ChatEvent::Joined { name, room, online, .. } if name == me && !room.is_empty() => {
                if !self.joined.iter().any(|j| same(&j.name, room)) {
                    self.joined.push(Joined { name: room.clone(), online: *online, unread: 0 });
                }
                self.switch(room);
            }
            ChatEvent::Left { name, room, .. } if name == me => return self.leave(room),
            ChatEvent::Joined { room, online, .. } | ChatEvent::Left { room, online, .. } => {
                self.count(room, *online)
            }
            ChatEvent::Users { room, names } => self.count(room, names.len()),
            ChatEvent::Kicked { name, room: Some(room), .. } if name == me => return self.leave(room),
            ChatEvent::Switched { room } => self.switch(room),
            ChatEvent::Message { room, history: false, .. } if !self.is_current(room) => {
                if let Some(j) = self.joined.iter_mut().find(|j| same(&j.name, room)) {
                    j.unread += 1;
                }
            }
            _ => {}
        }
        Moved::Stayed
    }

    /// `room` has `online` members now.
    fn count(&mut self, room: &str, online: usize) {
        if let Some(j) = self.joined.iter_mut().find(|j| same(&j.name, room)) {
            j.online = online;
        }
    }

    /// Make `room` current (if the user is in it) and clear its unread count.
    fn switch(&mut self, room: &str) {
        if let Some(j) = self.joined.iter_mut().find(|j| same(&j.name, room)) {
            j.unread = 0;
            self.current = Some(j.name.clone());
        }
    }

    fn leave(&mut self, room: &str) -> Moved {
        self.joined.retain(|j| !same(&j.name, room));
        if !self.current.as_deref().is_some_and(|c| same(c, room)) {
            return Moved::Stayed;
        }
        self.current = None;
        match self.joined.last().map(|j| j.name.clone()) {
            Some(next) => {
                self.switch(&next);
                Moved::To(next)
            }
            None => Moved::Nowhere,
        }
    }
}

#[cfg(test)]
mod tests {
    use sockhub_proto::time;

    use super::*;

    fn said(room: &str) -> ChatEvent {
        ChatEvent::Message {
            from: "bob".into(),
            text: "hi".into(),
            at: time::now(),
            history: false,
            room: room.into(),
            notice: false,
            id: None,
            tags: Vec::new(),
        }
    }

    fn joined(name: &str, room: &str) -> ChatEvent {
        ChatEvent::Joined { name: name.into(), online: 5, room: room.into(), topic: None }
    }

    fn left(name: &str, room: &str) -> ChatEvent {
        ChatEvent::Left { name: name.into(), online: 1, room: room.into(), reason: None }
    }

    /// alice, just logged in to #lobby.
    fn in_lobby() -> Rooms {
        let mut rooms = Rooms::default();
        let welcome =
            ChatEvent::Welcome { name: "alice".into(), online: 1, admin: false, room: "#lobby".into() };
        rooms.on_event(&welcome, "alice");
        rooms
    }

    #[test]
    fn joining_switching_and_unread_counts() {
        let mut rooms = in_lobby();
        assert_eq!(rooms.current(), Some("#lobby"));
        rooms.on_event(&joined("bob", "#lobby"), "alice");
        assert_eq!(rooms.online(), Some(5));
        rooms.on_event(&joined("alice", "#team"), "alice");
        assert_eq!(rooms.current(), Some("#team"), "a join makes the room current");
        rooms.on_event(
            &ChatEvent::Users { names: vec!["alice".into(), "bob".into()], room: "#team".into() },
            "alice",
        );
        rooms.on_event(&left("carol", "#lobby"), "alice");
        assert_eq!(rooms.online(), Some(2), "the current room's members");
        for _ in 0..3 {
            rooms.on_event(&said("#lobby"), "alice");
        }
        rooms.on_event(&said("#team"), "alice");
        rooms.on_event(&said("#nowhere"), "alice");
        assert_eq!(rooms.unread().as_deref(), Some("#lobby(3)"));
        assert_eq!(rooms.prefix(&said("#LOBBY")), Some("#LOBBY"));
        assert_eq!(rooms.prefix(&said("#Team")), None, "names compare case-insensitively");
        assert_eq!(rooms.prefix(&said("")), None, "an event without a room is the current room's");
        rooms.on_event(&ChatEvent::Switched { room: "#lobby".into() }, "alice");
        assert_eq!((rooms.current(), rooms.unread()), (Some("#lobby"), None), "switching reads the room");
        assert_eq!(rooms.online(), Some(1), "as carol's leaving said");
    }

    #[test]
    fn leaving_the_current_room_moves_to_the_last_joined() {
        let mut rooms = in_lobby();
        rooms.on_event(&joined("alice", "#a"), "alice");
        rooms.on_event(&joined("alice", "#b"), "alice");
        rooms.on_event(&said("#a"), "alice");
        assert_eq!(rooms.on_event(&left("bob", "#b"), "alice"), Moved::Stayed, "someone else left");
        assert_eq!(rooms.on_event(&left("alice", "#lobby"), "alice"), Moved::Stayed, "not the current room");
        assert_eq!(rooms.on_event(&left("alice", "#b"), "alice"), Moved::To("#a".into()));
        assert_eq!((rooms.current(), rooms.unread()), (Some("#a"), None));
        let kicked = ChatEvent::Kicked {
            name: "alice".into(),
            by: "boss".into(),
            reason: None,
            room: Some("#a".into()),
        };
        assert_eq!(rooms.on_event(&kicked, "alice"), Moved::Nowhere);
        assert_eq!((rooms.current(), rooms.joined().len()), (None, 0));
        assert_eq!(rooms.prefix(&said("#a")), Some("#a"), "in no room, every room is another one");
    }
}

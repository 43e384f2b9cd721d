//! The room: who is online, fan-out, and the recent-message history.
//!
//! Membership is a map from name key to the member's [`Outbox`], under a read-write lock that is
//! held only while frames are *queued* — never while anything is written to a socket. A message is
//! encoded into one shared [`Frame`] and the same `Arc` is pushed to every member, so a broadcast
//! to N members is N pointer pushes. Joins and leaves are announced while the write lock is held,
//! so every member sees the same order of arrivals, departures and online counts.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use sockhub_proto::chat::ChatEvent;
use sockhub_proto::time::Timestamp;
use sockhub_store::ChatRow;

use crate::net::outbox::{Frame, Outbox};

/// One member: the name as they typed it, their connection's outbox, and the connection id
/// (so a late leave of an old connection cannot remove a newer one under the same name).
#[derive(Clone)]
pub struct Member {
    pub name: Arc<str>,
    pub outbox: Outbox,
    pub conn: u64,
}

/// A public message kept for the history sent to newcomers.
#[derive(Clone)]
struct Said {
    from: Arc<str>,
    text: Arc<str>,
    at: Timestamp,
}

/// The chat room.
pub struct Room {
    members: RwLock<HashMap<String, Member>>,
    history: Mutex<VecDeque<Said>>,
    history_len: usize,
}

/// The result of trying to join.
pub enum Join {
    /// Joined; this many are online now (the newcomer included).
    Joined { online: usize },
    /// Someone online already has the name.
    Taken,
}

impl Room {
    /// An empty room whose history starts with `recent` (oldest first, from the database).
    pub fn new(history_len: usize, recent: Vec<ChatRow>) -> Self {
        let skip = recent.len().saturating_sub(history_len);
        let history = recent
            .into_iter()
            .skip(skip)
            .map(|row| Said { from: row.sender.into(), text: row.text.into(), at: row.at })
            .collect();
        Room { members: RwLock::new(HashMap::new()), history: Mutex::new(history), history_len }
    }

    /// Number of members online.
    pub fn online(&self) -> usize {
        self.members.read().len()
    }

    /// Add `member` under `key` unless the key is taken. On success the newcomer gets `welcome`
    /// (built from the new count) and the history, and everyone else sees the join, all in order.
    pub fn join(&self, key: String, member: Member, welcome: impl FnOnce(usize) -> ChatEvent) -> Join {
        let mut members = self.members.write();
        if members.contains_key(&key) {
            return Join::Taken;
        }
        let online = members.len() + 1;
        member.outbox.send(welcome(online));
        for said in self.history.lock().iter() {
            member.outbox.send(ChatEvent::Message {
                from: said.from.to_string(),
                text: said.text.to_string(),
                at: said.at,
                history: true,
            });
        }
        let joined = Frame::new(ChatEvent::Joined { name: member.name.to_string(), online });
        for other in members.values() {
            other.outbox.push(&joined);
        }
        members.insert(key, member);
        Join::Joined { online }
    }

    /// Remove the member under `key` if it is still connection `conn`; tell the others unless
    /// `quietly`. Returns the count left online, or `None` if it was not a member.
    pub fn leave(&self, key: &str, conn: u64, quietly: bool) -> Option<usize> {
        let mut members = self.members.write();
        let member = members.get(key).filter(|m| m.conn == conn)?.clone();
        members.remove(key);
        let online = members.len();
        if !quietly {
            self.push_all(&members, &Frame::new(ChatEvent::Left { name: member.name.to_string(), online }));
        }
        Some(online)
    }

    /// Send a public message to everyone (the sender too) and remember it for newcomers.
    pub fn say(&self, from: &Arc<str>, text: &str, at: Timestamp) {
        let frame = Frame::new(ChatEvent::Message {
            from: from.to_string(),
            text: text.to_owned(),
            at,
            history: false,
        });
        // Holding the members lock while recording the history means a concurrent newcomer gets
        // this message exactly once: live if they joined first, from the history otherwise.
        let members = self.members.read();
        if self.history_len > 0 {
            let mut history = self.history.lock();
            if history.len() == self.history_len {
                history.pop_front();
            }
            history.push_back(Said { from: Arc::clone(from), text: text.into(), at });
        }
        self.push_all(&members, &frame);
    }

    /// Send a frame to everyone in the room.
    pub fn broadcast(&self, frame: &Arc<Frame>) {
        self.push_all(&self.members.read(), frame);
    }

    /// The member under `key`, if online.
    pub fn find(&self, key: &str) -> Option<Member> {
        self.members.read().get(key).cloned()
    }

    /// Everyone's names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.members.read().values().map(|m| m.name.to_string()).collect();
        names.sort_unstable_by_key(|n| n.to_lowercase());
        names
    }

    fn push_all(&self, members: &HashMap<String, Member>, frame: &Arc<Frame>) {
        for member in members.values() {
            member.outbox.push(frame);
        }
    }
}

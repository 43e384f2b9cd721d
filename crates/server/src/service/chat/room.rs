//! The room: who is online, fan-out, and the recent-message history.
//!
//! Membership is a map from name key to the member's [`Outbox`], under a read-write lock that is
//! held only while frames are *queued* — never while anything is written to a socket. A message is
//! encoded into one shared [`Frame`] and the same `Arc` is pushed to every member, so a broadcast
//! to N members is N pointer pushes. Joins and leaves are announced while the write lock is held,
//! so every member sees the same order of arrivals, departures and online counts.
//!
//! In a cluster the room also holds the [`Replica`] of members on other nodes (under its own
//! lock, always taken after the members lock). The online count is local plus remote; a remote
//! join, leave or snapshot is announced to the local members under the members lock like a local
//! one, so the order each member sees is still one order. Local membership changes carry a
//! version number for the other nodes (see [`Replica`]); on a single node the replica is
//! empty and the version is never read.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use sockhub_proto::chat::{ChatEvent, DEFAULT_ROOM as LOBBY};
use sockhub_proto::time::Timestamp;
use sockhub_store::ChatRow;

use crate::bus::replica::{Change, Replica};
use crate::bus::{NodeRef, RemoteMember};

type Directory = Replica<RemoteMember>;
use crate::net::outbox::{Frame, Outbox};

/// One member: the name as they typed it, their connection's outbox, and the connection id
/// (so a late leave of an old connection cannot remove a newer one under the same name).
#[derive(Clone)]
pub struct Member {
    pub name: Arc<str>,
    pub outbox: Outbox,
    pub conn: u64,
}

/// Where a member is connected.
pub enum Located {
    Here(Member),
    There { node: NodeRef, name: String, conn: u64 },
}

impl Located {
    pub fn name(&self) -> &str {
        match self {
            Located::Here(m) => &m.name,
            Located::There { name, .. } => name,
        }
    }
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
    /// Members on other nodes (empty on a single node).
    remote: RwLock<Directory>,
    /// Local membership changes so far; bumped under the members write lock.
    version: AtomicU64,
    history: Mutex<VecDeque<Said>>,
    history_len: usize,
}

/// The result of trying to join.
pub enum Join {
    /// Joined; this many are online now (the newcomer included), `local` of them on this node.
    /// `version` numbers the change for the other nodes.
    Joined { online: usize, local: usize, version: u64 },
    /// Someone online already has the name.
    Taken,
}

impl Room {
    /// An empty room whose history starts with `recent` (oldest first, from the database).
    /// Rows written before text was checked are replayed with their control characters escaped.
    pub fn new(history_len: usize, recent: Vec<ChatRow>) -> Self {
        let skip = recent.len().saturating_sub(history_len);
        let history = recent
            .into_iter()
            .skip(skip)
            .map(|row| Said {
                from: sockhub_proto::text::escape(&row.sender).into(),
                text: sockhub_proto::text::escape(&row.text).into(),
                at: row.at,
            })
            .collect();
        Room {
            members: RwLock::new(HashMap::new()),
            remote: RwLock::new(Directory::default()),
            version: AtomicU64::new(0),
            history: Mutex::new(history),
            history_len,
        }
    }

    /// Number of members online, on every node.
    pub fn online(&self) -> usize {
        let members = self.members.read();
        members.len() + self.remote.read().len()
    }

    /// Number of members connected to this node.
    pub fn local(&self) -> usize {
        self.members.read().len()
    }

    /// Add `member` under `key` unless the key is taken. On success the newcomer gets `welcome`
    /// (built from the new count) and the history, and everyone else sees the join, all in order.
    pub fn join(&self, key: String, member: Member, welcome: impl FnOnce(usize) -> ChatEvent) -> Join {
        let mut members = self.members.write();
        if members.contains_key(&key) {
            return Join::Taken;
        }
        let mut remote = self.remote.write();
        if let Some(stale) = remote.evict(&key) {
            // The name was claimed in the shared database, so whoever held it elsewhere is gone
            // and their `left` has not arrived yet: say it now, so counts stay right.
            let change = Change { left: vec![stale], ..Change::default() };
            self.announce(&members, &remote, &change);
        }
        let online = members.len() + remote.len() + 1;
        drop(remote);
        member.outbox.send(welcome(online));
        for said in self.history.lock().iter() {
            member.outbox.send(ChatEvent::Message {
                from: said.from.to_string(),
                text: said.text.to_string(),
                at: said.at,
                history: true,
                room: sockhub_proto::chat::DEFAULT_ROOM.to_owned(),
            });
        }
        let joined = Frame::new(ChatEvent::Joined {
            name: member.name.to_string(),
            online,
            room: LOBBY.into(),
            topic: None,
        });
        for other in members.values() {
            other.outbox.push(&joined);
        }
        members.insert(key, member);
        let version = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        Join::Joined { online, local: members.len(), version }
    }

    /// Remove the member under `key` if it is still connection `conn`; tell the others unless
    /// `quietly`. Returns the count left online on this node, and the change's version, or `None`
    /// if it was not a member.
    pub fn leave(&self, key: &str, conn: u64, quietly: bool) -> Option<(usize, u64)> {
        let mut members = self.members.write();
        let member = members.get(key).filter(|m| m.conn == conn)?.clone();
        members.remove(key);
        let version = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        if !quietly {
            let online = members.len() + self.remote.read().len();
            self.push_all(
                &members,
                &Frame::new(ChatEvent::Left { name: member.name.to_string(), online, room: LOBBY.into() }),
            );
        }
        Some((members.len(), version))
    }

    /// This node's members and the version of that list, taken together: a snapshot for the
    /// other nodes.
    pub fn snapshot(&self) -> (u64, Vec<RemoteMember>) {
        let members = self.members.read();
        let version = self.version.load(Ordering::Relaxed);
        let list =
            members.values().map(|m| RemoteMember { name: m.name.to_string(), conn: m.conn }).collect();
        (version, list)
    }

    /// The version of this node's membership and its size, for heartbeats.
    pub fn digest(&self) -> crate::bus::Digest {
        let members = self.members.read();
        crate::bus::Digest { version: self.version.load(Ordering::Relaxed), count: members.len() as u64 }
    }

    /// Apply a change to the other nodes' members and tell the local members about it, under the
    /// members lock (so it takes its place in the one order everyone here sees).
    pub fn apply_remote(&self, f: impl FnOnce(&mut Directory) -> Change<RemoteMember>) -> bool {
        let members = self.members.read();
        let mut remote = self.remote.write();
        let change = f(&mut remote);
        self.announce(&members, &remote, &change);
        change.in_step
    }

    /// Whether the replica of `node` matches its heartbeat's digest.
    pub fn remote_matches(&self, node: &NodeRef, digest: &crate::bus::Digest) -> bool {
        self.remote.read().matches(node, digest)
    }

    /// Tell the local members who left and who joined elsewhere, counting as it goes.
    fn announce(&self, members: &HashMap<String, Member>, remote: &Directory, change: &Change<RemoteMember>) {
        let mut online = members.len() + remote.len() + change.left.len() - change.joined.len();
        for m in &change.left {
            online -= 1;
            self.push_all(
                members,
                &Frame::new(ChatEvent::Left { name: m.name.clone(), online, room: LOBBY.into() }),
            );
        }
        for m in &change.joined {
            online += 1;
            self.push_all(
                members,
                &Frame::new(ChatEvent::Joined {
                    name: m.name.clone(),
                    online,
                    room: LOBBY.into(),
                    topic: None,
                }),
            );
        }
    }

    /// Send a public message to everyone (the sender too) and remember it for newcomers.
    pub fn say(&self, from: &Arc<str>, text: &str, at: Timestamp) {
        let frame = Frame::new(ChatEvent::Message {
            from: from.to_string(),
            text: text.to_owned(),
            at,
            history: false,
            room: sockhub_proto::chat::DEFAULT_ROOM.to_owned(),
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

    /// The member under `key`, if connected to this node.
    pub fn find(&self, key: &str) -> Option<Member> {
        self.members.read().get(key).cloned()
    }

    /// The member under `key` wherever they are connected.
    pub fn locate(&self, key: &str) -> Option<Located> {
        let members = self.members.read();
        if let Some(m) = members.get(key) {
            return Some(Located::Here(m.clone()));
        }
        let remote = self.remote.read();
        let (node, m) = remote.find(key)?;
        Some(Located::There { node: node.clone(), name: m.name.clone(), conn: m.conn })
    }

    /// The members connected to this node, as `(name, conn)`.
    pub fn local_members(&self) -> Vec<(String, u64)> {
        self.members.read().values().map(|m| (m.name.to_string(), m.conn)).collect()
    }

    /// Everyone's names, on every node, sorted.
    pub fn names(&self) -> Vec<String> {
        let members = self.members.read();
        let mut names: Vec<String> = members.values().map(|m| m.name.to_string()).collect();
        names.extend(self.remote.read().members().map(|m| m.name.clone()));
        names.sort_unstable_by_key(|n| n.to_lowercase());
        names
    }

    /// Everyone, on every node, as `(name, node id)` sorted by name; `here` names this node.
    pub fn names_by_node(&self, here: &str) -> Vec<(String, String)> {
        let members = self.members.read();
        let mut names: Vec<(String, String)> =
            members.values().map(|m| (m.name.to_string(), here.to_owned())).collect();
        names.extend(
            self.remote.read().members_by_node().map(|(node, m)| (m.name.clone(), node.id.to_string())),
        );
        names.sort_unstable_by_key(|(n, _)| n.to_lowercase());
        names
    }

    fn push_all(&self, members: &HashMap<String, Member>, frame: &Arc<Frame>) {
        for member in members.values() {
            member.outbox.push(frame);
        }
    }
}

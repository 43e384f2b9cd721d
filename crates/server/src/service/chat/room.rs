//! Presence: who is online in the chat at all (whatever rooms they are in), by name.
//!
//! Membership is a map from name key to the member's [`Outbox`], under a read-write lock that is
//! held only while frames are *queued* — never while anything is written to a socket. Names are
//! unique here; whispers, kicks and server-wide notices find their target here. What is said in
//! a room, and who joins and leaves it, is [`super::rooms::Rooms`]' business.
//!
//! In a cluster this also holds the [`Replica`] of members on other nodes (under its own lock,
//! always taken after the members lock). The online count is local plus remote. Local membership
//! changes carry a version number for the other nodes (see [`Replica`]); on a single node the
//! replica is empty and the version is never read.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use sockhub_proto::chat::ChatEvent;

use crate::bus::replica::{Change, Replica};
use crate::bus::{NodeRef, RemoteMember};

type Directory = Replica<RemoteMember>;
use crate::net::fanout::Fanout;
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

/// Everyone online in the chat.
pub struct Room {
    members: RwLock<HashMap<String, Member>>,
    /// Members on other nodes (empty on a single node).
    remote: RwLock<Directory>,
    /// Local membership changes so far; bumped under the members write lock.
    version: AtomicU64,
}

/// The result of trying to join.
pub enum Join {
    /// Joined; this many are online now (the newcomer included), `local` of them on this node.
    /// `version` numbers the change for the other nodes. `stale`: a remote holder of the name
    /// who was evicted.
    Joined { online: usize, local: usize, version: u64, stale: Option<RemoteMember> },
    /// Someone online already has the name.
    Taken,
}

impl Default for Room {
    fn default() -> Self {
        Self::new()
    }
}

impl Room {
    /// Nobody online yet.
    pub fn new() -> Self {
        Room {
            members: RwLock::new(HashMap::new()),
            remote: RwLock::new(Directory::default()),
            version: AtomicU64::new(0),
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
    /// (built from the new count). A remote holder of the name who is gone already (their `left`
    /// not yet arrived) is evicted and returned in `stale`, for the rooms to forget.
    pub fn join(&self, key: String, member: Member, welcome: impl FnOnce(usize) -> ChatEvent) -> Join {
        // Declared before the lock, so dropped after it: the welcome is queued under the lock (it
        // comes before anything sent to the new member) and written once the lock is released.
        let mut fanout = Fanout::new();
        let mut members = self.members.write();
        if members.contains_key(&key) {
            return Join::Taken;
        }
        let mut remote = self.remote.write();
        let stale = remote.evict(&key);
        let online = members.len() + remote.len() + 1;
        drop(remote);
        fanout.push(&member.outbox, &Frame::new(welcome(online)));
        members.insert(key, member);
        let version = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        Join::Joined { online, local: members.len(), version, stale }
    }

    /// Remove the member under `key` if it is still connection `conn`. Returns the count left
    /// online on this node, and the change's version, or `None` if it was not a member.
    pub fn leave(&self, key: &str, conn: u64) -> Option<(usize, u64)> {
        let mut members = self.members.write();
        members.get(key).filter(|m| m.conn == conn)?;
        members.remove(key);
        let version = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        Some((members.len(), version))
    }

    /// This node's members and the version of that list, taken together: a snapshot for the
    /// other nodes.
    pub fn snapshot(&self) -> (u64, Vec<RemoteMember>) {
        let members = self.members.read();
        let version = self.version.load(Ordering::Relaxed);
        let list = members
            .values()
            .map(|m| RemoteMember { name: m.name.to_string(), conn: m.conn, rooms: Vec::new() })
            .collect();
        (version, list)
    }

    /// The version of this node's membership and its size, for heartbeats.
    pub fn digest(&self) -> crate::bus::Digest {
        let members = self.members.read();
        crate::bus::Digest { version: self.version.load(Ordering::Relaxed), count: members.len() as u64 }
    }

    /// Apply a change to the other nodes' members; the change says who came and went (for the
    /// rooms to follow).
    pub fn apply_remote(
        &self,
        f: impl FnOnce(&mut Directory) -> Change<RemoteMember>,
    ) -> Change<RemoteMember> {
        let _members = self.members.read();
        let mut remote = self.remote.write();
        f(&mut remote)
    }

    /// Whether the replica of `node` matches its heartbeat's digest.
    pub fn remote_matches(&self, node: &NodeRef, digest: &crate::bus::Digest) -> bool {
        self.remote.read().matches(node, digest)
    }

    /// Send a frame to everyone online on this node.
    pub fn broadcast(&self, frame: &Arc<Frame>) {
        // Written to the sockets once the lock is released.
        let fanout = self.push_all(&self.members.read(), frame);
        drop(fanout);
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

    fn push_all(&self, members: &HashMap<String, Member>, frame: &Arc<Frame>) -> Fanout {
        let mut fanout = Fanout::new();
        for member in members.values() {
            fanout.push(&member.outbox, frame);
        }
        fanout
    }
}

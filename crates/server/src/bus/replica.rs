//! What *other* nodes have — their chat members, their calculator connections — as this node
//! knows it: a replica kept from what they publish on the bus.
//!
//! Each node's part is replaced wholesale by its snapshots and changed one member at a time by
//! its joins and leaves. Every change a node publishes carries a version that grows by one per
//! change, so a gap (a message lost while NATS was away, say) is noticed at the next event or
//! heartbeat and answered by asking that node for a fresh snapshot. On a single node the
//! replica stays empty and costs nothing.

use std::collections::HashMap;

use super::{Digest, NodeRef};

/// A replicated member: what identifies it within its node, and its connection.
pub trait Member: Clone + PartialEq {
    /// Unique within one node (a chat name key; a calculator connection).
    fn key(&self) -> String;
    /// The connection on its node, so a late leave of an old connection removes nothing newer.
    fn conn(&self) -> u64;
}

/// One other node's members.
struct Part<M> {
    version: u64,
    members: HashMap<String, M>,
    /// A snapshot arriving in parts, applied when its last part comes.
    incoming: Option<Vec<M>>,
}

impl<M> Default for Part<M> {
    fn default() -> Self {
        Part { version: 0, members: HashMap::new(), incoming: None }
    }
}

/// What applying a change did.
#[derive(Debug)]
pub struct Change<M> {
    pub left: Vec<M>,
    pub joined: Vec<M>,
    /// False when the change did not follow the last one seen from that node: ask for its state.
    pub in_step: bool,
}

impl<M> Default for Change<M> {
    fn default() -> Self {
        Change { left: Vec::new(), joined: Vec::new(), in_step: true }
    }
}

/// The other nodes' members.
pub struct Replica<M> {
    parts: HashMap<NodeRef, Part<M>>,
    total: usize,
}

impl<M> Default for Replica<M> {
    fn default() -> Self {
        Replica { parts: HashMap::new(), total: 0 }
    }
}

impl<M: Member> Replica<M> {
    /// Members on other nodes.
    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Who holds `key` on another node.
    pub fn find(&self, key: &str) -> Option<(&NodeRef, &M)> {
        self.parts.iter().find_map(|(node, part)| part.members.get(key).map(|m| (node, m)))
    }

    /// Everyone on other nodes.
    pub fn members(&self) -> impl Iterator<Item = &M> {
        self.parts.values().flat_map(|p| p.members.values())
    }

    /// Everyone on other nodes, with the node each is on.
    pub fn members_by_node(&self) -> impl Iterator<Item = (&NodeRef, &M)> {
        self.parts.iter().flat_map(|(node, p)| p.members.values().map(move |m| (node, m)))
    }

    /// `node` says `member` joined, as its change number `version`.
    pub fn join(&mut self, node: &NodeRef, member: M, version: u64) -> Change<M> {
        let key = member.key();
        let part = self.parts.entry(node.clone()).or_default();
        let in_step = Some(version) == part.version.checked_add(1);
        part.version = version;
        let mut change = Change { in_step, ..Change::default() };
        match part.members.insert(key, member.clone()) {
            Some(old) if old == member => {}
            Some(old) => {
                change.left.push(old);
                change.joined.push(member);
            }
            None => {
                self.total += 1;
                change.joined.push(member);
            }
        }
        change
    }

    /// `node` says connection `conn` left `key`.
    pub fn leave(&mut self, node: &NodeRef, key: &str, conn: u64, version: u64) -> Change<M> {
        let part = self.parts.entry(node.clone()).or_default();
        let in_step = Some(version) == part.version.checked_add(1);
        part.version = version;
        let mut change = Change { in_step, ..Change::default() };
        if part.members.get(key).is_some_and(|m| m.conn() == conn)
            && let Some(gone) = part.members.remove(key)
        {
            self.total -= 1;
            change.left.push(gone);
        }
        change
    }

    /// One part of `node`'s snapshot; when it is the last, the node's members become exactly the
    /// snapshot's, and the change says who left and who joined as a result.
    pub fn snapshot(
        &mut self,
        node: &NodeRef,
        version: u64,
        members: Vec<M>,
        first: bool,
        last: bool,
    ) -> Change<M> {
        let part = self.parts.entry(node.clone()).or_default();
        let incoming =
            if first { part.incoming.insert(Vec::new()) } else { part.incoming.get_or_insert_default() };
        incoming.extend(members);
        if !last {
            return Change::default();
        }
        let fresh: HashMap<String, M> =
            part.incoming.take().unwrap_or_default().into_iter().map(|m| (m.key(), m)).collect();
        let old = std::mem::take(&mut part.members);
        let change = Change {
            left: old.iter().filter(|(k, m)| fresh.get(*k) != Some(m)).map(|(_, m)| m.clone()).collect(),
            joined: fresh.iter().filter(|(k, m)| old.get(*k) != Some(m)).map(|(_, m)| m.clone()).collect(),
            in_step: true,
        };
        self.total = self.total - old.len() + fresh.len();
        part.members = fresh;
        part.version = version;
        change
    }

    /// Forget whoever holds `key` elsewhere (their name was claimed anew, so they are gone),
    /// without touching versions: the heartbeat digest of their node then differs, and the next
    /// snapshot settles it.
    pub fn evict(&mut self, key: &str) -> Option<M> {
        let part = self.parts.values_mut().find(|p| p.members.contains_key(key))?;
        let gone = part.members.remove(key)?;
        self.total -= 1;
        Some(gone)
    }

    /// `node` is gone: everyone it had leaves.
    pub fn drop_node(&mut self, node: &NodeRef) -> Vec<M> {
        let Some(part) = self.parts.remove(node) else { return Vec::new() };
        self.total -= part.members.len();
        part.members.into_values().collect()
    }

    /// Whether this replica of `node` matches the digest it sent with its heartbeat.
    pub fn matches(&self, node: &NodeRef, digest: &Digest) -> bool {
        match self.parts.get(node) {
            Some(part) => part.version == digest.version && part.members.len() as u64 == digest.count,
            None => digest.count == 0 && digest.version == 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::bus::RemoteMember;

    fn node(id: &str) -> NodeRef {
        NodeRef { id: Arc::from(id), boot: 1 }
    }

    fn m(name: &str, conn: u64) -> RemoteMember {
        RemoteMember { name: name.into(), conn, rooms: Vec::new() }
    }

    #[test]
    fn joins_leaves_gaps_and_snapshots() {
        let (a, b) = (node("a"), node("b"));
        let mut r: Replica<RemoteMember> = Replica::default();
        assert!(r.join(&a, m("Alice", 1), 1).in_step);
        assert!(r.join(&b, m("bob", 7), 1).in_step);
        assert_eq!(r.len(), 2);
        assert_eq!(r.find("alice").map(|(n, m)| (n.id.to_string(), m.conn)), Some(("a".into(), 1)));
        // A gap (change 3 after 1) is noticed.
        assert!(!r.join(&a, m("carol", 2), 3).in_step);
        // A late leave of an older connection removes nothing.
        assert!(r.leave(&a, "alice", 99, 4).left.is_empty());
        assert_eq!(r.leave(&a, "alice", 1, 5).left, vec![m("Alice", 1)]);
        assert!(r.matches(&a, &Digest { version: 5, count: 1 }));
        assert!(!r.matches(&a, &Digest { version: 6, count: 1 }));
        // A snapshot in two parts replaces a's members: carol left, dave and erin joined.
        assert!(r.snapshot(&a, 9, vec![m("dave", 3)], true, false).left.is_empty());
        assert_eq!(r.len(), 2, "nothing changes before the last part");
        let change = r.snapshot(&a, 9, vec![m("erin", 4)], false, true);
        assert_eq!(change.left, vec![m("carol", 2)]);
        assert_eq!(change.joined.len(), 2);
        assert_eq!(r.len(), 3);
        assert!(r.matches(&a, &Digest { version: 9, count: 2 }));
        // A name claimed anew elsewhere is evicted; a dead node's members all leave.
        assert_eq!(r.evict("bob"), Some(m("bob", 7)));
        assert_eq!(r.drop_node(&a).len(), 2);
        assert_eq!(r.len(), 0);
        assert!(r.drop_node(&a).is_empty());
    }
}

//! The chat members of *other* nodes, as this node knows them: a replica kept from what they
//! publish on the bus.
//!
//! Each node's part is replaced wholesale by its snapshots and changed one member at a time by
//! its joins and leaves. Every change a node publishes carries a version that grows by one per
//! change, so a gap (a message lost while NATS was away, say) is noticed at the next event or
//! heartbeat and answered by asking that node for a fresh snapshot. On a single node the
//! directory stays empty and costs nothing.

use std::collections::HashMap;

use crate::bus::{Digest, NodeRef, RemoteMember};

/// One other node's members.
#[derive(Default)]
struct Part {
    version: u64,
    /// By name key.
    members: HashMap<String, RemoteMember>,
    /// A snapshot arriving in parts, applied when its last part comes.
    incoming: Option<Vec<RemoteMember>>,
}

/// What applying a change did.
#[derive(Debug, Default)]
pub struct Change {
    pub left: Vec<RemoteMember>,
    pub joined: Vec<RemoteMember>,
    /// False when the change did not follow the last one seen from that node: ask for its state.
    pub in_step: bool,
}

/// The other nodes' members.
#[derive(Default)]
pub struct Directory {
    parts: HashMap<NodeRef, Part>,
    total: usize,
}

impl Directory {
    /// Members on other nodes.
    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Who holds `key` on another node.
    pub fn find(&self, key: &str) -> Option<(&NodeRef, &RemoteMember)> {
        self.parts.iter().find_map(|(node, part)| part.members.get(key).map(|m| (node, m)))
    }

    /// Everyone's names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.values().flat_map(|p| p.members.values().map(|m| m.name.as_str()))
    }

    /// `node` says `member` joined under `key`, as its change number `version`.
    pub fn join(&mut self, node: &NodeRef, key: String, member: RemoteMember, version: u64) -> Change {
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
    pub fn leave(&mut self, node: &NodeRef, key: &str, conn: u64, version: u64) -> Change {
        let part = self.parts.entry(node.clone()).or_default();
        let in_step = Some(version) == part.version.checked_add(1);
        part.version = version;
        let mut change = Change { in_step, ..Change::default() };
        if part.members.get(key).is_some_and(|m| m.conn == conn)
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
        members: Vec<RemoteMember>,
        first: bool,
        last: bool,
        key: impl Fn(&str) -> String,
    ) -> Change {
        let part = self.parts.entry(node.clone()).or_default();
        let incoming =
            if first { part.incoming.insert(Vec::new()) } else { part.incoming.get_or_insert_default() };
        incoming.extend(members);
        if !last {
            return Change { in_step: true, ..Change::default() };
        }
        let fresh: HashMap<String, RemoteMember> =
            part.incoming.take().unwrap_or_default().into_iter().map(|m| (key(&m.name), m)).collect();
        let old = std::mem::take(&mut part.members);
        let mut change = Change { in_step: true, ..Change::default() };
        change.left = old.iter().filter(|(k, m)| fresh.get(*k) != Some(m)).map(|(_, m)| m.clone()).collect();
        change.joined =
            fresh.iter().filter(|(k, m)| old.get(*k) != Some(m)).map(|(_, m)| m.clone()).collect();
        self.total = self.total - old.len() + fresh.len();
        part.members = fresh;
        part.version = version;
        change
    }

    /// Forget whoever holds `key` elsewhere (their name was claimed anew, so they are gone),
    /// without touching versions: the heartbeat digest of their node then differs, and the next
    /// snapshot settles it.
    pub fn evict(&mut self, key: &str) -> Option<RemoteMember> {
        let part = self.parts.values_mut().find(|p| p.members.contains_key(key))?;
        let gone = part.members.remove(key)?;
        self.total -= 1;
        Some(gone)
    }

    /// `node` is gone: everyone it had leaves.
    pub fn drop_node(&mut self, node: &NodeRef) -> Vec<RemoteMember> {
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

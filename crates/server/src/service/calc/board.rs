//! The board: who is connected to the calculator, and the one place results are broadcast.
//!
//! Every logged-in calculator connection is a member, keyed by its connection id (a student may
//! be connected more than once: a phone and a laptop, or a reconnect racing the old connection's
//! timeout). [`Board::publish`] encodes a result into one shared [`Frame`] and pushes the same
//! `Arc` into every member's outbox under a read lock held only while queueing — never across
//! I/O — and, in a cluster, publishes the result once on the bus for the other nodes, which push
//! it to their own members ([`Board::deliver`]); nothing else in the calculator sends results.
//!
//! In a cluster the board also keeps a [`Replica`] of the other nodes' connections, so the online
//! count and `/who` cover every node. Local joins and leaves are numbered for the others like the
//! chat room's (see [`crate::bus::replica`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use sockhub_proto::calc::{CalcEvent, SquareResult, StudentInfo};

use crate::bus::replica::{Change, Replica};
use crate::bus::{CalcMember, CalcMsg, Digest, Message, NodeRef, SharedBus, Slot};
use crate::net::outbox::{Frame, Outbox};

struct Member {
    student: StudentInfo,
    outbox: Outbox,
}

/// The calculator's connected students.
pub struct Board {
    members: RwLock<HashMap<u64, Member>>,
    /// Other nodes' connections (empty on a single node); locked after `members`.
    remote: RwLock<Replica<CalcMember>>,
    /// Local joins and leaves so far, for the other nodes.
    version: AtomicU64,
    bus: SharedBus,
}

impl Board {
    pub fn new(bus: SharedBus) -> Board {
        Board {
            members: RwLock::new(HashMap::new()),
            remote: RwLock::new(Replica::default()),
            version: AtomicU64::new(0),
            bus,
        }
    }

    /// Connections logged in now, on every node.
    pub fn online(&self) -> usize {
        let members = self.members.read();
        members.len() + self.remote.read().len()
    }

    /// The way to the other nodes.
    pub fn bus(&self) -> &SharedBus {
        &self.bus
    }

    /// Connections logged in to this node.
    pub fn local(&self) -> usize {
        self.members.read().len()
    }

    /// Add connection `conn`; returns the count online on every node. `welcome` is built from it
    /// and queued while the write lock is held, so the newcomer's welcome comes before any result
    /// broadcast after the join. In a cluster the `Joined` goes into `slot`, the place the
    /// session took for it ([`crate::bus::place`]).
    pub fn join(
        &self,
        conn: u64,
        student: StudentInfo,
        outbox: Outbox,
        welcome: impl FnOnce(usize) -> CalcEvent,
        slot: Option<Slot<'_>>,
    ) -> usize {
        let mut members = self.members.write();
        let online = members.len() + usize::from(!members.contains_key(&conn)) + self.remote.read().len();
        outbox.send(welcome(online));
        members.insert(conn, Member { student: student.clone(), outbox });
        let version = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(slot) = slot {
            slot.send(Message::Calc(CalcMsg::Joined { student, conn, version }));
        }
        online
    }

    /// Remove connection `conn`; returns how many remain on this node. The `Left` goes into
    /// `slot`.
    pub fn leave(&self, conn: u64, slot: Option<Slot<'_>>) -> usize {
        let mut members = self.members.write();
        if members.remove(&conn).is_some() {
            let version = self.version.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(slot) = slot {
                slot.send(Message::Calc(CalcMsg::Left { conn, version }));
            }
        }
        members.len()
    }

    /// Send a result to everyone connected (its author included), on every node (into `slot`,
    /// the place its session took before storing it). Returns the recipients on this node.
    pub fn publish(&self, result: SquareResult, slot: Option<Slot<'_>>) -> usize {
        if let Some(slot) = slot {
            slot.send(Message::Calc(CalcMsg::Result { result: result.clone() }));
        }
        self.deliver(result)
    }

    /// Push a result to this node's members (one published here, or by another node).
    pub fn deliver(&self, result: SquareResult) -> usize {
        let frame = Frame::new(CalcEvent::Result(result));
        let members = self.members.read();
        for m in members.values() {
            m.outbox.push(&frame);
        }
        members.len()
    }

    /// This node's connections and the version of that list, for the other nodes.
    pub fn snapshot(&self) -> (u64, Vec<CalcMember>) {
        let members = self.members.read();
        let list =
            members.iter().map(|(conn, m)| CalcMember { student: m.student.clone(), conn: *conn }).collect();
        (self.version.load(Ordering::Relaxed), list)
    }

    pub fn digest(&self) -> Digest {
        let members = self.members.read();
        Digest { version: self.version.load(Ordering::Relaxed), count: members.len() as u64 }
    }

    /// Apply a change to the other nodes' connections; `false` if it was out of step.
    pub fn apply_remote(&self, f: impl FnOnce(&mut Replica<CalcMember>) -> Change<CalcMember>) -> bool {
        f(&mut self.remote.write()).in_step
    }

    pub fn remote_matches(&self, node: &NodeRef, digest: &Digest) -> bool {
        self.remote.read().matches(node, digest)
    }

    /// The students connected now, on every node, each once, sorted by ID.
    pub fn students(&self) -> Vec<StudentInfo> {
        let members = self.members.read();
        let mut students: Vec<StudentInfo> = members.values().map(|m| m.student.clone()).collect();
        students.extend(self.remote.read().members().map(|m| m.student.clone()));
        students
            .sort_by(|a, b| (a.student_id.len(), &a.student_id).cmp(&(b.student_id.len(), &b.student_id)));
        students.dedup_by(|a, b| a.student_id == b.student_id);
        students
    }
}

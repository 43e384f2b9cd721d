//! The board: who is connected to the calculator, and the one place results are broadcast.
//!
//! Every logged-in calculator connection is a member, keyed by its connection id (a student may
//! be connected more than once: a phone and a laptop, or a reconnect racing the old connection's
//! timeout). [`Board::publish`] encodes a result into one shared [`Frame`] and pushes the same
//! `Arc` into every member's outbox under a read lock held only while queueing — never across
//! I/O. A later multi-node setup publishes through a bus instead; this function is where that
//! hooks in, and nothing else in the calculator sends results.

use std::collections::HashMap;

use parking_lot::RwLock;
use sockhub_proto::calc::{CalcEvent, SquareResult, StudentInfo};

use crate::net::outbox::{Frame, Outbox};

struct Member {
    student: StudentInfo,
    outbox: Outbox,
}

/// The calculator's connected students.
#[derive(Default)]
pub struct Board {
    members: RwLock<HashMap<u64, Member>>,
}

impl Board {
    /// Connections logged in now.
    pub fn online(&self) -> usize {
        self.members.read().len()
    }

    /// Add connection `conn`. `welcome` is built from the new count and queued while the write
    /// lock is held, so the newcomer's welcome comes before any result broadcast after the join.
    pub fn join(
        &self,
        conn: u64,
        student: StudentInfo,
        outbox: Outbox,
        welcome: impl FnOnce(usize) -> CalcEvent,
    ) -> usize {
        let mut members = self.members.write();
        let online = members.len() + usize::from(!members.contains_key(&conn));
        outbox.send(welcome(online));
        members.insert(conn, Member { student, outbox });
        online
    }

    /// Remove connection `conn`; returns how many remain.
    pub fn leave(&self, conn: u64) -> usize {
        let mut members = self.members.write();
        members.remove(&conn);
        members.len()
    }

    /// Send a result to everyone connected (its author included). Returns the recipients.
    pub fn publish(&self, result: SquareResult) -> usize {
        let frame = Frame::new(CalcEvent::Result(result));
        let members = self.members.read();
        for m in members.values() {
            m.outbox.push(&frame);
        }
        members.len()
    }

    /// The students connected now, each once, sorted by ID.
    pub fn students(&self) -> Vec<StudentInfo> {
        let mut students: Vec<StudentInfo> =
            self.members.read().values().map(|m| m.student.clone()).collect();
        students
            .sort_by(|a, b| (a.student_id.len(), &a.student_id).cmp(&(b.student_id.len(), &b.student_id)));
        students.dedup_by(|a, b| a.student_id == b.student_id);
        students
    }
}

//! The disk quota: how much this node may hold that it still owes downstream.
//!
//! "Pending" is what is neither kept here nor acknowledged by downstream: queued (waiting or in
//! flight), held and missing records. While pending data is at the quota, the ingest task takes
//! no new record, so nothing is acknowledged and connections stop being read (their senders
//! see TCP backpressure); acknowledgements from downstream shrink the pending data and intake
//! resumes. Nothing is ever dropped. A sink owes nothing downstream, so the quota never binds
//! there. Kept records are this node's own and do not count.

use serde::Serialize;

/// The limits; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quota {
    pub bytes: u64,
    pub records: u64,
}

impl Quota {
    /// How many more records may be taken now, given what is pending; `None` for no limit.
    /// A batch may overshoot the byte quota by one record's payload (the ingest task takes a
    /// record while there is room, whatever its size), never the record quota.
    pub fn room(&self, pending_records: i64, pending_bytes: i64) -> Option<usize> {
        let mut room: Option<usize> = None;
        if self.records > 0 {
            room = Some(self.records.saturating_sub(pending_records.max(0) as u64) as usize);
        }
        if self.bytes > 0 && pending_bytes.max(0) as u64 >= self.bytes {
            room = Some(0);
        }
        room
    }

    /// Bytes that may still be taken (`None`: no byte limit).
    pub fn bytes_room(&self, pending_bytes: i64) -> Option<u64> {
        (self.bytes > 0).then(|| self.bytes.saturating_sub(pending_bytes.max(0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_follows_both_limits() {
        let q = Quota { bytes: 0, records: 0 };
        assert_eq!(q.room(1_000_000, 1 << 40), None);
        let q = Quota { bytes: 0, records: 100 };
        assert_eq!(q.room(40, 0), Some(60));
        assert_eq!(q.room(150, 0), Some(0));
        let q = Quota { bytes: 1000, records: 0 };
        assert_eq!(q.room(5, 999), None);
        assert_eq!(q.room(5, 1000), Some(0));
        assert_eq!(q.bytes_room(400), Some(600));
    }
}

//! The run's clock and timeline.
//!
//! Latency is measured end to end from a timestamp carried in each message: the sender writes the
//! time it sent the line, the receiver subtracts it from the time it read it. Both ends live in
//! this one process, so one monotonic clock serves both and no clock synchronisation is needed:
//! a timestamp is nanoseconds since the [`Clock`]'s start.
//!
//! The [`Timeline`] splits a run into warm-up (connections and caches settle; nothing counted),
//! measurement (what the report is about) and drain (the last messages arrive). A message belongs
//! to the phase in which it was *sent*, so a receiver classifies it from its timestamp alone.

use std::time::{Duration, Instant};

/// Nanoseconds since the start of the run.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    pub fn new() -> Self {
        Clock { start: Instant::now() }
    }

    /// Nanoseconds since the clock started.
    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// When the phases of a run begin and end, in [`Clock`] nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    /// Senders start here.
    pub warm_start: u64,
    /// Messages sent from here on are measured...
    pub measure_start: u64,
    /// ...until here, when senders stop.
    pub measure_end: u64,
}

/// Which phase a message sent at some time belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    WarmUp,
    Measured,
    After,
}

impl Timeline {
    /// A timeline starting at `now` with the given warm-up and measurement lengths.
    pub fn starting(now: u64, warm_up: Duration, measure: Duration) -> Self {
        let measure_start = now + warm_up.as_nanos() as u64;
        Timeline { warm_start: now, measure_start, measure_end: measure_start + measure.as_nanos() as u64 }
    }

    /// The phase of a message sent at `sent_ns`.
    pub fn phase(&self, sent_ns: u64) -> Phase {
        if sent_ns < self.measure_start {
            Phase::WarmUp
        } else if sent_ns < self.measure_end {
            Phase::Measured
        } else {
            Phase::After
        }
    }

    /// The length of the measured window, in seconds.
    pub fn measured_secs(&self) -> f64 {
        (self.measure_end - self.measure_start) as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_belongs_to_the_phase_it_was_sent_in() {
        let t = Timeline::starting(100, Duration::from_nanos(10), Duration::from_nanos(20));
        assert_eq!(t.phase(100), Phase::WarmUp);
        assert_eq!(t.phase(110), Phase::Measured);
        assert_eq!(t.phase(129), Phase::Measured);
        assert_eq!(t.phase(130), Phase::After);
    }
}

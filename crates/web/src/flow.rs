//! The relay's flow at a glance: records per minute by state (received, kept, forwarded, held)
//! for the review screen's chart.
//!
//! The relay keeps cumulative counters per source; a sampler reads their totals every few
//! seconds and adds each increase to the current minute's bucket. So the chart costs no
//! database query however many records the relay holds, and it is exact for received, kept and
//! forwarded (those counters only grow). `held` counts records that became held, net of held
//! records re-sent in the same minute. The first sample after a start only sets the baseline:
//! what happened before the server started is not drawn as one huge minute. The buckets are
//! bounded ([`KEEP_MINUTES`]) and live in memory: a restart starts an empty chart.

use std::collections::VecDeque;

use parking_lot::Mutex;
use serde::Serialize;

/// Minutes of history kept.
pub const KEEP_MINUTES: usize = 180;
const MINUTE_MS: i64 = 60_000;

/// Cumulative counts at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub received: i64,
    pub kept: i64,
    pub forwarded: i64,
    pub held: i64,
}

/// The relay's counters summed over its sources. A sink stores rather than forwards: what it
/// stores counts as forwarded (delivered to its end).
pub fn totals(status: &sockhub_server::service::relay::RelayStatus) -> Totals {
    status.sources.iter().fold(Totals::default(), |t, s| Totals {
        received: t.received + s.received,
        kept: t.kept + s.kept,
        forwarded: t.forwarded + s.forwarded + s.stored,
        held: t.held + s.held,
    })
}

/// What happened in one minute; `t` is the minute's start (unix ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Minute {
    pub t: i64,
    pub received: i64,
    pub kept: i64,
    pub forwarded: i64,
    pub held: i64,
}

#[derive(Default)]
struct State {
    last: Option<Totals>,
    minutes: VecDeque<Minute>,
}

/// Per-minute buckets built from samples of cumulative totals.
#[derive(Default)]
pub struct FlowChart {
    state: Mutex<State>,
}

impl FlowChart {
    /// Add the increase since the last sample to the minute of `now_ms`.
    pub fn sample(&self, now_ms: i64, totals: Totals) {
        let mut state = self.state.lock();
        let Some(last) = state.last.replace(totals) else { return };
        let t = now_ms - now_ms.rem_euclid(MINUTE_MS);
        if state.minutes.back().is_none_or(|m| m.t != t) {
            state.minutes.push_back(Minute { t, ..Minute::default() });
            while state.minutes.len() > KEEP_MINUTES {
                state.minutes.pop_front();
            }
        }
        let m = state.minutes.back_mut().expect("just pushed");
        m.received += (totals.received - last.received).max(0);
        m.kept += (totals.kept - last.kept).max(0);
        m.forwarded += (totals.forwarded - last.forwarded).max(0);
        m.held += (totals.held - last.held).max(0);
    }

    /// The last `count` minutes up to the one of `now_ms`, oldest first, empty minutes included.
    pub fn minutes(&self, now_ms: i64, count: usize) -> Vec<Minute> {
        let state = self.state.lock();
        let now = now_ms - now_ms.rem_euclid(MINUTE_MS);
        (0..count.min(KEEP_MINUTES) as i64)
            .rev()
            .map(|ago| {
                let t = now - ago * MINUTE_MS;
                state.minutes.iter().find(|m| m.t == t).copied().unwrap_or(Minute { t, ..Minute::default() })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(received: i64, kept: i64, forwarded: i64, held: i64) -> Totals {
        Totals { received, kept, forwarded, held }
    }

    #[test]
    fn increases_land_in_their_minute_and_the_first_sample_is_a_baseline() {
        let chart = FlowChart::default();
        let t0 = 1_000 * MINUTE_MS;
        chart.sample(t0 + 1_000, totals(5_000, 100, 4_800, 3)); // history before the start
        chart.sample(t0 + 6_000, totals(5_010, 101, 4_805, 3));
        chart.sample(t0 + 59_000, totals(5_020, 102, 4_812, 4));
        chart.sample(t0 + MINUTE_MS + 4_000, totals(5_050, 102, 4_850, 2)); // 2 held re-sent
        let m = chart.minutes(t0 + 2 * MINUTE_MS + 1, 4);
        assert_eq!(m.len(), 4);
        assert_eq!(m[0], Minute { t: t0 - MINUTE_MS, ..Minute::default() });
        assert_eq!(m[1], Minute { t: t0, received: 20, kept: 2, forwarded: 12, held: 1 });
        assert_eq!(m[2], Minute { t: t0 + MINUTE_MS, received: 30, kept: 0, forwarded: 38, held: 0 });
        assert_eq!(m[3].received, 0, "a quiet minute is drawn as zero");
    }

    #[test]
    fn history_is_bounded() {
        let chart = FlowChart::default();
        for i in 0..(KEEP_MINUTES as i64 + 50) {
            chart.sample(i * MINUTE_MS, totals(i, 0, 0, 0));
        }
        assert_eq!(chart.state.lock().minutes.len(), KEEP_MINUTES);
        assert_eq!(chart.minutes(0, 10_000).len(), KEEP_MINUTES);
    }
}

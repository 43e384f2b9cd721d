//! The round: one struct holding everything the quiz shares, with its broadcast points.
//!
//! [`Round`] is the number, the state (waiting or running, and until when), the seed, and the
//! players by name key — each with their cumulative sum, counts, problem stream and, while
//! connected, their outbox. Everything is behind one mutex that is held only to change state and
//! queue frames (pushing into an outbox never blocks and never touches a socket), so the order in
//! which a player sees things is the order in which they happened: no question can follow the
//! `round_over`, no verdict can follow a disconnect. The open questions' deadlines are not here:
//! they have a queue and a lock of their own ([`super::deadlines`]), so that the deadline
//! scheduler never waits for this one.
//!
//! The broadcast points are the methods that push one shared [`Frame`] to every connected player:
//! [`Round::start`] (`round_started`), [`Round::scores_frame`] (the periodic leaderboard) and
//! [`Round::finish`] (`round_over`). In a cluster, [`Round::others`] holds the standings the other
//! nodes publish for the same round, and [`Round::board`] merges them in, so every one of these
//! points shows the cluster's leaderboard; nothing else reads another player's state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sockhub_proto::quiz::{QuizEvent, RoundState, Standing};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::bus::NodeRef;
use crate::net::fanout::Fanout;
use crate::net::outbox::{Frame, Outbox};
use sockhub_proto::problem::Problem;

/// The problem a player is working on, kept across pauses and reconnects: a wrong, late,
/// invalid or missing answer brings the same one back, and leaving does not skip it.
#[derive(Debug, Clone)]
pub struct Current {
    pub id: u64,
    pub problem: Problem,
    pub expected: i64,
    /// How many times it has been sent.
    pub asks: u32,
}

/// A player's own problem stream: an RNG seeded from the round's seed and the player's name key,
/// so a player's problems and pauses are reproducible whatever the others do.
pub struct Stream {
    pub rng: StdRng,
    pub next_id: u64,
    pub current: Option<Current>,
}

/// A connected player's way back.
pub struct Online {
    pub conn: u64,
    pub outbox: Outbox,
    /// Cancelled when this connection leaves or the round ends: the player's task stops.
    pub stop: CancellationToken,
    /// Notified by the deadline scheduler when it has timed out the open question.
    pub timeouts: Arc<Notify>,
}

/// One player of the round.
pub struct Player {
    pub name: Arc<str>,
    pub log_file: Arc<str>,
    pub sum: i64,
    pub correct: u32,
    pub attempts: u32,
    pub first_joined: Instant,
    pub online: Option<Online>,
    pub stream: Stream,
}

impl Player {
    /// The problem to ask now: the current one again, or a new one.
    pub fn next_problem(&mut self) -> Current {
        let stream = &mut self.stream;
        let current = stream.current.get_or_insert_with(|| {
            let problem = Problem::random(&mut stream.rng);
            stream.next_id += 1;
            Current { id: stream.next_id, problem, expected: problem.answer(), asks: 0 }
        });
        current.asks += 1;
        current.clone()
    }

    /// A pause drawn from `[lo, hi]`, to the millisecond.
    pub fn pause(&mut self, [lo, hi]: [Duration; 2]) -> Duration {
        let (lo, hi) = (lo.as_millis() as u64, hi.as_millis() as u64);
        Duration::from_millis(self.stream.rng.random_range(lo..=hi.max(lo)))
    }
}

/// Where the round is. `Running` carries the round clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Waiting,
    Running { started: Instant, ends: Instant },
}

/// The outcome of a join.
pub enum Join {
    Joined {
        rejoined: bool,
        stop: CancellationToken,
        timeouts: Arc<Notify>,
    },
    /// Someone connected already plays under this name.
    Taken,
}

/// The shared state of the quiz.
pub struct Round {
    pub number: u64,
    pub seed: u64,
    pub clock: Clock,
    pub duration: Duration,
    pub players: HashMap<String, Player>,
    /// The other nodes' players, as they last published them: `(round, standings)`.
    pub others: HashMap<NodeRef, (u64, Vec<Standing>)>,
}

/// What [`Round::finish`] hands back for logging and storing.
pub struct Finished {
    pub number: u64,
    pub board: Vec<(Standing, Arc<str>)>,
    /// The players who were connected: their outboxes, to be closed once the logs are written.
    pub outboxes: Vec<Outbox>,
}

impl Round {
    pub fn new(duration: Duration) -> Round {
        Round {
            number: 0,
            seed: 0,
            clock: Clock::Waiting,
            duration,
            players: HashMap::new(),
            others: HashMap::new(),
        }
    }

    pub fn state(&self) -> RoundState {
        match self.clock {
            Clock::Waiting => RoundState::Waiting,
            Clock::Running { .. } => RoundState::Running,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.clock, Clock::Running { .. })
    }

    /// Whole seconds left in the running round.
    pub fn remaining_secs(&self, now: Instant) -> Option<u64> {
        match self.clock {
            Clock::Running { ends, .. } => Some(ends.saturating_duration_since(now).as_secs()),
            Clock::Waiting => None,
        }
    }

    /// Players connected now.
    pub fn online(&self) -> usize {
        self.players.values().filter(|p| p.online.is_some()).count()
    }

    /// A player's stream seed: the round's seed mixed with the name key (SplitMix64-style), so
    /// two players never share a sequence and a round replays exactly from its seed.
    fn stream_seed(&self, key: &str) -> u64 {
        let mut z = self.seed ^ self.number.rotate_left(32) ^ super::logs::fnv1a(key.as_bytes());
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Join (or rejoin, keeping the sum) under `key`.
    pub fn join(
        &mut self,
        key: &str,
        name: &Arc<str>,
        log_file: Arc<str>,
        conn: u64,
        outbox: &Outbox,
    ) -> Join {
        let stop = CancellationToken::new();
        let timeouts = Arc::new(Notify::new());
        let online =
            Online { conn, outbox: outbox.clone(), stop: stop.clone(), timeouts: Arc::clone(&timeouts) };
        if let Some(p) = self.players.get_mut(key) {
            if p.online.is_some() {
                return Join::Taken;
            }
            p.online = Some(online);
            return Join::Joined { rejoined: true, stop, timeouts };
        }
        let stream = Stream { rng: StdRng::seed_from_u64(self.stream_seed(key)), next_id: 0, current: None };
        self.players.insert(
            key.to_owned(),
            Player {
                name: Arc::clone(name),
                log_file,
                sum: 0,
                correct: 0,
                attempts: 0,
                first_joined: Instant::now(),
                online: Some(online),
                stream,
            },
        );
        Join::Joined { rejoined: false, stop, timeouts }
    }

    /// The connection `conn` of player `key` left: stop its task; the player's record stays for
    /// a rejoin. Returns the name if it was that connection (whose open question the caller then
    /// takes out of the deadline queue: [`super::deadlines::Deadlines::forget`]).
    pub fn leave(&mut self, key: &str, conn: u64) -> Option<Arc<str>> {
        let p = self.players.get_mut(key)?;
        if p.online.as_ref().is_none_or(|o| o.conn != conn) {
            return None;
        }
        if let Some(o) = p.online.take() {
            o.stop.cancel();
        }
        Some(Arc::clone(&p.name))
    }

    /// Start round `number`, which ends in `remaining` (the whole duration, unless this node joins
    /// a round another node of the cluster started); everyone connected is told, through `fanout`.
    /// The caller has emptied the deadline queue first, under this round's lock.
    pub fn start(
        &mut self,
        number: u64,
        seed: u64,
        ends_at: sockhub_proto::time::Timestamp,
        remaining: Duration,
        fanout: &mut Fanout,
    ) {
        let started = Instant::now();
        self.number = number;
        self.seed = seed;
        self.clock = Clock::Running { started, ends: started + remaining.min(self.duration) };
        // Streams are seeded from the round, so players who joined while waiting get theirs now.
        let keys: Vec<String> = self.players.keys().cloned().collect();
        for key in keys {
            let seed = self.stream_seed(&key);
            if let Some(p) = self.players.get_mut(&key) {
                p.stream = Stream { rng: StdRng::seed_from_u64(seed), next_id: 0, current: None };
                p.first_joined = started;
            }
        }
        let frame = Frame::new(QuizEvent::RoundStarted {
            round: number,
            duration_secs: self.duration.as_secs(),
            ends_at,
        });
        self.push_all(&frame, fanout);
    }

    /// This node's players' standings (unranked), for the other nodes.
    pub fn local_standings(&self) -> Vec<Standing> {
        self.players
            .values()
            .map(|p| Standing {
                rank: 0,
                name: p.name.to_string(),
                sum: p.sum,
                correct: p.correct,
                attempts: p.attempts,
            })
            .collect()
    }

    /// The leaderboard, best first: highest sum, then most correct, then fewest attempts, then
    /// name. It includes the other nodes' players in this round (their log file is empty: their
    /// own node writes their logs); a name playing here counts as it is here.
    pub fn board(&self) -> Vec<(Standing, Arc<str>)> {
        let mut rows: Vec<(Standing, Arc<str>)> = self
            .players
            .values()
            .map(|p| {
                let standing = Standing {
                    rank: 0,
                    name: p.name.to_string(),
                    sum: p.sum,
                    correct: p.correct,
                    attempts: p.attempts,
                };
                (standing, Arc::clone(&p.log_file))
            })
            .collect();
        let mut seen: HashSet<String> = self.players.keys().cloned().collect();
        for (round, standings) in self.others.values() {
            if *round != self.number {
                continue;
            }
            for s in standings {
                if seen.insert(crate::names::key(&s.name)) {
                    rows.push((s.clone(), Arc::from("")));
                }
            }
        }
        rows.sort_by(|(a, _), (b, _)| {
            b.sum
                .cmp(&a.sum)
                .then(b.correct.cmp(&a.correct))
                .then(a.attempts.cmp(&b.attempts))
                .then_with(|| a.name.cmp(&b.name))
        });
        for (i, (s, _)) in rows.iter_mut().enumerate() {
            s.rank = i as u32 + 1;
        }
        rows
    }

    /// The live leaderboard (the best `top`), as one frame for everyone.
    pub fn scores_frame(&self, top: usize) -> Arc<Frame> {
        let board = self.board();
        Frame::new(QuizEvent::Scores {
            round: self.number,
            total: board.len(),
            players: board.into_iter().take(top).map(|(s, _)| s).collect(),
            remaining_secs: self.remaining_secs(Instant::now()),
        })
    }

    /// Queue `frame` for every connected player, under the round's lock; `fanout` writes it to
    /// their sockets once the caller has released the lock (declared before the guard).
    pub fn push_all(&self, frame: &Arc<Frame>, fanout: &mut Fanout) {
        for p in self.players.values() {
            if let Some(o) = &p.online {
                fanout.push(&o.outbox, frame);
            }
        }
    }

    /// End the round: stop every player's task, send everyone the final leaderboard (the best
    /// `top`, plus their own place to those below it) through `fanout`, and start afresh for the
    /// next round. The connections are closed by the caller, after the logs are written; it has
    /// emptied the deadline queue first, under this round's lock, so no `timeout` follows the
    /// `round_over`.
    pub fn finish(&mut self, top: usize, fanout: &mut Fanout) -> Finished {
        let board = self.board();
        let over = Frame::new(QuizEvent::RoundOver {
            round: self.number,
            total: board.len(),
            players: board.iter().take(top).map(|(s, _)| s.clone()).collect(),
            duration_secs: self.duration.as_secs(),
        });
        let mut outboxes = Vec::new();
        for (standing, _) in &board {
            let key = crate::names::key(&standing.name);
            let Some(online) = self.players.get_mut(&key).and_then(|p| p.online.take()) else { continue };
            online.stop.cancel();
            fanout.push(&online.outbox, &over);
            if standing.rank as usize > top {
                let placed =
                    QuizEvent::Placed { round: self.number, standing: standing.clone(), total: board.len() };
                fanout.push(&online.outbox, &Frame::new(placed));
            }
            outboxes.push(online.outbox);
        }
        self.clock = Clock::Waiting;
        self.players.clear();
        self.others.clear();
        Finished { number: self.number, board, outboxes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pauses_stay_within_bounds_and_reach_both_ends() {
        let mut round = Round::new(Duration::from_secs(600));
        round.seed = 9;
        let outbox = Outbox::new(8);
        let name: Arc<str> = "alice".into();
        assert!(matches!(
            round.join("alice", &name, "f".into(), 1, &outbox),
            Join::Joined { rejoined: false, .. }
        ));
        assert!(matches!(round.join("alice", &name, "f".into(), 2, &outbox), Join::Taken));
        let bounds = [Duration::from_millis(1500), Duration::from_millis(3000)];
        let p = round.players.get_mut("alice").unwrap();
        let pauses: Vec<Duration> = (0..5000).map(|_| p.pause(bounds)).collect();
        assert!(pauses.iter().all(|d| bounds[0] <= *d && *d <= bounds[1]));
        assert!(pauses.iter().any(|d| *d < Duration::from_millis(1520)));
        assert!(pauses.iter().any(|d| *d > Duration::from_millis(2980)));
        let zero = [Duration::ZERO; 2];
        assert_eq!(p.pause(zero), Duration::ZERO);
        // The same problem comes back until it is cleared.
        let first = p.next_problem();
        let again = p.next_problem();
        assert_eq!((first.id, first.problem, again.asks), (again.id, again.problem, 2));
        p.stream.current = None;
        assert_ne!(p.next_problem().id, first.id);
        // Leaving keeps the record; a rejoin finds it.
        assert!(round.leave("alice", 2).is_none(), "only the connection that joined can leave");
        assert!(round.leave("alice", 1).is_some());
        assert!(matches!(
            round.join("alice", &name, "f".into(), 3, &outbox),
            Join::Joined { rejoined: true, .. }
        ));
    }
}

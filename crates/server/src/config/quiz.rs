//! `[quiz]`: the timed arithmetic quiz: its port, how rounds start and how long they last.

use serde::{Deserialize, Serialize};

use super::InvalidValue;
use super::section::section;

/// How a quiz round starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuizStart {
    /// The round clock starts with the service (and the next round right after the last).
    Auto,
    /// A round starts when an admin sends `/start` (or runs `sockhub quiz start`).
    Manual,
}

section! {
    /// `[quiz]`: the timed arithmetic quiz. Env: `SOCKHUB_QUIZ_<KEY>`.
    #[section(quiz, about = "The timed arithmetic quiz.")]
    pub struct QuizConfig {
        /// Run the quiz service; a config file without a [quiz] section leaves it off.
        pub enabled: bool = true,
        /// TCP port for the quiz (0 = any free port).
        pub port: u16 = 7002,
        /// TLS port for the quiz (e.g. 7102) with the [tls] certificate (0 = any free port); unset = no
        /// TLS port.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub tls_port: Option<u16> = None,
        /// Seed of the problem generator, for reproducible rounds; unset = a random seed per round
        /// (logged).
        pub seed: Option<u64> = None,
        /// Length of a round.
        pub duration_secs: u64 = 600,
        /// Time to answer a problem, by the server's clock.
        pub answer_secs: f64 = 5.0,
        /// Judge unanswered problems at their deadline from threads of their own (one per core on
        /// up to two cores, each pinned to its core), woken by the operating system's timer;
        /// false = from a task on the runtime only.
        pub deadline_thread: bool = true,
        /// Random pause before each problem, [shortest, longest] in seconds.
        pub pause_secs: [f64; 2] = [0.0, 5.0],
        /// "auto": the round clock starts with the service; "manual": an admin's /start starts each
        /// round.
        pub start: QuizStart = QuizStart::Auto,
        /// Stop the whole server (exit status 0) after the first round; otherwise wait for the next.
        pub exit_after_round: bool = false,
        /// Push the live leaderboard to every player this often (0 = never).
        pub scores_every_secs: u64 = 60,
        /// Players listed in pushed leaderboards and the final one (each player also learns their own
        /// place).
        pub leaderboard_size: usize = 20,
        /// Lines that may wait for the per-player log files; beyond it lines are counted and reported,
        /// not queued.
        pub player_log_queue: usize = 100_000,
    }
}

impl QuizConfig {
    /// The value of a missing `[quiz]` section in a config file.
    pub fn off() -> Self {
        QuizConfig { enabled: false, ..Self::default() }
    }

    pub(super) fn validate(&self) -> Result<(), InvalidValue> {
        let [lo, hi] = self.pause_secs;
        if !(self.answer_secs.is_finite() && self.answer_secs > 0.0) {
            return Err("quiz.answer_secs must be positive".into());
        }
        if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi) {
            return Err("quiz.pause_secs must be [shortest, longest] with 0 <= shortest <= longest".into());
        }
        if self.duration_secs == 0 || self.leaderboard_size == 0 || self.player_log_queue == 0 {
            return Err("quiz.duration_secs, leaderboard_size and player_log_queue must be at least 1".into());
        }
        Ok(())
    }
}

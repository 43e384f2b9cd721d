//! The timed arithmetic quiz: rounds, a problem stream per player, scoring, logs.
//!
//! - `sockhub_proto::problem`: the problems, the floating-point answer the original projects used,
//!   and the exact-arithmetic check that keeps unfair problems out (shared with the bot client).
//! - [`round`]: the shared state (one struct, one lock) and its broadcast points.
//! - [`player`]: the task that runs one player's `pause → question → deadline` stream.
//! - [`deadlines`]: the one scheduler per node that judges every unanswered question at its
//!   deadline.
//! - [`session`]: one connection: name (and password), then answers and commands.
//! - [`login`]: who may play under a name, and who is an admin.
//! - [`logs`]: one log file per player without one open file per player.
//!
//! [`QuizService::run`] is the round clock: it starts a round (at once with `start = "auto"`, on an
//! admin's `/start` with `"manual"`), pushes the leaderboard every `scores_every_secs`, and at the
//! end sends everyone the final leaderboard, logs and stores it, closes every player's connection
//! with a `bye`, and then either waits for the next round or (with `exit_after_round`) stops the
//! whole server. All of its timing is `tokio::time` (the deadline threads read the runtime's clock
//! too), so a paused clock drives a whole round.
//!
//! In a cluster the nodes play one round: a node starting a round first looks in the shared
//! database for one that is running and joins it (same number, seed and end), under a short
//! cluster-wide lock so that two nodes starting at once make one round; each node publishes its
//! players' standings as they change and merges the others' into every leaderboard it shows; the
//! first node to finish the round stores its final leaderboard.

pub mod deadlines;
pub mod login;
pub mod logs;
pub mod player;
pub mod round;
pub mod session;
#[cfg(test)]
mod tests;

use sockhub_i18n::{Msg, msg, t};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::notice::Notice;
use sockhub_proto::quiz::Standing;
use sockhub_proto::time::Timestamp;
use sockhub_store::{Journal, QuizResult, Store};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::auth::Authenticator;
use crate::bus::{Listener, Message, NodeRef, QuizMsg, SharedBus};
use crate::config::{QuizConfig, QuizStart};
use crate::metrics::ServiceMetrics;
use crate::net::fanout::Fanout;
use crate::net::outbox::{Frame, Outbox};
use crate::session::{Peer, Service};

pub use session::QuizSession;

/// The server's clock for what players are shown: wall-clock time that advances with
/// `tokio::time` (so a paused test clock moves it too), anchored when the service starts.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    wall: Timestamp,
    at: Instant,
}

impl WallClock {
    pub fn new() -> WallClock {
        WallClock { wall: sockhub_proto::time::now(), at: Instant::now() }
    }

    /// The wall-clock time of `t`.
    pub fn wall(&self, t: Instant) -> Timestamp {
        let since = t.saturating_duration_since(self.at);
        self.wall + chrono::Duration::from_std(since).unwrap_or_default()
    }

    pub fn now(&self) -> Timestamp {
        self.wall(Instant::now())
    }
}

impl Default for WallClock {
    fn default() -> Self {
        WallClock::new()
    }
}

/// The quiz service's shared state.
pub struct QuizService {
    pub(crate) config: QuizConfig,
    pub(crate) round: Mutex<round::Round>,
    /// The open questions by deadline, under a lock of their own ([`deadlines`]): taken with
    /// the round's lock held or alone, never the other way round.
    pub(crate) deadlines: Mutex<deadlines::Deadlines>,
    /// True while a round runs; player tasks wait on it before their first problem.
    pub(crate) running: watch::Sender<bool>,
    /// `/start` in manual mode.
    start: Notify,
    /// Set by `/start` until the round it asked for is running, so two starts make one round.
    start_requested: Mutex<bool>,
    /// A deadline earlier than any queued before was queued: the scheduler must look again.
    pub(crate) deadlines_changed: Notify,
    /// The deadline scheduler's threads, once started ([`deadlines::spawn_threads`]).
    deadline_threads: std::sync::OnceLock<Vec<std::thread::Thread>>,
    pub(crate) logs: logs::PlayerLogs,
    pub(crate) store: Store,
    pub(crate) journal: Journal,
    pub(crate) auth: Arc<Authenticator>,
    pub(crate) clock: WallClock,
    pub(crate) answer: Duration,
    pub(crate) pause: [Duration; 2],
    metrics: Arc<ServiceMetrics>,
    /// The whole server's shutdown token (cancelled by `exit_after_round`).
    shutdown: CancellationToken,
    /// The other nodes (a no-op on a single node).
    pub(crate) bus: SharedBus,
}

impl QuizService {
    /// Create the service; player logs go under `log_dir` and rotate as `rotation` says.
    #[allow(clippy::too_many_arguments)]
    fn new(
        config: &QuizConfig,
        auth: Arc<Authenticator>,
        log_dir: PathBuf,
        rotation: crate::logging::rotation::RotationPolicy,
        store: Store,
        journal: Journal,
        shutdown: CancellationToken,
        bus: SharedBus,
    ) -> std::io::Result<QuizService> {
        let secs = |s: f64| Duration::from_millis((s * 1000.0).round() as u64);
        Ok(QuizService {
            config: config.clone(),
            round: Mutex::new(round::Round::new(Duration::from_secs(config.duration_secs))),
            deadlines: Mutex::default(),
            running: watch::channel(false).0,
            start: Notify::new(),
            start_requested: Mutex::new(false),
            deadlines_changed: Notify::new(),
            deadline_threads: std::sync::OnceLock::new(),
            logs: logs::PlayerLogs::start(log_dir, config.player_log_queue, rotation)?,
            store,
            journal,
            auth,
            clock: WallClock::new(),
            answer: secs(config.answer_secs),
            pause: config.pause_secs.map(secs),
            metrics: Arc::default(),
            shutdown,
            bus,
        })
    }

    /// Receive the other nodes' standings and round starts.
    fn attach(self: &Arc<Self>) {
        let listener: Arc<dyn Listener> = Arc::clone(self) as _;
        self.bus.attach(Arc::downgrade(&listener));
    }

    /// The folder of the per-player log files.
    pub fn player_log_dir(&self) -> &std::path::Path {
        self.logs.dir()
    }

    /// The players connected now, sorted by name.
    pub fn online_names(&self) -> Vec<String> {
        let round = self.round.lock();
        let mut names: Vec<String> =
            round.players.values().filter(|p| p.online.is_some()).map(|p| p.name.to_string()).collect();
        names.sort_unstable_by_key(|n| n.to_lowercase());
        names
    }

    /// Whether rounds wait for an admin's start.
    pub fn starts_manually(&self) -> bool {
        self.config.start == QuizStart::Manual
    }

    /// Ask for a round to start (manual mode). Admin rights are checked by the caller.
    pub fn request_start(&self) -> Result<Msg, ErrorEvent> {
        let round = self.round.lock();
        if round.is_running() {
            return Err(ErrorEvent::new(
                ErrorCode::RoundRunning,
                msg!("quiz-round-already-running", round = round.number),
            ));
        }
        if self.config.start == QuizStart::Auto {
            return Ok(msg!("quiz-starting-automatically"));
        }
        let mut requested = self.start_requested.lock();
        if !*requested {
            *requested = true;
            self.start.notify_one();
        }
        Ok(msg!("quiz-round-starting"))
    }

    /// The leaderboard for one player's `/scores`: the best `leaderboard_size`, plus their own
    /// line if they are below it.
    pub fn scores_for(&self, key: Option<&str>) -> sockhub_proto::quiz::QuizEvent {
        let round = self.round.lock();
        let board = round.board();
        let top = self.config.leaderboard_size;
        let mut players: Vec<Standing> = board.iter().take(top).map(|(s, _)| s.clone()).collect();
        if let Some(key) = key
            && let Some((mine, _)) = board.iter().skip(top).find(|(s, _)| crate::names::key(&s.name) == key)
        {
            players.push(mine.clone());
        }
        sockhub_proto::quiz::QuizEvent::Scores {
            round: round.number,
            total: board.len(),
            players,
            remaining_secs: round.remaining_secs(Instant::now()),
        }
    }

    /// The round clock; runs until the server shuts down (or after one round with
    /// `exit_after_round`).
    pub async fn run(self: Arc<Self>) {
        if self.config.deadline_thread {
            let _ = self.deadline_threads.set(deadlines::spawn_threads(&self));
        }
        let deadlines = tokio::spawn(Arc::clone(&self).keep_deadlines());
        let duration = Duration::from_secs(self.config.duration_secs);
        let every = Duration::from_secs(self.config.scores_every_secs);
        loop {
            if self.config.start == QuizStart::Manual {
                info!("quiz waiting for an admin's /start");
                tokio::select! {
                    () = self.shutdown.cancelled() => break,
                    () = self.start.notified() => {}
                }
            }
            let Some(ends) = self.start_round(duration).await else { break };
            let mut ticker =
                (!every.is_zero()).then(|| tokio::time::interval_at(Instant::now() + every, every));
            let finished = loop {
                tokio::select! {
                    () = self.shutdown.cancelled() => break false,
                    () = tokio::time::sleep_until(ends) => break true,
                    _ = async { ticker.as_mut().unwrap().tick().await }, if ticker.is_some() => {
                        // Written to the sockets after the lock (dropped first) is released.
                        let mut fanout = Fanout::new();
                        let round = self.round.lock();
                        round.push_all(&round.scores_frame(self.config.leaderboard_size), &mut fanout);
                    }
                }
            };
            if !finished {
                info!("quiz round interrupted by shutdown");
                break;
            }
            self.end_round().await;
            if self.config.exit_after_round {
                info!("quiz round over and exit_after_round is set: stopping the server");
                self.shutdown.cancel();
                break;
            }
        }
        // Every way out of the loop above is the server's shutdown, which ends the scheduler too.
        self.wake_deadlines();
        let _ = deadlines.await;
        self.logs.flush().await;
    }

    /// Record a new round in the database: its number.
    async fn create_round(&self, seed: u64, duration: Duration, started_at: Timestamp) -> u64 {
        match self.store.quiz().create_round(seed, duration.as_secs(), started_at).await {
            Ok(id) => id as u64,
            Err(e) => {
                let next = self.round.lock().number + 1;
                error!(round = next, error = %e, "cannot record the start of a quiz round (it runs, unrecorded)");
                next
            }
        }
    }

    /// In a cluster: the round running on the other nodes, or a new one. Under a cluster-wide
    /// lock (a claim in the shared database), so that nodes starting together make one round.
    /// Returns `(number, seed, started_at)`.
    async fn cluster_round(&self, duration: Duration) -> (u64, u64, Timestamp) {
        const LOCK: &str = "\u{1}round";
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.bus.claim("quiz-round", LOCK, 0).await {
                Err(crate::bus::ClaimError::Taken) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                Err(e) => {
                    warn!(error = %e, "quiz: cannot coordinate the round with the other nodes; starting one here")
                }
                Ok(()) => {}
            }
            let running = self.store.quiz().running_round(self.clock.now()).await;
            let round = match running {
                Ok(Some(r)) => {
                    info!(round = r.id, "quiz: joining a round started by another node");
                    (r.id as u64, r.seed.parse().unwrap_or_default(), r.started_at)
                }
                Ok(None) | Err(_) => {
                    let seed = self.config.seed.unwrap_or_else(rand::random);
                    let started_at = self.clock.now();
                    (self.create_round(seed, duration, started_at).await, seed, started_at)
                }
            };
            self.bus.release("quiz-round", LOCK, 0).await;
            return round;
        }
    }

    /// Start a round; returns when it ends. `None` if the server is shutting down.
    async fn start_round(&self, duration: Duration) -> Option<Instant> {
        let (number, seed, started_at) = if self.bus.is_shared() {
            self.cluster_round(duration).await
        } else {
            let seed = self.config.seed.unwrap_or_else(rand::random);
            let started_at = self.clock.now();
            (self.create_round(seed, duration, started_at).await, seed, started_at)
        };
        if self.shutdown.is_cancelled() {
            return None;
        }
        // Nodes waiting for an admin's `/start` join on hearing it: it waits for a place on the
        // way out, then goes anyway (see `crate::bus::place_or_publish`).
        if let Some(slot) = crate::bus::place_or_publish(self.bus.as_ref()).await {
            slot.send(Message::Quiz(QuizMsg::Started { round: number }));
        }
        let ends_at = started_at + chrono::Duration::from_std(duration).unwrap_or_default();
        let remaining = (ends_at - self.clock.now()).to_std().unwrap_or_default();
        // Declared before the guard: everyone's `round_started` is written once it is released.
        let mut fanout = Fanout::new();
        let mut round = self.round.lock();
        // No deadline of the last round is judged in this one.
        self.deadlines.lock().clear();
        round.start(number, seed, ends_at, remaining, &mut fanout);
        *self.start_requested.lock() = false;
        let ends = match round.clock {
            round::Clock::Running { ends, .. } => ends,
            round::Clock::Waiting => Instant::now() + duration,
        };
        let playing: Vec<Arc<str>> = round.players.values().map(|p| Arc::clone(&p.log_file)).collect();
        drop(round);
        drop(fanout);
        self.running.send_replace(true);
        let message = format!("round {number} started: {} s, seed {seed}", duration.as_secs());
        info!("{message}");
        for file in &playing {
            self.logs.write(file, started_at, "INFO", &message);
        }
        Some(ends)
    }

    /// The end of a round: final leaderboard to everyone, logged and stored, connections closed.
    async fn end_round(&self) {
        // Declared before the guard: `round_over` (and `placed`) are written once it is released.
        let mut fanout = Fanout::new();
        let finished = {
            let mut round = self.round.lock();
            // Emptied before `round_over` is queued: no `timeout` can follow it.
            self.deadlines.lock().clear();
            round.finish(self.config.leaderboard_size, &mut fanout)
        };
        drop(fanout);
        self.running.send_replace(false);
        self.metrics.users.set(0);
        let ended_at = self.clock.now();
        let n = finished.number;
        info!("round {n} over: {} players; final leaderboard:", finished.board.len());
        for (s, file) in &finished.board {
            let line = format!(
                "{}. {} — sum {}, {} correct of {} attempts",
                s.rank, s.name, s.sum, s.correct, s.attempts
            );
            info!("round {n}: {line}");
            if file.is_empty() {
                continue; // a player on another node: that node writes their log
            }
            self.logs.write(
                file,
                ended_at,
                "INFO",
                &format!("round {n} over: {} placed {} of {} — {line}", s.name, s.rank, finished.board.len()),
            );
        }
        // The logs are complete before anyone sees their connection close.
        self.logs.flush().await;
        let bye = Frame::new(Notice::Bye { reason: msg!("quiz-round-over-bye", round = n) });
        for outbox in &finished.outboxes {
            outbox.close_with(Some(Arc::clone(&bye)));
        }
        let results: Vec<QuizResult> = finished
            .board
            .iter()
            .map(|(s, _)| QuizResult {
                place: i64::from(s.rank),
                player: s.name.clone(),
                sum: s.sum,
                correct: i64::from(s.correct),
                attempts: i64::from(s.attempts),
            })
            .collect();
        match self.store.quiz().finish_round(n as i64, sockhub_store::truncate_ms(ended_at), &results).await {
            Ok(true) => {}
            Ok(false) => info!(round = n, "quiz: the round's result was stored by another node"),
            Err(e) => error!(round = n, error = %e, "cannot store the result of a quiz round"),
        }
    }

    /// A session's outbox for the service's greeting and welcome.
    pub(crate) fn greeting_line(&self) -> String {
        let round = self.round.lock();
        let greeting = match round.remaining_secs(Instant::now()) {
            Some(left) => t!(
                "quiz-greeting-running",
                round = round.number,
                left = sockhub_proto::quiz::duration_text(left * 1000),
                online = round.online()
            ),
            None => t!("quiz-greeting-waiting", online = round.online()),
        };
        format!("{greeting}\n{}\n", t!("chat-prompt-name"))
    }

    pub(crate) fn set_users(&self, online: usize) {
        self.metrics.users.set(online as i64);
    }
}

impl Service for QuizService {
    type Session = QuizSession;

    fn name(&self) -> &'static str {
        "quiz"
    }

    fn greeting(&self) -> String {
        self.greeting_line()
    }

    fn open(self: &Arc<Self>, peer: Peer, outbox: Outbox) -> QuizSession {
        QuizSession::new(Arc::clone(self), peer, outbox)
    }

    fn metrics(&self) -> &Arc<ServiceMetrics> {
        &self.metrics
    }
}

/// The quiz's part in a cluster: the other nodes' standings, and their round starts.
impl Listener for QuizService {
    fn service(&self) -> &'static str {
        "quiz"
    }

    fn on_message(&self, from: &NodeRef, msg: Message) {
        let Message::Quiz(msg) = msg else { return };
        match msg {
            QuizMsg::Standings { round, players } => {
                self.round.lock().others.insert(from.clone(), (round, players));
            }
            QuizMsg::Standing { round, standing } => {
                let mut r = self.round.lock();
                let entry = r.others.entry(from.clone()).or_insert_with(|| (round, Vec::new()));
                if entry.0 != round {
                    *entry = (round, Vec::new());
                }
                match entry.1.iter_mut().find(|s| s.name == standing.name) {
                    Some(s) => *s = standing,
                    None => entry.1.push(standing),
                }
            }
            QuizMsg::Started { round } => {
                // A node waiting for an admin's /start joins the round another node started.
                if self.config.start == QuizStart::Manual && !self.round.lock().is_running() {
                    info!(round, node = %from.id, "quiz: a round started on another node; joining it");
                    let mut requested = self.start_requested.lock();
                    if !*requested {
                        *requested = true;
                        self.start.notify_one();
                    }
                }
            }
        }
    }

    fn on_node_down(&self, node: &NodeRef) {
        // Their players' results stay on the board until the round ends: they played.
        let _ = node;
    }

    fn announce(&self) {
        let (round, players) = {
            let r = self.round.lock();
            (r.number, r.local_standings())
        };
        self.bus.publish(Message::Quiz(QuizMsg::Standings { round, players }));
    }

    fn held_names(&self) -> Vec<(String, u64)> {
        let r = self.round.lock();
        r.players.values().filter_map(|p| p.online.as_ref().map(|o| (p.name.to_string(), o.conn))).collect()
    }

    fn name_lost(&self, name: &str, conn: u64) {
        let r = self.round.lock();
        if let Some(online) =
            r.players.get(&crate::names::key(name)).and_then(|p| p.online.as_ref()).filter(|o| o.conn == conn)
        {
            let reason = msg!("error-name-taken-elsewhere");
            online.outbox.close_with(Some(Frame::new(Notice::Bye { reason })));
        }
    }
}

impl crate::service::Start for QuizService {
    fn ports(config: &crate::config::Config) -> Option<(u16, Option<u16>)> {
        config.quiz.enabled.then_some((config.quiz.port, config.quiz.tls_port))
    }

    /// Create the service (player logs under `<data_dir>/logs/quiz`), attach it to the bus, and
    /// hand it to the chat (an admin's `/start` there). Its rounds start with the listeners.
    async fn start(
        config: &crate::config::Config,
        hub: &crate::app::Hub,
    ) -> Result<Arc<Self>, crate::app::StartError> {
        let dir = config.server.data_dir.join("logs").join("quiz");
        let quiz = QuizService::new(
            &config.quiz,
            Arc::clone(&hub.auth),
            dir.clone(),
            crate::logging::rotation::RotationPolicy::from(&config.logging),
            hub.store.clone(),
            hub.journal.clone(),
            hub.net.shutdown.clone(),
            Arc::clone(&hub.bus),
        )
        .map_err(|source| crate::app::StartError::Files { path: dir.display().to_string(), source })?;
        let quiz = Arc::new(quiz);
        quiz.attach();
        if let Some(chat) = &hub.chat {
            let _ = chat.quiz.set(Arc::clone(&quiz));
        }
        Ok(quiz)
    }
}

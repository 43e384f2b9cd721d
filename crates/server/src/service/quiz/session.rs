//! One quiz connection: a name (and, for an account's name, its password), then answers.
//!
//! The session itself judges nothing: it stamps each answer with the instant its line was read and
//! hands it to the player's task ([`super::player`]), which owns the timing. Leaving stops the
//! task but keeps the player's record, so rejoining the same round under the same name keeps the
//! sum (and brings back the problem that was open).

use sockhub_i18n::msg;
use std::sync::Arc;

use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::quiz::{self, Phase, PromptField, QuizEvent, QuizRequest};
use sockhub_proto::secret::Secret;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info};

use super::QuizService;
use super::login;
use super::player::{self, Answer};
use super::round::Join;
use crate::auth::LoginError;
use crate::bus::ClaimError;
use crate::names;
use crate::net::fanout::Fanout;
use crate::net::outbox::{Frame, Outbox};
use crate::session::{Ending, Flow, Peer, Session};

/// Answers that may wait for the player's task (it judges each in microseconds; flood control
/// limits how fast they come).
const ANSWER_QUEUE: usize = 16;

/// A logged-in player.
struct Me {
    name: Arc<str>,
    /// The player's key in the round: the name's look-alike skeleton ([`crate::names::key`]).
    key: String,
    /// The player's log file.
    file: Arc<str>,
    admin: bool,
    answers: mpsc::Sender<Answer>,
    stop: CancellationToken,
}

/// A quiz session.
pub struct QuizSession {
    quiz: Arc<QuizService>,
    peer: Peer,
    outbox: Outbox,
    phase: Phase,
    me: Option<Me>,
}

impl QuizSession {
    pub(crate) fn new(quiz: Arc<QuizService>, peer: Peer, outbox: Outbox) -> Self {
        QuizSession { quiz, peer, outbox, phase: Phase::Name, me: None }
    }

    fn error(&self, e: ErrorEvent) -> Flow {
        self.outbox.send(QuizEvent::Error(e));
        Flow::Continue
    }

    /// Refuse a name and ask again.
    fn retry_name(&mut self, e: ErrorEvent) -> Flow {
        self.phase = Phase::Name;
        self.outbox.send(QuizEvent::Error(e));
        self.outbox.send(QuizEvent::Prompt { field: PromptField::Name });
        Flow::Continue
    }

    async fn login(&mut self, name: String, password: Option<Secret>) -> Flow {
        if self.me.is_some() {
            return self.error(ErrorEvent::new(ErrorCode::AlreadyLoggedIn, msg!("quiz-already-playing")));
        }
        if let Err(e) = names::validate(&name) {
            return self.retry_name(e);
        }
        let identity = match login::check(&self.quiz, self.peer.addr, &name, password.as_ref()).await {
            Ok(identity) => identity,
            Err(LoginError::PasswordRequired) => {
                self.outbox.send(QuizEvent::error(
                    ErrorCode::PasswordRequired,
                    msg!("quiz-account-needs-password", name = &name),
                ));
                self.outbox.send(QuizEvent::Prompt { field: PromptField::Password { name: name.clone() } });
                self.phase = Phase::Password { name };
                return Flow::Continue;
            }
            Err(e) => return self.retry_name(e.to_event()),
        };
        let admin = identity.is_admin();
        // An account plays under its name as stored; a guest under the name as typed.
        let name = identity.name;
        let key = names::key(&name);
        let name: Arc<str> = name.into();
        let file: Arc<str> = super::logs::file_name(&sockhub_store::name_key(&name)).into();
        let taken = || ErrorEvent::new(ErrorCode::NameTaken, msg!("quiz-name-taken", name = &*name));
        // Cluster-wide first (answered at once on a single node), then in this node's round.
        match self.quiz.bus.claim("quiz", &name, self.peer.id).await {
            Ok(()) => {}
            Err(ClaimError::Taken) => return self.retry_name(taken()),
            Err(ClaimError::Unavailable(e)) => {
                tracing::warn!(error = %e, "cannot claim a quiz name in the shared database");
                return self
                    .retry_name(ErrorEvent::new(ErrorCode::Unavailable, msg!("error-names-unavailable")));
            }
        }
        let joined = self.quiz.round.lock().join(&key, &name, Arc::clone(&file), self.peer.id, &self.outbox);
        let Join::Joined { rejoined, stop, timeouts } = joined else {
            self.quiz.bus.release("quiz", &name, self.peer.id).await;
            return self.retry_name(taken());
        };
        // Declared before the guard: the welcome is queued in order under the lock and written to
        // the socket once it is released (see `player::judge`).
        let mut fanout = Fanout::new();
        let round = self.quiz.round.lock();
        // The round may have ended in the instant between the two locks.
        let Some(player) = round.players.get(&key) else {
            drop(round);
            return self.retry_name(ErrorEvent::new(ErrorCode::NoQuestion, msg!("quiz-round-just-ended")));
        };
        let welcome = Frame::new(QuizEvent::Welcome {
            name: name.to_string(),
            round: round.number,
            state: round.state(),
            remaining_secs: round.remaining_secs(Instant::now()),
            answer_ms: self.quiz.answer.as_millis() as u64,
            sum: player.sum,
            correct: player.correct,
            attempts: player.attempts,
            rejoined,
        });
        fanout.push(&self.outbox, &welcome);
        let (sum, online, number) = (player.sum, round.online(), round.number);
        drop(round);
        drop(fanout);
        self.quiz.set_users(online);

        let (answers, inbox) = mpsc::channel(ANSWER_QUEUE);
        let task = player::play(Arc::clone(&self.quiz), key.clone(), stop.clone(), timeouts, inbox);
        tokio::spawn(task.instrument(tracing::Span::current()));
        tracing::Span::current().record("user", tracing::field::display(&name));
        let message = if rejoined {
            format!(
                "{name} rejoined round {number} with sum {sum} from {} ({online} playing)",
                self.peer.addr
            )
        } else {
            format!("{name} joined from {} ({online} playing)", self.peer.addr)
        };
        info!("{message}");
        self.quiz.logs.write(&file, self.quiz.clock.now(), "INFO", &message);
        self.phase = Phase::Playing;
        self.me = Some(Me { name, key, file, admin, answers, stop });
        Flow::Continue
    }

    fn answer(&self, id: Option<u64>, value: String) -> Flow {
        // Stamped before anything else: lateness is judged from the moment the line was read.
        let read = Instant::now();
        let Some(me) = &self.me else {
            return self.error(ErrorEvent::new(ErrorCode::NotLoggedIn, msg!("chat-log-in-first")));
        };
        let permit = match me.answers.try_reserve() {
            Ok(permit) => permit,
            Err(mpsc::error::TrySendError::Full(())) => {
                return self.error(ErrorEvent::new(ErrorCode::RateLimited, msg!("quiz-answers-too-fast")));
            }
            // The player's task has ended: the round is over and the connection is closing.
            Err(mpsc::error::TrySendError::Closed(())) => {
                return self.error(ErrorEvent::new(ErrorCode::NoQuestion, msg!("quiz-round-is-over")));
            }
        };
        // The open question leaves the deadline queue; if the scheduler timed it out first, the
        // answer is stamped after that timeout.
        let at = self.quiz.take_answer(&me.key, self.peer.id, id, read);
        permit.send(Answer { id, value, at });
        Flow::Continue
    }

    async fn start(&self, name: Option<String>, password: Option<Secret>) -> Flow {
        let allowed = match (&self.me, name) {
            // Logged in as an admin, and still one (the role may have changed since).
            (Some(me), _) if me.admin => self.quiz.auth.confirm_admin(&me.name).await,
            (_, Some(name)) => login::check_admin(&self.quiz, self.peer.addr, &name, password.as_ref()).await,
            _ => Err(ErrorEvent::new(ErrorCode::Forbidden, msg!("quiz-admin-only-start"))),
        };
        let started = allowed.and_then(|()| self.quiz.request_start());
        match started {
            Ok(text) => {
                info!(said = %text, "round start requested");
                self.outbox.send(QuizEvent::Info { text });
                Flow::Continue
            }
            Err(e) => self.error(e),
        }
    }
}

impl Session for QuizSession {
    type Request = QuizRequest;

    fn parse_text(&self, line: &str) -> Result<Option<QuizRequest>, ErrorEvent> {
        quiz::parse_text(line, &self.phase)
    }

    async fn handle(&mut self, request: QuizRequest) -> Flow {
        match request {
            QuizRequest::Answer { id, value } => self.answer(id, value),
            QuizRequest::Login { name, password } => self.login(name, password).await,
            QuizRequest::Scores => {
                let key = self.me.as_ref().map(|m| m.key.as_str());
                self.outbox.send(self.quiz.scores_for(key));
                Flow::Continue
            }
            QuizRequest::Start { name, password } => self.start(name, password).await,
            QuizRequest::Help => {
                self.outbox.send(QuizEvent::Help { commands: quiz::help() });
                Flow::Continue
            }
            QuizRequest::Quit => Flow::Close(msg!("ending-goodbye")),
        }
    }

    async fn close(self, ending: &Ending) {
        let Some(me) = &self.me else { return };
        me.stop.cancel();
        let (left, online) = {
            let mut round = self.quiz.round.lock();
            let left = round.leave(&me.key, self.peer.id);
            if left.is_some() {
                self.quiz.deadlines.lock().forget(&me.key);
            }
            (left, round.online())
        };
        if left.is_some() {
            self.quiz.set_users(online);
            let message = format!("{} left: {ending} ({online} playing)", me.name);
            info!("{message}");
            self.quiz.logs.write(&me.file, self.quiz.clock.now(), "INFO", &message);
            if !matches!(ending, Ending::Shutdown) {
                self.quiz.bus.release("quiz", &me.name, self.peer.id).await;
            }
            self.quiz.auth.logout(self.peer.addr, "quiz", &me.name).await;
        }
    }

    fn user(&self) -> Option<&str> {
        self.me.as_ref().map(|m| &*m.name)
    }

    fn is_admin(&self) -> bool {
        self.me.as_ref().is_some_and(|m| m.admin)
    }
}

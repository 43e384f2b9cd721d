//! One calculator connection: log in with a student ID, then square numbers.
//!
//! With `[calc] auth = "accounts"` the login also needs the password of the sockhub account that
//! carries the student ID (its `student_id`, set by `sockhub user add NAME --student-id ID` or
//! the web page; if no account carries it, the account *named* as the ID), checked by the shared
//! [`crate::auth::Authenticator`] (so it is throttled and logged like every login). Two accounts
//! carrying one ID is a mistake: neither is used, and the log says so. A text-mode user types the ID, is asked for the password and
//! types it; a JSON client sends both in one `login` and gets `password_required` without one.
//! The roster rule applies as well (an account alone does not put a student on the roster).
//!
//! A square is acknowledged only after it is durable: the session computes it, hands it to the
//! group commit and waits; only then is it broadcast (to everyone, the author included — the
//! broadcast *is* the acknowledgement). While it waits, the session reads no further lines, so
//! one connection has at most one result in flight and its results are stored and shown in the
//! order it sent them.

use sockhub_i18n::{Msg, msg};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sockhub_proto::ErrorCode;
use sockhub_proto::calc::{
    self, CalcEvent, CalcRequest, Phase, SquareResult, StudentInfo, validate_student_id,
};
use sockhub_proto::error::ErrorEvent;
use sockhub_store::{CalcResultRow, LoginOutcome, LoginRecord, NewCalcResult, StoreError};
use tracing::{debug, info, warn};

use super::{CalcService, number};
use sockhub_proto::secret::Secret;

use crate::auth::LoginError;
use crate::config::{Admission, CalcAuth, RosterMode};
use crate::net::outbox::Outbox;
use crate::session::{Ending, Flow, Peer, Service as _, Session};

/// A calculator session.
pub struct CalcSession {
    service: Arc<CalcService>,
    peer: Peer,
    outbox: Outbox,
    /// Set once logged in.
    me: Option<StudentInfo>,
    /// Text mode with `auth = "accounts"`: the student ID whose password the next line is.
    pending: Option<String>,
    /// Set when a line was parsed as text: a missing password is then asked for.
    text: AtomicBool,
    /// The account the login is checked against (with accounts, or the one carrying the ID),
    /// whose bans end this connection.
    account: Option<String>,
}

impl CalcSession {
    pub(crate) fn new(service: Arc<CalcService>, peer: Peer, outbox: Outbox) -> Self {
        CalcSession {
            service,
            peer,
            outbox,
            me: None,
            pending: None,
            text: AtomicBool::new(false),
            account: None,
        }
    }

    fn error(&self, code: ErrorCode, message: impl Into<Msg>) -> Flow {
        self.outbox.send(CalcEvent::error(code, message));
        Flow::Continue
    }

    /// Refuse a login and ask again (text mode shows the prompt; JSON clients get the error).
    fn retry_login(&self, e: ErrorEvent) -> Flow {
        self.outbox.send(CalcEvent::Error(e));
        self.outbox.send(CalcEvent::Prompt);
        Flow::Continue
    }

    fn unavailable(&self, what: &str, e: &StoreError) -> ErrorEvent {
        warn!(error = %e, what, "failed");
        ErrorEvent::new(ErrorCode::Unavailable, msg!("calc-database-down"))
    }

    fn log_login(&self, student_id: &str, outcome: LoginOutcome) {
        let record = LoginRecord::new(student_id, self.peer.addr.to_string(), "calc", outcome);
        if self.service.journal.try_send(record).is_err() {
            debug!(outcome = %outcome, student_id, "login log queue full; this login is not logged");
        }
    }

    /// `auth = "accounts"`: the password of the account named `student_id`. `Ok(false)`: the
    /// login is refused (the error and the prompt are sent).
    async fn check_password(&mut self, student_id: &str, password: Option<Secret>) -> bool {
        let Some(password) = password else {
            if self.text.load(Ordering::Relaxed) {
                // Text mode: ask for it; the next plain line is the password.
                self.pending = Some(student_id.to_owned());
                self.outbox.send(CalcEvent::PasswordPrompt { student_id: student_id.to_owned() });
            } else {
                self.retry_login(ErrorEvent::new(ErrorCode::PasswordRequired, msg!("calc-send-password")));
            }
            return false;
        };
        let carriers = match self.service.store.accounts().find_by_student_id(student_id).await {
            Ok(c) => c,
            Err(e) => {
                self.retry_login(self.unavailable("looking up your account", &e));
                return false;
            }
        };
        let name = match carriers.as_slice() {
            [one] => one.name.clone(),
            [] => student_id.to_owned(),
            [..] => {
                warn!(student_id, "calc: several accounts carry this student ID; the login is refused");
                self.log_login(student_id, LoginOutcome::Failure);
                self.retry_login(LoginError::BadCredentials.to_event());
                return false;
            }
        };
        let auth = &self.service.auth;
        match auth.login(self.peer.addr, "calc", &name, Some(&password), Admission::Accounts).await {
            Ok(identity) => {
                self.account = Some(identity.name);
                true
            }
            Err(e) => {
                self.retry_login(e.to_event());
                false
            }
        }
    }

    /// Without accounts no password is checked, but bans still apply: to the student ID as a
    /// name, to the account that carries the ID (if exactly one does), and to the address.
    async fn check_ban(&mut self, student_id: &str) -> Result<(), ErrorEvent> {
        let carriers = self
            .service
            .store
            .accounts()
            .find_by_student_id(student_id)
            .await
            .map_err(|e| self.unavailable("looking up your account", &e))?;
        if let [one] = carriers.as_slice() {
            self.account = Some(one.name.clone());
        }
        let auth = &self.service.auth;
        for name in [Some(student_id), self.account.as_deref()].into_iter().flatten() {
            auth.check_ban(self.peer.addr, "calc", name, false, student_id)
                .await
                .map_err(|e| e.to_event())?;
        }
        Ok(())
    }

    async fn login(&mut self, student_id: String, password: Option<Secret>) -> Flow {
        if self.me.is_some() {
            return self.error(ErrorCode::AlreadyLoggedIn, msg!("calc-already-logged-in"));
        }
        // The password line of a text-mode login carries no ID: it is the pending one.
        let pending = self.pending.take();
        let student_id = match (student_id.is_empty(), pending) {
            (true, Some(id)) => id,
            _ => student_id,
        };
        if let Err(e) = validate_student_id(&student_id) {
            return self.retry_login(e);
        }
        let accounts = self.service.config.auth == CalcAuth::Accounts;
        if accounts && !self.check_password(&student_id, password).await {
            return Flow::Continue;
        }
        if !accounts && let Err(e) = self.check_ban(&student_id).await {
            return self.retry_login(e);
        }
        let service = &self.service;
        let student = match service.store.calc().find_student(&student_id).await {
            Err(e) => return self.retry_login(self.unavailable("looking up the roster", &e)),
            Ok(Some(s)) => StudentInfo { student_id: s.student_id, name: s.name, department: s.department },
            Ok(None) if service.config.roster == RosterMode::Open => {
                StudentInfo { student_id: student_id.clone(), name: String::new(), department: String::new() }
            }
            Ok(None) => {
                self.log_login(&student_id, LoginOutcome::Failure);
                return self.retry_login(ErrorEvent::new(
                    ErrorCode::UnknownStudent,
                    msg!("calc-not-on-roster", id = &student_id),
                ));
            }
        };
        let history = match self.read_history(&student_id, service.config.history).await {
            Ok(h) => h,
            Err(e) => return self.retry_login(e),
        };
        // A place for the `Joined` on the way to the other nodes (see [`crate::bus::place`]).
        let slot = match crate::bus::place(service.board.bus().as_ref(), "a calculator login").await {
            Ok(slot) => slot,
            Err(e) => return self.retry_login(e),
        };
        let welcome = |online| CalcEvent::Welcome { student: student.clone(), history, online };
        let online = service.board.join(self.peer.id, student.clone(), self.outbox.clone(), welcome, slot);
        service.metrics().users.set(service.board.local() as i64);
        tracing::Span::current().record("user", tracing::field::display(&student_id));
        info!(student_id, name = %student.name, online, "logged in");
        if !accounts {
            // With accounts the authenticator logged the success already.
            self.log_login(&student_id, LoginOutcome::Success);
        }
        self.me = Some(student);
        Flow::Continue
    }

    async fn read_history(&self, student_id: &str, limit: u32) -> Result<Vec<SquareResult>, ErrorEvent> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        match self.service.store.calc().recent_results(student_id, limit).await {
            Ok(rows) => Ok(rows.into_iter().map(to_wire).collect()),
            Err(e) => Err(self.unavailable("reading your history", &e)),
        }
    }

    async fn square(&self, me: &StudentInfo, value: &str) -> Flow {
        let service = &self.service;
        let input = value.trim();
        let square = match number::square(input, service.config.max_digits) {
            Ok(s) => s,
            Err(e) => return self.error(e.code, e.message),
        };
        let result = NewCalcResult {
            student_id: me.student_id.clone(),
            name: me.name.clone(),
            input: input.to_owned(),
            square,
            at: sockhub_store::now(),
        };
        let at = result.at;
        // A place on the way to the other nodes, then durable; only a stored result is
        // acknowledged (by its broadcast).
        let slot = match crate::bus::place(service.board.bus().as_ref(), "a result").await {
            Ok(slot) => slot,
            Err(e) => return self.error(e.code, e.message),
        };
        if let Err(e) = service.committer.commit(result.clone()).await {
            return self.error(
                ErrorCode::Unavailable,
                msg!(
                    "calc-result-not-saved",
                    why = self.unavailable("storing your result", &e).message,
                    input = input
                ),
            );
        }
        debug!(student_id = %me.student_id, digits = input.len(), "squared");
        service.board.publish(
            SquareResult {
                student_id: result.student_id,
                name: result.name,
                input: result.input,
                square: result.square,
                at,
            },
            slot,
        );
        Flow::Continue
    }
}

/// A stored result as it goes on the wire.
fn to_wire(r: CalcResultRow) -> SquareResult {
    SquareResult { student_id: r.student_id, name: r.name, input: r.input, square: r.square, at: r.at }
}

impl Session for CalcSession {
    type Request = CalcRequest;

    fn parse_text(&self, line: &str) -> Result<Option<CalcRequest>, ErrorEvent> {
        self.text.store(true, Ordering::Relaxed);
        let phase = match (&self.me, &self.pending) {
            (Some(_), _) => Phase::Calculating,
            (None, Some(_)) => Phase::Password,
            (None, None) => Phase::StudentId,
        };
        calc::parse_text(line, phase)
    }

    async fn handle(&mut self, request: CalcRequest) -> Flow {
        let me = self.me.clone();
        match (request, me) {
            (CalcRequest::Quit, _) => Flow::Close(msg!("ending-goodbye")),
            (CalcRequest::Help, _) => {
                self.outbox.send(CalcEvent::Help { commands: calc::help() });
                Flow::Continue
            }
            (CalcRequest::Login { student_id, password }, _) => {
                self.login(student_id.trim().to_owned(), password).await
            }
            (_, None) => self.error(ErrorCode::NotLoggedIn, msg!("calc-log-in-first")),
            (CalcRequest::Square { value }, Some(me)) => self.square(&me, &value).await,
            (CalcRequest::History { limit }, Some(me)) => {
                let config = &self.service.config;
                let limit = limit.unwrap_or(config.history).min(config.history_max);
                match self.read_history(&me.student_id, limit).await {
                    Ok(results) => self.outbox.send(CalcEvent::History { results }),
                    Err(e) => self.outbox.send(CalcEvent::Error(e)),
                };
                Flow::Continue
            }
            (CalcRequest::Who, Some(_)) => {
                self.outbox.send(CalcEvent::Users { students: self.service.board.students() });
                Flow::Continue
            }
        }
    }

    async fn close(self, ending: &Ending) {
        let Some(me) = self.me.clone() else { return };
        // At shutdown the node says goodbye once instead.
        let slot = if matches!(ending, Ending::Shutdown) || self.service.closing.is_cancelled() {
            None
        } else {
            crate::bus::place_or_publish(self.service.board.bus().as_ref()).await
        };
        let local = self.service.board.leave(self.peer.id, slot);
        self.service.metrics().users.set(local as i64);
        let online = self.service.board.online();
        self.log_login(&me.student_id, LoginOutcome::Logout);
        if !matches!(ending, Ending::Shutdown) && !self.service.closing.is_cancelled() {
            info!(student_id = %me.student_id, name = %me.name, online, "left");
        }
    }

    fn user(&self) -> Option<&str> {
        self.me.as_ref().map(|s| s.student_id.as_str())
    }

    fn ban_name(&self) -> Option<&str> {
        self.me.as_ref()?;
        self.account.as_deref().or(self.user())
    }
}

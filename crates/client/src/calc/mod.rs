//! `sockhub calc`: the calculator client, and the calculator protocol for programs.
//!
//! - [`CalcConn`]: a logged-in JSON connection with `square` / `next_event` — what the terminal
//!   client, the tests and a load generator use to talk to the calculator.
//! - [`screen`]: the full-screen client (a terminal): the student's info and history, then
//!   every result as it arrives, the student's own distinct from everyone else's ([`view`]).
//! - [`lines`]: the line-by-line client (a pipe, a script): each input line is sent, each event
//!   printed as the server's text rendering.
//!
//! Both parse what the user types with the server's text grammar for `nc` users
//! (`sockhub_proto::calc::parse_text`) and send the request as JSON.

pub mod lines;
pub mod screen;
pub mod view;

use std::io::IsTerminal;

use sockhub_proto::calc::{CalcEvent, CalcRequest, SquareResult, StudentInfo};
use sockhub_proto::wire::{Mode, render};

use sockhub_proto::secret::Secret;
use sockhub_proto::{ErrorCode, ErrorEvent};

use crate::conn::{self, ClientError, JsonReader, JsonWriter};

pub use lines::run_lines;
pub use screen::run_screen;

/// What the calculator client needs to start.
#[derive(Debug, Clone)]
pub struct CalcOptions {
    pub addr: String,
    /// TLS settings when `addr` is a TLS port.
    pub tls: Option<conn::ClientTls>,
    pub student_id: String,
    /// The password of the account named as the student ID (servers with `[calc] auth =
    /// "accounts"`); asked for on a terminal when needed and not given.
    pub password: Option<Secret>,
}

impl CalcOptions {
    /// Where to connect.
    pub fn endpoint(&self) -> conn::Endpoint {
        conn::Endpoint { addr: self.addr.clone(), tls: self.tls.clone() }
    }
}

/// Run the calculator client: full screen on a terminal, line by line otherwise. Returns whether
/// the session ended normally.
pub async fn run(opts: CalcOptions) -> Result<bool, ClientError> {
    if crate::tui::is_interactive() { run_screen(opts).await } else { run_lines(opts).await }
}

/// Connect and send the login; returns the connection and the server's first answer (a
/// `welcome`, or the error that refused the login). When the server wants a password that was
/// not given and stdin is a terminal, it is asked for (without echo) and the login tried again.
pub async fn login(
    to: impl Into<conn::Endpoint>,
    student_id: &str,
    password: Option<Secret>,
) -> Result<(JsonReader, JsonWriter, CalcEvent), ClientError> {
    let (mut rx, mut tx) = conn::connect(to).await?;
    let mut password = password;
    loop {
        tx.send(&CalcRequest::Login { student_id: student_id.to_owned(), password: password.clone() })
            .await?;
        let first = rx
            .recv::<CalcEvent>()
            .await?
            .ok_or_else(|| std::io::Error::other("the server closed the connection"))?;
        let needs_password = matches!(&first, CalcEvent::Error(e) if e.code == ErrorCode::PasswordRequired);
        if needs_password && password.is_none() && std::io::stdin().is_terminal() {
            password = Some(conn::prompt_password(student_id).await?);
            continue;
        }
        return Ok((rx, tx, first));
    }
}

/// The text form of an event, as the user sees it (without the trailing newline).
pub fn show(event: &CalcEvent) -> String {
    render(event, Mode::Text).trim_end().to_owned()
}

/// A logged-in calculator connection, for programs.
pub struct CalcConn {
    pub rx: JsonReader,
    pub tx: JsonWriter,
    pub student: StudentInfo,
    /// The history the welcome carried (newest last).
    pub history: Vec<SquareResult>,
}

/// Why [`CalcConn::login`] did not get in.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("login refused: {}: {}", .0.code, .0.message)]
    Refused(ErrorEvent),
    #[error("unexpected answer to login: {0:?}")]
    Unexpected(Box<CalcEvent>),
}

impl CalcConn {
    /// Connect to `addr` and log in as `student_id`.
    pub async fn login(to: impl Into<conn::Endpoint>, student_id: &str) -> Result<CalcConn, LoginError> {
        Self::login_with(to, student_id, None).await
    }

    /// [`CalcConn::login`] with the password of the student's account.
    pub async fn login_with(
        to: impl Into<conn::Endpoint>,
        student_id: &str,
        password: Option<Secret>,
    ) -> Result<CalcConn, LoginError> {
        let (rx, tx, first) = login(to, student_id, password).await?;
        match first {
            CalcEvent::Welcome { student, history, .. } => Ok(CalcConn { rx, tx, student, history }),
            CalcEvent::Error(e) => Err(LoginError::Refused(e)),
            other => Err(LoginError::Unexpected(Box::new(other))),
        }
    }

    /// Send a number to square (does not wait for the answer).
    pub async fn send_square(&mut self, value: &str) -> Result<(), ClientError> {
        self.tx.send(&CalcRequest::Square { value: value.to_owned() }).await
    }

    /// The next event, or `None` when the server closed the connection.
    pub async fn next_event(&mut self) -> Result<Option<CalcEvent>, ClientError> {
        self.rx.recv().await
    }

    /// Square `value` and wait for the answer: our own result (it is stored by then) or the
    /// error. Other students' results that arrive meanwhile are passed to `others`.
    pub async fn square(
        &mut self,
        value: &str,
        mut others: impl FnMut(SquareResult),
    ) -> Result<Result<SquareResult, ErrorEvent>, ClientError> {
        self.send_square(value).await?;
        loop {
            match self.next_event().await? {
                None => return Err(std::io::Error::other("the server closed the connection").into()),
                Some(CalcEvent::Result(r)) if r.student_id == self.student.student_id => return Ok(Ok(r)),
                Some(CalcEvent::Result(r)) => others(r),
                Some(CalcEvent::Error(e)) => return Ok(Err(e)),
                Some(_) => {}
            }
        }
    }
}

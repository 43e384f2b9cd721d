//! One IRC connection: registration (PASS, NICK, USER, CAP, AUTHENTICATE), then the chat.
//!
//! Registration ends when the client has given NICK and USER and is not negotiating
//! capabilities. Then the connection password (`[irc] password`) is checked, the login goes
//! through the chat's [`Authenticator`](crate::auth::Authenticator) (SASL PLAIN's account and
//! password, or the nick as a guest; in `auth = "accounts"` mode SASL is required) and the user
//! enters the chat through its [`ChatSession`]. From then on [`super::commands`] handles what the
//! client sends.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Deserialize;
use sockhub_i18n::{Msg, msg};
use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::irc::{Message, ParseError, numeric as n};
use sockhub_proto::secret::Secret;

use super::caps::{self, Cap};
use super::ping::{self, Heard};
use super::render::{ConnState, Encoder, Line, Lines, Shared};
use super::{IrcService, IrcUser};
use crate::auth::{Identity, LoginError};
use crate::config::Admission;
use crate::names;
use crate::net::outbox::Outbox;
use crate::service::chat::ChatSession;
use crate::session::{Ending, Flow, Peer, Session};

/// One IRC message from the client. IRC connections never speak JSON, so it has no JSON form.
#[derive(Debug)]
pub struct IrcRequest(pub Message);

impl<'de> Deserialize<'de> for IrcRequest {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("IRC connections take IRC lines, not JSON"))
    }
}

impl sockhub_proto::json::Request for IrcRequest {
    const TYPES: &'static [&'static str] = &[];
}

/// What the client has said so far while registering.
#[derive(Default)]
struct Registration {
    nick: Option<String>,
    user: Option<(String, String)>,
    password: Option<String>,
    /// CAP LS or REQ was sent and CAP END not yet: registration waits.
    negotiating: bool,
    /// Logged in with SASL.
    account: Option<Identity>,
    /// AUTHENTICATE PLAIN was accepted and the payload is being received, in chunks.
    sasl: Option<String>,
}

/// An IRC session.
pub struct IrcSession {
    pub(super) service: Arc<IrcService>,
    pub(super) chat: ChatSession,
    pub(super) peer: Peer,
    pub(super) outbox: Outbox,
    pub(super) conn: Shared,
    reg: Registration,
    pub(super) registered: bool,
    heard: Arc<Heard>,
}

impl IrcSession {
    pub(crate) fn new(service: Arc<IrcService>, peer: Peer, outbox: Outbox) -> Self {
        let conn: Shared = Arc::new(Mutex::new(ConnState::new()));
        outbox.set_encoder(Box::new(Encoder { service: Arc::clone(&service), conn: Arc::clone(&conn) }));
        let heard = Arc::new(Heard::default());
        if service.config.ping_secs > 0 {
            ping::spawn(
                outbox.clone(),
                Arc::clone(&heard),
                Arc::clone(&service.server_name),
                Duration::from_secs(service.config.ping_secs),
                Duration::from_secs(service.config.ping_timeout_secs),
            );
        }
        let mut chat = ChatSession::new(Arc::clone(&service.chat), peer.clone(), outbox.clone());
        if !service.config.auto_join {
            chat = chat.without_default_room();
        }
        IrcSession {
            service,
            chat,
            peer,
            outbox,
            conn,
            reg: Registration::default(),
            registered: false,
            heard,
        }
    }

    /// The nick (`*` before one is given).
    pub(super) fn nick(&self) -> String {
        self.conn.lock().nick.clone()
    }

    /// Send lines.
    pub(super) fn send(&self, lines: Vec<Line>) {
        if !lines.is_empty() {
            self.outbox.send(Lines(lines));
        }
    }

    /// A numeric reply to this user: `params` after the nick, then `text`.
    pub(super) fn numeric(&self, code: &str, params: &[&str], text: impl Into<Msg>) -> Line {
        let mut msg = Message::new(code, [self.nick()]).from_source(self.service.server_name.as_ref());
        msg.params.extend(params.iter().map(|p| (*p).to_owned()));
        Line { msg, text: Some(text.into()) }
    }

    /// A line from the server with no text to translate.
    pub(super) fn server_line(&self, command: &str, params: &[&str]) -> Line {
        let msg =
            Message::new(command, params.iter().copied()).from_source(self.service.server_name.as_ref());
        Line { msg, text: None }
    }

    /// Send lines and go on.
    fn send_flow(&self, lines: Vec<Line>) -> Flow {
        self.send(lines);
        Flow::Continue
    }

    /// Send one numeric.
    pub(super) fn reply(&self, code: &str, params: &[&str], text: impl Into<Msg>) -> Flow {
        self.send(vec![self.numeric(code, params, text)]);
        Flow::Continue
    }

    /// `FAIL command code [context] :text`.
    pub(super) fn fail(&self, command: &str, code: &str, text: impl Into<Msg>) -> Flow {
        let msg = Message::new("FAIL", [command, code]).from_source(self.service.server_name.as_ref());
        self.send(vec![Line { msg, text: Some(text.into()) }]);
        Flow::Continue
    }

    /// Refuse and close: `ERROR :text` is the last line.
    fn refuse(&self, text: Msg) -> Flow {
        Flow::Close(text)
    }

    /// Everything before registration.
    async fn registering(&mut self, m: Message) -> Flow {
        match m.command.as_str() {
            "PASS" => match m.param(0) {
                None => self.reply(n::ERR_NEEDMOREPARAMS, &["PASS"], msg!("irc-need-more-params")),
                Some(p) => {
                    self.reg.password = Some(p.to_owned());
                    Flow::Continue
                }
            },
            "NICK" => match m.param(0).filter(|p| !p.is_empty()) {
                None => self.reply(n::ERR_NONICKNAMEGIVEN, &[], msg!("irc-no-nick")),
                Some(nick) => match check_nick(nick) {
                    Err(e) => self.reply(n::ERR_ERRONEUSNICKNAME, &[nick], e.message),
                    Ok(()) => {
                        self.reg.nick = Some(nick.to_owned());
                        self.conn.lock().nick = nick.to_owned();
                        self.try_register().await
                    }
                },
            },
            "USER" => {
                if m.params.len() < 4 || m.params[0].is_empty() || m.params[3].is_empty() {
                    return self.reply(n::ERR_NEEDMOREPARAMS, &["USER"], msg!("irc-need-more-params"));
                }
                self.reg.user = Some((m.params[0].clone(), m.params[3].clone()));
                self.try_register().await
            }
            "CAP" => self.cap(&m).await,
            "AUTHENTICATE" => self.authenticate(&m).await,
            "PING" => self.pong(&m),
            "PONG" => Flow::Continue,
            "QUIT" => Flow::Close(msg!("ending-goodbye")),
            command => self.reply(n::ERR_NOTREGISTERED, &[command], msg!("irc-not-registered")),
        }
    }

    pub(super) fn pong(&self, m: &Message) -> Flow {
        match m.param(0) {
            None => self.reply(n::ERR_NEEDMOREPARAMS, &["PING"], msg!("irc-need-more-params")),
            Some(token) => {
                self.send(vec![self.server_line("PONG", &[&self.service.server_name, token])]);
                Flow::Continue
            }
        }
    }

    /// CAP LS / LIST / REQ / END.
    pub(super) async fn cap(&mut self, m: &Message) -> Flow {
        let server = self.service.server_name.to_string();
        let nick = self.nick();
        let line = |params: &[&str]| {
            let mut msg = Message::new("CAP", [nick.as_str()]).from_source(server.as_str());
            msg.params.extend(params.iter().map(|p| (*p).to_owned()));
            Line { msg, text: None }
        };
        match m.param(0).map(str::to_ascii_uppercase).as_deref() {
            Some("LS") => {
                let v302 = m.param(1).and_then(|v| v.parse::<u32>().ok()).is_some_and(|v| v >= 302);
                if !self.registered {
                    self.reg.negotiating = true;
                }
                if v302 {
                    self.conn.lock().caps.set(Cap::CapNotify, true);
                }
                self.send(vec![line(&["LS", &caps::ls(v302)])]);
                Flow::Continue
            }
            Some("LIST") => {
                let names = self.conn.lock().caps.names();
                self.send(vec![line(&["LIST", &names])]);
                Flow::Continue
            }
            Some("REQ") => {
                if !self.registered {
                    self.reg.negotiating = true;
                }
                let list = m.param(1).unwrap_or("");
                let mut conn = self.conn.lock();
                match caps::request(conn.caps, list) {
                    Some(next) => {
                        conn.caps = next;
                        drop(conn);
                        self.send(vec![line(&["ACK", list])]);
                    }
                    None => {
                        drop(conn);
                        self.send(vec![line(&["NAK", list])]);
                    }
                }
                Flow::Continue
            }
            Some("END") => {
                if self.registered {
                    return Flow::Continue;
                }
                self.reg.negotiating = false;
                self.try_register().await
            }
            _ => self.reply(n::ERR_INVALIDCAPCMD, &[m.param(0).unwrap_or("*")], msg!("irc-invalid-cap")),
        }
    }

    /// SASL PLAIN (RFC 4616 over IRCv3's AUTHENTICATE).
    async fn authenticate(&mut self, m: &Message) -> Flow {
        let Some(arg) = m.param(0) else {
            return self.reply(n::ERR_NEEDMOREPARAMS, &["AUTHENTICATE"], msg!("irc-need-more-params"));
        };
        if self.reg.account.is_some() {
            return self.reply(n::ERR_SASLALREADY, &[], msg!("irc-sasl-already"));
        }
        let Some(mut payload) = self.reg.sasl.take() else {
            if arg.eq_ignore_ascii_case("PLAIN") {
                self.reg.sasl = Some(String::new());
                self.send(vec![Line { msg: Message::new("AUTHENTICATE", ["+"]), text: None }]);
                return Flow::Continue;
            }
            // The failure first (SASL 3.1 clients wait for it), then the mechanisms there are.
            return self.send_flow(vec![
                self.numeric(n::ERR_SASLFAIL, &[], msg!("irc-sasl-fail")),
                self.numeric(n::RPL_SASLMECHS, &["PLAIN"], msg!("irc-sasl-mechs")),
            ]);
        };
        if arg == "*" {
            return self.reply(n::ERR_SASLABORTED, &[], msg!("irc-sasl-aborted"));
        }
        if arg != "+" {
            payload.push_str(arg);
        }
        if arg.len() > 400 {
            return self.reply(n::ERR_SASLTOOLONG, &[], msg!("irc-sasl-too-long"));
        }
        // Chunks that add up to more than any PLAIN payload: the exchange fails (and is over).
        if payload.len() > caps::MAX_SASL_PAYLOAD {
            return self.reply(n::ERR_SASLFAIL, &[], msg!("irc-sasl-fail"));
        }
        // A 400-byte chunk means more follows.
        if arg.len() == 400 {
            self.reg.sasl = Some(payload);
            return Flow::Continue;
        }
        let Some((name, password)) = caps::plain(&payload) else {
            return self.reply(n::ERR_SASLFAIL, &[], msg!("irc-sasl-fail"));
        };
        let login = self.login(&name, Some(&password)).await;
        match login {
            Ok(identity) if identity.account => {
                let account = identity.name.clone();
                let who = super::render::source(&account);
                self.reg.account = Some(identity);
                self.send(vec![
                    self.numeric(
                        n::RPL_LOGGEDIN,
                        &[&who, &account],
                        msg!("irc-logged-in", account = account.as_str()),
                    ),
                    self.numeric(n::RPL_SASLSUCCESS, &[], msg!("irc-sasl-success")),
                ]);
                Flow::Continue
            }
            // A name that is not an account "logs in" as a guest: that is no SASL login.
            Ok(_) | Err(LoginError::BadCredentials | LoginError::PasswordRequired) => {
                self.reply(n::ERR_SASLFAIL, &[], msg!("irc-sasl-fail"))
            }
            Err(e) => self.reply(n::ERR_SASLFAIL, &[], e.to_event().message),
        }
    }

    async fn login(&self, name: &str, password: Option<&Secret>) -> Result<Identity, LoginError> {
        let auth = &self.service.chat.auth;
        auth.login(self.peer.addr, "chat", name, password, self.service.chat.config.auth).await
    }

    /// Register once NICK and USER are in and capability negotiation is over.
    async fn try_register(&mut self) -> Flow {
        if self.registered || self.reg.negotiating || self.reg.user.is_none() {
            return Flow::Continue;
        }
        let Some(nick) = self.reg.nick.clone() else { return Flow::Continue };
        if let Some(expected) = &self.service.config.password
            && self.reg.password.as_deref() != Some(expected.as_str())
        {
            self.send(vec![self.numeric(n::ERR_PASSWDMISMATCH, &[], msg!("irc-password-mismatch"))]);
            return self.refuse(msg!("irc-password-mismatch"));
        }
        let identity = match self.reg.account.take() {
            Some(identity) => identity,
            None if self.service.chat.config.auth == Admission::Accounts => {
                self.fail("*", "ACCOUNT_REQUIRED", msg!("irc-account-required"));
                return self.refuse(msg!("irc-account-required"));
            }
            None => {
                if self.service.chat.room.locate(&names::key(&nick)).is_some() {
                    return self.nick_in_use(&nick, msg!("chat-name-taken", name = nick.as_str()));
                }
                match self.login(&nick, None).await {
                    Ok(identity) => identity,
                    Err(LoginError::PasswordRequired) => {
                        return self.nick_in_use(&nick, msg!("irc-nick-is-account", nick = nick.as_str()));
                    }
                    Err(LoginError::Banned(e)) => {
                        self.send(vec![self.numeric(n::ERR_YOUREBANNEDCREEP, &[], e.message.clone())]);
                        return self.refuse(e.message);
                    }
                    Err(e) => return self.refuse(e.to_event().message),
                }
            }
        };
        let name = identity.name.clone();
        let account = identity.account;
        self.conn.lock().nick = name.clone();
        let (user, realname) = self.reg.user.clone().unwrap_or_default();
        match self.chat.enter_checked(identity).await {
            Ok(()) => {
                self.registered = true;
                self.service.set_user(IrcUser { name: name.clone(), user, realname, account, away: None });
                if self.service.config.auto_join {
                    self.send(self.names_lines(self.service.channel()));
                }
                Flow::Continue
            }
            Err(e) if e.code == ErrorCode::NameTaken => {
                self.conn.lock().nick = nick.clone();
                self.nick_in_use(&name, e.message)
            }
            Err(e) => self.refuse(e.message),
        }
    }

    /// ERR_NICKNAMEINUSE; the client may try another nick.
    fn nick_in_use(&mut self, nick: &str, why: Msg) -> Flow {
        self.reg.nick = None;
        self.reply(n::ERR_NICKNAMEINUSE, &[nick], why)
    }
}

/// A sockhub name that IRC can carry: no characters IRC gives a meaning in a source or a target.
pub(super) fn check_nick(nick: &str) -> Result<(), ErrorEvent> {
    names::validate(nick)?;
    let special = |c: char| matches!(c, '!' | '@' | ',' | '*' | '?' | ':' | '.');
    if nick.chars().any(special) || nick.starts_with(['#', '&', '$', '+', '~', '%']) {
        return Err(ErrorEvent::new(ErrorCode::InvalidName, msg!("irc-nick-chars")));
    }
    Ok(())
}

impl Session for IrcSession {
    type Request = IrcRequest;

    fn parse_text(&self, line: &str) -> Result<Option<IrcRequest>, ErrorEvent> {
        self.heard.tick();
        // A client's own tags are limited to half of what a server may add (IRCv3 message-tags).
        if let Some(tags) = line.strip_prefix('@') {
            let raw = tags.split_once(' ').map_or(tags, |(raw, _)| raw);
            if raw.len() + 2 > sockhub_proto::irc::MAX_CLIENT_TAGS {
                let max = sockhub_proto::irc::MAX_CLIENT_TAGS;
                return Err(ErrorEvent::new(
                    ErrorCode::LineTooLong,
                    msg!("error-line-too-long", limit = max),
                ));
            }
        }
        match Message::parse(line) {
            Ok(m) => Ok(Some(IrcRequest(m))),
            Err(ParseError::Empty) => Ok(None),
            Err(ParseError::TooLong { max } | ParseError::TagsTooLong { max }) => {
                Err(ErrorEvent::new(ErrorCode::LineTooLong, msg!("error-line-too-long", limit = max)))
            }
            // Answered with ERR_UNKNOWNCOMMAND like any command we do not know.
            Err(ParseError::BadCommand(command)) => Ok(Some(IrcRequest(Message::new(command, [""; 0])))),
            Err(ParseError::NoCommand) => Ok(Some(IrcRequest(Message::new("*", [""; 0])))),
        }
    }

    async fn handle(&mut self, IrcRequest(m): IrcRequest) -> Flow {
        if self.registered { self.command(m).await } else { self.registering(m).await }
    }

    async fn close(self, ending: &Ending) {
        if self.registered
            && let Some(name) = self.chat.user()
        {
            self.service.remove_user(name);
        }
        self.chat.close(ending).await;
    }

    fn user(&self) -> Option<&str> {
        self.chat.user()
    }

    fn is_admin(&self) -> bool {
        self.chat.is_admin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicks_are_sockhub_names_that_irc_can_carry() {
        assert!(check_nick("alice").is_ok());
        assert!(check_nick("김민수").is_ok());
        assert!(check_nick("a_b-c[d]").is_ok());
        for bad in ["a!b", "a@b", "#chan", "a,b", "a b", "a.b", ":x", ""] {
            assert!(check_nick(bad).is_err(), "{bad}");
        }
    }
}

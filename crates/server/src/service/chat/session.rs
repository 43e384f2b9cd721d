//! One chat connection: log in under a name, then talk.

use std::sync::Arc;

use sockhub_proto::ErrorCode;
use sockhub_proto::chat::{self, ChatEvent, ChatRequest, Phase, PromptField};
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::time;
use tracing::info;

use super::ChatService;
use super::names;
use super::room::{Join, Member};
use crate::net::outbox::Outbox;
use crate::session::{Ending, Flow, Peer, Session};

/// A chat session.
pub struct ChatSession {
    service: Arc<ChatService>,
    peer: Peer,
    outbox: Outbox,
    phase: Phase,
    /// Set once in the room: the name as typed, and its uniqueness key.
    me: Option<(Arc<str>, String)>,
}

impl ChatSession {
    pub(crate) fn new(service: Arc<ChatService>, peer: Peer, outbox: Outbox) -> Self {
        ChatSession { service, peer, outbox, phase: Phase::Name, me: None }
    }

    fn error(&self, code: ErrorCode, message: impl Into<String>) -> Flow {
        self.outbox.send(ChatEvent::error(code, message));
        Flow::Continue
    }

    fn login(&mut self, name: String) -> Flow {
        if self.me.is_some() {
            return self.error(ErrorCode::AlreadyLoggedIn, "you are already in the room");
        }
        if let Err(e) = names::validate(&name) {
            return self.retry_name(e);
        }
        let key = names::key(&name);
        let name: Arc<str> = name.into();
        let member = Member { name: Arc::clone(&name), outbox: self.outbox.clone(), conn: self.peer.id };
        let welcome = |online| ChatEvent::Welcome { name: name.to_string(), online };
        match self.service.room.join(key.clone(), member, welcome) {
            Join::Taken => self.retry_name(ErrorEvent::new(
                ErrorCode::NameTaken,
                format!("already registered user: \"{name}\" is online; choose another name"),
            )),
            Join::Joined { online } => {
                self.service.metrics().users.set(online as i64);
                tracing::Span::current().record("user", tracing::field::display(&name));
                info!("{name} joined ({online} online)");
                self.me = Some((name, key));
                self.phase = Phase::Room;
                Flow::Continue
            }
        }
    }

    /// Refuse a name and ask again (text mode shows the prompt; JSON clients just get the error).
    fn retry_name(&mut self, e: ErrorEvent) -> Flow {
        self.phase = Phase::Name;
        self.outbox.send(ChatEvent::Error(e));
        self.outbox.send(ChatEvent::Prompt { field: PromptField::Name });
        Flow::Continue
    }

    fn whisper(&self, from: &Arc<str>, to: &str, text: String) -> Flow {
        if text.trim().is_empty() {
            return self.error(ErrorCode::EmptyMessage, "nothing to whisper");
        }
        let Some(target) = self.service.room.find(&names::key(to)) else {
            return self.error(ErrorCode::NoSuchUser, format!("no one called \"{to}\" is online"));
        };
        let at = time::now();
        let event = |outgoing| ChatEvent::Whisper {
            from: from.to_string(),
            to: target.name.to_string(),
            text: text.clone(),
            at,
            outgoing,
        };
        target.outbox.send(event(false));
        self.outbox.send(event(true));
        Flow::Continue
    }
}

use crate::session::Service as _;

impl Session for ChatSession {
    type Request = ChatRequest;

    fn parse_text(&self, line: &str) -> Result<Option<ChatRequest>, ErrorEvent> {
        chat::parse_text(line, &self.phase)
    }

    async fn handle(&mut self, request: ChatRequest) -> Flow {
        let me = self.me.as_ref().map(|(name, _)| Arc::clone(name));
        match (request, me) {
            (ChatRequest::Quit, _) => Flow::Close("goodbye".into()),
            (ChatRequest::Help, _) => {
                self.outbox.send(ChatEvent::Help { commands: chat::help() });
                Flow::Continue
            }
            (ChatRequest::Login { name, .. }, _) => self.login(name),
            (_, None) => self.error(ErrorCode::NotLoggedIn, "log in first: send your name"),
            (ChatRequest::Say { text }, Some(me)) => {
                if text.trim().is_empty() {
                    return self.error(ErrorCode::EmptyMessage, "nothing to say");
                }
                self.service.room.say(&me, &text, time::now());
                Flow::Continue
            }
            (ChatRequest::Whisper { to, text }, Some(me)) => self.whisper(&me, &to, text),
            (ChatRequest::Who, Some(_)) => {
                self.outbox.send(ChatEvent::Users { names: self.service.room.names() });
                Flow::Continue
            }
        }
    }

    async fn close(self, ending: &Ending) {
        let Some((name, key)) = self.me else { return };
        let quietly = matches!(ending, Ending::Shutdown) || self.service.closing.is_cancelled();
        if let Some(online) = self.service.room.leave(&key, self.peer.id, quietly) {
            self.service.metrics().users.set(online as i64);
            info!("{name} left ({online} online)");
        }
    }

    fn user(&self) -> Option<&str> {
        self.me.as_ref().map(|(name, _)| &**name)
    }
}

//! One chat connection: log in (a name, and a password when the name is an account), then talk.
//!
//! The session is the only place that knows the order of things for one user: a line is checked
//! against the user's mute, written to the chat log, and only then delivered; a login is checked
//! by the [`crate::auth::Authenticator`] before the name is claimed in the room.

use sockhub_i18n::{Msg, msg};
use std::sync::Arc;

use sockhub_proto::ErrorCode;
use sockhub_proto::chat::{self, ChatEvent, ChatRequest, Phase, PromptField};
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::secret::Secret;
use sockhub_proto::text;
use sockhub_proto::time::{self, Timestamp};
use sockhub_store::{ChatRecord, Mute};
use tracing::{info, warn};

use super::ChatService;
use super::room::{Join, Located, Member};
use crate::auth::{Identity, LoginError};
use crate::bus::{ChatMsg, ClaimError, Message};
use crate::names;
use crate::net::outbox::Outbox;
use crate::session::{Ending, Flow, Peer, Service as _, Session};

/// A chat session.
pub struct ChatSession {
    service: Arc<ChatService>,
    peer: Peer,
    outbox: Outbox,
    phase: Phase,
    /// Set once in the room.
    me: Option<Me>,
    /// Whether logging in joins the default room (IRC may leave joining to the client).
    default_room: bool,
}

/// The logged-in user.
struct Me {
    name: Arc<str>,
    key: String,
    identity: Identity,
}

impl ChatSession {
    pub(crate) fn new(service: Arc<ChatService>, peer: Peer, outbox: Outbox) -> Self {
        ChatSession { service, peer, outbox, phase: Phase::Name, me: None, default_room: true }
    }

    fn reply(&self, event: ChatEvent) -> Flow {
        self.outbox.send(event);
        Flow::Continue
    }

    fn error(&self, code: ErrorCode, message: impl Into<Msg>) -> Flow {
        self.reply(ChatEvent::error(code, message))
    }

    fn fail(&self, e: ErrorEvent) -> Flow {
        self.reply(ChatEvent::Error(e))
    }

    async fn login(&mut self, name: String, password: Option<Secret>) -> Flow {
        if self.me.is_some() {
            return self.error(ErrorCode::AlreadyLoggedIn, msg!("chat-already-in"));
        }
        if let Err(e) = names::validate(&name) {
            return self.ask_again(e, PromptField::Name);
        }
        // Checked again atomically when joining; this early check spares a password check.
        if self.service.room.locate(&names::key(&name)).is_some() {
            return self.ask_again(taken(&name), PromptField::Name);
        }
        let policy = self.service.config.auth;
        let login = self.service.auth.login(self.peer.addr, "chat", &name, password.as_ref(), policy).await;
        let identity = match login {
            Ok(identity) => identity,
            Err(LoginError::PasswordRequired) => {
                let e = LoginError::PasswordRequired.to_event();
                return self.ask_again(e, PromptField::Password { name });
            }
            Err(e) => return self.ask_again(e.to_event(), PromptField::Name),
        };
        self.enter(identity).await
    }

    /// Claim the name (cluster-wide first, then in the room) and say hello.
    async fn enter(&mut self, identity: Identity) -> Flow {
        match self.claim(identity).await {
            Ok(()) => Flow::Continue,
            Err(e) => self.ask_again(e, PromptField::Name),
        }
    }

    /// Enter the room as `identity`, already checked by the [`crate::auth::Authenticator`]:
    /// for another face of the chat (IRC) that checks logins its own way. The error says why
    /// not; nothing is sent for it.
    pub(crate) async fn enter_checked(&mut self, identity: Identity) -> Result<(), ErrorEvent> {
        if self.me.is_some() {
            return Err(ErrorEvent::new(ErrorCode::AlreadyLoggedIn, msg!("chat-already-in")));
        }
        self.claim(identity).await
    }

    /// Log in without joining the default room (for IRC's `[irc] auto_join = false`).
    pub(crate) fn without_default_room(mut self) -> Self {
        self.default_room = false;
        self
    }

    /// Handle a request in the room, returning its error instead of sending it (for IRC, whose
    /// errors are numeric replies).
    pub(crate) async fn request(&mut self, request: ChatRequest) -> Result<Flow, ErrorEvent> {
        let Some(me) = self.me.take() else {
            return Err(ErrorEvent::new(ErrorCode::NotLoggedIn, msg!("chat-log-in-first")));
        };
        let result = self.in_room(&me, request).await;
        self.me = Some(me);
        result
    }

    /// Who is logged in on this session.
    pub(crate) fn identity(&self) -> Option<&Identity> {
        self.me.as_ref().map(|me| &me.identity)
    }

    /// Claim the name (cluster-wide first, then in the room) and say hello.
    async fn claim(&mut self, identity: Identity) -> Result<(), ErrorEvent> {
        let name: Arc<str> = identity.name.as_str().into();
        let key = names::key(&name);
        let bus = &self.service.bus;
        // On a single node this is answered at once; in a cluster it is one insert in the shared
        // database, which only one of several racing nodes can win.
        if let Err(e) = bus.claim("chat", &name, self.peer.id).await {
            // The login row already says success, so close it with a logout.
            self.service.auth.logout(self.peer.addr, "chat", &name).await;
            let e = match e {
                ClaimError::Taken => taken(&name),
                ClaimError::Unavailable(e) => {
                    warn!(error = %e, "cannot claim a name in the shared database");
                    ErrorEvent::new(ErrorCode::Unavailable, msg!("error-names-unavailable"))
                }
            };
            return Err(e);
        }
        // A place for the `Joined` before entering (see [`crate::bus::place`]); taken once the
        // name is ours, so no place is held while the database answers.
        let slot = match crate::bus::place(bus.as_ref(), "a login").await {
            Ok(slot) => slot,
            Err(e) => {
                bus.release("chat", &name, self.peer.id).await;
                self.service.auth.logout(self.peer.addr, "chat", &name).await;
                return Err(e);
            }
        };
        let member = Member { name: Arc::clone(&name), outbox: self.outbox.clone(), conn: self.peer.id };
        let admin = identity.is_admin();
        let welcome = |online| ChatEvent::Welcome {
            name: name.to_string(),
            online,
            admin,
            room: self.service.default_room().to_owned(),
        };
        match self.service.room.join(key.clone(), member, welcome) {
            Join::Taken => {
                // Someone took the name between the check and now.
                bus.release("chat", &name, self.peer.id).await;
                self.service.auth.logout(self.peer.addr, "chat", &name).await;
                Err(taken(&name))
            }
            Join::Joined { online, local, version, stale } => {
                if let Some(stale) = stale {
                    self.service.forget_remote(&stale);
                }
                if let Some(slot) = slot {
                    let joined = ChatMsg::Joined { name: name.to_string(), conn: self.peer.id, version };
                    slot.send(Message::Chat(joined));
                }
                self.service.enter_rooms(&key, &name, &self.outbox);
                if self.default_room
                    && let Err(e) = self.service.join_default_room(&key, &name).await
                {
                    warn!(error = %e.message, name = %name, "could not join the default room");
                }
                self.service.metrics().users.set(local as i64);
                tracing::Span::current().record("user", tracing::field::display(&name));
                info!(name = %name, online, "{name} joined ({online} online)");
                if let Some(mute) = self.service.moderation.muted(&name, time::now()) {
                    self.outbox.send(muted_event(&mute));
                }
                self.me = Some(Me { name, key, identity });
                self.phase = Phase::Room;
                Ok(())
            }
        }
    }

    /// Refuse and ask again (text mode shows the prompt; JSON clients just get the error).
    fn ask_again(&mut self, e: ErrorEvent, field: PromptField) -> Flow {
        self.phase = match &field {
            PromptField::Name => Phase::Name,
            PromptField::Password { name } => Phase::Password { name: name.clone() },
        };
        self.outbox.send(ChatEvent::Error(e));
        self.reply(ChatEvent::Prompt { field })
    }

    /// Refuse if `me` is muted.
    fn check_mute(&self, me: &Me, now: Timestamp) -> Result<(), ErrorEvent> {
        match self.service.moderation.muted(&me.name, now) {
            None => Ok(()),
            Some(mute) => {
                let why = mute.reason.map(|r| format!(" ({r})")).unwrap_or_default();
                let message = match mute.until {
                    Some(t) => msg!("chat-muted-you-until", until = time::clock(&t), why = why),
                    None => msg!("chat-muted-you", why = why),
                };
                Err(ErrorEvent::new(ErrorCode::Muted, message))
            }
        }
    }

    /// Write a line to the chat log; a line that cannot be logged is not delivered.
    async fn log(&self, record: ChatRecord) -> Result<(), ErrorEvent> {
        self.service.journal.send_timeout(record, self.service.log_wait).await.map_err(|e| {
            warn!(error = %e, "the chat log is not accepting lines");
            ErrorEvent::new(ErrorCode::Unavailable, msg!("chat-log-behind"))
        })
    }

    async fn whisper(
        &self,
        me: &Me,
        to: &str,
        text: String,
        notice: bool,
        tags: Vec<(String, Option<String>)>,
    ) -> Result<(), ErrorEvent> {
        if text.trim().is_empty() {
            return Err(ErrorEvent::new(ErrorCode::EmptyMessage, msg!("chat-nothing-to-whisper")));
        }
        text::require("message", &text)?;
        let at = time::now();
        self.check_mute(me, at)?;
        let Some(target) = self.service.room.locate(&names::key(to)) else {
            return Err(super::moderation::not_online(to));
        };
        // A whisper to another node waits for room on the way there, as a public line does.
        let slot = match &target {
            Located::There { node, .. } => {
                Some(self.service.bus.reserve_to(node).await.map_err(|e| e.refusal("a whisper", true))?)
            }
            Located::Here(_) => None,
        };
        let record = ChatRecord {
            sender: me.name.to_string(),
            recipient: Some(target.name().to_owned()),
            text: text.clone(),
            at,
            room: None,
        };
        self.log(record).await?;
        let id = Some(self.service.next_line_id());
        let event = |outgoing| ChatEvent::Whisper {
            from: me.name.to_string(),
            to: target.name().to_owned(),
            text: text.clone(),
            at,
            notice,
            id: id.clone(),
            tags: tags.clone(),
            outgoing,
        };
        match &target {
            Located::Here(member) => {
                member.outbox.send(event(false));
            }
            // Only the target's node receives it, and delivers it to that one connection.
            Located::There { name, conn, .. } => {
                let whisper = ChatMsg::Whisper {
                    from: me.name.to_string(),
                    to: name.clone(),
                    to_conn: *conn,
                    text: text.clone(),
                    at,
                    notice,
                    id: id.clone(),
                    tags: tags.clone(),
                };
                if let Some(slot) = slot {
                    slot.send(Message::Chat(whisper));
                }
            }
        }
        self.outbox.send(event(true));
        Ok(())
    }

    /// Refuse unless `me` is an admin now: the role `me` logged in with is only a first filter
    /// (members are refused without a database read); an admin demoted since is refused too.
    async fn require_admin(&self, me: &Me) -> Result<(), ErrorEvent> {
        if !me.identity.is_admin() {
            return Err(ErrorEvent::new(ErrorCode::Forbidden, msg!("error-admins-only")));
        }
        self.service.auth.confirm_admin(&me.name).await
    }

    /// Refuse unless `me` may moderate `room` (`None`: server-wide, admins only), and `target`
    /// there: see [`ChatService::require_room_power`].
    async fn require_power(
        &self,
        me: &Me,
        room: Option<&str>,
        target: Option<&str>,
    ) -> Result<(), ErrorEvent> {
        self.service.require_room_power(&me.name, &me.key, me.identity.is_admin(), room, target).await
    }

    async fn in_room(&mut self, me: &Me, request: ChatRequest) -> Result<Flow, ErrorEvent> {
        let moderation = &self.service.moderation;
        match request {
            ChatRequest::Say { text, room, notice, tags } => {
                self.service.say_in_room(&me.key, &me.name, room.as_deref(), text, notice, tags).await?
            }
            ChatRequest::Whisper { to, text, notice, tags } => {
                self.whisper(me, &to, text, notice, tags).await?
            }
            ChatRequest::Who { room: asked } => {
                let (room, names) = self.service.room_members(&me.key, asked.as_deref())?;
                let single = self.service.rooms_of(&me.key).0.len() <= 1;
                let room = if asked.is_none() && single { String::new() } else { room };
                self.service.rooms.send_to(&me.key, ChatEvent::Users { names, room });
            }
            ChatRequest::Join { room } => {
                self.service.join_room(&me.key, &me.name, me.identity.is_admin(), &room).await?;
            }
            ChatRequest::Part { room, reason } => {
                self.service.part_room(&me.key, &me.name, room.as_deref(), reason.as_deref()).await?
            }
            ChatRequest::Switch { room } => self.service.switch_room(&me.key, &room)?,
            ChatRequest::Rooms => {
                let (current, rooms) = self.service.room_list(&me.key);
                self.outbox.send(ChatEvent::Rooms { current, rooms });
            }
            ChatRequest::Topic { room, topic: None } => {
                let topic = self.service.room_topic(&me.key, room.as_deref())?;
                self.service.rooms.send_to(&me.key, topic);
            }
            ChatRequest::Topic { room, topic: Some(topic) } => {
                let room = match room {
                    Some(r) => self.service.rooms.existing(&r)?,
                    None => self.service.rooms.resolve(&me.key, None)?,
                };
                if !me.identity.is_admin() && !self.service.rooms.is_op(&room, &me.key) {
                    return Err(ErrorEvent::new(ErrorCode::Forbidden, msg!("chat-topic-admin-only")));
                }
                self.require_power(me, Some(&room), None).await?;
                self.service.set_room_topic(&me.key, &me.name, Some(&room), &topic).await?;
            }
            ChatRequest::Kick { name, reason, room } => {
                self.require_power(me, room.as_deref(), Some(&name)).await?;
                moderation.kick(&self.service, &me.name, &name, reason, room).await?;
            }
            ChatRequest::Mute { name, minutes, reason, room } => {
                self.require_power(me, room.as_deref(), Some(&name)).await?;
                moderation.mute(&self.service, &me.name, &name, minutes, reason, room).await?;
            }
            ChatRequest::Unmute { name, room } => {
                self.require_power(me, room.as_deref(), Some(&name)).await?;
                moderation.unmute(&self.service, &me.name, &name, room).await?;
            }
            ChatRequest::Op { name, room } => {
                let admin = me.identity.is_admin();
                self.service.set_room_op(&me.name, &me.key, admin, &name, room.as_deref(), true).await?;
            }
            ChatRequest::Deop { name, room } => {
                let admin = me.identity.is_admin();
                self.service.set_room_op(&me.name, &me.key, admin, &name, room.as_deref(), false).await?;
            }
            ChatRequest::Ban { name, duration, reason, address } => {
                self.require_admin(me).await?;
                let length = duration.as_deref().map(sockhub_proto::ban::parse_duration).transpose()?;
                let ban = self.service.auth.bans().ban(&me.name, &name, length, reason, address).await?;
                self.outbox.send(ChatEvent::Banned {
                    name: ban.target,
                    by: ban.actor,
                    until: ban.until,
                    reason: ban.reason,
                    address: ban.address,
                });
            }
            ChatRequest::Unban { name } => {
                self.require_admin(me).await?;
                let was = self.service.auth.bans().unban(&me.name, &name).await?;
                self.outbox.send(ChatEvent::Unbanned { name: was.target, by: me.name.to_string() });
            }
            ChatRequest::StartQuiz => {
                self.require_admin(me).await?;
                let quiz = self
                    .service
                    .quiz
                    .get()
                    .ok_or_else(|| ErrorEvent::new(ErrorCode::Unavailable, msg!("chat-quiz-not-here")))?;
                let text = quiz.request_start()?;
                info!(name = %me.name, said = %text, "asked the quiz to start");
                self.outbox.send(sockhub_proto::notice::Notice::info(text));
            }
            ChatRequest::Login { .. } | ChatRequest::Help | ChatRequest::Quit => {
                unreachable!("handled before the room")
            }
        }
        Ok(Flow::Continue)
    }
}

fn taken(name: &str) -> ErrorEvent {
    ErrorEvent::new(ErrorCode::NameTaken, msg!("chat-name-taken", name = name))
}

fn muted_event(mute: &Mute) -> ChatEvent {
    ChatEvent::Muted {
        name: mute.target.clone(),
        by: mute.actor.clone(),
        until: mute.until,
        reason: mute.reason.clone(),
        room: None,
    }
}

impl Session for ChatSession {
    type Request = ChatRequest;

    fn parse_text(&self, line: &str) -> Result<Option<ChatRequest>, ErrorEvent> {
        chat::parse_text(line, &self.phase)
    }

    async fn handle(&mut self, request: ChatRequest) -> Flow {
        match request {
            ChatRequest::Quit => Flow::Close(msg!("ending-goodbye")),
            ChatRequest::Help => self.reply(ChatEvent::Help { commands: chat::help() }),
            ChatRequest::Login { name, password } => self.login(name, password).await,
            request => {
                let Some(me) = self.me.take() else {
                    return self.error(ErrorCode::NotLoggedIn, msg!("chat-log-in-first"));
                };
                let flow = self.in_room(&me, request).await.unwrap_or_else(|e| self.fail(e));
                self.me = Some(me);
                flow
            }
        }
    }

    async fn close(self, ending: &Ending) {
        let Some(me) = self.me else { return };
        let quietly = matches!(ending, Ending::Shutdown) || self.service.closing.is_cancelled();
        let bus = &self.service.bus;
        // At shutdown the node says goodbye once instead, and its names go with its lease. A
        // disconnect cannot be refused: the `Left` waits for a place, then goes anyway.
        let slot = if quietly { None } else { crate::bus::place_or_publish(bus.as_ref()).await };
        if let Some((local, version)) = self.service.room.leave(&me.key, self.peer.id) {
            if let Some(slot) = slot {
                let left = ChatMsg::Left { name: me.name.to_string(), conn: self.peer.id, version };
                slot.send(Message::Chat(left));
            }
            self.service.leave_rooms(&me.key, quietly).await;
            self.service.metrics().users.set(local as i64);
            info!(name = %me.name, online = self.service.room.online(), "left");
            if bus.is_shared() && !quietly {
                bus.release("chat", &me.name, self.peer.id).await;
            }
        }
        self.service.auth.logout(self.peer.addr, "chat", &me.name).await;
    }

    fn user(&self) -> Option<&str> {
        self.me.as_ref().map(|me| &*me.name)
    }

    fn is_admin(&self) -> bool {
        self.me.as_ref().is_some_and(|me| me.identity.is_admin())
    }
}

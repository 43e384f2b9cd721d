//! How an IRC connection writes what the chat sends it: the [`Encoder`] of every IRC outbox.
//!
//! The chat pushes the same [`ChatEvent`] frames to IRC members as to everyone else; this turns
//! them into IRC lines. What every IRC reader sees alike (a channel message, a join, a kick) is
//! encoded once per frame and *variant*, the set of tags that matters (`server-time`,
//! `account-tag`), and shared like the text and JSON encodings; only what is per connection
//! (the registration burst, history in a `batch`, replies to this user) is written per
//! recipient. A message from another transport longer than an IRC line allows is split into
//! several PRIVMSGs, never cut. The IRC session's own replies come as [`Lines`].

use std::sync::Arc;

use parking_lot::Mutex;
use sockhub_i18n::{Lang, Msg, t};
use sockhub_proto::chat::{ChatEvent, InRoom};
use sockhub_proto::error::{ErrorCode, ErrorEvent};
use sockhub_proto::irc::{MAX_LINE, Message, numeric as n, split_text};
use sockhub_proto::notice::Notice;
use sockhub_proto::time::{self, Timestamp};
use sockhub_proto::wire::{Mode, Wire};

use super::caps::{Cap, Caps};
use super::{Away, IrcService};
use crate::net::outbox::{Encode, Frame};

/// The host part of every user's source (`alice!alice@sockhub`): addresses are not shown.
pub const HOST: &str = "sockhub";

/// `name!name@sockhub` (the name as [`nick`] shows it).
pub fn source(name: &str) -> String {
    let nick = nick(name);
    format!("{nick}!{nick}@{HOST}")
}

/// How a sockhub name shows on IRC. Names from other transports may hold characters IRC gives a
/// meaning in a source or a target (`! @ , * ? : .` anywhere, `# & $ + ~ %` first): those show
/// as their fullwidth forms (`a!b` is `a！b`, `#x` is `＃x`). The chat's name key (the
/// confusable skeleton, see `names`) maps each fullwidth form back to its ASCII character, so
/// the shown nick finds the same user in PRIVMSG, WHOIS or KICK, and an IRC user cannot take it
/// while the other is online.
pub fn nick(name: &str) -> std::borrow::Cow<'_, str> {
    let special = |i: usize, c: char| {
        matches!(c, '!' | '@' | ',' | '*' | '?' | ':' | '.')
            || (i == 0 && matches!(c, '#' | '&' | '$' | '+' | '~' | '%'))
    };
    if !name.char_indices().any(|(i, c)| special(i, c)) {
        return name.into();
    }
    let wide = |c: char| char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c);
    name.char_indices().map(|(i, c)| if special(i, c) { wide(c) } else { c }).collect::<String>().into()
}

/// One line the IRC session sends itself; `text`, when set, is its last parameter, rendered in
/// the connection's language when written.
pub struct Line {
    pub msg: Message,
    pub text: Option<Msg>,
}

/// Lines the IRC session sends itself.
pub struct Lines(pub Vec<Line>);

impl Wire for Lines {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.write_text(out)
    }

    fn write_text(&self, out: &mut Vec<u8>) {
        for line in &self.0 {
            match &line.text {
                None => line.msg.write(out),
                Some(text) => {
                    let mut msg = line.msg.clone();
                    msg.params.push(text.to_string());
                    msg.write(out);
                }
            }
        }
    }
}

/// IRC lines already written (in the connection's language) by the session.
pub struct Raw(pub Vec<u8>);

impl Wire for Raw {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.write_text(out)
    }

    fn write_text(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

/// What the session and the encoder of one connection share.
#[derive(Debug, Default)]
pub struct ConnState {
    /// The nick, `*` until one is given.
    pub nick: String,
    pub caps: Caps,
    /// The history batch being written, if one is open.
    batch: Option<String>,
    /// The last room kick seen, `(name, room)`: the `left` that follows it is not shown again.
    kicked: Option<(String, String)>,
    batches: u32,
}

impl ConnState {
    /// A connection that has given no nick yet.
    pub fn new() -> Self {
        ConnState { nick: "*".into(), ..ConnState::default() }
    }
}

pub type Shared = Arc<Mutex<ConnState>>;

/// The encoder of one IRC connection.
pub struct Encoder {
    pub service: Arc<IrcService>,
    pub conn: Shared,
}

impl Encode for Encoder {
    fn encode(&mut self, frame: &Frame, lang: Lang, out: &mut Vec<u8>) {
        let mut conn = self.conn.lock();
        lang.scope(|| write_frame(&self.service, &mut conn, frame, lang, out))
    }
}

/// Which tags a shared line carries, as a frame variant number (`message-tags`: `msgid` and
/// the sender's client-only tags).
fn variant(caps: Caps) -> usize {
    usize::from(caps.has(Cap::ServerTime))
        | (usize::from(caps.has(Cap::AccountTag)) << 1)
        | (usize::from(caps.has(Cap::MessageTags)) << 2)
}

fn write_frame(service: &IrcService, conn: &mut ConnState, frame: &Frame, lang: Lang, out: &mut Vec<u8>) {
    // A room's event for text-mode members in several rooms comes as `InRoom`; IRC names the
    // channel in every line anyway.
    let event = frame.message::<ChatEvent>().or_else(|| frame.message::<InRoom>().map(|e| &e.0));
    let history = matches!(event, Some(ChatEvent::Message { history: true, .. }));
    if !history && let Some(id) = conn.batch.take() {
        Message::new("BATCH", [format!("-{id}")]).from_source(service.server_name.as_ref()).write(out);
    }
    if let Some(event) = event {
        chat_event(service, conn, frame, event, out);
    } else if let Some(notice) = frame.message::<Notice>() {
        match notice {
            Notice::Error(e) => error_line(service, &conn.nick, e).write(out),
            Notice::Bye { reason } => error(reason, out),
            Notice::Info { text } => notice_lines(service, &conn.nick, &text.to_string(), out),
        }
    } else if frame.message::<Lines>().is_some() || frame.message::<Raw>().is_some() {
        out.extend_from_slice(frame.encoded(Mode::Text, lang));
    } else if let Some(away) = frame.message::<Away>() {
        if conn.caps.has(Cap::AwayNotify) && away.name != conn.nick {
            out.extend_from_slice(frame.variant(0, |buf| super::commands::away_line(away).write(buf)));
        }
    } else {
        // Anything else (the greeting): its text lines, as notices.
        let text = String::from_utf8_lossy(frame.encoded(Mode::Text, lang)).into_owned();
        notice_lines(service, &conn.nick, &text, out);
    }
}

fn chat_event(
    service: &IrcService,
    conn: &mut ConnState,
    frame: &Frame,
    event: &ChatEvent,
    out: &mut Vec<u8>,
) {
    let me = conn.nick.as_str();
    // Events name their room, except a join or part sent to the members of a room who are in
    // that room only (all of them in the same room, so the shared encoding holds for each), and
    // a server-wide mute, shown in the default room.
    let channel = |room: &str| {
        match room {
            "" => service.chat.rooms_of(&crate::names::key(me)).0.into_iter().next(),
            room => Some(room.to_owned()),
        }
        .unwrap_or_else(|| service.channel().to_owned())
    };
    match event {
        ChatEvent::Message { from, text, at, history: false, room, notice, id, tags: client } => {
            if from == me && !conn.caps.has(Cap::EchoMessage) {
                return;
            }
            let v = variant(conn.caps);
            let account = (v & 2 != 0).then(|| service.account_of(from)).flatten();
            let bytes = frame.variant(v, |buf| {
                let tags = tags(v & 1 != 0, at, account);
                let more = if v & 4 != 0 { line_tags(id, client) } else { Vec::new() };
                say(buf, verb(*notice), &tags, &more, from, &channel(room), text)
            });
            out.extend_from_slice(bytes);
        }
        ChatEvent::Message { from, text, at, history: true, room, .. } => {
            let channel = channel(room);
            let mut tags = tags(conn.caps.has(Cap::ServerTime), at, None);
            if conn.caps.has(Cap::Batch) {
                let id = match &conn.batch {
                    Some(id) => id.clone(),
                    None => {
                        conn.batches += 1;
                        let id = format!("h{}", conn.batches);
                        Message::new("BATCH", [format!("+{id}"), "chathistory".into(), channel.clone()])
                            .from_source(service.server_name.as_ref())
                            .write(out);
                        conn.batch = Some(id.clone());
                        id
                    }
                };
                tags.insert(0, ("batch", id));
            }
            privmsg(out, &tags, from, &channel, text);
        }
        ChatEvent::Whisper { from, to, text, at, notice, id, tags: client, outgoing } => {
            if *outgoing && !conn.caps.has(Cap::EchoMessage) {
                return;
            }
            let account = conn.caps.has(Cap::AccountTag).then(|| service.account_of(from)).flatten();
            let tags = tags(conn.caps.has(Cap::ServerTime), at, account);
            let more = if conn.caps.has(Cap::MessageTags) { line_tags(id, client) } else { Vec::new() };
            say(out, verb(*notice), &tags, &more, from, &nick(to), text);
        }
        ChatEvent::Joined { name, room, topic, .. } if name == me => {
            // Joining another room (the first comes with the welcome).
            let channel = channel(room);
            Message::new("JOIN", [channel.as_str()]).from_source(source(name)).write(out);
            if let Some(topic) = topic {
                numeric(service, n::RPL_TOPIC, me, &[&channel, topic]).write(out);
                // Who set it and when (seconds since the epoch), when the room knows.
                let key = crate::names::key(me);
                if let Ok(ChatEvent::Topic { by: Some(by), at: Some(at), .. }) =
                    service.chat.room_topic(&key, Some(&channel))
                {
                    let at = at.timestamp().to_string();
                    numeric(service, n::RPL_TOPICWHOTIME, me, &[&channel, &nick(&by), &at]).write(out);
                }
            }
        }
        ChatEvent::Joined { name, room, .. } => {
            out.extend_from_slice(frame.variant(0, |buf| {
                Message::new("JOIN", [channel(room)]).from_source(source(name)).write(buf)
            }));
        }
        ChatEvent::Left { name, room, .. }
            if conn
                .kicked
                .as_ref()
                .is_some_and(|(n, r)| n == name && r.eq_ignore_ascii_case(&channel(room))) =>
        {
            conn.kicked = None;
        }
        ChatEvent::Left { name, room, reason, .. } => {
            out.extend_from_slice(frame.variant(0, |buf| {
                let reason = reason.clone().unwrap_or_else(|| t!("irc-quit-left"));
                Message::new("PART", [channel(room), reason]).from_source(source(name)).write(buf)
            }));
        }
        ChatEvent::Prompt { .. } | ChatEvent::Switched { .. } => {}
        ChatEvent::Tagged { from, room, id, tags } => {
            if !conn.caps.has(Cap::MessageTags) || (from == me && !conn.caps.has(Cap::EchoMessage)) {
                return;
            }
            out.extend_from_slice(frame.variant(0, |buf| {
                let mut msg = Message::new("TAGMSG", [room.as_str()]).from_source(source(from));
                msg = msg.tag("msgid", Some(id.clone()));
                for (key, value) in tags {
                    msg = msg.tag(key.clone(), value.clone());
                }
                msg.write(buf)
            }));
        }
        ChatEvent::Kicked { name, by, reason, room } => {
            conn.kicked = room.as_ref().map(|r| (name.clone(), r.clone()));
            out.extend_from_slice(frame.variant(0, |buf| {
                let reason = reason.clone().unwrap_or_else(|| by.clone());
                let channel = channel(room.as_deref().unwrap_or(""));
                Message::new("KICK", [channel.as_str(), &nick(name), &reason])
                    .from_source(source(by))
                    .write(buf)
            }));
        }
        ChatEvent::Opped { name, by, room, op } => {
            out.extend_from_slice(frame.variant(0, |buf| {
                let mode = if *op { "+o" } else { "-o" };
                Message::new("MODE", [room.as_str(), mode, &nick(name)]).from_source(source(by)).write(buf)
            }));
        }
        ChatEvent::Topic { room, topic, by, .. } => {
            let who = by.as_deref().map(source).unwrap_or_else(|| service.server_name.to_string());
            let topic = topic.clone().unwrap_or_default();
            Message::new("TOPIC", [room.as_str(), &topic]).from_source(who).write(out);
        }
        ChatEvent::Welcome { name, room, .. } => welcome(service, name, &channel(room), out),
        ChatEvent::Bye { reason } => error(reason, out),
        ChatEvent::Error(e) => error_line(service, me, e).write(out),
        ChatEvent::Muted { room, .. } | ChatEvent::Unmuted { room, .. } => {
            let text = sockhub_proto::wire::render(event, Mode::Text);
            let target = channel(room.as_deref().unwrap_or(""));
            out.extend_from_slice(frame.variant(0, |buf| notice_lines(service, &target, &text, buf)));
        }
        ChatEvent::Users { .. }
        | ChatEvent::Help { .. }
        | ChatEvent::Banned { .. }
        | ChatEvent::Unbanned { .. }
        | ChatEvent::Rooms { .. } => {
            notice_lines(service, me, &sockhub_proto::wire::render(event, Mode::Text), out)
        }
    }
}

/// The last line: `ERROR :Closing link: reason`.
fn error(reason: &Msg, out: &mut Vec<u8>) {
    Message::new("ERROR", [t!("irc-closing", reason = reason.to_string())]).write(out)
}

/// `@time=...;account=...` as `(key, value)` pairs.
fn tags(time: bool, at: &Timestamp, account: Option<String>) -> Vec<(&'static str, String)> {
    let mut tags = Vec::new();
    if time {
        tags.push(("time", time::rfc3339_ms(at)));
    }
    if let Some(account) = account {
        tags.push(("account", account));
    }
    tags
}

/// The command of a line: NOTICE for a notice, else PRIVMSG.
fn verb(notice: bool) -> &'static str {
    if notice { "NOTICE" } else { "PRIVMSG" }
}

/// A line's tags for a `message-tags` reader: its `msgid`, then the sender's client-only tags.
fn line_tags(id: &Option<String>, client: &[(String, Option<String>)]) -> Vec<(String, Option<String>)> {
    id.iter().map(|id| ("msgid".to_owned(), Some(id.clone()))).chain(client.iter().cloned()).collect()
}

/// `text` from `from` to `target`, in as many PRIVMSGs as it takes to stay within the line
/// limit.
fn privmsg(out: &mut Vec<u8>, tags: &[(&'static str, String)], from: &str, target: &str, text: &str) {
    say(out, "PRIVMSG", tags, &[], from, target, text)
}

/// [`privmsg`] with another `command` (NOTICE), and `more` tags (`msgid`, client-only tags).
fn say(
    out: &mut Vec<u8>,
    command: &str,
    tags: &[(&'static str, String)],
    more: &[(String, Option<String>)],
    from: &str,
    target: &str,
    text: &str,
) {
    let source = source(from);
    // ":" source " " command " " target " :" text CR LF
    let overhead = 1 + source.len() + 2 + command.len() + target.len() + 2 + 2;
    for piece in split_text(text, MAX_LINE.saturating_sub(overhead)) {
        let mut msg = Message::new(command, [target, piece]).from_source(source.as_str());
        for (key, value) in tags {
            msg = msg.tag(*key, Some(value.clone()));
        }
        for (key, value) in more {
            msg = msg.tag(key.clone(), value.clone());
        }
        msg.write(out);
    }
}

/// Each line of `text` as a NOTICE from the server to `target`, split to fit.
fn notice_lines(service: &IrcService, target: &str, text: &str, out: &mut Vec<u8>) {
    let server = service.server_name.as_ref();
    let overhead = 1 + server.len() + 8 + target.len() + 2 + 2;
    for line in text.lines().filter(|l| !l.is_empty()) {
        for piece in split_text(line, MAX_LINE.saturating_sub(overhead)) {
            Message::new("NOTICE", [target, piece]).from_source(server).write(out);
        }
    }
}

/// A numeric reply from the server to `nick`.
pub fn numeric(service: &IrcService, code: &str, nick: &str, params: &[&str]) -> Message {
    let mut msg = Message::new(code, [nick]).from_source(service.server_name.as_ref());
    msg.params.extend(params.iter().map(|p| (*p).to_owned()));
    msg
}

/// How an error the connection layer or the chat reports looks on IRC.
fn error_line(service: &IrcService, nick: &str, e: &ErrorEvent) -> Message {
    let text = e.message.to_string();
    match e.code {
        ErrorCode::LineTooLong => numeric(service, n::ERR_INPUTTOOLONG, nick, &[&text]),
        code => Message::new("FAIL", ["*", &code.as_str().to_ascii_uppercase(), &text])
            .from_source(service.server_name.as_ref()),
    }
}

/// The registration burst: 001–005, LUSERS, the MOTD, and the join of `channel`.
fn welcome(service: &IrcService, nick: &str, channel: &str, out: &mut Vec<u8>) {
    let server = service.server_name.as_ref();
    let version = service.version();
    let num = |code: &str, params: &[&str]| numeric(service, code, nick, params);
    num(n::RPL_WELCOME, &[&t!("irc-welcome", network = service.config.network.as_str(), nick = nick)])
        .write(out);
    num(n::RPL_YOURHOST, &[&t!("irc-your-host", server = server, version = version.as_str())]).write(out);
    num(n::RPL_CREATED, &[&t!("irc-created", at = service.created.as_str())]).write(out);
    num(n::RPL_MYINFO, &[server, &version, "i", "bnot", "bkov"]).write(out);
    let tokens = service.isupport();
    for chunk in tokens.chunks(12) {
        let mut params: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let text = t!("irc-isupport");
        params.push(&text);
        num(n::RPL_ISUPPORT, &params).write(out);
    }
    lusers(service, nick, out);
    motd(service, nick, out);
    if service.config.auto_join {
        Message::new("JOIN", [channel]).from_source(source(nick)).write(out);
    }
}

/// RPL_LUSERCLIENT and friends.
pub fn lusers(service: &IrcService, nick: &str, out: &mut Vec<u8>) {
    let users = service.chat.room.online();
    let local = service.chat.room.local();
    let num = |code: &str, params: &[&str]| numeric(service, code, nick, params);
    num(n::RPL_LUSERCLIENT, &[&t!("irc-luser-client", users = users)]).write(out);
    let channels = service.chat.room_list("").1.len().to_string();
    num(n::RPL_LUSERCHANNELS, &[&channels, &t!("irc-luser-channels")]).write(out);
    num(n::RPL_LUSERME, &[&t!("irc-luser-me", clients = local)]).write(out);
    let (l, u) = (local.to_string(), users.to_string());
    num(n::RPL_LOCALUSERS, &[&l, &l, &t!("irc-local-users", count = local)]).write(out);
    num(n::RPL_GLOBALUSERS, &[&u, &u, &t!("irc-global-users", count = users)]).write(out);
}

/// The message of the day, or ERR_NOMOTD.
pub fn motd(service: &IrcService, nick: &str, out: &mut Vec<u8>) {
    let num = |code: &str, params: &[&str]| numeric(service, code, nick, params);
    if service.motd.is_empty() {
        return num(n::ERR_NOMOTD, &[&t!("irc-no-motd")]).write(out);
    }
    num(n::RPL_MOTDSTART, &[&t!("irc-motd-start", server = service.server_name.as_ref())]).write(out);
    for line in &service.motd {
        num(n::RPL_MOTD, &[&format!("- {line}")]).write(out);
    }
    num(n::RPL_ENDOFMOTD, &[&t!("irc-motd-end")]).write(out);
}

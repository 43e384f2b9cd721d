//! What a registered IRC user can do: talk (PRIVMSG/NOTICE to the channel or to a nick, which
//! is a whisper), look around (NAMES, WHO, WHOIS, LIST, TOPIC, MODE, MOTD, LUSERS, USERHOST,
//! ISON, VERSION, TIME), AWAY, and, for admins, KICK. Everything that changes the chat goes
//! through the chat session; its errors come back as the numerics IRC clients expect.

use sockhub_i18n::{Msg, msg};
use sockhub_proto::chat::ChatRequest;
use sockhub_proto::error::{ErrorCode, ErrorEvent};
use sockhub_proto::irc::{Message, numeric as n};
use sockhub_proto::time;

use super::render::{self, Line, Raw, source};
use super::session::IrcSession;
use super::{AWAY_LEN, Away};
use crate::net::outbox::Frame;
use crate::session::Flow;

/// The most targets one PRIVMSG or NOTICE may name (`TARGMAX`).
const MAX_TARGETS: usize = 4;
/// Names per RPL_NAMREPLY line, in bytes of names.
const NAMES_PER_LINE: usize = 400;

impl IrcSession {
    /// One command of a registered user.
    pub(super) async fn command(&mut self, m: Message) -> Flow {
        match m.command.as_str() {
            "PING" => self.pong(&m),
            "PONG" | "TAGMSG" => Flow::Continue,
            "CAP" => self.cap(&m).await,
            "QUIT" => Flow::Close(msg!("ending-goodbye")),
            "PASS" | "USER" => self.reply(n::ERR_ALREADYREGISTERED, &[], msg!("irc-already-registered")),
            "NICK" => self.nick_change(&m),
            "AUTHENTICATE" => self.reply(n::ERR_SASLALREADY, &[], msg!("irc-sasl-already")),
            "PRIVMSG" => self.privmsg(&m, false).await,
            "NOTICE" => self.privmsg(&m, true).await,
            "JOIN" => self.join(&m),
            "PART" => self.part(&m),
            "NAMES" => {
                let channel = m.param(0).unwrap_or(self.service.channel()).to_owned();
                self.send(self.names_lines(&channel));
                Flow::Continue
            }
            "WHO" => self.who(&m),
            "WHOIS" => self.whois(&m),
            "TOPIC" => self.topic(&m),
            "LIST" => self.list(),
            "AWAY" => self.away(&m),
            "MODE" => self.mode(&m),
            "KICK" => self.kick(&m).await,
            "MOTD" => self.raw(render::motd),
            "LUSERS" => self.raw(render::lusers),
            "VERSION" => {
                let version = self.service.version();
                self.reply(n::RPL_VERSION, &[&version, &self.service.server_name], msg!("irc-version"))
            }
            "TIME" => {
                let now = time::rfc3339_ms(&time::now());
                self.reply(n::RPL_TIME, &[&self.service.server_name], Msg::text(now))
            }
            "USERHOST" => {
                let found: Vec<String> = m
                    .params
                    .iter()
                    .take(5)
                    .filter_map(|nick| self.online_name(nick))
                    .map(|name| format!("{name}=+{name}@{}", render::HOST))
                    .collect();
                self.reply(n::RPL_USERHOST, &[], Msg::text(found.join(" ")))
            }
            "ISON" => {
                let found: Vec<String> = m
                    .params
                    .iter()
                    .flat_map(|p| p.split(' '))
                    .filter_map(|nick| self.online_name(nick))
                    .collect();
                self.reply(n::RPL_ISON, &[], Msg::text(found.join(" ")))
            }
            command => self.reply(n::ERR_UNKNOWNCOMMAND, &[command], msg!("irc-unknown-command")),
        }
    }

    /// Lines written by one of the render helpers, in this connection's language.
    fn raw(&self, write: fn(&super::IrcService, &str, &mut Vec<u8>)) -> Flow {
        let nick = self.nick();
        let bytes = self.outbox.lang().scope(|| {
            let mut out = Vec::new();
            write(&self.service, &nick, &mut out);
            out
        });
        self.outbox.send(Raw(bytes));
        Flow::Continue
    }

    /// The name as the chat shows it, if `nick` is online.
    fn online_name(&self, nick: &str) -> Option<String> {
        let located = self.service.chat.room.locate(&crate::names::key(nick))?;
        Some(located.name().to_owned())
    }

    fn nick_change(&self, m: &Message) -> Flow {
        match m.param(0) {
            None => self.reply(n::ERR_NONICKNAMEGIVEN, &[], msg!("irc-no-nick")),
            Some(nick) if crate::names::key(nick) == crate::names::key(&self.nick()) => Flow::Continue,
            Some(nick) => self.reply(n::ERR_ERRONEUSNICKNAME, &[nick], msg!("irc-nick-fixed")),
        }
    }

    async fn privmsg(&mut self, m: &Message, notice: bool) -> Flow {
        let command = if notice { "NOTICE" } else { "PRIVMSG" };
        let Some(targets) = m.param(0).filter(|t| !t.is_empty()) else {
            if notice {
                return Flow::Continue;
            }
            return self.reply(n::ERR_NORECIPIENT, &[], msg!("irc-no-recipient", command = command));
        };
        let Some(text) = m.param(1).filter(|t| !t.is_empty()) else {
            if notice {
                return Flow::Continue;
            }
            return self.reply(n::ERR_NOTEXTTOSEND, &[], msg!("chat-nothing-to-say"));
        };
        // CTCP other than ACTION (VERSION, PING to a user...) means nothing across transports.
        let Some(text) = plain_text(text) else { return Flow::Continue };
        for target in targets.split(',').filter(|t| !t.is_empty()).take(MAX_TARGETS) {
            let request = if target.starts_with('#') {
                if !self.service.is_channel(target) {
                    if !notice {
                        self.reply(n::ERR_NOSUCHCHANNEL, &[target], msg!("irc-no-such-channel"));
                    }
                    continue;
                }
                ChatRequest::Say { text: text.clone(), room: Some(target.to_owned()) }
            } else {
                ChatRequest::Whisper { to: target.to_owned(), text: text.clone() }
            };
            match self.chat.request(request).await {
                Ok(_) if !notice && !target.starts_with('#') => {
                    if let Some(away) = self.service.user(target).and_then(|u| Some((u.name, u.away?))) {
                        self.reply(n::RPL_AWAY, &[&away.0], Msg::text(away.1));
                    }
                }
                Ok(_) => {}
                Err(_) if notice => {}
                Err(e) => {
                    self.chat_error(command, target, e);
                }
            }
        }
        Flow::Continue
    }

    /// A chat error as the numeric an IRC client expects for `command` on `target`.
    pub(super) fn chat_error(&self, command: &str, target: &str, e: ErrorEvent) -> Flow {
        match e.code {
            ErrorCode::Muted | ErrorCode::InvalidText => {
                self.reply(n::ERR_CANNOTSENDTOCHAN, &[target], e.message)
            }
            ErrorCode::EmptyMessage => self.reply(n::ERR_NOTEXTTOSEND, &[], e.message),
            ErrorCode::NoSuchUser if command == "KICK" => {
                self.reply(n::ERR_USERNOTINCHANNEL, &[target, self.service.channel()], e.message)
            }
            ErrorCode::NoSuchUser => self.reply(n::ERR_NOSUCHNICK, &[target], e.message),
            ErrorCode::Forbidden => self.reply(n::ERR_CHANOPRIVSNEEDED, &[self.service.channel()], e.message),
            code => self.fail(command, &code.as_str().to_ascii_uppercase(), e.message),
        }
    }

    fn join(&self, m: &Message) -> Flow {
        let Some(channels) = m.param(0) else {
            return self.reply(n::ERR_NEEDMOREPARAMS, &["JOIN"], msg!("irc-need-more-params"));
        };
        if channels == "0" {
            return Flow::Continue;
        }
        for channel in channels.split(',').filter(|c| !c.is_empty()) {
            // Already in the one channel since registration.
            if !self.service.is_channel(channel) {
                self.reply(n::ERR_NOSUCHCHANNEL, &[channel], msg!("irc-no-such-channel"));
            }
        }
        Flow::Continue
    }

    fn part(&self, m: &Message) -> Flow {
        let Some(channels) = m.param(0) else {
            return self.reply(n::ERR_NEEDMOREPARAMS, &["PART"], msg!("irc-need-more-params"));
        };
        for channel in channels.split(',').filter(|c| !c.is_empty()) {
            if self.service.is_channel(channel) {
                self.fail("PART", "CANNOT_PART", msg!("irc-cannot-part"));
            } else {
                self.reply(n::ERR_NOSUCHCHANNEL, &[channel], msg!("irc-no-such-channel"));
            }
        }
        Flow::Continue
    }

    /// Whether `name` shows as a channel operator: an admin logged in on this node.
    fn is_op(&self, name: &str) -> bool {
        self.service.chat.auth.bans().is_online_admin(name)
    }

    /// RPL_NAMREPLY lines and RPL_ENDOFNAMES for `channel`.
    pub(super) fn names_lines(&self, channel: &str) -> Vec<Line> {
        let mut lines = Vec::new();
        if self.service.is_channel(channel) {
            let channel = self.service.channel();
            let mut batch = String::new();
            for name in self.service.chat.room.names() {
                if batch.len() + name.len() > NAMES_PER_LINE {
                    lines.push(self.numeric(
                        n::RPL_NAMREPLY,
                        &["=", channel],
                        Msg::text(std::mem::take(&mut batch)),
                    ));
                }
                if !batch.is_empty() {
                    batch.push(' ');
                }
                if self.is_op(&name) {
                    batch.push('@');
                }
                batch.push_str(&name);
            }
            lines.push(self.numeric(n::RPL_NAMREPLY, &["=", channel], Msg::text(batch)));
        }
        lines.push(self.numeric(n::RPL_ENDOFNAMES, &[channel], msg!("irc-end-of-names")));
        lines
    }

    /// The RPL_WHOREPLY of one user.
    fn who_line(&self, name: &str) -> Line {
        let user = self.service.user(name);
        let away = user.as_ref().is_some_and(|u| u.away.is_some());
        let flags = format!("{}{}", if away { "G" } else { "H" }, if self.is_op(name) { "@" } else { "" });
        let realname = user.map(|u| u.realname).unwrap_or_else(|| name.to_owned());
        let server = self.service.server_name.to_string();
        let params = [self.service.channel(), name, render::HOST, &server, name, &flags];
        self.numeric(n::RPL_WHOREPLY, &params, Msg::text(format!("0 {realname}")))
    }

    fn who(&self, m: &Message) -> Flow {
        let mask = m.param(0).unwrap_or("*").to_owned();
        let mut lines = Vec::new();
        if self.service.is_channel(&mask) || mask == "*" {
            lines.extend(self.service.chat.room.names().iter().map(|name| self.who_line(name)));
        } else if let Some(name) = self.online_name(&mask) {
            lines.push(self.who_line(&name));
        }
        lines.push(self.numeric(n::RPL_ENDOFWHO, &[&mask], msg!("irc-end-of-who")));
        self.send(lines);
        Flow::Continue
    }

    fn whois(&self, m: &Message) -> Flow {
        // `WHOIS server nick` names the server first.
        let Some(target) = m.params.last().filter(|t| !t.is_empty()).cloned() else {
            return self.reply(n::ERR_NONICKNAMEGIVEN, &[], msg!("irc-no-nick"));
        };
        let mut lines = Vec::new();
        match self.online_name(&target) {
            None => lines.push(self.numeric(n::ERR_NOSUCHNICK, &[&target], msg!("irc-no-such-nick"))),
            Some(name) => {
                let user = self.service.user(&name);
                let realname = user.as_ref().map(|u| u.realname.clone()).unwrap_or_else(|| name.clone());
                lines.push(self.numeric(
                    n::RPL_WHOISUSER,
                    &[&name, &name, render::HOST, "*"],
                    Msg::text(realname),
                ));
                let op = if self.is_op(&name) { "@" } else { "" };
                let channels = format!("{op}{}", self.service.channel());
                lines.push(self.numeric(n::RPL_WHOISCHANNELS, &[&name], Msg::text(channels)));
                let server = self.service.server_name.to_string();
                lines.push(self.numeric(n::RPL_WHOISSERVER, &[&name, &server], msg!("irc-server-info")));
                if let Some(away) = user.as_ref().and_then(|u| u.away.clone()) {
                    lines.push(self.numeric(n::RPL_AWAY, &[&name], Msg::text(away)));
                }
                if let Some(account) = self.service.account_of(&name) {
                    lines.push(self.numeric(
                        n::RPL_WHOISACCOUNT,
                        &[&name, &account],
                        msg!("irc-logged-in-as"),
                    ));
                }
            }
        }
        lines.push(self.numeric(n::RPL_ENDOFWHOIS, &[&target], msg!("irc-end-of-whois")));
        self.send(lines);
        Flow::Continue
    }

    fn topic(&self, m: &Message) -> Flow {
        let Some(channel) = m.param(0) else {
            return self.reply(n::ERR_NEEDMOREPARAMS, &["TOPIC"], msg!("irc-need-more-params"));
        };
        if !self.service.is_channel(channel) {
            return self.reply(n::ERR_NOSUCHCHANNEL, &[channel], msg!("irc-no-such-channel"));
        }
        if m.param(1).is_some() {
            if !self.is_admin_here() {
                return self.reply(n::ERR_CHANOPRIVSNEEDED, &[channel], msg!("error-admins-only"));
            }
            return self.fail("TOPIC", "NO_TOPICS", msg!("irc-no-topics"));
        }
        self.reply(n::RPL_NOTOPIC, &[self.service.channel()], msg!("irc-no-topic"))
    }

    fn is_admin_here(&self) -> bool {
        self.chat.identity().is_some_and(|i| i.is_admin())
    }

    fn list(&self) -> Flow {
        let count = self.service.chat.room.online().to_string();
        self.send(vec![
            self.numeric(n::RPL_LISTSTART, &["Channel"], msg!("irc-list-start")),
            self.numeric(n::RPL_LIST, &[self.service.channel(), &count], Msg::text("")),
            self.numeric(n::RPL_LISTEND, &[], msg!("irc-list-end")),
        ]);
        Flow::Continue
    }

    fn away(&self, m: &Message) -> Flow {
        let nick = self.nick();
        let text = m.param(0).filter(|t| !t.is_empty()).map(|t| {
            let mut end = t.len().min(AWAY_LEN);
            while !t.is_char_boundary(end) {
                end -= 1;
            }
            t[..end].to_owned()
        });
        self.service.set_away(&nick, text.clone());
        let away = text.is_some();
        self.service.chat.room.broadcast(&Frame::new(Away { name: nick, text }));
        match away {
            true => self.reply(n::RPL_NOWAWAY, &[], msg!("irc-now-away")),
            false => self.reply(n::RPL_UNAWAY, &[], msg!("irc-unaway")),
        }
    }

    fn mode(&self, m: &Message) -> Flow {
        let Some(target) = m.param(0) else {
            return self.reply(n::ERR_NEEDMOREPARAMS, &["MODE"], msg!("irc-need-more-params"));
        };
        let nick = self.nick();
        if !target.starts_with('#') {
            if crate::names::key(target) != crate::names::key(&nick) {
                return self.reply(n::ERR_USERSDONTMATCH, &[], msg!("irc-users-dont-match"));
            }
            return match m.param(1) {
                None => self.reply(n::RPL_UMODEIS, &[], Msg::text("+i")),
                Some(_) => Flow::Continue,
            };
        }
        if !self.service.is_channel(target) {
            return self.reply(n::ERR_NOSUCHCHANNEL, &[target], msg!("irc-no-such-channel"));
        }
        let channel = self.service.channel();
        match m.param(1) {
            None => {
                self.send(vec![self.numeric(n::RPL_CHANNELMODEIS, &[channel], Msg::text("+nt"))]);
                Flow::Continue
            }
            Some("b" | "+b") if m.param(2).is_none() => {
                self.reply(n::RPL_ENDOFBANLIST, &[channel], msg!("irc-end-of-bans"))
            }
            Some(_) if !self.is_admin_here() => {
                self.reply(n::ERR_CHANOPRIVSNEEDED, &[channel], msg!("error-admins-only"))
            }
            Some(modes) => {
                let c = modes.trim_start_matches(['+', '-']).chars().next().unwrap_or('?').to_string();
                self.reply(n::ERR_UNKNOWNMODE, &[&c], msg!("irc-unknown-mode"))
            }
        }
    }

    async fn kick(&mut self, m: &Message) -> Flow {
        let (Some(channel), Some(target)) = (m.param(0), m.param(1)) else {
            return self.reply(n::ERR_NEEDMOREPARAMS, &["KICK"], msg!("irc-need-more-params"));
        };
        if !self.service.is_channel(channel) {
            return self.reply(n::ERR_NOSUCHCHANNEL, &[channel], msg!("irc-no-such-channel"));
        }
        let reason = m.param(2).filter(|r| !r.is_empty()).map(str::to_owned);
        let (target, room) = (target.to_owned(), Some(channel.to_owned()));
        match self.chat.request(ChatRequest::Kick { name: target.clone(), reason, room }).await {
            Ok(flow) => flow,
            Err(e) => self.chat_error("KICK", &target, e),
        }
    }
}

/// The text of a PRIVMSG as the chat takes it: IRC formatting codes (bold, colours, ...) left
/// out, a CTCP ACTION (`/me waves`) as `*waves*`; `None` for any other CTCP.
pub(super) fn plain_text(text: &str) -> Option<String> {
    let text = match text.strip_prefix('\u{1}') {
        Some(ctcp) => {
            let ctcp = ctcp.strip_suffix('\u{1}').unwrap_or(ctcp);
            format!("*{}*", ctcp.strip_prefix("ACTION ")?)
        }
        None => text.to_owned(),
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{2}' | '\u{f}' | '\u{11}' | '\u{16}' | '\u{1d}' | '\u{1e}' | '\u{1f}' => {}
            // Colour: \x03 then up to two digits, optionally a comma and up to two more.
            '\u{3}' => {
                for _ in 0..2 {
                    chars.next_if(char::is_ascii_digit);
                }
                if chars.peek() == Some(&',') {
                    let mut ahead = chars.clone();
                    ahead.next();
                    if ahead.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                        for _ in 0..2 {
                            chars.next_if(char::is_ascii_digit);
                        }
                    }
                }
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// Say who is away to the channel's IRC users with `away-notify` (nothing for other transports).
pub(super) fn away_line(away: &Away) -> Message {
    Message::new("AWAY", away.text.iter().cloned()).from_source(source(&away.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_is_left_out_and_actions_kept() {
        assert_eq!(plain_text("\u{2}bold\u{2} \u{3}04,01red\u{3} 5").unwrap(), "bold red 5");
        assert_eq!(plain_text("\u{3}12,x").unwrap(), ",x");
        assert_eq!(plain_text("\u{1}ACTION waves\u{1}").unwrap(), "*waves*");
        assert_eq!(plain_text("\u{1}VERSION\u{1}"), None);
        assert_eq!(plain_text("안녕하세요").unwrap(), "안녕하세요");
    }
}

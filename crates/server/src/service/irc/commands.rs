//! What a registered IRC user can do: talk (PRIVMSG/NOTICE to a channel or to a nick, which is a
//! whisper), MOTD, LUSERS, USERHOST, ISON, VERSION, TIME, AWAY, and, for admins, KICK; the
//! channel commands are in [`super::channels`]. Everything that changes the chat goes through
//! the chat session; its errors come back as the numerics IRC clients expect.

use sockhub_i18n::{Msg, msg};
use sockhub_proto::chat::ChatRequest;
use sockhub_proto::error::{ErrorCode, ErrorEvent};
use sockhub_proto::irc::{Message, numeric as n};
use sockhub_proto::time;

use super::render::{self, Raw, source};
use super::session::IrcSession;
use super::{AWAY_LEN, Away};
use crate::net::outbox::Frame;
use crate::session::Flow;

/// The most targets one PRIVMSG or NOTICE may name (`TARGMAX`).
const MAX_TARGETS: usize = 4;

impl IrcSession {
    /// One command of a registered user.
    pub(super) async fn command(&mut self, m: Message) -> Flow {
        match m.command.as_str() {
            "PING" => self.pong(&m),
            "PONG" => Flow::Continue,
            "TAGMSG" => self.tagmsg(&m),
            "CAP" => self.cap(&m).await,
            "QUIT" => Flow::Close(msg!("ending-goodbye")),
            "PASS" | "USER" => self.reply(n::ERR_ALREADYREGISTERED, &[], msg!("irc-already-registered")),
            "NICK" => self.nick_change(&m),
            // Logging in to another account after registration would change who this user is
            // in the chat: a logged-in user is told so, a guest that SASL ends with registration.
            "AUTHENTICATE" if self.service.account_of(&self.nick()).is_some() => {
                self.reply(n::ERR_SASLALREADY, &[], msg!("irc-sasl-already"))
            }
            "AUTHENTICATE" => self.reply(n::ERR_ALREADYREGISTERED, &[], msg!("irc-already-registered")),
            "PRIVMSG" => self.privmsg(&m, false).await,
            "NOTICE" => self.privmsg(&m, true).await,
            "JOIN" => self.join(&m).await,
            "PART" => self.part(&m).await,
            "NAMES" => {
                let channel = m.param(0).unwrap_or(self.service.channel()).to_owned();
                for channel in channel.split(',') {
                    self.send(self.names_lines(channel));
                }
                Flow::Continue
            }
            "WHO" => self.who(&m),
            "WHOIS" => self.whois(&m),
            "TOPIC" => self.topic(&m).await,
            "LIST" => self.list(&m),
            "AWAY" => self.away(&m),
            "MODE" => self.mode(&m).await,
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
                    .map(|name| {
                        let away = self.service.user(&name).is_some_and(|u| u.away.is_some());
                        let shown = render::nick(&name);
                        let user = self.service.user(&name).map_or_else(|| shown.to_string(), |u| u.user);
                        format!("{shown}={}{user}@{}", if away { '-' } else { '+' }, render::HOST)
                    })
                    .collect();
                self.reply(n::RPL_USERHOST, &[], Msg::text(found.join(" ")))
            }
            "ISON" => {
                let found: Vec<String> = m
                    .params
                    .iter()
                    .flat_map(|p| p.split(' '))
                    .filter_map(|nick| self.online_nick(nick))
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
    pub(super) fn online_name(&self, nick: &str) -> Option<String> {
        let located = self.service.chat.room.locate(&crate::names::key(nick))?;
        Some(located.name().to_owned())
    }

    /// [`Self::online_name`] as IRC shows it ([`render::nick`]).
    fn online_nick(&self, nick: &str) -> Option<String> {
        self.online_name(nick).map(|name| render::nick(&name).into_owned())
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
        // A client's own tags (`+key`) go with the line to IRC readers that asked for tags.
        let tags = client_tags(m);
        for target in targets.split(',').filter(|t| !t.is_empty()).take(MAX_TARGETS) {
            let request = if target.starts_with('#') {
                ChatRequest::Say {
                    text: text.clone(),
                    room: Some(target.to_owned()),
                    notice,
                    tags: tags.clone(),
                }
            } else {
                ChatRequest::Whisper { to: target.to_owned(), text: text.clone(), notice, tags: tags.clone() }
            };
            match self.chat.request(request).await {
                Ok(_) if !notice && !target.starts_with('#') => {
                    if let Some(away) = self.service.user(target).and_then(|u| Some((u.name, u.away?))) {
                        self.reply(n::RPL_AWAY, &[&render::nick(&away.0)], Msg::text(away.1));
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

    /// TAGMSG to a channel one is in (and may speak in): its client-only tags go to the room's
    /// IRC readers here that asked for tags. Anything else is dropped without a reply, as for a
    /// NOTICE.
    fn tagmsg(&self, m: &Message) -> Flow {
        let tags = client_tags(m);
        let chat = &self.service.chat;
        let key = crate::names::key(&self.nick());
        let Some(Ok(room)) =
            m.param(0).filter(|t| t.starts_with('#')).map(|t| chat.rooms.resolve(&key, Some(t)))
        else {
            return Flow::Continue;
        };
        let nick = self.nick();
        if tags.is_empty() || chat.moderation.check(&nick, Some(&room), sockhub_proto::time::now()).is_err() {
            return Flow::Continue;
        }
        let id = chat.next_line_id();
        chat.rooms.broadcast(
            &room,
            sockhub_proto::chat::ChatEvent::Tagged { from: nick, room: room.clone(), id, tags },
        );
        Flow::Continue
    }

    /// A chat error as the numeric an IRC client expects for `command` on `target`.
    pub(super) fn chat_error(&self, command: &str, target: &str, e: ErrorEvent) -> Flow {
        self.chat_error_in(command, target, self.service.channel(), e)
    }

    /// [`Self::chat_error`] for a command about `channel` (KICK, TOPIC).
    pub(super) fn chat_error_in(&self, command: &str, target: &str, channel: &str, e: ErrorEvent) -> Flow {
        match e.code {
            ErrorCode::Muted | ErrorCode::InvalidText => {
                self.reply(n::ERR_CANNOTSENDTOCHAN, &[target], e.message)
            }
            // PRIVMSG to a channel one is not in: cannot send (no external messages).
            ErrorCode::NotInRoom if command == "PRIVMSG" => {
                self.reply(n::ERR_CANNOTSENDTOCHAN, &[target], e.message)
            }
            ErrorCode::NotInRoom => self.reply(n::ERR_NOTONCHANNEL, &[channel], e.message),
            ErrorCode::NoSuchRoom | ErrorCode::RoomsAdminOnly => {
                self.reply(n::ERR_NOSUCHCHANNEL, &[channel], e.message)
            }
            ErrorCode::BadRoomName => self.reply(n::ERR_BADCHANMASK, &[channel], e.message),
            ErrorCode::TooManyRooms | ErrorCode::RoomLimit => {
                self.reply(n::ERR_TOOMANYCHANNELS, &[channel], e.message)
            }
            ErrorCode::EmptyMessage => self.reply(n::ERR_NOTEXTTOSEND, &[], e.message),
            ErrorCode::NoSuchUser if command == "KICK" => {
                self.reply(n::ERR_USERNOTINCHANNEL, &[target, channel], e.message)
            }
            ErrorCode::NoSuchUser => self.reply(n::ERR_NOSUCHNICK, &[target], e.message),
            ErrorCode::Forbidden => self.reply(n::ERR_CHANOPRIVSNEEDED, &[channel], e.message),
            code => self.fail(command, &code.as_str().to_ascii_uppercase(), e.message),
        }
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

    async fn kick(&mut self, m: &Message) -> Flow {
        let (Some(channel), Some(target)) = (m.param(0), m.param(1)) else {
            return self.reply(n::ERR_NEEDMOREPARAMS, &["KICK"], msg!("irc-need-more-params"));
        };
        let reason = m.param(2).filter(|r| !r.is_empty()).map(str::to_owned);
        let (target, channel) = (target.to_owned(), channel.to_owned());
        if self.service.chat.room_members(&crate::names::key(&self.nick()), Some(&channel)).is_err() {
            return self.reply(n::ERR_NOSUCHCHANNEL, &[&channel], msg!("irc-no-such-channel"));
        }
        let room = Some(channel.clone());
        match self.chat.request(ChatRequest::Kick { name: target.clone(), reason, room }).await {
            Ok(flow) => flow,
            Err(e) => self.chat_error_in("KICK", &target, &channel, e),
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

/// A message's client-only tags (`+key`, with their values), in the order sent: what PRIVMSG,
/// NOTICE and TAGMSG pass on to the IRC readers that asked for tags. Server tags are left out.
fn client_tags(m: &Message) -> Vec<(String, Option<String>)> {
    m.tags.iter().filter(|t| t.key.starts_with('+')).map(|t| (t.key.clone(), t.value.clone())).collect()
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

    #[test]
    fn only_client_tags_are_passed_on() {
        let m = Message::parse("@+a=1;time=2026-01-01T00:00:00Z;+b;msgid=x TAGMSG #lobby").unwrap();
        let want = [("+a".to_owned(), Some("1".to_owned())), ("+b".to_owned(), None)];
        assert_eq!(client_tags(&m), want);
    }
}

//! Channels are the chat's rooms: JOIN, PART, NAMES, WHO, WHOIS, TOPIC, LIST and MODE, through
//! the chat's room API (creating a room by joining it, limits, topics set by admins and so on
//! are the chat's rules). What the room tells its members (joins, parts, topics) reaches IRC
//! users through their encoder, like any other member.

use sockhub_i18n::{Msg, msg};
use sockhub_proto::chat::{ChatEvent, ChatRequest};
use sockhub_proto::irc::{Message, numeric as n};

use super::caps::Cap;
use super::render::{self, Line};
use super::session::IrcSession;
use crate::names;
use crate::session::Flow;

/// Names per RPL_NAMREPLY line, in bytes of names.
const NAMES_PER_LINE: usize = 400;

impl IrcSession {
    fn key(&self) -> String {
        names::key(&self.nick())
    }

    pub(super) fn is_admin_here(&self) -> bool {
        self.chat.identity().is_some_and(|i| i.is_admin())
    }

    /// Whether `name` shows as an operator of `channel` (`None`: of any channel): an admin
    /// logged in on this node, or an operator of that room.
    fn is_op(&self, name: &str, channel: Option<&str>) -> bool {
        self.service.chat.auth.bans().is_online_admin(name)
            || channel.is_some_and(|c| self.service.chat.rooms.is_op(c, &names::key(name)))
    }

    /// The rooms this user is in.
    fn my_rooms(&self) -> Vec<String> {
        self.service.chat.rooms_of(&self.key()).0
    }

    pub(super) async fn join(&mut self, m: &Message) -> Flow {
        let Some(channels) = m.param(0) else {
            return self.reply(n::ERR_NEEDMOREPARAMS, &["JOIN"], msg!("irc-need-more-params"));
        };
        if channels == "0" {
            for room in self.my_rooms() {
                let _ = self.chat.request(ChatRequest::Part { room: Some(room), reason: None }).await;
            }
            return Flow::Continue;
        }
        for channel in channels.split(',').filter(|c| !c.is_empty()) {
            let key = crate::service::chat::rooms::key(channel);
            if self.my_rooms().iter().any(|r| crate::service::chat::rooms::key(r) == key) {
                continue;
            }
            // The room sends our JOIN (and its topic and history) before this returns.
            match self.chat.request(ChatRequest::Join { room: channel.to_owned() }).await {
                Ok(_) => self.send(self.names_lines(channel)),
                Err(e) => {
                    self.chat_error_in("JOIN", channel, channel, e);
                }
            }
        }
        Flow::Continue
    }

    pub(super) async fn part(&mut self, m: &Message) -> Flow {
        let Some(channels) = m.param(0) else {
            return self.reply(n::ERR_NEEDMOREPARAMS, &["PART"], msg!("irc-need-more-params"));
        };
        let reason = m.param(1).filter(|r| !r.is_empty()).map(str::to_owned);
        for channel in channels.split(',').filter(|c| !c.is_empty()) {
            // The room sends our PART.
            let request = ChatRequest::Part { room: Some(channel.to_owned()), reason: reason.clone() };
            if let Err(e) = self.chat.request(request).await {
                self.chat_error_in("PART", channel, channel, e);
            }
        }
        Flow::Continue
    }

    /// RPL_NAMREPLY lines and RPL_ENDOFNAMES for `channel` (only the end when there is no such
    /// room).
    pub(super) fn names_lines(&self, channel: &str) -> Vec<Line> {
        let mut lines = Vec::new();
        let mut end = channel.to_owned();
        let userhost = self.conn.lock().caps.has(Cap::UserhostInNames);
        if let Ok((room, names)) = self.service.chat.room_members(&self.key(), Some(channel)) {
            let mut batch = String::new();
            for name in names {
                if !batch.is_empty() && batch.len() + name.len() > NAMES_PER_LINE {
                    lines.push(self.numeric(
                        n::RPL_NAMREPLY,
                        &["=", &room],
                        Msg::text(std::mem::take(&mut batch)),
                    ));
                }
                if !batch.is_empty() {
                    batch.push(' ');
                }
                if self.is_op(&name, Some(&room)) {
                    batch.push('@');
                }
                match userhost {
                    true => batch.push_str(&self.userhost(&name)),
                    false => batch.push_str(&render::nick(&name)),
                }
            }
            lines.push(self.numeric(n::RPL_NAMREPLY, &["=", &room], Msg::text(batch)));
            end = room;
        }
        lines.push(self.numeric(n::RPL_ENDOFNAMES, &[&end], msg!("irc-end-of-names")));
        lines
    }

    /// `nick!user@host` of `name`: the user name given with USER for IRC users on this node.
    fn userhost(&self, name: &str) -> String {
        let user = self.service.user(name).map_or_else(|| render::nick(name).into_owned(), |u| u.user);
        format!("{}!{user}@{}", render::nick(name), render::HOST)
    }

    /// The RPL_WHOREPLY of one user seen in `channel` (`*`: none in particular).
    fn who_line(&self, channel: &str, name: &str) -> Line {
        let user = self.service.user(name);
        let away = user.as_ref().is_some_and(|u| u.away.is_some());
        let op = self.is_op(name, Some(channel).filter(|c| *c != "*"));
        let flags = format!("{}{}", if away { "G" } else { "H" }, if op { "@" } else { "" });
        let (username, realname) = match user {
            Some(u) => (u.user, u.realname),
            None => (render::nick(name).into_owned(), name.to_owned()),
        };
        let server = self.service.server_name.to_string();
        let params = [channel, &username, render::HOST, &server, &render::nick(name), &flags];
        self.numeric(n::RPL_WHOREPLY, &params, Msg::text(format!("0 {realname}")))
    }

    pub(super) fn who(&self, m: &Message) -> Flow {
        let mask = m.param(0).unwrap_or("*").to_owned();
        let mut lines = Vec::new();
        if mask.starts_with('#') {
            if let Ok((room, names)) = self.service.chat.room_members(&self.key(), Some(&mask)) {
                lines.extend(names.iter().map(|name| self.who_line(&room, name)));
            }
        } else if mask.contains(['*', '?']) {
            // Every user is invisible (`+i`): a mask finds only those who share a room with the
            // asker, and the asker; a plain nick finds anyone online.
            let pattern = names::key(&mask);
            let mine = self.my_rooms();
            let visible = |name: &str| {
                let key = names::key(name);
                key == self.key() || self.service.chat.rooms_of(&key).0.iter().any(|r| mine.contains(r))
            };
            let names = self.service.chat.room.names();
            let matching = names.iter().filter(|name| glob(&pattern, &names::key(name)) && visible(name));
            lines.extend(matching.map(|name| self.who_line("*", name)));
        } else if let Some(name) = self.online_name(&mask) {
            lines.push(self.who_line("*", &name));
        }
        lines.push(self.numeric(n::RPL_ENDOFWHO, &[&mask], msg!("irc-end-of-who")));
        self.send(lines);
        Flow::Continue
    }

    pub(super) fn whois(&self, m: &Message) -> Flow {
        // `WHOIS server nick` names the server first.
        let Some(target) = m.params.last().filter(|t| !t.is_empty()).cloned() else {
            return self.reply(n::ERR_NONICKNAMEGIVEN, &[], msg!("irc-no-nick"));
        };
        let mut lines = Vec::new();
        match self.online_name(&target) {
            None => lines.push(self.numeric(n::ERR_NOSUCHNICK, &[&target], msg!("irc-no-such-nick"))),
            Some(name) => {
                let user = self.service.user(&name);
                let (username, realname) = match &user {
                    Some(u) => (u.user.clone(), u.realname.clone()),
                    None => (render::nick(&name).into_owned(), name.clone()),
                };
                let shown = render::nick(&name).into_owned();
                lines.push(self.numeric(
                    n::RPL_WHOISUSER,
                    &[&shown, &username, render::HOST, "*"],
                    Msg::text(realname),
                ));
                let rooms = self.service.chat.rooms_of(&names::key(&name)).0;
                if !rooms.is_empty() {
                    let op = |r: &str| if self.is_op(&name, Some(r)) { "@" } else { "" };
                    let channels: Vec<String> = rooms.iter().map(|r| format!("{}{r}", op(r))).collect();
                    lines.push(self.numeric(n::RPL_WHOISCHANNELS, &[&shown], Msg::text(channels.join(" "))));
                }
                let server = self.service.server_name.to_string();
                lines.push(self.numeric(n::RPL_WHOISSERVER, &[&shown, &server], msg!("irc-server-info")));
                if let Some(away) = user.as_ref().and_then(|u| u.away.clone()) {
                    lines.push(self.numeric(n::RPL_AWAY, &[&shown], Msg::text(away)));
                }
                if let Some(account) = self.service.account_of(&name) {
                    lines.push(self.numeric(
                        n::RPL_WHOISACCOUNT,
                        &[&shown, &account],
                        msg!("irc-logged-in-as"),
                    ));
                }
            }
        }
        lines.push(self.numeric(n::RPL_ENDOFWHOIS, &[&target], msg!("irc-end-of-whois")));
        self.send(lines);
        Flow::Continue
    }

    pub(super) async fn topic(&mut self, m: &Message) -> Flow {
        let Some(channel) = m.param(0).map(str::to_owned) else {
            return self.reply(n::ERR_NEEDMOREPARAMS, &["TOPIC"], msg!("irc-need-more-params"));
        };
        if let Some(text) = m.param(1) {
            // Everyone in the room sees the TOPIC change.
            let request = ChatRequest::Topic { room: Some(channel.clone()), topic: Some(text.to_owned()) };
            return match self.chat.request(request).await {
                Ok(flow) => flow,
                Err(e) => self.chat_error_in("TOPIC", &channel, &channel, e),
            };
        }
        match self.service.chat.room_topic(&self.key(), Some(&channel)) {
            Ok(ChatEvent::Topic { room, topic: Some(topic), by, at }) => {
                let by = by.map(|b| render::nick(&b).into_owned()).unwrap_or_default();
                let at = at.map(|t| t.timestamp().to_string()).unwrap_or_default();
                self.send(vec![
                    self.numeric(n::RPL_TOPIC, &[&room], Msg::text(topic)),
                    self.numeric(n::RPL_TOPICWHOTIME, &[&room, &by], Msg::text(at)),
                ]);
                Flow::Continue
            }
            Ok(ChatEvent::Topic { room, .. }) => self.reply(n::RPL_NOTOPIC, &[&room], msg!("irc-no-topic")),
            Ok(_) => Flow::Continue,
            Err(e) => self.chat_error_in("TOPIC", &channel, &channel, e),
        }
    }

    /// RPL_LIST for the rooms that have members (an IRC channel with nobody in it does not
    /// exist), or only for those named (`LIST #a,#b`).
    pub(super) fn list(&self, m: &Message) -> Flow {
        let (_, rooms) = self.service.chat.room_list(&self.key());
        let wanted: Option<Vec<String>> = m
            .param(0)
            .filter(|p| !p.is_empty())
            .map(|p| p.split(',').map(crate::service::chat::rooms::key).collect());
        let named =
            |name: &str| wanted.as_ref().is_none_or(|w| w.contains(&crate::service::chat::rooms::key(name)));
        let mut lines = vec![self.numeric(n::RPL_LISTSTART, &["Channel"], msg!("irc-list-start"))];
        for room in rooms.into_iter().filter(|r| r.members > 0 && named(&r.name)) {
            let count = room.members.to_string();
            lines.push(self.numeric(
                n::RPL_LIST,
                &[&room.name, &count],
                Msg::text(room.topic.unwrap_or_default()),
            ));
        }
        lines.push(self.numeric(n::RPL_LISTEND, &[], msg!("irc-list-end")));
        self.send(lines);
        Flow::Continue
    }

    pub(super) async fn mode(&mut self, m: &Message) -> Flow {
        let Some(target) = m.param(0) else {
            return self.reply(n::ERR_NEEDMOREPARAMS, &["MODE"], msg!("irc-need-more-params"));
        };
        if !target.starts_with('#') {
            if names::key(target) != self.key() {
                return self.reply(n::ERR_USERSDONTMATCH, &[], msg!("irc-users-dont-match"));
            }
            return match m.param(1) {
                None => self.reply(n::RPL_UMODEIS, &[], Msg::text("+i")),
                Some(_) => Flow::Continue,
            };
        }
        let channel = match self.service.chat.room_members(&self.key(), Some(target)) {
            Ok((room, _)) => room,
            Err(_) => return self.reply(n::ERR_NOSUCHCHANNEL, &[target], msg!("irc-no-such-channel")),
        };
        match m.param(1) {
            None => self.reply(n::RPL_CHANNELMODEIS, &[&channel], Msg::text("+nt")),
            Some("b" | "+b") if m.param(2).is_none() => {
                self.reply(n::RPL_ENDOFBANLIST, &[&channel], msg!("irc-end-of-bans"))
            }
            Some(modes @ ("+o" | "-o" | "o")) if m.param(2).is_some() => {
                let name = m.param(2).unwrap_or_default().to_owned();
                let room = Some(channel.clone());
                let request = match modes {
                    "-o" => ChatRequest::Deop { name: name.clone(), room },
                    _ => ChatRequest::Op { name: name.clone(), room },
                };
                match self.chat.request(request).await {
                    Ok(flow) => flow,
                    Err(e) => self.chat_error_in("MODE", &name, &channel, e),
                }
            }
            Some(_) if !self.is_admin_here() && !self.is_op(&self.nick(), Some(&channel)) => {
                self.reply(n::ERR_CHANOPRIVSNEEDED, &[&channel], msg!("error-admins-only"))
            }
            Some(modes) => {
                let c = modes.trim_start_matches(['+', '-']).chars().next().unwrap_or('?').to_string();
                self.reply(n::ERR_UNKNOWNMODE, &[&c], msg!("irc-unknown-mode"))
            }
        }
    }
}

/// Whether `text` matches the IRC wildcard `pattern` (`*`: any run of characters, `?`: one).
pub(super) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn wildcards() {
        assert!(glob("coolni*", "coolnick"));
        assert!(glob("*", ""));
        assert!(glob("c?ol*k", "coolnick"));
        assert!(glob("*민*", "김민수"));
        assert!(!glob("coolni*", "cool"));
        assert!(!glob("a?c", "ac"));
        assert!(!glob("abc", "abcd"));
    }
}

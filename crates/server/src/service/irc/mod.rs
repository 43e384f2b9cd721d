//! The chat's IRC face: an IRC listener whose users are chat members like any other.
//!
//! [`IrcService`] is a [`Service`] of its own (its port, its metrics), but every IRC connection
//! holds a [`ChatSession`](crate::service::chat::ChatSession) and goes through it: the login
//! throttle, bans, name uniqueness across transports, mutes, kicks, flood control, the chat log
//! and several nodes all hold for IRC users because they are the chat's. The IRC session
//! ([`session`], [`commands`]) turns IRC commands into chat requests and answers with numerics;
//! the connection's encoder ([`render`]) turns the chat's events into IRC lines. Channels are
//! the chat's rooms (JOIN, PART, TOPIC, NAMES and LIST go through the chat's room API); every
//! user starts in the default room (`#lobby`). Capabilities and SASL PLAIN are in [`caps`]; the server's PINGs
//! to idle clients in [`ping`].

mod caps;
mod channels;
mod commands;
mod ping;
pub mod render;
mod session;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use sockhub_i18n::t;
use sockhub_proto::Mode;

use crate::config::{Admission, IrcConfig};
use crate::metrics::ServiceMetrics;
use crate::names;
use crate::net::outbox::Outbox;
use crate::service::chat::ChatService;
use crate::session::{Peer, Service};

pub use session::IrcSession;

/// The longest AWAY message, in bytes.
pub const AWAY_LEN: usize = 200;

/// An IRC user went away (`text`) or came back (`None`): told to the channel, and shown only to
/// IRC users with `away-notify` (other transports write nothing for it).
pub struct Away {
    pub name: String,
    pub text: Option<String>,
}

impl sockhub_proto::Wire for Away {
    fn write_json(&self, _: &mut Vec<u8>) {}
    fn write_text(&self, _: &mut Vec<u8>) {}
}

/// What this node knows of one of its IRC users that the chat does not keep.
#[derive(Debug, Clone)]
pub struct IrcUser {
    pub name: String,
    /// The user name and real name given with USER.
    pub user: String,
    pub realname: String,
    /// Logged in to an account (with SASL, or every member in `auth = "accounts"`).
    pub account: bool,
    pub away: Option<String>,
}

/// The IRC listener's shared state.
pub struct IrcService {
    pub(crate) chat: Arc<ChatService>,
    pub(crate) config: IrcConfig,
    pub(crate) server_name: Arc<str>,
    pub(crate) motd: Vec<String>,
    /// When the service started, for RPL_CREATED.
    pub(crate) created: String,
    /// This node's IRC users, by name key.
    users: Mutex<HashMap<String, IrcUser>>,
    metrics: Arc<ServiceMetrics>,
}

impl IrcService {
    /// The IRC face of `chat`. Fails only if the MOTD file cannot be read.
    pub fn new(config: &IrcConfig, chat: Arc<ChatService>) -> std::io::Result<Arc<Self>> {
        Ok(Arc::new(IrcService {
            motd: config.motd_lines()?,
            server_name: config.server_name().into(),
            config: config.clone(),
            created: sockhub_proto::time::rfc3339_ms(&sockhub_proto::time::now()),
            chat,
            users: Mutex::new(HashMap::new()),
            metrics: Arc::default(),
        }))
    }

    /// The channel every user joins at registration: the chat's default room.
    pub fn channel(&self) -> &str {
        self.chat.default_room()
    }

    /// `sockhub-0.1.0`.
    pub fn version(&self) -> String {
        format!("sockhub-{}", env!("CARGO_PKG_VERSION"))
    }

    /// The RPL_ISUPPORT tokens.
    pub fn isupport(&self) -> Vec<String> {
        [
            format!("AWAYLEN={AWAY_LEN}"),
            "CASEMAPPING=rfc8265".into(),
            format!("CHANLIMIT=#:{}", self.chat.config.max_rooms_per_user),
            "CHANMODES=b,k,l,nt".into(),
            format!("CHANNELLEN={}", sockhub_proto::chat::ROOM_NAME_MAX + 1),
            "CHANTYPES=#".into(),
            "ELIST=".into(),
            "KICKLEN=300".into(),
            "MAXTARGETS=4".into(),
            "MODES=1".into(),
            format!("NETWORK={}", self.config.network),
            format!("NICKLEN={}", names::MAX_NAME_CHARS),
            "PREFIX=(ov)@+".into(),
            "TARGMAX=PRIVMSG:4,NOTICE:4,JOIN:4,PART:4,NAMES:1,WHOIS:1".into(),
            "TOPICLEN=300".into(),
            "UTF8ONLY".into(),
        ]
        .into()
    }

    /// The account `name` is logged in to, when known: every member in `auth = "accounts"`,
    /// else IRC users who logged in with SASL (other transports do not say).
    pub fn account_of(&self, name: &str) -> Option<String> {
        if self.chat.config.auth == Admission::Accounts {
            return Some(name.to_owned());
        }
        let users = self.users.lock();
        users.get(&names::key(name)).filter(|u| u.account).map(|u| u.name.clone())
    }

    /// This node's IRC user `name`, if any.
    pub fn user(&self, name: &str) -> Option<IrcUser> {
        self.users.lock().get(&names::key(name)).cloned()
    }

    pub(crate) fn set_user(&self, user: IrcUser) {
        self.users.lock().insert(names::key(&user.name), user);
    }

    pub(crate) fn set_away(&self, name: &str, away: Option<String>) {
        if let Some(user) = self.users.lock().get_mut(&names::key(name)) {
            user.away = away;
        }
    }

    pub(crate) fn remove_user(&self, name: &str) {
        self.users.lock().remove(&names::key(name));
    }
}

impl Service for IrcService {
    type Session = IrcSession;

    fn name(&self) -> &'static str {
        "irc"
    }

    fn greeting(&self) -> String {
        format!("{}\n", t!("irc-greeting"))
    }

    fn mode(&self) -> Option<Mode> {
        Some(Mode::Text)
    }

    fn open(self: &Arc<Self>, peer: Peer, outbox: Outbox) -> IrcSession {
        IrcSession::new(Arc::clone(self), peer, outbox)
    }

    fn metrics(&self) -> &Arc<ServiceMetrics> {
        &self.metrics
    }
}

impl crate::service::Start for IrcService {
    fn ports(config: &crate::config::Config) -> Option<(u16, Option<u16>)> {
        config.irc.enabled.then_some((config.irc.port, config.irc.tls_port))
    }

    /// An IRC line may carry up to 8191 bytes of tags before its 512 bytes.
    fn limits(config: &crate::config::Config) -> Option<crate::net::limits::Limits> {
        let mut limits = crate::net::limits::Limits::of(config);
        limits.max_line = limits.max_line.max(sockhub_proto::irc::MAX_TAGS + sockhub_proto::irc::MAX_LINE);
        Some(limits)
    }

    /// Started after the chat, whose members IRC users are (`[irc]` without `[chat]` does not
    /// validate).
    async fn start(
        config: &crate::config::Config,
        hub: &crate::app::Hub,
    ) -> Result<Arc<Self>, crate::app::StartError> {
        let chat = hub.chat.clone().expect("validated: [irc] needs [chat]");
        IrcService::new(&config.irc, chat).map_err(|source| crate::app::StartError::Files {
            path: config.irc.motd_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            source,
        })
    }
}

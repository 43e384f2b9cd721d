//! Configuration: one struct per concern, loaded from TOML, environment and flags.
//!
//! Precedence, lowest first: built-in defaults, the `--config` file, `SOCKHUB_<SECTION>_<KEY>`
//! environment variables (e.g. `SOCKHUB_CHAT_PORT=7100`), then command-line flags. With no file
//! every service runs with its defaults; with a file, a service whose section is missing (or says
//! `enabled = false`) is off — setting one of its keys through the environment or a flag turns the
//! section on. Unknown keys are errors, so a typo never silently falls back to a default.
//!
//! Each section lives in its own file, declared with [`section!`](section): every key is a field
//! with its doc comment and its default, written once. `sockhub config` prints the effective
//! configuration with those comments and defaults; a test fails if it does not load back.

mod auth;
mod calc;
mod chat;
mod cluster;
mod database;
mod irc;
mod limits;
mod load;
mod logging;
mod quiz;
mod relay;
pub(crate) mod render;
mod retention;
mod section;
mod server;
mod tls;
mod validate;
mod web;

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

pub use auth::AuthConfig;
pub use calc::{CalcAuth, CalcConfig, RosterMode};
pub use chat::{Admission, ChatConfig, RoomCreation, RoomSetting};
pub use cluster::ClusterConfig;
pub use database::DatabaseConfig;
pub use irc::IrcConfig;
pub use limits::{LimitsConfig, MAX_UNFRAMED_GAP_MS};
pub use load::{ConfigError, Override, load};
pub use logging::{LoggingConfig, Rotation};
pub use quiz::{QuizConfig, QuizStart};
pub use relay::{KeepRule, RelayAuth, RelayConfig};
pub use retention::RetentionConfig;
pub use section::{KeyDoc, SectionDoc};
pub use server::ServerConfig;
pub use tls::TlsConfig;
pub use validate::InvalidValue;
pub use web::WebConfig;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub tls: TlsConfig,
    #[serde(default = "ChatConfig::off")]
    pub chat: ChatConfig,
    #[serde(default = "QuizConfig::off")]
    pub quiz: QuizConfig,
    #[serde(default = "CalcConfig::off")]
    pub calc: CalcConfig,
    #[serde(default = "RelayConfig::off")]
    pub relay: RelayConfig,
    #[serde(default = "IrcConfig::off")]
    pub irc: IrcConfig,
    #[serde(default)]
    pub cluster: ClusterConfig,
    #[serde(default = "WebConfig::off")]
    pub web: WebConfig,
    #[serde(default)]
    pub retention: RetentionConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
}

impl Default for Config {
    /// Everything on, for `sockhub serve` without a file.
    fn default() -> Self {
        Config {
            server: ServerConfig::default(),
            limits: LimitsConfig::default(),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
            chat: ChatConfig::default(),
            quiz: QuizConfig::default(),
            calc: CalcConfig::default(),
            relay: RelayConfig::default(),
            irc: IrcConfig::off(),
            cluster: ClusterConfig::default(),
            web: WebConfig::default(),
            retention: RetentionConfig::default(),
            logging: LoggingConfig::default(),
        }
    }
}

impl Config {
    /// The defaults with every port 0 (any free port) and the data in `dir`: a server that
    /// cannot clash with another on the same machine (what the tests start).
    pub fn ephemeral(dir: &std::path::Path) -> Config {
        let mut c = Config::default();
        c.server.data_dir = dir.to_path_buf();
        c.chat.port = 0;
        c.quiz.port = 0;
        c.calc.port = 0;
        c.relay.port = 0;
        c.web.port = 0;
        c.irc.port = 0;
        c
    }

    /// Every section, in the order `sockhub config` prints them.
    pub const SECTIONS: &'static [SectionDoc] = &[
        ServerConfig::DOC,
        LimitsConfig::DOC,
        DatabaseConfig::DOC,
        AuthConfig::DOC,
        TlsConfig::DOC,
        ChatConfig::DOC,
        QuizConfig::DOC,
        CalcConfig::DOC,
        RelayConfig::DOC,
        IrcConfig::DOC,
        ClusterConfig::DOC,
        WebConfig::DOC,
        RetentionConfig::DOC,
        LoggingConfig::DOC,
    ];

    /// The address a service with `port` listens on.
    pub fn listen_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.server.bind, port)
    }

    /// The TLS ports that are on, by listener name (`chat-tls`, ...), with the service each serves.
    pub fn tls_ports(&self) -> Vec<(&'static str, u16)> {
        [
            ("chat-tls", self.chat.enabled, self.chat.tls_port),
            ("quiz-tls", self.quiz.enabled, self.quiz.tls_port),
            ("calc-tls", self.calc.enabled, self.calc.tls_port),
            ("relay-tls", self.relay.enabled, self.relay.tls_port),
            ("irc-tls", self.irc.enabled, self.irc.tls_port),
            ("web-tls", self.web.enabled, self.web.tls_port),
        ]
        .into_iter()
        .filter_map(|(name, enabled, port)| Some((name, port.filter(|_| enabled)?)))
        .collect()
    }
}

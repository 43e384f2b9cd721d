//! Configuration: one struct per concern, loaded from TOML, environment and flags.
//!
//! Precedence, lowest first: built-in defaults, the `--config` file, `SOCKHUB_<SECTION>_<KEY>`
//! environment variables (e.g. `SOCKHUB_CHAT_PORT=7100`), then command-line flags. With no file
//! every service runs with its defaults; with a file, a service whose section is missing (or says
//! `enabled = false`) is off — setting one of its keys through the environment or a flag turns the
//! section on. Unknown keys are errors, so a typo never silently falls back to a default.
//!
//! Every key is documented once, in the `DOCS` table next to its section struct; `sockhub config`
//! prints the effective configuration with those comments, and a test fails if a key has none.

mod irc;
mod load;
mod ops;
pub(crate) mod render;

use sockhub_i18n::Lang;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use irc::IrcConfig;
pub use load::{ConfigError, Override, load};
pub use ops::{LoggingConfig, RetentionConfig, Rotation};

/// The longest `limits.unframed_gap_ms`: every message of a client without line ends waits this
/// long before it is handled.
pub const MAX_UNFRAMED_GAP_MS: u64 = 5000;

/// A key's documentation: `(key, doc)`.
pub type KeyDoc = (&'static str, &'static str);

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

/// A section's name, what it is for, and its keys.
pub struct Section {
    pub name: &'static str,
    pub about: &'static str,
    pub keys: &'static [KeyDoc],
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
    pub const SECTIONS: &'static [Section] = &[
        Section { name: "server", about: "Process-wide settings.", keys: ServerConfig::DOCS },
        Section {
            name: "limits",
            about: "Per-connection limits, shared by every service.",
            keys: LimitsConfig::DOCS,
        },
        Section {
            name: "database",
            about: "Where accounts and logs are stored: an embedded SQLite file unless `url` names a server.",
            keys: DatabaseConfig::DOCS,
        },
        Section {
            name: "auth",
            about: "Login brute-force protection, for every service.",
            keys: AuthConfig::DOCS,
        },
        Section {
            name: "tls",
            about: "The certificate behind every tls_port (chat, quiz, calc, relay, web), and who may connect to the relay's TLS port.",
            keys: TlsConfig::DOCS,
        },
        Section { name: "chat", about: "The chat service.", keys: ChatConfig::DOCS },
        Section { name: "quiz", about: "The timed arithmetic quiz.", keys: QuizConfig::DOCS },
        Section {
            name: "calc",
            about: "The shared square calculator: a roster of students, exact squares, persistent history.",
            keys: CalcConfig::DOCS,
        },
        Section {
            name: "relay",
            about: "The log relay: stores device records, keeps what matches a rule, forwards the rest to `downstream`.",
            keys: RelayConfig::DOCS,
        },
        Section {
            name: "irc",
            about: "The chat's IRC face: IRC clients join sockhub rooms as channels; off unless the section is present.",
            keys: IrcConfig::DOCS,
        },
        Section {
            name: "cluster",
            about: "Several nodes sharing rooms through NATS and one MariaDB/MySQL or PostgreSQL database; off unless nats_url is set.",
            keys: ClusterConfig::DOCS,
        },
        Section {
            name: "web",
            about: "The web page, its WebSocket endpoints and HTTP API, /healthz and /metrics.",
            keys: WebConfig::DOCS,
        },
        Section {
            name: "retention",
            about: "How long old rows are kept: a background task removes older ones in small batches.",
            keys: RetentionConfig::DOCS,
        },
        Section {
            name: "logging",
            about: "Rotation of logs/server.log and the quiz's per-player logs.",
            keys: LoggingConfig::DOCS,
        },
    ];

    /// The address a service with `port` listens on.
    pub fn listen_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.server.bind, port)
    }

    /// Check values that parse but make no sense.
    pub fn validate(&self) -> Result<(), String> {
        self.retention.validate()?;
        self.chat.validate_rooms()?;
        self.logging.validate()?;
        let l = &self.limits;
        if l.max_line_bytes < 64 {
            return Err(format!("limits.max_line_bytes must be at least 64 (is {})", l.max_line_bytes));
        }
        if l.outbound_queue == 0 || l.outbound_bytes < 1024 {
            return Err(
                "limits.outbound_queue must be at least 1 and limits.outbound_bytes at least 1024".into()
            );
        }
        if let Some(bad) =
            self.server.proxy_protocol.iter().find_map(|p| p.parse::<crate::net::cidr::Cidr>().err())
        {
            return Err(format!("server.proxy_protocol: {bad}"));
        }
        if l.max_connections == 0 {
            return Err("limits.max_connections must be at least 1".into());
        }
        if l.unframed_gap_ms > MAX_UNFRAMED_GAP_MS {
            return Err(format!(
                "limits.unframed_gap_ms must be at most {MAX_UNFRAMED_GAP_MS} (is {})",
                l.unframed_gap_ms
            ));
        }
        if l.rate_per_sec < 0.0 || !l.rate_per_sec.is_finite() {
            return Err("limits.rate_per_sec must be 0 (off) or positive".into());
        }
        if let Some(url) = &self.database.url
            && !["sqlite:", "mysql:", "mariadb:", "postgres:", "postgresql:"]
                .iter()
                .any(|p| url.starts_with(p))
        {
            return Err(
                "database.url must start with sqlite:, mysql:, mariadb:, postgres: or postgresql:".into()
            );
        }
        if self.database.queue_capacity == 0 || self.database.max_batch == 0 {
            return Err("database.queue_capacity and database.max_batch must be at least 1".into());
        }
        if self.auth.lock_after == 0 || self.auth.addr_lock_after == 0 || self.auth.max_tracked == 0 {
            return Err(
                "auth.lock_after, auth.addr_lock_after and auth.max_tracked must be at least 1".into()
            );
        }
        if self.auth.max_bans == 0 || self.auth.bans_refresh_secs == 0 {
            return Err("auth.max_bans and auth.bans_refresh_secs must be at least 1".into());
        }
        let w = &self.web;
        if w.header_timeout_secs == 0 || w.keepalive_idle_secs == 0 || w.max_connections == 0 {
            return Err(
                "web.header_timeout_secs, web.keepalive_idle_secs and web.max_connections must be at least 1"
                    .into(),
            );
        }
        if w.session_ttl_secs == 0
            || w.session_max_lifetime_secs == 0
            || w.max_sessions == 0
            || w.max_page_rows == 0
        {
            return Err("web.session_ttl_secs, web.session_max_lifetime_secs, web.max_sessions and \
                 web.max_page_rows must be at least 1"
                .into());
        }
        w.proxy_ranges()?;
        if w.ws_max_message_bytes < l.max_line_bytes {
            return Err(format!(
                "web.ws_max_message_bytes ({}) must be at least limits.max_line_bytes ({})",
                w.ws_max_message_bytes, l.max_line_bytes
            ));
        }
        if let Some(bad) =
            w.allowed_origins.iter().find(|o| !(o.starts_with("http://") || o.starts_with("https://")))
        {
            return Err(format!(
                "web.allowed_origins: {bad:?} is not an origin like \"https://chat.example.org\""
            ));
        }
        self.validate_tls()?;
        self.quiz.validate()?;
        self.calc.validate()?;
        self.irc.validate()?;
        if self.irc.enabled && !self.chat.enabled {
            return Err("[irc] needs [chat]: IRC users are chat members".into());
        }
        if self.relay.enabled {
            self.relay.validate()?;
        }
        self.cluster.validate(&self.database)?;
        Ok(())
    }
}

impl Config {
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

    fn validate_tls(&self) -> Result<(), String> {
        let t = &self.tls;
        if t.cert.is_some() != t.key.is_some() {
            return Err("tls.cert and tls.key go together: set both or neither".into());
        }
        if let Some((name, _)) = self.tls_ports().first()
            && !t.configured()
        {
            let key = name.trim_end_matches("-tls");
            return Err(format!("{key}.tls_port is set but [tls] has no cert and key"));
        }
        if t.require_client_cert && t.client_ca.is_none() {
            return Err(
                "tls.require_client_cert needs tls.client_ca (the CA that signs client certificates)".into(),
            );
        }
        if t.handshake_timeout_secs == 0 {
            return Err("tls.handshake_timeout_secs must be at least 1".into());
        }
        if self.web.redirect_http && self.web.tls_port.is_none() {
            return Err("web.redirect_http needs web.tls_port (where to send browsers)".into());
        }
        let r = &self.relay;
        if r.client_cert.is_some() != r.client_key.is_some() {
            return Err("relay.client_cert and relay.client_key go together: set both or neither".into());
        }
        if !r.downstream_tls && (r.downstream_ca.is_some() || r.client_cert.is_some()) {
            return Err(
                "relay.downstream_ca, client_cert and client_key need relay.downstream_tls = true".into()
            );
        }
        Ok(())
    }
}

/// `[tls]`: the server's certificate. Env: `SOCKHUB_TLS_<KEY>`.
///
/// Nothing here turns TLS on by itself: each service's `tls_port` does, and needs `cert` and `key`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
    pub require_client_cert: bool,
    pub plain_ports: bool,
    pub handshake_timeout_secs: u64,
    pub reload_poll_secs: u64,
    pub expiry_warning_days: u64,
}

impl TlsConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        (
            "cert",
            "PEM file with the server certificate, then any intermediates (e.g. Let's Encrypt's fullchain.pem). Default unset.",
        ),
        ("key", "PEM file with the certificate's private key (PKCS#8, RSA or SEC1). Default unset."),
        (
            "client_ca",
            "PEM file of the CA whose client certificates the relay's TLS port accepts (mutual TLS between relays); unset = the relay asks for none. Chat, quiz, calc and the web page never ask for one. Default unset.",
        ),
        (
            "require_client_cert",
            "Refuse a connection to the relay's TLS port that shows no certificate signed by client_ca. Default false.",
        ),
        (
            "plain_ports",
            "false: a service with a tls_port does not listen on its plain port at all (the web page's plain port stays open for redirect_http). Default true.",
        ),
        (
            "handshake_timeout_secs",
            "Close a connection to a TLS port that has not finished its handshake within this time. Default 10.",
        ),
        (
            "reload_poll_secs",
            "How often the cert and key files are checked for changes (they are also re-read on SIGHUP); 0 = only on SIGHUP. Default 5.",
        ),
        (
            "expiry_warning_days",
            "Log a warning when the certificate expires within this many days (also see sockhub_tls_cert_expiry_seconds). Default 14.",
        ),
    ];

    /// Whether a certificate and key are set.
    pub fn configured(&self) -> bool {
        self.cert.is_some() && self.key.is_some()
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert: None,
            key: None,
            client_ca: None,
            require_client_cert: false,
            plain_ports: true,
            handshake_timeout_secs: 10,
            reload_poll_secs: 5,
            expiry_warning_days: 14,
        }
    }
}

/// `[server]`: process-wide settings. Env: `SOCKHUB_SERVER_<KEY>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: IpAddr,
    pub data_dir: PathBuf,
    pub log_level: String,
    pub shutdown_grace_secs: u64,
    pub proxy_protocol: Vec<String>,
    pub language: Lang,
}

impl ServerConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        ("bind", "Address every service listens on (0.0.0.0 for all interfaces). Default 127.0.0.1."),
        ("data_dir", "Where logs and the embedded database live. Default \"sockhub-data\"."),
        (
            "log_level",
            "Log filter: error, warn, info, debug, trace, or a tracing directive list. Default info.",
        ),
        (
            "shutdown_grace_secs",
            "On SIGINT/SIGTERM, how long clients get to receive the notice and close. Default 5.",
        ),
        (
            "proxy_protocol",
            "Addresses or networks of TCP load balancers (HAProxy `send-proxy`/`send-proxy-v2`) whose connections start with a PROXY v1/v2 header naming the real client, e.g. [\"10.0.0.5\", \"10.1.0.0/24\"]; others are served as direct clients. Default [] (off).",
        ),
        (
            "language",
            "The language of everything a person reads: text-mode prompts, notices, errors and help, and the `message` of JSON errors (their `type` and `code` never change): \"en\" (English) or \"ko\" (Korean). Default \"en\".",
        ),
    ];
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            data_dir: PathBuf::from("sockhub-data"),
            log_level: "info".into(),
            shutdown_grace_secs: 5,
            proxy_protocol: Vec::new(),
            language: Lang::En,
        }
    }
}

/// `[limits]`: what one connection may cost. Env: `SOCKHUB_LIMITS_<KEY>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_connections: usize,
    pub max_line_bytes: usize,
    pub outbound_queue: usize,
    pub rate_per_sec: f64,
    pub burst: u32,
    pub idle_timeout_secs: u64,
    pub write_timeout_secs: u64,
    pub linger_ms: u64,
    pub outbound_bytes: usize,
    pub max_connections_per_ip: usize,
    pub max_pending_per_ip: usize,
    pub max_pending_logins: usize,
    pub login_timeout_secs: u64,
    pub keepalive_secs: u64,
    pub unframed_gap_ms: u64,
}

impl LimitsConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        (
            "max_connections",
            "Open connections the server accepts, all services together; more are told server_full. Default 10000.",
        ),
        (
            "max_line_bytes",
            "Longest line a client may send; longer ones get line_too_long and are discarded. Default 8192.",
        ),
        (
            "outbound_queue",
            "Messages that may wait for one slow reader; when full it is disconnected as too slow. Default 1024.",
        ),
        ("rate_per_sec", "Flood control: messages per second per connection (0 = off). Default 10."),
        (
            "burst",
            "Flood control: messages a connection may send at once before rate_per_sec applies. Default 20.",
        ),
        ("idle_timeout_secs", "Disconnect a client that sends nothing for this long (0 = never). Default 0."),
        ("write_timeout_secs", "Give up on a client whose socket accepts no data for this long. Default 10."),
        (
            "linger_ms",
            "After the last line to a client, how long to drain its input before closing. Default 1000.",
        ),
        (
            "outbound_bytes",
            "Bytes that may wait for one slow reader (in its mode); beyond it the reader is disconnected as too slow. Default 8388608 (8 MiB).",
        ),
        (
            "max_connections_per_ip",
            "Open connections from one address (IPv6: one /64), all services and WebSockets together; more are told too_many_connections (0 = no limit). Default 256.",
        ),
        (
            "max_pending_per_ip",
            "Connections from one address (IPv6: one /64) that have not logged in yet; more are told too_many_connections (0 = no limit). Default 128.",
        ),
        (
            "max_pending_logins",
            "Connections server-wide that have not logged in yet; more are told too_many_connections (0 = no limit). Default 2000.",
        ),
        (
            "login_timeout_secs",
            "Close a connection that has not logged in (chat, quiz, calc) or sent a first record (relay) within this long, with login_timeout (0 = never). Default 30.",
        ),
        (
            "keepalive_secs",
            "TCP keepalive on every accepted socket: first probe after this long idle, then every 10 s, gone after 5 unanswered (0 = off). Default 60.",
        ),
        (
            "unframed_gap_ms",
            "Clients without line ends (TCP): a connection whose first message has no line end is served in bursts, each ended by this long a pause; a client silent this long after connecting is greeted (0 = lines only, greet at once). Default 50.",
        ),
    ];
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: 10_000,
            max_line_bytes: 8192,
            outbound_queue: 1024,
            rate_per_sec: 10.0,
            burst: 20,
            idle_timeout_secs: 0,
            write_timeout_secs: 10,
            linger_ms: 1000,
            outbound_bytes: 8 * 1024 * 1024,
            max_connections_per_ip: 256,
            max_pending_per_ip: 128,
            max_pending_logins: 2000,
            login_timeout_secs: 30,
            keepalive_secs: 60,
            unframed_gap_ms: 50,
        }
    }
}

/// `[database]`: the store. Env: `SOCKHUB_DATABASE_<KEY>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: Option<String>,
    pub sqlite_file: String,
    pub max_connections: u32,
    pub connect_timeout_secs: u64,
    pub queue_capacity: usize,
    pub max_batch: usize,
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
    pub log_wait_ms: u64,
}

impl DatabaseConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        (
            "url",
            "mysql://user:pass@host/db or postgres://user@host/db; unset = embedded SQLite in data_dir. Default unset.",
        ),
        ("sqlite_file", "The embedded database's file name inside data_dir. Default \"sockhub.db\"."),
        ("max_connections", "Connections in the pool. Default 8."),
        ("connect_timeout_secs", "How long to wait for a connection from the pool. Default 5."),
        (
            "queue_capacity",
            "Log records (logins, chat lines, moderation) that may wait for the database. Default 10000.",
        ),
        ("max_batch", "Records written per transaction. Default 512."),
        ("retry_initial_ms", "First wait before retrying a failed write; doubles each time. Default 100."),
        ("retry_max_ms", "Longest wait between retries of a failed write. Default 5000."),
        (
            "log_wait_ms",
            "How long a message waits for room in a full log queue before it is refused with `unavailable`. Default 2000.",
        ),
    ];
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            sqlite_file: "sockhub.db".into(),
            max_connections: 8,
            connect_timeout_secs: 5,
            queue_capacity: 10_000,
            max_batch: 512,
            retry_initial_ms: 100,
            retry_max_ms: 5000,
            log_wait_ms: 2000,
        }
    }
}

/// `[auth]`: login brute-force protection. Env: `SOCKHUB_AUTH_<KEY>`.
///
/// How the counters combine is described in [`crate::auth::throttle`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub slow_after: u32,
    pub slow_delay_ms: u64,
    pub lock_after: u32,
    pub addr_lock_after: u32,
    pub account_max_delay_ms: u64,
    pub lock_secs: u64,
    pub window_secs: u64,
    pub max_tracked: usize,
    pub min_password_chars: usize,
    pub max_concurrent_hashes: usize,
    pub hash_wait_ms: u64,
    pub max_bans: usize,
    pub bans_refresh_secs: u64,
}

impl AuthConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        (
            "slow_after",
            "Failed logins to one account from one address (IPv6: one /64) before its answers are delayed. Default 3.",
        ),
        ("slow_delay_ms", "Delay added per failure beyond slow_after (at most 30 s). Default 1000."),
        (
            "lock_after",
            "Logins to one account from one address, failed or still being checked, after which that address gets too_many_attempts for that account. Default 10.",
        ),
        (
            "addr_lock_after",
            "Logins from one address to any accounts, failed or still being checked, after which the address gets too_many_attempts (high enough for a class behind one NAT). Default 50.",
        ),
        (
            "account_max_delay_ms",
            "Failures on one account from every address together only delay its logins (never lock them, so no one can lock the holder out), by at most this. Default 2000.",
        ),
        ("lock_secs", "How long a too_many_attempts refusal lasts. Default 300."),
        ("window_secs", "Failures older than this are forgotten. Default 900."),
        (
            "max_tracked",
            "Addresses, accounts and address-account pairs remembered at most (oldest forgotten first). Default 100000.",
        ),
        (
            "max_concurrent_hashes",
            "Password checks (argon2, 19 MiB each) running at once; more wait (0 = the number of CPU cores). Default 0.",
        ),
        (
            "hash_wait_ms",
            "How long a login waits for a free password check before it is told unavailable (try again). Default 3000.",
        ),
        (
            "min_password_chars",
            "Shortest password for a new account or a password change (sockhub user, the web Admin tab); older, shorter passwords still log in. Default 8.",
        ),
        (
            "max_bans",
            "Bans in force at most (each node keeps them all in memory); a new ban beyond this is refused. Default 10000.",
        ),
        (
            "bans_refresh_secs",
            "How often every node re-reads the bans in force from the database, to act on bans set by `sockhub user ban` or missed while NATS was down (bans set on a node reach the others at once). Default 5.",
        ),
    ];

    /// [`max_concurrent_hashes`](Self::max_concurrent_hashes) with 0 resolved to the cores.
    pub fn hash_permits(&self) -> usize {
        match self.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            slow_after: 3,
            slow_delay_ms: 1000,
            lock_after: 10,
            addr_lock_after: 50,
            account_max_delay_ms: 2000,
            lock_secs: 300,
            window_secs: 900,
            max_tracked: 100_000,
            min_password_chars: 8,
            max_concurrent_hashes: 0,
            hash_wait_ms: 3000,
            max_bans: 10_000,
            bans_refresh_secs: 5,
        }
    }
}

/// Who may enter a service that takes names (`[chat] auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Admission {
    /// Anyone may pick a free name; a name that belongs to an account needs its password.
    Open,
    /// Only registered members may enter, with their password.
    Accounts,
}

/// `[chat]`: the chat service. Env: `SOCKHUB_CHAT_<KEY>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    pub enabled: bool,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_port: Option<u16>,
    pub history: usize,
    pub auth: Admission,
    /// The room every login joins first.
    pub default_room: String,
    /// Who may create a room by joining it.
    pub rooms: RoomCreation,
    /// The most rooms one user may be in at once.
    pub max_rooms_per_user: usize,
    /// The most rooms the server holds (persistent ones included).
    pub max_rooms: usize,
    /// Persistent rooms created at start (`[[chat.room]]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub room: Vec<RoomSetting>,
}

/// Who may create a chat room (`[chat] rooms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomCreation {
    /// Anyone, by joining a room that does not exist (it vanishes when the last member leaves).
    Open,
    /// Only admins (their rooms are persistent); others join existing rooms.
    Admin,
}

/// One `[[chat.room]]`: a persistent room and its topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSetting {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl ChatConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        ("enabled", "Run the chat service. Default true when the section exists."),
        ("port", "TCP port for chat (0 = any free port). Default 7001."),
        (
            "tls_port",
            "TLS port for chat (e.g. 7101) with the [tls] certificate (0 = any free port); unset = no TLS port. Default unset.",
        ),
        ("history", "Public messages a client receives when it joins. Default 20."),
        (
            "auth",
            "\"open\": anyone picks a free name, account names need their password; \"accounts\": members only. Default \"open\".",
        ),
        (
            "default_room",
            "The room every login joins first (# and 1 to 32 letters, digits, - _ .). Default \"#lobby\".",
        ),
        (
            "rooms",
            "Who creates rooms: \"open\": anyone, by joining (the room vanishes when empty); \"admin\": admins only (their rooms persist). Default \"open\".",
        ),
        (
            "max_rooms_per_user",
            "The most rooms one user may be in at once (too_many_rooms beyond). Default 10.",
        ),
        (
            "max_rooms",
            "The most rooms the server holds, persistent ones included (room_limit beyond). Default 1000.",
        ),
        (
            "room",
            "Persistent rooms created at start, one [[chat.room]] table each with name and optional topic. Default none.",
        ),
    ];

    /// The room settings make sense: valid names, room for the configured rooms.
    pub fn validate_rooms(&self) -> Result<(), String> {
        use sockhub_proto::chat::is_room_name;
        if !is_room_name(&self.default_room) {
            return Err(format!(
                "chat.default_room {:?} is not a room name (# and 1 to 32 letters, digits, - _ .)",
                self.default_room
            ));
        }
        if let Some(bad) = self.room.iter().find(|r| !is_room_name(&r.name)) {
            return Err(format!(
                "chat.room name {:?} is not a room name (# and 1 to 32 letters, digits, - _ .)",
                bad.name
            ));
        }
        if let Some(bad) = self.room.iter().find_map(|r| {
            r.topic.as_deref().and_then(|t| sockhub_proto::text::check(t).err().map(|_| &r.name))
        }) {
            return Err(format!("chat.room {bad}: the topic has a control character or line break"));
        }
        if self.max_rooms_per_user == 0 {
            return Err("chat.max_rooms_per_user must be at least 1".into());
        }
        if self.max_rooms <= self.room.len() {
            return Err(format!("chat.max_rooms must be more than the {} configured rooms", self.room.len()));
        }
        Ok(())
    }

    /// The value of a missing `[chat]` section in a config file.
    pub fn off() -> Self {
        ChatConfig { enabled: false, ..Self::default() }
    }
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            enabled: true,
            port: 7001,
            tls_port: None,
            history: 20,
            auth: Admission::Open,
            default_room: sockhub_proto::chat::DEFAULT_ROOM.to_owned(),
            rooms: RoomCreation::Open,
            max_rooms_per_user: 10,
            max_rooms: 1000,
            room: Vec::new(),
        }
    }
}

/// How a quiz round starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuizStart {
    /// The round clock starts with the service (and the next round right after the last).
    Auto,
    /// A round starts when an admin sends `/start` (or runs `sockhub quiz start`).
    Manual,
}

/// `[quiz]`: the timed arithmetic quiz. Env: `SOCKHUB_QUIZ_<KEY>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuizConfig {
    pub enabled: bool,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_port: Option<u16>,
    pub seed: Option<u64>,
    pub duration_secs: u64,
    pub answer_secs: f64,
    pub pause_secs: [f64; 2],
    pub start: QuizStart,
    pub exit_after_round: bool,
    pub scores_every_secs: u64,
    pub leaderboard_size: usize,
    pub player_log_queue: usize,
}

impl QuizConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        ("enabled", "Run the quiz service. Default true when the section exists."),
        ("port", "TCP port for the quiz (0 = any free port). Default 7002."),
        (
            "tls_port",
            "TLS port for the quiz (e.g. 7102) with the [tls] certificate (0 = any free port); unset = no TLS port. Default unset.",
        ),
        (
            "seed",
            "Seed of the problem generator, for reproducible rounds; unset = a random seed per round (logged). Default unset.",
        ),
        ("duration_secs", "Length of a round. Default 600."),
        ("answer_secs", "Time to answer a problem, by the server's clock. Default 5."),
        ("pause_secs", "Random pause before each problem, [shortest, longest] in seconds. Default [0, 5]."),
        (
            "start",
            "\"auto\": the round clock starts with the service; \"manual\": an admin's /start starts each round. Default \"auto\".",
        ),
        (
            "exit_after_round",
            "Stop the whole server (exit status 0) after the first round; otherwise wait for the next. Default false.",
        ),
        (
            "scores_every_secs",
            "Push the live leaderboard to every player this often (0 = never). Default 60.",
        ),
        (
            "leaderboard_size",
            "Players listed in pushed leaderboards and the final one (each player also learns their own place). Default 20.",
        ),
        (
            "player_log_queue",
            "Lines that may wait for the per-player log files; beyond it lines are counted and reported, not queued. Default 100000.",
        ),
    ];

    /// The value of a missing `[quiz]` section in a config file.
    pub fn off() -> Self {
        QuizConfig { enabled: false, ..Self::default() }
    }

    fn validate(&self) -> Result<(), String> {
        let [lo, hi] = self.pause_secs;
        if !(self.answer_secs.is_finite() && self.answer_secs > 0.0) {
            return Err("quiz.answer_secs must be positive".into());
        }
        if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi) {
            return Err("quiz.pause_secs must be [shortest, longest] with 0 <= shortest <= longest".into());
        }
        if self.duration_secs == 0 || self.leaderboard_size == 0 || self.player_log_queue == 0 {
            return Err("quiz.duration_secs, leaderboard_size and player_log_queue must be at least 1".into());
        }
        Ok(())
    }
}

/// Who may use the calculator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RosterMode {
    /// Only students on the roster; other IDs are refused with `unknown_student`.
    Required,
    /// Any well-formed student ID; students on the roster are shown with their name.
    Open,
}

/// How a calculator student proves who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalcAuth {
    /// The student ID alone (anyone who knows an ID can use it).
    Id,
    /// The student ID and the password of the sockhub account that carries it.
    Accounts,
}

/// `[calc]`: the square calculator. Env: `SOCKHUB_CALC_<KEY>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalcConfig {
    pub enabled: bool,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_port: Option<u16>,
    pub roster: RosterMode,
    pub auth: CalcAuth,
    pub history: u32,
    pub history_max: u32,
    pub max_digits: usize,
    pub commit_batch: usize,
    pub commit_queue: usize,
}

impl CalcConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        ("enabled", "Run the calculator. Default true when the section exists."),
        ("port", "TCP port for the calculator (0 = any free port). Default 7003."),
        (
            "tls_port",
            "TLS port for the calculator (e.g. 7103) with the [tls] certificate (0 = any free port); unset = no TLS port. Default unset.",
        ),
        (
            "roster",
            "\"required\": only students on the roster may log in (others get unknown_student); \"open\": any well-formed student ID. Default \"required\".",
        ),
        (
            "auth",
            "\"id\": a student logs in with the student ID alone; \"accounts\": with the student ID and the password of the sockhub account that carries that ID (`sockhub user add NAME --student-id ID`; if none does, the account named as the ID), checked and throttled like every login (password_required, bad_credentials, too_many_attempts). Default \"id\".",
        ),
        ("history", "Results (the student's newest) sent at login, and by /history without N. Default 20."),
        ("history_max", "Most results one /history N returns. Default 1000."),
        (
            "max_digits",
            "Longest number accepted, in digits (integer and fraction part); longer is too_long. At most 100000. Default 1000.",
        ),
        ("commit_batch", "Most results stored in one transaction by the group commit. Default 256."),
        (
            "commit_queue",
            "Results that may wait for the database; when full, senders wait (backpressure). Default 4096.",
        ),
    ];

    /// The value of a missing `[calc]` section in a config file.
    pub fn off() -> Self {
        CalcConfig { enabled: false, ..Self::default() }
    }

    fn validate(&self) -> Result<(), String> {
        let ceiling = crate::service::calc::number::MAX_DIGITS_CEILING;
        if self.max_digits == 0 || self.max_digits > ceiling {
            return Err(format!("calc.max_digits must be 1 to {ceiling} (is {})", self.max_digits));
        }
        if self.history > self.history_max {
            return Err(format!(
                "calc.history ({}) must not exceed calc.history_max ({})",
                self.history, self.history_max
            ));
        }
        if self.commit_batch == 0 || self.commit_queue == 0 {
            return Err("calc.commit_batch and calc.commit_queue must be at least 1".into());
        }
        Ok(())
    }
}

impl Default for QuizConfig {
    fn default() -> Self {
        QuizConfig {
            enabled: true,
            port: 7002,
            tls_port: None,
            seed: None,
            duration_secs: 600,
            answer_secs: 5.0,
            pause_secs: [0.0, 5.0],
            start: QuizStart::Auto,
            exit_after_round: false,
            scores_every_secs: 60,
            leaderboard_size: 20,
            player_log_queue: 100_000,
        }
    }
}

impl Default for CalcConfig {
    fn default() -> Self {
        CalcConfig {
            enabled: true,
            port: 7003,
            tls_port: None,
            roster: RosterMode::Required,
            auth: CalcAuth::Id,
            history: 20,
            history_max: 1000,
            max_digits: 1000,
            commit_batch: 256,
            commit_queue: 4096,
        }
    }
}

/// One `[[relay.keep]]` rule: a record matching every condition the rule sets is kept (stored on
/// this node, not forwarded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepRule {
    /// Unique; stored with each record the rule keeps.
    pub name: String,
    /// Glob over the source name (`lab-*`, `dev?`, `sensor-[0-9]*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Regular expression searched in the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_regex: Option<String>,
    /// A field of the payload read as a JSON object (`a.b` for nested objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_field: Option<String>,
    /// The value `json_field` must have (compared as text); without it the field must exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_equals: Option<String>,
}

/// Whether relay connections must present a device token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayAuth {
    /// Anyone who reaches the port may send records of any source.
    Open,
    /// A connection presents a token (`sockhub relay token add`) first; it covers some sources.
    Tokens,
}

/// `[relay]`: the log relay. Env: `SOCKHUB_RELAY_<KEY>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    pub enabled: bool,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downstream: Option<String>,
    pub auth: RelayAuth,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downstream_token: Option<sockhub_proto::secret::Secret>,
    pub downstream_tls: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downstream_ca: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
    pub max_payload_bytes: usize,
    pub max_line_bytes: usize,
    pub rate_per_sec: f64,
    pub ingest_queue: usize,
    pub max_batch: usize,
    pub window: usize,
    pub max_attempts: u32,
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
    pub ack_timeout_secs: u64,
    pub reconcile_interval_secs: u64,
    pub resend_missing: bool,
    pub quota_bytes: u64,
    pub quota_records: u64,
    pub control_poll_ms: u64,
    pub cluster_poll_ms: u64,
    pub keep: Vec<KeepRule>,
}

impl RelayConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        ("enabled", "Run the relay. Default true when the section exists."),
        ("port", "TCP port for devices and upstream relays (0 = any free port). Default 7004."),
        (
            "tls_port",
            "TLS port for devices and upstream relays (e.g. 7104); [tls] client_ca applies here with the [tls] certificate (0 = any free port); unset = no TLS port. Default unset.",
        ),
        (
            "downstream",
            "host:port of the next relay; records no keep rule matches are forwarded there. Several nodes of a downstream cluster may be listed, comma-separated: the forwarder uses one and moves to the next whenever a connection fails. Unset: this node is a sink that stores everything. Default unset.",
        ),
        (
            "auth",
            "\"open\": any connection may send records of any source; \"tokens\": a connection first presents a device token ({\"type\":\"auth\",\"token\":\"...\"} or a line AUTH <token>), made with `sockhub relay token add --source GLOB`, and may then send records of the sources its glob matches (others get forbidden; records before a token get unauthorized). Default \"open\".",
        ),
        (
            "downstream_token",
            "The device token this node presents to downstream when downstream has auth = \"tokens\" (a token for the sources this node forwards, e.g. --source '*'). Shown as *** by `sockhub config`. Default unset.",
        ),
        (
            "downstream_tls",
            "Connect to downstream over TLS (point downstream at its tls_port), verifying its certificate against downstream_ca or the system's roots. Default false.",
        ),
        (
            "downstream_ca",
            "PEM file of the CA that signed downstream's certificate; unset = the system's trusted roots. Default unset.",
        ),
        (
            "client_cert",
            "PEM certificate this relay shows downstream (mutual TLS, for a downstream with [tls] require_client_cert). Default unset.",
        ),
        ("client_key", "The private key of client_cert. Default unset."),
        (
            "max_payload_bytes",
            "Longest record payload accepted, in UTF-8 bytes; longer ones get payload_too_large. Default 4096.",
        ),
        (
            "max_line_bytes",
            "Longest line on the relay port (a JSON record escapes its payload, so allow room). Default 16384.",
        ),
        ("rate_per_sec", "Flood control per relay connection, lines per second (0 = off). Default 0."),
        (
            "ingest_queue",
            "Records that may wait for the group commit; when full, connections stop being read (backpressure). Default 16384.",
        ),
        ("max_batch", "Most records committed in one transaction. Default 8192."),
        ("window", "Records sent downstream and not yet acknowledged, at most. Default 16384."),
        ("max_attempts", "Times downstream may refuse a record before it is held for review. Default 3."),
        (
            "retry_initial_ms",
            "First wait before reconnecting downstream or retrying the database; doubles each time. Default 200.",
        ),
        ("retry_max_ms", "Longest wait between reconnects or database retries. Default 5000."),
        (
            "ack_timeout_secs",
            "Reconnect downstream when records are in flight and no acknowledgement came for this long. Default 60.",
        ),
        (
            "reconcile_interval_secs",
            "Compare forwarded records with downstream this often, besides on every reconnect and on demand (0 = not periodically). Default 600.",
        ),
        (
            "resend_missing",
            "Re-send records reconcile finds missing downstream at once (false: leave them missing for review). Default true.",
        ),
        (
            "quota_bytes",
            "Payload bytes of records not yet delivered downstream (queued, held, missing) at most; then devices are not acknowledged until forwarding frees room (0 = no limit). Default 1073741824.",
        ),
        ("quota_records", "The same quota counted in records (0 = no limit). Default 0."),
        (
            "control_poll_ms",
            "How often the server looks for requests from `sockhub relay resend` and `reconcile`. Default 500.",
        ),
        (
            "cluster_poll_ms",
            "In a cluster: how often each node checks the forwarder lease (one node forwards at a time) and the forwarding node reads the counters and the records other nodes queued. Default 1000.",
        ),
        (
            "keep",
            "Keep rules, as [[relay.keep]] tables with name and any of source (glob), payload_regex, json_field and json_equals; a record matching every condition of any rule is kept here, not forwarded. Default none.",
        ),
    ];

    /// The value of a missing `[relay]` section in a config file.
    pub fn off() -> Self {
        RelayConfig { enabled: false, ..Self::default() }
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(d) = &self.downstream {
            let ok = |a: &str| {
                a.rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
            };
            let nodes = sockhub_proto::relay::node_addrs(d);
            if nodes.is_empty() || !nodes.into_iter().all(ok) {
                return Err(format!(
                    "relay.downstream must be host:port, or several separated by commas (is {d:?})"
                ));
            }
        }
        if self
            .downstream_token
            .as_ref()
            .is_some_and(|t| t.expose().is_empty() || t.expose().contains(char::is_whitespace))
        {
            return Err("relay.downstream_token must be one token, without blanks".into());
        }
        if self.max_payload_bytes == 0 || self.max_line_bytes < 64 {
            return Err(
                "relay.max_payload_bytes must be at least 1 and relay.max_line_bytes at least 64".into()
            );
        }
        if self.ingest_queue == 0 || self.max_batch == 0 || self.window == 0 || self.max_attempts == 0 {
            return Err("relay.ingest_queue, max_batch, window and max_attempts must be at least 1".into());
        }
        if self.rate_per_sec < 0.0 || !self.rate_per_sec.is_finite() {
            return Err("relay.rate_per_sec must be 0 (off) or positive".into());
        }
        crate::service::relay::filter::KeepRules::compile(&self.keep).map(|_| ()).map_err(|e| e.to_string())
    }
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            enabled: true,
            port: 7004,
            tls_port: None,
            downstream: None,
            auth: RelayAuth::Open,
            downstream_token: None,
            downstream_tls: false,
            downstream_ca: None,
            client_cert: None,
            client_key: None,
            max_payload_bytes: 4096,
            max_line_bytes: 16_384,
            rate_per_sec: 0.0,
            ingest_queue: 16_384,
            max_batch: 8192,
            window: 16_384,
            max_attempts: 3,
            retry_initial_ms: 200,
            retry_max_ms: 5000,
            ack_timeout_secs: 60,
            reconcile_interval_secs: 600,
            resend_missing: true,
            quota_bytes: 1 << 30,
            quota_records: 0,
            control_poll_ms: 500,
            cluster_poll_ms: 1000,
            keep: Vec::new(),
        }
    }
}

/// `[cluster]`: several nodes sharing rooms. Env: `SOCKHUB_CLUSTER_<KEY>`.
///
/// Off unless `nats_url` is set: without it no NATS code runs and every service fans out in
/// process, exactly as a single server does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    pub nats_url: Option<String>,
    pub node_id: Option<String>,
    pub subject_prefix: String,
    pub heartbeat_ms: u64,
    pub node_timeout_secs: u64,
    pub publish_queue: usize,
    pub inbound_queue: usize,
}

impl ClusterConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        (
            "nats_url",
            "NATS server(s) of the cluster, e.g. \"nats://127.0.0.1:4222\" (several: comma-separated); unset = a single node. Default unset.",
        ),
        (
            "node_id",
            "This node's name in the cluster, unique among the nodes; unset = host name and chat port (\"web1:7001\"). Default unset.",
        ),
        (
            "subject_prefix",
            "First token of every NATS subject, so several clusters can share one NATS. Default \"sockhub\".",
        ),
        (
            "heartbeat_ms",
            "How often a node tells the others (and the database) that it is alive. Default 1000.",
        ),
        (
            "node_timeout_secs",
            "A node silent this long is dead: its users leave everywhere and their names are freed. Default 10.",
        ),
        (
            "publish_queue",
            "Events waiting to go out to NATS; while NATS is unreachable newer ones are dropped and counted. Default 8192.",
        ),
        (
            "inbound_queue",
            "Events from other nodes waiting to be applied; beyond it NATS drops them (a slow consumer) and the nodes resync. Default 65536.",
        ),
    ];

    /// Whether this node is part of a cluster.
    pub fn enabled(&self) -> bool {
        self.nats_url.is_some()
    }

    fn validate(&self, database: &DatabaseConfig) -> Result<(), String> {
        let Some(url) = &self.nats_url else { return Ok(()) };
        if !(url.starts_with("nats://") || url.starts_with("tls://") || url.contains(':')) {
            return Err(format!("cluster.nats_url must look like nats://host:4222 (is {url:?})"));
        }
        let shared = database.url.as_deref().is_some_and(|u| !u.starts_with("sqlite:"));
        if !shared {
            return Err(
                "[cluster] needs a database every node shares: set [database] url to a MariaDB/MySQL \
                 or PostgreSQL server (SQLite is a file on one machine)"
                    .into(),
            );
        }
        if self.heartbeat_ms == 0 || self.node_timeout_secs == 0 {
            return Err("cluster.heartbeat_ms and cluster.node_timeout_secs must be at least 1".into());
        }
        if self.node_timeout_secs * 1000 < 2 * self.heartbeat_ms {
            return Err(format!(
                "cluster.node_timeout_secs ({} s) must be at least two heartbeats ({} ms each)",
                self.node_timeout_secs, self.heartbeat_ms
            ));
        }
        if self.publish_queue == 0 || self.inbound_queue == 0 {
            return Err("cluster.publish_queue and cluster.inbound_queue must be at least 1".into());
        }
        if let Some(id) = &self.node_id
            && (id.trim().is_empty() || id.chars().count() > 200 || id.chars().any(char::is_whitespace))
        {
            return Err("cluster.node_id must be 1 to 200 characters without spaces".into());
        }
        let prefix_ok = !self.subject_prefix.is_empty()
            && self.subject_prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !prefix_ok {
            return Err("cluster.subject_prefix must be letters, digits, - or _".into());
        }
        Ok(())
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            nats_url: None,
            node_id: None,
            subject_prefix: "sockhub".into(),
            heartbeat_ms: 1000,
            node_timeout_secs: 10,
            publish_queue: 8192,
            inbound_queue: 65_536,
        }
    }
}

/// `[web]`: the web page and its server side. Env: `SOCKHUB_WEB_<KEY>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    pub enabled: bool,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_port: Option<u16>,
    pub redirect_http: bool,
    pub hsts_max_age_secs: u64,
    pub header_timeout_secs: u64,
    pub keepalive_idle_secs: u64,
    pub max_connections: usize,
    pub session_ttl_secs: u64,
    pub session_max_lifetime_secs: u64,
    pub max_sessions: usize,
    pub secure_cookie: bool,
    pub allowed_origins: Vec<String>,
    pub max_page_rows: u32,
    pub ws_max_message_bytes: usize,
    pub ws_ping_secs: u64,
    pub trusted_proxies: Vec<String>,
}

impl WebConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        ("enabled", "Serve the web page. Default true when the section exists."),
        ("port", "HTTP port of the page, its WebSocket endpoints and API (0 = any free port). Default 8080."),
        (
            "tls_port",
            "HTTPS port (HTTP/1.1 and HTTP/2, wss:// for the WebSockets) with the [tls] certificate (0 = any free port); unset = no HTTPS. Default unset.",
        ),
        (
            "redirect_http",
            "Answer every request on the plain port with a redirect to the same path on tls_port. Default false.",
        ),
        (
            "hsts_max_age_secs",
            "Strict-Transport-Security max-age sent with every HTTPS response (0 = no header). Default 31536000 (a year).",
        ),
        (
            "header_timeout_secs",
            "Close a connection whose request headers have not all arrived within this time; for HTTP/1.1 this also bounds the wait for the next request on a kept-alive connection. Default 10.",
        ),
        (
            "keepalive_idle_secs",
            "Close an HTTP connection (HTTP/2 above all) that moves no byte for this long; WebSockets are not affected. Default 60.",
        ),
        (
            "max_connections",
            "Open HTTP connections (both ports, WebSockets included) at most; more are closed at once. Default 1000.",
        ),
        (
            "session_ttl_secs",
            "How long an admin's web login lasts without being used; each request renews it. Default 28800 (8 h).",
        ),
        (
            "session_max_lifetime_secs",
            "How long a web login lasts at most, however often it is used; then its holder logs in again. Default 43200 (12 h).",
        ),
        (
            "max_sessions",
            "Web logins kept at once; when full, the one unused longest is logged out. Default 1000.",
        ),
        (
            "secure_cookie",
            "Mark the login cookie Secure (set it when a TLS proxy serves the page as https). Default false.",
        ),
        (
            "allowed_origins",
            "Origins besides the page's own (e.g. [\"https://chat.example.org\"]) from which state-changing API requests are accepted. Default [].",
        ),
        ("max_page_rows", "Most rows one API request returns (log and record pages). Default 500."),
        (
            "ws_max_message_bytes",
            "Largest WebSocket message read at all; one over limits.max_line_bytes gets line_too_long, one over this closes the socket. Default 65536.",
        ),
        (
            "ws_ping_secs",
            "Ping an idle WebSocket this often; one that answers nothing for two intervals is closed (0 = never). Default 30.",
        ),
        (
            "trusted_proxies",
            "Reverse proxies (addresses or ranges, e.g. [\"127.0.0.1\", \"10.0.0.0/8\"]) whose X-Forwarded-For header names the client; from any other peer the header is ignored. Default [].",
        ),
    ];

    /// The value of a missing `[web]` section in a config file.
    pub fn off() -> Self {
        WebConfig { enabled: false, ..Self::default() }
    }

    /// [`trusted_proxies`](Self::trusted_proxies), read.
    pub fn proxy_ranges(&self) -> Result<Vec<crate::net::cidr::Cidr>, String> {
        self.trusted_proxies
            .iter()
            .map(|p| p.parse().map_err(|e| format!("web.trusted_proxies: {e}")))
            .collect()
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            enabled: true,
            port: 8080,
            tls_port: None,
            redirect_http: false,
            hsts_max_age_secs: 365 * 24 * 3600,
            header_timeout_secs: 10,
            keepalive_idle_secs: 60,
            max_connections: 1000,
            session_ttl_secs: 8 * 3600,
            session_max_lifetime_secs: 12 * 3600,
            max_sessions: 1000,
            secure_cookie: false,
            allowed_origins: Vec::new(),
            max_page_rows: 500,
            ws_max_message_bytes: 64 * 1024,
            ws_ping_secs: 30,
            trusted_proxies: Vec::new(),
        }
    }
}

//! `[server]`: process-wide settings (where to listen, where the data lives, the language).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use sockhub_i18n::Lang;

use super::section::section;

section! {
    /// `[server]`: process-wide settings. Env: `SOCKHUB_SERVER_<KEY>`.
    #[section(server, about = "Process-wide settings.")]
    pub struct ServerConfig {
        /// Address every service listens on (0.0.0.0 for all interfaces).
        pub bind: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST),
        /// Where logs and the embedded database live.
        pub data_dir: PathBuf = PathBuf::from("sockhub-data"),
        /// Log filter: error, warn, info, debug, trace, or a tracing directive list.
        pub log_level: String = "info".into(),
        /// On SIGINT/SIGTERM, how long clients get to receive the notice and close.
        pub shutdown_grace_secs: u64 = 5,
        /// Addresses or networks of TCP load balancers (HAProxy `send-proxy`/`send-proxy-v2`) whose
        /// connections start with a PROXY v1/v2 header naming the real client, e.g. ["10.0.0.5",
        /// "10.1.0.0/24"]; others are served as direct clients; empty = off.
        pub proxy_protocol: Vec<String> = Vec::new(),
        /// The language of everything a person reads: text-mode prompts, notices, errors and help, and
        /// the `message` of JSON errors (their `type` and `code` never change): "en" (English) or "ko"
        /// (Korean).
        pub language: Lang = Lang::En,
    }
}

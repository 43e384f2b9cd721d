//! `[web]`: the web page and its server side: ports, HTTP limits, web logins, WebSockets and the
//! reverse proxies whose `X-Forwarded-For` is believed.

use super::section::section;
use super::{InvalidValue, LimitsConfig};

section! {
    /// `[web]`: the web page and its server side. Env: `SOCKHUB_WEB_<KEY>`.
    #[section(web, about = "The web page, its WebSocket endpoints and HTTP API, /healthz and /metrics.")]
    pub struct WebConfig {
        /// Serve the web page; a config file without a [web] section leaves it off.
        pub enabled: bool = true,
        /// HTTP port of the page, its WebSocket endpoints and API (0 = any free port).
        pub port: u16 = 8080,
        /// HTTPS port (HTTP/1.1 and HTTP/2, wss:// for the WebSockets) with the [tls] certificate (0 =
        /// any free port); unset = no HTTPS.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub tls_port: Option<u16> = None,
        /// Answer every request on the plain port with a redirect to the same path on tls_port.
        pub redirect_http: bool = false,
        /// Strict-Transport-Security max-age sent with every HTTPS response (0 = no header;
        /// 31536000 is a year).
        pub hsts_max_age_secs: u64 = 365 * 24 * 3600,
        /// Close a connection whose request headers have not all arrived within this time; for HTTP/1.1
        /// this also bounds the wait for the next request on a kept-alive connection.
        pub header_timeout_secs: u64 = 10,
        /// Close an HTTP connection (HTTP/2 above all) that moves no byte for this long; WebSockets are
        /// not affected.
        pub keepalive_idle_secs: u64 = 60,
        /// Open HTTP connections (both ports, WebSockets included) at most; more are closed at once.
        pub max_connections: usize = 1000,
        /// How long an admin's web login lasts without being used; each request renews it (28800 is 8 h).
        pub session_ttl_secs: u64 = 8 * 3600,
        /// How long a web login lasts at most, however often it is used; then its holder logs in again
        /// (43200 is 12 h).
        pub session_max_lifetime_secs: u64 = 12 * 3600,
        /// Web logins kept at once; when full, the one unused longest is logged out.
        pub max_sessions: usize = 1000,
        /// Mark the login cookie Secure (set it when a TLS proxy serves the page as https).
        pub secure_cookie: bool = false,
        /// Origins besides the page's own (e.g. ["https://chat.example.org"]) from which state-changing
        /// API requests are accepted.
        pub allowed_origins: Vec<String> = Vec::new(),
        /// Most rows one API request returns (log and record pages).
        pub max_page_rows: u32 = 500,
        /// Largest WebSocket message read at all; one over limits.max_line_bytes gets line_too_long, one
        /// over this closes the socket.
        pub ws_max_message_bytes: usize = 64 * 1024,
        /// Ping an idle WebSocket this often; one that answers nothing for two intervals is closed (0 =
        /// never).
        pub ws_ping_secs: u64 = 30,
        /// Reverse proxies (addresses or ranges, e.g. ["127.0.0.1", "10.0.0.0/8"]) whose X-Forwarded-For
        /// header names the client; from any other peer the header is ignored.
        pub trusted_proxies: Vec<String> = Vec::new(),
    }
}

impl WebConfig {
    /// The value of a missing `[web]` section in a config file.
    pub fn off() -> Self {
        WebConfig { enabled: false, ..Self::default() }
    }

    /// [`trusted_proxies`](Self::trusted_proxies), read.
    pub fn proxy_ranges(&self) -> Result<Vec<crate::net::cidr::Cidr>, InvalidValue> {
        self.trusted_proxies
            .iter()
            .map(|p| p.parse().map_err(|e| format!("web.trusted_proxies: {e}").into()))
            .collect()
    }

    pub(super) fn validate(&self, limits: &LimitsConfig) -> Result<(), InvalidValue> {
        if self.header_timeout_secs == 0 || self.keepalive_idle_secs == 0 || self.max_connections == 0 {
            return Err(
                "web.header_timeout_secs, web.keepalive_idle_secs and web.max_connections must be at least 1"
                    .into(),
            );
        }
        if self.session_ttl_secs == 0
            || self.session_max_lifetime_secs == 0
            || self.max_sessions == 0
            || self.max_page_rows == 0
        {
            return Err("web.session_ttl_secs, web.session_max_lifetime_secs, web.max_sessions and \
                 web.max_page_rows must be at least 1"
                .into());
        }
        self.proxy_ranges()?;
        if self.ws_max_message_bytes < limits.max_line_bytes {
            return Err(format!(
                "web.ws_max_message_bytes ({}) must be at least limits.max_line_bytes ({})",
                self.ws_max_message_bytes, limits.max_line_bytes
            )
            .into());
        }
        if let Some(bad) =
            self.allowed_origins.iter().find(|o| !(o.starts_with("http://") || o.starts_with("https://")))
        {
            return Err(format!(
                "web.allowed_origins: {bad:?} is not an origin like \"https://chat.example.org\""
            )
            .into());
        }
        Ok(())
    }
}

//! `[limits]`: what one connection may cost, for every service: line length, outbound queue,
//! flood control, timeouts, connection caps.

use super::InvalidValue;
use super::section::section;

/// The longest `limits.unframed_gap_ms`: every message of a client without line ends waits this
/// long before it is handled.
pub const MAX_UNFRAMED_GAP_MS: u64 = 5000;

section! {
    /// `[limits]`: what one connection may cost. Env: `SOCKHUB_LIMITS_<KEY>`.
    #[section(limits, about = "Per-connection limits, shared by every service.")]
    pub struct LimitsConfig {
        /// Open connections the server accepts, all services together; more are told server_full.
        pub max_connections: usize = 10_000,
        /// Longest line a client may send; longer ones get line_too_long and are discarded.
        pub max_line_bytes: usize = 8192,
        /// Messages that may wait for one slow reader; when full it is disconnected as too slow.
        pub outbound_queue: usize = 1024,
        /// Flood control: messages per second per connection (0 = off).
        pub rate_per_sec: f64 = 10.0,
        /// Flood control: messages a connection may send at once before rate_per_sec applies.
        pub burst: u32 = 20,
        /// Disconnect a client that sends nothing for this long (0 = never).
        pub idle_timeout_secs: u64 = 0,
        /// Give up on a client whose socket accepts no data for this long.
        pub write_timeout_secs: u64 = 10,
        /// After the last line to a client, how long to drain its input before closing.
        pub linger_ms: u64 = 1000,
        /// Bytes that may wait for one slow reader (in its mode); beyond it the reader is disconnected as
        /// too slow (8388608 bytes is 8 MiB).
        pub outbound_bytes: usize = 8 * 1024 * 1024,
        /// Open connections from one address (IPv6: one /64), all services and WebSockets together; more
        /// are told too_many_connections (0 = no limit).
        pub max_connections_per_ip: usize = 256,
        /// Connections from one address (IPv6: one /64) that have not logged in yet; more are told
        /// too_many_connections (0 = no limit).
        pub max_pending_per_ip: usize = 128,
        /// Connections server-wide that have not logged in yet; more are told too_many_connections (0 =
        /// no limit).
        pub max_pending_logins: usize = 2000,
        /// Close a connection that has not logged in (chat, quiz, calc) or sent a first record (relay)
        /// within this long, with login_timeout (0 = never).
        pub login_timeout_secs: u64 = 30,
        /// TCP keepalive on every accepted socket: first probe after this long idle, then every 10 s,
        /// gone after 5 unanswered (0 = off).
        pub keepalive_secs: u64 = 60,
        /// Clients without line ends (TCP): a connection whose first message has no line end is served in
        /// bursts, each ended by this long a pause; a client silent this long after connecting is greeted
        /// (0 = lines only, greet at once).
        pub unframed_gap_ms: u64 = 50,
        /// TCP: a message to a connection whose socket has been quiet this long is written by its sender at
        /// once, without waking the connection's writer; busier connections get theirs batched by the writer
        /// (0 = always through the writer).
        pub direct_write_quiet_us: u64 = 1000,
    }
}

impl LimitsConfig {
    pub(super) fn validate(&self) -> Result<(), InvalidValue> {
        if self.max_line_bytes < 64 {
            return Err(
                format!("limits.max_line_bytes must be at least 64 (is {})", self.max_line_bytes).into()
            );
        }
        if self.outbound_queue == 0 || self.outbound_bytes < 1024 {
            return Err(
                "limits.outbound_queue must be at least 1 and limits.outbound_bytes at least 1024".into()
            );
        }
        if self.max_connections == 0 {
            return Err("limits.max_connections must be at least 1".into());
        }
        if self.unframed_gap_ms > MAX_UNFRAMED_GAP_MS {
            return Err(format!(
                "limits.unframed_gap_ms must be at most {MAX_UNFRAMED_GAP_MS} (is {})",
                self.unframed_gap_ms
            )
            .into());
        }
        if self.rate_per_sec < 0.0 || !self.rate_per_sec.is_finite() {
            return Err("limits.rate_per_sec must be 0 (off) or positive".into());
        }
        Ok(())
    }
}

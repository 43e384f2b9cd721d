//! `[relay]`: the log relay: its ports, who may send, where records go next, the window, retries,
//! the quota and the keep rules. The relay reads this section as it is; the durations and the
//! quota it needs are methods here.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::InvalidValue;
use super::section::section;
use crate::service::relay::DownstreamTls;
use crate::service::relay::quota::Quota;

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

section! {
    /// `[relay]`: the log relay. Env: `SOCKHUB_RELAY_<KEY>`.
    #[section(relay, about = "The log relay: stores device records, keeps what matches a rule, forwards the rest to `downstream`.")]
    pub struct RelayConfig {
        /// Run the relay; a config file without a [relay] section leaves it off.
        pub enabled: bool = true,
        /// TCP port for devices and upstream relays (0 = any free port).
        pub port: u16 = 7004,
        /// TLS port for devices and upstream relays (e.g. 7104); [tls] client_ca applies here with the
        /// [tls] certificate (0 = any free port); unset = no TLS port.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub tls_port: Option<u16> = None,
        /// host:port of the next relay; records no keep rule matches are forwarded there. Several nodes
        /// of a downstream cluster may be listed, comma-separated: the forwarder uses one and moves to
        /// the next whenever a connection fails. Unset: this node is a sink that stores everything.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub downstream: Option<String> = None,
        /// "open": any connection may send records of any source; "tokens": a connection first presents a
        /// device token ({"type":"auth","token":"..."} or a line AUTH <token>), made with `sockhub relay
        /// token add --source GLOB`, and may then send records of the sources its glob matches (others
        /// get forbidden; records before a token get unauthorized).
        pub auth: RelayAuth = RelayAuth::Open,
        /// The device token this node presents to downstream when downstream has auth = "tokens" (a token
        /// for the sources this node forwards, e.g. --source '*'). Shown as *** by `sockhub config`.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub downstream_token: Option<sockhub_proto::secret::Secret> = None,
        /// Connect to downstream over TLS (point downstream at its tls_port), verifying its certificate
        /// against downstream_ca or the system's roots.
        pub downstream_tls: bool = false,
        /// PEM file of the CA that signed downstream's certificate; unset = the system's trusted roots.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub downstream_ca: Option<PathBuf> = None,
        /// PEM certificate this relay shows downstream (mutual TLS, for a downstream with [tls]
        /// require_client_cert).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub client_cert: Option<PathBuf> = None,
        /// The private key of client_cert.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub client_key: Option<PathBuf> = None,
        /// Longest record payload accepted, in UTF-8 bytes; longer ones get payload_too_large.
        pub max_payload_bytes: usize = 4096,
        /// Longest line on the relay port (a JSON record escapes its payload, so allow room).
        pub max_line_bytes: usize = 16_384,
        /// Flood control per relay connection, lines per second (0 = off).
        pub rate_per_sec: f64 = 0.0,
        /// Records that may wait for the group commit; when full, connections stop being read
        /// (backpressure).
        pub ingest_queue: usize = 16_384,
        /// Most records committed in one transaction.
        pub max_batch: usize = 8192,
        /// Records sent downstream and not yet acknowledged, at most.
        pub window: usize = 16_384,
        /// Times downstream may refuse a record before it is held for review.
        pub max_attempts: u32 = 3,
        /// First wait before reconnecting downstream or retrying the database; doubles each time.
        pub retry_initial_ms: u64 = 200,
        /// Longest wait between reconnects or database retries.
        pub retry_max_ms: u64 = 5000,
        /// Reconnect downstream when records are in flight and no acknowledgement came for this long.
        pub ack_timeout_secs: u64 = 60,
        /// Compare forwarded records with downstream this often, besides on every reconnect and on demand
        /// (0 = not periodically).
        pub reconcile_interval_secs: u64 = 600,
        /// Re-send records reconcile finds missing downstream at once (false: leave them missing for
        /// review).
        pub resend_missing: bool = true,
        /// Payload bytes of records not yet delivered downstream (queued, held, missing) at most; then
        /// devices are not acknowledged until forwarding frees room (0 = no limit).
        pub quota_bytes: u64 = 1 << 30,
        /// The same quota counted in records (0 = no limit).
        pub quota_records: u64 = 0,
        /// How often the server looks for requests from `sockhub relay resend` and `reconcile`.
        pub control_poll_ms: u64 = 500,
        /// In a cluster: how often each node checks the forwarder lease (one node forwards at a time) and
        /// the forwarding node reads the counters and the records other nodes queued.
        pub cluster_poll_ms: u64 = 1000,
        /// Keep rules, as [[relay.keep]] tables with name and any of source (glob), payload_regex,
        /// json_field and json_equals; a record matching every condition of any rule is kept here, not
        /// forwarded.
        pub keep: Vec<KeepRule> = Vec::new(),
    }
}

impl RelayConfig {
    /// The value of a missing `[relay]` section in a config file.
    pub fn off() -> Self {
        RelayConfig { enabled: false, ..Self::default() }
    }

    /// The counts the relay sizes channels and windows with, at least 1 each (validation refuses
    /// 0; this keeps a configuration built in code safe too).
    pub fn clamped(&self) -> RelayConfig {
        RelayConfig {
            ingest_queue: self.ingest_queue.max(1),
            max_batch: self.max_batch.max(1),
            window: self.window.max(1),
            max_attempts: self.max_attempts.max(1),
            ..self.clone()
        }
    }

    /// TLS to downstream (`downstream_tls`), with the CA and this relay's certificate.
    pub fn tls_to_downstream(&self) -> Option<DownstreamTls> {
        self.downstream_tls.then(|| DownstreamTls {
            ca: self.downstream_ca.clone(),
            identity: self.client_cert.clone().zip(self.client_key.clone()),
        })
    }

    /// First wait before reconnecting or retrying (`retry_initial_ms`, at least 1 ms).
    pub fn retry_initial(&self) -> Duration {
        Duration::from_millis(self.retry_initial_ms.max(1))
    }

    /// Longest wait between retries (`retry_max_ms`, at least `retry_initial`).
    pub fn retry_max(&self) -> Duration {
        Duration::from_millis(self.retry_max_ms.max(self.retry_initial_ms).max(1))
    }

    /// `ack_timeout_secs`, at least a second.
    pub fn ack_timeout(&self) -> Duration {
        Duration::from_secs(self.ack_timeout_secs.max(1))
    }

    /// `reconcile_interval_secs`; `None` = not periodically.
    pub fn reconcile_interval(&self) -> Option<Duration> {
        (self.reconcile_interval_secs > 0).then(|| Duration::from_secs(self.reconcile_interval_secs))
    }

    /// The quota (`quota_bytes`, `quota_records`).
    pub fn quota(&self) -> Quota {
        Quota { bytes: self.quota_bytes, records: self.quota_records }
    }

    /// `control_poll_ms`, at least 10 ms.
    pub fn control_poll(&self) -> Duration {
        Duration::from_millis(self.control_poll_ms.max(10))
    }

    /// `cluster_poll_ms`, at least 10 ms.
    pub fn cluster_poll(&self) -> Duration {
        Duration::from_millis(self.cluster_poll_ms.max(10))
    }

    pub(super) fn validate(&self) -> Result<(), InvalidValue> {
        if let Some(d) = &self.downstream {
            let ok = |a: &str| {
                a.rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
            };
            let nodes = sockhub_proto::relay::node_addrs(d);
            if nodes.is_empty() || !nodes.into_iter().all(ok) {
                return Err(format!(
                    "relay.downstream must be host:port, or several separated by commas (is {d:?})"
                )
                .into());
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
        crate::service::relay::filter::KeepRules::compile(&self.keep)
            .map(|_| ())
            .map_err(|e| e.to_string().into())
    }
}

//! A harness for testing a service's rules without sockets: it starts the services of a
//! [`Config`] on an embedded SQLite file in a temporary directory (binding no client
//! connections), opens sessions straight on a service with an [`Outbox`] of their own, feeds
//! them lines through the same [`Inbound`] every transport uses, and reads back what they were
//! sent. A rule (who receives a whisper, what a muted user is told, when a record is
//! acknowledged) is checked in milliseconds, with the real service, store and flood control.
//!
//! Only the unit tests of this crate use it; the integration tests in `tests/` drive real TCP,
//! WebSocket and TLS connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sockhub_proto::Mode;
use sockhub_store::{NewAccount, Role};

use crate::app::{Hub, Server};
use crate::config::Config;
use crate::net::outbox::{Batch, Outbox};
use crate::session::{Ending, Flow, Inbound, Peer, Service};

/// How long [`Client::expect`] waits for a message that comes later (a quiz question, a relay
/// acknowledgement after its group commit).
const PATIENCE: Duration = Duration::from_secs(5);

/// Services of a configuration, started without client connections.
pub(crate) struct Harness {
    server: Server,
    next_id: u64,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Start the services `edit` leaves enabled (every one by default), on port 0 each, with
    /// generous flood control.
    pub(crate) async fn start(edit: impl FnOnce(&mut Config)) -> Harness {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config::ephemeral(dir.path());
        config.limits.rate_per_sec = 1000.0;
        config.limits.burst = 1000;
        edit(&mut config);
        let server = Server::bind(config).await.expect("the services start");
        // The listeners are never served; the services with a clock of their own still run.
        let hub = server.hub();
        if let Some(quiz) = &hub.quiz {
            hub.net.tracker.spawn(Arc::clone(quiz).run());
        }
        Harness { server, next_id: 1, _dir: dir }
    }

    pub(crate) fn hub(&self) -> &Hub {
        self.server.hub()
    }

    /// Add an account (an admin when `admin`) with `password`.
    pub(crate) async fn account(&self, name: &str, password: &str, admin: bool) {
        let hash = sockhub_store::password::hash(password).await.expect("hashing works");
        let role = if admin { Role::Admin } else { Role::Member };
        let account = NewAccount { role, ..NewAccount::member(name, hash) };
        self.hub().store.accounts().add(&account).await.expect("the account is added");
    }

    /// Open a session on `service` in `mode` (JSON, as a program would; or text, as `nc`).
    pub(crate) fn open<S: Service>(&mut self, service: &Arc<S>, mode: Mode) -> Client<S> {
        let id = self.next_id;
        self.next_id += 1;
        let addr: SocketAddr = ([127, 0, 0, 1], 40000 + id as u16).into();
        let peer = Peer { addr, transport: "tcp", id };
        let outbox = Outbox::bounded(1024, 1 << 20);
        outbox.set_mode(mode);
        let session = service.open(peer, outbox.clone());
        let inbound = Inbound::new(
            session,
            outbox.clone(),
            Some(mode),
            &self.hub().net.limits,
            Arc::clone(service.metrics()),
        );
        Client { inbound: Some(inbound), outbox, received: Vec::new() }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // Stops the quiz's rounds, the relay's tasks and the log writer's batches.
        self.hub().net.shutdown.cancel();
    }
}

/// One session opened by a [`Harness`].
pub(crate) struct Client<S: Service> {
    inbound: Option<Inbound<S::Session>>,
    outbox: Outbox,
    /// Lines received and not yet read by a test.
    received: Vec<String>,
}

impl<S: Service> Client<S> {
    /// The session's outbox (to attach a socket for direct writes, say).
    pub(crate) fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Send one line, as a transport would after decoding it.
    pub(crate) async fn send(&mut self, line: &str) -> Flow {
        self.inbound.as_mut().expect("the session is open").on_line(line).await
    }

    /// Send a JSON request.
    pub(crate) async fn request(&mut self, request: Value) -> Flow {
        self.send(&request.to_string()).await
    }

    /// Every line sent to this session so far and not yet read.
    pub(crate) async fn drain(&mut self) -> Vec<String> {
        self.collect().await;
        std::mem::take(&mut self.received)
    }

    /// Wait (up to 5 s) for a JSON message of `type`, skipping others; panics if none comes.
    pub(crate) async fn expect(&mut self, ty: &str) -> Value {
        let line = self.wait_for(&format!("{ty:?}"), |l| json_type(l).as_deref() == Some(ty)).await;
        serde_json::from_str(&line).expect("JSON")
    }

    /// Wait (up to 5 s) for a line containing `text`, skipping others; panics if none comes.
    pub(crate) async fn expect_line(&mut self, text: &str) -> String {
        self.wait_for(&format!("line with {text:?}"), |l| l.contains(text)).await
    }

    /// Wait (up to 5 s) for a line that `wanted` accepts, dropping those before it.
    async fn wait_for(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            self.collect().await;
            if let Some(i) = self.received.iter().position(|l| wanted(l)) {
                let line = self.received.remove(i);
                self.received.drain(..i);
                return line;
            }
            if self.outbox.is_closing() && self.outbox.is_empty() {
                panic!("the session closed without a {what}; got {:?}", self.received);
            }
            let wait = async {
                let mut batch = Batch::new();
                self.outbox.next_batch(&mut batch).await;
                batch
            };
            match tokio::time::timeout_at(deadline, wait).await {
                Ok(batch) => self.take(&batch),
                Err(_) => panic!("no {what} within {PATIENCE:?}; got {:?}", self.received),
            }
        }
    }

    /// End the session as a transport would when the peer goes away.
    pub(crate) async fn close(&mut self, ending: Ending) {
        if let Some(inbound) = self.inbound.take() {
            inbound.finish(ending).await;
        }
    }

    async fn collect(&mut self) {
        if !self.outbox.is_empty() || self.outbox.is_closing() {
            let mut batch = Batch::new();
            self.outbox.next_batch(&mut batch).await;
            self.take(&batch);
        }
    }

    /// The lines of `batch` as the connection writes them (in its mode, or its own encoding).
    fn take(&mut self, batch: &Batch) {
        let mut bytes = Vec::new();
        self.outbox.write_batch(batch, &mut bytes);
        self.received.extend(String::from_utf8_lossy(&bytes).lines().map(str::to_owned));
    }
}

fn json_type(line: &str) -> Option<String> {
    let v: Value = serde_json::from_str(line).ok()?;
    Some(v.get("type")?.as_str()?.to_owned())
}

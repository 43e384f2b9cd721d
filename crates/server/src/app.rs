//! Assembling a server: bind every enabled service, run the accept loops, shut down in one path.
//!
//! [`Server::bind`] binds all listeners first (port 0 picks a free port), so the caller learns the
//! real addresses before anything runs — tests bind port 0, `sockhub serve` writes them to the
//! ready file. [`Server::run`] serves until the [`Hub`]'s shutdown token is cancelled, then stops
//! accepting (the ports are free again at once), lets every connection send its `bye` and close,
//! flushes the log writer, and returns within `shutdown_grace_secs` whatever the clients do.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sockhub_store::{Journal, Store, StoreError, StoreOptions, Writer, WriterHandle, WriterOptions};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::auth::Authenticator;
use crate::bans::Bans;
use crate::bus::SharedBus;
use crate::bus::local::LocalBus;
use crate::bus::nats::{ClusterError, NatsBus};
use crate::config::Config;
use crate::metrics::{Families, FamilyWriter, Registry, Shared};
use crate::net::admission::Admission;
use crate::net::limits::Limits;
use crate::net::listener::{self, NetContext, Transport};
use crate::net::proxy::ProxyProtocol;
use crate::net::tls::{self, ServerTls};
use crate::service::Start;
use crate::service::calc::CalcService;
use crate::service::chat::ChatService;
use crate::service::irc::IrcService;
use crate::service::quiz::QuizService;
use crate::service::relay::RelayService;
use crate::session::Service;

/// How long a trusted proxy may take to send the PROXY header of a connection.
const PROXY_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr} for {service}: {source}")]
    Bind { service: &'static str, addr: SocketAddr, source: std::io::Error },
    #[error("cannot open the database ({what}): {source}")]
    Store { what: String, source: StoreError },
    #[error("cannot create {path}: {source}")]
    Files { path: String, source: std::io::Error },
    #[error("a service could not load its state from the database: {0}")]
    Service(StoreError),
    #[error("cannot join the cluster: {0}")]
    Cluster(#[from] ClusterError),
    #[error("TLS: {0}")]
    Tls(#[from] sockhub_tls::TlsError),
}

/// The running services and what every transport needs to reach them. The web crate takes a
/// clone of this to open WebSocket sessions on the same services.
#[derive(Clone)]
pub struct Hub {
    pub config: Arc<Config>,
    pub net: NetContext,
    pub metrics: Registry,
    /// The database, for reads and for writes that must be durable before a reply.
    pub store: Store,
    /// The batched log writer's queue, for records written off the hot path.
    pub journal: Journal,
    /// Login checks and brute-force protection, shared by every service.
    pub auth: Arc<Authenticator>,
    /// How services reach the other nodes: a no-op [`LocalBus`] unless `[cluster]` is set.
    pub bus: SharedBus,
    /// The NATS bus when this node is part of a cluster (for its status and metrics).
    pub cluster: Option<Arc<NatsBus>>,
    /// The certificate of the TLS ports, when `[tls]` has one.
    pub tls: Option<Arc<ServerTls>>,
    pub chat: Option<Arc<ChatService>>,
    pub quiz: Option<Arc<QuizService>>,
    pub calc: Option<Arc<CalcService>>,
    pub relay: Option<Arc<RelayService>>,
    /// The chat's IRC face, when `[irc]` is on.
    pub irc: Option<Arc<IrcService>>,
    /// The retention task's counters, when `[retention]` limits anything.
    pub retention: Option<Arc<crate::retention::RetentionMetrics>>,
}

impl Hub {
    /// The token whose cancellation shuts everything down.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.net.shutdown
    }
}

/// Starts an accept loop on its bound listener: a service's, or another transport's (the web
/// server) added with [`Server::add_listener`].
pub type AcceptLoop = Box<dyn FnOnce(TcpListener, NetContext) -> BoxFuture<'static, ()> + Send>;

/// A bound listener and the accept loop that will serve it.
struct Bound {
    /// The service (`chat`), or its TLS port (`chat-tls`).
    name: &'static str,
    listener: TcpListener,
    serve: AcceptLoop,
}

/// A server whose listeners are bound.
pub struct Server {
    hub: Hub,
    listeners: Vec<Bound>,
    writer: WriterHandle,
}

impl Server {
    /// Open the database, create the services and bind a listener for each enabled one.
    pub async fn bind(config: Config) -> Result<Server, StartError> {
        let config = Arc::new(config);
        let store_options = store_options(&config);
        let store = Store::open(&store_options)
            .await
            .map_err(|source| StartError::Store { what: store_options.describe(), source })?;
        info!(database = %store.describe(), "database opened");
        let (journal, writer) = Writer::spawn(store.clone(), writer_options(&config));
        let shutdown = CancellationToken::new();
        let log_wait = Duration::from_millis(config.database.log_wait_ms);
        let cluster = config.cluster.enabled().then(|| NatsBus::new(&config.cluster, store.clone()));
        let bus: SharedBus = match &cluster {
            Some(nats) => Arc::clone(nats) as SharedBus,
            None => Arc::new(LocalBus::new()),
        };
        let bans = Bans::load(store.clone(), journal.clone(), Arc::clone(&bus), &config.auth, log_wait)
            .await
            .map_err(StartError::Service)?;
        let net = NetContext {
            limits: Arc::new(Limits::of(&config)),
            shutdown: shutdown.clone(),
            tracker: TaskTracker::new(),
            slots: Arc::new(Semaphore::new(config.limits.max_connections)),
            next_id: Arc::new(AtomicU64::new(1)),
            admission: Arc::new(Admission::new(&config.limits)),
            proxy: Arc::new(
                ProxyProtocol::from_list(&config.server.proxy_protocol, PROXY_HEADER_TIMEOUT)
                    .expect("validated with the configuration"),
            ),
            bans: Arc::clone(&bans),
        };
        let auth = Arc::new(Authenticator::new(
            store.clone(),
            journal.clone(),
            &config.auth,
            log_wait,
            Arc::clone(&bans),
        ));
        let tls = if config.tls.configured() { Some(ServerTls::load(&config.tls)?) } else { None };
        let mut hub = Hub {
            config: Arc::clone(&config),
            net,
            metrics: Registry::default(),
            store,
            journal,
            auth,
            bus,
            cluster,
            tls,
            chat: None,
            quiz: None,
            calc: None,
            relay: None,
            irc: None,
            retention: None,
        };
        // What is not a service registers its families here; each service does in its start.
        hub.metrics.collect(Shared(Arc::new(LogWriterFamilies(hub.journal.clone()))));
        if let Some(tls) = &hub.tls {
            hub.metrics.collect(Shared(Arc::clone(&tls.metrics)));
        }
        if config.retention.enabled() {
            let metrics = Arc::new(crate::retention::RetentionMetrics::default());
            hub.metrics.collect(Shared(Arc::clone(&metrics)));
            hub.retention = Some(metrics);
        }
        hub.metrics.collect(Shared(Arc::clone(bans.metrics())));
        hub.metrics.collect(Shared(Arc::clone(&hub.auth)));
        let mut listeners = Vec::new();

        // Every service the same way (see `start_service`); the IRC face and the quiz after the
        // chat, which the IRC face speaks for and the quiz joins for an admin's `/start`.
        hub.chat = start_service::<ChatService>(&config, &mut hub, &mut listeners).await?;
        hub.irc = start_service::<IrcService>(&config, &mut hub, &mut listeners).await?;
        hub.quiz = start_service::<QuizService>(&config, &mut hub, &mut listeners).await?;
        hub.calc = start_service::<CalcService>(&config, &mut hub, &mut listeners).await?;
        hub.relay = start_service::<RelayService>(&config, &mut hub, &mut listeners).await?;
        // The cluster starts last: its node id defaults to the host name and the chat port, which
        // is known only once bound; and every service has attached to the bus by now.
        if let Some(nats) = &hub.cluster {
            let node_id = match &config.cluster.node_id {
                Some(id) => id.clone(),
                None => default_node_id(listeners.iter().find(|b| b.name == "chat").or(listeners.first())),
            };
            nats.start(&node_id, &hub.net.tracker, &shutdown).await?;
            hub.metrics.collect(Shared(Arc::clone(nats.metrics())));
        }

        Ok(Server { hub, listeners, writer })
    }

    /// Serve another bound listener (the web page) with the others: it is listed by [`Self::addrs`]
    /// under `name`, its accept loop is spawned by [`Self::run`] on the same task tracker, and it
    /// must stop accepting when the [`NetContext`]'s shutdown token is cancelled, so that the one
    /// shutdown path covers it too.
    pub fn add_listener(&mut self, name: &'static str, listener: TcpListener, serve: AcceptLoop) {
        self.listeners.push(Bound { name, listener, serve });
    }

    /// The bound address of each service, by name.
    pub fn addrs(&self) -> BTreeMap<String, SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|b| Some((b.name.to_string(), b.listener.local_addr().ok()?)))
            .collect()
    }

    /// The shared state, for other transports (the web page) to attach to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Serve until the hub's shutdown token is cancelled, then close every connection gracefully
    /// and flush the log writer.
    pub async fn run(self) {
        let Server { hub, listeners, writer } = self;
        let net = &hub.net;
        for bound in listeners {
            net.tracker.spawn((bound.serve)(bound.listener, net.clone()));
        }
        if let Some(tls) = &hub.tls {
            net.tracker.spawn(Arc::clone(tls).watch(net.shutdown.clone()));
        }
        // Old rows go in small batches, off the hot path.
        if let Some(metrics) = &hub.retention {
            let task = crate::retention::RetentionTask {
                store: hub.store.clone(),
                config: hub.config.retention.clone(),
                metrics: Arc::clone(metrics),
                relay: hub.relay.clone(),
                shutdown: net.shutdown.clone(),
            };
            net.tracker.spawn(task.run());
        }
        net.tracker.spawn(Arc::clone(&net.bans).refresh_until(net.shutdown.clone()));
        // Services with a clock of their own (the quiz's rounds) start with the listeners.
        if let Some(quiz) = &hub.quiz {
            net.tracker.spawn(Arc::clone(quiz).run());
        }
        net.shutdown.cancelled().await;
        info!("shutting down: telling clients and closing connections");
        net.tracker.close();
        let grace = Duration::from_secs(hub.config.server.shutdown_grace_secs);
        let deadline = tokio::time::Instant::now() + grace;
        if tokio::time::timeout_at(deadline, net.tracker.wait()).await.is_err() {
            warn!(
                remaining = net.tracker.len(),
                grace = ?grace,
                "connections did not close within the grace period; leaving them"
            );
        }
        // The log queue is flushed after the sessions are gone (their last records are in it),
        // within what is left of the grace period, but never less than a second.
        let flush_time =
            deadline.saturating_duration_since(tokio::time::Instant::now()).max(Duration::from_secs(1));
        let report = writer.shutdown(flush_time).await;
        if report.is_complete() {
            info!(written = report.written_total, "log writer flushed");
        } else {
            error!(
                unwritten = report.unwritten.len(),
                uncertain = report.uncertain.len(),
                "log writer could not flush everything before exit"
            );
        }
        hub.store.close().await;
        info!("shutdown complete");
    }
}

/// The log writer's queue and progress, for `/metrics`.
struct LogWriterFamilies(Journal);

impl Families for LogWriterFamilies {
    fn families(&self, out: &mut FamilyWriter<'_>) -> std::fmt::Result {
        let w = self.0.stats();
        out.gauge("sockhub_log_queue_depth", "Log records waiting for the database.", w.depth)?;
        out.gauge("sockhub_log_queue_capacity", "The log queue's bound.", w.capacity)?;
        out.gauge(
            "sockhub_log_writer_lag_seconds",
            "How long the oldest unwritten log record has waited.",
            w.lag.as_secs_f64(),
        )?;
        out.gauge("sockhub_log_writer_healthy", "1 if the log writer's last write succeeded.", w.healthy)?;
        out.counter("sockhub_log_records_written_total", "Log records written.", w.written)?;
        out.counter(
            "sockhub_log_write_failures_total",
            "Failed log write attempts (each retried).",
            w.failed_attempts,
        )
    }
}

/// `host:port`: this machine's host name and the port of `listener` (chat's, or the first one).
fn default_node_id(listener: Option<&Bound>) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "sockhub".to_owned());
    let port = listener.and_then(|b| b.listener.local_addr().ok()).map(|a| a.port()).unwrap_or(0);
    format!("{host}:{port}")
}

/// The store's options from `[server] data_dir` and `[database]`.
pub fn store_options(config: &Config) -> StoreOptions {
    let db = &config.database;
    StoreOptions {
        url: db.url.clone(),
        sqlite_path: config.server.data_dir.join(&db.sqlite_file),
        max_connections: db.max_connections,
        connect_timeout: Duration::from_secs(db.connect_timeout_secs),
    }
}

fn writer_options(config: &Config) -> WriterOptions {
    let db = &config.database;
    WriterOptions {
        capacity: db.queue_capacity,
        max_batch: db.max_batch,
        retry_initial: Duration::from_millis(db.retry_initial_ms),
        retry_max: Duration::from_millis(db.retry_max_ms),
    }
}

/// Start service `S` if its section is on: create it, bind its ports (with its own limits, if it
/// has any), register its metrics.
async fn start_service<S: Start>(
    config: &Config,
    hub: &mut Hub,
    listeners: &mut Vec<Bound>,
) -> Result<Option<Arc<S>>, StartError> {
    let Some((port, tls_port)) = S::ports(config) else { return Ok(None) };
    let service = S::start(config, hub).await?;
    let bound = bind_ports(&service, config, port, tls_port, hub, S::TLS)?;
    if let Some(addr) = bound.first().and_then(|b| b.listener.local_addr().ok()) {
        service.bound(addr);
    }
    match S::limits(config) {
        None => listeners.extend(bound),
        Some(limits) => {
            let limits = Arc::new(limits);
            for mut bound in bound {
                let (serve, limits) = (bound.serve, Arc::clone(&limits));
                bound.serve = Box::new(move |listener, mut net| {
                    net.limits = limits;
                    serve(listener, net)
                });
                listeners.push(bound);
            }
        }
    }
    hub.metrics.register(service.name(), Arc::clone(service.metrics()));
    Ok(Some(service))
}

/// Bind `service`'s port, and its TLS port when `tls_port` is set, and remember how to serve
/// them (only the TLS one under `[tls] plain_ports = false`). The plain port comes first.
fn bind_ports<S: Service>(
    service: &Arc<S>,
    config: &Config,
    port: u16,
    tls_port: Option<u16>,
    hub: &Hub,
    kind: tls::Port,
) -> Result<Vec<Bound>, StartError> {
    let mut bound = Vec::new();
    if tls_port.is_none() || config.tls.plain_ports {
        bound.push(bind_service(service, service.name(), config.listen_addr(port), Transport::Plain)?);
    }
    if let Some(tls_port) = tls_port {
        let name = tls_name(service.name());
        let Some(tls) = &hub.tls else {
            return Err(StartError::Tls(sockhub_tls::TlsError::Config(format!(
                "{name} needs [tls] cert and key"
            ))));
        };
        let transport = Transport::Tls(Arc::clone(tls), kind);
        bound.push(bind_service(service, name, config.listen_addr(tls_port), transport)?);
    }
    Ok(bound)
}

/// The listener name of a service's TLS port, as the ready file and start-up lines show it.
fn tls_name(service: &str) -> &'static str {
    match service {
        "chat" => "chat-tls",
        "quiz" => "quiz-tls",
        "calc" => "calc-tls",
        "relay" => "relay-tls",
        "irc" => "irc-tls",
        _ => "tls",
    }
}

/// Bind one port of `service` and remember how to serve it.
fn bind_service<S: Service>(
    service: &Arc<S>,
    name: &'static str,
    addr: SocketAddr,
    transport: Transport,
) -> Result<Bound, StartError> {
    let listener = listener::bind(addr).map_err(|source| StartError::Bind { service: name, addr, source })?;
    let service = Arc::clone(service);
    let serve: AcceptLoop =
        Box::new(move |listener, net| Box::pin(listener::accept_loop(listener, service, net, transport)));
    Ok(Bound { name, listener, serve })
}

//! `sockhub serve`: load the configuration, bind every enabled service, report the addresses
//! (console and `--ready-file`), and serve until SIGINT or SIGTERM.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use sockhub_server::config::Override;
use sockhub_server::{Server, logging};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::ConfigFile;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: ConfigFile,
    /// Address every service listens on (overrides [server] bind).
    #[arg(long)]
    bind: Option<IpAddr>,
    /// Directory for logs and the embedded database (overrides [server] data_dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Chat port; 0 picks a free one (overrides [chat] port).
    #[arg(long, value_name = "PORT")]
    chat_port: Option<u16>,
    /// Quiz port; 0 picks a free one (overrides [quiz] port).
    #[arg(long, value_name = "PORT")]
    quiz_port: Option<u16>,
    /// Calculator port; 0 picks a free one (overrides [calc] port).
    #[arg(long, value_name = "PORT")]
    calc_port: Option<u16>,
    /// Relay port; 0 picks a free one (overrides [relay] port).
    #[arg(long, value_name = "PORT")]
    relay_port: Option<u16>,
    /// Where the relay forwards, host:port (overrides [relay] downstream).
    #[arg(long, value_name = "HOST:PORT")]
    relay_downstream: Option<String>,
    /// Web page port; 0 picks a free one (overrides [web] port).
    #[arg(long, value_name = "PORT")]
    web_port: Option<u16>,
    /// Log filter, e.g. `debug` (overrides [server] log_level).
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
    /// Once every listener is bound, write their addresses here as JSON: {"chat": "127.0.0.1:7001", "web": "127.0.0.1:8080"}.
    #[arg(long, value_name = "PATH")]
    ready_file: Option<PathBuf>,
}

impl ServeArgs {
    fn overrides(&self) -> Vec<Override> {
        let mut o = Vec::new();
        let mut flag = |section: &str, key: &str, value: Option<String>, name: &str| {
            if let Some(value) = value {
                o.push(Override::new(section, key, value, name));
            }
        };
        flag("server", "bind", self.bind.map(|b| b.to_string()), "--bind");
        flag("server", "data_dir", self.data_dir.as_ref().map(|d| d.display().to_string()), "--data-dir");
        flag("server", "log_level", self.log_level.clone(), "--log-level");
        flag("chat", "port", self.chat_port.map(|p| p.to_string()), "--chat-port");
        flag("quiz", "port", self.quiz_port.map(|p| p.to_string()), "--quiz-port");
        flag("calc", "port", self.calc_port.map(|p| p.to_string()), "--calc-port");
        flag("relay", "port", self.relay_port.map(|p| p.to_string()), "--relay-port");
        flag("relay", "downstream", self.relay_downstream.clone(), "--relay-downstream");
        flag("web", "port", self.web_port.map(|p| p.to_string()), "--web-port");
        o
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load(&args.overrides())?;
    let data_dir = config.server.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data_dir {}", data_dir.display()))?;
    let rotation = logging::rotation::RotationPolicy::from(&config.logging);
    let _logs = logging::init(&config.server.log_level, Some(&data_dir.join("logs")), rotation)
        .with_context(|| format!("opening the log directory under {}", data_dir.display()))?;

    let mut server = Server::bind(config).await?;
    sockhub_web::attach(&mut server)?;
    let addrs = server.addrs();
    if addrs.is_empty() {
        anyhow::bail!(sockhub_i18n::t!("cli-serve-nothing-enabled"));
    }
    for (service, addr) in &addrs {
        println!(
            "{}",
            sockhub_i18n::t!("cli-serve-listening", service = service.to_string(), addr = addr.to_string())
        );
        info!(%service, %addr, "listening");
    }
    if let Some(path) = &args.ready_file {
        write_ready_file(path, &addrs).with_context(|| format!("writing {}", path.display()))?;
    }

    let shutdown = server.hub().shutdown_token().clone();
    tokio::spawn(stop_on_signal(shutdown));
    server.run().await;
    Ok(ExitCode::SUCCESS)
}

/// Write the addresses atomically (write a temporary file, then rename), so a watcher never reads
/// a half-written file.
fn write_ready_file(path: &Path, addrs: &BTreeMap<String, SocketAddr>) -> std::io::Result<()> {
    let json: BTreeMap<&str, String> = addrs.iter().map(|(k, v)| (k.as_str(), v.to_string())).collect();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&json)?)?;
    std::fs::rename(&tmp, path)
}

/// Cancel `shutdown` on the first SIGINT or SIGTERM; a second one exits at once.
pub(super) async fn stop_on_signal(shutdown: CancellationToken) {
    let name = wait_for_signal().await;
    info!(signal = name, "received; shutting down (send it again to exit at once)");
    shutdown.cancel();
    let name = wait_for_signal().await;
    eprintln!("{}", sockhub_i18n::t!("cli-serve-signal-again", signal = name.to_string()));
    std::process::exit(130);
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

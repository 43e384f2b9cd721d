//! Subcommands. Each file holds one command (or one family of commands) with its arguments.
//!
//! - `serve` ([`serve`]): run the server.
//! - `config` ([`config`]): print the effective configuration with comments.
//! - `chat` ([`chat`]): the terminal chat client.
//! - `quiz` ([`quiz`]): the quiz client and bot, `quiz start`, `quiz export`, `quiz rounds`.
//! - `calc` ([`calc`]): the terminal calculator client, and `calc export` of the results.
//! - `roster` ([`roster`]): the calculator's student roster: import, list, export.
//! - `user` ([`user`]): accounts. `logs` ([`logs`]): the database logs. `db` ([`db`]): migrations,
//!   and `db backup|restore` ([`backup`]) of the embedded database.
//! - `relay status|records|resend|reconcile` ([`relay`]): operate a relay node.
//! - `device` ([`device`]): a device simulator (and load generator) for the relay.
//! - `bench` ([`bench`]): the load generator's scenarios (chat fan-out, connections, ...).
//! - `tls self-signed` ([`tls`]): a CA and a server certificate for the TLS ports.
//! - [`output`]: table / CSV / JSON printing shared by every report.

mod backup;
mod bans;
mod bench;
mod calc;
mod chat;
mod config;
mod db;
mod device;
mod logs;
mod output;
mod quiz;
mod relay;
mod roster;
mod serve;
mod tls;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use sockhub_i18n::Lang;
use sockhub_server::config::Override;

/// sockhub: a multi-client TCP server for chat, a timed quiz, a shared calculator and a lossless
/// log relay, reachable with nc, the terminal clients, or a browser.
#[derive(Debug, Parser)]
#[command(name = "sockhub", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The language of what the command shows people: en or ko. Default: the locale's (LC_ALL,
    /// LC_MESSAGES, LANG; ko_KR.UTF-8 is Korean, anything else English). The server's own
    /// language is [server] language; --json and CSV output never change.
    #[arg(long, global = true, value_name = "en|ko")]
    lang: Option<Lang>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (every service, with embedded defaults unless configured otherwise).
    Serve(serve::ServeArgs),
    /// Print the effective configuration, with every key documented.
    Config(ConfigFile),
    /// Chat from the terminal.
    Chat(chat::ChatArgs),
    /// Play the timed quiz (or let a bot play); start rounds, export attempts, list rounds.
    Quiz(quiz::QuizArgs),
    /// Use the square calculator from the terminal, or export its results (`calc export`).
    Calc(calc::CalcArgs),
    /// Manage the calculator's student roster: import a CSV, list, export.
    #[command(subcommand)]
    Roster(roster::RosterCommand),
    /// Manage accounts (members and admins).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Read the logs kept in the database: logins, chat, moderation.
    #[command(subcommand)]
    Logs(logs::LogsCommand),
    /// The database: apply migrations, back up and restore the embedded SQLite file.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Look at and operate a relay node (status, records, resend, reconcile).
    Relay(relay::RelayArgs),
    /// Send records to a relay like a device would, and wait for every acknowledgement.
    Device(device::DeviceArgs),
    /// Load-test a running server: chat fan-out, many connections, slow consumers, ...
    Bench(bench::BenchArgs),
    /// Certificates for the TLS ports (`tls self-signed`).
    #[command(subcommand)]
    Tls(tls::TlsCommand),
}

/// `--tls [--ca FILE]`: how a client reaches a TLS port.
#[derive(Debug, Clone, Args)]
pub struct TlsArgs {
    /// Connect with TLS (to the service's tls_port), verifying the server's certificate.
    #[arg(long)]
    pub tls: bool,
    /// Trust this CA (a PEM file, e.g. the ca.pem of `sockhub tls self-signed`) instead of the
    /// system's roots.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub ca: Option<PathBuf>,
}

impl TlsArgs {
    /// The client's TLS settings, or `None` without `--tls`.
    pub fn client(&self) -> anyhow::Result<Option<sockhub_client::conn::ClientTls>> {
        if !self.tls {
            return Ok(None);
        }
        Ok(Some(sockhub_client::conn::ClientTls::new(self.ca.as_deref(), None)?))
    }
}

/// `--config FILE`, shared by every command that reads server settings or data.
#[derive(Debug, Clone, Args)]
pub struct ConfigFile {
    /// TOML configuration file (see `sockhub config`). Without one, built-in defaults apply.
    #[arg(long, short = 'c', env = "SOCKHUB_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigFile {
    /// Load the configuration with environment overrides and the given flag overrides.
    pub fn load(&self, flags: &[Override]) -> anyhow::Result<sockhub_server::Config> {
        Ok(sockhub_server::config::load(self.config.as_deref(), std::env::vars(), flags)?)
    }
}

/// `--config FILE` and `--data-dir DIR`: what a command that opens the database needs.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    #[command(flatten)]
    pub config: ConfigFile,
    /// Directory of the embedded database (overrides [server] data_dir; ignored when
    /// [database] url or SOCKHUB_DATABASE_URL names a server).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DatabaseArgs {
    /// Open (and migrate) the configured database.
    pub async fn open(&self) -> anyhow::Result<sockhub_store::Store> {
        Ok(self.open_with_config().await?.1)
    }

    /// [`Self::open`], with the configuration it was opened with.
    pub async fn open_with_config(&self) -> anyhow::Result<(sockhub_server::Config, sockhub_store::Store)> {
        db::open_with(&self.config, &self.flags()).await
    }

    /// Where the configured database is, without opening it.
    pub fn store_options(&self) -> anyhow::Result<sockhub_store::StoreOptions> {
        Ok(sockhub_server::app::store_options(&self.config.load(&self.flags())?))
    }

    fn flags(&self) -> Vec<Override> {
        self.data_dir
            .iter()
            .map(|d| Override::new("server", "data_dir", d.display().to_string(), "--data-dir"))
            .collect()
    }
}

/// Run the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    raise_open_file_limit();
    // A client or a report speaks one language for its whole run; the server speaks its
    // configured one on every connection and keeps its own log in English.
    if !matches!(cli.command, Command::Serve(_)) {
        cli.lang.unwrap_or_else(Lang::from_env).set_default();
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Command::Bench(args) = &cli.command
        && let Some(threads) = args.threads()
    {
        runtime.worker_threads(threads);
    }
    let runtime = runtime.enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Config(args) => config::run(args),
            Command::Chat(args) => chat::run(args).await,
            Command::Quiz(args) => quiz::run(args).await,
            Command::Calc(args) => calc::run(args).await,
            Command::Roster(command) => roster::run(command).await,
            Command::User(cmd) => user::run(cmd).await,
            Command::Logs(cmd) => logs::run(cmd).await,
            Command::Db(cmd) => db::run(cmd).await,
            Command::Relay(args) => relay::run(args).await,
            Command::Device(args) => device::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Tls(command) => tls::run(command),
        }
    })
}

/// Raise the soft limit on open files to the hard limit: a server with thousands of clients, and
/// `sockhub bench` opening thousands of connections, need one descriptor each, and the soft limit
/// is often far below what the system allows. (The one `unsafe` in sockhub: libc has no safe
/// wrapper for these two calls.)
#[allow(unsafe_code)]
fn raise_open_file_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

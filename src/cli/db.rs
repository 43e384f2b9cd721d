//! `sockhub db`: the database itself. `migrate` applies pending migrations (the server also does
//! this at start), and is how several nodes sharing a database are upgraded once, up front.
//! `prune` removes what `[retention]` no longer keeps (the server does the same in the
//! background), or with `--dry-run` only shows it. `backup` and `restore` ([`super::backup`])
//! copy the embedded SQLite database. Also the helpers every data command uses to open the store
//! through `--config`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;
use sockhub_server::Config;
use sockhub_server::config::Override;
use sockhub_store::Store;

use super::output::{self, Format, Row};
use super::{ConfigFile, DatabaseArgs};
use sockhub_i18n::t;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending schema migrations and list what was applied.
    Migrate(ConfigFile),
    /// Remove rows older than [retention] keeps them (chat lines, logins, quiz answers,
    /// relay records downstream confirmed), per kind with counts and time ranges.
    Prune(PruneArgs),
    /// Copy the live SQLite database to FILE, consistently, while the server runs.
    Backup(super::backup::BackupArgs),
    /// Restore a backup into the data directory of a stopped server (the old file is kept).
    Restore(super::backup::RestoreArgs),
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Only show what would go; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One line of `db prune`'s report.
#[derive(Debug, Serialize)]
struct PruneLine {
    kind: &'static str,
    /// `0`: kept for ever.
    keep_days: u32,
    /// `would_remove` with --dry-run, else `removed`.
    action: &'static str,
    rows: i64,
    /// Rows older than this go (RFC 3339, UTC); absent when kept for ever.
    before: Option<String>,
    oldest: Option<String>,
    newest: Option<String>,
}

impl Row for PruneLine {
    const HEADERS: &'static [&'static str] =
        &["kind", "keep days", "action", "rows", "older than", "oldest", "newest"];
    fn cells(&self) -> Vec<String> {
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        vec![
            self.kind.into(),
            if self.keep_days == 0 { t!("cli-prune-for-ever") } else { self.keep_days.to_string() },
            if self.action == "removed" { t!("cli-prune-removed") } else { t!("cli-prune-would-remove") },
            self.rows.to_string(),
            or_dash(&self.before),
            or_dash(&self.oldest),
            or_dash(&self.newest),
        ]
    }
}

async fn prune(args: PruneArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = args.db.open_with_config().await?;
    let plans = sockhub_server::retention::prune(&store, &config.retention, args.dry_run).await;
    store.close().await;
    let time = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    let lines: Vec<PruneLine> = plans?
        .into_iter()
        .map(|p| PruneLine {
            kind: p.kind.as_str(),
            keep_days: p.days,
            action: if args.dry_run { "would_remove" } else { "removed" },
            rows: p.range.count,
            before: time(p.before_ms),
            oldest: time(p.range.oldest_ms),
            newest: time(p.range.newest_ms),
        })
        .collect();
    output::print(&lines, if args.json { Format::Json } else { Format::Table })?;
    Ok(ExitCode::SUCCESS)
}

pub async fn run(cmd: DbCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DbCommand::Migrate(file) => {
            let config = file.load(&[])?;
            let opts = sockhub_server::app::store_options(&config);
            let store = Store::connect(&opts).await?;
            let applied = store.migrate().await?;
            if applied.is_empty() {
                println!("{}", t!("cli-db-up-to-date", db = store.describe()));
            }
            for name in applied {
                println!("{}", t!("cli-db-applied", db = store.describe(), migration = name));
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Prune(args) => prune(args).await,
        DbCommand::Backup(args) => super::backup::backup(args).await,
        DbCommand::Restore(args) => super::backup::restore(args).await,
    }
}

/// Open (and migrate) the database named by `--config`.
pub async fn open(file: &ConfigFile) -> anyhow::Result<(Config, Store)> {
    open_with(file, &[]).await
}

/// [`open`], with flag overrides (such as `--data-dir`).
pub async fn open_with(file: &ConfigFile, flags: &[Override]) -> anyhow::Result<(Config, Store)> {
    let config = file.load(flags)?;
    let opts = sockhub_server::app::store_options(&config);
    let store = Store::open(&opts).await.map_err(|e| {
        anyhow::anyhow!(t!("cli-opening-failed", db = opts.describe(), error = e.to_string()))
    })?;
    Ok((config, store))
}

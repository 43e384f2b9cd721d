//! `sockhub db`: the database itself. `migrate` applies pending migrations (the server also does
//! this at start), and is how several nodes sharing a database are upgraded once, up front.
//! `backup` and `restore` ([`super::backup`]) copy the embedded SQLite database.
//! Also the helpers every data command uses to open the store through `--config`.

use std::process::ExitCode;

use clap::Subcommand;
use sockhub_server::Config;
use sockhub_server::config::Override;
use sockhub_store::Store;

use super::ConfigFile;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending schema migrations and list what was applied.
    Migrate(ConfigFile),
    /// Copy the live SQLite database to FILE, consistently, while the server runs.
    Backup(super::backup::BackupArgs),
    /// Restore a backup into the data directory of a stopped server (the old file is kept).
    Restore(super::backup::RestoreArgs),
}

pub async fn run(cmd: DbCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DbCommand::Migrate(file) => {
            let config = file.load(&[])?;
            let opts = sockhub_server::app::store_options(&config);
            let store = Store::connect(&opts).await?;
            let applied = store.migrate().await?;
            if applied.is_empty() {
                println!("{}: up to date", store.describe());
            }
            for name in applied {
                println!("{}: applied {name}", store.describe());
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
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
    let store = Store::open(&opts).await.map_err(|e| anyhow::anyhow!("opening {}: {e}", opts.describe()))?;
    Ok((config, store))
}

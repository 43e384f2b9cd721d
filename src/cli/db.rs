//! `sockhub db`: the database itself. `migrate` applies pending migrations (the server also does
//! this at start), and is how several nodes sharing a database are upgraded once, up front.
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

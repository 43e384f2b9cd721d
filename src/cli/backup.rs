//! `sockhub db backup FILE` and `sockhub db restore FILE`: a consistent copy of the live
//! embedded SQLite database, and putting one back into a stopped server's data directory (see
//! `sockhub_store::backup`). For MariaDB/MySQL and PostgreSQL they say which tool to use.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sockhub_store::backup::{self, DatabaseSummary};
use sockhub_store::{Store, StoreOptions};

use super::DatabaseArgs;
use sockhub_i18n::t;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist).
    file: PathBuf,
    #[command(flatten)]
    db: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file to restore (made by `sockhub db backup`).
    file: PathBuf,
    #[command(flatten)]
    db: DatabaseArgs,
}

/// Not SQLite: what to use instead. `None` for the embedded database.
fn server_database(opts: &StoreOptions, verb: &str) -> Option<String> {
    let url = opts.url.as_deref()?;
    let tool = match sockhub_store::Backend::from_url(url) {
        Ok(sockhub_store::Backend::MySql) => {
            t!("cli-backup-tool", dump = "mariadb-dump --single-transaction", restore = "mariadb")
        }
        Ok(sockhub_store::Backend::Postgres) => {
            t!("cli-backup-tool", dump = "pg_dump --format=custom", restore = "pg_restore")
        }
        _ => return Some(t!("cli-backup-use-sqlite-file", verb = verb)),
    };
    Some(t!("cli-backup-server-database", db = opts.describe(), verb = verb, tool = tool))
}

fn print_summary(s: &DatabaseSummary) {
    let rows: Vec<String> =
        s.tables.iter().filter(|t| t.rows > 0).map(|t| format!("{} {}", t.table, t.rows)).collect();
    let rows = if rows.is_empty() { t!("cli-none") } else { rows.join(", ") };
    println!(
        "{}",
        t!("cli-backup-summary", bytes = s.bytes, migration = s.migration.to_string(), rows = rows)
    );
}

pub async fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let opts = args.db.store_options()?;
    if let Some(why) = server_database(&opts, &t!("cli-backup-verb-back-up")) {
        eprintln!("{why}");
        return Ok(ExitCode::from(2));
    }
    // Without migrating: a backup changes nothing in the database it copies.
    let store = Store::connect(&opts).await.map_err(|e| {
        anyhow::anyhow!(t!("cli-opening-failed", db = opts.describe(), error = e.to_string()))
    })?;
    let summary = store.backup_sqlite(&args.file).await;
    store.close().await;
    let summary = summary?;
    println!("{}", t!("cli-backup-done", db = opts.describe(), file = args.file.display().to_string()));
    print_summary(&summary);
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let opts = args.db.store_options()?;
    if let Some(why) = server_database(&opts, &t!("cli-backup-verb-restore")) {
        eprintln!("{why}");
        return Ok(ExitCode::from(2));
    }
    let restored = backup::restore_sqlite(&args.file, &opts.sqlite_path).await?;
    println!(
        "{}",
        t!(
            "cli-restore-done",
            file = args.file.display().to_string(),
            path = opts.sqlite_path.display().to_string()
        )
    );
    print_summary(&restored.summary);
    match &restored.old {
        Some(old) => println!("{}", t!("cli-restore-old-kept", path = old.display().to_string())),
        None => println!("{}", t!("cli-restore-no-old")),
    }
    // Open it as the server will: pending migrations of a backup from an older sockhub apply now.
    let store = Store::open(&opts)
        .await
        .map_err(|e| anyhow::anyhow!(t!("cli-restore-opening", error = e.to_string())))?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

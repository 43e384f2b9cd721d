//! `sockhub db backup FILE` and `sockhub db restore FILE`: a consistent copy of the live
//! embedded SQLite database, and putting one back into a stopped server's data directory (see
//! `sockhub_store::backup`). For MariaDB/MySQL and PostgreSQL they say which tool to use.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sockhub_store::backup::{self, DatabaseSummary};
use sockhub_store::{Store, StoreOptions};

use super::DatabaseArgs;

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
        Ok(sockhub_store::Backend::MySql) => "mariadb-dump --single-transaction (restore with mariadb)",
        Ok(sockhub_store::Backend::Postgres) => "pg_dump --format=custom (restore with pg_restore)",
        _ => return Some(format!("set [database] sqlite_file instead of an sqlite: URL to {verb} it")),
    };
    Some(format!(
        "the database is {}: {verb} it with {tool}; see \"Backups\" in docs/operations.md",
        opts.describe()
    ))
}

fn print_summary(s: &DatabaseSummary) {
    let rows: Vec<String> =
        s.tables.iter().filter(|t| t.rows > 0).map(|t| format!("{} {}", t.table, t.rows)).collect();
    println!(
        "  {} bytes, migration {}, rows: {}",
        s.bytes,
        s.migration,
        if rows.is_empty() { "none".into() } else { rows.join(", ") }
    );
}

pub async fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let opts = args.db.store_options()?;
    if let Some(why) = server_database(&opts, "back up") {
        eprintln!("{why}");
        return Ok(ExitCode::from(2));
    }
    // Without migrating: a backup changes nothing in the database it copies.
    let store =
        Store::connect(&opts).await.map_err(|e| anyhow::anyhow!("opening {}: {e}", opts.describe()))?;
    let summary = store.backup_sqlite(&args.file).await;
    store.close().await;
    let summary = summary?;
    println!("backed up {} to {}", opts.describe(), args.file.display());
    print_summary(&summary);
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let opts = args.db.store_options()?;
    if let Some(why) = server_database(&opts, "restore") {
        eprintln!("{why}");
        return Ok(ExitCode::from(2));
    }
    let restored = backup::restore_sqlite(&args.file, &opts.sqlite_path).await?;
    println!("restored {} into {}", args.file.display(), opts.sqlite_path.display());
    print_summary(&restored.summary);
    match &restored.old {
        Some(old) => println!("  the database that was there is kept as {}", old.display()),
        None => println!("  there was no database there before"),
    }
    // Open it as the server will: pending migrations of a backup from an older sockhub apply now.
    let store =
        Store::open(&opts).await.map_err(|e| anyhow::anyhow!("opening the restored database: {e}"))?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

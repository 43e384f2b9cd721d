//! Backups of the embedded SQLite database: a consistent copy of a live database, and a restore
//! into a data directory no process is using.
//!
//! **Backup** is `VACUUM INTO`: SQLite copies the database as one read transaction sees it, so
//! the copy is consistent (a relay batch and its counters are both in it or both not) while the
//! server goes on writing — in WAL mode the reader blocks no writer. It is written under a
//! temporary name, checked, then renamed, so a backup file that exists is complete.
//!
//! **Restore** refuses a file that is not a sockhub database (not SQLite, damaged, without
//! sockhub's migrations, or made by a newer sockhub), and refuses while any process has the
//! target database open: every [`crate::Store`] on an SQLite file holds a shared `flock` on
//! `<file>.lock` for as long as it lives, and a restore needs it exclusively. The file is
//! copied and checked under a temporary name in the target directory; the old database (with
//! its `-wal`, which may hold committed transactions) is renamed aside to
//! `<file>.before-restore-<time>`, and the copy renamed into place.
//!
//! MariaDB/MySQL and PostgreSQL have their own tools (`mariadb-dump`, `pg_dump`); the
//! operations guide shows them.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Row};

use crate::error::StoreError;
use crate::store::{Backend, Store};

/// A table of a checked database and its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: String,
    pub rows: i64,
}

/// What a checked database file holds.
#[derive(Debug, Clone)]
pub struct DatabaseSummary {
    pub path: PathBuf,
    pub bytes: u64,
    /// The last migration applied.
    pub migration: i64,
    pub tables: Vec<TableCount>,
}

/// How a restore went.
#[derive(Debug, Clone)]
pub struct Restored {
    pub summary: DatabaseSummary,
    /// Where the database that was there before went (`None`: there was none).
    pub old: Option<PathBuf>,
}

/// The lock file of the SQLite database at `db`.
fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    db.with_file_name(name)
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn io(what: impl std::fmt::Display, e: std::io::Error) -> StoreError {
    StoreError::Invalid(format!("{what}: {e}"))
}

/// Opens (creating it) the lock file of the SQLite database at `db`.
fn open_lock(db: &Path) -> Result<File, StoreError> {
    let path = lock_path(db);
    OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| io(path.display(), e))
}

/// Takes the shared lock that says "this database is in use" (held by every open store).
pub(crate) fn hold_shared(db: &Path) -> Result<File, StoreError> {
    let file = open_lock(db)?;
    if file.try_lock_shared().is_err() {
        return Err(StoreError::Unavailable(
            format!("{} is being restored; try again when that is done", db.display()).into(),
        ));
    }
    Ok(file)
}

impl Store {
    /// Writes a consistent copy of this live SQLite database to `dest`, which must not exist,
    /// and checks it.
    pub async fn backup_sqlite(&self, dest: &Path) -> Result<DatabaseSummary, StoreError> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Invalid(format!(
                "{} is not SQLite: back it up with its own tools (mariadb-dump, pg_dump)",
                self.describe()
            )));
        }
        if dest.exists() {
            return Err(StoreError::Invalid(format!("{} exists; choose a new file", dest.display())));
        }
        let partial = with_suffix(dest, ".partial");
        let _ = std::fs::remove_file(&partial);
        let target =
            partial.to_str().ok_or_else(|| StoreError::Invalid("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1").bind(target.to_owned()).execute(&self.pool).await?;
        let summary = match check(&partial).await {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        std::fs::rename(&partial, dest).map_err(|e| io(dest.display(), e))?;
        Ok(DatabaseSummary { path: dest.to_owned(), ..summary })
    }
}

/// Checks that `path` is a sound sockhub SQLite database this build can open, and counts its
/// rows per table.
pub async fn check(path: &Path) -> Result<DatabaseSummary, StoreError> {
    let not_ours =
        |why: String| StoreError::Invalid(format!("{} is not a sockhub database: {why}", path.display()));
    let bytes = std::fs::metadata(path).map_err(|e| io(path.display(), e))?.len();
    let opts = SqliteConnectOptions::new().filename(path).create_if_missing(false);
    let mut conn: SqliteConnection = opts.connect().await.map_err(|e| not_ours(e.to_string()))?;
    let result = async {
        let ok: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| not_ours(e.to_string()))?;
        if ok != "ok" {
            return Err(not_ours(format!("damaged ({ok})")));
        }
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&mut conn)
                .await
                .map_err(|_| not_ours("it has no sockhub migrations".into()))?;
        let known = crate::store::latest_sqlite_migration();
        match versions.last() {
            None => return Err(not_ours("it has no sockhub migrations".into())),
            Some(&v) if v > known => {
                return Err(not_ours(format!(
                    "it was made by a newer sockhub (migration {v}; this one knows {known})"
                )));
            }
            _ if versions.first() != Some(&1) => {
                return Err(not_ours("its first migration is missing".into()));
            }
            _ => {}
        }
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await?;
        if !names.iter().any(|n| n == "accounts") {
            return Err(not_ours("it has no accounts table".into()));
        }
        let mut tables = Vec::new();
        for table in names {
            let sql = format!("SELECT COUNT(*) FROM \"{}\"", table.replace('"', "\"\""));
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut conn).await?;
            tables.push(TableCount { table, rows: row.try_get(0)? });
        }
        Ok(DatabaseSummary {
            path: path.to_owned(),
            bytes,
            migration: *versions.last().unwrap_or(&0),
            tables,
        })
    }
    .await;
    let _ = conn.close().await;
    result
}

/// Restores the backup `src` as the SQLite database `target`, which no process may have open;
/// the database there before is kept aside.
pub async fn restore_sqlite(src: &Path, target: &Path) -> Result<Restored, StoreError> {
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(dir.display(), e))?;
    }
    let lock = open_lock(target)?;
    if lock.try_lock().is_err() {
        return Err(StoreError::Invalid(format!(
            "{} is in use (a running server, or another sockhub command): stop it first",
            target.display()
        )));
    }
    let incoming = with_suffix(target, ".restoring");
    for stale in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(with_suffix(&incoming, stale));
    }
    std::fs::copy(src, &incoming).map_err(|e| io(src.display(), e))?;
    let summary = match check(&incoming).await {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&incoming);
            return Err(match e {
                StoreError::Invalid(why) => StoreError::Invalid(
                    why.replace(&incoming.display().to_string(), &src.display().to_string()),
                ),
                other => other,
            });
        }
    };
    File::open(&incoming).and_then(|f| f.sync_all()).map_err(|e| io(incoming.display(), e))?;
    let old = if target.exists() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let aside = with_suffix(target, &format!(".before-restore-{stamp}"));
        // The database with its WAL (committed transactions not yet copied into it) and index.
        for part in ["", "-wal", "-shm"] {
            let from = with_suffix(target, part);
            if from.exists() {
                std::fs::rename(&from, with_suffix(&aside, part)).map_err(|e| io(from.display(), e))?;
            }
        }
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&incoming, target).map_err(|e| io(target.display(), e))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    drop(lock);
    Ok(Restored { summary: DatabaseSummary { path: target.to_owned(), ..summary }, old })
}

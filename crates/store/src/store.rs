//! [`Store`]: opening the database (any of the three backends), migrating it, and the small SQL
//! helpers every query module uses.
//!
//! A `Store` is a handle on one `sqlx::AnyPool`. Query text is written once, with PostgreSQL
//! style `$1, $2, ...` placeholders, which SQLite accepts as they are; for MySQL the text is
//! rewritten to `?` once per statement and cached (see [`Store::sql`]). Dynamic queries
//! (optional filters, multi-row inserts) are built with [`SqlBuf`], which writes each backend's
//! placeholder directly (`$N` for PostgreSQL, `?` for the other two).
//!
//! # Query groups
//! The queries of one feature are methods of a small handle borrowed from the `Store` (declared
//! with `query_group!` in `lib.rs`; it is `Copy`, and its futures borrow only the store):
//! - [`Store::accounts`] ([`AccountStore`](crate::AccountStore), `accounts.rs`): accounts;
//! - [`Store::bans`] ([`BanStore`](crate::BanStore), `bans.rs`): bans by name and address;
//! - [`Store::calc`] ([`CalcStore`](crate::CalcStore), `calc.rs`): the roster and results;
//! - [`Store::quiz`] ([`QuizStore`](crate::QuizStore), `quiz.rs`): rounds and attempts;
//! - [`Store::cluster`] ([`ClusterStore`](crate::ClusterStore), `cluster.rs`): node leases
//!   and name claims;
//! - [`Store::relay`] ([`RelayStore`](crate::RelayStore), `relay/`): the relay's records,
//!   counters, requests, reconcile runs and device tokens.
//!
//! Still methods of `Store` itself: opening, migrating and closing (this file), mutes
//! (`mutes.rs`), the chat, login and moderation logs (`reports.rs`) and retention
//! (`retention.rs`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyPoolOptions};
use sqlx::migrate::{Migrate, Migrator};
use sqlx::{Any, AnyPool, Arguments, AssertSqlSafe, Encode, Executor, Type};
use tracing::info;

use crate::error::StoreError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/mysql");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// How to reach the database.
///
/// `url: None` (the default) means the embedded SQLite file at `sqlite_path`, created with its
/// parent directories if missing. A URL selects the backend by scheme: `sqlite:`,
/// `mysql://` / `mariadb://`, `postgres://` / `postgresql://`.
#[derive(Clone)]
pub struct StoreOptions {
    /// Database URL; `None` for the SQLite file at `sqlite_path`.
    pub url: Option<String>,
    /// Where the embedded SQLite database lives when `url` is `None`.
    /// Default `sockhub-data/sockhub.db`.
    pub sqlite_path: PathBuf,
    /// Pool size. Default 10.
    pub max_connections: u32,
    /// How long to wait for a connection (connecting, or waiting for a free pooled one).
    /// On SQLite it is also the busy timeout: how long a statement waits for a lock held by
    /// another connection or process before failing with [`StoreError::Unavailable`].
    /// Default 5 s.
    pub connect_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            url: None,
            sqlite_path: PathBuf::from("sockhub-data/sockhub.db"),
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl StoreOptions {
    /// Options for the SQLite file at `path`, other settings default.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        StoreOptions { sqlite_path: path.into(), ..Default::default() }
    }

    /// Options for a database URL, other settings default.
    pub fn url(url: impl Into<String>) -> Self {
        StoreOptions { url: Some(url.into()), ..Default::default() }
    }

    /// Where the data lives, fit for a log line: the URL with its password replaced, or the
    /// SQLite path.
    pub fn describe(&self) -> String {
        match &self.url {
            Some(url) => redact_url(url),
            None => format!("sqlite file {}", self.sqlite_path.display()),
        }
    }
}

// By hand: the URL may carry a password.
impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreOptions")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("sqlite_path", &self.sqlite_path)
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// A database URL with any password replaced by `***` (and unparseable URLs hidden entirely,
/// since we cannot tell where their password is).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<unparseable database URL>".to_string(),
    }
}

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    MySql,
    Postgres,
}

impl Backend {
    /// Short lowercase name: `sqlite`, `mysql`, `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::MySql => "mysql",
            Backend::Postgres => "postgres",
        }
    }

    /// The backend a URL selects, by scheme.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "mysql" | "mariadb" => Ok(Backend::MySql),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::other(format!(
                "unsupported database URL scheme {scheme:?} (use sqlite:, mysql://, mariadb://, \
                 postgres:// or postgresql://)"
            ))),
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::MySql => &MYSQL_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A handle on the database. Cheap to clone (the pool inside is reference-counted); every
/// clone shares the same connections.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    describe: Arc<str>,
    /// On an SQLite file: the shared lock that keeps a restore from replacing it while open
    /// (see [`crate::backup`]).
    _in_use: Option<Arc<std::fs::File>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).field("at", &self.describe).finish()
    }
}

impl Store {
    /// Connects and applies pending migrations. With `url: None`, opens (creating it and its
    /// directory if needed) the SQLite file at `opts.sqlite_path`.
    ///
    /// SQLite is opened in WAL mode (readers never block the writer), with foreign keys on,
    /// `synchronous = FULL` (a committed batch survives a power cut; batching keeps the fsync
    /// cost per record low) and `busy_timeout = opts.connect_timeout`.
    pub async fn open(opts: &StoreOptions) -> Result<Store, StoreError> {
        let store = Store::connect(opts).await?;
        let applied = store.migrate().await?;
        let skeletons = store.accounts().backfill_name_skeletons().await?;
        if skeletons > 0 {
            info!(accounts = skeletons, "filled in the look-alike keys of existing accounts");
        }
        info!(
            backend = %store.backend,
            at = %store.describe,
            applied = ?applied,
            "store opened"
        );
        Ok(store)
    }

    /// Connects without migrating (for `sockhub db migrate`, which wants to report what it
    /// applied, and for tools that must not change the schema).
    pub async fn connect(opts: &StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = match &opts.url {
            Some(url) => (url.clone(), Backend::from_url(url)?),
            None => (sqlite_url(&opts.sqlite_path)?, Backend::Sqlite),
        };
        let busy_ms = opts.connect_timeout.as_millis().min(i32::MAX as u128) as i64;
        // An in-memory SQLite database lives as long as its one connection, and every new
        // connection would get a different, empty one: keep exactly one, forever.
        let in_memory =
            backend == Backend::Sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        let max_connections = if in_memory { 1 } else { opts.max_connections.max(1) };
        let in_use = match &opts.url {
            None if !in_memory => Some(Arc::new(crate::backup::hold_shared(&opts.sqlite_path)?)),
            _ => None,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(u32::from(in_memory))
            .idle_timeout((!in_memory).then_some(Duration::from_secs(600)))
            .max_lifetime((!in_memory).then_some(Duration::from_secs(1800)))
            .acquire_timeout(opts.connect_timeout)
            // A connection that went stale while the server restarted is found out here, not
            // by the caller's query.
            .test_before_acquire(true)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Per connection: the busy handler is what turns "another connection
                        // holds the lock" into a wait instead of an immediate error. A 16 MB page
                        // cache (the default is 2 MB) holds a whole relay batch: a transaction
                        // bigger than the cache spills pages to the WAL before COMMIT. Checkpoints
                        // every 8000 pages (32 MB of WAL, default 1000) write a page that was
                        // inserted and then updated (a relay record, then its forwarded mark)
                        // once instead of twice. Statement journals (a multi-row INSERT or an UPDATE
                        // inside a transaction keeps one, to undo just that statement) stay in
                        // memory rather than in temporary files.
                        let pragmas = format!(
                            "PRAGMA busy_timeout = {busy_ms}; PRAGMA foreign_keys = ON; \
                             PRAGMA synchronous = FULL; PRAGMA cache_size = -16384; \
                             PRAGMA wal_autocheckpoint = 8000; PRAGMA temp_store = MEMORY;"
                        );
                        conn.execute(AssertSqlSafe(pragmas)).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite && !in_memory {
            // WAL is a property of the file, set once; it needs a moment with no other writer.
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        Ok(Store { pool, backend, describe: opts.describe().into(), _in_use: in_use })
    }

    /// Applies pending migrations; returns the ones applied now, as `0001_accounts_chat`.
    ///
    /// Safe to run concurrently from several nodes (sqlx takes an advisory lock on MySQL and
    /// PostgreSQL) and idempotent: a second call returns an empty list.
    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let migrator = self.backend.migrator();
        let mut conn = self.pool.acquire().await?;
        // Lock around list-before / run / list-after so the report names only what *this* call
        // applied. The lock is re-entrant (PostgreSQL advisory locks stack, MySQL's GET_LOCK is
        // per-session, SQLite's is a no-op), so `run`'s own locking is fine inside it.
        conn.lock().await?;
        let result = async {
            conn.ensure_migrations_table(&migrator.table_name).await?;
            let before = conn.list_applied_migrations(&migrator.table_name).await?;
            migrator.run(&mut *conn).await?;
            let after = conn.list_applied_migrations(&migrator.table_name).await?;
            Ok::<_, sqlx::migrate::MigrateError>((before, after))
        }
        .await;
        let unlocked = conn.unlock().await;
        let (before, after) = result?;
        unlocked?;
        let applied = after
            .iter()
            .filter(|a| !before.iter().any(|b| b.version == a.version))
            .map(|a| {
                let description = migrator
                    .iter()
                    .find(|m| m.version == a.version)
                    .map(|m| m.description.replace(' ', "_"))
                    .unwrap_or_default();
                format!("{:04}_{}", a.version, description)
            })
            .collect();
        Ok(applied)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the data lives, for log lines (password redacted).
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// One round trip to the database: `Ok` if it answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection; later calls fail. Waits for checked-out connections to come
    /// back, so shut the writer down first.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The query text for this backend: `sql` as written (`$N` placeholders) for SQLite and
    /// PostgreSQL, rewritten to `?` for MySQL. The rewrite happens once per distinct statement;
    /// the result is cached for the life of the process (the set of static statements is
    /// finite, so the cache is bounded).
    pub(crate) fn sql(&self, sql: &'static str) -> &'static str {
        if self.backend != Backend::MySql {
            return sql;
        }
        static CACHE: OnceLock<RwLock<HashMap<&'static str, &'static str>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(hit) = cache.read().unwrap_or_else(|p| p.into_inner()).get(sql) {
            return hit;
        }
        let rewritten: &'static str = Box::leak(dollar_to_question(sql).into_boxed_str());
        cache.write().unwrap_or_else(|p| p.into_inner()).entry(sql).or_insert(rewritten)
    }

    /// A query for a static statement, placeholders adapted to the backend.
    pub(crate) fn query(&self, sql: &'static str) -> sqlx::query::Query<'static, Any, AnyArguments> {
        sqlx::query(self.sql(sql))
    }

    pub(crate) fn buf(&self) -> SqlBuf {
        SqlBuf::new(self.backend)
    }
}

/// The highest SQLite migration this build knows.
pub(crate) fn latest_sqlite_migration() -> i64 {
    SQLITE_MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
}

/// `sqlite://` URL for a file path, creating the parent directories.
fn sqlite_url(path: &Path) -> Result<String, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create directory {}: {e}", dir.display()).into())
        })?;
    }
    // Absolute, because in `sqlite://relative/x.db` the first segment would read as a host.
    let abs = std::path::absolute(path)
        .map_err(|e| StoreError::other(format!("bad SQLite path {}: {e}", path.display())))?;
    // Let sqlx encode the path (spaces, `?`, `#`, non-ASCII) so it parses back exactly.
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&abs).create_if_missing(true);
    Ok(sqlx::ConnectOptions::to_url_lossy(&opts).to_string())
}

/// Rewrites `$1 ... $N` to `?` for MySQL. MySQL's `?` are positional, so each `$N` must appear
/// exactly once and in increasing order; every statement in this crate is written that way and
/// a unit test checks the rule. Text inside single quotes is left alone.
pub(crate) fn dollar_to_question(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut in_quote = false;
    let mut expect = 1u32;
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_quote = !in_quote;
            out.push(c);
        } else if c == '$' && !in_quote && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            let mut n = 0u32;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n * 10 + d;
                chars.next();
            }
            debug_assert_eq!(n, expect, "placeholders must be $1, $2, ... in order: {sql}");
            expect += 1;
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// Most values bound in one statement: below SQLite's 32766 and the 65535 of MySQL and
/// PostgreSQL.
const MAX_PARAMS: usize = 30_000;
/// Most rows in one INSERT: past a few hundred, bigger statements stop paying.
const MAX_ROWS: usize = 512;

/// Cuts `rows` into chunks for multi-row INSERTs of `columns` values per row (the batched
/// writer's and the relay's), at most [`MAX_ROWS`] rows and [`MAX_PARAMS`] values each.
///
/// Every chunk's row count is a power of two (300 rows become chunks of 256, 32, 8 and 4).
/// That keeps the number of distinct statement texts per table to about ten, so they all stay
/// in sqlx's per-connection prepared-statement cache. It matters on MySQL: a statement that is
/// not cached is closed after use with COM_STMT_CLOSE, a message the server does not answer,
/// and since sqlx does not set TCP_NODELAY the next request then waits for the server's delayed
/// ACK (about 40 ms). Measured with one-off statements: 22 transactions/s and 5 500 records/s
/// in batches of 512; with cached ones, 2 200 and 156 000.
pub(crate) fn insert_chunks<T>(rows: &[T], columns: usize) -> impl Iterator<Item = &[T]> {
    let max_rows = prev_power_of_two((MAX_PARAMS / columns.max(1)).clamp(1, MAX_ROWS));
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (chunk, tail) = rest.split_at(prev_power_of_two(rest.len()).min(max_rows));
        rest = tail;
        Some(chunk)
    })
}

/// The largest power of two not above `n` (`n` ≥ 1).
fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.max(1).leading_zeros())
}

/// A dynamically built statement: text plus arguments, with each backend's placeholder
/// (`$N` or `?`) written as values are bound.
pub(crate) struct SqlBuf {
    backend: Backend,
    sql: String,
    args: AnyArguments,
    error: Option<sqlx::error::BoxDynError>,
}

impl SqlBuf {
    pub(crate) fn new(backend: Backend) -> Self {
        SqlBuf { backend, sql: String::with_capacity(256), args: AnyArguments::default(), error: None }
    }

    /// Appends SQL text (never user data: that goes through [`SqlBuf::bind`]).
    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder and binds `value` to it.
    pub(crate) fn bind<'q, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        if let Err(e) = self.args.add(value) {
            self.error.get_or_insert(e);
        }
        match self.backend {
            // Anonymous positional parameters. For SQLite this matters for big multi-row
            // INSERTs: it looks named parameters (`$1` counts as a name) up in a list, which
            // makes preparing a statement with thousands of them quadratic.
            Backend::MySql | Backend::Sqlite => self.sql.push('?'),
            Backend::Postgres => {
                use std::fmt::Write;
                let _ = write!(self.sql, "${}", self.args.len());
            }
        }
        self
    }

    #[cfg(test)]
    pub(crate) fn arg_count(&self) -> usize {
        self.args.len()
    }

    /// The statement, ready to run. Fails only if a value could not be encoded.
    pub(crate) fn build(self) -> Result<sqlx::query::Query<'static, Any, AnyArguments>, StoreError> {
        if let Some(e) = self.error {
            return Err(StoreError::Invalid(format!("cannot encode a value: {e}")));
        }
        // Safe: the text is assembled only from this crate's SQL fragments; all data is bound.
        Ok(sqlx::query_with(AssertSqlSafe(Cow::<'static, str>::Owned(self.sql)), self.args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_placeholders_for_mysql() {
        assert_eq!(
            dollar_to_question("SELECT a FROM t WHERE b = $1 AND c = '$2' AND d > $2"),
            "SELECT a FROM t WHERE b = ? AND c = '$2' AND d > ?"
        );
    }

    #[test]
    fn chunk_sizes_are_powers_of_two() {
        assert_eq!(prev_power_of_two(1), 1);
        assert_eq!(prev_power_of_two(300), 256);
        assert_eq!(prev_power_of_two(512), 512);
        assert_eq!(prev_power_of_two(513), 512);
        let rows = [0u8; 300];
        let sizes: Vec<usize> = insert_chunks(&rows, 9).map(<[u8]>::len).collect();
        assert_eq!(sizes, [256, 32, 8, 4]);
        let sizes: Vec<usize> = insert_chunks(&[0u8; 1100], 9).map(<[u8]>::len).collect();
        assert_eq!(sizes, [512, 512, 64, 8, 4]);
        // 30 000 values in one statement at most: 100 columns allow 256 rows, not 300.
        assert_eq!(insert_chunks(&rows, 100).next().map(<[u8]>::len), Some(256));
    }

    #[test]
    fn backend_from_url() {
        assert_eq!(Backend::from_url("mariadb://x/y").unwrap(), Backend::MySql);
        assert_eq!(Backend::from_url("postgresql://x/y").unwrap(), Backend::Postgres);
        assert_eq!(Backend::from_url("sqlite:a.db").unwrap(), Backend::Sqlite);
        assert!(Backend::from_url("redis://x").is_err());
    }

    #[test]
    fn redacts_passwords() {
        let r = redact_url("mysql://root:hunter2@db:3306/sockhub");
        assert!(!r.contains("hunter2"), "{r}");
        assert!(r.contains("***"));
        let o = StoreOptions::url("postgres://u:s3cret@h/db");
        assert!(!format!("{o:?}").contains("s3cret"));
    }

    #[test]
    fn sqlite_url_round_trips_odd_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("데이터 #1?/sock hub.db");
        let url = sqlite_url(&path).unwrap();
        let parsed: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        assert_eq!(parsed.get_filename(), std::path::absolute(&path).unwrap());
    }
}

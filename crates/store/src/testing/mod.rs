//! Test helpers (cargo feature `testing`): a fresh database per test on every configured
//! backend, a TCP proxy that can cut a database server off, and an outage switch that works
//! the same way on all three backends.
//!
//! Tests run against real databases, never mocks: SQLite always (a file in a temp dir), and
//! MariaDB/MySQL and PostgreSQL when `SOCKHUB_TEST_MYSQL_URL` / `SOCKHUB_TEST_POSTGRES_URL`
//! name a server (e.g. `mysql://root@127.0.0.1:3306/test`, `postgres://postgres@127.0.0.1:5432/test`).
//! A URL that is set but unreachable fails the test loudly: CI must not pass by skipping.
//!
//! ```ignore
//! for backend in testing::backends() {
//!     let db = TestDb::create(&backend).await;   // creates sockhub_t_<time>_<random>
//!     let store = db.open().await;               // Store::open(&db.opts): migrated
//!     /* ... the same test body on every backend ... */
//!     store.close().await;
//!     db.cleanup().await;                        // drops the database (Drop does it too,
//! }                                              // also when the test panics)
//! ```
//!
//! Each server test database is named `sockhub_t_<unix seconds>_<random>`; databases of that
//! form older than six hours (left by a killed test run) are dropped when a new one is created.
//! Outages on demand ([`OutageSwitch`], [`TcpProxy`]) live in `outage.rs`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Connection, Executor};

use crate::store::{Backend, Store, StoreOptions};

mod outage;

pub use outage::{OutageSwitch, TcpProxy};

/// Environment variable naming the MariaDB/MySQL server for tests.
pub const MYSQL_URL_ENV: &str = "SOCKHUB_TEST_MYSQL_URL";
/// Environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_ENV: &str = "SOCKHUB_TEST_POSTGRES_URL";

const DB_PREFIX: &str = "sockhub_t_";
const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);

/// A backend tests should run on.
#[derive(Clone, Debug)]
pub struct TestBackend {
    pub backend: Backend,
    /// The server URL from the environment (`None` for SQLite); test databases are created
    /// beside the database it names.
    pub base_url: Option<String>,
}

impl TestBackend {
    pub fn name(&self) -> &'static str {
        self.backend.as_str()
    }
}

/// SQLite, plus MySQL and PostgreSQL when their environment variables are set (non-empty).
pub fn backends() -> Vec<TestBackend> {
    let mut out = vec![TestBackend { backend: Backend::Sqlite, base_url: None }];
    for (backend, var) in [(Backend::MySql, MYSQL_URL_ENV), (Backend::Postgres, POSTGRES_URL_ENV)] {
        let url = std::env::var(var).unwrap_or_default();
        if !url.trim().is_empty() {
            out.push(TestBackend { backend, base_url: Some(url.trim().to_string()) });
        }
    }
    out
}

/// A fresh, empty database for one test. Dropped (the database, or the temp dir for SQLite)
/// by [`TestDb::cleanup`] or, failing that, when the value is dropped — also during a panic.
pub struct TestDb {
    /// Options that open this database (through the proxy, for a breakable server database).
    pub opts: StoreOptions,
    pub backend: Backend,
    /// The server database's name (`None` for SQLite).
    pub name: Option<String>,
    base_url: Option<String>,
    /// The database's own URL, never through a proxy (for [`TestDb::execute_raw`]).
    direct_url: Option<String>,
    dir: Option<tempfile::TempDir>,
    cleaned: bool,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("backend", &self.backend)
            .field("name", &self.name)
            .field("opts", &self.opts)
            .finish()
    }
}

impl TestDb {
    /// Creates the database. Panics (loudly, naming the environment variable) if the server
    /// cannot be reached.
    pub async fn create(b: &TestBackend) -> TestDb {
        eprintln!("--- store test backend: {}", b.name());
        let dir = tempfile::tempdir().expect("create temp dir");
        let mut opts = StoreOptions {
            url: None,
            sqlite_path: dir.path().join("sockhub.db"),
            max_connections: 5,
            connect_timeout: Duration::from_secs(2),
        };
        let Some(base) = &b.base_url else {
            return TestDb {
                opts,
                backend: Backend::Sqlite,
                name: None,
                base_url: None,
                direct_url: None,
                dir: Some(dir),
                cleaned: false,
            };
        };
        let name = format!("{DB_PREFIX}{}_{:08x}", unix_secs(), rand::random::<u32>());
        let result = async {
            let mut conn = AdminConn::connect(b.backend, base).await?;
            conn.sweep_stale().await;
            conn.create(&name).await?;
            conn.close().await;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        if let Err(e) = result {
            panic!(
                "{} is set but the {} server is unusable ({}): {e}",
                env_var(b.backend),
                b.name(),
                crate::redact_url(base)
            );
        }
        opts.url = Some(with_database(base, &name));
        TestDb {
            direct_url: opts.url.clone(),
            opts,
            backend: b.backend,
            name: Some(name),
            base_url: Some(base.clone()),
            dir: Some(dir),
            cleaned: false,
        }
    }

    /// Creates the database and an [`OutageSwitch`] that can make it unavailable: for a server,
    /// `opts` then point through a [`TcpProxy`]; for SQLite, the switch holds an exclusive lock.
    pub async fn create_breakable(b: &TestBackend) -> (TestDb, OutageSwitch) {
        let mut db = TestDb::create(b).await;
        let switch = match &db.opts.url {
            None => OutageSwitch::Sqlite { path: db.opts.sqlite_path.clone(), conn: None },
            Some(url) => {
                let parsed = url::Url::parse(url).expect("test database URL");
                let host = parsed.host_str().unwrap_or("127.0.0.1").to_string();
                let port = parsed.port().unwrap_or(match db.backend {
                    Backend::MySql => 3306,
                    _ => 5432,
                });
                let proxy = TcpProxy::start(format!("{host}:{port}")).await.expect("start TCP proxy");
                let mut via = parsed.clone();
                via.set_host(Some("127.0.0.1")).expect("set proxy host");
                via.set_port(Some(proxy.addr().port())).expect("set proxy port");
                db.opts.url = Some(via.to_string());
                OutageSwitch::Proxy(proxy)
            }
        };
        (db, switch)
    }

    /// Opens (and migrates) the store on this database.
    pub async fn open(&self) -> Store {
        match Store::open(&self.opts).await {
            Ok(s) => s,
            Err(e) => panic!("cannot open test store on {}: {e}", self.backend),
        }
    }

    /// Runs `sql` on the test database over a connection of its own (never through the
    /// proxy): for tests that need to set up something the store's API does not offer, such
    /// as a constraint that makes the database refuse a record.
    pub async fn execute_raw(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        let result = match (&self.direct_url, self.backend) {
            (None, _) => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&self.opts.sqlite_path);
                let mut c = sqlx::SqliteConnection::connect_with(&opts).await.expect("connect");
                let r = c.execute(sql).await.map(|_| ());
                let _ = c.close().await;
                r
            }
            (Some(url), Backend::MySql) => {
                let mut c = sqlx::MySqlConnection::connect(url).await.expect("connect");
                let r = c.execute(sql).await.map(|_| ());
                let _ = c.close().await;
                r
            }
            (Some(url), _) => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
                let r = c.execute(sql).await.map(|_| ());
                let _ = c.close().await;
                r
            }
        };
        if let Err(e) = result {
            panic!("raw SQL failed on {}: {e}", self.backend);
        }
    }

    /// Where the SQLite file lives (meaningful for SQLite only).
    pub fn sqlite_path(&self) -> PathBuf {
        self.opts.sqlite_path.clone()
    }

    /// Drops the database now. Close stores on it first.
    pub async fn cleanup(mut self) {
        self.cleaned = true;
        if let (Some(base), Some(name)) = (self.base_url.take(), self.name.take())
            && let Err(e) = drop_database(self.backend, &base, &name).await
        {
            eprintln!("warning: could not drop test database {name}: {e}");
        }
        self.dir.take();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        let (Some(base), Some(name)) = (self.base_url.take(), self.name.take()) else {
            return;
        };
        let backend = self.backend;
        // Drop cannot await, and may run inside a runtime (or during a panic): do the async
        // work on a thread of its own with its own small runtime.
        let joined = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for test cleanup");
            rt.block_on(async {
                if let Err(e) = drop_database(backend, &base, &name).await {
                    eprintln!("warning: could not drop test database {name}: {e}");
                }
            });
        })
        .join();
        if joined.is_err() {
            eprintln!("warning: test database cleanup thread panicked");
        }
    }
}

fn env_var(b: Backend) -> &'static str {
    match b {
        Backend::MySql => MYSQL_URL_ENV,
        _ => POSTGRES_URL_ENV,
    }
}

fn unix_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `base` with its path (the database name) replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    let mut u = url::Url::parse(base).expect("test database URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

/// The age of a test database from its name, if it has our form.
fn age_of(name: &str) -> Option<Duration> {
    let secs: u64 = name.strip_prefix(DB_PREFIX)?.split('_').next()?.parse().ok()?;
    Some(Duration::from_secs(unix_secs().saturating_sub(secs)))
}

async fn drop_database(backend: Backend, base: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut conn = AdminConn::connect(backend, base).await?;
    let r = conn.drop_db(name).await;
    conn.close().await;
    r
}

/// A plain connection to the server's base database, for CREATE/DROP DATABASE.
enum AdminConn {
    MySql(sqlx::MySqlConnection),
    Postgres(sqlx::PgConnection),
}

impl AdminConn {
    async fn connect(backend: Backend, base: &str) -> Result<AdminConn, sqlx::Error> {
        let fut = async {
            Ok(match backend {
                Backend::MySql => AdminConn::MySql(sqlx::MySqlConnection::connect(base).await?),
                Backend::Postgres => AdminConn::Postgres(sqlx::PgConnection::connect(base).await?),
                Backend::Sqlite => unreachable!("SQLite needs no admin connection"),
            })
        };
        tokio::time::timeout(Duration::from_secs(10), fut).await.map_err(|_| sqlx::Error::PoolTimedOut)?
    }

    async fn exec(&mut self, sql: String) -> Result<(), sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql);
        match self {
            AdminConn::MySql(c) => c.execute(sql).await.map(|_| ()),
            AdminConn::Postgres(c) => c.execute(sql).await.map(|_| ()),
        }
    }

    async fn create(&mut self, name: &str) -> Result<(), sqlx::Error> {
        // `name` is generated by us (letters, digits, underscores): safe to splice in.
        match self {
            AdminConn::MySql(_) => {
                self.exec(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")).await
            }
            AdminConn::Postgres(_) => {
                self.exec(format!("CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")).await
            }
        }
    }

    async fn drop_db(&mut self, name: &str) -> Result<(), sqlx::Error> {
        match self {
            AdminConn::MySql(c) => {
                // Connections a panicking test left open may hold metadata locks that would
                // make DROP wait: end them first.
                let ids: Vec<(i64,)> = sqlx::query_as(
                    "SELECT CAST(id AS SIGNED) FROM information_schema.processlist \
                     WHERE db = ? AND id <> CONNECTION_ID()",
                )
                .bind(name)
                .fetch_all(&mut *c)
                .await?;
                for (id,) in ids {
                    let _ = c.execute(sqlx::AssertSqlSafe(format!("KILL {id}"))).await;
                }
                self.exec(format!("DROP DATABASE IF EXISTS {name}")).await
            }
            AdminConn::Postgres(_) => self.exec(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await,
        }
    }

    /// Drops test databases left behind by killed runs. Best effort.
    async fn sweep_stale(&mut self) {
        let names: Result<Vec<(String,)>, sqlx::Error> = match self {
            AdminConn::MySql(c) => {
                sqlx::query_as(
                    "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata \
                     WHERE schema_name LIKE 'sockhub\\_t\\_%'",
                )
                .fetch_all(&mut *c)
                .await
            }
            AdminConn::Postgres(c) => {
                sqlx::query_as("SELECT datname::text FROM pg_database WHERE datname LIKE 'sockhub\\_t\\_%'")
                    .fetch_all(&mut *c)
                    .await
            }
        };
        for (name,) in names.unwrap_or_default() {
            if age_of(&name).is_some_and(|age| age > STALE_AFTER)
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                let _ = self.drop_db(&name).await;
            }
        }
    }

    async fn close(self) {
        let _ = match self {
            AdminConn::MySql(c) => c.close().await,
            AdminConn::Postgres(c) => c.close().await,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_database_names() {
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306/test", "sockhub_t_1_ab"),
            "mysql://root@127.0.0.1:3306/sockhub_t_1_ab"
        );
        assert!(age_of("sockhub_t_0_deadbeef").unwrap() > STALE_AFTER);
        assert!(age_of("other").is_none());
    }
}

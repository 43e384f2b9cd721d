//! `[database]`: the store (embedded SQLite, or a MariaDB/MySQL or PostgreSQL server) and the
//! batched log writer in front of it.

use super::InvalidValue;
use super::section::section;

section! {
    /// `[database]`: the store. Env: `SOCKHUB_DATABASE_<KEY>`.
    #[section(database, about = "Where accounts and logs are stored: an embedded SQLite file unless `url` names a server.")]
    pub struct DatabaseConfig {
        /// mysql://user:pass@host/db or postgres://user@host/db; unset = embedded SQLite in data_dir.
        pub url: Option<String> = None,
        /// The embedded database's file name inside data_dir.
        pub sqlite_file: String = "sockhub.db".into(),
        /// Connections in the pool.
        pub max_connections: u32 = 8,
        /// How long to wait for a connection from the pool.
        pub connect_timeout_secs: u64 = 5,
        /// Log records (logins, chat lines, moderation) that may wait for the database.
        pub queue_capacity: usize = 10_000,
        /// Records written per transaction.
        pub max_batch: usize = 512,
        /// First wait before retrying a failed write; doubles each time.
        pub retry_initial_ms: u64 = 100,
        /// Longest wait between retries of a failed write.
        pub retry_max_ms: u64 = 5000,
        /// How long a message waits for room in a full log queue before it is refused with `unavailable`.
        pub log_wait_ms: u64 = 2000,
    }
}

impl DatabaseConfig {
    pub(super) fn validate(&self) -> Result<(), InvalidValue> {
        if let Some(url) = &self.url
            && !["sqlite:", "mysql:", "mariadb:", "postgres:", "postgresql:"]
                .iter()
                .any(|p| url.starts_with(p))
        {
            return Err(
                "database.url must start with sqlite:, mysql:, mariadb:, postgres: or postgresql:".into()
            );
        }
        if self.queue_capacity == 0 || self.max_batch == 0 {
            return Err("database.queue_capacity and database.max_batch must be at least 1".into());
        }
        Ok(())
    }
}

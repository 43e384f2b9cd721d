//! [`StoreError`]: the one error type of the store, sorted into the few kinds a caller acts on.
//!
//! Callers do not care whether SQLite said `SQLITE_BUSY`, MariaDB said 1205 or PostgreSQL said
//! `57P01`: they care whether to tell the user "not found", "taken", "try again later" or "bug".
//! So every `sqlx` error is classified here, once, per backend, and the driver's error is kept
//! only as the `source()` for logs. sqlx types stay out of the public API.

use std::error::Error as StdError;

use sqlx::error::{DatabaseError, ErrorKind};

/// A boxed error kept as the `source()` of a [`StoreError`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong in the store.
///
/// The variants are the decisions a caller makes: `NotFound` and `Conflict` are answers to give
/// the user, `Unavailable` means "the database is down, locked or slow: retry later" (see
/// [`StoreError::is_retryable`]), `Invalid` means the data itself was refused and retrying the
/// same data will not help, `Other` is everything else (a bug, a broken schema, a bad config).
///
/// No variant ever contains a password; connection URLs in messages are redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The named thing does not exist.
    #[error("not found: {0}")]
    NotFound(String),

    /// The write collides with existing data (e.g. an account name taken, case-insensitively).
    #[error("conflict: {0}")]
    Conflict(String),

    /// The database could not be reached or did not answer in time (connection refused or lost,
    /// pool timeout, lock timeout, `database is locked`, server shutting down, disk I/O).
    /// The same operation may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] BoxError),

    /// The data was refused: by the store's own checks (empty name, value too long) or by the
    /// database (constraint or data error). Retrying the same data will fail again.
    #[error("invalid data: {0}")]
    Invalid(String),

    /// Anything else: a schema or migration problem, a configuration error, a bug.
    #[error("store error: {0}")]
    Other(#[source] BoxError),
}

impl StoreError {
    /// Whether the same operation may succeed if tried again later (the database was
    /// unavailable, not the request wrong).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    pub(crate) fn other(msg: impl Into<String>) -> Self {
        StoreError::Other(msg.into().into())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        classify(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            // A migration that failed because the connection did is retryable like any query.
            sqlx::migrate::MigrateError::Execute(inner) => match classify(inner) {
                StoreError::Unavailable(src) => StoreError::Unavailable(src),
                other => StoreError::Other(format!("migration failed: {other}").into()),
            },
            other => StoreError::Other(Box::new(other)),
        }
    }
}

/// Sorts a sqlx error into a [`StoreError`] kind.
fn classify(e: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match e {
        E::RowNotFound => StoreError::NotFound("row".into()),
        // Connection-level trouble: the server is down, restarting, unreachable or overloaded.
        E::Io(_) | E::PoolTimedOut | E::WorkerCrashed | E::Protocol(_) | E::BeginFailed => {
            StoreError::Unavailable(Box::new(e))
        }
        E::Database(ref db) => match db_error_kind(db.as_ref()) {
            DbKind::Conflict => StoreError::Conflict(db.message().to_string()),
            DbKind::Invalid => StoreError::Invalid(db.message().to_string()),
            DbKind::Unavailable => StoreError::Unavailable(Box::new(e)),
            DbKind::Other => StoreError::Other(Box::new(e)),
        },
        other => StoreError::Other(Box::new(other)),
    }
}

enum DbKind {
    Conflict,
    Invalid,
    Unavailable,
    Other,
}

/// Per-backend error codes. The generic `kind()` covers constraint violations; the transient
/// conditions need each backend's own codes.
fn db_error_kind(db: &dyn DatabaseError) -> DbKind {
    match db.kind() {
        ErrorKind::UniqueViolation => return DbKind::Conflict,
        ErrorKind::ForeignKeyViolation | ErrorKind::NotNullViolation | ErrorKind::CheckViolation => {
            return DbKind::Invalid;
        }
        _ => {}
    }
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return match my.number() {
            // lock wait timeout, deadlock, too many connections, server shutdown, connection
            // killed (MariaDB), query interrupted, read-only (failover in progress),
            // out of resources / disk full.
            1205 | 1213 | 1040 | 1053 | 1927 | 1317 | 1290 | 1836 | 1041 | 1021 => DbKind::Unavailable,
            // data too long, incorrect value, out of range, bad null.
            1406 | 1366 | 1264 | 1048 | 1292 => DbKind::Invalid,
            _ => match my.code() {
                Some(s) if s.starts_with("08") || s == "40001" => DbKind::Unavailable,
                Some(s) if s.starts_with("22") || s.starts_with("23") => DbKind::Invalid,
                _ => DbKind::Other,
            },
        };
    }
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = pg.code();
        return match code {
            // connection exceptions, serialization failure, deadlock, insufficient resources,
            // operator intervention (admin/crash shutdown, cannot connect now), lock not
            // available, read-only transaction (a standby during failover).
            c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") => DbKind::Unavailable,
            "40001" | "40P01" | "55P03" | "25006" => DbKind::Unavailable,
            c if c.starts_with("22") || c.starts_with("23") => DbKind::Invalid,
            _ => DbKind::Other,
        };
    }
    if let Some(lite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        let primary = lite.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff);
        return match primary {
            // BUSY, LOCKED, IOERR, FULL, CANTOPEN, PROTOCOL: another connection holds the lock,
            // or the file system is in trouble; both may clear up.
            Some(5 | 6 | 10 | 13 | 14 | 15) => DbKind::Unavailable,
            // TOOBIG (18), CONSTRAINT not covered by kind() (19: e.g. a trigger), MISMATCH (20).
            Some(18..=20) => DbKind::Invalid,
            _ => DbKind::Other,
        };
    }
    DbKind::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_retryable() {
        let e: StoreError = sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into()).into();
        assert!(e.is_retryable());
        let e: StoreError = sqlx::Error::PoolTimedOut.into();
        assert!(e.is_retryable());
        let e: StoreError = sqlx::Error::RowNotFound.into();
        assert!(matches!(e, StoreError::NotFound(_)));
        assert!(!e.is_retryable());
    }
}

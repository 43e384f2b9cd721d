//! sockhub-store: the only place SQL lives in sockhub.
//!
//! It keeps accounts and mute state (written synchronously: the caller needs the answer) and
//! the logs the original projects asked for — every login, every chat line including
//! whispers, every kick / mute / unmute — written off the hot path by a batched writer.
//! Nothing outside this crate sees a connection pool or a line of SQL.
//!
//! # Map
//! - [`Store`] / [`StoreOptions`] (`store.rs`): open, migrate, ping; the SQL helpers.
//! - `quiz.rs`: quiz rounds, final leaderboards and the attempt log (read back for exports).
//! - `accounts.rs`, `mutes.rs`, `bans.rs`, `reports.rs`: the queries, as methods on [`Store`].
//! - `calc.rs`: the calculator's roster ([`Student`], [`ImportReport`]) and its results, written
//!   synchronously in group-committed transactions ([`NewCalcResult`], [`CalcResultRow`]).
//! - `relay.rs`: the relay's records, counters, requests and reconcile queries; its group
//!   commit ([`Store::relay_write`]) acknowledges nothing before COMMIT, so it does not use the
//!   batched writer.
//! - `retention.rs`: removing old chat lines, logins, quiz attempts and confirmed relay records
//!   in small batches ([`RetentionKind`], [`PruneRange`]), for the server's retention task and
//!   `sockhub db prune`.
//! - `cluster.rs`: what the nodes of a cluster share through the database — node leases
//!   ([`NodeLease`]) and atomic, cluster-wide name claims ([`NameClaim`], [`Claimed`]).
//! - [`Writer`], [`Journal`], [`WriterHandle`], [`Record`] (`writer.rs`, `record.rs`): the
//!   bounded queue and the batching writer task.
//! - [`password`]: argon2id hashing on the blocking pool.
//! - model types ([`Account`], [`Mute`], [`ChatRecord`], [`LoginFilter`], ...) and
//!   [`name_key`], the case-insensitive form of a name.
//! - `testing` (cargo feature `testing`): a fresh database per test on every configured
//!   backend, and a TCP proxy that can cut the database off.
//! - `migrations/{sqlite,mysql,postgres}/NNNN_name.sql`: one file per feature and backend,
//!   numbered so features add their own (`0001_accounts_chat`, then `0002_quiz`, ...,
//!   `0005_cluster`).
//!
//! # Backends, and how one query text serves three
//! SQLite is the embedded default (a file, WAL, foreign keys on, busy timeout); MySQL/MariaDB
//! and PostgreSQL are chosen by URL. The store runs on `sqlx::Any`: one pool type, one
//! transaction type, one code path. The alternative, an enum over three concrete pools with a
//! macro stamping each query out three times, gets native types and per-backend connect
//! options, but triples the generated code and makes every helper (row decoding, the writer's
//! transaction) generic or macro-built. The store needs none of those native types because of
//! the schema's conventions: every time is a BIGINT of unix milliseconds (UTC), every other
//! value is text or BIGINT — exactly what `Any` carries well. What `Any` lacks is handled here:
//! - **Placeholders**: statements are written once with `$1, $2, ...`; SQLite takes them as
//!   they are, MySQL gets them rewritten to `?` (once per statement, cached). Dynamic
//!   statements (optional filters, the writer's multi-row INSERTs) are built by a small builder
//!   that writes each backend's placeholder directly: `$N` for PostgreSQL, `?` for the others
//!   (SQLite treats `$N` as a *name* and looks each one up in a list, which made preparing a
//!   512-row INSERT quadratic: 24 000 records/s instead of 300 000).
//! - **SQLite settings**: `Any` connects from a URL only, so the per-connection pragmas
//!   (busy_timeout, foreign_keys, synchronous) run in the pool's `after_connect`, and WAL is set
//!   once at open (it is a property of the file).
//! - **The few real differences** (an upsert's spelling) are a `match` on [`Backend`] beside
//!   the query, and DDL lives in per-backend migration files.
//! - Not usable through `Any`, so not used in the schema: MySQL TINYINT/BOOLEAN columns and
//!   DECIMAL results (cast `SUM` to SIGNED). Later migrations must follow the same rules.
//!
//! Names are unique case-insensitively through stored keys (NFC + lowercase, [`name_key`]), not
//! collations, so SQLite, MySQL (utf8mb4_bin) and PostgreSQL agree on what "the same name" is;
//! Hangul and any UTF-8 round-trip on all three (MySQL tables are utf8mb4).
//!
//! # The batched writer
//! [`Writer::spawn`] returns a [`Journal`] (cheap to clone, one per session) and a
//! [`WriterHandle`]. Records go into a bounded queue (`WriterOptions::capacity`); the writer
//! task takes up to `max_batch` at a time and writes them in one transaction with multi-row
//! INSERTs, in queue order. Measured with `examples/writer_bench.rs` on this project's 2-core
//! machine (servers on loopback): with batches of up to 512, about 300 000 chat records/s on
//! SQLite (`synchronous = FULL`) and about 150 000/s on MariaDB and on PostgreSQL, against
//! 2 000-3 000/s on each when every record is its own transaction.
//!
//! When a write fails for a reason that can pass (connection refused or lost, timeout,
//! `database is locked`, server restarting), the writer keeps the batch, logs one WARN with
//! structured fields (first failure, then at most every 30 s), and retries with exponential
//! backoff from `retry_initial` to `retry_max`. A failed transaction wrote nothing, so a retry
//! cannot duplicate rows — except when the failure is in the COMMIT itself: the server may have
//! committed and the reply been lost. For that case each batch transaction also inserts a
//! marker row `(writer_id, seq)` into `store_writer_batches`; after a failed COMMIT the writer
//! looks the marker up before retrying and, if it is there, counts the batch as written. So a
//! record is written exactly once, never zero or two times, as long as the process lives.
//! (If the process dies while a batch is in flight, that batch is lost with the process, as is
//! everything in the queue; the queue lives in memory by design. The relay and the calculator,
//! which need durability before acknowledging, do not use this writer.)
//!
//! Records the database refuses as invalid (which no retry can fix) would otherwise block the
//! queue forever: the writer then writes that batch one record per transaction, drops the
//! refused record with an ERROR log line naming it, and counts it in `WriterStats::rejected`.
//! Long names and bodies are clipped to [`limits`] before they can cause that.
//!
//! ## When the database is down long enough for the queue to fill
//! Nothing is dropped. The writer holds one batch and keeps retrying; everything else waits in
//! the queue until `capacity` records are waiting. From then on:
//! - [`Journal::send`] waits until the writer frees room, so the session calling it stops
//!   (its client's TCP window then fills: backpressure reaches the sender);
//! - [`Journal::try_send`] returns [`JournalError::Full`] with the record at once, and
//!   [`Journal::send_timeout`] returns [`JournalError::Timeout`] after its wait; the caller
//!   decides (the server, for instance, tells the user the line was not sent rather than
//!   deliver a line it cannot log);
//! - [`WriterStats`] shows it: `depth == capacity`, `healthy == false`, `lag` growing,
//!   `last_error` saying why — for metrics and alerts.
//!
//! When the database comes back, the held batch is written first, then the queue drains in
//! order at batch speed, and waiting senders resume. At shutdown, [`WriterHandle::shutdown`]
//! closes the queue, flushes within a deadline and returns a [`FlushReport`] listing what it
//! could not write (logged at ERROR; never silent).

mod accounts;
pub mod backup;
mod bans;
mod calc;
mod cluster;
mod error;
mod model;
mod mutes;
pub mod password;
mod quiz;
mod record;
mod relay;
mod relay_token;
mod reports;
mod retention;
mod rooms;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod writer;

pub use calc::{
    CalcResultFilter, CalcResultRow, EMAIL_MAX_CHARS, ImportOptions, ImportReport, NewCalcResult, Student,
};
pub use cluster::{Claimed, HeldName, NameClaim, NodeLease};
pub use error::{BoxError, StoreError};
pub use model::{
    Account, Ban, ChatFilter, ChatRecord, ChatRow, DEFAULT_ROOM, LoginFilter, LoginOutcome, LoginRecord,
    LoginRow, ModerationAction, ModerationFilter, ModerationRecord, ModerationRow, Mute, NewAccount, Role,
    limits, name_key, name_skeleton, now, truncate_ms,
};
pub use quiz::{ANSWER_MAX_CHARS, QuizAttemptRecord, QuizAttemptRow, QuizResult, QuizRoundRow};
pub use record::Record;
pub use relay::{
    BatchOutcome, ForwardedMark, HeldMark, QueuedRecord, RELAY_RULE_MAX_CHARS, RELAY_SOURCE_MAX_CHARS,
    RangeDigest, ReconcileRow, RelayBatch, RelayFilter, RelayRecord, RelayRequest, RelayRow, RelaySource,
    RelayState, Requeued, ResendSelector, SeqSummary, Stored, record_digest,
};
pub use relay_token::{
    RELAY_TOKEN_GLOB_MAX_CHARS, RELAY_TOKEN_LABEL_MAX_CHARS, RelayToken, relay_token_hash,
};
pub use retention::{PruneRange, PrunedBatch, RelayPruned, RetentionKind};
pub use rooms::StoredRoom;
pub use store::{Backend, Store, StoreOptions, redact_url};
pub use writer::{
    FlushReport, Journal, JournalError, LastError, Writer, WriterHandle, WriterOptions, WriterStats,
};

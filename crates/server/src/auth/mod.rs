//! Logging in, for every service that takes a name: who may enter, with which password, and how
//! fast they may guess.
//!
//! [`Authenticator::login`] implements one rule for all services: a name that belongs to an
//! account needs that account's password; any other name enters as a guest, unless the service
//! requires accounts. Wrong passwords, unknown accounts in "accounts only" mode, and missing
//! passwords all look alike from outside (`bad_credentials` / `password_required`, the same
//! message, and an argon2 verification against a dummy hash so the timing is the same too).
//! Every attempt is throttled by [`throttle`] and written to the login log.
//!
//! **A login storm cannot grow memory or starve the server.** An attempt takes its throttle slot
//! before its password is checked, so parallel guesses beyond the limit are refused at once; and
//! the checks themselves (argon2, 19 MiB and tens of milliseconds of CPU each) run under a
//! semaphore of `[auth] max_concurrent_hashes` permits. A login that gets no permit within
//! `[auth] hash_wait_ms` is told `unavailable` (try again) instead of queueing without bound. A
//! check, once started, runs to its end on its own task and is counted even if the client hangs
//! up meanwhile.
//!
//! **Bans** ([`crate::bans`]) are checked here for every service, once the name is known to be
//! the caller's (after the password, for an account): a ban of the name, or of the client's
//! address (not for admins), is refused with `banned` and the time left.
//!
//! **Rights are read when they are used.** A session remembers who logged in, but an admin action
//! asks [`Authenticator::confirm_admin`], which reads the account's role from the database, so an
//! admin demoted (or removed) with `sockhub user` or on the web page loses the right at once, in
//! sessions opened before. A [`PasswordStamp`] lets a longer-lived login (the web page's) notice
//! that the password was changed since, by another process too.

pub mod throttle;

use sockhub_i18n::msg;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::secret::Secret;
use sockhub_store::{Journal, LoginOutcome, LoginRecord, Role, Store, password};
use tokio::sync::Semaphore;
use tracing::{info, warn};

use crate::bans::Bans;
use crate::config::{Admission, AuthConfig};
use crate::metrics::{Counter, Gauge};
use throttle::{Attempt, Throttle, Verdict};

/// Which password an account had when someone logged in with it: a fingerprint of its stored
/// hash (never the hash itself). A new password, even the same one again, is hashed with a fresh
/// random salt, so its stamp differs; a login that kept the old stamp can tell. Stamps are
/// compared only within one process (they are not stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordStamp(u64);

impl PasswordStamp {
    /// The stamp of a stored password hash.
    pub fn of(password_hash: &str) -> Self {
        let mut h = DefaultHasher::new();
        password_hash.hash(&mut h);
        PasswordStamp(h.finish())
    }
}

/// Who logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name to show: the account's name as stored, or a guest's name as typed.
    pub name: String,
    pub role: Role,
    /// True when the name is a registered account (the password was checked).
    pub account: bool,
    /// The password the login was checked against; `None` for a guest.
    pub password_stamp: Option<PasswordStamp>,
}

impl Identity {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Why a login failed; each maps to a stable error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// The name needs a password (or, in accounts-only mode, every name does).
    PasswordRequired,
    /// Wrong name or password.
    BadCredentials,
    /// Too many failures from this address or for this account.
    TooManyAttempts { retry_after: Duration },
    /// Every password check is busy and none came free in time; try again.
    Busy,
    /// The database cannot be reached, or the login could not be logged.
    Unavailable,
    /// The user or the client's address is banned (the error says until when).
    Banned(ErrorEvent),
}

impl LoginError {
    /// How long the client should wait before trying again (whole seconds, at least 1), when the
    /// refusal says so: a login refused for too many attempts.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            LoginError::TooManyAttempts { retry_after } => Some(whole_seconds(*retry_after)),
            _ => None,
        }
    }

    /// The error to send to the client.
    pub fn to_event(&self) -> ErrorEvent {
        match self {
            LoginError::PasswordRequired => {
                ErrorEvent::new(ErrorCode::PasswordRequired, msg!("error-password-required"))
            }
            LoginError::BadCredentials => {
                ErrorEvent::new(ErrorCode::BadCredentials, msg!("error-bad-credentials"))
            }
            LoginError::TooManyAttempts { retry_after } => ErrorEvent::new(
                ErrorCode::TooManyAttempts,
                msg!("error-too-many-attempts", secs = whole_seconds(*retry_after)),
            ),
            LoginError::Banned(e) => e.clone(),
            LoginError::Busy => ErrorEvent::new(ErrorCode::Unavailable, msg!("error-logins-busy")),
            LoginError::Unavailable => {
                ErrorEvent::new(ErrorCode::Unavailable, msg!("error-logins-unavailable"))
            }
        }
    }
}

/// `d` in seconds, rounded up, at least 1: a client told to wait that long will not be early.
fn whole_seconds(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

/// Login counters, for `/metrics`.
#[derive(Debug, Default)]
pub struct AuthMetrics {
    /// Password checks running now.
    pub hashes_in_flight: Gauge,
    /// The most password checks that ever ran at once (never above the permits).
    pub hashes_in_flight_max: Gauge,
    /// Passwords checked.
    pub password_checks: Counter,
    /// Attempts refused by the throttle (`too_many_attempts`).
    pub throttled: Counter,
    /// Logins refused because no password check came free within `hash_wait_ms`.
    pub hash_timeouts: Counter,
}

impl crate::metrics::Families for Authenticator {
    fn families(&self, out: &mut crate::metrics::FamilyWriter<'_>) -> std::fmt::Result {
        let a = &self.metrics;
        out.gauge("sockhub_auth_hashes_in_flight", "Password checks running now.", a.hashes_in_flight.get())?;
        out.gauge(
            "sockhub_auth_hashes_in_flight_max",
            "The most password checks that ever ran at once.",
            a.hashes_in_flight_max.get(),
        )?;
        out.gauge(
            "sockhub_auth_hash_permits",
            "Password checks allowed at once ([auth] max_concurrent_hashes).",
            self.hash_permits,
        )?;
        out.counter("sockhub_auth_password_checks_total", "Passwords checked.", a.password_checks.get())?;
        out.counter(
            "sockhub_auth_throttled_total",
            "Login attempts refused with too_many_attempts.",
            a.throttled.get(),
        )?;
        out.counter(
            "sockhub_auth_hash_timeouts_total",
            "Logins told to retry because no password check came free within [auth] hash_wait_ms.",
            a.hash_timeouts.get(),
        )
    }
}

/// The login checker shared by all services.
pub struct Authenticator {
    store: Store,
    journal: Journal,
    throttle: Arc<Throttle>,
    /// One permit per password check allowed to run.
    hashes: Arc<Semaphore>,
    hash_permits: usize,
    hash_wait: Duration,
    metrics: Arc<AuthMetrics>,
    log_wait: Duration,
    bans: Arc<Bans>,
}

impl Authenticator {
    pub fn new(
        store: Store,
        journal: Journal,
        config: &AuthConfig,
        log_wait: Duration,
        bans: Arc<Bans>,
    ) -> Self {
        let hash_permits = config.hash_permits();
        Authenticator {
            store,
            journal,
            throttle: Arc::new(Throttle::new(config.clone())),
            hashes: Arc::new(Semaphore::new(hash_permits)),
            hash_permits,
            hash_wait: Duration::from_millis(config.hash_wait_ms),
            metrics: Arc::default(),
            log_wait,
            bans,
        }
    }

    /// The bans every login is checked against.
    pub fn bans(&self) -> &Arc<Bans> {
        &self.bans
    }

    /// Refuse a login from `peer` as `name` if the name or the address is banned (the address
    /// not for an `admin`); the refusal is in the login log as a failure, under `shown`.
    pub async fn check_ban(
        &self,
        peer: SocketAddr,
        service: &str,
        name: &str,
        admin: bool,
        shown: &str,
    ) -> Result<(), LoginError> {
        let Some(e) = self.bans.refusal(name, peer.ip(), admin) else { return Ok(()) };
        self.record(peer, service, shown, LoginOutcome::Failure).await?;
        info!(%service, name = shown, "refused a banned login");
        Err(LoginError::Banned(e))
    }

    /// The login counters.
    pub fn metrics(&self) -> &Arc<AuthMetrics> {
        &self.metrics
    }

    /// How many password checks may run at once.
    pub fn hash_permits(&self) -> usize {
        self.hash_permits
    }

    /// Check a login on `service` from `peer`. `policy` says whether guests may enter.
    pub async fn login(
        &self,
        peer: SocketAddr,
        service: &str,
        name: &str,
        password: Option<&Secret>,
        policy: Admission,
    ) -> Result<Identity, LoginError> {
        // No service lets such a name in, and it would reach the logs as it is (a line break in
        // a web login's name would forge a log line): refuse it before anything else.
        if crate::names::validate(name).is_err() {
            return Err(LoginError::BadCredentials);
        }
        // Counted by look-alike key: `teacher`, `tеacher` and `ＴＥＡＣＨＥＲ` are one account
        // (the store finds it by skeleton), so they must share one throttle count too.
        let key = crate::names::key(name);
        // A blocked address is refused before any other work.
        if let Verdict::Locked { retry_after } = self.throttle.check(peer.ip(), &key) {
            return Err(self.refuse(peer, service, name, retry_after).await);
        }
        let account = match self.store.accounts().find(name).await {
            Ok(account) => account,
            Err(e) => {
                warn!(error = %e, "login lookup failed");
                return Err(LoginError::Unavailable);
            }
        };
        let identity = match (account, password, policy) {
            (None, _, Admission::Open) => {
                Identity { name: name.to_owned(), role: Role::Member, account: false, password_stamp: None }
            }
            (_, None, _) => return Err(LoginError::PasswordRequired),
            (account, Some(password), _) => {
                let attempt = match self.throttle.begin(peer.ip(), &key) {
                    Ok(attempt) => attempt,
                    Err(retry_after) => return Err(self.refuse(peer, service, name, retry_after).await),
                };
                if !attempt.delay().is_zero() {
                    tokio::time::sleep(attempt.delay()).await;
                }
                let hash = account.as_ref().map(|a| a.password_hash.clone());
                if !self.verify(attempt, password, hash).await? {
                    self.record(peer, service, name, LoginOutcome::Failure).await?;
                    info!(%service, name, "failed login");
                    return Err(LoginError::BadCredentials);
                }
                let account = account.expect("a verified password implies an account");
                Identity {
                    password_stamp: Some(PasswordStamp::of(&account.password_hash)),
                    name: account.name,
                    role: account.role,
                    account: true,
                }
            }
        };
        // A ban is checked once the name is known to be the caller's (for an account: after its
        // password), so only its holder learns about it, and an admin is not held back by an
        // address ban.
        self.check_ban(peer, service, &identity.name, identity.is_admin(), &identity.name).await?;
        self.record(peer, service, &identity.name, LoginOutcome::Success).await?;
        Ok(identity)
    }

    /// Refuse a throttled attempt (it is in the login log as a failure).
    async fn refuse(&self, peer: SocketAddr, service: &str, name: &str, retry_after: Duration) -> LoginError {
        self.metrics.throttled.inc();
        match self.record(peer, service, name, LoginOutcome::Failure).await {
            Ok(()) => LoginError::TooManyAttempts { retry_after },
            Err(e) => e,
        }
    }

    /// Check `password` against `hash` (`None`: no such account, a dummy hash is checked) under a
    /// permit, and resolve `attempt` with the answer. Without a permit in time the attempt is given
    /// back unchecked and the login is told to retry.
    async fn verify(
        &self,
        attempt: Attempt,
        password: &Secret,
        hash: Option<String>,
    ) -> Result<bool, LoginError> {
        let permit = match tokio::time::timeout(self.hash_wait, Arc::clone(&self.hashes).acquire_owned())
            .await
        {
            Ok(Ok(permit)) => permit,
            _ => {
                self.metrics.hash_timeouts.inc();
                // Counted in /metrics; in a storm a warning per login would flood the log.
                info!(waited = ?self.hash_wait, "a login waited too long for a password check; told to retry");
                return Err(LoginError::Busy);
            }
        };
        let metrics = Arc::clone(&self.metrics);
        let password = password.clone();
        // On its own task: dropping this login (the client hung up) neither frees the permit
        // while the hash still runs nor loses the attempt's count.
        let check = tokio::spawn(async move {
            let _permit = permit;
            metrics.hashes_in_flight_max.raise_to(metrics.hashes_in_flight.inc());
            metrics.password_checks.inc();
            let ok = password::verify_login(password.expose(), hash.as_deref()).await;
            metrics.hashes_in_flight.dec();
            if ok {
                attempt.succeeded()
            } else {
                attempt.failed()
            }
            ok
        });
        check.await.map_err(|e| {
            warn!(error = %e, "a password check failed");
            LoginError::Unavailable
        })
    }

    /// Refuse unless `name` is an admin account *now*: sessions remember the role they logged in
    /// with, but the right to act is read from the database when it is used.
    pub async fn confirm_admin(&self, name: &str) -> Result<(), ErrorEvent> {
        match self.store.accounts().find(name).await {
            Ok(Some(account)) if account.is_admin() => Ok(()),
            Ok(_) => Err(ErrorEvent::new(ErrorCode::Forbidden, msg!("error-admins-only"))),
            Err(e) => {
                warn!(error = %e, "cannot read an account's role");
                Err(ErrorEvent::new(ErrorCode::Unavailable, msg!("error-role-unavailable")))
            }
        }
    }

    /// Write a logout row.
    pub async fn logout(&self, peer: SocketAddr, service: &str, name: &str) {
        let _ = self.record(peer, service, name, LoginOutcome::Logout).await;
    }

    /// Log one login row. A login that cannot be logged is refused: the login log must be
    /// complete.
    async fn record(
        &self,
        peer: SocketAddr,
        service: &str,
        name: &str,
        outcome: LoginOutcome,
    ) -> Result<(), LoginError> {
        let record = LoginRecord::new(name, peer.to_string(), service, outcome);
        self.journal.send_timeout(record, self.log_wait).await.map_err(|e| {
            warn!(error = %e, "the login log is not accepting records");
            LoginError::Unavailable
        })
    }
}

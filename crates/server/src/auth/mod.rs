//! Logging in, for every service that takes a name: who may enter, with which password, and how
//! fast they may guess.
//!
//! [`Authenticator::login`] implements one rule for all services: a name that belongs to an
//! account needs that account's password; any other name enters as a guest, unless the service
//! requires accounts. Wrong passwords, unknown accounts in "accounts only" mode, and missing
//! passwords all look alike from outside (`bad_credentials` / `password_required`, the same
//! message, and an argon2 verification against a dummy hash so the timing is the same too).
//! Every attempt is throttled by [`throttle`] and written to the login log.

pub mod throttle;

use std::net::SocketAddr;
use std::time::Duration;

use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::secret::Secret;
use sockhub_store::{Journal, LoginOutcome, LoginRecord, Role, Store, name_key, password};
use tracing::{info, warn};

use crate::config::{Admission, AuthConfig};
use throttle::{Throttle, Verdict};

/// Who logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name to show: the account's name as stored, or a guest's name as typed.
    pub name: String,
    pub role: Role,
    /// True when the name is a registered account (the password was checked).
    pub account: bool,
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
    /// The database cannot be reached, or the login could not be logged.
    Unavailable,
}

impl LoginError {
    /// The error to send to the client.
    pub fn to_event(&self) -> ErrorEvent {
        match self {
            LoginError::PasswordRequired => {
                ErrorEvent::new(ErrorCode::PasswordRequired, "this name needs a password")
            }
            LoginError::BadCredentials => {
                ErrorEvent::new(ErrorCode::BadCredentials, "wrong name or password")
            }
            LoginError::TooManyAttempts { retry_after } => ErrorEvent::new(
                ErrorCode::TooManyAttempts,
                format!("too many failed logins; try again in {} s", retry_after.as_secs().max(1)),
            ),
            LoginError::Unavailable => ErrorEvent::new(
                ErrorCode::Unavailable,
                "logins are unavailable right now (the database cannot be reached); try again soon",
            ),
        }
    }
}

/// The login checker shared by all services.
pub struct Authenticator {
    store: Store,
    journal: Journal,
    throttle: Throttle,
    log_wait: Duration,
}

impl Authenticator {
    pub fn new(store: Store, journal: Journal, config: &AuthConfig, log_wait: Duration) -> Self {
        Authenticator { store, journal, throttle: Throttle::new(config.clone()), log_wait }
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
        let key = name_key(name);
        match self.throttle.check(peer.ip(), &key) {
            Verdict::Locked { retry_after } => {
                self.record(peer, service, name, LoginOutcome::Failure).await?;
                return Err(LoginError::TooManyAttempts { retry_after });
            }
            Verdict::Allow { delay } if !delay.is_zero() => tokio::time::sleep(delay).await,
            Verdict::Allow { .. } => {}
        }
        let account = match self.store.find_account(name).await {
            Ok(account) => account,
            Err(e) => {
                warn!(error = %e, "login lookup failed");
                return Err(LoginError::Unavailable);
            }
        };
        let identity = match (&account, password, policy) {
            (None, _, Admission::Open) => {
                Identity { name: name.to_owned(), role: Role::Member, account: false }
            }
            (_, None, _) => return Err(LoginError::PasswordRequired),
            (account, Some(password), _) => {
                let hash = account.as_ref().map(|a| a.password_hash.as_str());
                if !password::verify_login(password.expose(), hash).await {
                    self.throttle.failed(peer.ip(), &key);
                    self.record(peer, service, name, LoginOutcome::Failure).await?;
                    info!(%service, name, "failed login for {name}");
                    return Err(LoginError::BadCredentials);
                }
                let account = account.as_ref().expect("a verified password implies an account");
                self.throttle.succeeded(&key);
                Identity { name: account.name.clone(), role: account.role, account: true }
            }
        };
        self.record(peer, service, &identity.name, LoginOutcome::Success).await?;
        Ok(identity)
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

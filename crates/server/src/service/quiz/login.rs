//! Who may play under a name, and who may start rounds.
//!
//! The rule is chat's open mode: anyone may pick a name nobody is playing under, but a name that
//! belongs to an account needs the account's password, and only an admin account may `/start` a
//! round. Checked against the store's accounts (argon2id hashes, verified off the reactor), behind
//! the shared brute-force throttle. This is the one place the quiz decides it, so moving to the
//! server-wide login module is a change of this file only.

use std::net::IpAddr;

use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::secret::Secret;
use sockhub_store::password;

use crate::auth::throttle::Verdict;

use super::QuizService;

/// Who a successful login is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// A name with no account.
    Guest,
    /// An account's owner.
    Member,
    /// An admin account's owner.
    Admin,
}

/// Why a login was refused.
#[derive(Debug)]
pub enum Refused {
    /// The name has an account and no password was given: ask for it.
    NeedPassword,
    /// Any other refusal, to be sent as is.
    Error(ErrorEvent),
}

/// Check `name` (and `password`, if any) for a connection from `addr`.
pub async fn check(
    quiz: &QuizService,
    addr: IpAddr,
    name: &str,
    password: Option<&Secret>,
) -> Result<Who, Refused> {
    let key = sockhub_store::name_key(name);
    let account = match quiz.store.find_account(name).await {
        Ok(account) => account,
        Err(e) => {
            tracing::warn!("account lookup failed for a quiz login: {e}");
            return Err(Refused::Error(ErrorEvent::new(
                ErrorCode::Unavailable,
                "cannot check accounts right now; try again in a moment",
            )));
        }
    };
    let Some(account) = account else { return Ok(Who::Guest) };
    let Some(password) = password else { return Err(Refused::NeedPassword) };
    match quiz.throttle.check(addr, &key) {
        Verdict::Locked { retry_after } => {
            return Err(Refused::Error(ErrorEvent::new(
                ErrorCode::TooManyAttempts,
                format!("too many failed logins; try again in {} s", retry_after.as_secs().max(1)),
            )));
        }
        Verdict::Allow { delay } if !delay.is_zero() => tokio::time::sleep(delay).await,
        Verdict::Allow { .. } => {}
    }
    if password::verify_login(password.expose(), Some(&account.password_hash)).await {
        quiz.throttle.succeeded(&key);
        Ok(if account.is_admin() { Who::Admin } else { Who::Member })
    } else {
        quiz.throttle.failed(addr, &key);
        Err(Refused::Error(ErrorEvent::new(ErrorCode::BadCredentials, "wrong name or password")))
    }
}

/// Check that `name`/`password` are an admin's (for a `start` from a connection that is not
/// playing).
pub async fn check_admin(
    quiz: &QuizService,
    addr: IpAddr,
    name: &str,
    password: Option<&Secret>,
) -> Result<(), ErrorEvent> {
    match check(quiz, addr, name, password).await {
        Ok(Who::Admin) => Ok(()),
        Ok(_) | Err(Refused::NeedPassword) => {
            Err(ErrorEvent::new(ErrorCode::Forbidden, "only an admin may start a round"))
        }
        Err(Refused::Error(e)) => Err(e),
    }
}

//! Who may play under a name, and who may start rounds: the server-wide rule of [`crate::auth`]
//! (a name that belongs to an account needs its password; any other free name plays as a guest),
//! throttled and written to the login log there. Only an admin account may `/start` a round.

use sockhub_i18n::msg;
use std::net::SocketAddr;

use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::secret::Secret;

use super::QuizService;
use crate::auth::{Identity, LoginError};
use crate::config::Admission;

/// Check `name` (and `password`, if any) for a connection from `peer`.
pub async fn check(
    quiz: &QuizService,
    peer: SocketAddr,
    name: &str,
    password: Option<&Secret>,
) -> Result<Identity, LoginError> {
    quiz.auth.login(peer, "quiz", name, password, Admission::Open).await
}

/// Check that `name`/`password` are an admin's (for a `start` from a connection that is not
/// playing, as `sockhub quiz start` sends).
pub async fn check_admin(
    quiz: &QuizService,
    peer: SocketAddr,
    name: &str,
    password: Option<&Secret>,
) -> Result<(), ErrorEvent> {
    let forbidden = || ErrorEvent::new(ErrorCode::Forbidden, msg!("quiz-admin-only-start"));
    match check(quiz, peer, name, password).await {
        Ok(identity) if identity.is_admin() => Ok(()),
        Ok(_) | Err(LoginError::PasswordRequired) => Err(forbidden()),
        Err(e) => Err(e.to_event()),
    }
}

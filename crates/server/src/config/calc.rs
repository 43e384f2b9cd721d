//! `[calc]`: the shared square calculator: who may log in, how much history, the group commit.

use serde::{Deserialize, Serialize};

use super::InvalidValue;
use super::section::section;

/// Who may use the calculator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RosterMode {
    /// Only students on the roster; other IDs are refused with `unknown_student`.
    Required,
    /// Any well-formed student ID; students on the roster are shown with their name.
    Open,
}

/// How a calculator student proves who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalcAuth {
    /// The student ID alone (anyone who knows an ID can use it).
    Id,
    /// The student ID and the password of the sockhub account that carries it.
    Accounts,
}

section! {
    /// `[calc]`: the square calculator. Env: `SOCKHUB_CALC_<KEY>`.
    #[section(calc, about = "The shared square calculator: a roster of students, exact squares, persistent history.")]
    pub struct CalcConfig {
        /// Run the calculator; a config file without a [calc] section leaves it off.
        pub enabled: bool = true,
        /// TCP port for the calculator (0 = any free port).
        pub port: u16 = 7003,
        /// TLS port for the calculator (e.g. 7103) with the [tls] certificate (0 = any free port); unset
        /// = no TLS port.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub tls_port: Option<u16> = None,
        /// "required": only students on the roster may log in (others get unknown_student); "open": any
        /// well-formed student ID.
        pub roster: RosterMode = RosterMode::Required,
        /// "id": a student logs in with the student ID alone; "accounts": with the student ID and the
        /// password of the sockhub account that carries that ID (`sockhub user add NAME --student-id ID`;
        /// if none does, the account named as the ID), checked and throttled like every login
        /// (password_required, bad_credentials, too_many_attempts).
        pub auth: CalcAuth = CalcAuth::Id,
        /// Results (the student's newest) sent at login, and by /history without N.
        pub history: u32 = 20,
        /// Most results one /history N returns.
        pub history_max: u32 = 1000,
        /// Longest number accepted, in digits (integer and fraction part); longer is too_long. At most
        /// 100000.
        pub max_digits: usize = 1000,
        /// Most results stored in one transaction by the group commit.
        pub commit_batch: usize = 256,
        /// Results that may wait for the database; when full, senders wait (backpressure).
        pub commit_queue: usize = 4096,
    }
}

impl CalcConfig {
    /// The value of a missing `[calc]` section in a config file.
    pub fn off() -> Self {
        CalcConfig { enabled: false, ..Self::default() }
    }

    pub(super) fn validate(&self) -> Result<(), InvalidValue> {
        let ceiling = crate::service::calc::number::MAX_DIGITS_CEILING;
        if self.max_digits == 0 || self.max_digits > ceiling {
            return Err(format!("calc.max_digits must be 1 to {ceiling} (is {})", self.max_digits).into());
        }
        if self.history > self.history_max {
            return Err(format!(
                "calc.history ({}) must not exceed calc.history_max ({})",
                self.history, self.history_max
            )
            .into());
        }
        if self.commit_batch == 0 || self.commit_queue == 0 {
            return Err("calc.commit_batch and calc.commit_queue must be at least 1".into());
        }
        Ok(())
    }
}

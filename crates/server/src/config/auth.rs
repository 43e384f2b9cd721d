//! `[auth]`: login brute-force protection (throttling, locks, the password-check pool) and the
//! bans every node keeps.

use super::InvalidValue;
use super::section::section;

section! {
    /// `[auth]`: login brute-force protection. Env: `SOCKHUB_AUTH_<KEY>`.
    ///
    /// How the counters combine is described in [`crate::auth::throttle`].
    #[section(auth, about = "Login brute-force protection, for every service.")]
    pub struct AuthConfig {
        /// Failed logins to one account from one address (IPv6: one /64) before its answers are delayed.
        pub slow_after: u32 = 3,
        /// Delay added per failure beyond slow_after (at most 30 s).
        pub slow_delay_ms: u64 = 1000,
        /// Logins to one account from one address, failed or still being checked, after which that
        /// address gets too_many_attempts for that account.
        pub lock_after: u32 = 10,
        /// Logins from one address to any accounts, failed or still being checked, after which the
        /// address gets too_many_attempts (high enough for a class behind one NAT).
        pub addr_lock_after: u32 = 50,
        /// Failures on one account from every address together only delay its logins (never lock them, so
        /// no one can lock the holder out), by at most this.
        pub account_max_delay_ms: u64 = 2000,
        /// How long a too_many_attempts refusal lasts.
        pub lock_secs: u64 = 300,
        /// Failures older than this are forgotten.
        pub window_secs: u64 = 900,
        /// Addresses, accounts and address-account pairs remembered at most (oldest forgotten first).
        pub max_tracked: usize = 100_000,
        /// Shortest password for a new account or a password change (sockhub user, the web Admin tab);
        /// older, shorter passwords still log in.
        pub min_password_chars: usize = 8,
        /// Password checks (argon2, 19 MiB each) running at once; more wait (0 = the number of CPU
        /// cores).
        pub max_concurrent_hashes: usize = 0,
        /// How long a login waits for a free password check before it is told unavailable (try again).
        pub hash_wait_ms: u64 = 3000,
        /// Bans in force at most (each node keeps them all in memory); a new ban beyond this is refused.
        pub max_bans: usize = 10_000,
        /// How often every node re-reads the bans in force from the database, to act on bans set by
        /// `sockhub user ban` or missed while NATS was down (bans set on a node reach the others at
        /// once).
        pub bans_refresh_secs: u64 = 5,
    }
}

impl AuthConfig {
    /// [`max_concurrent_hashes`](Self::max_concurrent_hashes) with 0 resolved to the cores.
    pub fn hash_permits(&self) -> usize {
        match self.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    pub(super) fn validate(&self) -> Result<(), InvalidValue> {
        if self.lock_after == 0 || self.addr_lock_after == 0 || self.max_tracked == 0 {
            return Err(
                "auth.lock_after, auth.addr_lock_after and auth.max_tracked must be at least 1".into()
            );
        }
        if self.max_bans == 0 || self.bans_refresh_secs == 0 {
            return Err("auth.max_bans and auth.bans_refresh_secs must be at least 1".into());
        }
        Ok(())
    }
}

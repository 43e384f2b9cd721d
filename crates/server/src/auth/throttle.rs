//! Brute-force protection for logins.
//!
//! Failed logins are counted per peer address and per account name over a window. After
//! `slow_after` failures every further attempt on that address or account is answered only after
//! a growing delay; after `lock_after` failures attempts are refused outright (`too_many_attempts`)
//! until the lock expires. A success clears the account's count (not the address's: one right
//! password must not reset a guessing spree from the same host on other accounts).
//!
//! The table is bounded (`max_tracked`): expired entries are pruned when it fills, and if it is
//! still full the oldest entry goes, so a flood of made-up names cannot grow memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::config::AuthConfig;

/// What to do with a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead, after waiting this long (zero when there were few failures).
    Allow { delay: Duration },
    /// Refuse; try again after this long.
    Locked { retry_after: Duration },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Addr(IpAddr),
    Account(String),
}

#[derive(Debug, Clone)]
struct Failures {
    count: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

/// The failure table.
pub struct Throttle {
    config: AuthConfig,
    table: Mutex<HashMap<Key, Failures>>,
}

impl Throttle {
    pub fn new(config: AuthConfig) -> Self {
        Throttle { config, table: Mutex::new(HashMap::new()) }
    }

    /// Judge an attempt from `addr` on account `name_key` (the normalized name).
    pub fn check(&self, addr: IpAddr, name_key: &str) -> Verdict {
        let now = Instant::now();
        let table = self.table.lock();
        let mut worst = Verdict::Allow { delay: Duration::ZERO };
        for key in [Key::Addr(addr), Key::Account(name_key.to_owned())] {
            let Some(f) = table.get(&key).filter(|f| !self.expired(f, now)) else { continue };
            let verdict = match f.locked_until {
                Some(until) if until > now => Verdict::Locked { retry_after: until - now },
                _ => Verdict::Allow { delay: self.delay_for(f.count) },
            };
            worst = worse(worst, verdict);
        }
        worst
    }

    /// Count a failed attempt.
    pub fn failed(&self, addr: IpAddr, name_key: &str) {
        let now = Instant::now();
        let mut table = self.table.lock();
        for key in [Key::Addr(addr), Key::Account(name_key.to_owned())] {
            if !table.contains_key(&key) {
                self.make_room(&mut table, now);
            }
            let f = table.entry(key).or_insert(Failures { count: 0, since: now, locked_until: None });
            if self.expired(f, now) {
                *f = Failures { count: 0, since: now, locked_until: None };
            }
            f.count += 1;
            if f.count >= self.config.lock_after {
                f.locked_until = Some(now + Duration::from_secs(self.config.lock_secs));
            }
        }
    }

    /// A successful login clears the account's failures.
    pub fn succeeded(&self, name_key: &str) {
        self.table.lock().remove(&Key::Account(name_key.to_owned()));
    }

    fn delay_for(&self, failures: u32) -> Duration {
        if failures < self.config.slow_after {
            return Duration::ZERO;
        }
        let steps = failures - self.config.slow_after + 1;
        Duration::from_millis(self.config.slow_delay_ms.saturating_mul(u64::from(steps)))
            .min(Duration::from_secs(30))
    }

    fn expired(&self, f: &Failures, now: Instant) -> bool {
        let locked = f.locked_until.is_some_and(|until| until > now);
        !locked && now.duration_since(f.since) > Duration::from_secs(self.config.window_secs)
    }

    fn make_room(&self, table: &mut HashMap<Key, Failures>, now: Instant) {
        if table.len() < self.config.max_tracked {
            return;
        }
        table.retain(|_, f| !self.expired(f, now));
        while table.len() >= self.config.max_tracked {
            let Some(oldest) = table.iter().min_by_key(|(_, f)| f.since).map(|(k, _)| k.clone()) else {
                break;
            };
            table.remove(&oldest);
        }
    }
}

fn worse(a: Verdict, b: Verdict) -> Verdict {
    match (a, b) {
        (Verdict::Locked { retry_after: x }, Verdict::Locked { retry_after: y }) => {
            Verdict::Locked { retry_after: x.max(y) }
        }
        (locked @ Verdict::Locked { .. }, _) | (_, locked @ Verdict::Locked { .. }) => locked,
        (Verdict::Allow { delay: x }, Verdict::Allow { delay: y }) => Verdict::Allow { delay: x.max(y) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AuthConfig {
        AuthConfig {
            slow_after: 2,
            slow_delay_ms: 500,
            lock_after: 4,
            lock_secs: 60,
            window_secs: 600,
            max_tracked: 3,
            ..AuthConfig::default()
        }
    }

    const HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[tokio::test(start_paused = true)]
    async fn slows_then_locks_then_expires() {
        let t = Throttle::new(config());
        assert_eq!(t.check(HOST, "alice"), Verdict::Allow { delay: Duration::ZERO });
        t.failed(HOST, "alice");
        assert_eq!(t.check(HOST, "alice"), Verdict::Allow { delay: Duration::ZERO });
        t.failed(HOST, "alice");
        assert_eq!(t.check(HOST, "alice"), Verdict::Allow { delay: Duration::from_millis(500) });
        t.failed(HOST, "alice");
        assert_eq!(t.check(HOST, "alice"), Verdict::Allow { delay: Duration::from_millis(1000) });
        t.failed(HOST, "alice");
        assert!(matches!(t.check(HOST, "alice"), Verdict::Locked { .. }));
        // The account is locked from any address; the address is locked for any account.
        assert!(matches!(t.check(OTHER, "alice"), Verdict::Locked { .. }));
        assert!(matches!(t.check(HOST, "bob"), Verdict::Locked { .. }));
        assert_eq!(t.check(OTHER, "bob"), Verdict::Allow { delay: Duration::ZERO });
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(matches!(t.check(HOST, "alice"), Verdict::Allow { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn success_clears_the_account_but_not_the_address() {
        let t = Throttle::new(config());
        for _ in 0..3 {
            t.failed(HOST, "alice");
        }
        t.succeeded("alice");
        assert_eq!(t.check(OTHER, "alice"), Verdict::Allow { delay: Duration::ZERO });
        assert_ne!(t.check(HOST, "carol"), Verdict::Allow { delay: Duration::ZERO });
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_stays_bounded() {
        let t = Throttle::new(config());
        for i in 0..100 {
            t.failed(HOST, &format!("user{i}"));
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        assert!(t.table.lock().len() <= 3);
    }
}

//! Brute-force protection for logins.
//!
//! **An attempt is counted before its password is checked.** A login that is going to check a
//! password first takes a slot with [`Throttle::begin`]; the slot counts exactly like a failure
//! until the check ends, when it becomes one ([`Attempt::failed`]) or is given back (a success,
//! or a login abandoned before its check). So N guesses sent in parallel get at most the allowed
//! number of password checks, and the rest are refused at once, before any hashing.
//!
//! Three counters judge each attempt, all over a window of `window_secs`:
//!
//! - **This address on this account** (the pair): after `slow_after` failures each further attempt
//!   is delayed (`slow_delay_ms` more per failure, at most 30 s); at `lock_after` attempts (failed
//!   or in flight) the address is refused for that account (`too_many_attempts`) for `lock_secs`.
//! - **This address on any account**: at `addr_lock_after` the address is refused for every
//!   account — one host spraying guesses over many names. It is higher than `lock_after` because a
//!   whole class may reach the server through one NAT address.
//! - **This account from every address**: failures only add a delay, capped at
//!   `account_max_delay_ms`, and never lock. A lock here would let anyone lock the holder out of
//!   their own account (an admin, the night before an exam); the cap bounds what guessers from
//!   many addresses can cost the holder. Against a guesser with many addresses the account is
//!   defended by its password (each guess costs an argon2 hash) and each address's own limits.
//!
//! So wrong guesses slow and then block the guessing address, never the right password from
//! another address. A success clears the pair and the account, not the address (one right
//! password must not reset a guessing spree from the same host on other accounts). When a lock
//! runs out, one more attempt is allowed; if it fails too, the lock starts again.
//!
//! Addresses are grouped by [`address_group`]: an IPv4 address stands alone, an IPv6 address
//! counts as its /64, since one host can pick any address in its /64.
//!
//! The table is bounded (`max_tracked`): when it is full, entries that have nothing to remember
//! are pruned, and if it is still full the oldest sixteenth goes (attempts in flight last), so a
//! flood of made-up names cannot grow memory and the pruning costs little per attempt.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::config::AuthConfig;

/// The longest delay the pair counter adds to one attempt.
const MAX_DELAY: Duration = Duration::from_secs(30);

/// What a client refused only because attempts are still being checked is told to wait: by then
/// those checks are over, and either the lock took hold or a slot is free again.
const PENDING_RETRY: Duration = Duration::from_secs(1);

/// What to do with a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead, after waiting this long (zero when there were few failures).
    Allow { delay: Duration },
    /// Refuse; try again after this long.
    Locked { retry_after: Duration },
}

pub use crate::net::cidr::address_group;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// One address group on one account.
    Pair(IpAddr, String),
    /// One address group, any account.
    Addr(IpAddr),
    /// One account, any address.
    Account(String),
}

#[derive(Debug, Clone)]
struct Entry {
    /// Failures since `since`.
    failures: u32,
    /// Attempts whose password is being checked now.
    pending: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

impl Entry {
    fn new(now: Instant) -> Self {
        Entry { failures: 0, pending: 0, since: now, locked_until: None }
    }

    /// Failures and attempts in flight: what the lock thresholds count.
    fn attempts(&self) -> u32 {
        self.failures.saturating_add(self.pending)
    }

    fn locked(&self, now: Instant) -> Option<Duration> {
        self.locked_until.filter(|&until| until > now).map(|until| until - now)
    }

    fn is_empty(&self) -> bool {
        self.failures == 0 && self.pending == 0 && self.locked_until.is_none()
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Failed,
    Succeeded,
    /// Never checked (no permit for the hash, the client went away): the slot is given back.
    Abandoned,
}

/// The failure table.
pub struct Throttle {
    config: AuthConfig,
    table: Mutex<HashMap<Key, Entry>>,
}

/// A slot taken by [`Throttle::begin`]: it counts as a failure until it is resolved with
/// [`failed`](Attempt::failed) or [`succeeded`](Attempt::succeeded); dropped unresolved, it is
/// given back.
#[must_use = "an attempt must be resolved, or it is given back when dropped"]
pub struct Attempt {
    throttle: Arc<Throttle>,
    keys: [Key; 3],
    delay: Duration,
    outcome: Outcome,
}

impl Attempt {
    /// How long to wait before checking the password.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The password was wrong (or there is no such account).
    pub fn failed(mut self) {
        self.outcome = Outcome::Failed;
    }

    /// The password was right.
    pub fn succeeded(mut self) {
        self.outcome = Outcome::Succeeded;
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.throttle.finish(&self.keys, self.outcome);
    }
}

impl Throttle {
    pub fn new(config: AuthConfig) -> Self {
        Throttle { config, table: Mutex::new(HashMap::new()) }
    }

    /// Judge an attempt from `addr` on account `name_key` (the normalized name) without counting
    /// it: to refuse a blocked address before any other work, and for guests, who check no
    /// password.
    pub fn check(&self, addr: IpAddr, name_key: &str) -> Verdict {
        let now = Instant::now();
        let keys = keys(addr, name_key);
        self.judge(&mut self.table.lock(), &keys, now)
    }

    /// Take a slot for an attempt whose password is about to be checked, or refuse it (with how
    /// long to wait). Judging and counting happen under one lock, so parallel attempts cannot all
    /// pass the same check.
    pub fn begin(self: &Arc<Self>, addr: IpAddr, name_key: &str) -> Result<Attempt, Duration> {
        let now = Instant::now();
        let keys = keys(addr, name_key);
        let mut table = self.table.lock();
        let delay = match self.judge(&mut table, &keys, now) {
            Verdict::Locked { retry_after } => return Err(retry_after),
            Verdict::Allow { delay } => delay,
        };
        for key in &keys {
            self.entry(&mut table, key, now).pending += 1;
        }
        Ok(Attempt { throttle: Arc::clone(self), keys, delay, outcome: Outcome::Abandoned })
    }

    /// The verdict for `keys` (pair, address, account) now.
    fn judge(&self, table: &mut HashMap<Key, Entry>, keys: &[Key; 3], now: Instant) -> Verdict {
        let mut retry_after: Option<Duration> = None;
        let mut delay = Duration::ZERO;
        for key in keys {
            let Some(e) = table.get_mut(key) else { continue };
            self.refresh(key, e, now);
            let refused = match (e.locked(now), self.limit(key)) {
                (Some(left), _) => Some(left),
                (None, Some(limit)) if e.attempts() >= limit => Some(PENDING_RETRY),
                _ => None,
            };
            retry_after = retry_after.max(refused);
            delay = delay.max(match key {
                Key::Pair(..) => self.delay_for(e.attempts()),
                Key::Addr(_) => Duration::ZERO,
                Key::Account(_) => {
                    self.delay_for(e.failures).min(Duration::from_millis(self.config.account_max_delay_ms))
                }
            });
        }
        match retry_after {
            Some(retry_after) => Verdict::Locked { retry_after },
            None => Verdict::Allow { delay },
        }
    }

    /// Resolve an attempt taken by [`begin`](Self::begin).
    fn finish(&self, keys: &[Key; 3], outcome: Outcome) {
        let now = Instant::now();
        let mut table = self.table.lock();
        for key in keys {
            let e = match outcome {
                // A failure is remembered even if the flood pushed its entry out meanwhile.
                Outcome::Failed => self.entry(&mut table, key, now),
                _ => match table.get_mut(key) {
                    Some(e) => e,
                    None => continue,
                },
            };
            e.pending = e.pending.saturating_sub(1);
            self.refresh(key, e, now);
            match outcome {
                Outcome::Failed => {
                    e.failures = e.failures.saturating_add(1);
                    if self.limit(key).is_some_and(|limit| e.failures >= limit) {
                        e.locked_until = Some(now + Duration::from_secs(self.config.lock_secs));
                    }
                }
                Outcome::Succeeded if !matches!(key, Key::Addr(_)) => {
                    e.failures = 0;
                    e.locked_until = None;
                }
                Outcome::Succeeded | Outcome::Abandoned => {}
            }
            if e.is_empty() {
                table.remove(key);
            }
        }
    }

    /// The number of attempts at which `key` locks; `None` for the account, which never does.
    fn limit(&self, key: &Key) -> Option<u32> {
        match key {
            Key::Pair(..) => Some(self.config.lock_after),
            Key::Addr(_) => Some(self.config.addr_lock_after),
            Key::Account(_) => None,
        }
    }

    /// Forget what is past: failures older than the window, and a lock that ran out (leaving one
    /// attempt before it takes hold again).
    fn refresh(&self, key: &Key, e: &mut Entry, now: Instant) {
        if let Some(until) = e.locked_until
            && until <= now
        {
            e.locked_until = None;
            if let Some(limit) = self.limit(key) {
                e.failures = e.failures.min(limit - 1);
            }
        }
        if e.locked_until.is_none()
            && now.duration_since(e.since) > Duration::from_secs(self.config.window_secs)
        {
            e.failures = 0;
            e.since = now;
        }
    }

    fn delay_for(&self, failures: u32) -> Duration {
        if failures < self.config.slow_after {
            return Duration::ZERO;
        }
        let steps = failures - self.config.slow_after + 1;
        Duration::from_millis(self.config.slow_delay_ms.saturating_mul(u64::from(steps))).min(MAX_DELAY)
    }

    /// The entry for `key`, made (room first) if there is none.
    fn entry<'t>(&self, table: &'t mut HashMap<Key, Entry>, key: &Key, now: Instant) -> &'t mut Entry {
        if !table.contains_key(key) {
            self.make_room(table, now);
        }
        table.entry(key.clone()).or_insert_with(|| Entry::new(now))
    }

    fn make_room(&self, table: &mut HashMap<Key, Entry>, now: Instant) {
        let max = self.config.max_tracked;
        if table.len() < max {
            return;
        }
        table.retain(|key, e| {
            self.refresh(key, e, now);
            !e.is_empty()
        });
        if table.len() < max {
            return;
        }
        // Drop the oldest sixteenth at once, attempts in flight last, so that a full table does
        // not cost a scan on every new entry.
        let mut ages: Vec<(bool, Instant)> = table.values().map(|e| (e.pending > 0, e.since)).collect();
        let excess = table.len() + 1 - max;
        let n = (max / 16).max(excess).min(ages.len());
        let (_, cutoff, _) = ages.select_nth_unstable(n - 1);
        let cutoff = *cutoff;
        let mut removed = 0;
        table.retain(|_, e| {
            let old = removed < n && (e.pending > 0, e.since) <= cutoff;
            removed += usize::from(old);
            !old
        });
    }
}

fn keys(addr: IpAddr, name_key: &str) -> [Key; 3] {
    let group = address_group(addr);
    [Key::Pair(group, name_key.to_owned()), Key::Addr(group), Key::Account(name_key.to_owned())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AuthConfig {
        AuthConfig {
            slow_after: 2,
            slow_delay_ms: 500,
            lock_after: 4,
            addr_lock_after: 6,
            account_max_delay_ms: 700,
            lock_secs: 60,
            window_secs: 600,
            max_tracked: 3,
            ..AuthConfig::default()
        }
    }

    fn throttle(config: AuthConfig) -> Arc<Throttle> {
        Arc::new(Throttle::new(config))
    }

    const HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));
    const ALLOW: Verdict = Verdict::Allow { delay: Duration::ZERO };

    fn fail(t: &Arc<Throttle>, addr: IpAddr, name: &str) {
        t.begin(addr, name).expect("not locked yet").failed();
    }

    fn locked(v: Verdict) -> bool {
        matches!(v, Verdict::Locked { .. })
    }

    #[tokio::test(start_paused = true)]
    async fn slows_then_locks_the_pair_then_expires() {
        let t = throttle(AuthConfig { max_tracked: 100, ..config() });
        assert_eq!(t.check(HOST, "alice"), ALLOW);
        fail(&t, HOST, "alice");
        assert_eq!(t.check(HOST, "alice"), ALLOW);
        fail(&t, HOST, "alice");
        assert_eq!(t.check(HOST, "alice"), Verdict::Allow { delay: Duration::from_millis(500) });
        fail(&t, HOST, "alice");
        assert_eq!(t.check(HOST, "alice"), Verdict::Allow { delay: Duration::from_millis(1000) });
        fail(&t, HOST, "alice");
        assert_eq!(t.check(HOST, "alice"), Verdict::Locked { retry_after: Duration::from_secs(60) });
        assert!(t.begin(HOST, "alice").is_err());
        // Only this address, only for this account; elsewhere the account is merely slowed, by
        // at most account_max_delay_ms.
        assert_eq!(t.check(OTHER, "alice"), Verdict::Allow { delay: Duration::from_millis(700) });
        assert_eq!(t.check(HOST, "bob"), ALLOW);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(matches!(t.check(HOST, "alice"), Verdict::Allow { .. }), "the lock ran out");
        fail(&t, HOST, "alice");
        assert!(locked(t.check(HOST, "alice")), "one more failure locks it again at once");
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_in_flight_count_before_they_are_checked() {
        let t = throttle(AuthConfig { slow_after: 100, max_tracked: 100, ..config() });
        let slots: Vec<Attempt> = (0..4).map(|_| t.begin(HOST, "alice").unwrap()).collect();
        assert_eq!(t.begin(HOST, "alice").err(), Some(PENDING_RETRY), "the fifth is refused at once");
        assert!(t.begin(OTHER, "alice").is_ok(), "another address is not affected");
        // One abandoned (never checked): its slot is free again.
        let mut slots = slots.into_iter();
        drop(slots.next());
        let last = t.begin(HOST, "alice").expect("a slot was given back");
        for s in slots.chain([last]) {
            s.failed();
        }
        assert_eq!(t.check(HOST, "alice"), Verdict::Locked { retry_after: Duration::from_secs(60) });
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_guessing_many_accounts_is_refused_for_all() {
        let t = throttle(AuthConfig { max_tracked: 100, ..config() });
        for i in 0..6 {
            fail(&t, HOST, &format!("user{i}"));
        }
        assert!(locked(t.check(HOST, "someone-else")));
        assert_eq!(t.check(OTHER, "user0"), ALLOW);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_from_many_addresses_never_lock_the_account() {
        let t = throttle(AuthConfig { max_tracked: 10_000, ..config() });
        for i in 0..200u32 {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from_bits(0x0a00_0000 + i));
            fail(&t, addr, "admin");
        }
        assert_eq!(t.check(OTHER, "admin"), Verdict::Allow { delay: Duration::from_millis(700) });
        t.begin(OTHER, "admin").unwrap().succeeded();
        assert_eq!(t.check(OTHER, "admin"), ALLOW, "the holder's success clears the account");
    }

    #[tokio::test(start_paused = true)]
    async fn ipv6_counts_by_slash_64() {
        let t = throttle(AuthConfig { max_tracked: 100, ..config() });
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        for i in 0..4u16 {
            let same_64 = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, i, i, i, 0x99));
            fail(&t, same_64, "alice");
        }
        assert!(locked(t.check(a, "alice")));
        assert_eq!(
            t.check("2001:db8:1:3::1".parse().unwrap(), "alice"),
            Verdict::Allow { delay: Duration::from_millis(700) }
        );
        assert_eq!(address_group("::ffff:10.0.0.2".parse().unwrap()), OTHER);
    }

    #[tokio::test(start_paused = true)]
    async fn success_clears_the_account_but_not_the_address() {
        let t = throttle(AuthConfig { max_tracked: 100, ..config() });
        for _ in 0..3 {
            fail(&t, HOST, "alice");
        }
        t.begin(HOST, "alice").unwrap().succeeded();
        assert_eq!(t.check(OTHER, "alice"), ALLOW);
        assert_eq!(t.check(HOST, "alice"), ALLOW);
        for i in 0..3 {
            fail(&t, HOST, &format!("user{i}"));
        }
        assert!(locked(t.check(HOST, "carol")), "3 + 3 failures from the address");
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_forgotten_after_the_window() {
        let t = throttle(AuthConfig { max_tracked: 100, ..config() });
        for _ in 0..3 {
            fail(&t, HOST, "alice");
        }
        tokio::time::advance(Duration::from_secs(601)).await;
        assert_eq!(t.check(HOST, "alice"), ALLOW);
        assert!(t.table.lock().values().all(|e| e.failures == 0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_stays_bounded() {
        let t = throttle(config());
        for i in 0..100 {
            fail(&t, HOST, &format!("user{i}"));
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        assert!(t.table.lock().len() <= 3);
        let t = throttle(AuthConfig { max_tracked: 64, addr_lock_after: 10_000, ..config() });
        let held: Vec<Attempt> = (0..100).map(|i| t.begin(HOST, &format!("user{i}")).unwrap()).collect();
        assert!(t.table.lock().len() <= 64);
        drop(held);
        assert!(t.table.lock().values().all(|e| e.pending == 0), "giving back an evicted slot is harmless");
    }
}

//! Per-connection limits: the token bucket that implements flood control, and the named
//! settings that bound what one peer can make the server hold.

use std::time::Duration;

use sockhub_i18n::Lang;
use tokio::time::Instant;

use crate::config::LimitsConfig;

/// A classic token bucket: `rate` tokens per second accrue up to `burst`; each message costs one.
/// A rate of zero disables flood control.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket { rate: rate_per_sec, burst, tokens: burst, last: Instant::now() }
    }

    /// Take one token if there is one.
    pub fn try_take(&mut self) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The limits one connection runs under, resolved from [`LimitsConfig`].
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_line: usize,
    pub outbound_queue: usize,
    pub rate_per_sec: f64,
    pub burst: u32,
    pub idle_timeout: Option<Duration>,
    pub write_timeout: Duration,
    pub linger: Duration,
    pub outbound_bytes: usize,
    /// How long a connection may stay without logging in.
    pub login_timeout: Option<Duration>,
    /// TCP keepalive idle time before the first probe.
    pub keepalive: Option<Duration>,
    /// The language of what the connection's person reads (`server.language`).
    pub lang: Lang,
    /// The quiet gap that ends a message of a TCP client without line ends, and after which a
    /// silent new connection is greeted; `None`: every TCP client is line-framed and greeted at
    /// once.
    pub unframed_gap: Option<Duration>,
    /// How long a TCP socket must have been quiet for a frame to be written to it by its sender
    /// directly, without waking the connection's writer; `None`: never.
    pub direct_write_quiet: Option<Duration>,
}

impl Limits {
    /// The limits of `[limits]`, in the language of `[server] language`.
    pub fn of(config: &crate::config::Config) -> Limits {
        Limits { lang: config.server.language, ..Limits::from(&config.limits) }
    }
}

impl From<&LimitsConfig> for Limits {
    fn from(c: &LimitsConfig) -> Self {
        Limits {
            max_line: c.max_line_bytes,
            outbound_queue: c.outbound_queue,
            rate_per_sec: c.rate_per_sec,
            burst: c.burst,
            idle_timeout: (c.idle_timeout_secs > 0).then(|| Duration::from_secs(c.idle_timeout_secs)),
            write_timeout: Duration::from_secs(c.write_timeout_secs.max(1)),
            linger: Duration::from_millis(c.linger_ms),
            outbound_bytes: c.outbound_bytes,
            login_timeout: (c.login_timeout_secs > 0).then(|| Duration::from_secs(c.login_timeout_secs)),
            keepalive: (c.keepalive_secs > 0).then(|| Duration::from_secs(c.keepalive_secs)),
            lang: Lang::En,
            unframed_gap: (c.unframed_gap_ms > 0).then(|| Duration::from_millis(c.unframed_gap_ms)),
            direct_write_quiet: (c.direct_write_quiet_us > 0)
                .then(|| Duration::from_micros(c.direct_write_quiet_us)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn allows_a_burst_then_the_rate() {
        let mut b = TokenBucket::new(2.0, 3);
        assert!((0..3).all(|_| b.try_take()));
        assert!(!b.try_take());
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(b.try_take());
        assert!(!b.try_take());
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!((0..10).filter(|_| b.try_take()).count(), 3);
    }

    #[test]
    fn zero_rate_means_unlimited() {
        let mut b = TokenBucket::new(0.0, 1);
        assert!((0..1000).all(|_| b.try_take()));
    }
}

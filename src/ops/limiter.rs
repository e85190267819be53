//! A token bucket on tokio's clock, so that paused-time tests drive it.
//!
//! governor's own `until_ready` sleeps on the real clock; this wrapper
//! checks the bucket and sleeps with `tokio::time::sleep` instead, and adds
//! a "not before" instant that server hints (Retry-After) push forward.

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// governor clock reading tokio's (pausable) time as time since a base.
#[derive(Clone, Debug)]
struct TokioClock {
    base: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.base)
    }
}

/// Calls-per-second limiter shared by every task of one profile.
pub struct Limiter {
    bucket: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>,
    clock: TokioClock,
    not_before: Mutex<Option<Instant>>,
    period: Duration,
}

impl Limiter {
    /// `per_sec` calls per second with a small burst (a tenth of a second's worth).
    pub fn per_second(per_sec: f64) -> Self {
        let per_sec = per_sec.max(0.001);
        let period = Duration::from_secs_f64(1.0 / per_sec);
        let burst = ((per_sec / 10.0).ceil() as u32).max(1);
        Self::build(period, burst)
    }

    /// At most one call per `period`, no burst (Symphony jumbo-room pacing).
    pub fn one_per(period: Duration) -> Self {
        Self::build(period, 1)
    }

    fn build(period: Duration, burst: u32) -> Self {
        let clock = TokioClock {
            base: Instant::now(),
        };
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("period is positive")
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Self {
            bucket: RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
            not_before: Mutex::new(None),
            period,
        }
    }

    /// The steady-state interval between calls.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Waits until a call may be sent.
    pub async fn acquire(&self) {
        loop {
            let hold = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = hold
                && t > Instant::now()
            {
                tokio::time::sleep_until(t).await;
                continue;
            }
            match self.bucket.check() {
                Ok(()) => return,
                Err(not_until) => {
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
                }
            }
        }
    }

    /// Holds every caller back until `delay` from now (a server's hint).
    pub fn hold_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut nb = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if nb.is_none_or(|t| t < until) {
            *nb = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paces_calls_in_virtual_time() {
        let limiter = Limiter::per_second(5.0);
        let start = Instant::now();
        for _ in 0..21 {
            limiter.acquire().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(3900) && took <= Duration::from_millis(4100),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn hold_pushes_every_caller_back() {
        let limiter = Limiter::per_second(1000.0);
        limiter.hold_for(Duration::from_secs(2));
        let start = Instant::now();
        limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}

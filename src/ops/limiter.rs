//! A token bucket on tokio's clock, so that paused-time tests drive it.
//!
//! governor's own `until_ready` sleeps on the real clock; this wrapper
//! checks the bucket and sleeps with `tokio::time::sleep` instead, and adds
//! a "not before" instant that server hints (Retry-After) push forward.

use crate::provider::Quota;
use governor::RateLimiter;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
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
    /// Cells each call takes: `n` when `n` processes share one quota
    /// (queue workers of one profile), so each gets `1/n` of it.
    share: AtomicU32,
}

impl Limiter {
    /// `per_sec` calls per second (see [`Limiter::quota`]).
    pub fn per_second(per_sec: f64) -> Self {
        Self::quota(Quota::per_second(per_sec))
    }

    /// At most `quota.calls` calls in any window of `quota.per`: a burst of
    /// a tenth of the quota, then the rest spread evenly over the period,
    /// so that a burst plus the steady rate never exceeds the quota.
    pub fn quota(quota: Quota) -> Self {
        // After a burst of b at once the bucket lets one call through per
        // period T, so a window of length P holds at most b + P/T - 1 calls:
        // T = P / (N - b + 1) keeps that at N.
        let calls = quota.calls.max(1);
        let per = quota.per.max(Duration::from_micros(1));
        let burst = (calls / 10).max(1);
        let period = per / (calls - burst + 1);
        Self::build(period, burst)
    }

    fn build(period: Duration, burst: u32) -> Self {
        let clock = TokioClock {
            base: Instant::now(),
        };
        let quota = governor::Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("period is positive")
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Self {
            bucket: RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
            not_before: Mutex::new(None),
            period,
            share: AtomicU32::new(1),
        }
    }

    /// The steady-state interval between calls.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Takes `1/n` of the quota from now on (`n` processes share it).
    pub fn set_share(&self, n: u32) {
        self.share.store(n.max(1), Ordering::Relaxed);
    }

    /// How many processes this limiter's quota is shared by.
    pub fn share(&self) -> u32 {
        self.share.load(Ordering::Relaxed)
    }

    /// Waits until a call may be sent.
    pub async fn acquire(&self) {
        for _ in 0..self.share() {
            self.acquire_cell().await;
        }
    }

    async fn acquire_cell(&self) {
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
        // A delay too long to represent holds for a year (the run's cap
        // fails such rows long before).
        let until = Instant::now()
            .checked_add(delay)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 86_400));
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
    async fn a_quota_is_never_exceeded_in_any_window() {
        // Amity: 100 calls per 5 s. Record every call's time and check
        // every 5 s window over 350 calls.
        let limiter = Limiter::quota(Quota::new(100, Duration::from_secs(5)));
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..350 {
            limiter.acquire().await;
            at.push(start.elapsed());
        }
        for (i, t) in at.iter().enumerate() {
            let in_window = at[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(5))
                .count();
            assert!(in_window <= 100, "{in_window} calls within 5 s from {t:?}");
        }
        // ...and it runs close to the quota: 350 calls in about 17.5 s.
        let took = start.elapsed();
        assert!(took <= Duration::from_secs(20), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn shares_of_one_quota_stay_within_it_together() {
        // Three workers of 100 calls per second, each taking a third.
        let limiters: Vec<Limiter> = (0..3).map(|_| Limiter::per_second(100.0)).collect();
        for l in &limiters {
            l.set_share(3);
        }
        let start = Instant::now();
        let at = std::sync::Mutex::new(Vec::new());
        futures::future::join_all(limiters.iter().map(|l| async {
            for _ in 0..100 {
                l.acquire().await;
                at.lock().unwrap().push(start.elapsed());
            }
        }))
        .await;
        let mut at = at.into_inner().unwrap();
        at.sort();
        for (i, t) in at.iter().enumerate() {
            let in_window = at[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 100, "{in_window} calls within 1 s from {t:?}");
        }
        assert!(
            start.elapsed() <= Duration::from_secs(4),
            "{:?}",
            start.elapsed()
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

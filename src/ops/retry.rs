//! When to retry one call, and how long to wait first: the provider's hint,
//! the cap on what it may ask for, the time budget, and a few tries only for
//! a provider that does not answer at all.

use super::RetryPolicy;
use crate::provider::{ErrorKind, ProviderError};
use std::time::Duration;
use tokio::time::Instant;

/// Attempts at most while the provider does not answer (timeouts, refused
/// or dropped connections): an unreachable provider is reported quickly.
const UNANSWERED_TRIES: u32 = 6;

/// The retry state of one call.
pub(super) struct RetryClock {
    deadline: Instant,
    max_wait: Duration,
    unanswered: u32,
    /// The provider asked for a wait past the cap.
    pub over_cap: Option<Duration>,
}

impl RetryClock {
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            deadline: Instant::now()
                .checked_add(policy.budget)
                .unwrap_or_else(Instant::now),
            max_wait: policy.max_wait,
            unanswered: 0,
            over_cap: None,
        }
    }

    /// Why retrying stopped after a retryable error, for the row's reason.
    pub fn gave_up(&self, budget: Duration) -> String {
        if self.unanswered >= UNANSWERED_TRIES {
            format!("no answer after {UNANSWERED_TRIES} attempts")
        } else {
            format!(
                "gave up retrying after {}",
                super::plan::human_duration(budget)
            )
        }
    }

    /// The wait before the next attempt after `e` (full jitter below the
    /// backoff's `ceiling`, never sooner than the provider asked), or
    /// `None` to give up: the backoff gave up, the provider asked for more
    /// than the cap, the wait would end past the budget, or the provider
    /// has not answered for [`UNANSWERED_TRIES`] attempts.
    pub fn next(&mut self, e: &ProviderError, ceiling: Option<Duration>) -> Option<Duration> {
        let hint = e.retry_after();
        if let Some(h) = hint.filter(|h| *h > self.max_wait) {
            self.over_cap = Some(h);
            return None;
        }
        if matches!(e.kind, ErrorKind::Timeout | ErrorKind::Connection) {
            self.unanswered += 1;
            if self.unanswered >= UNANSWERED_TRIES {
                return None;
            }
        }
        let wait = ceiling?
            .mul_f64(fastrand::f64())
            .max(hint.unwrap_or_default());
        match Instant::now().checked_add(wait) {
            Some(t) if t <= self.deadline => Some(wait),
            _ => None,
        }
    }
}

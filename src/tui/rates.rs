//! What the progress and results screens chart, kept by `update` so a
//! frame never walks the run: calls and retries per second in a bounded
//! ring of one-second buckets, and how many rows ended in each status.

use crate::model::Status;
use crate::ops::Progress;
use std::collections::VecDeque;

/// Seconds of history the progress sparklines keep (wider than any
/// screen; older buckets drop off the front).
pub const RATE_BUCKETS: usize = 512;

/// Calls and retries per second over a run: one bucket per tick (the
/// console's one-second tick), the newest last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rates {
    pub calls: VecDeque<u64>,
    pub retries: VecDeque<u64>,
    /// The run's totals when last counted.
    seen_calls: u64,
    seen_retries: u64,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            calls: VecDeque::from([0]),
            retries: VecDeque::from([0]),
            seen_calls: 0,
            seen_retries: 0,
        }
    }
}

impl Rates {
    /// Adds what a progress event says happened since the last one to the
    /// current second.
    pub fn count(&mut self, p: &Progress) {
        let calls = p.calls.saturating_sub(self.seen_calls);
        let retries = p.retries.saturating_sub(self.seen_retries);
        self.seen_calls = self.seen_calls.max(p.calls);
        self.seen_retries = self.seen_retries.max(p.retries);
        for (ring, n) in [(&mut self.calls, calls), (&mut self.retries, retries)] {
            if let Some(last) = ring.back_mut() {
                *last = last.saturating_add(n);
            }
        }
    }

    /// A second went by: a new bucket starts.
    pub fn tick(&mut self) {
        for ring in [&mut self.calls, &mut self.retries] {
            ring.push_back(0);
            while ring.len() > RATE_BUCKETS {
                ring.pop_front();
            }
        }
    }

    /// The newest `n` buckets of a ring, oldest first.
    pub fn last(ring: &VecDeque<u64>, n: usize) -> impl Iterator<Item = u64> + '_ {
        ring.iter().skip(ring.len().saturating_sub(n)).copied()
    }
}

/// The results' statuses in the order the outcome bar shows them, with
/// `None` (pending) last.
pub const OUTCOMES: [Option<Status>; 8] = [
    Some(Status::Removed),
    Some(Status::Demoted),
    Some(Status::Readded),
    Some(Status::AlreadyAbsent),
    Some(Status::DryRun),
    Some(Status::Skipped),
    Some(Status::Failed),
    None,
];

/// How many result rows are in each status (pending included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally(pub [usize; OUTCOMES.len()]);

impl Tally {
    fn slot(status: Option<Status>) -> usize {
        OUTCOMES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(OUTCOMES.len() - 1)
    }

    pub fn add(&mut self, status: Option<Status>) {
        self.0[Self::slot(status)] += 1;
    }

    pub fn take(&mut self, status: Option<Status>) {
        let n = &mut self.0[Self::slot(status)];
        *n = n.saturating_sub(1);
    }

    pub fn get(&self, status: Option<Status>) -> usize {
        self.0[Self::slot(status)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(calls: u64, retries: u64) -> Progress {
        Progress {
            calls,
            retries,
            ..Progress::default()
        }
    }

    #[test]
    fn progress_events_fill_the_current_second_and_ticks_start_the_next() {
        let mut r = Rates::default();
        r.count(&progress(3, 0));
        r.count(&progress(5, 1));
        r.tick();
        r.count(&progress(9, 1));
        r.tick();
        assert_eq!(r.calls, [5, 4, 0]);
        assert_eq!(r.retries, [1, 0, 0]);
        // A stale event (lower totals) adds nothing.
        r.count(&progress(2, 0));
        assert_eq!(r.calls.back(), Some(&0));
        assert_eq!(Rates::last(&r.calls, 2).collect::<Vec<_>>(), [4, 0]);
    }

    #[test]
    fn the_ring_is_bounded_however_long_the_run() {
        let mut r = Rates::default();
        for i in 0..(RATE_BUCKETS as u64 * 3) {
            r.count(&progress(i * 2, i));
            r.tick();
        }
        assert_eq!(r.calls.len(), RATE_BUCKETS);
        assert_eq!(r.retries.len(), RATE_BUCKETS);
    }
}

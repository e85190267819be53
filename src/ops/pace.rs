//! Big-room pacing (Symphony: one membership change per 3 s in rooms over
//! 500 members). Changes in a paced room go one at a time, and each is sent
//! no sooner than the interval after the previous one *completed*, so the
//! provider sees the whole interval between changes whatever the latency
//! (counting from the previous send would leave it the interval minus the
//! time the previous change took).

use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard};
use tokio::time::Instant;

/// The pace of one room.
pub struct Pace {
    interval: Duration,
    last_done: Mutex<Option<Instant>>,
}

/// A room's turn: held while one change is in flight, so the next waits.
pub struct Turn<'a> {
    last_done: MutexGuard<'a, Option<Instant>>,
}

impl Pace {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_done: Mutex::new(None),
        }
    }

    /// Waits for the room's turn: until no other change of the room is in
    /// flight and the interval has passed since the last one completed.
    pub async fn turn(&self) -> Turn<'_> {
        let guard = self.last_done.lock().await;
        if let Some(done) = *guard {
            tokio::time::sleep_until(done + self.interval).await;
        }
        Turn { last_done: guard }
    }
}

impl Turn<'_> {
    /// The change was answered (whatever the answer): the next one waits
    /// the interval from now. A turn dropped without this (cancelled before
    /// anything was sent) leaves the clock as it was.
    pub fn done(mut self) {
        *self.last_done = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Three changes that each take 700 ms, sent from three tasks at once:
    /// they go one at a time, and each starts at least 3 s after the
    /// previous one completed (virtual time).
    #[tokio::test(start_paused = true)]
    async fn the_interval_runs_from_the_previous_completion() {
        let pace = Arc::new(Pace::new(Duration::from_secs(3)));
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (pace, log) = (pace.clone(), log.clone());
                tokio::spawn(async move {
                    let turn = pace.turn().await;
                    let sent = Instant::now();
                    tokio::time::sleep(Duration::from_millis(700)).await;
                    let done = Instant::now();
                    turn.done();
                    log.lock().unwrap().push((sent, done));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let mut log = log.lock().unwrap().clone();
        log.sort();
        assert_eq!(log.len(), 3);
        for w in log.windows(2) {
            let (_, prev_done) = w[0];
            let (next_sent, _) = w[1];
            assert!(
                next_sent >= prev_done + Duration::from_secs(3),
                "{:?} after completion",
                next_sent - prev_done
            );
        }
    }

    /// A turn given up before sending does not push the next one back.
    #[tokio::test(start_paused = true)]
    async fn a_dropped_turn_leaves_the_clock() {
        let pace = Pace::new(Duration::from_secs(3));
        drop(pace.turn().await);
        let start = Instant::now();
        pace.turn().await.done();
        assert_eq!(Instant::now(), start, "the first change waits for nothing");
    }
}

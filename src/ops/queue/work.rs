//! A queue worker: registers with a heartbeat, claims rows in chunks,
//! runs them through the same plan, guards and run as `apply`, and
//! records each row's result.
//!
//! - Leases: a claimed row is the worker's until `lease_until`, which every
//!   heartbeat (each third of the lease, at most 2 s apart) pushes forward. A worker killed
//!   mid-chunk stops beating; its rows are claimed again after the lease.
//! - Taking over: the row remembers the batch its last worker ran it
//!   under. If that batch recorded a result, the result stands; if it
//!   recorded only the intent (the call may have gone out), the provider
//!   is asked first (`Engine::member`) and the row is sent again only if
//!   it is not done. The old intent is then closed with a result record.
//! - Rate: workers of one profile share its rate limit; each takes `1/n`,
//!   `n` being the live workers (recent heartbeats). A new worker that is
//!   not alone waits one and a half heartbeat periods before its first
//!   claim, so the others have slowed down by then.

use super::StoreError;
use super::chunk::run_chunk;
use super::claims::{claim, pending};
use crate::model::Outcome;
use crate::ops::audit::new_batch_id;
use crate::ops::store::pg::PgStore;
use crate::ops::{Cancel, Engine, RunOptions};
use crate::provider::ProviderError;
use std::fmt;
use std::time::Duration;

/// How a worker works.
#[derive(Clone, Debug)]
pub struct WorkOptions {
    /// Rows per claim.
    pub chunk: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// Keep waiting for rows when the queue is empty.
    pub follow: bool,
    /// How often an empty queue is looked at again with `follow`.
    pub poll: Duration,
    /// The worker's name (default: host, process id and a random suffix).
    pub worker: Option<String>,
    pub run: RunOptions,
}

impl Default for WorkOptions {
    fn default() -> Self {
        Self {
            chunk: 600,
            lease: super::DEFAULT_LEASE,
            follow: false,
            poll: Duration::from_secs(2),
            worker: None,
            run: RunOptions::default(),
        }
    }
}

/// What a worker did.
#[derive(Clone, Debug, Default)]
pub struct WorkReport {
    pub worker: String,
    /// Every row this worker finished, in the order finished.
    pub outcomes: Vec<Outcome>,
}

/// Why a worker stopped before the queue was drained.
#[derive(Debug)]
pub enum WorkError {
    Store(StoreError),
    /// The provider cannot be used (auth refused, unreachable).
    Provider(ProviderError),
}

impl fmt::Display for WorkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkError::Store(e) => e.fmt(f),
            WorkError::Provider(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for WorkError {
    fn from(e: StoreError) -> Self {
        WorkError::Store(e)
    }
}

/// Drains the queue of `engine`'s profile (or follows it), calling
/// `finished` with each chunk's outcomes.
pub async fn work(
    engine: &Engine,
    pg: &PgStore,
    opts: &WorkOptions,
    cancel: &Cancel,
    finished: &mut dyn FnMut(&[Outcome]),
) -> Result<WorkReport, WorkError> {
    let id = opts.worker.clone().unwrap_or_else(|| {
        format!(
            "{}-{}-{:04x}",
            pg.origin().host,
            std::process::id(),
            fastrand::u16(..)
        )
    });
    let profile = engine.profile().to_string();
    register(pg, &id, &profile).await?;
    let live = beat(pg, &id, &profile, opts.lease).await?;
    engine.set_rate_share(live);
    let every = heartbeat_period(opts.lease);
    let beating = async {
        loop {
            tokio::time::sleep(every).await;
            match beat(pg, &id, &profile, opts.lease).await {
                Ok(n) => engine.set_rate_share(n),
                Err(e) => tracing::warn!("queue heartbeat: {e}"),
            }
        }
    };
    let draining = async {
        // Let the other workers see this one and take their smaller share
        // first (their next heartbeat); a worker alone starts at once.
        if live > 1 {
            tokio::select! {
                _ = tokio::time::sleep(every + every / 2) => {}
                _ = cancel.cancelled() => {}
            }
        }
        let mut report = WorkReport {
            worker: id.clone(),
            outcomes: Vec::new(),
        };
        let mut chunk_no = 0u64;
        while !cancel.is_cancelled() {
            chunk_no += 1;
            let batch = format!("{}-{chunk_no}", new_batch_id());
            let claimed = claim(pg, &id, &profile, opts, &batch).await?;
            if claimed.is_empty() {
                // Rows held back, or left by a dead worker: wait for them.
                let waiting = pending(pg, &profile, every * 3).await?;
                if !opts.follow && !waiting {
                    break;
                }
                let pause = if waiting {
                    every.min(opts.poll)
                } else {
                    opts.poll
                };
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = cancel.cancelled() => {}
                }
                continue;
            }
            let outcomes = run_chunk(engine, pg, &id, &claimed, &batch, opts, cancel).await?;
            finished(&outcomes);
            report.outcomes.extend(outcomes);
        }
        Ok::<_, WorkError>(report)
    };
    let result = tokio::select! {
        r = draining => r,
        never = beating => match never {},
    };
    let _ = stop(pg, &id).await;
    result
}

/// How often a worker beats: a third of the lease, at most every 2 s (so
/// that the others learn of a new worker soon).
fn heartbeat_period(lease: Duration) -> Duration {
    (lease / 3).clamp(Duration::from_millis(100), Duration::from_secs(2))
}

async fn register(pg: &PgStore, id: &str, profile: &str) -> Result<(), StoreError> {
    let o = pg.origin();
    let pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
    pg.client()
        .await?
        .execute(
            "INSERT INTO queue_workers (id, profile, operator, host, pid)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET profile = $2, operator = $3, host = $4, pid = $5,
                 started_at = now(), heartbeat_at = now(), stopped_at = NULL",
            &[&id, &profile, &o.operator, &o.host, &pid],
        )
        .await
        .map_err(|e| pg.error(e))?;
    Ok(())
}

/// Says this worker is alive, renews its leases, and counts the live
/// workers of its profile (itself included).
async fn beat(pg: &PgStore, id: &str, profile: &str, lease: Duration) -> Result<u32, StoreError> {
    let secs = lease.as_secs_f64();
    let client = pg.client().await?;
    client
        .execute(
            "UPDATE queue_workers SET heartbeat_at = now() WHERE id = $1",
            &[&id],
        )
        .await
        .map_err(|e| pg.error(e))?;
    client
        .execute(
            "UPDATE queue_rows SET lease_until = now() + $2 * interval '1 second'
             WHERE worker = $1 AND state = 'claimed'",
            &[&id, &secs],
        )
        .await
        .map_err(|e| pg.error(e))?;
    let live: i64 = client
        .query_one(
            "SELECT count(*) FROM queue_workers
             WHERE profile = $1 AND stopped_at IS NULL
               AND heartbeat_at > now() - $2 * interval '1 second'",
            &[&profile, &secs],
        )
        .await
        .map_err(|e| pg.error(e))?
        .get(0);
    Ok(u32::try_from(live.max(1)).unwrap_or(u32::MAX))
}

async fn stop(pg: &PgStore, id: &str) -> Result<(), StoreError> {
    pg.client()
        .await?
        .execute(
            "UPDATE queue_workers SET stopped_at = now() WHERE id = $1",
            &[&id],
        )
        .await
        .map_err(|e| pg.error(e))?;
    Ok(())
}

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

use super::{StoreError, action, reason, word};
use crate::model::{Action, Member, Outcome, Role, RoomId, Status, UserId};
use crate::ops::audit::{Kind, Record, new_batch_id, now_rfc3339};
use crate::ops::plan::Request;
use crate::ops::store::pg::PgStore;
use crate::ops::{Cancel, Engine, NOT_SENT_UNAUDITED, RunOptions};
use crate::provider::ProviderError;
use std::collections::HashMap;
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

/// A claimed row.
struct Claimed {
    id: i64,
    request: Request,
    /// The batches of earlier claims, oldest first (empty unless the row
    /// was taken over), and the worker of the last one.
    history: Vec<String>,
    old_worker: String,
}

/// What an earlier batch recorded about a row.
#[derive(Default)]
struct Past {
    intent: Option<Option<Role>>,
    result: Option<(Status, Option<String>)>,
}

type Key = (RoomId, UserId, Action);

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
                if !opts.follow {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(opts.poll) => {}
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

/// Claims up to `opts.chunk` open rows (queued, or claimed under a lease
/// that ran out), skipping rows other workers are claiming right now.
async fn claim(
    pg: &PgStore,
    id: &str,
    profile: &str,
    opts: &WorkOptions,
    batch: &str,
) -> Result<Vec<Claimed>, StoreError> {
    let limit = i64::try_from(opts.chunk.max(1)).unwrap_or(i64::MAX);
    let secs = opts.lease.as_secs_f64();
    let rows = pg
        .client()
        .await?
        .query(
            "WITH picked AS (
                 SELECT id, batch AS old_batch, worker AS old_worker FROM queue_rows
                 WHERE profile = $1
                   AND (state = 'queued' OR (state = 'claimed' AND lease_until < now()))
                 ORDER BY id
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED)
             UPDATE queue_rows q
             SET state = 'claimed', worker = $3, batch = $4, claims = q.claims + 1,
                 past_batches = CASE WHEN picked.old_batch IS NULL THEN q.past_batches
                                     ELSE q.past_batches || picked.old_batch END,
                 lease_until = now() + $5 * interval '1 second'
             FROM picked WHERE q.id = picked.id
             RETURNING q.id, q.room, q.user_id, q.action, q.reason, q.ticket,
                       q.past_batches, picked.old_worker",
            &[&profile, &limit, &id, &batch, &secs],
        )
        .await
        .map_err(|e| pg.error(e))?;
    let mut claimed = rows
        .iter()
        .map(|r| {
            let act: String = r.get(3);
            let history: Vec<String> = r.get(6);
            let old_worker: Option<String> = r.get(7);
            Ok(Claimed {
                id: r.get(0),
                request: Request {
                    note: r.get(4),
                    ticket: r.get(5),
                    ..Request::new(r.get::<_, String>(1), r.get::<_, String>(2), action(&act)?)
                },
                history,
                old_worker: old_worker.unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// What the earlier batches of taken-over rows recorded.
async fn past(
    pg: &PgStore,
    batches: Vec<String>,
) -> Result<HashMap<(String, Key), Past>, StoreError> {
    let mut past: HashMap<(String, Key), Past> = HashMap::new();
    if batches.is_empty() {
        return Ok(past);
    }
    let rows = pg
        .client()
        .await?
        .query(
            "SELECT batch, room, user_id, action, kind, status, reason, role_before
             FROM audit_records WHERE batch = ANY($1) ORDER BY id",
            &[&batches],
        )
        .await
        .map_err(|e| pg.error(e))?;
    for r in rows {
        let act: String = r.get(3);
        let key = (
            r.get::<_, String>(0),
            (
                RoomId::from(r.get::<_, String>(1)),
                UserId::from(r.get::<_, String>(2)),
                action(&act)?,
            ),
        );
        let kind: String = r.get(4);
        let status: Option<String> = r.get(5);
        let role: Option<String> = r.get(7);
        let entry = past.entry(key).or_default();
        if kind == "intent" {
            entry.intent = Some(role.as_deref().and_then(parse));
        } else if let Some(st) = status.as_deref().and_then(parse) {
            entry.result = Some((st, r.get(6)));
        }
    }
    Ok(past)
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// What the provider shows about a row whose earlier call may have gone
/// out: `Some` if it is done, `None` if it is still to do.
fn judge(action: Action, before: Option<Role>, now: Option<&Member>) -> Option<(Status, String)> {
    let seen = |what: &str| {
        format!(
            "{what}: found so when taking the row over from a stopped worker (asked the provider; nothing sent)"
        )
    };
    match (action, now) {
        (Action::Remove, None) => Some((Status::Removed, seen("not in the room"))),
        (Action::Remove, Some(_)) => None,
        (Action::Demote, None) => Some((Status::AlreadyAbsent, seen("not in the room"))),
        (Action::Demote, Some(m)) => match before {
            Some(b) if m.role > b => Some((Status::Demoted, seen(&format!("now {}", m.role)))),
            _ => None,
        },
        (Action::Readd, Some(m)) if before.is_none_or(|want| m.role <= want) => {
            Some((Status::Readded, seen(&format!("back as {}", m.role))))
        }
        (Action::Readd, _) => None,
    }
}

fn outcome(req: &Request, status: Status, why: String) -> Outcome {
    Outcome {
        reason: Some(why),
        ..Outcome::new(&req.room, &req.user, req.action, status)
    }
}

/// Runs one claimed chunk; records each row's result in the queue.
async fn run_chunk(
    engine: &Engine,
    pg: &PgStore,
    id: &str,
    claimed: &[Claimed],
    batch: &str,
    opts: &WorkOptions,
    cancel: &Cancel,
) -> Result<Vec<Outcome>, WorkError> {
    // The provider's one spelling, as plans and audit records use it.
    let requests: Vec<Request> = claimed
        .iter()
        .map(|c| {
            let mut r = c.request.clone();
            engine.canonical(&mut r);
            r
        })
        .collect();
    let key = |r: &Request| (r.room.clone(), r.user.clone(), r.action);
    let mut batches: Vec<String> = claimed
        .iter()
        .flat_map(|c| c.history.iter().cloned())
        .collect();
    batches.sort();
    batches.dedup();
    let past = past(pg, batches).await?;

    // Rows taken over: settle what the earlier batch did or may have done.
    let mut settled: Vec<Option<Outcome>> = vec![None; claimed.len()];
    let mut closing: Vec<Record> = Vec::new();
    for (i, (c, req)) in claimed.iter().zip(&requests).enumerate() {
        let old_worker = &c.old_worker;
        // What each earlier claim recorded: a result, or an intent left open.
        let mut result: Option<(&String, &(Status, Option<String>))> = None;
        let mut open: Vec<(&String, Option<Role>)> = Vec::new();
        for b in &c.history {
            let Some(p) = past.get(&(b.clone(), key(req))) else {
                continue;
            };
            match (&p.result, p.intent) {
                (Some(r), _) => result = Some((b, r)),
                (None, Some(role)) => open.push((b, role)),
                (None, None) => {}
            }
        }
        let close = |old_batch: &String, role: Option<Role>, status: Status, why: String| Record {
            ts: now_rfc3339(),
            kind: Kind::Result,
            operator: engine.operator().to_string(),
            profile: engine.profile().to_string(),
            provider: engine.provider_name().to_string(),
            room: req.room.clone(),
            user: req.user.clone(),
            action: req.action,
            status: Some(status),
            reason: Some(why),
            ticket: req.ticket.clone(),
            batch: old_batch.clone(),
            role,
        };
        if let Some((done_in, (status, why))) = result {
            let why = why.clone().unwrap_or_default();
            settled[i] = Some(outcome(
                req,
                *status,
                format!("{why} (recorded in batch {done_in})")
                    .trim_start()
                    .to_string(),
            ));
            for (b, role) in open {
                closing.push(close(
                    b,
                    role,
                    Status::Skipped,
                    format!("superseded: the row was finished in batch {done_in}"),
                ));
            }
            continue;
        }
        let Some(&(_, role_before)) = open.first() else {
            continue;
        };
        match engine.member(&req.room, &req.user).await {
            Err(e) if e.is_unavailable() => {
                release(pg, id, claimed).await?;
                return Err(WorkError::Provider(e));
            }
            Err(e) => {
                // The intents stay open: whether the call went out is unknown.
                let why = format!(
                    "could not check whether stopped worker {old_worker}'s call went through ({e}); nothing sent: push the row again after checking"
                );
                settled[i] = Some(outcome(req, Status::Failed, why));
            }
            Ok(now) => match judge(req.action, role_before, now.as_ref()) {
                Some((status, why)) => {
                    // Which call did it cannot be known: the latest intent
                    // gets the result, earlier ones are superseded by it.
                    let (last, earlier) = open.split_last().unwrap_or((&open[0], &[]));
                    for (b, role) in earlier {
                        closing.push(close(
                            b,
                            *role,
                            Status::Skipped,
                            format!("superseded by the later claim in batch {}", last.0),
                        ));
                    }
                    closing.push(close(last.0, last.1, status, why.clone()));
                    settled[i] = Some(outcome(req, status, why));
                }
                None => {
                    for (b, role) in &open {
                        closing.push(close(
                            b,
                            *role,
                            Status::Skipped,
                            format!("not done by stopped worker {old_worker}; taken over and sent again in batch {batch}"),
                        ));
                    }
                }
            },
        }
    }
    if !closing.is_empty()
        && let Some(store) = engine.audit_store()
    {
        store.append(&closing, true).await?;
    }

    // The rest goes through plan and run like `apply`.
    let to_run: Vec<Request> = requests
        .iter()
        .zip(&settled)
        .filter(|(_, s)| s.is_none())
        .map(|(r, _)| r.clone())
        .collect();
    let mut ran: HashMap<Key, Outcome> = HashMap::new();
    if !to_run.is_empty() {
        let plan = match engine.plan(to_run).await {
            Ok(plan) => plan,
            Err(e) => {
                release(pg, id, claimed).await?;
                return Err(WorkError::Provider(e));
            }
        };
        let run_opts = RunOptions {
            batch: Some(batch.to_string()),
            ..opts.run.clone()
        };
        let report = engine.run(&plan, &run_opts, cancel, None).await;
        for o in report.outcomes {
            ran.insert((o.room.clone(), o.user.clone(), o.action), o);
        }
    }
    let mut done: Vec<(i64, Outcome)> = Vec::new();
    let mut again: Vec<i64> = Vec::new();
    for ((c, req), s) in claimed.iter().zip(&requests).zip(settled) {
        let o = match s {
            Some(o) => o,
            None => match ran.get(&key(req)) {
                Some(o) => o.clone(),
                None => outcome(req, Status::Failed, "no outcome recorded".into()),
            },
        };
        let unsent = o.status == Status::Failed
            && o.reason
                .as_deref()
                .is_some_and(|r| r.starts_with(NOT_SENT_UNAUDITED));
        let cancelled = o.status == Status::Skipped && o.reason.as_deref() == Some("cancelled");
        if unsent || cancelled {
            again.push(c.id);
        } else {
            done.push((c.id, o));
        }
    }
    complete(pg, id, &done).await?;
    if !again.is_empty() {
        requeue(pg, id, &again).await?;
    }
    Ok(done.into_iter().map(|(_, o)| o).collect())
}

/// Records the rows' results; rows another worker took over meanwhile
/// (this worker's lease ran out) are left to it.
async fn complete(pg: &PgStore, id: &str, done: &[(i64, Outcome)]) -> Result<(), StoreError> {
    if done.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = done.iter().map(|(i, _)| *i).collect();
    let statuses: Vec<&str> = done.iter().map(|(_, o)| word(o.status)).collect();
    let reasons: Vec<Option<String>> = done.iter().map(|(_, o)| reason(o)).collect();
    let n = pg
        .client()
        .await?
        .execute(
            "UPDATE queue_rows q SET state = 'done', status = t.status, result_reason = t.reason,
                 done_at = now(), lease_until = NULL
             FROM UNNEST($1::bigint[], $2::text[], $3::text[]) AS t(id, status, reason)
             WHERE q.id = t.id AND q.worker = $4 AND q.state = 'claimed'",
            &[&ids, &statuses, &reasons, &id],
        )
        .await
        .map_err(|e| pg.error(e))?;
    if n < done.len() as u64 {
        tracing::warn!(
            "{} row(s) were taken over by another worker before their results were recorded here (lease ran out)",
            done.len() as u64 - n
        );
    }
    Ok(())
}

/// Puts rows back in the queue (nothing was sent for them).
async fn requeue(pg: &PgStore, id: &str, ids: &[i64]) -> Result<(), StoreError> {
    pg.client()
        .await?
        .execute(
            "UPDATE queue_rows SET state = 'queued', lease_until = NULL
             WHERE id = ANY($1) AND worker = $2 AND state = 'claimed'",
            &[&ids, &id],
        )
        .await
        .map_err(|e| pg.error(e))?;
    Ok(())
}

async fn release(pg: &PgStore, id: &str, claimed: &[Claimed]) -> Result<(), StoreError> {
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    requeue(pg, id, &ids).await
}

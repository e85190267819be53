//! Claiming rows and recording their ends: the SQL of the queue's rows.

use super::work::WorkOptions;
use super::{StoreError, action, reason, word};
use crate::model::Outcome;
use crate::ops::plan::Request;
use crate::ops::store::pg::PgStore;

/// A claimed row.
pub(super) struct Claimed {
    pub id: i64,
    pub request: Request,
    /// The batches of earlier claims, oldest first (empty unless the row
    /// was taken over), and the worker of the last one.
    pub history: Vec<String>,
    pub old_worker: String,
}

/// Claims up to `opts.chunk` open rows (queued, or claimed under a lease
/// that ran out), skipping rows other workers are claiming right now, and
/// rows whose user has an earlier row in the same room still open
/// elsewhere: changes to one user keep the order of the ticket (a demote
/// then a removal), as in `apply`.
pub(super) async fn claim(
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
                 SELECT id, room, user_id, batch AS old_batch, worker AS old_worker
                 FROM queue_rows
                 WHERE profile = $1
                   AND (state = 'queued' OR (state = 'claimed' AND lease_until < now()))
                 ORDER BY id
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED),
             ready AS (
                 SELECT p.* FROM picked p
                 WHERE NOT EXISTS (
                     SELECT 1 FROM queue_rows e
                     WHERE e.profile = $1 AND e.room = p.room AND e.user_id = p.user_id
                       AND e.id < p.id AND e.state <> 'done'
                       AND e.id NOT IN (SELECT id FROM picked)))
             UPDATE queue_rows q
             SET state = 'claimed', worker = $3, batch = $4, claims = q.claims + 1,
                 past_batches = CASE WHEN ready.old_batch IS NULL THEN q.past_batches
                                     ELSE q.past_batches || ready.old_batch END,
                 lease_until = now() + $5 * interval '1 second'
             FROM ready WHERE q.id = ready.id
             RETURNING q.id, q.room, q.user_id, q.action, q.reason, q.ticket,
                       q.past_batches, ready.old_worker",
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
                    note: r.get::<_, Option<String>>(4).map(Into::into),
                    ticket: r.get::<_, Option<String>>(5).map(Into::into),
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

/// Whether rows are left for this worker to wait for when it could claim
/// none: queued rows held back behind an earlier row of the same user,
/// rows whose lease ran out, and rows of a worker whose heartbeat stopped
/// (claimable once their lease runs out). Rows of live workers are theirs.
pub(super) async fn pending(
    pg: &PgStore,
    profile: &str,
    stale: std::time::Duration,
) -> Result<bool, StoreError> {
    let secs = stale.as_secs_f64();
    let n: i64 = pg
        .client()
        .await?
        .query_one(
            "SELECT count(*) FROM queue_rows q
             LEFT JOIN queue_workers w ON w.id = q.worker
             WHERE q.profile = $1
               AND (q.state = 'queued'
                    OR (q.state = 'claimed'
                        AND (q.lease_until < now()
                             OR w.id IS NULL OR w.stopped_at IS NOT NULL
                             OR w.heartbeat_at < now() - $2 * interval '1 second')))",
            &[&profile, &secs],
        )
        .await
        .map_err(|e| pg.error(e))?
        .get(0);
    Ok(n > 0)
}

/// Records the rows' results; rows another worker took over meanwhile
/// (this worker's lease ran out) are left to it.
pub(super) async fn complete(
    pg: &PgStore,
    id: &str,
    done: &[(i64, Outcome)],
) -> Result<(), StoreError> {
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
pub(super) async fn requeue(pg: &PgStore, id: &str, ids: &[i64]) -> Result<(), StoreError> {
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

pub(super) async fn release(pg: &PgStore, id: &str, claimed: &[Claimed]) -> Result<(), StoreError> {
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    requeue(pg, id, &ids).await
}

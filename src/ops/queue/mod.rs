//! The shared ticket queue of team mode, in the same PostgreSQL database
//! as the audit records: `queue push` enqueues a ticket file's rows,
//! workers claim them in chunks (`FOR UPDATE SKIP LOCKED`) under a lease
//! their heartbeats renew, and record each row's result. A row whose
//! worker died is claimed again once its lease has run out ([`work`]).

mod chunk;
mod claims;
mod work;

use super::plan::Request;
use super::store::StoreError;
use super::store::pg::PgStore;
use crate::model::{Action, Outcome, Status};
use serde::Serialize;
use std::time::Duration;

pub use work::{WorkError, WorkOptions, WorkReport, work};

/// How long a claimed row stays its worker's without a heartbeat, unless
/// `queue_lease_secs` says otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// What `queue push` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    pub push_id: i64,
    pub rows: usize,
}

/// Enqueues `requests` (already validated as `apply` does) for workers of
/// `profile`, in one transaction: all rows or none.
pub async fn push(
    pg: &PgStore,
    profile: &str,
    file: &str,
    requests: &[Request],
) -> Result<Pushed, StoreError> {
    let mut client = pg.client().await?;
    let tx = client.transaction().await.map_err(|e| pg.error(e))?;
    let rows = i32::try_from(requests.len())
        .map_err(|_| StoreError::new("a ticket file of over 2 billion rows cannot be queued"))?;
    let push_id: i64 = tx
        .query_one(
            "INSERT INTO queue_pushes (file, profile, rows, operator, host)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &file,
                &profile,
                &rows,
                &pg.origin().operator,
                &pg.origin().host,
            ],
        )
        .await
        .map_err(|e| pg.error(e))?
        .get(0);
    let col = |f: &dyn Fn(&Request) -> Option<String>| -> Vec<Option<String>> {
        requests.iter().map(f).collect()
    };
    let rooms = col(&|r| Some(r.room.to_string()));
    let users = col(&|r| Some(r.user.to_string()));
    let actions = col(&|r| Some(r.action.as_str().to_string()));
    let reasons = col(&|r| r.note.as_deref().map(str::to_string));
    let tickets = col(&|r| r.ticket.as_deref().map(str::to_string));
    tx.execute(
        "INSERT INTO queue_rows (push_id, position, profile, room, user_id, action, reason, ticket)
         SELECT $1, t.n, $2, t.room, t.user_id, t.action, t.reason, t.ticket
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
              WITH ORDINALITY AS t(room, user_id, action, reason, ticket, n)
         ORDER BY t.n",
        &[
            &push_id, &profile, &rooms, &users, &actions, &reasons, &tickets,
        ],
    )
    .await
    .map_err(|e| pg.error(e))?;
    tx.commit().await.map_err(|e| pg.error(e))?;
    Ok(Pushed {
        push_id,
        rows: requests.len(),
    })
}

/// One line of `queue status`: counts for a state, a ticket or a worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusRow {
    /// `state`, `ticket` or `worker`.
    pub by: &'static str,
    pub key: String,
    pub queued: i64,
    pub claimed: i64,
    pub done: i64,
    /// Done rows that ended `failed` or `skipped`.
    pub failed: i64,
    /// For workers: whether its heartbeat is recent (`None` for the rest).
    pub alive: Option<bool>,
}

/// Counts by state, by ticket and by worker.
pub async fn status(pg: &PgStore, lease: Duration) -> Result<Vec<StatusRow>, StoreError> {
    let client = pg.client().await?;
    let counts = "count(*) FILTER (WHERE state = 'queued'),
                  count(*) FILTER (WHERE state = 'claimed'),
                  count(*) FILTER (WHERE state = 'done'),
                  count(*) FILTER (WHERE state = 'done' AND status IN ('failed', 'skipped'))";
    let mut out = Vec::new();
    let row = |by: &'static str, r: &tokio_postgres::Row, alive: Option<bool>| StatusRow {
        by,
        key: r.get(0),
        queued: r.get(1),
        claimed: r.get(2),
        done: r.get(3),
        failed: r.get(4),
        alive,
    };
    let all = client
        .query_one(&format!("SELECT 'all', {counts} FROM queue_rows"), &[])
        .await
        .map_err(|e| pg.error(e))?;
    out.push(row("state", &all, None));
    for r in client
        .query(
            &format!(
                "SELECT COALESCE(ticket, '(none)'), {counts} FROM queue_rows GROUP BY 1 ORDER BY 1"
            ),
            &[],
        )
        .await
        .map_err(|e| pg.error(e))?
    {
        out.push(row("ticket", &r, None));
    }
    let lease_secs = lease.as_secs_f64();
    for r in client
        .query(
            &format!(
                "SELECT q.worker, {counts},
                        bool_or(w.stopped_at IS NULL AND w.heartbeat_at > now() - $1 * interval '1 second')
                 FROM queue_rows q LEFT JOIN queue_workers w ON w.id = q.worker
                 WHERE q.worker IS NOT NULL GROUP BY 1 ORDER BY 1"
            ),
            &[&lease_secs],
        )
        .await
        .map_err(|e| pg.error(e))?
    {
        let alive: Option<bool> = r.get(5);
        out.push(row("worker", &r, Some(alive.unwrap_or(false))));
    }
    Ok(out)
}

/// The status word stored for an outcome.
fn word(s: Status) -> &'static str {
    s.as_str()
}

/// A queue row's action from the database.
fn action(s: &str) -> Result<Action, StoreError> {
    s.parse()
        .map_err(|_| StoreError::new(format!("queue_rows holds an unknown action `{s}`")))
}

/// An outcome's reason for the queue row, with what was found.
fn reason(o: &Outcome) -> Option<String> {
    o.reason.clone()
}

//! One claimed chunk: settling rows taken over from a stopped worker
//! (what its batches recorded, else what the provider shows), then plan
//! and run for the rest, and each row's end recorded.

use super::claims::{Claimed, complete, release, requeue};
use super::work::{WorkError, WorkOptions};
use super::{StoreError, action};
use crate::model::{Action, Member, Outcome, Role, RoomId, Status, UserId};
use crate::ops::audit::{Kind, Record, now_rfc3339};
use crate::ops::plan::Request;
use crate::ops::store::pg::PgStore;
use crate::ops::{Cancel, Engine, NOT_SENT_UNAUDITED, RunOptions};
use std::collections::HashMap;

/// What an earlier batch recorded about a row.
#[derive(Default)]
struct Past {
    intent: Option<Option<Role>>,
    result: Option<(Status, Option<String>)>,
}

type Key = (RoomId, UserId, Action);

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
        let reason: Option<String> = r.get(6);
        if kind == "intent" {
            entry.intent = Some(role.as_deref().and_then(parse));
        } else if let Some(st) = status.as_deref().and_then(parse)
            // A result whose change may have happened unseen (its answer
            // was lost) leaves the intent open: the provider is asked.
            && !crate::ops::may_have_acted(st, reason.as_deref())
        {
            entry.result = Some((st, reason));
        }
    }
    Ok(past)
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// What the provider shows about a row whose earlier call may have gone
/// out (read as `resume` reads it, [`crate::ops::resume::judge`]): `Some`
/// if it is done, `None` if it is still to do.
fn judge(action: Action, before: Option<Role>, now: Option<&Member>) -> Option<(Status, String)> {
    crate::ops::resume::judge(action, before, now).map(|seen| {
        (
            seen.status,
            format!(
                "{}: found so when taking the row over from a stopped worker (asked the provider; nothing sent)",
                seen.what
            ),
        )
    })
}

fn outcome(req: &Request, status: Status, why: String) -> Outcome {
    Outcome {
        reason: Some(why),
        ..Outcome::new(&req.room, &req.user, req.action, status)
    }
}

/// Runs one claimed chunk; records each row's result in the queue.
pub(super) async fn run_chunk(
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
            ticket: req.ticket.as_deref().map(str::to_string),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_over_row_is_done_only_when_the_provider_shows_it_done() {
        let m = |role| Member::new("u1", None, role);
        let st = |j: Option<(Status, String)>| j.map(|(s, _)| s);
        assert_eq!(st(judge(Action::Remove, None, None)), Some(Status::Removed));
        assert_eq!(
            st(judge(Action::Remove, None, Some(&m(Role::Member)))),
            None
        );
        assert_eq!(
            st(judge(
                Action::Demote,
                Some(Role::Admin),
                Some(&m(Role::Member))
            )),
            Some(Status::Demoted)
        );
        assert_eq!(
            st(judge(
                Action::Demote,
                Some(Role::Admin),
                Some(&m(Role::Admin))
            )),
            None
        );
        assert_eq!(
            st(judge(Action::Demote, Some(Role::Admin), None)),
            Some(Status::AlreadyAbsent)
        );
        assert_eq!(
            st(judge(
                Action::Readd,
                Some(Role::Admin),
                Some(&m(Role::Admin))
            )),
            Some(Status::Readded)
        );
        assert_eq!(st(judge(Action::Readd, Some(Role::Member), None)), None);
        let (_, why) = judge(Action::Remove, None, None).unwrap();
        assert!(why.contains("nothing sent"), "{why}");
    }
}

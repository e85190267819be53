//! Resuming a batch cut short by a crash: its unfinished intents are
//! calls that may or may not have happened. The provider is asked about
//! each user (`member`); what it shows done is recorded as the intent's
//! result, and the rest is left to plan and run again under the same
//! batch id, so that their new results finish the old intents too.
//!
//! [`judge`] is the one reading of what the provider shows about a change
//! whose call may have gone out; the shared queue uses it too, for rows
//! taken over from a stopped worker.

use super::Engine;
use super::audit::{Kind, Record, now_rfc3339};
use super::plan::Request;
use crate::model::{Action, Member, Outcome, Role, Status};
use crate::provider::ProviderError;

/// What the provider showed about a batch's unfinished rows.
#[derive(Debug)]
pub struct Resumption {
    pub batch: String,
    /// The unfinished intents, in log order.
    pub intents: Vec<Record>,
    /// Per intent: the outcome found (done already, or cannot be checked).
    pub found: Vec<Option<Outcome>>,
    /// Rows still to do (index into `intents`), with the intent's ticket,
    /// reason and recorded role.
    pub remaining: Vec<(usize, Request)>,
    /// Rows whose lookup failed: reported, not recorded (they stay
    /// unfinished for the next `resume`).
    pub unchecked: Vec<usize>,
}

fn outcome(r: &Record, status: Status, reason: String) -> Outcome {
    Outcome {
        room: r.room.clone(),
        user: r.user.clone(),
        action: r.action,
        status,
        reason: Some(reason),
        role: None,
    }
}

/// The batch of another call the log shows made `r`'s user leave the room
/// (so `r`'s own call did not): the newest finished result about the user
/// before `r`'s intent says removed or already absent, or a removal of
/// another batch after it says removed. `history` is the log's records
/// about the user, in log order.
fn gone_by_another(r: &Record, history: &[Record]) -> Option<String> {
    let same = |h: &Record| h.room == r.room && h.user == r.user;
    let at = history.iter().rposition(|h| {
        h.kind == Kind::Intent && same(h) && h.batch == r.batch && h.action == r.action
    })?;
    let finished = |h: &&Record| {
        h.kind == Kind::Result
            && same(h)
            && h.status
                .is_some_and(|st| !crate::ops::may_have_acted(st, h.reason.as_deref()))
    };
    let later = history[at + 1..].iter().filter(finished).find(|h| {
        h.batch != r.batch && h.action == Action::Remove && h.status == Some(Status::Removed)
    });
    if let Some(h) = later {
        return Some(h.batch.clone());
    }
    let before = history[..at]
        .iter()
        .rev()
        .filter(finished)
        .find(|h| matches!(h.action, Action::Remove | Action::Readd))?;
    (before.action == Action::Remove
        && matches!(before.status, Some(Status::Removed | Status::AlreadyAbsent)))
    .then(|| before.batch.clone())
}

/// What the provider shows done about a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub status: Status,
    /// What was seen, for the row's reason ("not in the room").
    pub what: String,
    /// The user's role now, where they are still in the room.
    pub role: Option<Role>,
}

/// What `member` (`now`) says about a change whose call may have gone
/// out, given the role recorded before it: `Some` if the change is done
/// (or moot), `None` if it is still to do.
pub fn judge(action: Action, before: Option<Role>, now: Option<&Member>) -> Option<Seen> {
    let seen = |status, what: String, role| Some(Seen { status, what, role });
    match (action, now) {
        (Action::Remove, None) => seen(Status::Removed, "not in the room".into(), None),
        (Action::Remove, Some(_)) => None,
        (Action::Demote, None) => seen(
            Status::AlreadyAbsent,
            "not in the room, nothing to demote".into(),
            None,
        ),
        (Action::Demote, Some(m)) => match before {
            Some(b) if m.role > b => seen(Status::Demoted, format!("now {}", m.role), Some(m.role)),
            _ => None,
        },
        (Action::Readd, Some(m)) if before.is_none_or(|want| m.role <= want) => {
            seen(Status::Readded, format!("back as {}", m.role), Some(m.role))
        }
        (Action::Readd, _) => None,
    }
}

/// [`judge`] for an unfinished intent, as the row `resume` shows. A user
/// gone by another call ends `already_absent`: this call cannot have
/// removed them.
fn judge_intent(r: &Record, now: Option<&Member>, history: &[Record]) -> Option<Outcome> {
    let seen = |what: &str| format!("resume: {what} (asked the provider; nothing sent)");
    if let (Action::Remove, None) = (r.action, now)
        && let Some(batch) = gone_by_another(r, history)
    {
        return Some(outcome(
            r,
            Status::AlreadyAbsent,
            seen(&format!(
                "not in the room, and the audit log shows batch {batch} took them out, not this call"
            )),
        ));
    }
    judge(r.action, r.role, now).map(|s| Outcome {
        role: s.role,
        ..outcome(r, s.status, seen(&s.what))
    })
}

impl Engine {
    /// Asks the provider about each unfinished intent of `batch`. Errors
    /// only when the provider cannot be used at all (auth refused,
    /// unreachable); another failed lookup leaves that row unchecked.
    ///
    /// `history` is what the audit store holds about these users (in log
    /// order, [`super::store::AuditStore::history`]): it tells a removal
    /// this batch's crashed call made from one another call made.
    pub async fn check_unfinished(
        &self,
        batch: String,
        intents: Vec<Record>,
        history: &[Record],
    ) -> Result<Resumption, ProviderError> {
        let mut found = Vec::with_capacity(intents.len());
        let mut remaining = Vec::new();
        let mut unchecked = Vec::new();
        for (i, r) in intents.iter().enumerate() {
            match self.member(&r.room, &r.user).await {
                Err(e) if e.is_unavailable() => return Err(e),
                Err(e) => {
                    unchecked.push(i);
                    found.push(Some(outcome(
                        r,
                        Status::Failed,
                        format!("resume: could not check this user ({e}); nothing sent, run resume again"),
                    )));
                }
                Ok(m) => {
                    let judged = judge_intent(r, m.as_ref(), history);
                    if judged.is_none() {
                        remaining.push((
                            i,
                            Request {
                                note: r.reason.as_deref().map(Into::into),
                                ticket: r.ticket.as_deref().map(Into::into),
                                role: (r.action == Action::Readd).then_some(r.role).flatten(),
                                ..Request::new(r.room.clone(), r.user.clone(), r.action)
                            },
                        ));
                    }
                    found.push(judged);
                }
            }
        }
        Ok(Resumption {
            batch,
            intents,
            found,
            remaining,
            unchecked,
        })
    }

    /// Records what was found done as the results of their intents, in
    /// the audit store (the file, or the team database).
    pub async fn record_found(&self, r: &Resumption) -> Result<(), super::store::StoreError> {
        let Some(store) = self.audit_store() else {
            return Ok(());
        };
        let records: Vec<Record> = r
            .intents
            .iter()
            .zip(&r.found)
            .enumerate()
            .filter(|(i, _)| !r.unchecked.contains(i))
            .filter_map(|(_, (intent, found))| {
                let o = found.as_ref()?;
                Some(Record {
                    ts: now_rfc3339(),
                    kind: Kind::Result,
                    status: Some(o.status),
                    reason: o.reason.clone(),
                    // Signed by who resumed (in a team, maybe not who ran it).
                    operator: self.operator().to_string(),
                    ..intent.clone()
                })
            })
            .collect();
        if records.is_empty() {
            return Ok(());
        }
        store.append(&records, true).await
    }
}

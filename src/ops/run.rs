//! Running a plan: chunking, rate limiting, retries, cancellation,
//! progress events and the write-ahead audit. Exactly one outcome per row.

use super::Engine;
use super::audit::{Kind, Record, new_batch_id, now_rfc3339};
use super::pace::Pace;
use super::plan::{Plan, PlanRow, Verdict};
use super::retry::RetryClock;
use crate::model::{Action, Demotion, Outcome, Restore, Role, RoomId, Status, UserId};
use crate::provider::ProviderError;
use backon::{ExponentialBuilder, Retryable};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// How a run behaves.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Send nothing; every row that would be sent ends `dry_run`.
    pub dry_run: bool,
    /// Attempts per call at most, first one included; retries are otherwise
    /// bounded by the engine's retry budget (time) and wait cap.
    pub max_attempts: usize,
    /// First backoff ceiling; doubles per attempt (full jitter below it).
    pub min_delay: Duration,
    /// Highest backoff ceiling.
    pub max_delay: Duration,
    /// Calls in flight at most (the rate limiter has the final word).
    pub concurrency: usize,
    /// How many users the moderator confirmed. A plan with more rows to
    /// send than this sends nothing: every such row fails, saying so.
    /// `None` only where no number was shown (`--yes`, tests).
    pub confirmed: Option<usize>,
    /// Record under this batch id instead of a new one (`resume`: its
    /// records then finish the batch's unfinished intents).
    pub batch: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            max_attempts: usize::MAX,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            concurrency: 8,
            confirmed: None,
            batch: None,
        }
    }
}

/// Stops a run after the calls in flight.
#[derive(Clone, Debug)]
pub struct Cancel(Arc<watch::Sender<bool>>);

impl Default for Cancel {
    fn default() -> Self {
        Self(Arc::new(watch::channel(false).0))
    }
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }
    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// Where a run stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Rows with a final outcome.
    pub done: usize,
    pub total: usize,
    /// Calls sent and not yet answered.
    pub in_flight: usize,
    /// Attempts repeated after a retryable error.
    pub retries: u64,
    /// Calls answered.
    pub calls: u64,
    pub calls_per_sec: f64,
    /// A user of the latest call sent.
    pub current: Option<UserId>,
    pub elapsed: Duration,
    /// A wait of over 5 s the provider asked for, while it lasts.
    pub waiting: Option<Duration>,
}

/// What a run reports while it goes.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEvent {
    /// Row `index` of the plan ended.
    Row {
        index: usize,
        outcome: Outcome,
    },
    Progress(Progress),
}

/// The end of a run: one outcome per plan row, in plan order.
#[derive(Clone, Debug)]
pub struct Report {
    pub batch: String,
    pub outcomes: Vec<Outcome>,
    pub progress: Progress,
    /// A problem on this machine that stopped the run (the audit log
    /// cannot be written): no call was sent after it.
    pub local_error: Option<String>,
}

struct Call {
    room: RoomId,
    action: Action,
    rows: Vec<usize>,
    pace: Option<Arc<Pace>>,
}

enum AttemptError {
    Provider(ProviderError),
    Cancelled,
}

struct Tracker {
    progress: Progress,
    local_error: Option<String>,
    started: Instant,
    events: Option<mpsc::UnboundedSender<RunEvent>>,
}

impl Tracker {
    fn emit_progress(&mut self) {
        self.progress.elapsed = self.started.elapsed();
        let secs = self.progress.elapsed.as_secs_f64();
        self.progress.calls_per_sec = if secs > 0.0 {
            self.progress.calls as f64 / secs
        } else {
            0.0
        };
        if let Some(tx) = &self.events {
            let _ = tx.send(RunEvent::Progress(self.progress.clone()));
        }
    }
    fn row(&mut self, index: usize, outcome: &Outcome) {
        self.progress.done += 1;
        if let Some(tx) = &self.events {
            let _ = tx.send(RunEvent::Row {
                index,
                outcome: outcome.clone(),
            });
        }
    }
}

fn outcome_of(row: &PlanRow, status: Status, reason: Option<String>) -> Outcome {
    Outcome {
        room: row.room.clone(),
        user: row.user.clone(),
        action: row.action,
        status,
        reason,
        role: None,
    }
}

impl Engine {
    /// Executes a plan. Never fails: every problem ends up in a row.
    pub async fn run(
        &self,
        plan: &Plan,
        opts: &RunOptions,
        cancel: &Cancel,
        events: Option<mpsc::UnboundedSender<RunEvent>>,
    ) -> Report {
        let batch = opts.batch.clone().unwrap_or_else(new_batch_id);
        let tracker = Mutex::new(Tracker {
            progress: Progress {
                total: plan.rows.len(),
                ..Progress::default()
            },
            started: Instant::now(),
            events,
            local_error: None,
        });
        let mut outcomes: Vec<Option<Outcome>> = vec![None; plan.rows.len()];
        let mut to_send = Vec::new();
        // Never more users than were confirmed.
        let over = opts.confirmed.filter(|n| plan.to_send() > *n).map(|n| {
            format!(
                "not sent: the plan has {} users to change but only {n} were confirmed",
                plan.to_send()
            )
        });
        for (i, row) in plan.rows.iter().enumerate() {
            let early = match &row.verdict {
                Verdict::Send if over.is_some() => {
                    Some(outcome_of(row, Status::Failed, over.clone()))
                }
                Verdict::Skip(why) => Some(outcome_of(row, Status::Skipped, Some(why.clone()))),
                Verdict::Fail(why) => Some(outcome_of(row, Status::Failed, Some(why.clone()))),
                Verdict::Absent => Some(outcome_of(
                    row,
                    Status::AlreadyAbsent,
                    Some("not in the room (looked up before sending); nothing sent".into()),
                )),
                Verdict::Send if opts.dry_run => Some(outcome_of(row, Status::DryRun, None)),
                Verdict::Send => None,
            };
            match early {
                Some(o) => {
                    lock(&tracker).row(i, &o);
                    outcomes[i] = Some(o);
                }
                None => to_send.push(i),
            }
        }
        // Rows a guard refused are audited too, so a ticket's skipped rows
        // can be traced. A dry run writes nothing.
        if let Some(audit) = self.audit.as_ref().filter(|_| !opts.dry_run) {
            // An intent (what was asked, with the ticket) and its result
            // (the guard's reason): nothing was sent.
            let refused: Vec<Record> = plan
                .rows
                .iter()
                .zip(&outcomes)
                .filter(|(row, _)| matches!(row.verdict, Verdict::Skip(_)))
                .filter_map(|(row, o)| {
                    o.as_ref().map(|o| {
                        [
                            self.record(row, Kind::Intent, &batch, None),
                            self.record(row, Kind::Result, &batch, Some(o)),
                        ]
                    })
                })
                .flatten()
                .collect();
            if !refused.is_empty()
                && let Err(e) = audit.append(&refused, false).await
            {
                tracing::error!("cannot write the refused rows: {e}");
            }
        }
        lock(&tracker).emit_progress();

        let paces: HashMap<RoomId, Arc<Pace>> = plan
            .paced
            .iter()
            .map(|(room, every)| (room.clone(), Arc::new(Pace::new(*every))))
            .collect();
        for phase in phases(plan, &to_send) {
            let calls = self.chunk(plan, &phase, &paces);
            let mut answers = futures::stream::iter(calls)
                .map(|call| self.execute(plan, call, &batch, opts, cancel, &tracker))
                .buffer_unordered(opts.concurrency.clamp(1, self.caps.max_in_flight.max(1)));
            while let Some(rows) = answers.next().await {
                let mut t = lock(&tracker);
                for (i, o) in rows {
                    t.row(i, &o);
                    outcomes[i] = Some(o);
                }
                t.emit_progress();
            }
        }
        if let Some(audit) = &self.audit {
            let _ = audit.sync().await;
        }
        self.forget_whole();
        let outcomes = outcomes
            .into_iter()
            .zip(&plan.rows)
            .map(|(o, row)| {
                o.unwrap_or_else(|| {
                    outcome_of(row, Status::Failed, Some("no outcome recorded".into()))
                })
            })
            .collect();
        let progress = lock(&tracker).progress.clone();
        Report {
            batch,
            outcomes,
            progress,
            local_error: lock(&tracker).local_error.take(),
        }
    }

    /// Groups rows into calls: per room and action, in plan order, at most
    /// `max_batch` users per call (`max_demote_batch` for demotes, one per
    /// call in paced rooms).
    fn chunk(&self, plan: &Plan, rows: &[usize], paces: &HashMap<RoomId, Arc<Pace>>) -> Vec<Call> {
        let mut groups: Vec<((RoomId, Action), Vec<usize>)> = Vec::new();
        let mut at: HashMap<(RoomId, Action), usize> = HashMap::new();
        for &i in rows {
            let key = (plan.rows[i].room.clone(), plan.rows[i].action);
            let g = *at.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(i);
        }
        let mut calls = Vec::new();
        for ((room, action), idx) in groups {
            let pace = paces.get(&room).cloned();
            let size = if pace.is_some() {
                1
            } else if action == Action::Demote {
                self.caps.max_demote_batch.max(1)
            } else {
                self.caps.max_batch.max(1)
            };
            for chunk in idx.chunks(size) {
                calls.push(Call {
                    room: room.clone(),
                    action,
                    rows: chunk.to_vec(),
                    pace: pace.clone(),
                });
            }
        }
        calls
    }

    fn record(&self, row: &PlanRow, kind: Kind, batch: &str, outcome: Option<&Outcome>) -> Record {
        Record {
            ts: now_rfc3339(),
            kind,
            operator: self.operator.clone(),
            profile: self.profile.clone(),
            provider: self.provider.name().to_string(),
            room: row.room.clone(),
            user: row.user.clone(),
            action: row.action,
            status: outcome.map(|o| o.status),
            // A result's own reason is the provider's; the moderator's
            // note is on the intent (readers join the two).
            reason: match outcome {
                Some(o) => o.reason.clone(),
                None => row.note.as_deref().map(str::to_string),
            },
            ticket: row.ticket.as_deref().map(str::to_string),
            batch: batch.to_string(),
            // A user found gone had no role in the room: none is recorded.
            role: match outcome.map(|o| o.status) {
                Some(Status::AlreadyAbsent) => None,
                _ => row.role,
            },
        }
    }

    async fn execute(
        &self,
        plan: &Plan,
        call: Call,
        batch: &str,
        opts: &RunOptions,
        cancel: &Cancel,
        tracker: &Mutex<Tracker>,
    ) -> Vec<(usize, Outcome)> {
        let rows: Vec<&PlanRow> = call.rows.iter().map(|&i| &plan.rows[i]).collect();
        let all = |status: Status, reason: String| -> Vec<Outcome> {
            rows.iter()
                .map(|r| outcome_of(r, status, Some(reason.clone())))
                .collect()
        };
        // Not sent: after the audit store failed, each row says why (the
        // run was stopped for it); else the operator cancelled.
        let unsent = || -> Vec<(usize, Outcome)> {
            let outcomes = match lock(tracker).local_error.clone() {
                Some(why) => all(Status::Failed, why),
                None => all(Status::Skipped, "cancelled".into()),
            };
            call.rows.iter().copied().zip(outcomes).collect()
        };
        if cancel.is_cancelled() {
            return unsent();
        }
        // Requests this call takes from the quota (more than one where the
        // adapter reads before it writes).
        let staff = rows
            .iter()
            .filter(|r| matches!(r.role, Some(Role::Owner | Role::Admin)))
            .count();
        let cost = self.caps.call_cost.of(call.action).of(staff);
        // A paced room's turn is held until the answer, so its next change
        // waits the interval from this one's completion.
        let gate = || async {
            let turn = match &call.pace {
                Some(pace) => Some(pace.turn().await),
                None => None,
            };
            for _ in 0..cost {
                self.limiter.acquire().await;
            }
            turn
        };
        // The first attempt's turn under the rate limit comes before its
        // intent is written, so that an intent means "about to be sent",
        // not "waiting in line" (fewer calls to check after a crash).
        let first_turn = tokio::select! {
            turn = gate() => turn,
            _ = cancel.cancelled() => return unsent(),
        };
        if cancel.is_cancelled() {
            return unsent();
        }
        if let Some(audit) = &self.audit {
            let intents: Vec<Record> = rows
                .iter()
                .map(|r| self.record(r, Kind::Intent, batch, None))
                .collect();
            if let Err(e) = audit.append(&intents, true).await {
                let why = format!("{NOT_SENT_UNAUDITED} ({e})");
                // A local problem: nothing more is sent in this run.
                lock(tracker).local_error.get_or_insert_with(|| why.clone());
                cancel.cancel();
                return unsent();
            }
        }
        let first_turn = Mutex::new(Some(first_turn));

        let users: Vec<UserId> = rows.iter().map(|r| r.user.clone()).collect();
        let sent = Mutex::new(false);
        let last_error: Mutex<Option<String>> = Mutex::new(None);
        // An attempt that failed after the provider may have acted (timeout,
        // dropped connection, 5xx): a later answer must be read in its light.
        let unanswered = Mutex::new(false);
        let clock = Mutex::new(RetryClock::new(self.retry));
        let attempt = || async {
            let ready = lock(&first_turn).take();
            let turn = match ready {
                Some(turn) => turn,
                None => tokio::select! {
                    turn = gate() => turn,
                    _ = cancel.cancelled() => return Err(AttemptError::Cancelled),
                },
            };
            if cancel.is_cancelled() {
                return Err(AttemptError::Cancelled);
            }
            {
                *lock(&sent) = true;
                let mut t = lock(tracker);
                t.progress.in_flight += 1;
                t.progress.current = users.first().cloned();
                t.progress.waiting = None;
                t.emit_progress();
            }
            tracing::debug!(room = %call.room, action = %call.action, users = users.len(), "sending");
            let answer = self.send(&call, &rows, &users).await;
            if let Some(turn) = turn {
                turn.done();
            }
            {
                let mut t = lock(tracker);
                t.progress.in_flight -= 1;
                t.progress.calls += 1;
            }
            answer.map_err(AttemptError::Provider)
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(opts.min_delay)
            .with_max_delay(opts.max_delay)
            .with_max_times(opts.max_attempts.saturating_sub(1));
        let max_wait = self.retry.max_wait;
        let budget = self.retry.budget;
        let sleep_cancel = cancel.clone();
        let result = attempt
            .retry(backoff)
            .sleep(move |d: Duration| {
                let cancel = sleep_cancel.clone();
                async move {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = cancel.cancelled() => {}
                    }
                }
            })
            .when(|e: &AttemptError| matches!(e, AttemptError::Provider(p) if p.is_retryable()))
            .adjust(|e: &AttemptError, ceiling: Option<Duration>| {
                // Full jitter below the exponential ceiling, but never sooner
                // than the provider asked. `None` means give up: keep it.
                let AttemptError::Provider(p) = e else {
                    return None;
                };
                let wait = lock(&clock).next(p, ceiling)?;
                if let Some(h) = p.retry_after() {
                    self.limiter.hold_for(h);
                }
                Some(wait)
            })
            .notify(|e: &AttemptError, wait: Duration| {
                if let AttemptError::Provider(p) = e {
                    tracing::info!(room = %call.room, users = users.len(), "retrying in {wait:?} after: {p}");
                    *lock(&last_error) = Some(p.to_string());
                    if p.may_have_acted() {
                        *lock(&unanswered) = true;
                    }
                }
                let mut t = lock(tracker);
                t.progress.retries += 1;
                if wait > LONG_WAIT {
                    t.progress.waiting = Some(wait);
                }
                t.emit_progress();
            })
            .await;

        let outcomes = match result {
            Ok(outcomes) if *lock(&unanswered) => {
                let lost = lock(&last_error).clone();
                let outcomes = self.confirm_lost(&call.room, outcomes).await;
                lost_answer_found(outcomes, lost.as_deref())
            }
            Ok(outcomes) => outcomes,
            Err(AttemptError::Cancelled) => {
                // After a timeout or a server error the earlier attempt may
                // have taken effect: say so, so the operator checks.
                let why = match (*lock(&sent), lock(&last_error).take()) {
                    (true, Some(e)) if *lock(&unanswered) => format!(
                        "cancelled before a retry; the last attempt failed ({e}) and {MAY_HAVE_ACTED}: check this user in the provider, or run roomwarden resume"
                    ),
                    (true, Some(e)) => format!(
                        "cancelled before a retry; the last attempt failed ({e}), check this user in the provider"
                    ),
                    (true, None) => "cancelled before a retry".to_string(),
                    (false, _) => "cancelled".to_string(),
                };
                all(Status::Skipped, why)
            }
            Err(AttemptError::Provider(e)) => {
                tracing::info!(room = %call.room, users = users.len(), "call failed: {e}");
                let over_cap = lock(&clock).over_cap;
                let why = match (over_cap, e.is_retryable()) {
                    (Some(ask), _) => format!(
                        "{e}; the provider asked to wait {}, over the {} limit (max_retry_wait_secs); not retried",
                        human_wait(ask),
                        human_wait(max_wait)
                    ),
                    (None, true) => format!("{e}; {}", lock(&clock).gave_up(budget)),
                    (None, false) => e.to_string(),
                };
                let why = if *lock(&unanswered) {
                    format!(
                        "{why}; an earlier attempt {MAY_HAVE_ACTED} (its answer was lost): check this user in the provider, or run roomwarden resume"
                    )
                } else {
                    why
                };
                all(Status::Failed, why)
            }
        };
        if let Some(audit) = &self.audit {
            let records: Vec<Record> = rows
                .iter()
                .zip(&outcomes)
                .map(|(row, o)| self.record(row, Kind::Result, batch, Some(o)))
                .collect();
            if let Err(e) = audit.append(&records, false).await {
                // The call went out: its intents stay unfinished (for
                // `audit --unfinished` and `resume`), and nothing more is
                // sent in this run.
                tracing::error!("cannot write results: {e}");
                lock(tracker)
                    .local_error
                    .get_or_insert_with(|| format!("{NOT_SENT_UNAUDITED} ({e})"));
                cancel.cancel();
            }
        }
        call.rows.iter().copied().zip(outcomes).collect()
    }

    /// One provider call; the answer is matched back to the call's rows.
    async fn send(
        &self,
        call: &Call,
        rows: &[&PlanRow],
        users: &[UserId],
    ) -> Result<Vec<Outcome>, ProviderError> {
        let answer = match call.action {
            Action::Remove => self.provider.remove(&call.room, users).await?,
            Action::Readd => {
                let restores: Vec<Restore> = rows
                    .iter()
                    .map(|r| Restore {
                        user: r.user.clone(),
                        role: r.role.unwrap_or(Role::Member),
                    })
                    .collect();
                self.provider.readd(&call.room, &restores).await?
            }
            Action::Demote => {
                let demotions: Vec<Demotion> = rows
                    .iter()
                    .map(|r| Demotion {
                        user: r.user.clone(),
                        role: r.role.unwrap_or(Role::Member),
                    })
                    .collect();
                self.provider.demote(&call.room, &demotions).await?
            }
        };
        let mut by_user: HashMap<UserId, Outcome> =
            answer.into_iter().map(|o| (o.user.clone(), o)).collect();
        Ok(rows
            .iter()
            .map(|row| match by_user.remove(&row.user) {
                Some(o) => {
                    // A failed or skipped row always says why.
                    let reason = match (o.status, o.reason) {
                        (Status::Failed | Status::Skipped, None) => Some(format!(
                            "{} answered `{}` for this user without a reason",
                            self.provider.name(),
                            o.status
                        )),
                        (_, reason) => reason,
                    };
                    Outcome {
                        room: row.room.clone(),
                        action: row.action,
                        reason,
                        ..o
                    }
                }
                None => outcome_of(
                    row,
                    Status::Failed,
                    Some("the provider's answer has no row for this user".into()),
                ),
            })
            .collect())
    }
}

impl Engine {
    /// Removals that a retry after a lost answer saw refused: asks the
    /// provider whether the user is still there, so the row tells the
    /// truth (gone: the lost attempt removed them).
    async fn confirm_lost(&self, room: &RoomId, outcomes: Vec<Outcome>) -> Vec<Outcome> {
        let mut out = Vec::with_capacity(outcomes.len());
        for o in outcomes {
            if o.action == Action::Remove && o.status == Status::Failed {
                self.limiter.acquire().await;
                if let Ok(None) = self.provider.member(room, &o.user).await {
                    out.push(Outcome {
                        status: Status::Removed,
                        reason: Some(
                            "removed: the first attempt's answer was lost and the retry was refused; a lookup found the user gone".into(),
                        ),
                        ..o
                    });
                    continue;
                }
            }
            out.push(o);
        }
        out
    }
}

/// How the reason of a row starts when its call was never sent because
/// the audit store failed (an intent could not be recorded, or the results
/// of an earlier call): the run stops sending.
pub const NOT_SENT_UNAUDITED: &str = "not sent: the intent could not be recorded";

/// Words every row whose change may have happened unseen carries (a lost
/// answer, then a failure or a cancel): readers of the audit log leave
/// such a row unfinished for `resume`, and undo takes its intent's role.
pub const MAY_HAVE_ACTED: &str = "may have taken effect";

/// Whether a failed or skipped row may have changed the provider anyway.
pub fn may_have_acted(status: Status, reason: Option<&str>) -> bool {
    matches!(status, Status::Failed | Status::Skipped)
        && reason.is_some_and(|r| r.contains(MAY_HAVE_ACTED))
}

/// A provider-requested wait longer than this is shown while it lasts.
const LONG_WAIT: Duration = Duration::from_secs(5);

/// After an attempt whose answer was lost, a removal the retry finds
/// already gone was this run's own: it ends `removed`, saying so.
fn lost_answer_found(outcomes: Vec<Outcome>, lost: Option<&str>) -> Vec<Outcome> {
    outcomes
        .into_iter()
        .map(|o| {
            if o.status == Status::Failed {
                // The provider refused the retry (e.g. "not a member"):
                // the lost attempt may be why.
                let why = format!(
                    "{}; an earlier attempt {MAY_HAVE_ACTED} (its answer was lost: {}): check this user in the provider, or run roomwarden resume",
                    o.reason.as_deref().unwrap_or("failed"),
                    lost.unwrap_or("no answer")
                );
                return Outcome {
                    reason: Some(why),
                    ..o
                };
            }
            if o.action == Action::Remove && o.status == Status::AlreadyAbsent {
                let why = format!(
                    "removed: the first attempt's answer was lost ({}); the retry found the user gone",
                    lost.unwrap_or("no answer")
                );
                Outcome {
                    status: Status::Removed,
                    reason: Some(why),
                    ..o
                }
            } else {
                o
            }
        })
        .collect()
}

/// "3600s", "5m 0s" for a wait; "more than a lifetime" past what can be shown.
fn human_wait(d: Duration) -> String {
    if d >= Duration::from_secs(100 * 365 * 86_400) {
        return "longer than can be waited".into();
    }
    if d < Duration::from_secs(60) {
        return format!("{:.0}s", d.as_secs_f64().ceil());
    }
    super::plan::human_duration(d)
}

/// Splits rows into phases that run one after another, so that changes to
/// the same user in the same room keep the order of the plan (a ticket may
/// demote someone and then remove them, or remove and then re-add). Within
/// a phase, calls run concurrently.
fn phases(plan: &Plan, rows: &[usize]) -> Vec<Vec<usize>> {
    let mut phases: Vec<Vec<usize>> = Vec::new();
    let mut last: HashMap<(&RoomId, &UserId), usize> = HashMap::new();
    for &i in rows {
        let row = &plan.rows[i];
        let at = last.get(&(&row.room, &row.user)).map_or(0, |p| p + 1);
        if phases.len() <= at {
            phases.push(Vec::new());
        }
        phases[at].push(i);
        last.insert((&row.room, &row.user), at);
    }
    phases
}

use super::lock;

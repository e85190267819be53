//! Batches: requests, the confirm popup, runs, results, retry and undo.

use super::*;

pub(super) fn request(s: &mut State, verb: Verb) -> Vec<Effect> {
    if s.screen != Screen::Members {
        return vec![];
    }
    let Some(room) = s.members.room.clone() else {
        return vec![];
    };
    if !room.active {
        info(
            s,
            format!(
                "room {} is deactivated: its membership is locked, so nothing can be removed or demoted",
                room.name
            ),
        );
        return vec![];
    }
    if s.members.visual.is_some() {
        commit_range(s);
    }
    let ms = &s.members;
    let (scope, targets) = if ms.marks.is_empty() && ms.predicate.is_none() {
        match cursor_member(s) {
            Some(m) => (
                Scope::Cursor,
                vec![Target {
                    user: m.user.clone(),
                    name: m.name.clone(),
                    role: ms.role_of(&m.user, m.role),
                }],
            ),
            None => {
                info(s, "nothing to act on: the list is empty");
                return vec![];
            }
        }
    } else {
        let targets: Vec<Target> = ms
            .store
            .iter_from(0)
            .map(|(_, m)| m)
            .filter(|m| ms.marks.contains(&m.user) && !ms.gone.contains(&m.user))
            .map(|m| Target {
                user: m.user.clone(),
                name: m.name.clone(),
                role: ms.role_of(&m.user, m.role),
            })
            .collect();
        let scope = match &ms.predicate {
            Some(p) if !ms.complete => Scope::AllMatching {
                query: p.query.clone(),
            },
            _ => Scope::Marked,
        };
        (scope, targets)
    };
    // Only marks can be hidden: the cursor row is on screen by definition.
    let hidden = if scope == Scope::Cursor {
        0
    } else {
        let visible_marked = ms
            .view
            .iter()
            .filter_map(|i| ms.store.get(*i))
            .filter(|m| ms.marks.contains(&m.user))
            .count();
        targets.len().saturating_sub(visible_marked)
    };
    if matches!(scope, Scope::AllMatching { .. }) {
        // The set is not known until every member is read: no count to
        // confirm yet, and no plan.
        let scanned = ms.store.len();
        let matched = targets.len();
        let effects = open_popup(s, verb, scope, room, vec![], hidden, vec![], false);
        if let Some(p) = s.popup.as_mut() {
            p.planning = Planning::Resolving { scanned, matched };
        }
        return effects
            .into_iter()
            .filter(|e| !matches!(e, Effect::Plan { .. }))
            .collect();
    }
    let requests = to_requests(&room.id, &targets, verb);
    open_popup(s, verb, scope, room, targets, hidden, requests, false)
}

/// Whether a loaded member is in the mark-all set: marked, or matching
/// the predicate and not unmarked by hand.
fn in_set(ms: &MembersState, q: Option<&Query>, m: &crate::model::Member) -> bool {
    !ms.gone.contains(&m.user)
        && (ms.marks.contains(&m.user)
            || (q.is_some_and(|q| q.matches(m))
                && !ms
                    .predicate
                    .as_ref()
                    .is_some_and(|p| p.except.contains(&m.user))))
}

/// A page arrived while the popup reads the rest of the room for a
/// mark-all: counts the new members `from..`, and once the room is
/// complete, fixes the set and plans it.
pub(super) fn resolving_page(s: &mut State, from: usize) -> Vec<Effect> {
    if !s
        .popup
        .as_ref()
        .is_some_and(|p| matches!(p.planning, Planning::Resolving { .. }))
    {
        return vec![];
    }
    let ms = &s.members;
    let q = ms.predicate.as_ref().map(|p| Query::parse(&p.query));
    let more = ms
        .store
        .iter_from(from)
        .filter(|(_, m)| in_set(ms, q.as_ref(), m))
        .count();
    let scanned = ms.store.len();
    let complete = ms.complete;
    let Some(p) = s.popup.as_mut() else {
        return vec![];
    };
    if let Planning::Resolving { matched, .. } = p.planning {
        p.planning = Planning::Resolving {
            scanned,
            matched: matched + more,
        };
    }
    if !complete {
        return vec![];
    }
    let targets: Vec<Target> = ms
        .store
        .iter_from(0)
        .map(|(_, m)| m)
        .filter(|m| in_set(ms, q.as_ref(), m))
        .map(|m| Target {
            user: m.user.clone(),
            name: m.name.clone(),
            role: ms.role_of(&m.user, m.role),
        })
        .collect();
    let requests = to_requests(&p.room.id, &targets, p.verb);
    p.requests = requests.clone();
    p.targets = targets;
    p.planning = Planning::Pending;
    // A count typed before the set was known confirms nothing.
    p.typed.clear();
    vec![Effect::Plan {
        seq: p.seq,
        requests,
    }]
}

pub(super) fn to_requests(room: &RoomId, targets: &[Target], verb: Verb) -> Vec<Request> {
    targets
        .iter()
        .map(|t| Request {
            role: (verb == Verb::Readd).then_some(t.role),
            ..Request::new(room.clone(), t.user.clone(), verb)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(super) fn open_popup(
    s: &mut State,
    verb: Verb,
    scope: Scope,
    room: Room,
    targets: Vec<Target>,
    hidden: usize,
    requests: Vec<Request>,
    undo: bool,
) -> Vec<Effect> {
    s.plan_gen += 1;
    let seq = s.plan_gen;
    s.popup = Some(Confirm {
        verb,
        scope,
        room,
        targets,
        hidden,
        seq,
        planning: Planning::Pending,
        reason: String::new(),
        editing_reason: false,
        reason_before: String::new(),
        dry_run: false,
        typed: String::new(),
        scroll: 0,
        requests: requests.clone(),
        undo,
    });
    if undo {
        vec![Effect::PlanUndo { seq, requests }]
    } else {
        vec![Effect::Plan { seq, requests }]
    }
}

/// `ctrl-r` in the popup after a failed lookup: plans the same requests again.
pub(super) fn replan(s: &mut State) -> Vec<Effect> {
    if s.popup
        .as_ref()
        .is_some_and(|p| matches!(p.scope, Scope::AllMatching { .. }) && p.requests.is_empty())
    {
        // The room itself did not finish loading: that is what to retry.
        info(
            s,
            "the room did not finish loading: Esc, then ctrl-r reloads it",
        );
        return vec![];
    }
    s.plan_gen += 1;
    let seq = s.plan_gen;
    let Some(p) = s
        .popup
        .as_mut()
        .filter(|p| matches!(p.planning, Planning::Failed(_)))
    else {
        return vec![];
    };
    p.seq = seq;
    p.planning = Planning::Pending;
    let requests = p.requests.clone();
    info(s, "reading again…");
    if s.popup.as_ref().is_some_and(|p| p.undo) {
        vec![Effect::PlanUndo { seq, requests }]
    } else {
        vec![Effect::Plan { seq, requests }]
    }
}

pub(super) fn retry_failed(s: &mut State) -> Vec<Effect> {
    let Some(r) = &s.results else {
        return vec![];
    };
    let failed: Vec<_> = r.rows.iter().filter(|row| row.retryable()).collect();
    if failed.is_empty() {
        info(s, "no failed or cancelled rows to retry");
        return vec![];
    }
    let verb = failed[0].verb;
    let targets: Vec<Target> = failed
        .iter()
        .filter(|row| row.verb == verb)
        .map(|row| Target {
            user: row.user.clone(),
            name: row.name.clone(),
            role: row.role.unwrap_or(crate::model::Role::Member),
        })
        .collect();
    let room = r.room.clone();
    let requests = to_requests(&room.id, &targets, verb);
    open_popup(
        s,
        verb,
        Scope::RetryFailed,
        room,
        targets,
        0,
        requests,
        false,
    )
}

pub(super) fn undo(s: &mut State) -> Vec<Effect> {
    let Some(r) = &s.results else {
        return vec![];
    };
    // Every user the chain removed or demoted and has not put back: a
    // re-add with the role the user had before.
    let rows: Vec<&ResultRow> = r
        .rows
        .iter()
        .filter(|row| row.undo_role.is_some())
        .collect();
    if rows.is_empty() {
        if r.dry_run {
            info(s, "that was a dry run: nothing to undo");
        } else {
            info(s, "no removed or demoted users to undo");
        }
        return vec![];
    }
    let targets: Vec<Target> = rows
        .iter()
        .map(|row| Target {
            user: row.user.clone(),
            name: row.name.clone(),
            role: row.undo_role.unwrap_or(crate::model::Role::Member),
        })
        .collect();
    let room = r.room.clone();
    let requests = to_requests(&room.id, &targets, Verb::Readd);
    let removed = rows.iter().filter(|row| row.verb == Verb::Remove).count();
    let demoted = rows.len() - removed;
    open_popup(
        s,
        Verb::Readd,
        Scope::Undo { removed, demoted },
        room,
        targets,
        0,
        requests,
        true,
    )
}

pub(super) fn confirm(s: &mut State) -> Vec<Effect> {
    let Some(p) = s.popup.as_ref() else {
        return vec![];
    };
    if s.batch.is_some() {
        // One run at a time: the popup waits for the running one to end.
        info(
            s,
            "a batch is running: confirm once it ends (Esc on its progress screen cancels it)",
        );
        return vec![];
    }
    let n = match &p.planning {
        Planning::Ready { summary, .. } => summary.to_send,
        Planning::Failed(_) => {
            info(s, "planning failed; Esc closes");
            return vec![];
        }
        Planning::Pending => {
            info(s, "still checking guards…");
            return vec![];
        }
        Planning::Resolving { .. } => {
            info(
                s,
                "still reading the room: the matching set is not known yet, so there is nothing to confirm",
            );
            return vec![];
        }
    };
    if n == 0 {
        info(
            s,
            "nothing to send: every target was refused or is not in the room; Esc closes",
        );
        return vec![];
    }
    if p.needs_typed_count() && !p.typed_is(n) {
        // A prompt, not an error: it must not outlive the popup.
        info(
            s,
            format!("type {} (the number of users) to confirm", num(n)),
        );
        return vec![];
    }
    let Some(p) = s.popup.take() else {
        return vec![];
    };
    let note: Option<std::sync::Arc<str>> =
        (!p.reason.trim().is_empty()).then(|| p.reason.trim().into());
    let Planning::Ready { mut plan, .. } = p.planning else {
        return vec![];
    };
    for row in &mut plan.rows {
        if row.note.is_none() {
            row.note = note.clone();
        }
    }
    s.batch = Some(Batch {
        verb: p.verb,
        progress: crate::ops::Progress {
            total: plan.rows.len(),
            ..Default::default()
        },
        rates: Default::default(),
        dry_run: p.dry_run,
        cancelling: false,
    });
    // A retry or an undo continues the results screen it came from: the
    // progress screen takes its place instead of stacking another.
    let chain = matches!(p.scope, Scope::RetryFailed | Scope::Undo { .. });
    if s.screen == Screen::Results && chain {
        s.screen = Screen::Progress;
    } else if s.screen != Screen::Progress {
        go(s, Screen::Progress);
    }
    if matches!(p.scope, Scope::AllMatching { .. }) {
        // The resolved set becomes plain marks; they clear user by user as
        // changes go through.
        s.members.predicate = None;
        s.members
            .marks
            .extend(p.targets.iter().map(|t| t.user.clone()));
    }
    start_results(s, &plan, p.room, p.dry_run, chain);
    vec![Effect::Run {
        plan,
        dry_run: p.dry_run,
        confirmed: n,
    }]
}

pub(super) fn start_results(s: &mut State, plan: &Plan, room: Room, dry_run: bool, chain: bool) {
    let mut names: std::collections::HashMap<crate::model::UserId, Option<std::sync::Arc<str>>> =
        plan.rows.iter().map(|r| (r.user.clone(), None)).collect();
    if s.members.room.as_ref().map(|r| &r.id) == Some(&room.id) {
        for (_, m) in s.members.store.iter_from(0) {
            if let Some(n) = names.get_mut(&m.user) {
                *n = m.name.clone();
            }
        }
    }
    let new_row = |r: &crate::ops::plan::PlanRow| ResultRow {
        user: r.user.clone(),
        name: names.get(&r.user).cloned().flatten(),
        verb: r.action,
        role: r.role,
        status: None,
        reason: None,
        undo_role: None,
    };
    if chain && let Some(res) = s.results.as_mut().filter(|res| res.room.id == room.id) {
        // The chain's rows: each user's latest status.
        let mut at: std::collections::HashMap<crate::model::UserId, usize> = res
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| (row.user.clone(), i))
            .collect();
        res.map.clear();
        for pr in &plan.rows {
            let i = *at.entry(pr.user.clone()).or_insert_with(|| {
                res.rows.push(new_row(pr));
                res.rows.len() - 1
            });
            let row = &mut res.rows[i];
            row.verb = pr.action;
            row.role = pr.role;
            row.status = None;
            row.reason = None;
            res.map.push(i);
        }
        res.dry_run = dry_run;
        res.recount();
        res.refresh_view();
        return;
    }
    let rows: Vec<ResultRow> = plan.rows.iter().map(new_row).collect();
    s.results = Some(ResultsState::new(String::new(), room, dry_run, rows));
}

pub(super) fn run_done(s: &mut State, report: crate::ops::Report) -> Vec<Effect> {
    let batch = s.batch.take();
    let dry_run = batch.as_ref().is_some_and(|b| b.dry_run);
    let local_error = report.local_error.clone();
    if let Some(r) = s.results.as_mut() {
        r.batch = report.batch.clone();
        for (i, o) in report.outcomes.iter().enumerate() {
            let Some(row) = r.map.get(i).and_then(|at| r.rows.get_mut(*at)) else {
                continue;
            };
            row.status = Some(o.status);
            row.reason = o.reason.clone();
            match o.status {
                Status::Removed | Status::Demoted => {
                    row.undo_role = row.undo_role.or(row.role);
                }
                // The answer was lost: the change may have happened, so
                // undo puts the user back with the role they had.
                s if crate::ops::may_have_acted(s, o.reason.as_deref()) => {
                    row.undo_role = row.undo_role.or(row.role);
                }
                Status::Readded => row.undo_role = None,
                _ => {}
            }
        }
        r.recount();
        r.refresh_view();
    }
    // Marks clear only for users whose change went through.
    if !dry_run
        && s.members
            .room
            .as_ref()
            .is_some_and(|r| r.id == report_room(&report))
    {
        for o in &report.outcomes {
            if matches!(
                o.status,
                Status::Removed | Status::Demoted | Status::Readded | Status::AlreadyAbsent
            ) {
                s.members.marks.remove(&o.user);
            }
        }
    }
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut readded = false;
    let mut gone_changed = false;
    // Members each room gained (+) or lost (-), for the rooms list.
    let mut delta: std::collections::HashMap<RoomId, i64> = Default::default();
    for (i, o) in report.outcomes.iter().enumerate() {
        *counts.entry(o.status.as_str()).or_default() += 1;
        if o.status == Status::Removed {
            *delta.entry(o.room.clone()).or_default() -= 1;
        }
        if s.members.room.as_ref().is_some_and(|r| r.id == o.room) {
            match o.status {
                Status::Removed | Status::AlreadyAbsent if o.action == Verb::Remove => {
                    gone_changed |= s.members.gone.insert(o.user.clone());
                }
                Status::Readded => {
                    // The provider's role after; else the one restored.
                    if let Some(role) = o.role.or_else(|| {
                        s.results
                            .as_ref()
                            .and_then(|r| r.map.get(i).and_then(|at| r.rows.get(*at)))
                            .filter(|row| row.user == o.user)
                            .and_then(|row| row.role)
                    }) {
                        s.members.roles.insert(o.user.clone(), role);
                    }
                    let back = s.members.gone.remove(&o.user);
                    gone_changed |= back;
                    if back {
                        *delta.entry(o.room.clone()).or_default() += 1;
                    }
                    readded |= back;
                }
                Status::Demoted => {
                    // The role after, as the provider reported it; never
                    // derived here (Symphony owners end members).
                    if let Some(to) = o.role {
                        s.members.roles.insert(o.user.clone(), to);
                    }
                }
                _ => {}
            }
        }
    }
    let apply = |room: &mut Room| {
        if let (Some(n), Some(d)) = (room.member_count, delta.get(&room.id)) {
            room.member_count = Some(n.saturating_add_signed(*d));
        }
    };
    s.rooms.rooms.iter_mut().for_each(apply);
    if let Some(room) = s.members.room.as_mut() {
        apply(room);
    }
    // Rows a cancel kept from being sent are counted as such, not as
    // skipped by a guard.
    let not_sent = report
        .outcomes
        .iter()
        .filter(|o| {
            o.status == Status::Skipped
                && o.reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("cancelled"))
        })
        .count();
    if let Some(n) = counts.get_mut(Status::Skipped.as_str()) {
        *n -= not_sent.min(*n);
    }
    let mut summary: Vec<String> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{} {k}", num(*n)))
        .collect();
    if not_sent > 0 {
        let key = s.keymap.label(Cmd::Retry);
        summary.push(format!("{} not sent ({key} retries them)", num(not_sent)));
    }
    let cancelled = batch.as_ref().is_some_and(|b| b.cancelling) || not_sent > 0;
    let mut effects = vec![];
    if s.members.store.len() > SYNC_FILTER_MAX {
        // A big room: the view without the removed users, and their count,
        // come from a background filter (reading every loaded member here
        // would hold the console up for tens of milliseconds per million).
        if gone_changed {
            effects = refilter_members(s);
        }
    } else if !s.members.gone.is_empty() {
        let ms = &mut s.members;
        ms.gone_loaded = store::count_gone(&ms.store, 0, &ms.gone);
        let gone = &s.members.gone;
        let store = &s.members.store;
        s.members
            .view
            .retain(|i| store.get(*i).is_none_or(|m| !gone.contains(&m.user)));
        let h = s.list_height();
        s.members.pos.clamp(s.members.view.len(), h);
        if s.members.filter_pending {
            effects = refilter_members(s);
        }
    } else {
        s.members.gone_loaded = 0;
    }
    if readded && effects.is_empty() {
        // Re-added users come back into the list.
        effects = refilter_members(s);
    }
    if s.screen == Screen::Progress {
        s.screen = Screen::Results;
    } else if s.screen != Screen::Results {
        go(s, Screen::Results);
    }
    // The quit question was about the running batch: it ended, so the
    // question goes with it (a later `y` is the results screen's again).
    let asked = std::mem::take(&mut s.ask_quit);
    info(
        s,
        format!(
            "{}batch {}: {}{}",
            if dry_run { "dry-run " } else { "" },
            if cancelled { "cancelled" } else { "done" },
            summary.join(", "),
            if asked {
                " (it finished while the quit question was open; nothing was cancelled)"
            } else {
                ""
            }
        ),
    );
    if let Some(e) = local_error {
        error(s, format!("batch stopped: {e}"));
    }
    effects
}

/// The room of a run's rows (the console runs one room at a time).
fn report_room(report: &crate::ops::Report) -> RoomId {
    report
        .outcomes
        .first()
        .map(|o| o.room.clone())
        .unwrap_or_else(|| RoomId::from(""))
}

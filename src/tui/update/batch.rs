//! Batches: requests, the confirm popup, runs, results, retry and undo.

use super::*;

pub(super) fn request(s: &mut State, verb: Verb) -> Vec<Effect> {
    if s.screen != Screen::Members {
        return vec![];
    }
    let Some(room) = s.members.room.clone() else {
        return vec![];
    };
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
                loaded: targets.len(),
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
    let requests = to_requests(&room.id, &targets, verb);
    open_popup(s, verb, scope, room, targets, hidden, requests, false)
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
        dry_run: false,
        typed: String::new(),
        scroll: 0,
    });
    if undo {
        vec![Effect::PlanUndo { seq, requests }]
    } else {
        vec![Effect::Plan { seq, requests }]
    }
}

pub(super) fn retry_failed(s: &mut State) -> Vec<Effect> {
    let Some(r) = &s.results else {
        return vec![];
    };
    let failed: Vec<_> = r
        .rows
        .iter()
        .filter(|row| row.status == Some(Status::Failed))
        .collect();
    if failed.is_empty() {
        info(s, "no failed rows to retry");
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
    if r.dry_run {
        info(s, "that was a dry run: nothing to undo");
        return vec![];
    }
    // Removed users come back, demoted ones get their role back: both are a
    // re-add with the role the row had before.
    let undoable =
        |status: Option<Status>| matches!(status, Some(Status::Removed | Status::Demoted));
    let targets: Vec<Target> = r
        .rows
        .iter()
        .filter(|row| undoable(row.status))
        .map(|row| Target {
            user: row.user.clone(),
            name: row.name.clone(),
            role: row.role.unwrap_or(crate::model::Role::Member),
        })
        .collect();
    if targets.is_empty() {
        info(s, "no removed or demoted users to undo");
        return vec![];
    }
    let room = r.room.clone();
    let mut requests = to_requests(&room.id, &targets, Verb::Readd);
    for (req, row) in requests
        .iter_mut()
        .zip(r.rows.iter().filter(|row| undoable(row.status)))
    {
        req.role = row.role;
    }
    open_popup(
        s,
        Verb::Readd,
        Scope::Undo,
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
    match &p.planning {
        Planning::Ready { .. } => {}
        Planning::Failed(_) => {
            info(s, "planning failed; Esc closes");
            return vec![];
        }
        Planning::Pending => {
            info(s, "still checking guards…");
            return vec![];
        }
    }
    if p.needs_typed_count() && p.typed.trim() != p.targets.len().to_string() {
        // A prompt, not an error: it must not outlive the popup.
        info(
            s,
            format!("type {} (the number of users) to confirm", p.targets.len()),
        );
        return vec![];
    }
    let Some(p) = s.popup.take() else {
        return vec![];
    };
    let note = (!p.reason.trim().is_empty()).then(|| p.reason.trim().to_string());
    let Planning::Ready { mut plan, .. } = p.planning else {
        return vec![];
    };
    for row in &mut plan.rows {
        if row.note.is_none() {
            row.note = note.clone();
        }
    }
    let resolving = matches!(p.scope, Scope::AllMatching { .. }) && !s.members.complete;
    s.batch = Some(Batch {
        verb: p.verb,
        room: p.room.clone(),
        progress: crate::ops::Progress {
            total: plan.rows.len(),
            ..Default::default()
        },
        dry_run: p.dry_run,
        cancelling: false,
        resolving: resolving.then_some(Resolving { note: note.clone() }),
    });
    if s.screen != Screen::Progress {
        go(s, Screen::Progress);
    }
    if resolving {
        // Marks and the predicate stay until the room is loaded.
        info(s, "loading the rest of the room to resolve the mark-all…");
        return vec![];
    }
    if matches!(p.scope, Scope::Marked | Scope::AllMatching { .. }) {
        clear_marks(s);
    }
    start_results(s, &plan, p.room, p.dry_run);
    vec![Effect::Run {
        plan,
        dry_run: p.dry_run,
    }]
}

/// Resolves a mark-all predicate once the room is fully loaded.
pub(super) fn resolve_predicate(s: &mut State, note: Option<String>) -> Vec<Effect> {
    let Some(b) = s.batch.as_ref() else {
        return vec![];
    };
    let (verb, room, dry_run) = (b.verb, b.room.clone(), b.dry_run);
    let ms = &s.members;
    let pred = ms.predicate.clone();
    let q = pred.as_ref().map(|p| Query::parse(&p.query));
    let targets: Vec<Target> = ms
        .store
        .iter_from(0)
        .map(|(_, m)| m)
        .filter(|m| !ms.gone.contains(&m.user))
        .filter(|m| {
            ms.marks.contains(&m.user)
                || (q.as_ref().is_some_and(|q| q.matches(m))
                    && !pred.as_ref().is_some_and(|p| p.except.contains(&m.user)))
        })
        .map(|m| Target {
            user: m.user.clone(),
            name: m.name.clone(),
            role: ms.role_of(&m.user, m.role),
        })
        .collect();
    clear_marks(s);
    let mut requests = to_requests(&room.id, &targets, verb);
    for r in &mut requests {
        r.note = note.clone();
    }
    info(s, format!("resolved {} targets", num(requests.len())));
    vec![Effect::PlanAndRun { requests, dry_run }]
}

pub(super) fn start_results(s: &mut State, plan: &Plan, room: Room, dry_run: bool) {
    let mut names: std::collections::HashMap<crate::model::UserId, Option<std::sync::Arc<str>>> =
        plan.rows.iter().map(|r| (r.user.clone(), None)).collect();
    if s.members.room.as_ref().map(|r| &r.id) == Some(&room.id) {
        for (_, m) in s.members.store.iter_from(0) {
            if let Some(n) = names.get_mut(&m.user) {
                *n = m.name.clone();
            }
        }
    }
    let rows: Vec<ResultRow> = plan
        .rows
        .iter()
        .map(|r| ResultRow {
            user: r.user.clone(),
            name: names.get(&r.user).cloned().flatten(),
            verb: r.action,
            role: r.role,
            status: None,
            reason: None,
        })
        .collect();
    s.results = Some(ResultsState::new(String::new(), room, dry_run, rows));
}

pub(super) fn run_done(s: &mut State, report: crate::ops::Report) -> Vec<Effect> {
    let batch = s.batch.take();
    let dry_run = batch.as_ref().is_some_and(|b| b.dry_run);
    if let Some(r) = s.results.as_mut() {
        r.batch = report.batch.clone();
        for (row, o) in r.rows.iter_mut().zip(&report.outcomes) {
            row.status = Some(o.status);
            row.reason = o.reason.clone();
        }
        r.recount();
        r.refresh_view();
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
                            .and_then(|r| r.rows.get(i))
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
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
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
    info(
        s,
        format!(
            "{}batch done: {}",
            if dry_run { "dry-run " } else { "" },
            summary.join(", ")
        ),
    );
    effects
}

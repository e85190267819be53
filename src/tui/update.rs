//! The one place the state changes: `update(state, action) -> effects`.

use super::action::{Action, Effect};
use super::keymap::{Cmd, Ctx, Key, Resolved, entry};
use super::state::*;
use super::store::{self, Query};
use crate::model::{Action as Verb, Room, RoomId, Status};
use crate::ops::RunEvent;
use crate::ops::plan::{Plan, Request};
use ratatui::crossterm::event::KeyCode;

/// Applies one action; returns the effects to run.
pub fn update(s: &mut State, a: Action) -> Vec<Effect> {
    s.dirty = true;
    match a {
        Action::Key(k) => on_key(s, k),
        Action::Scroll(n) => {
            let cmd = if n > 0 { Cmd::Down } else { Cmd::Up };
            (0..n.unsigned_abs().min(10))
                .flat_map(|_| on_cmd(s, cmd))
                .collect()
        }
        Action::Resize(w, h) => {
            s.size = (w, h);
            clamp_all(s);
            vec![]
        }
        Action::RoomsLoaded(Ok(rooms)) => {
            s.rooms.rooms = rooms;
            s.rooms.loading = false;
            refilter_rooms(s);
            vec![]
        }
        Action::RoomsLoaded(Err(e)) => {
            s.rooms.loading = false;
            error(s, format!("rooms: {e}"));
            vec![]
        }
        Action::MembersPage {
            seq,
            items,
            total,
            done,
        } => members_page(s, seq, items, total, done),
        Action::MembersFailed { seq, error: e } => {
            if seq == s.members.load_gen {
                s.members.loading = false;
                error(s, format!("members: {e} (ctrl-r retries)"));
                if s.batch.as_ref().is_some_and(|b| b.resolving.is_some()) {
                    s.batch = None;
                    leave_progress(s);
                }
            }
            vec![]
        }
        Action::Filtered { seq, view, upto } => {
            let m = &mut s.members;
            if seq != m.filter_gen {
                return vec![];
            }
            let at = m.view.get(m.pos.cursor).copied();
            m.view = view;
            let q = Query::parse(&m.filter.text);
            m.view.extend(store::filter(&m.store, upto, &q, &m.gone));
            m.filter_pending = false;
            keep_cursor_on(&m.view, &mut m.pos, at);
            let h = s.list_height();
            s.members.pos.clamp(s.members.view.len(), h);
            vec![]
        }
        Action::RoomFound(Ok(room)) => open_room(s, room),
        Action::RoomFound(Err(e)) => {
            error(s, e);
            vec![]
        }
        Action::Planned { seq, result } => {
            if let Some(p) = s.popup.as_mut().filter(|p| p.seq == seq) {
                match result {
                    Ok(plan) => p.plan = Some(plan),
                    Err(e) => p.plan_error = Some(e),
                }
            }
            vec![]
        }
        Action::Started(plan) => {
            if let Some(b) = s.batch.as_mut() {
                b.progress.total = plan.rows.len();
                let room = b.room.clone();
                let dry = b.dry_run;
                start_results(s, &plan, room, dry);
            }
            vec![]
        }
        Action::Run(RunEvent::Progress(p)) => {
            if let Some(b) = s.batch.as_mut() {
                b.progress = p;
            }
            vec![]
        }
        Action::Run(RunEvent::Row { index, outcome }) => {
            if let Some(r) = s.results.as_mut() {
                r.set(index, outcome.status, outcome.reason);
            }
            vec![]
        }
        Action::RunDone(report) => run_done(s, report),
        Action::RunFailed(e) => {
            s.batch = None;
            leave_progress(s);
            error(s, format!("batch not run: {e}"));
            vec![]
        }
        Action::AuditLoaded(r) => {
            s.audit.loading = false;
            match r {
                Ok(mut recs) => {
                    recs.reverse();
                    s.audit.records = recs;
                    s.audit.error = None;
                }
                Err(e) => s.audit.error = Some(e),
            }
            let h = s.list_height();
            s.audit.pos.clamp(s.audit.records.len(), h);
            vec![]
        }
        Action::ProfileSwitched(Ok(header)) => {
            let name = header.profile.clone();
            s.header = header;
            s.members = MembersState::default();
            s.rooms = RoomsState {
                loading: true,
                ..RoomsState::default()
            };
            s.results = None;
            s.screen = Screen::Rooms;
            s.back.clear();
            info(s, format!("profile {name}"));
            vec![Effect::StopMembers, Effect::LoadRooms]
        }
        Action::ProfileSwitched(Err(e)) => {
            error(s, e);
            vec![]
        }
        Action::Status { text, error: e } => {
            if e {
                error(s, text);
            } else {
                info(s, text);
            }
            vec![]
        }
    }
}

/// A plain message. An error on the status line stays until `Esc`
/// dismisses it; the message then rides along after it.
fn info(s: &mut State, text: impl Into<String>) {
    let text = text.into();
    match s.status.as_mut() {
        Some(st) if st.error => st.note = Some(text),
        _ => {
            s.status = Some(StatusLine {
                text,
                ..StatusLine::default()
            })
        }
    }
}

fn error(s: &mut State, text: impl Into<String>) {
    s.status = Some(StatusLine {
        text: text.into(),
        error: true,
        note: None,
    });
}

/// Thousands separators: 120000 -> "120,000".
pub fn num(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn clamp_all(s: &mut State) {
    let h = s.list_height();
    s.rooms.pos.clamp(s.rooms.view.len(), h);
    s.members.pos.clamp(s.members.view.len(), h);
    s.audit.pos.clamp(s.audit.records.len(), h);
    let rh = s.height_of(Screen::Results);
    if let Some(r) = s.results.as_mut() {
        r.pos.clamp(r.view.len(), rh);
    }
    let help = list_len_of(s, Screen::Help);
    s.help_pos.clamp(help, 1);
}

fn contexts(s: &State) -> &'static [Ctx] {
    match s.screen {
        Screen::Rooms => &[Ctx::Rooms, Ctx::List, Ctx::Global],
        Screen::Members => &[Ctx::Members, Ctx::List, Ctx::Global],
        Screen::Results => &[Ctx::Results, Ctx::List, Ctx::Global],
        Screen::Progress => &[Ctx::Progress, Ctx::Global],
        Screen::Audit | Screen::Help => &[Ctx::List, Ctx::Global],
    }
}

fn on_key(s: &mut State, k: Key) -> Vec<Effect> {
    let km = &s.keymap;
    if s.too_small() {
        if let Resolved::Cmd(Cmd::Quit) = km.resolve(None, k, &[Ctx::Global]) {
            return on_cmd(s, Cmd::Quit);
        }
        return vec![];
    }
    if s.ask_quit {
        s.ask_quit = false;
        if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) && !k.ctrl {
            s.quit = true;
            return vec![Effect::CancelRun];
        }
        info(s, "quit cancelled; the batch goes on");
        return vec![];
    }
    // ctrl-c (a ctrl binding of quit) works in every input mode: the
    // command line, the filter, the popup and its reason field.
    if k.ctrl
        && s.keymap.resolve(None, k, &[Ctx::Global]) == Resolved::Cmd(Cmd::Quit)
        && (s.command.is_some() || s.popup.is_some() || editing_filter(s).is_some())
    {
        return on_cmd(s, Cmd::Quit);
    }
    if let Some(line) = s.command.as_mut() {
        match k.code {
            KeyCode::Enter => {
                let line = s.command.take().unwrap_or_default();
                return run_command(s, &line);
            }
            KeyCode::Esc => s.command = None,
            KeyCode::Backspace if line.pop().is_none() => s.command = None,
            KeyCode::Char(c) if !k.ctrl => line.push(c),
            _ => {}
        }
        return vec![];
    }
    if let Some(p) = s.popup.as_mut() {
        if p.editing_reason {
            match k.code {
                KeyCode::Enter | KeyCode::Esc => p.editing_reason = false,
                KeyCode::Backspace => {
                    p.reason.pop();
                }
                KeyCode::Char(c) if !k.ctrl => p.reason.push(c),
                _ => {}
            }
            return vec![];
        }
        match k.code {
            KeyCode::Char(c) if c.is_ascii_digit() && !k.ctrl => {
                p.typed.push(c);
                return vec![];
            }
            KeyCode::Backspace => {
                p.typed.pop();
                return vec![];
            }
            _ => {}
        }
        return match s.keymap.resolve(None, k, &[Ctx::Popup]) {
            Resolved::Cmd(cmd) => on_cmd(s, cmd),
            _ => vec![],
        };
    }
    if let Some(f) = editing_filter(s) {
        match k.code {
            KeyCode::Enter => f.editing = false,
            KeyCode::Esc => {
                f.editing = false;
                f.text.clear();
                return refilter(s);
            }
            KeyCode::Backspace => {
                f.text.pop();
                return refilter(s);
            }
            KeyCode::Char(c) if !k.ctrl => {
                f.text.push(c);
                return refilter(s);
            }
            KeyCode::Down | KeyCode::Up => {
                return on_cmd(
                    s,
                    if k.code == KeyCode::Down {
                        Cmd::Down
                    } else {
                        Cmd::Up
                    },
                );
            }
            _ => {}
        }
        return vec![];
    }
    let pending = s.pending_key.take();
    let ctxs = contexts(s);
    let mut r = s.keymap.resolve(pending, k, ctxs);
    if r == Resolved::None && pending.is_some() {
        r = s.keymap.resolve(None, k, ctxs);
    }
    match r {
        Resolved::Cmd(cmd) => on_cmd(s, cmd),
        Resolved::Pending => {
            s.pending_key = Some(k);
            s.dirty = false;
            vec![]
        }
        Resolved::None => {
            s.dirty = false;
            vec![]
        }
    }
}

fn editing_filter(s: &mut State) -> Option<&mut FilterInput> {
    match s.screen {
        Screen::Rooms if s.rooms.filter.editing => Some(&mut s.rooms.filter),
        Screen::Members if s.members.filter.editing => Some(&mut s.members.filter),
        _ => None,
    }
}

fn list_len(s: &State) -> usize {
    list_len_of(s, s.screen)
}

fn list_len_of(s: &State, screen: Screen) -> usize {
    match screen {
        Screen::Rooms => s.rooms.view.len(),
        Screen::Members => s.members.view.len(),
        Screen::Results => s.results.as_ref().map_or(0, |r| r.view.len()),
        Screen::Audit => s.audit.records.len(),
        // Help scrolls by its first line: the last page starts at
        // `lines - height`, so `k` scrolls back at once from the bottom.
        Screen::Help => {
            let page = (s.size.1 as usize).saturating_sub(5).max(1);
            super::view::help_line_count(s).saturating_sub(page) + 1
        }
        Screen::Progress => 0,
    }
}

fn pos_mut(s: &mut State) -> Option<&mut Pos> {
    match s.screen {
        Screen::Rooms => Some(&mut s.rooms.pos),
        Screen::Members => Some(&mut s.members.pos),
        Screen::Results => s.results.as_mut().map(|r| &mut r.pos),
        Screen::Audit => Some(&mut s.audit.pos),
        Screen::Help => Some(&mut s.help_pos),
        Screen::Progress => None,
    }
}

fn move_by(s: &mut State, delta: isize) {
    let len = list_len(s);
    let h = match s.screen {
        // Help's cursor is its first shown line.
        Screen::Help => 1,
        screen => s.height_of(screen),
    };
    if let Some(p) = pos_mut(s) {
        p.cursor = p.cursor.saturating_add_signed(delta);
        p.clamp(len, h);
    }
}

fn on_cmd(s: &mut State, cmd: Cmd) -> Vec<Effect> {
    if entry(cmd).changes && s.header.read_only {
        error(
            s,
            format!(
                "read-only profile `{}`: {} is disabled",
                s.header.profile,
                entry(cmd).name
            ),
        );
        return vec![];
    }
    let h = match s.screen {
        Screen::Help => (s.size.1 as isize - 5).max(1),
        screen => s.height_of(screen) as isize,
    };
    match cmd {
        Cmd::Down => move_by(s, 1),
        Cmd::Up => move_by(s, -1),
        Cmd::PageDown => move_by(s, h),
        Cmd::PageUp => move_by(s, -h),
        Cmd::HalfDown => move_by(s, h / 2),
        Cmd::HalfUp => move_by(s, -h / 2),
        Cmd::Top => move_by(s, isize::MIN / 2),
        Cmd::Bottom => move_by(s, isize::MAX / 2),
        Cmd::Open => {
            if s.screen == Screen::Rooms
                && let Some(room) = s
                    .rooms
                    .view
                    .get(s.rooms.pos.cursor)
                    .and_then(|i| s.rooms.rooms.get(*i as usize))
                    .cloned()
            {
                return open_room(s, room);
            }
        }
        Cmd::Back => return back(s),
        Cmd::Mark => {
            if let Some(m) = cursor_member(s) {
                let user = m.user.clone();
                let ms = &mut s.members;
                if !ms.marks.remove(&user) {
                    ms.marks.insert(user.clone());
                    if let Some(p) = ms.predicate.as_mut() {
                        p.except.remove(&user);
                    }
                } else if let Some(p) = ms.predicate.as_mut() {
                    p.except.insert(user);
                }
                move_by(s, 1);
            }
        }
        Cmd::Visual => {
            if s.screen == Screen::Members {
                if s.members.visual.is_some() {
                    let n = commit_range(s);
                    info(s, format!("marked {} in the range", num(n)));
                } else if !s.members.view.is_empty() {
                    s.members.visual = Some(s.members.pos.cursor);
                }
            }
        }
        Cmd::ExtendDown | Cmd::ExtendUp => {
            if s.screen == Screen::Members && !s.members.view.is_empty() {
                if s.members.visual.is_none() {
                    s.members.visual = Some(s.members.pos.cursor);
                }
                move_by(s, if cmd == Cmd::ExtendDown { 1 } else { -1 });
            }
        }
        Cmd::MarkAll => {
            if s.screen == Screen::Members {
                let ms = &mut s.members;
                for i in &ms.view {
                    if let Some(m) = ms.store.get(*i) {
                        ms.marks.insert(m.user.clone());
                    }
                }
                let n = ms.view.len();
                let q = ms.filter.text.trim().to_string();
                let text = if ms.complete {
                    ms.predicate = None;
                    format!("marked {}{}", num(n), filter_note(&q))
                } else {
                    ms.predicate = Some(Predicate {
                        query: q.clone(),
                        except: Default::default(),
                    });
                    format!(
                        "marked {} loaded so far{}; the rest of the room is resolved when the batch runs",
                        num(n),
                        filter_note(&q)
                    )
                };
                info(s, text);
            }
        }
        Cmd::Invert => {
            if s.screen == Screen::Members {
                let ms = &mut s.members;
                let had_predicate = ms.predicate.take().is_some();
                for i in &ms.view {
                    if let Some(m) = ms.store.get(*i)
                        && !ms.marks.remove(&m.user)
                    {
                        ms.marks.insert(m.user.clone());
                    }
                }
                let n = ms.marks.len();
                info(
                    s,
                    format!(
                        "inverted: {} marked{}",
                        num(n),
                        if had_predicate {
                            " (loaded rows only)"
                        } else {
                            ""
                        }
                    ),
                );
            }
        }
        Cmd::ClearMarks => {
            if s.screen == Screen::Members {
                clear_marks(s);
                info(s, "marks cleared");
            }
        }
        Cmd::Filter => match s.screen {
            Screen::Rooms => s.rooms.filter.editing = true,
            Screen::Members => s.members.filter.editing = true,
            _ => s.dirty = false,
        },
        Cmd::Command => s.command = Some(String::new()),
        Cmd::Remove => return request(s, Verb::Remove),
        Cmd::Demote => return request(s, Verb::Demote),
        Cmd::Results => {
            if s.results.is_some() {
                go(s, Screen::Results);
            } else {
                info(s, "no batch has run yet");
            }
        }
        Cmd::Audit => {
            go(s, Screen::Audit);
            s.audit.loading = true;
            return vec![Effect::LoadAudit];
        }
        Cmd::Failures => {
            if let Some(r) = s.results.as_mut() {
                r.failures_only = !r.failures_only;
                r.refresh_view();
                r.pos = Pos::default();
            }
        }
        Cmd::Retry => return retry_failed(s),
        Cmd::Undo => return undo(s),
        Cmd::Export => {
            if let Some(r) = &s.results {
                let outcomes = r
                    .rows
                    .iter()
                    .filter_map(|row| {
                        Some(crate::model::Outcome {
                            room: r.room.id.clone(),
                            user: row.user.clone(),
                            action: row.verb,
                            status: row.status?,
                            reason: row.reason.clone(),
                        })
                    })
                    .collect();
                return vec![Effect::Export {
                    batch: r.batch.clone(),
                    outcomes,
                }];
            }
        }
        Cmd::Refresh => return refresh(s),
        Cmd::Copy => {
            let id = match s.screen {
                Screen::Rooms => s
                    .rooms
                    .view
                    .get(s.rooms.pos.cursor)
                    .and_then(|i| s.rooms.rooms.get(*i as usize))
                    .map(|r| r.id.to_string()),
                Screen::Members => cursor_member(s).map(|m| m.user.to_string()),
                Screen::Results => s.results.as_ref().and_then(|r| {
                    r.view
                        .get(r.pos.cursor)
                        .and_then(|i| r.rows.get(*i as usize))
                        .map(|row| row.user.to_string())
                }),
                _ => None,
            };
            if let Some(id) = id {
                info(s, format!("copied {id}"));
                return vec![Effect::Copy(id)];
            }
        }
        Cmd::Help => {
            if s.screen != Screen::Help {
                s.help_pos = Pos::default();
                go(s, Screen::Help);
            }
        }
        Cmd::Quit => {
            if s.batch.is_some() {
                s.ask_quit = true;
            } else {
                s.quit = true;
            }
        }
        Cmd::Confirm => return confirm(s),
        Cmd::Cancel => {
            if s.popup.take().is_some() {
                info(s, "cancelled; nothing was sent");
            }
        }
        Cmd::ScrollDown | Cmd::ScrollUp => {
            if let Some(p) = s.popup.as_mut() {
                p.scroll = if cmd == Cmd::ScrollDown {
                    (p.scroll + 1).min(p.targets.len().saturating_sub(1))
                } else {
                    p.scroll.saturating_sub(1)
                };
            }
        }
        Cmd::Reason => {
            if let Some(p) = s.popup.as_mut() {
                p.editing_reason = true;
            }
        }
        Cmd::DryRun => {
            if let Some(p) = s.popup.as_mut() {
                p.dry_run = !p.dry_run;
            }
        }
        Cmd::CancelBatch => {
            if let Some(b) = s.batch.as_mut() {
                b.cancelling = true;
                if b.resolving.is_some() {
                    s.batch = None;
                    leave_progress(s);
                    info(s, "cancelled before anything was sent");
                    return vec![];
                }
                info(s, "cancelling after the call in flight…");
                return vec![Effect::CancelRun];
            }
            return back(s);
        }
    }
    vec![]
}

fn filter_note(q: &str) -> String {
    if q.is_empty() {
        String::new()
    } else {
        format!(" (filter: {q})")
    }
}

fn go(s: &mut State, screen: Screen) {
    if s.screen != screen {
        s.back.push(s.screen);
        s.screen = screen;
    }
}

fn leave_progress(s: &mut State) {
    if s.screen == Screen::Progress {
        s.screen = s.back.pop().unwrap_or(Screen::Members);
    }
}

fn cursor_member(s: &State) -> Option<&crate::model::Member> {
    if s.screen != Screen::Members {
        return None;
    }
    let m = &s.members;
    m.view.get(m.pos.cursor).and_then(|i| m.store.get(*i))
}

fn commit_range(s: &mut State) -> usize {
    let ms = &mut s.members;
    let Some(a) = ms.visual.take() else {
        return 0;
    };
    let (lo, hi) = (a.min(ms.pos.cursor), a.max(ms.pos.cursor));
    let mut n = 0;
    for p in lo..=hi.min(ms.view.len().saturating_sub(1)) {
        if let Some(m) = ms.store.get(ms.view[p]) {
            if let Some(pr) = ms.predicate.as_mut() {
                pr.except.remove(&m.user);
            }
            ms.marks.insert(m.user.clone());
            n += 1;
        }
    }
    n
}

fn clear_marks(s: &mut State) {
    s.members.marks.clear();
    s.members.predicate = None;
    s.members.visual = None;
}

/// `Esc`: popup, error, filter, visual range, marks, then the screen.
fn back(s: &mut State) -> Vec<Effect> {
    if s.popup.take().is_some() {
        return vec![];
    }
    if s.status.as_ref().is_some_and(|st| st.error) {
        s.status = s
            .status
            .take()
            .and_then(|st| st.note)
            .map(|text| StatusLine {
                text,
                ..StatusLine::default()
            });
        return vec![];
    }
    match s.screen {
        Screen::Rooms if !s.rooms.filter.text.is_empty() || s.rooms.filter.editing => {
            s.rooms.filter = FilterInput::default();
            return refilter(s);
        }
        Screen::Members => {
            if !s.members.filter.text.is_empty() || s.members.filter.editing {
                s.members.filter = FilterInput::default();
                return refilter(s);
            }
            if s.members.visual.is_some() {
                s.members.visual = None;
                return vec![];
            }
            if !s.members.marks.is_empty() || s.members.predicate.is_some() {
                clear_marks(s);
                info(s, "marks cleared");
                return vec![];
            }
        }
        Screen::Progress => return vec![],
        _ => {}
    }
    match s.back.pop() {
        Some(prev) => s.screen = prev,
        None => s.dirty = false,
    }
    vec![]
}

fn refilter(s: &mut State) -> Vec<Effect> {
    match s.screen {
        Screen::Rooms => {
            refilter_rooms(s);
            vec![]
        }
        Screen::Members => refilter_members(s),
        _ => vec![],
    }
}

/// After a view is rebuilt, puts the cursor back on the item it was on
/// (views hold ascending indices), or on the next one still shown, as k9s
/// and lazygit do when a filter changes.
fn keep_cursor_on(view: &[u32], pos: &mut Pos, item: Option<u32>) {
    if let Some(item) = item {
        pos.cursor = match view.binary_search(&item) {
            Ok(p) | Err(p) => p,
        };
    }
}

fn refilter_rooms(s: &mut State) {
    let q = s.rooms.filter.text.to_lowercase();
    let r = &mut s.rooms;
    let at = r.view.get(r.pos.cursor).copied();
    r.view = r
        .rooms
        .iter()
        .enumerate()
        .filter(|(_, room)| {
            q.is_empty() || room.id.as_str().contains(&q) || room.name.to_lowercase().contains(&q)
        })
        .map(|(i, _)| i as u32)
        .collect();
    keep_cursor_on(&r.view, &mut r.pos, at);
    let h = s.list_height();
    s.rooms.pos.clamp(s.rooms.view.len(), h);
}

/// Recomputes the members view: at once for small lists, on a blocking
/// task for big ones (the old view stays until the new one arrives).
fn refilter_members(s: &mut State) -> Vec<Effect> {
    let ms = &mut s.members;
    ms.filter_gen += 1;
    let query = Query::parse(&ms.filter.text);
    if ms.store.len() <= SYNC_FILTER_MAX {
        let at = ms.view.get(ms.pos.cursor).copied();
        ms.view = store::filter(&ms.store, 0, &query, &ms.gone);
        ms.filter_pending = false;
        keep_cursor_on(&ms.view, &mut ms.pos, at);
        let h = s.list_height();
        s.members.pos.clamp(s.members.view.len(), h);
        vec![]
    } else {
        ms.filter_pending = true;
        vec![Effect::Filter {
            seq: ms.filter_gen,
            store: ms.store.clone(),
            query,
            gone: ms.gone.clone(),
        }]
    }
}

fn open_room(s: &mut State, room: Room) -> Vec<Effect> {
    let same = s.members.room.as_ref().is_some_and(|r| r.id == room.id);
    if s.screen != Screen::Members {
        go(s, Screen::Members);
    }
    if same && (s.members.loading || s.members.complete) {
        return vec![];
    }
    let seq = s.members.load_gen + 1;
    s.members = MembersState {
        room: Some(room.clone()),
        load_gen: seq,
        loading: true,
        total_hint: room.member_count,
        ..MembersState::default()
    };
    vec![Effect::LoadMembers { room: room.id, seq }]
}

fn members_page(
    s: &mut State,
    seq: u64,
    items: Vec<crate::model::Member>,
    total: Option<u64>,
    done: bool,
) -> Vec<Effect> {
    let h = s.list_height();
    let ms = &mut s.members;
    if seq != ms.load_gen {
        s.dirty = false;
        return vec![];
    }
    let from = ms.store.len();
    if !ms.gone.is_empty() {
        ms.gone_loaded += items.iter().filter(|m| ms.gone.contains(&m.user)).count();
    }
    ms.store.push_page(items);
    if total.is_some() {
        ms.total_hint = total;
    }
    if !ms.filter_pending {
        let q = Query::parse(&ms.filter.text);
        if q.is_empty() && ms.gone.is_empty() {
            ms.view.extend(from as u32..ms.store.len() as u32);
        } else {
            ms.view.extend(store::filter(&ms.store, from, &q, &ms.gone));
        }
    }
    ms.pos.clamp(ms.view.len(), h);
    if done {
        ms.loading = false;
        ms.complete = true;
        if let Some(Resolving { note }) = s.batch.as_mut().and_then(|b| b.resolving.take()) {
            return resolve_predicate(s, note);
        }
    }
    vec![]
}

fn refresh(s: &mut State) -> Vec<Effect> {
    match s.screen {
        Screen::Rooms => {
            s.rooms.loading = true;
            vec![Effect::LoadRooms]
        }
        Screen::Members => {
            let Some(room) = s.members.room.clone() else {
                return vec![];
            };
            let ms = &mut s.members;
            ms.load_gen += 1;
            ms.store = Default::default();
            ms.view.clear();
            ms.loading = true;
            ms.complete = false;
            ms.filter_pending = false;
            ms.filter_gen += 1;
            ms.gone.clear();
            ms.gone_loaded = 0;
            ms.roles.clear();
            vec![Effect::LoadMembers {
                room: room.id,
                seq: ms.load_gen,
            }]
        }
        Screen::Audit => {
            s.audit.loading = true;
            vec![Effect::LoadAudit]
        }
        _ => {
            s.dirty = false;
            vec![]
        }
    }
}

fn run_command(s: &mut State, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("q" | "quit" | "q!"), None) => on_cmd(s, Cmd::Quit),
        (Some("room"), Some(id)) => {
            let found = s.rooms.rooms.iter().find(|r| r.id.as_str() == id).cloned();
            match found {
                Some(room) => {
                    if s.screen != Screen::Rooms && s.screen != Screen::Members {
                        s.screen = Screen::Rooms;
                        s.back.clear();
                    }
                    open_room(s, room)
                }
                None => {
                    info(s, format!("looking up room {id}…"));
                    vec![Effect::FindRoom(RoomId::from(id))]
                }
            }
        }
        (Some("profile"), Some(name)) => {
            if s.batch.is_some() {
                error(s, "a batch is running; switch profiles when it ends");
                return vec![];
            }
            info(s, format!("switching to profile {name}…"));
            vec![Effect::SwitchProfile(name.to_string())]
        }
        (Some("audit"), None) => on_cmd(s, Cmd::Audit),
        (Some("help"), None) => on_cmd(s, Cmd::Help),
        (None, _) => vec![],
        _ => {
            error(
                s,
                format!("unknown command `:{line}`; try :room ID, :profile NAME, :audit, :q"),
            );
            vec![]
        }
    }
}

fn request(s: &mut State, verb: Verb) -> Vec<Effect> {
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

fn to_requests(room: &RoomId, targets: &[Target], verb: Verb) -> Vec<Request> {
    targets
        .iter()
        .map(|t| Request {
            role: (verb == Verb::Readd).then_some(t.role),
            ..Request::new(room.clone(), t.user.clone(), verb)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn open_popup(
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
        plan: None,
        plan_error: None,
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

fn retry_failed(s: &mut State) -> Vec<Effect> {
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

fn undo(s: &mut State) -> Vec<Effect> {
    let Some(r) = &s.results else {
        return vec![];
    };
    if r.dry_run {
        info(s, "that was a dry run: nothing to undo");
        return vec![];
    }
    let targets: Vec<Target> = r
        .rows
        .iter()
        .filter(|row| row.status == Some(Status::Removed))
        .map(|row| Target {
            user: row.user.clone(),
            name: row.name.clone(),
            role: row.role.unwrap_or(crate::model::Role::Member),
        })
        .collect();
    if targets.is_empty() {
        info(s, "no removed users to re-add");
        return vec![];
    }
    let room = r.room.clone();
    let mut requests = to_requests(&room.id, &targets, Verb::Readd);
    for (req, row) in requests.iter_mut().zip(
        r.rows
            .iter()
            .filter(|row| row.status == Some(Status::Removed)),
    ) {
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

fn confirm(s: &mut State) -> Vec<Effect> {
    let Some(p) = s.popup.as_ref() else {
        return vec![];
    };
    if p.plan.is_none() {
        info(
            s,
            if p.plan_error.is_some() {
                "planning failed; Esc closes"
            } else {
                "still checking guards…"
            },
        );
        return vec![];
    };
    if p.needs_typed_count() && p.typed.trim() != p.targets.len().to_string() {
        // A prompt, not an error: it must not outlive the popup.
        info(
            s,
            format!("type {} (the number of users) to confirm", p.targets.len()),
        );
        return vec![];
    }
    let p = s.popup.take().expect("checked above");
    let note = (!p.reason.trim().is_empty()).then(|| p.reason.trim().to_string());
    let mut plan = p.plan.expect("checked above");
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
fn resolve_predicate(s: &mut State, note: Option<String>) -> Vec<Effect> {
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

fn start_results(s: &mut State, plan: &Plan, room: Room, dry_run: bool) {
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

fn run_done(s: &mut State, report: crate::ops::Report) -> Vec<Effect> {
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
    for (i, o) in report.outcomes.iter().enumerate() {
        *counts.entry(o.status.as_str()).or_default() += 1;
        if s.members.room.as_ref().is_some_and(|r| r.id == o.room) {
            match o.status {
                Status::Removed | Status::AlreadyAbsent if o.action == Verb::Remove => {
                    s.members.gone.insert(o.user.clone());
                }
                Status::Readded => {
                    readded |= s.members.gone.remove(&o.user);
                }
                Status::Demoted => {
                    // Results rows and outcomes share their order.
                    let from = s
                        .results
                        .as_ref()
                        .and_then(|r| r.rows.get(i))
                        .filter(|row| row.user == o.user)
                        .and_then(|row| row.role);
                    let to = match from {
                        Some(crate::model::Role::Owner) => crate::model::Role::Admin,
                        _ => crate::model::Role::Member,
                    };
                    s.members.roles.insert(o.user.clone(), to);
                }
                _ => {}
            }
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let mut effects = vec![];
    let ms = &mut s.members;
    ms.gone_loaded = if ms.gone.is_empty() {
        0
    } else {
        ms.store
            .iter_from(0)
            .filter(|(_, m)| ms.gone.contains(&m.user))
            .count()
    };
    if !s.members.gone.is_empty() {
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

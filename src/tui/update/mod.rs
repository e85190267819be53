//! The one place the state changes: `update(state, action) -> effects`.

use super::action::{Action, Effect};
use super::format::num;
use super::keymap::{Cmd, Ctx, Key, Resolved, entry};
use super::state::*;
use super::store::{self, Query};
use crate::model::{Action as Verb, Room, RoomId, Status, UserId};
use crate::ops::RunEvent;
use crate::ops::plan::{Plan, Request};
use ratatui::crossterm::event::KeyCode;

mod batch;
mod commands;
mod members;

use batch::*;
use commands::*;
use members::*;

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
        Action::Tick => {
            s.ticks += 1;
            s.dirty = expire(s, |born, now| now >= born + INFO_TICKS);
            if let Some(b) = s.batch.as_mut() {
                b.rates.tick();
                s.dirty |= s.screen == Screen::Progress;
            }
            vec![]
        }
        Action::Resize(w, h) => {
            s.size = (w, h);
            clamp_all(s);
            vec![]
        }
        Action::RoomsLoaded(Ok(rooms)) => {
            resolved(s, ErrorAbout::Rooms);
            s.rooms.rooms = rooms;
            s.rooms.loading = false;
            refilter_rooms(s);
            vec![]
        }
        Action::RoomsLoaded(Err(e)) => {
            s.rooms.loading = false;
            error_about(s, format!("rooms: {e} (ctrl-r retries)"), ErrorAbout::Rooms);
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
                error_about(
                    s,
                    format!("members: {e} (ctrl-r retries)"),
                    ErrorAbout::Members,
                );
                if let Some(p) = s
                    .popup
                    .as_mut()
                    .filter(|p| matches!(p.planning, Planning::Resolving { .. }))
                {
                    p.planning = Planning::Failed(format!(
                        "the rest of the room could not be read ({e}), so the matching set is not known; Esc, then ctrl-r to reload"
                    ));
                }
            }
            vec![]
        }
        Action::RoundTrip(d) => {
            s.round_trip = Some(d);
            s.dirty = false;
            vec![]
        }
        Action::Filtered {
            seq,
            view,
            upto,
            gone_loaded,
        } => {
            let m = &mut s.members;
            if seq != m.filter_gen {
                return vec![];
            }
            let at = m.view.get(m.pos.cursor).copied();
            m.view = view;
            let q = Query::parse(&m.filter.text);
            m.view.extend(store::filter(&m.store, upto, &q, &m.gone));
            m.gone_loaded = gone_loaded + store::count_gone(&m.store, upto, &m.gone);
            m.filter_pending = false;
            keep_cursor_on(&m.view, &mut m.pos, at);
            let h = s.list_height();
            s.members.pos.clamp(s.members.view.len(), h);
            vec![]
        }
        Action::Paste(text) => on_paste(s, &text),
        Action::LookedUp {
            seq,
            found,
            absent,
            failed,
        } => looked_up(s, seq, found, absent, failed),
        Action::Membership(event) => membership(s, event),
        Action::RoomFound(Ok(room)) => open_room(s, room),
        Action::RoomFound(Err(e)) => {
            error(s, e);
            vec![]
        }
        Action::Planned { seq, result } => {
            if let Some(p) = s.popup.as_mut().filter(|p| p.seq == seq) {
                match result {
                    Ok(plan) if !plan.unread.is_empty() => {
                        p.planning = Planning::Failed(format!(
                            "could not read {}; nothing was sent",
                            plan.unread.join("; ")
                        ))
                    }
                    Ok(plan) => p.set_plan(plan, &s.header.caps, s.round_trip),
                    Err(e) => {
                        p.planning =
                            Planning::Failed(format!("could not plan: {e}; nothing was sent"))
                    }
                }
            }
            vec![]
        }
        Action::Run(RunEvent::Progress(p)) => {
            if let Some(b) = s.batch.as_mut() {
                b.rates.count(&p);
                b.progress = p;
            }
            vec![]
        }
        Action::Run(RunEvent::Row { index, outcome }) => {
            if let Some(r) = s.results.as_mut()
                && let Some(at) = r.map.get(index).copied()
            {
                r.set(at, outcome.status, outcome.reason);
            }
            vec![]
        }
        Action::RunDone(report) => run_done(s, report),
        Action::AuditLoaded(r) => {
            s.audit.loading = false;
            match r {
                Ok(mut recs) => {
                    recs.reverse();
                    s.audit.several_operators = recs
                        .first()
                        .is_some_and(|a| recs.iter().any(|r| r.operator != a.operator));
                    s.audit.set_records(recs, s.utc_offset);
                    s.audit.error = None;
                }
                Err(e) => s.audit.error = Some(e),
            }
            refilter_audit(s);
            vec![]
        }
        Action::ProfileSwitched(Ok(header)) => {
            let name = header.profile.clone();
            s.header = header;
            s.members = MembersState::default();
            s.rooms = RoomsState {
                loading: true,
                sort: s.rooms.sort,
                ..RoomsState::default()
            };
            s.results = None;
            s.round_trip = None;
            close_popup(s, format!("profile {name} opened"));
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

/// Closes the confirm popup because what it was about changed under it
/// (`why`); says so, and that nothing was sent.
fn close_popup(s: &mut State, why: String) {
    if s.popup.take().is_some() {
        info(
            s,
            format!("the confirm popup closed: {why}; nothing was sent"),
        );
    }
}

/// A plain message: it goes after `INFO_TICKS` seconds or at the next
/// key. An error (or a sticky message) on the status line stays until
/// `Esc` dismisses it (or what it reports works again); the message then
/// rides along after it.
fn info(s: &mut State, text: impl Into<String>) {
    let text = text.into();
    let born = s.ticks;
    match s.status.as_mut() {
        Some(st) if st.stays() => {
            st.note = Some(text);
            st.born = born;
        }
        _ => {
            s.status = Some(StatusLine {
                text,
                born,
                ..StatusLine::default()
            })
        }
    }
}

fn error(s: &mut State, text: impl Into<String>) {
    s.status = Some(StatusLine {
        text: text.into(),
        error: true,
        ..StatusLine::default()
    });
}

fn error_about(s: &mut State, text: impl Into<String>, about: ErrorAbout) {
    error(s, text);
    if let Some(st) = s.status.as_mut() {
        st.about = Some(about);
    }
}

/// What an error reported works again: the error goes.
fn resolved(s: &mut State, about: ErrorAbout) {
    if s.status.as_ref().is_some_and(|st| st.about == Some(about)) {
        let note = s.status.take().and_then(|st| st.note);
        s.status = note.map(|text| StatusLine {
            text,
            born: s.ticks,
            ..StatusLine::default()
        });
    }
}

/// Drops the plain message (or an error's note) when `gone(born, now)`;
/// returns whether anything went.
fn expire(s: &mut State, gone: impl Fn(u64, u64) -> bool) -> bool {
    let now = s.ticks;
    match s.status.as_mut() {
        Some(st) if st.stays() => st.note.take_if(|_| gone(st.born, now)).is_some(),
        Some(st) if gone(st.born, now) => {
            s.status = None;
            true
        }
        _ => false,
    }
}

fn clamp_all(s: &mut State) {
    let h = s.list_height();
    s.rooms.pos.clamp(s.rooms.view.len(), h);
    s.members.pos.clamp(s.members.view.len(), h);
    let ah = s.height_of(Screen::Audit);
    s.audit.pos.clamp(s.audit.view.len(), ah);
    let rh = s.height_of(Screen::Results);
    if let Some(r) = s.results.as_mut() {
        r.pos.clamp(r.view.len(), rh);
    }
    let help = list_len_of(s, Screen::Help);
    s.help_pos.clamp(help, 1);
}

fn contexts(s: &State) -> &'static [Ctx] {
    s.screen.contexts().keys
}

fn on_key(s: &mut State, k: Key) -> Vec<Effect> {
    // A plain message lasts until the next key.
    let expired = expire(s, |_, _| true);
    let km = &s.keymap;
    if s.too_small() {
        if let Resolved::Cmd(Cmd::Quit) = km.resolve(None, k, &[Ctx::Global]) {
            return on_cmd(s, Cmd::Quit);
        }
        return vec![];
    }
    // The question is about a running batch (the batch's end closes it).
    s.ask_quit &= s.batch.is_some();
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
    if k.code == KeyCode::Tab && s.command.is_some() {
        complete_command(s);
        return vec![];
    }
    s.completion = None;
    if let Some(line) = s.command.as_mut() {
        match k.code {
            KeyCode::Enter => {
                let line = s.command.take().unwrap_or_default();
                return run_command(s, &line);
            }
            KeyCode::Esc => s.command = None,
            KeyCode::Char('u') if k.ctrl => line.clear(),
            KeyCode::Backspace if line.pop().is_none() => s.command = None,
            KeyCode::Char(c) if !k.ctrl => line.push(c),
            _ => {}
        }
        return vec![];
    }
    // Help opened over the popup takes the keys until it closes; then the
    // popup (and its reason editor) is back as it was.
    let over_help = s.screen == Screen::Help;
    // The help key that types no text (F1) opens help from the editor too.
    let help_key = s.keymap.resolve(None, k, &[Ctx::Global]) == Resolved::Cmd(Cmd::Help);
    if let Some(p) = s.popup.as_mut().filter(|_| !over_help) {
        if p.editing_reason {
            match k.code {
                KeyCode::Char(c) if !k.ctrl => p.reason.push(c),
                _ if help_key => return on_cmd(s, Cmd::Help),
                KeyCode::Enter => p.editing_reason = false,
                KeyCode::Esc => {
                    // Esc drops this edit; Enter keeps it.
                    p.editing_reason = false;
                    p.reason = std::mem::take(&mut p.reason_before);
                }
                KeyCode::Backspace => {
                    p.reason.pop();
                }
                KeyCode::Char('u') if k.ctrl => p.reason.clear(),
                _ => {}
            }
            return vec![];
        }
        match k.code {
            KeyCode::Char(c) if (c.is_ascii_digit() || c == ',' || c == '.') && !k.ctrl => {
                p.typed.push(c);
                return vec![];
            }
            KeyCode::Backspace => {
                p.typed.pop();
                return vec![];
            }
            // As in the filter: ctrl-u empties the box.
            KeyCode::Char('u') if k.ctrl => {
                p.typed.clear();
                return vec![];
            }
            _ => {}
        }
        return match s.keymap.resolve(None, k, &[Ctx::Popup]) {
            Resolved::Cmd(cmd) => on_cmd(s, cmd),
            _ if help_key => on_cmd(s, Cmd::Help),
            _ if s.keymap.resolve(None, k, &[Ctx::Global]) == Resolved::Cmd(Cmd::Refresh) => {
                replan(s)
            }
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
            KeyCode::Char('u') if k.ctrl => {
                f.text.clear();
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
        // Over the popup, help only scrolls, closes, or quits.
        Resolved::Cmd(cmd) if s.popup.is_some() && !help_over_popup_takes(cmd) => {
            s.dirty = expired;
            vec![]
        }
        Resolved::Cmd(cmd) => on_cmd(s, cmd),
        Resolved::Pending => {
            s.pending_key = Some(k);
            s.dirty = expired;
            vec![]
        }
        Resolved::None => {
            s.dirty = expired;
            vec![]
        }
    }
}

/// The commands help answers while it is open over the confirm popup.
fn help_over_popup_takes(cmd: Cmd) -> bool {
    matches!(
        cmd,
        Cmd::Down
            | Cmd::Up
            | Cmd::PageDown
            | Cmd::PageUp
            | Cmd::HalfDown
            | Cmd::HalfUp
            | Cmd::Top
            | Cmd::Bottom
            | Cmd::Back
            | Cmd::Help
            | Cmd::Quit
    )
}

fn editing_filter(s: &mut State) -> Option<&mut FilterInput> {
    match s.screen {
        Screen::Rooms if s.rooms.filter.editing => Some(&mut s.rooms.filter),
        Screen::Members if s.members.filter.editing => Some(&mut s.members.filter),
        Screen::Audit if s.audit.filter.editing => Some(&mut s.audit.filter),
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
        Screen::Audit => s.audit.view.len(),
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

fn go(s: &mut State, screen: Screen) {
    if s.screen != screen {
        s.back.push(s.screen);
        s.screen = screen;
    }
}

/// `Esc`: popup, error, filter, visual range, marks, then the screen.
fn back(s: &mut State) -> Vec<Effect> {
    // Help over the popup closes first, back to the popup.
    if s.screen != Screen::Help && s.popup.take().is_some() {
        return vec![];
    }
    if s.status.as_ref().is_some_and(StatusLine::stays) {
        s.status = s
            .status
            .take()
            .and_then(|st| st.note)
            .map(|text| StatusLine {
                text,
                born: s.ticks,
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
            // Marks stay: only ctrl-\ clears them.
        }
        Screen::Audit if !s.audit.filter.text.is_empty() || s.audit.filter.editing => {
            s.audit.filter = FilterInput::default();
            return refilter(s);
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

//! The rooms and members lists: marks, filters, loading and refreshing.

use super::*;

pub(super) fn cursor_member(s: &State) -> Option<&crate::model::Member> {
    if s.screen != Screen::Members {
        return None;
    }
    let m = &s.members;
    m.view.get(m.pos.cursor).and_then(|i| m.store.get(*i))
}

pub(super) fn commit_range(s: &mut State) -> usize {
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

pub(super) fn refilter(s: &mut State) -> Vec<Effect> {
    match s.screen {
        Screen::Rooms => {
            refilter_rooms(s);
            vec![]
        }
        Screen::Members => refilter_members(s),
        Screen::Audit => {
            refilter_audit(s);
            vec![]
        }
        _ => vec![],
    }
}

/// The audit records the filter shows: any field as shown containing
/// the text (case-insensitive): time, user, room, action, status, reason,
/// ticket, batch, profile, operator.
pub(super) fn refilter_audit(s: &mut State) {
    let q = s.audit.filter.text.trim().to_lowercase();
    let a = &mut s.audit;
    let at = a.view.get(a.pos.cursor).copied();
    // A field never holds a line break (the filter line drops them), so
    // the text matches within one field.
    a.view = a
        .search
        .iter()
        .enumerate()
        .filter(|(_, text)| q.is_empty() || text.contains(&q))
        .map(|(i, _)| i as u32)
        .collect();
    keep_cursor_on(&a.view, &mut a.pos, at);
    let h = s.height_of(Screen::Audit);
    s.audit.pos.clamp(s.audit.view.len(), h);
}

/// After a view is rebuilt, puts the cursor back on the item it was on
/// (views hold ascending indices), or on the next one still shown, as k9s
/// and lazygit do when a filter changes.
pub(super) fn keep_cursor_on(view: &[u32], pos: &mut Pos, item: Option<u32>) {
    if let Some(item) = item {
        pos.cursor = match view.binary_search(&item) {
            Ok(p) | Err(p) => p,
        };
    }
}

pub(super) fn refilter_rooms(s: &mut State) {
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
    // Rooms whose count is unknown go last, whichever the direction.
    let count = |i: &u32| r.rooms.get(*i as usize).and_then(|room| room.member_count);
    match r.sort {
        RoomSort::Listed => {}
        RoomSort::MostMembers => r
            .view
            .sort_by_key(|i| (count(i).is_none(), std::cmp::Reverse(count(i)))),
        RoomSort::FewestMembers => r.view.sort_by_key(|i| (count(i).is_none(), count(i))),
    }
    match (r.sort, at) {
        (RoomSort::Listed, _) => keep_cursor_on(&r.view, &mut r.pos, at),
        // A sorted view is not in index order: look the room up.
        (_, Some(room)) => {
            if let Some(p) = r.view.iter().position(|i| *i == room) {
                r.pos.cursor = p;
            }
        }
        (_, None) => {}
    }
    let h = s.list_height();
    s.rooms.pos.clamp(s.rooms.view.len(), h);
}

/// Recomputes the members view: at once for small lists, on a blocking
/// task for big ones (the old view stays until the new one arrives).
pub(super) fn refilter_members(s: &mut State) -> Vec<Effect> {
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

pub(super) fn open_room(s: &mut State, room: Room) -> Vec<Effect> {
    let same = s.members.room.as_ref().is_some_and(|r| r.id == room.id);
    if s.screen != Screen::Members {
        go(s, Screen::Members);
    }
    if same && (s.members.loading || s.members.complete) {
        return vec![];
    }
    if s.popup.as_ref().is_some_and(|p| p.room.id != room.id) {
        // Its targets (or the set it is reading) are of another room.
        close_popup(s, format!("room {} opened", room.name));
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

pub(super) fn members_page(
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
    if s.status
        .as_ref()
        .is_some_and(|st| st.about == Some(ErrorAbout::Members))
    {
        resolved(s, ErrorAbout::Members);
    }
    let ms = &mut s.members;
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
    }
    resolving_page(s, from)
}

pub(super) fn refresh(s: &mut State) -> Vec<Effect> {
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
            vec![Effect::LoadAudit(s.audit.query())]
        }
        _ => {
            s.dirty = false;
            vec![]
        }
    }
}

/// Pasted text: into the line being edited (newlines become spaces, other
/// control characters are dropped); on the members screen, a paste with
/// no line open is a list of ids to add.
pub(super) fn on_paste(s: &mut State, text: &str) -> Vec<Effect> {
    let clean: String = text
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !c.is_control())
        .collect();
    if let Some(line) = s.command.as_mut() {
        line.push_str(&clean);
        return vec![];
    }
    if let Some(p) = s.popup.as_mut().filter(|p| p.editing_reason) {
        p.reason.push_str(&clean);
        return vec![];
    }
    if let Some(f) = editing_filter(s) {
        f.text.push_str(&clean);
        return refilter(s);
    }
    if s.screen == Screen::Members && !s.header.read_only && !clean.trim().is_empty() {
        let ids: Vec<&str> = clean.split_whitespace().collect();
        s.command = Some(format!("add {}", ids.join(" ")));
    }
    vec![]
}

/// The answer to `:add`: members found join the list (once) and are
/// marked; the status line says what was not found.
pub(super) fn looked_up(
    s: &mut State,
    seq: u64,
    found: Vec<crate::model::Member>,
    absent: Vec<UserId>,
    failed: Vec<(UserId, String)>,
) -> Vec<Effect> {
    if seq != s.members.load_gen {
        return vec![];
    }
    let n = found.len();
    for m in &found {
        s.members.marks.insert(m.user.clone());
        s.members.gone.remove(&m.user);
    }
    add_members(s, found);
    let mut text = format!("added and marked {n}");
    if !absent.is_empty() {
        let ids: Vec<&str> = absent.iter().map(UserId::as_str).collect();
        let count = if ids.len() == 1 {
            String::new()
        } else {
            format!("{} ", num(ids.len()))
        };
        text.push_str(&format!("; {count}not in the room: {}", preview(&ids, 40)));
    }
    if !failed.is_empty() {
        let why: Vec<&str> = failed.iter().map(|(_, e)| e.as_str()).collect();
        let what = if why.len() == 1 {
            "lookup failed".to_string()
        } else {
            format!("{} lookups failed", num(why.len()))
        };
        text.push_str(&format!("; {what}: {}", preview(&why, 0)));
    }
    // Ids not added: the message stays until Esc, and the copy key
    // copies them all, one a line (the status line shows a few).
    let not_added: Vec<&str> = absent
        .iter()
        .chain(failed.iter().map(|(u, _)| u))
        .map(UserId::as_str)
        .collect();
    if !not_added.is_empty() {
        let key = s.keymap.label(Cmd::Copy);
        text.push_str(&match not_added.len() {
            1 => format!("; {key} copies the id"),
            k => format!("; {key} copies all {}", num(k)),
        });
    }
    s.status = Some(StatusLine {
        text,
        error: !failed.is_empty(),
        sticky: !not_added.is_empty(),
        copy: (!not_added.is_empty()).then(|| not_added.join("\n")),
        born: s.ticks,
        ..StatusLine::default()
    });
    vec![]
}

/// The first items (at least one, more while they fit in `room`
/// characters, at most three) and "… and N more".
fn preview(items: &[&str], room: usize) -> String {
    let mut shown = 0;
    let mut used = 0;
    for item in items.iter().take(3) {
        let w = item.chars().count() + if shown == 0 { 0 } else { 2 };
        if shown > 0 && used + w > room {
            break;
        }
        used += w;
        shown += 1;
    }
    let mut out = items[..shown].join(", ");
    if items.len() > shown {
        out.push_str(&format!(" … and {} more", num(items.len() - shown)));
    }
    out
}

/// Appends members the list does not hold yet, through the same path as
/// a loaded page.
fn add_members(s: &mut State, found: Vec<crate::model::Member>) {
    let known: std::collections::HashSet<&UserId> = if found.is_empty() {
        Default::default()
    } else {
        s.members.store.iter_from(0).map(|(_, m)| &m.user).collect()
    };
    let new: Vec<crate::model::Member> = found
        .into_iter()
        .filter(|m| !known.contains(&m.user))
        .collect();
    if new.is_empty() {
        return;
    }
    let (seq, total, done) = (s.members.load_gen, s.members.total_hint, !s.members.loading);
    members_page(s, seq, new, total, done);
}

/// A membership change the provider reported: applied to the open room.
pub(super) fn membership(s: &mut State, event: crate::model::MemberEvent) -> Vec<Effect> {
    use crate::model::MemberEvent;
    if s.members.room.as_ref().map(|r| &r.id) != Some(event.room()) {
        s.dirty = false;
        return vec![];
    }
    match event {
        MemberEvent::Joined { member, .. } => {
            s.members.roles.remove(&member.user);
            if s.members.gone.remove(&member.user) {
                refilter_members(s);
            } else {
                add_members(s, vec![member]);
            }
        }
        MemberEvent::Left { user, .. } => {
            s.members.gone.insert(user);
            refilter_members(s);
        }
        MemberEvent::RoleChanged { user, role, .. } => {
            s.members.roles.insert(user, role);
        }
        MemberEvent::Missed { .. } => {
            let key = s.keymap.label(Cmd::Refresh);
            info(
                s,
                format!(
                    "the provider's live updates dropped and came back: joins and leaves in between may be missing ({key} reloads)"
                ),
            );
        }
    }
    vec![]
}

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

pub(super) fn clear_marks(s: &mut State) {
    s.members.marks.clear();
    s.members.predicate = None;
    s.members.visual = None;
}

pub(super) fn refilter(s: &mut State) -> Vec<Effect> {
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
    keep_cursor_on(&r.view, &mut r.pos, at);
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
            vec![Effect::LoadAudit]
        }
        _ => {
            s.dirty = false;
            vec![]
        }
    }
}

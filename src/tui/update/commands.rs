//! Commands: what each keymap command does, and the `:` command line.

use super::*;

pub(super) fn on_cmd(s: &mut State, cmd: Cmd) -> Vec<Effect> {
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
    if let Some(why) = s.header.cannot(cmd) {
        info(s, why);
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
        Cmd::Sort => {
            if s.screen == Screen::Rooms {
                s.rooms.sort = s.rooms.sort.next();
                refilter_rooms(s);
                info(s, s.rooms.sort.describe());
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
                        "marked {} loaded so far{}; d/D read the rest of the room before confirming",
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
        Cmd::AddIds => {
            if s.screen == Screen::Members {
                s.command = Some("add ".into());
            }
        }
        Cmd::ClearMarks => {
            if s.screen == Screen::Members {
                let ms = &mut s.members;
                let n = ms.marks.len();
                if n > 0 || ms.predicate.is_some() {
                    ms.cleared = Some((std::mem::take(&mut ms.marks), ms.predicate.take()));
                    ms.visual = None;
                    let key = s.keymap.label(Cmd::ClearMarks);
                    let what = if n == 1 { "it" } else { "them" };
                    info(
                        s,
                        format!("cleared {} ({key} brings {what} back)", plural(n, "mark")),
                    );
                } else if let Some((marks, predicate)) = ms.cleared.take() {
                    let n = marks.len();
                    ms.marks = marks;
                    ms.predicate = predicate;
                    info(s, format!("restored {}", plural(n, "mark")));
                } else {
                    info(s, "nothing is marked");
                }
            }
        }
        Cmd::Filter => match s.screen {
            Screen::Rooms => s.rooms.filter.editing = true,
            Screen::Members => s.members.filter.editing = true,
            Screen::Audit => s.audit.filter.editing = true,
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
            return vec![Effect::LoadAudit(s.audit.query())];
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
                            role: None,
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
            // A message offering a list (the ids an `:add` could not add)
            // copies it while it is up.
            if let Some(st) = s.status.as_mut()
                && let Some(text) = st.copy.clone()
            {
                let n = text.lines().count();
                st.note = Some(format!("copied {}", plural(n, "id")));
                st.born = s.ticks;
                return vec![Effect::Copy(text)];
            }
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
                if s.popup.is_some() {
                    // Opened over the popup: its keys first.
                    s.help_pos.cursor = crate::tui::view::help_section_start(s, Ctx::Popup);
                    let len = list_len(s);
                    s.help_pos.clamp(len, 1);
                }
            } else if let Some(prev) = s.back.pop() {
                // `?` again closes help.
                s.screen = prev;
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
                p.reason_before = p.reason.clone();
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
                info(s, "cancelling after the call in flight…");
                return vec![Effect::CancelRun];
            }
            return back(s);
        }
    }
    vec![]
}

pub(super) fn filter_note(q: &str) -> String {
    if q.is_empty() {
        String::new()
    } else {
        format!(" (filter: {q})")
    }
}

pub(super) fn run_command(s: &mut State, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("q" | "quit" | "q!"), None) => on_cmd(s, Cmd::Quit),
        (Some("room"), None) => {
            // The room list.
            s.screen = Screen::Rooms;
            s.back.clear();
            vec![]
        }
        (Some("room"), Some(first)) => {
            let query: String = std::iter::once(first)
                .chain(words)
                .collect::<Vec<_>>()
                .join(" ");
            room_command(s, &query)
        }
        (Some("profile"), Some(name)) => {
            if s.batch.is_some() {
                error(s, "a batch is running; switch profiles when it ends");
                return vec![];
            }
            info(s, format!("switching to profile {name}…"));
            vec![Effect::SwitchProfile(name.to_string())]
        }
        (Some("add"), Some(first)) => {
            let ids: Vec<&str> = std::iter::once(first)
                .chain(words)
                .flat_map(|w| w.split(','))
                .filter(|w| !w.is_empty())
                .collect();
            add_ids(s, &ids)
        }
        (Some("audit"), None) => {
            s.audit.scope = Default::default();
            on_cmd(s, Cmd::Audit)
        }
        (Some("audit"), Some(first)) => {
            let mut filter = crate::tui::state::AuditFilter::default();
            for w in std::iter::once(first).chain(words) {
                let (key, value) = w.split_once(':').unwrap_or((w, ""));
                let slot = match key.to_lowercase().as_str() {
                    "operator" => &mut filter.operator,
                    "ticket" => &mut filter.ticket,
                    "batch" => &mut filter.batch,
                    _ => {
                        error(
                            s,
                            format!(
                                "`:audit {}`: filter with operator:NAME, ticket:REF or batch:ID",
                                crate::text::escape(line.trim_start_matches("audit").trim())
                            ),
                        );
                        return vec![];
                    }
                };
                *slot = (!value.is_empty()).then(|| value.to_string());
            }
            s.audit.scope = filter;
            on_cmd(s, Cmd::Audit)
        }
        (Some("help"), None) => on_cmd(s, Cmd::Help),
        (None, _) => vec![],
        _ => {
            error(
                s,
                format!(
                    "unknown command `:{}`; try :room ID or NAME, :add ID..., :profile NAME, :audit [operator:NAME ticket:REF batch:ID], :q",
                    crate::text::escape(line)
                ),
            );
            vec![]
        }
    }
}

/// `:add ID...` (or `a`, or a paste on the members screen): looks the ids
/// up in the open room; members found join the list, marked.
fn add_ids(s: &mut State, ids: &[&str]) -> Vec<Effect> {
    let Some(room) = s
        .members
        .room
        .as_ref()
        .filter(|_| s.screen == Screen::Members)
    else {
        error(
            s,
            ":add works on a room's members screen; open a room first",
        );
        return vec![];
    };
    if let Some((id, why)) = ids
        .iter()
        .find_map(|id| crate::model::id_problem(id).map(|why| (id, why)))
    {
        error(
            s,
            format!("not added: id `{}`: {why}", crate::text::escape(id)),
        );
        return vec![];
    }
    let room = room.id.clone();
    let mut users: Vec<UserId> = Vec::new();
    for id in ids {
        let u = UserId::from(*id);
        if !users.contains(&u) {
            users.push(u);
        }
    }
    info(s, format!("looking up {}…", plural(users.len(), "user")));
    vec![Effect::LookUp {
        room,
        seq: s.members.load_gen,
        users,
    }]
}

/// Rooms matching a typed id or name, best first: the exact id or name,
/// then names starting with it, containing it, and holding its letters in
/// order (fuzzy). Case does not matter.
pub(super) fn room_matches<'a>(rooms: &'a [Room], query: &str) -> Vec<&'a Room> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return rooms.iter().collect();
    }
    let rank = |r: &Room| -> Option<u8> {
        let name = r.name.to_lowercase();
        let id = r.id.as_str().to_lowercase();
        if id == q || name == q {
            Some(0)
        } else if name.starts_with(&q) || id.starts_with(&q) {
            Some(1)
        } else if name.contains(&q) {
            Some(2)
        } else {
            let mut letters = name.chars();
            q.chars()
                .filter(|c| !c.is_whitespace())
                .all(|c| letters.any(|n| n == c))
                .then_some(3)
        }
    };
    let mut found: Vec<(u8, usize, &Room)> = rooms
        .iter()
        .enumerate()
        .filter_map(|(i, r)| rank(r).map(|k| (k, i, r)))
        .collect();
    found.sort_by_key(|(k, i, _)| (*k, *i));
    // An exact match is the answer, whatever else is close.
    if found.first().is_some_and(|(k, _, _)| *k == 0) {
        found.truncate(1);
    }
    found.into_iter().map(|(_, _, r)| r).collect()
}

/// `:room ID or NAME`: opens the one room it names; several close matches
/// are listed; an id the list does not have is looked up.
fn room_command(s: &mut State, query: &str) -> Vec<Effect> {
    let found: Vec<Room> = room_matches(&s.rooms.rooms, query)
        .into_iter()
        .cloned()
        .collect();
    match found.as_slice() {
        [room] => {
            if s.screen != Screen::Rooms && s.screen != Screen::Members {
                s.screen = Screen::Rooms;
                s.back.clear();
            }
            open_room(s, room.clone())
        }
        [] => {
            if query.contains(char::is_whitespace) {
                error(
                    s,
                    format!("no room is called `{}`", crate::text::escape(query)),
                );
                return vec![];
            }
            if let Some(why) = crate::model::id_problem(query) {
                error(
                    s,
                    format!(
                        "room id `{}` cannot be used: {why}",
                        crate::text::escape(query)
                    ),
                );
                return vec![];
            }
            info(
                s,
                format!("no listed room matches; looking up room id {query}…"),
            );
            vec![Effect::FindRoom(RoomId::from(query))]
        }
        several => {
            let names: Vec<&str> = several.iter().take(5).map(|r| r.name.as_str()).collect();
            let more = several.len().saturating_sub(names.len());
            error(
                s,
                format!(
                    "{} rooms match `{query}`: {}{}; type more of the name, or Tab to complete",
                    num(several.len()),
                    names.join(", "),
                    if more > 0 {
                        format!(" and {} more", num(more))
                    } else {
                        String::new()
                    }
                ),
            );
            vec![]
        }
    }
}

/// Tab on the `:` line: completes `room NAME` (again: the next match).
pub(super) fn complete_command(s: &mut State) {
    let Some(line) = s.command.clone() else {
        return;
    };
    let Some(arg) = line.strip_prefix("room ").or(line.strip_prefix("room")) else {
        return;
    };
    let (query, at) = s
        .completion
        .clone()
        .unwrap_or_else(|| (arg.trim().to_string(), 0));
    let names: Vec<String> = room_matches(&s.rooms.rooms, &query)
        .into_iter()
        .map(|r| r.name.clone())
        .collect();
    if names.is_empty() {
        info(s, format!("no room matches `{query}`"));
        return;
    }
    s.command = Some(format!("room {}", names[at % names.len()]));
    s.completion = Some((query, at + 1));
}

/// "1 mark", "3 marks", "1,200 marks".
pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{} {word}s", num(n))
    }
}

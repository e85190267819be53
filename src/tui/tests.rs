//! update() unit tests, TestBackend snapshots of every screen, and the
//! rows-built guard.

use super::action::{Action, Effect};
use super::bench::{self, BenchState};
use super::keymap::{Key, Keymap};
use super::state::*;
use super::update::update;
use super::view;
use crate::model::{Action as Verb, Outcome, Role, Room, Status, UserId};
use crate::ops::audit::{Kind, Record};
use crate::ops::plan::{Plan, PlanRow, Request, Verdict};
use crate::ops::{Progress, Report, RunEvent};
use ratatui::style::Color;
use std::time::Duration;

fn header(read_only: bool) -> Header {
    Header {
        profile: "sandbox".into(),
        provider: "sandbox".into(),
        host: "in-memory".into(),
        read_only,
        accent: accent_for("sandbox", None, view::theme::Palette::named("dark")),
        theme: view::theme::Palette::named("dark"),
        caps: crate::provider::Provider::capabilities(&crate::provider::sandbox::Sandbox::new(
            crate::provider::sandbox::world::World::empty().shared(),
        )),
    }
}

fn room(total: u64) -> Room {
    Room {
        id: "10000000000000002".into(),
        name: "town-square".into(),
        member_count: Some(total),
        active: true,
    }
}

fn rooms() -> Vec<Room> {
    vec![
        Room {
            id: "10000000000000001".into(),
            name: "lobby".into(),
            member_count: Some(2_500),
            active: true,
        },
        room(120_000),
        Room {
            id: "10000000000000004".into(),
            name: "archive-2023".into(),
            member_count: Some(30),
            active: false,
        },
    ]
}

/// A members screen with `n` members loaded; `complete` says whether the
/// room is fully loaded (else 120,000 are announced).
pub(super) fn members_state(n: usize, complete: bool) -> State {
    let mut s = State::new(header(false), Keymap::default(), false);
    s.size = (100, 30);
    s.rooms.rooms = rooms();
    s.rooms.view = vec![0, 1, 2];
    s.screen = Screen::Members;
    s.back = vec![Screen::Rooms];
    let all = bench::generate_members(n);
    let ms = &mut s.members;
    ms.room = Some(room(if complete { n as u64 } else { 120_000 }));
    ms.load_gen = 1;
    for c in all.chunks(1_000) {
        ms.store.push_page(c.to_vec());
    }
    ms.view = (0..n as u32).collect();
    ms.complete = complete;
    ms.loading = !complete;
    ms.total_hint = Some(if complete { n as u64 } else { 120_000 });
    s
}

pub(super) fn press(s: &mut State, keys: &str) -> Vec<Effect> {
    keys.split(' ')
        .flat_map(|k| update(s, Action::Key(Key::parse(k).expect(k))))
        .collect()
}

fn typ(s: &mut State, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| update(s, Action::Key(Key::ch(c))))
        .collect()
}

fn user(s: &State, view_pos: usize) -> UserId {
    let i = s.members.view[view_pos];
    s.members.store.get(i).unwrap().user.clone()
}

pub(super) fn send_plan(requests: &[Request]) -> Plan {
    Plan {
        rows: requests
            .iter()
            .map(|r| PlanRow {
                room: r.room.clone(),
                user: r.user.clone(),
                action: r.action,
                // As the engine plans: a re-add keeps the role to restore.
                role: r.role.or(Some(Role::Member)),
                note: None,
                ticket: None,
                verdict: Verdict::Send,
            })
            .collect(),
        ..Plan::default()
    }
}

/// The plan effect's sequence number and requests.
pub(super) fn plan_effect(effects: Vec<Effect>) -> (u64, Vec<Request>) {
    effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Plan { seq, requests } | Effect::PlanUndo { seq, requests } => {
                Some((seq, requests))
            }
            _ => None,
        })
        .expect("a plan effect")
}

// ---------------------------------------------------------------- update

#[test]
fn space_marks_by_id_and_moves_down_and_marks_survive_filters() {
    let mut s = members_state(100, true);
    press(&mut s, "space space");
    assert_eq!(s.members.pos.cursor, 2);
    let (a, b) = (user(&s, 0), user(&s, 1));
    assert!(s.members.marks.contains(&a) && s.members.marks.contains(&b));
    // A filter that hides both keeps the marks.
    press(&mut s, "/");
    typ(&mut s, "role:member");
    press(&mut s, "enter");
    assert!(!s.members.filter.editing);
    assert_eq!(s.members.view.len(), 92);
    assert_eq!(s.members.marks.len(), 2);
    // Acting now says how many marks the filter hides.
    let effects = press(&mut s, "d");
    let p = s.popup.as_ref().expect("popup");
    assert_eq!(p.scope, Scope::Marked);
    assert_eq!(p.targets.len(), 2);
    assert_eq!(p.hidden, 2);
    assert_eq!(plan_effect(effects).1.len(), 2);
}

#[test]
fn visual_range_and_shift_extend_mark_a_block() {
    let mut s = members_state(100, true);
    press(&mut s, "j v j j j");
    assert!(s.members.in_range(1) && s.members.in_range(4) && !s.members.in_range(5));
    press(&mut s, "v");
    assert_eq!(s.members.visual, None);
    assert_eq!(s.members.marks.len(), 4);
    press(&mut s, "G shift-up shift-up");
    assert_eq!(s.members.visual, Some(99));
    // Acting commits the open range first.
    press(&mut s, "d");
    assert_eq!(s.popup.as_ref().unwrap().targets.len(), 7);
}

#[test]
fn filter_matches_id_name_and_role_and_shows_counts() {
    let mut s = members_state(1_000, true);
    press(&mut s, "/");
    typ(&mut s, "role:admin");
    assert_eq!(s.members.view.len(), 6);
    press(&mut s, "esc");
    assert_eq!(s.members.view.len(), 1_000);
    assert!(s.members.filter.text.is_empty());
    press(&mut s, "/");
    typ(&mut s, "71000000000000099");
    assert_eq!(s.members.view.len(), 1);
    press(&mut s, "backspace backspace");
    // "7100000000000000" prefixes ids 0..99.
    assert_eq!(s.members.view.len(), 100);
}

#[test]
fn big_lists_filter_off_the_render_path_and_stale_results_are_dropped() {
    let mut s = members_state(30_000, true);
    press(&mut s, "/");
    let first = typ(&mut s, "a");
    let second = typ(&mut s, "d");
    let seq_of = |e: &[Effect]| match &e[0] {
        Effect::Filter { seq, .. } => *seq,
        other => panic!("expected a filter effect, got {other:?}"),
    };
    let (old, new) = (seq_of(&first), seq_of(&second));
    assert!(s.members.filter_pending);
    assert_eq!(s.members.view.len(), 30_000, "the old view stays meanwhile");
    update(
        &mut s,
        Action::Filtered {
            seq: old,
            view: vec![1],
            upto: 30_000,
            gone_loaded: 0,
        },
    );
    assert_eq!(s.members.view.len(), 30_000, "a stale result is dropped");
    let Effect::Filter {
        store, query, gone, ..
    } = &second[0]
    else {
        unreachable!()
    };
    let view = super::store::filter(store, 0, query, gone);
    let n = view.len();
    update(
        &mut s,
        Action::Filtered {
            seq: new,
            view,
            upto: 30_000,
            gone_loaded: 0,
        },
    );
    assert!(!s.members.filter_pending);
    assert_eq!(s.members.view.len(), n);
    assert!(n > 0 && n < 30_000);
}

#[test]
fn mark_all_on_a_partly_loaded_room_confirms_only_the_exact_resolved_count() {
    let mut s = members_state(5_000, false);
    press(&mut s, "/");
    typ(&mut s, "Ada");
    press(&mut s, "enter");
    let loaded_matches = s.members.view.len();
    assert_eq!(loaded_matches, 625);
    press(&mut s, "ctrl-a");
    assert_eq!(s.members.marks.len(), loaded_matches);
    assert_eq!(s.members.predicate.as_ref().unwrap().query, "Ada");
    // Unmark one by hand: it stays out even after the rest loads.
    let excluded = user(&s, 0);
    press(&mut s, "space");
    let effects = press(&mut s, "d");
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Plan { .. })),
        "no plan of a set still unknown"
    );
    let p = s.popup.as_ref().unwrap();
    assert_eq!(
        p.scope,
        Scope::AllMatching {
            query: "Ada".into()
        }
    );
    assert!(matches!(
        p.planning,
        Planning::Resolving {
            scanned: 5_000,
            matched: 624
        }
    ));
    let text = screen_text(&s, 100, 30);
    assert!(
        text.contains("scanned 5,000 of ~120,000, 624 match so far"),
        "{text}"
    );
    assert!(!text.contains("type 624"), "no count to type yet: {text}");
    // Typing the loaded count and confirming does nothing.
    typ(&mut s, "624");
    assert!(
        press(&mut s, "y").is_empty(),
        "nothing runs while resolving"
    );
    assert!(s.popup.is_some() && s.batch.is_none());
    // A page arrives: the count grows.
    let more = bench::generate_members(8_000);
    update(
        &mut s,
        Action::MembersPage {
            seq: 1,
            items: more[5_000..6_000].to_vec(),
            total: Some(8_000),
            done: false,
        },
    );
    assert!(matches!(
        s.popup.as_ref().unwrap().planning,
        Planning::Resolving {
            scanned: 6_000,
            matched: 749
        }
    ));
    // The rest of the room: the whole set is planned once every member is read.
    let effects = update(
        &mut s,
        Action::MembersPage {
            seq: 1,
            items: more[6_000..].to_vec(),
            total: Some(8_000),
            done: true,
        },
    );
    let (seq, requests) = plan_effect(effects);
    assert_eq!(requests.len(), 1_000 - 1);
    assert!(!requests.iter().any(|r| r.user == excluded));
    assert_eq!(s.popup.as_ref().unwrap().targets.len(), 999);
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    // The old typed count does not confirm the new one.
    assert!(press(&mut s, "y").is_empty());
    assert!(s.status.as_ref().unwrap().text.contains("type 999"));
    press(&mut s, "backspace backspace backspace");
    typ(&mut s, "999");
    let effects = press(&mut s, "y");
    let Some(Effect::Run {
        plan, confirmed, ..
    }) = effects.into_iter().next()
    else {
        panic!("a run effect");
    };
    assert_eq!((plan.rows.len(), confirmed), (999, 999));
}

#[test]
fn the_typed_count_takes_thousands_separators() {
    let mut s = members_state(1_200, true);
    press(&mut s, "ctrl-a");
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    typ(&mut s, "1,200");
    assert!(matches!(
        press(&mut s, "y").as_slice(),
        [Effect::Run {
            confirmed: 1_200,
            ..
        }]
    ));
}

#[test]
fn invert_and_clear() {
    let mut s = members_state(10, true);
    press(&mut s, "space *");
    assert_eq!(s.members.marks.len(), 9);
    press(&mut s, "ctrl-\\");
    assert!(s.members.marks.is_empty());
}

#[test]
fn esc_backs_out_one_layer_at_a_time() {
    let mut s = members_state(100, true);
    press(&mut s, "space");
    press(&mut s, "/");
    typ(&mut s, "Ada");
    press(&mut s, "enter v j");
    press(&mut s, "d");
    assert!(s.popup.is_some());
    press(&mut s, "esc");
    assert!(s.popup.is_none(), "popup first");
    assert_eq!(s.members.filter.text, "Ada");
    press(&mut s, "esc");
    assert!(s.members.filter.text.is_empty(), "then the filter");
    // `d` committed the range; open a new one.
    press(&mut s, "v");
    assert!(s.members.visual.is_some());
    press(&mut s, "esc");
    assert!(s.members.visual.is_none(), "then the range");
    let marks = s.members.marks.clone();
    assert!(!marks.is_empty());
    press(&mut s, "esc");
    assert_eq!(s.screen, Screen::Rooms, "then the screen");
    assert_eq!(s.members.marks, marks, "Esc never discards marks");
}

#[test]
fn ctrl_backslash_clears_marks_says_how_many_and_undoes_once() {
    let mut s = members_state(10, true);
    press(&mut s, "space space space");
    press(&mut s, "ctrl-\\");
    assert!(s.members.marks.is_empty());
    let st = s.status.clone().unwrap();
    assert!(st.text.contains("cleared 3 marks"), "{st:?}");
    assert!(st.text.contains("ctrl-\\"), "says how to undo: {st:?}");
    press(&mut s, "ctrl-\\");
    assert_eq!(s.members.marks.len(), 3, "brought back");
    assert!(s.status.clone().unwrap().text.contains("restored 3 marks"));
    // With nothing marked and nothing to bring back, it says so.
    let mut s = members_state(10, true);
    press(&mut s, "ctrl-\\");
    assert!(s.status.clone().unwrap().text.contains("nothing is marked"));
}

#[test]
fn confirm_is_two_steps_and_runs_only_after_the_plan() {
    let mut s = members_state(100, true);
    let effects = press(&mut s, "d");
    let p = s.popup.as_ref().unwrap();
    assert_eq!(p.scope, Scope::Cursor);
    let (seq, requests) = plan_effect(effects);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].action, Verb::Remove);
    assert!(press(&mut s, "y").is_empty(), "no run while planning");
    // A stale plan answer is ignored.
    update(
        &mut s,
        Action::Planned {
            seq: seq + 7,
            result: Ok(Plan::default()),
        },
    );
    assert!(s.popup.as_ref().unwrap().plan().is_none());
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    press(&mut s, "r");
    typ(&mut s, "spam");
    press(&mut s, "enter t");
    assert!(s.popup.as_ref().unwrap().dry_run);
    let effects = press(&mut s, "enter");
    let Some(Effect::Run { plan, dry_run, .. }) = effects.into_iter().next() else {
        panic!("a run effect");
    };
    assert!(dry_run);
    assert_eq!(plan.rows[0].note.as_deref(), Some("spam"));
    assert!(s.popup.is_none());
    assert_eq!(s.screen, Screen::Progress);
    assert_eq!(s.results.as_ref().unwrap().rows.len(), 1);
}

#[test]
fn above_fifty_targets_the_count_must_be_typed() {
    let mut s = members_state(60, true);
    press(&mut s, "ctrl-a");
    assert!(s.members.predicate.is_none(), "fully loaded: plain marks");
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    assert_eq!(requests.len(), 60);
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    assert!(press(&mut s, "y").is_empty());
    assert!(s.status.as_ref().unwrap().text.contains("type 60"));
    assert!(s.popup.is_some());
    typ(&mut s, "61");
    press(&mut s, "backspace");
    assert!(press(&mut s, "y").is_empty(), "6 is not 60");
    typ(&mut s, "0");
    let effects = press(&mut s, "y");
    assert!(matches!(effects.as_slice(), [Effect::Run { .. }]));
    // The prompt does not outlive the popup.
    done(&mut s, &requests, &[(Status::Removed, None); 60]);
    let st = s.status.clone().unwrap();
    assert!(!st.error && st.text.starts_with("batch done"), "{st:?}");
}

#[test]
fn read_only_hides_and_refuses_changing_actions() {
    let mut s = members_state(10, true);
    s.header.read_only = true;
    assert!(press(&mut s, "d").is_empty());
    assert!(press(&mut s, "D").is_empty());
    assert!(s.popup.is_none());
    let st = s.status.clone().unwrap();
    assert!(st.error && st.text.contains("read-only"), "{st:?}");
    let text = screen_text(&s, 100, 30);
    assert!(text.contains(" RO "));
    assert!(!text.contains("d remove"), "{text}");
    assert!(!text.contains("D demote"));
}

#[test]
fn actions_the_provider_cannot_do_are_explained_not_offered() {
    let mut s = members_state(10, true);
    s.header.caps.can_demote = false;
    s.header.caps.can_demote_owner = false;
    s.header.caps.can_readd = false;
    let text = screen_text(&s, 100, 30);
    assert!(text.contains("d remove"), "{text}");
    assert!(!text.contains("D demote"), "{text}");
    assert!(press(&mut s, "D").is_empty());
    assert!(s.popup.is_none());
    let st = s.status.clone().unwrap();
    assert!(st.text.contains("cannot demote"), "{st:?}");
    // Undo on the results screen.
    press(&mut s, "space");
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    press(&mut s, "y");
    done(&mut s, &requests, &[(Status::Removed, None)]);
    assert_eq!(s.screen, Screen::Results);
    let text = screen_text(&s, 100, 30);
    assert!(!text.contains("u undo"), "{text}");
    assert!(press(&mut s, "u").is_empty());
    let st = s.status.clone().unwrap();
    assert!(st.text.contains("cannot re-add"), "{st:?}");
}

#[test]
fn run_events_fill_results_and_removed_users_leave_the_list() {
    let mut s = members_state(10, true);
    press(&mut s, "space space");
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    press(&mut s, "y");
    let o = |i: usize, status| Outcome {
        room: requests[i].room.clone(),
        user: requests[i].user.clone(),
        action: Verb::Remove,
        status,
        reason: (status == Status::Failed).then(|| "provider said no".to_string()),
        role: None,
    };
    update(
        &mut s,
        Action::Run(RunEvent::Row {
            index: 1,
            outcome: o(1, Status::Failed),
        }),
    );
    assert_eq!(
        s.results.as_ref().unwrap().rows[1].status,
        Some(Status::Failed)
    );
    update(
        &mut s,
        Action::RunDone(Report {
            batch: "b1".into(),
            outcomes: vec![o(0, Status::Removed), o(1, Status::Failed)],
            progress: Progress::default(),
            local_error: None,
        }),
    );
    assert_eq!(s.screen, Screen::Results);
    assert_eq!(s.members.view.len(), 9);
    press(&mut s, "f");
    assert_eq!(s.results.as_ref().unwrap().view, vec![1]);
    let (_, retry) = plan_effect(press(&mut s, "t"));
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].user, requests[1].user);
    press(&mut s, "esc");
    let (_, undo) = plan_effect(press(&mut s, "u"));
    assert_eq!(undo.len(), 1);
    assert_eq!(undo[0].action, Verb::Readd);
    assert_eq!(undo[0].role, Some(Role::Member));
}

#[test]
fn quitting_during_a_batch_asks_first_and_too_small_still_quits() {
    let mut s = members_state(10, true);
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    press(&mut s, "y");
    press(&mut s, "q");
    assert!(s.ask_quit && !s.quit);
    press(&mut s, "n");
    assert!(!s.ask_quit && !s.quit);
    press(&mut s, "q");
    let effects = press(&mut s, "y");
    assert!(s.quit);
    assert!(matches!(effects.as_slice(), [Effect::CancelRun]));

    let mut s = members_state(10, true);
    update(&mut s, Action::Resize(40, 10));
    assert!(press(&mut s, "d").is_empty());
    press(&mut s, "ctrl-c");
    assert!(s.quit);
}

#[test]
fn gg_and_g_jump_and_pages_load_in_behind_the_cursor() {
    let mut s = members_state(1_000, false);
    press(&mut s, "G");
    assert_eq!(s.members.pos.cursor, 999);
    press(&mut s, "g g");
    assert_eq!(s.members.pos.cursor, 0);
    press(&mut s, "j j");
    update(
        &mut s,
        Action::MembersPage {
            seq: 1,
            items: bench::generate_members(1_500).split_off(1_000),
            total: Some(120_000),
            done: false,
        },
    );
    assert_eq!(s.members.pos.cursor, 2);
    assert_eq!(s.members.view.len(), 1_500);
    // Pages of an older load are dropped.
    update(
        &mut s,
        Action::MembersPage {
            seq: 0,
            items: bench::generate_members(3),
            total: None,
            done: true,
        },
    );
    assert_eq!(s.members.store.len(), 1_500);
    assert!(!s.members.complete);
}

#[test]
fn commands_open_rooms_and_reject_unknowns() {
    let mut s = members_state(10, true);
    s.screen = Screen::Rooms;
    s.back.clear();
    press(&mut s, ":");
    typ(&mut s, "room 10000000000000001");
    let effects = press(&mut s, "enter");
    assert!(matches!(effects.as_slice(), [Effect::LoadMembers { .. }]));
    assert_eq!(s.screen, Screen::Members);
    assert!(s.members.marks.is_empty());
    press(&mut s, ":");
    typ(&mut s, "frobnicate");
    press(&mut s, "enter");
    assert!(s.status.as_ref().unwrap().error);
    press(&mut s, ":");
    typ(&mut s, "profile prod");
    let effects = press(&mut s, "enter");
    assert!(matches!(effects.as_slice(), [Effect::SwitchProfile(n)] if n == "prod"));
    press(&mut s, ":");
    typ(&mut s, "q");
    press(&mut s, "enter");
    assert!(s.quit);
}

// ------------------------------------------------------------- rendering

pub(super) fn draw(s: &State, w: u16, h: u16) -> ratatui::Terminal<ratatui::backend::TestBackend> {
    let mut t = bench::terminal(w, h);
    t.draw(|f| view::render(s, f)).unwrap();
    t
}

pub(super) fn screen_text(s: &State, w: u16, h: u16) -> String {
    let t = draw(s, w, h);
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn resized(mut s: State, w: u16, h: u16) -> State {
    update(&mut s, Action::Resize(w, h));
    s
}

/// Every screen, by name.
pub(super) fn screens() -> Vec<(&'static str, State)> {
    let mut out = Vec::new();

    let mut rooms_s = members_state(10, true);
    rooms_s.screen = Screen::Rooms;
    rooms_s.back.clear();
    out.push(("rooms", rooms_s));

    // Sorted by member count, most first; a room whose count is unknown
    // goes last.
    let mut sorted = members_state(10, true);
    sorted.screen = Screen::Rooms;
    sorted.back.clear();
    sorted.rooms.rooms.insert(
        0,
        Room {
            id: "10000000000000007".into(),
            name: "uncounted".into(),
            member_count: None,
            active: true,
        },
    );
    sorted.rooms.view = (0..4).collect();
    press(&mut sorted, "s");
    sorted.status = None;
    out.push(("rooms_by_members", sorted));

    let mut m = members_state(12_000, false);
    press(&mut m, "j j space space space j");
    m.status = Some(StatusLine {
        text: "marked 3".into(),
        ..StatusLine::default()
    });
    out.push(("members", m));

    let mut mf = members_state(2_000, true);
    press(&mut mf, "space /");
    typ(&mut mf, "Ada");
    out.push(("members_filter", mf));

    let mut p = members_state(100, true);
    press(&mut p, "space space space");
    press(&mut p, "/");
    typ(&mut p, "Bram");
    press(&mut p, "enter");
    let (seq, requests) = plan_effect(press(&mut p, "d"));
    let mut plan = send_plan(&requests);
    plan.rows[0].verdict = Verdict::Skip("last owner of the room".into());
    plan.paced
        .insert(requests[0].room.clone(), Duration::from_secs(3));
    plan.notices = vec![
        "1 skipped: last owner of the room".into(),
        "room 10000000000000002 has over 1000 members: paced at one change per 3s, 2 changes take about 6s".into(),
    ];
    update(
        &mut p,
        Action::Planned {
            seq,
            result: Ok(plan),
        },
    );
    out.push(("confirm", p));

    let mut big = members_state(200, true);
    press(&mut big, "ctrl-a");
    let (seq, requests) = plan_effect(press(&mut big, "D"));
    update(
        &mut big,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    typ(&mut big, "20");
    out.push(("confirm_typed_count", big));

    let mut pr = members_state(10, true);
    press(&mut pr, "space space space space");
    let (seq, requests) = plan_effect(press(&mut pr, "d"));
    update(
        &mut pr,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    press(&mut pr, "y");
    // Calls and retries over a few seconds: the sparklines' buckets.
    for (second, (calls, retries)) in [(2, 0), (5, 0), (9, 1), (10, 1), (14, 2), (16, 2), (20, 2)]
        .into_iter()
        .enumerate()
    {
        if second > 0 {
            update(&mut pr, Action::Tick);
        }
        update(
            &mut pr,
            Action::Run(RunEvent::Progress(Progress {
                done: 1,
                total: 4,
                in_flight: 1,
                retries,
                calls,
                calls_per_sec: 1.5,
                current: Some(requests[1].user.clone()),
                elapsed: Duration::from_secs(2),
                waiting: None,
            })),
        );
    }
    out.push(("progress", pr));

    let mut r = members_state(10, true);
    press(&mut r, "space space space");
    let (seq, requests) = plan_effect(press(&mut r, "d"));
    update(
        &mut r,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    press(&mut r, "y");
    let statuses = [Status::Removed, Status::Failed, Status::Skipped];
    update(
        &mut r,
        Action::RunDone(Report {
            batch: "b1".into(),
            outcomes: requests
                .iter()
                .zip(statuses)
                .map(|(q, st)| Outcome {
                    room: q.room.clone(),
                    user: q.user.clone(),
                    action: q.action,
                    status: st,
                    reason: match st {
                        Status::Failed => Some("agora: 403 forbidden (code 40301)".into()),
                        Status::Skipped => Some("last owner of the room".into()),
                        _ => None,
                    },
                    role: None,
                })
                .collect(),
            progress: Progress::default(),
            local_error: None,
        }),
    );
    // The failed row: the lines under the table show its reason in full.
    press(&mut r, "j");
    out.push(("results", r));

    let mut a = members_state(10, true);
    press(&mut a, "A");
    let rec = |ts: &str, kind, status, user: &str| Record {
        ts: ts.into(),
        kind,
        operator: "mod".into(),
        profile: "sandbox".into(),
        provider: "sandbox".into(),
        room: "10000000000000002".into(),
        user: user.into(),
        action: Verb::Remove,
        status,
        reason: None,
        ticket: None,
        batch: "b1".into(),
        role: Some(Role::Member),
    };
    update(
        &mut a,
        Action::AuditLoaded(Ok(vec![
            rec(
                "2025-01-02T03:04:05Z",
                Kind::Intent,
                None,
                "71000000000000009",
            ),
            rec(
                "2025-01-02T03:04:06Z",
                Kind::Result,
                Some(Status::Removed),
                "71000000000000009",
            ),
        ])),
    );
    out.push(("audit", a));

    let mut h = members_state(10, true);
    press(&mut h, "?");
    out.push(("help", h));

    let mut ro = members_state(10, true);
    ro.header.read_only = true;
    ro.header.accent = Color::Magenta;
    out.push(("members_read_only", ro));
    out
}

#[test]
fn snapshots_of_every_screen_at_100x30_and_60x15() {
    for (w, h) in [(100u16, 30u16), (60, 15)] {
        for (name, s) in screens() {
            let s = resized(s, w, h);
            let t = draw(&s, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
        }
    }
}

#[test]
fn no_color_uses_modifiers_only() {
    for (name, mut s) in screens() {
        s.no_color = true;
        let t = draw(&s, 100, 30);
        let buf = t.backend().buffer();
        for cell in buf.content() {
            assert!(
                matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
                "{name}: a colour under NO_COLOR at {:?}",
                cell.symbol()
            );
        }
        insta::assert_snapshot!(format!("{name}_no_color"), format!("{buf:?}"));
    }
}

#[test]
fn too_small_screen_says_what_it_needs() {
    let s = members_state(10, true);
    let t = draw(&s, 59, 14);
    insta::assert_snapshot!("too_small_59x14", t.backend());
    assert!(screen_text(&s, 59, 14).contains("need 60×15, have 59×14"));
}

#[test]
fn help_and_hints_come_from_the_keymap() {
    let mut s = members_state(10, true);
    let mut over = std::collections::BTreeMap::new();
    over.insert("remove".to_string(), "x".to_string());
    s.keymap = Keymap::from_overrides(&over).unwrap();
    assert!(screen_text(&s, 100, 30).contains("x remove"));
    press(&mut s, "?");
    let help = screen_text(&s, 100, 80);
    assert!(help.contains("remove marked (or cursor) users"), "{help}");
    assert!(help.contains("  x "), "{help}");
}

#[test]
fn one_frame_builds_no_more_rows_than_the_screen_has_with_a_million_members() {
    let mut b = BenchState::members(1_000_000, "", 100, 30);
    assert_eq!(b.loaded(), 1_000_000);
    let mut t = bench::terminal(100, 30);
    let built = b.render(&mut t);
    assert!(built > 0 && built <= 24, "built {built} rows");
    b.move_down();
    assert!(b.render(&mut t) <= 24);
    let shown = b.apply_filter("Ada");
    assert_eq!(shown, 125_000);
    assert!(b.render(&mut t) <= 24);
}

// ------------------------------------------------------------ audit fixes

/// Plans `effects`' requests as all-send and confirms with `y`.
fn plan_and_confirm(s: &mut State, effects: Vec<Effect>) -> Vec<Request> {
    let (seq, requests) = plan_effect(effects);
    update(
        s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    press(s, "y");
    requests
}

fn done(s: &mut State, requests: &[Request], statuses: &[(Status, Option<&str>)]) -> Vec<Effect> {
    let roles = vec![None; statuses.len()];
    done_with_roles(s, requests, statuses, &roles)
}

/// Ends the run with these rows, each with the role after the provider reported.
fn done_with_roles(
    s: &mut State,
    requests: &[Request],
    statuses: &[(Status, Option<&str>)],
    roles: &[Option<Role>],
) -> Vec<Effect> {
    update(
        s,
        Action::RunDone(Report {
            batch: "b1".into(),
            outcomes: requests
                .iter()
                .zip(statuses)
                .zip(roles)
                .map(|((q, (st, why)), role)| Outcome {
                    room: q.room.clone(),
                    user: q.user.clone(),
                    action: q.action,
                    status: *st,
                    reason: why.map(str::to_string),
                    role: *role,
                })
                .collect(),
            progress: Progress::default(),
            local_error: None,
        }),
    )
}

#[test]
fn the_cursor_row_is_never_reported_as_hidden_by_the_filter() {
    // Nothing marked, no filter: the popup acts on the cursor row only.
    let mut s = members_state(100, true);
    press(&mut s, "j j d");
    let p = s.popup.as_ref().unwrap();
    assert_eq!(p.scope, Scope::Cursor);
    assert_eq!(p.hidden, 0);
    assert!(!screen_text(&s, 100, 30).contains("hidden by the current filter"));
    // Nothing marked, a filter on: still nothing hidden.
    press(&mut s, "esc /");
    typ(&mut s, "Bram");
    press(&mut s, "enter d");
    assert_eq!(s.popup.as_ref().unwrap().hidden, 0);
    // Marks the filter hides are still counted.
    press(&mut s, "esc esc space");
    press(&mut s, "/");
    typ(&mut s, "Chen");
    press(&mut s, "enter d");
    let p = s.popup.as_ref().unwrap();
    assert_eq!((p.scope.clone(), p.hidden), (Scope::Marked, 1));
}

#[test]
fn ctrl_c_quits_from_every_input_mode() {
    let quits_from = |setup: &str| {
        let mut s = members_state(10, true);
        press(&mut s, setup);
        if setup == ":" {
            typ(&mut s, "roo");
        }
        press(&mut s, "ctrl-c");
        assert!(s.quit, "ctrl-c after `{setup}`");
    };
    quits_from("/"); // typing a filter
    quits_from(":"); // typing a command
    quits_from("d"); // the confirm popup
    quits_from("d r"); // the popup's reason field
    // Typed text still takes a plain `q`.
    let mut s = members_state(10, true);
    press(&mut s, "/");
    typ(&mut s, "q");
    assert!(!s.quit);
    assert_eq!(s.members.filter.text, "q");
    // While a batch runs, ctrl-c in an input line asks first.
    let mut s = members_state(10, true);
    let effects = press(&mut s, "d");
    plan_and_confirm(&mut s, effects);
    assert!(s.batch.is_some());
    press(&mut s, ":");
    press(&mut s, "ctrl-c");
    assert!(s.ask_quit && !s.quit);
}

#[test]
fn filter_changes_keep_the_cursor_on_the_same_user() {
    let mut s = members_state(100, true);
    press(&mut s, "j j j j j j j j j"); // view position 9: "Jo Lind 9"
    let on = user(&s, 9);
    press(&mut s, "/");
    typ(&mut s, "Lind");
    assert_eq!(user(&s, s.members.pos.cursor), on, "still on the same user");
    press(&mut s, "enter esc");
    assert!(s.members.filter.text.is_empty());
    assert_eq!(s.members.pos.cursor, 9, "back where it was once cleared");
    // A filter that hides the user puts the cursor on the next match.
    press(&mut s, "/");
    typ(&mut s, "Okafor");
    let next = s
        .members
        .store
        .get(s.members.view[s.members.pos.cursor])
        .unwrap();
    assert!(next.name.as_deref().unwrap().contains("Okafor"));
    assert!(s.members.view[s.members.pos.cursor] > 9);

    // Big lists filter off the render path: the answer keeps it too.
    let mut s = members_state(SYNC_FILTER_MAX + 1_000, true);
    press(&mut s, "ctrl-d ctrl-d");
    let at = s.members.view[s.members.pos.cursor];
    press(&mut s, "/");
    let effects = typ(&mut s, "a");
    let Some(Effect::Filter {
        seq,
        store,
        query,
        gone,
    }) = effects.into_iter().last()
    else {
        panic!("a background filter");
    };
    let view = super::store::filter(&store, 0, &query, &gone);
    let upto = store.len();
    update(
        &mut s,
        Action::Filtered {
            seq,
            view,
            upto,
            gone_loaded: 0,
        },
    );
    let now = s.members.view[s.members.pos.cursor];
    assert!(now >= at, "{now} >= {at}");
    assert!(s.members.view.binary_search(&at).is_err() || now == at);
}

#[test]
fn the_title_total_leaves_out_removed_members_and_undo_brings_them_back() {
    let mut s = members_state(10, true);
    press(&mut s, "space space");
    let effects = press(&mut s, "d");
    let requests = plan_and_confirm(&mut s, effects);
    done(
        &mut s,
        &requests,
        &[(Status::Removed, None), (Status::Removed, None)],
    );
    press(&mut s, "esc");
    assert_eq!(s.screen, Screen::Members);
    assert_eq!(s.members.total(), 8);
    assert!(screen_text(&s, 100, 30).contains("members 8/8 "));
    assert_eq!(
        s.rooms.rooms[1].member_count,
        Some(119_998),
        "the rooms list counts the removals"
    );
    // Later pages are counted the same way.
    let again = s.members.store.get(0).unwrap().clone();
    update(
        &mut s,
        Action::MembersPage {
            seq: 1,
            items: vec![again],
            total: None,
            done: true,
        },
    );
    assert_eq!((s.members.view.len(), s.members.total()), (8, 8));
    // Undo re-adds them: they are members again.
    press(&mut s, "R");
    let effects = press(&mut s, "u");
    let readd = plan_and_confirm(&mut s, effects);
    done(
        &mut s,
        &readd,
        &[(Status::Readded, None), (Status::Readded, None)],
    );
    assert_eq!(s.members.total(), 11);
    assert_eq!(s.members.view.len(), 11);
    assert_eq!(s.rooms.rooms[1].member_count, Some(120_000), "and the undo");
}

/// In a room over `SYNC_FILTER_MAX` the end of a removal does not read
/// every loaded member on the console's thread: the view without the
/// removed users, and the title's count, come from a background filter.
#[test]
fn a_removal_in_a_big_room_is_taken_out_of_the_view_by_a_background_filter() {
    let n = SYNC_FILTER_MAX + 1_000;
    let mut s = members_state(n, true);
    press(&mut s, "space space");
    let effects = press(&mut s, "d");
    let requests = plan_and_confirm(&mut s, effects);
    let effects = done(
        &mut s,
        &requests,
        &[(Status::Removed, None), (Status::Removed, None)],
    );
    assert!(s.members.filter_pending, "the old view stays meanwhile");
    assert_eq!(s.members.view.len(), n);
    let Some(Effect::Filter {
        seq,
        store,
        query,
        gone,
    }) = effects.into_iter().last()
    else {
        panic!("a background filter");
    };
    let view = super::store::filter(&store, 0, &query, &gone);
    let gone_loaded = super::store::count_gone(&store, 0, &gone);
    assert_eq!(gone_loaded, 2);
    update(
        &mut s,
        Action::Filtered {
            seq,
            view,
            upto: store.len(),
            gone_loaded,
        },
    );
    assert!(!s.members.filter_pending);
    assert_eq!(s.members.view.len(), n - 2);
    assert_eq!(s.members.total(), n - 2);
    let shown: Vec<&UserId> = s
        .members
        .view
        .iter()
        .map(|i| &s.members.store.get(*i).unwrap().user)
        .collect();
    assert!(requests.iter().all(|r| !shown.contains(&&r.user)));
}

#[test]
fn demoting_updates_roles_by_row() {
    let mut s = members_state(10, true);
    press(&mut s, "space space space");
    let effects = press(&mut s, "D");
    let (seq, requests) = plan_effect(effects);
    let mut plan = send_plan(&requests);
    plan.rows[0].role = Some(Role::Owner);
    plan.rows[2].role = Some(Role::Admin);
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(plan),
        },
    );
    press(&mut s, "y");
    let ok = (Status::Demoted, None);
    // The rows carry the role after, as the provider reported it: an owner
    // of a provider without an admin tier (Symphony) ends a member, and the
    // console shows that, not a role it derives itself.
    done_with_roles(
        &mut s,
        &requests,
        &[ok, (Status::Failed, Some("no")), ok],
        &[Some(Role::Member), Some(Role::Member), Some(Role::Member)],
    );
    let m = &s.members;
    assert_eq!(m.roles.get(&requests[0].user), Some(&Role::Member));
    assert_eq!(m.roles.get(&requests[1].user), None);
    assert_eq!(m.roles.get(&requests[2].user), Some(&Role::Member));

    // `u` undoes the two demotes: a re-add with the role each had before.
    press(&mut s, "R");
    let effects = press(&mut s, "u");
    let back = plan_and_confirm(&mut s, effects);
    let wanted: Vec<(&str, Option<Role>)> =
        back.iter().map(|r| (r.user.as_str(), r.role)).collect();
    assert_eq!(
        wanted,
        [
            (requests[0].user.as_str(), Some(Role::Owner)),
            (requests[2].user.as_str(), Some(Role::Admin))
        ]
    );
    assert!(back.iter().all(|r| r.action == Verb::Readd));
    done(
        &mut s,
        &back,
        &[(Status::Readded, None), (Status::Readded, None)],
    );
    assert_eq!(s.members.roles.get(&requests[0].user), Some(&Role::Owner));
    assert_eq!(s.members.roles.get(&requests[2].user), Some(&Role::Admin));
}

#[test]
fn help_scrolls_back_from_its_end_at_once() {
    let mut s = members_state(10, true);
    press(&mut s, "? G");
    let bottom = s.help_pos.cursor;
    let text = screen_text(&s, 100, 30);
    assert!(
        text.contains("cancel after the call in flight"),
        "the last line shows"
    );
    press(&mut s, "k");
    assert_eq!(
        s.help_pos.cursor,
        bottom - 1,
        "k scrolls up with the first press"
    );
    assert_ne!(screen_text(&s, 100, 30), text);
    press(&mut s, "g g");
    assert_eq!(s.help_pos.cursor, 0);
}

#[test]
fn footer_hints_fit_the_width_keep_help_and_offer_only_working_keys() {
    let mut s = members_state(10, true);
    for w in [60u16, 100] {
        let text = screen_text(&s, w, 30);
        let hints = text.lines().nth(28).unwrap();
        assert!(hints.trim_end().ends_with("? help"), "{w}: {hints}");
    }
    // Keys that do nothing on a screen are not offered there.
    press(&mut s, "A");
    let hints = screen_text(&s, 100, 30)
        .lines()
        .nth(28)
        .unwrap()
        .to_string();
    assert!(hints.contains("/ filter"), "the audit filters: {hints}");
    assert!(!hints.contains("y copy"), "{hints}");
    assert!(!hints.contains("R results"), "no batch yet: {hints}");
    press(&mut s, "?");
    let hints = screen_text(&s, 100, 30)
        .lines()
        .nth(28)
        .unwrap()
        .to_string();
    assert!(hints.trim_end().ends_with("? help"), "{hints}");
}

#[test]
fn results_show_the_full_reason_of_the_cursor_row_however_narrow() {
    let mut s = members_state(10, true);
    press(&mut s, "space space");
    let effects = press(&mut s, "d");
    let requests = plan_and_confirm(&mut s, effects);
    let r = s.results.as_ref().unwrap();
    assert_eq!((r.pending, r.not_ok), (2, 0));
    let why = "symphony: 403 the caller is not an owner of stream 10000000000000002";
    update(
        &mut s,
        Action::Run(RunEvent::Row {
            index: 1,
            outcome: Outcome {
                room: requests[1].room.clone(),
                user: requests[1].user.clone(),
                action: Verb::Remove,
                status: Status::Failed,
                reason: Some(why.into()),
                role: None,
            },
        }),
    );
    let r = s.results.as_ref().unwrap();
    assert_eq!((r.pending, r.not_ok), (1, 1), "counts follow the rows");
    done(
        &mut s,
        &requests,
        &[(Status::Removed, None), (Status::Failed, Some(why))],
    );
    press(&mut s, "j");
    for (w, h) in [(60u16, 15u16), (100, 30)] {
        s = resized(s, w, h);
        let text: String = screen_text(&s, w, h)
            .lines()
            .map(|l| l.trim_matches(|c| c == '│' || c == ' '))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(text.contains(why), "{w}x{h}: {text}");
    }
    // The results list pages by the rows it shows (the outcome bar and
    // the detail lines are not rows).
    assert_eq!(
        s.height_of(Screen::Results),
        s.list_height() - DETAIL_LINES - OUTCOME_LINES
    );
}

#[test]
fn a_small_confirm_popup_keeps_targets_in_view() {
    let (_, s) = screens()
        .into_iter()
        .find(|(n, _)| *n == "confirm")
        .unwrap();
    let s = resized(s, 60, 15);
    let text = screen_text(&s, 60, 15);
    assert!(text.contains("targets 1-3 of 3"), "{text}");
    assert!(text.contains("Chen Okafor 2"), "{text}");
    assert!(text.contains("about 6s"), "the pacing ETA: {text}");
}

#[test]
fn an_error_stays_until_dismissed_while_messages_ride_along() {
    let mut s = members_state(10, true);
    update(
        &mut s,
        Action::MembersFailed {
            seq: 1,
            error: "agora: connection reset".into(),
        },
    );
    press(&mut s, "space ctrl-\\");
    let st = s.status.clone().unwrap();
    assert!(st.error && st.text.contains("connection reset"), "{st:?}");
    assert_eq!(
        st.note.as_deref(),
        Some("cleared 1 mark (ctrl-\\ brings it back)")
    );
    // The status line wraps onto the last lines of the screen.
    let line = screen_text(&s, 100, 30)
        .lines()
        .skip(28)
        .collect::<Vec<_>>()
        .join("");
    assert!(
        line.contains("connection reset") && line.contains("cleared 1 mark"),
        "{line}"
    );
    // A status from an effect (an export) does not replace it either.
    update(
        &mut s,
        Action::Status {
            text: "exported 1 rows".into(),
            error: false,
        },
    );
    assert!(s.status.as_ref().unwrap().error);
    // Esc dismisses the error; the message rode along and goes with the key.
    press(&mut s, "esc");
    assert!(s.status.is_none(), "{:?}", s.status);
    assert_eq!(s.screen, Screen::Members, "that Esc only dismissed");
}

#[test]
fn audit_command_filters_by_operator_ticket_and_batch() {
    let mut s = members_state(10, true);
    press(&mut s, ":");
    typ(&mut s, "audit operator:bob ticket:T-7");
    let effects = press(&mut s, "enter");
    assert_eq!(s.screen, Screen::Audit);
    match effects.as_slice() {
        [Effect::LoadAudit(q)] => {
            assert_eq!(q.operator.as_deref(), Some("bob"));
            assert_eq!(q.ticket.as_deref(), Some("T-7"));
            assert_eq!(q.batch, None);
            assert!(!q.unfinished && q.last.is_some());
        }
        other => panic!("{other:?}"),
    }
    // Plain `:audit` shows every operator's records again.
    press(&mut s, ":");
    typ(&mut s, "audit");
    let effects = press(&mut s, "enter");
    assert!(
        matches!(effects.as_slice(), [Effect::LoadAudit(q)] if q.operator.is_none() && q.ticket.is_none())
    );
    press(&mut s, ":");
    typ(&mut s, "audit who:bob");
    assert!(press(&mut s, "enter").is_empty());
    let status = s.status.as_ref().unwrap();
    assert!(
        status.error && status.text.contains("operator:NAME"),
        "{}",
        status.text
    );
}

#[test]
fn a_failed_lookup_is_an_error_with_a_retry_never_a_guard() {
    let mut s = members_state(30, true);
    press(&mut s, "space space space");
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    let mut plan = send_plan(&requests);
    let why = "sandbox GET /rooms/10000000000000002: server error 503";
    for row in &mut plan.rows {
        row.verdict = Verdict::Fail(why.into());
    }
    plan.unread = vec![format!("room 10000000000000002: {why}")];
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(plan),
        },
    );
    let text = screen_text(&s, 100, 30);
    assert!(!text.contains("refused by guards"), "{text}");
    assert!(
        text.contains("could not read room 10000000000000002"),
        "{text}"
    );
    assert!(text.contains("ctrl-r"), "a retry is offered: {text}");
    assert!(press(&mut s, "y").is_empty(), "nothing to confirm");
    // ctrl-r plans the same requests again.
    let (again, retried) = plan_effect(press(&mut s, "ctrl-r"));
    assert!(again > seq);
    assert_eq!(retried, requests);
    update(
        &mut s,
        Action::Planned {
            seq: again,
            result: Ok(send_plan(&requests)),
        },
    );
    assert!(matches!(
        press(&mut s, "y").as_slice(),
        [Effect::Run { confirmed: 3, .. }]
    ));
}

#[test]
fn guards_count_only_guard_refusals() {
    let mut s = members_state(30, true);
    press(&mut s, "space space space");
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    let mut plan = send_plan(&requests);
    plan.rows[0].verdict = Verdict::Skip("last owner of the room".into());
    plan.rows[1].verdict = Verdict::Absent;
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(plan),
        },
    );
    let text = screen_text(&s, 100, 30);
    assert!(text.contains("1 to send · 1 refused by guards"), "{text}");
}

#[test]
fn retry_and_undo_keep_one_results_screen_per_chain() {
    let mut s = members_state(10, true);
    press(&mut s, "space space space");
    let effects = press(&mut s, "d");
    let first = plan_and_confirm(&mut s, effects);
    done(
        &mut s,
        &first,
        &[
            (Status::Removed, None),
            (Status::Failed, Some("boom")),
            (Status::Removed, None),
        ],
    );
    assert_eq!(s.screen, Screen::Results);
    let back = s.back.clone();
    // Retry the failed row: the same results screen, its row updated.
    let effects = press(&mut s, "t");
    let retry = plan_and_confirm(&mut s, effects);
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].user, first[1].user);
    update(
        &mut s,
        Action::Run(RunEvent::Row {
            index: 0,
            outcome: Outcome {
                room: retry[0].room.clone(),
                user: retry[0].user.clone(),
                action: Verb::Remove,
                status: Status::Removed,
                reason: None,
                role: None,
            },
        }),
    );
    assert_eq!(
        s.results.as_ref().unwrap().rows[1].status,
        Some(Status::Removed),
        "a row event of the retry lands on that user's row"
    );
    done(&mut s, &retry, &[(Status::Removed, None)]);
    assert_eq!(s.screen, Screen::Results);
    assert_eq!(s.back, back, "no second results screen to back out of");
    let r = s.results.as_ref().unwrap();
    assert_eq!(r.rows.len(), 3);
    assert!(r.rows.iter().all(|row| row.status == Some(Status::Removed)));
    // Undo covers every user the chain removed, the original batch's too.
    let effects = press(&mut s, "u");
    let undo = plan_and_confirm(&mut s, effects);
    let mut undone: Vec<_> = undo.iter().map(|r| r.user.clone()).collect();
    undone.sort();
    let mut all: Vec<_> = first.iter().map(|r| r.user.clone()).collect();
    all.sort();
    assert_eq!(undone, all);
    done(&mut s, &undo, &[(Status::Readded, None); 3]);
    assert_eq!(s.back, back);
    let r = s.results.as_ref().unwrap();
    assert_eq!(r.rows.len(), 3);
    assert!(r.rows.iter().all(|row| row.status == Some(Status::Readded)));
    press(&mut s, "esc");
    assert_eq!(s.screen, Screen::Members, "one Esc leaves the chain");
    // Nothing left to undo.
    press(&mut s, "R u");
    assert!(s.popup.is_none());
}

#[test]
fn retry_takes_failed_and_cancelled_rows() {
    let mut s = members_state(10, true);
    press(&mut s, "space space space");
    let effects = press(&mut s, "d");
    let first = plan_and_confirm(&mut s, effects);
    done(
        &mut s,
        &first,
        &[
            (Status::Removed, None),
            (Status::Skipped, Some("cancelled")),
            (Status::Failed, Some("boom")),
        ],
    );
    let (_, retry) = plan_effect(press(&mut s, "t"));
    let users: Vec<_> = retry.iter().map(|r| r.user.clone()).collect();
    assert_eq!(users, vec![first[1].user.clone(), first[2].user.clone()]);
}

#[test]
fn marks_clear_only_for_users_whose_change_went_through() {
    let mut s = members_state(10, true);
    press(&mut s, "space space space");
    // A dry run keeps every mark.
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    press(&mut s, "t y");
    done(&mut s, &requests, &[(Status::DryRun, None); 3]);
    assert_eq!(s.members.marks.len(), 3, "marks stay after a dry run");
    // The real run: one removed, one failed, one cancelled.
    press(&mut s, "esc");
    assert_eq!(s.screen, Screen::Members);
    let effects = press(&mut s, "d");
    let again = plan_and_confirm(&mut s, effects);
    assert_eq!(again.len(), 3, "no need to mark again");
    done(
        &mut s,
        &again,
        &[
            (Status::Removed, None),
            (Status::Failed, Some("boom")),
            (Status::Skipped, Some("cancelled")),
        ],
    );
    let marks = &s.members.marks;
    assert_eq!(marks.len(), 2, "{marks:?}");
    assert!(!marks.contains(&again[0].user));
}

#[test]
fn messages_expire_and_errors_stay_until_what_they_report_works() {
    let mut s = members_state(10, true);
    // A message goes after a few seconds…
    press(&mut s, "space");
    press(&mut s, "d esc");
    assert_eq!(
        s.status.as_ref().unwrap().text,
        "cancelled; nothing was sent"
    );
    for _ in 0..3 {
        update(&mut s, Action::Tick);
    }
    assert!(s.status.is_some(), "still shown after 3 s");
    update(&mut s, Action::Tick);
    assert!(s.status.is_none(), "gone after 4 s");
    // …or at the next action: it never reaches the next batch's progress.
    press(&mut s, "d esc");
    assert!(s.status.is_some());
    let effects = press(&mut s, "d");
    plan_and_confirm(&mut s, effects);
    assert_eq!(s.screen, Screen::Progress);
    let text = screen_text(&s, 100, 30);
    assert!(!text.contains("cancelled; nothing was sent"), "{text}");

    // An error stays through keys and time, until a reload works.
    let mut s = members_state(10, true);
    update(
        &mut s,
        Action::MembersFailed {
            seq: 1,
            error: "agora: connection reset".into(),
        },
    );
    press(&mut s, "j j");
    for _ in 0..10 {
        update(&mut s, Action::Tick);
    }
    assert!(s.status.as_ref().unwrap().error);
    let effects = press(&mut s, "ctrl-r");
    let Some(Effect::LoadMembers { seq, .. }) = effects.into_iter().next() else {
        panic!("a reload");
    };
    assert!(s.status.as_ref().unwrap().error, "not before it worked");
    update(
        &mut s,
        Action::MembersPage {
            seq,
            items: bench::generate_members(10),
            total: Some(10),
            done: true,
        },
    );
    assert!(
        s.status.as_ref().is_none_or(|st| !st.error),
        "{:?}",
        s.status
    );
}

#[test]
fn the_own_account_is_a_banner_above_the_guards() {
    let mut s = members_state(30, true);
    press(&mut s, "space space space");
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    let mut plan = send_plan(&requests);
    plan.rows[1].verdict = Verdict::Skip("the profile's own account (self_user)".into());
    plan.rows[2].verdict = Verdict::Skip("last owner of the room".into());
    plan.own_account = Some(requests[1].user.clone());
    plan.notices = vec!["1 skipped: last owner of the room".into()];
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(plan),
        },
    );
    let text = screen_text(&s, 100, 30);
    let lines: Vec<&str> = text.lines().collect();
    let banner = lines
        .iter()
        .position(|l| l.contains("YOUR OWN ACCOUNT") && l.contains(requests[1].user.as_str()))
        .unwrap_or_else(|| panic!("a banner: {text}"));
    let guard = lines
        .iter()
        .position(|l| l.contains("1 skipped: last owner"))
        .unwrap();
    assert!(banner < guard, "above the guards: {text}");
    insta::assert_snapshot!("confirm_own_account", text);
}

#[test]
fn room_command_takes_an_id_or_a_name_with_completion() {
    let open = |line: &str| {
        let mut s = members_state(10, true);
        s.rooms.rooms.push(Room {
            id: "10000000000000009".into(),
            name: "Trading Desk".into(),
            member_count: Some(12),
            active: true,
        });
        s.screen = Screen::Rooms;
        s.back.clear();
        press(&mut s, ":");
        typ(&mut s, line);
        let effects = press(&mut s, "enter");
        let opened = effects
            .into_iter()
            .find_map(|e| match e {
                Effect::LoadMembers { room, .. } => Some(room.to_string()),
                _ => None,
            })
            .or_else(|| {
                // The room already open: shown again without a reload.
                (s.screen == Screen::Members)
                    .then(|| s.members.room.as_ref().unwrap().id.to_string())
            });
        (s, opened)
    };
    assert_eq!(
        open("room 10000000000000001").1.as_deref(),
        Some("10000000000000001")
    );
    assert_eq!(open("room lobby").1.as_deref(), Some("10000000000000001"));
    assert_eq!(open("room LOBBY").1.as_deref(), Some("10000000000000001"));
    assert_eq!(open("room town").1.as_deref(), Some("10000000000000002"));
    assert_eq!(
        open("room tsq").1.as_deref(),
        Some("10000000000000002"),
        "fuzzy"
    );
    assert_eq!(
        open("room trading desk").1.as_deref(),
        Some("10000000000000009"),
        "names with spaces"
    );
    // Several match: say which, open none.
    let (s, opened) = open("room ar");
    assert_eq!(opened, None);
    let st = s.status.clone().unwrap();
    assert!(
        st.text.contains("town-square") && st.text.contains("archive-2023"),
        "{st:?}"
    );
    // `:room` alone opens the room list.
    let mut s = members_state(10, true);
    press(&mut s, ":");
    typ(&mut s, "room");
    press(&mut s, "enter");
    assert_eq!(s.screen, Screen::Rooms);
    // Tab completes the name, and again cycles.
    let mut s = members_state(10, true);
    press(&mut s, ":");
    typ(&mut s, "room ar");
    press(&mut s, "tab");
    let first = s.command.clone().unwrap();
    press(&mut s, "tab");
    let second = s.command.clone().unwrap();
    let mut both = vec![first, second];
    both.sort();
    assert_eq!(both, ["room archive-2023", "room town-square"]);
}

#[test]
fn filter_prefix_matches_roles_clears_with_ctrl_u_and_shows_its_end() {
    let mut s = members_state(1_000, true);
    press(&mut s, "/");
    typ(&mut s, "role:adm");
    assert_eq!(
        s.members.view.len(),
        6,
        "role names match by prefix while typing"
    );
    press(&mut s, "ctrl-u");
    assert!(s.members.filter.text.is_empty());
    assert!(s.members.filter.editing, "still typing");
    assert_eq!(s.members.view.len(), 1_000);
    let long = "a very long filter that goes on and on past the edge of the screen zzz-end";
    typ(&mut s, long);
    let text = screen_text(&s, 60, 15);
    let line = text.lines().nth(14).unwrap();
    assert!(line.contains("zzz-end▏"), "the cursor end shows: {line}");
    // Ctrl-U clears the command line too.
    press(&mut s, "esc :");
    typ(&mut s, "room lob");
    press(&mut s, "ctrl-u");
    assert_eq!(s.command.as_deref(), Some(""));
}

#[test]
fn long_messages_wrap_and_the_popup_uses_the_width_it_has() {
    let mut s = resized(members_state(10, true), 60, 15);
    let path = "/home/moderator/.local/share/roomwarden/exports/roomwarden-results-20250102T030405.123Z-4242.csv";
    update(
        &mut s,
        Action::Status {
            text: format!("exported 3 rows to {path} (+ .jsonl)"),
            error: false,
        },
    );
    // Status lines wrap at spaces: compare the text without them.
    let flat = |text: &str| -> String { text.split_whitespace().collect() };
    let text = screen_text(&s, 60, 15);
    assert!(flat(&text).contains(path), "the whole path: {text}");
    // The cursor row stays in view above a taller status line.
    press(&mut s, "G");
    update(
        &mut s,
        Action::Status {
            text: format!("exported 3 rows to {path} (+ .jsonl)"),
            error: false,
        },
    );
    let text = screen_text(&s, 60, 15);
    assert!(text.contains("Bram Lind 9"), "{text}");
    assert!(flat(&text).contains(path), "{text}");
    let hint = "(ctrl-rretries)";
    update(
        &mut s,
        Action::MembersFailed {
            seq: 1,
            error: "symphony GET /pod/v2/room/abc/membership/list: server error 503 (the pod is under maintenance, try again in a few minutes)".into(),
        },
    );
    let text = screen_text(&s, 60, 15);
    assert!(flat(&text).contains(hint), "{text}");

    // The popup: guard reasons in full at 100 columns.
    let mut s = members_state(30, true);
    press(&mut s, "space");
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    let mut plan = send_plan(&requests);
    let why = "owners cannot be removed on this provider; transfer ownership in the provider's console first";
    plan.rows[0].verdict = Verdict::Skip(why.into());
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(plan),
        },
    );
    let text = screen_text(&s, 120, 30);
    let inside: String = text
        .lines()
        .map(|l| l.split('│').nth(2).unwrap_or("").trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(inside.contains(why), "{text}");
    let top = text.lines().find(|l| l.contains("┌ remove")).unwrap();
    assert!(top.chars().filter(|c| *c == '─').count() > 100, "{top}");
}

fn audit_record(
    user: &str,
    ticket: Option<&str>,
    status: Option<Status>,
    reason: Option<&str>,
) -> Record {
    Record {
        ts: "2025-01-02T03:04:05Z".into(),
        kind: if status.is_some() {
            Kind::Result
        } else {
            Kind::Intent
        },
        operator: "mod".into(),
        profile: "prod-eu".into(),
        provider: "sandbox".into(),
        room: "10000000000000002".into(),
        user: user.into(),
        action: Verb::Remove,
        status,
        reason: reason.map(str::to_string),
        ticket: ticket.map(str::to_string),
        batch: "20250102T030405.123Z-4242".into(),
        role: Some(Role::Member),
    }
}

#[test]
fn the_audit_screen_shows_full_times_its_columns_and_filters() {
    let mut s = members_state(10, true);
    s.utc_offset = time::UtcOffset::from_hms(2, 0, 0).unwrap();
    press(&mut s, "A");
    update(
        &mut s,
        Action::AuditLoaded(Ok(vec![
            audit_record("71000000000000009", Some("T-77"), None, None),
            audit_record(
                "71000000000000009",
                Some("T-77"),
                Some(Status::Removed),
                None,
            ),
            audit_record(
                "71000000000000001",
                Some("T-78"),
                Some(Status::Skipped),
                Some("last owner of the room"),
            ),
        ])),
    );
    let text = screen_text(&s, 160, 30);
    assert!(
        text.contains("2025-01-02 05:04:05"),
        "local time in full: {text}"
    );
    for col in ["PROFILE", "TICKET", "BATCH"] {
        assert!(text.contains(col), "{col}: {text}");
    }
    assert!(text.contains("prod-eu") && text.contains("T-78"));
    assert!(text.contains("20250102T030405.123Z-4242"), "{text}");
    // `/` filters: by ticket here.
    press(&mut s, "/");
    typ(&mut s, "t-78");
    press(&mut s, "enter");
    assert_eq!(s.audit.view.len(), 1);
    let text = screen_text(&s, 160, 30);
    assert!(
        text.contains("last owner of the room") && !text.contains("T-77"),
        "{text}"
    );
    // Esc clears the filter first.
    press(&mut s, "esc");
    assert_eq!(s.audit.view.len(), 3);
    assert_eq!(s.screen, Screen::Audit);
    insta::assert_snapshot!("audit_columns_100x30", screen_text(&s, 100, 30));
}

#[test]
fn the_audit_screen_shows_whose_rows_they_are_when_a_team_shares_the_store() {
    let mut s = members_state(10, true);
    press(&mut s, "A");
    let alone = vec![audit_record("71000000000000009", Some("T-77"), None, None)];
    update(&mut s, Action::AuditLoaded(Ok(alone)));
    // One operator: main's columns, the operator in the detail line only.
    let text = screen_text(&s, 100, 30);
    assert!(
        !text.contains("OPERATOR") && text.contains("TICKET"),
        "{text}"
    );
    let mut bobs = audit_record("71000000000000001", Some("T-78"), None, None);
    bobs.operator = "bob\x1b[2J".into();
    let team = vec![
        audit_record("71000000000000009", Some("T-77"), None, None),
        bobs,
    ];
    update(&mut s, Action::AuditLoaded(Ok(team)));
    let text = screen_text(&s, 100, 30);
    assert!(text.contains("OPERATOR") && text.contains("mod"), "{text}");
    // An operator name from the shared store is shown escaped.
    assert!(
        text.contains("bob\\x1b") && !text.contains('\x1b'),
        "{text}"
    );
}

#[test]
fn a_deactivated_room_says_so_and_offers_no_changes() {
    let mut s = members_state(10, true);
    s.members.room.as_mut().unwrap().active = false;
    let text = screen_text(&s, 100, 30);
    assert!(text.to_lowercase().contains("deactivated"), "{text}");
    let footer = text.lines().nth(28).unwrap();
    assert!(
        !footer.contains("d remove") && !footer.contains("D demote"),
        "{footer}"
    );
    assert!(press(&mut s, "d").is_empty());
    assert!(press(&mut s, "D").is_empty());
    assert!(s.popup.is_none());
    assert!(s.status.clone().unwrap().text.contains("deactivated"));
}

#[test]
fn the_count_to_type_is_the_count_sent_and_nothing_to_send_never_confirms() {
    let mut s = members_state(99, true);
    press(&mut s, "ctrl-a");
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    let mut plan = send_plan(&requests);
    plan.rows[0].verdict = Verdict::Skip("last owner of the room".into());
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(plan),
        },
    );
    let text = screen_text(&s, 100, 30);
    assert!(text.contains("type 98 to confirm"), "{text}");
    typ(&mut s, "99");
    assert!(press(&mut s, "y").is_empty(), "99 is not what is sent");
    press(&mut s, "backspace backspace");
    typ(&mut s, "98");
    assert!(matches!(
        press(&mut s, "y").as_slice(),
        [Effect::Run { confirmed: 98, .. }]
    ));

    // All refused: nothing to confirm, dry run or not.
    let mut s = members_state(10, true);
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    let mut plan = send_plan(&requests);
    plan.rows[0].verdict = Verdict::Skip("last owner of the room".into());
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(plan),
        },
    );
    assert!(press(&mut s, "y").is_empty());
    assert!(s.status.clone().unwrap().text.contains("nothing to send"));
    press(&mut s, "t");
    assert!(press(&mut s, "y").is_empty());
    assert!(s.popup.is_some());
}

#[test]
fn wording_counts_undo_of_demotes_and_the_escape_hatches() {
    // Undo of a demote says what it does.
    let mut s = members_state(10, true);
    press(&mut s, "space space");
    let (seq, requests) = plan_effect(press(&mut s, "D"));
    let mut plan = send_plan(&requests);
    plan.rows[0].role = Some(Role::Owner);
    plan.rows[1].role = Some(Role::Admin);
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(plan),
        },
    );
    press(&mut s, "y");
    done(
        &mut s,
        &requests,
        &[(Status::Demoted, None), (Status::Demoted, None)],
    );
    press(&mut s, "u");
    let text = screen_text(&s, 100, 30);
    assert!(
        text.contains("Undo: give 2 demoted users their roles back"),
        "{text}"
    );
    assert!(!text.contains("re-add"), "{text}");
    press(&mut s, "esc");
    // "1 row", not "1 rows"; numbers with separators.
    let mut s = members_state(1_500, true);
    press(&mut s, "ctrl-a");
    let effects = press(&mut s, "d");
    let (seq, requests) = plan_effect(effects);
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    typ(&mut s, "1500");
    press(&mut s, "y");
    done(&mut s, &requests, &vec![(Status::Removed, None); 1_500]);
    assert!(
        s.status.clone().unwrap().text.contains("1,500 removed"),
        "{:?}",
        s.status
    );
    let text = screen_text(&s, 100, 30);
    assert!(text.contains("1,500 rows"), "{text}");
    let mut one = members_state(10, true);
    let effects = press(&mut one, "d");
    let r = plan_and_confirm(&mut one, effects);
    done(&mut one, &r, &[(Status::Removed, None)]);
    assert!(screen_text(&one, 100, 30).contains("results 1 row "));
    // Esc in the reason editor drops what was typed there.
    let mut s = members_state(10, true);
    press(&mut s, "d r");
    typ(&mut s, "spam");
    press(&mut s, "enter r");
    typ(&mut s, " wave");
    press(&mut s, "esc");
    assert_eq!(s.popup.as_ref().unwrap().reason, "spam");
    // No "Esc back" on the top screen; "? help" on progress and help.
    let mut s = members_state(10, true);
    s.screen = Screen::Rooms;
    s.back.clear();
    let footer = |s: &State| screen_text(s, 100, 30).lines().nth(28).unwrap().to_string();
    assert!(!footer(&s).contains("Esc back"), "{}", footer(&s));
    press(&mut s, "?");
    assert!(footer(&s).trim_end().ends_with("? help"), "{}", footer(&s));
    press(&mut s, "?");
    assert_eq!(s.screen, Screen::Rooms, "? again closes help");
    let mut s = members_state(10, true);
    let effects = press(&mut s, "d");
    plan_and_confirm(&mut s, effects);
    assert_eq!(s.screen, Screen::Progress);
    assert!(footer(&s).trim_end().ends_with("? help"), "{}", footer(&s));
}

/// A fully loaded list whose length differs from the room's member count
/// (a provider that repeated or skipped members while paging) says so in
/// the title; one that agrees says nothing.
#[test]
fn a_complete_list_that_disagrees_with_the_room_count_says_so() {
    let mut s = members_state(300, true);
    assert!(!screen_text(&s, 100, 30).contains("the room says"));
    s.members.total_hint = Some(302);
    let text = screen_text(&s, 100, 30);
    assert!(text.contains("listed 300, the room says 302"), "{text}");
}

#[test]
fn undo_also_puts_back_users_whose_answer_was_lost() {
    let mut s = members_state(10, true);
    press(&mut s, "space space space");
    let effects = press(&mut s, "d");
    let first = plan_and_confirm(&mut s, effects);
    let lost = format!(
        "HTTP 503; an earlier attempt {} (its answer was lost): check this user in the provider",
        crate::ops::MAY_HAVE_ACTED
    );
    done(
        &mut s,
        &first,
        &[
            (Status::Removed, None),
            (Status::Failed, Some(&lost)),
            (Status::Failed, Some("403 forbidden")),
        ],
    );
    let effects = press(&mut s, "u");
    let undo = plan_and_confirm(&mut s, effects);
    let undone: Vec<_> = undo.iter().map(|r| r.user.clone()).collect();
    assert_eq!(
        undone,
        [first[0].user.clone(), first[1].user.clone()],
        "the lost answer's user may be gone: undo re-adds them; the refused one is still there"
    );
}

#[test]
fn a_cancelled_batch_says_cancelled_not_done() {
    let mut s = members_state(10, true);
    press(&mut s, "ctrl-a");
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    assert!(matches!(
        press(&mut s, "y").as_slice(),
        [Effect::Run { .. }]
    ));
    press(&mut s, "esc");
    let mut rows = vec![(Status::Removed, None); 4];
    rows.extend(vec![
        (Status::Skipped, Some("cancelled"));
        requests.len() - 4
    ]);
    done(&mut s, &requests, &rows);
    let st = s.status.clone().unwrap();
    assert!(
        st.text.starts_with("batch cancelled: 4 removed") && st.text.contains("not sent"),
        "{st:?}"
    );
}

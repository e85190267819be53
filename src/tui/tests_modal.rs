//! Modal states (the quit question, the confirm popup and its reason
//! editor) close when what they are about is over, say which keys they
//! take, and keep what is being typed in view.

use super::action::{Action, Effect};
use super::keymap::Key;
use super::state::*;
use super::tests::{members_state, plan_effect, press, screen_text, send_plan};
use super::update::update;
use crate::model::{Outcome, Room, Status};
use crate::ops::plan::Request;
use crate::ops::{Progress, Report};
use std::time::Duration;

fn typ(s: &mut State, text: &str) {
    for c in text.chars() {
        update(s, Action::Key(Key::ch(c)));
    }
}

/// Opens the remove popup for the cursor row (or the marks) and plans it
/// as all-send.
fn planned_popup(s: &mut State, key: &str) -> Vec<Request> {
    let (seq, requests) = plan_effect(press(s, key));
    update(
        s,
        Action::Planned {
            seq,
            result: Ok(send_plan(&requests)),
        },
    );
    requests
}

fn finish(s: &mut State, requests: &[Request]) {
    update(
        s,
        Action::RunDone(Report {
            batch: "b1".into(),
            outcomes: requests
                .iter()
                .map(|q| Outcome {
                    room: q.room.clone(),
                    user: q.user.clone(),
                    action: q.action,
                    status: Status::Removed,
                    reason: None,
                    role: None,
                })
                .collect(),
            progress: Progress::default(),
            local_error: None,
        }),
    );
}

fn footer(s: &State, w: u16, h: u16) -> String {
    let text = screen_text(s, w, h);
    text.lines()
        .nth(h as usize - 2)
        .unwrap_or("")
        .trim_end()
        .to_string()
}

// ------------------------------------------------- 1. the quit question

#[test]
fn a_quit_question_still_open_when_the_batch_ends_closes_and_y_then_copies() {
    let mut s = members_state(10, true);
    let requests = planned_popup(&mut s, "d");
    press(&mut s, "y");
    assert_eq!(s.screen, Screen::Progress);
    press(&mut s, "q");
    assert!(s.ask_quit && !s.quit);
    finish(&mut s, &requests);
    assert_eq!(s.screen, Screen::Results);
    assert!(!s.ask_quit, "no batch runs: nothing left to ask");
    assert!(!screen_text(&s, 100, 30).contains("quit?"));
    let st = s.status.clone().expect("a note");
    assert!(
        st.text.contains("finished while"),
        "says the batch ended while the question was open: {st:?}"
    );
    // `y` is copy on the results screen again, not "quit anyway".
    let effects = press(&mut s, "y");
    assert!(!s.quit);
    assert!(
        matches!(effects.as_slice(), [Effect::Copy(_)]),
        "{effects:?}"
    );
    // And no key claims the batch goes on.
    press(&mut s, "j");
    let st = s.status.clone().unwrap_or_default();
    assert!(!st.text.contains("goes on"), "{st:?}");
}

#[test]
fn a_popup_for_one_room_closes_when_another_room_opens_under_it() {
    // `:room` answered after a mark-all popup started reading the room.
    let mut s = members_state(2_000, false);
    press(&mut s, "ctrl-a");
    press(&mut s, "d");
    assert!(matches!(
        s.popup.as_ref().unwrap().planning,
        Planning::Resolving { .. }
    ));
    let effects = update(
        &mut s,
        Action::RoomFound(Ok(Room {
            id: "10000000000000001".into(),
            name: "lobby".into(),
            member_count: Some(2_500),
            active: true,
        })),
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadMembers { .. }))
    );
    assert!(
        s.popup.is_none(),
        "the popup's set was of the room that closed"
    );
    let st = s.status.clone().unwrap();
    assert!(st.text.contains("nothing was sent"), "{st:?}");
}

// ------------------------------------------------ 2. help over the popup

#[test]
fn the_popup_footer_ends_with_help_and_help_opens_over_it() {
    let mut s = members_state(10, true);
    planned_popup(&mut s, "d");
    for (w, h) in [(100, 30), (60, 15)] {
        let f = footer(&s, w, h);
        assert!(f.ends_with("? help"), "{w}x{h}: {f}");
    }
    for key in ["?", "f1"] {
        press(&mut s, key);
        assert_eq!(s.screen, Screen::Help, "{key}");
        assert!(s.popup.is_some(), "the popup waits under help");
        let text = screen_text(&s, 100, 30);
        assert!(!text.contains("y/Enter confirm"), "{text}");
        assert!(text.contains("confirm popup"), "{text}");
        // Keys of help, not of the popup.
        assert!(press(&mut s, "y").is_empty());
        press(&mut s, "j");
        assert!(s.popup.is_some());
        press(&mut s, "esc");
        assert_eq!(s.screen, Screen::Members);
        let p = s.popup.as_ref().expect("back to the popup");
        assert!(p.plan().is_some());
        assert!(screen_text(&s, 100, 30).contains("y/Enter confirm"));
    }
    // `?` again also goes back.
    press(&mut s, "?");
    press(&mut s, "?");
    assert_eq!(s.screen, Screen::Members);
    assert!(s.popup.is_some());
    let effects = press(&mut s, "y");
    assert!(matches!(effects.as_slice(), [Effect::Run { .. }]));
}

// ---------------------------------------------- 3. the reason editor

#[test]
fn the_reason_editor_shows_its_keys_and_the_cursor_end_of_a_long_reason() {
    let mut s = members_state(10, true);
    planned_popup(&mut s, "d");
    press(&mut s, "r");
    for (w, h) in [(100, 30), (60, 15)] {
        let f = footer(&s, w, h);
        assert!(!f.contains("confirm"), "y/n type text now: {f}");
        assert!(f.contains("Enter done") && f.contains("Esc cancel"), "{f}");
        assert!(f.ends_with("F1 help"), "{f}");
    }
    let long = "spam wave from the weekend raid, see ticket T-4242 and the linked thread, zzz-end";
    typ(&mut s, long);
    for (w, h) in [(100, 30), (60, 15)] {
        let text = screen_text(&s, w, h);
        assert!(text.contains("zzz-end▏"), "{w}x{h}: {text}");
    }
    // F1 opens help over the editor, which goes on after it.
    press(&mut s, "f1");
    assert_eq!(s.screen, Screen::Help);
    press(&mut s, "esc");
    assert!(s.popup.as_ref().unwrap().editing_reason);
    press(&mut s, "enter");
    let f = footer(&s, 100, 30);
    assert!(f.contains("y confirm") && f.ends_with("? help"), "{f}");
}

#[test]
fn a_long_command_line_keeps_its_cursor_end_in_view() {
    let mut s = members_state(10, true);
    press(&mut s, ":");
    let ids: Vec<String> = (0..12).map(|i| format!("7100000000000{i:04}")).collect();
    typ(&mut s, &format!("add {} zzz-end", ids.join(" ")));
    for (w, h) in [(100, 30), (60, 15)] {
        let text = screen_text(&s, w, h);
        let last = text.lines().nth(h as usize - 1).unwrap();
        assert!(last.contains("zzz-end▏"), "{w}x{h}: {last}");
        assert!(last.starts_with(":…"), "{w}x{h}: {last}");
    }
}

// ----------------------------------------------------------- 4. the ETA

#[test]
fn the_popup_eta_counts_the_round_trip_measured_while_loading() {
    let mut s = members_state(2_499, true);
    update(&mut s, Action::RoundTrip(Duration::from_millis(1_500)));
    press(&mut s, "ctrl-a");
    planned_popup(&mut s, "d");
    let Some(Planning::Ready { summary, .. }) = s.popup.as_ref().map(|p| &p.planning) else {
        panic!("a plan");
    };
    // 25 calls of 100 users, 8 in flight: 4 rounds of 1.5 s.
    assert!(
        summary.eta >= Duration::from_secs(6) && summary.eta < Duration::from_secs(8),
        "{:?}",
        summary.eta
    );
    assert!(screen_text(&s, 100, 30).contains("about 6s"));
    // A profile switch forgets the other provider's round trip.
    let header = s.header.clone();
    update(&mut s, Action::ProfileSwitched(Ok(header)));
    assert_eq!(s.round_trip, None);
}

// ------------------------------------------------------- 5. small ones

#[test]
fn ctrl_u_empties_the_typed_count() {
    let mut s = members_state(60, true);
    press(&mut s, "ctrl-a");
    planned_popup(&mut s, "d");
    typ(&mut s, "6,0");
    press(&mut s, "ctrl-u");
    assert_eq!(s.popup.as_ref().unwrap().typed, "");
    typ(&mut s, "60");
    assert!(matches!(
        press(&mut s, "y").as_slice(),
        [Effect::Run { .. }]
    ));
}

#[test]
fn help_says_retry_takes_cancelled_rows_and_undo_restores_roles() {
    let mut s = members_state(10, true);
    press(&mut s, "?");
    let text = screen_text(&s, 120, 90);
    assert!(text.contains("retry failed and cancelled rows"), "{text}");
    assert!(
        text.contains("give demoted users their roles back"),
        "{text}"
    );
}

#[test]
fn no_second_batch_starts_while_one_runs() {
    let mut s = members_state(10, true);
    press(&mut s, "space space");
    let requests = planned_popup(&mut s, "d");
    press(&mut s, "y");
    assert!(s.batch.is_some());
    // A row failed already; the results screen offers its retry.
    update(
        &mut s,
        Action::Run(crate::ops::RunEvent::Row {
            index: 0,
            outcome: Outcome {
                room: requests[0].room.clone(),
                user: requests[0].user.clone(),
                action: requests[0].action,
                status: Status::Failed,
                reason: Some("provider said no".into()),
                role: None,
            },
        }),
    );
    press(&mut s, "R");
    assert_eq!(s.screen, Screen::Results);
    let retry = planned_popup(&mut s, "t");
    assert_eq!(retry.len(), 1);
    let effects = press(&mut s, "y");
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Run { .. })),
        "{effects:?}"
    );
    assert!(s.popup.is_some(), "the popup waits");
    let st = s.status.clone().unwrap();
    assert!(st.text.contains("batch is running"), "{st:?}");
    // Once the batch ends, the retry can go.
    finish(&mut s, &requests);
    let effects = press(&mut s, "y");
    assert!(
        matches!(effects.as_slice(), [Effect::Run { .. }]),
        "{effects:?}"
    );
}

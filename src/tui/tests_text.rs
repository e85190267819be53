//! What the console says: filters over every shown field, empty lists
//! that say why, the too-small notice, and long `:add` results.

use super::action::{Action, Effect};
use super::keymap::Key;
use super::state::{INFO_TICKS, Screen, State};
use super::tests::{members_state, press, screen_text};
use super::update::update;
use crate::model::{Action as Verb, Member, Role, Status, UserId};
use crate::ops::audit::{Kind, Record};
use crate::provider::{MemberListing, RoomListing};

fn typ(s: &mut State, text: &str) {
    for c in text.chars() {
        update(s, Action::Key(Key::ch(c)));
    }
}

fn record(user: &str, ts: &str) -> Record {
    Record {
        ts: ts.into(),
        kind: Kind::Result,
        operator: "mod".into(),
        profile: "prod-eu".into(),
        provider: "sandbox".into(),
        room: "10000000000000002".into(),
        user: user.into(),
        action: Verb::Remove,
        status: Some(Status::Removed),
        reason: None,
        ticket: None,
        batch: "20250102T030405.123Z-4242".into(),
        role: Some(Role::Member),
    }
}

fn audit_state(offset_hours: i8, records: Vec<Record>) -> State {
    let mut s = members_state(10, true);
    s.utc_offset = time::UtcOffset::from_hms(offset_hours, 0, 0).unwrap();
    press(&mut s, "A");
    update(&mut s, Action::AuditLoaded(Ok(records)));
    s
}

fn filter_audit(s: &mut State, text: &str) -> usize {
    press(s, "/ ctrl-u");
    typ(s, text);
    press(s, "enter");
    s.audit.view.len()
}

#[test]
fn the_audit_filter_matches_the_time_as_shown() {
    let recs: Vec<Record> = (0..4)
        .map(|i| record(&format!("7100000000000000{i}"), "2026-11-30T11:02:01Z"))
        .collect();
    let mut s = audit_state(0, recs.clone());
    assert!(screen_text(&s, 160, 30).contains("2026-11-30 11:02:01"));
    assert_eq!(filter_audit(&mut s, "2026"), 4);
    assert_eq!(filter_audit(&mut s, "11:02"), 4);
    assert_eq!(filter_audit(&mut s, "2026-11-30 11:02:01"), 4);
    // In the shown offset, not the stored one.
    let mut s = audit_state(2, recs);
    assert!(screen_text(&s, 160, 30).contains("2026-11-30 13:02:01"));
    assert_eq!(filter_audit(&mut s, "13:02"), 4);
    assert_eq!(filter_audit(&mut s, "11:02"), 0);
    let text = screen_text(&s, 160, 30);
    assert!(text.contains("no records match"), "{text}");
}

/// The lines of a screen, trimmed, joined by spaces.
fn joined(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn too_small_wraps_the_whole_message_and_keeps_the_numbers_at_the_tiniest() {
    let s = members_state(10, true);
    for (w, h) in [(59, 30), (40, 10), (20, 5), (30, 3)] {
        let text = joined(&screen_text(&s, w, h));
        assert!(
            text.contains(&format!("terminal too small — need 60×15, have {w}×{h}")),
            "{w}×{h}: {text}"
        );
    }
    assert!(joined(&screen_text(&s, 40, 10)).contains("q quits"));
    insta::assert_snapshot!("too_small_40x10", screen_text(&s, 40, 10));
    insta::assert_snapshot!("too_small_12x2", screen_text(&s, 12, 2));
    // Too tiny for the whole sentence: the numbers still show.
    for (w, h) in [(12, 2), (10, 1)] {
        let text = joined(&screen_text(&s, w, h));
        assert!(text.contains(&format!("{w}×{h}")), "{w}×{h}: {text}");
    }
    let text = joined(&screen_text(&s, 12, 2));
    assert!(text.contains("60×15"), "{text}");
}

#[test]
fn an_audit_scope_matching_nothing_says_so_not_that_the_log_is_empty() {
    let mut s = members_state(10, true);
    press(&mut s, ":");
    typ(&mut s, "audit operator:nobody");
    press(&mut s, "enter");
    assert_eq!(s.screen, Screen::Audit);
    update(&mut s, Action::AuditLoaded(Ok(vec![])));
    let text = screen_text(&s, 100, 30);
    assert!(
        text.contains("no records match operator:nobody") && !text.contains("yet"),
        "{text}"
    );
    // With no scope, an empty log is still an empty log.
    press(&mut s, ":");
    typ(&mut s, "audit");
    press(&mut s, "enter");
    update(&mut s, Action::AuditLoaded(Ok(vec![])));
    let text = screen_text(&s, 100, 30);
    assert!(text.contains("no audit records yet"), "{text}");
}

#[test]
fn a_rooms_filter_matching_nothing_says_no_rooms_match() {
    let mut s = members_state(10, true);
    press(&mut s, "esc");
    assert_eq!(s.screen, Screen::Rooms);
    press(&mut s, "/");
    typ(&mut s, "zz");
    press(&mut s, "enter");
    let text = screen_text(&s, 100, 30);
    assert!(text.contains("no rooms match"), "{text}");
    press(&mut s, "esc");
    s.rooms.rooms.clear();
    s.rooms.view.clear();
    let text = screen_text(&s, 100, 30);
    assert!(
        text.contains("no rooms") && !text.contains("match"),
        "{text}"
    );
}

fn partial_state() -> State {
    let mut s = members_state(5, true);
    s.header.caps.members = MemberListing::Partial;
    s.header.caps.rooms = RoomListing::Configured;
    s
}

fn ids(n: usize) -> Vec<UserId> {
    (0..n)
        .map(|i| UserId::new(format!("{}", 72_000_000_000_000_000u64 + i as u64)))
        .collect()
}

#[test]
fn a_long_add_result_is_short_stays_and_copies_every_id_not_found() {
    let mut s = partial_state();
    let absent = ids(300);
    let pasted: Vec<&str> = absent.iter().map(UserId::as_str).collect();
    update(&mut s, Action::Paste(pasted.join("\n")));
    let seq = match press(&mut s, "enter").as_slice() {
        [Effect::LookUp { seq, users, .. }] => {
            assert_eq!(users.len(), 300);
            *seq
        }
        other => panic!("{other:?}"),
    };
    update(
        &mut s,
        Action::LookedUp {
            seq,
            found: vec![],
            absent: absent.clone(),
            failed: vec![],
        },
    );
    let st = s.status.clone().unwrap();
    assert!(st.text.contains("300 not in the room"), "{st:?}");
    assert!(st.text.contains(absent[0].as_str()), "{st:?}");
    assert!(st.text.contains("… and 298 more"), "{st:?}");
    assert!(st.text.chars().count() <= 140, "short: {st:?}");
    // At most two lines at 100 columns, and every id on them whole.
    assert!(s.status_height() <= 2);
    let text = screen_text(&s, 100, 30);
    assert!(text.contains("… and 298 more"), "{text}");
    insta::assert_snapshot!("add_result_long_100x30", text);
    // It stays past the plain message's time and past other keys.
    for _ in 0..INFO_TICKS * 5 {
        update(&mut s, Action::Tick);
    }
    press(&mut s, "j");
    assert_eq!(s.status.as_ref().map(|st| &st.text), Some(&st.text));
    // The copy key copies every id not found, one a line.
    let fx = press(&mut s, "y");
    let want = pasted.join("\n");
    assert!(
        matches!(fx.as_slice(), [Effect::Copy(t)] if *t == want),
        "{fx:?}"
    );
    assert_eq!(s.status.as_ref().map(|st| &st.text), Some(&st.text));
    // Esc dismisses it (and stays on the screen); then y copies the
    // cursor's id again.
    press(&mut s, "esc");
    assert!(s.status.is_none());
    assert_eq!(s.screen, Screen::Members);
    let fx = press(&mut s, "y");
    assert!(
        matches!(fx.as_slice(), [Effect::Copy(t)] if !t.contains('\n') && !t.starts_with("72")),
        "{fx:?}"
    );
}

#[test]
fn failed_lookups_are_counted_and_copied_too() {
    let mut s = partial_state();
    let seq = s.members.load_gen;
    let failed: Vec<(UserId, String)> = ids(20)
        .into_iter()
        .map(|u| {
            let e = format!("{u}: agora: 503 service unavailable");
            (u, e)
        })
        .collect();
    update(
        &mut s,
        Action::LookedUp {
            seq,
            found: vec![Member::new("u-1", None, Role::Member)],
            absent: vec![UserId::from("u-2")],
            failed: failed.clone(),
        },
    );
    let st = s.status.clone().unwrap();
    assert!(st.error, "{st:?}");
    assert!(st.text.contains("added and marked 1"), "{st:?}");
    assert!(st.text.contains("not in the room: u-2"), "{st:?}");
    assert!(st.text.contains("20 lookups failed"), "{st:?}");
    assert!(st.text.contains("… and 19 more"), "{st:?}");
    assert!(st.text.chars().count() <= 200, "{st:?}");
    let fx = press(&mut s, "y");
    let mut want = vec!["u-2".to_string()];
    want.extend(failed.iter().map(|(u, _)| u.to_string()));
    assert!(
        matches!(fx.as_slice(), [Effect::Copy(t)] if *t == want.join("\n")),
        "{fx:?}"
    );
}

#[test]
fn a_short_add_result_still_goes_like_any_message() {
    let mut s = partial_state();
    let seq = s.members.load_gen;
    update(
        &mut s,
        Action::LookedUp {
            seq,
            found: vec![Member::new("u-1", None, Role::Member)],
            absent: vec![],
            failed: vec![],
        },
    );
    assert!(
        s.status
            .as_ref()
            .unwrap()
            .text
            .contains("added and marked 1")
    );
    press(&mut s, "j");
    assert!(s.status.is_none());
}

#[test]
fn filter_field_names_and_roles_ignore_case_and_two_roles_show_either() {
    let mut s = members_state(20, true);
    let count = |s: &mut State, q: &str| {
        press(s, "/ ctrl-u");
        typ(s, q);
        press(s, "enter");
        s.members.view.len()
    };
    // generate_members: 2 owners, 6 admins, the rest members.
    assert_eq!(count(&mut s, "role:Admin"), 6);
    assert_eq!(count(&mut s, "ROLE:ADMIN"), 6);
    assert_eq!(count(&mut s, "Role:adm"), 6);
    assert_eq!(count(&mut s, "role:admin role:owner"), 8);
    assert_eq!(count(&mut s, "role:owner ROLE:Admin"), 8);
    // `:audit` field names too.
    press(&mut s, "esc :");
    typ(&mut s, "audit OPERATOR:bob Ticket:T-7");
    press(&mut s, "enter");
    assert_eq!(s.screen, Screen::Audit);
    assert_eq!(s.audit.scope.operator.as_deref(), Some("bob"));
    assert_eq!(s.audit.scope.ticket.as_deref(), Some("T-7"));
}

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


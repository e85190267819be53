//! The console on a provider that cannot list everything: configured rooms,
//! partial member lists, ids added by hand or paste, membership events.

use super::action::{Action, Effect};
use super::tests::{members_state, press, screen_text};
use super::update::update;
use crate::model::{Member, MemberEvent, Role, RoomId, UserId};
use crate::provider::{MemberListing, RoomListing};

fn partial_state() -> super::state::State {
    let mut s = members_state(5, true);
    s.header.caps.members = MemberListing::Partial;
    s.header.caps.rooms = RoomListing::Configured;
    s.members.total_hint = Some(1_204);
    s
}

fn room_id(s: &super::state::State) -> RoomId {
    s.members.room.as_ref().unwrap().id.clone()
}

#[test]
fn a_partial_room_says_so_in_its_title() {
    let s = partial_state();
    let text = screen_text(&s, 100, 30);
    assert!(text.contains("partial: 5 known of ~1,204"), "{text}");
    let mut full = members_state(5, true);
    full.members.total_hint = Some(1_204);
    assert!(!screen_text(&full, 100, 30).contains("partial"));
}

#[test]
fn configured_rooms_carry_a_note() {
    let mut s = partial_state();
    s.screen = super::state::Screen::Rooms;
    let text = screen_text(&s, 200, 30);
    assert!(
        text.contains("configured: this provider cannot list rooms"),
        "{text}"
    );
}

#[test]
fn pasted_ids_are_looked_up_then_added_and_marked() {
    let mut s = partial_state();
    // A paste with no line open starts `:add` with the ids, one per line.
    let fx = update(&mut s, Action::Paste("u-100\nu-101\r\nu-102\x1b\n".into()));
    assert!(fx.is_empty());
    assert_eq!(s.command.as_deref(), Some("add u-100 u-101 u-102"));
    let fx = press(&mut s, "enter");
    let (seq, users) = match fx.as_slice() {
        [Effect::LookUp { room, seq, users }] => {
            assert_eq!(room, &room_id(&s));
            (*seq, users.clone())
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(users.len(), 3);
    update(
        &mut s,
        Action::LookedUp {
            seq,
            found: vec![
                Member::new("u-100", Some("Hundred"), Role::Member),
                Member::new("u-101", None, Role::Admin),
            ],
            absent: vec![UserId::from("u-102")],
            failed: vec![],
        },
    );
    assert_eq!(s.members.store.len(), 7);
    assert!(s.members.marks.contains(&UserId::from("u-100")));
    assert!(s.members.marks.contains(&UserId::from("u-101")));
    let status = s.status.as_ref().unwrap();
    assert!(status.text.contains("not in the room: u-102"), "{status:?}");
    assert!(screen_text(&s, 100, 30).contains("partial: 7 known"));

    // Adding the same id again does not list it twice.
    update(
        &mut s,
        Action::LookedUp {
            seq,
            found: vec![Member::new("u-100", Some("Hundred"), Role::Member)],
            absent: vec![],
            failed: vec![],
        },
    );
    assert_eq!(s.members.store.len(), 7);
}

#[test]
fn a_key_opens_add_and_bad_ids_are_refused_before_any_lookup() {
    let mut s = partial_state();
    press(&mut s, "a");
    assert_eq!(s.command.as_deref(), Some("add "));
    s.command = Some("add ok-1 ..".into());
    let fx = press(&mut s, "enter");
    assert!(fx.is_empty(), "{fx:?}");
    let status = s.status.as_ref().unwrap();
    assert!(status.error && status.text.contains("`..`"), "{status:?}");
}

#[test]
fn membership_events_apply_to_the_open_room_only() {
    let mut s = partial_state();
    let room = room_id(&s);
    update(
        &mut s,
        Action::Membership(MemberEvent::Joined {
            room: room.clone(),
            member: Member::new("joiner", Some("New"), Role::Member),
        }),
    );
    assert_eq!(s.members.store.len(), 6);
    assert_eq!(s.members.view.len(), 6);
    update(
        &mut s,
        Action::Membership(MemberEvent::Joined {
            room: RoomId::from("elsewhere"),
            member: Member::new("other", None, Role::Member),
        }),
    );
    assert_eq!(s.members.store.len(), 6);
    update(
        &mut s,
        Action::Membership(MemberEvent::RoleChanged {
            room: room.clone(),
            user: UserId::from("joiner"),
            role: Role::Admin,
        }),
    );
    assert_eq!(
        s.members.roles.get(&UserId::from("joiner")),
        Some(&Role::Admin)
    );
    update(
        &mut s,
        Action::Membership(MemberEvent::Left {
            room,
            user: UserId::from("joiner"),
        }),
    );
    assert_eq!(s.members.view.len(), 5, "the leaver is hidden");
}

#[test]
fn a_room_id_that_would_escape_its_url_is_refused_at_the_command_line() {
    let mut s = partial_state();
    s.command = Some("room ..".into());
    let fx = press(&mut s, "enter");
    assert!(fx.is_empty(), "{fx:?}");
    assert!(s.status.as_ref().unwrap().text.contains("`..`"));
}

#[test]
fn a_feed_that_dropped_says_the_open_room_may_have_missed_changes() {
    let mut s = partial_state();
    let room = room_id(&s);
    update(
        &mut s,
        Action::Membership(MemberEvent::Missed {
            room: RoomId::from("elsewhere"),
        }),
    );
    assert!(s.status.is_none(), "another room's gap says nothing here");
    update(&mut s, Action::Membership(MemberEvent::Missed { room }));
    let status = s.status.as_ref().unwrap();
    assert!(
        !status.error
            && status.text.contains("may be missing")
            && status.text.contains("ctrl-r reloads"),
        "{status:?}"
    );
    assert_eq!(s.members.store.len(), 5, "nothing shown changes by itself");
}

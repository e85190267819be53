//! Untrusted text on screen: room names, ids, display names, reasons and
//! error text from a provider (or an audit log) are drawn with their
//! control characters escaped (`\x1b`), never dropped or sent raw.

use super::action::Action;
use super::state::{Screen, StatusLine};
use super::tests::{members_state, plan_effect, press, screen_text, send_plan};
use super::update::update;
use crate::model::{Member, Outcome, Role, Room, Status};
use crate::ops::audit::{Kind, Record};
use crate::ops::{Progress, Report};

const ESC: &str = "\u{1b}[2J\u{7}";
const SHOWN: &str = "\\x1b[2J\\x07";

fn hostile_state() -> super::state::State {
    let mut s = members_state(0, true);
    let room = Room {
        id: format!("10000000000000002{ESC}").as_str().into(),
        name: format!("town{ESC}square"),
        member_count: Some(2),
        active: true,
    };
    s.rooms.rooms = vec![room.clone()];
    s.rooms.view = vec![0];
    s.members.room = Some(room);
    s.members.store.push_page(vec![
        Member {
            user: format!("7100{ESC}").as_str().into(),
            name: Some(format!("Mallory{ESC}\nFAKE ROW").into()),
            role: Role::Member,
        },
        Member {
            user: "71000000000000002".into(),
            name: Some("Alice".into()),
            role: Role::Member,
        },
    ]);
    s.members.view = vec![0, 1];
    s.members.total_hint = Some(2);
    s
}

fn assert_escaped(text: &str, what: &str) {
    assert!(text.contains(SHOWN), "{what}: {text}");
    let raw = text.chars().any(|c| c.is_control() && c != '\n');
    assert!(!raw, "{what}: {text:?}");
}

#[test]
fn rooms_members_and_the_header_show_escapes() {
    let mut s = hostile_state();
    let members = screen_text(&s, 120, 30);
    assert_escaped(&members, "members");
    assert!(members.contains(&format!("7100{SHOWN}")), "{members}");
    assert!(
        members.contains(&format!("Mallory{SHOWN}\\x0aFAKE ROW")),
        "{members}"
    );
    assert!(members.contains(&format!("town{SHOWN}square")), "{members}");
    s.screen = Screen::Rooms;
    let rooms = screen_text(&s, 120, 30);
    assert_escaped(&rooms, "rooms");
    assert!(rooms.contains(&format!("town{SHOWN}square")), "{rooms}");
}

#[test]
fn the_status_line_shows_escapes() {
    let mut s = hostile_state();
    s.status = Some(StatusLine {
        text: format!("agora: 500 {ESC}boom"),
        error: true,
        note: Some(format!("note{ESC}")),
        ..StatusLine::default()
    });
    let text = screen_text(&s, 120, 30);
    assert!(text.contains(&format!("500 {SHOWN}boom")), "{text}");
    assert!(text.contains(&format!("note{SHOWN}")), "{text}");
}

#[test]
fn the_popup_results_and_audit_show_escapes() {
    let mut s = hostile_state();
    let (seq, requests) = plan_effect(press(&mut s, "d"));
    let popup = screen_text(&s, 120, 30);
    assert!(popup.contains(&format!("7100{SHOWN}")), "{popup}");
    assert!(popup.contains(&format!("Mallory{SHOWN}")), "{popup}");
    let mut plan = send_plan(&requests);
    plan.notices = vec![format!("notice{ESC}")];
    update(
        &mut s,
        Action::Planned {
            seq,
            result: Ok(plan),
        },
    );
    let popup = screen_text(&s, 120, 30);
    assert!(popup.contains(&format!("notice{SHOWN}")), "{popup}");

    press(&mut s, "y");
    update(
        &mut s,
        Action::RunDone(Report {
            batch: "b1".into(),
            outcomes: requests
                .iter()
                .map(|q| Outcome {
                    room: q.room.clone(),
                    user: q.user.clone(),
                    action: q.action,
                    status: Status::Failed,
                    reason: Some(format!("agora: 403 {ESC}denied")),
                    role: None,
                })
                .collect(),
            progress: Progress::default(),
            local_error: None,
        }),
    );
    let results = screen_text(&s, 120, 30);
    assert_escaped(&results, "results");
    assert!(results.contains(&format!("403 {SHOWN}denied")), "{results}");

    press(&mut s, "A");
    update(
        &mut s,
        Action::AuditLoaded(Ok(vec![Record {
            ts: "2025-01-02T03:04:05Z".into(),
            kind: Kind::Result,
            operator: "mod".into(),
            profile: "sandbox".into(),
            provider: "sandbox".into(),
            room: format!("1000{ESC}").as_str().into(),
            user: "71000000000000009".into(),
            action: crate::model::Action::Remove,
            status: Some(Status::Removed),
            reason: Some(format!("spam{ESC}")),
            ticket: None,
            batch: "b1".into(),
            role: None,
        }])),
    );
    let audit = screen_text(&s, 160, 30);
    assert_escaped(&audit, "audit");
    assert!(audit.contains(&format!("spam{SHOWN}")), "{audit}");
}

#[test]
fn command_line_messages_show_control_characters_as_the_cli_does() {
    let mut s = super::tests::members_state(10, true);
    s.command = Some("room x\u{1b}y".into());
    super::tests::press(&mut s, "enter");
    let text = &s.status.as_ref().unwrap().text;
    assert!(text.contains("x\\x1by"), "{text}");
    assert!(
        !text.contains("\\u{1b}") && !text.contains('\u{1b}'),
        "{text}"
    );
}

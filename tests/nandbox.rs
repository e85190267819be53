//! The nandbox adapter's own behaviours over its fake Bot API server:
//! error frames without reference, ids above 2^53, drops mid-batch,
//! events, refused tokens (also through the CLI), undocumented replies.

mod common;
#[path = "fakes/nandbox.rs"]
mod fake;

use roomwarden::config::{Config, Profile};
use roomwarden::model::{
    Action, Member, MemberEvent, PageRequest, Restore, Role, RoomId, Status, UserId,
};
use roomwarden::ops::audit::AuditLog;
use roomwarden::ops::plan::Request;
use roomwarden::ops::{Cancel, Engine, RunOptions};
use roomwarden::provider::sandbox::world::{self, SPAM_ROOM, STAFF_ROOM, SharedWorld, World};
use roomwarden::provider::{self, ErrorKind, Provider};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Every method the adapter may send.
const METHODS: [&str; 8] = [
    "TOKEN_AUTH",
    "PING",
    "getChat",
    "getChatMember",
    "getChatAdministrators",
    "removeChatMember",
    "addChatMember",
    "addChatAdmin",
];

fn profile(url: &str, token: &str, extra: &str) -> Profile {
    let text = format!(
        "[profiles.n]\nprovider = \"nandbox\"\nbase_url = \"{url}\"\ntoken = \"{token}\"\n\
         chats = [\"{SPAM_ROOM}\", \"{STAFF_ROOM}\"]\n{extra}\n"
    );
    Config::parse(&text, std::path::Path::new("nandbox.toml"), None)
        .unwrap()
        .profile(None)
        .unwrap()
        .clone()
}

fn adapter(f: &fake::Fake, extra: &str) -> Arc<dyn Provider> {
    provider::build(&profile(f.url(), &f.token(), extra)).unwrap()
}

async fn start(options: fake::Options) -> fake::Fake {
    fake::start(World::generate().shared(), options).await
}

/// The `nth` plain member of a world room.
fn member(w: &SharedWorld, room: &str, nth: usize) -> UserId {
    world::lock(w)
        .room(&RoomId::from(room))
        .unwrap()
        .members()
        .filter(|m| m.role == Role::Member)
        .nth(nth)
        .unwrap()
        .user
        .clone()
}

fn in_room(w: &SharedWorld, room: &str, user: &UserId) -> bool {
    world::lock(w)
        .room(&RoomId::from(room))
        .unwrap()
        .get(user)
        .is_some()
}

/// Asserts the adapter sent no method outside its own set.
fn only_known_methods(f: &fake::Fake) {
    for m in f.methods() {
        assert!(METHODS.contains(&m.as_str()), "unexpected method {m}");
    }
}

fn removals_of(f: &fake::Fake, user: &UserId) -> usize {
    f.requests("removeChatMember")
        .iter()
        .filter(|r| r["user_id"] == user.as_str())
        .count()
}

fn engine(p: Arc<dyn Provider>, f: &fake::Fake) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.jsonl")).unwrap());
    (
        Engine::new(p, &profile(f.url(), &f.token(), ""), Some(audit)),
        dir,
    )
}

fn quick() -> RunOptions {
    RunOptions {
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        ..RunOptions::default()
    }
}

#[tokio::test]
async fn an_error_frame_fails_only_its_own_row_and_the_next_call_goes_on() {
    for lookup in [
        fake::NotMemberLookup::ErrorFrame,
        fake::NotMemberLookup::Status("Left"),
    ] {
        let f = start(fake::Options {
            not_member_lookup: lookup,
            ..fake::Options::default()
        })
        .await;
        let p = adapter(&f, "");
        let room = RoomId::from(SPAM_ROOM);
        let (a, b, c) = (
            member(f.world(), SPAM_ROOM, 0),
            member(f.world(), SPAM_ROOM, 1),
            member(f.world(), SPAM_ROOM, 2),
        );
        let stranger = UserId::from("71999999999999999");
        let mut rows = Vec::new();
        for u in [&a, &stranger, &b, &c] {
            rows.extend(p.remove(&room, std::slice::from_ref(u)).await.unwrap());
        }
        let st: Vec<Status> = rows.iter().map(|o| o.status).collect();
        assert_eq!(st[0], Status::Removed);
        assert!(
            matches!(st[1], Status::AlreadyAbsent | Status::Failed),
            "{rows:?}"
        );
        assert_eq!(&st[2..], [Status::Removed, Status::Removed]);
        let code = f.options().errors.not_member.to_string();
        assert!(
            rows[1].reason.as_deref().unwrap().contains(&code),
            "the row names the provider's code: {rows:?}"
        );
        // The error frame really came, without a reference, between replies.
        assert!(f.sent().contains(&format!("{{\"error\":{code}}}")));
        assert_eq!(removals_of(&f, &stranger), 1);
        for u in [&a, &b, &c] {
            assert!(!in_room(f.world(), SPAM_ROOM, u));
        }
        only_known_methods(&f);
    }
}

#[tokio::test]
async fn an_error_frame_for_a_member_fails_the_row_with_the_code() {
    let f = start(fake::Options::default()).await;
    let p = adapter(&f, "");
    let room = RoomId::from(SPAM_ROOM);
    let owner = p
        .staff(&room)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.role == Role::Owner)
        .unwrap();
    let rows = p
        .remove(&room, std::slice::from_ref(&owner.user))
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Failed);
    assert_eq!(
        rows[0].reason.as_deref(),
        Some(format!("nandbox error {}", f.options().errors.forbidden).as_str())
    );
    assert_eq!(rows[0].role, Some(Role::Owner));
    assert!(in_room(f.world(), SPAM_ROOM, &owner.user));
}

#[tokio::test]
async fn a_user_who_left_after_planning_ends_already_absent() {
    let f = start(fake::Options {
        not_member_lookup: fake::NotMemberLookup::Status("Left"),
        ..fake::Options::default()
    })
    .await;
    let p = adapter(&f, "");
    let (engine, _dir) = engine(p, &f);
    let room = RoomId::from(SPAM_ROOM);
    let users: Vec<UserId> = (0..4).map(|i| member(f.world(), SPAM_ROOM, i)).collect();
    let plan = engine
        .plan(
            users
                .iter()
                .map(|u| Request::new(room.clone(), u.clone(), Action::Remove))
                .collect(),
        )
        .await
        .unwrap();
    f.leave(SPAM_ROOM, users[1].as_str());
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    let st: Vec<Status> = report.outcomes.iter().map(|o| o.status).collect();
    assert_eq!(
        st,
        [
            Status::Removed,
            Status::AlreadyAbsent,
            Status::Removed,
            Status::Removed
        ],
        "{:?}",
        report.outcomes
    );
}

#[tokio::test]
async fn ids_above_2_pow_53_travel_exactly_as_strings() {
    let mut w = World::generate();
    let (room, users) = fake::add_big_id_room(&mut w);
    let f = fake::start(w.shared(), fake::Options::default()).await;
    let p = adapter(&f, "");
    let room_id = RoomId::from(room.as_str());
    let target = UserId::from(users[0].as_str());
    assert!(users[0].parse::<u64>().unwrap() > 1 << 53);

    let m = p.member(&room_id, &target).await.unwrap().unwrap();
    assert_eq!(m.user, target);
    let rows = p
        .remove(&room_id, std::slice::from_ref(&target))
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Removed);
    assert_eq!(rows[0].user, target);
    let back = p
        .readd(
            &room_id,
            &[Restore {
                user: target.clone(),
                role: Role::Member,
            }],
        )
        .await
        .unwrap();
    assert_eq!(back[0].status, Status::Readded, "{back:?}");
    let staff = p.staff(&room_id).await.unwrap();
    assert_eq!(staff[0].user.as_str(), "9223372036854770001");
    assert_eq!(staff[0].role, Role::Owner);

    let frames = f.frames();
    for method in ["getChatMember", "removeChatMember", "addChatMember"] {
        let sent = frames
            .iter()
            .find(|fr| fr.contains(&format!("\"method\":\"{method}\"")))
            .unwrap();
        assert!(sent.contains(&format!("\"chat_id\":\"{room}\"")), "{sent}");
        assert!(
            sent.contains(&format!("\"user_id\":\"{}\"", users[0])),
            "{sent}"
        );
    }
    assert!(
        frames
            .iter()
            .all(|fr| !fr.contains("e+") && !fr.contains("E+") && !fr.contains(".0")),
        "no id went out as a float"
    );
    // The adapter refuses ids nandbox cannot have before sending anything.
    let sent_before = f.frames().len();
    let err = p
        .member(&room_id, &UserId::from("12345678901234567890"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert_eq!(f.frames().len(), sent_before);
    assert!(
        p.validate_user(&UserId::from("9223372036854775807"))
            .is_ok()
    );
    assert!(p.validate_user(&UserId::from("../x")).is_err());
}

#[tokio::test]
async fn a_drop_mid_batch_loses_no_row_and_repeats_no_removal() {
    let f = start(fake::Options::default()).await;
    let p = adapter(&f, "");
    let (engine, dir) = engine(p, &f);
    let room = RoomId::from(SPAM_ROOM);
    let users: Vec<UserId> = (0..6).map(|i| member(f.world(), SPAM_ROOM, i)).collect();
    let plan = engine
        .plan(
            users
                .iter()
                .map(|u| Request::new(room.clone(), u.clone(), Action::Remove))
                .collect(),
        )
        .await
        .unwrap();
    let auths = f.auths();
    // The first removal is acted on, then the socket drops before its
    // reply; the lookup that follows drops too, before it is acted on.
    f.drop_next("removeChatMember", fake::DropWhen::AfterActing);
    f.drop_next("getChatMember", fake::DropWhen::BeforeActing);
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert_eq!(report.outcomes.len(), 6, "no row lost");
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Removed),
        "{:?}",
        report.outcomes
    );
    for u in &users {
        assert!(!in_room(f.world(), SPAM_ROOM, u));
    }
    // The removal whose reply was lost was asked about, not sent again.
    for u in &users {
        assert_eq!(removals_of(&f, u), 1, "no removal repeated: {u}");
    }
    assert_eq!(f.dropped(), 2);
    assert!(report.progress.retries >= 2);
    assert!(f.auths() >= auths + 2, "reconnected and re-authenticated");
    // The audit log has one result per row and no token.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(!audit.contains(&f.token()));
    only_known_methods(&f);
}

#[tokio::test]
async fn a_drop_before_acting_sends_the_removal_again_after_asking() {
    let f = start(fake::Options::default()).await;
    let p = adapter(&f, "");
    let (engine, _dir) = engine(p, &f);
    let room = RoomId::from(SPAM_ROOM);
    let users: Vec<UserId> = (0..3).map(|i| member(f.world(), SPAM_ROOM, i)).collect();
    let plan = engine
        .plan(
            users
                .iter()
                .map(|u| Request::new(room.clone(), u.clone(), Action::Remove))
                .collect(),
        )
        .await
        .unwrap();
    f.drop_next("removeChatMember", fake::DropWhen::BeforeActing);
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Removed),
        "{:?}",
        report.outcomes
    );
    // Dropped unapplied: asked, found still a member, sent once more.
    assert_eq!(removals_of(&f, &users[0]), 2);
    assert_eq!(removals_of(&f, &users[1]), 1);
    let asked = f
        .requests("getChatMember")
        .iter()
        .filter(|r| r["user_id"] == users[0].as_str())
        .count();
    assert_eq!(asked, 2, "looked up when planning and after the drop");
    assert!(report.progress.retries >= 1);
}

#[tokio::test]
async fn join_and_leave_events_reach_the_event_stream() {
    let f = start(fake::Options::default()).await;
    let p = adapter(&f, "");
    let mut events = p.events().expect("nandbox has an event stream");
    let room = RoomId::from(SPAM_ROOM);
    p.room(&room).await.unwrap();
    assert_eq!(f.sessions(), 1);
    let newcomer = "71999999999999991";
    assert_eq!(f.join(SPAM_ROOM, newcomer, Some("New Comer")), 1);
    let ev = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ev,
        MemberEvent::Joined {
            room: room.clone(),
            member: Member::new(newcomer, Some("New Comer"), Role::Member),
        }
    );
    // A user seen in an event is part of the partial listing.
    let page = p.members(&room, PageRequest::first()).await.unwrap();
    assert!(page.items.iter().any(|m| m.user.as_str() == newcomer));
    assert_eq!(page.total, Some(301));

    f.leave(SPAM_ROOM, newcomer);
    let ev = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ev,
        MemberEvent::Left {
            room: room.clone(),
            user: newcomer.into()
        }
    );
    let page = p.members(&room, PageRequest::first()).await.unwrap();
    assert!(page.items.iter().all(|m| m.user.as_str() != newcomer));

    // An event from a chat not in the profile makes that chat known.
    let lobby = "10000000000000001";
    f.join(lobby, "71999999999999992", None);
    let ev = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ev.room().as_str(), lobby);
    let rooms = p.rooms(PageRequest::first()).await.unwrap();
    let ids: Vec<&str> = rooms.items.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [SPAM_ROOM, STAFF_ROOM, lobby]);
    assert_eq!(rooms.items[2].name, "lobby");
}

#[tokio::test]
async fn listing_is_configured_chats_and_partial_members() {
    let f = start(fake::Options::default()).await;
    let p = adapter(&f, "");
    let caps = p.capabilities();
    assert_eq!(caps.max_in_flight, 1);
    assert_eq!(caps.max_batch, 1);
    assert!(!caps.can_demote && !caps.can_demote_owner && caps.can_readd);

    let rooms = p.rooms(PageRequest::sized(1)).await.unwrap();
    assert_eq!(rooms.items.len(), 1);
    assert_eq!(rooms.items[0].name, "spam-wave");
    assert_eq!(rooms.items[0].member_count, Some(300));
    let next = p
        .rooms(PageRequest::sized(1).next(rooms.next.unwrap()))
        .await
        .unwrap();
    assert_eq!(next.items[0].name, "staff-room");
    assert!(next.next.is_none());

    let room = RoomId::from(STAFF_ROOM);
    let staff = p.staff(&room).await.unwrap();
    assert_eq!(staff.len(), 9);
    assert_eq!(staff[0].role, Role::Owner);
    assert!(staff[1..].iter().all(|m| m.role == Role::Admin));
    assert!(staff.iter().all(|m| m.name.is_some()), "names from lookups");
    let plain = member(f.world(), STAFF_ROOM, 0);
    let page = p.members(&room, PageRequest::first()).await.unwrap();
    assert_eq!(page.items.len(), 9, "only staff until someone is looked up");
    assert!(page.next.is_none());
    assert_eq!(
        p.member(&room, &plain).await.unwrap().map(|m| m.role),
        Some(Role::Member)
    );
    let page = p.members(&room, PageRequest::first()).await.unwrap();
    assert_eq!(page.items.len(), 10);
    // Demote is not supported: one skipped row, nothing sent.
    let sent = f.frames().len();
    let rows = p
        .demote(
            &room,
            &[roomwarden::model::Demotion {
                user: staff[1].user.clone(),
                role: Role::Admin,
            }],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Skipped);
    assert_eq!(f.frames().len(), sent);
    only_known_methods(&f);
}

/// `profiles --check` on nandbox opens the session, which proves the
/// token, and asks nothing about any chat (the chats come from the
/// profile, so listing them would prove nothing).
#[tokio::test]
async fn check_authenticates_and_sends_nothing_else() {
    let f = start(fake::Options::default()).await;
    let p = adapter(&f, "");
    p.check().await.unwrap();
    p.check().await.unwrap();
    assert_eq!(f.methods(), ["TOKEN_AUTH"], "one session, no chat call");

    let f = start(fake::Options::default()).await;
    let p = provider::build(&profile(f.url(), "90091783822039252:0:wrong", "")).unwrap();
    let err = p.check().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert!(!err.to_string().contains("wrong"), "{err}");
    assert_eq!(f.methods(), ["TOKEN_AUTH"]);
}

#[tokio::test]
async fn refused_tokens_are_auth_errors_and_a_bare_close_is_no_refusal() {
    // A refusal is an error frame (then a close, as seen [log], or not).
    for refusal in [
        fake::AuthRefusal::ErrorThenClose,
        fake::AuthRefusal::ErrorOnly,
    ] {
        let f = start(fake::Options {
            auth_refusal: refusal,
            ..fake::Options::default()
        })
        .await;
        let p = provider::build(&profile(f.url(), "90091783822039252:0:wrong", "")).unwrap();
        let err = p.room(&RoomId::from(SPAM_ROOM)).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Auth, "{refusal:?}: {err}");
        assert!(!err.to_string().contains("wrong"));
        assert_eq!(f.methods(), ["TOKEN_AUTH"], "nothing sent after a refusal");
    }
    // A close with no error frame says nothing about the token (the SDKs
    // reconnect after it [sdk]): a connection error, retried by ops.
    let f = start(fake::Options {
        auth_refusal: fake::AuthRefusal::Close,
        ..fake::Options::default()
    })
    .await;
    let p = provider::build(&profile(f.url(), "90091783822039252:0:wrong", "")).unwrap();
    let err = p.room(&RoomId::from(SPAM_ROOM)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Connection, "{err}");
    assert!(!err.to_string().contains("wrong"));
    assert_eq!(f.methods(), ["TOKEN_AUTH"], "nothing sent after the close");
    // A token issued anew invalidates the old one at once [doc].
    let f = start(fake::Options::default()).await;
    let p = adapter(&f, "");
    p.room(&RoomId::from(SPAM_ROOM)).await.unwrap();
    f.set_token("90091783822039252:0:rotated");
    f.kick_all();
    // A call racing the drop may find the old socket gone (a retryable
    // connection error, which ops retries); the reconnect is refused.
    let mut err = p.room(&RoomId::from(SPAM_ROOM)).await.unwrap_err();
    if err.kind == ErrorKind::Connection {
        err = p.room(&RoomId::from(SPAM_ROOM)).await.unwrap_err();
    }
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
}

#[tokio::test]
async fn quiet_add_replies_are_resolved_by_asking_and_admins_are_restored() {
    let f = start(fake::Options {
        add_reply: fake::AddReply::Silent,
        ..fake::Options::default()
    })
    .await;
    let p = adapter(&f, "timeout_secs = 1");
    let room = RoomId::from(STAFF_ROOM);
    let admin = p
        .staff(&room)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.role == Role::Admin)
        .unwrap();
    let plain = member(f.world(), STAFF_ROOM, 0);
    let rows = p
        .remove(&room, std::slice::from_ref(&admin.user))
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Removed);
    p.remove(&room, std::slice::from_ref(&plain)).await.unwrap();
    let back = p
        .readd(
            &room,
            &[
                Restore {
                    user: admin.user.clone(),
                    role: Role::Admin,
                },
                Restore {
                    user: plain.clone(),
                    role: Role::Member,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(back[0].status, Status::Readded, "{back:?}");
    assert_eq!(back[0].role, Some(Role::Admin));
    assert_eq!(back[1].status, Status::Readded, "{back:?}");
    assert_eq!(back[1].role, Some(Role::Member));
    let w = world::lock(f.world());
    let r = w.room(&room).unwrap();
    assert_eq!(r.get(&admin.user).map(|m| m.role), Some(Role::Admin));
    assert_eq!(r.get(&plain).map(|m| m.role), Some(Role::Member));
}

#[tokio::test]
async fn a_chat_the_bot_cannot_read_is_listed_locked_and_errors_name_the_code() {
    let f = start(fake::Options {
        forbidden_chats: HashSet::from([STAFF_ROOM.to_string()]),
        ..fake::Options::default()
    })
    .await;
    let p = adapter(&f, "");
    let rooms = p.rooms(PageRequest::first()).await.unwrap();
    assert_eq!(rooms.items.len(), 2);
    assert!(rooms.items[0].active);
    assert!(!rooms.items[1].active);
    let code = f.options().errors.forbidden.to_string();
    assert!(rooms.items[1].name.contains(&code), "{:?}", rooms.items[1]);
    let err = p.room(&RoomId::from(STAFF_ROOM)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert_eq!(err.code.as_deref(), Some(code.as_str()));
    assert!(err.to_string().starts_with("nandbox"), "{err}");
}

#[tokio::test]
async fn every_spelling_of_the_removed_status_ends_removed() {
    for status in ["Removed", "Deleted", "removed"] {
        let f = start(fake::Options {
            removed_status: status,
            ..fake::Options::default()
        })
        .await;
        let p = adapter(&f, "");
        let user = member(f.world(), SPAM_ROOM, 0);
        let rows = p
            .remove(&RoomId::from(SPAM_ROOM), std::slice::from_ref(&user))
            .await
            .unwrap();
        assert_eq!(rows[0].status, Status::Removed, "{status}: {rows:?}");
        assert_eq!(rows[0].role, None);
    }
}

#[tokio::test]
async fn a_slow_answer_times_out_and_never_answers_the_next_call() {
    let f = start(fake::Options::default()).await;
    let p = adapter(&f, "timeout_secs = 1");
    let room = RoomId::from(SPAM_ROOM);
    p.room(&room).await.unwrap();
    world::lock(f.world()).faults.latency = Duration::from_millis(1_500);
    let err = p.room(&RoomId::from(STAFF_ROOM)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(err.is_retryable());
    world::lock(f.world()).faults.latency = Duration::ZERO;
    // A new session: the late chatDetails of staff-room is never taken
    // for this call's answer.
    let again = p.room(&room).await.unwrap();
    assert_eq!(again.name, "spam-wave");
    assert_eq!(f.auths(), 2);
}

/// Runs the binary off the runtime while the fake keeps serving, logging
/// everything (`ROOMWARDEN_LOG=trace`: the WebSocket library's frame traces
/// included, were they not silenced).
async fn roomwarden(args: Vec<String>, token: &str) -> std::process::Output {
    common::run_with_secret(args, TOKEN_ENV, token, Some("trace")).await
}

const TOKEN_ENV: &str = "RW_NANDBOX_TEST_TOKEN";

fn jsonl(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_works_against_the_fake_and_a_refused_token_exits_3_unseen() {
    let f = start(fake::Options::default()).await;
    let cli = common::FakeCli::new(
        format!(
            "default_profile = \"nb\"\n[profiles.nb]\nprovider = \"nandbox\"\nbase_url = \"{}\"\n\
             token_env = \"{TOKEN_ENV}\"\nchats = [\"{SPAM_ROOM}\"]\n",
            f.url()
        ),
        TOKEN_ENV,
    )
    .traced();
    let base = |rest: &[&str]| cli.args(rest);
    let audit = &cli.audit;
    let target = member(f.world(), SPAM_ROOM, 5);

    // A well-formed token the server refuses: exit 3, nothing attempted.
    let secret = "90091783822039252:0:sEcReT-refused-3f9a";
    cli.refused_unseen(
        &[
            &["-vv", "rooms"],
            &["-vv", "remove", SPAM_ROOM, target.as_str(), "--yes"],
        ],
        secret,
        "sEcReT",
    )
    .await;
    assert!(in_room(f.world(), SPAM_ROOM, &target));
    assert!(f.requests("removeChatMember").is_empty());

    // The right token: rooms, members, a removal; the token (which the
    // server echoes in TOKEN_AUTH_OK) appears nowhere.
    let token = f.token();
    let out = roomwarden(base(&["-vv", "rooms"]), &token).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rooms = jsonl(&out.stdout);
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0]["room"], SPAM_ROOM);
    assert_eq!(rooms[0]["name"], "spam-wave");
    assert_eq!(rooms[0]["members"], 300);
    let secret_part = token.rsplit(':').next().unwrap().to_string();
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&secret_part));

    let out = roomwarden(base(&["members", SPAM_ROOM]), &token).await;
    assert_eq!(out.status.code(), Some(0));
    let members = jsonl(&out.stdout);
    assert_eq!(members.len(), 2, "owner and admin: {members:?}");
    assert!(members.iter().any(|m| m["role"] == "owner"));

    let out = roomwarden(
        base(&[
            "-vv",
            "remove",
            SPAM_ROOM,
            target.as_str(),
            "71999999999999999",
            "--yes",
        ]),
        &token,
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(&secret_part));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&secret_part));
    let rows = jsonl(&out.stdout);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["status"], "removed");
    assert_eq!(rows[1]["status"], "already_absent");
    assert!(!in_room(f.world(), SPAM_ROOM, &target));
    let audit_text = std::fs::read_to_string(audit).unwrap();
    assert!(!audit_text.contains(&secret_part));
    assert!(!audit_text.contains("sEcReT"));

    let out = roomwarden(base(&["profiles"]), &token).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nandbox"), "{text}");
    assert!(!text.contains(&secret_part));
}

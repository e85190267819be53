//! Symphony beyond the shared suite: int64 ids, base64 stream ids, the room
//! rules (last owner, deactivated rooms, jumbo pacing), sessions and bot
//! login, the admin and search modes, and the CLI over the fake pod.

#[path = "fakes/symphony.rs"]
mod fake;

use fake::{BOT_USERNAME, Fake, Options, SESSION_TOKEN, stream_id};
use roomwarden::config::{Config, Profile};
use roomwarden::model::{Action, Member, PageRequest, Restore, Role, RoomId, Status, UserId};
use roomwarden::ops::audit::AuditLog;
use roomwarden::ops::plan::{Request, Verdict};
use roomwarden::ops::{Cancel, Engine, RunOptions};
use roomwarden::provider::sandbox::world::{
    self, ARCHIVE_ROOM, FOUNDERS_ROOM, JUMBO_ROOM, SharedWorld, World, WorldRoom,
};
use roomwarden::provider::symphony::ids;
use roomwarden::provider::{self, ErrorKind, PageStyle, Provider};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const LOBBY: &str = "10000000000000001";
/// A small room with two owners, added by [`world_with_extras`].
const TWO_OWNERS: &str = "30000000000000001";
const OWNER_A: &str = "73000000000000001";
const OWNER_B: &str = "73000000000000002";
/// A user id near the top of int64, in the two-owner room.
const HUGE_USER: &str = "9223372036854775001";

fn member(i: usize) -> String {
    format!("7300000000000010{i}")
}

fn world_with_extras() -> SharedWorld {
    let world = World::generate().shared();
    let mut room = WorldRoom::new(TWO_OWNERS, "two-owners", true);
    room.add(Member::new(OWNER_A, Some("Owner A"), Role::Owner));
    room.add(Member::new(OWNER_B, Some("Owner B"), Role::Owner));
    for i in 0..5 {
        room.add(Member::new(member(i), Some("Member"), Role::Member));
    }
    room.add(Member::new(HUGE_USER, Some("Huge Id"), Role::Member));
    world::lock(&world).add_room(room);
    world
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn profile(base_url: &str, extra: &str) -> Profile {
    let text =
        format!("[profiles.s]\nprovider = \"symphony\"\nbase_url = \"{base_url}\"\n{extra}\n");
    Config::parse(&text, std::path::Path::new("symphony.toml"), None)
        .unwrap()
        .profile(None)
        .unwrap()
        .clone()
}

fn token_profile(fake: &Fake, extra: &str) -> Profile {
    profile(
        &fake.base_url,
        &format!("session_token = \"{SESSION_TOKEN}\"\n{extra}"),
    )
}

fn bot_profile(fake: &Fake, key: &str) -> Profile {
    profile(
        &fake.base_url,
        &format!(
            "username = \"{BOT_USERNAME}\"\nprivate_key_path = \"{}\"\n",
            fixture(key).display()
        ),
    )
}

fn build(p: &Profile) -> Arc<dyn Provider> {
    provider::build(p).unwrap()
}

fn bot_options() -> Options {
    Options {
        bot: Some(fake::Bot {
            username: BOT_USERNAME.into(),
            public_key_pem: std::fs::read(fixture("symphony_TEST_ONLY_bot_public_key.pem"))
                .unwrap(),
        }),
        ..Options::default()
    }
}

fn make_engine(p: &Profile) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.jsonl")).unwrap());
    (Engine::new(build(p), p, Some(audit)), dir)
}

fn quick() -> RunOptions {
    RunOptions {
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        ..RunOptions::default()
    }
}

fn sid(world_room: &str) -> RoomId {
    stream_id(&RoomId::from(world_room))
}

fn role_in(world: &SharedWorld, room: &str, user: &str) -> Option<Role> {
    world::lock(world)
        .room(&RoomId::from(room))
        .unwrap()
        .get(&UserId::from(user))
        .map(|m| m.role)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn int64_ids_survive_round_trips_as_json_numbers() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), Options::default()).await;
    let p = build(&token_profile(&fake, ""));
    let room = sid(TWO_OWNERS);

    let page = p.members(&room, PageRequest::first()).await.unwrap();
    let ids: Vec<&str> = page.items.iter().map(|m| m.user.as_str()).collect();
    assert!(ids.contains(&HUGE_USER), "{ids:?}");
    assert!(ids.contains(&OWNER_A));
    assert!(ids.iter().all(|i| i.len() >= 17));

    let rows = p.remove(&room, &[UserId::from(HUGE_USER)]).await.unwrap();
    assert_eq!(rows[0].status, Status::Removed, "{rows:?}");
    assert_eq!(rows[0].user.as_str(), HUGE_USER);
    let calls = fake.membership_calls();
    assert_eq!(calls.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&calls[0].body).unwrap();
    assert!(
        body["id"].is_i64(),
        "id must be a JSON number: {}",
        calls[0].body
    );
    assert_eq!(calls[0].body, format!("{{\"id\":{HUGE_USER}}}"));
    assert_eq!(role_in(&world, TWO_OWNERS, HUGE_USER), None);

    let back = p
        .readd(
            &room,
            &[Restore {
                user: HUGE_USER.into(),
                role: Role::Member,
            }],
        )
        .await
        .unwrap();
    assert_eq!(back[0].status, Status::Readded);
    assert_eq!(role_in(&world, TWO_OWNERS, HUGE_USER), Some(Role::Member));

    for (bad, why) in [
        ("9223372036854775808", "64-bit"),
        ("alice", "digits"),
        ("-7", "digits"),
        ("0", "positive"),
    ] {
        let e = p.validate_user(&UserId::from(bad)).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
    assert!(
        p.validate_user(&UserId::from("9223372036854775807"))
            .is_ok()
    );

    // Invalid ids are refused in the plan, before anything is sent.
    let (engine, _dir) = make_engine(&token_profile(&fake, ""));
    let plan = engine
        .plan(vec![Request::new(room.clone(), "alice", Action::Remove)])
        .await
        .unwrap();
    assert!(matches!(&plan.rows[0].verdict, Verdict::Skip(w) if w.contains("digits")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ids_go_into_paths_url_safe_from_either_form() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), Options::default()).await;
    let p = build(&token_profile(&fake, ""));
    let standard = sid(FOUNDERS_ROOM);
    assert!(
        standard.as_str().contains('+') && standard.as_str().contains('/'),
        "{standard}"
    );
    assert!(standard.as_str().ends_with("=="));
    let safe = ids::url_safe(&standard).unwrap();
    assert!(!safe.contains(['+', '/', '=']));
    assert_eq!(safe, fake::url_safe(standard.as_str()));
    assert_eq!(
        ids::standard(&RoomId::from(safe.as_str())).unwrap(),
        standard.as_str()
    );

    for spelled in [standard.clone(), RoomId::from(safe.as_str())] {
        let room = p.room(&spelled).await.unwrap();
        assert_eq!(room.id, spelled, "the caller's spelling is kept");
        assert_eq!(room.name, "founders");
        assert_eq!(room.member_count, Some(40));
    }
    // Listings show the provider's own (standard) spelling.
    let rooms = p.rooms(PageRequest::first()).await.unwrap();
    assert!(rooms.items.iter().any(|r| r.id == standard));
    // Every path the fake saw used the URL-safe form.
    for line in fake.requests() {
        let path = line.split(['?', ' ']).nth(1).unwrap();
        assert!(!path.contains(['+', '=']), "{line}");
    }
    assert!(
        fake.requests().iter().any(|l| l.contains(&safe)),
        "{:?}",
        fake.requests()
    );
    // Not base64 at all: refused before sending.
    let before = fake.requests().len();
    let e = p.room(&RoomId::from("../admin")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert_eq!(fake.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_owner_guard_with_two_owners_and_with_one() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), Options::default()).await;
    let p = token_profile(&fake, "");
    let (engine, _dir) = make_engine(&p);

    // Two owners: the first may go, the second is the last one.
    let two = sid(TWO_OWNERS);
    let plan = engine
        .plan(vec![
            Request::new(two.clone(), OWNER_A, Action::Remove),
            Request::new(two.clone(), OWNER_B, Action::Demote),
            Request::new(two.clone(), member(1), Action::Remove),
        ])
        .await
        .unwrap();
    assert_eq!(plan.rows[0].verdict, Verdict::Send);
    assert_eq!(
        plan.rows[1].verdict,
        Verdict::Skip("last owner of the room".into())
    );
    assert_eq!(plan.rows[2].verdict, Verdict::Send);
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    let st: Vec<Status> = report.outcomes.iter().map(|o| o.status).collect();
    assert_eq!(st, [Status::Removed, Status::Skipped, Status::Removed]);
    assert_eq!(role_in(&world, TWO_OWNERS, OWNER_B), Some(Role::Owner));
    assert!(
        fake.membership_calls().iter().all(|c| c.verb == "remove"),
        "the last owner was never demoted"
    );

    // One owner: neither remove nor demote is sent.
    let one = sid(FOUNDERS_ROOM);
    let owner = world::lock(&world)
        .room(&FOUNDERS_ROOM.into())
        .unwrap()
        .with_role(Role::Owner)[0]
        .user
        .clone();
    let sent_before = fake.membership_calls().len();
    let plan = engine
        .plan(vec![
            Request::new(one.clone(), owner.clone(), Action::Remove),
            Request::new(one.clone(), owner.clone(), Action::Demote),
        ])
        .await
        .unwrap();
    for row in &plan.rows {
        assert_eq!(row.verdict, Verdict::Skip("last owner of the room".into()));
    }
    assert!(plan.notices.iter().any(|n| n.contains("last owner")));
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert!(report.outcomes.iter().all(|o| o.status == Status::Skipped));
    assert_eq!(fake.membership_calls().len(), sent_before);
    assert_eq!(
        role_in(&world, FOUNDERS_ROOM, owner.as_str()),
        Some(Role::Owner)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_room_is_refused_with_nothing_sent() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), Options::default()).await;
    let (engine, _dir) = make_engine(&token_profile(&fake, ""));
    let archive = sid(ARCHIVE_ROOM);
    let users: Vec<Member> = world::lock(&world)
        .room(&ARCHIVE_ROOM.into())
        .unwrap()
        .members()
        .skip(2)
        .take(3)
        .cloned()
        .collect();
    let plan = engine
        .plan(
            users
                .iter()
                .map(|m| Request::new(archive.clone(), m.user.clone(), Action::Remove))
                .collect(),
        )
        .await
        .unwrap();
    assert!(!plan.rows.is_empty());
    for row in &plan.rows {
        assert!(
            matches!(&row.verdict, Verdict::Skip(w) if w.contains("deactivated")),
            "{row:?}"
        );
    }
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert!(report.outcomes.iter().all(|o| o.status == Status::Skipped));
    assert!(
        fake.membership_calls().is_empty(),
        "{:?}",
        fake.membership_calls()
    );
    assert_eq!(
        world::lock(&world)
            .room(&ARCHIVE_ROOM.into())
            .unwrap()
            .len(),
        30
    );

    // The fake itself refuses too (in case a plan were bypassed).
    let p = build(&token_profile(&fake, ""));
    let rows = p.remove(&archive, &[users[0].user.clone()]).await.unwrap();
    assert_eq!(rows[0].status, Status::Failed);
    assert!(rows[0].reason.as_deref().unwrap().contains("deactivated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumbo_rooms_are_paced_unless_the_profile_says_not() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), Options::default()).await;
    let jumbo = sid(JUMBO_ROOM);
    let users: Vec<UserId> = world::lock(&world)
        .room(&JUMBO_ROOM.into())
        .unwrap()
        .members()
        .skip(100)
        .take(4)
        .map(|m| m.user.clone())
        .collect();
    let requests = || -> Vec<Request> {
        users
            .iter()
            .map(|u| Request::new(jumbo.clone(), u.clone(), Action::Remove))
            .chain([Request::new(sid(TWO_OWNERS), member(1), Action::Remove)])
            .collect()
    };

    let (engine, _dir) = make_engine(&token_profile(&fake, ""));
    let caps = engine.capabilities().clone();
    assert_eq!(caps.max_batch, 1);
    let pacing = caps.pacing.expect("paced by default");
    assert_eq!(pacing.above_members, 500);
    assert_eq!(pacing.interval, Duration::from_secs(3));
    let plan = engine.plan(requests()).await.unwrap();
    assert_eq!(plan.to_send(), 5);
    assert_eq!(plan.paced.len(), 1, "only the jumbo room: {:?}", plan.paced);
    assert_eq!(plan.paced.get(&jumbo), Some(&Duration::from_secs(3)));
    // 4 paced changes at 3 s, plus one small-room call at the default rate.
    let eta = plan.eta(&caps);
    assert_eq!(
        eta,
        Duration::from_secs(12) + Duration::from_secs_f64(1.0 / 5.0)
    );
    assert!(
        plan.notices
            .iter()
            .any(|n| n.contains("paced at one change per 3s") && n.contains("12s")),
        "{:?}",
        plan.notices
    );
    assert!(fake.membership_calls().is_empty(), "planning sends nothing");

    let (engine, _dir) = make_engine(&token_profile(&fake, "jumbo_pacing = false"));
    assert!(engine.capabilities().pacing.is_none());
    let plan = engine.plan(requests()).await.unwrap();
    assert!(plan.paced.is_empty());
    assert!(!plan.notices.iter().any(|n| n.contains("paced")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_bot_login_works_and_a_wrong_key_is_refused() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), bot_options()).await;
    let p = build(&bot_profile(
        &fake,
        "symphony_TEST_ONLY_bot_private_key.pem",
    ));
    let rooms = p.rooms(PageRequest::first()).await.unwrap();
    assert_eq!(rooms.items.len(), 7);
    let _ = p.room(&sid(LOBBY)).await.unwrap();
    assert_eq!(fake.logins(), 1, "the session is cached");

    let wrong = build(&bot_profile(
        &fake,
        "symphony_TEST_ONLY_other_private_key.pem",
    ));
    let e = wrong.rooms(PageRequest::first()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert!(e.is_unavailable() && !e.is_retryable());
    assert!(e.to_string().contains("Invalid JWT"), "{e}");
    assert_eq!(fake.logins(), 1);

    // The JWT's lifetime stays under 5 minutes: a pod that allows only one
    // minute refuses it, one that allows five accepts it.
    let strict = fake::start(
        world.clone(),
        Options {
            max_jwt_lifetime: Duration::from_secs(60),
            ..bot_options()
        },
    )
    .await;
    let e = build(&bot_profile(
        &strict,
        "symphony_TEST_ONLY_bot_private_key.pem",
    ))
    .rooms(PageRequest::first())
    .await
    .unwrap_err();
    assert!(e.to_string().contains("too far"), "{e}");

    // A bad key file is a config error naming the key.
    let bad = bot_profile(&fake, "README-symphony-keys.md");
    let e = provider::build(&bad).err().unwrap().to_string();
    assert!(e.contains("private_key_path"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_session_reauthenticates_exactly_once() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), bot_options()).await;
    let p = build(&bot_profile(
        &fake,
        "symphony_TEST_ONLY_bot_private_key.pem",
    ));
    p.room(&sid(LOBBY)).await.unwrap();
    assert_eq!((fake.logins(), fake.login_attempts()), (1, 1));

    fake.expire_sessions();
    let rows = p
        .remove(&sid(TWO_OWNERS), &[UserId::from(member(0).as_str())])
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Removed);
    assert_eq!((fake.logins(), fake.login_attempts()), (2, 2));
    // Refused at the door once, then sent again and served.
    assert_eq!(fake.membership_calls().len(), 1);
    let removes = fake
        .requests()
        .iter()
        .filter(|l| l.ends_with("/membership/remove"))
        .count();
    assert_eq!(removes, 2);

    // A pod that keeps refusing: one new login, then a final Auth error.
    world::lock(&world).faults.unauthorized = true;
    fake.expire_sessions();
    let e = p.rooms(PageRequest::first()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert_eq!(fake.login_attempts(), 3, "exactly one re-authentication");
    world::lock(&world).faults.unauthorized = false;

    // A static token re-reads its source once: a command that now prints a
    // fresh token recovers; the same token again is a final Auth error.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, SESSION_TOKEN).unwrap();
    fake.accept_token(SESSION_TOKEN);
    let cmd = profile(
        &fake.base_url,
        &format!("session_token_cmd = \"cat '{}'\"", file.display()),
    );
    let p = build(&cmd);
    p.room(&sid(LOBBY)).await.unwrap();
    fake.expire_sessions();
    let before = fake.requests().len();
    let e = p.room(&sid(LOBBY)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert_eq!(
        fake.requests().len(),
        before + 1,
        "the same token is not resent"
    );
    std::fs::write(&file, "fresh-token-2").unwrap();
    fake.accept_token("fresh-token-2");
    let room = p.room(&sid(LOBBY)).await.unwrap();
    assert_eq!(room.name, "lobby");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_server_errors_map_to_retryable_kinds() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), Options::default()).await;
    let p = build(&token_profile(&fake, ""));
    let set = |rl: u32, hint: Option<Duration>, se: u32| {
        let mut w = world::lock(&world);
        w.faults.rate_limit_next = rl;
        w.faults.retry_after = hint;
        w.faults.server_error_next = se;
    };
    set(1, Some(Duration::from_secs(2)), 0);
    let e = p.rooms(PageRequest::first()).await.unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );
    set(1, Some(Duration::from_millis(250)), 0);
    let e = p.rooms(PageRequest::first()).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_millis(250)));
    set(1, None, 0);
    let e = p.rooms(PageRequest::first()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited { retry_after: None });
    assert!(e.is_retryable());
    set(0, None, 1);
    let e = p
        .remove(&sid(TWO_OWNERS), &[UserId::from(member(2).as_str())])
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server { status: 500 });
    assert!(e.is_retryable());
    assert_eq!(role_in(&world, TWO_OWNERS, &member(2)), Some(Role::Member));

    // Latency switch: answers still arrive.
    world::lock(&world).faults.latency = Duration::from_millis(30);
    assert!(p.room(&sid(LOBBY)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_variants_both_work() {
    let world = world_with_extras();
    let fake = fake::start(
        world.clone(),
        Options {
            remove_message: fake::RemoveMessage::Success,
            add_existing_refused: true,
            empty_streams_no_content: true,
            ..Options::default()
        },
    )
    .await;
    let p = build(&token_profile(&fake, ""));
    let room = sid(TWO_OWNERS);
    let rows = p
        .remove(
            &room,
            &[member(3).as_str().into(), "73000000000009999".into()],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Removed);
    // Asked directly (no plan), the pod's refusal fails the row with its
    // own words: no wording is read as "not a member".
    assert_eq!(rows[1].status, Status::Failed);
    assert_eq!(
        rows[1].reason.as_deref(),
        Some("User 73000000000009999 is not a member of the room")
    );

    // Re-adding a present member: the pod's 400 "already a member" is fine.
    let rows = p
        .readd(
            &room,
            &[
                Restore {
                    user: member(4).as_str().into(),
                    role: Role::Member,
                },
                Restore {
                    user: member(3).as_str().into(),
                    role: Role::Owner,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Readded, "{rows:?}");
    assert_eq!(rows[1].status, Status::Readded, "{rows:?}");
    assert_eq!(role_in(&world, TWO_OWNERS, &member(3)), Some(Role::Owner));
    let verbs: Vec<String> = fake
        .membership_calls()
        .into_iter()
        .map(|c| c.verb)
        .collect();
    assert_eq!(verbs, ["remove", "remove", "add", "add", "promoteOwner"]);

    // Demote an owner: demoteOwner, and the role becomes member; the row
    // says so (Symphony has no admin tier).
    let rows = p
        .demote(
            &room,
            &[roomwarden::model::Demotion {
                user: member(3).as_str().into(),
                role: Role::Owner,
            }],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Demoted);
    assert_eq!(rows[0].role, Some(Role::Member));
    assert_eq!(role_in(&world, TWO_OWNERS, &member(3)), Some(Role::Member));

    // Rooms across pages, the last one answered 204.
    let mut req = PageRequest::sized(7);
    let mut all = Vec::new();
    loop {
        let page = p.rooms(req.clone()).await.unwrap();
        all.extend(page.items);
        match page.next {
            Some(t) => req = req.next(t),
            None => break,
        }
    }
    assert_eq!(all.len(), 7);
    let archive = all.iter().find(|r| r.id == sid(ARCHIVE_ROOM)).unwrap();
    assert!(!archive.active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_mode_pages_with_names_and_counts() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), Options::default()).await;
    let p = build(&token_profile(&fake, "admin = true"));
    let caps = p.capabilities();
    assert_eq!(caps.page_style, PageStyle::Number);
    assert_eq!(caps.member_page_size, 1_000);
    assert!(!caps.has_admins);

    let lobby = sid(LOBBY);
    let room = p.room(&lobby).await.unwrap();
    assert_eq!(room.member_count, Some(2_500));
    let mut req = PageRequest::sized(5_000);
    let mut members = Vec::new();
    let mut pages = 0;
    loop {
        let page = p.members(&lobby, req.clone()).await.unwrap();
        assert_eq!(page.total, Some(2_500));
        pages += 1;
        members.extend(page.items);
        match page.next {
            Some(t) => req = req.next(t),
            None => break,
        }
    }
    assert_eq!((members.len(), pages), (2_500, 3));
    assert!(members.iter().all(|m| m.name.is_some()));
    assert_eq!(members.iter().filter(|m| m.role == Role::Owner).count(), 1);
    let staff = p.staff(&sid(TWO_OWNERS)).await.unwrap();
    assert_eq!(staff.len(), 2);
    for line in fake.requests() {
        if let Some(limit) = line.split("limit=").nth(1) {
            let n: u32 = limit.split('&').next().unwrap().parse().unwrap();
            assert!(n <= 1_000, "{line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_mode_searches_rooms_in_pages_of_at_most_100() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), Options::default()).await;
    let p = build(&token_profile(&fake, "query = \"\""));
    let page = p.rooms(PageRequest::sized(500)).await.unwrap();
    assert_eq!(page.items.len(), 7);
    assert_eq!(page.next, None);
    let archive = page
        .items
        .iter()
        .find(|r| r.name == "archive-2023")
        .unwrap();
    assert!(!archive.active);
    assert_eq!(archive.id, sid(ARCHIVE_ROOM));
    let search = fake
        .requests()
        .into_iter()
        .find(|l| l.starts_with("POST /pod/v3/room/search"))
        .unwrap();
    assert!(search.contains("limit=100"), "{search}");

    let p = build(&token_profile(&fake, "query = \"SQUARE\""));
    let page = p.rooms(PageRequest::first()).await.unwrap();
    let names: Vec<&str> = page.items.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["town-square"]);
}

// ---- the CLI ---------------------------------------------------------------

const TOKEN_VAR: &str = "RW_TEST_SYMPHONY_TOKEN";

fn cli_config(dir: &std::path::Path, fake: &Fake) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "default_profile = \"sym\"\n[profiles.sym]\nprovider = \"symphony\"\n\
             base_url = \"{}\"\nsession_token_env = \"{TOKEN_VAR}\"\n",
            fake.base_url
        ),
    )
    .unwrap();
    path
}

/// Runs the binary off the async runtime while the fake keeps serving.
async fn roomwarden(config: &std::path::Path, token: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_roomwarden"));
    cmd.arg("--config")
        .arg(config)
        .arg("--audit-log")
        .arg(config.with_file_name("audit.jsonl"))
        .args(args)
        .env(TOKEN_VAR, token)
        .env_remove("ROOMWARDEN_CONFIG")
        .timeout(Duration::from_secs(120));
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_lists_rooms_and_removes_a_user() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = cli_config(dir.path(), &fake);

    let out = roomwarden(&config, SESSION_TOKEN, &["--format", "jsonl", "rooms"]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 7);
    assert!(
        rows.iter()
            .any(|r| r["room"] == sid(TWO_OWNERS).as_str() && r["name"] == "two-owners")
    );

    let room = sid(TWO_OWNERS);
    let out = roomwarden(
        &config,
        SESSION_TOKEN,
        &[
            "--format",
            "jsonl",
            "remove",
            room.as_str(),
            &member(0),
            "73000000000009999",
            "--yes",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[0]["user"], member(0));
    assert_eq!(rows[0]["status"], "removed");
    assert_eq!(rows[1]["status"], "already_absent");
    assert_eq!(role_in(&world, TWO_OWNERS, &member(0)), None);

    // A jumbo room: the plan's pacing notice with its ETA reaches stderr.
    let jumbo = sid(JUMBO_ROOM);
    let two: Vec<String> = world::lock(&world)
        .room(&JUMBO_ROOM.into())
        .unwrap()
        .with_role(Role::Member)
        .iter()
        .take(2)
        .map(|m| m.user.to_string())
        .collect();
    let out = roomwarden(
        &config,
        SESSION_TOKEN,
        &["remove", jumbo.as_str(), &two[0], &two[1], "--dry-run"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("paced at one change per 3s") && stderr.contains("about 6s"),
        "{stderr}"
    );
    assert!(
        fake.membership_calls()
            .iter()
            .all(|c| c.path_id != ids::url_safe(&jumbo).unwrap())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_bad_session_token_exits_3_without_echoing_it() {
    let world = world_with_extras();
    let fake = fake::start(world.clone(), Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = cli_config(dir.path(), &fake);
    let secret = "sekrit-token-that-must-not-leak-4242";
    let out = roomwarden(&config, secret, &["rooms"]).await;
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
    assert!(
        stderr.contains("symphony") && stderr.contains("Invalid session"),
        "{stderr}"
    );

    let out = roomwarden(
        &config,
        secret,
        &["remove", sid(TWO_OWNERS).as_str(), &member(1), "--yes"],
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
    assert!(fake.membership_calls().is_empty());
}

// Drives the console through the bench support code (`--features bench`,
// which scripts/test turns on).
#[cfg(feature = "bench")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_opens_a_symphony_room_through_the_trait() {
    let fake = fake::start(world_with_extras(), Options::default()).await;
    let (engine, _dir) = make_engine(&token_profile(&fake, "admin = true"));
    let loaded = roomwarden::tui::bench::open_room_first_frame(
        Arc::new(engine),
        sid(LOBBY).as_str(),
        100,
        30,
    )
    .await;
    assert!(
        loaded > 0 && loaded <= 2_500,
        "first page of the lobby: {loaded}"
    );
}

/// `POST /pod/v1/streams/list` has no published maximum: a pod may answer
/// fewer streams than `limit` with more to come. The list goes on until an
/// empty page or the 204 "Stream not found", never stops at a short page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_list_goes_on_past_short_pages() {
    for no_content in [false, true] {
        let world = world_with_extras();
        let fake = fake::start(
            world.clone(),
            Options {
                streams_page_cap: Some(3),
                empty_streams_no_content: no_content,
                ..Options::default()
            },
        )
        .await;
        let p = build(&token_profile(&fake, ""));
        let mut req = PageRequest::sized(100);
        let mut all = Vec::new();
        loop {
            let page = p.rooms(req.clone()).await.unwrap();
            all.extend(page.items);
            match page.next {
                Some(t) => req = req.next(t),
                None => break,
            }
        }
        let want = world::lock(&world).rooms().len();
        assert_eq!(all.len(), want, "204 on the end: {no_content}");
        // 3 + 3 + 1 and the empty end.
        let calls = fake
            .requests()
            .iter()
            .filter(|l| l.starts_with("POST /pod/v1/streams/list"))
            .count();
        assert_eq!(calls, want.div_ceil(3) + 1);
    }
}

/// Every pod call and the login carry `Accept: application/json`, and every
/// POST `Content-Type: application/json` (the spec's `consumes`); the fake
/// refuses a POST without it, so the tests above already passed that
/// check. Here: the fake does refuse, and the header name the login answer
/// gives is the one sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_a_json_content_type_are_refused_by_the_fake() {
    let fake = fake::start(world_with_extras(), Options::default()).await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!(
            "{}/pod/v1/room/{}/membership/remove",
            fake.base_url,
            fake::url_safe(sid(TWO_OWNERS).as_str())
        ))
        .header("sessionToken", SESSION_TOKEN)
        .body(format!(r#"{{"id":{}}}"#, member(1)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);
    assert!(fake.membership_calls().is_empty());
    // The adapter's own calls pass.
    let p = build(&token_profile(&fake, ""));
    let rows = p
        .remove(&sid(TWO_OWNERS), &[member(1).as_str().into()])
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Removed, "{rows:?}");
}

/// A membership call answered 2xx is done, whatever the body says: an
/// empty or non-JSON body is not read as a server fault (which the engine
/// would retry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_success_does_not_depend_on_the_body() {
    use axum::routing::post;
    let app = axum::Router::new()
        .route(
            "/pod/v1/room/{id}/membership/remove",
            post(|| async { (axum::http::StatusCode::OK, "") }),
        )
        .route(
            "/pod/v1/room/{id}/membership/add",
            post(|| async { (axum::http::StatusCode::OK, "Member added") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let p = build(&profile(
        &format!("http://{addr}"),
        &format!("session_token = \"{SESSION_TOKEN}\""),
    ));
    let room = RoomId::from("tzwvAZIdDMG3ZPRxv+xsgH///qr+JJkWdA==");
    let rows = p.remove(&room, &[member(1).as_str().into()]).await.unwrap();
    assert_eq!(rows[0].status, Status::Removed, "{rows:?}");
    let rows = p
        .readd(
            &room,
            &[Restore {
                user: member(1).as_str().into(),
                role: Role::Member,
            }],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Readded, "{rows:?}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_finds_the_recorded_role_whatever_base64_form_was_typed() {
    let fake = fake::start(world_with_extras(), Options::default()).await;
    let (engine, _dir) = make_engine(&token_profile(&fake, ""));
    let standard = sid(TWO_OWNERS);
    let typed_safe = RoomId::from(fake::url_safe(standard.as_str()));
    assert_ne!(typed_safe, standard);
    let plan = engine
        .plan(vec![Request::new(
            typed_safe.clone(),
            OWNER_A,
            Action::Remove,
        )])
        .await
        .unwrap();
    assert_eq!(
        plan.rows[0].room, standard,
        "planned under the listed spelling"
    );
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert_eq!(report.outcomes[0].status, Status::Removed);

    let mut back = vec![Request::new(standard.clone(), OWNER_A, Action::Readd)];
    engine.fill_readd_roles(&mut back).await.unwrap();
    assert_eq!(back[0].role, Some(Role::Owner));
    let mut back_safe = vec![Request::new(typed_safe, OWNER_A, Action::Readd)];
    engine.fill_readd_roles(&mut back_safe).await.unwrap();
    assert_eq!(back_safe[0].role, Some(Role::Owner));
}

// ---- fidelity to the vendor's docs ------------------------------------

/// A room of `members` members, the first `owners` of them owners.
fn add_room(world: &SharedWorld, id: &str, members: usize, owners: usize) -> Vec<String> {
    let mut room = WorldRoom::new(id, &format!("room-{members}"), true);
    let users: Vec<String> = (0..members)
        .map(|i| format!("74{}{i:06}", &id[id.len() - 9..]))
        .collect();
    for (i, u) in users.iter().enumerate() {
        let role = if i < owners {
            Role::Owner
        } else {
            Role::Member
        };
        room.add(Member::new(u.as_str(), Some("User"), role));
    }
    world::lock(world).add_room(room);
    users
}

/// The Add Member page: rooms over 500 users take one add or delete every
/// 3 seconds [doc]. A room of exactly 500 is not paced, one of 501 is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_starts_above_500_members() {
    let world = world_with_extras();
    let at_500 = add_room(&world, "40000000000000500", 500, 1);
    let at_501 = add_room(&world, "40000000000000501", 501, 1);
    let fake = fake::start(world.clone(), Options::default()).await;
    let (engine, _dir) = make_engine(&token_profile(&fake, ""));
    let plan = engine
        .plan(vec![
            Request::new(sid("40000000000000500"), at_500[7].as_str(), Action::Remove),
            Request::new(sid("40000000000000501"), at_501[7].as_str(), Action::Remove),
        ])
        .await
        .unwrap();
    assert_eq!(plan.to_send(), 2);
    assert!(!plan.paced.contains_key(&sid("40000000000000500")));
    assert_eq!(
        plan.paced.get(&sid("40000000000000501")),
        Some(&Duration::from_secs(3))
    );
    assert!(
        plan.notices
            .iter()
            .any(|n| n.contains("has over 500 members: paced at one change per 3s")),
        "{:?}",
        plan.notices
    );
}

/// The 3 s run from the completion of the previous change, so the pod sees
/// at least 3 s between one change's answer and the next change's arrival,
/// however long a change takes (here 400 ms after it is made). Counting
/// from the sends left the pod 3 s minus that time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pod_sees_3_s_from_one_completed_change_to_the_next() {
    let world = world_with_extras();
    let fake = fake::start(
        world.clone(),
        Options {
            change_latency: Duration::from_millis(400),
            ..Options::default()
        },
    )
    .await;
    let lobby = sid(LOBBY);
    let users: Vec<UserId> = world::lock(&world)
        .room(&LOBBY.into())
        .unwrap()
        .with_role(Role::Member)
        .iter()
        .take(2)
        .map(|m| m.user.clone())
        .collect();
    let (engine, _dir) = make_engine(&token_profile(&fake, ""));
    let plan = engine
        .plan(
            users
                .iter()
                .map(|u| Request::new(lobby.clone(), u.clone(), Action::Remove))
                .collect(),
        )
        .await
        .unwrap();
    assert!(plan.paced.contains_key(&lobby), "{:?}", plan.notices);
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Removed),
        "{:?}",
        report.outcomes
    );
    let calls = fake.membership_calls();
    assert_eq!(calls.len(), 2);
    let gap = calls[1]
        .arrived
        .duration_since(calls[0].answered.expect("answered"));
    assert!(
        gap >= Duration::from_secs(3),
        "the pod saw {gap:?} between a completed change and the next"
    );
}

/// The Remove Member page recommends keeping at least two owners in large
/// rooms [doc]: in rooms over 500 members a removal or demotion that would
/// leave one owner is refused with the reason; `min_owners = 1` relaxes it
/// to the last-owner rule. Small rooms keep only the last-owner rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_rooms_keep_two_owners_unless_the_profile_relaxes_it() {
    let world = world_with_extras();
    let big = add_room(&world, "40000000000000600", 600, 3);
    let fake = fake::start(world.clone(), Options::default()).await;
    let room = sid("40000000000000600");
    let requests = || {
        vec![
            Request::new(room.clone(), big[0].as_str(), Action::Remove),
            Request::new(room.clone(), big[1].as_str(), Action::Demote),
            Request::new(room.clone(), big[2].as_str(), Action::Remove),
        ]
    };

    let (engine, _dir) = make_engine(&token_profile(&fake, ""));
    let floor = engine.capabilities().owner_floor.expect("on by default");
    assert_eq!((floor.above_members, floor.owners), (500, 2));
    let plan = engine.plan(requests()).await.unwrap();
    assert_eq!(plan.rows[0].verdict, Verdict::Send);
    for row in &plan.rows[1..] {
        assert!(
            matches!(&row.verdict, Verdict::Skip(w)
                if w.starts_with("would leave 1 owner(s) in a room of over 500 members; keep at least 2 there")
                && w.contains("min_owners = 1")),
            "{:?}",
            row.verdict
        );
    }
    assert!(plan.notices.iter().any(|n| n.contains("keep at least 2")));

    let (engine, _dir) = make_engine(&token_profile(&fake, "min_owners = 1"));
    assert!(engine.capabilities().owner_floor.is_none());
    let plan = engine.plan(requests()).await.unwrap();
    let verdicts: Vec<&Verdict> = plan.rows.iter().map(|r| &r.verdict).collect();
    assert_eq!(
        verdicts,
        [
            &Verdict::Send,
            &Verdict::Send,
            &Verdict::Skip("last owner of the room".into())
        ]
    );
    assert!(fake.membership_calls().is_empty(), "planning sends nothing");

    // Small rooms: only the last-owner rule (TWO_OWNERS has 8 members).
    let (engine, _dir) = make_engine(&token_profile(&fake, ""));
    let plan = engine
        .plan(vec![Request::new(sid(TWO_OWNERS), OWNER_A, Action::Remove)])
        .await
        .unwrap();
    assert_eq!(plan.rows[0].verdict, Verdict::Send);

    for bad in ["0", "3"] {
        let p = token_profile(&fake, &format!("min_owners = {bad}"));
        let e = provider::build(&p).err().expect("refused").to_string();
        assert!(e.contains("min_owners") && e.contains("2"), "{e}");
    }
}

/// Admin mode uses the admin endpoints the spec defines: every room of the
/// pod from `/v2/admin/streams/list` (the member-level list shows only the
/// caller's own rooms), `/v1/admin/room/{id}/membership/add|remove`, and
/// room search with `includeNonDiscoverable`. The host shown says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_mode_uses_the_admin_endpoints() {
    let world = world_with_extras();
    let fake = fake::start(
        world.clone(),
        Options {
            own_rooms: Some(vec![RoomId::from(TWO_OWNERS)]),
            non_discoverable: vec![RoomId::from(LOBBY)],
            ..Options::default()
        },
    )
    .await;
    let all = world::lock(&world).rooms().len();

    // Member level: the caller's own rooms, the plain endpoints.
    let plain = build(&token_profile(&fake, ""));
    assert!(!plain.host().contains("admin"));
    let rooms = plain.rooms(PageRequest::first()).await.unwrap();
    assert_eq!(rooms.items.len(), 1);
    plain
        .remove(&sid(TWO_OWNERS), &[member(0).as_str().into()])
        .await
        .unwrap();
    assert!(!fake.membership_calls()[0].admin);

    // Admin: every room, with member counts, the admin endpoints.
    let admin = build(&token_profile(&fake, "admin = true"));
    assert!(
        admin.host().ends_with("(admin endpoints)"),
        "{}",
        admin.host()
    );
    let mut req = PageRequest::sized(3);
    let mut listed = Vec::new();
    loop {
        let page = admin.rooms(req.clone()).await.unwrap();
        listed.extend(page.items);
        match page.next {
            Some(t) => req = req.next(t),
            None => break,
        }
    }
    assert_eq!(listed.len(), all);
    let lobby = listed.iter().find(|r| r.id == sid(LOBBY)).unwrap();
    assert_eq!(lobby.member_count, Some(2_500));
    assert!(
        !listed
            .iter()
            .find(|r| r.id == sid(ARCHIVE_ROOM))
            .unwrap()
            .active
    );
    assert!(
        fake.requests()
            .iter()
            .any(|l| l.starts_with("POST /pod/v2/admin/streams/list?"))
    );

    let room = sid(TWO_OWNERS);
    let rows = admin
        .remove(&room, &[member(1).as_str().into()])
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Removed, "{rows:?}");
    let rows = admin
        .readd(
            &room,
            &[Restore {
                user: member(1).as_str().into(),
                role: Role::Owner,
            }],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Readded, "{rows:?}");
    assert_eq!(role_in(&world, TWO_OWNERS, &member(1)), Some(Role::Owner));
    let sent: Vec<(String, bool)> = fake.membership_calls()[1..]
        .iter()
        .map(|c| (c.verb.clone(), c.admin))
        .collect();
    assert_eq!(
        sent,
        [
            ("remove".to_string(), true),
            ("add".to_string(), true),
            // The spec has no admin promote: the room's own endpoint.
            ("promoteOwner".to_string(), false)
        ]
    );

    // Room search: non-discoverable rooms only with the admin's flag.
    let plain = build(&token_profile(&fake, "query = \"\""));
    let names = |p: Arc<dyn Provider>| async move {
        p.rooms(PageRequest::first())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.name)
            .collect::<Vec<_>>()
    };
    assert!(!names(plain).await.contains(&"lobby".to_string()));
    let admin = build(&token_profile(&fake, "query = \"\"\nadmin = true"));
    assert!(names(admin).await.contains(&"lobby".to_string()));
    let searches: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|l| l.starts_with("POST /pod/v3/room/search"))
        .collect();
    assert_eq!(searches.len(), 2);
    assert!(!searches[0].contains("includeNonDiscoverable"));
    assert!(
        searches[1].contains("includeNonDiscoverable=true"),
        "{searches:?}"
    );
}

/// Symphony documents no text for "not a member": the plan judges
/// membership from the member list it reads (in both modes), so a
/// non-member ends `already_absent` with no call, whatever the pod would
/// have said; a refusal the pod does give stays verbatim in the row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_is_judged_from_the_member_list_not_from_wording() {
    for admin in [false, true] {
        let world = world_with_extras();
        let fake = fake::start(
            world.clone(),
            Options {
                // A wording no pattern would ever match.
                not_member_message: "Benutzer {user}: Vorgang abgelehnt".into(),
                ..Options::default()
            },
        )
        .await;
        let extra = if admin { "admin = true" } else { "" };
        let (engine, _dir) = make_engine(&token_profile(&fake, extra));
        let room = sid(TWO_OWNERS);
        let stranger = "73000000000009999";
        // `0073…` is member(2) typed with leading zeros: the same number.
        let padded = format!("00{}", member(2));
        let plan = engine
            .plan(vec![
                Request::new(room.clone(), member(0), Action::Remove),
                Request::new(room.clone(), stranger, Action::Remove),
                Request::new(room.clone(), padded.as_str(), Action::Remove),
                Request::new(room.clone(), member(3), Action::Remove),
            ])
            .await
            .unwrap();
        assert_eq!(plan.rows[1].verdict, Verdict::Absent, "admin {admin}");
        assert_eq!(plan.rows[2].user.as_str(), member(2));
        assert_eq!(plan.rows[2].verdict, Verdict::Send);
        // member(3) leaves after the plan read the list: the pod refuses.
        world::lock(&world)
            .room_mut(&TWO_OWNERS.into())
            .unwrap()
            .remove(&UserId::from(member(3).as_str()));
        let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
        let st: Vec<Status> = report.outcomes.iter().map(|o| o.status).collect();
        assert_eq!(
            st,
            [
                Status::Removed,
                Status::AlreadyAbsent,
                Status::Removed,
                Status::Failed
            ],
            "admin {admin}: {:?}",
            report.outcomes
        );
        assert_eq!(
            report.outcomes[3].reason.as_deref(),
            Some(format!("Benutzer {}: Vorgang abgelehnt", member(3)).as_str())
        );
        let sent: Vec<String> = fake
            .membership_calls()
            .iter()
            .map(|c| c.body.clone())
            .collect();
        assert_eq!(sent.len(), 3, "nothing sent for the stranger: {sent:?}");
        assert!(!sent.iter().any(|b| b.contains(stranger)));
    }
}

//! The Agora Chat adapter against its stateful fake server: the shared
//! conformance suite, then the Agora-specific points of the contract.

#[path = "fakes/agora.rs"]
mod agora_fake;
mod common;
mod conformance;

use agora_fake::{Fake, LastCursor, NotMembers, Options, OwnerRefusal};
use conformance::{ADMINS, OWNERS, ROOM, STRANGER, Subject, member_id};
use roomwarden::config::Profile;
use roomwarden::model::{Action, Demotion, PageRequest, Restore, Role, RoomId, Status, UserId};
use roomwarden::ops::plan::{Request, Verdict};
use roomwarden::ops::{Cancel, Engine, RunOptions};
use roomwarden::provider::sandbox::world::{self, FOUNDERS_ROOM, JUMBO_ROOM, SharedWorld};
use roomwarden::provider::{ErrorKind, Provider, build};
use std::sync::Arc;
use std::time::Duration;

/// The generated world as Agora sees it: Agora has no deactivated rooms.
fn agora_world() -> SharedWorld {
    let world = common::active_world();
    conformance::seed(&world);
    world
}

fn parse_profile(body: &str) -> Result<Profile, String> {
    common::parse_profile("agora", body)
}

fn profile_with(fake: &Fake, credentials: &str, extra: &str) -> Profile {
    let o = fake.options();
    parse_profile(&format!(
        "base_url = \"{}\"\norg = \"{}\"\napp = \"{}\"\n{credentials}\n{extra}",
        fake.base_url(),
        o.org,
        o.app
    ))
    .unwrap()
}

fn with_token(fake: &Fake, token: &str) -> Arc<dyn Provider> {
    build(&profile_with(fake, &format!("token = \"{token}\""), "")).unwrap()
}

async fn fake_with(options: Options) -> (Fake, Arc<dyn Provider>) {
    let fake = agora_fake::start(agora_world(), options).await;
    let provider = with_token(&fake, fake.token());
    (fake, provider)
}

async fn start() -> Subject {
    let (fake, provider) = fake_with(Options::default()).await;
    Subject {
        provider,
        world: fake.world().clone(),
        bad_auth: with_token(&fake, "not-the-right-token"),
        room_id: |r: &RoomId| r.clone(),
        guard: Box::new(fake),
    }
}

conformance_suite!(start);

fn room() -> RoomId {
    RoomId::from(ROOM)
}

fn users(ids: &[&str]) -> Vec<UserId> {
    ids.iter().map(|u| UserId::from(*u)).collect()
}

fn role_in(world: &SharedWorld, room: &str, user: &str) -> Option<Role> {
    world::lock(world)
        .room(&RoomId::from(room))
        .unwrap()
        .get(&UserId::from(user))
        .map(|m| m.role)
}

fn fast() -> RunOptions {
    RunOptions {
        min_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        max_attempts: 40,
        ..RunOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commas_are_sent_as_percent_2c_exactly_once() {
    let (fake, p) = fake_with(Options::default()).await;
    let (a, b) = (member_id(0), member_id(1));
    let rows = p.remove(&room(), &users(&[&a, &b])).await.unwrap();
    assert!(rows.iter().all(|o| o.status == Status::Removed), "{rows:?}");
    let want = format!("DELETE /fake-org/fake-app/chatrooms/{ROOM}/users/{a}%2C{b}");
    let seen = fake.requests();
    assert!(seen.contains(&want), "{seen:?}");
    assert!(
        !seen.iter().any(|r| r.contains("%25")),
        "double-encoded: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_user_rows_keep_the_providers_reason() {
    let (_fake, p) = fake_with(Options::default()).await;
    // Single-user removal answers `data` as an object.
    let rows = p.remove(&room(), &users(&[&member_id(0)])).await.unwrap();
    assert_eq!(rows[0].status, Status::Removed);
    let rows = p.remove(&room(), &users(&[STRANGER])).await.unwrap();
    assert_eq!(rows[0].status, Status::AlreadyAbsent);
    assert_eq!(
        rows[0].reason.as_deref(),
        Some(format!("user: {STRANGER} doesn't exist in group: {ROOM}").as_str())
    );
    // Batch: one row per user, in the order asked.
    let rows = p
        .remove(&room(), &users(&[&member_id(1), STRANGER, &member_id(0)]))
        .await
        .unwrap();
    let st: Vec<Status> = rows.iter().map(|o| o.status).collect();
    assert_eq!(
        st,
        [
            Status::Removed,
            Status::AlreadyAbsent,
            Status::AlreadyAbsent
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_call_not_member_refusal_becomes_already_absent_rows() {
    for status in [400, 403] {
        let (fake, p) = fake_with(Options {
            not_members: NotMembers::RejectIfAny,
            not_member_status: status,
            ..Options::default()
        })
        .await;
        let rows = p
            .remove(&room(), &users(&[&member_id(0), STRANGER]))
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        let of = |u: &str| rows.iter().find(|o| o.user.as_str() == u).unwrap();
        assert_eq!(
            of(&member_id(0)).status,
            Status::Removed,
            "{status}: {rows:?}"
        );
        assert_eq!(of(STRANGER).status, Status::AlreadyAbsent);
        assert_eq!(
            of(STRANGER).reason.as_deref(),
            Some(format!("users [{STRANGER}] are not members of this group!").as_str())
        );
        assert_eq!(role_in(fake.world(), ROOM, &member_id(0)), None);
    }
    let (_fake, p) = fake_with(Options {
        not_members: NotMembers::RejectIfAll,
        ..Options::default()
    })
    .await;
    let rows = p
        .remove(&room(), &users(&[STRANGER, "72000000000088888"]))
        .await
        .unwrap();
    assert!(
        rows.iter().all(|o| o.status == Status::AlreadyAbsent),
        "{rows:?}"
    );
}

/// A whole-call refusal whose text names no one (not the documented
/// `users [u9] are not members…`) cannot say who is absent: the users go
/// one at a time, so members are removed and only the absent ones end
/// `already_absent` (they all ended `already_absent`, members included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_not_member_refusal_naming_no_one_is_settled_one_user_at_a_time() {
    let (fake, p) = fake_with(Options {
        not_members: NotMembers::RejectIfAny,
        not_member_text_names: false,
        ..Options::default()
    })
    .await;
    let rows = p
        .remove(&room(), &users(&[&member_id(0), STRANGER, &member_id(1)]))
        .await
        .unwrap();
    let of = |u: &str| rows.iter().find(|o| o.user.as_str() == u).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(of(&member_id(0)).status, Status::Removed, "{rows:?}");
    assert_eq!(of(&member_id(1)).status, Status::Removed, "{rows:?}");
    assert_eq!(of(STRANGER).status, Status::AlreadyAbsent, "{rows:?}");
    assert_eq!(role_in(fake.world(), ROOM, &member_id(0)), None);
    assert_eq!(role_in(fake.world(), ROOM, &member_id(1)), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_cap_is_60_with_the_documented_error_and_configurable() {
    let (fake, p) = fake_with(Options::default()).await;
    assert_eq!(p.capabilities().max_batch, 60);
    // 61 users in one call: the server refuses with its documented 400
    // ("… maxSize : 60", nothing removed) and the adapter sends the batch
    // again in chunks of the size the server named.
    let many: Vec<UserId> = (0..61).map(|i| UserId::from(format!("u{i}"))).collect();
    let rows = p.remove(&room(), &many).await.unwrap();
    assert_eq!(rows.len(), 61);
    assert!(
        rows.iter().all(|o| o.status == Status::AlreadyAbsent),
        "{rows:?}"
    );
    let sizes: Vec<usize> = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("DELETE "))
        .map(|r| r.matches("%2C").count() + 1)
        .collect();
    assert_eq!(sizes, [61, 60, 1]);

    // Through the engine: chunks of at most 60.
    let lobby = RoomId::from("10000000000000001");
    let targets: Vec<String> = {
        let w = world::lock(fake.world());
        let r = w.room(&lobby).unwrap();
        r.members()
            .filter(|m| m.role == Role::Member)
            .take(150)
            .map(|m| m.user.to_string())
            .collect()
    };
    let engine = Engine::new(p.clone(), &profile_with(&fake, "token = \"x\"", ""), None);
    let plan = engine
        .plan(
            targets
                .iter()
                .map(|u| Request::new(lobby.clone(), u.as_str(), Action::Remove))
                .collect(),
        )
        .await
        .unwrap();
    world::lock(fake.world()).max_batch_seen = 0;
    let report = engine.run(&plan, &fast(), &Cancel::new(), None).await;
    assert!(report.outcomes.iter().all(|o| o.status == Status::Removed));
    assert_eq!(world::lock(fake.world()).max_batch_seen, 60);

    // A server that takes 100 (the Agora seed page) and a profile that says so.
    let (fake, p) = fake_with(Options {
        max_batch: 100,
        ..Options::default()
    })
    .await;
    let engine = Engine::new(
        p,
        &profile_with(&fake, "token = \"x\"", "max_batch = 100"),
        None,
    );
    let plan = engine
        .plan(
            targets
                .iter()
                .map(|u| Request::new(lobby.clone(), u.as_str(), Action::Remove))
                .collect(),
        )
        .await
        .unwrap();
    let report = engine.run(&plan, &fast(), &Cancel::new(), None).await;
    assert!(report.outcomes.iter().all(|o| o.status == Status::Removed));
    assert_eq!(world::lock(fake.world()).max_batch_seen, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_with_and_without_retry_after() {
    for header in [true, false] {
        let (fake, p) = fake_with(Options {
            retry_after_header: header,
            ..Options::default()
        })
        .await;
        {
            let mut w = world::lock(fake.world());
            w.faults.rate_limit_next = 1;
            w.faults.retry_after = Some(Duration::from_secs(2));
        }
        let e = p.rooms(PageRequest::first()).await.unwrap_err();
        assert!(matches!(e.kind, ErrorKind::RateLimited { .. }), "{e}");
        assert_eq!(e.code.as_deref(), Some("reach_limit"));
        assert!(e.is_retryable());
        let want = header.then_some(Duration::from_secs(2));
        assert_eq!(e.retry_after(), want);
        assert!(
            e.to_string()
                .starts_with("agora GET /chatrooms: rate limited"),
            "{e}"
        );
        // 5xx is retryable too.
        world::lock(fake.world()).faults.server_error_next = 1;
        let e = p.members(&room(), PageRequest::first()).await.unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::Server { .. }) && e.is_retryable(),
            "{e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_list_data_as_one_object_is_read_too() {
    let (fake, p) = fake_with(Options {
        rooms_data_as_object: true,
        ..Options::default()
    })
    .await;
    let mut req = PageRequest::sized(50);
    let mut got = Vec::new();
    loop {
        let page = p.rooms(req.clone()).await.unwrap();
        got.extend(page.items);
        match page.next {
            Some(t) => req = req.next(t),
            None => break,
        }
    }
    let want = world::lock(fake.world()).rooms().len();
    assert_eq!(got.len(), want);
    assert!(got.iter().all(|r| r.active));
    let jumbo = got.iter().find(|r| r.id.as_str() == JUMBO_ROOM).unwrap();
    assert_eq!(jumbo.member_count, Some(120_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_read_owner_admin_member_and_staff_is_cheap() {
    let (fake, p) = fake_with(Options::default()).await;
    let page = p.members(&room(), PageRequest::sized(1000)).await.unwrap();
    assert!(page.next.is_none(), "24 < 1000 ends the paging");
    let role = |u: &str| {
        page.items
            .iter()
            .find(|m| m.user.as_str() == u)
            .unwrap()
            .role
    };
    assert_eq!(role(OWNERS[0]), Role::Owner);
    assert_eq!(role(ADMINS[1]), Role::Admin);
    assert_eq!(role(&member_id(3)), Role::Member);
    let seen = fake.requests();
    assert!(
        seen.iter()
            .any(|r| r.ends_with("/users?pagenum=1&pagesize=1000")),
        "{seen:?}"
    );

    let before = fake.requests().len();
    let mut staff = p.staff(&RoomId::from(JUMBO_ROOM)).await.unwrap();
    assert_eq!(fake.requests().len() - before, 2, "detail + admin list");
    staff.sort_by_key(|m| m.role);
    let roles: Vec<Role> = staff.iter().map(|m| m.role).collect();
    assert_eq!(roles.iter().filter(|r| **r == Role::Owner).count(), 2);
    assert_eq!(roles.iter().filter(|r| **r == Role::Admin).count(), 6);

    let e = p
        .members(&RoomId::from("29999999999999999"), PageRequest::first())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        "agora GET /chatrooms/29999999999999999/users: not found (resource_not_found: grpID 29999999999999999 does not exist!)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_exchange_is_cached_and_renewed_once_on_401() {
    let (fake, _) = fake_with(Options::default()).await;
    let o = fake.options().clone();
    let creds = format!(
        "client_id = \"{}\"\nclient_secret = \"{}\"",
        o.client_id, o.client_secret
    );
    let p = build(&profile_with(&fake, &creds, "")).unwrap();
    p.rooms(PageRequest::first()).await.unwrap();
    p.members(&room(), PageRequest::first()).await.unwrap();
    assert_eq!(fake.exchanges(), 1, "the token is cached");
    let exchange = "POST /fake-org/fake-app/token".to_string();
    assert!(fake.requests().contains(&exchange));

    fake.revoke_issued_tokens();
    p.rooms(PageRequest::first()).await.unwrap();
    assert_eq!(fake.exchanges(), 2, "a 401 fetches a new token once");
    assert_eq!(fake.unauthorized(), 1);

    // Refused credentials: an auth error that names no secret.
    let bad = format!(
        "client_id = \"{}\"\nclient_secret = \"wrong-secret-42\"",
        o.client_id
    );
    let p = build(&profile_with(&fake, &bad, "")).unwrap();
    let e = p.rooms(PageRequest::first()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert!(e.is_unavailable());
    assert!(!e.to_string().contains("wrong-secret-42"));
    assert!(!e.to_string().contains(&o.client_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchanged_token_is_renewed_before_it_expires() {
    let (fake, _) = fake_with(Options {
        token_ttl: Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    let o = fake.options().clone();
    let creds = format!(
        "client_id = \"{}\"\nclient_secret = \"{}\"",
        o.client_id, o.client_secret
    );
    let p = build(&profile_with(&fake, &creds, "")).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    // Keep calling until the adapter has renewed the token by itself.
    while fake.exchanges() < 2 {
        p.rooms(PageRequest::sized(1)).await.unwrap();
        assert!(tokio::time::Instant::now() < deadline, "no renewal");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        fake.unauthorized(),
        0,
        "renewed before the server refused it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_ids_are_refused_in_plan_before_anything_is_sent() {
    let (fake, p) = fake_with(Options::default()).await;
    assert!(p.validate_user(&UserId::from("user_1.a-B")).is_ok());
    let long = "a".repeat(65);
    let e = p.validate_user(&UserId::from(long.as_str())).unwrap_err();
    assert!(e.contains("1 to 64"), "{e}");
    let e = p.validate_user(&UserId::from("bad user")).unwrap_err();
    assert!(e.contains("a-z") && e.contains("0-9"), "{e}");

    let engine = Engine::new(p, &profile_with(&fake, "token = \"x\"", ""), None);
    let plan = engine
        .plan(vec![
            Request::new(room(), "bad,user", Action::Remove),
            Request::new(room(), long.as_str(), Action::Remove),
        ])
        .await
        .unwrap();
    for row in &plan.rows {
        assert!(
            matches!(&row.verdict, Verdict::Skip(w) if w.contains("invalid user id")),
            "{row:?}"
        );
    }
    let report = engine.run(&plan, &fast(), &Cancel::new(), None).await;
    assert!(report.outcomes.iter().all(|o| o.status == Status::Skipped));
    assert!(!fake.requests().iter().any(|r| r.starts_with("DELETE")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_is_refused_as_a_failed_row_never_transferred() {
    let (fake, p) = fake_with(Options::default()).await;
    let founders = RoomId::from(FOUNDERS_ROOM);
    let (owner, member) = {
        let w = world::lock(fake.world());
        let r = w.room(&founders).unwrap();
        let owner = r.with_role(Role::Owner)[0].user.to_string();
        let member = r.with_role(Role::Member)[0].user.to_string();
        (owner, member)
    };
    let rows = p.remove(&founders, &users(&[&owner])).await.unwrap();
    assert_eq!(rows[0].status, Status::Failed);
    assert_eq!(
        rows[0].reason.as_deref(),
        Some("forbidden operation on group owner!")
    );
    let rows = p
        .remove(&founders, &users(&[&member, &owner]))
        .await
        .unwrap();
    let of = |u: &str| rows.iter().find(|o| o.user.as_str() == u).unwrap().status;
    assert_eq!(of(&member), Status::Removed);
    assert_eq!(of(&owner), Status::Failed);
    assert_eq!(
        role_in(fake.world(), FOUNDERS_ROOM, &owner),
        Some(Role::Owner)
    );

    // Demoting an owner is a skipped row; nothing is sent.
    let before = fake.requests().len();
    let o = p
        .demote(
            &founders,
            &[Demotion {
                user: UserId::from(owner.as_str()),
                role: Role::Owner,
            }],
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(o.status, Status::Skipped);
    assert!(o.reason.unwrap().contains("transfer ownership"));
    assert_eq!(fake.requests().len(), before);
    assert!(!p.capabilities().can_demote_owner);
    assert!(!fake.requests().iter().any(|r| r.starts_with("PUT")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demote_then_readd_promotes_admins_back() {
    let (fake, p) = fake_with(Options::default()).await;
    let o = p
        .demote(
            &room(),
            &[Demotion {
                user: UserId::from(ADMINS[0]),
                role: Role::Admin,
            }],
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(o.status, Status::Demoted);
    assert_eq!(role_in(fake.world(), ROOM, ADMINS[0]), Some(Role::Member));
    assert!(fake.requests().contains(&format!(
        "DELETE /fake-org/fake-app/chatrooms/{ROOM}/admin/{}",
        ADMINS[0]
    )));

    let rows = p
        .remove(&room(), &users(&[ADMINS[1], OWNERS[1], &member_id(4)]))
        .await
        .unwrap();
    assert!(rows.iter().all(|o| o.status == Status::Removed), "{rows:?}");
    let restores = vec![
        Restore {
            user: ADMINS[1].into(),
            role: Role::Admin,
        },
        Restore {
            user: OWNERS[1].into(),
            role: Role::Owner,
        },
        Restore {
            user: member_id(4).as_str().into(),
            role: Role::Member,
        },
    ];
    let rows = p.readd(&room(), &restores).await.unwrap();
    assert!(rows.iter().all(|o| o.status == Status::Readded), "{rows:?}");
    assert_eq!(role_in(fake.world(), ROOM, ADMINS[1]), Some(Role::Admin));
    assert_eq!(role_in(fake.world(), ROOM, OWNERS[1]), Some(Role::Member));
    assert!(rows[1].reason.as_deref().unwrap().contains("owner"));
    assert_eq!(
        role_in(fake.world(), ROOM, &member_id(4)),
        Some(Role::Member)
    );
    let promotes = fake
        .requests()
        .iter()
        .filter(|r| *r == &format!("POST /fake-org/fake-app/chatrooms/{ROOM}/admin"))
        .count();
    assert_eq!(promotes, 1);
    // A retried re-add does not promote twice.
    let rows = p.readd(&room(), &restores[..1]).await.unwrap();
    assert_eq!(rows[0].status, Status::Readded);
    assert_eq!(role_in(fake.world(), ROOM, ADMINS[1]), Some(Role::Admin));
}

#[test]
fn config_errors_name_the_key() {
    let err = |body: &str| match parse_profile(body) {
        Err(e) => e,
        Ok(p) => match build(&p) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted: {body}"),
        },
    };
    let e = err("base_url = \"http://127.0.0.1:1\"\napp = \"a\"\ntoken = \"t\"");
    assert!(e.contains("`org`"), "{e}");
    let e = err("base_url = \"http://127.0.0.1:1\"\norg = \"o\"\ntoken = \"t\"");
    assert!(e.contains("`app`"), "{e}");
    let e = err("base_url = \"http://127.0.0.1:1\"\norg = \"o\"\napp = \"a\"");
    assert!(e.contains("token_env") && e.contains("client_id"), "{e}");
    let e = err("base_url = \"http://127.0.0.1:1\"\norg = \"o\"\napp = \"a\"\nclient_id = \"c\"");
    assert!(e.contains("client_secret"), "{e}");
    let e = err("org = \"o\"\napp = \"a\"\ntoken = \"t\"");
    assert!(e.contains("base_url"), "{e}");
    let e = err(
        "base_url = \"http://127.0.0.1:1\"\norg = \"o\"\napp = \"a\"\ntoken_env = \"RW_AGORA_SURELY_UNSET\"",
    );
    assert!(e.contains("RW_AGORA_SURELY_UNSET"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_removals_from_the_jumbo_room_under_30_percent_429s() {
    let (fake, p) = fake_with(Options::default()).await;
    let jumbo = RoomId::from(JUMBO_ROOM);
    let targets: Vec<String> = {
        let w = world::lock(fake.world());
        w.room(&jumbo)
            .unwrap()
            .members()
            .filter(|m| m.role == Role::Member)
            .take(10_000)
            .map(|m| m.user.to_string())
            .collect()
    };
    let engine = Engine::new(p, &profile_with(&fake, "token = \"x\"", ""), None);
    let plan = engine
        .plan(
            targets
                .iter()
                .map(|u| Request::new(jumbo.clone(), u.as_str(), Action::Remove))
                .collect(),
        )
        .await
        .unwrap();
    assert_eq!(plan.to_send(), 10_000);
    {
        let mut w = world::lock(fake.world());
        w.faults.rate_limit_share = 0.3;
        w.max_batch_seen = 0;
    }
    let report = engine.run(&plan, &fast(), &Cancel::new(), None).await;
    let bad: Vec<_> = report
        .outcomes
        .iter()
        .filter(|o| o.status != Status::Removed)
        .collect();
    assert!(
        bad.is_empty(),
        "{} rows not removed, e.g. {:?}",
        bad.len(),
        bad.first()
    );
    assert!(report.progress.retries > 0);
    let w = world::lock(fake.world());
    assert!(
        w.max_batch_seen <= 60,
        "a call carried {} users",
        w.max_batch_seen
    );
    assert_eq!(w.room(&jumbo).unwrap().len(), 110_000);
}

/// Runs the binary off the runtime while the fake keeps serving.
async fn roomwarden(args: Vec<String>, token: &str) -> std::process::Output {
    common::run_with_secret(args, TOKEN_ENV, token, None).await
}

const TOKEN_ENV: &str = "RW_AGORA_TEST_TOKEN";

/// A config whose default profile is this fake's, the token from TOKEN_ENV.
fn agora_config(fake: &Fake) -> String {
    format!(
        "default_profile = \"agora\"\n[profiles.agora]\nprovider = \"agora\"\nbase_url = \"{}\"\norg = \"fake-org\"\napp = \"fake-app\"\ntoken_env = \"{TOKEN_ENV}\"\n",
        fake.base_url()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_lists_removes_and_never_prints_the_token() {
    let (fake, _) = fake_with(Options::default()).await;
    let cli = common::FakeCli::new(agora_config(&fake), TOKEN_ENV);
    let base = |rest: &[&str]| cli.args(rest);
    let audit = &cli.audit;

    let secret = "sEcReT-wrong-token-77f1";
    cli.refused_unseen(
        &[
            &["-vv", "rooms"],
            &["-vv", "remove", ROOM, "72000000000000100", "--yes"],
        ],
        secret,
        secret,
    )
    .await;
    assert_eq!(
        role_in(fake.world(), ROOM, "72000000000000100"),
        Some(Role::Member)
    );

    let out = roomwarden(base(&["rooms"]), fake.token()).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rooms: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rooms.len(), world::lock(fake.world()).rooms().len());
    assert!(
        rooms
            .iter()
            .any(|r| r["room"] == ROOM && r["members"] == 24)
    );

    let out = roomwarden(base(&["members", ROOM]), fake.token()).await;
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let members: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(members.len(), 24);
    assert!(
        members
            .iter()
            .any(|m| m["user"] == ADMINS[0] && m["role"] == "admin")
    );

    let out = roomwarden(
        base(&[
            "-vv",
            "remove",
            ROOM,
            "72000000000000100",
            STRANGER,
            "--yes",
        ]),
        fake.token(),
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains(fake.token())
            && !String::from_utf8_lossy(&out.stdout).contains(fake.token())
    );
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["status"], "removed");
    assert_eq!(rows[0]["action"], "remove");
    assert_eq!(rows[1]["status"], "already_absent");
    assert_eq!(
        rows[1]["reason"],
        format!("user: {STRANGER} doesn't exist in group: {ROOM}")
    );
    assert_eq!(role_in(fake.world(), ROOM, "72000000000000100"), None);
    let log = std::fs::read_to_string(audit).unwrap();
    assert!(!log.contains(fake.token()));
}

/// `profiles --check` over the fake: the profile with the right token is
/// `ok`, the one with a wrong token `failed` with Agora's reason, exit 3
/// naming it; only reads are sent and no token is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_profiles_check_names_the_refused_profile_and_only_reads() {
    let (fake, _) = fake_with(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let secret = "sEcReT-wrong-token-5c2e";
    let profile = |name: &str, token: &str| {
        format!(
            "[profiles.{name}]\nprovider = \"agora\"\nbase_url = \"{}\"\norg = \"fake-org\"\napp = \"fake-app\"\n{token}\n",
            fake.base_url()
        )
    };
    std::fs::write(
        &config,
        format!(
            "{}{}",
            profile("agora-good", "token_env = \"RW_AGORA_TEST_TOKEN\""),
            profile("agora-stale", &format!("token_cmd = \"echo {secret}\""))
        ),
    )
    .unwrap();
    let args = |rest: &[&str]| -> Vec<String> {
        let mut v = vec!["--config".to_string(), config.display().to_string()];
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    };
    let out = roomwarden(
        args(&["-vv", "profiles", "--check", "--format", "jsonl"]),
        fake.token(),
    )
    .await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("profile `agora-stale` failed its check")
            && stderr.contains("authentication refused"),
        "{stderr}"
    );
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], "agora-good");
    assert_eq!(rows[0]["status"], "ok");
    assert_eq!(rows[1]["status"], "failed");
    assert!(
        rows[1]["reason"]
            .as_str()
            .unwrap()
            .contains("authentication refused")
    );
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains(secret) && !text.contains(fake.token()),
            "{text}"
        );
    }
    let seen = fake.requests();
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|r| r.starts_with("GET ")), "{seen:?}");

    let out = roomwarden(
        args(&["--profile", "agora-good", "profiles", "--check"]),
        fake.token(),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pages are fetched one after another, in order (the server does not sort
/// members, so pages asked at once can overlap), none twice, none missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_stream_in_order_one_page_after_another() {
    let (fake, provider) = fake_with(Options::default()).await;
    let engine = fast_engine(&fake, provider);
    let mut got = Vec::new();
    let mut pages = 0;
    let listing = engine
        .stream_members(&RoomId::from(JUMBO_ROOM), |page| {
            pages += 1;
            got.extend(page.items.into_iter().map(|m| m.user));
            true
        })
        .await
        .unwrap();
    assert_eq!(listing.total, Some(120_000));
    assert_eq!(listing.note("agora"), None, "{listing:?}");
    let want: Vec<UserId> = {
        let w = world::lock(fake.world());
        w.room(&JUMBO_ROOM.into())
            .unwrap()
            .members()
            .map(|m| m.user.clone())
            .collect()
    };
    assert_eq!(got.len(), 120_000);
    assert_eq!(got, want, "pages arrive in order, none twice, none missing");
    assert_eq!(
        pages, 121,
        "120 full pages and the empty one that ends the room"
    );
    let asked: Vec<u64> = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET ") && r.contains("/users?"))
        .map(|r| pagenum(r))
        .collect();
    assert_eq!(
        asked,
        (1..=121).collect::<Vec<u64>>(),
        "in order, none ahead"
    );
    let admin_lists = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET ") && r.contains("/admin"))
        .count();
    assert!(
        admin_lists <= 3,
        "the admin list is reused across pages, not asked for 120 times: {admin_lists}"
    );
}

// Drives the console through the bench support code (`--features bench`,
// which scripts/test turns on).
#[cfg(feature = "bench")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_opens_an_agora_room_through_the_trait() {
    let (fake, provider) = fake_with(Options::default()).await;
    let profile = profile_with(&fake, &format!("token = \"{}\"", fake.token()), "");
    let engine = Arc::new(Engine::new(provider, &profile, None));
    let loaded = roomwarden::tui::bench::open_room_first_frame(engine, JUMBO_ROOM, 100, 30).await;
    assert_eq!(
        loaded, 1_000,
        "the first page is drawn as soon as it arrives"
    );
}

/// Every request carries `Accept: application/json` and, with a body,
/// `Content-Type: application/json` [doc]; the fake refuses requests
/// without them, so everything above already passed that check. Here: the
/// fake really does refuse, and a bare comma in a batch path is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_insists_on_the_documented_headers_and_percent_2c() {
    let (fake, _p) = fake_with(Options::default()).await;
    let http = reqwest::Client::new();
    let base = format!("{}/fake-org/fake-app", fake.base_url());
    let bearer = format!("Bearer {}", fake.token());
    let no_accept = http
        .get(format!("{base}/chatrooms"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(no_accept.status().as_u16(), 406);
    let no_type = http
        .post(format!("{base}/chatrooms/{ROOM}/admin"))
        .header("Authorization", &bearer)
        .header("Accept", "application/json")
        .body(r#"{"newadmin":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(no_type.status().as_u16(), 415);
    let bare_comma = http
        .delete(format!(
            "{base}/chatrooms/{ROOM}/users/{},{}",
            member_id(0),
            member_id(1)
        ))
        .header("Authorization", &bearer)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(bare_comma.status().as_u16(), 400);
    assert_eq!(
        role_in(fake.world(), ROOM, &member_id(0)),
        Some(Role::Member)
    );
    // A token the server does not know: 401 `auth_bad_access_token`.
    let e = with_token(&fake, "YWMt-unknown")
        .rooms(PageRequest::first())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert_eq!(e.code.as_deref(), Some("auth_bad_access_token"));
}

/// The room list's last page ends with the cursor absent or null [sdk].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_list_ends_on_an_absent_or_null_cursor() {
    for last in [LastCursor::Absent, LastCursor::Null] {
        let (fake, p) = fake_with(Options {
            last_cursor: last,
            ..Options::default()
        })
        .await;
        let mut req = PageRequest::sized(7);
        let mut got = Vec::new();
        let mut calls = 0;
        loop {
            let page = p.rooms(req.clone()).await.unwrap();
            calls += 1;
            got.extend(page.items);
            match page.next {
                Some(t) => req = req.next(t),
                None => break,
            }
        }
        let want = world::lock(fake.world()).rooms().len();
        assert_eq!(got.len(), want, "{last:?}");
        assert_eq!(calls, want.div_ceil(7), "{last:?}");
    }
}

/// `count` is typed String in the doc's field table and printed as a number
/// in its example: either way the page's rows are what is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_paging_reads_count_as_number_or_string() {
    for as_string in [false, true] {
        let (fake, p) = fake_with(Options {
            count_as_string: as_string,
            ..Options::default()
        })
        .await;
        let lobby = RoomId::from("10000000000000001");
        let want = world::lock(fake.world()).room(&lobby).unwrap().len();
        let mut req = PageRequest::sized(1000);
        let mut got = 0;
        let mut pages = 0;
        loop {
            let page = p.members(&lobby, req.clone()).await.unwrap();
            got += page.items.len();
            pages += 1;
            match page.next {
                Some(t) => req = req.next(t),
                None => break,
            }
        }
        assert_eq!(got, want, "count as string: {as_string}");
        // A full last page costs one more (empty) page, never more.
        assert!(pages <= want / 1000 + 1, "{pages} pages for {want}");
    }
}

/// Removing the sole owner: a whole-call 403 (documented for groups) or a
/// `result:false` row [inf]. Either way the owner's row fails with the
/// provider's text and the others are removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_refusal_as_whole_call_or_row() {
    for how in [OwnerRefusal::WholeCall, OwnerRefusal::Row] {
        let (fake, p) = fake_with(Options {
            owner_refusal: how,
            ..Options::default()
        })
        .await;
        let lobby = RoomId::from("10000000000000001");
        let (owner, plain) = {
            let w = world::lock(fake.world());
            let r = w.room(&lobby).unwrap();
            let owners: Vec<String> = r
                .members()
                .filter(|m| m.role == Role::Owner)
                .map(|m| m.user.to_string())
                .collect();
            assert_eq!(owners.len(), 1, "the lobby has one owner");
            let plain = r
                .members()
                .find(|m| m.role == Role::Member)
                .unwrap()
                .user
                .to_string();
            (owners[0].clone(), plain)
        };
        let rows = p.remove(&lobby, &users(&[&plain, &owner])).await.unwrap();
        let of = |u: &str| rows.iter().find(|o| o.user.as_str() == u).unwrap();
        assert_eq!(of(&plain).status, Status::Removed, "{how:?}: {rows:?}");
        assert_eq!(of(&owner).status, Status::Failed, "{how:?}: {rows:?}");
        assert_eq!(
            of(&owner).reason.as_deref(),
            Some("forbidden operation on group owner!")
        );
        assert_eq!(
            role_in(fake.world(), "10000000000000001", &owner),
            Some(Role::Owner)
        );
    }
}

/// A user unknown to the app: a whole-call 404 `resource_not_found`
/// "username X doesn't exist!" (docs' remove table) removes nothing; that
/// user is `already_absent` and the rest are sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_404_becomes_an_already_absent_row() {
    let (fake, p) = fake_with(Options {
        unknown_user_404: true,
        ..Options::default()
    })
    .await;
    let rows = p
        .remove(
            &room(),
            &users(&[&member_id(0), "nobody.here", &member_id(1)]),
        )
        .await
        .unwrap();
    let of = |u: &str| rows.iter().find(|o| o.user.as_str() == u).unwrap();
    assert_eq!(of(&member_id(0)).status, Status::Removed, "{rows:?}");
    assert_eq!(of(&member_id(1)).status, Status::Removed, "{rows:?}");
    assert_eq!(of("nobody.here").status, Status::AlreadyAbsent);
    assert_eq!(
        of("nobody.here").reason.as_deref(),
        Some("username nobody.here doesn't exist!")
    );
    // The room itself missing stays an error for the whole call.
    let e = p
        .remove(&RoomId::from("999"), &users(&[&member_id(2)]))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(fake.requests().len(), 3);
}

/// Batch add takes 60 on the Agora page and 100 in the Easemob docs: the
/// adapter sends at most 60 whatever the engine's batch size, and follows a
/// smaller cap the server names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readd_sends_at_most_60_and_follows_a_smaller_cap() {
    // Calls made: 60 + 40; the same at 100; at 25, the 60 and the 40 are
    // refused and sent again as 25 + 25 + 10 and 25 + 15.
    for (server_cap, calls) in [(60, 2), (100, 2), (25, 7)] {
        let (fake, p) = fake_with(Options {
            max_add: server_cap,
            ..Options::default()
        })
        .await;
        let back: Vec<Restore> = (0..100)
            .map(|i| Restore {
                user: UserId::from(format!("back{i}")),
                role: Role::Member,
            })
            .collect();
        let rows = p.readd(&room(), &back).await.unwrap();
        assert_eq!(rows.len(), 100);
        assert!(rows.iter().all(|o| o.status == Status::Readded), "{rows:?}");
        let w = world::lock(fake.world());
        assert!(
            back.iter()
                .all(|r| w.room(&room()).unwrap().get(&r.user).is_some())
        );
        drop(w);
        let adds = fake
            .requests()
            .iter()
            .filter(|r| r.starts_with("POST ") && r.ends_with("/users"))
            .count();
        assert_eq!(adds, calls, "cap {server_cap}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newer_app_id_base_url_works_too() {
    let fake = agora_fake::start(
        agora_world(),
        Options {
            app_id: Some("0123456789abcdef".into()),
            ..Options::default()
        },
    )
    .await;
    let profile = parse_profile(&format!(
        "base_url = \"{}\"\napp_id = \"0123456789abcdef\"\ntoken = \"{}\"",
        fake.base_url(),
        fake.token()
    ))
    .unwrap();
    let p = build(&profile).unwrap();
    let page = p.rooms(PageRequest::sized(100)).await.unwrap();
    assert!(!page.items.is_empty());
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.contains("/app-id/0123456789abcdef/")),
        "{:?}",
        fake.requests()
    );
    let both = parse_profile(
        "base_url = \"http://127.0.0.1:1\"\napp_id = \"x\"\norg = \"o\"\napp = \"a\"\ntoken = \"t\"",
    )
    .unwrap();
    let e = build(&both)
        .err()
        .expect("app_id with org/app is refused")
        .to_string();
    assert!(e.contains("either `app_id`"), "{e}");
}

/// A fixed app token expires (at most 24 hours on Agora-branded Chat): on a
/// 401 the adapter reads `token_cmd` again and retries once with the new
/// token; the same token read again is not sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_fixed_token_is_read_again_on_401() {
    let fake = agora_fake::start(agora_world(), Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "YWMt-expired").unwrap();
    let p = build(&profile_with(
        &fake,
        &format!("token_cmd = \"cat {}\"", file.display()),
        "",
    ))
    .unwrap();
    let before = fake.requests().len();
    let e = p.rooms(PageRequest::first()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert_eq!(e.code.as_deref(), Some("auth_bad_access_token"));
    assert_eq!(
        fake.requests().len() - before,
        1,
        "the same token read again is not sent again"
    );
    std::fs::write(&file, fake.token()).unwrap();
    let page = p.rooms(PageRequest::first()).await.expect("renewed token");
    assert!(!page.items.is_empty());
}

/// Agora usernames are case-insensitive: guards and the last-owner count
/// compare ids the way Agora does, whatever case a ticket or argument uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guards_compare_usernames_the_way_agora_folds_them() {
    let world = agora_world();
    {
        let mut room = world::WorldRoom::new("casefold-room", "case", true);
        room.add(roomwarden::model::Member::new(
            "owner.one",
            None,
            Role::Owner,
        ));
        room.add(roomwarden::model::Member::new(
            "owner.two",
            None,
            Role::Owner,
        ));
        for u in ["mod-bot", "svc-bridge", "user00006", "plain.user"] {
            room.add(roomwarden::model::Member::new(u, None, Role::Member));
        }
        world::lock(&world).add_room(room);
    }
    let fake = agora_fake::start(world, Options::default()).await;
    let p = with_token(&fake, fake.token());
    let profile = profile_with(
        &fake,
        "token = \"x\"",
        "self_user = \"mod-bot\"\nprotected_users = [\"svc-bridge\"]\nprotected_pattern = \"^user0000\"",
    );
    let engine = Engine::new(p, &profile, None);
    let reqs = [
        "MOD-BOT",
        "Svc-Bridge",
        "USER00006",
        "OWNER.ONE",
        "OWNER.TWO",
        "Plain.User",
    ]
    .into_iter()
    .map(|u| Request::new("casefold-room", u, Action::Remove))
    .collect();
    let plan = engine.plan(reqs).await.unwrap();
    let verdicts: Vec<(&str, &Verdict)> = plan
        .rows
        .iter()
        .map(|r| (r.user.as_str(), &r.verdict))
        .collect();
    assert!(
        matches!(verdicts[0].1, Verdict::Skip(w) if w.contains("self_user")),
        "{verdicts:?}"
    );
    assert!(
        matches!(verdicts[1].1, Verdict::Skip(w) if w.contains("protected_users")),
        "{verdicts:?}"
    );
    assert!(
        matches!(verdicts[2].1, Verdict::Skip(w) if w.contains("protected_pattern")),
        "{verdicts:?}"
    );
    // Owners are known by their listed (lower-case) names: the plan never
    // lets both go.
    let owners_sent = verdicts[3..5]
        .iter()
        .filter(|(_, v)| **v == Verdict::Send)
        .count();
    assert!(owners_sent <= 1, "{verdicts:?}");
    assert_eq!(*verdicts[5].1, Verdict::Send);
    // Rows carry the provider's one spelling of each id.
    assert_eq!(plan.rows[5].user.as_str(), "plain.user");
}

/// The routes the Agora adapter uses, as `METHOD /path` (query ignored).
fn is_agora_route(line: &str, org: &str, app: &str) -> bool {
    let (method, rest) = line.split_once(' ').unwrap();
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    let Some(tail) = path.strip_prefix(&format!("/{org}/{app}/")) else {
        return false;
    };
    let segs: Vec<&str> = tail.split('/').collect();
    let id_ok = |s: &str| !s.is_empty() && s != "." && s != "..";
    match (method, segs.as_slice()) {
        ("POST", ["token"]) | ("GET", ["chatrooms"]) => true,
        ("GET", ["chatrooms", r]) => id_ok(r),
        ("GET", ["chatrooms", r, "users" | "admin"])
        | ("POST", ["chatrooms", r, "users" | "admin"]) => id_ok(r),
        ("DELETE", ["chatrooms", r, "users", list]) => id_ok(r) && id_ok(list),
        ("DELETE", ["chatrooms", r, "admin", u]) => id_ok(r) && id_ok(u),
        _ => false,
    }
}

/// A user id `..` once made the adapter send `DELETE …/chatrooms/{room}/`
/// (the room itself) and a room id `..` the delete-user endpoint: ids that
/// would leave their place in the URL are refused before any request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segment_ids_never_reach_the_server() {
    let (fake, p) = fake_with(Options::default()).await;
    for (room, user) in [
        (ROOM, ".."),
        (ROOM, "."),
        ("..", "alice"),
        (".", "alice"),
        (ROOM, ""),
    ] {
        let room = RoomId::from(room);
        let users = [UserId::from(user)];
        let e = p.remove(&room, &users).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest, "{e}");
        let demotions = [Demotion {
            user: UserId::from(user),
            role: Role::Admin,
        }];
        assert!(p.demote(&room, &demotions).await.is_err() || user.is_empty());
        let back = [Restore {
            user: UserId::from(user),
            role: Role::Admin,
        }];
        let _ = p.readd(&room, &back).await;
        assert!(p.members(&room, PageRequest::first()).await.is_err() || room.as_str() == ROOM);
    }
    // A normal pass over every route, then: nothing outside them was sent.
    let room = room();
    p.rooms(PageRequest::first()).await.unwrap();
    p.members(&room, PageRequest::first()).await.unwrap();
    p.room_and_staff(&room).await.unwrap();
    p.remove(&room, &[UserId::from(member_id(0).as_str())])
        .await
        .unwrap();
    let o = fake.options();
    let stray: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|l| !is_agora_route(l, &o.org, &o.app))
        .collect();
    assert!(
        stray.is_empty(),
        "requests outside the adapter's routes: {stray:?}"
    );
}

fn pagenum(request: &str) -> u64 {
    request
        .split("pagenum=")
        .nth(1)
        .and_then(|v| v.split('&').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no pagenum in {request}"))
}

fn pagesize(request: &str) -> u32 {
    request
        .split("pagesize=")
        .nth(1)
        .and_then(|v| v.split('&').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no pagesize in {request}"))
}

/// The docs say pages hold up to 1,000, the SDK 1 to 100. A server that
/// holds 100 whatever is asked: its first page is short although the room
/// has more, so later pages are asked at 100 and every member is listed
/// (the old reading stopped at the first short page: 100 of 2,500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_pages_follow_the_servers_real_page_size() {
    let (fake, provider) = fake_with(Options {
        member_page_cap: Some(100),
        ..Options::default()
    })
    .await;
    let engine = fast_engine(&fake, provider);
    let lobby = RoomId::from("10000000000000001");
    let mut got = Vec::new();
    let listing = engine
        .stream_members(&lobby, |page| {
            got.extend(page.items.into_iter().map(|m| m.user));
            true
        })
        .await
        .unwrap();
    let want: Vec<UserId> = world::lock(fake.world())
        .room(&lobby)
        .unwrap()
        .members()
        .map(|m| m.user.clone())
        .collect();
    assert_eq!(got, want);
    assert_eq!((listing.listed, listing.total), (2_500, Some(2_500)));
    let asked: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("GET ") && r.contains("/users?"))
        .collect();
    assert_eq!(pagesize(&asked[0]), 1_000, "the first page asks the most");
    assert!(asked[1..].iter().all(|r| pagesize(r) == 100), "{asked:?}");
    let nums: Vec<u64> = asked.iter().map(|r| pagenum(r)).collect();
    assert_eq!(nums, (1..=nums.len() as u64).collect::<Vec<_>>());

    // A room smaller than a page ends on its first page: no extra call.
    let before = fake.requests().len();
    let page = provider_of(&fake)
        .members(&room(), PageRequest::sized(1_000))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 24);
    assert_eq!(page.next, None);
    assert_eq!(page.total, Some(24));
    let users_calls = fake.requests()[before..]
        .iter()
        .filter(|r| r.contains("/users?"))
        .count();
    assert_eq!(users_calls, 1);
}

/// The SDK javadoc's page range is 1 to 100, the docs' up to 1,000. A
/// server that refuses a larger `pagesize` (400) instead of capping it is
/// asked again at 100, and the adapter remembers: later listings start at
/// 100. Every member is listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_refusing_pages_over_100_is_asked_at_100() {
    let (fake, provider) = fake_with(Options {
        member_page_refused_above: Some(100),
        ..Options::default()
    })
    .await;
    let engine = fast_engine(&fake, provider);
    let lobby = RoomId::from("10000000000000001");
    for round in 0..2 {
        let before = fake.requests().len();
        let mut got = Vec::new();
        let listing = engine
            .stream_members(&lobby, |page| {
                got.extend(page.items.into_iter().map(|m| m.user));
                true
            })
            .await
            .unwrap();
        assert_eq!((listing.listed, listing.total), (2_500, Some(2_500)));
        assert_eq!(got.len(), 2_500);
        let asked: Vec<String> = fake.requests()[before..]
            .iter()
            .filter(|r| r.starts_with("GET ") && r.contains("/users?"))
            .cloned()
            .collect();
        let sizes: Vec<u32> = asked.iter().map(|r| pagesize(r)).collect();
        if round == 0 {
            assert_eq!(sizes[0], 1_000, "the first page asks the most");
            assert!(sizes[1..].iter().all(|s| *s == 100), "{sizes:?}");
        } else {
            assert!(sizes.iter().all(|s| *s == 100), "remembered: {sizes:?}");
        }
    }
}

/// Without the room's count (its detail refused), a first page shorter
/// than asked does not prove the list ends: the rest is asked at the size
/// the server gave, and an empty page ends it (it stopped at 100 of 2,500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_first_page_without_a_count_is_not_taken_for_the_end() {
    let (fake, provider) = fake_with(Options {
        member_page_cap: Some(100),
        detail_refused: true,
        ..Options::default()
    })
    .await;
    let engine = fast_engine(&fake, provider);
    let lobby = RoomId::from("10000000000000001");
    let mut got = 0;
    let listing = engine
        .stream_members(&lobby, |page| {
            got += page.items.len();
            true
        })
        .await
        .unwrap();
    assert_eq!((got, listing.listed, listing.total), (2_500, 2_500, None));
}

/// An engine over `provider` with the fake's token, unthrottled.
fn fast_engine(fake: &Fake, provider: Arc<dyn Provider>) -> Engine {
    let profile = profile_with(
        fake,
        &format!("token = \"{}\"", fake.token()),
        "rate_limit_per_sec = 10000",
    );
    Engine::new(provider, &profile, None)
}

fn provider_of(fake: &Fake) -> Arc<dyn Provider> {
    with_token(fake, fake.token())
}

/// The server does not sort members: when someone joins or leaves while
/// the list is read, later pages shift and repeat members or skip some.
/// No member is shown twice, and the end says the list and the room's
/// count differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_read_while_members_change_shows_no_one_twice_and_says_so() {
    let (fake, provider) = fake_with(Options {
        unsorted_members: true,
        member_page_cap: Some(100),
        ..Options::default()
    })
    .await;
    let engine = fast_engine(&fake, provider);
    let lobby = RoomId::from("10000000000000001");
    let mut got: Vec<UserId> = Vec::new();
    let mut pages = 0;
    let listing = engine
        .stream_members(&lobby, |page| {
            pages += 1;
            got.extend(page.items.into_iter().map(|m| m.user));
            if pages == 1 {
                // Five members leave after the first page was read.
                let mut w = world::lock(fake.world());
                let r = w.room_mut(&lobby).unwrap();
                let leaving: Vec<UserId> = r
                    .members()
                    .filter(|m| m.role == Role::Member && !got.contains(&m.user))
                    .take(5)
                    .map(|m| m.user.clone())
                    .collect();
                for u in leaving {
                    r.remove(&u);
                }
            }
            true
        })
        .await
        .unwrap();
    let unique: std::collections::HashSet<&UserId> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "a member was shown twice");
    assert_eq!(listing.listed, got.len() as u64);
    assert_eq!(
        listing.total,
        Some(2_500),
        "the count read with the first page"
    );
    assert!(listing.complete);
    assert!(
        listing.repeated > 0 || listing.listed != 2_500,
        "the reshuffle must show: {listing:?}"
    );
    let note = listing.note("agora").expect("the difference is reported");
    assert!(
        note.contains("gives the room's member count as 2500"),
        "{note}"
    );
}

/// A whole-chunk refusal of a batch add over one user — 404 "username X
/// doesn't exist!" or 403 `exceeded_limit` — fails that user's row with the
/// provider's words; the rest of the chunk is sent again and re-added.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readd_takes_a_refused_user_out_and_sends_the_rest_again() {
    for names_user in [true, false] {
        let (fake, p) = fake_with(Options {
            unknown_user_404: true,
            busy_users: vec![member_id(6)],
            exceeded_limit_names_user: names_user,
            ..Options::default()
        })
        .await;
        let gone = [member_id(5), member_id(6), member_id(7), member_id(8)];
        let rows = p
            .remove(&room(), &users(&gone.each_ref().map(String::as_str)))
            .await
            .unwrap();
        assert!(rows.iter().all(|o| o.status == Status::Removed), "{rows:?}");
        let back: Vec<Restore> = [&gone[0], "ghost.user", &gone[1], &gone[2], &gone[3]]
            .iter()
            .map(|u| Restore {
                user: UserId::from(*u),
                role: Role::Member,
            })
            .collect();
        let rows = p.readd(&room(), &back).await.unwrap();
        let of = |u: &str| rows.iter().find(|o| o.user.as_str() == u).unwrap();
        assert_eq!(of("ghost.user").status, Status::Failed, "{rows:?}");
        assert_eq!(
            of("ghost.user").reason.as_deref(),
            Some("username ghost.user doesn't exist!")
        );
        let busy = of(&member_id(6));
        assert_eq!(busy.status, Status::Failed, "{rows:?}");
        assert!(
            busy.reason
                .as_deref()
                .unwrap()
                .starts_with("exceeded_limit: "),
            "{busy:?}"
        );
        for u in [&gone[0], &gone[2], &gone[3]] {
            assert_eq!(of(u).status, Status::Readded, "{names_user}: {rows:?}");
            assert_eq!(role_in(fake.world(), ROOM, u), Some(Role::Member));
        }
        assert_eq!(role_in(fake.world(), ROOM, &member_id(6)), None);
    }
}

/// `429 resource_limited` is the Free edition's quota, not a rate limit:
/// the rows end `failed` with that reason at once, with no retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_free_editions_quota_fails_rows_at_once() {
    let (fake, p) = fake_with(Options {
        free_edition_exhausted: true,
        ..Options::default()
    })
    .await;
    let engine = Engine::new(p, &profile_with(&fake, "token = \"x\"", ""), None);
    let plan = engine
        .plan(
            (0..3)
                .map(|i| Request::new(room(), member_id(i), Action::Remove))
                .collect(),
        )
        .await
        .unwrap();
    let report = engine.run(&plan, &fast(), &Cancel::new(), None).await;
    assert_eq!(report.progress.retries, 0);
    for o in &report.outcomes {
        assert_eq!(o.status, Status::Failed);
        assert!(
            o.reason
                .as_deref()
                .unwrap()
                .contains("resource_limited: You have exceeded the limit of the Free edition"),
            "{o:?}"
        );
    }
    let deletes = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("DELETE"))
        .count();
    assert_eq!(deletes, 1, "one call, never retried");
}

/// Agora chat-room owners can never be removed: the plan refuses an owner's
/// row with that reason (not "last owner"), and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_says_agora_owners_can_never_be_removed() {
    let (fake, p) = fake_with(Options::default()).await;
    assert!(!p.capabilities().can_remove_owner);
    let engine = Engine::new(p, &profile_with(&fake, "token = \"x\"", ""), None);
    let founders = RoomId::from(FOUNDERS_ROOM);
    let owner = world::lock(fake.world())
        .room(&founders)
        .unwrap()
        .with_role(Role::Owner)[0]
        .user
        .clone();
    let plan = engine
        .plan(vec![
            Request::new(founders.clone(), owner.clone(), Action::Remove),
            Request::new(room(), OWNERS[0], Action::Remove),
        ])
        .await
        .unwrap();
    for row in &plan.rows {
        assert!(
            matches!(&row.verdict, Verdict::Skip(w) if w.starts_with("Agora chat-room owners can never be removed")),
            "{row:?}"
        );
    }
    let report = engine.run(&plan, &fast(), &Cancel::new(), None).await;
    assert!(report.outcomes.iter().all(|o| o.status == Status::Skipped));
    assert!(!fake.requests().iter().any(|r| r.starts_with("DELETE")));
}

/// `roomwarden members` says on standard error when the complete list and
/// the room's member count disagree; the rows are what the list showed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_members_says_when_the_list_and_the_count_disagree() {
    let (fake, _) = fake_with(Options {
        count_beyond_list: 2,
        ..Options::default()
    })
    .await;
    let cli = common::FakeCli::new(agora_config(&fake), TOKEN_ENV);
    let out = cli.run(&["members", ROOM], fake.token()).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 24);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: agora listed 24 members but gives the room's member count as 26"),
        "{stderr}"
    );
}

/// A detail answer that does not name the asked room is "not found", never
/// another room's detail taken for it.
#[tokio::test]
async fn a_detail_answer_for_another_room_is_not_found() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|| async {
        axum::Json(serde_json::json!({
            "data": [{"id": "99999", "name": "someone else's room", "owner": "u9",
                      "affiliations_count": 1, "affiliations": [{"owner": "u9"}]}]
        }))
    });
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let provider = build(
        &parse_profile(&format!(
            "base_url = \"http://{addr}\"\norg = \"o\"\napp = \"a\"\ntoken = \"t\""
        ))
        .unwrap(),
    )
    .unwrap();
    let e = provider.room(&RoomId::from("12345")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("12345"), "{e}");
    let e = provider.staff(&RoomId::from("12345")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    server.abort();
}

//! The IMKit adapter against its stateful fake server: each point of the
//! IMKit contract (auth, envelope and error shapes, paging, whole rooms,
//! removals judged from a fresh read, both admin mechanisms, re-add, rate
//! limits, the CLI), then the fake itself. The shared conformance suite
//! runs in tests/imkit_conformance.rs.

mod common;
mod conformance;
#[path = "fakes/imkit.rs"]
mod imkit_fake;

use conformance::{ADMINS, OWNERS, ROOM, STRANGER, member_id};
use imkit_fake::{ErrorShape, Fake, Options, OwnerShape, Via};
use roomwarden::config::Profile;
use roomwarden::model::{Action, Demotion, PageRequest, Restore, Role, RoomId, Status, UserId};
use roomwarden::ops::plan::Request;
use roomwarden::ops::{Cancel, Engine, RunOptions};
use roomwarden::provider::sandbox::world::{self, SharedWorld, World};
use roomwarden::provider::{ErrorKind, PageStyle, Provider, build};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn imkit_world() -> SharedWorld {
    let world = World::generate().shared();
    conformance::seed(&world);
    imkit_fake::single_owner(&world);
    world
}

async fn fake(options: Options) -> Fake {
    imkit_fake::start(imkit_world(), options).await
}

struct Raw {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

async fn call(
    fake: &Fake,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Raw {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", fake.base_url());
    let mut req = client.request(method.parse().unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null);
    Raw {
        status,
        retry_after,
        body,
    }
}

const KEY: (&str, &str) = ("IM-API-KEY", imkit_fake::API_KEY);

fn role_in(world: &SharedWorld, user: &str) -> Option<Role> {
    world::lock(world)
        .room(&RoomId::from(ROOM))
        .unwrap()
        .get(&UserId::from(user))
        .map(|m| m.role)
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| m["_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn fake_serves_the_whole_room_with_both_admin_mechanisms() {
    let f = fake(Options::default()).await;
    let r = call(&f, "GET", &format!("/rooms/{ROOM}"), &[KEY], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["RC"], 0);
    let room = &r.body["result"];
    assert_eq!(room["owner"]["_id"], OWNERS[0]);
    assert_eq!(ids(&room["members"]).len(), 24);
    // OWNERS[1] became an admin (one owner per room); by position among the
    // admins: OWNERS[1] managers, ADMINS[0] role, ADMINS[1] both.
    assert_eq!(f.admin_via(ROOM, OWNERS[1]), Some(Via::MANAGERS));
    assert_eq!(f.admin_via(ROOM, ADMINS[0]), Some(Via::ROLE));
    assert_eq!(f.admin_via(ROOM, ADMINS[1]), Some(Via::BOTH));
    assert_eq!(room["managers"], json!([OWNERS[1], ADMINS[1]]));
    let with_role: Vec<&str> = room["memberProperties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["role"] == "admin")
        .map(|p| p["client"].as_str().unwrap())
        .collect();
    assert_eq!(with_role, [ADMINS[0], ADMINS[1]]);

    let f = fake(Options {
        owner_shape: OwnerShape::IdString,
        ..Options::default()
    })
    .await;
    let r = call(&f, "GET", &format!("/rooms/{ROOM}"), &[KEY], None).await;
    assert_eq!(r.body["result"]["owner"], OWNERS[0]);
}

#[tokio::test]
async fn fake_pages_rooms_with_total_count_and_unlimited_zero() {
    let f = fake(Options {
        list_embeds_members: false,
        api_key_lists_all_rooms: true,
        ..Options::default()
    })
    .await;
    let r = call(&f, "GET", "/rooms?skip=2&limit=3", &[KEY], None).await;
    assert_eq!(r.body["result"]["totalCount"], 7);
    assert_eq!(r.body["result"]["data"].as_array().unwrap().len(), 3);
    let r = call(&f, "GET", "/rooms?skip=0&limit=0", &[KEY], None).await;
    assert_eq!(r.body["result"]["data"].as_array().unwrap().len(), 7);
    let archive = &r.body["result"]["data"][3];
    assert_eq!(archive["status"], 0);
}

/// The contract's reading by default: `IM-CLIENT-ID` is required on
/// `GET /rooms` also with the platform key, and scopes the list to that
/// client's rooms; both gaps have a switch. Without a `sort` the most
/// recent message comes first; `sort=-createdTime` is creation order.
#[tokio::test]
async fn fake_room_list_needs_client_id_and_honours_sort() {
    let f = fake(Options::default()).await;
    let r = call(&f, "GET", "/rooms?skip=0&limit=10", &[KEY], None).await;
    assert_eq!(r.status, 400);
    assert!(r.body["RM"].as_str().unwrap().contains("IM-CLIENT-ID"));
    let mine = [KEY, ("IM-CLIENT-ID", OWNERS[0])];
    let r = call(&f, "GET", "/rooms?skip=0&limit=10", &mine, None).await;
    assert_eq!(
        r.body["result"]["totalCount"], 1,
        "only that client's rooms"
    );

    let f = fake(Options {
        client_id_scopes_platform_list: false,
        list_embeds_members: false,
        ..Options::default()
    })
    .await;
    let with_id = [KEY, ("IM-CLIENT-ID", "mod-console")];
    let order = |r: &Raw| ids(&r.body["result"]["data"]);
    let r = call(&f, "GET", "/rooms?skip=0&limit=0", &with_id, None).await;
    let created = order(&r);
    assert_eq!(created.len(), 7);
    f.post_message(&created[5]);
    let r = call(&f, "GET", "/rooms?skip=0&limit=0", &with_id, None).await;
    assert_eq!(order(&r)[0], created[5], "the last message first");
    let r = call(
        &f,
        "GET",
        "/rooms?skip=0&limit=0&sort=-createdTime",
        &with_id,
        None,
    )
    .await;
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(order(&r), newest_first);
}

/// Change answers hold `_id, name, members[], id` only (the official
/// examples), unless switched to the whole room.
#[tokio::test]
async fn fake_change_answers_are_minimal_by_default() {
    for minimal in [true, false] {
        let f = fake(Options {
            minimal_change_answers: minimal,
            ..Options::default()
        })
        .await;
        let path = format!("/rooms/{ROOM}/member/{}", member_id(3));
        let body = json!({"property": "role", "value": "admin"});
        let r = call(&f, "PUT", &path, &[KEY], Some(body)).await;
        let mut keys: Vec<&String> = r.body["result"].as_object().unwrap().keys().collect();
        keys.sort();
        if minimal {
            assert_eq!(keys, ["_id", "id", "members", "name"]);
        } else {
            assert!(keys.iter().any(|k| *k == "memberProperties"), "{keys:?}");
        }
        assert_eq!(role_in(f.world(), &member_id(3)), Some(Role::Admin));
    }
}

/// One member among the invitees fails the whole add (switchable).
#[tokio::test]
async fn fake_refuses_a_whole_add_naming_a_member() {
    for refuse in [true, false] {
        let f = fake(Options {
            add_refuses_members: refuse,
            ..Options::default()
        })
        .await;
        let path = format!("/rooms/{ROOM}/members");
        let body = json!({"invitees": [member_id(0), STRANGER], "invitationRequired": false});
        let r = call(&f, "POST", &path, &[KEY], Some(body)).await;
        if refuse {
            assert_eq!(r.status, 400);
            assert!(r.body["RM"].as_str().unwrap().contains(&member_id(0)));
            assert_eq!(role_in(f.world(), STRANGER), None);
        } else {
            assert_eq!(r.body["RC"], 0);
            assert_eq!(role_in(f.world(), STRANGER), Some(Role::Member));
        }
    }
}

#[tokio::test]
async fn fake_checks_credentials_in_both_modes() {
    let f = fake(Options {
        tokens: vec![("user-token".into(), OWNERS[0].into())],
        error_shape: ErrorShape::Unwrapped,
        ..Options::default()
    })
    .await;
    let r = call(&f, "GET", "/rooms", &[("IM-API-KEY", "wrong")], None).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        json!({"error": "INVALID_API_KEY", "message": "The API key is invalid"})
    );
    let client = [
        ("IM-CLIENT-KEY", imkit_fake::CLIENT_KEY),
        ("IM-Authorization", "user-token"),
    ];
    // `GET /rooms` needs IM-CLIENT-ID in client mode.
    let r = call(&f, "GET", "/rooms?skip=0&limit=10", &client, None).await;
    assert_eq!(r.status, 400);
    let mut with_id = client.to_vec();
    with_id.push(("IM-CLIENT-ID", OWNERS[0]));
    let r = call(&f, "GET", "/rooms?skip=0&limit=10", &with_id, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["result"]["totalCount"], 1, "only the caller's rooms");
    let bad = [
        ("IM-CLIENT-KEY", imkit_fake::CLIENT_KEY),
        ("IM-Authorization", "stolen"),
    ];
    let r = call(&f, "GET", &format!("/rooms/{ROOM}"), &bad, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(f.unauthorized(), 2);
}

#[tokio::test]
async fn fake_fails_a_whole_removal_for_one_non_member() {
    let f = fake(Options::default()).await;
    let path = format!("/rooms/{ROOM}/delete/members");
    let body = json!({"members": [member_id(0), STRANGER], "systemMessage": true});
    let r = call(&f, "POST", &path, &[KEY], Some(body)).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["RC"], 400);
    assert!(r.body["RM"].as_str().unwrap().contains(STRANGER));
    assert_eq!(role_in(f.world(), &member_id(0)), Some(Role::Member));
    assert!(f.messages().is_empty());

    let body = json!({"members": [member_id(0), ADMINS[1]], "systemMessage": true});
    let r = call(&f, "POST", &path, &[KEY], Some(body)).await;
    assert_eq!(r.status, 200);
    assert_eq!(ids(&r.body["result"]["members"]).len(), 22);
    assert_eq!(role_in(f.world(), ADMINS[1]), None);
    assert_eq!(f.managers(ROOM), [OWNERS[1]]);
    assert_eq!(f.messages()[0].kind, "deleteMember");

    // Re-adding gives a plain member, and only without invitationRequired.
    let add = format!("/rooms/{ROOM}/members");
    let body = json!({"invitees": [ADMINS[1]], "invitationRequired": true});
    call(&f, "POST", &add, &[KEY], Some(body)).await;
    assert_eq!(role_in(f.world(), ADMINS[1]), None);
    assert_eq!(f.pending(ROOM), [ADMINS[1]]);
    let body =
        json!({"invitees": [ADMINS[1]], "invitationRequired": false, "systemMessage": false});
    let r = call(&f, "POST", &add, &[KEY], Some(body)).await;
    assert_eq!(r.body["RC"], 0);
    assert_eq!(role_in(f.world(), ADMINS[1]), Some(Role::Member));
    assert_eq!(f.admin_via(ROOM, ADMINS[1]), None);
}

#[tokio::test]
async fn fake_keeps_admins_until_both_mechanisms_are_gone() {
    let f = fake(Options::default()).await;
    // ADMINS[1] is under both: the role alone does not demote it.
    let path = format!("/rooms/{ROOM}/member/{}", ADMINS[1]);
    let body = json!({"property": "role", "value": "member"});
    let r = call(&f, "PUT", &path, &[KEY], Some(body)).await;
    assert_eq!(r.body["RC"], 0);
    assert_eq!(role_in(f.world(), ADMINS[1]), Some(Role::Admin));
    assert_eq!(f.admin_via(ROOM, ADMINS[1]), Some(Via::MANAGERS));
    let body = json!({"managers": [OWNERS[1]]});
    let r = call(&f, "PUT", &format!("/rooms/{ROOM}"), &[KEY], Some(body)).await;
    assert_eq!(r.body["RC"], 0);
    assert_eq!(f.managers(ROOM), [OWNERS[1]]);
    assert_eq!(role_in(f.world(), ADMINS[1]), Some(Role::Member));
    // Promotion by role posts assignAdmin by itself.
    let path = format!("/rooms/{ROOM}/member/{}", member_id(3));
    let body = json!({"property": "role", "value": "admin"});
    call(&f, "PUT", &path, &[KEY], Some(body)).await;
    assert_eq!(role_in(f.world(), &member_id(3)), Some(Role::Admin));
    assert_eq!(f.messages().last().unwrap().kind, "assignAdmin");
}

#[tokio::test]
async fn fake_answers_429_with_retry_after_and_logs_requests() {
    let f = fake(Options {
        retry_after_header: true,
        error_shape: ErrorShape::EnvelopeBare,
        ..Options::default()
    })
    .await;
    {
        let mut w = world::lock(f.world());
        w.faults.rate_limit_next = 1;
        w.faults.retry_after = Some(Duration::from_millis(1500));
    }
    let r = call(&f, "GET", "/rooms?skip=0&limit=1", &[KEY], None).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["retryAfter"], 1.5);
    assert_eq!(r.body["RC"], 429);
    assert_eq!(r.retry_after.as_deref(), Some("1.5"));
    let r = call(&f, "GET", "/nope", &[KEY], None).await;
    assert_eq!(r.status, 404);
    assert_eq!(f.requests(), ["GET /rooms?skip=0&limit=1", "GET /nope"]);
    assert!(f.calls()[0].has_header("im-api-key"));
}

// ---- the adapter ---------------------------------------------------------

const LOBBY: &str = "10000000000000001";

fn parse_profile(body: &str) -> Result<Profile, String> {
    common::parse_profile("imkit", body)
}

fn profile_with(fake: &Fake, extra: &str) -> Profile {
    parse_profile(&format!(
        "base_url = \"{}\"\napi_key = \"{}\"\n{extra}",
        fake.base_url(),
        fake.options().api_key
    ))
    .unwrap()
}

fn adapter(fake: &Fake, extra: &str) -> Arc<dyn Provider> {
    build(&profile_with(fake, extra)).unwrap()
}

async fn fake_with(options: Options) -> (Fake, Arc<dyn Provider>) {
    let f = fake(options).await;
    let p = adapter(&f, "");
    (f, p)
}

/// The moderator's client id for room lists in API-key mode; the fakes
/// that use it list every room for it (the id only counts unread).
const MODERATOR: &str = "client_id = \"mod-console\"";

fn room() -> RoomId {
    RoomId::from(ROOM)
}

fn users(ids: &[&str]) -> Vec<UserId> {
    ids.iter().map(|u| UserId::from(*u)).collect()
}

fn demotion(user: &str) -> Demotion {
    Demotion {
        user: UserId::from(user),
        role: Role::Admin,
    }
}

fn fast() -> RunOptions {
    RunOptions {
        min_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        max_attempts: 40,
        ..RunOptions::default()
    }
}

/// The routes the adapter uses, as `METHOD /path` patterns.
fn is_adapter_route(line: &str) -> bool {
    let (method, rest) = line.split_once(' ').unwrap();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    match (method, segs.as_slice()) {
        ("GET", ["rooms"]) => {
            // Always a limit, never 0 (unlimited).
            query.split('&').any(|p| p.starts_with("skip="))
                && query
                    .split('&')
                    .any(|p| p.strip_prefix("limit=").is_some_and(|l| l != "0"))
        }
        ("GET", ["rooms", _]) | ("PUT", ["rooms", _]) => query.is_empty(),
        ("POST", ["rooms", _, "delete", "members"])
        | ("PUT", ["rooms", _, "member", _])
        | ("POST", ["rooms", _, "members"]) => query.is_empty(),
        _ => false,
    }
}

fn assert_only_adapter_routes(fake: &Fake) {
    let seen = fake.requests();
    assert!(!seen.is_empty());
    let stray: Vec<&String> = seen.iter().filter(|l| !is_adapter_route(l)).collect();
    assert!(
        stray.is_empty(),
        "requests outside the adapter's routes: {stray:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_page_by_skip_and_limit_until_total_count() {
    let f = fake(Options {
        list_embeds_members: true,
        client_id_scopes_platform_list: false,
        ..Options::default()
    })
    .await;
    let p = adapter(&f, MODERATOR);
    let mut req = PageRequest::sized(3);
    let mut got = Vec::new();
    loop {
        let page = p.rooms(req.clone()).await.unwrap();
        assert_eq!(page.total, Some(7));
        got.extend(page.items);
        match page.next {
            Some(t) => req = req.next(t),
            None => break,
        }
    }
    assert_eq!(got.len(), 7);
    assert_eq!(
        f.requests(),
        [
            "GET /rooms?skip=0&limit=3&sort=-createdTime",
            "GET /rooms?skip=3&limit=3&sort=-createdTime",
            "GET /rooms?skip=6&limit=3&sort=-createdTime"
        ]
    );
    // Members embedded in the list are counted.
    let lobby = got.iter().find(|r| r.id.as_str() == LOBBY).unwrap();
    assert_eq!(lobby.member_count, Some(2_500));
    assert!(
        !got.iter()
            .find(|r| r.name == "archive-2023")
            .unwrap()
            .active
    );
    // Without a size a limit is still sent.
    p.rooms(PageRequest::first()).await.unwrap();
    assert_eq!(
        f.requests().last().unwrap(),
        "GET /rooms?skip=0&limit=100&sort=-createdTime"
    );
    assert_only_adapter_routes(&f);
}

/// `sort=-createdTime` [V §1.5]: a message posted between two pages does
/// not move a room (a server's default order may be by last message), so
/// no room is listed twice or skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_page_in_creation_order_while_messages_arrive() {
    let f = fake(Options {
        client_id_scopes_platform_list: false,
        list_embeds_members: false,
        ..Options::default()
    })
    .await;
    let p = adapter(&f, MODERATOR);
    let all: Vec<RoomId> = world::lock(f.world())
        .rooms()
        .iter()
        .map(|r| r.id.clone())
        .collect();
    let mut req = PageRequest::sized(3);
    let mut got: Vec<RoomId> = Vec::new();
    loop {
        let page = p.rooms(req.clone()).await.unwrap();
        got.extend(page.items.into_iter().map(|r| r.id));
        // Activity between two pages, in rooms not listed yet and listed.
        for r in &all {
            if !got.contains(r) {
                f.post_message(r.as_str());
                break;
            }
        }
        f.post_message(got[0].as_str());
        match page.next {
            Some(t) => req = req.next(t),
            None => break,
        }
    }
    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), got.len(), "a room listed twice: {got:?}");
    let mut want = all.clone();
    want.sort();
    assert_eq!(unique, want, "every room once");
    assert!(
        f.requests()
            .iter()
            .all(|r| r.ends_with("&sort=-createdTime"))
    );
}

/// `IM-CLIENT-ID` is "Required by GET /rooms" [V], also with the API key
/// as far as the docs say: a configured `client_id` is sent there, and a
/// refusal without one says which profile key to set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_mode_without_client_id_is_told_to_set_it() {
    let f = fake(Options::default()).await;
    let p = adapter(&f, "");
    for e in [
        p.rooms(PageRequest::first()).await.unwrap_err(),
        p.check().await.unwrap_err(),
    ] {
        assert_eq!(e.kind, ErrorKind::BadRequest, "{e}");
        let text = e.to_string();
        assert!(text.contains("set client_id"), "{text}");
        assert!(text.contains("profile `t`"), "{text}");
        assert!(text.contains("IM-CLIENT-ID"), "{text}");
    }
    // With the moderator's id: sent on the list only, that user's rooms.
    let p = adapter(&f, &format!("client_id = \"{}\"", OWNERS[0]));
    let before = f.calls().len();
    let page = p.rooms(PageRequest::first()).await.unwrap();
    assert_eq!(page.total, Some(1), "the rooms the moderator is in");
    p.room(&room()).await.unwrap();
    let calls = f.calls();
    for c in &calls[before..] {
        assert!(c.has_header("im-api-key"));
        assert_eq!(c.has_header("im-client-id"), c.path == "/rooms", "{c:?}");
    }
    // A server whose key alone lists every room (the other reading).
    let f = fake(Options {
        api_key_lists_all_rooms: true,
        ..Options::default()
    })
    .await;
    let page = adapter(&f, "").rooms(PageRequest::first()).await.unwrap();
    assert_eq!(page.total, Some(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_room_gives_every_member_with_roles_and_names() {
    for owner_shape in [OwnerShape::Object, OwnerShape::IdString] {
        let (f, p) = fake_with(Options {
            owner_shape,
            ..Options::default()
        })
        .await;
        assert_eq!(p.capabilities().page_style, PageStyle::Whole);
        let page = p.members(&room(), PageRequest::sized(7)).await.unwrap();
        assert_eq!(page.items.len(), 24, "the whole room in one page");
        assert!(page.next.is_none());
        let role = |u: &str| {
            page.items
                .iter()
                .find(|m| m.user.as_str() == u)
                .map(|m| m.role)
        };
        assert_eq!(role(OWNERS[0]), Some(Role::Owner));
        // Managers-only, role-only and both: every one an admin.
        assert_eq!(f.admin_via(ROOM, OWNERS[1]), Some(Via::MANAGERS));
        assert_eq!(f.admin_via(ROOM, ADMINS[0]), Some(Via::ROLE));
        assert_eq!(f.admin_via(ROOM, ADMINS[1]), Some(Via::BOTH));
        for a in [OWNERS[1], ADMINS[0], ADMINS[1]] {
            assert_eq!(role(a), Some(Role::Admin), "{a}");
        }
        assert_eq!(role(&member_id(4)), Some(Role::Member));
        assert_eq!(page.items[5].name.as_deref(), Some("Member 1"));
        let (r, staff) = p.room_and_staff(&room()).await.unwrap();
        assert_eq!(r.member_count, Some(24));
        assert_eq!(staff.len(), 4);
        assert_eq!(
            p.member(&room(), &UserId::from(STRANGER)).await.unwrap(),
            None
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_sends_only_members_and_rows_come_from_before_and_after() {
    let (f, p) = fake_with(Options::default()).await;
    let lobby = RoomId::from(LOBBY);
    let targets: Vec<String> = {
        let w = world::lock(f.world());
        w.room(&lobby)
            .unwrap()
            .members()
            .filter(|m| m.role == Role::Member)
            .take(50)
            .map(|m| m.user.to_string())
            .collect()
    };
    let mut asked: Vec<UserId> = targets.iter().map(|u| UserId::from(u.as_str())).collect();
    asked.insert(10, UserId::from(STRANGER));
    asked.push(UserId::from("72000000000088888"));
    let rows = p.remove(&lobby, &asked).await.unwrap();
    assert_eq!(rows.len(), 52);
    let count = |s: Status| rows.iter().filter(|o| o.status == s).count();
    assert_eq!(count(Status::Removed), 50, "{rows:?}");
    assert_eq!(count(Status::AlreadyAbsent), 2);
    assert_eq!(rows[10].user.as_str(), STRANGER);
    assert_eq!(rows[10].status, Status::AlreadyAbsent);
    assert!(
        rows.iter()
            .all(|o| o.status != Status::Removed || o.role.is_none())
    );
    // Server state matches the rows.
    {
        let w = world::lock(f.world());
        let r = w.room(&lobby).unwrap();
        assert_eq!(r.len(), 2_450);
        assert!(
            targets
                .iter()
                .all(|u| r.get(&UserId::from(u.as_str())).is_none())
        );
    }
    // One read, one call carrying exactly the 50 members.
    let calls = f.calls();
    let posts: Vec<_> = calls.iter().filter(|c| c.method == "POST").collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, format!("/rooms/{LOBBY}/delete/members"));
    let sent: Vec<&str> = posts[0].body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(sent, targets.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(posts[0].body["systemMessage"], false);
    assert_eq!(f.requests()[0], format!("GET /rooms/{LOBBY}"));
    // Nobody left to remove: no call at all.
    let before = f.requests().len();
    let rows = p.remove(&lobby, &users(&[STRANGER])).await.unwrap();
    assert_eq!(rows[0].status, Status::AlreadyAbsent);
    assert_eq!(f.requests().len(), before + 1, "only the fresh read");
    assert_only_adapter_routes(&f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_message_is_sent_as_configured() {
    let f = fake(Options::default()).await;
    let quiet = adapter(&f, "");
    quiet
        .remove(&room(), &users(&[&member_id(0)]))
        .await
        .unwrap();
    let loud = adapter(&f, "system_message = true");
    loud.remove(&room(), &users(&[&member_id(1)]))
        .await
        .unwrap();
    let bodies: Vec<Value> = f
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST")
        .map(|c| c.body)
        .collect();
    assert_eq!(
        bodies[0],
        json!({"members": [member_id(0)], "systemMessage": false})
    );
    assert_eq!(
        bodies[1],
        json!({"members": [member_id(1)], "systemMessage": true})
    );
    let messages = f.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].kind, "deleteMember");
    assert_eq!(messages[0].members, [member_id(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_is_never_removed_or_demoted() {
    let (f, p) = fake_with(Options::default()).await;
    let before = f.requests().len();
    let rows = p.remove(&room(), &users(&[OWNERS[0]])).await.unwrap();
    assert_eq!(rows[0].status, Status::Skipped);
    assert!(
        rows[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("transfer ownership")
    );
    assert_eq!(rows[0].role, Some(Role::Owner));
    let rows = p
        .demote(
            &room(),
            &[Demotion {
                user: UserId::from(OWNERS[0]),
                role: Role::Owner,
            }],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Skipped);
    assert!(rows[0].reason.as_deref().unwrap().contains("owner"));
    // Only the two fresh reads went out.
    let sent: Vec<String> = f.requests()[before..].to_vec();
    assert!(sent.iter().all(|r| r.starts_with("GET ")), "{sent:?}");
    assert_eq!(role_in(f.world(), OWNERS[0]), Some(Role::Owner));
    let caps = p.capabilities();
    assert!(!caps.can_remove_owner && !caps.can_demote_owner);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_admin_kinds_are_demoted_and_checked_by_a_re_read() {
    let (f, p) = fake_with(Options::default()).await;
    // OWNERS[1]: managers only; ADMINS[0]: role only; ADMINS[1]: both.
    let rows = p
        .demote(
            &room(),
            &[
                demotion(OWNERS[1]),
                demotion(ADMINS[0]),
                demotion(ADMINS[1]),
            ],
        )
        .await
        .unwrap();
    for o in &rows {
        assert_eq!(o.status, Status::Demoted, "{o:?}");
        assert_eq!(o.role, Some(Role::Member));
        assert_eq!(role_in(f.world(), o.user.as_str()), Some(Role::Member));
        assert_eq!(f.admin_via(ROOM, o.user.as_str()), None);
    }
    assert!(f.managers(ROOM).is_empty());
    let changes: Vec<(String, String, Value)> = f
        .calls()
        .into_iter()
        .filter(|c| c.method == "PUT")
        .map(|c| (c.method, c.path, c.body))
        .collect();
    assert_eq!(
        changes,
        [
            (
                "PUT".into(),
                format!("/rooms/{ROOM}/member/{}", ADMINS[0]),
                json!({"property": "role", "value": "member"})
            ),
            (
                "PUT".into(),
                format!("/rooms/{ROOM}/member/{}", ADMINS[1]),
                json!({"property": "role", "value": "member"})
            ),
            (
                "PUT".into(),
                format!("/rooms/{ROOM}"),
                json!({"managers": []})
            ),
        ]
    );
    // A retried call finds them demoted already: the wanted state.
    let rows = p.demote(&room(), &[demotion(ADMINS[0])]).await.unwrap();
    assert_eq!(rows[0].status, Status::Demoted);
    assert_eq!(rows[0].role, Some(Role::Member));
    assert_only_adapter_routes(&f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_replace_keeps_the_other_managers() {
    let (f, p) = fake_with(Options::default()).await;
    f.set_admin_via(ROOM, &member_id(2), Via::MANAGERS);
    f.set_admin_via(ROOM, &member_id(3), Via::MANAGERS);
    let rows = p.demote(&room(), &[demotion(&member_id(2))]).await.unwrap();
    assert_eq!(rows[0].status, Status::Demoted);
    assert_eq!(
        f.managers(ROOM),
        [OWNERS[1].to_string(), ADMINS[1].to_string(), member_id(3)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demote_is_demoted_only_when_both_mechanisms_agree() {
    let (f, p) = fake_with(Options {
        ignore_managers_update: true,
        ..Options::default()
    })
    .await;
    let rows = p
        .demote(&room(), &[demotion(ADMINS[1]), demotion(ADMINS[0])])
        .await
        .unwrap();
    // ADMINS[1] lost its role but is still in managers: not demoted.
    assert_eq!(rows[0].status, Status::Failed);
    assert!(
        rows[0].reason.as_deref().unwrap().contains("in managers"),
        "{:?}",
        rows[0]
    );
    assert_eq!(rows[0].role, Some(Role::Admin));
    assert_eq!(f.admin_via(ROOM, ADMINS[1]), Some(Via::MANAGERS));
    assert_eq!(rows[1].status, Status::Demoted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readd_without_invitation_restores_the_admin_role() {
    let (f, p) = fake_with(Options::default()).await;
    let gone = [ADMINS[0], &member_id(6)];
    p.remove(&room(), &users(&gone)).await.unwrap();
    let rows = p
        .readd(
            &room(),
            &[
                Restore {
                    user: UserId::from(ADMINS[0]),
                    role: Role::Admin,
                },
                Restore {
                    user: UserId::from(member_id(6).as_str()),
                    role: Role::Member,
                },
            ],
        )
        .await
        .unwrap();
    assert!(rows.iter().all(|o| o.status == Status::Readded), "{rows:?}");
    assert_eq!(rows[0].role, Some(Role::Admin));
    assert_eq!(rows[1].role, Some(Role::Member));
    assert_eq!(role_in(f.world(), ADMINS[0]), Some(Role::Admin));
    assert_eq!(role_in(f.world(), &member_id(6)), Some(Role::Member));
    assert!(f.pending(ROOM).is_empty(), "no invitation left waiting");
    let calls = f.calls();
    let add = calls
        .iter()
        .find(|c| c.path == format!("/rooms/{ROOM}/members"))
        .unwrap();
    assert_eq!(
        add.body,
        json!({"invitees": [ADMINS[0], member_id(6)], "invitationRequired": false, "systemMessage": false})
    );
    let promote = calls.iter().find(|c| c.method == "PUT").unwrap();
    assert_eq!(promote.path, format!("/rooms/{ROOM}/member/{}", ADMINS[0]));
    assert_eq!(promote.body, json!({"property": "role", "value": "admin"}));
    // The rows come from a re-read: the answers may not show roles.
    assert_eq!(f.requests().last().unwrap(), &format!("GET /rooms/{ROOM}"));
    assert_only_adapter_routes(&f);
}

/// A retried re-add (the first answer lost) finds some users back already:
/// only the others are sent (one member among the invitees may fail the
/// whole call), and those already back go straight to their role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_readd_sends_only_users_not_yet_back() {
    let (f, p) = fake_with(Options::default()).await;
    let gone = [ADMINS[0], &member_id(6), &member_id(7)];
    p.remove(&room(), &users(&gone)).await.unwrap();
    // The first attempt got ADMINS[0] and member 6 back, then its answer was lost.
    let add = format!("/rooms/{ROOM}/members");
    let body = json!({"invitees": [ADMINS[0], member_id(6)], "invitationRequired": false});
    assert_eq!(call(&f, "POST", &add, &[KEY], Some(body)).await.status, 200);
    let before = f.calls().len();
    let restore = |u: &str, role| Restore {
        user: UserId::from(u),
        role,
    };
    let rows = p
        .readd(
            &room(),
            &[
                restore(ADMINS[0], Role::Admin),
                restore(&member_id(6), Role::Member),
                restore(&member_id(7), Role::Member),
            ],
        )
        .await
        .unwrap();
    assert!(rows.iter().all(|o| o.status == Status::Readded), "{rows:?}");
    assert_eq!(rows[0].role, Some(Role::Admin));
    assert_eq!(role_in(f.world(), ADMINS[0]), Some(Role::Admin));
    assert_eq!(role_in(f.world(), &member_id(7)), Some(Role::Member));
    let calls = f.calls();
    let posts: Vec<&Value> = calls[before..]
        .iter()
        .filter(|c| c.method == "POST")
        .map(|c| &c.body)
        .collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["invitees"], json!([member_id(7)]));
    // Everyone back already: nothing but the read is sent.
    let before = f.calls().len();
    let rows = p
        .readd(&room(), &[restore(&member_id(7), Role::Member)])
        .await
        .unwrap();
    assert_eq!(rows[0].status, Status::Readded);
    assert_eq!(f.requests()[before..], [format!("GET /rooms/{ROOM}")]);
}

/// Removing one's own id is "leave room" in IMKit [§1.7, §1.10]: the
/// profile's `client_id` is never sent in a removal, in either mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profiles_own_client_id_is_never_removed() {
    let f = fake(Options {
        tokens: vec![("tok-admin".into(), ADMINS[0].into())],
        ..Options::default()
    })
    .await;
    let client = build(
        &parse_profile(&format!(
            "base_url = \"{}\"\nclient_key = \"{}\"\ntoken = \"tok-admin\"\nclient_id = \"{}\"",
            f.base_url(),
            imkit_fake::CLIENT_KEY,
            ADMINS[0]
        ))
        .unwrap(),
    )
    .unwrap();
    let platform = adapter(&f, &format!("client_id = \"{}\"", ADMINS[0]));
    for (p, other) in [(client, member_id(0)), (platform, member_id(1))] {
        let rows = p
            .remove(&room(), &users(&[ADMINS[0], &other]))
            .await
            .unwrap();
        assert_eq!(rows[0].status, Status::Failed, "{rows:?}");
        assert!(
            rows[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("leave the room"),
            "{rows:?}"
        );
        assert_eq!(rows[1].status, Status::Removed);
        assert_eq!(role_in(f.world(), ADMINS[0]), Some(Role::Admin));
        let calls = f.calls();
        let post = calls.iter().rev().find(|c| c.method == "POST").unwrap();
        assert_eq!(post.body["members"], json!([other]));
    }
    assert!(f.messages().iter().all(|m| m.kind != "leaveRoom"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_call_fails_its_rows_with_rm_in_every_error_shape() {
    for (shape, as_200) in [
        (ErrorShape::Envelope, false),
        (ErrorShape::EnvelopeBare, false),
        (ErrorShape::Envelope, true),
        (ErrorShape::Unwrapped, false),
    ] {
        // A user token without rights in the room: the removal is refused.
        let f = fake(Options {
            error_shape: shape,
            errors_as_http_200: as_200,
            tokens: vec![("tok-member".into(), member_id(9))],
            ..Options::default()
        })
        .await;
        let p = build(
            &parse_profile(&format!(
                "base_url = \"{}\"\nclient_key = \"{}\"\ntoken = \"tok-member\"\nclient_id = \"{}\"",
                f.base_url(),
                imkit_fake::CLIENT_KEY,
                member_id(9)
            ))
            .unwrap(),
        )
        .unwrap();
        let rows = p
            .remove(&room(), &users(&[&member_id(0), &member_id(1)]))
            .await
            .unwrap();
        for o in &rows {
            assert_eq!(o.status, Status::Failed, "{shape:?}: {o:?}");
            assert_eq!(
                o.reason.as_deref(),
                Some("Insufficient permissions"),
                "{shape:?}"
            );
        }
        assert_eq!(role_in(f.world(), &member_id(0)), Some(Role::Member));
        // Errors map to kinds in each shape (RC, or the status when unwrapped).
        let e = p.room(&RoomId::from("no-such-room")).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{shape:?}: {e}");
        let bad = build(
            &parse_profile(&format!(
                "base_url = \"{}\"\napi_key = \"wrong\"",
                f.base_url()
            ))
            .unwrap(),
        )
        .unwrap();
        let e = bad.rooms(PageRequest::first()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth, "{shape:?}: {e}");
        assert!(e.is_unavailable());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mode_sends_client_headers_and_client_id_on_room_lists() {
    let f = fake(Options {
        tokens: vec![("tok-owner".into(), OWNERS[0].into())],
        ..Options::default()
    })
    .await;
    let p = build(
        &parse_profile(&format!(
            "base_url = \"{}\"\nclient_key = \"{}\"\ntoken = \"tok-owner\"\nclient_id = \"{}\"",
            f.base_url(),
            imkit_fake::CLIENT_KEY,
            OWNERS[0]
        ))
        .unwrap(),
    )
    .unwrap();
    let page = p.rooms(PageRequest::first()).await.unwrap();
    assert_eq!(page.items.len(), 1, "the moderator's own rooms");
    let rows = p.remove(&room(), &users(&[&member_id(0)])).await.unwrap();
    assert_eq!(rows[0].status, Status::Removed);
    let calls = f.calls();
    for c in &calls {
        assert!(c.has_header("im-client-key") && c.has_header("im-authorization"));
        assert!(!c.has_header("im-api-key"));
        assert_eq!(c.has_header("im-client-id"), c.path == "/rooms", "{c:?}");
    }
    // A refused token is an authentication failure.
    let bad = build(
        &parse_profile(&format!(
            "base_url = \"{}\"\nclient_key = \"{}\"\ntoken = \"stolen\"\nclient_id = \"x\"",
            f.base_url(),
            imkit_fake::CLIENT_KEY
        ))
        .unwrap(),
    )
    .unwrap();
    let e = bad.room(&room()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(!e.to_string().contains("stolen"));
}

/// A refused key or token is read again (a `*_cmd` can print a fresh
/// one) and the call sent once more, only when it changed: the same
/// secret read again is not sent twice. Client mode sends the re-read
/// token with the client key; `IM-CLIENT-ID` still goes on `GET /rooms` only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_secret_is_read_again_and_retried_once_when_it_changed() {
    // The legacy model answers every error on HTTP 200 with the code in
    // RC (401 = authorization error); the SDK's renewal reads HTTP 401.
    // Both are a refusal.
    for as_200 in [false, true] {
        refused_secret_read_again(as_200).await;
    }
}

async fn refused_secret_read_again(as_200: bool) {
    let f = fake(Options {
        tokens: vec![("tok-owner".into(), OWNERS[0].into())],
        errors_as_http_200: as_200,
        // The API key without a client id lists rooms here.
        api_key_lists_all_rooms: true,
        ..Options::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    let client = format!(
        "client_key = \"{}\"\nclient_id = \"{}\"\n",
        imkit_fake::CLIENT_KEY,
        OWNERS[0]
    );
    for (mode, key, good) in [
        ("", "api_key", imkit_fake::API_KEY),
        (client.as_str(), "token", "tok-owner"),
    ] {
        std::fs::write(&file, "rotated-away").unwrap();
        let p = build(
            &parse_profile(&format!(
                "base_url = \"{}\"\n{mode}{key}_cmd = \"cat '{}'\"",
                f.base_url(),
                file.display()
            ))
            .unwrap(),
        )
        .unwrap();
        let before = f.calls().len();
        let e = p.rooms(PageRequest::first()).await.unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::Auth,
            "{key} (errors on 200: {as_200}): {e}"
        );
        assert!(!e.to_string().contains("rotated-away"), "{e}");
        assert_eq!(
            f.calls().len() - before,
            1,
            "{key}: the same secret read again is not sent again"
        );
        std::fs::write(&file, good).unwrap();
        let page = p.rooms(PageRequest::first()).await.expect("the new secret");
        assert!(!page.items.is_empty(), "{key}");
        p.room(&room()).await.expect("the new secret stays in use");
        let calls = f.calls();
        let sent = &calls[before..];
        assert_eq!(
            sent.len(),
            4,
            "{key} (errors on 200: {as_200}): one refusal, one retry, one more call"
        );
        for c in sent {
            assert_eq!(c.has_header("im-client-key"), key == "token", "{c:?}");
            assert_eq!(c.has_header("im-authorization"), key == "token", "{c:?}");
            assert_eq!(c.has_header("im-api-key"), key == "api_key", "{c:?}");
            assert_eq!(
                c.has_header("im-client-id"),
                key == "token" && c.path == "/rooms",
                "{c:?}"
            );
        }
    }
}

#[test]
fn credentials_are_one_mode_or_the_other() {
    let e = parse_profile(
        "base_url = \"http://x\"\napi_key = \"k\"\nclient_key = \"c\"\ntoken = \"t\"",
    )
    .map(|p| build(&p).err().map(|e| e.to_string()))
    .unwrap()
    .unwrap();
    assert!(e.contains("not both"), "{e}");
    let e = build(
        &parse_profile("base_url = \"http://x\"\nclient_key = \"c\"\ntoken = \"t\"").unwrap(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("client_id"), "{e}");
    let e = build(&parse_profile("base_url = \"http://x\"").unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("api_key_env"), "{e}");
    let e = parse_profile("base_url = \"http://x\"\napi_key = \"k\"\nsystem_message = \"yes\"")
        .unwrap_err();
    assert!(e.contains("system_message"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_carry_the_retry_after_from_body_or_header() {
    for header in [false, true] {
        let f = fake(Options {
            retry_after_body: !header,
            retry_after_header: header,
            error_shape: ErrorShape::Unwrapped,
            ..Options::default()
        })
        .await;
        let p = adapter(&f, "");
        {
            let mut w = world::lock(f.world());
            w.faults.rate_limit_next = 1;
            w.faults.retry_after = Some(Duration::from_millis(1500));
        }
        let e = p.rooms(PageRequest::first()).await.unwrap_err();
        assert!(e.is_retryable());
        assert_eq!(
            e.retry_after(),
            Some(Duration::from_millis(1500)),
            "header: {header}"
        );
        // Without any hint: still a rate limit.
        {
            let mut w = world::lock(f.world());
            w.faults.rate_limit_next = 1;
            w.faults.retry_after = None;
        }
        let e = p.rooms(PageRequest::first()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimited { retry_after: None });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_under_rate_limits_all_end_removed() {
    let (f, p) = fake_with(Options::default()).await;
    let lobby = RoomId::from(LOBBY);
    let targets: Vec<String> = {
        let w = world::lock(f.world());
        w.room(&lobby)
            .unwrap()
            .members()
            .filter(|m| m.role == Role::Member)
            .take(150)
            .map(|m| m.user.to_string())
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let audit =
        Arc::new(roomwarden::ops::audit::AuditLog::open(&dir.path().join("audit.jsonl")).unwrap());
    let engine = Engine::new(p.clone(), &profile_with(&f, ""), Some(audit));
    let plan = engine
        .plan(
            targets
                .iter()
                .map(|u| Request::new(lobby.clone(), u.as_str(), Action::Remove))
                .collect(),
        )
        .await
        .unwrap();
    {
        let mut w = world::lock(f.world());
        w.faults.rate_limit_share = 0.3;
        w.faults.retry_after = Some(Duration::from_millis(3));
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
    assert_eq!(report.outcomes.len(), 150);
    assert!(report.progress.retries > 0);
    let w = world::lock(f.world());
    assert!(
        w.max_batch_seen <= 50,
        "a call carried {}",
        w.max_batch_seen
    );
    assert_eq!(w.room(&lobby).unwrap().len(), 2_350);
    drop(w);
    assert_only_adapter_routes(&f);
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_lists_removes_and_never_shows_the_key() {
    let (f, _) = fake_with(Options {
        error_shape: ErrorShape::Unwrapped,
        client_id_scopes_platform_list: false,
        ..Options::default()
    })
    .await;
    let cli = common::FakeCli::new(
        format!(
            "default_profile = \"imkit\"\n[profiles.imkit]\nprovider = \"imkit\"\nbase_url = \"{}\"\napi_key_env = \"RW_IMKIT_TEST_KEY\"\nclient_id = \"mod-console\"\n",
            f.base_url()
        ),
        "RW_IMKIT_TEST_KEY",
    );
    let secret = "sEcReT-wrong-imkit-key-31c9";
    cli.refused_unseen(
        &[
            &["-vv", "rooms"],
            &["-vv", "members", ROOM],
            &["-vv", "remove", ROOM, &member_id(3), "--yes"],
        ],
        secret,
        secret,
    )
    .await;
    assert_eq!(role_in(f.world(), &member_id(3)), Some(Role::Member));

    let key = f.options().api_key.clone();
    let out = cli.run(&["rooms"], &key).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rooms = lines(&out);
    assert_eq!(rooms.len(), 7);
    assert!(
        rooms
            .iter()
            .any(|r| r["room"] == ROOM && r["members"] == 24)
    );

    let out = cli.run(&["members", ROOM], &key).await;
    assert_eq!(out.status.code(), Some(0));
    let members = lines(&out);
    assert_eq!(members.len(), 24);
    assert!(
        members
            .iter()
            .any(|m| m["user"] == ADMINS[0] && m["role"] == "admin")
    );
    assert!(
        members
            .iter()
            .any(|m| m["user"] == OWNERS[0] && m["role"] == "owner")
    );

    let out = cli
        .run(
            &["remove", ROOM, &member_id(3), STRANGER, OWNERS[0], "--yes"],
            &key,
        )
        .await;
    let rows = lines(&out);
    let status = |u: &str| {
        rows.iter()
            .find(|r| r["user"] == u)
            .map(|r| r["status"].as_str().unwrap().to_string())
    };
    assert_eq!(
        status(&member_id(3)).as_deref(),
        Some("removed"),
        "{rows:?}"
    );
    assert_eq!(status(STRANGER).as_deref(), Some("already_absent"));
    assert_eq!(status(OWNERS[0]).as_deref(), Some("skipped"));
    assert_eq!(out.status.code(), Some(1), "a skipped row");
    assert_eq!(role_in(f.world(), &member_id(3)), None);
    let audit_text = std::fs::read_to_string(&cli.audit).unwrap();
    assert!(!audit_text.contains(&key));
    assert_only_adapter_routes(&f);
}

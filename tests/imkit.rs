//! The IMKit fake server itself: what it serves and the switches it has.

mod conformance;
#[path = "fakes/imkit.rs"]
mod imkit_fake;

use conformance::{ADMINS, OWNERS, ROOM, STRANGER, member_id};
use imkit_fake::{ErrorShape, Fake, Options, OwnerShape, Via};
use roomwarden::model::{Role, RoomId, UserId};
use roomwarden::provider::sandbox::world::{self, SharedWorld, World};
use serde_json::{Value, json};
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
    assert_eq!(r.body["result"]["managers"], json!([OWNERS[1]]));
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
    assert_eq!(r.body["result"]["managers"], json!([OWNERS[1]]));
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

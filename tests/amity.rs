//! The Amity / social.plus fake server on its own (the wire behaviour the
//! adapter is written against), then the adapter against it on both
//! surfaces, then the CLI.

#[path = "fakes/amity.rs"]
mod amity_fake;
mod common;
mod conformance;

use amity_fake::{
    CoHostType, DeleteParams, Fake, IdsFrom, NonMember, Options, RateLimitShape, RoleFilter,
};
use conformance::{ADMINS, OWNERS, ROOM, STRANGER, member_id};
use roomwarden::config::{Config, Profile};
use roomwarden::model::{Action, Demotion, PageRequest, Restore, Role, RoomId, Status, UserId};
use roomwarden::ops::audit::AuditLog;
use roomwarden::ops::plan::{Request, Verdict};
use roomwarden::ops::{Cancel, Engine, RunOptions};
use roomwarden::provider::sandbox::world::{self, SharedWorld, World};
use roomwarden::provider::{Provider, build};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn test_world() -> SharedWorld {
    let world = World::generate().shared();
    conformance::seed(&world);
    world
}

async fn fake_with(options: Options) -> Fake {
    amity_fake::start(test_world(), options).await
}

fn world_role(fake: &Fake, room: &str, user: &str) -> Option<Role> {
    world::lock(fake.world())
        .room(&RoomId::from(room))
        .unwrap()
        .get(&UserId::from(user))
        .map(|m| m.role)
}

/// The first `n` plain members of `room` in the fake's world.
fn plain_members(fake: &Fake, room: &str, n: usize) -> Vec<UserId> {
    let w = world::lock(fake.world());
    w.room(&room.into())
        .unwrap()
        .members()
        .filter(|m| m.role == Role::Member)
        .take(n)
        .map(|m| m.user.clone())
        .collect()
}

fn profile(fake: &Fake, surface: &str, extra: &str) -> Profile {
    let text = format!(
        "[profiles.t]\nprovider = \"amity\"\nbase_url = \"{}\"\ntoken = \"{}\"\nsurface = \"{surface}\"\n{extra}\n",
        fake.base_url(),
        fake.token()
    );
    Config::parse(&text, std::path::Path::new("amity-test.toml"), None)
        .unwrap()
        .profile(None)
        .unwrap()
        .clone()
}

fn adapter(fake: &Fake, surface: &str) -> Arc<dyn Provider> {
    build(&profile(fake, surface, "")).unwrap()
}

/// An engine on the profile, auditing into a temp dir.
fn engine(fake: &Fake, surface: &str, extra: &str) -> (Engine, tempfile::TempDir) {
    let p = profile(fake, surface, extra);
    let dir = tempfile::tempdir().unwrap();
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.jsonl")).unwrap());
    (Engine::new(build(&p).unwrap(), &p, Some(audit)), dir)
}

fn fast() -> RunOptions {
    RunOptions {
        min_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        max_attempts: 40,
        ..RunOptions::default()
    }
}

async fn run(engine: &Engine, requests: Vec<Request>) -> Vec<roomwarden::model::Outcome> {
    let plan = engine.plan(requests).await.expect("plan");
    engine
        .run(&plan, &fast(), &Cancel::new(), None)
        .await
        .outcomes
}

mod fake_server {
    use super::*;
    use reqwest::Method;

    struct Client {
        http: reqwest::Client,
        base: String,
        token: String,
    }

    impl Client {
        fn new(fake: &Fake) -> Self {
            Self {
                http: reqwest::Client::new(),
                base: fake.base_url().to_string(),
                token: fake.token().to_string(),
            }
        }

        async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
            let mut req = self
                .http
                .request(method, format!("{}{path}", self.base))
                .bearer_auth(&self.token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            (status, v)
        }

        async fn get(&self, path: &str) -> (u16, Value) {
            self.call(Method::GET, path, None).await
        }
    }

    fn enc(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    #[tokio::test]
    async fn a_missing_or_wrong_token_is_401_in_the_error_envelope() {
        let fake = fake_with(Options::default()).await;
        let http = reqwest::Client::new();
        for auth in [None, Some("Bearer wrong"), Some("wrong")] {
            let mut req = http.get(format!("{}/api/v3/channels", fake.base_url()));
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 401);
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v["status"], "error");
            assert_eq!(v["code"], 400100);
            assert_eq!(v["message"], "Unauthorized");
        }
        assert_eq!(fake.unauthorized(), 3);
    }

    #[tokio::test]
    async fn channels_page_by_token_to_the_end() {
        let fake = fake_with(Options::default()).await;
        let c = Client::new(&fake);
        let mut path = "/api/v3/channels?options%5Blimit%5D=2".to_string();
        let mut ids = Vec::new();
        let mut saw_special = false;
        loop {
            let (status, v) = c.get(&path).await;
            assert_eq!(status, 200, "{v}");
            for ch in v["channels"].as_array().unwrap() {
                ids.push(ch["channelId"].as_str().unwrap().to_string());
            }
            match v["paging"]["next"].as_str() {
                Some(t) => {
                    saw_special |= t.contains(['+', '/', '=']);
                    // The TS SDK sends the token alone on later pages.
                    path = format!("/api/v3/channels?options[token]={}", enc(t));
                }
                None => break,
            }
        }
        assert!(saw_special, "tokens carry characters that need encoding");
        let want: Vec<String> = world::lock(fake.world())
            .rooms()
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(ids, want);
        // Deactivated rooms are deleted channels.
        let (_, v) = c.get("/api/v3/channels?options[limit]=100").await;
        let archive = v["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channelId"] == world::ARCHIVE_ROOM)
            .unwrap();
        assert_eq!(archive["isDeleted"], true);
    }

    #[tokio::test]
    async fn bad_limits_and_unencoded_tokens_are_refused() {
        let fake = fake_with(Options::default()).await;
        let c = Client::new(&fake);
        for l in ["0", "101", "x"] {
            let (status, v) = c.get(&format!("/api/v3/channels?options[limit]={l}")).await;
            assert_eq!(status, 400, "limit {l}");
            assert_eq!(v["code"], 400000);
        }
        let (_, v) = c.get("/api/v3/channels?options[limit]=1").await;
        let t = v["paging"]["next"].as_str().unwrap().to_string();
        // Find a token with a `+` and send it raw: it reads as a space.
        let mut t = t;
        let mut path = format!("/api/v3/channels?options[token]={}", enc(&t));
        while !t.contains('+') {
            let (_, v) = c.get(&path).await;
            t = v["paging"]["next"]
                .as_str()
                .expect("a token with +")
                .to_string();
            path = format!("/api/v3/channels?options[token]={}", enc(&t));
        }
        let (status, _) = c.get(&format!("/api/v3/channels?options[token]={t}")).await;
        assert_eq!(status, 400);
        let long = "A".repeat(1004);
        let (status, _) = c
            .get(&format!("/api/v3/channels?options[token]={long}"))
            .await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn members_carry_channel_roles_and_joined_names() {
        let fake = fake_with(Options::default()).await;
        let c = Client::new(&fake);
        let mut path = format!("/api/v4/channels/{ROOM}/users?options[limit]=7");
        let mut rows = Vec::new();
        loop {
            let (status, v) = c.get(&path).await;
            assert_eq!(status, 200, "{v}");
            let users = v["users"].as_array().unwrap();
            for cu in v["channelUsers"].as_array().unwrap() {
                assert_eq!(cu["membership"], "member");
                let id = cu["userId"].as_str().unwrap().to_string();
                let name = users
                    .iter()
                    .find(|u| u["userId"] == id.as_str())
                    .and_then(|u| u["displayName"].as_str())
                    .map(str::to_string);
                rows.push((id, cu["roles"].clone(), name));
            }
            match v["paging"]["next"].as_str() {
                Some(t) => {
                    path = format!("/api/v4/channels/{ROOM}/users?options[token]={}", enc(t))
                }
                None => break,
            }
        }
        assert_eq!(rows.len(), 24);
        assert_eq!(rows[0].1, json!(["channel-owner"]));
        assert_eq!(rows[2].1, json!(["channel-moderator"]));
        assert_eq!(rows[4].1, json!([]));
        assert_eq!(rows[4].2.as_deref(), Some("Member 0"));
        // The role filter, under both spellings.
        for key in ["roles", "role[]", "roles%5B%5D"] {
            let (_, v) = c
                .get(&format!(
                    "/api/v4/channels/{ROOM}/users?{key}=channel-moderator&options[limit]=100"
                ))
                .await;
            let ids: Vec<&str> = v["channelUsers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["userId"].as_str().unwrap())
                .collect();
            assert_eq!(ids, ADMINS, "{key}");
        }
        let (_, v) = c
            .get(&format!(
                "/api/v4/channels/{ROOM}/users?search={}",
                member_id(3)
            ))
            .await;
        assert_eq!(v["channelUsers"].as_array().unwrap().len(), 1);
        let (status, v) = c.get("/api/v4/channels/29999999999999999/users").await;
        assert_eq!((status, v["code"].clone()), (404, json!(400400)));
    }

    #[tokio::test]
    async fn removal_takes_ids_from_body_or_query_and_caps_them_at_100() {
        let fake = fake_with(Options::default()).await;
        let c = Client::new(&fake);
        let (status, v) = c
            .call(
                Method::DELETE,
                &format!("/api/v3/channels/{ROOM}/users"),
                Some(json!({"channelId": ROOM, "userIds": [member_id(0), STRANGER]})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        let cu = v["channelUsers"].as_array().unwrap();
        // The contract's assumption: a no-op success, `none` for the stranger.
        assert_eq!(cu.len(), 2);
        assert_eq!(cu[0]["userId"], member_id(0).as_str());
        assert_eq!(cu[0]["membership"], "none");
        assert_eq!(cu[1]["userId"], STRANGER);
        assert_eq!(cu[1]["membership"], "none");
        assert_eq!(world_role(&fake, ROOM, &member_id(0)), None);

        for q in [
            format!("userIds={}&userIds={}", member_id(1), member_id(2)),
            format!("userIds%5B%5D={}&userIds[]={}", member_id(3), member_id(4)),
            format!("userIds[0]={}&userIds[1]={}", member_id(5), member_id(6)),
        ] {
            let (status, v) = c
                .call(
                    Method::DELETE,
                    &format!("/api/v3/channels/{ROOM}/users?{q}"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{q}: {v}");
            assert_eq!(v["channelUsers"].as_array().unwrap().len(), 2, "{q}");
        }
        let seen = fake.seen();
        let froms: Vec<IdsFrom> = seen.iter().map(|s| s.ids_from).collect();
        assert_eq!(
            froms,
            [
                IdsFrom::Body,
                IdsFrom::Query,
                IdsFrom::Query,
                IdsFrom::Query
            ]
        );
        assert!(
            seen.iter()
                .all(|s| s.route == amity_fake::REMOVE_CHANNEL_USERS)
        );

        let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
        let (status, v) = c
            .call(
                Method::DELETE,
                &format!("/api/v3/channels/{ROOM}/users"),
                Some(json!({"userIds": many})),
            )
            .await;
        assert_eq!((status, v["code"].clone()), (400, json!(400000)));
        let (status, _) = c
            .call(
                Method::DELETE,
                &format!("/api/v3/channels/{ROOM}/users"),
                Some(json!({"userIds": []})),
            )
            .await;
        assert_eq!(status, 400);
        // A body not declared JSON is not read.
        let resp = reqwest::Client::new()
            .delete(format!("{}/api/v3/channels/{ROOM}/users", fake.base_url()))
            .bearer_auth(fake.token())
            .body(json!({"userIds": [member_id(9)]}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        assert_eq!(world_role(&fake, ROOM, &member_id(9)), Some(Role::Member));
    }

    #[tokio::test]
    async fn delete_parameters_are_read_where_the_switch_says() {
        let path = format!("/api/v3/channels/{ROOM}/users");
        let roles = format!("/api/v3/channels/{ROOM}/users/roles");
        // The spec: query only, a body is not read.
        let fake = fake_with(Options {
            delete_params: DeleteParams::Query,
            ..Options::default()
        })
        .await;
        let c = Client::new(&fake);
        let body = Some(json!({"userIds": [member_id(0)]}));
        let (status, _) = c.call(Method::DELETE, &path, body).await;
        assert_eq!(status, 400, "a body alone is not read");
        assert_eq!(world_role(&fake, ROOM, &member_id(0)), Some(Role::Member));
        let q = format!("{path}?userIds={}", member_id(0));
        let (status, _) = c.call(Method::DELETE, &q, None).await;
        assert_eq!(status, 200);
        let body = Some(json!({"role": "channel-moderator", "userIds": [ADMINS[0]]}));
        let (status, _) = c.call(Method::DELETE, &roles, body).await;
        assert_eq!(status, 400);
        let q = format!("{roles}?role=channel-moderator&userIds={}", ADMINS[0]);
        let (status, _) = c.call(Method::DELETE, &q, None).await;
        assert_eq!(status, 200);
        assert_eq!(world_role(&fake, ROOM, ADMINS[0]), Some(Role::Member));

        // The TS SDK: body only, the query is not read.
        let fake = fake_with(Options {
            delete_params: DeleteParams::Body,
            ..Options::default()
        })
        .await;
        let c = Client::new(&fake);
        let q = format!("{path}?userIds={}", member_id(0));
        let (status, _) = c.call(Method::DELETE, &q, None).await;
        assert_eq!(status, 400, "a query alone is not read");
        let q = format!("{roles}?role=channel-moderator");
        let body = Some(json!({"userIds": [ADMINS[0]]}));
        let (status, _) = c.call(Method::DELETE, &q, body).await;
        assert_eq!(status, 400, "the role in the query is not read");
        let body = Some(json!({"userIds": [member_id(0)]}));
        let (status, _) = c.call(Method::DELETE, &path, body).await;
        assert_eq!(status, 200);
        assert_eq!(world_role(&fake, ROOM, &member_id(0)), None);
    }

    #[tokio::test]
    async fn non_member_switches() {
        let fake = fake_with(Options {
            non_member: NonMember::Omitted,
            ..Options::default()
        })
        .await;
        let c = Client::new(&fake);
        let path = format!("/api/v3/channels/{ROOM}/users");
        let (status, v) = c
            .call(Method::DELETE, &path, Some(json!({"userIds": [STRANGER]})))
            .await;
        assert_eq!(status, 200);
        assert_eq!(v["channelUsers"], json!([]), "no membership record");

        let fake = fake_with(Options {
            non_member: NonMember::Reject,
            ..Options::default()
        })
        .await;
        let c = Client::new(&fake);
        let (status, v) = c
            .call(
                Method::DELETE,
                &path,
                Some(json!({"userIds": [member_id(0), STRANGER]})),
            )
            .await;
        assert_eq!((status, v["code"].clone()), (404, json!(400400)));
        assert_eq!(world_role(&fake, ROOM, &member_id(0)), Some(Role::Member));
    }

    #[tokio::test]
    async fn roles_are_removed_and_added_in_batches() {
        let fake = fake_with(Options::default()).await;
        let c = Client::new(&fake);
        let roles = format!("/api/v3/channels/{ROOM}/users/roles");
        let (status, v) = c
            .call(
                Method::DELETE,
                &roles,
                Some(json!({"channelId": ROOM, "role": "channel-moderator", "userIds": ADMINS})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["channelUsers"][0]["roles"], json!([]));
        assert_eq!(world_role(&fake, ROOM, ADMINS[1]), Some(Role::Member));
        // The spec's query form.
        let (status, v) = c
            .call(
                Method::POST,
                &roles,
                Some(json!({"role": "channel-moderator", "userIds": [ADMINS[0]]})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["channelUsers"][0]["roles"], json!(["channel-moderator"]));
        let (status, _) = c
            .call(
                Method::DELETE,
                &format!("{roles}?role=channel-moderator&userIds={}", ADMINS[0]),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(world_role(&fake, ROOM, ADMINS[0]), Some(Role::Member));
        let (status, _) = c
            .call(
                Method::DELETE,
                &roles,
                Some(json!({"userIds": [ADMINS[0]]})),
            )
            .await;
        assert_eq!(status, 400, "role is required");
        // Re-add.
        let (status, v) = c
            .call(
                Method::POST,
                &format!("/api/v3/channels/{ROOM}/users"),
                Some(json!({"channelId": ROOM, "userIds": [STRANGER]})),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(v["channelUsers"][0]["membership"], "member");
        assert_eq!(world_role(&fake, ROOM, STRANGER), Some(Role::Member));
    }

    #[tokio::test]
    async fn last_moderator_is_refused_with_400317_behind_a_switch() {
        let fake = fake_with(Options {
            last_moderator: true,
            ..Options::default()
        })
        .await;
        let c = Client::new(&fake);
        let roles = format!("/api/v3/channels/{ROOM}/users/roles");
        let body = |u: &str| Some(json!({"role": "channel-moderator", "userIds": [u]}));
        let (status, _) = c.call(Method::DELETE, &roles, body(ADMINS[0])).await;
        assert_eq!(status, 200);
        let (status, v) = c.call(Method::DELETE, &roles, body(ADMINS[1])).await;
        assert_eq!((status, v["code"].clone()), (400, json!(400317)));
        assert_eq!(world_role(&fake, ROOM, ADMINS[1]), Some(Role::Admin));
        let (status, v) = c
            .call(
                Method::DELETE,
                &format!("/api/v3/channels/{ROOM}/users"),
                Some(json!({"userIds": [ADMINS[1]]})),
            )
            .await;
        assert_eq!((status, v["code"].clone()), (400, json!(400317)));
    }

    #[tokio::test]
    async fn rate_limits_take_the_chosen_shape() {
        for (shape, status, code) in [
            (RateLimitShape::Spec, 429, 400311),
            (RateLimitShape::Gateway, 429, 429000),
            (RateLimitShape::CodeOnly, 400, 400311),
        ] {
            let fake = fake_with(Options {
                rate_limit: shape,
                retry_after_header: true,
                ..Options::default()
            })
            .await;
            {
                let mut w = world::lock(fake.world());
                w.faults.rate_limit_next = 1;
                w.faults.retry_after = Some(std::time::Duration::from_millis(1500));
            }
            let resp = reqwest::Client::new()
                .get(format!("{}/api/v1/rooms", fake.base_url()))
                .bearer_auth(fake.token())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), status);
            assert_eq!(resp.headers()["retry-after"], "2");
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v["code"], code);
            let (ok, _) = Client::new(&fake).get("/api/v1/rooms").await;
            assert_eq!(ok, 200);
        }
    }

    #[tokio::test]
    async fn live_rooms_list_host_and_co_hosts_and_remove_one_at_a_time() {
        let fake = fake_with(Options::default()).await;
        let c = Client::new(&fake);
        let mut path = "/api/v1/rooms?options[limit]=3".to_string();
        let mut rooms = Vec::new();
        loop {
            let (status, v) = c.get(&path).await;
            assert_eq!(status, 200, "{v}");
            rooms.extend(v["rooms"].as_array().unwrap().iter().cloned());
            match v["paging"]["next"].as_str() {
                Some(t) => path = format!("/api/v1/rooms?options[token]={}", enc(t)),
                None => break,
            }
        }
        assert_eq!(rooms.len(), world::lock(fake.world()).rooms().len());
        let (_, v) = c.get(&format!("/api/v1/rooms/{ROOM}")).await;
        let room = &v["rooms"][0];
        let parts: Vec<(String, String)> = room["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["type"].as_str().unwrap().to_string(),
                    p["userId"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            parts[..4],
            [
                ("host".to_string(), OWNERS[0].to_string()),
                ("host".to_string(), OWNERS[1].to_string()),
                ("coHost".to_string(), ADMINS[0].to_string()),
                ("coHost".to_string(), ADMINS[1].to_string()),
            ]
        );
        assert_eq!(
            parts.len(),
            4,
            "participants are the host and co-hosts only"
        );
        assert_eq!(room["createdBy"], OWNERS[0]);
        assert!(
            v["users"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["userId"] == ADMINS[0] && u["displayName"] == "Admin")
        );
        let participants = format!("/api/v1/rooms/{ROOM}/participants");
        let (status, v) = c
            .call(
                Method::DELETE,
                &participants,
                Some(json!({"participantUserId": ADMINS[0]})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["rooms"][0]["participants"].as_array().unwrap().len(), 3);
        assert_eq!(world_role(&fake, ROOM, ADMINS[0]), None);
        let (status, _) = c
            .call(
                Method::DELETE,
                &participants,
                Some(json!({"participantUserId": OWNERS[0]})),
            )
            .await;
        assert_eq!(status, 400, "the host stays");
        // Neither a stranger nor a plain member of the world is a participant.
        for user in [STRANGER, &member_id(0)] {
            let (status, v) = c
                .call(
                    Method::DELETE,
                    &participants,
                    Some(json!({"participantUserId": user})),
                )
                .await;
            assert_eq!((status, v["code"].clone()), (404, json!(400400)));
        }
        assert_eq!(world_role(&fake, ROOM, &member_id(0)), Some(Role::Member));
        let (status, _) = c
            .call(
                Method::DELETE,
                &participants,
                Some(json!({"userIds": [ADMINS[1]]})),
            )
            .await;
        assert_eq!(status, 400, "one participantUserId per call");
    }

    #[tokio::test]
    async fn every_request_is_logged_with_its_route_and_faults_reach_it() {
        let fake = fake_with(Options::default()).await;
        let c = Client::new(&fake);
        world::lock(fake.world()).faults.server_error_next = 1;
        let (status, v) = c.get("/api/v3/channels").await;
        assert_eq!((status, v["code"].clone()), (500, json!(500000)));
        c.get("/api/v3/channels").await;
        let (status, _) = c.get("/api/v2/nowhere").await;
        assert_eq!(status, 404);
        assert_eq!(
            fake.routes_used(),
            [amity_fake::LIST_CHANNELS, amity_fake::UNKNOWN]
        );
        assert_eq!(
            fake.requests(),
            [
                "GET /api/v3/channels",
                "GET /api/v3/channels",
                "GET /api/v2/nowhere"
            ]
        );
        assert_eq!(world::lock(fake.world()).calls, 2);
    }
}

mod channels {
    use super::*;
    use amity_fake::{ADD_CHANNEL_USERS, ADD_ROLE, GET_CHANNEL, LIST_CHANNEL_USERS, LIST_CHANNELS};
    use amity_fake::{REMOVE_CHANNEL_USERS, REMOVE_ROLE};

    const LOBBY: &str = "10000000000000001";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn removes_150_in_calls_of_at_most_100_ids_sent_as_a_json_body() {
        let fake = fake_with(Options::default()).await;
        let targets = plain_members(&fake, LOBBY, 150);
        let (engine, _dir) = engine(&fake, "channels", "");
        fake.clear_log();
        let rows = run(
            &engine,
            targets
                .iter()
                .map(|u| Request::new(LOBBY, u.as_str(), Action::Remove))
                .collect(),
        )
        .await;
        assert_eq!(rows.len(), 150);
        assert!(
            rows.iter()
                .all(|o| o.status == Status::Removed && o.role.is_none()),
            "{:?}",
            rows.iter().find(|o| o.status != Status::Removed)
        );
        let deletes: Vec<_> = fake
            .seen()
            .into_iter()
            .filter(|s| s.route == REMOVE_CHANNEL_USERS)
            .collect();
        let mut sizes: Vec<usize> = deletes.iter().map(|s| s.ids).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [50, 100]);
        assert!(deletes.iter().all(|s| s.ids_from == IdsFrom::Body));
        assert!(world::lock(fake.world()).max_batch_seen <= 100);
        assert_eq!(
            world::lock(fake.world()).room(&LOBBY.into()).unwrap().len(),
            2_350
        );
    }

    /// The staff filter is `role[]` in the spec and `roles` in the TS SDK
    /// [V]: a server reading either spelling filters, and the staff of a
    /// 2,500-member channel come in one page.
    #[tokio::test]
    async fn staff_reads_are_filtered_by_a_spec_server_and_an_sdk_server() {
        for mode in [RoleFilter::Spec, RoleFilter::Sdk] {
            let fake = fake_with(Options {
                role_filter: mode,
                ..Options::default()
            })
            .await;
            let staff = adapter(&fake, "channels")
                .staff(&RoomId::from(LOBBY))
                .await
                .unwrap();
            let want: Vec<UserId> = {
                let w = world::lock(fake.world());
                let r = w.room(&LOBBY.into()).unwrap();
                r.members()
                    .filter(|m| m.role.is_staff())
                    .map(|m| m.user.clone())
                    .collect()
            };
            let mut got: Vec<UserId> = staff.iter().map(|m| m.user.clone()).collect();
            got.sort();
            let mut want = want;
            want.sort();
            assert_eq!(got, want, "{mode:?}");
            let reads = fake
                .seen()
                .iter()
                .filter(|s| s.route == LIST_CHANNEL_USERS)
                .count();
            assert_eq!(reads, 1, "{mode:?}: the filter was not read");
        }
    }

    /// The spec reads the DELETE calls' `userIds` and `role` from the
    /// query, the TS SDK sends a JSON body [V]: both are sent, so a server
    /// of either kind acts.
    #[tokio::test]
    async fn removal_and_demote_work_on_a_spec_server_and_an_sdk_server() {
        for mode in [DeleteParams::Query, DeleteParams::Body] {
            let fake = fake_with(Options {
                delete_params: mode,
                ..Options::default()
            })
            .await;
            let p = adapter(&fake, "channels");
            let room = RoomId::from(ROOM);
            let users = [member_id(0), member_id(1)].map(|u| UserId::from(u.as_str()));
            let rows = p.remove(&room, &users).await.unwrap();
            assert!(
                rows.iter().all(|o| o.status == Status::Removed),
                "{mode:?}: {rows:?}"
            );
            let rows = p
                .demote(
                    &room,
                    &[Demotion {
                        user: UserId::from(ADMINS[0]),
                        role: Role::Admin,
                    }],
                )
                .await
                .unwrap();
            assert_eq!(rows[0].status, Status::Demoted, "{mode:?}: {rows:?}");
            assert_eq!(world_role(&fake, ROOM, &member_id(1)), None, "{mode:?}");
            assert_eq!(world_role(&fake, ROOM, ADMINS[0]), Some(Role::Member));
            for s in fake.seen() {
                if s.route == REMOVE_CHANNEL_USERS || s.route == REMOVE_ROLE {
                    // The spec's form/explode spelling: `userIds=a&userIds=b`.
                    assert!(s.query.contains("userIds="), "{mode:?}: {}", s.query);
                }
                if s.route == REMOVE_ROLE {
                    assert!(s.query.contains("role=channel-moderator"), "{}", s.query);
                }
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ninety_removals_under_30_percent_rate_limits_all_end_removed() {
        // With `Retry-After: 0`: a bare 429 waits 5 s (tested on a paused
        // clock below), too long for dozens of them here.
        let fake = fake_with(Options {
            retry_after_header: true,
            ..Options::default()
        })
        .await;
        let targets = plain_members(&fake, LOBBY, 90);
        let (engine, _dir) = engine(&fake, "channels", "max_batch = 3");
        let plan = engine
            .plan(
                targets
                    .iter()
                    .map(|u| Request::new(LOBBY, u.as_str(), Action::Remove))
                    .collect(),
            )
            .await
            .unwrap();
        {
            let mut w = world::lock(fake.world());
            w.faults.rate_limit_share = 0.3;
            w.faults.retry_after = Some(Duration::ZERO);
        }
        let report = engine.run(&plan, &fast(), &Cancel::new(), None).await;
        assert!(
            report.outcomes.iter().all(|o| o.status == Status::Removed),
            "{:?}",
            report.outcomes.iter().find(|o| o.status != Status::Removed)
        );
        assert_eq!(report.outcomes.len(), 90);
        assert!(report.progress.retries > 0, "no 429 was met");
        let refused = fake.seen().iter().filter(|s| s.status == 429).count();
        assert!(refused > 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_rate_limit_shape_is_retried() {
        for shape in [RateLimitShape::Gateway, RateLimitShape::CodeOnly] {
            let fake = fake_with(Options {
                rate_limit: shape,
                retry_after_header: true,
                ..Options::default()
            })
            .await;
            world::lock(fake.world()).faults.retry_after = Some(Duration::ZERO);
            let (engine, _dir) = engine(&fake, "channels", "");
            let plan = engine
                .plan(vec![Request::new(ROOM, member_id(0), Action::Remove)])
                .await
                .unwrap();
            world::lock(fake.world()).faults.rate_limit_next = 2;
            let report = engine.run(&plan, &fast(), &Cancel::new(), None).await;
            assert_eq!(report.outcomes[0].status, Status::Removed, "{shape:?}");
            assert_eq!(report.progress.retries, 2, "{shape:?}");
        }
    }

    /// No `Retry-After` is documented: a bare 429 is retried after 5 s at
    /// the earliest [I]; a `Retry-After`, when sent, wins (even 0). On a
    /// paused clock, so the 5 s cost nothing.
    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_without_retry_after_is_retried_after_five_seconds() {
        let fake = fake_with(Options {
            retry_after_header: true,
            ..Options::default()
        })
        .await;
        let (engine, _dir) = engine(&fake, "channels", "");
        for (i, header) in [None, Some(Duration::ZERO)].into_iter().enumerate() {
            let plan = engine
                .plan(vec![Request::new(ROOM, member_id(i), Action::Remove)])
                .await
                .unwrap();
            {
                let mut w = world::lock(fake.world());
                w.faults.rate_limit_next = 1;
                w.faults.retry_after = header;
            }
            let start = tokio::time::Instant::now();
            let report = engine.run(&plan, &fast(), &Cancel::new(), None).await;
            let waited = start.elapsed();
            assert_eq!(report.outcomes[0].status, Status::Removed, "{header:?}");
            assert_eq!(report.progress.retries, 1, "{header:?}");
            match header {
                None => assert!(waited >= Duration::from_secs(5), "{waited:?}"),
                Some(_) => assert!(waited < Duration::from_secs(5), "{waited:?}"),
            }
        }
        let statuses: Vec<u16> = fake
            .seen()
            .iter()
            .filter(|s| s.route == REMOVE_CHANNEL_USERS)
            .map(|s| s.status)
            .collect();
        assert_eq!(statuses, [429, 200, 429, 200]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_moderator_is_demoted_and_the_last_one_is_kept_with_400317() {
        let fake = fake_with(Options {
            last_moderator: true,
            ..Options::default()
        })
        .await;
        let (engine, _dir) = engine(&fake, "channels", "");
        fake.clear_log();
        let rows = run(
            &engine,
            ADMINS
                .iter()
                .map(|a| Request::new(ROOM, *a, Action::Demote))
                .collect(),
        )
        .await;
        assert_eq!(rows[0].status, Status::Demoted, "{rows:?}");
        assert_eq!(rows[0].role, Some(Role::Member));
        assert_eq!(rows[1].status, Status::Skipped, "{rows:?}");
        assert_eq!(
            rows[1].reason.as_deref(),
            Some("User is the last moderator of the channel.")
        );
        assert_eq!(world_role(&fake, ROOM, ADMINS[0]), Some(Role::Member));
        assert_eq!(world_role(&fake, ROOM, ADMINS[1]), Some(Role::Admin));
        // One call for both (refused whole), then one per half.
        let calls: Vec<(usize, u16)> = fake
            .seen()
            .iter()
            .filter(|s| s.route == REMOVE_ROLE)
            .map(|s| (s.ids, s.status))
            .collect();
        assert_eq!(calls, [(2, 400), (1, 200), (1, 400)]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn demote_then_undo_gives_the_moderator_role_back() {
        let fake = fake_with(Options::default()).await;
        let (engine, _dir) = engine(&fake, "channels", "");
        let rows = run(&engine, vec![Request::new(ROOM, ADMINS[0], Action::Demote)]).await;
        assert_eq!(rows[0].status, Status::Demoted);
        let mut back = vec![Request::new(ROOM, ADMINS[0], Action::Readd)];
        engine.fill_readd_roles(&mut back).await.unwrap();
        assert_eq!(back[0].role, Some(Role::Admin));
        let rows = run(&engine, back).await;
        assert_eq!(rows[0].status, Status::Readded, "{rows:?}");
        assert_eq!(rows[0].role, Some(Role::Admin));
        assert_eq!(world_role(&fake, ROOM, ADMINS[0]), Some(Role::Admin));
        let routes = fake.routes_used();
        assert!(routes.contains(&ADD_CHANNEL_USERS) && routes.contains(&ADD_ROLE));
    }

    #[tokio::test]
    async fn display_names_are_joined_from_users() {
        let fake = fake_with(Options::default()).await;
        let p = adapter(&fake, "channels");
        let page = p
            .members(&RoomId::from(ROOM), PageRequest::sized(100))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 24);
        assert_eq!(page.total, Some(24));
        let name = |u: &str| {
            page.items
                .iter()
                .find(|m| m.user.as_str() == u)
                .and_then(|m| m.name.as_deref().map(str::to_string))
        };
        assert_eq!(name(OWNERS[0]).as_deref(), Some("Owner"));
        assert_eq!(name(ADMINS[1]).as_deref(), Some("Admin"));
        assert_eq!(name(&member_id(7)).as_deref(), Some("Member 7"));
        let lobby = p
            .members(&RoomId::from(LOBBY), PageRequest::sized(100))
            .await
            .unwrap();
        let w = world::lock(fake.world());
        let room = w.room(&LOBBY.into()).unwrap();
        for m in &lobby.items {
            assert_eq!(m.name, room.get(&m.user).unwrap().name, "{m:?}");
        }
    }

    #[tokio::test]
    async fn non_members_in_every_answer_shape() {
        // No membership record for a stranger.
        let fake = fake_with(Options {
            non_member: NonMember::Omitted,
            ..Options::default()
        })
        .await;
        let rows = adapter(&fake, "channels")
            .remove(
                &RoomId::from(ROOM),
                &[UserId::from(member_id(0).as_str()), UserId::from(STRANGER)],
            )
            .await
            .unwrap();
        assert_eq!(rows[1].status, Status::AlreadyAbsent);

        // The default, the contract's assumption: a `none` record. Sent
        // alone, it cannot be told from a removal (an open point) ...
        let fake = fake_with(Options::default()).await;
        let rows = adapter(&fake, "channels")
            .remove(&RoomId::from(ROOM), &[UserId::from(STRANGER)])
            .await
            .unwrap();
        assert_eq!(rows[0].status, Status::Removed);
        // ... but the plan reads a small channel's whole list and ends the
        // stranger `already_absent` without sending them.
        let (engine, _dir) = engine(&fake, "channels", "");
        fake.clear_log();
        let rows = run(
            &engine,
            vec![
                Request::new(ROOM, member_id(1), Action::Remove),
                Request::new(ROOM, STRANGER, Action::Remove),
            ],
        )
        .await;
        let st: Vec<Status> = rows.iter().map(|o| o.status).collect();
        assert_eq!(st, [Status::Removed, Status::AlreadyAbsent]);
        let sent: Vec<usize> = fake
            .seen()
            .iter()
            .filter(|s| s.route == REMOVE_CHANNEL_USERS)
            .map(|s| s.ids)
            .collect();
        assert_eq!(sent, [1], "the stranger was not sent");

        // The whole call refused: split until the stranger is alone.
        let fake = fake_with(Options {
            non_member: NonMember::Reject,
            ..Options::default()
        })
        .await;
        let users: Vec<UserId> = (0..5)
            .map(|i| UserId::from(member_id(i).as_str()))
            .chain([UserId::from(STRANGER)])
            .collect();
        let rows = adapter(&fake, "channels")
            .remove(&RoomId::from(ROOM), &users)
            .await
            .unwrap();
        assert_eq!(rows.len(), 6);
        for o in &rows {
            let want = if o.user.as_str() == STRANGER {
                Status::AlreadyAbsent
            } else {
                Status::Removed
            };
            assert_eq!(o.status, want, "{o:?}");
        }
        assert_eq!(world_role(&fake, ROOM, &member_id(4)), None);
    }

    #[tokio::test]
    async fn the_adapter_uses_only_its_own_routes() {
        let fake = fake_with(Options::default()).await;
        let p = adapter(&fake, "channels");
        let room = RoomId::from(ROOM);
        let mut page = PageRequest::sized(3);
        loop {
            let got = p.rooms(page.clone()).await.unwrap();
            match got.next {
                Some(t) => page = page.next(t),
                None => break,
            }
        }
        p.room(&room).await.unwrap();
        p.members(&room, PageRequest::first()).await.unwrap();
        assert_eq!(
            p.member(&room, &UserId::from(ADMINS[0]))
                .await
                .unwrap()
                .map(|m| m.role),
            Some(Role::Admin)
        );
        let staff = p.staff(&room).await.unwrap();
        assert_eq!(staff.len(), 4);
        p.remove(&room, &[UserId::from(member_id(1).as_str())])
            .await
            .unwrap();
        p.demote(
            &room,
            &[Demotion {
                user: UserId::from(ADMINS[1]),
                role: Role::Admin,
            }],
        )
        .await
        .unwrap();
        p.readd(
            &room,
            &[Restore {
                user: UserId::from(member_id(1).as_str()),
                role: Role::Admin,
            }],
        )
        .await
        .unwrap();
        assert_eq!(world_role(&fake, ROOM, &member_id(1)), Some(Role::Admin));
        let allowed = [
            LIST_CHANNELS,
            GET_CHANNEL,
            LIST_CHANNEL_USERS,
            REMOVE_CHANNEL_USERS,
            ADD_CHANNEL_USERS,
            ADD_ROLE,
            REMOVE_ROLE,
        ];
        for s in fake.seen() {
            assert!(allowed.contains(&s.route), "{} {}", s.method, s.path);
            assert!(s.status < 300, "{} {} -> {}", s.method, s.path, s.status);
        }
        assert_eq!(fake.routes_used().len(), allowed.len());
    }
}

mod rooms {
    use super::*;
    use amity_fake::{GET_ROOM, LIST_ROOMS, REMOVE_PARTICIPANT};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_host_is_kept_and_co_hosts_go_one_per_call() {
        let fake = fake_with(Options::default()).await;
        let (engine, _dir) = engine(&fake, "rooms", "");
        fake.clear_log();
        let plan = engine
            .plan(vec![
                Request::new(ROOM, OWNERS[0], Action::Remove),
                Request::new(ROOM, ADMINS[0], Action::Remove),
                Request::new(ROOM, ADMINS[1], Action::Remove),
                Request::new(ROOM, OWNERS[1], Action::Remove),
            ])
            .await
            .unwrap();
        assert!(
            matches!(&plan.rows[0].verdict, Verdict::Skip(w) if w.contains("owners cannot be removed")),
            "{:?}",
            plan.rows[0]
        );
        let report = engine.run(&plan, &fast(), &Cancel::new(), None).await;
        let st: Vec<Status> = report.outcomes.iter().map(|o| o.status).collect();
        assert_eq!(
            st,
            [
                Status::Skipped,
                Status::Removed,
                Status::Removed,
                Status::Skipped
            ]
        );
        assert_eq!(world_role(&fake, ROOM, OWNERS[0]), Some(Role::Owner));
        assert_eq!(world_role(&fake, ROOM, ADMINS[0]), None);
        let deletes: Vec<usize> = fake
            .seen()
            .iter()
            .filter(|s| s.route == REMOVE_PARTICIPANT)
            .map(|s| s.ids)
            .collect();
        assert_eq!(deletes, [1, 1], "one participant per call, never the host");
        for s in fake.seen() {
            assert!(
                [LIST_ROOMS, GET_ROOM, REMOVE_PARTICIPANT].contains(&s.route),
                "{} {}",
                s.method,
                s.path
            );
        }

        // Sent anyway (not through ops), the host's refusal is a skipped row.
        let rows = adapter(&fake, "rooms")
            .remove(&RoomId::from(ROOM), &[UserId::from(OWNERS[0])])
            .await
            .unwrap();
        assert_eq!(rows[0].status, Status::Skipped, "{rows:?}");
        assert!(rows[0].reason.as_deref().unwrap().contains("host"));
        assert_eq!(world_role(&fake, ROOM, OWNERS[0]), Some(Role::Owner));
    }

    /// What the shared suite checks with plain members, on co-hosts (a
    /// live room has no plain members): removals through the engine under
    /// rate limits and a server error, never more than 4 calls in flight.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn co_hosts_are_removed_under_faults_within_the_in_flight_limit() {
        let fake = fake_with(Options {
            retry_after_header: true,
            ..Options::default()
        })
        .await;
        let co_hosts: Vec<UserId> = (0..12)
            .map(|i| UserId::from(member_id(i).as_str()))
            .collect();
        {
            let mut w = world::lock(fake.world());
            let r = w.room_mut(&RoomId::from(ROOM)).unwrap();
            for u in &co_hosts {
                r.set_role(u, Role::Admin);
            }
        }
        let (engine, _dir) = engine(&fake, "rooms", "");
        let p = adapter(&fake, "rooms");
        let m = p.member(&RoomId::from(ROOM), &co_hosts[3]).await.unwrap();
        assert_eq!(m.map(|m| m.role), Some(Role::Admin));
        let plan = engine
            .plan(
                co_hosts
                    .iter()
                    .map(|u| Request::new(ROOM, u.as_str(), Action::Remove))
                    .collect(),
            )
            .await
            .unwrap();
        {
            let mut w = world::lock(fake.world());
            w.max_in_flight_seen = 0;
            w.faults.rate_limit_next = 2;
            w.faults.retry_after = Some(Duration::ZERO);
            w.faults.server_error_next = 1;
        }
        let opts = RunOptions {
            concurrency: 16,
            ..fast()
        };
        let report = engine.run(&plan, &opts, &Cancel::new(), None).await;
        assert!(
            report.outcomes.iter().all(|o| o.status == Status::Removed),
            "{:?}",
            report.outcomes
        );
        assert!(report.progress.retries >= 3, "{}", report.progress.retries);
        assert!(world::lock(fake.world()).max_in_flight_seen <= 4);
        for u in &co_hosts {
            assert_eq!(world_role(&fake, ROOM, u.as_str()), None);
        }
        assert_eq!(world_role(&fake, ROOM, &member_id(12)), Some(Role::Member));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn demote_and_readd_are_explained_not_sent() {
        let fake = fake_with(Options::default()).await;
        let (engine, _dir) = engine(&fake, "rooms", "");
        let caps = engine.capabilities();
        assert!(!caps.can_readd && !caps.demotes());
        fake.clear_log();
        let plan = engine
            .plan(vec![
                Request::new(ROOM, ADMINS[0], Action::Demote),
                Request::new(ROOM, member_id(1), Action::Readd),
            ])
            .await
            .unwrap();
        assert!(
            plan.rows
                .iter()
                .all(|r| matches!(r.verdict, Verdict::Skip(_)))
        );
        let p = adapter(&fake, "rooms");
        let rows = p
            .readd(
                &RoomId::from(ROOM),
                &[Restore {
                    user: UserId::from(ADMINS[0]),
                    role: Role::Admin,
                }],
            )
            .await
            .unwrap();
        assert_eq!(rows[0].status, Status::Skipped);
        assert!(rows[0].reason.as_deref().unwrap().contains("invitation"));
        let rows = p
            .demote(
                &RoomId::from(ROOM),
                &[Demotion {
                    user: UserId::from(ADMINS[0]),
                    role: Role::Admin,
                }],
            )
            .await
            .unwrap();
        assert_eq!(rows[0].status, Status::Skipped);
        assert!(
            fake.seen().iter().all(|s| s.method == "GET"),
            "{:?}",
            fake.requests()
        );
    }

    #[tokio::test]
    async fn people_roles_and_names_come_from_the_room() {
        let fake = fake_with(Options::default()).await;
        let p = adapter(&fake, "rooms");
        let page = p
            .members(&RoomId::from(ROOM), PageRequest::first())
            .await
            .unwrap();
        assert_eq!(page.next, None);
        // The host and co-hosts: a live room has no other participants.
        let got: Vec<(&str, Role)> = page
            .items
            .iter()
            .map(|m| (m.user.as_str(), m.role))
            .collect();
        assert_eq!(
            got,
            [
                (OWNERS[0], Role::Owner),
                (OWNERS[1], Role::Owner),
                (ADMINS[0], Role::Admin),
                (ADMINS[1], Role::Admin)
            ]
        );
        assert_eq!(page.total, Some(4));
        assert_eq!(page.items[2].name.as_deref(), Some("Admin"));
        let routes = fake.routes_used();
        assert_eq!(routes, [GET_ROOM]);
        // A plain member of the world is a viewer at most: not in the room.
        let m = p
            .member(&RoomId::from(ROOM), &UserId::from(member_id(3).as_str()))
            .await
            .unwrap();
        assert_eq!(m, None);
    }

    #[tokio::test]
    async fn a_host_known_only_as_creator_and_co_hosts_spelt_user_read_as_co_hosts() {
        let fake = fake_with(Options {
            host_listed: false,
            cohost_type: CoHostType::User,
            ..Options::default()
        })
        .await;
        let p = adapter(&fake, "rooms");
        let room = RoomId::from(ROOM);
        let role = |m: Option<roomwarden::model::Member>| m.map(|m| m.role);
        assert_eq!(
            role(p.member(&room, &UserId::from(OWNERS[0])).await.unwrap()),
            Some(Role::Owner),
            "createdBy is the host"
        );
        // Under the spec spelling (`user`) co-hosts are still co-hosts:
        // every participant who is not the host is one.
        assert_eq!(
            role(p.member(&room, &UserId::from(ADMINS[0])).await.unwrap()),
            Some(Role::Admin)
        );
        let (detail, staff) = p.room_and_staff(&room).await.unwrap();
        let got: Vec<(&str, Role)> = staff.iter().map(|m| (m.user.as_str(), m.role)).collect();
        assert_eq!(
            got,
            [
                (OWNERS[0], Role::Owner),
                (ADMINS[0], Role::Admin),
                (ADMINS[1], Role::Admin)
            ]
        );
        assert_eq!(detail.member_count, Some(3));
    }
}

mod cli {
    use super::*;

    const TOKEN_ENV: &str = "RW_AMITY_TEST_TOKEN";

    /// Runs the binary off the runtime while the fake keeps serving,
    /// logging everything to stderr (`ROOMWARDEN_LOG=trace`, the HTTP
    /// stack's own traces included).
    async fn roomwarden(args: Vec<String>, token: &str) -> std::process::Output {
        let secret = token.to_string();
        let out = common::run_with_secret(args, TOKEN_ENV, token, Some("trace")).await;
        // Whatever the command and the answer, the token is never shown.
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !String::from_utf8_lossy(text).contains(&secret),
                "the token was printed"
            );
        }
        out
    }

    fn rows(out: &std::process::Output) -> Vec<Value> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn both_surfaces_work_and_a_bad_token_exits_3_unseen() {
        let fake = fake_with(Options::default()).await;
        let cli = common::FakeCli::new(
            format!(
                "default_profile = \"chat\"\n\
                 [profiles.chat]\nprovider = \"amity\"\nbase_url = \"{0}\"\ntoken_env = \"{TOKEN_ENV}\"\n\
                 [profiles.live]\nprovider = \"amity\"\nbase_url = \"{0}\"\ntoken_env = \"{TOKEN_ENV}\"\nsurface = \"rooms\"\n",
                fake.base_url()
            ),
            TOKEN_ENV,
        )
        .traced();
        let base = |rest: &[&str]| cli.args(rest);
        let audit = &cli.audit;

        let secret = "sEcReT-amity-admin-token-5e11";
        cli.refused_unseen(
            &[
                &["-vv", "rooms"],
                &["-vv", "--profile", "live", "rooms"],
                &["-vv", "remove", ROOM, "72000000000000100", "--yes"],
                &[
                    "-vv",
                    "--profile",
                    "live",
                    "remove",
                    ROOM,
                    "72000000000000100",
                    "--yes",
                ],
            ],
            secret,
            secret,
        )
        .await;
        assert_eq!(
            world_role(&fake, ROOM, "72000000000000100"),
            Some(Role::Member)
        );

        // Channels: rooms, members with names and roles, a removal.
        let out = roomwarden(base(&["rooms"]), fake.token()).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed = rows(&out);
        assert_eq!(listed.len(), world::lock(fake.world()).rooms().len());
        assert!(
            listed
                .iter()
                .any(|r| r["room"] == ROOM && r["members"] == 24)
        );
        assert!(
            listed
                .iter()
                .any(|r| r["room"] == world::ARCHIVE_ROOM && r["active"] == false)
        );
        let out = roomwarden(base(&["members", ROOM]), fake.token()).await;
        assert_eq!(out.status.code(), Some(0));
        let members = rows(&out);
        assert_eq!(members.len(), 24);
        assert!(
            members
                .iter()
                .any(|m| m["user"] == ADMINS[0] && m["role"] == "admin" && m["name"] == "Admin")
        );
        let out = roomwarden(
            base(&["remove", ROOM, "72000000000000100", STRANGER, "--yes"]),
            fake.token(),
        )
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let changed = rows(&out);
        assert_eq!(changed[0]["status"], "removed");
        assert_eq!(changed[1]["status"], "already_absent");
        assert_eq!(world_role(&fake, ROOM, "72000000000000100"), None);

        // Live rooms: people, a co-host removed, the host kept, and no
        // demote or re-add offered.
        let out = roomwarden(base(&["--profile", "live", "members", ROOM]), fake.token()).await;
        assert_eq!(out.status.code(), Some(0));
        let people = rows(&out);
        assert!(
            people
                .iter()
                .any(|m| m["user"] == OWNERS[0] && m["role"] == "owner")
        );
        let out = roomwarden(
            base(&[
                "--profile",
                "live",
                "remove",
                ROOM,
                ADMINS[0],
                OWNERS[0],
                "--yes",
            ]),
            fake.token(),
        )
        .await;
        assert_eq!(out.status.code(), Some(1));
        let changed = rows(&out);
        assert_eq!(changed[0]["status"], "removed");
        assert_eq!(changed[1]["status"], "skipped");
        assert_eq!(world_role(&fake, ROOM, OWNERS[0]), Some(Role::Owner));
        for (verb, word) in [("demote", "cannot demote"), ("readd", "cannot re-add")] {
            let out = roomwarden(
                base(&["--profile", "live", verb, ROOM, ADMINS[1], "--yes"]),
                fake.token(),
            )
            .await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{verb}: {stderr}");
            assert!(
                stderr.contains(word) && stderr.contains("nothing was sent"),
                "{stderr}"
            );
        }
        let audit_text = std::fs::read_to_string(audit).unwrap();
        assert!(!audit_text.contains(fake.token()));
    }
}

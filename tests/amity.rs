//! The Amity / social.plus fake server on its own (the wire behaviour the
//! adapter is written against), then the adapter against it.

#[path = "fakes/amity.rs"]
mod amity_fake;
mod conformance;

use amity_fake::{Fake, IdsFrom, NonMember, Options, RateLimitShape};
use roomwarden::model::{Role, RoomId, UserId};
use roomwarden::provider::sandbox::world::{self, SharedWorld, World};
use serde_json::{Value, json};

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

mod fake_server {
    use super::*;
    use conformance::{ADMINS, OWNERS, ROOM, member_id};
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
                Some(json!({"channelId": ROOM, "userIds": [member_id(0), conformance::STRANGER]})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        let cu = v["channelUsers"].as_array().unwrap();
        assert_eq!(cu.len(), 1, "the stranger has no membership record");
        assert_eq!(cu[0]["userId"], member_id(0).as_str());
        assert_eq!(cu[0]["membership"], "none");
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
    async fn non_member_switches() {
        let fake = fake_with(Options {
            non_member: NonMember::NoneRow,
            ..Options::default()
        })
        .await;
        let c = Client::new(&fake);
        let path = format!("/api/v3/channels/{ROOM}/users");
        let (_, v) = c
            .call(
                Method::DELETE,
                &path,
                Some(json!({"userIds": [conformance::STRANGER]})),
            )
            .await;
        assert_eq!(v["channelUsers"][0]["membership"], "none");

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
                Some(json!({"userIds": [member_id(0), conformance::STRANGER]})),
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
                Some(json!({"channelId": ROOM, "userIds": [conformance::STRANGER]})),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(v["channelUsers"][0]["membership"], "member");
        assert_eq!(
            world_role(&fake, ROOM, conformance::STRANGER),
            Some(Role::Member)
        );
        let _ = OWNERS;
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
        assert_eq!(parts.len(), 24);
        assert!(parts[4..].iter().all(|(t, _)| t == "user"));
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
        assert_eq!(v["rooms"][0]["participants"].as_array().unwrap().len(), 23);
        assert_eq!(world_role(&fake, ROOM, ADMINS[0]), None);
        let (status, _) = c
            .call(
                Method::DELETE,
                &participants,
                Some(json!({"participantUserId": OWNERS[0]})),
            )
            .await;
        assert_eq!(status, 400, "the host stays");
        let (status, v) = c
            .call(
                Method::DELETE,
                &participants,
                Some(json!({"participantUserId": conformance::STRANGER})),
            )
            .await;
        assert_eq!((status, v["code"].clone()), (404, json!(400400)));
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

//! The fake nandbox server itself, driven by a raw WebSocket client: the
//! adapter's tests lean on these behaviours, so they are pinned here.

#[path = "fakes/nandbox.rs"]
mod fake;

use futures::{SinkExt, StreamExt};
use roomwarden::model::{RoomId, UserId};
use roomwarden::provider::sandbox::world::{self, SPAM_ROOM, World};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(f: &fake::Fake) -> Client {
    tokio_tungstenite::connect_async(f.url()).await.unwrap().0
}

async fn send(c: &mut Client, v: Value) {
    c.send(Message::text(v.to_string())).await.unwrap();
}

/// The next text frame, or `None` when the socket ended (close or drop).
async fn recv(c: &mut Client) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), c.next())
            .await
            .expect("a frame within 10 s");
        match msg {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

async fn session(f: &fake::Fake) -> Client {
    let mut c = connect(f).await;
    send(
        &mut c,
        json!({"method": "TOKEN_AUTH", "token": f.token(), "rem": true}),
    )
    .await;
    let ok = recv(&mut c).await.unwrap();
    assert_eq!(ok["method"], "TOKEN_AUTH_OK");
    c
}

async fn start(options: fake::Options) -> fake::Fake {
    fake::start(World::generate().shared(), options).await
}

fn first_member(f: &fake::Fake, room: &str, nth: usize) -> String {
    let w = world::lock(f.world());
    let r = w.room(&RoomId::from(room)).unwrap();
    r.members()
        .filter(|m| m.role == roomwarden::model::Role::Member)
        .nth(nth)
        .unwrap()
        .user
        .to_string()
}

#[tokio::test]
async fn auth_ok_echoes_id_and_token_and_refusal_closes() {
    let f = start(fake::Options::default()).await;
    let mut c = connect(&f).await;
    send(
        &mut c,
        json!({"method": "TOKEN_AUTH", "token": fake::TOKEN, "rem": "true"}),
    )
    .await;
    let ok = recv(&mut c).await.unwrap();
    assert_eq!(ok["method"], "TOKEN_AUTH_OK");
    assert_eq!(ok["ID"], fake::BOT_ID);
    assert_eq!(ok["token"], fake::TOKEN);

    let mut bad = connect(&f).await;
    send(
        &mut bad,
        json!({"method": "TOKEN_AUTH", "token": "1:0:wrong", "rem": true}),
    )
    .await;
    assert_eq!(recv(&mut bad).await.unwrap(), json!({"error": 199992}));
    assert_eq!(recv(&mut bad).await, None);
    assert_eq!((f.auths(), f.refusals()), (1, 1));
}

#[tokio::test]
async fn refusal_by_close_only_and_first_frame_must_be_auth() {
    let f = start(fake::Options {
        auth_refusal: fake::AuthRefusal::Close,
        ..fake::Options::default()
    })
    .await;
    let mut c = connect(&f).await;
    send(&mut c, json!({"method": "PING"})).await;
    assert_eq!(recv(&mut c).await, None);
    assert_eq!(f.refusals(), 1);
}

#[tokio::test]
async fn ping_pong_and_replies_by_reference() {
    let f = start(fake::Options::default()).await;
    let mut c = session(&f).await;
    send(&mut c, json!({"method": "PING"})).await;
    assert_eq!(recv(&mut c).await.unwrap(), json!({"method": "PONG"}));

    send(
        &mut c,
        json!({"method": "getChat", "chat_id": SPAM_ROOM, "app_id": "0", "reference": "r1"}),
    )
    .await;
    let d = recv(&mut c).await.unwrap();
    assert_eq!(d["method"], "chatDetails");
    assert_eq!(d["reference"], "r1");
    assert_eq!(d["chat"]["title"], "spam-wave");
    assert_eq!(d["chat"]["member_count"], 300);
    assert!(d["chat"]["owner_id"].is_string());

    send(
        &mut c,
        json!({"method": "getChatAdministrators", "chat_id": SPAM_ROOM, "app_id": "0", "reference": "r2"}),
    )
    .await;
    let a = recv(&mut c).await.unwrap();
    assert_eq!(a["method"], "chatAdministrators");
    assert_eq!(a["reference"], "r2");
    // One owner and one admin in spam-wave; owners listed by default.
    assert_eq!(
        a["chatAdministrators"]["administrators"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let user = first_member(&f, SPAM_ROOM, 0);
    send(
        &mut c,
        json!({"method": "getChatMember", "chat_id": SPAM_ROOM, "user_id": user, "app_id": "0", "reference": "r3"}),
    )
    .await;
    let m = recv(&mut c).await.unwrap();
    assert_eq!(m["method"], "chatMember");
    assert_eq!(m["reference"], "r3");
    assert_eq!(m["chatMember"]["user"]["id"], user.as_str());
    assert_eq!(m["chatMember"]["status"], "Active");
    assert_eq!(m["chatMember"]["type"], "Member");
    assert_eq!(f.pings(), 1);
}

#[tokio::test]
async fn removal_then_error_frame_without_reference_for_a_non_member() {
    let f = start(fake::Options::default()).await;
    let mut c = session(&f).await;
    let user = first_member(&f, SPAM_ROOM, 3);
    let remove = json!({"method": "removeChatMember", "app_id": "0", "chat_id": SPAM_ROOM, "user_id": user, "reference": "x1"});
    send(&mut c, remove.clone()).await;
    let r = recv(&mut c).await.unwrap();
    assert_eq!(r["method"], "chatMember");
    assert_eq!(r["reference"], "x1");
    assert_eq!(r["chatMember"]["status"], "Removed");
    assert!(
        world::lock(f.world())
            .room(&RoomId::from(SPAM_ROOM))
            .unwrap()
            .get(&UserId::from(user.as_str()))
            .is_none()
    );
    send(&mut c, remove).await;
    let e = recv(&mut c).await.unwrap();
    assert_eq!(e, json!({"error": f.options().errors.not_member}));
    // Lookups of a non-member: an error frame by default, a status when asked.
    send(
        &mut c,
        json!({"method": "getChatMember", "app_id": "0", "chat_id": SPAM_ROOM, "user_id": user, "reference": "x2"}),
    )
    .await;
    assert!(recv(&mut c).await.unwrap().get("error").is_some());
    // Re-add with numeric ids, as the Java SDK sends them.
    let numeric: u64 = user.parse().unwrap();
    send(
        &mut c,
        json!({"method": "addChatMember", "app_id": "0", "chat_id": SPAM_ROOM.parse::<u64>().unwrap(), "user_id": numeric, "reference": "x3"}),
    )
    .await;
    let a = recv(&mut c).await.unwrap();
    assert_eq!(a["reference"], "x3");
    assert_eq!(a["chatMember"]["status"], "Active");
    assert!(
        f.frames()
            .iter()
            .any(|fr| fr.contains(&format!("\"user_id\":{user}")))
    );
}

#[tokio::test]
async fn non_member_lookup_can_answer_a_status_and_unknown_chat_errors() {
    let f = start(fake::Options {
        not_member_lookup: fake::NotMemberLookup::Status("Left"),
        ..fake::Options::default()
    })
    .await;
    let mut c = session(&f).await;
    send(
        &mut c,
        json!({"method": "getChatMember", "app_id": "0", "chat_id": SPAM_ROOM, "user_id": "1234", "reference": "l1"}),
    )
    .await;
    let m = recv(&mut c).await.unwrap();
    assert_eq!(m["reference"], "l1");
    assert_eq!(m["chatMember"]["status"], "Left");
    send(
        &mut c,
        json!({"method": "getChat", "app_id": "0", "chat_id": "29999999999999999", "reference": "l2"}),
    )
    .await;
    assert_eq!(
        recv(&mut c).await.unwrap(),
        json!({"error": f.options().errors.no_chat})
    );
    // app_id is required.
    send(
        &mut c,
        json!({"method": "getChat", "chat_id": SPAM_ROOM, "reference": "l3"}),
    )
    .await;
    assert_eq!(
        recv(&mut c).await.unwrap(),
        json!({"error": f.options().errors.bad_request})
    );
}

#[tokio::test]
async fn join_and_leave_events_reach_sessions_without_reference() {
    let f = start(fake::Options::default()).await;
    let mut c = session(&f).await;
    assert_eq!(f.join(SPAM_ROOM, "71999999999999999", Some("Newcomer")), 1);
    let ev = recv(&mut c).await.unwrap();
    assert_eq!(ev["method"], "chatMember");
    assert!(ev.get("reference").is_none());
    assert_eq!(ev["chatMember"]["status"], "Active");
    assert_eq!(ev["chatMember"]["user"]["id"], "71999999999999999");
    f.leave(SPAM_ROOM, "71999999999999999");
    let ev = recv(&mut c).await.unwrap();
    assert_eq!(ev["chatMember"]["status"], "Left");
    assert!(
        world::lock(f.world())
            .room(&RoomId::from(SPAM_ROOM))
            .unwrap()
            .get(&UserId::from("71999999999999999"))
            .is_none()
    );
}

#[tokio::test]
async fn drops_before_and_after_acting() {
    let f = start(fake::Options::default()).await;
    let a = first_member(&f, SPAM_ROOM, 0);
    let b = first_member(&f, SPAM_ROOM, 1);
    let present = |u: &str| {
        world::lock(f.world())
            .room(&RoomId::from(SPAM_ROOM))
            .unwrap()
            .get(&UserId::from(u))
            .is_some()
    };
    f.drop_next("removeChatMember", fake::DropWhen::BeforeActing);
    f.drop_next("removeChatMember", fake::DropWhen::AfterActing);
    let mut c = session(&f).await;
    send(
        &mut c,
        json!({"method": "removeChatMember", "app_id": "0", "chat_id": SPAM_ROOM, "user_id": a, "reference": "d1"}),
    )
    .await;
    assert_eq!(recv(&mut c).await, None);
    assert!(present(&a));
    let mut c = session(&f).await;
    send(
        &mut c,
        json!({"method": "removeChatMember", "app_id": "0", "chat_id": SPAM_ROOM, "user_id": b, "reference": "d2"}),
    )
    .await;
    assert_eq!(recv(&mut c).await, None);
    assert!(!present(&b));
    assert_eq!((f.dropped(), f.auths()), (2, 2));
    // Kicked between calls.
    let mut c = session(&f).await;
    f.kick_all();
    assert_eq!(recv(&mut c).await, None);
}

#[tokio::test]
async fn injected_faults_drop_the_socket_or_answer_error_frames() {
    let f = start(fake::Options::default()).await;
    world::lock(f.world()).faults.server_error_next = 1;
    let mut c = session(&f).await;
    send(
        &mut c,
        json!({"method": "getChat", "app_id": "0", "chat_id": SPAM_ROOM, "reference": "f0"}),
    )
    .await;
    assert_eq!(recv(&mut c).await, None);

    let f = start(fake::Options {
        fault_style: fake::FaultStyle::ErrorFrame,
        ..fake::Options::default()
    })
    .await;
    world::lock(f.world()).faults.rate_limit_next = 1;
    let mut c = session(&f).await;
    send(
        &mut c,
        json!({"method": "getChat", "app_id": "0", "chat_id": SPAM_ROOM, "reference": "f1"}),
    )
    .await;
    assert_eq!(
        recv(&mut c).await.unwrap(),
        json!({"error": f.options().errors.rate_limited})
    );
    send(
        &mut c,
        json!({"method": "getChat", "app_id": "0", "chat_id": SPAM_ROOM, "reference": "f2"}),
    )
    .await;
    assert_eq!(recv(&mut c).await.unwrap()["reference"], "f2");
}

#[tokio::test]
async fn big_ids_are_served_exactly() {
    let mut w = World::generate();
    let (room, users) = fake::add_big_id_room(&mut w);
    let f = fake::start(w.shared(), fake::Options::default()).await;
    let mut c = session(&f).await;
    send(
        &mut c,
        json!({"method": "getChatMember", "app_id": "0", "chat_id": room, "user_id": users[0], "reference": "b1"}),
    )
    .await;
    let m = recv(&mut c).await.unwrap();
    assert_eq!(m["chatMember"]["user"]["id"], users[0].as_str());
}

#[tokio::test]
async fn a_bare_close_during_auth_happens_once_and_is_no_refusal() {
    let f = start(fake::Options::default()).await;
    f.close_next_auth(1001);
    let mut c = connect(&f).await;
    send(
        &mut c,
        json!({"method": "TOKEN_AUTH", "token": f.token(), "rem": true}),
    )
    .await;
    // No error frame: the socket just closes.
    assert_eq!(recv(&mut c).await, None);
    assert_eq!((f.auths(), f.refusals()), (0, 0));
    session(&f).await;
    assert_eq!(f.auths(), 1);
}

#[tokio::test]
async fn references_can_come_back_through_a_double() {
    let f = start(fake::Options {
        reference_as_number: true,
        ..fake::Options::default()
    })
    .await;
    let mut c = session(&f).await;
    for (sent, back) in [
        ("123456789", json!(123_456_789u64)),
        // Above 2^53 the double rounds, as JavaScript's would.
        ("1764496000000000001", json!(1_764_496_000_000_000_000u64)),
    ] {
        send(
            &mut c,
            json!({"method": "getChat", "app_id": "0", "chat_id": SPAM_ROOM, "reference": sent}),
        )
        .await;
        assert_eq!(recv(&mut c).await.unwrap()["reference"], back);
    }
}

#[tokio::test]
async fn add_acks_without_reference_and_removals_acked_or_garbled() {
    let f = start(fake::Options {
        add_reply: fake::AddReply::ChatMemberWithoutReference,
        not_member_removal: fake::NotMemberRemoval::Ack(Some("Left")),
        undecodable_removal_reply: true,
        ..fake::Options::default()
    })
    .await;
    let mut c = session(&f).await;
    let user = first_member(&f, SPAM_ROOM, 0);
    let remove = json!({"method": "removeChatMember", "app_id": "0", "chat_id": SPAM_ROOM, "user_id": user, "reference": "r1"});
    send(&mut c, remove.clone()).await;
    let garbled = recv(&mut c).await.unwrap();
    assert_eq!(garbled["reference"], "r1");
    assert!(garbled["chatMember"].get("user").is_none(), "{garbled}");
    // Removing someone no longer there: a chatMember ack, no error frame.
    send(&mut c, remove).await;
    let left = recv(&mut c).await.unwrap();
    assert_eq!(left["chatMember"]["status"], "Left");
    assert_eq!(left["chatMember"]["user"]["id"], user.as_str());
    send(
        &mut c,
        json!({"method": "addChatMember", "app_id": "0", "chat_id": SPAM_ROOM, "user_id": user, "reference": "a1"}),
    )
    .await;
    let added = recv(&mut c).await.unwrap();
    assert_eq!(added["method"], "chatMember");
    assert!(added.get("reference").is_none(), "{added}");
    assert_eq!(added["chatMember"]["user"]["id"], user.as_str());
    assert_eq!(added["chatMember"]["chat"]["id"], SPAM_ROOM);
    assert_eq!(added["chatMember"]["status"], "Active");
}

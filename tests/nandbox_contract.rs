//! The nandbox adapter against the parts of its contract where a faithful
//! server differs from the fake's defaults (shared/providers/nandbox.md):
//! closes during auth that are no refusal, servers that read `reference`
//! as a number, acks of undocumented shape, unreadable removal replies.

#[path = "fakes/nandbox.rs"]
mod fake;

use roomwarden::config::{Config, Profile};
use roomwarden::model::{Action, Restore, Role, RoomId, Status, UserId};
use roomwarden::ops::plan::Request;
use roomwarden::ops::{Cancel, Engine, RunOptions};
use roomwarden::provider::sandbox::world::{self, SPAM_ROOM, STAFF_ROOM, World};
use roomwarden::provider::{self, ErrorKind, Provider};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

fn profile(url: &str, extra: &str) -> Profile {
    let text = format!(
        "[profiles.n]\nprovider = \"nandbox\"\nbase_url = \"{url}\"\ntoken = \"{}\"\n\
         chats = [\"{SPAM_ROOM}\", \"{STAFF_ROOM}\"]\n{extra}\n",
        fake::TOKEN
    );
    Config::parse(&text, std::path::Path::new("nandbox.toml"), None)
        .unwrap()
        .profile(None)
        .unwrap()
        .clone()
}

fn adapter(f: &fake::Fake, extra: &str) -> Arc<dyn Provider> {
    provider::build(&profile(f.url(), extra)).unwrap()
}

async fn start(options: fake::Options) -> fake::Fake {
    fake::start(World::generate().shared(), options).await
}

/// The `nth` plain member of a world room.
fn member(f: &fake::Fake, room: &str, nth: usize) -> UserId {
    world::lock(f.world())
        .room(&RoomId::from(room))
        .unwrap()
        .members()
        .filter(|m| m.role == Role::Member)
        .nth(nth)
        .unwrap()
        .user
        .clone()
}

fn role_in(f: &fake::Fake, room: &str, user: &UserId) -> Option<Role> {
    world::lock(f.world())
        .room(&RoomId::from(room))
        .unwrap()
        .get(user)
        .map(|m| m.role)
}

fn removals_of(f: &fake::Fake, user: &UserId) -> usize {
    f.requests("removeChatMember")
        .iter()
        .filter(|r| r["user_id"] == user.as_str())
        .count()
}

/// A close without an error frame during `TOKEN_AUTH` (a server going
/// away, 1001) is no refused token: the SDKs reconnect after 1000/1001/
/// 1005/1006 [sdk]; a refusal is `{"error":199992}` then a close [log].
#[tokio::test]
async fn a_close_during_auth_is_a_lost_connection_and_is_retried() {
    let f = start(fake::Options::default()).await;
    let p = adapter(&f, "");
    let room = RoomId::from(SPAM_ROOM);
    // The first session: a retryable connection error, not a refusal.
    f.close_next_auth(1001);
    let err = p.room(&room).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Connection, "{err}");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("1001"), "{err}");
    p.room(&room).await.unwrap();
    // Reopening after a drop: the closed attempt is retried with the
    // usual backoff, and the call goes through.
    f.drop_next("getChat", fake::DropWhen::BeforeActing);
    assert!(p.room(&room).await.is_err());
    f.close_next_auth(1001);
    let again = p.room(&room).await.unwrap();
    assert_eq!(again.name, "spam-wave");
    assert_eq!(f.auths(), 2);
    assert_eq!(f.refusals(), 0);
    assert_eq!(f.methods().iter().filter(|m| *m == "TOKEN_AUTH").count(), 4);
}

/// References are numbers below 2^53, unique, and survive a server that
/// echoes them through a double.
#[tokio::test]
async fn references_stay_below_2_pow_53_and_survive_a_server_reading_numbers() {
    let f = start(fake::Options {
        reference_as_number: true,
        ..fake::Options::default()
    })
    .await;
    let p = adapter(&f, "timeout_secs = 1");
    let room = RoomId::from(SPAM_ROOM);
    p.room(&room).await.unwrap();
    p.staff(&room).await.unwrap();
    let user = member(&f, SPAM_ROOM, 0);
    let rows = p.remove(&room, std::slice::from_ref(&user)).await.unwrap();
    assert_eq!(rows[0].status, Status::Removed, "{rows:?}");
    assert_eq!(f.auths(), 1, "no call timed out");
    let refs: Vec<u64> = f
        .frames()
        .iter()
        .filter_map(|fr| serde_json::from_str::<serde_json::Value>(fr).ok())
        .filter_map(|v| v.get("reference").cloned())
        .map(|r| r.as_str().unwrap().parse::<u64>().unwrap())
        .collect();
    assert!(refs.len() >= 4, "{refs:?}");
    assert!(refs.iter().all(|r| *r < 1 << 53), "{refs:?}");
    assert_eq!(refs.iter().collect::<HashSet<_>>().len(), refs.len());
}

/// A removal acted on but answered unreadably is asked about on the next
/// attempt, like a lost answer: never sent blind a second time.
#[tokio::test]
async fn an_unreadable_removal_reply_is_asked_about_before_sending_again() {
    let f = start(fake::Options {
        undecodable_removal_reply: true,
        ..fake::Options::default()
    })
    .await;
    let p = adapter(&f, "");
    let room = RoomId::from(SPAM_ROOM);
    let user = member(&f, SPAM_ROOM, 0);
    let err = p
        .remove(&room, std::slice::from_ref(&user))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unreadable"), "{err}");
    assert_eq!(role_in(&f, SPAM_ROOM, &user), None, "the server acted");
    let asked_before = f.requests("getChatMember").len();
    let rows = p.remove(&room, std::slice::from_ref(&user)).await.unwrap();
    assert_eq!(rows[0].status, Status::Removed, "{rows:?}");
    assert_eq!(removals_of(&f, &user), 1, "not sent again");
    assert_eq!(f.requests("getChatMember").len(), asked_before + 1);
}

/// Undo of an admin and a member, the add replies being each shape a
/// server may give (the reply is undocumented): every row ends `readded`
/// with its role, on the one session.
#[tokio::test]
async fn undo_ends_readded_on_one_session_whatever_the_add_reply() {
    for (reply, extra) in [
        (fake::AddReply::ChatMemberWithoutReference, ""),
        (fake::AddReply::ChatMember, ""),
        (fake::AddReply::Silent, "timeout_secs = 1"),
    ] {
        let f = start(fake::Options {
            add_reply: reply,
            ..fake::Options::default()
        })
        .await;
        let p = adapter(&f, extra);
        let room = RoomId::from(STAFF_ROOM);
        let admin = p
            .staff(&room)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.role == Role::Admin)
            .unwrap()
            .user;
        let plain = member(&f, STAFF_ROOM, 0);
        let gone = p.remove(&room, std::slice::from_ref(&admin)).await.unwrap();
        assert_eq!(gone[0].status, Status::Removed);
        p.remove(&room, std::slice::from_ref(&plain)).await.unwrap();
        let back = p
            .readd(
                &room,
                &[
                    Restore {
                        user: admin.clone(),
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
        let st: Vec<(Status, Option<Role>)> = back.iter().map(|o| (o.status, o.role)).collect();
        assert_eq!(
            st,
            [
                (Status::Readded, Some(Role::Admin)),
                (Status::Readded, Some(Role::Member))
            ],
            "{reply:?}: {back:?}"
        );
        assert_eq!(role_in(&f, STAFF_ROOM, &admin), Some(Role::Admin));
        assert_eq!(role_in(&f, STAFF_ROOM, &plain), Some(Role::Member));
        assert_eq!(f.auths(), 1, "{reply:?}: the session was kept");
    }
}

fn quick() -> RunOptions {
    RunOptions {
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        ..RunOptions::default()
    }
}

/// A removal of someone not in the chat acked with a `chatMember` (status
/// `Left`, or null) instead of an error frame: the row says the user is
/// absent, and quotes the answer.
#[tokio::test]
async fn a_removal_acked_as_not_a_member_ends_already_absent() {
    for status in [Some("Left"), None] {
        let f = start(fake::Options {
            not_member_removal: fake::NotMemberRemoval::Ack(status),
            not_member_lookup: fake::NotMemberLookup::Status("Left"),
            ..fake::Options::default()
        })
        .await;
        let p = adapter(&f, "");
        let room = RoomId::from(SPAM_ROOM);
        let stranger = UserId::from("71999999999999999");
        let rows = p
            .remove(&room, std::slice::from_ref(&stranger))
            .await
            .unwrap();
        assert_eq!(
            rows[0].status,
            Status::AlreadyAbsent,
            "{status:?}: {rows:?}"
        );
        let said = status.unwrap_or("null");
        assert!(
            rows[0].reason.as_deref().unwrap_or("").contains(said),
            "{rows:?}"
        );

        // Through ops: seen present when planning, gone before the removal.
        let engine = Engine::new(adapter(&f, ""), &profile(f.url(), ""), None);
        let users: Vec<UserId> = (0..2).map(|i| member(&f, SPAM_ROOM, i)).collect();
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
            [Status::Removed, Status::AlreadyAbsent],
            "{:?}",
            report.outcomes
        );
    }
}

//! Shared pieces of the team-mode tests: a world of small rooms served by
//! the Agora fake, profiles and config files pointing at it, and engines
//! writing to a PostgreSQL store.
#![allow(dead_code)]

use crate::agora_fake::{self, Fake, Options};
use roomwarden::config::{Config, Profile};
use roomwarden::model::{Member, Role};
use roomwarden::ops::Engine;
use roomwarden::ops::store::AuditStore;
use roomwarden::ops::store::pg::{Origin, PgSpec, PgStore};
use roomwarden::provider::sandbox::world::{World, WorldRoom};
use std::sync::Arc;

/// Room `i`'s id.
pub fn room_id(i: usize) -> String {
    format!("{}", 40_000_000_000_000_000u64 + i as u64)
}

/// Member `j` of room `i`.
pub fn user_id(i: usize, j: usize) -> String {
    format!("u{i:03}-{j:05}")
}

/// `rooms` rooms of one owner and `members` members each, served by the
/// Agora fake.
pub async fn fake(rooms: usize, members: usize) -> Fake {
    let mut world = World::empty();
    for i in 0..rooms {
        let mut room = WorldRoom::new(room_id(i), &format!("team room {i}"), true);
        room.add(Member::new(
            format!("owner-{i}"),
            Some("Owner"),
            Role::Owner,
        ));
        for j in 0..members {
            room.add(Member::new(user_id(i, j), None, Role::Member));
        }
        world.add_room(room);
    }
    agora_fake::start(world.shared(), Options::default()).await
}

/// The profile keys of an Agora profile on `fake`.
pub fn agora_keys(fake: &Fake, extra: &str) -> String {
    let o = fake.options();
    format!(
        "provider = \"agora\"\nbase_url = \"{}\"\norg = \"{}\"\napp = \"{}\"\ntoken = \"{}\"\n{extra}\n",
        fake.base_url(),
        o.org,
        o.app,
        fake.token()
    )
}

pub fn profile(fake: &Fake, extra: &str) -> Profile {
    let text = format!("[profiles.agora]\n{}", agora_keys(fake, extra));
    Config::parse(&text, std::path::Path::new("team.toml"), None)
        .unwrap()
        .profile(None)
        .unwrap()
        .clone()
}

pub async fn store(url: &str, operator: &str) -> Arc<PgStore> {
    Arc::new(
        PgStore::connect(PgSpec {
            url: url.to_string(),
            password: None,
            origin: Origin {
                operator: operator.into(),
                os_user: "tester".into(),
                host: "test-host".into(),
            },
        })
        .await
        .expect("connect to the test cluster"),
    )
}

/// An engine on `fake` signed by `operator`, auditing to `store`.
pub fn engine(fake: &Fake, store: Arc<PgStore>, operator: &str, extra: &str) -> Engine {
    let p = profile(fake, extra);
    let provider = roomwarden::provider::build(&p).unwrap();
    let mut e = Engine::with_store(provider, &p, Some(store as Arc<dyn AuditStore>));
    e.set_operator(operator);
    e
}

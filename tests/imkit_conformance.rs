//! The conformance suite against the IMKit adapter over its fake server.
//! IMKit has one owner per room, so the world's second owners are admins.
//! `GET /rooms` requires `IM-CLIENT-ID` [V], so the profile names a
//! moderator; this fake lists every room for it with the API key (the id
//! only counts unread), since the suite expects the whole world listed.

mod conformance;
#[path = "fakes/imkit.rs"]
mod fake;

use conformance::Subject;
use roomwarden::config::Config;
use roomwarden::model::RoomId;
use roomwarden::provider::sandbox::world::World;
use roomwarden::provider::{self, Provider};
use std::sync::Arc;

fn adapter(base_url: &str, key: &str) -> Arc<dyn Provider> {
    // A literal key is fine here: the config text never touches a file.
    let text = format!(
        "[profiles.i]\nprovider = \"imkit\"\nbase_url = \"{base_url}\"\napi_key = \"{key}\"\nclient_id = \"mod-console\"\n"
    );
    let config = Config::parse(&text, std::path::Path::new("imkit.toml"), None).unwrap();
    provider::build(config.profile(None).unwrap()).unwrap()
}

async fn start() -> Subject {
    let world = World::generate().shared();
    conformance::seed(&world);
    fake::single_owner(&world);
    let options = fake::Options {
        client_id_scopes_platform_list: false,
        ..fake::Options::default()
    };
    let fake = fake::start(world.clone(), options).await;
    Subject {
        provider: adapter(fake.base_url(), fake::API_KEY),
        bad_auth: adapter(fake.base_url(), "not-the-api-key"),
        world,
        room_id: |r: &RoomId| r.clone(),
        guard: Box::new(fake),
    }
}

conformance_suite!(start);

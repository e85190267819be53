//! The conformance suite against the nandbox adapter over its fake Bot API
//! server. nandbox cannot list chats or members, so the listing checks run
//! in their `Configured` / `Partial` forms (skipped by capability).

mod conformance;
#[path = "fakes/nandbox.rs"]
mod fake;

use conformance::Subject;
use roomwarden::config::Config;
use roomwarden::model::RoomId;
use roomwarden::provider::sandbox::world::World;
use roomwarden::provider::{self, Provider};
use std::sync::Arc;

fn adapter(url: &str, token: &str) -> Arc<dyn Provider> {
    // A literal token is fine here: the config text never touches a file.
    let text = format!(
        "[profiles.n]\nprovider = \"nandbox\"\nbase_url = \"{url}\"\ntoken = \"{token}\"\n\
         chats = [\"{}\", \"10000000000000001\"]\n",
        conformance::ROOM
    );
    let config = Config::parse(&text, std::path::Path::new("nandbox.toml"), None).unwrap();
    provider::build(config.profile(None).unwrap()).unwrap()
}

async fn start() -> Subject {
    let world = World::generate().shared();
    conformance::seed(&world);
    // nandbox names one owner per chat (`owner_id` of getChat) and no
    // `Owner` member type was seen [doc]: the second owner of the suite's
    // room is seeded as an admin, as the suite allows.
    fake::single_owner(&world);
    let fake = fake::start(world.clone(), fake::Options::default()).await;
    Subject {
        provider: adapter(fake.url(), fake::TOKEN),
        bad_auth: adapter(fake.url(), "90091783822039252:0:refused-secret"),
        world,
        room_id: |r: &RoomId| r.clone(),
        guard: Box::new(fake),
    }
}

conformance_suite!(start);

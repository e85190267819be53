//! The conformance suite against the Symphony adapter over its fake pod.

mod conformance;
#[path = "fakes/symphony.rs"]
mod fake;

use conformance::Subject;
use roomwarden::config::Config;
use roomwarden::provider::sandbox::world::World;
use roomwarden::provider::{self, Provider};
use std::sync::Arc;

fn adapter(base_url: &str, token: &str) -> Arc<dyn Provider> {
    // A literal token is fine here: the config text never touches a file.
    let text = format!(
        "[profiles.s]\nprovider = \"symphony\"\nbase_url = \"{base_url}\"\nsession_token = \"{token}\"\n"
    );
    let config = Config::parse(&text, std::path::Path::new("symphony.toml"), None).unwrap();
    provider::build(config.profile(None).unwrap()).unwrap()
}

async fn start() -> Subject {
    let world = World::generate().shared();
    conformance::seed(&world);
    let fake = fake::start(world.clone(), fake::Options::default()).await;
    Subject {
        provider: adapter(&fake.base_url, fake::SESSION_TOKEN),
        bad_auth: adapter(&fake.base_url, "not-a-valid-session"),
        world,
        room_id: fake::stream_id,
        guard: Box::new(fake),
    }
}

conformance_suite!(start);

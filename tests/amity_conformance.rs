//! The conformance suite against the Amity adapter over its fake server,
//! once per surface: chat channels and live-stream rooms. Checks a surface
//! cannot do are skipped by its capabilities.

mod conformance;
#[path = "fakes/amity.rs"]
mod fake;

use conformance::Subject;
use roomwarden::config::Config;
use roomwarden::model::RoomId;
use roomwarden::provider::sandbox::world::{self, World};
use roomwarden::provider::{self, Provider};
use std::sync::Arc;

fn adapter(base_url: &str, token: &str, surface: &str) -> Arc<dyn Provider> {
    // A literal token is fine here: the config text never touches a file.
    let text = format!(
        "[profiles.a]\nprovider = \"amity\"\nbase_url = \"{base_url}\"\ntoken = \"{token}\"\nsurface = \"{surface}\"\n"
    );
    let config = Config::parse(&text, std::path::Path::new("amity.toml"), None).unwrap();
    provider::build(config.profile(None).unwrap()).unwrap()
}

async fn start_on(surface: &str) -> Subject {
    let world = World::generate().shared();
    conformance::seed(&world);
    // Injected rate limits say `Retry-After: 0`: without it each would
    // wait the adapter's 5 s floor (tests/amity.rs checks that one).
    world::lock(&world).faults.retry_after = Some(std::time::Duration::ZERO);
    let options = fake::Options {
        retry_after_header: true,
        ..fake::Options::default()
    };
    let fake = fake::start(world.clone(), options).await;
    Subject {
        provider: adapter(fake.base_url(), fake.token(), surface),
        bad_auth: adapter(fake.base_url(), "not-the-admin-token", surface),
        world,
        room_id: |r: &RoomId| r.clone(),
        guard: Box::new(fake),
    }
}

mod channels {
    use super::*;

    async fn start() -> Subject {
        start_on("channels").await
    }

    conformance_suite!(start);
}

mod rooms {
    use super::*;

    async fn start() -> Subject {
        start_on("rooms").await
    }

    conformance_suite!(start);
}

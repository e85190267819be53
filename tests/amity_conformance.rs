//! The conformance suite against the Amity adapter over its fake server,
//! once per surface: chat channels and live-stream rooms. Checks a surface
//! cannot do are skipped by its capabilities.
//!
//! A live room's participants are only its host and co-hosts [V]: it has no
//! plain members, so the checks built on removing and looking up plain
//! members (`member_id(..)`) do not apply to that surface, and its world
//! holds only owners and admins. `tests/amity.rs` covers removing
//! co-hosts, one per call, under rate limits and server errors.

mod conformance;
#[path = "fakes/amity.rs"]
mod fake;

use conformance::Subject;
use roomwarden::config::Config;
use roomwarden::model::{Role, RoomId, UserId};
use roomwarden::provider::sandbox::world::{self, SharedWorld, World};
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

/// Drops every plain member: the world as a live-room server holds it.
fn live_rooms_only(world: &SharedWorld) {
    let mut w = world::lock(world);
    let ids: Vec<RoomId> = w.rooms().iter().map(|r| r.id.clone()).collect();
    for id in ids {
        let Some(r) = w.room_mut(&id) else { continue };
        let plain: Vec<UserId> = r
            .members()
            .filter(|m| m.role == Role::Member)
            .map(|m| m.user.clone())
            .collect();
        for u in &plain {
            r.remove(u);
        }
    }
}

async fn start_on(surface: &str) -> Subject {
    let world = World::generate().shared();
    conformance::seed(&world);
    if surface == "rooms" {
        live_rooms_only(&world);
    }
    // Injected rate limits say `Retry-After: 0`: without it each would
    // wait the adapter's 5 s floor (tests/amity.rs checks that one).
    world::lock(&world).faults.retry_after = Some(std::time::Duration::ZERO);
    // The suite removes a stranger straight through the adapter and wants
    // the row to say so; under the fake's default (the contract's
    // assumption, a `membership: none` entry) nothing in the answer tells
    // them from a removed member (tests/amity.rs shows how the plan does),
    // so here the server leaves them out of the answer.
    let options = fake::Options {
        retry_after_header: true,
        non_member: fake::NonMember::Omitted,
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

    // The checks that do not presuppose plain members.
    conformance_suite!(@each start,
        rooms_across_pages, demote, readd_restores_role, undo_restores_a_demoted_role,
        errors_map_to_kinds, check_proves_the_credentials);
}

//! The conformance suite against a provider that cannot list: the sandbox
//! in limited mode (configured rooms, partial members, one call in flight),
//! a test double for nandbox-like providers.

mod conformance;

use conformance::Subject;
use roomwarden::model::RoomId;
use roomwarden::provider::sandbox::Sandbox;
use roomwarden::provider::sandbox::world::World;
use std::sync::Arc;

async fn start() -> Subject {
    let world = World::generate().shared();
    conformance::seed(&world);
    let rooms = vec![
        RoomId::from(conformance::ROOM),
        RoomId::from("10000000000000001"),
    ];
    let refused = {
        let mut w = World::generate();
        w.faults.unauthorized = true;
        w.shared()
    };
    Subject {
        provider: Arc::new(Sandbox::limited(world.clone(), rooms.clone())),
        world,
        bad_auth: Arc::new(Sandbox::limited(refused, rooms)),
        room_id: |r: &RoomId| r.clone(),
        guard: Box::new(()),
    }
}

conformance_suite!(start);

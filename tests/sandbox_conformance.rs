//! The conformance suite against the embedded sandbox provider.

mod conformance;

use conformance::Subject;
use roomwarden::model::RoomId;
use roomwarden::provider::sandbox::Sandbox;
use roomwarden::provider::sandbox::world::World;
use std::sync::Arc;

async fn start() -> Subject {
    let world = World::generate().shared();
    conformance::seed(&world);
    let refused = World::generate();
    let refused = {
        let mut w = refused;
        w.faults.unauthorized = true;
        w.shared()
    };
    Subject {
        provider: Arc::new(Sandbox::new(world.clone())),
        world,
        bad_auth: Arc::new(Sandbox::new(refused)),
        room_id: |r: &RoomId| r.clone(),
        guard: Box::new(()),
    }
}

conformance_suite!(start);

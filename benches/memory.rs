//! Benchmark 5: resident memory per member with the 1,000,000-member
//! sandbox room loaded into the members screen state.
//!
//! Resident set (from `/proc/self/statm`) is read before the world is
//! generated and again once every page of the megaroom is in the members
//! screen state and the sandbox world has been dropped, so the state alone
//! owns the members' strings. The difference over 1,000,000 is the figure;
//! it is conservative: heap the generator freed but the allocator keeps
//! counts against the console. Prints its figure; run with
//! `cargo bench --bench memory` (a fresh process, nothing else loaded).

use roomwarden::model::{PageRequest, RoomId};
use roomwarden::provider::Provider;
use roomwarden::provider::sandbox::Sandbox;
use roomwarden::provider::sandbox::world::World;
use roomwarden::tui::bench::BenchState;

const MEMBERS: usize = 1_000_000;
const MEGAROOM: &str = "10000000000000099";

/// Resident bytes of this process.
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    // The page size; 4 KiB on every Linux this runs on.
    pages * page_size()
}

fn page_size() -> u64 {
    // AT_PAGESZ from the auxiliary vector, without libc.
    let aux = std::fs::read("/proc/self/auxv").unwrap_or_default();
    aux.chunks_exact(16)
        .map(|c| {
            (
                u64::from_ne_bytes(c[..8].try_into().unwrap()),
                u64::from_ne_bytes(c[8..].try_into().unwrap()),
            )
        })
        .find(|(k, _)| *k == 6)
        .map_or(4096, |(_, v)| v)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("memory: a benchmark; run it with `cargo bench --bench memory`");
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let before = resident();
    let world = World::generate_with_megaroom(MEMBERS).shared();
    let with_world = resident();
    let sandbox = Sandbox::new(world);
    let id = RoomId::from(MEGAROOM);
    let (room, pages) = rt.block_on(async {
        let room = sandbox.room(&id).await.expect("the megaroom");
        let mut pages = Vec::new();
        let mut req = PageRequest::sized(1_000);
        loop {
            let page = sandbox.members(&id, req.clone()).await.expect("a page");
            pages.push(page.items);
            match page.next {
                Some(t) => req = req.next(t),
                None => break (room, pages),
            }
        }
    });
    let state = BenchState::from_pages(room, pages, "", 200, 50);
    assert_eq!(state.loaded(), MEMBERS);
    drop(sandbox);
    let after = resident();
    let per_member = (after.saturating_sub(before)) as f64 / MEMBERS as f64;
    println!("memory, {MEMBERS} members in the members screen state");
    println!(
        "  resident before {:.1} MiB, with the world {:.1} MiB, state only (world dropped) {:.1} MiB",
        before as f64 / 1048576.0,
        with_world as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    println!("  {per_member:.1} bytes per member (target <= 200)");
    std::hint::black_box(&state);
}

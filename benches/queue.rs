//! Benchmark 7: rows per second through the shared queue (team mode) with
//! 1 and 3 workers of one Agora profile limited to 100 calls/s, against
//! the Agora fake with 20 ms latency per request, on a throwaway
//! PostgreSQL cluster (as the tests start one). Each round pushes 12,000
//! removals (20 rooms of 600) and times `queue::work` until the queue is
//! empty; the workers of a round run in this process, each with its own
//! engine, sharing the limit through their heartbeats.
//!
//! The floor is 200 removal calls at 100 calls/s = 2 s, plus one plan read
//! per chunk. Prints its figures; `cargo bench --features bench --bench queue`.

#[path = "../tests/fakes/agora.rs"]
mod agora_fake;
#[path = "../tests/pg/mod.rs"]
mod pg;

use roomwarden::config::Config;
use roomwarden::model::{Action, Member, Role, Status};
use roomwarden::ops::plan::Request;
use roomwarden::ops::queue::{self, WorkOptions};
use roomwarden::ops::store::AuditStore;
use roomwarden::ops::store::pg::{Origin, PgSpec, PgStore};
use roomwarden::ops::{Cancel, Engine};
use roomwarden::provider::sandbox::world::{World, WorldRoom};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROOMS: usize = 20;
const MEMBERS: usize = 600;
const RATE: f64 = 100.0;
const LATENCY: Duration = Duration::from_millis(20);

fn room(round: usize, i: usize) -> String {
    format!("{}", 50_000_000_000_000_000u64 + (round * 1_000 + i) as u64)
}

async fn round(url: &str, round_no: usize, workers: usize) {
    let mut world = World::empty();
    world.faults.latency = LATENCY;
    let mut requests = Vec::new();
    for i in 0..ROOMS {
        let id = room(round_no, i);
        let mut r = WorldRoom::new(id.as_str(), "bench", true);
        r.add(Member::new("owner", None, Role::Owner));
        for j in 0..MEMBERS {
            let user = format!("b{i}-{j}");
            r.add(Member::new(user.as_str(), None, Role::Member));
            requests.push(Request::new(id.as_str(), user, Action::Remove));
        }
        world.add_room(r);
    }
    let fake = agora_fake::start(world.shared(), agora_fake::Options::default()).await;
    let o = fake.options();
    let text = format!(
        "[profiles.bench{round_no}]\nprovider = \"agora\"\nbase_url = \"{}\"\norg = \"{}\"\napp = \"{}\"\ntoken = \"{}\"\nrate_limit_per_sec = {RATE}\n",
        fake.base_url(),
        o.org,
        o.app,
        fake.token()
    );
    let profile = Config::parse(&text, std::path::Path::new("bench.toml"), None)
        .expect("profile")
        .profile(None)
        .expect("one profile")
        .clone();
    let store = |name: String| async move {
        Arc::new(
            PgStore::connect(PgSpec {
                url: url.to_string(),
                password: None,
                origin: Origin {
                    operator: name,
                    os_user: "bench".into(),
                    host: "bench".into(),
                },
            })
            .await
            .expect("the cluster answers"),
        )
    };
    let pusher = store("pusher".into()).await;
    queue::push(&pusher, &profile.name, "bench.csv", &requests)
        .await
        .expect("push");
    let opts = WorkOptions {
        lease: Duration::from_secs(10),
        ..WorkOptions::default()
    };
    let mut engines = Vec::new();
    for w in 0..workers {
        let pg = store(format!("worker{w}")).await;
        let provider = roomwarden::provider::build(&profile).expect("adapter");
        let engine =
            Engine::with_store(provider, &profile, Some(pg.clone() as Arc<dyn AuditStore>));
        engines.push((engine, pg));
    }
    let cancel = Cancel::new();
    let start = Instant::now();
    let reports = futures::future::join_all(engines.iter().enumerate().map(|(w, (engine, pg))| {
        let opts = WorkOptions {
            worker: Some(format!("bench{round_no}-{w}")),
            ..opts.clone()
        };
        let cancel = cancel.clone();
        async move {
            queue::work(engine, pg, &opts, &cancel, &mut |_| {})
                .await
                .expect("worker")
        }
    }))
    .await;
    let took = start.elapsed().as_secs_f64();
    let rows: usize = reports.iter().map(|r| r.outcomes.len()).sum();
    let bad = reports
        .iter()
        .flat_map(|r| &r.outcomes)
        .filter(|o| o.status != Status::Removed)
        .count();
    let deletes = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("DELETE"))
        .count();
    let calls = fake.requests().len();
    // From the first request to the last: without a joining worker's wait.
    let arrivals = fake.arrivals();
    let active = match (arrivals.first(), arrivals.last()) {
        (Some(a), Some(b)) => b.duration_since(*a).as_secs_f64().max(0.001),
        _ => took,
    };
    println!(
        "{workers} worker(s): {rows} rows in {took:.2} s = {:.0} rows/s ({:.0} rows/s from the first request to the last, {active:.2} s); {deletes} removal calls, {calls} requests in all, {:.1} requests/s while active (limit {RATE}/s); {bad} not removed",
        rows as f64 / took,
        rows as f64 / active,
        calls as f64 / active
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    let url = cluster.url();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        round(&url, 1, 1).await;
        round(&url, 2, 3).await;
    });
}

//! Benchmark 9: every remote provider at its ceiling, against its fake
//! with 20 ms latency per request and the engine at the provider's
//! documented limit (the adapter's own quota), with the audit log on.
//! Each is compared with its floor (the time the documented limit alone
//! sets) and with a naive loop: one user per call, one call at a time,
//! through the adapter, as a shell loop would.
//!
//! - IMKit: 1,000 calls per minute, 50 users a call: 833 users/s.
//! - Amity chat channels: 100 calls per 5 s, 100 users a call: 2,000 users/s.
//! - nandbox: one call in flight, one user a call: 1 / round trip.
//! - Symphony rooms over 500 members: 3 s from one change's answer to the
//!   next change; a handful of changes against 3 s per change.
//!
//! The server's own count of requests is sampled every 2 ms, so the bench
//! also prints the most requests the fake saw in any window of the quota's
//! period. Prints its figures; run with
//! `cargo bench --features bench --bench ceilings [imkit|amity|nandbox|symphony]`.

#[path = "../tests/fakes/amity.rs"]
mod amity_fake;
#[path = "../tests/fakes/imkit.rs"]
mod imkit_fake;
#[path = "../tests/fakes/nandbox.rs"]
mod nandbox_fake;
#[path = "../tests/fakes/symphony.rs"]
mod symphony_fake;

use roomwarden::config::{Config, Profile};
use roomwarden::model::{Action, Member, Role, RoomId, Status, UserId};
use roomwarden::ops::audit::AuditLog;
use roomwarden::ops::plan::Request;
use roomwarden::ops::{Cancel, Engine, RunOptions};
use roomwarden::provider::Provider;
use roomwarden::provider::sandbox::world::{self, JUMBO_ROOM, SharedWorld, World, WorldRoom};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(20);
const NAIVE_USERS: usize = 40;

fn profile(text: &str) -> Profile {
    Config::parse(text, std::path::Path::new("bench.toml"), None)
        .expect("the profile parses")
        .profile(None)
        .expect("one profile")
        .clone()
}

/// The requests the fake has answered, sampled every 2 ms.
struct ServerCount {
    samples: Arc<Mutex<Vec<(Instant, u64)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ServerCount {
    fn start(world: &SharedWorld) -> Self {
        let samples: Arc<Mutex<Vec<(Instant, u64)>>> = Arc::default();
        let (w, s) = (world.clone(), samples.clone());
        let task = tokio::spawn(async move {
            loop {
                let n = world::lock(&w).calls;
                s.lock().unwrap().push((Instant::now(), n));
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        Self { samples, task }
    }

    /// Requests in the run, and the most in any window of `period` as
    /// far as 2 ms samples tell: at least the first figure (requests
    /// between two samples less than `period` apart), at most the second
    /// (the same span widened by a sample on each side).
    fn stop(self, period: Duration) -> (u64, (u64, u64)) {
        self.task.abort();
        let s = self.samples.lock().unwrap().clone();
        let total = s.last().map_or(0, |l| l.1) - s.first().map_or(0, |f| f.1);
        let (mut low, mut high) = (0, 0);
        let mut j = 0;
        for i in 0..s.len() {
            j = j.max(i);
            while j + 1 < s.len() && s[j + 1].0 < s[i].0 + period {
                j += 1;
            }
            low = low.max(s[j].1 - s[i].1);
            let before = if i == 0 { s[0].1 } else { s[i - 1].1 };
            let after = s.get(j + 1).map_or(s[j].1, |a| a.1);
            high = high.max(after - before);
        }
        (total, (low, high))
    }
}

/// What one provider's run measured.
struct Ceiling {
    name: &'static str,
    users: usize,
    calls: usize,
    plan: Duration,
    run: Duration,
    floor: Duration,
    not_ok: usize,
    requests: u64,
    most_in_window: (u64, u64),
    window: &'static str,
    naive: Option<f64>,
}

impl Ceiling {
    fn print(&self) {
        let rate = self.users as f64 / self.run.as_secs_f64();
        let floor_rate = self.users as f64 / self.floor.as_secs_f64();
        println!("{}", self.name);
        println!(
            "  run: {} users in {} calls, {:.2} s ({:.1} users/s), {} not ok; plan before it {:.2} s",
            self.users,
            self.calls,
            self.run.as_secs_f64(),
            rate,
            self.not_ok,
            self.plan.as_secs_f64()
        );
        println!(
            "  floor: {:.2} s ({:.1} users/s); run / floor = {:.2}x; plan + run / floor = {:.2}x (target <= 1.2x)",
            self.floor.as_secs_f64(),
            floor_rate,
            self.run.as_secs_f64() / self.floor.as_secs_f64(),
            (self.plan + self.run).as_secs_f64() / self.floor.as_secs_f64()
        );
        println!(
            "  server: {} requests in the run; the most in one {}: {} to {} (2 ms samples)",
            self.requests, self.window, self.most_in_window.0, self.most_in_window.1
        );
        if let Some(naive) = self.naive {
            println!(
                "  naive loop (1 user a call, 1 call at a time): {naive:.1} users/s; the engine is {:.1}x faster",
                rate / naive
            );
        }
    }
}

/// Plans and runs `users` removals in `room`, counting the server's requests.
async fn engine_run(
    engine: &Engine,
    world: &SharedWorld,
    room: &RoomId,
    users: &[UserId],
    period: Duration,
) -> (Duration, Duration, usize, u64, (u64, u64)) {
    let requests: Vec<Request> = users
        .iter()
        .map(|u| Request::new(room.clone(), u.clone(), Action::Remove))
        .collect();
    let t = Instant::now();
    let plan = engine.plan(requests).await.expect("the plan");
    let plan_took = t.elapsed();
    let count = ServerCount::start(world);
    let t = Instant::now();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    let run_took = t.elapsed();
    let (requests, most) = count.stop(period);
    let not_ok = report
        .outcomes
        .iter()
        .filter(|o| o.status != Status::Removed)
        .count();
    (plan_took, run_took, not_ok, requests, most)
}

/// One user per call, one call at a time, through the adapter.
async fn naive(provider: &dyn Provider, room: &RoomId, users: &[UserId]) -> f64 {
    let t = Instant::now();
    for u in users {
        let out = provider
            .remove(room, std::slice::from_ref(u))
            .await
            .expect("the call answers");
        assert!(out.iter().all(|o| o.status == Status::Removed), "{out:?}");
    }
    users.len() as f64 / t.elapsed().as_secs_f64()
}

fn plain_members(world: &SharedWorld, room: &RoomId, n: usize) -> Vec<UserId> {
    world::lock(world)
        .room(room)
        .expect("the room")
        .members()
        .filter(|m| m.role == Role::Member)
        .take(n)
        .map(|m| m.user.clone())
        .collect()
}

fn audit() -> (Arc<AuditLog>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let log = AuditLog::open(&dir.path().join("audit.jsonl")).expect("audit log");
    (Arc::new(log), dir)
}

/// IMKit answers every read and every removal with the whole room, so the
/// room is 12,000 members (the 120,000-member one would measure JSON).
async fn imkit() -> Ceiling {
    const USERS: usize = 10_000;
    let world = World::generate().shared();
    let room = RoomId::from("40000000000000001");
    {
        let mut w = world::lock(&world);
        let mut r = WorldRoom::new(room.clone(), "imkit-12k", true);
        r.add(Member::new("74000000000000000", Some("Owner"), Role::Owner));
        for i in 1..12_000u64 {
            r.add(Member::new(
                (74_000_000_000_000_000u64 + i).to_string(),
                Some(&format!("Member {i}")),
                Role::Member,
            ));
        }
        w.add_room(r);
        w.faults.latency = LATENCY;
    }
    let fake = imkit_fake::start(world.clone(), imkit_fake::Options::default()).await;
    let p = profile(&format!(
        "[profiles.b]\nprovider = \"imkit\"\nbase_url = \"{}\"\napi_key = \"{}\"\n",
        fake.base_url(),
        fake.options().api_key
    ));
    let provider = roomwarden::provider::build(&p).expect("the adapter");
    let (log, _dir) = audit();
    let engine = Engine::new(provider.clone(), &p, Some(log));
    let all = plain_members(&world, &room, USERS + NAIVE_USERS);
    let (users, others) = all.split_at(USERS);
    let batch = engine.capabilities().max_batch;
    let calls = USERS.div_ceil(batch);
    // Each removal is a read of the room and the call: the quota counts both.
    let per_call = engine.capabilities().call_cost.remove.of(0) as usize;
    let period = Duration::from_secs(60);
    let (plan, run, not_ok, requests, most) =
        engine_run(&engine, &world, &room, users, period).await;
    let naive = naive(provider.as_ref(), &room, others).await;
    Ceiling {
        name: "IMKit: 1,000 requests/min, 50 users a call of 2 requests, room of 12,000",
        users: USERS,
        calls,
        plan,
        run,
        floor: Duration::from_secs_f64((calls * per_call) as f64 * 60.0 / 1_000.0),
        not_ok,
        requests,
        most_in_window: most,
        window: "60 s window (quota 1,000)",
        naive: Some(naive),
    }
}

async fn amity() -> Ceiling {
    const USERS: usize = 30_000;
    let world = World::generate().shared();
    world::lock(&world).faults.latency = LATENCY;
    let room = RoomId::from(JUMBO_ROOM);
    let fake = amity_fake::start(world.clone(), amity_fake::Options::default()).await;
    let p = profile(&format!(
        "[profiles.b]\nprovider = \"amity\"\nbase_url = \"{}\"\ntoken = \"{}\"\n",
        fake.base_url(),
        fake.token()
    ));
    let provider = roomwarden::provider::build(&p).expect("the adapter");
    let (log, _dir) = audit();
    let engine = Engine::new(provider.clone(), &p, Some(log));
    let all = plain_members(&world, &room, USERS + NAIVE_USERS);
    let (users, others) = all.split_at(USERS);
    let calls = USERS.div_ceil(engine.capabilities().max_batch);
    let period = Duration::from_secs(5);
    let (plan, run, not_ok, requests, most) =
        engine_run(&engine, &world, &room, users, period).await;
    let naive = naive(provider.as_ref(), &room, others).await;
    Ceiling {
        name: "Amity chat channels: 100 calls per 5 s, 100 users a call",
        users: USERS,
        calls,
        plan,
        run,
        floor: Duration::from_secs_f64(calls as f64 * 5.0 / 100.0),
        not_ok,
        requests,
        most_in_window: most,
        window: "5 s window (quota 100)",
        naive: Some(naive),
    }
}

/// nandbox documents no rate limit: one call in flight bounds the run.
async fn nandbox() -> Ceiling {
    const USERS: usize = 100;
    let world = World::generate().shared();
    world::lock(&world).faults.latency = LATENCY;
    let room = RoomId::from(JUMBO_ROOM);
    let fake = nandbox_fake::start(world.clone(), nandbox_fake::Options::default()).await;
    let p = profile(&format!(
        "[profiles.b]\nprovider = \"nandbox\"\nbase_url = \"{}\"\ntoken = \"{}\"\nchats = [\"{JUMBO_ROOM}\"]\n",
        fake.url(),
        fake.token(),
    ));
    let provider = roomwarden::provider::build(&p).expect("the adapter");
    let (log, _dir) = audit();
    let engine = Engine::new(provider.clone(), &p, Some(log));
    let all = plain_members(&world, &room, USERS + NAIVE_USERS);
    let (users, others) = all.split_at(USERS);
    // One round trip, measured: a lookup of a member, one at a time.
    let t = Instant::now();
    for u in &others[..10] {
        provider.member(&room, u).await.expect("a lookup");
    }
    let rtt = t.elapsed() / 10;
    let (plan, run, not_ok, requests, most) =
        engine_run(&engine, &world, &room, users, Duration::from_secs(1)).await;
    let naive = naive(provider.as_ref(), &room, others).await;
    let name = "nandbox: one call in flight, 1 user a call (no rate limit)";
    println!(
        "  (nandbox round trip measured: {:.1} ms)",
        rtt.as_secs_f64() * 1e3
    );
    Ceiling {
        name,
        users: USERS,
        calls: USERS,
        plan,
        run,
        floor: rtt * USERS as u32,
        not_ok,
        requests,
        most_in_window: most,
        window: "1 s window",
        naive: Some(naive),
    }
}

/// A handful of changes in the 120,000-member room: paced at 3 s from one
/// change's answer to the next change.
async fn symphony() -> Ceiling {
    const USERS: usize = 4;
    let world = World::generate().shared();
    world::lock(&world).faults.latency = LATENCY;
    let fake = symphony_fake::start(world.clone(), symphony_fake::Options::default()).await;
    let p = profile(&format!(
        "[profiles.b]\nprovider = \"symphony\"\nbase_url = \"{}\"\nsession_token = \"{}\"\n",
        fake.base_url,
        symphony_fake::SESSION_TOKEN
    ));
    let provider = roomwarden::provider::build(&p).expect("the adapter");
    let (log, _dir) = audit();
    let engine = Engine::new(provider, &p, Some(log));
    let room = symphony_fake::stream_id(&RoomId::from(JUMBO_ROOM));
    let users = plain_members(&world, &RoomId::from(JUMBO_ROOM), USERS);
    let (plan, run, not_ok, requests, most) =
        engine_run(&engine, &world, &room, &users, Duration::from_secs(3)).await;
    let changes = fake.membership_calls();
    let gaps: Vec<String> = changes
        .windows(2)
        .map(|w| {
            let answered = w[0].answered.unwrap_or(w[0].arrived);
            format!(
                "{:.3} s",
                w[1].arrived.duration_since(answered).as_secs_f64()
            )
        })
        .collect();
    let per_change = match (changes.first(), changes.last()) {
        (Some(a), Some(b)) if changes.len() > 1 => {
            b.arrived.duration_since(a.arrived).as_secs_f64() / (changes.len() - 1) as f64
        }
        _ => 0.0,
    };
    println!(
        "  (symphony: {} changes; answer-to-next-change gaps at the pod: {}; {:.3} s per change from arrival to arrival)",
        changes.len(),
        gaps.join(", "),
        per_change
    );
    Ceiling {
        name: "Symphony: a room over 500 members, 3 s per change",
        users: USERS,
        calls: USERS,
        plan,
        run,
        // The first change goes at once; each later one waits 3 s.
        floor: Duration::from_secs(3) * (USERS as u32 - 1),
        not_ok,
        requests,
        most_in_window: most,
        window: "3 s window",
        naive: None,
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "ceilings: a benchmark; run it with `cargo bench --features bench --bench ceilings`"
        );
        return;
    }
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "ceilings: every provider against its fake, {} ms per request, the engine at the documented limit",
        LATENCY.as_millis()
    );
    rt.block_on(async {
        if wants("amity") {
            amity().await.print();
        }
        if wants("imkit") {
            imkit().await.print();
        }
        if wants("nandbox") {
            nandbox().await.print();
        }
        if wants("symphony") {
            symphony().await.print();
        }
    });
}

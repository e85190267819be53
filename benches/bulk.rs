//! Benchmark 4: bulk removal throughput against the Agora fake with 20 ms
//! injected latency per request and a 100 calls/s limit: 10,000 users of
//! the jumbo room removed through the engine (plan, then run, with the
//! write-ahead audit log on), and a naive baseline removing 300 other
//! users one DELETE at a time in sequence, as a shell loop would.
//!
//! The floor is ceil(10,000 / 60) = 167 calls at 100 calls/s = 1.67 s.
//! Prints its figures; run with `cargo bench --bench bulk`.

#[path = "../tests/fakes/agora.rs"]
mod agora_fake;

use roomwarden::config::{Config, Profile};
use roomwarden::model::{Action, Role, RoomId, Status, UserId};
use roomwarden::ops::audit::AuditLog;
use roomwarden::ops::plan::Request;
use roomwarden::ops::{Cancel, Engine, RunOptions};
use roomwarden::provider::agora::MAX_BATCH;
use roomwarden::provider::sandbox::world::{self, JUMBO_ROOM, World};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USERS: usize = 10_000;
const BASELINE_USERS: usize = 300;
const RATE: f64 = 100.0;
const LATENCY: Duration = Duration::from_millis(20);

fn profile(fake: &agora_fake::Fake) -> Profile {
    let o = fake.options();
    let text = format!(
        "[profiles.bench]\nprovider = \"agora\"\nbase_url = \"{}\"\norg = \"{}\"\napp = \"{}\"\ntoken = \"{}\"\nrate_limit_per_sec = {RATE}\n",
        fake.base_url(),
        o.org,
        o.app,
        fake.token()
    );
    Config::parse(&text, std::path::Path::new("bench.toml"), None)
        .expect("the profile parses")
        .profile(None)
        .expect("one profile")
        .clone()
}

async fn run() {
    let world = World::generate().shared();
    let room = RoomId::from(JUMBO_ROOM);
    let plain: Vec<UserId> = {
        let mut w = world::lock(&world);
        w.faults.latency = LATENCY;
        w.room(&room)
            .expect("the jumbo room")
            .members()
            .filter(|m| m.role == Role::Member)
            .take(USERS + BASELINE_USERS)
            .map(|m| m.user.clone())
            .collect()
    };
    let (bulk_users, naive_users) = plain.split_at(USERS);
    let fake = agora_fake::start(world.clone(), agora_fake::Options::default()).await;
    let profile = profile(&fake);
    let provider = roomwarden::provider::build(&profile).expect("the adapter builds");
    let dir = tempfile::tempdir().expect("a temp dir");
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.jsonl")).expect("audit log"));
    let engine = Engine::new(provider.clone(), &profile, Some(audit));

    // What the plan reads, one call at a time, outside the limiter.
    let t = Instant::now();
    provider.room(&room).await.expect("room");
    let t_room = t.elapsed();
    let t = Instant::now();
    provider.staff(&room).await.expect("staff");
    let t_staff = t.elapsed();
    println!(
        "plan reads (each a GET /chatrooms/{{id}} carrying all {} affiliations): room {:.1} ms, staff {:.1} ms",
        world::lock(&world).room(&room).map_or(0, |r| r.len()),
        t_room.as_secs_f64() * 1e3,
        t_staff.as_secs_f64() * 1e3
    );
    // Bulk: plan (room detail + admin list), then run.
    let requests: Vec<Request> = bulk_users
        .iter()
        .map(|u| Request::new(room.clone(), u.clone(), Action::Remove))
        .collect();
    let started = Instant::now();
    let plan = engine.plan(requests).await.expect("the plan");
    let planned = started.elapsed();
    let calls_before = world::lock(&world).calls;
    let run_started = Instant::now();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    let run_took = run_started.elapsed();
    let calls = world::lock(&world).calls - calls_before;
    let removed = report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Removed)
        .count();
    let failed = report.outcomes.iter().filter(|o| !o.status.is_ok()).count();

    // Naive: one DELETE per user, one after the other, no engine.
    let naive_started = Instant::now();
    let mut naive_ok = 0;
    for u in naive_users {
        let out = provider
            .remove(&room, std::slice::from_ref(u))
            .await
            .expect("the DELETE answers");
        naive_ok += out.iter().filter(|o| o.status == Status::Removed).count();
    }
    let naive_took = naive_started.elapsed();

    let floor_calls = USERS.div_ceil(MAX_BATCH);
    let floor = Duration::from_secs_f64(floor_calls as f64 / RATE);
    let bulk_rate = USERS as f64 / run_took.as_secs_f64();
    let naive_rate = BASELINE_USERS as f64 / naive_took.as_secs_f64();
    println!("bulk removal, Agora fake, {LATENCY:?} latency, {RATE} calls/s limit");
    println!(
        "  engine: {USERS} users in {calls} calls, run {:.3} s (plan {:.1} ms before it; plan + run {:.3} s = {:.2}x floor)",
        run_took.as_secs_f64(),
        planned.as_secs_f64() * 1e3,
        (planned + run_took).as_secs_f64(),
        (planned + run_took).as_secs_f64() * RATE / USERS.div_ceil(MAX_BATCH) as f64
    );
    println!(
        "          removed {removed}, not ok {failed}, {:.0} users/s, {:.1} calls/s",
        bulk_rate,
        calls as f64 / run_took.as_secs_f64()
    );
    println!(
        "  floor:  {floor_calls} calls at {RATE} calls/s = {:.3} s; run / floor = {:.3} (target <= 1.2)",
        floor.as_secs_f64(),
        run_took.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "  naive:  {BASELINE_USERS} users, one DELETE each in sequence, {:.3} s, removed {naive_ok}, {:.1} users/s",
        naive_took.as_secs_f64(),
        naive_rate
    );
    println!(
        "  ratio:  {:.1}x users/s (target > 50x)",
        bulk_rate / naive_rate
    );
    assert_eq!(failed, 0, "no row may fail");
}

fn main() {
    // `cargo test --benches` runs bench targets without `--bench`: they
    // measure, so they only run under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("bulk: a benchmark; run it with `cargo bench --bench bulk`");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(run());
}

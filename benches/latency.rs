//! Benchmark 8: input latency, from a key's arrival to the end of the
//! next drawn frame, over 1,000 keys (`j`, `k`, `PgDn`, `space`, filters
//! typed and cleared), while a 10,000-user removal runs through the engine
//! and the 1,000,000-member sandbox megaroom streams in.
//!
//! The sandbox answers every call after 20 ms; the removal goes 10 users a
//! call (1,000 calls) so that it lasts; the audit log is on. The driver
//! (`tui::bench::input_latency`) runs the console's own loop headless into
//! a 200x50 `TestBackend`. Target: p99 under 16 ms (one 60 Hz frame), max
//! under 50 ms. Prints its figures; run with
//! `cargo bench --features bench --bench latency`.

use roomwarden::config::Config;
use roomwarden::ops::Engine;
use roomwarden::ops::audit::AuditLog;
use roomwarden::provider::sandbox::Sandbox;
use roomwarden::provider::sandbox::world::{self, World};
use roomwarden::tui::bench::{self, KeyTiming, LatencyRun};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MEMBERS: usize = 1_000_000;
const MEGAROOM: &str = "10000000000000099";
const LATENCY: Duration = Duration::from_millis(20);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// p50, p99 and max of the keys' latencies, in ms.
fn summary(keys: &[&KeyTiming]) -> String {
    if keys.is_empty() {
        return "no keys".into();
    }
    let mut l: Vec<Duration> = keys.iter().map(|k| k.latency).collect();
    l.sort();
    let at = |q: f64| l[((l.len() as f64 * q).ceil() as usize).clamp(1, l.len()) - 1];
    format!(
        "{} keys: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        l.len(),
        ms(at(0.50)),
        ms(at(0.99)),
        ms(l[l.len() - 1])
    )
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "latency: a benchmark; run it with `cargo bench --features bench --bench latency`"
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let t = Instant::now();
    let world = World::generate_with_megaroom(MEMBERS).shared();
    world::lock(&world).faults.latency = LATENCY;
    println!(
        "world with the {MEMBERS}-member megaroom generated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let profile = Config::parse(
        "[profiles.bench]\nprovider = \"sandbox\"\nmax_batch = 10\n",
        std::path::Path::new("bench.toml"),
        None,
    )
    .expect("the profile parses")
    .profile(None)
    .expect("one profile")
    .clone();
    let dir = tempfile::tempdir().expect("a temp dir");
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.jsonl")).expect("audit log"));
    let engine = Arc::new(Engine::new(
        Arc::new(Sandbox::new(world.clone())),
        &profile,
        Some(audit),
    ));
    let run = LatencyRun {
        room: MEGAROOM.into(),
        removal: 10_000,
        keys: 1_000,
        gap: (Duration::from_millis(15), Duration::from_millis(35)),
        seed: 7,
        width: 200,
        height: 50,
    };
    let report = rt.block_on(bench::input_latency(engine, run.clone()));
    let all: Vec<&KeyTiming> = report.keys.iter().collect();
    let during: Vec<&KeyTiming> = all.iter().copied().filter(|k| k.removal_running).collect();
    let streaming: Vec<&KeyTiming> = all.iter().copied().filter(|k| k.streaming).collect();
    let both: Vec<&KeyTiming> = during.iter().copied().filter(|k| k.streaming).collect();
    println!(
        "input latency, key -> next drawn frame (200x50), {} keys every {}-{} ms over {:.1} s, {} frames",
        report.keys.len(),
        run.gap.0.as_millis(),
        run.gap.1.as_millis(),
        report.took.as_secs_f64(),
        report.frames
    );
    println!(
        "  sandbox latency {} ms; removal of {} users, 10 a call (rows ended by the last key: {}); megaroom loaded at the last key: {}",
        LATENCY.as_millis(),
        run.removal,
        report.removal_done,
        report.loaded_at_end
    );
    println!(
        "  all:                         {} (target p99 < 16, max < 50)",
        summary(&all)
    );
    println!("  removal running:             {}", summary(&during));
    println!("  room streaming:              {}", summary(&streaming));
    println!("  both:                        {}", summary(&both));
    for kind in [
        "j",
        "k",
        "PgDn",
        "space",
        "/",
        "filter char",
        "Enter",
        "Esc",
    ] {
        let keys: Vec<&KeyTiming> = all.iter().copied().filter(|k| k.key == kind).collect();
        println!("  {kind:<12}                 {}", summary(&keys));
    }
    let mut worst: Vec<&KeyTiming> = all.clone();
    worst.sort_by_key(|k| std::cmp::Reverse(k.latency));
    for k in worst.iter().take(5) {
        println!(
            "  slowest: {:<11} {:.2} ms (removal running {}, streaming {}, loaded {})",
            k.key,
            ms(k.latency),
            k.removal_running,
            k.streaming,
            k.loaded
        );
    }
    std::process::exit(0);
}

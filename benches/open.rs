//! Benchmark 6: open time, from process start to the first drawn frame of
//! the members screen of the 120,000-member sandbox room, in-process, the
//! sandbox at zero latency: generate the sandbox world, build the engine,
//! then drive the real console (`:room ID`, first members page, first
//! frame into a 200x50 test terminal).
//!
//! The bench re-runs itself as a child process five times: the parent
//! times spawn to the child's "frame" line (true process start, exec and
//! loading included); the child reports its own time from `main`.
//! Prints its figures; run with `cargo bench --bench open`.

use roomwarden::config::Config;
use roomwarden::ops::Engine;
use roomwarden::provider::sandbox::Sandbox;
use roomwarden::provider::sandbox::world::{JUMBO_ROOM, World};
use roomwarden::tui::bench;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHILD: &str = "ROOMWARDEN_BENCH_OPEN_CHILD";
const RUNS: usize = 5;

/// One open, timed from `main`; prints `frame <µs> <world µs> <members>`.
fn child(start: Instant) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let world = World::generate();
    let world_took = start.elapsed();
    let profile = Config::parse(
        "[profiles.bench]\nprovider = \"sandbox\"\n",
        std::path::Path::new("bench.toml"),
        None,
    )
    .expect("the profile parses")
    .profile(None)
    .expect("one profile")
    .clone();
    let engine = Arc::new(Engine::new(
        Arc::new(Sandbox::new(world.shared())),
        &profile,
        None,
    ));
    let loaded = rt.block_on(bench::open_room_first_frame(engine, JUMBO_ROOM, 200, 50));
    let took = start.elapsed();
    println!(
        "frame {} {} {loaded}",
        took.as_micros(),
        world_took.as_micros()
    );
    // Leave without tearing the world down: the figure is taken.
    std::process::exit(0);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let start = Instant::now();
    if std::env::var_os(CHILD).is_some() {
        child(start);
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("open: a benchmark; run it with `cargo bench --bench open`");
        return;
    }
    let exe = std::env::current_exe().expect("this executable");
    let mut outer = Vec::new();
    let mut inner = Vec::new();
    let mut world = Vec::new();
    let mut loaded = 0;
    for _ in 0..RUNS {
        let spawned = Instant::now();
        let mut c = Command::new(&exe)
            .env(CHILD, "1")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the child starts");
        let mut line = String::new();
        BufReader::new(c.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the child reports");
        outer.push(spawned.elapsed());
        let _ = c.wait();
        let f: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|x| x.parse().expect("a number"))
            .collect();
        inner.push(Duration::from_micros(f[0]));
        world.push(Duration::from_micros(f[1]));
        loaded = f[2];
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!(
        "open time, 120,000-member sandbox room, first members frame (200x50), {RUNS} processes"
    );
    println!(
        "  process start to first frame: median {:.1} ms, min {:.1} ms, max {:.1} ms (target < 150)",
        ms(median(&mut outer)),
        ms(outer[0]),
        ms(outer[RUNS - 1])
    );
    println!(
        "  of which from main: median {:.1} ms; sandbox world generation: median {:.1} ms",
        ms(median(&mut inner)),
        ms(median(&mut world))
    );
    println!("  members loaded at the first frame: {loaded}");
}

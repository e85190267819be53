//! Benchmark: `apply` of a 1,000,000-row ticket file, CSV and JSON Lines,
//! planned as a dry run against the sandbox: load (parse and validate
//! every row), plan (guards, dedupe) and run (every row `dry_run`). Prints
//! the time of each step and the peak resident memory of the whole apply
//! (`VmHWM` from `/proc/self/status`, reset through `clear_refs` before
//! each format). Targets: under 3 s and under 300 MB for either format,
//! both linear in the rows. Run with `cargo bench --features bench --bench
//! tickets`.

use roomwarden::config::Config;
use roomwarden::ops::tickets;
use roomwarden::ops::{Cancel, Engine, RunOptions};
use roomwarden::provider::sandbox::Sandbox;
use roomwarden::provider::sandbox::world::World;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

const ROWS: usize = 1_000_000;
const ROOMS: [&str; 2] = ["10000000000000001", "10000000000000006"];

fn peak_resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn reset_peak() {
    // "5" resets the peak resident set size (Linux 4.0+).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn write_tickets(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let csv = dir.join("big.csv");
    let jsonl = dir.join("big.jsonl");
    let mut c = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    let mut j = std::io::BufWriter::new(std::fs::File::create(&jsonl).unwrap());
    writeln!(c, "room,user,action,reason,ticket").unwrap();
    for i in 0..ROWS {
        let room = ROOMS[i % 2];
        let user = 80_000_000_000_000_000u64 + i as u64;
        writeln!(c, "{room},{user},remove,spam wave,T-{}", i / 1000).unwrap();
        writeln!(
            j,
            "{{\"room\":\"{room}\",\"user\":\"{user}\",\"action\":\"remove\",\"reason\":\"spam wave\",\"ticket\":\"T-{}\"}}",
            i / 1000
        )
        .unwrap();
    }
    (csv, jsonl)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "tickets: a benchmark; run it with `cargo bench --features bench --bench tickets`"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (csv, jsonl) = write_tickets(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let profile = Config::builtin().profile(None).unwrap().clone();
    println!("tickets, {ROWS} rows, dry run on the sandbox");
    for (name, path) in [("csv", &csv), ("jsonl", &jsonl)] {
        let engine = Engine::new(
            Arc::new(Sandbox::new(World::generate().shared())),
            &profile,
            None,
        );
        reset_peak();
        let t0 = Instant::now();
        let requests = tickets::load(path).expect("the ticket file");
        let loaded = t0.elapsed();
        let peak_load = peak_resident_kib();
        let plan = rt.block_on(engine.plan(requests)).expect("a plan");
        let planned = t0.elapsed();
        let peak_plan = peak_resident_kib();
        let opts = RunOptions {
            dry_run: true,
            ..RunOptions::default()
        };
        let report = rt.block_on(engine.run(&plan, &opts, &Cancel::new(), None));
        let done = t0.elapsed();
        assert_eq!(report.outcomes.len(), ROWS);
        let mb = |kib: u64| kib as f64 / 1024.0;
        println!(
            "  {name:5}: load {:.2} s, plan {:.2} s, run {:.2} s, total {:.2} s; peak resident {:.0} MB (after load {:.0}, after plan {:.0})",
            loaded.as_secs_f64(),
            (planned - loaded).as_secs_f64(),
            (done - planned).as_secs_f64(),
            done.as_secs_f64(),
            mb(peak_resident_kib()),
            mb(peak_load),
            mb(peak_plan),
        );
        drop((plan, report));
    }
}

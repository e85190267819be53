//! Benchmark 7: reading a large audit log. Builds a log of 1,000,000
//! changes (intent + result each, written through `AuditLog` as runs
//! write them: 60 users per call, rotation at the default size), with an
//! unfinished call every 100,000 changes, and fills the file being written
//! to just under the rotation size (the worst case for `--unfinished`).
//! Then runs each read in a fresh child process (this executable again)
//! that reports its time and peak resident memory (VmHWM):
//!
//! - `audit --last 5` (`audit::last`),
//! - `audit --unfinished` as the first reader after the writes
//!   (`audit::open_intents`; the index covers the rotated files, since
//!   writers update it when they rotate, not the file being written),
//! - the same again (the index now covers everything),
//! - `--unfinished` with the index deleted (every file read).
//!
//! Prints its figures; run with `cargo bench --features bench --bench audit`.

use roomwarden::model::{Action, Role, Status};
use roomwarden::ops::audit::{self, AuditLog, Kind, ROTATE_AT, Record};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const CHILD: &str = "ROOMWARDEN_BENCH_AUDIT_CHILD";
const CHANGES: usize = 1_000_000;
const PER_CALL: usize = 60;
const UNFINISHED_EVERY: usize = 100_000;

fn record(kind: Kind, batch: &str, user: usize) -> Record {
    Record {
        ts: audit::now_rfc3339(),
        kind,
        operator: "alice".into(),
        profile: "sandbox".into(),
        provider: "sandbox".into(),
        room: "10000000000000006".into(),
        user: format!("{}", 71_000_000_000_000_000u64 + user as u64).into(),
        action: Action::Remove,
        status: (kind == Kind::Result).then_some(Status::Removed),
        reason: None,
        ticket: None,
        batch: batch.into(),
        role: Some(Role::Member),
    }
}

/// One call's intents and results, as a run writes them.
fn call(log: &AuditLog, batch: &str, first: usize, n: usize, finish: bool) {
    let intents: Vec<Record> = (first..first + n)
        .map(|u| record(Kind::Intent, batch, u))
        .collect();
    log.append(&intents, false).expect("intents written");
    let results: Vec<Record> = (first..first + n)
        .filter(|u| finish || u % UNFINISHED_EVERY != 0)
        .map(|u| record(Kind::Result, batch, u))
        .collect();
    log.append(&results, false).expect("results written");
}

fn log_bytes(path: &Path) -> (u64, usize, u64) {
    let dir = path.parent().expect("a dir");
    let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
    let mut total = 0;
    let mut files = 0;
    for e in std::fs::read_dir(dir).expect("the dir") {
        let e = e.expect("an entry");
        let n = e.file_name().to_string_lossy().to_string();
        if n == name
            || n.strip_prefix(name)
                .is_some_and(|r| r.len() > 1 && r[1..].bytes().all(|b| b.is_ascii_digit()))
        {
            total += e.metadata().expect("metadata").len();
            files += 1;
        }
    }
    let active = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    (total, files, active)
}

/// One change as the earlier format wrote it: every field on both lines,
/// nulls included, nanosecond times, batch ids like `20261130T053527.243Z-4242`.
fn earlier_format_bytes() -> usize {
    [Kind::Intent, Kind::Result]
        .into_iter()
        .map(|kind| {
            let r = Record {
                ts: "2026-11-30T05:35:27.243123456Z".into(),
                batch: "20261130T053527.243Z-4242".into(),
                ..record(kind, "", 122_502)
            };
            serde_json::to_vec(&r).expect("a record").len() + 1
        })
        .sum()
}

/// Peak resident memory of this process, in kB.
fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn child(what: &str, path: &Path) {
    let start = Instant::now();
    let rows = match what {
        "last5" => audit::last(path, 5).expect("read").0.len(),
        _ => audit::open_intents(path).expect("read").0.len(),
    };
    println!("{} {} {rows}", start.elapsed().as_micros(), peak_kb());
}

fn run_child(exe: &Path, what: &str, path: &Path) -> (Duration, u64, usize) {
    let out = Command::new(exe)
        .env(CHILD, what)
        .arg(path)
        .output()
        .expect("the child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<u64> = text
        .split_whitespace()
        .map(|x| x.parse().expect("a number"))
        .collect();
    (Duration::from_micros(f[0]), f[1], f[2] as usize)
}

fn main() {
    if let Ok(what) = std::env::var(CHILD) {
        let path = PathBuf::from(std::env::args().nth(1).expect("the log path"));
        child(&what, &path);
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("audit: a benchmark; run it with `cargo bench --features bench --bench audit`");
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("audit.jsonl");
    let built = Instant::now();
    let log = AuditLog::open(&path).expect("the log opens");
    let mut batch = audit::new_batch_id();
    let mut done = 0;
    while done < CHANGES {
        if done % 9_960 == 0 {
            batch = audit::new_batch_id();
        }
        call(&log, &batch, done, PER_CALL, false);
        done += PER_CALL;
    }
    let changes = done;
    let (bytes, _, _) = log_bytes(&path);
    let per_change = bytes as f64 / changes as f64;
    // Fill the file being written to just under the rotation size.
    let call_bytes = (per_change * PER_CALL as f64 * 1.2) as u64;
    while log_bytes(&path).2 + call_bytes < ROTATE_AT {
        call(&log, &batch, done, PER_CALL, true);
        done += PER_CALL;
    }
    drop(log);
    let build = built.elapsed();
    let (total, files, active) = log_bytes(&path);
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "audit log: {done} changes, {:.1} MB in {files} files (file being written: {:.1} MB), built in {:.1} s",
        mb(total),
        mb(active),
        build.as_secs_f64()
    );
    println!(
        "  bytes per change (intent + result): {per_change:.0} (target < 400); the earlier format: {}",
        earlier_format_bytes()
    );

    let exe = std::env::current_exe().expect("this executable");
    let show = |label: &str, (t, kb, rows): (Duration, u64, usize)| {
        println!(
            "  {label}: {:.1} ms, peak resident {:.1} MB, {rows} rows",
            t.as_secs_f64() * 1e3,
            kb as f64 / 1024.0
        );
    };
    show("audit --last 5", run_child(&exe, "last5", &path));
    show(
        "audit --unfinished, first reader after the writes",
        run_child(&exe, "unfinished", &path),
    );
    show(
        "audit --unfinished, again",
        run_child(&exe, "unfinished", &path),
    );
    let _ = std::fs::remove_file(dir.path().join("audit.jsonl.idx"));
    let (t, kb, rows) = run_child(&exe, "unfinished", &path);
    show(
        "audit --unfinished, index deleted (reads every file)",
        (t, kb, rows),
    );
    println!(
        "  full read: {:.0} MB/s",
        mb(total) / t.as_secs_f64().max(1e-9)
    );
}

//! The shared ticket queue on a real PostgreSQL (a throwaway cluster),
//! through the binary: push (a bad row refuses the file), work, status;
//! and three workers on one 30,000-row queue against the Agora fake, one
//! of them killed twice mid-chunk, with every row done exactly once and
//! the fake's calls within the profile's rate limit.

#[path = "fakes/agora.rs"]
mod agora_fake;
mod common;
mod pg;
mod team;

use common::Isolated;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use team::{room_id, user_id};

/// A config with team mode on `url` and an Agora profile on `fake`.
fn config(iso: &Isolated, url: &str, fake: &agora_fake::Fake, extra: &str) -> PathBuf {
    let path = iso.path("config.toml");
    std::fs::write(
        &path,
        format!(
            "audit_url = \"{url}\"\noperator = \"queue-tester\"\nqueue_lease_secs = 3\n\
             default_profile = \"agora\"\n[profiles.agora]\n{}",
            team::agora_keys(fake, extra)
        ),
    )
    .unwrap();
    // The profile's token is a literal: the file must be private.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn ticket_file(path: &Path, rooms: std::ops::Range<usize>, members: usize) {
    let mut text = String::from("room,user,action,reason,ticket\n");
    for i in rooms {
        for j in 0..members {
            text.push_str(&format!(
                "{},{},remove,spam wave,T-{}\n",
                room_id(i),
                user_id(i, j),
                i % 3
            ));
        }
    }
    std::fs::write(path, text).unwrap();
}

/// Runs the binary off the runtime, so the fake keeps serving.
async fn roomwarden(iso: &Isolated, config: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = iso.binary();
    cmd.arg("--config").arg(config).args(args);
    cmd.timeout(Duration::from_secs(300));
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_refuses_a_bad_file_whole_then_one_worker_drains_the_queue() {
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    let fake = team::fake(2, 150).await;
    let iso = Isolated::default();
    let cfg = config(&iso, &cluster.url(), &fake, "");
    let bad = iso.path("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "room,user,action\n{},{},remove\n{},{},explode\n",
            room_id(0),
            user_id(0, 0),
            room_id(0),
            user_id(0, 1)
        ),
    )
    .unwrap();
    let out = roomwarden(&iso, &cfg, &["queue", "push", bad.to_str().unwrap()]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 3") && stderr.contains("explode"),
        "{stderr}"
    );

    let good = iso.path("good.csv");
    ticket_file(&good, 0..2, 150);
    let out = roomwarden(&iso, &cfg, &["queue", "push", good.to_str().unwrap()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status =
        |out: &std::process::Output| -> Vec<serde_json::Value> { common::jsonl(&out.stdout) };
    let out = roomwarden(&iso, &cfg, &["queue", "status", "--format", "jsonl"]).await;
    let rows = status(&out);
    assert_eq!(rows[0]["by"], "state");
    assert_eq!(
        rows[0]["queued"], 300,
        "the bad file queued nothing: {rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r["by"] == "ticket" && r["key"] == "T-1" && r["queued"] == 150)
    );

    let out = roomwarden(
        &iso,
        &cfg,
        &["queue", "work", "--worker", "solo", "--format", "jsonl"],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = common::jsonl(&out.stdout);
    assert_eq!(done.len(), 300);
    assert!(
        done.iter().all(|r| r["status"] == "removed"),
        "{:?}",
        done[0]
    );

    let out = roomwarden(&iso, &cfg, &["queue", "status", "--format", "jsonl"]).await;
    let rows = status(&out);
    assert_eq!(
        (rows[0]["queued"].clone(), rows[0]["done"].clone()),
        (0.into(), 300.into())
    );
    let solo = rows
        .iter()
        .find(|r| r["by"] == "worker" && r["key"] == "solo")
        .unwrap();
    assert_eq!(solo["done"], 300);
    assert_eq!(solo["alive"], false, "stopped workers are not alive");

    // The audit says who did it, for every row, and the queue is empty now.
    let out = roomwarden(
        &iso,
        &cfg,
        &[
            "audit",
            "--operator",
            "queue-tester",
            "--ticket",
            "T-1",
            "--format",
            "jsonl",
        ],
    )
    .await;
    let records = common::jsonl(&out.stdout);
    assert_eq!(records.len(), 300, "intent and result of 150 rows");
    let out = roomwarden(&iso, &cfg, &["queue", "work", "--format", "jsonl"]).await;
    assert!(out.status.success() && out.stdout.is_empty());
}

struct Worker {
    name: String,
    child: Child,
}

fn spawn_worker(iso: &Isolated, config: &Path, name: &str) -> Worker {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roomwarden"));
    cmd.env_remove("ROOMWARDEN_CONFIG")
        .env("HOME", iso.dir.path())
        .env("XDG_DATA_HOME", iso.path("xdg-data"))
        .env("XDG_STATE_HOME", iso.path("xdg-state"))
        .arg("--config")
        .arg(config)
        .args([
            "queue", "work", "--format", "jsonl", "--chunk", "240", "--worker", name,
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(iso.path(&format!("{name}.out"))).unwrap())
        .stderr(std::fs::File::create(iso.path(&format!("{name}.err"))).unwrap());
    Worker {
        name: name.into(),
        child: cmd.spawn().unwrap(),
    }
}

/// Waits (by condition, up to a generous deadline) until `worker` is in
/// the middle of a chunk: rows claimed and intents written whose results
/// are not, i.e. calls in flight.
async fn mid_chunk(db: &tokio_postgres::Client, worker: &mut Worker) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let n: i64 = db
            .query_one(
                "SELECT count(*) FROM audit_records a
                 WHERE a.kind = 'intent'
                   AND a.batch IN (SELECT DISTINCT batch FROM queue_rows
                                   WHERE worker = $1 AND state = 'claimed')
                   AND NOT EXISTS (SELECT 1 FROM audit_records r
                                   WHERE r.kind = 'result' AND r.batch = a.batch
                                     AND r.room = a.room AND r.user_id = a.user_id)",
                &[&worker.name],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            return;
        }
        if let Ok(Some(status)) = worker.child.try_wait() {
            panic!(
                "worker {} ended ({status}) before it could be killed mid-chunk",
                worker.name
            );
        }
        assert!(
            Instant::now() < deadline,
            "worker {} never got mid-chunk",
            worker.name
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn wait_exit(worker: &mut Worker) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(status) = worker.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "worker {} did not finish",
            worker.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const RATE: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_drain_30000_rows_once_each_within_the_rate_limit_one_killed_twice() {
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    let url = cluster.url();
    let fake = team::fake(30, 1_000).await;
    // Calls take a little while, so a worker is often caught mid-call.
    roomwarden::provider::sandbox::world::lock(fake.world())
        .faults
        .latency = Duration::from_millis(20);
    let iso = Isolated::default();
    let cfg = config(&iso, &url, &fake, &format!("rate_limit_per_sec = {RATE}"));
    let file = iso.path("wave.csv");
    ticket_file(&file, 0..30, 1_000);
    let out = roomwarden(&iso, &cfg, &["queue", "push", file.to_str().unwrap()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = sql(&url).await;

    let started = Instant::now();
    let mut a = spawn_worker(&iso, &cfg, "a");
    let mut b = spawn_worker(&iso, &cfg, "b");
    let mut c = spawn_worker(&iso, &cfg, "c1");
    for next in ["c2", "c3"] {
        mid_chunk(&db, &mut c).await;
        c.child.kill().unwrap();
        c.child.wait().unwrap();
        c = spawn_worker(&iso, &cfg, next);
    }
    for w in [&mut a, &mut b, &mut c] {
        let status = wait_exit(w).await;
        let err = std::fs::read_to_string(iso.path(&format!("{}.err", w.name))).unwrap();
        assert!(status.success(), "worker {}: {status}: {err}", w.name);
    }
    let took = started.elapsed();

    // Every row done, once, and removed.
    let row = db
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE state = 'done' AND status = 'removed'),
                    count(DISTINCT worker) FILTER (WHERE claims > 1)
             FROM queue_rows",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 30_000);
    assert_eq!(row.get::<_, i64>(1), 30_000, "every row done and removed");
    assert!(
        row.get::<_, i64>(2) >= 1,
        "the killed worker's rows were taken over"
    );

    // Each user's removal took effect once: every row ended `removed` (a
    // second removal that reached a user already gone would have ended
    // `already_absent`), and only rows taken over from a killed worker
    // were ever sent twice: its request was cut off with it before the
    // fake acted, and the provider showed the user still there.
    let mut sent: HashMap<String, usize> = HashMap::new();
    for r in fake.requests().iter().filter(|r| r.starts_with("DELETE")) {
        let users = r.rsplit('/').next().unwrap().split('?').next().unwrap();
        for u in users.split("%2C") {
            *sent.entry(u.to_string()).or_default() += 1;
        }
    }
    assert_eq!(sent.len(), 30_000, "every user was sent");
    let taken_over: std::collections::HashSet<String> = db
        .query("SELECT user_id FROM queue_rows WHERE claims > 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let twice: Vec<_> = sent
        .iter()
        .filter(|(u, n)| **n > 1 && !taken_over.contains(*u))
        .collect();
    assert!(
        twice.is_empty(),
        "sent more than once without being taken over: {:?}",
        &twice[..twice.len().min(5)]
    );
    assert!(sent.values().all(|n| *n <= 2));
    {
        let w = roomwarden::provider::sandbox::world::lock(fake.world());
        for i in 0..30 {
            assert_eq!(
                w.room(&room_id(i).into()).unwrap().len(),
                1,
                "only the owner left"
            );
        }
    }

    // The audit: one `removed` result per user, nothing left unfinished.
    let row = db
        .query_one(
            "SELECT count(*), count(DISTINCT (room, user_id)) FROM audit_records
             WHERE kind = 'result' AND status = 'removed'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1)),
        (30_000, 30_000)
    );
    let out = roomwarden(&iso, &cfg, &["audit", "--unfinished", "--format", "jsonl"]).await;
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Removal calls within the profile's limit in every one-second window
    // (as they arrived: a little slack for the trip), and on average.
    let arrivals = fake.arrivals();
    let log = fake.requests();
    assert_eq!(arrivals.len(), log.len(), "every request logged");
    let deletes: Vec<Instant> = arrivals
        .iter()
        .zip(&log)
        .filter(|(_, r)| r.starts_with("DELETE"))
        .map(|(t, _)| *t)
        .collect();
    let most = deletes
        .iter()
        .enumerate()
        .map(|(i, t)| {
            deletes[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(
        most <= RATE + RATE / 10 + 2,
        "{most} removal calls within one second"
    );
    let span = deletes
        .last()
        .unwrap()
        .duration_since(deletes[0])
        .as_secs_f64();
    let avg = deletes.len() as f64 / span.max(1.0);
    assert!(
        avg <= RATE as f64,
        "{avg:.1} removal calls per second on average"
    );
    eprintln!(
        "3 workers, one killed twice: 30,000 rows in {:.1} s ({:.0} rows/s; {} removal calls, busiest second {most}, limit {RATE}/s)",
        took.as_secs_f64(),
        30_000.0 / took.as_secs_f64(),
        deletes.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_to_one_user_keep_the_ticket_order_across_workers() {
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    let url = cluster.url();
    let fake = team::fake(1, 20).await;
    {
        let mut w = roomwarden::provider::sandbox::world::lock(fake.world());
        // Slow calls, so both workers are at work at once.
        w.faults.latency = Duration::from_millis(200);
        let room = w.room_mut(&room_id(0).into()).unwrap();
        for j in 0..5 {
            room.set_role(&user_id(0, j).into(), roomwarden::model::Role::Admin);
        }
    }
    let iso = Isolated::default();
    let cfg = config(&iso, &url, &fake, "");
    // Each admin is demoted, then removed, one row per claim: the second
    // worker would otherwise take a user's removal while the first is
    // still demoting them.
    let file = iso.path("order.csv");
    let mut text = String::from("room,user,action\n");
    for j in 0..5 {
        for action in ["demote", "remove"] {
            text.push_str(&format!("{},{},{action}\n", room_id(0), user_id(0, j)));
        }
    }
    std::fs::write(&file, text).unwrap();
    let out = roomwarden(&iso, &cfg, &["queue", "push", file.to_str().unwrap()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let work = |name: &'static str| {
        let iso = &iso;
        let cfg = &cfg;
        async move {
            roomwarden(
                iso,
                cfg,
                &[
                    "queue", "work", "--chunk", "1", "--worker", name, "--format", "jsonl",
                ],
            )
            .await
        }
    };
    let (a, b) = tokio::join!(work("a"), work("b"));
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rows: Vec<serde_json::Value> = common::jsonl(&a.stdout)
        .into_iter()
        .chain(common::jsonl(&b.stdout))
        .collect();
    assert_eq!(rows.len(), 10);
    for r in &rows {
        let want = if r["action"] == "demote" {
            "demoted"
        } else {
            "removed"
        };
        assert_eq!(r["status"], want, "{r}");
    }
    // In the audit, each user's demote ended before their removal began.
    let db = sql(&url).await;
    for j in 0..5 {
        let kinds: Vec<(String, String)> = db
            .query(
                "SELECT action, kind FROM audit_records WHERE user_id = $1 ORDER BY id",
                &[&user_id(0, j)],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let flat: Vec<String> = kinds.iter().map(|(a, k)| format!("{a}:{k}")).collect();
        assert_eq!(
            flat,
            [
                "demote:intent",
                "demote:result",
                "remove:intent",
                "remove:result"
            ],
            "user {j}"
        );
    }
}

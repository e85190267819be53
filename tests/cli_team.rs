//! Team mode through the binary: an audit database that cannot be reached
//! stops every change before anything is sent; the queue commands.

#[path = "fakes/agora.rs"]
mod agora_fake;
mod common;
mod pg;
mod team;

use common::{Isolated, jsonl};
use roomwarden::model::{Action, Role};
use roomwarden::ops::audit::{Kind, Record};
use roomwarden::ops::store::AuditStore;

#[test]
fn an_unreachable_audit_database_sends_nothing_and_exits_3_saying_why() {
    let iso = Isolated::default();
    let nowhere = iso.path("no-server-here");
    std::fs::create_dir_all(&nowhere).unwrap();
    let url = format!(
        "postgres://rw@{}/rw",
        nowhere.display().to_string().replace('/', "%2F")
    );
    for args in [
        // No command: the console, which stops before taking the terminal.
        vec![],
        vec!["remove", "10000000000000003", "71000000000122502", "--yes"],
        vec!["audit"],
        vec!["readd", "10000000000000003", "71000000000122502", "--yes"],
    ] {
        let out = iso
            .binary()
            .args(&args)
            .env("ROOMWARDEN_AUDIT_URL", &url)
            .env("TERM", "xterm")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains("audit database rw@")
                && stderr.contains("cannot be reached")
                && stderr.contains("nothing was sent"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: no rows printed");
    }
    // The file log was never written: the database was the only store.
    assert!(!iso.path("xdg-data/roomwarden/audit.jsonl").exists());
}

#[test]
fn a_password_in_the_audit_url_flag_is_refused() {
    let iso = Isolated::default();
    let out = iso
        .binary()
        .args([
            "audit",
            "--audit-url",
            "postgres://rw:hunter2@127.0.0.1:1/rw",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("audit_password_env") && !stderr.contains("hunter2"),
        "{stderr}"
    );
}

const FOUNDERS: &str = "10000000000000003";

/// The binary on a real PostgreSQL: two operators' removals land in one
/// table, `audit --operator` shows one of them, and `resume` finishes a
/// batch another operator's crash left in the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_shares_one_audit_trail_and_resumes_from_the_database() {
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    let url = cluster.url();
    let iso = Isolated::default();
    let config = |who: &str| {
        let path = iso.path(&format!("{who}.toml"));
        std::fs::write(
            &path,
            format!("operator = \"{who}\"\n[profiles.s]\nprovider = \"sandbox\"\n"),
        )
        .unwrap();
        path
    };
    let (alice, bob) = (config("alice"), config("bob"));
    let run = |cfg: &std::path::Path, args: &[&str]| {
        let out = iso
            .binary()
            .arg("--config")
            .arg(cfg)
            .args(["--audit-url", &url, "--format", "jsonl"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        jsonl(&out.stdout)
    };
    let (u1, u2, u3) = (
        "71000000000122502",
        "71000000000122503",
        "71000000000122504",
    );
    run(
        &alice,
        &["remove", FOUNDERS, u1, "--yes", "--ticket", "T-1"],
    );
    run(&bob, &["remove", FOUNDERS, u2, "--yes", "--ticket", "T-2"]);
    let mine = run(&bob, &["audit", "--operator", "alice"]);
    assert!(!mine.is_empty());
    assert!(
        mine.iter()
            .all(|r| r["operator"] == "alice" && r["user"] == u1),
        "{mine:?}"
    );
    let all = run(&bob, &["audit"]);
    let users: std::collections::HashSet<&str> =
        all.iter().filter_map(|r| r["user"].as_str()).collect();
    assert_eq!(users, [u1, u2].into_iter().collect());

    // Carol's console died with a call announced: the intent is in the
    // database, with no result.
    let carol = team::store(&url, "carol").await;
    let intent = Record {
        ts: roomwarden::ops::audit::now_rfc3339(),
        kind: Kind::Intent,
        operator: "carol".into(),
        profile: "s".into(),
        provider: "sandbox".into(),
        room: FOUNDERS.into(),
        user: u3.into(),
        action: Action::Remove,
        status: None,
        reason: Some("spam".into()),
        ticket: Some("T-3".into()),
        batch: "carol-crash".into(),
        role: Some(Role::Member),
    };
    carol.append(&[intent], true).await.unwrap();
    let open = run(&alice, &["audit", "--unfinished"]);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["user"], u3);
    let rows = run(&alice, &["resume", "carol-crash", "--yes"]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["user"], u3);
    assert_eq!(rows[0]["status"], "removed");
    assert!(run(&alice, &["audit", "--unfinished"]).is_empty());
    let t3 = run(&bob, &["audit", "--ticket", "T-3"]);
    assert!(
        t3.iter()
            .any(|r| r["kind"] == "result" && r["operator"] == "alice" && r["status"] == "removed"),
        "the result is signed by whoever resumed: {t3:?}"
    );
}

//! The audit log through the binary: torn last lines, rotated files, the
//! compact record format, and `resume` after a crash.

mod common;

use assert_cmd::Command;
use common::{RunOk, jsonl};
use roomwarden::model::{Action, Role, Status};
use roomwarden::ops::audit::{self, AuditLog, Kind, Record};
use std::path::{Path, PathBuf};

const FOUNDERS: &str = "10000000000000003";

#[derive(Default)]
struct Env {
    home: common::Isolated,
}

impl Env {
    fn audit(&self) -> PathBuf {
        self.home.path("audit.jsonl")
    }
    fn cmd(&self) -> Command {
        let mut c = self.home.binary();
        c.arg("--audit-log").arg(self.audit());
        c
    }
    fn remove(&self, user: &str) {
        self.cmd()
            .args(["remove", FOUNDERS, user, "--yes"])
            .assert()
            .success();
    }
    fn append(&self, bytes: &[u8]) {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(self.audit())
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }
}

fn users(rows: &[serde_json::Value]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["user"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, u)| (k.to_string(), u.to_string()))
        .collect()
}

/// A crash left `torn` at the end of the log; a new run follows.
fn torn_then_new_run(torn: &[u8]) {
    let env = Env::default();
    env.remove("71000000000122502");
    let torn_at = std::fs::metadata(env.audit()).unwrap().len();
    env.append(torn);
    env.remove("71000000000122503");

    let out = env
        .cmd()
        .args(["audit", "--format", "jsonl"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        users(&jsonl(&out.stdout)),
        pairs(&[
            ("intent", "71000000000122502"),
            ("result", "71000000000122502"),
            ("intent", "71000000000122503"),
            ("result", "71000000000122503"),
        ])
    );
    let warning = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        warning.contains(&format!("unreadable line at byte {torn_at} skipped")),
        "{warning}"
    );
    let out = env
        .cmd()
        .args(["audit", "--unfinished", "--format", "jsonl"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("byte {torn_at}")));
    // Undo reads the log too, past the torn line, and finds the role.
    let out = env
        .cmd()
        .args([
            "readd",
            FOUNDERS,
            "71000000000122502",
            "--yes",
            "--format",
            "jsonl",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(jsonl(&out.stdout)[0]["status"], "readded");
}

#[test]
fn half_a_record_at_the_end_costs_only_itself() {
    torn_then_new_run(b"{\"ts\":\"2026-01-02T03:04:05.678Z\",\"kind\":\"intent\",\"bat");
}

#[test]
fn a_cut_utf8_character_at_the_end_costs_only_its_line() {
    let mut torn =
        b"{\"ts\":\"2026-01-02T03:04:05.678Z\",\"kind\":\"intent\",\"reason\":\"caf".to_vec();
    torn.push(0xC3); // the first byte of "é"
    torn_then_new_run(&torn);
}

#[test]
fn records_are_compact_and_audit_rows_whole() {
    let env = Env::default();
    env.cmd()
        .args([
            "remove",
            FOUNDERS,
            "71000000000122502",
            "--yes",
            "--reason",
            "spam",
            "--ticket",
            "T-9",
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(env.audit()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let result: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    for field in ["ts", "batch", "room", "user", "action", "status"] {
        assert!(result.get(field).is_some(), "a result names {field}");
    }
    for field in ["operator", "profile", "provider", "ticket", "role"] {
        assert!(result.get(field).is_none(), "{field} is the intent's");
    }
    let out = env.cmd().args(["audit", "--format", "jsonl"]).stdout_ok();
    let rows = jsonl(&out);
    assert_eq!(rows[1]["kind"], "result");
    assert_eq!(rows[1]["ticket"], "T-9");
    assert_eq!(rows[1]["reason"], "spam");
    assert_eq!(rows[1]["role"], "member");
    assert_eq!(rows[1]["profile"], "sandbox");
    assert_eq!(rows[1]["status"], "removed");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.audit()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

fn record(kind: Kind, batch: &str, user: &str) -> Record {
    Record {
        ts: audit::now_rfc3339(),
        kind,
        operator: "mod".into(),
        profile: "sandbox".into(),
        provider: "sandbox".into(),
        room: FOUNDERS.into(),
        user: user.into(),
        action: Action::Remove,
        status: (kind == Kind::Result).then_some(Status::Removed),
        reason: Some("spam wave".into()),
        ticket: Some("T-7".into()),
        batch: batch.into(),
        role: Some(Role::Member),
    }
}

fn write(path: &Path, records: &[Record]) {
    AuditLog::open(path).unwrap().append(records, true).unwrap();
}

#[test]
fn readers_cover_rotated_files() {
    let env = Env::default();
    let rotated = audit_n(&env.audit(), 1);
    write(
        &rotated,
        &[
            record(Kind::Intent, "b1", "71000000000122502"),
            record(Kind::Result, "b1", "71000000000122502"),
            record(Kind::Intent, "b1", "71000000000122503"),
        ],
    );
    write(
        &env.audit(),
        &[record(Kind::Intent, "b2", "71000000000122504")],
    );
    let rows = jsonl(&env.cmd().args(["audit", "--format", "jsonl"]).stdout_ok());
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1]["ticket"], "T-7", "joined within the rotated file");
    let rows = jsonl(
        &env.cmd()
            .args(["audit", "--last", "3", "--format", "jsonl"])
            .stdout_ok(),
    );
    assert_eq!(
        users(&rows),
        pairs(&[
            ("result", "71000000000122502"),
            ("intent", "71000000000122503"),
            ("intent", "71000000000122504"),
        ])
    );
    let rows = jsonl(
        &env.cmd()
            .args(["audit", "--unfinished", "--format", "jsonl"])
            .stdout_ok(),
    );
    assert_eq!(
        users(&rows),
        pairs(&[
            ("intent", "71000000000122503"),
            ("intent", "71000000000122504")
        ])
    );
}

fn audit_n(path: &Path, n: u32) -> PathBuf {
    let mut name = path.file_name().unwrap().to_os_string();
    name.push(format!(".{n}"));
    path.with_file_name(name)
}

/// The crash: batch `crash` announced three removals; 122502's result was
/// written, 122503 never answered, and 71000000000999999 (not in the room)
/// never answered either.
fn crashed(env: &Env) {
    write(
        &env.audit(),
        &[
            record(Kind::Intent, "crash", "71000000000122502"),
            record(Kind::Intent, "crash", "71000000000122503"),
            record(Kind::Intent, "crash", "71000000000999999"),
            record(Kind::Result, "crash", "71000000000122502"),
        ],
    );
}

#[test]
fn resume_finishes_a_crashed_batch_once() {
    let env = Env::default();
    crashed(&env);
    let out = env
        .cmd()
        .args(["resume", "--yes", "--format", "jsonl"])
        .assert()
        .success()
        .get_output()
        .clone();
    let rows = jsonl(&out.stdout);
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["user"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("71000000000122503", "removed"),
            ("71000000000999999", "removed")
        ]
    );
    assert!(
        rows[1]["reason"]
            .as_str()
            .unwrap()
            .contains("asked the provider"),
        "{}",
        rows[1]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("resuming batch crash"));
    let log = audit::read(&env.audit()).unwrap().0;
    let sent: Vec<&Record> = log
        .iter()
        .filter(|r| r.kind == Kind::Intent && r.user.as_str() == "71000000000122503")
        .collect();
    assert_eq!(sent.len(), 2, "one new intent: sent once");
    assert!(
        sent.iter()
            .all(|r| r.batch == "crash" && r.ticket.as_deref() == Some("T-7"))
    );
    assert_eq!(sent[1].reason.as_deref(), Some("spam wave"));
    // Nothing left: a second resume does nothing.
    let out = env
        .cmd()
        .args(["audit", "--unfinished", "--format", "jsonl"])
        .stdout_ok();
    assert!(out.is_empty());
    let again = env
        .cmd()
        .args(["resume", "--yes"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(again.stdout.is_empty());
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to resume"));
    assert_eq!(audit::read(&env.audit()).unwrap().0.len(), log.len());
}

#[test]
fn resume_follows_the_rules_of_every_change_command() {
    let env = Env::default();
    crashed(&env);
    let before = std::fs::read(env.audit()).unwrap();
    // No --yes and no terminal: refused, nothing recorded.
    let out = env
        .cmd()
        .arg("resume")
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    // A dry run shows the rows and records nothing.
    let rows = jsonl(
        &env.cmd()
            .args(["resume", "crash", "--dry-run", "--format", "jsonl"])
            .stdout_ok(),
    );
    let got: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(got, ["dry_run", "removed"]);
    // Read-only refuses; an unknown batch or another profile is a usage error.
    env.cmd()
        .args(["--read-only", "resume", "--yes"])
        .assert()
        .code(2);
    let out = env
        .cmd()
        .args(["resume", "nope", "--yes"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("batch `nope` has no unfinished rows"));
    env.cmd()
        .args(["--profile", "other", "resume", "--yes"])
        .assert()
        .code(2);
    assert_eq!(std::fs::read(env.audit()).unwrap(), before);
}

//! The binary over the sandbox: every command, the row shapes of CLI.md,
//! exit codes 0/1/2/3, the --yes rule, stdin users, secrets never shown.

mod common;

use assert_cmd::Command;
use common::{RunOk, jsonl};
use serde_json::Value;
use std::path::{Path, PathBuf};

const FOUNDERS: &str = "10000000000000003";
const FOUNDERS_OWNER: &str = "71000000000122501";
const STAFF: &str = "10000000000000005";

#[derive(Default)]
struct Env {
    home: common::Isolated,
}

impl Env {
    fn new() -> Self {
        Self::default()
    }
    fn audit(&self) -> PathBuf {
        self.home.path("audit.jsonl")
    }
    /// The binary with a private HOME, no config (built-in sandbox) and a
    /// private audit log.
    fn cmd(&self) -> Command {
        let mut c = self.home.binary();
        c.arg("--audit-log").arg(self.audit());
        c
    }
    fn config(&self, text: &str, mode: u32) -> PathBuf {
        let path = self.home.dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        path
    }
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

#[test]
fn profiles_without_config_is_the_builtin_sandbox() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["profiles", "--format", "jsonl"])
        .stdout_ok();
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "sandbox");
    assert_eq!(rows[0]["provider"], "sandbox");
}

#[test]
fn rooms_rows_have_the_documented_shape() {
    let env = Env::new();
    let out = env.cmd().args(["rooms", "--format", "jsonl"]).stdout_ok();
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 6);
    assert_eq!(keys(&rows[0]), ["active", "members", "name", "room"]);
    let jumbo = rows.iter().find(|r| r["name"] == "town-square").unwrap();
    assert_eq!(jumbo["room"], "10000000000000002", "ids stay strings");
    assert_eq!(jumbo["members"], 120_000);
    let table = env.cmd().arg("rooms").stdout_ok();
    assert!(String::from_utf8_lossy(&table).starts_with("ROOM"));
}

#[test]
fn members_in_jsonl_and_csv_with_role_filter() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["members", STAFF, "--format", "jsonl"])
        .stdout_ok();
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 24);
    assert_eq!(keys(&rows[0]), ["name", "role", "room", "user"]);
    assert_eq!(rows[0]["role"], "owner");
    let admins = env
        .cmd()
        .args(["members", STAFF, "--role", "admin", "--format", "csv"])
        .stdout_ok();
    let text = String::from_utf8(admins).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("room,user,name,role"));
    assert_eq!(lines.filter(|l| l.ends_with(",admin")).count(), 8);
}

#[test]
fn members_of_the_jumbo_room_come_across_all_pages() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["members", "10000000000000002", "--format", "csv"])
        .stdout_ok();
    assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 120_001);
}

/// Listing a room that cannot be read prints no rows: exit 3 (a lookup
/// failed before any row), as `remove` on that room is, never exit 1
/// (which says some row ended failed).
#[test]
fn members_of_a_room_that_cannot_be_read_is_exit_3() {
    let env = Env::new();
    for args in [
        vec!["members", "999"],
        vec!["remove", "999", "71000000000122597", "--yes"],
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(stderr.contains("999"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn remove_reports_one_row_per_user_and_exit_1_when_a_guard_fires() {
    let env = Env::new();
    let out = env
        .cmd()
        .args([
            "remove",
            FOUNDERS,
            FOUNDERS_OWNER,
            "71000000000122502",
            "nobody",
            "--yes",
            "--format",
            "jsonl",
        ])
        .args(["--ticket", "T-7", "--reason", "spam"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        keys(&rows[0]),
        ["action", "reason", "room", "status", "user"]
    );
    assert_eq!(rows[0]["status"], "skipped");
    assert_eq!(rows[0]["reason"], "last owner of the room");
    assert_eq!(rows[1]["status"], "removed");
    assert_eq!(rows[1]["reason"], Value::Null);
    assert_eq!(rows[2]["status"], "already_absent");
    let log = std::fs::read_to_string(env.audit()).unwrap();
    assert!(log.contains("\"ticket\":\"T-7\""));

    // All fine: exit 0, csv with a header.
    let out = env
        .cmd()
        .args([
            "remove",
            FOUNDERS,
            "71000000000122503",
            "--yes",
            "--format",
            "csv",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().next(), Some("room,user,action,status,reason"));
    assert!(text.contains(",removed,"));
}

#[test]
fn demote_and_readd_restore_the_recorded_role() {
    let env = Env::new();
    let members = env
        .cmd()
        .args(["members", STAFF, "--role", "admin", "--format", "jsonl"])
        .output()
        .unwrap();
    let admin = jsonl(&members.stdout)[0]["user"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env
        .cmd()
        .args(["demote", STAFF, &admin, "--yes", "--format", "jsonl"])
        .stdout_ok();
    assert_eq!(jsonl(&out)[0]["status"], "demoted");

    let env = Env::new();
    env.cmd()
        .args(["remove", STAFF, &admin, "--yes"])
        .assert()
        .success();
    let out = env
        .cmd()
        .args(["readd", STAFF, &admin, "--yes", "--format", "jsonl"])
        .stdout_ok();
    assert_eq!(jsonl(&out)[0]["status"], "readded");
    let log = std::fs::read_to_string(env.audit()).unwrap();
    let readd_intent = log
        .lines()
        .find(|l| l.contains("\"action\":\"readd\""))
        .unwrap();
    assert!(
        readd_intent.contains("\"role\":\"admin\""),
        "undo restores the recorded role: {readd_intent}"
    );
}

#[test]
fn readd_takes_the_role_this_profile_recorded_and_never_demotes() {
    let env = Env::new();
    let cfg = env.config(
        "default_profile = \"a\"\n[profiles.a]\nprovider = \"sandbox\"\n[profiles.b]\nprovider = \"sandbox\"\n",
        0o600,
    );
    let admin = jsonl(
        &env.cmd()
            .args(["members", STAFF, "--role", "admin", "--format", "jsonl"])
            .output()
            .unwrap()
            .stdout,
    )[0]["user"]
        .as_str()
        .unwrap()
        .to_string();
    env.cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["remove", STAFF, &admin, "--yes"])
        .assert()
        .success();
    // Each run starts a fresh sandbox, where the admin is still in the room:
    // only the role recorded by the same profile makes the re-add harmless.
    let readd = |profile: &str| {
        let out = env
            .cmd()
            .arg("--config")
            .arg(&cfg)
            .args(["--profile", profile, "readd", STAFF, &admin, "--yes"])
            .args(["--format", "jsonl"])
            .output()
            .unwrap();
        (out.status.code(), jsonl(&out.stdout).remove(0))
    };
    let (code, row) = readd("b");
    assert_eq!(code, Some(1), "profile b never removed anyone: {row}");
    assert_eq!(row["status"], "skipped");
    assert_eq!(
        row["reason"],
        "still in the room as admin; re-adding as member would demote them"
    );
    let (code, row) = readd("a");
    assert_eq!((code, &row["status"]), (Some(0), &Value::from("readded")));

    // Never removed: re-adding the only owner as a member is refused.
    let (code, row) = {
        let out = env
            .cmd()
            .args([
                "readd",
                FOUNDERS,
                FOUNDERS_OWNER,
                "--yes",
                "--format",
                "jsonl",
            ])
            .output()
            .unwrap();
        (out.status.code(), jsonl(&out.stdout).remove(0))
    };
    assert_eq!(code, Some(1));
    assert_eq!(row["status"], "skipped");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains("still in the room as owner")
    );
}

#[test]
fn csv_rows_carry_the_jsonl_values_with_a_header() {
    let env = Env::new();
    let csv = |args: &[&str]| {
        let out = env.cmd().args(args).args(["--format", "csv"]).stdout_ok();
        String::from_utf8(out).unwrap()
    };
    let rooms = csv(&["rooms"]);
    let mut lines = rooms.lines();
    assert_eq!(lines.next(), Some("room,name,members,active"));
    assert!(
        rooms.contains("\n10000000000000004,archive-2023,30,false\n"),
        "{rooms}"
    );
    assert!(
        rooms.contains("\n10000000000000003,founders,40,true\n"),
        "{rooms}"
    );
    assert_eq!(
        csv(&["profiles"]),
        "name,provider,base_url,default,read_only\nsandbox,sandbox,,true,false\n"
    );
    let members = csv(&["members", FOUNDERS]);
    assert_eq!(members.lines().next(), Some("room,user,name,role"));
    assert!(members.contains(&format!("\n{FOUNDERS},{FOUNDERS_OWNER},")));
}

#[test]
fn change_without_yes_on_a_pipe_is_refused_with_exit_2() {
    let env = Env::new();
    let assert = env
        .cmd()
        .args(["remove", FOUNDERS, "71000000000122502"])
        .write_stdin("")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        err.contains("--yes") && err.contains("not a terminal"),
        "{err}"
    );
    assert!(!env.audit().exists() || std::fs::read_to_string(env.audit()).unwrap().is_empty());
}

#[test]
fn users_can_be_piped_on_stdin() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["remove", FOUNDERS, "-", "--yes", "--format", "jsonl"])
        .write_stdin("71000000000122502\n\n71000000000122504\n")
        .stdout_ok();
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["status"] == "removed"));
    let err = env
        .cmd()
        .args(["remove", FOUNDERS, "-"])
        .write_stdin("x\n")
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&err.get_output().stderr).contains("--yes"));
}

#[test]
fn dry_run_sends_nothing() {
    let env = Env::new();
    let out = env
        .cmd()
        .args([
            "remove",
            FOUNDERS,
            "71000000000122502",
            "--dry-run",
            "--format",
            "jsonl",
        ])
        .stdout_ok();
    assert_eq!(jsonl(&out)[0]["status"], "dry_run");
    assert!(!env.audit().exists() || std::fs::read_to_string(env.audit()).unwrap().is_empty());
}

#[test]
fn apply_runs_a_ticket_file_across_rooms() {
    let env = Env::new();
    let ticket = env.home.dir.path().join("t.csv");
    std::fs::write(
        &ticket,
        format!("room,user,action,reason,ticket\n{FOUNDERS},71000000000122502,remove,spam,T-1\n{STAFF},nobody,remove,,T-2\n"),
    )
    .unwrap();
    let out = env
        .cmd()
        .arg("apply")
        .arg(&ticket)
        .args(["--yes", "--format", "jsonl"])
        .stdout_ok();
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["status"], "removed");
    assert_eq!(rows[1]["status"], "already_absent");

    let bad = env.home.dir.path().join("bad.jsonl");
    std::fs::write(&bad, format!("{{\"room\":\"{FOUNDERS}\",\"user\":\"u\",\"action\":\"remove\"}}\n{{\"room\":\"{FOUNDERS}\",\"user\":\"u2\",\"action\":\"ban\"}}\n")).unwrap();
    let before = std::fs::read_to_string(env.audit()).unwrap();
    let assert = env
        .cmd()
        .arg("apply")
        .arg(&bad)
        .arg("--yes")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        err.contains("bad.jsonl, line 2") && err.contains("ban"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(env.audit()).unwrap(),
        before,
        "nothing was sent"
    );
}

#[test]
fn audit_lists_records_and_last_n() {
    let env = Env::new();
    env.cmd()
        .args([
            "remove",
            FOUNDERS,
            "71000000000122502",
            "71000000000122503",
            "--yes",
        ])
        .assert()
        .success();
    let out = env.cmd().args(["audit", "--format", "jsonl"]).stdout_ok();
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["kind"], "intent");
    for field in [
        "ts", "operator", "profile", "provider", "room", "user", "action", "status", "reason",
        "ticket", "batch", "role",
    ] {
        assert!(rows[0].get(field).is_some(), "audit field {field}");
    }
    let out = env
        .cmd()
        .args(["audit", "--last", "1", "--format", "jsonl"])
        .stdout_ok();
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["kind"], "result");
    let out = env
        .cmd()
        .args(["audit", "--unfinished", "--format", "jsonl"])
        .stdout_ok();
    assert!(out.is_empty());
}

#[test]
fn read_only_refuses_changes_with_exit_2() {
    let env = Env::new();
    let a = env
        .cmd()
        .args([
            "--read-only",
            "remove",
            FOUNDERS,
            "71000000000122502",
            "--yes",
        ])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("read-only"));
    let cfg = env.config(
        "[profiles.ro]\nprovider = \"sandbox\"\nread_only = true\n",
        0o644,
    );
    let a = env
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["remove", FOUNDERS, "71000000000122502", "--yes"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("read_only = true"));
}

#[test]
fn config_errors_exit_2_with_a_clear_message() {
    let env = Env::new();
    let cases = [
        (
            "[profiles.p]\nprovider = \"sandbox\"\nlatencyms = 5\n",
            "unknown key `latencyms`",
        ),
        (
            "[profiles.p]\nprovider = \"nope\"\n",
            "unknown provider `nope`",
        ),
        ("[profiles.p\n", "not valid TOML"),
        (
            "[profiles.p]\nprovider = \"sandbox\"\nprotected_pattern = \"[\"\n",
            "protected_pattern",
        ),
        (
            "[profiles.p]\nprovider = \"sandbox\"\nfail_rate = 3.0\n",
            "fail_rate",
        ),
    ];
    for (text, needle) in cases {
        let cfg = env.config(text, 0o600);
        let a = env
            .cmd()
            .arg("--config")
            .arg(&cfg)
            .arg("rooms")
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
        assert!(err.contains(needle), "{text:?}: {err}");
    }
    let a = env
        .cmd()
        .args(["--config", "/nonexistent/roomwarden.toml", "rooms"])
        .assert()
        .code(2);
    assert!(
        String::from_utf8_lossy(&a.get_output().stderr).contains("/nonexistent/roomwarden.toml")
    );
    let a = env
        .cmd()
        .args(["--profile", "ghost", "rooms"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("unknown profile `ghost`"));
    env.cmd().args(["remove"]).assert().code(2);
    env.cmd()
        .args(["--format", "xml", "rooms"])
        .assert()
        .code(2);
}

#[test]
fn unusable_provider_exits_3_before_any_row() {
    let env = Env::new();
    let cfg = env.config(
        "[profiles.p]\nprovider = \"sandbox\"\nrefuse_auth = true\n",
        0o600,
    );
    let a = env
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .arg("rooms")
        .assert()
        .code(3);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("authentication refused"));
    let a = env
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["remove", FOUNDERS, "x", "--yes"])
        .assert()
        .code(3);
    assert!(a.get_output().stdout.is_empty());
}

#[test]
fn secrets_never_appear_in_output_or_audit() {
    let env = Env::new();
    let secret = "TOPSECRET-4d2f9";
    let text = format!(
        "default_profile = \"demo\"\n\
         [profiles.demo]\nprovider = \"sandbox\"\n\
         [profiles.lit]\nprovider = \"agora\"\nbase_url = \"http://127.0.0.1:9\"\norg = \"o\"\napp = \"a\"\ntoken = \"{secret}\"\n\
         [profiles.cmd]\nprovider = \"agora\"\nbase_url = \"http://127.0.0.1:9\"\norg = \"o\"\napp = \"a\"\ntoken_cmd = \"echo {secret}\"\n\
         [profiles.env]\nprovider = \"agora\"\nbase_url = \"http://127.0.0.1:9\"\norg = \"o\"\napp = \"a\"\ntoken_env = \"RW_TEST_SECRET\"\n"
    );
    // Group-readable: the literal secret is refused, without being echoed.
    let cfg = env.config(&text, 0o644);
    let mut outputs = Vec::new();
    for args in [
        vec!["profiles"],
        vec!["profiles", "--format", "jsonl"],
        vec!["-vv", "rooms"],
        vec!["-vv", "--profile", "lit", "rooms"],
        vec!["-vv", "--profile", "cmd", "rooms"],
        vec!["-vv", "--profile", "env", "rooms"],
        vec!["-vv", "remove", FOUNDERS, "71000000000122502", "--yes"],
        vec!["audit"],
    ] {
        let out = env
            .cmd()
            .env("RW_TEST_SECRET", secret)
            .arg("--config")
            .arg(&cfg)
            .args(&args)
            .output()
            .unwrap();
        outputs.push((args, out));
    }
    let lit = &outputs[3].1;
    assert_eq!(lit.status.code(), Some(2));
    let why = String::from_utf8_lossy(&lit.stderr).to_string();
    assert!(
        why.contains("chmod 600") || why.contains("not built into this version"),
        "{why}"
    );
    for (args, out) in &outputs {
        for stream in [&out.stdout, &out.stderr] {
            assert!(
                !String::from_utf8_lossy(stream).contains(secret),
                "{args:?} leaked the secret"
            );
        }
    }
    let log = std::fs::read_to_string(env.audit()).unwrap();
    assert!(!log.is_empty() && !log.contains(secret));
}

#[test]
fn killed_mid_run_leaves_intents_that_audit_unfinished_reports() {
    let env = Env::new();
    let cfg = env.config(
        "[profiles.slow]\nprovider = \"sandbox\"\nlatency_ms = 400\n",
        0o600,
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_roomwarden"))
        .env("HOME", env.home.dir.path())
        .arg("--config")
        .arg(&cfg)
        .arg("--audit-log")
        .arg(env.audit())
        .args([
            "remove",
            FOUNDERS,
            "71000000000122502",
            "71000000000122503",
            "--yes",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&env.audit(), "\"kind\":\"intent\"");
    child.kill().unwrap(); // SIGKILL: no chance to write results
    child.wait().unwrap();
    let out = env
        .cmd()
        .args(["audit", "--unfinished", "--format", "jsonl"])
        .assert()
        .success()
        .get_output()
        .clone();
    let rows = jsonl(&out.stdout);
    let users: Vec<&str> = rows.iter().map(|r| r["user"].as_str().unwrap()).collect();
    assert_eq!(users, ["71000000000122502", "71000000000122503"]);
    assert!(
        rows.iter()
            .all(|r| r["kind"] == "intent" && r["action"] == "remove")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("never answered"));
}

/// Polls a file until it contains `needle` (a condition, not a sleep of a
/// guessed length); gives up after 20 s.
fn wait_for(path: &Path, needle: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{needle} never appeared in {}",
            path.display()
        );
        std::thread::yield_now();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn the_example_config_parses() {
    let env = Env::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let out = env
        .cmd()
        .arg("--config")
        .arg(&example)
        .args(["profiles", "--format", "jsonl"])
        .stdout_ok();
    let names: Vec<String> = jsonl(&out)
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "agora-prod",
            "amity-chat",
            "amity-live",
            "demo",
            "imkit",
            "nandbox",
            "symphony"
        ]
    );
}

#[test]
fn a_room_that_cannot_be_read_is_one_error_not_failed_rows() {
    let env = Env::new();
    let out = env
        .cmd()
        .args([
            "remove",
            "19999999999999999",
            "71000000000122502",
            "71000000000122503",
            "--yes",
            "--format",
            "jsonl",
        ])
        .assert()
        .code(3);
    let o = out.get_output();
    assert!(
        o.stdout.is_empty(),
        "no rows: {:?}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("could not read room 19999999999999999") && err.contains("nothing was sent"),
        "{err}"
    );
    assert!(err.contains("again"), "says a retry may help: {err}");
    assert!(!env.audit().exists() || std::fs::read_to_string(env.audit()).unwrap().is_empty());
}

#[test]
fn readd_puts_back_only_users_this_tool_took_out_unless_forced() {
    let env = Env::new();
    let spam = "10000000000000006";
    // Never in the room, never removed: refused, saying how to force it.
    let out = env
        .cmd()
        .args(["readd", spam, "nobody", "--yes", "--format", "jsonl"])
        .assert()
        .code(1);
    let rows = jsonl(&out.get_output().stdout);
    assert_eq!(rows[0]["status"], "skipped", "{rows:?}");
    let why = rows[0]["reason"].as_str().unwrap();
    assert!(why.contains("audit") && why.contains("--force"), "{why}");
    // --force re-adds anyway; the role it had is not known, and the audit
    // says so instead of guessing.
    let out = env
        .cmd()
        .args([
            "readd", spam, "nobody", "--yes", "--force", "--format", "jsonl",
        ])
        .stdout_ok();
    assert_eq!(jsonl(&out)[0]["status"], "readded");
    let out = env.cmd().args(["audit", "--format", "jsonl"]).stdout_ok();
    let readd: Vec<Value> = jsonl(&out)
        .into_iter()
        .filter(|r| r["action"] == "readd")
        .collect();
    assert!(!readd.is_empty());
    assert!(readd.iter().all(|r| r["role"].is_null()), "{readd:?}");

    // A removal that finds the user gone records no role.
    env.cmd()
        .args(["remove", spam, "ghost-1", "--yes"])
        .assert()
        .success();
    let out = env.cmd().args(["audit", "--format", "jsonl"]).stdout_ok();
    let result: Value = jsonl(&out)
        .into_iter()
        .find(|r| r["user"] == "ghost-1" && r["kind"] == "result")
        .unwrap();
    assert_eq!(result["status"], "already_absent");
    assert!(result["role"].is_null(), "{result}");
}

#[cfg(target_os = "linux")]
#[test]
fn an_audit_log_that_cannot_be_written_is_exit_2_with_one_message() {
    let env = Env::new();
    let out = env
        .home
        .binary()
        .args(["--audit-log", "/dev/full", "--format", "jsonl"])
        .args(["remove", "10000000000000006", "71000000000122597", "--yes"])
        .assert()
        .code(2);
    let o = out.get_output();
    assert!(
        o.stdout.is_empty(),
        "no rows: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("/dev/full") && err.contains("nothing was sent"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one message: {err}");
}

#[test]
fn jsonl_rows_stream_out_as_they_finish() {
    let env = Env::new();
    // One removal per call at two calls a second: 40 users take ~20 s.
    let cfg = env.config(
        "[profiles.slow]\nprovider = \"sandbox\"\nmax_batch = 1\nrate_limit_per_sec = 2\n",
        0o600,
    );
    let users: Vec<String> = (0..40)
        .map(|i| format!("{}", 71000000000122600u64 + i))
        .collect();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_roomwarden"));
    cmd.env_remove("ROOMWARDEN_CONFIG")
        .env("HOME", env.home.dir.path())
        .arg("--config")
        .arg(&cfg)
        .arg("--audit-log")
        .arg(env.audit())
        .args(["--format", "jsonl", "remove", "10000000000000006"])
        .args(&users)
        .arg("--yes")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(still_running, "the first row came only at the end");
    let row: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(row["user"], users[0].as_str());
    assert_eq!(row["status"], "removed");
}

#[test]
fn every_command_checks_the_keys_table() {
    let env = Env::new();
    let profile = "[profiles.s]\nprovider = \"sandbox\"\n";
    let unknown = env.config(&format!("{profile}[keys]\nexplode = \"e\"\n"), 0o600);
    for args in [vec!["rooms"], vec!["profiles"], vec!["audit"]] {
        let out = env
            .cmd()
            .arg("--config")
            .arg(&unknown)
            .args(&args)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains("explode"), "{args:?}: {err}");
    }
    let taken = env.config(&format!("{profile}[keys]\nremove = \"j\"\n"), 0o600);
    let out = env
        .cmd()
        .arg("--config")
        .arg(&taken)
        .arg("rooms")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("`remove") && err.contains("`down`"), "{err}");
}

/// An unknown theme is a config error before anything runs: exit 2, one
/// message naming the profile, the key, the value and the themes there are.
#[test]
fn an_unknown_theme_exits_2_naming_it_and_the_themes() {
    let env = Env::new();
    let config = env.config(
        "[profiles.a]\nprovider = \"sandbox\"\ntheme = \"solarized\"\n",
        0o600,
    );
    for args in [vec!["rooms"], vec![]] {
        let out = env
            .cmd()
            .arg("--config")
            .arg(&config)
            .args(&args)
            .env("TERM", "xterm")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("profile `a`: key `theme` = \"solarized\"")
                && stderr.contains("dark, light, high-contrast"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: no rows");
    }
}

/// A theme of the user's own: `themes/NAME.toml` beside the config file,
/// in the format of the embedded ones. A broken one stops the console
/// before it takes the terminal (exit 2, naming the file and the key);
/// commands, which draw nothing, run.
#[test]
fn a_user_theme_is_read_from_beside_the_config() {
    let env = Env::new();
    let config = env.config(
        "[profiles.a]\nprovider = \"sandbox\"\ntheme = \"solarized\"\n",
        0o600,
    );
    let themes = config.parent().unwrap().join("themes");
    std::fs::create_dir_all(&themes).unwrap();
    let dark = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/themes/dark.toml"),
    )
    .unwrap();
    let broken = dark.replace("header = \"cyan\"", "header = \"not-a-colour\"");
    assert_ne!(broken, dark);
    std::fs::write(themes.join("solarized.toml"), &broken).unwrap();
    let run = |args: &[&str]| {
        env.cmd()
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("TERM", "xterm")
            .output()
            .unwrap()
    };
    let out = run(&["rooms"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("theme `solarized`")
            && stderr.contains("`header`")
            && stderr.contains("solarized.toml"),
        "{stderr}"
    );

    // A name that is not a file name is refused as a theme, never read as
    // a path.
    let config = env.config(
        "[profiles.a]\nprovider = \"sandbox\"\ntheme = \"../../etc/passwd\"\n",
        0o600,
    );
    let out = env
        .cmd()
        .arg("--config")
        .arg(&config)
        .arg("rooms")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not a theme"), "{stderr}");
}

//! Shell integration and conventions over the sandbox: completions, the
//! manual page, `--version`, `--format json`, `profiles --check` and
//! `paths`.

mod common;

use common::{Isolated, RunOk, jsonl};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

const FOUNDERS: &str = "10000000000000003";
const LOBBY: &str = "10000000000000001";

fn json(out: &[u8]) -> Vec<Value> {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("one JSON array: {e}\n{}", String::from_utf8_lossy(out)))
}

fn write_config(home: &Isolated, text: &str) -> PathBuf {
    let path = home.path("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    let home = Isolated::default();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = home.binary().args(["completions", shell]).stdout_ok();
        let script = String::from_utf8(out).unwrap();
        for sub in [
            "profiles", "rooms", "members", "remove", "readd", "paths", "man",
        ] {
            assert!(script.contains(sub), "{shell} script lacks `{sub}`");
        }
        assert!(script.contains("roomwarden"), "{shell}");
    }
    // Completions ignore --format and need no config.
    let out = home
        .binary()
        .args(["--format", "json", "--config", "/nonexistent.toml"])
        .args(["completions", "bash"])
        .stdout_ok();
    assert!(String::from_utf8(out).unwrap().contains("complete -F"));
    home.binary().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn man_prints_a_roff_page_with_every_command() {
    let home = Isolated::default();
    let page = String::from_utf8(home.binary().arg("man").stdout_ok()).unwrap();
    let th = page
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect("a .TH line");
    assert!(th.starts_with(".TH roomwarden 1"), "{th}");
    // Only roff requests (string definitions) come before the title.
    for line in page.lines().take_while(|l| !l.starts_with(".TH ")) {
        assert!(line.starts_with('.'), "{line}");
    }
    for sub in ["profiles", "paths", "completions", "resume"] {
        assert!(page.contains(sub), "the page names `{sub}`");
    }
}

/// Whether `commit` names a commit of this checkout (`git cat-file`);
/// `None` when there is no git checkout to ask.
fn is_a_commit_here(commit: &str) -> Option<bool> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !dir.join(".git").exists() {
        return None;
    }
    let out = Command::new("git")
        .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
        .current_dir(dir)
        .output()
        .ok()?;
    Some(out.status.success())
}

#[test]
fn version_names_the_version_and_the_commit() {
    let home = Isolated::default();
    let out = String::from_utf8(home.binary().arg("--version").stdout_ok()).unwrap();
    // The commit this build embedded (build.rs sets it for every target of
    // the package): HEAD at build time, which later commits do not change.
    let commit = env!("ROOMWARDEN_COMMIT");
    assert_eq!(
        out,
        format!(
            "roomwarden {} (commit {commit})\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    match is_a_commit_here(commit) {
        // A git checkout: the build names one of its commits.
        Some(found) => assert!(found, "`{commit}` is not a commit of this checkout"),
        // No checkout (a source tarball): nothing to name.
        None => assert_eq!(commit, "unknown"),
    }
}

/// The same command in jsonl and in json, each in a fresh HOME (a fresh
/// sandbox world and audit log): the array holds exactly the jsonl rows.
fn same_rows(args: &[&str]) {
    let run = |format: &str| {
        let home = Isolated::default();
        let out = home
            .binary()
            .args(args)
            .args(["--format", format])
            .output()
            .unwrap();
        (out.status.code(), out.stdout)
    };
    let (code_l, lines) = run("jsonl");
    let (code_j, array) = run("json");
    assert_eq!(code_l, code_j, "{args:?}");
    let array = json(&array);
    assert!(!array.is_empty(), "{args:?}");
    assert_eq!(array, jsonl(&lines), "{args:?}");
}

#[test]
fn json_is_one_array_of_the_jsonl_rows_for_every_command() {
    same_rows(&["profiles"]);
    same_rows(&["rooms"]);
    same_rows(&["members", FOUNDERS]);
    same_rows(&["members", FOUNDERS, "--role", "owner"]);
    same_rows(&[
        "remove",
        FOUNDERS,
        "71000000000122502",
        "71000000000122501",
        "nobody-here",
        "--dry-run",
    ]);
    same_rows(&[
        "remove",
        FOUNDERS,
        "71000000000122502",
        "71000000000122503",
        "--yes",
    ]);
    same_rows(&["profiles", "--check"]);

    // audit, resume and apply over one shared HOME.
    let home = Isolated::default();
    home.binary()
        .args(["remove", FOUNDERS, "71000000000122502", "--yes"])
        .args(["--ticket", "T-1"])
        .stdout_ok();
    for args in [vec!["audit"], vec!["audit", "--last", "1"], vec!["paths"]] {
        let lines = home
            .binary()
            .args(&args)
            .args(["--format", "jsonl"])
            .stdout_ok();
        let array = home
            .binary()
            .args(&args)
            .args(["--format", "json"])
            .stdout_ok();
        assert_eq!(json(&array), jsonl(&lines), "{args:?}");
        assert!(!jsonl(&lines).is_empty());
    }
    let tickets = home.path("tickets.csv");
    std::fs::write(
        &tickets,
        format!("room,user,action\n{FOUNDERS},71000000000122504,remove\n{FOUNDERS},71000000000122505,remove\n"),
    )
    .unwrap();
    let array = home
        .binary()
        .args(["apply", tickets.to_str().unwrap(), "--dry-run"])
        .args(["--format", "json"])
        .stdout_ok();
    let rows = json(&array);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["user"], "71000000000122505");
    assert_eq!(rows[1]["status"], "dry_run");
}

#[test]
fn json_without_rows_or_after_an_error_is_an_empty_array() {
    let home = Isolated::default();
    let empty = |args: &[&str], code: i32| {
        let out = home
            .binary()
            .args(args)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        assert_eq!(out.stdout, b"[]\n", "{args:?}");
    };
    // No rows: an audit log that does not exist yet; nothing to resume.
    empty(&["audit"], 0);
    empty(&["audit", "--unfinished"], 0);
    empty(&["resume"], 0);
    empty(&["members", FOUNDERS, "--role", "admin"], 0);
    // Errors: a room that does not exist, no --yes off a terminal, a
    // config file that is not there.
    // A room that cannot be read: exit 3 (a lookup failed, no rows).
    empty(&["members", "no-such-room"], 3);
    empty(&["remove", FOUNDERS, "71000000000122502"], 2);
    empty(&["--config", "/nonexistent/roomwarden.toml", "rooms"], 2);
}

#[test]
fn profiles_check_reports_each_profile_and_exits_3_naming_the_first_failure() {
    let home = Isolated::default();
    // The built-in sandbox answers.
    let rows = json(
        &home
            .binary()
            .args(["profiles", "--check", "--format", "json"])
            .stdout_ok(),
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "sandbox");
    assert_eq!(rows[0]["status"], "ok");
    assert_eq!(rows[0]["reason"], Value::Null);

    let config = write_config(
        &home,
        "default_profile = \"good\"\n\
         [profiles.good]\nprovider = \"sandbox\"\n\
         [profiles.limited]\nprovider = \"sandbox\"\nlimited = true\nrooms = [\"10000000000000001\"]\n\
         [profiles.refused]\nprovider = \"sandbox\"\nrefuse_auth = true\n\
         [profiles.unset]\nprovider = \"agora\"\nbase_url = \"http://127.0.0.1:9\"\norg = \"o\"\napp = \"a\"\ntoken_env = \"RW_TEST_NEVER_SET\"\n",
    );
    let out = home
        .binary()
        .env_remove("RW_TEST_NEVER_SET")
        .arg("--config")
        .arg(&config)
        .args(["profiles", "--check", "--format", "jsonl"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("profile `refused` failed its check")
            && stderr.contains("credentials refused"),
        "{stderr}"
    );
    let rows = jsonl(&out.stdout);
    let status: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        status,
        [
            ("good", "ok"),
            ("limited", "ok"),
            ("refused", "failed"),
            ("unset", "failed")
        ]
    );
    assert!(
        rows[3]["reason"]
            .as_str()
            .unwrap()
            .contains("RW_TEST_NEVER_SET"),
        "{:?}",
        rows[3]
    );

    // --profile checks that one only.
    let rows = jsonl(
        &home
            .binary()
            .arg("--config")
            .arg(&config)
            .args([
                "--profile",
                "limited",
                "profiles",
                "--check",
                "--format",
                "jsonl",
            ])
            .stdout_ok(),
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "limited");
    let out = home
        .binary()
        .arg("--config")
        .arg(&config)
        .args(["--profile", "refused", "profiles", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.starts_with("NAME") && table.contains("failed"),
        "{table}"
    );
    // An unknown profile is a usage error.
    home.binary()
        .arg("--config")
        .arg(&config)
        .args(["--profile", "nope", "profiles", "--check"])
        .assert()
        .code(2);
}

/// `paths` rows by name: (path, from, exists).
fn paths(cmd: &mut assert_cmd::Command) -> Vec<(String, String, String, bool)> {
    json(&cmd.args(["paths", "--format", "json"]).stdout_ok())
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
                r["from"].as_str().unwrap().to_string(),
                r["exists"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn paths_follow_the_flags_the_environment_and_the_platform_dirs() {
    let home = Isolated::default();
    let p = |rel: &str| home.path(rel).display().to_string();
    assert_eq!(
        paths(&mut home.binary()),
        [
            (
                "config".into(),
                p("xdg-config/roomwarden/config.toml"),
                "default".into(),
                false
            ),
            (
                "audit_log".into(),
                p("xdg-data/roomwarden/audit.jsonl"),
                "default".into(),
                false
            ),
            (
                "log".into(),
                p("xdg-state/roomwarden/roomwarden.log"),
                "default".into(),
                false
            ),
            (
                "export_dir".into(),
                p("xdg-data/roomwarden/exports"),
                "default".into(),
                false
            ),
            (
                "themes".into(),
                p("xdg-config/roomwarden/themes"),
                "default".into(),
                false
            ),
        ]
    );

    let config = write_config(
        &home,
        "export_dir = \"/srv/exports\"\n[profiles.demo]\nprovider = \"sandbox\"\n",
    );
    let rows = paths(
        home.binary()
            .env("ROOMWARDEN_CONFIG", &config)
            .args(["--audit-log", "/tmp/rw-audit.jsonl"]),
    );
    assert_eq!(
        rows[0],
        (
            "config".into(),
            config.display().to_string(),
            "ROOMWARDEN_CONFIG".into(),
            true
        )
    );
    assert_eq!(rows[1].1, "/tmp/rw-audit.jsonl");
    assert_eq!(rows[1].2, "--audit-log");
    assert_eq!(rows[3].1, "/srv/exports");
    assert_eq!(rows[3].2, "export_dir");
    // The user's themes sit beside the config file that was chosen.
    assert_eq!(
        rows[4].1,
        config
            .parent()
            .unwrap()
            .join("themes")
            .display()
            .to_string()
    );
    assert_eq!(rows[4].2, "ROOMWARDEN_CONFIG");

    // --config wins over the variable; a broken file still shows its paths.
    let broken = home.path("broken.toml");
    std::fs::write(&broken, "this is not toml = = =\n").unwrap();
    let out = home
        .binary()
        .env("ROOMWARDEN_CONFIG", &config)
        .arg("--config")
        .arg(&broken)
        .arg("paths")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains(&broken.display().to_string()) && table.contains("--config"),
        "{table}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning"));
}

/// A slow sandbox removal of `n` lobby members, one per call, with rows
/// in json: the child, and its stdout and stderr as they come.
fn slow_removal(
    home: &Isolated,
    n: usize,
) -> (Child, mpsc::Receiver<Vec<u8>>, mpsc::Receiver<String>) {
    let config = write_config(
        home,
        "[profiles.slow]\nprovider = \"sandbox\"\nlatency_ms = 1500\nmax_batch = 1\n",
    );
    let users: Vec<String> = jsonl(
        &home
            .binary()
            .args(["members", LOBBY, "--role", "member", "--format", "jsonl"])
            .stdout_ok(),
    )
    .iter()
    .take(n)
    .map(|r| r["user"].as_str().unwrap().to_string())
    .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_roomwarden"))
        .env_remove("ROOMWARDEN_CONFIG")
        .env("HOME", home.dir.path())
        .env("XDG_DATA_HOME", home.path("xdg-data"))
        .env("XDG_STATE_HOME", home.path("xdg-state"))
        .arg("--config")
        .arg(&config)
        .args(["--format", "json", "remove", LOBBY])
        .args(&users)
        .arg("--yes")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out_tx, out_rx) = mpsc::channel();
    let mut stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || out_tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let (err_tx, err_rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if err_tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, out_rx, err_rx)
}

fn interrupt(child: &Child) {
    let out = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "kill -INT: {out:?}");
}

/// Reads stdout until a row has come; returns what was read.
fn until_a_row(out: &mpsc::Receiver<Vec<u8>>) -> Vec<u8> {
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("\"status\"") {
        seen.extend(out.recv().expect("a row before the end"));
    }
    seen
}

#[test]
fn an_interrupted_json_run_still_prints_one_array() {
    // ctrl-c once: the calls in flight finish, the rest end `skipped`.
    let home = Isolated::default();
    let (mut child, out, _err) = slow_removal(&home, 40);
    let mut seen = until_a_row(&out);
    interrupt(&child);
    seen.extend(out.iter().flatten());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let rows = json(&seen);
    assert_eq!(rows.len(), 40);
    assert!(rows.iter().any(|r| r["status"] == "removed"));
    assert!(rows.iter().any(|r| r["reason"] == "cancelled"));

    // ctrl-c twice: aborted at once, the rows printed so far in a closed array.
    let home = Isolated::default();
    let (mut child, out, err) = slow_removal(&home, 40);
    let mut seen = until_a_row(&out);
    interrupt(&child);
    err.iter()
        .find(|l| l.contains("ctrl-c again to abort"))
        .expect("the cancel notice");
    interrupt(&child);
    seen.extend(out.iter().flatten());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let rows = json(&seen);
    assert!(!rows.is_empty() && rows.len() < 40, "{}", rows.len());
}

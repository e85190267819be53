//! The CLI on a provider that cannot list (the sandbox in limited mode):
//! configured rooms with a note, partial member lists with a note, and
//! changes on ids it is given, looked up one by one before anything is sent.

mod common;

use common::{Isolated, RunOk, jsonl};

const SPAM: &str = "10000000000000006";

fn limited(home: &Isolated) -> std::path::PathBuf {
    let path = home.path("limited.toml");
    std::fs::write(
        &path,
        format!("[profiles.l]\nprovider = \"sandbox\"\nlimited = true\nrooms = [\"{SPAM}\"]\n"),
    )
    .unwrap();
    path
}

#[test]
fn configured_rooms_and_partial_members_say_so() {
    let home = Isolated::default();
    let config = limited(&home);
    let out = home
        .binary()
        .args([
            "--config",
            config.to_str().unwrap(),
            "--format",
            "jsonl",
            "rooms",
        ])
        .assert()
        .success();
    let rows = jsonl(&out.get_output().stdout);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["room"], SPAM);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("cannot list rooms"), "{err}");

    let out = home
        .binary()
        .args([
            "--config",
            config.to_str().unwrap(),
            "--format",
            "jsonl",
            "members",
            SPAM,
        ])
        .assert()
        .success();
    let rows = jsonl(&out.get_output().stdout);
    assert!(
        !rows.is_empty() && rows.len() < 10,
        "only staff are known: {rows:?}"
    );
    assert!(rows.iter().all(|r| r["role"] != "member"));
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("partial list"), "{err}");
}

#[test]
fn changes_work_on_given_ids_without_a_listing() {
    let home = Isolated::default();
    let config = limited(&home);
    let out = home
        .binary()
        .args([
            "--config",
            config.to_str().unwrap(),
            "--format",
            "jsonl",
            "remove",
            SPAM,
            "71000000000122597",
            "71999999999999999",
            "71000000000122595",
            "--yes",
        ])
        .assert()
        .code(1);
    let rows = jsonl(&out.get_output().stdout);
    let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    // A member removed, a stranger found absent by the lookup (nothing
    // sent), the room's only owner kept.
    assert_eq!(status, ["removed", "already_absent", "skipped"], "{rows:?}");
    assert!(
        rows[1]["reason"].as_str().unwrap().contains("looked up"),
        "{rows:?}"
    );
    // The dry run of the same ids plans without sending.
    let out = home
        .binary()
        .args([
            "--config",
            config.to_str().unwrap(),
            "--format",
            "jsonl",
            "remove",
            SPAM,
            "71000000000122598",
            "--dry-run",
        ])
        .stdout_ok();
    assert_eq!(jsonl(&out)[0]["status"], "dry_run");
}

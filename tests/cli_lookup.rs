//! Where the binary finds its config and audit log (CLI.md, GLOBAL):
//! `--config`, else `ROOMWARDEN_CONFIG`, else the platform config dir's
//! `roomwarden/config.toml`, else the built-in sandbox; `--audit-log`, else
//! the platform data dir's `roomwarden/audit.jsonl`.

mod common;

use assert_cmd::Command;
use common::RunOk;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A private HOME with XDG dirs under it, and nothing else set.
#[derive(Default)]
struct Home(common::Isolated);

impl Home {
    fn new() -> Self {
        Self::default()
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.0.path(rel)
    }
    fn cmd(&self) -> Command {
        self.0.binary()
    }
    /// Writes a config with one sandbox profile called `name`.
    fn config_named(&self, rel: &str, name: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            format!("[profiles.{name}]\nprovider = \"sandbox\"\n"),
        )
        .unwrap();
        path
    }
}

/// The profile names `profiles --format jsonl` lists.
fn profile_names(c: &mut Command) -> Vec<String> {
    let out = c.args(["profiles", "--format", "jsonl"]).stdout_ok();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn config_is_looked_up_flag_then_env_then_platform_dir_then_builtin() {
    let home = Home::new();
    assert_eq!(
        profile_names(&mut home.cmd()),
        ["sandbox"],
        "nothing: built in"
    );

    home.config_named("xdg-config/roomwarden/config.toml", "from-platform-dir");
    assert_eq!(profile_names(&mut home.cmd()), ["from-platform-dir"]);

    let env_file = home.config_named("env.toml", "from-env");
    assert_eq!(
        profile_names(home.cmd().env("ROOMWARDEN_CONFIG", &env_file)),
        ["from-env"]
    );

    let flag_file = home.config_named("flag.toml", "from-flag");
    assert_eq!(
        profile_names(
            home.cmd()
                .env("ROOMWARDEN_CONFIG", &env_file)
                .arg("--config")
                .arg(&flag_file)
        ),
        ["from-flag"]
    );
}

#[test]
fn a_missing_config_named_by_the_environment_is_exit_2() {
    let home = Home::new();
    let missing = home.path("nowhere/config.toml");
    let a = home
        .cmd()
        .env("ROOMWARDEN_CONFIG", &missing)
        .arg("rooms")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("ROOMWARDEN_CONFIG"),
        "{err}"
    );
    assert!(a.get_output().stdout.is_empty());
}

#[test]
fn the_audit_log_defaults_to_the_platform_data_dir() {
    let home = Home::new();
    home.cmd()
        .args(["remove", "10000000000000003", "71000000000122502", "--yes"])
        .assert()
        .success();
    let log: &Path = &home.path("xdg-data/roomwarden/audit.jsonl");
    let text = std::fs::read_to_string(log).expect("audit log in the data dir");
    assert_eq!(text.lines().count(), 2, "one intent and one result");
    let out = home.cmd().args(["audit", "--format", "jsonl"]).stdout_ok();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
}

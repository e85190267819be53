//! Helpers shared by the tests that run the real binary.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

/// A private HOME (with the XDG config, data and state dirs under it) so a
/// test never reads or writes the developer's own config or audit log.
pub struct Isolated {
    pub dir: tempfile::TempDir,
}

impl Default for Isolated {
    fn default() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
}

impl Isolated {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The binary with only this HOME: no `ROOMWARDEN_CONFIG`, so with no
    /// `--config` it finds no file and uses the built-in sandbox.
    pub fn binary(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_roomwarden"));
        c.env_remove("ROOMWARDEN_CONFIG")
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("xdg-config"))
            .env("XDG_DATA_HOME", self.path("xdg-data"))
            .env("XDG_STATE_HOME", self.path("xdg-state"));
        c
    }
}

/// Runs and asserts success; returns stdout.
pub trait RunOk {
    fn stdout_ok(&mut self) -> Vec<u8>;
}

impl RunOk for Command {
    fn stdout_ok(&mut self) -> Vec<u8> {
        self.assert().success().get_output().stdout.clone()
    }
}

/// Parses JSON Lines output, one value per line.
pub fn jsonl(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl row"))
        .collect()
}

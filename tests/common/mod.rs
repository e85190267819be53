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

/// The binary against a fake server: a config and an audit log in a temp
/// dir, the profile's secret passed in the environment variable `env`.
/// Runs off the async runtime, so an in-process fake keeps serving.
pub struct FakeCli {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub audit: PathBuf,
    env: &'static str,
    log: Option<&'static str>,
}

impl FakeCli {
    /// `config` is the whole config file's text.
    pub fn new(config: String, env: &'static str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        Self {
            audit: dir.path().join("audit.jsonl"),
            config: path,
            dir,
            env,
            log: None,
        }
    }

    /// Logs everything to stderr (`ROOMWARDEN_LOG=trace`, the libraries'
    /// own traces included), so a secret in any trace would show.
    pub fn traced(mut self) -> Self {
        self.log = Some("trace");
        self
    }

    /// `--config`, `--audit-log`, `--format jsonl`, then `rest`.
    pub fn args(&self, rest: &[&str]) -> Vec<String> {
        let mut v = vec![
            "--config".to_string(),
            self.config.display().to_string(),
            "--audit-log".to_string(),
            self.audit.display().to_string(),
            "--format".to_string(),
            "jsonl".to_string(),
        ];
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    }

    /// Runs `rest` (after [`FakeCli::args`]) with `secret` in the env.
    pub async fn run(&self, rest: &[&str], secret: &str) -> std::process::Output {
        run_with_secret(self.args(rest), self.env, secret, self.log).await
    }

    /// Each command run with a secret the server refuses exits 3 saying
    /// so, and `shown` (the secret, or the part of it that is secret)
    /// appears nowhere: not on stdout, stderr nor in the audit log.
    pub async fn refused_unseen(&self, cmds: &[&[&str]], secret: &str, shown: &str) {
        for cmd in cmds {
            let out = self.run(cmd, secret).await;
            let (stdout, stderr) = (
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            assert_eq!(out.status.code(), Some(3), "{cmd:?}: {stderr}");
            assert!(
                !stdout.contains(shown) && !stderr.contains(shown),
                "{cmd:?}: the secret was shown: {stderr}"
            );
            assert!(stderr.contains("authentication refused"), "{stderr}");
        }
        let audit = std::fs::read_to_string(&self.audit).unwrap_or_default();
        assert!(!audit.contains(shown), "the secret is in the audit log");
    }
}

/// Runs the binary with `args` and `secret` in the environment variable
/// `env`, off the async runtime; `log` sets `ROOMWARDEN_LOG`.
pub async fn run_with_secret(
    args: Vec<String>,
    env: &'static str,
    secret: &str,
    log: Option<&'static str>,
) -> std::process::Output {
    let secret = secret.to_string();
    tokio::task::spawn_blocking(move || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_roomwarden"));
        c.args(&args).env(env, secret);
        match log {
            Some(level) => c.env("ROOMWARDEN_LOG", level),
            None => c.env_remove("ROOMWARDEN_LOG"),
        };
        c.timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("run roomwarden")
    })
    .await
    .unwrap()
}

/// A profile `t` of `provider` with `body`, as a config file would give it
/// (literal secrets allowed: there is no file to check).
pub fn parse_profile(provider: &str, body: &str) -> Result<roomwarden::config::Profile, String> {
    let text = format!("[profiles.t]\nprovider = \"{provider}\"\n{body}\n");
    let path = format!("{provider}-test.toml");
    let config = roomwarden::config::Config::parse(&text, std::path::Path::new(&path), None)
        .map_err(|e| e.to_string())?;
    Ok(config.profile(None).map_err(|e| e.to_string())?.clone())
}

/// The generated world with every room active, as a provider without
/// deactivated rooms (Agora) sees it.
pub fn active_world() -> roomwarden::provider::sandbox::world::SharedWorld {
    use roomwarden::provider::sandbox::world;
    let shared = world::World::generate().shared();
    {
        let mut w = world::lock(&shared);
        let ids: Vec<roomwarden::model::RoomId> = w.rooms().iter().map(|r| r.id.clone()).collect();
        for id in ids {
            w.room_mut(&id).unwrap().active = true;
        }
    }
    shared
}

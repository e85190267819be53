//! A throwaway PostgreSQL cluster for one test: `initdb` and `pg_ctl` from
//! the system's server packages, listening only on a Unix socket in a
//! fresh temporary directory, with fsync off, stopped and removed on drop.
//!
//! As root (initdb refuses root) the server runs as the `postgres` system
//! user when there is one, else `nobody`, through `runuser`.
//!
//! [`Cluster::start`] returns `None`, after printing why, only when no
//! server binaries can be found; `scripts/test` installs them and sets
//! `ROOMWARDEN_REQUIRE_PG=1`, which turns that into a failure.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where `initdb`, `pg_ctl` and `postgres` are, if anywhere.
pub fn find_bin() -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("ROOMWARDEN_PG_BIN").map(PathBuf::from) {
        return has_all(&dir).then_some(dir);
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        candidates.push(PathBuf::from(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ));
    }
    // Debian/Ubuntu: /usr/lib/postgresql/<major>/bin, newest first.
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let major = e.file_name().to_str()?.parse().ok()?;
                Some((major, e.path().join("bin")))
            })
            .collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.0));
        candidates.extend(versions.into_iter().map(|(_, p)| p));
    }
    // Fedora and others: on the PATH.
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates.into_iter().find(|d| has_all(d))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(name)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A running throwaway cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    run_as: Option<String>,
    running: bool,
}

impl Cluster {
    /// Starts a cluster, or says why not and returns `None` when the
    /// server binaries cannot be found (and are not required).
    pub fn start() -> Option<Self> {
        let Some(bin) = find_bin() else {
            let why = "SKIPPED: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; \
                       install PostgreSQL (scripts/test does) or set ROOMWARDEN_PG_BIN";
            if std::env::var("ROOMWARDEN_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("{why} (ROOMWARDEN_REQUIRE_PG=1)");
            }
            eprintln!("{why}");
            return None;
        };
        let run_as = is_root().then(|| {
            if user_exists("postgres") {
                "postgres".to_string()
            } else {
                "nobody".to_string()
            }
        });
        // Short paths: a socket path must fit in ~100 bytes.
        let base = if Path::new("/tmp").is_dir() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("rw-pg-")
            .tempdir_in(base)
            .expect("temporary directory for the cluster");
        if let Some(user) = &run_as {
            let out = Command::new("chown")
                .arg(user)
                .arg(dir.path())
                .output()
                .expect("chown");
            assert!(out.status.success(), "chown {user}: {}", text(&out));
        }
        let mut cluster = Self {
            dir,
            bin,
            run_as,
            running: false,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "roomwarden",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        cluster.start_server();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory holding the server's socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `postgres://roomwarden@<socket dir>/postgres`.
    pub fn url(&self) -> String {
        let host: String = self
            .socket_dir()
            .to_str()
            .unwrap()
            .replace('%', "%25")
            .replace('/', "%2F");
        format!("postgres://roomwarden@{host}/postgres")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = self
            .command(program)
            .args(args)
            .current_dir(self.dir.path())
            .env("LC_ALL", "C")
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}\nserver log:\n{}",
            text(&out),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
        out
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_server(&mut self) {
        let data = self.data();
        let log = self.dir.path().join("server.log");
        let opts = format!(
            "-k {} -c listen_addresses='' -F -c max_connections=200",
            self.socket_dir().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &opts,
                "-w",
                "-t",
                "120",
                "start",
            ],
        );
        self.running = true;
    }

    /// Stops the server at once (no clean shutdown), as a crash would.
    pub fn stop_server(&mut self) {
        if !self.running {
            return;
        }
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
        self.running = false;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_server();
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

//! The real binary in tmux on the built-in sandbox: open the 120,000-member
//! room, mark three users, remove them with confirmation, read the three
//! result rows, quit, and check the terminal is back to the shell.
//!
//! Waits poll `tmux capture-pane` until the expected text shows (with a
//! generous deadline); nothing waits a fixed time.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        let out = self.cmd(&args);
        assert!(out.status.success(), "send-keys {keys:?}: {out:?}");
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// Polls the pane until `pred` holds; panics with the last screen.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen was:\n{s}"
            );
            std::thread::yield_now();
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Tests run in parallel threads: each gets its own tmux server.
static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn start(dir: &Path, args: &str) -> Tmux {
    start_then(dir, args, "")
}

/// Like `start`; `after` runs in the shell once roomwarden has exited.
fn start_then(dir: &Path, args: &str, after: &str) -> Tmux {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let audit = dir.join("audit.jsonl");
    let bin = env!("CARGO_BIN_EXE_roomwarden");
    let t = Tmux {
        socket: format!(
            "roomwarden-e2e-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ),
        session: "rw".into(),
    };
    let shell = format!(
        "cd '{}' && '{}' --audit-log '{}' {args}; echo ROOMWARDEN-EXITED-$?; {after} exec sleep 600",
        dir.display(),
        bin,
        audit.display()
    );
    let out = Command::new("tmux")
        .args(["-L", &t.socket, "-f", "/dev/null"])
        .args([
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            "100",
            "-y",
            "30",
            "sh",
            "-c",
            &shell,
        ])
        .env_remove("ROOMWARDEN_CONFIG")
        .env_remove("NO_COLOR")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("TERM", "xterm-256color")
        .output()
        .expect("tmux starts");
    assert!(out.status.success(), "tmux new-session failed: {out:?}");
    t
}

#[test]
fn bulk_remove_three_users_in_the_jumbo_room() {
    assert!(
        tmux_available(),
        "tmux is required for the console end-to-end test: install it (apt-get install tmux)"
    );
    let dir = tempfile::tempdir().unwrap();
    let t = start(dir.path(), "");

    t.wait_for("the rooms list", |s| {
        s.contains("town-square") && s.contains("120,000")
    });
    t.keys(&["j", "Enter"]);
    t.wait_for("the members of town-square", |s| {
        s.contains("town-square (10000000000000002)") && s.contains("DISPLAY NAME")
    });
    // Past the owners and admins, then mark three members.
    t.keys(&["C-d"]);
    t.keys(&["Space", "Space", "Space"]);
    t.wait_for("three marks", |s| s.contains("marked 3"));
    t.keys(&["d"]);
    t.wait_for("the confirm popup with its plan", |s| {
        s.contains("Remove 3 marked users") && s.contains("3 to send")
    });
    t.keys(&["y"]);
    let s = t.wait_for("the results", |s| s.contains("batch done: 3 removed"));
    let rows: Vec<&str> = s
        .lines()
        .filter(|l| l.contains("remove  removed") && l.contains("71"))
        .collect();
    assert_eq!(rows.len(), 3, "three result rows:\n{s}");

    t.keys(&["q"]);
    let s = t.wait_for("the shell after quitting", |s| {
        s.contains("ROOMWARDEN-EXITED-0")
    });
    assert!(
        !s.contains("results") && !s.contains("DISPLAY NAME"),
        "the alternate screen was left:\n{s}"
    );

    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert_eq!(
        audit.lines().filter(|l| l.contains("\"removed\"")).count(),
        3
    );
}

#[test]
fn an_unreachable_provider_is_reported_and_no_secret_reaches_the_log() {
    assert!(
        tmux_available(),
        "tmux is required: install it (apt-get install tmux)"
    );
    let dir = tempfile::tempdir().unwrap();
    let secret = "TUI-SECRET-93c1";
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.agora]\nprovider = \"agora\"\nbase_url = \"http://127.0.0.1:9\"\n\
             org = \"o\"\napp = \"a\"\ntoken_cmd = \"echo {secret}\"\ntimeout_secs = 2\n"
        ),
    )
    .unwrap();
    let t = start(dir.path(), &format!("--config '{}' -vv", config.display()));
    let s = t.wait_for("the connection error in the status line", |s| {
        s.contains("cannot connect")
    });
    assert!(s.contains("agora"), "the error names the provider:\n{s}");
    assert!(!s.contains(secret));
    t.keys(&["q"]);
    t.wait_for("the shell after quitting", |s| {
        s.contains("ROOMWARDEN-EXITED-0")
    });
    let log = dir
        .path()
        .join("home/.local/state/roomwarden/roomwarden.log");
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(
        text.contains("console started"),
        "the log is written: {text}"
    );
    assert!(!text.contains(secret), "the log holds the secret:\n{text}");
}

/// The pid of the roomwarden process the pane's shell started.
fn roomwarden_pid(t: &Tmux) -> String {
    let out = t.cmd(&["list-panes", "-t", &t.session, "-F", "#{pane_pid}"]);
    let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().to_string();
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let ppid = after.split_whitespace().nth(1).unwrap_or("");
        if ppid == shell && stat.contains("(roomwarden)") {
            return pid;
        }
    }
    panic!("no roomwarden process under the pane's shell {shell}");
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    assert!(
        tmux_available(),
        "tmux is required: install it (apt-get install tmux)"
    );
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let dir = tempfile::tempdir().unwrap();
        // After the exit, the shell prints the terminal modes that matter.
        let t = start_then(
            dir.path(),
            "",
            "stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(echo|icanon)' | sed 's/^/MODE-/';",
        );
        t.wait_for("the rooms list", |s| s.contains("town-square"));
        let pid = roomwarden_pid(&t);
        let out = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .output()
            .unwrap();
        assert!(out.status.success(), "kill -{signal}: {out:?}");
        let s = t.wait_for("the shell after the signal", |s| {
            s.contains("ROOMWARDEN-EXITED-")
                && (s.contains("MODE-icanon") || s.contains("MODE--icanon"))
        });
        assert!(
            s.contains(&format!("ROOMWARDEN-EXITED-{code}")),
            "SIG{signal} ends with {code}:\n{s}"
        );
        assert!(
            !s.contains("town-square") && !s.contains("DISPLAY NAME"),
            "SIG{signal} left the alternate screen up:\n{s}"
        );
        assert!(
            s.contains("MODE-icanon") && s.contains("MODE-echo") && !s.contains("MODE--"),
            "SIG{signal} left the terminal without echo or line editing:\n{s}"
        );
    }
}

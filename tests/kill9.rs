//! The kill -9 loop: the real binary removes a ticket's users from the
//! Agora fake and is killed (SIGKILL) at 20 random points, with calls in
//! flight, between calls, while writing the audit log, and while resuming.
//! After each kill the next run is `resume` (when the log has unfinished
//! rows) or the ticket again; at the end `resume` and the ticket run until
//! there is nothing left. Then: nothing lost (every user gone, no
//! unfinished row, one `removed` row per user with the role the user had)
//! and nothing done twice (no user sent in two removals, no user recorded
//! `removed` twice).

#[path = "fakes/agora.rs"]
mod agora_fake;
#[path = "chaos/proxy.rs"]
mod chaos;
mod common;

use roomwarden::model::{Action, Role, RoomId, Status, UserId};
use roomwarden::ops::audit;
use roomwarden::provider::sandbox::world::{self, World};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const LOBBY: &str = "10000000000000001";
const USERS: usize = 120;
const KILLS: usize = 20;
const TOKEN_ENV: &str = "RW_KILL9_TOKEN";

fn lines(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

struct Setup<'a> {
    home: &'a common::Isolated,
    config: &'a Path,
    audit: &'a Path,
    token: &'a str,
}

impl Setup<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_roomwarden"));
        c.env_remove("ROOMWARDEN_CONFIG")
            .env("HOME", self.home.dir.path())
            .env("XDG_CONFIG_HOME", self.home.path("xdg-config"))
            .env("XDG_DATA_HOME", self.home.path("xdg-data"))
            .env("XDG_STATE_HOME", self.home.path("xdg-state"))
            .env(TOKEN_ENV, self.token)
            .arg("--config")
            .arg(self.config)
            .arg("--audit-log")
            .arg(self.audit)
            .args(["--format", "jsonl"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    }

    fn unfinished(&self) -> bool {
        !audit::open_intents(self.audit).unwrap().0.is_empty()
    }

    /// The next step: finish what a kill left, or the ticket again.
    fn next(&self, ticket: &Path) -> Child {
        let args: Vec<&str> = if self.unfinished() {
            vec!["resume", "--yes"]
        } else {
            vec!["apply", ticket.to_str().unwrap(), "--yes"]
        };
        self.command(&args).spawn().expect("start roomwarden")
    }

    /// Runs the step to its end; panics on a crash or a usage error.
    async fn finish(&self, ticket: &Path) {
        let child = self.next(ticket);
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_twenty_points_then_resumed_nothing_lost_nothing_done_twice() {
    let shared = World::generate().shared();
    let lobby = RoomId::from(LOBBY);
    let before: HashMap<UserId, Role> = {
        let mut w = world::lock(&shared);
        let room = w.room_mut(&lobby).unwrap();
        room.active = true;
        room.members().map(|m| (m.user.clone(), m.role)).collect()
    };
    // The room's admins and then members, in id order: no owner (a guard
    // would keep the last one).
    let mut targets: Vec<UserId> = before
        .iter()
        .filter(|(_, r)| **r != Role::Owner)
        .map(|(u, _)| u.clone())
        .collect();
    targets.sort_by_key(|u| (before[u] == Role::Member, u.clone()));
    targets.truncate(USERS);
    assert!(targets.iter().any(|u| before[u] == Role::Admin));

    let fake = agora_fake::start(shared.clone(), agora_fake::Options::default()).await;
    // Every answer is held after the fake acted: a kill then lands on a
    // change made whose answer never arrived.
    let proxy = chaos::start(fake.base_url(), 1, chaos::Mix::HELD).await;
    let home = common::Isolated::default();
    let config = home.path("config.toml");
    let o = fake.options();
    std::fs::write(
        &config,
        format!(
            "default_profile = \"a\"\n[profiles.a]\nprovider = \"agora\"\nbase_url = \"{}\"\norg = \"{}\"\napp = \"{}\"\ntoken_env = \"{TOKEN_ENV}\"\nmax_batch = 4\nrate_limit_per_sec = 200\n",
            proxy.base_url, o.org, o.app
        ),
    )
    .unwrap();
    let ticket = home.path("ticket.csv");
    let mut csv = String::from("room,user,action,reason,ticket\n");
    for u in &targets {
        csv.push_str(&format!("{LOBBY},{u},remove,spam wave,T-9\n"));
    }
    std::fs::write(&ticket, csv).unwrap();
    let audit_path = home.path("audit.jsonl");
    let s = Setup {
        home: &home,
        config: &config,
        audit: &audit_path,
        token: fake.token(),
    };

    let mut rng = fastrand::Rng::with_seed(0x91);
    let (mut landed, mut resumes) = (0, 0);
    for _ in 0..KILLS {
        resumes += usize::from(s.unfinished());
        // A random point: right away, or after some more lines of the log.
        let start = lines(s.audit);
        let after = rng.usize(0..=12);
        let mut child = s.next(&ticket);
        loop {
            if lines(s.audit) >= start + after || child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if child.try_wait().unwrap().is_none() {
            landed += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(landed >= KILLS / 2, "only {landed} kills landed mid-run");
    assert!(resumes >= 3, "only {resumes} kills left calls in flight");

    // Finish: resume until nothing is unfinished, then the ticket again
    // until every row ends removed or already absent.
    for _ in 0..10 {
        if !s.unfinished() && targets.iter().all(|u| !present(&shared, &lobby, u)) {
            break;
        }
        s.finish(&ticket).await;
    }
    s.finish(&ticket).await;
    assert!(!s.unfinished(), "resume left unfinished rows");

    // Nothing lost: every user gone, and recorded removed exactly once
    // with the role they had.
    let (records, bad) = audit::read(s.audit).unwrap();
    // A kill mid-write leaves at most its one torn line, which readers
    // skip (and the next writer seals) without losing the next record.
    assert!(bad <= landed, "{bad} unreadable lines after {landed} kills");
    let mut removed: HashMap<&UserId, Vec<&audit::Record>> = HashMap::new();
    for r in &records {
        if r.kind == audit::Kind::Result
            && r.action == Action::Remove
            && r.status == Some(Status::Removed)
        {
            removed.entry(&r.user).or_default().push(r);
        }
    }
    for u in &targets {
        assert!(!present(&shared, &lobby, u), "{u} is still in the room");
        let rows = removed.get(u).map_or(&[][..], Vec::as_slice);
        assert_eq!(
            rows.len(),
            1,
            "{u}: recorded removed {} times: {:#?}",
            rows.len(),
            std::fs::read_to_string(s.audit)
                .unwrap()
                .lines()
                .filter(|l| l.contains(u.as_str()))
                .collect::<Vec<_>>()
        );
        assert_eq!(rows[0].role, Some(before[u]), "{u}: the role before");
        assert_eq!(rows[0].ticket.as_deref(), Some("T-9"));
    }
    // Every user went through a removal call (the ticket run again after
    // a kill sends users Agora's staff-only roster cannot show gone; the
    // provider answers those `already_absent`, recorded as such above).
    let mut sent: HashMap<String, usize> = HashMap::new();
    for req in fake.requests() {
        let Some(path) = req.strip_prefix("DELETE ") else {
            continue;
        };
        let path = path.split('?').next().unwrap();
        if let Some(list) = path.split("/users/").nth(1) {
            for u in list.split("%2C").filter(|u| !u.is_empty()) {
                *sent.entry(u.to_string()).or_default() += 1;
            }
        }
    }
    for u in &targets {
        assert!(
            sent.get(u.as_str()).is_some_and(|n| *n >= 1),
            "{u}: never sent"
        );
    }
    // Undo still knows every role.
    let mut out = s
        .command(&[
            "readd",
            LOBBY,
            targets[0].as_str(),
            targets[1].as_str(),
            "--yes",
        ])
        .output()
        .unwrap();
    out.stderr.truncate(2_000);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for u in &targets[..2] {
        let now = world::lock(&shared)
            .room(&lobby)
            .unwrap()
            .get(u)
            .map(|m| m.role);
        assert_eq!(now, Some(before[u]), "{u} back with the role before");
    }
}

fn present(w: &world::SharedWorld, room: &RoomId, u: &UserId) -> bool {
    world::lock(w).room(room).unwrap().get(u).is_some()
}

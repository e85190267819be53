//! README screenshots: the real console (its `update`, effects and view)
//! driven over the built-in sandbox, drawn into 100×30 test terminals and
//! kept as text in `assets/screenshots/`. The run itself is not started
//! (its timing would differ on every machine): the progress and results
//! screens get the events a run sends. `scripts/screenshots` rewrites the
//! files and README.md's copies; a test fails while either is stale.

use super::action::{Action, Effect};
use super::effects::Runner;
use super::keymap::{Key, Keymap};
use super::state::{Planning, Screen, State};
use super::update::update;
use super::view;
use crate::model::{Outcome, Status};
use crate::ops::{Engine, Progress, Report, RunEvent};
use std::sync::Arc;
use std::time::Duration;

pub const WIDTH: u16 = 100;
pub const HEIGHT: u16 = 30;

/// The screens shown, in README order.
pub const NAMES: [&str; 5] = ["rooms", "members", "confirm", "progress", "results"];

struct Driver {
    state: State,
    runner: Runner,
    rx: tokio::sync::mpsc::UnboundedReceiver<Action>,
}

impl Driver {
    fn apply(&mut self, a: Action) {
        for e in update(&mut self.state, a) {
            // The run is simulated below, never started.
            if !matches!(e, Effect::Run { .. }) {
                self.runner.run(e);
            }
        }
    }

    fn keys(&mut self, keys: &str) {
        for k in keys.split(' ') {
            self.apply(Action::Key(Key::parse(k).expect(k)));
        }
    }

    fn text(&mut self, text: &str) {
        for c in text.chars() {
            self.apply(Action::Key(Key::ch(c)));
        }
    }

    /// Applies the effects' answers until `done` holds.
    async fn until(&mut self, what: &str, done: impl Fn(&State) -> bool) {
        while !done(&self.state) {
            let next = tokio::time::timeout(Duration::from_secs(60), self.rx.recv());
            match next.await {
                Ok(Some(a)) => self.apply(a),
                _ => panic!("screenshots: the console never got to {what}"),
            }
        }
    }

    fn shot(&self) -> String {
        let mut t = super::bench::terminal(WIDTH, HEIGHT);
        t.draw(|f| view::render(&self.state, f))
            .expect("TestBackend draws");
        let buf = t.backend().buffer();
        let mut out = String::new();
        for y in 0..buf.area.height {
            let mut line = String::new();
            for x in 0..buf.area.width {
                line.push_str(buf[(x, y)].symbol());
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// The screenshots, by name (see [`NAMES`]).
pub async fn render() -> Vec<(&'static str, String)> {
    let profile = crate::config::Profile::builtin_sandbox();
    let provider = crate::provider::build(&profile).expect("the sandbox builds");
    let engine = Arc::new(Engine::new(provider, &profile, None));
    let header = super::terminal::header_for(
        &engine,
        None,
        super::view::theme::Palette::named(crate::assets::DEFAULT_THEME),
    );
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Action>();
    let runner = Runner::new(engine, tx, None, std::env::temp_dir());
    let mut d = Driver {
        state: State::new(header, Keymap::default(), false),
        runner,
        rx,
    };
    let mut out = Vec::new();
    d.apply(Action::Resize(WIDTH, HEIGHT));
    d.state.rooms.loading = true;
    d.runner.run(Effect::LoadRooms);
    d.until("the room list", |s| !s.rooms.loading).await;
    d.keys("s");
    d.state.status = None;
    out.push(("rooms", d.shot()));

    // The spam bots of `spam-wave`, all marked.
    d.keys(":");
    d.text("room spam-wave");
    d.keys("enter");
    d.until("spam-wave's members", |s| {
        s.screen == Screen::Members && s.members.complete && !s.members.loading
    })
    .await;
    d.keys("/");
    d.text("bot");
    d.keys("enter ctrl-a");
    d.state.status = None;
    out.push(("members", d.shot()));

    d.keys("d");
    d.until("the plan", |s| {
        s.popup
            .as_ref()
            .is_some_and(|p| matches!(p.planning, Planning::Ready { .. }))
    })
    .await;
    let n = d.state.popup.as_ref().and_then(|p| p.count()).unwrap_or(0);
    d.text(&n.to_string());
    out.push(("confirm", d.shot()));

    // What a run reports: progress once a second, retries after a rate
    // limit, then a row per user.
    d.keys("enter");
    let users: Vec<_> = d
        .state
        .results
        .as_ref()
        .map(|r| r.rows.iter().map(|r| r.user.clone()).collect())
        .unwrap_or_default();
    let total = users.len();
    let per_second = [6u64, 9, 10, 4, 0, 0, 7, 10, 10, 9, 10];
    let retries = [0u64, 0, 0, 2, 3, 1, 0, 0, 0, 1, 0];
    let (mut calls, mut tried, mut done) = (0u64, 0u64, 0usize);
    for (second, (c, r)) in per_second.iter().zip(retries).enumerate() {
        if second > 0 {
            d.apply(Action::Tick);
        }
        calls += c;
        tried += r;
        done = (done + *c as usize).min(total);
        d.apply(Action::Run(RunEvent::Progress(Progress {
            done,
            total,
            in_flight: 1,
            retries: tried,
            calls,
            calls_per_sec: calls as f64 / (second + 1) as f64,
            current: users.get(done).cloned(),
            elapsed: Duration::from_secs(second as u64 + 1),
            waiting: None,
        })));
    }
    out.push(("progress", d.shot()));

    let room = d
        .state
        .members
        .room
        .as_ref()
        .map(|r| r.id.clone())
        .expect("spam-wave is open");
    let outcomes = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let (status, reason) = match i {
                4 => (
                    Status::Failed,
                    Some("sandbox: rate limited; retries used up after 180 s".to_string()),
                ),
                11 | 12 => (Status::AlreadyAbsent, None),
                _ => (Status::Removed, None),
            };
            Outcome {
                room: room.clone(),
                user: user.clone(),
                action: crate::model::Action::Remove,
                status,
                reason,
                role: None,
            }
        })
        .collect();
    d.apply(Action::RunDone(Report {
        batch: "mx2u3uhk-9xr".into(),
        outcomes,
        progress: Progress::default(),
        local_error: None,
    }));
    d.keys("j j j j");
    d.state.status = None;
    out.push(("results", d.shot()));
    out
}

/// README.md with each screenshot copied between its markers
/// (`<!-- screenshot:NAME -->` and `<!-- /screenshot -->`).
pub fn embed(readme: &str, shots: &[(&str, String)]) -> String {
    let mut out = readme.to_string();
    for (name, text) in shots {
        let open = format!("<!-- screenshot:{name} -->\n");
        let close = "<!-- /screenshot -->";
        let Some(start) = out.find(&open).map(|i| i + open.len()) else {
            continue;
        };
        let Some(end) = out[start..].find(close).map(|i| start + i) else {
            continue;
        };
        out.replace_range(start..end, &format!("```\n{text}```\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// `ROOMWARDEN_WRITE_SCREENSHOTS=1` (scripts/screenshots) writes them.
    #[tokio::test]
    async fn the_committed_screenshots_are_what_the_console_draws() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let shots = render().await;
        assert_eq!(shots.iter().map(|(n, _)| *n).collect::<Vec<_>>(), NAMES);
        let write = std::env::var_os("ROOMWARDEN_WRITE_SCREENSHOTS").is_some_and(|v| v == "1");
        let readme_path = root.join("README.md");
        let readme = std::fs::read_to_string(&readme_path).expect("README.md");
        let embedded = embed(&readme, &shots);
        if write {
            let dir = root.join("assets/screenshots");
            std::fs::create_dir_all(&dir).expect("assets/screenshots");
            for (name, text) in &shots {
                std::fs::write(dir.join(format!("{name}.txt")), text).expect("write");
            }
            std::fs::write(&readme_path, &embedded).expect("README.md");
            return;
        }
        for (name, text) in &shots {
            let path = root.join(format!("assets/screenshots/{name}.txt"));
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == *text,
                "assets/screenshots/{name}.txt is not what the console draws now; \
                 run scripts/screenshots and commit the result.\nNow:\n{text}"
            );
        }
        assert!(
            embedded == readme,
            "README.md's screenshots are stale; run scripts/screenshots"
        );
    }
}

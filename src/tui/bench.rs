//! A small public surface for benchmarks and integration tests: build a
//! members screen with N members, draw it, filter it. Everything else of
//! the console stays private.

use super::keymap::Keymap;
use super::state::{Header, Screen, State};
use super::store::{self, Query};
use super::view;
use crate::model::{Member, Role, Room, UserId};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use std::collections::HashSet;
use std::sync::Arc;

/// A console state on the members screen.
pub struct BenchState {
    state: State,
}

/// `n` generated members: 17-digit ids, a few owners and admins, names
/// from a small word list.
pub fn generate_members(n: usize) -> Vec<Member> {
    const FIRST: [&str; 8] = ["Ada", "Bram", "Chen", "Dana", "Eli", "Farah", "Gus", "Hana"];
    const LAST: [&str; 8] = [
        "Okafor", "Lind", "Tanaka", "Silva", "Novak", "Haddad", "Moreau", "Kim",
    ];
    (0..n)
        .map(|i| {
            let role = match i {
                0 | 1 => Role::Owner,
                2..=7 => Role::Admin,
                _ => Role::Member,
            };
            Member {
                user: UserId::new((71_000_000_000_000_000u64 + i as u64).to_string()),
                name: Some(Arc::from(format!(
                    "{} {} {}",
                    FIRST[i % 8],
                    LAST[(i / 8) % 8],
                    i
                ))),
                role,
            }
        })
        .collect()
}

fn header() -> Header {
    Header {
        profile: "bench".into(),
        provider: "sandbox".into(),
        host: "in-memory".into(),
        read_only: false,
        accent: Color::Cyan,
        theme: super::view::theme::Palette::named("dark"),
        caps: crate::provider::Capabilities {
            max_batch: 100,
            quota: crate::provider::Quota::per_second(200.0),
            ..Default::default()
        },
    }
}

impl BenchState {
    /// `n` members loaded in pages of 1,000, the screen `w`×`h`, every
    /// 97th member marked, the filter `filter` applied (empty: none) and
    /// the cursor in the middle of the view.
    pub fn members(n: usize, filter: &str, w: u16, h: u16) -> Self {
        let room = Room {
            id: "10000000000000099".into(),
            name: "megaroom".into(),
            member_count: Some(n as u64),
            active: true,
        };
        let all = generate_members(n);
        Self::from_pages(
            room,
            all.chunks(1_000).map(<[Member]>::to_vec),
            filter,
            w,
            h,
        )
    }

    /// The members screen of `room` with `pages` loaded as a provider
    /// delivered them (every 97th member marked, `filter` applied, the
    /// cursor mid-view).
    pub fn from_pages(
        room: Room,
        pages: impl IntoIterator<Item = Vec<Member>>,
        filter: &str,
        w: u16,
        h: u16,
    ) -> Self {
        let mut state = State::new(header(), Keymap::default(), false);
        state.size = (w, h);
        state.screen = Screen::Members;
        state.back.push(Screen::Rooms);
        let ms = &mut state.members;
        ms.room = Some(room);
        let mut i = 0usize;
        for page in pages {
            for m in &page {
                if i.is_multiple_of(97) {
                    ms.marks.insert(m.user.clone());
                }
                i += 1;
            }
            ms.store.push_page(page);
        }
        ms.complete = true;
        ms.total_hint = Some(i as u64);
        let mut b = Self { state };
        b.apply_filter(filter);
        b
    }

    /// Sets the filter text and recomputes the view synchronously (the
    /// same work the background filter task does); returns rows shown.
    pub fn apply_filter(&mut self, query: &str) -> usize {
        let ms = &mut self.state.members;
        ms.filter.text = query.to_string();
        ms.view = store::filter(&ms.store, 0, &Query::parse(query), &HashSet::new());
        ms.pos.cursor = ms.view.len() / 2;
        let h = self.state.list_height();
        self.state
            .members
            .pos
            .clamp(self.state.members.view.len(), h);
        self.state.members.view.len()
    }

    /// Moves the cursor down one row (scrolling as needed).
    pub fn move_down(&mut self) {
        let h = self.state.list_height();
        let ms = &mut self.state.members;
        ms.pos.cursor += 1;
        ms.pos.clamp(ms.view.len(), h);
    }

    pub fn loaded(&self) -> usize {
        self.state.members.store.len()
    }

    pub fn shown(&self) -> usize {
        self.state.members.view.len()
    }

    /// Draws one frame; returns how many table rows it built.
    pub fn render(&self, terminal: &mut Terminal<TestBackend>) -> usize {
        terminal
            .draw(|f| view::render(&self.state, f))
            .expect("TestBackend draws");
        self.state.rows_built.get()
    }
}

/// A test terminal of `w`×`h`.
pub fn terminal(w: u16, h: u16) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(w, h)).expect("TestBackend never fails")
}

/// Filters `members` by `query` (id, name, `role:admin`) the way the
/// members view does; returns the matching indices.
pub fn filter(members: &[Member], query: &str) -> Vec<u32> {
    let q = Query::parse(query);
    members
        .iter()
        .enumerate()
        .filter(|(_, m)| q.matches(m))
        .map(|(i, _)| i as u32)
        .collect()
}

/// Drives the real console headless, as a moderator would: `:room ID`,
/// then waits (on the effect channel, not a timer) until the first page of
/// members is in and draws that first frame into a `w`×`h` test terminal.
/// Returns the members loaded when the frame was drawn.
pub async fn open_room_first_frame(
    engine: Arc<crate::ops::Engine>,
    room: &str,
    w: u16,
    h: u16,
) -> usize {
    use super::action::Action;
    use super::effects::Runner;
    use super::keymap::Key;
    use super::update::update;

    let header = super::terminal::header_for(
        &engine,
        None,
        super::view::theme::Palette::named(crate::assets::DEFAULT_THEME),
    );
    let mut state = State::new(header, Keymap::default(), false);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Action>();
    let mut runner = Runner::new(engine, tx, None, std::env::temp_dir());
    let mut term = terminal(w, h);
    let command = format!("room {room}");
    let keys = std::iter::once(Key::ch(':'))
        .chain(command.chars().map(Key::ch))
        .chain(std::iter::once(Key::plain(
            ratatui::crossterm::event::KeyCode::Enter,
        )));
    let mut feed: Vec<Action> = std::iter::once(Action::Resize(w, h))
        .chain(keys.map(Action::Key))
        .collect();
    feed.reverse();
    loop {
        let action = match feed.pop() {
            Some(a) => a,
            None => rx.recv().await.expect("the console's effects keep running"),
        };
        for e in update(&mut state, action) {
            runner.run(e);
        }
        if state.screen == Screen::Members && state.members.store.len() > 0 {
            term.draw(|f| view::render(&state, f))
                .expect("TestBackend draws");
            return state.members.store.len();
        }
    }
}

/// What the input-latency driver does (see [`input_latency`]).
#[derive(Clone, Debug)]
pub struct LatencyRun {
    /// The room that streams in (and where the removal runs).
    pub room: String,
    /// Users marked and removed once the first pages are in.
    pub removal: usize,
    /// Keys injected (and timed) while both go on.
    pub keys: usize,
    /// Time between two keys, drawn evenly from this range.
    pub gap: (std::time::Duration, std::time::Duration),
    /// Seed of the key script.
    pub seed: u64,
    pub width: u16,
    pub height: u16,
}

/// One timed key: what it was, from its arrival to the end of the next
/// drawn frame, and what was going on when that frame was drawn.
#[derive(Clone, Debug)]
pub struct KeyTiming {
    pub key: &'static str,
    pub latency: std::time::Duration,
    /// The removal was still running.
    pub removal_running: bool,
    /// The room was still streaming in.
    pub streaming: bool,
    /// Members loaded at that frame.
    pub loaded: usize,
}

/// What [`input_latency`] saw.
#[derive(Clone, Debug, Default)]
pub struct LatencyReport {
    pub keys: Vec<KeyTiming>,
    /// Frames drawn while the keys were typed.
    pub frames: usize,
    /// Members loaded when the last key's frame was drawn.
    pub loaded_at_end: usize,
    /// Rows of the removal that had ended when the last key's frame was drawn.
    pub removal_done: usize,
    /// How long the measured phase lasted.
    pub took: std::time::Duration,
}

/// The keys of the script (what a moderator browsing a big room types).
#[derive(Clone, Copy)]
enum ScriptKey {
    Down,
    Up,
    PageDown,
    Mark,
    Slash,
    Char(char),
    Enter,
    Esc,
}

impl ScriptKey {
    fn label(self) -> &'static str {
        match self {
            ScriptKey::Down => "j",
            ScriptKey::Up => "k",
            ScriptKey::PageDown => "PgDn",
            ScriptKey::Mark => "space",
            ScriptKey::Slash => "/",
            ScriptKey::Char(_) => "filter char",
            ScriptKey::Enter => "Enter",
            ScriptKey::Esc => "Esc",
        }
    }

    fn event(self) -> ratatui::crossterm::event::Event {
        use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
        let code = match self {
            ScriptKey::Down => KeyCode::Char('j'),
            ScriptKey::Up => KeyCode::Char('k'),
            ScriptKey::PageDown => KeyCode::PageDown,
            ScriptKey::Mark => KeyCode::Char(' '),
            ScriptKey::Slash => KeyCode::Char('/'),
            ScriptKey::Char(c) => KeyCode::Char(c),
            ScriptKey::Enter => KeyCode::Enter,
            ScriptKey::Esc => KeyCode::Esc,
        };
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }
}

/// A moderator's keys: mostly `j`, `k`, `PgDn` and `space` on the members
/// list, and now and then a filter typed (`/`, a name fragment, `Enter`),
/// browsed, and cleared again (`Esc`).
struct Script {
    rng: fastrand::Rng,
    typing: Vec<char>,
    editing: bool,
    filtered: bool,
}

impl Script {
    const WORDS: [&'static str; 5] = ["tana", "kim", "lovel", "ritch", "an"];

    fn next(&mut self) -> ScriptKey {
        if self.editing {
            return match self.typing.pop() {
                Some(c) => ScriptKey::Char(c),
                None => {
                    self.editing = false;
                    self.filtered = true;
                    ScriptKey::Enter
                }
            };
        }
        let r = self.rng.f64();
        if r < 0.03 {
            if self.filtered {
                self.filtered = false;
                return ScriptKey::Esc;
            }
            let word = Self::WORDS[self.rng.usize(..Self::WORDS.len())];
            self.typing = word.chars().rev().collect();
            self.editing = true;
            return ScriptKey::Slash;
        }
        match self.rng.usize(..100) {
            0..=49 => ScriptKey::Down,
            50..=69 => ScriptKey::Up,
            70..=84 => ScriptKey::PageDown,
            _ => ScriptKey::Mark,
        }
    }
}

/// Drives the real console loop headless and measures input latency: the
/// time from a key's arrival to the end of the next drawn frame (a
/// `TestBackend` of `width`×`height`), while a removal runs through the
/// engine and a big room streams in.
///
/// Setup (not timed): `:room ROOM`, wait for the first pages, mark the
/// first `removal` plain members loaded, `d`, type the count, `Enter`
/// (the plan goes through the engine, the run starts), and `:room ROOM`
/// to go back to the members list while it runs. Then a task sends
/// `keys` key events, one every `gap`, into the same loop the console
/// runs ([`super::terminal::run_loop`]) in place of the terminal's event
/// stream. When the removal ends the console shows its results; the next
/// key is then `Esc` (back to the list), as a moderator would press.
pub async fn input_latency(engine: Arc<crate::ops::Engine>, run: LatencyRun) -> LatencyReport {
    use super::action::Action;
    use super::effects::Runner;
    use super::keymap::Key;
    use super::state::Planning;
    use super::update::update;
    use ratatui::crossterm::event::KeyCode;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    let header = super::terminal::header_for(
        &engine,
        None,
        super::view::theme::Palette::named(crate::assets::DEFAULT_THEME),
    );
    let mut state = State::new(header, Keymap::default(), false);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Action>();
    let mut runner = Runner::new(engine, tx, None, std::env::temp_dir());
    let mut term = terminal(run.width, run.height);

    fn apply(state: &mut State, runner: &mut Runner, a: Action) {
        for e in update(state, a) {
            runner.run(e);
        }
    }
    fn keys(state: &mut State, runner: &mut Runner, text: &str) {
        for c in text.chars() {
            apply(state, runner, Action::Key(Key::ch(c)));
        }
    }
    fn enter(state: &mut State, runner: &mut Runner) {
        apply(state, runner, Action::Key(Key::plain(KeyCode::Enter)));
    }
    async fn until(
        state: &mut State,
        runner: &mut Runner,
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Action>,
        done: impl Fn(&State) -> bool,
    ) {
        while !done(state) {
            let a = rx.recv().await.expect("the console's effects keep running");
            apply(state, runner, a);
        }
    }

    // Setup, as the console starts: the rooms load.
    apply(
        &mut state,
        &mut runner,
        Action::Resize(run.width, run.height),
    );
    state.rooms.loading = true;
    runner.run(super::action::Effect::LoadRooms);
    until(&mut state, &mut runner, &mut rx, |s| !s.rooms.loading).await;
    // Open the room, let the first pages in, mark and remove.
    keys(&mut state, &mut runner, &format!(":room {}", run.room));
    enter(&mut state, &mut runner);
    let want = run.removal * 2;
    until(&mut state, &mut runner, &mut rx, |s| {
        s.screen == Screen::Members && s.members.store.len() >= want
    })
    .await;
    let targets: Vec<UserId> = state
        .members
        .store
        .iter_from(0)
        .map(|(_, m)| m)
        .filter(|m| m.role == Role::Member)
        .take(run.removal)
        .map(|m| m.user.clone())
        .collect();
    state.members.marks.extend(targets);
    keys(&mut state, &mut runner, "d");
    until(&mut state, &mut runner, &mut rx, |s| {
        s.popup
            .as_ref()
            .is_some_and(|p| !matches!(p.planning, Planning::Pending))
    })
    .await;
    assert!(
        state
            .popup
            .as_ref()
            .is_some_and(|p| matches!(p.planning, Planning::Ready { .. })),
        "the removal is planned"
    );
    keys(&mut state, &mut runner, &run.removal.to_string());
    enter(&mut state, &mut runner);
    assert!(state.batch.is_some(), "the removal runs");
    keys(&mut state, &mut runner, &format!(":room {}", run.room));
    enter(&mut state, &mut runner);
    until(&mut state, &mut runner, &mut rx, |s| {
        s.screen == Screen::Members
    })
    .await;

    // Measured: keys arrive on their own clock while the loop runs.
    let sent: Arc<Mutex<Vec<(Instant, &'static str)>>> = Arc::default();
    let consumed = Arc::new(AtomicUsize::new(0));
    let results_shown = Arc::new(AtomicBool::new(false));
    let (ktx, mut krx) = tokio::sync::mpsc::unbounded_channel::<ratatui::crossterm::event::Event>();
    let injector = {
        let (sent, results_shown, run) = (sent.clone(), results_shown.clone(), run.clone());
        tokio::spawn(async move {
            let mut script = Script {
                rng: fastrand::Rng::with_seed(run.seed),
                typing: Vec::new(),
                editing: false,
                filtered: false,
            };
            let mut gaps = fastrand::Rng::with_seed(run.seed ^ 0x5eed);
            let (lo, hi) = (run.gap.0.as_micros() as u64, run.gap.1.as_micros() as u64);
            let mut at = tokio::time::Instant::now();
            for _ in 0..run.keys {
                at += Duration::from_micros(gaps.u64(lo..=hi.max(lo)));
                tokio::time::sleep_until(at).await;
                let key = if results_shown.swap(false, Ordering::SeqCst) {
                    ScriptKey::Esc
                } else {
                    script.next()
                };
                sent.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((Instant::now(), key.label()));
                if ktx.send(key.event()).is_err() {
                    return;
                }
            }
        })
    };
    let mut events = {
        let consumed = consumed.clone();
        futures::stream::poll_fn(move |cx| {
            let p = krx.poll_recv(cx);
            if let std::task::Poll::Ready(Some(_)) = &p {
                consumed.fetch_add(1, Ordering::SeqCst);
            }
            p.map(|e| e.map(Ok))
        })
    };
    let mut report = LatencyReport::default();
    let mut timed = 0usize;
    let mut escaped_at = 0usize;
    let started = Instant::now();
    let result = super::terminal::run_loop(
        &mut term,
        &mut state,
        &mut runner,
        &mut rx,
        &mut events,
        &mut super::terminal::Ending::none(),
        |s| {
            let now = Instant::now();
            report.frames += 1;
            let upto = consumed.load(Ordering::SeqCst);
            let sent = sent.lock().unwrap_or_else(|e| e.into_inner());
            for &(at, key) in &sent[timed..upto.min(sent.len())] {
                report.keys.push(KeyTiming {
                    key,
                    latency: now - at,
                    removal_running: s.batch.is_some(),
                    streaming: s.members.loading,
                    loaded: s.members.store.len(),
                });
            }
            timed = timed.max(upto.min(sent.len()));
            // The removal ended and its results are up: `Esc` goes back,
            // once per time they are shown.
            if s.screen == Screen::Results && upto > escaped_at {
                escaped_at = sent.len() + 1;
                results_shown.store(true, Ordering::SeqCst);
            }
        },
    )
    .await;
    result.expect("the loop ends with the keys");
    let _ = injector.await;
    report.took = started.elapsed();
    report.loaded_at_end = state.members.store.len();
    report.removal_done = state.results.as_ref().map_or(0, |r| {
        r.rows.iter().filter(|row| row.status.is_some()).count()
    });
    // Let a quit with the run going not hang: cancel it.
    runner.run(super::action::Effect::CancelRun);
    report
}

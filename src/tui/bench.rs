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

    let header = super::terminal::header_for(&engine, None);
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

//! The look of the console: themes (and NO_COLOR over them), the rooms
//! sort, the progress sparklines and the results' outcome bar.

use super::action::Action;
use super::state::*;
use super::tests::{draw, members_state, press, screens};
use super::update::update;
use super::view::theme::Palette;
use crate::model::Room;
use crate::ops::{Progress, RunEvent};
use ratatui::style::Color;
use std::collections::HashSet;

fn themed(mut s: State, theme: &str) -> State {
    let palette = Palette::named(theme);
    s.header.theme = palette;
    s.header.accent = accent_for(&s.header.profile, None, palette);
    s
}

/// Every colour a theme may paint with.
fn colours_of(p: &Palette) -> HashSet<Color> {
    let mut all: HashSet<Color> = p.accents.iter().copied().collect();
    all.extend([
        p.badge_fg,
        p.read_only_fg,
        p.read_only_bg,
        p.header,
        p.marked,
        p.success,
        p.failure,
        p.dim,
        p.warn,
        p.error,
        p.calls,
        p.retries,
        Color::Reset,
    ]);
    all
}

#[test]
fn every_theme_paints_only_its_own_colours_and_no_color_wins_over_each() {
    for (theme, _) in crate::assets::THEMES {
        let allowed = colours_of(Palette::named(theme));
        for (name, s) in screens() {
            let s = themed(s, theme);
            let t = draw(&s, 100, 30);
            for cell in t.backend().buffer().content() {
                for c in [cell.fg, cell.bg] {
                    assert!(
                        allowed.contains(&c),
                        "{theme}/{name}: {c:?} at {:?} is not the theme's",
                        cell.symbol()
                    );
                }
            }
            let mut plain = themed(screens_named(name), theme);
            plain.no_color = true;
            let t = draw(&plain, 100, 30);
            for cell in t.backend().buffer().content() {
                assert!(
                    cell.fg == Color::Reset && cell.bg == Color::Reset,
                    "{theme}/{name}: a colour under NO_COLOR at {:?}",
                    cell.symbol()
                );
            }
        }
    }
}

fn screens_named(name: &str) -> State {
    screens()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| s)
        .expect(name)
}

#[test]
fn each_theme_has_its_own_look() {
    let mut marked = Vec::new();
    for (theme, _) in crate::assets::THEMES {
        let s = themed(screens_named("members"), theme);
        let t = draw(&s, 100, 30);
        let buf = t.backend().buffer();
        // The members screen marks rows 2..4: their gutter is `[x]`.
        let cell = (0..30)
            .flat_map(|y| (0..100).map(move |x| (x, y)))
            .find(|&(x, y)| buf[(x, y)].symbol() == "x" && buf[(x - 1, y)].symbol() == "[")
            .map(|p| buf[p].fg)
            .expect("a marked gutter");
        marked.push(cell);
        insta::assert_snapshot!(format!("members_theme_{theme}"), format!("{buf:?}"));
    }
    assert_eq!(
        marked,
        [Color::Yellow, Color::Magenta, Color::LightYellow],
        "dark, light, high-contrast"
    );
}

#[test]
fn rooms_sort_by_member_count_both_ways_with_unknown_counts_last() {
    let mut s = members_state(10, true);
    s.screen = Screen::Rooms;
    s.back.clear();
    s.rooms.rooms.push(Room {
        id: "10000000000000007".into(),
        name: "uncounted".into(),
        member_count: None,
        active: true,
    });
    s.rooms.rooms.push(Room {
        id: "10000000000000008".into(),
        name: "tiny".into(),
        member_count: Some(3),
        active: true,
    });
    s.rooms.view = (0..5).collect();
    // The cursor stays on its room through every order.
    press(&mut s, "j");
    let names = |s: &State| -> Vec<String> {
        s.rooms
            .view
            .iter()
            .map(|i| s.rooms.rooms[*i as usize].name.clone())
            .collect()
    };
    let at = |s: &State| names(s)[s.rooms.pos.cursor].clone();
    assert_eq!(at(&s), "town-square");
    press(&mut s, "s");
    assert_eq!(s.rooms.sort, RoomSort::MostMembers);
    assert_eq!(
        names(&s),
        ["town-square", "lobby", "archive-2023", "tiny", "uncounted"]
    );
    assert_eq!(at(&s), "town-square");
    press(&mut s, "s");
    assert_eq!(
        names(&s),
        ["tiny", "archive-2023", "lobby", "town-square", "uncounted"]
    );
    assert_eq!(at(&s), "town-square");
    press(&mut s, "s");
    assert_eq!(
        names(&s),
        ["lobby", "town-square", "archive-2023", "uncounted", "tiny"]
    );
    // A filter keeps the order.
    press(&mut s, "s /");
    for c in "o".chars() {
        update(&mut s, Action::Key(super::keymap::Key::ch(c)));
    }
    assert_eq!(names(&s), ["town-square", "lobby", "uncounted"]);
    // The help screen documents the key.
    press(&mut s, "enter ?");
    let help = super::tests::screen_text(&s, 100, 80);
    assert!(help.contains("sort by member count"), "{help}");
}

#[test]
fn the_sparklines_count_per_tick_and_a_long_run_keeps_the_frame_bounded() {
    let mut s = screens_named("progress");
    let b = s.batch.as_ref().unwrap();
    assert_eq!(b.rates.calls, [2, 3, 4, 1, 4, 2, 4]);
    assert_eq!(b.rates.retries, [0, 0, 1, 0, 1, 0, 0]);
    // A tick on the progress screen redraws it.
    s.dirty = false;
    update(&mut s, Action::Tick);
    assert!(s.dirty);
    // Hours of run: the ring stays bounded, so a frame costs the same.
    for i in 0..10_000u64 {
        update(
            &mut s,
            Action::Run(RunEvent::Progress(Progress {
                calls: 20 + i * 3,
                retries: 2 + i / 10,
                total: 4,
                ..Progress::default()
            })),
        );
        update(&mut s, Action::Tick);
    }
    let b = s.batch.as_ref().unwrap();
    assert_eq!(b.rates.calls.len(), super::rates::RATE_BUCKETS);
    let text = super::tests::screen_text(&s, 100, 30);
    assert!(
        text.contains("calls per second · last 98s · peak 3"),
        "{text}"
    );
}

#[test]
fn the_outcome_bar_counts_every_status() {
    let s = screens_named("results");
    let text = super::tests::screen_text(&s, 100, 30);
    assert!(
        text.contains("█ removed 1 · ▚ skipped 1 · ▓ failed 1"),
        "{text}"
    );
}

#[test]
fn a_user_theme_paints_with_its_own_colours_and_is_parsed_once() {
    let text = crate::assets::theme("dark")
        .unwrap()
        .replace("header = \"cyan\"", "header = \"#123456\"");
    let p = Palette::resolve("my-theme", &text).unwrap();
    assert_eq!(p.name, "my-theme");
    assert_eq!(p.header, Color::Rgb(0x12, 0x34, 0x56));
    assert!(std::ptr::eq(
        p,
        Palette::resolve("my-theme", &text).unwrap()
    ));
    // The embedded names stay the embedded themes.
    assert!(std::ptr::eq(
        Palette::resolve("dark", "ignored").unwrap(),
        Palette::named("dark")
    ));
    let mut s = members_state(10, true);
    s.header.theme = p;
    let t = draw(&s, 100, 30);
    assert!(
        t.backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg == Color::Rgb(0x12, 0x34, 0x56)),
        "the header colour is painted"
    );
    let e = Palette::resolve("broken-theme", "accents = []").unwrap_err();
    assert!(
        e.contains("theme `broken-theme`") && e.contains("accents"),
        "{e}"
    );
}

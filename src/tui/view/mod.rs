//! Rendering: a pure function of the state. Nothing here changes state
//! (the rows-built counter is a `Cell` read by tests and benchmarks).

mod charts;
mod help;
mod popup;
mod progress;
mod tables;
pub mod theme;

use super::format::{num, wrap_ranges};
use super::keymap::{Cmd, Ctx, TABLE};
use super::state::{MIN_H, MIN_W, Screen, State};
use crate::text::escape;
use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use theme::Theme;

pub fn theme(s: &State) -> Theme {
    Theme {
        no_color: s.no_color,
        accent: s.header.accent,
        palette: s.header.theme,
    }
}

/// Draws the whole screen.
pub fn render(s: &State, f: &mut Frame) {
    s.rows_built.set(0);
    let area = f.area();
    if area.width < MIN_W || area.height < MIN_H {
        too_small(f, area);
        return;
    }
    let t = theme(s);
    // A long status message wraps onto more lines (the state's list
    // heights count them too, as `status_height` of the state's size).
    let status_h = if editing_filter(s).is_some() {
        1
    } else {
        s.status_height_at(area.width, area.height) as u16
    };
    let [head, body, hints, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(status_h),
    ])
    .areas(area);
    header(s, &t, f, head);
    match s.screen {
        Screen::Rooms => tables::rooms(s, &t, f, body),
        Screen::Members => tables::members(s, &t, f, body),
        Screen::Results => tables::results(s, &t, f, body),
        Screen::Audit => tables::audit(s, &t, f, body),
        Screen::Progress => progress::render(s, &t, f, body),
        Screen::Help => help::render(s, &t, f, body),
    }
    footer_hints(s, &t, f, hints);
    status_line(s, &t, f, status);
    // Help opened over the popup hides it until help closes.
    if let Some(p) = s.popup.as_ref().filter(|_| s.screen != Screen::Help) {
        popup::confirm(s, p, &t, f, body);
    }
    if s.ask_quit {
        popup::ask_quit(s, &t, f, body);
    }
}

/// "terminal too small — need 60×15, have W×H", wrapped at spaces. The
/// whole sentence shows whenever it fits; on tinier screens, the most of
/// it that does, down to the numbers alone.
fn too_small(f: &mut Frame, area: Rect) {
    let lines = too_small_lines(area.width as usize, area.height as usize);
    let n = (lines.len() as u16).min(area.height);
    let r = Rect::new(area.x, area.y + (area.height - n) / 2, area.width, n);
    let lines: Vec<Line> = lines.into_iter().map(Line::from).collect();
    f.render_widget(Paragraph::new(lines).alignment(Alignment::Center), r);
}

/// The lines of the too-small notice on a `width` × `height` screen.
fn too_small_lines(width: usize, height: usize) -> Vec<String> {
    let have = format!("{width}×{height}");
    let need = format!("{MIN_W}×{MIN_H}");
    let full = format!("terminal too small — need {need}, have {have}");
    let candidates: [&[&str]; 5] = [
        &[&full, "q quits"],
        &[&full],
        &[&format!("too small: need {need}, have {have}")],
        &[&format!("need {need}, have {have}")],
        &[&format!("have {have}")],
    ];
    for paragraphs in candidates {
        let lines: Option<Vec<String>> = paragraphs
            .iter()
            .map(|p| wrap_words(p, width))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat());
        if let Some(lines) = lines.filter(|l| l.len() <= height) {
            return lines;
        }
    }
    // Not even that fits whole: the size, cut.
    vec![have]
}

/// `text` wrapped at spaces into lines of at most `width` characters;
/// `None` when a word is longer than that.
fn wrap_words(text: &str, width: usize) -> Option<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let n = word.chars().count();
        if n > width {
            return None;
        }
        let used = line.chars().count();
        if used == 0 {
            line.push_str(word);
        } else if used + 1 + n <= width {
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(std::mem::take(&mut line));
            line.push_str(word);
        }
    }
    lines.push(line);
    Some(lines)
}

fn header(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let h = &s.header;
    let mut spans = vec![
        Span::styled(format!(" {} ", escape(&h.profile)), t.badge()),
        Span::raw(" "),
    ];
    if h.read_only {
        spans.push(Span::styled(" RO ", t.read_only()));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::raw(format!(
        "{} · {}",
        escape(&h.provider),
        escape(&h.host)
    )));
    if let Some(room) = &s.members.room
        && matches!(
            s.screen,
            Screen::Members | Screen::Progress | Screen::Results
        )
    {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            format!("{} ({})", escape(&room.name), escape(room.id.as_str())),
            t.title(),
        ));
    }
    f.render_widget(Line::from(spans), area);
}

/// The contexts whose hints the footer shows.
fn hint_contexts(s: &State) -> &'static [Ctx] {
    if s.popup.is_some() && s.screen != Screen::Help {
        return &[Ctx::Popup];
    }
    s.screen.contexts().hints
}

/// Whether a hinted command does something on the current screen (the
/// footer only offers keys that work there).
fn hint_applies(s: &State, cmd: Cmd) -> bool {
    if s.header.cannot(cmd).is_some() {
        return false;
    }
    match cmd {
        Cmd::Filter => matches!(s.screen, Screen::Rooms | Screen::Members | Screen::Audit),
        Cmd::Copy => matches!(s.screen, Screen::Rooms | Screen::Members | Screen::Results),
        Cmd::Results => s.results.is_some() && s.screen != Screen::Results,
        // Back only where there is something to back out of.
        Cmd::Back => {
            !s.back.is_empty()
                || match s.screen {
                    Screen::Rooms => !s.rooms.filter.text.is_empty(),
                    _ => true,
                }
        }
        // A deactivated room's membership is locked.
        Cmd::Remove | Cmd::Demote => s.members.room.as_ref().is_none_or(|r| r.active),
        _ => true,
    }
}

/// Footer hints, generated from the keymap table. They are cut to the
/// width from the end, but the help key always stays (lazygit's
/// "Keybindings: ?"), so the rest is one key away.
fn footer_hints(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let mut items: Vec<(String, String)> = Vec::new();
    // Every footer ends with the help key, whatever the screen's contexts
    // (it opens help over the popup too).
    let mut help = s
        .keymap
        .keys_of(Cmd::Help)
        .first()
        .map(|k| (k.to_string(), "help".to_string()));
    let editing = s
        .popup
        .as_ref()
        .is_some_and(|p| p.editing_reason && s.screen != Screen::Help);
    if editing {
        // Typing the reason: its own keys, and a help key that types no
        // text (`?` types a `?` here).
        items = [("Enter", "done"), ("Esc", "cancel"), ("ctrl-u", "empty")]
            .map(|(k, n)| (k.to_string(), n.to_string()))
            .into();
        help = s
            .keymap
            .keys_of(Cmd::Help)
            .iter()
            .find(
                |b| !matches!(b.0.as_slice(), [k] if !k.ctrl && matches!(k.code, KeyCode::Char(_))),
            )
            .map(|k| (k.to_string(), "help".to_string()));
    }
    for ctx in hint_contexts(s).iter().filter(|_| !editing) {
        for e in TABLE.iter().filter(|e| e.ctx == *ctx && e.hint) {
            if (e.changes && s.header.read_only) || !hint_applies(s, e.cmd) {
                continue;
            }
            let Some(key) = s.keymap.keys_of(e.cmd).first() else {
                continue;
            };
            let item = (key.to_string(), e.name.replace('_', " "));
            if e.cmd == Cmd::Help {
                help = Some(item);
            } else {
                items.push(item);
            }
        }
    }
    const SEP: &str = " · ";
    const SEP_W: usize = 3;
    let width = |(k, n): &(String, String)| k.chars().count() + 1 + n.chars().count();
    let room = (area.width as usize).saturating_sub(help.as_ref().map_or(0, |h| width(h) + SEP_W));
    let mut used = 0;
    let mut shown = Vec::new();
    for item in items {
        let w = width(&item) + if shown.is_empty() { 0 } else { SEP_W };
        if used + w > room {
            break;
        }
        used += w;
        shown.push(item);
    }
    shown.extend(help);
    let mut spans = Vec::new();
    for (key, name) in shown {
        if !spans.is_empty() {
            spans.push(Span::styled(SEP, t.dim()));
        }
        spans.push(Span::styled(key, t.key()));
        spans.push(Span::raw(format!(" {name}")));
    }
    f.render_widget(Line::from(spans), area);
}

fn status_line(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let line = if let Some(c) = &s.command {
        // Like the filter: a long line (`:add` with many ids) shows the
        // end being typed.
        let room = (area.width as usize).saturating_sub(2);
        Line::from(vec![
            Span::styled(":", t.key()),
            Span::raw(tail_fit(&escape(c), room)),
            Span::raw("▏"),
        ])
    } else if let Some(fi) = editing_filter(s) {
        // The end being typed stays in view: a long filter shows its tail.
        let hint = "  Enter keeps · Esc clears · ctrl-u empties";
        let room = (area.width as usize).saturating_sub(2);
        let fi = escape(fi);
        let n = fi.chars().count();
        let shown = if n > room {
            let tail: String = fi.chars().skip(n + 1 - room).collect();
            format!("…{tail}")
        } else {
            fi.to_string()
        };
        let mut spans = vec![Span::styled("/", t.key()), Span::raw(shown), Span::raw("▏")];
        if n + 2 + hint.chars().count() <= area.width as usize {
            spans.push(Span::styled(hint, t.dim()));
        }
        Line::from(spans)
    } else if let Some(st) = &s.status {
        if st.stays() {
            let mut spans = vec![
                if st.error {
                    Span::styled(format!("error: {}", escape(&st.text)), t.error())
                } else {
                    Span::raw(escape(&st.text).into_owned())
                },
                Span::styled(super::state::DISMISS, t.dim()),
            ];
            if let Some(note) = &st.note {
                spans.push(Span::raw(format!("  {}", escape(note))));
            }
            Line::from(spans)
        } else {
            Line::from(escape(&st.text).into_owned())
        }
    } else {
        Line::from("")
    };
    f.render_widget(Paragraph::new(hard_wrap(line, area.width as usize)), area);
}

/// `text` if it fits in `room` columns, else `…` and its end: what is
/// being typed stays in view.
pub(super) fn tail_fit(text: &str, room: usize) -> String {
    let n = text.chars().count();
    if n <= room {
        return text.to_string();
    }
    let tail: String = text.chars().skip(n + 1 - room.max(1)).collect();
    format!("…{tail}")
}

/// Wraps a line into lines of `width` characters at spaces where it can
/// ([`wrap_ranges`], as the state counts status lines), keeping each
/// span's style.
fn hard_wrap(line: Line<'_>, width: usize) -> Vec<Line<'static>> {
    let styled: Vec<(char, ratatui::style::Style)> = line
        .spans
        .iter()
        .flat_map(|span| span.content.chars().map(move |c| (c, span.style)))
        .collect();
    let text: String = styled.iter().map(|(c, _)| *c).collect();
    wrap_ranges(&text, width)
        .into_iter()
        .map(|r| {
            let mut spans: Vec<Span<'static>> = Vec::new();
            let mut part = String::new();
            let mut style = None;
            for (c, st) in &styled[r] {
                if style.is_some_and(|s| s != *st) {
                    spans.push(Span::styled(
                        std::mem::take(&mut part),
                        style.unwrap_or_default(),
                    ));
                }
                style = Some(*st);
                part.push(*c);
            }
            if !part.is_empty() {
                spans.push(Span::styled(part, style.unwrap_or_default()));
            }
            Line::from(spans)
        })
        .collect()
}

fn editing_filter(s: &State) -> Option<&str> {
    match s.screen {
        Screen::Rooms if s.rooms.filter.editing => Some(&s.rooms.filter.text),
        Screen::Members if s.members.filter.editing => Some(&s.members.filter.text),
        Screen::Audit if s.audit.filter.editing => Some(&s.audit.filter.text),
        _ => None,
    }
}

/// How many lines the help screen has (it scrolls by line).
pub fn help_line_count(s: &State) -> usize {
    help::lines(s, &theme(s)).len()
}

/// The help line the section of `ctx`'s keys starts at.
pub fn help_section_start(s: &State, ctx: Ctx) -> usize {
    help::section_start(s, ctx)
}

/// "shown/total" for a title.
pub fn count(shown: usize, total: usize) -> String {
    format!("{}/{}", num(shown), num(total))
}

//! The help screen, generated from the keymap table.

use super::theme::Theme;
use crate::tui::keymap::{Ctx, TABLE};
use crate::tui::state::State;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

fn ctx_name(c: Ctx) -> &'static str {
    match c {
        Ctx::Global => "everywhere",
        Ctx::List => "lists",
        Ctx::Rooms => "rooms",
        Ctx::Members => "members",
        Ctx::Results => "results",
        Ctx::Popup => "confirm popup",
        Ctx::Progress => "progress",
    }
}

/// The order of help's sections.
const ORDER: [Ctx; 7] = [
    Ctx::Global,
    Ctx::List,
    Ctx::Rooms,
    Ctx::Members,
    Ctx::Results,
    Ctx::Popup,
    Ctx::Progress,
];

/// Every help line, in table order grouped by context.
pub fn lines(s: &State, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for ctx in ORDER {
        out.push(Line::styled(ctx_name(ctx).to_string(), t.title()));
        for e in TABLE.iter().filter(|e| e.ctx == ctx) {
            if e.changes && s.header.read_only {
                continue;
            }
            let desc = match s.header.cannot(e.cmd) {
                Some(_) => format!("{} (not on this provider)", e.desc),
                None => e.desc.to_string(),
            };
            out.push(Line::from(vec![
                Span::styled(format!("  {:<22}", s.keymap.label(e.cmd)), t.key()),
                Span::raw(desc),
            ]));
        }
    }
    out
}

/// The line `ctx`'s section starts at.
pub fn section_start(s: &State, ctx: Ctx) -> usize {
    ORDER
        .iter()
        .take_while(|c| **c != ctx)
        .map(|c| {
            1 + TABLE
                .iter()
                .filter(|e| e.ctx == *c && !(e.changes && s.header.read_only))
                .count()
        })
        .sum()
}

pub fn render(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let title = if s.header.read_only {
        " help · read-only: changing actions hidden "
    } else {
        " help "
    };
    let block = Block::bordered()
        .border_style(t.border())
        .title(Line::styled(title, t.title()));
    let all = lines(s, t);
    let h = area.height.saturating_sub(2) as usize;
    let start = s.help_pos.cursor.min(all.len().saturating_sub(h));
    let shown: Vec<Line> = all.into_iter().skip(start).take(h).collect();
    f.render_widget(Paragraph::new(shown).block(block), area);
}

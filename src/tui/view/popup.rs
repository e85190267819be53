//! The confirm popup and the "quit while a batch runs?" question.

use super::theme::Theme;
use crate::ops::plan::{Verdict, human_duration};
use crate::text::escape;
use crate::tui::format::num;
use crate::tui::keymap::Cmd;
use crate::tui::state::Planning;
use crate::tui::state::{Confirm, Scope, State};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn capitalised(verb: &str) -> String {
    let mut c = verb.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Shortens a line to `w` columns with an ellipsis.
fn truncate(text: &str, w: usize) -> String {
    if text.chars().count() <= w {
        return text.to_string();
    }
    let mut out: String = text.chars().take(w.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// What the popup says above its target list. `compact` (a small
/// terminal) drops the room line, which the header shows, and keeps each
/// guard notice to one line, so the target list still fits.
fn info_lines(s: &State, p: &Confirm, t: &Theme, compact: bool, w: usize) -> Vec<Line<'static>> {
    let verb = capitalised(p.verb.as_str());
    let n = p.targets.len();
    let users = if n == 1 { "user" } else { "users" };
    let what = match &p.scope {
        Scope::Cursor => format!("{verb} the user at the cursor (nothing is marked)"),
        Scope::Marked => format!("{verb} {} marked {users}", num(n)),
        Scope::AllMatching { query } => match &p.planning {
            Planning::Resolving { .. } => format!("{verb} all matching `{}`", escape(query)),
            _ => format!("{verb} all {} {users} matching `{}`", num(n), escape(query)),
        },
        Scope::RetryFailed => format!("Retry {} failed {users} ({})", num(n), p.verb),
        Scope::Undo { removed, demoted } => {
            let people = |k: usize| if k == 1 { "user" } else { "users" };
            let re_add = format!("re-add {} removed {}", num(*removed), people(*removed));
            let give = format!(
                "give {} demoted {} their roles back",
                num(*demoted),
                people(*demoted)
            );
            match (*removed, *demoted) {
                (_, 0) => format!("Undo: {re_add} with their roles"),
                (0, _) => format!("Undo: {give}"),
                _ => format!("Undo: {re_add} and {give}"),
            }
        }
    };
    let mut lines = vec![Line::styled(what, t.title())];
    if let Some(me) = p.plan().and_then(|pl| pl.own_account.as_ref()) {
        lines.push(Line::styled(
            format!(
                " ⚠ YOUR OWN ACCOUNT {} (self_user) is among the targets: it is kept out of this batch ",
                escape(me.as_str())
            ),
            t.error().add_modifier(ratatui::style::Modifier::REVERSED),
        ));
    }
    if !compact {
        lines.push(Line::from(format!(
            "room {} ({})",
            escape(&p.room.name),
            escape(p.room.id.as_str())
        )));
    }
    if p.hidden > 0 {
        lines.push(Line::styled(
            format!(
                "{} marked {} hidden by the current filter",
                num(p.hidden),
                if p.hidden == 1 {
                    "user is"
                } else {
                    "users are"
                }
            ),
            t.warn(),
        ));
    }
    match &p.planning {
        Planning::Failed(e) => {
            lines.push(Line::styled(escape(e).into_owned(), t.error()));
            lines.push(Line::styled(
                format!(
                    "{} reads it again · {} closes",
                    s.keymap.label(Cmd::Refresh),
                    s.keymap.label(Cmd::Cancel)
                ),
                t.dim(),
            ));
        }
        Planning::Ready { plan, summary: sum } => {
            let absent = if sum.absent > 0 {
                format!(" · {} not in the room", num(sum.absent))
            } else {
                String::new()
            };
            lines.push(Line::from(format!(
                "{} to send · {} refused by guards{absent} · about {}",
                num(sum.to_send),
                num(sum.refused),
                human_duration(sum.eta)
            )));
            for notice in &plan.notices {
                let text = format!("! {}", escape(notice));
                let text = if compact { truncate(&text, w) } else { text };
                lines.push(Line::styled(text, t.warn()));
            }
        }
        Planning::Pending => lines.push(Line::styled("checking guards…", t.dim())),
        Planning::Resolving { scanned, matched } => {
            let total = s_total(p, *scanned);
            lines.push(Line::styled(
                format!(
                    "reading the room: scanned {} of ~{}, {} match so far",
                    num(*scanned),
                    num(total),
                    num(*matched)
                ),
                t.warn(),
            ));
            lines.push(Line::styled(
                "confirming opens once every member is read, with the exact count",
                t.dim(),
            ));
        }
    }
    lines
}

/// The room's announced size, never below what was read.
fn s_total(p: &Confirm, scanned: usize) -> usize {
    (p.room.member_count.unwrap_or(0) as usize).max(scanned)
}

/// Word-wraps `text` to `w` columns; continuation lines are indented so
/// each target stays one block.
fn wrap_words(text: &str, w: usize) -> Vec<String> {
    let w = w.max(8);
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for (i, word) in text.split(' ').enumerate() {
        let wlen = word.chars().count();
        let sep = usize::from(i > 0);
        if len + sep + wlen > w && len > 0 {
            out.push(std::mem::take(&mut line));
            line.push_str("    ");
            len = 4;
        } else if i > 0 {
            line.push(' ');
            len += 1;
        }
        // A word longer than a line is cut where the line ends.
        let mut chars = word.chars().peekable();
        while chars.peek().is_some() {
            let room = w.saturating_sub(len).max(1);
            let part: String = chars.by_ref().take(room).collect();
            len += part.chars().count();
            line.push_str(&part);
            if chars.peek().is_some() {
                out.push(std::mem::take(&mut line));
                line.push_str("    ");
                len = 4;
            }
        }
    }
    out.push(line);
    out
}

pub fn confirm(s: &State, p: &Confirm, t: &Theme, f: &mut Frame, body: Rect) {
    let n = p.targets.len();
    // The popup takes the width there is, so guard reasons are not cut.
    let popup_w = body.width.saturating_sub(4).max(40).min(body.width);
    let inner_w = (popup_w as usize).saturating_sub(2).max(1);
    let wrapped = |lines: &[Line]| -> usize {
        lines
            .iter()
            .map(|l| l.width().max(1).div_ceil(inner_w))
            .sum()
    };
    let typed = usize::from(p.needs_typed_count());
    let verdicts = p.plan().map(|pl| &pl.rows);
    // One target's line, wrapped (`compact`: cut to one line, so more
    // stay in view on a small terminal).
    let target_block = |i: usize, compact: bool| -> (Vec<String>, Style) {
        let target = &p.targets[i];
        let verdict = verdicts
            .and_then(|rows| rows.get(i))
            .filter(|r| r.user == target.user)
            .map(|r| &r.verdict);
        let (note, style) = match verdict {
            Some(Verdict::Skip(w)) => (format!("  skip: {}", escape(w)), t.failure()),
            Some(Verdict::Fail(w)) => (format!("  fails: {}", escape(w)), t.failure()),
            _ => (String::new(), Style::new()),
        };
        let text = format!(
            "  {} {:<6} {}{}",
            escape(target.user.as_str()),
            target.role.as_str(),
            escape(target.name.as_deref().unwrap_or("")),
            note
        );
        if compact {
            (vec![truncate(&text, inner_w)], style)
        } else {
            (wrap_words(&text, inner_w), style)
        }
    };
    let first_rows: usize = (p.scroll..n.min(p.scroll + 12))
        .map(|i| target_block(i, false).0.len())
        .sum();
    // Reason, dry run, [typed count], keys; the list header; two borders.
    let mut lines = info_lines(s, p, t, false, inner_w);
    let want = wrapped(&lines) + 1 + first_rows + 3 + typed + 2;
    let max_h = body.height.saturating_sub(1) as usize;
    // On a small terminal the popup takes the whole body and packs its
    // lines so at least a few targets stay in view.
    let compact = want > max_h && n > 0;
    let (fixed_below, height) = if compact {
        lines = info_lines(s, p, t, true, inner_w);
        (1 + typed, body.height)
    } else {
        (3 + typed, want.min(max_h) as u16)
    };
    let used = wrapped(&lines);
    let area = centered(body, popup_w, height);
    f.render_widget(Clear, area);
    let inner_h = area.height.saturating_sub(2) as usize;
    let list_h = inner_h.saturating_sub(used + fixed_below + 1).max(1);
    let verb = capitalised(p.verb.as_str());
    // Targets as whole blocks of wrapped lines, as many as fit.
    let mut target_lines: Vec<Line> = Vec::new();
    let mut shown = 0;
    for i in p.scroll..n {
        let (block, style) = target_block(i, compact);
        if shown > 0 && target_lines.len() + block.len() > list_h {
            break;
        }
        target_lines.extend(
            block
                .into_iter()
                .take(list_h)
                .map(|l| Line::styled(l, style)),
        );
        shown += 1;
        if target_lines.len() >= list_h {
            break;
        }
    }
    lines.push(Line::styled(
        format!(
            "targets {}-{} of {}:",
            num((p.scroll + 1).min(n)),
            num(p.scroll + shown),
            num(n)
        ),
        t.dim(),
    ));
    lines.extend(target_lines);
    let reason_key = s.keymap.label(Cmd::Reason);
    let dry_key = s.keymap.label(Cmd::DryRun);
    // While it is typed, a long reason shows its end (and the cursor);
    // else its start.
    let room = inner_w.saturating_sub("reason: ".len() + 1);
    let reason = Line::from(vec![
        Span::raw("reason: "),
        Span::styled(
            if p.reason.is_empty() && !p.editing_reason {
                format!("(none, {reason_key} edits)")
            } else if p.editing_reason {
                super::tail_fit(&escape(&p.reason), room)
            } else {
                escape(&p.reason).into_owned()
            },
            if p.editing_reason {
                t.cursor()
            } else {
                t.dim()
            },
        ),
        Span::raw(if p.editing_reason { "▏" } else { "" }),
    ]);
    let dry = vec![
        Span::raw("dry run: "),
        Span::styled(
            if p.dry_run {
                "ON — nothing will be sent"
            } else {
                "off"
            },
            if p.dry_run { t.warn() } else { Style::new() },
        ),
        Span::styled(format!(" ({dry_key} toggles)"), t.dim()),
    ];
    let mut bottom = if compact && p.editing_reason {
        // The line is the reason being typed.
        vec![reason]
    } else if compact {
        // Reason and dry run share a line; the footer shows the keys.
        let mut spans = reason.spans;
        spans.push(Span::raw(" · "));
        spans.extend(dry);
        vec![Line::from(spans)]
    } else {
        vec![reason, Line::from(dry)]
    };
    if let Some(count) = p.count().filter(|_| p.needs_typed_count()) {
        bottom.push(Line::from(vec![
            Span::styled(format!("type {} to confirm: ", num(count)), t.warn()),
            Span::styled(escape(&p.typed).into_owned(), t.cursor()),
            Span::raw("▏"),
        ]));
    }
    if !compact && p.editing_reason {
        // y and n type text now: the editor's keys.
        bottom.push(Line::from(vec![
            Span::styled("Enter", t.key()),
            Span::raw(" done · "),
            Span::styled("Esc", t.key()),
            Span::raw(" cancel the edit · "),
            Span::styled("ctrl-u", t.key()),
            Span::raw(" empty"),
        ]));
    } else if !compact {
        bottom.push(Line::from(vec![
            Span::styled(s.keymap.label(Cmd::Confirm), t.key()),
            Span::raw(" confirm · "),
            Span::styled(s.keymap.label(Cmd::Cancel), t.key()),
            Span::raw(" cancel · "),
            Span::styled(s.keymap.label(Cmd::ScrollDown), t.key()),
            Span::raw(" scroll"),
        ]));
    }
    let title = format!(" {} ", verb.to_lowercase());
    let block = Block::bordered()
        .border_style(t.warn())
        .title(Span::styled(title, t.warn()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [top, below] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(bottom.len() as u16)])
            .areas(inner);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), top);
    f.render_widget(Paragraph::new(bottom), below);
}

pub fn ask_quit(_s: &State, t: &Theme, f: &mut Frame, body: Rect) {
    let area = centered(body, 56, 5);
    f.render_widget(Clear, area);
    let lines = vec![
        Line::styled("A batch is running.", t.warn()),
        Line::from("Quit anyway? It is cancelled after the call in flight. y/n"),
    ];
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().border_style(t.warn()).title(" quit? ")),
        area,
    );
}

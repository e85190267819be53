//! The list screens. Each builds `Row`s only for the visible slice, so a
//! frame costs the same with 100 or 1,000,000 rows loaded.

use super::count;
use super::theme::Theme;
use crate::model::Status;
use crate::tui::format::num;
use crate::tui::state::{DETAIL_LINES, Pos, State};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

/// The visible window `offset..offset+height` of a list of `len` rows.
fn window(pos: &Pos, len: usize, height: usize) -> std::ops::Range<usize> {
    let start = pos.offset.min(len);
    start..(start + height).min(len)
}

fn block<'a>(t: &Theme, title: Vec<Span<'a>>) -> Block<'a> {
    Block::bordered()
        .border_style(t.border())
        .title(Line::from(title))
}

#[allow(clippy::too_many_arguments)]
fn draw_table<'a>(
    s: &State,
    f: &mut Frame,
    area: Rect,
    block: Block<'a>,
    header: &[&'a str],
    widths: &[Constraint],
    rows: Vec<Row<'a>>,
    empty: &'a str,
) {
    s.rows_built.set(s.rows_built.get() + rows.len());
    let t = super::theme(s);
    if rows.is_empty() {
        let inner = block.inner(area);
        f.render_widget(block, area);
        f.render_widget(Paragraph::new(Span::styled(empty, t.dim())), inner);
        return;
    }
    let table = Table::new(rows, widths.to_vec())
        .header(Row::new(header.to_vec()).style(t.header()))
        .block(block)
        .column_spacing(1);
    f.render_widget(table, area);
}

fn height(area: Rect) -> usize {
    (area.height as usize).saturating_sub(3).max(1)
}

pub fn rooms(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let r = &s.rooms;
    let mut title = vec![Span::styled(" rooms ", t.title())];
    title.push(Span::raw(format!(
        "{} ",
        count(r.view.len(), r.rooms.len())
    )));
    if !r.filter.text.is_empty() {
        title.push(Span::styled(format!("/{} ", r.filter.text), t.key()));
    }
    if r.loading {
        title.push(Span::styled("loading… ", t.dim()));
    }
    if s.header.caps.rooms == crate::provider::RoomListing::Configured {
        title.push(Span::styled(
            "configured: this provider cannot list rooms; these are the profile's and rooms seen (:room ID opens another) ",
            t.warn(),
        ));
    }
    let rows = window(&r.pos, r.view.len(), height(area))
        .filter_map(|p| {
            let room = r.rooms.get(*r.view.get(p)? as usize)?;
            let style = if p == r.pos.cursor {
                t.cursor()
            } else {
                Style::new()
            };
            Some(
                Row::new(vec![
                    Cell::from(room.name.clone()),
                    Cell::from(room.id.to_string()),
                    Cell::from(room.member_count.map_or("?".into(), |n| num(n as usize))),
                    Cell::from(if room.active { "active" } else { "deactivated" }),
                ])
                .style(style),
            )
        })
        .collect();
    draw_table(
        s,
        f,
        area,
        block(t, title),
        &["NAME", "ID", "MEMBERS", "STATE"],
        &[
            Constraint::Fill(1),
            Constraint::Length(17),
            Constraint::Length(9),
            Constraint::Length(11),
        ],
        rows,
        if r.loading {
            "loading rooms…"
        } else {
            "no rooms"
        },
    );
}

pub fn members(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let m = &s.members;
    let loaded = m.store.len();
    let mut title = vec![Span::styled(" members ", t.title())];
    title.push(Span::raw(format!("{} ", count(m.view.len(), m.total()))));
    if !m.filter.text.is_empty() {
        title.push(Span::styled(format!("/{} ", m.filter.text), t.key()));
        if m.filter_pending {
            title.push(Span::styled("filtering… ", t.dim()));
        }
    }
    let total = m
        .total_hint
        .map_or("?".to_string(), |n| format!("~{}", num(n as usize)));
    if !s.header.caps.members.is_full() {
        // Only some members can be known: say so, and how to add others.
        title.push(Span::styled(
            format!(
                "partial: {} known of {} (a adds ids) ",
                num(loaded.saturating_sub(m.gone_loaded)),
                total
            ),
            t.warn(),
        ));
    } else if !m.complete {
        title.push(Span::styled(
            format!("loaded {} / {} ", num(loaded), total),
            t.dim(),
        ));
    }
    if !m.marks.is_empty() || m.predicate.is_some() {
        let extra = if m.predicate.is_some() { "+" } else { "" };
        title.push(Span::styled(
            format!("marked {}{} ", num(m.marks.len()), extra),
            t.marked(),
        ));
    }
    if m.visual.is_some() {
        title.push(Span::styled("VISUAL ", t.marked()));
    }
    let rows = window(&m.pos, m.view.len(), height(area))
        .filter_map(|p| {
            let mem = m.store.get(*m.view.get(p)?)?;
            let marked = m.marks.contains(&mem.user);
            let ranged = m.in_range(p);
            let gutter = match (marked, ranged) {
                (_, true) => "[~]",
                (true, false) => "[x]",
                _ => "[ ]",
            };
            let mut style = if marked || ranged {
                t.marked()
            } else {
                Style::new()
            };
            if p == m.pos.cursor {
                style = style.patch(t.cursor());
            }
            Some(
                Row::new(vec![
                    Cell::from(gutter),
                    Cell::from(m.role_of(&mem.user, mem.role).as_str()),
                    Cell::from(mem.user.as_str()),
                    Cell::from(mem.name.as_deref().unwrap_or("")),
                ])
                .style(style),
            )
        })
        .collect();
    draw_table(
        s,
        f,
        area,
        block(t, title),
        &["", "ROLE", "USER ID", "DISPLAY NAME"],
        &[
            Constraint::Length(3),
            Constraint::Length(6),
            Constraint::Length(17),
            Constraint::Fill(1),
        ],
        rows,
        if m.loading {
            "loading members…"
        } else {
            "no members match"
        },
    );
}

pub fn results(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let Some(r) = &s.results else {
        f.render_widget(block(t, vec![Span::styled(" results ", t.title())]), area);
        return;
    };
    let mut title = vec![Span::styled(" results ", t.title())];
    title.push(Span::raw(format!(
        "{} rows · {} not ok ",
        num(r.rows.len()),
        num(r.not_ok)
    )));
    if r.pending > 0 {
        title.push(Span::styled(
            format!("{} pending ", num(r.pending)),
            t.dim(),
        ));
    }
    if r.dry_run {
        title.push(Span::styled("DRY RUN ", t.warn()));
    }
    if r.failures_only {
        title.push(Span::styled("failures only ", t.key()));
    }
    let outer = block(t, title);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let [table_area, detail_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(DETAIL_LINES as u16)])
            .areas(inner);
    // The name column goes first when space is short: the reason is what
    // the moderator reads, and the detail lines below show the name.
    let with_name = inner.width >= 80;
    let rows_h = (table_area.height as usize).saturating_sub(1).max(1);
    let rows: Vec<Row> = window(&r.pos, r.view.len(), rows_h)
        .filter_map(|p| {
            let row = r.rows.get(*r.view.get(p)? as usize)?;
            let mut style = match row.status {
                Some(st) if !st.is_ok() => t.failure(),
                Some(Status::DryRun) | None => t.dim(),
                Some(_) => t.success(),
            };
            if p == r.pos.cursor {
                style = style.patch(t.cursor());
            }
            let mut cells = vec![
                Cell::from(row.verb.as_str()),
                Cell::from(row.status.map_or("pending", |s| s.as_str())),
                Cell::from(row.user.as_str()),
            ];
            if with_name {
                cells.push(Cell::from(row.name.as_deref().unwrap_or("")));
            }
            cells.push(Cell::from(row.reason.as_deref().unwrap_or("")));
            Some(Row::new(cells).style(style))
        })
        .collect();
    let mut header = vec!["ACTION", "STATUS", "USER ID"];
    let mut widths = vec![
        Constraint::Length(7),
        Constraint::Length(14),
        Constraint::Length(17),
    ];
    if with_name {
        header.push("NAME");
        widths.push(Constraint::Fill(1));
    }
    header.push("REASON");
    widths.push(Constraint::Fill(2));
    draw_table(
        s,
        f,
        table_area,
        Block::new(),
        &header,
        &widths,
        rows,
        "no rows",
    );
    // The cursor row in full: who, what happened and the provider's
    // reason, wrapped, however narrow the columns are.
    let detail = r
        .view
        .get(r.pos.cursor)
        .and_then(|i| r.rows.get(*i as usize))
        .map(|row| {
            let mut spans = vec![Span::styled(row.user.to_string(), t.key())];
            if let Some(n) = &row.name {
                spans.push(Span::raw(format!(" {n}")));
            }
            let status = row.status.map_or("pending", |s| s.as_str());
            spans.push(Span::raw(format!(" · {} {status}", row.verb)));
            if let Some(reason) = &row.reason {
                spans.push(Span::raw(": "));
                spans.push(Span::raw(reason.clone()));
            }
            Line::from(spans)
        })
        .unwrap_or_default();
    let rule = Block::new().borders(Borders::TOP).border_style(t.border());
    f.render_widget(
        Paragraph::new(detail).wrap(Wrap { trim: true }).block(rule),
        detail_area,
    );
}

pub fn audit(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let a = &s.audit;
    let mut title = vec![
        Span::styled(" audit ", t.title()),
        Span::raw(format!("{} records, newest first ", num(a.records.len()))),
    ];
    let filter = a.filter.describe();
    if !filter.is_empty() {
        title.push(Span::styled(format!("{filter} "), t.dim()));
    }
    if a.loading {
        title.push(Span::styled("loading… ", t.dim()));
    }
    if let Some(e) = &a.error {
        title.push(Span::styled(format!("{e} "), t.error()));
    }
    let rows = window(&a.pos, a.records.len(), height(area))
        .filter_map(|p| {
            let r = a.records.get(p)?;
            let mut style = match r.status {
                Some(st) if !st.is_ok() => t.failure(),
                _ => Style::new(),
            };
            if p == a.pos.cursor {
                style = style.patch(t.cursor());
            }
            let status = match (r.kind, r.status) {
                (_, Some(st)) => st.as_str(),
                (crate::ops::audit::Kind::Intent, None) => "intent",
                _ => "",
            };
            Some(
                Row::new(vec![
                    Cell::from(r.ts.as_str()),
                    Cell::from(r.operator.as_str()),
                    Cell::from(r.action.as_str()),
                    Cell::from(status),
                    Cell::from(r.user.as_str()),
                    Cell::from(r.room.as_str()),
                    Cell::from(r.reason.as_deref().unwrap_or("")),
                ])
                .style(style),
            )
        })
        .collect();
    draw_table(
        s,
        f,
        area,
        block(t, title),
        &[
            "TIME", "OPERATOR", "ACTION", "STATUS", "USER ID", "ROOM", "REASON",
        ],
        &[
            Constraint::Length(20),
            Constraint::Length(10),
            Constraint::Length(7),
            Constraint::Length(14),
            Constraint::Length(17),
            Constraint::Length(17),
            Constraint::Fill(1),
        ],
        rows,
        "no audit records yet",
    );
}

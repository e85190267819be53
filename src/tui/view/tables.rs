//! The list screens. Each builds `Row`s only for the visible slice, so a
//! frame costs the same with 100 or 1,000,000 rows loaded.

use super::count;
use super::theme::Theme;
use crate::model::Status;
use crate::text::escape;
use crate::tui::format::num;
use crate::tui::state::{DETAIL_LINES, OUTCOME_LINES, Pos, State};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

/// The visible window `offset..offset+height` of a list of `len` rows.
fn window(pos: &Pos, len: usize, height: usize) -> std::ops::Range<usize> {
    let height = height.max(1);
    // The cursor row stays in view even when the area is shorter than the
    // list height the cursor was kept in (a wrapped status line).
    let start = pos
        .offset
        .max((pos.cursor + 1).saturating_sub(height))
        .min(len);
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
    empty: &str,
) {
    s.rows_built.set(s.rows_built.get() + rows.len());
    let t = super::theme(s);
    if rows.is_empty() {
        let inner = block.inner(area);
        f.render_widget(block, area);
        f.render_widget(
            Paragraph::new(Span::styled(empty.to_string(), t.dim())),
            inner,
        );
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
        title.push(Span::styled(
            format!("/{} ", escape(&r.filter.text)),
            t.key(),
        ));
    }
    if let Some(sort) = r.sort.label() {
        title.push(Span::styled(format!("{sort} "), t.key()));
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
                    Cell::from(escape(&room.name)),
                    Cell::from(escape(room.id.as_str())),
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
        } else if r.rooms.is_empty() {
            "no rooms"
        } else {
            "no rooms match"
        },
    );
}

pub fn members(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let m = &s.members;
    let loaded = m.store.len();
    let mut title = vec![Span::styled(" members ", t.title())];
    title.push(Span::raw(format!("{} ", count(m.view.len(), m.total()))));
    if m.room.as_ref().is_some_and(|r| !r.active) {
        title.push(Span::styled(
            " DEACTIVATED: membership is locked, nothing can be removed or demoted ",
            t.warn(),
        ));
        title.push(Span::raw(" "));
    }
    if !m.filter.text.is_empty() {
        title.push(Span::styled(
            format!("/{} ", escape(&m.filter.text)),
            t.key(),
        ));
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
    } else if let Some(n) = m.total_hint.filter(|n| *n != loaded as u64) {
        // The whole list is in, and the room's count disagrees: say so.
        title.push(Span::styled(
            format!("listed {}, the room says {} ", num(loaded), num(n as usize)),
            t.warn(),
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
                    Cell::from(escape(mem.user.as_str())),
                    Cell::from(escape(mem.name.as_deref().unwrap_or(""))),
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
        "{} {} · {} not ok ",
        num(r.rows.len()),
        if r.rows.len() == 1 { "row" } else { "rows" },
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
    let [bar_area, table_area, detail_area] = Layout::vertical([
        Constraint::Length(OUTCOME_LINES as u16),
        Constraint::Fill(1),
        Constraint::Length(DETAIL_LINES as u16),
    ])
    .areas(inner);
    super::charts::render_outcome_bar(&r.tally, t, f, bar_area);
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
                Cell::from(escape(row.user.as_str())),
            ];
            if with_name {
                cells.push(Cell::from(escape(row.name.as_deref().unwrap_or(""))));
            }
            cells.push(Cell::from(escape(row.reason.as_deref().unwrap_or(""))));
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
            let mut spans = vec![Span::styled(
                escape(row.user.as_str()).into_owned(),
                t.key(),
            )];
            if let Some(n) = &row.name {
                spans.push(Span::raw(format!(" {}", escape(n))));
            }
            let status = row.status.map_or("pending", |s| s.as_str());
            spans.push(Span::raw(format!(" · {} {status}", row.verb)));
            if let Some(reason) = &row.reason {
                spans.push(Span::raw(": "));
                spans.push(Span::raw(escape(reason).into_owned()));
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
        Span::raw(format!(
            "{} records, newest first, local time ",
            super::count(a.view.len(), a.records.len())
        )),
    ];
    let scope = a.scope.describe();
    if !scope.is_empty() {
        title.push(Span::styled(format!("{} ", escape(&scope)), t.dim()));
    }
    if !a.filter.text.is_empty() {
        title.push(Span::styled(
            format!("/{} ", escape(&a.filter.text)),
            t.key(),
        ));
    }
    if a.loading {
        title.push(Span::styled("loading… ", t.dim()));
    }
    if let Some(e) = &a.error {
        title.push(Span::styled(format!("{} ", escape(e)), t.error()));
    }
    let outer = block(t, title);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let [table_area, detail_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(DETAIL_LINES as u16)])
            .areas(inner);
    let rows_h = (table_area.height as usize).saturating_sub(1).max(1);
    let status_of = |r: &crate::ops::audit::Record| match (r.kind, r.status) {
        (_, Some(st)) => st.as_str(),
        (crate::ops::audit::Kind::Intent, None) => "intent",
        _ => "",
    };
    // Columns that fit whole, in order of need; the detail lines below
    // show the cursor record in full.
    // Each column gets the record and its time as shown.
    type Col = fn(&crate::ops::audit::Record, &str) -> String;
    // Whose each row is, where the records name several operators (a
    // team's shared store): right after what was done.
    let operator: (&str, u16, Col) = ("OPERATOR", 10, |r, _| r.operator.clone());
    let cols: [(&str, u16, Col); 8] = [
        ("TIME", 19, |_, t| t.to_string()),
        ("STATUS", 14, |r, _| match (r.kind, r.status) {
            (_, Some(st)) => st.to_string(),
            (crate::ops::audit::Kind::Intent, None) => "intent".into(),
            _ => String::new(),
        }),
        ("USER ID", 17, |r, _| r.user.to_string()),
        ("ACTION", 6, |r, _| r.action.to_string()),
        ("ROOM", 17, |r, _| r.room.to_string()),
        ("TICKET", 10, |r, _| r.ticket.clone().unwrap_or_default()),
        ("BATCH", 25, |r, _| r.batch.clone()),
        ("PROFILE", 12, |r, _| r.profile.clone()),
    ];
    let mut cols: Vec<&(&str, u16, Col)> = cols.iter().collect();
    if a.several_operators {
        cols.insert(4, &operator);
    }
    let mut left = table_area.width;
    let shown: Vec<&(&str, u16, Col)> = cols
        .into_iter()
        .enumerate()
        .take_while(|(i, (_, w, _))| {
            let fits = *i == 0 || left > *w;
            if fits {
                left = left.saturating_sub(w + 1);
            }
            fits
        })
        .map(|(_, c)| c)
        .collect();
    let with_reason = left >= 8;
    let rows = window(&a.pos, a.view.len(), rows_h)
        .filter_map(|p| {
            let i = *a.view.get(p)? as usize;
            let r = a.records.get(i)?;
            let mut style = match r.status {
                Some(st) if !st.is_ok() => t.failure(),
                _ => Style::new(),
            };
            if p == a.pos.cursor {
                style = style.patch(t.cursor());
            }
            let mut cells: Vec<Cell> = shown
                .iter()
                .map(|(_, _, cell)| Cell::from(escape(&cell(r, a.time_of(i))).into_owned()))
                .collect();
            if with_reason {
                cells.push(Cell::from(
                    escape(r.reason.as_deref().unwrap_or("")).into_owned(),
                ));
            }
            Some(Row::new(cells).style(style))
        })
        .collect();
    let mut header: Vec<&str> = shown.iter().map(|(h, _, _)| *h).collect();
    let mut widths: Vec<Constraint> = shown
        .iter()
        .map(|(_, w, _)| Constraint::Length(*w))
        .collect();
    if with_reason {
        header.push("REASON");
        widths.push(Constraint::Fill(1));
    }
    draw_table(
        s,
        f,
        table_area,
        Block::new(),
        &header,
        &widths,
        rows,
        // An empty answer to `:audit operator:NAME` says what matched
        // nothing, not that the log is empty.
        &if !a.records.is_empty() {
            "no records match".to_string()
        } else if !scope.is_empty() {
            format!("no records match {}", escape(&scope))
        } else {
            "no audit records yet".to_string()
        },
    );
    // The cursor record in full, whatever the columns cut.
    let detail = a
        .view
        .get(a.pos.cursor)
        .and_then(|i| Some((*i as usize, a.records.get(*i as usize)?)))
        .map(|(i, r)| {
            let mut text = format!(
                "{} · {} {} {} in {} · profile {} ({}) · operator {} · batch {}",
                a.time_of(i),
                r.action,
                r.user,
                status_of(r),
                r.room,
                r.profile,
                r.provider,
                r.operator,
                r.batch
            );
            if let Some(ticket) = &r.ticket {
                text.push_str(&format!(" · ticket {ticket}"));
            }
            if let Some(reason) = &r.reason {
                text.push_str(&format!(": {reason}"));
            }
            Line::from(escape(&text).into_owned())
        })
        .unwrap_or_default();
    let rule = Block::new().borders(Borders::TOP).border_style(t.border());
    f.render_widget(
        Paragraph::new(detail).wrap(Wrap { trim: true }).block(rule),
        detail_area,
    );
}

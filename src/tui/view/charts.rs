//! The charts: the progress screen's sparklines of calls and retries per
//! second, and the results screen's outcome bar. Each reads only what
//! `update` keeps (a bounded ring, a tally), never the rows.

use super::theme::Theme;
use crate::model::Status;
use crate::tui::format::num;
use crate::tui::rates::{OUTCOMES, Rates, Tally};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

/// Calls and retries per second over the run, newest on the right, each
/// under a line naming it and its peak.
pub fn rates(r: &Rates, t: &Theme, f: &mut Frame, area: Rect) {
    if area.height < 2 {
        return;
    }
    let room = area.height - 2;
    let retries_h = (room / 3).clamp(1, 3).min(room);
    let calls_h = (room - retries_h).min(6);
    let [calls_label, calls, retries_label, retries, _] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(calls_h),
        Constraint::Length(1),
        Constraint::Length(retries_h),
        Constraint::Fill(1),
    ])
    .areas(area);
    let width = area.width as usize;
    for (ring, style, what, label_area, spark_area) in [
        (&r.calls, t.calls(), "calls", calls_label, calls),
        (&r.retries, t.retries(), "retries", retries_label, retries),
    ] {
        let shown: Vec<u64> = Rates::last(ring, width).collect();
        let peak = shown.iter().copied().max().unwrap_or(0);
        let label = format!(
            "{what} per second · last {}s · peak {}",
            shown.len(),
            num(peak as usize)
        );
        f.render_widget(Line::styled(label, t.dim()), label_area);
        f.render_widget(Sparkline::default().data(shown).style(style), spark_area);
    }
}

/// How a status shows in the outcome bar: its glyph (so the bar reads
/// without colour), its name and its style.
fn look(status: Option<Status>, t: &Theme) -> (&'static str, &'static str, Style) {
    match status {
        Some(Status::Failed) => ("▓", "failed", t.failure()),
        Some(Status::Skipped) => ("▚", "skipped", t.warn()),
        Some(Status::AlreadyAbsent) => ("░", "already_absent", t.dim()),
        Some(Status::DryRun) => ("▒", "dry_run", t.dim()),
        Some(s) => ("█", s.as_str(), t.success()),
        None => ("·", "pending", t.dim()),
    }
}

/// One line: a bar of the rows by status, then a legend with the counts
/// ("█ removed 12 · ▓ failed 1").
pub fn outcome_bar(tally: &Tally, t: &Theme, width: u16) -> Line<'static> {
    let counts: Vec<usize> = OUTCOMES.iter().map(|s| tally.get(*s)).collect();
    let mut legend = Vec::new();
    let mut first = true;
    for (status, n) in OUTCOMES.iter().zip(&counts) {
        if *n == 0 {
            continue;
        }
        if !first {
            legend.push(Span::styled(" · ", t.dim()));
        }
        first = false;
        let (glyph, name, style) = look(*status, t);
        legend.push(Span::styled(glyph, style));
        legend.push(Span::raw(format!(" {name} {}", num(*n))));
    }
    // The legend is what reads; the bar takes what is left, up to a third.
    let legend_w: usize = legend.iter().map(|s| s.content.chars().count()).sum();
    let bar_w = (width as usize / 3)
        .clamp(10, 40)
        .min((width as usize).saturating_sub(legend_w + 2))
        .max(6);
    let mut spans = Vec::new();
    for (status, n) in OUTCOMES.iter().zip(segments(&counts, bar_w)) {
        let (glyph, _, style) = look(*status, t);
        if n > 0 {
            spans.push(Span::styled(glyph.repeat(n), style));
        }
    }
    spans.push(Span::raw("  "));
    spans.extend(legend);
    Line::from(spans)
}

/// Splits `width` cells among `counts` in proportion; every non-zero
/// count gets a cell while there are enough.
fn segments(counts: &[usize], width: usize) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let mut out: Vec<usize> = counts
        .iter()
        .map(|&c| (c as u128 * width as u128 / total as u128) as usize)
        .collect();
    if width >= counts.iter().filter(|c| **c > 0).count() {
        for (o, c) in out.iter_mut().zip(counts) {
            if *c > 0 && *o == 0 {
                *o = 1;
            }
        }
    }
    // Over (from the minimum cells): take from the widest; under (from
    // rounding down): give to the largest count.
    while out.iter().sum::<usize>() > width {
        let Some(i) = (0..out.len()).max_by_key(|i| out[*i]) else {
            break;
        };
        out[i] -= 1;
    }
    let biggest = (0..counts.len()).max_by_key(|i| counts[*i]).unwrap_or(0);
    let short = width.saturating_sub(out.iter().sum());
    out[biggest] += short;
    out
}

/// The outcome bar as a widget over one line.
pub fn render_outcome_bar(tally: &Tally, t: &Theme, f: &mut Frame, area: Rect) {
    f.render_widget(Paragraph::new(outcome_bar(tally, t, area.width)), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_fill_the_width_in_proportion_and_show_every_status() {
        assert_eq!(segments(&[1, 1, 2], 8), [2, 2, 4]);
        // A single failure among thousands still gets a cell.
        assert_eq!(segments(&[9_999, 1], 10), [9, 1]);
        assert_eq!(segments(&[0, 0], 10), [0, 0]);
        assert_eq!(segments(&[5], 10), [10]);
        for counts in [
            [1usize, 2, 3, 4, 5, 6, 7, 8],
            [1; 8],
            [0, 0, 0, 0, 0, 0, 0, 1],
        ] {
            for w in [10, 13, 40] {
                assert_eq!(
                    segments(&counts, w).iter().sum::<usize>(),
                    w,
                    "{counts:?} {w}"
                );
            }
        }
        // More statuses than cells: still exactly the width.
        assert_eq!(segments(&[1; 8], 5).iter().sum::<usize>(), 5);
    }
}

//! The progress screen of a running batch: a gauge of rows done, the
//! figures, and sparklines of calls and retries per second.

use super::theme::Theme;
use crate::ops::plan::human_duration;
use crate::tui::format::num;
use crate::tui::state::{Batch, State};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Gauge, Paragraph};
use std::time::Duration;

pub fn render(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let block = Block::bordered()
        .border_style(t.border())
        .title(Line::styled(" progress ", t.title()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(b) = &s.batch else {
        f.render_widget(Paragraph::new("no batch is running"), inner);
        return;
    };
    let lines = figures(b, t);
    let [gauge, text, _, charts] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(lines.len() as u16),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let p = &b.progress;
    let ratio = if p.total == 0 {
        0.0
    } else {
        (p.done as f64 / p.total as f64).clamp(0.0, 1.0)
    };
    f.render_widget(
        Gauge::default()
            .gauge_style(t.title())
            .ratio(ratio)
            .label(format!("{}/{}", num(p.done), num(p.total))),
        gauge,
    );
    f.render_widget(Paragraph::new(lines), text);
    super::charts::rates(&b.rates, t, f, charts);
}

/// The lines under the gauge: the figures, the user in flight, a wait the
/// provider asked for, the cancel notice.
fn figures(b: &Batch, t: &Theme) -> Vec<Line<'static>> {
    let p = &b.progress;
    let eta = if p.done > 0 && p.done < p.total {
        let per = p.elapsed.as_secs_f64() / p.done as f64;
        human_duration(Duration::from_secs_f64(per * (p.total - p.done) as f64))
    } else {
        "–".into()
    };
    let mut lines = vec![
        Line::from(format!(
            "{}{} · {:.1} calls/s · {} retries · {} in flight · ETA {}",
            b.verb,
            if b.dry_run { " (dry run)" } else { "" },
            p.calls_per_sec,
            p.retries,
            p.in_flight,
            eta
        )),
        Line::from(format!(
            "current: {}",
            p.current
                .as_ref()
                .map_or("–".to_string(), |u| crate::text::escape(u.as_str())
                    .into_owned())
        )),
    ];
    if let Some(w) = p.waiting {
        lines.push(Line::styled(
            format!(
                "the provider asked to wait {}s before the next call; waiting",
                w.as_secs_f64().ceil()
            ),
            t.warn(),
        ));
    }
    if b.cancelling {
        lines.push(Line::styled(
            "cancelling after the call in flight…",
            t.warn(),
        ));
    }
    lines
}

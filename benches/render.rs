//! Benchmark 1: one frame of the members screen (200x50) with 100,
//! 100,000 and 1,000,000 members loaded, the cursor mid-list, every 97th
//! member marked and a filter active. A frame builds rows only for the
//! visible slice, so its cost must not grow with the room.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use roomwarden::tui::bench::{self, BenchState};
use std::hint::black_box;
use std::time::Duration;

const W: u16 = 200;
const H: u16 = 50;
/// Matches about half the generated names ("Dana", "Hana", "Tanaka", …),
/// so every size fills the screen.
const FILTER: &str = "an";

fn render(c: &mut Criterion) {
    let mut g = c.benchmark_group("render_members_200x50");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in [100usize, 100_000, 1_000_000] {
        let state = BenchState::members(n, FILTER, W, H);
        assert!(state.shown() > 0, "the filter leaves rows to draw");
        let mut term = bench::terminal(W, H);
        // One frame first, so the back buffer holds a drawn screen.
        state.render(&mut term);
        g.bench_with_input(BenchmarkId::from_parameter(n), &state, |b, s| {
            b.iter(|| black_box(s.render(&mut term)))
        });
    }
    g.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);

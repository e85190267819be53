//! Benchmark 2: a substring filter over 1,000,000 loaded members producing
//! the new view (the work the console's background filter task does for
//! rooms over `SYNC_FILTER_MAX` members).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use roomwarden::tui::bench::BenchState;
use std::hint::black_box;
use std::time::Duration;

fn filter(c: &mut Criterion) {
    let mut state = BenchState::members(1_000_000, "", 200, 50);
    let mut g = c.benchmark_group("filter_1m");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    // A display-name word (case-insensitive, 1 in 8 match), a fragment of
    // the 17-digit ids (1 in 10 match), and a role plus a name.
    for query in ["TANAKA", "12345", "role:member kim"] {
        g.bench_with_input(BenchmarkId::from_parameter(query), query, |b, q| {
            b.iter(|| black_box(state.apply_filter(q)))
        });
    }
    g.finish();
}

criterion_group!(benches, filter);
criterion_main!(benches);

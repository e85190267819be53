//! The confirm popup's estimate of how long a plan takes: the plan's own
//! (the provider's rate limit and pacing) and, once a round trip to the
//! provider has been measured, the calls' latency with the calls a run
//! keeps in flight.

use crate::model::{Action, RoomId};
use crate::ops::RunOptions;
use crate::ops::plan::{Plan, Verdict};
use crate::provider::Capabilities;
use std::collections::HashMap;
use std::time::Duration;

/// How long `plan` takes at best. A slow provider makes the latency the
/// bound: `calls / in flight` rounds of one `round_trip` each, and every
/// paced change waits for its own answer before the interval starts.
pub fn estimate(plan: &Plan, caps: &Capabilities, round_trip: Option<Duration>) -> Duration {
    let base = plan.eta(caps);
    let Some(rtt) = round_trip.filter(|d| !d.is_zero()) else {
        return base;
    };
    let mut paced = 0u32;
    let mut groups: HashMap<(&RoomId, Action), usize> = HashMap::new();
    for r in plan.rows.iter().filter(|r| r.verdict == Verdict::Send) {
        if plan.paced.contains_key(&r.room) {
            paced = paced.saturating_add(1);
        } else {
            *groups.entry((&r.room, r.action)).or_default() += 1;
        }
    }
    // Calls as the run groups them (per room and action, by batch size).
    let calls: usize = groups
        .iter()
        .map(|((_, action), n)| match action {
            Action::Demote => n.div_ceil(caps.max_demote_batch.max(1)),
            _ => n.div_ceil(caps.max_batch.max(1)),
        })
        .sum();
    let in_flight = RunOptions::default()
        .concurrency
        .clamp(1, caps.max_in_flight.max(1));
    let rounds = u32::try_from(calls.div_ceil(in_flight)).unwrap_or(u32::MAX);
    let by_rate = Duration::from_secs_f64(calls as f64 / caps.quota.calls_per_sec().max(0.001));
    let by_latency = rtt.saturating_mul(rounds);
    base.saturating_add(by_latency.saturating_sub(by_rate))
        .saturating_add(rtt.saturating_mul(paced))
}

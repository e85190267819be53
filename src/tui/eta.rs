//! The confirm popup's estimate of how long a plan takes: the plan's own
//! (the provider's rate limit and pacing) and, once a round trip to the
//! provider has been measured, the calls' latency with the calls a run
//! keeps in flight.

use crate::ops::RunOptions;
use crate::ops::plan::Plan;
use crate::provider::Capabilities;
use std::time::Duration;

/// How long `plan` takes at best. A slow provider makes the latency the
/// bound: `calls / in flight` rounds of one `round_trip` each, and every
/// paced change waits for its own answer before the interval starts.
pub fn estimate(plan: &Plan, caps: &Capabilities, round_trip: Option<Duration>) -> Duration {
    let calls = plan.calls(caps);
    let base = calls.eta(caps);
    let Some(rtt) = round_trip.filter(|d| !d.is_zero()) else {
        return base;
    };
    let in_flight = RunOptions::default()
        .concurrency
        .clamp(1, caps.max_in_flight.max(1));
    let rounds = u32::try_from(calls.batched.div_ceil(in_flight)).unwrap_or(u32::MAX);
    let by_latency = rtt.saturating_mul(rounds);
    base.saturating_add(by_latency.saturating_sub(calls.by_rate(caps)))
        .saturating_add(rtt.saturating_mul(calls.paced))
}

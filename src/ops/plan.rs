//! Planning: a selection plus an action becomes an ordered list of rows,
//! each either to be sent or refused by a guard. Nothing is sent here but
//! reads (the room and its owners/admins).

use crate::config::Profile;
use crate::model::{Action, Role, Room, RoomId, UserId};
use crate::provider::{Capabilities, ErrorKind, IdFold, ProviderError};
use regex::Regex;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// One requested change, from a face or a ticket file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub room: RoomId,
    pub user: UserId,
    pub action: Action,
    /// The moderator's reason, kept in the audit log. Shared between the
    /// requests of a ticket file that give the same text.
    pub note: Option<Arc<str>>,
    pub ticket: Option<Arc<str>>,
    /// For `readd`: the role to restore, where known.
    pub role: Option<Role>,
}

impl Request {
    pub fn new(room: impl Into<RoomId>, user: impl Into<UserId>, action: Action) -> Self {
        Self {
            room: room.into(),
            user: user.into(),
            action,
            note: None,
            ticket: None,
            role: None,
        }
    }
}

/// What the plan says about a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it.
    Send,
    /// A guard refused it; ends `skipped` with this reason.
    Skip(String),
    /// It cannot work (e.g. the room does not exist); ends `failed`.
    Fail(String),
    /// A lookup showed the user is not in the room: ends `already_absent`
    /// with no call.
    Absent,
}

/// One planned (room, user, action).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRow {
    pub room: RoomId,
    pub user: UserId,
    pub action: Action,
    /// The user's role before the change (remove/demote), or the role to
    /// restore (readd).
    pub role: Option<Role>,
    /// Shared between the rows that give the same text (a million-row
    /// ticket names a handful of reasons and tickets).
    pub note: Option<Arc<str>>,
    pub ticket: Option<Arc<str>>,
    pub verdict: Verdict,
}

/// An ordered plan, its pacing and what the moderator should be told.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub rows: Vec<PlanRow>,
    /// Rooms whose changes are paced: at most one change per interval.
    pub paced: BTreeMap<RoomId, Duration>,
    /// Warnings for the confirm step (guards that fired, pacing, ...).
    pub notices: Vec<String>,
    /// Requests dropped as duplicates.
    pub duplicates: usize,
    /// The profile's own account (`self_user`), when it is among the
    /// requests: kept out, and shown as a warning of its own.
    pub own_account: Option<UserId>,
    /// Lookups the plan needed that failed ("room R: why"): their rows
    /// fail, and the faces stop before sending anything, offering a retry.
    /// Never a guard.
    pub unread: Vec<String>,
}

impl Plan {
    pub fn to_send(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::Send)
            .count()
    }

    /// Refuses the re-adds of these (room, user) pairs with `why`.
    pub fn refuse_readds(&mut self, pairs: &[(RoomId, UserId)], why: &str) {
        if pairs.is_empty() {
            return;
        }
        let pairs: HashSet<&(RoomId, UserId)> = pairs.iter().collect();
        let mut n = 0;
        for row in &mut self.rows {
            if row.action == Action::Readd
                && row.verdict == Verdict::Send
                && pairs.contains(&(row.room.clone(), row.user.clone()))
            {
                row.verdict = Verdict::Skip(why.to_string());
                n += 1;
            }
        }
        if n > 0 {
            self.notices.push(format!("{n} skipped: {why}"));
        }
    }

    /// Rows a guard refused.
    pub fn guarded(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Skip(_)))
            .count()
    }

    /// Rows refused by a guard or failed in planning, with the reason.
    pub fn refused(&self) -> impl Iterator<Item = (&PlanRow, &str)> {
        self.rows.iter().filter_map(|r| match &r.verdict {
            Verdict::Send | Verdict::Absent => None,
            Verdict::Skip(why) | Verdict::Fail(why) => Some((r, why.as_str())),
        })
    }

    /// The calls the plan makes as the run groups them: rows to send in
    /// paced rooms (one call each, at their interval), and the other rows
    /// in calls per room and action at the provider's batch sizes.
    pub fn calls(&self, caps: &Capabilities) -> Calls {
        let mut out = Calls::default();
        let mut groups: HashMap<(&RoomId, Action), usize> = HashMap::new();
        for r in self.rows.iter().filter(|r| r.verdict == Verdict::Send) {
            if let Some(interval) = self.paced.get(&r.room) {
                out.paced = out.paced.saturating_add(1);
                out.paced_wait += *interval;
            } else {
                *groups.entry((&r.room, r.action)).or_default() += 1;
            }
        }
        out.batched = groups
            .iter()
            .map(|((_, action), n)| match action {
                Action::Demote => n.div_ceil(caps.max_demote_batch.max(1)),
                _ => n.div_ceil(caps.max_batch.max(1)),
            })
            .sum();
        out
    }

    /// How long the plan takes at best: paced rooms at their interval, the
    /// rest at the quota's rate with the provider's batch sizes.
    pub fn eta(&self, caps: &Capabilities) -> Duration {
        self.calls(caps).eta(caps)
    }
}

/// The calls a plan makes ([`Plan::calls`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Calls {
    /// Calls outside paced rooms.
    pub batched: usize,
    /// Changes in paced rooms, one call each.
    pub paced: u32,
    /// The paced changes' intervals, summed.
    pub paced_wait: Duration,
}

impl Calls {
    /// The batched calls at the quota's rate.
    pub fn by_rate(&self, caps: &Capabilities) -> Duration {
        Duration::from_secs_f64(self.batched as f64 / caps.quota.calls_per_sec().max(0.001))
    }

    /// How long they take at best, by rate and pacing alone.
    pub fn eta(&self, caps: &Capabilities) -> Duration {
        self.paced_wait + self.by_rate(caps)
    }
}

/// The profile's guards: accounts never touched. Ids are compared the
/// way the provider compares them (`fold`); the pattern matches the
/// folded form.
#[derive(Clone, Debug, Default)]
pub struct Guards {
    pub self_user: Option<UserId>,
    pub protected_users: HashSet<UserId>,
    pub protected_pattern: Option<Regex>,
    pub fold: IdFold,
}

impl Guards {
    pub fn from_profile(profile: &Profile, fold: IdFold) -> Self {
        let c = &profile.common;
        let id = |u: &str| UserId::from(fold.apply(u).as_ref());
        Self {
            self_user: c.self_user.as_deref().map(id),
            protected_users: c.protected_users.iter().map(|u| id(u)).collect(),
            protected_pattern: c.protected_pattern.clone(),
            fold,
        }
    }

    /// Whether `user` is the profile's own account.
    pub fn is_self(&self, user: &UserId) -> bool {
        let folded = self.fold.apply(user.as_str());
        self.self_user.as_ref().map(UserId::as_str) == Some(folded.as_ref())
    }

    /// Why this user may not be touched, if a guard says so.
    pub fn refuses(&self, user: &UserId) -> Option<String> {
        let folded = self.fold.apply(user.as_str());
        let user: &str = folded.as_ref();
        if self.self_user.as_ref().is_some_and(|s| s.as_str() == user) {
            return Some("the profile's own account (self_user)".into());
        }
        if self.protected_users.contains(user) {
            return Some("protected user (protected_users)".into());
        }
        if let Some(re) = &self.protected_pattern
            && re.is_match(user)
        {
            return Some(format!(
                "protected user (protected_pattern `{}`)",
                re.as_str()
            ));
        }
        None
    }
}

/// What planning knows about one room.
pub struct RoomFacts {
    pub room: Result<Room, String>,
    /// Owners and admins by id (and, where members cannot all be listed,
    /// members looked up one by one).
    pub staff: HashMap<UserId, Role>,
    /// Users a lookup showed are not in the room.
    pub absent: HashSet<UserId>,
}

/// Builds a plan from requests and the facts read for each room.
/// `validate` checks ids against the provider's rules.
pub fn build(
    requests: Vec<Request>,
    caps: &Capabilities,
    guards: &Guards,
    facts: &HashMap<RoomId, RoomFacts>,
    validate: impl Fn(&UserId) -> Result<(), String>,
) -> Plan {
    let mut plan = Plan::default();
    let mut owners_left: HashMap<RoomId, usize> = facts
        .iter()
        .map(|(id, f)| {
            (
                id.clone(),
                f.staff.values().filter(|r| **r == Role::Owner).count(),
            )
        })
        .collect();
    let mut guard_counts: BTreeMap<String, usize> = BTreeMap::new();
    // Per (room, user), what the rows planned so far say: the actions
    // already asked (later ones are duplicates) and the role they leave
    // the user with (judged on that, not on the room as it was read). Kept
    // beside the plan rows, not as keys of their own: a million-row file
    // would otherwise hold every id twice more in two hash maps.
    let mut pairs = Pairs::with_capacity(requests.len());
    plan.rows.reserve_exact(requests.len());
    // Requests are taken from the back of a reversed list, and the list
    // shrinks as it empties: the requests and the plan rows are not both
    // held whole.
    let mut requests = requests;
    requests.reverse();
    while let Some(req) = requests.pop() {
        if requests.capacity() - requests.len() >= SHRINK_EVERY {
            requests.shrink_to_fit();
        }
        let (hash, found) = pairs.find(&plan.rows, &req.room, &req.user);
        let mut pair = found.unwrap_or_default();
        if pair.asked & action_bit(req.action) != 0 {
            plan.duplicates += 1;
            continue;
        }
        pair.asked |= action_bit(req.action);
        let fact = facts.get(&req.room);
        let current = match pair.after {
            Some(role) => role,
            None => fact.and_then(|f| f.staff.get(&req.user).copied()),
        };
        let role = match req.action {
            // Unknown stays unknown (the audit says so); sent as a member.
            Action::Readd => req.role,
            _ => Some(current.unwrap_or(Role::Member)),
        };
        let known_absent = pair.after.is_none()
            && current.is_none()
            && fact.is_some_and(|f| f.absent.contains(&req.user));
        let verdict = judge(
            &req,
            current,
            known_absent,
            caps,
            guards,
            fact,
            &mut owners_left,
            &validate,
        );
        if guards.is_self(&req.user) {
            // A warning of its own, not one more guard line.
            plan.own_account = Some(req.user.clone());
        } else if let Verdict::Skip(why) = &verdict {
            *guard_counts.entry(why.clone()).or_default() += 1;
        }
        if verdict == Verdict::Send {
            let next = match req.action {
                Action::Remove => None,
                Action::Demote => match current {
                    Some(Role::Owner) if caps.has_admins => Some(Role::Admin),
                    _ => Some(Role::Member),
                },
                Action::Readd => {
                    if role == Some(Role::Owner) {
                        *owners_left.entry(req.room.clone()).or_insert(0) += 1;
                    }
                    role
                }
            };
            pair.after = Some(next);
        }
        pairs.push(hash, plan.rows.len(), pair);
        if verdict == Verdict::Send
            && let Some(Ok(room)) = fact.map(|f| &f.room)
            && let Some(p) = caps.pacing
            && is_big(room, p.above_members)
            && !plan.paced.contains_key(&req.room)
        {
            plan.paced.insert(req.room.clone(), p.interval);
        }
        plan.rows.push(PlanRow {
            room: req.room,
            user: req.user,
            action: req.action,
            role,
            note: req.note,
            ticket: req.ticket,
            verdict,
        });
    }
    for (why, n) in guard_counts {
        plan.notices.push(format!("{n} skipped: {why}"));
    }
    for (room, interval) in &plan.paced {
        let n = plan
            .rows
            .iter()
            .filter(|r| &r.room == room && r.verdict == Verdict::Send)
            .count();
        let above = caps.pacing.map(|p| p.above_members).unwrap_or(0);
        let size = match facts.get(room).map(|f| &f.room) {
            Some(Ok(Room {
                member_count: None, ..
            })) => format!(
                "room {room}: its member count could not be read, so it is treated as over {above} members"
            ),
            _ => format!("room {room} has over {above} members"),
        };
        plan.notices.push(format!(
            "{size}: paced at one change per {}s, {n} changes take about {}",
            interval.as_secs_f64(),
            human_duration(*interval * n as u32)
        ));
    }
    if plan.duplicates > 0 {
        plan.notices
            .push(format!("{} duplicate requests collapsed", plan.duplicates));
    }
    plan
}

/// Shrink the emptying request list once this many slots are free.
const SHRINK_EVERY: usize = 1 << 16;

fn action_bit(action: Action) -> u8 {
    match action {
        Action::Remove => 1,
        Action::Demote => 2,
        Action::Readd => 4,
    }
}

/// What the rows planned so far say about one (room, user).
#[derive(Clone, Copy, Default)]
struct Pair {
    /// The actions asked so far ([`action_bit`]).
    asked: u8,
    /// The role the sent rows leave (`Some(None)`: not in the room);
    /// `None`: no row was sent, the room as read applies.
    after: Option<Option<Role>>,
}

/// [`Pair`]s found through the plan rows: a map from the hash of (room,
/// user) to the last row with that hash, and per row the row before it
/// with the same hash (so two pairs whose hashes collide stay apart) and
/// the pair as that row leaves it.
struct Pairs {
    hasher: std::hash::RandomState,
    last: HashMap<u32, u32, std::hash::BuildHasherDefault<Prehashed>>,
    /// Per plan row: the previous row with the same hash, and the pair.
    rows: Vec<(u32, Pair)>,
}

const NO_ROW: u32 = u32::MAX;

impl Pairs {
    fn with_capacity(n: usize) -> Self {
        Self {
            hasher: std::hash::RandomState::new(),
            last: HashMap::with_capacity_and_hasher(n, Default::default()),
            rows: Vec::with_capacity(n),
        }
    }

    /// The hash of (room, user) and, if a planned row is about them, the
    /// pair as the last such row leaves it.
    fn find(&self, planned: &[PlanRow], room: &RoomId, user: &UserId) -> (u32, Option<Pair>) {
        use std::hash::BuildHasher;
        // 32 bits keep the map small; pairs whose hashes collide are told
        // apart through the chain below.
        let hash = self.hasher.hash_one((room.as_str(), user.as_str())) as u32;
        (hash, self.find_hashed(hash, planned, room, user))
    }

    fn find_hashed(
        &self,
        hash: u32,
        planned: &[PlanRow],
        room: &RoomId,
        user: &UserId,
    ) -> Option<Pair> {
        let mut at = self.last.get(&hash).copied().unwrap_or(NO_ROW);
        while at != NO_ROW {
            let i = at as usize;
            let row = &planned[i];
            if row.user == *user && row.room == *room {
                return Some(self.rows[i].1);
            }
            at = self.rows[i].0;
        }
        None
    }

    /// Records the pair as plan row `row` (the next one) leaves it.
    fn push(&mut self, hash: u32, row: usize, pair: Pair) {
        debug_assert_eq!(row, self.rows.len());
        // Past u32::MAX rows the chains end early; never reached (a plan
        // of four billion rows does not fit in memory).
        let index = u32::try_from(row).unwrap_or(NO_ROW);
        let before = self.last.insert(hash, index).unwrap_or(NO_ROW);
        self.rows.push((before, pair));
    }
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u32(&mut self, n: u32) {
        // Spread over the high bits too (the map's control bytes use them).
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[allow(clippy::too_many_arguments)]
fn judge(
    req: &Request,
    current: Option<Role>,
    known_absent: bool,
    caps: &Capabilities,
    guards: &Guards,
    fact: Option<&RoomFacts>,
    owners_left: &mut HashMap<RoomId, usize>,
    validate: &impl Fn(&UserId) -> Result<(), String>,
) -> Verdict {
    if let Err(why) = validate(&req.user) {
        return Verdict::Skip(format!("invalid user id `{}`: {why}", req.user));
    }
    match fact.map(|f| &f.room) {
        None => return Verdict::Fail(format!("room {} was not looked up", req.room)),
        Some(Err(why)) => return Verdict::Fail(why.clone()),
        Some(Ok(room)) if !room.active => {
            return Verdict::Skip("room is deactivated; membership is locked".into());
        }
        Some(Ok(_)) => {}
    }
    if let Some(why) = guards.refuses(&req.user) {
        return Verdict::Skip(why);
    }
    if known_absent {
        match req.action {
            Action::Remove => return Verdict::Absent,
            Action::Demote => return Verdict::Skip("not in the room; nothing to demote".into()),
            Action::Readd => {}
        }
    }
    match req.action {
        Action::Readd if !caps.can_readd => {
            return Verdict::Skip("this provider cannot re-add users".into());
        }
        Action::Readd => {
            // A user still in the room as staff: re-adding with a lower role
            // would demote them (and could demote the last owner).
            return match (current, req.role.unwrap_or(Role::Member)) {
                (Some(now), back) if now < back => Verdict::Skip(format!(
                    "still in the room as {now}; re-adding as {back} would demote them"
                )),
                _ => Verdict::Send,
            };
        }
        Action::Demote => match current {
            None | Some(Role::Member) => {
                return Verdict::Skip("not an owner or admin; nothing to demote".into());
            }
            Some(Role::Owner) if !caps.can_demote_owner => {
                return Verdict::Skip(
                    "owners cannot be demoted in place on this provider; transfer ownership in the provider's console first"
                        .into(),
                );
            }
            Some(Role::Admin) if !caps.can_demote => {
                return Verdict::Skip("this provider cannot demote admins".into());
            }
            Some(_) => {}
        },
        Action::Remove => {}
    }
    if req.action == Action::Remove && current == Some(Role::Owner) && !caps.can_remove_owner {
        return Verdict::Skip(caps.owner_rule.map_or_else(
            || {
                "owners cannot be removed on this provider; transfer ownership in the provider's console first"
                    .to_string()
            },
            str::to_string,
        ));
    }
    if current == Some(Role::Owner) {
        let left = owners_left.entry(req.room.clone()).or_insert(0);
        if *left <= 1 {
            return Verdict::Skip("last owner of the room".into());
        }
        if let Some(floor) = caps.owner_floor
            && let Some(Ok(room)) = fact.map(|f| &f.room)
            && is_big(room, floor.above_members)
            && *left <= floor.owners
        {
            let size = match room.member_count {
                Some(_) => format!("a room of over {} members", floor.above_members),
                None => format!(
                    "a room whose member count could not be read (treated as over {})",
                    floor.above_members
                ),
            };
            return Verdict::Skip(format!(
                "would leave {} owner(s) in {size}; keep at least {} there ({})",
                *left - 1,
                floor.owners,
                floor.source
            ));
        }
        *left -= 1;
    }
    Verdict::Send
}

/// Whether a room counts as big for a rule that starts above `above`
/// members; a room whose count could not be read does (the safe side).
fn is_big(room: &Room, above: u64) -> bool {
    room.member_count.is_none_or(|n| n > above)
}

/// "2h 5m", "3m 20s", "12s".
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

/// Turns a room lookup error into the reason its rows fail with, or passes
/// on errors that mean the provider cannot be used at all.
/// Only those (auth refused, unreachable) stop the whole plan (exit 3);
/// anything else — a missing room, a refusal, a provider still failing or
/// rate limiting after the retries — fails that room's rows with a reason,
/// so every requested row is reported.
pub fn room_fact_error(err: ProviderError) -> Result<String, ProviderError> {
    if err.is_unavailable() {
        return Err(err);
    }
    Ok(match err.kind {
        ErrorKind::NotFound | ErrorKind::BadRequest | ErrorKind::Forbidden => err.reason(),
        _ => err.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Pacing;

    fn facts(
        room: &str,
        active: bool,
        members: u64,
        staff: &[(&str, Role)],
    ) -> HashMap<RoomId, RoomFacts> {
        let mut m = HashMap::new();
        m.insert(
            RoomId::from(room),
            RoomFacts {
                room: Ok(Room {
                    id: room.into(),
                    name: "r".into(),
                    member_count: Some(members),
                    active,
                }),
                staff: staff.iter().map(|(u, r)| (UserId::from(*u), *r)).collect(),
                absent: HashSet::new(),
            },
        );
        m
    }

    fn verdicts(plan: &Plan) -> Vec<(&str, &Verdict)> {
        plan.rows
            .iter()
            .map(|r| (r.user.as_str(), &r.verdict))
            .collect()
    }

    fn ok(_: &UserId) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn last_owner_is_never_removed_or_demoted() {
        let f = facts("r", true, 10, &[("o1", Role::Owner), ("o2", Role::Owner)]);
        let reqs = vec![
            Request::new("r", "o1", Action::Remove),
            Request::new("r", "o2", Action::Demote),
            Request::new("r", "m1", Action::Remove),
        ];
        let plan = build(reqs, &Capabilities::default(), &Guards::default(), &f, ok);
        assert_eq!(
            verdicts(&plan),
            vec![
                ("o1", &Verdict::Send),
                ("o2", &Verdict::Skip("last owner of the room".into())),
                ("m1", &Verdict::Send)
            ]
        );
        assert_eq!(plan.rows[0].role, Some(Role::Owner));
        assert!(plan.notices.iter().any(|n| n.contains("last owner")));
    }

    #[test]
    fn protected_self_deactivated_invalid_and_duplicates() {
        let guards = Guards {
            self_user: Some("me".into()),
            protected_users: ["vip".into()].into(),
            protected_pattern: Some(Regex::new("^svc-").unwrap()),
            fold: IdFold::Exact,
        };
        let f = facts("r", true, 10, &[]);
        let reqs = vec![
            Request::new("r", "me", Action::Remove),
            Request::new("r", "vip", Action::Remove),
            Request::new("r", "svc-bot", Action::Remove),
            Request::new("r", "bad id", Action::Remove),
            Request::new("r", "u1", Action::Remove),
            Request::new("r", "u1", Action::Remove),
        ];
        let validate = |u: &UserId| {
            if u.as_str().contains(' ') {
                Err("spaces are not allowed".to_string())
            } else {
                Ok(())
            }
        };
        let plan = build(reqs, &Capabilities::default(), &guards, &f, validate);
        let v = verdicts(&plan);
        assert_eq!(v.len(), 5);
        assert!(matches!(v[0].1, Verdict::Skip(w) if w.contains("self_user")));
        assert_eq!(plan.own_account, Some(UserId::from("me")));
        assert!(
            !plan.notices.iter().any(|n| n.contains("self_user")),
            "{:?}",
            plan.notices
        );
        assert!(matches!(v[1].1, Verdict::Skip(w) if w.contains("protected_users")));
        assert!(matches!(v[2].1, Verdict::Skip(w) if w.contains("^svc-")));
        assert!(matches!(v[3].1, Verdict::Skip(w) if w.contains("spaces are not allowed")));
        assert_eq!(v[4].1, &Verdict::Send);
        assert_eq!(plan.duplicates, 1);

        let dead = facts("r", false, 10, &[]);
        let plan = build(
            vec![Request::new("r", "u1", Action::Remove)],
            &Capabilities::default(),
            &Guards::default(),
            &dead,
            ok,
        );
        assert!(matches!(&plan.rows[0].verdict, Verdict::Skip(w) if w.contains("deactivated")));
    }

    #[test]
    fn demote_needs_staff_and_a_provider_that_can() {
        let f = facts(
            "r",
            true,
            10,
            &[
                ("o1", Role::Owner),
                ("o2", Role::Owner),
                ("a1", Role::Admin),
            ],
        );
        let caps = Capabilities {
            can_demote_owner: false,
            ..Capabilities::default()
        };
        let reqs = vec![
            Request::new("r", "o1", Action::Demote),
            Request::new("r", "a1", Action::Demote),
            Request::new("r", "m1", Action::Demote),
        ];
        let plan = build(reqs, &caps, &Guards::default(), &f, ok);
        assert!(
            matches!(&plan.rows[0].verdict, Verdict::Skip(w) if w.contains("transfer ownership"))
        );
        assert_eq!(plan.rows[1].verdict, Verdict::Send);
        assert!(
            matches!(&plan.rows[2].verdict, Verdict::Skip(w) if w.contains("not an owner or admin"))
        );
    }

    #[test]
    fn readd_never_lowers_the_role_of_someone_still_in_the_room() {
        let f = facts("r", true, 10, &[("o1", Role::Owner), ("a1", Role::Admin)]);
        let back = |user: &str, role: Option<Role>| Request {
            role,
            ..Request::new("r", user, Action::Readd)
        };
        let reqs = vec![
            back("o1", None),
            back("a1", Some(Role::Member)),
            back("a1x", Some(Role::Admin)),
            back("m1", None),
        ];
        let plan = build(reqs, &Capabilities::default(), &Guards::default(), &f, ok);
        assert!(
            matches!(&plan.rows[0].verdict, Verdict::Skip(w) if w == "still in the room as owner; re-adding as member would demote them"),
            "{:?}",
            plan.rows[0].verdict
        );
        assert!(matches!(&plan.rows[1].verdict, Verdict::Skip(w) if w.contains("as admin")));
        assert_eq!(plan.rows[2].verdict, Verdict::Send);
        assert_eq!(plan.rows[3].verdict, Verdict::Send);

        // Restoring the role someone already has changes nothing: allowed.
        let same = build(
            vec![back("a1", Some(Role::Admin))],
            &Capabilities::default(),
            &Guards::default(),
            &f,
            ok,
        );
        assert_eq!(same.rows[0].verdict, Verdict::Send);
    }

    #[test]
    fn only_an_unusable_provider_stops_the_plan() {
        let err = |kind| ProviderError::new("agora", "GET /chatrooms/9", kind, "boom");
        for kind in [ErrorKind::Auth, ErrorKind::Connection, ErrorKind::Timeout] {
            assert!(room_fact_error(err(kind)).is_err());
        }
        assert_eq!(room_fact_error(err(ErrorKind::NotFound)).unwrap(), "boom");
        for kind in [
            ErrorKind::Server { status: 503 },
            ErrorKind::RateLimited { retry_after: None },
            ErrorKind::Unsupported,
        ] {
            let why = room_fact_error(err(kind)).unwrap();
            assert!(
                why.contains("agora GET /chatrooms/9") && why.contains("boom"),
                "{why}"
            );
        }
    }

    #[test]
    fn pacing_follows_the_room_as_requested_whatever_the_provider_spells() {
        let caps = Capabilities {
            pacing: Some(Pacing {
                above_members: 1000,
                interval: Duration::from_secs(3),
            }),
            ..Capabilities::default()
        };
        // Asked as URL-safe base64, listed by the provider in standard form.
        let mut f = facts("a-b_c", true, 5000, &[]);
        if let Some(RoomFacts { room: Ok(r), .. }) = f.get_mut(&RoomId::from("a-b_c")) {
            r.id = RoomId::from("a+b/c==");
        }
        let plan = build(
            vec![Request::new("a-b_c", "u1", Action::Remove)],
            &caps,
            &Guards::default(),
            &f,
            ok,
        );
        assert_eq!(
            plan.paced.get(&RoomId::from("a-b_c")),
            Some(&Duration::from_secs(3))
        );
    }

    #[test]
    fn big_rooms_are_paced_and_eta_counts_calls() {
        let caps = Capabilities {
            pacing: Some(Pacing {
                above_members: 1000,
                interval: Duration::from_secs(3),
            }),
            ..Capabilities::default()
        };
        let f = facts("big", true, 5000, &[]);
        let reqs = (0..10)
            .map(|i| Request::new("big", format!("u{i}"), Action::Remove))
            .collect();
        let plan = build(reqs, &caps, &Guards::default(), &f, ok);
        assert_eq!(
            plan.paced.get(&RoomId::from("big")),
            Some(&Duration::from_secs(3))
        );
        let fast = Capabilities {
            quota: crate::provider::Quota::per_second(100.0),
            max_batch: 60,
            ..caps.clone()
        };
        assert_eq!(plan.eta(&fast), Duration::from_secs(30));
        assert!(plan.notices.iter().any(|n| n.contains("30s")));

        let small = facts("s", true, 50, &[]);
        let reqs = (0..120)
            .map(|i| Request::new("s", format!("u{i}"), Action::Remove))
            .collect();
        let plan = build(reqs, &caps, &Guards::default(), &small, ok);
        assert!(plan.paced.is_empty());
        let slow = Capabilities {
            quota: crate::provider::Quota::per_second(1.0),
            max_batch: 60,
            ..caps
        };
        assert_eq!(plan.eta(&slow), Duration::from_secs(2));
    }

    #[test]
    fn a_room_whose_size_could_not_be_read_is_paced_and_keeps_its_owners() {
        let caps = Capabilities {
            pacing: Some(Pacing {
                above_members: 500,
                interval: Duration::from_secs(3),
            }),
            owner_floor: Some(crate::provider::OwnerFloor {
                above_members: 500,
                owners: 2,
                source: "the provider's advice",
            }),
            ..Capabilities::default()
        };
        let mut f = facts("r", true, 0, &[("o1", Role::Owner), ("o2", Role::Owner)]);
        if let Some(RoomFacts { room: Ok(r), .. }) = f.get_mut(&RoomId::from("r")) {
            r.member_count = None;
        }
        let plan = build(
            vec![
                Request::new("r", "u1", Action::Remove),
                Request::new("r", "o1", Action::Remove),
            ],
            &caps,
            &Guards::default(),
            &f,
            ok,
        );
        assert_eq!(
            plan.paced.get(&RoomId::from("r")),
            Some(&Duration::from_secs(3))
        );
        assert!(
            plan.notices
                .iter()
                .any(|n| n.contains("member count could not be read") && n.contains("paced")),
            "{:?}",
            plan.notices
        );
        assert_eq!(
            plan.rows[1].verdict,
            Verdict::Skip(
                "would leave 1 owner(s) in a room whose member count could not be read (treated as over 500); keep at least 2 there (the provider's advice)"
                    .into()
            )
        );

        // 500 is not over 500: neither rule applies.
        let f = facts("r", true, 500, &[("o1", Role::Owner), ("o2", Role::Owner)]);
        let plan = build(
            vec![Request::new("r", "o1", Action::Remove)],
            &caps,
            &Guards::default(),
            &f,
            ok,
        );
        assert!(plan.paced.is_empty());
        assert_eq!(plan.rows[0].verdict, Verdict::Send);
    }

    #[test]
    fn a_provider_that_never_removes_owners_says_why_in_its_words() {
        let f = facts("r", true, 10, &[("o1", Role::Owner)]);
        let caps = Capabilities {
            can_remove_owner: false,
            owner_rule: Some("Agora chat-room owners can never be removed"),
            ..Capabilities::default()
        };
        let plan = build(
            vec![Request::new("r", "o1", Action::Remove)],
            &caps,
            &Guards::default(),
            &f,
            ok,
        );
        assert_eq!(
            plan.rows[0].verdict,
            Verdict::Skip("Agora chat-room owners can never be removed".into())
        );
    }

    #[test]
    fn pairs_whose_hashes_collide_stay_apart() {
        let row = |user: &str, action| PlanRow {
            room: "r".into(),
            user: user.into(),
            action,
            role: None,
            note: None,
            ticket: None,
            verdict: Verdict::Send,
        };
        let mut pairs = Pairs::with_capacity(0);
        let mut rows = Vec::new();
        let (r, a, b) = (RoomId::from("r"), UserId::from("a"), UserId::from("b"));
        assert!(pairs.find_hashed(7, &rows, &r, &a).is_none());
        let first = Pair {
            asked: action_bit(Action::Remove),
            after: Some(None),
        };
        pairs.push(7, 0, first);
        rows.push(row("a", Action::Remove));
        assert!(pairs.find_hashed(7, &rows, &r, &b).is_none());
        let second = Pair {
            asked: action_bit(Action::Demote),
            after: None,
        };
        pairs.push(7, 1, second);
        rows.push(row("b", Action::Demote));
        let got = pairs.find_hashed(7, &rows, &r, &a).unwrap();
        assert_eq!((got.asked, got.after), (first.asked, first.after));
        let got = pairs.find_hashed(7, &rows, &r, &b).unwrap();
        assert_eq!((got.asked, got.after), (second.asked, second.after));
        assert!(
            pairs
                .find_hashed(7, &rows, &RoomId::from("s"), &a)
                .is_none()
        );
    }

    #[test]
    fn many_pairs_keep_their_duplicates_and_roles_apart() {
        // Rows of many users interleaved: each user's second remove is a
        // duplicate, and a re-add after a remove is judged on "removed".
        let mut reqs = Vec::new();
        for i in 0..5000 {
            reqs.push(Request::new("r", format!("u{i}"), Action::Remove));
        }
        for i in 0..5000 {
            reqs.push(Request::new("r", format!("u{i}"), Action::Remove));
            reqs.push(Request::new("r", format!("u{i}"), Action::Readd));
        }
        let f = facts("r", true, 10, &[]);
        let plan = build(reqs, &Capabilities::default(), &Guards::default(), &f, ok);
        assert_eq!(plan.duplicates, 5000);
        assert_eq!(plan.rows.len(), 10_000);
        assert!(plan.rows[..5000].iter().all(|r| r.action == Action::Remove));
        assert!(plan.rows[5000..].iter().all(|r| r.action == Action::Readd));
        assert!(plan.rows[..5000].iter().all(|r| r.verdict == Verdict::Send));
    }
}

//! The sandbox world: a deterministic, stateful set of rooms and members.
//!
//! The embedded `sandbox` provider serves it directly, and the fake servers
//! under `tests/` serve the very same world in each provider's wire format,
//! so one scenario can be checked in every dialect.
//!
//! The generated world ([`World::generate`]) is defined by the embedded
//! `assets/sandbox.toml` (room names, sizes, role mix, spam bots, id bases,
//! name lists and seeds). It holds these rooms (ids are 17-digit numeric
//! strings, user ids too):
//!
//! | id | name | members | shape |
//! |---|---|---|---|
//! | `10000000000000001` | `lobby` | 2,500 | 1 owner, 3 admins |
//! | `10000000000000002` | `town-square` | 120,000 | 2 owners, 6 admins (the jumbo room) |
//! | `10000000000000003` | `founders` | 40 | a single owner, no admins |
//! | `10000000000000004` | `archive-2023` | 30 | deactivated |
//! | `10000000000000005` | `staff-room` | 24 | 1 owner, 8 admins |
//! | `10000000000000006` | `spam-wave` | 300 | 1 owner, 1 admin, every 3rd member a spam bot |
//!
//! Members are listed owners first, then admins, then members, each in join
//! order. User ids are unique across rooms. Display names are generated from
//! fixed word lists; spam bots are named `FREE crypto bot N`.
//!
//! [`Faults`] lets tests and demos inject rate limits, server errors,
//! refused credentials and latency into whoever serves the world.

use crate::model::{Member, Role, Room, RoomId, UserId};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// The id of the 120,000-member jumbo room.
pub const JUMBO_ROOM: &str = "10000000000000002";
/// The room with a single owner.
pub const FOUNDERS_ROOM: &str = "10000000000000003";
/// The deactivated room.
pub const ARCHIVE_ROOM: &str = "10000000000000004";
/// The room with several admins.
pub const STAFF_ROOM: &str = "10000000000000005";
/// The room with spam bots.
pub const SPAM_ROOM: &str = "10000000000000006";

/// The world's definition: `assets/sandbox.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Definition {
    room_base: u64,
    user_base: u64,
    fault_seed: String,
    name_seed: String,
    first_names: Vec<String>,
    last_names: Vec<String>,
    spam_name: String,
    rooms: Vec<RoomDefinition>,
    megaroom: MegaroomDefinition,
    #[serde(skip)]
    seeds: (u64, u64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoomDefinition {
    number: u64,
    name: String,
    active: bool,
    members: usize,
    owners: usize,
    admins: usize,
    spam_every: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MegaroomDefinition {
    number: u64,
    name: String,
    first_user: u64,
}

impl Definition {
    fn parse(text: &str) -> Result<Self, String> {
        let mut d: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        let seed = |s: &str| {
            u64::from_str_radix(s.trim_start_matches("0x"), 16)
                .map_err(|e| format!("seed `{s}` is not 64-bit hex: {e}"))
        };
        d.seeds = (seed(&d.fault_seed)?, seed(&d.name_seed)?);
        if d.first_names.len() != 16 || d.last_names.len() != 16 {
            return Err("first_names and last_names need 16 entries each".into());
        }
        Ok(d)
    }
}

/// The embedded definition, read once.
fn definition() -> &'static Definition {
    static DEF: OnceLock<Definition> = OnceLock::new();
    DEF.get_or_init(|| {
        Definition::parse(crate::assets::SANDBOX)
            .unwrap_or_else(|e| panic!("the embedded assets/sandbox.toml is invalid: {e}"))
    })
}

/// One member slot; removed members leave a tombstone so paging by
/// position stays cheap and a re-add can take its old place.
#[derive(Clone, Debug)]
struct Slot {
    member: Member,
    present: bool,
}

/// One room of the world.
#[derive(Clone, Debug)]
pub struct WorldRoom {
    pub id: RoomId,
    pub name: String,
    pub active: bool,
    slots: Vec<Slot>,
    index: HashMap<UserId, usize>,
    present: usize,
}

impl WorldRoom {
    pub fn new(id: impl Into<RoomId>, name: &str, active: bool) -> Self {
        Self {
            id: id.into(),
            name: name.to_string(),
            active,
            slots: Vec::new(),
            index: HashMap::new(),
            present: 0,
        }
    }

    pub fn room(&self) -> Room {
        Room {
            id: self.id.clone(),
            name: self.name.clone(),
            member_count: Some(self.present as u64),
            active: self.active,
        }
    }

    pub fn len(&self) -> usize {
        self.present
    }

    pub fn is_empty(&self) -> bool {
        self.present == 0
    }

    /// The member, if present.
    pub fn get(&self, user: &UserId) -> Option<&Member> {
        let slot = &self.slots[*self.index.get(user)?];
        slot.present.then_some(&slot.member)
    }

    /// Adds or revives a member; returns false if already present.
    pub fn add(&mut self, member: Member) -> bool {
        if let Some(&i) = self.index.get(&member.user) {
            let slot = &mut self.slots[i];
            if slot.present {
                return false;
            }
            slot.present = true;
            let old_name = slot.member.name.take();
            slot.member = Member {
                name: member.name.or(old_name),
                ..member
            };
        } else {
            self.index.insert(member.user.clone(), self.slots.len());
            self.slots.push(Slot {
                member,
                present: true,
            });
        }
        self.present += 1;
        true
    }

    /// Removes a member; returns its former role, or `None` if absent.
    pub fn remove(&mut self, user: &UserId) -> Option<Role> {
        let &i = self.index.get(user)?;
        let slot = &mut self.slots[i];
        if !slot.present {
            return None;
        }
        slot.present = false;
        self.present -= 1;
        Some(slot.member.role)
    }

    /// Sets a present member's role; returns the old role.
    pub fn set_role(&mut self, user: &UserId, role: Role) -> Option<Role> {
        let &i = self.index.get(user)?;
        let slot = &mut self.slots[i];
        if !slot.present {
            return None;
        }
        Some(std::mem::replace(&mut slot.member.role, role))
    }

    /// Present members in listing order.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.slots.iter().filter(|s| s.present).map(|s| &s.member)
    }

    /// Present members of one role.
    pub fn with_role(&self, role: Role) -> Vec<Member> {
        self.members().filter(|m| m.role == role).cloned().collect()
    }

    /// Up to `limit` present members starting at raw slot `from`; returns
    /// them and the raw slot to continue from (`None` at the end). Cursor
    /// paging uses raw slots so it stays O(page) in any room size.
    pub fn slice_from(&self, from: usize, limit: usize) -> (Vec<Member>, Option<usize>) {
        let mut out = Vec::with_capacity(limit.min(self.present));
        let mut i = from;
        while i < self.slots.len() && out.len() < limit {
            if self.slots[i].present {
                out.push(self.slots[i].member.clone());
            }
            i += 1;
        }
        let more = self.slots[i.min(self.slots.len())..]
            .iter()
            .any(|s| s.present);
        (out, more.then_some(i))
    }

    /// Up to `limit` present members after skipping `offset` present ones
    /// (for skip/limit and page-number dialects).
    pub fn slice_offset(&self, offset: usize, limit: usize) -> Vec<Member> {
        self.members().skip(offset).take(limit).cloned().collect()
    }
}

/// Switches for injected trouble, read by whoever serves the world.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Answer this many upcoming calls with a rate-limit error.
    pub rate_limit_next: u32,
    /// The retry-after hint sent with those rate limits.
    pub retry_after: Option<Duration>,
    /// Answer this many upcoming calls with a server error.
    pub server_error_next: u32,
    /// Refuse every call as unauthenticated.
    pub unauthorized: bool,
    /// Share (0..1) of calls answered rate-limited, drawn deterministically.
    pub rate_limit_share: f64,
    /// Share (0..1) of calls answered with a server error.
    pub server_error_share: f64,
    /// Delay added to every call.
    pub latency: Duration,
}

/// What an injected fault asks the server to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    RateLimited(Option<Duration>),
    ServerError,
    Unauthorized,
}

/// The whole world: rooms plus fault switches and call counters.
#[derive(Debug, Default)]
pub struct World {
    rooms: Vec<WorldRoom>,
    pub faults: Faults,
    /// Calls served, for tests that count them.
    pub calls: u64,
    /// The biggest batch any call carried, for tests of chunking.
    pub max_batch_seen: usize,
    /// Calls being served right now, and the most there ever were at once
    /// (for tests of `max_in_flight`); kept by servers that track it.
    pub in_flight: usize,
    pub max_in_flight_seen: usize,
    rng: u64,
}

/// A world shared between a server (or the sandbox) and a test.
pub type SharedWorld = Arc<Mutex<World>>;

impl World {
    /// An empty world.
    pub fn empty() -> Self {
        Self {
            rng: definition().seeds.0,
            ..Self::default()
        }
    }

    /// The standard generated world described in the module docs and
    /// defined by `assets/sandbox.toml`.
    pub fn generate() -> Self {
        let d = definition();
        let mut w = Self::empty();
        let mut next_user = 0u64;
        for def in &d.rooms {
            let id = RoomId::new(d.room_base.saturating_add(def.number).to_string());
            let mut room = WorldRoom::new(id, &def.name, def.active);
            room.slots.reserve(def.members);
            room.index.reserve(def.members);
            for i in 0..def.members {
                let role = if i < def.owners {
                    Role::Owner
                } else if i < def.owners + def.admins {
                    Role::Admin
                } else {
                    Role::Member
                };
                next_user += 1;
                let user = UserId::new(d.user_base.saturating_add(next_user).to_string());
                let display =
                    if def.spam_every > 0 && role == Role::Member && i % def.spam_every == 0 {
                        d.spam_name.replace("{i}", &i.to_string())
                    } else {
                        person_name(next_user)
                    };
                room.add(Member {
                    user,
                    name: Some(display.into()),
                    role,
                });
            }
            w.rooms.push(room);
        }
        w
    }

    /// The generated world plus one extra room of `members` members
    /// (`[megaroom]` of `assets/sandbox.toml`: id `10000000000000099`,
    /// name `megaroom`), for benchmarks.
    pub fn generate_with_megaroom(members: usize) -> Self {
        let d = definition();
        let mut w = Self::generate();
        let mega = &d.megaroom;
        let id = d.room_base.saturating_add(mega.number).to_string();
        let mut room = WorldRoom::new(id, &mega.name, true);
        room.slots.reserve(members);
        room.index.reserve(members);
        for i in 0..members {
            let role = if i == 0 { Role::Owner } else { Role::Member };
            let n = mega.first_user + i as u64;
            room.add(Member {
                user: UserId::new(d.user_base.saturating_add(n).to_string()),
                name: Some(person_name(n).into()),
                role,
            });
        }
        w.rooms.push(room);
        w
    }

    pub fn shared(self) -> SharedWorld {
        Arc::new(Mutex::new(self))
    }

    pub fn add_room(&mut self, room: WorldRoom) {
        self.rooms.push(room);
    }

    pub fn rooms(&self) -> &[WorldRoom] {
        &self.rooms
    }

    pub fn room(&self, id: &RoomId) -> Option<&WorldRoom> {
        self.rooms.iter().find(|r| &r.id == id)
    }

    pub fn room_mut(&mut self, id: &RoomId) -> Option<&mut WorldRoom> {
        self.rooms.iter_mut().find(|r| &r.id == id)
    }

    /// Counts a call carrying `batch` users and decides whether an injected
    /// fault answers it instead. Servers call this once per request.
    pub fn take_fault(&mut self, batch: usize) -> Option<Fault> {
        self.calls += 1;
        self.max_batch_seen = self.max_batch_seen.max(batch);
        let f = &mut self.faults;
        if f.unauthorized {
            return Some(Fault::Unauthorized);
        }
        if f.rate_limit_next > 0 {
            f.rate_limit_next -= 1;
            return Some(Fault::RateLimited(f.retry_after));
        }
        if f.server_error_next > 0 {
            f.server_error_next -= 1;
            return Some(Fault::ServerError);
        }
        let (rl, se, ra) = (f.rate_limit_share, f.server_error_share, f.retry_after);
        if rl > 0.0 || se > 0.0 {
            let draw = self.next_unit();
            if draw < rl {
                return Some(Fault::RateLimited(ra));
            }
            if draw < rl + se {
                return Some(Fault::ServerError);
            }
        }
        None
    }

    /// A deterministic draw in [0, 1) (splitmix64).
    fn next_unit(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Counts a call in flight for as long as it lives (`World::in_flight`,
/// `World::max_in_flight_seen`); servers hold one per request.
pub struct InFlight(SharedWorld);

impl InFlight {
    pub fn enter(world: &SharedWorld) -> Self {
        let mut w = lock(world);
        w.in_flight += 1;
        w.max_in_flight_seen = w.max_in_flight_seen.max(w.in_flight);
        Self(world.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut w = lock(&self.0);
        w.in_flight = w.in_flight.saturating_sub(1);
    }
}

/// Locks a shared world, recovering from a poisoned lock (a panicking test
/// thread must not take the fake server down with it).
pub fn lock(world: &SharedWorld) -> MutexGuard<'_, World> {
    crate::provider::lock(world)
}

fn person_name(n: u64) -> String {
    let d = definition();
    let h = n.wrapping_mul(d.seeds.1);
    format!(
        "{} {}",
        d.first_names[(h >> 60) as usize],
        d.last_names[((h >> 56) & 15) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_world_has_the_documented_rooms() {
        let w = World::generate();
        let jumbo = w.room(&JUMBO_ROOM.into()).unwrap();
        assert_eq!(jumbo.len(), 120_000);
        assert_eq!(jumbo.with_role(Role::Owner).len(), 2);
        let founders = w.room(&FOUNDERS_ROOM.into()).unwrap();
        assert_eq!(founders.with_role(Role::Owner).len(), 1);
        assert!(!w.room(&ARCHIVE_ROOM.into()).unwrap().active);
        assert!(
            w.room(&STAFF_ROOM.into())
                .unwrap()
                .with_role(Role::Admin)
                .len()
                >= 2
        );
        assert!(w.rooms().len() >= 6);
        let first = jumbo.members().next().unwrap();
        assert_eq!(first.user.as_str().len(), 17);
    }

    /// Computed from the world as generated before its definition moved.
    const WORLD_FINGERPRINT: u64 = 0x59f7_7f35_6ebe_ed0d;
    const FAULT_DRAWS: [bool; 8] = [true, true, false, true, true, true, false, true];

    /// A fingerprint of the whole generated world (every room, member,
    /// role and name), fixed before the definition moved to
    /// `assets/sandbox.toml`: the world must stay identical.
    #[test]
    fn the_world_defined_by_the_asset_is_the_world_before() {
        let w = World::generate();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |s: &str| {
            for b in s.bytes().chain([0xff]) {
                h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
            }
        };
        for r in w.rooms() {
            eat(r.id.as_str());
            eat(&r.name);
            eat(if r.active { "active" } else { "deactivated" });
            for m in r.members() {
                eat(m.user.as_str());
                eat(m.name.as_deref().unwrap_or(""));
                eat(m.role.as_str());
            }
        }
        let summary: Vec<(String, String, usize)> = w
            .rooms()
            .iter()
            .map(|r| (r.id.to_string(), r.name.clone(), r.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("10000000000000001", "lobby", 2_500),
                ("10000000000000002", "town-square", 120_000),
                ("10000000000000003", "founders", 40),
                ("10000000000000004", "archive-2023", 30),
                ("10000000000000005", "staff-room", 24),
                ("10000000000000006", "spam-wave", 300),
            ]
            .map(|(a, b, n)| (a.to_string(), b.to_string(), n))
        );
        assert_eq!(h, WORLD_FINGERPRINT, "{h:#x}");
        let mega = World::generate_with_megaroom(3);
        let room = mega.room(&"10000000000000099".into()).unwrap();
        let first = room.members().next().unwrap();
        assert_eq!(
            (
                first.user.as_str(),
                first.name.as_deref(),
                room.name.as_str()
            ),
            (
                "71000000900000000",
                Some(person_name(900_000_000).as_str()),
                "megaroom"
            )
        );
        let mut e = World::empty();
        e.faults.rate_limit_share = 0.5;
        let draws: Vec<bool> = (0..8).map(|_| e.take_fault(1).is_some()).collect();
        assert_eq!(draws, FAULT_DRAWS);
    }

    #[test]
    fn generation_is_deterministic() {
        let a = World::generate();
        let b = World::generate();
        let ids = |w: &World| {
            w.room(&SPAM_ROOM.into())
                .unwrap()
                .members()
                .map(|m| (m.user.clone(), m.name.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
    }

    #[test]
    fn remove_and_readd_keep_position_and_counts() {
        let mut w = World::generate();
        let room = w.room_mut(&FOUNDERS_ROOM.into()).unwrap();
        let third = room.members().nth(2).unwrap().clone();
        assert_eq!(room.remove(&third.user), Some(Role::Member));
        assert_eq!(room.remove(&third.user), None);
        assert_eq!(room.len(), 39);
        assert!(room.add(third.clone()));
        assert_eq!(room.members().nth(2).unwrap().user, third.user);
        let (page, next) = room.slice_from(0, 25);
        assert_eq!(page.len(), 25);
        let (rest, end) = room.slice_from(next.unwrap(), 25);
        assert_eq!(rest.len(), 15);
        assert_eq!(end, None);
    }

    #[test]
    fn faults_are_counted_down() {
        let mut w = World::empty();
        w.faults.rate_limit_next = 2;
        assert!(matches!(w.take_fault(3), Some(Fault::RateLimited(None))));
        assert!(w.take_fault(5).is_some());
        assert_eq!(w.take_fault(1), None);
        assert_eq!(w.calls, 3);
        assert_eq!(w.max_batch_seen, 5);
    }
}

//! The one conformance suite every provider passes: the sandbox directly,
//! and each remote adapter over its fake server. A harness starts a fresh
//! world behind the provider and hands back a [`Subject`]; the
//! `conformance_suite!` macro turns every check into a test.
//!
//! The suite adds its own room to the shared world (ids below) so that
//! every provider is checked against the same shape: two owners, two
//! admins and twenty members.
#![allow(dead_code)]

use roomwarden::config::{Config, Profile};
use roomwarden::model::{Action, Member, PageRequest, Role, RoomId, Status, UserId};
use roomwarden::ops::audit::AuditLog;
use roomwarden::ops::plan::Request;
use roomwarden::ops::{Cancel, Engine, RunOptions};
use roomwarden::provider::sandbox::world::{self, SharedWorld, WorldRoom};
use roomwarden::provider::{ErrorKind, MemberListing, Provider, RoomListing};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// The suite's own room.
pub const ROOM: &str = "20000000000000001";
/// Two owners; a provider with one owner per room (IMKit) has its harness
/// make the second an admin, and the checks read the world for it.
pub const OWNERS: [&str; 2] = ["72000000000000001", "72000000000000002"];
pub const ADMINS: [&str; 2] = ["72000000000000011", "72000000000000012"];
/// A valid id that is in no room.
pub const STRANGER: &str = "72000000000099999";
/// A room id that does not exist.
pub const NO_ROOM: &str = "29999999999999999";

pub fn member_id(i: usize) -> String {
    format!("720000000000001{i:02}")
}

/// A provider under test and the world behind it.
pub struct Subject {
    pub provider: Arc<dyn Provider>,
    pub world: SharedWorld,
    /// The same provider with credentials the server refuses.
    pub bad_auth: Arc<dyn Provider>,
    /// How the provider spells a world room id (identity for most).
    pub room_id: fn(&RoomId) -> RoomId,
    /// Keeps servers and temp dirs alive for the test's duration.
    pub guard: Box<dyn std::any::Any + Send>,
}

impl Subject {
    pub fn room(&self) -> RoomId {
        (self.room_id)(&RoomId::from(ROOM))
    }
}

/// Adds the suite's room to a world.
pub fn seed(world: &SharedWorld) {
    let mut room = WorldRoom::new(ROOM, "conformance", true);
    for o in OWNERS {
        room.add(Member::new(o, Some("Owner"), Role::Owner));
    }
    for a in ADMINS {
        room.add(Member::new(a, Some("Admin"), Role::Admin));
    }
    for i in 0..20 {
        room.add(Member::new(
            member_id(i),
            Some(&format!("Member {i}")),
            Role::Member,
        ));
    }
    world::lock(world).add_room(room);
}

fn profile(extra: &str) -> Profile {
    let text = format!("[profiles.t]\nprovider = \"sandbox\"\n{extra}\n");
    Config::parse(&text, std::path::Path::new("conformance.toml"), None)
        .unwrap()
        .profile(None)
        .unwrap()
        .clone()
}

/// An engine over the subject, auditing into a temp dir.
pub fn engine(s: &Subject, extra: &str) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.jsonl")).unwrap());
    (
        Engine::new(s.provider.clone(), &profile(extra), Some(audit)),
        dir,
    )
}

/// Fast retries so the suite does not wait long on injected faults.
pub fn quick() -> RunOptions {
    RunOptions {
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        ..RunOptions::default()
    }
}

fn expected_role(s: &Subject, r: Role) -> Role {
    if r == Role::Admin && !s.provider.capabilities().has_admins {
        Role::Member
    } else {
        r
    }
}

async fn all_members(p: &dyn Provider, room: &RoomId, size: u32) -> (Vec<Member>, usize) {
    let mut req = PageRequest::sized(size);
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let page = p.members(room, req.clone()).await.expect("members page");
        pages += 1;
        out.extend(page.items);
        match page.next {
            Some(t) => req = req.next(t),
            None => return (out, pages),
        }
        assert!(pages < 10_000, "paging does not end");
    }
}

fn world_role(s: &Subject, user: &str) -> Option<Role> {
    let w = world::lock(&s.world);
    w.room(&ROOM.into())
        .unwrap()
        .get(&UserId::from(user))
        .map(|m| m.role)
}

pub async fn rooms_across_pages(s: Subject) {
    let caps = s.provider.capabilities();
    let mut req = PageRequest::sized(2);
    let mut got = BTreeMap::new();
    let mut pages = 0;
    loop {
        let page = s.provider.rooms(req.clone()).await.expect("rooms page");
        pages += 1;
        for r in page.items {
            assert!(
                got.insert(r.id.clone(), r).is_none(),
                "a room was listed twice"
            );
        }
        match page.next {
            Some(t) => req = req.next(t),
            None => break,
        }
        assert!(pages < 1000);
    }
    let w = world::lock(&s.world);
    let want: BTreeSet<RoomId> = match caps.rooms {
        RoomListing::Full => {
            assert!(pages >= 3, "expected several pages of 2, got {pages}");
            w.rooms().iter().map(|r| (s.room_id)(&r.id)).collect()
        }
        // Configured rooms: the profile's (the suite's room among them),
        // each one a real room.
        RoomListing::Configured => {
            assert!(got.contains_key(&s.room()), "the configured room is listed");
            got.keys().cloned().collect()
        }
    };
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), want);
    for r in w.rooms() {
        let Some(listed) = got.get(&(s.room_id)(&r.id)) else {
            continue;
        };
        assert_eq!(listed.name, r.name);
        assert_eq!(listed.active, r.active, "active flag of {}", r.name);
        if let Some(n) = listed.member_count {
            assert_eq!(n as usize, r.len(), "member count of {}", r.name);
        }
    }
}

pub async fn members_across_pages_with_roles(s: Subject) {
    let room = s.room();
    match s.provider.capabilities().members {
        MemberListing::Full => {}
        MemberListing::Partial => return partial_members_are_true(s).await,
        MemberListing::None => return,
    }
    let (members, pages) = all_members(s.provider.as_ref(), &room, 7).await;
    let want: BTreeMap<String, Role> = {
        let w = world::lock(&s.world);
        w.room(&ROOM.into())
            .unwrap()
            .members()
            .map(|m| (m.user.to_string(), expected_role(&s, m.role)))
            .collect()
    };
    let got: BTreeMap<String, Role> = members
        .iter()
        .map(|m| (m.user.to_string(), m.role))
        .collect();
    assert_eq!(got.len(), members.len(), "a member was listed twice");
    assert_eq!(got, want);
    if s.provider.capabilities().page_style != roomwarden::provider::PageStyle::Whole {
        assert!(
            pages >= 2,
            "24 members in pages of 7 came in {pages} page(s)"
        );
    }
    // A big room, in the provider's own page size.
    let lobby = (s.room_id)(&RoomId::from("10000000000000001"));
    let (big, _) = all_members(
        s.provider.as_ref(),
        &lobby,
        s.provider.capabilities().member_page_size,
    )
    .await;
    assert_eq!(big.len(), 2_500);
    assert_eq!(big.iter().filter(|m| m.role == Role::Owner).count(), 1);
}

/// A partial listing shows only real members with their real roles, and
/// every owner and admin.
async fn partial_members_are_true(s: Subject) {
    let room = s.room();
    let (members, _) = all_members(s.provider.as_ref(), &room, 7).await;
    let w = world::lock(&s.world);
    let r = w.room(&ROOM.into()).unwrap();
    for m in &members {
        let real = r.get(&m.user).expect("a listed member is in the room");
        assert_eq!(m.role, expected_role(&s, real.role), "{m:?}");
    }
    for staff in OWNERS.iter().chain(&ADMINS) {
        assert!(
            members.iter().any(|m| m.user.as_str() == *staff),
            "staff {staff} is known"
        );
    }
}

/// The per-user lookup answers like the room: role for members, `None`
/// for someone who is not in it.
pub async fn member_lookup(s: Subject) {
    let room = s.room();
    let p = s.provider.as_ref();
    let m = p
        .member(&room, &member_id(3).as_str().into())
        .await
        .expect("lookup");
    assert_eq!(m.map(|m| m.role), Some(Role::Member));
    let a = p
        .member(&room, &UserId::from(ADMINS[0]))
        .await
        .expect("lookup");
    assert_eq!(a.map(|m| m.role), Some(expected_role(&s, Role::Admin)));
    let o = p
        .member(&room, &UserId::from(OWNERS[1]))
        .await
        .expect("lookup");
    // A provider with one owner per room has the second owner as an admin.
    let want = world_role(&s, OWNERS[1]).map(|r| expected_role(&s, r));
    assert_eq!(o.map(|m| m.role), want);
    let none = p
        .member(&room, &UserId::from(STRANGER))
        .await
        .expect("lookup");
    assert_eq!(none, None);
}

/// However many calls a face asks for, no more than `max_in_flight` are
/// ever sent at once.
pub async fn in_flight_stays_within_the_limit(s: Subject) {
    let room = s.room();
    let caps = s.provider.capabilities();
    let (engine, _dir) = engine(&s, "max_batch = 1");
    let reqs: Vec<Request> = (0..12)
        .map(|i| Request::new(room.clone(), member_id(i), Action::Remove))
        .collect();
    let plan = engine.plan(reqs).await.expect("plan");
    world::lock(&s.world).max_in_flight_seen = 0;
    let opts = RunOptions {
        concurrency: 16,
        ..quick()
    };
    let report = engine.run(&plan, &opts, &Cancel::new(), None).await;
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Removed),
        "{:?}",
        report.outcomes
    );
    let seen = world::lock(&s.world).max_in_flight_seen;
    assert!(
        seen <= caps.max_in_flight,
        "{seen} calls in flight at once, the provider allows {}",
        caps.max_in_flight
    );
}

pub async fn batch_remove_rows(s: Subject) {
    let room = s.room();
    let caps = s.provider.capabilities();
    // Provider level: one outcome per user. For the stranger a provider
    // may say `already_absent` (Agora's per-user rows) or only that the
    // call failed for them, with its own words (a provider that cannot
    // list, or one like Symphony that documents no "not a member" text:
    // the plan below is what tells the two apart).
    let users = [UserId::from(member_id(0).as_str()), UserId::from(STRANGER)];
    let rows = s.provider.remove(&room, &users).await.expect("remove");
    assert_eq!(rows.len(), 2);
    let status = |u: &str| rows.iter().find(|o| o.user.as_str() == u).map(|o| o.status);
    assert_eq!(status(&member_id(0)), Some(Status::Removed));
    assert!(
        matches!(
            status(STRANGER),
            Some(Status::AlreadyAbsent | Status::Failed)
        ),
        "{rows:?}"
    );
    assert_eq!(world_role(&s, &member_id(0)), None);

    // Through ops: members removed, stranger absent, owners guarded.
    let (engine, _dir) = engine(&s, "");
    let mut reqs: Vec<Request> = (1..4)
        .map(|i| Request::new(room.clone(), member_id(i), Action::Remove))
        .collect();
    reqs.push(Request::new(room.clone(), STRANGER, Action::Remove));
    reqs.push(Request::new(room.clone(), OWNERS[0], Action::Remove));
    reqs.push(Request::new(room.clone(), OWNERS[1], Action::Remove));
    let plan = engine.plan(reqs).await.expect("plan");
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    let st: Vec<Status> = report.outcomes.iter().map(|o| o.status).collect();
    // A provider with one owner per room seeds the second owner as an
    // admin (see `OWNERS`): then it goes like any admin.
    let second_is_owner = world_role(&s, OWNERS[1]) == Some(Role::Owner);
    let first_owner = if caps.can_remove_owner && second_is_owner {
        Status::Removed
    } else {
        Status::Skipped
    };
    let second_owner = if second_is_owner {
        Status::Skipped
    } else {
        Status::Removed
    };
    assert_eq!(
        st,
        [
            Status::Removed,
            Status::Removed,
            Status::Removed,
            Status::AlreadyAbsent,
            first_owner,
            second_owner
        ],
        "{:?}",
        report.outcomes
    );
    if caps.can_remove_owner && second_is_owner {
        assert_eq!(
            report.outcomes[5].reason.as_deref(),
            Some("last owner of the room")
        );
    }
    if second_is_owner {
        assert_eq!(world_role(&s, OWNERS[1]), Some(Role::Owner));
    }
    if !caps.can_remove_owner {
        assert_eq!(world_role(&s, OWNERS[0]), Some(Role::Owner));
    }
    assert_eq!(world_role(&s, &member_id(2)), None);
}

pub async fn chunks_never_exceed_max_batch(s: Subject) {
    let room = s.room();
    let (engine, _dir) = engine(&s, "max_batch = 3");
    let reqs: Vec<Request> = (0..20)
        .map(|i| Request::new(room.clone(), member_id(i), Action::Remove))
        .collect();
    let plan = engine.plan(reqs).await.expect("plan");
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Removed),
        "{:?}",
        report.outcomes
    );
    let seen = world::lock(&s.world).max_batch_seen;
    assert!(seen <= 3, "a call carried {seen} users");
    assert!(world::lock(&s.world).room(&ROOM.into()).unwrap().len() == 4);
}

pub async fn demote(s: Subject) {
    let room = s.room();
    let caps = s.provider.capabilities();
    if !caps.demotes() {
        // The plan explains instead of sending.
        let (engine, _dir) = engine(&s, "");
        let plan = engine
            .plan(vec![Request::new(room.clone(), ADMINS[0], Action::Demote)])
            .await
            .unwrap();
        assert!(
            matches!(
                &plan.rows[0].verdict,
                roomwarden::ops::plan::Verdict::Skip(_)
            ),
            "{:?}",
            plan.rows[0]
        );
        return;
    }
    let (engine, _dir) = engine(&s, "");
    let mut reqs = vec![Request::new(room.clone(), member_id(5), Action::Demote)];
    if caps.has_admins {
        reqs.push(Request::new(room.clone(), ADMINS[0], Action::Demote));
    }
    if caps.can_demote_owner {
        reqs.push(Request::new(room.clone(), OWNERS[0], Action::Demote));
    }
    let plan = engine.plan(reqs).await.expect("plan");
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert_eq!(
        report.outcomes[0].status,
        Status::Skipped,
        "a plain member has nothing to demote"
    );
    for o in &report.outcomes[1..] {
        assert_eq!(o.status, Status::Demoted, "{o:?}");
        // The row carries the role after, as the room now has it.
        assert_eq!(o.role, world_role(&s, o.user.as_str()), "{o:?}");
    }
    if caps.has_admins {
        assert_eq!(world_role(&s, ADMINS[0]), Some(Role::Member));
    }
    if caps.can_demote_owner {
        let now = world_role(&s, OWNERS[0]).expect("still a member");
        assert_ne!(now, Role::Owner);
    } else {
        // Owners cannot be demoted in place: the plan says so before sending.
        let plan = engine
            .plan(vec![Request::new(room.clone(), OWNERS[0], Action::Demote)])
            .await
            .unwrap();
        assert!(
            matches!(&plan.rows[0].verdict, roomwarden::ops::plan::Verdict::Skip(w) if w.contains("owner"))
        );
    }
}

pub async fn readd_restores_role(s: Subject) {
    let room = s.room();
    let caps = s.provider.capabilities();
    if !caps.can_readd {
        let (engine, _dir) = engine(&s, "");
        let plan = engine
            .plan(vec![Request::new(
                room.clone(),
                member_id(9),
                Action::Readd,
            )])
            .await
            .unwrap();
        assert!(
            matches!(
                &plan.rows[0].verdict,
                roomwarden::ops::plan::Verdict::Skip(_)
            ),
            "{:?}",
            plan.rows[0]
        );
        return;
    }
    let (engine, _dir) = engine(&s, "");
    let removal = vec![
        Request::new(room.clone(), ADMINS[1], Action::Remove),
        Request::new(room.clone(), member_id(7), Action::Remove),
    ];
    let plan = engine.plan(removal).await.unwrap();
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Removed),
        "{:?}",
        report.outcomes
    );
    assert_eq!(world_role(&s, ADMINS[1]), None);

    let mut back = vec![
        Request::new(room.clone(), ADMINS[1], Action::Readd),
        Request::new(room.clone(), member_id(7), Action::Readd),
        Request::new(room.clone(), member_id(8), Action::Readd),
    ];
    engine.fill_readd_roles(&mut back).await.unwrap();
    assert_eq!(back[0].role, Some(expected_role(&s, Role::Admin)));
    let plan = engine.plan(back).await.unwrap();
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    for o in &report.outcomes {
        assert_eq!(o.status, Status::Readded, "{o:?}");
    }
    assert_eq!(
        world_role(&s, ADMINS[1]),
        Some(expected_role(&s, Role::Admin))
    );
    assert_eq!(world_role(&s, &member_id(7)), Some(Role::Member));
    assert_eq!(
        world_role(&s, &member_id(8)),
        Some(Role::Member),
        "an existing member stays"
    );
}

pub async fn undo_restores_a_demoted_role(s: Subject) {
    let room = s.room();
    let caps = s.provider.capabilities();
    if !caps.can_readd || !caps.demotes() {
        return;
    }
    let (user, role) = if caps.has_admins && caps.can_demote {
        (ADMINS[0], Role::Admin)
    } else if caps.can_demote_owner {
        (OWNERS[0], Role::Owner)
    } else {
        return;
    };
    let (engine, _dir) = engine(&s, "");
    let plan = engine
        .plan(vec![Request::new(room.clone(), user, Action::Demote)])
        .await
        .unwrap();
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert_eq!(
        report.outcomes[0].status,
        Status::Demoted,
        "{:?}",
        report.outcomes
    );
    assert_ne!(world_role(&s, user), Some(role));

    let mut back = vec![Request::new(room.clone(), user, Action::Readd)];
    engine.fill_readd_roles(&mut back).await.unwrap();
    assert_eq!(
        back[0].role,
        Some(role),
        "the audit log recorded the role before the demote"
    );
    let plan = engine.plan(back).await.unwrap();
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert_eq!(
        report.outcomes[0].status,
        Status::Readded,
        "{:?}",
        report.outcomes
    );
    assert_eq!(world_role(&s, user), Some(role), "the demote is undone");
}

pub async fn errors_map_to_kinds(s: Subject) {
    let err = s
        .provider
        .room(&(s.room_id)(&RoomId::from(NO_ROOM)))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::NotFound | ErrorKind::BadRequest),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert!(
        err.to_string().starts_with(s.provider.name()),
        "message names the provider: {err}"
    );

    let err = s.bad_auth.rooms(PageRequest::first()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert!(err.is_unavailable());
    assert!(!err.is_retryable());
}

/// `profiles --check`: good credentials pass, refused ones are an
/// unavailable provider; nothing in the world changes.
pub async fn check_proves_the_credentials(s: Subject) {
    s.provider.check().await.unwrap();
    let err = s.bad_auth.check().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert!(err.is_unavailable());
}

pub async fn rate_limits_and_server_errors_are_retried(s: Subject) {
    let room = s.room();
    let (engine, _dir) = engine(&s, "");
    let reqs: Vec<Request> = (0..5)
        .map(|i| Request::new(room.clone(), member_id(i), Action::Remove))
        .collect();
    let plan = engine.plan(reqs).await.unwrap();
    {
        let mut w = world::lock(&s.world);
        w.faults.rate_limit_next = 2;
        w.faults.server_error_next = 1;
    }
    let report = engine.run(&plan, &quick(), &Cancel::new(), None).await;
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Removed),
        "{:?}",
        report.outcomes
    );
    assert!(
        report.progress.retries >= 3,
        "retries: {}",
        report.progress.retries
    );
    let err = {
        world::lock(&s.world).faults.server_error_next = 1;
        s.provider.rooms(PageRequest::first()).await.unwrap_err()
    };
    assert!(err.is_retryable(), "{err}");
}

/// Generates one `#[tokio::test]` per check, each on a fresh subject from
/// `$start` (an async fn returning [`Subject`]).
#[macro_export]
macro_rules! conformance_suite {
    ($start:ident) => {
        $crate::conformance_suite!(@each $start,
            rooms_across_pages, members_across_pages_with_roles, batch_remove_rows,
            chunks_never_exceed_max_batch, member_lookup, in_flight_stays_within_the_limit, demote, readd_restores_role, undo_restores_a_demoted_role,
            errors_map_to_kinds, check_proves_the_credentials,
            rate_limits_and_server_errors_are_retried);
    };
    (@each $start:ident, $($check:ident),*) => {
        mod conformance_checks {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let subject = super::$start().await;
                    $crate::conformance::$check(subject).await;
                }
            )*
        }
    };
}

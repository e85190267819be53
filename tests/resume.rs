//! Resuming after a crash, through the engine over the sandbox: intents
//! without results (written here, as a crash leaves them) are checked with
//! the provider, what it shows done is recorded, and the rest is finished
//! exactly once under the same batch.

use roomwarden::config::{Config, Profile};
use roomwarden::model::{Action, Role, RoomId, Status, UserId};
use roomwarden::ops::audit::{self, AuditLog, Kind, Record};
use roomwarden::ops::{Cancel, Engine, RunOptions};
use roomwarden::provider::sandbox::Sandbox;
use roomwarden::provider::sandbox::world::{self, FOUNDERS_ROOM, STAFF_ROOM, SharedWorld, World};
use std::path::Path;
use std::sync::Arc;

const BATCH: &str = "crash-1";
const GONE_ROOM: &str = "19999999999999999";

fn profile() -> Profile {
    Config::parse(
        "[profiles.t]\nprovider = \"sandbox\"\n",
        Path::new("t.toml"),
        None,
    )
    .unwrap()
    .profile(None)
    .unwrap()
    .clone()
}

fn record(kind: Kind, room: &str, user: &str, action: Action, role: Role) -> Record {
    Record {
        ts: audit::now_rfc3339(),
        kind,
        operator: "mod".into(),
        profile: "t".into(),
        provider: "sandbox".into(),
        room: room.into(),
        user: user.into(),
        action,
        status: (kind == Kind::Result).then_some(Status::Removed),
        reason: Some("spam wave".into()),
        ticket: Some("T-7".into()),
        batch: BATCH.into(),
        role: Some(role),
    }
}

fn role_in(world: &SharedWorld, room: &str, user: &str) -> Option<Role> {
    world::lock(world)
        .room(&RoomId::from(room))
        .unwrap()
        .get(&UserId::from(user))
        .map(|m| m.role)
}

fn lines(path: &Path, kind: Kind, user: &str) -> usize {
    audit::read(path)
        .unwrap()
        .0
        .iter()
        .filter(|r| r.batch == BATCH && r.kind == kind && r.user.as_str() == user)
        .count()
}

/// A sandbox world, an audit log in a temp dir and an engine over both:
/// what a crash leaves behind is written into `log` by each test.
struct Crash {
    world: SharedWorld,
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    log: Arc<AuditLog>,
    engine: Engine,
}

impl Crash {
    fn new() -> Self {
        let world = World::generate().shared();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = Arc::new(AuditLog::open(&path).unwrap());
        let engine = Engine::new(
            Arc::new(Sandbox::new(world.clone())),
            &profile(),
            Some(log.clone()),
        );
        Self {
            world,
            _dir: dir,
            path,
            log,
            engine,
        }
    }
}

#[tokio::test]
async fn resume_asks_the_provider_records_and_finishes_the_rest_once() {
    let Crash {
        world,
        _dir,
        path,
        log,
        engine,
    } = Crash::new();
    // The crash: six calls announced. A's removal and D's demote took
    // effect at the provider, C's result was recorded; B, E and F (in a
    // room that is gone) never answered.
    let (a, b, c) = (
        "71000000000122502",
        "71000000000122503",
        "71000000000122504",
    );
    let (d, e) = ("71000000000122572", "71000000000122573");
    let f = "71000000000122505";
    log.append(
        &[
            record(Kind::Intent, FOUNDERS_ROOM, a, Action::Remove, Role::Member),
            record(Kind::Intent, FOUNDERS_ROOM, b, Action::Remove, Role::Member),
            record(Kind::Intent, FOUNDERS_ROOM, c, Action::Remove, Role::Member),
            record(Kind::Result, FOUNDERS_ROOM, c, Action::Remove, Role::Member),
            record(Kind::Intent, STAFF_ROOM, d, Action::Demote, Role::Admin),
            record(Kind::Intent, STAFF_ROOM, e, Action::Demote, Role::Admin),
            record(Kind::Intent, GONE_ROOM, f, Action::Remove, Role::Member),
        ],
        true,
    )
    .unwrap();
    {
        let mut w = world::lock(&world);
        w.room_mut(&FOUNDERS_ROOM.into()).unwrap().remove(&a.into());
        w.room_mut(&STAFF_ROOM.into())
            .unwrap()
            .set_role(&d.into(), Role::Member);
        w.room_mut(&FOUNDERS_ROOM.into()).unwrap().remove(&c.into());
    }
    assert_eq!(role_in(&world, FOUNDERS_ROOM, b), Some(Role::Member));

    let (found, skipped) = audit::unfinished_batch(&path, None).unwrap();
    assert!(skipped.is_empty());
    let (batch, intents) = found.unwrap();
    assert_eq!(batch, BATCH);
    let users: Vec<&str> = intents.iter().map(|r| r.user.as_str()).collect();
    assert_eq!(users, [a, b, d, e, f]);

    let calls = world::lock(&world).calls;
    let check = engine
        .check_unfinished(batch.clone(), intents, &[])
        .await
        .unwrap();
    assert_eq!(world::lock(&world).calls - calls, 5, "one lookup per user");
    let statuses: Vec<Option<Status>> = check
        .found
        .iter()
        .map(|o| o.as_ref().map(|o| o.status))
        .collect();
    assert_eq!(
        statuses,
        [
            Some(Status::Removed),
            None,
            Some(Status::Demoted),
            None,
            Some(Status::Failed)
        ]
    );
    assert!(
        check.found[0]
            .as_ref()
            .unwrap()
            .reason
            .as_deref()
            .unwrap()
            .contains("asked the provider")
    );
    assert_eq!(check.unchecked, [4]);
    let remaining: Vec<(usize, &str, Option<&str>, Option<&str>)> = check
        .remaining
        .iter()
        .map(|(i, r)| (*i, r.user.as_str(), r.ticket.as_deref(), r.note.as_deref()))
        .collect();
    assert_eq!(
        remaining,
        [
            (1, b, Some("T-7"), Some("spam wave")),
            (3, e, Some("T-7"), Some("spam wave"))
        ]
    );

    engine.record_found(&check).await.unwrap();
    let plan = engine
        .plan(check.remaining.iter().map(|(_, r)| r.clone()).collect())
        .await
        .unwrap();
    assert_eq!(plan.to_send(), 2);
    let opts = RunOptions {
        batch: Some(batch.clone()),
        ..RunOptions::default()
    };
    let report = engine.run(&plan, &opts, &Cancel::new(), None).await;
    assert_eq!(report.batch, BATCH);
    let done: Vec<(&str, Status)> = report
        .outcomes
        .iter()
        .map(|o| (o.user.as_str(), o.status))
        .collect();
    assert_eq!(done, [(b, Status::Removed), (e, Status::Demoted)]);
    assert_eq!(role_in(&world, FOUNDERS_ROOM, b), None);
    assert_eq!(role_in(&world, STAFF_ROOM, e), Some(Role::Member));

    // Exactly once: A and D got a result and no new call; B and E one new
    // intent (one call each) and one result; F stays unfinished.
    for (user, intents, results) in [
        (a, 1, 1),
        (b, 2, 1),
        (c, 1, 1),
        (d, 1, 1),
        (e, 2, 1),
        (f, 1, 0),
    ] {
        assert_eq!(
            (
                lines(&path, Kind::Intent, user),
                lines(&path, Kind::Result, user)
            ),
            (intents, results),
            "{user}"
        );
    }
    let all = audit::read(&path).unwrap().0;
    let d_result = all
        .iter()
        .find(|r| r.kind == Kind::Result && r.user.as_str() == d)
        .unwrap();
    assert_eq!(
        (d_result.status, d_result.ticket.as_deref(), d_result.role),
        (Some(Status::Demoted), Some("T-7"), Some(Role::Admin)),
        "recorded, and joined with its intent"
    );
    let (open, _) = audit::open_intents(&path).unwrap();
    let open: Vec<&str> = open.iter().map(|r| r.user.as_str()).collect();
    assert_eq!(open, [f]);

    // Undo still finds the role recorded before the resumed demote.
    let mut back = vec![roomwarden::ops::plan::Request::new(
        STAFF_ROOM,
        e,
        Action::Readd,
    )];
    engine.fill_readd_roles(&mut back).await.unwrap();
    assert_eq!(back[0].role, Some(Role::Admin));
}

/// A crashed call about a user another batch had already taken out (or
/// took out afterwards) did not remove them: resume records
/// `already_absent`, never a second `removed`.
#[tokio::test]
async fn a_user_another_batch_took_out_is_not_recorded_removed_twice() {
    let Crash {
        world,
        _dir,
        path,
        log,
        engine,
    } = Crash::new();
    let (a, b, c) = (
        "71000000000122502",
        "71000000000122503",
        "71000000000122504",
    );
    let earlier = |kind, user| Record {
        batch: "earlier".into(),
        ..record(kind, FOUNDERS_ROOM, user, Action::Remove, Role::Member)
    };
    let later = |kind, user| Record {
        batch: "later".into(),
        ..record(kind, FOUNDERS_ROOM, user, Action::Remove, Role::Member)
    };
    log.append(
        &[
            // A: removed by an earlier batch, then a crashed call of ours.
            earlier(Kind::Intent, a),
            earlier(Kind::Result, a),
            record(Kind::Intent, FOUNDERS_ROOM, a, Action::Remove, Role::Member),
            // B: a crashed call of ours, then a later batch removed B.
            record(Kind::Intent, FOUNDERS_ROOM, b, Action::Remove, Role::Member),
            later(Kind::Intent, b),
            later(Kind::Result, b),
            // C: only our crashed call: it is what removed C.
            record(Kind::Intent, FOUNDERS_ROOM, c, Action::Remove, Role::Member),
        ],
        true,
    )
    .unwrap();
    {
        let mut w = world::lock(&world);
        let room = w.room_mut(&FOUNDERS_ROOM.into()).unwrap();
        for u in [a, b, c] {
            room.remove(&u.into());
        }
    }
    let (found, _) = audit::unfinished_batch(&path, Some(BATCH)).unwrap();
    let (batch, intents) = found.unwrap();
    let pairs = intents
        .iter()
        .map(|r| (r.room.clone(), r.user.clone()))
        .collect();
    let (history, _) = audit::history(&path, &pairs).unwrap();
    let check = engine
        .check_unfinished(batch, intents, &history)
        .await
        .unwrap();
    let got: Vec<(&str, Status)> = check
        .found
        .iter()
        .map(|o| {
            let o = o.as_ref().unwrap();
            (o.user.as_str(), o.status)
        })
        .collect();
    assert_eq!(
        got,
        [
            (a, Status::AlreadyAbsent),
            (b, Status::AlreadyAbsent),
            (c, Status::Removed)
        ]
    );
    let why = check.found[0].as_ref().unwrap().reason.as_deref().unwrap();
    assert!(why.contains("batch earlier"), "{why}");
}

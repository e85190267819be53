//! The engine against scripted providers: retries, final errors,
//! cancellation, chunking, one outcome per row, intent before result.

use async_trait::async_trait;
use proptest::prelude::*;
use roomwarden::config::{Config, Profile};
use roomwarden::model::{
    Action, Demotion, Member, Outcome, Page, PageRequest, Restore, Role, Room, RoomId, Status,
    UserId,
};
use roomwarden::ops::audit::{self, AuditLog, Kind};
use roomwarden::ops::plan::Request;
use roomwarden::ops::{Cancel, Engine, RunEvent, RunOptions};
use roomwarden::provider::{
    CallCost, Capabilities, Cost, ErrorKind, Provider, ProviderError, Quota,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the scripted provider answers to each `remove` call, in order;
/// after the script runs out every call succeeds.
#[derive(Clone)]
enum Answer {
    RateLimited(Option<Duration>),
    Fail(ErrorKind, &'static str),
    /// Every user `failed`, with no reason given.
    SilentFailure,
    /// The server removes the users, then the answer is lost (this error).
    Lost(ErrorKind),
}

struct Scripted {
    script: Mutex<Vec<Answer>>,
    batches: Mutex<Vec<usize>>,
    calls: AtomicUsize,
    max_batch: usize,
    /// Lets a test hold calls until it says so.
    gate: Option<tokio::sync::Semaphore>,
    entered: tokio::sync::Notify,
    owners: Vec<&'static str>,
    /// What looking up a room answers instead of the room.
    room_error: Option<ErrorKind>,
    /// Every change call, as `action:user,user`, in the order received.
    log: Mutex<Vec<String>>,
    /// Users the server has removed: a later removal finds them absent.
    gone: Mutex<std::collections::HashSet<UserId>>,
    quota: Quota,
    call_cost: CallCost,
    /// When each change call arrived (tokio's clock).
    sent_at: Mutex<Vec<tokio::time::Instant>>,
}

impl Scripted {
    fn new(script: Vec<Answer>, max_batch: usize) -> Self {
        Self {
            script: Mutex::new(script),
            batches: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
            max_batch,
            gate: None,
            entered: tokio::sync::Notify::new(),
            owners: vec!["owner"],
            room_error: None,
            log: Mutex::new(Vec::new()),
            gone: Mutex::new(Default::default()),
            quota: Quota::per_second(1000.0),
            call_cost: CallCost::ONE,
            sent_at: Mutex::new(Vec::new()),
        }
    }

    fn note(&self, action: &str, users: impl Iterator<Item = String>) {
        let users: Vec<String> = users.collect();
        self.log
            .lock()
            .unwrap()
            .push(format!("{action}:{}", users.join(",")));
    }
}

#[async_trait]
impl Provider for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }
    fn host(&self) -> String {
        "test".into()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_batch: self.max_batch,
            quota: self.quota,
            call_cost: self.call_cost,
            rooms_quota: Some(Quota::per_second(5.0)),
            ..Capabilities::default()
        }
    }
    /// Twenty pages of one room each.
    async fn rooms(&self, page: PageRequest) -> Result<Page<Room>, ProviderError> {
        let n: u32 = page.token.map_or(0, |t| t.0.parse().unwrap());
        Ok(Page {
            items: vec![Room {
                id: RoomId::new(n.to_string()),
                name: format!("room {n}"),
                member_count: None,
                active: true,
            }],
            next: (n < 19).then(|| roomwarden::model::PageToken((n + 1).to_string())),
            total: Some(20),
        })
    }
    async fn room(&self, room: &RoomId) -> Result<Room, ProviderError> {
        if let Some(kind) = &self.room_error {
            return Err(ProviderError::new(
                "scripted",
                "room",
                kind.clone(),
                "pod is down",
            ));
        }
        Ok(Room {
            id: room.clone(),
            name: "r".into(),
            member_count: Some(1000),
            active: true,
        })
    }
    async fn members(&self, _: &RoomId, _: PageRequest) -> Result<Page<Member>, ProviderError> {
        Ok(Page {
            items: self
                .owners
                .iter()
                .map(|o| Member::new(*o, None, Role::Owner))
                .collect(),
            next: None,
            total: None,
        })
    }
    async fn remove(&self, room: &RoomId, users: &[UserId]) -> Result<Vec<Outcome>, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.sent_at
            .lock()
            .unwrap()
            .push(tokio::time::Instant::now());
        self.note("remove", users.iter().map(|u| u.to_string()));
        self.batches.lock().unwrap().push(users.len());
        self.entered.notify_one();
        if let Some(gate) = &self.gate {
            gate.acquire().await.unwrap().forget();
        }
        let next = {
            let mut s = self.script.lock().unwrap();
            if s.is_empty() {
                None
            } else {
                Some(s.remove(0))
            }
        };
        match next {
            Some(Answer::RateLimited(after)) => Err(ProviderError::new(
                "scripted",
                "remove",
                ErrorKind::RateLimited { retry_after: after },
                "slow down",
            )
            .with_code("reach_limit")),
            Some(Answer::Fail(kind, text)) => {
                Err(ProviderError::new("scripted", "remove", kind, text).with_code("nope"))
            }
            Some(Answer::SilentFailure) => Ok(users
                .iter()
                .map(|u| Outcome::new(room, u, Action::Remove, Status::Failed))
                .collect()),
            Some(Answer::Lost(kind)) => {
                self.gone.lock().unwrap().extend(users.iter().cloned());
                Err(ProviderError::new(
                    "scripted",
                    "remove",
                    kind,
                    "connection reset",
                ))
            }
            None => {
                let mut gone = self.gone.lock().unwrap();
                Ok(users
                    .iter()
                    .map(|u| {
                        let status = if gone.insert(u.clone()) {
                            Status::Removed
                        } else {
                            Status::AlreadyAbsent
                        };
                        Outcome::new(room, u, Action::Remove, status)
                    })
                    .collect())
            }
        }
    }
    async fn demote(
        &self,
        room: &RoomId,
        users: &[Demotion],
    ) -> Result<Vec<Outcome>, ProviderError> {
        self.note("demote", users.iter().map(|d| d.user.to_string()));
        Ok(users
            .iter()
            .map(|d| Outcome::new(room, &d.user, Action::Demote, Status::Demoted))
            .collect())
    }
    async fn readd(&self, room: &RoomId, users: &[Restore]) -> Result<Vec<Outcome>, ProviderError> {
        self.note("readd", users.iter().map(|r| r.user.to_string()));
        Ok(users
            .iter()
            .map(|r| Outcome::new(room, &r.user, Action::Readd, Status::Readded))
            .collect())
    }
}

fn profile() -> Profile {
    Config::parse(
        "[profiles.t]\nprovider = \"sandbox\"\n",
        std::path::Path::new("t.toml"),
        None,
    )
    .unwrap()
    .profile(None)
    .unwrap()
    .clone()
}

fn engine(p: Arc<Scripted>) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::open(&dir.path().join("audit.jsonl")).unwrap());
    (Engine::new(p, &profile(), Some(log)), dir)
}

fn removals(n: usize) -> Vec<Request> {
    (0..n)
        .map(|i| Request::new("room", format!("user{i}"), Action::Remove))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn rate_limited_calls_are_retried_until_every_row_is_removed() {
    let script = vec![
        Answer::RateLimited(Some(Duration::from_secs(2))),
        Answer::RateLimited(None),
        Answer::RateLimited(Some(Duration::from_secs(1))),
    ];
    let p = Arc::new(Scripted::new(script, 10));
    let (engine, _dir) = engine(p.clone());
    let plan = engine.plan(removals(25)).await.unwrap();
    let start = tokio::time::Instant::now();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Removed),
        "{:?}",
        report.outcomes
    );
    assert_eq!(report.progress.retries, 3);
    assert_eq!(p.calls.load(Ordering::SeqCst), 3 + 3);
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "the retry-after hint was honoured"
    );
}

#[tokio::test(start_paused = true)]
async fn final_errors_fail_their_rows_with_the_providers_reason() {
    let p = Arc::new(Scripted::new(
        vec![Answer::Fail(ErrorKind::Forbidden, "not your room")],
        100,
    ));
    let (engine, _dir) = engine(p.clone());
    let plan = engine.plan(removals(3)).await.unwrap();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    for o in &report.outcomes {
        assert_eq!(o.status, Status::Failed);
        let reason = o.reason.as_deref().unwrap();
        assert!(
            reason.contains("nope: not your room") && reason.contains("scripted remove"),
            "{reason}"
        );
    }
    assert_eq!(
        p.calls.load(Ordering::SeqCst),
        1,
        "a final error is not retried"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_row_always_says_why() {
    let p = Arc::new(Scripted::new(vec![Answer::SilentFailure], 100));
    let (engine, _dir) = engine(p.clone());
    let plan = engine.plan(removals(2)).await.unwrap();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    for o in &report.outcomes {
        assert_eq!(o.status, Status::Failed);
        assert_eq!(
            o.reason.as_deref(),
            Some("scripted answered `failed` for this user without a reason")
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_room_lookup_that_keeps_failing_fails_its_rows_and_sends_nothing() {
    let mut s = Scripted::new(vec![], 100);
    s.room_error = Some(ErrorKind::Server { status: 503 });
    let p = Arc::new(s);
    let (down, dir) = engine(p.clone());
    let plan = down.plan(removals(3)).await.expect("a 5xx is not exit 3");
    // The faces are told what could not be read; it is no guard.
    assert_eq!(plan.unread.len(), 1, "{:?}", plan.unread);
    assert!(
        plan.unread[0].contains("server error 503"),
        "{:?}",
        plan.unread
    );
    assert_eq!(plan.guarded(), 0);
    let report = down
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    assert_eq!(report.outcomes.len(), 3, "every requested row is reported");
    for o in &report.outcomes {
        assert_eq!(o.status, Status::Failed);
        let reason = o.reason.as_deref().unwrap();
        assert!(
            reason.contains("server error 503") && reason.contains("pod is down"),
            "{reason}"
        );
    }
    assert_eq!(p.calls.load(Ordering::SeqCst), 0);
    assert!(
        audit::read(&dir.path().join("audit.jsonl"))
            .unwrap()
            .0
            .is_empty()
    );

    // Refused credentials: the provider cannot be used at all.
    let mut s = Scripted::new(vec![], 100);
    s.room_error = Some(ErrorKind::Auth);
    let (refused, _dir) = engine(Arc::new(s));
    let err = refused.plan(removals(1)).await.unwrap_err();
    assert!(err.is_unavailable());
}

#[tokio::test(start_paused = true)]
async fn a_retry_is_reported_while_waiting_for_it() {
    let p = Arc::new(Scripted::new(
        vec![Answer::RateLimited(Some(Duration::from_secs(30)))],
        10,
    ));
    let (engine, _dir) = engine(p.clone());
    let plan = engine.plan(removals(2)).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), Some(tx))
        .await;
    let mut waiting = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let RunEvent::Progress(p) = ev {
            waiting.push((p.retries, p.in_flight, p.done));
        }
    }
    // One call: sent, answered "rate limited", then a 30 s wait before the
    // second attempt. The wait itself shows the retry.
    assert!(waiting.contains(&(1, 0, 0)), "{waiting:?}");
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_time_budget_and_keep_the_last_reason() {
    let script = vec![Answer::RateLimited(None); 500];
    let p = Arc::new(Scripted::new(script, 100));
    let (engine, _dir) = engine(p.clone());
    let plan = engine.plan(removals(2)).await.unwrap();
    let started = tokio::time::Instant::now();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    // The default budget is 3 minutes of retrying, whatever the count.
    assert!(
        started.elapsed() <= Duration::from_secs(181),
        "{:?}",
        started.elapsed()
    );
    assert!(p.calls.load(Ordering::SeqCst) > 6);
    for o in &report.outcomes {
        assert_eq!(o.status, Status::Failed);
        let reason = o.reason.as_deref().unwrap();
        assert!(
            reason.contains("reach_limit") && reason.contains("gave up retrying after 3m 0s"),
            "{reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_after_the_call_in_flight() {
    let mut s = Scripted::new(vec![], 5);
    s.gate = Some(tokio::sync::Semaphore::new(0));
    let p = Arc::new(s);
    let (engine, dir) = engine(p.clone());
    let engine = Arc::new(engine);
    let plan = engine.plan(removals(30)).await.unwrap();
    let cancel = Cancel::new();
    let opts = RunOptions {
        concurrency: 1,
        ..RunOptions::default()
    };
    let run = {
        let (engine, cancel, plan) = (engine.clone(), cancel.clone(), plan.clone());
        tokio::spawn(async move { engine.run(&plan, &opts, &cancel, None).await })
    };
    p.entered.notified().await; // the first call is in flight
    cancel.cancel();
    p.gate.as_ref().unwrap().add_permits(100);
    let report = run.await.unwrap();
    let removed = report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Removed)
        .count();
    assert_eq!(removed, 5, "the call in flight finished");
    for o in report
        .outcomes
        .iter()
        .filter(|o| o.status != Status::Removed)
    {
        assert_eq!(
            (o.status, o.reason.as_deref()),
            (Status::Skipped, Some("cancelled"))
        );
    }
    assert_eq!(p.calls.load(Ordering::SeqCst), 1);
    let (records, _) = audit::read(&dir.path().join("audit.jsonl")).unwrap();
    assert!(audit::unfinished(&records).is_empty());
}

#[tokio::test(start_paused = true)]
async fn intent_is_written_before_every_call_and_result_after() {
    let p = Arc::new(Scripted::new(vec![Answer::RateLimited(None)], 4));
    let (engine, dir) = engine(p.clone());
    let mut reqs = removals(10);
    reqs[0].ticket = Some("T-42".into());
    reqs[0].note = Some("spam".into());
    let plan = engine.plan(reqs).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), Some(tx))
        .await;
    let (records, bad) = audit::read(&dir.path().join("audit.jsonl")).unwrap();
    assert_eq!(bad, 0);
    assert_eq!(records.len(), 20);
    for o in &report.outcomes {
        let pos = |k: Kind| {
            records
                .iter()
                .position(|r| r.user == o.user && r.kind == k)
                .unwrap()
        };
        assert!(
            pos(Kind::Intent) < pos(Kind::Result),
            "intent precedes result for {}",
            o.user
        );
    }
    let first = records
        .iter()
        .find(|r| r.user.as_str() == "user0" && r.kind == Kind::Result)
        .unwrap();
    assert_eq!(first.ticket.as_deref(), Some("T-42"));
    assert_eq!(first.status, Some(Status::Removed));
    assert_eq!(first.role, Some(Role::Member));
    assert_eq!(first.profile, "t");
    assert!(first.ts.ends_with('Z'));
    let mut rows = 0;
    let mut last = None;
    while let Ok(ev) = rx.try_recv() {
        match ev {
            RunEvent::Row { .. } => rows += 1,
            RunEvent::Progress(p) => last = Some(p),
        }
    }
    assert_eq!(rows, 10);
    let last = last.unwrap();
    assert_eq!((last.done, last.total, last.in_flight), (10, 10, 0));
    assert_eq!(last.retries, 1);
}

#[tokio::test(start_paused = true)]
async fn dry_run_sends_nothing_and_guards_still_skip() {
    let p = Arc::new(Scripted::new(vec![], 10));
    let (engine, dir) = engine(p.clone());
    let mut reqs = removals(3);
    reqs.push(Request::new("room", "owner", Action::Remove));
    let plan = engine.plan(reqs).await.unwrap();
    let opts = RunOptions {
        dry_run: true,
        ..RunOptions::default()
    };
    let report = engine.run(&plan, &opts, &Cancel::new(), None).await;
    let st: Vec<Status> = report.outcomes.iter().map(|o| o.status).collect();
    assert_eq!(
        st,
        [
            Status::DryRun,
            Status::DryRun,
            Status::DryRun,
            Status::Skipped
        ]
    );
    assert_eq!(p.calls.load(Ordering::SeqCst), 0);
    assert!(
        audit::read(&dir.path().join("audit.jsonl"))
            .unwrap()
            .0
            .is_empty()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    /// Whatever the batch size, duplicates and failures: chunks never
    /// exceed max_batch and every planned row gets exactly one outcome.
    #[test]
    fn chunks_fit_and_every_row_ends_once(
        max_batch in 1usize..70,
        users in proptest::collection::vec(0u16..300, 1..400),
        failures in 0usize..4,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        rt.block_on(async {
            let script = vec![Answer::RateLimited(None); failures];
            let p = Arc::new(Scripted::new(script, max_batch));
            let (engine, _dir) = engine(p.clone());
            let reqs: Vec<Request> = users.iter().map(|u| Request::new("room", format!("u{u}"), Action::Remove)).collect();
            let plan = engine.plan(reqs).await.unwrap();
            let distinct: std::collections::HashSet<_> = users.iter().collect();
            prop_assert_eq!(plan.rows.len(), distinct.len());
            let report = engine.run(&plan, &RunOptions::default(), &Cancel::new(), None).await;
            prop_assert_eq!(report.outcomes.len(), plan.rows.len());
            for (o, row) in report.outcomes.iter().zip(&plan.rows) {
                prop_assert_eq!(&o.user, &row.user);
                prop_assert_eq!(o.status, Status::Removed);
            }
            prop_assert!(p.batches.lock().unwrap().iter().all(|b| *b <= max_batch));
            Ok(())
        })?;
    }
}

#[tokio::test(start_paused = true)]
async fn changes_to_one_user_keep_the_order_of_the_plan() {
    let mut s = Scripted::new(vec![], 10);
    s.owners = vec!["owner", "boss"];
    let p = Arc::new(s);
    let (engine, _dir) = engine(p.clone());
    // A ticket: demote boss, remove u1 and boss, then put u1 back.
    let reqs = vec![
        Request::new("room", "boss", Action::Demote),
        Request::new("room", "u1", Action::Remove),
        Request::new("room", "boss", Action::Remove),
        Request::new("room", "u1", Action::Readd),
        Request::new("room", "u2", Action::Remove),
    ];
    let plan = engine.plan(reqs).await.unwrap();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    assert!(
        report.outcomes.iter().all(|o| o.status.is_ok()),
        "{:?}",
        report.outcomes
    );
    let log = p.log.lock().unwrap().clone();
    let at = |entry: &str| {
        log.iter()
            .position(|l| l == entry)
            .unwrap_or_else(|| panic!("{entry} in {log:?}"))
    };
    assert!(at("demote:boss") < at("remove:boss"), "{log:?}");
    assert!(at("remove:u1,u2") < at("readd:u1"), "{log:?}");
}

#[tokio::test(start_paused = true)]
async fn cancelled_while_waiting_to_retry_says_to_check_the_user() {
    let p = Arc::new(Scripted::new(
        vec![Answer::RateLimited(Some(Duration::from_secs(60)))],
        10,
    ));
    let (engine, _dir) = engine(p.clone());
    let engine = Arc::new(engine);
    let plan = engine.plan(removals(2)).await.unwrap();
    let cancel = Cancel::new();
    let run = {
        let (engine, cancel, plan) = (engine.clone(), cancel.clone(), plan.clone());
        tokio::spawn(async move {
            engine
                .run(&plan, &RunOptions::default(), &cancel, None)
                .await
        })
    };
    p.entered.notified().await; // the first attempt was sent and refused
    cancel.cancel();
    let report = run.await.unwrap();
    for o in &report.outcomes {
        assert_eq!(o.status, Status::Skipped);
        let why = o.reason.as_deref().unwrap();
        assert!(
            why.contains("cancelled before a retry")
                && why.contains("reach_limit")
                && why.contains("check this user"),
            "{why}"
        );
    }
    assert_eq!(p.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn listing_rooms_keeps_the_providers_lower_rooms_limit() {
    let p = Arc::new(Scripted::new(vec![], 10));
    let (engine, _dir) = engine(p);
    let start = tokio::time::Instant::now();
    let rooms = engine.all_rooms().await.unwrap();
    assert_eq!(rooms.len(), 20);
    // 20 pages at 5/s (a burst of one) take about 3.8 s, not the 0.02 s
    // the general 1,000/s limit would allow.
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(3_700), "{took:?}");
}

/// The server removed the users, then the answer was lost: the retry finds
/// them gone. That is this run's own removal, not `already_absent`.
#[tokio::test(start_paused = true)]
async fn a_lost_answer_then_a_retry_that_finds_users_gone_ends_removed() {
    for kind in [
        ErrorKind::Connection,
        ErrorKind::Server { status: 502 },
        ErrorKind::Timeout,
    ] {
        let p = Arc::new(Scripted::new(vec![Answer::Lost(kind.clone())], 10));
        let (engine, _dir) = engine(p.clone());
        let plan = engine.plan(removals(3)).await.unwrap();
        let report = engine
            .run(&plan, &RunOptions::default(), &Cancel::new(), None)
            .await;
        for o in &report.outcomes {
            assert_eq!(o.status, Status::Removed, "{kind:?}: {o:?}");
            assert!(
                o.reason
                    .as_deref()
                    .unwrap_or("")
                    .contains("answer was lost"),
                "{o:?}"
            );
        }
    }
    // A user who was absent before this run's first call stays absent.
    let p = Arc::new(Scripted::new(vec![], 10));
    p.gone.lock().unwrap().insert(UserId::from("user0"));
    let (engine, _dir) = engine(p.clone());
    let plan = engine.plan(removals(2)).await.unwrap();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    assert_eq!(report.outcomes[0].status, Status::AlreadyAbsent);
    assert_eq!(report.outcomes[1].status, Status::Removed);
}

/// A provider asking for an hour (or for more time than can be written
/// down) does not hold the run: past the cap the rows fail with its ask.
#[tokio::test(start_paused = true)]
async fn a_wait_over_the_cap_fails_the_rows_with_the_providers_ask() {
    for ask in [Duration::from_secs(3600), Duration::MAX] {
        let p = Arc::new(Scripted::new(vec![Answer::RateLimited(Some(ask))], 10));
        let (engine, _dir) = engine(p.clone());
        let plan = engine.plan(removals(2)).await.unwrap();
        let started = tokio::time::Instant::now();
        let report = engine
            .run(&plan, &RunOptions::default(), &Cancel::new(), None)
            .await;
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
        for o in &report.outcomes {
            assert_eq!(o.status, Status::Failed, "{o:?}");
            let why = o.reason.as_deref().unwrap();
            assert!(why.contains("max_retry_wait_secs"), "{why}");
        }
        assert_eq!(p.calls.load(Ordering::SeqCst), 1, "no retry past the cap");
    }
}

/// Retries are budgeted by time, not by a handful of attempts: a long run
/// of 429s without a hint is waited out.
#[tokio::test(start_paused = true)]
async fn retries_last_minutes_not_six_attempts() {
    let script = vec![Answer::RateLimited(None); 12];
    let p = Arc::new(Scripted::new(script, 10));
    let (engine, _dir) = engine(p.clone());
    let plan = engine.plan(removals(3)).await.unwrap();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Removed),
        "{:?}",
        report.outcomes
    );
}

/// A wait over 5 s that the provider asked for is reported while it lasts.
#[tokio::test(start_paused = true)]
async fn a_long_provider_wait_is_reported_in_progress() {
    let p = Arc::new(Scripted::new(
        vec![Answer::RateLimited(Some(Duration::from_secs(12)))],
        10,
    ));
    let (engine, _dir) = engine(p.clone());
    let plan = engine.plan(removals(1)).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), Some(tx))
        .await;
    assert_eq!(report.outcomes[0].status, Status::Removed);
    let mut saw = None;
    while let Ok(ev) = rx.try_recv() {
        if let RunEvent::Progress(p) = ev
            && p.waiting.is_some()
        {
            saw = p.waiting;
        }
    }
    assert!(saw.is_some_and(|w| w >= Duration::from_secs(12)), "{saw:?}");
}

#[tokio::test(start_paused = true)]
async fn a_run_never_acts_on_more_users_than_were_confirmed() {
    let p = Arc::new(Scripted::new(vec![], 10));
    let (engine, _dir) = engine(p.clone());
    let plan = engine.plan(removals(7)).await.unwrap();
    assert_eq!(plan.to_send(), 7);
    // Five were confirmed, the plan has seven to send: nothing is sent.
    let opts = RunOptions {
        confirmed: Some(5),
        ..RunOptions::default()
    };
    let report = engine.run(&plan, &opts, &Cancel::new(), None).await;
    assert_eq!(p.calls.load(Ordering::SeqCst), 0, "no call was sent");
    assert_eq!(report.outcomes.len(), 7);
    for o in &report.outcomes {
        assert_eq!(o.status, Status::Failed);
        let why = o.reason.as_deref().unwrap();
        assert!(
            why.contains("7") && why.contains("5 were confirmed"),
            "{why}"
        );
    }
    // The confirmed number (or more) goes through.
    let opts = RunOptions {
        confirmed: Some(7),
        ..RunOptions::default()
    };
    let report = engine.run(&plan, &opts, &Cancel::new(), None).await;
    assert!(report.outcomes.iter().all(|o| o.status == Status::Removed));
}

#[tokio::test(start_paused = true)]
async fn guard_refusals_are_audited_with_their_ticket() {
    let p = Arc::new(Scripted::new(vec![], 10));
    let (engine, dir) = engine(p.clone());
    let mut requests = removals(2);
    // The room's only owner: a guard refuses it.
    requests.push(Request::new("room", "owner", Action::Remove));
    for r in &mut requests {
        r.ticket = Some("T-9".into());
    }
    let plan = engine.plan(requests).await.unwrap();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    assert_eq!(report.outcomes[2].status, Status::Skipped);
    let (records, _) = audit::read(&dir.path().join("audit.jsonl")).unwrap();
    let skipped: Vec<_> = records
        .iter()
        .filter(|r| r.status == Some(Status::Skipped))
        .collect();
    assert_eq!(skipped.len(), 1, "{records:?}");
    assert_eq!(skipped[0].user.as_str(), "owner");
    assert_eq!(skipped[0].ticket.as_deref(), Some("T-9"));
    assert_eq!(skipped[0].kind, Kind::Result);
    assert!(skipped[0].reason.as_deref().unwrap().contains("owner"));
}

/// IMKit's removal is two requests (a read of the room, then the call):
/// a provider that says a call costs two gets half as many calls out of
/// its quota, so that the requests stay within it.
#[tokio::test(start_paused = true)]
async fn a_call_costing_two_requests_takes_two_of_the_quota() {
    let mut p = Scripted::new(vec![], 1);
    p.quota = Quota::new(10, Duration::from_secs(60));
    p.call_cost = CallCost {
        remove: Cost {
            fixed: 2,
            per_staff: 0,
        },
        ..CallCost::ONE
    };
    let p = Arc::new(p);
    let (engine, _dir) = engine(p.clone());
    let plan = engine.plan(removals(12)).await.unwrap();
    let report = engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    assert!(report.outcomes.iter().all(|o| o.status == Status::Removed));
    let at = p.sent_at.lock().unwrap().clone();
    assert_eq!(at.len(), 12);
    for (i, start) in at.iter().enumerate() {
        let within = at[i..]
            .iter()
            .filter(|t| **t < *start + Duration::from_secs(60))
            .count();
        assert!(
            within * 2 <= 10,
            "{within} calls of two requests within a minute from call {i}: over 10 requests"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_profiles_max_batch_does_not_group_calls_of_a_one_user_provider() {
    // Symphony, nandbox and Amity's live rooms take one user per call: a
    // profile's `max_batch = 10` must not make the engine hand them groups
    // (one lost answer would then retry the whole group).
    let profile = Config::parse(
        "[profiles.t]\nprovider = \"sandbox\"\nmax_batch = 10\n",
        std::path::Path::new("t.toml"),
        None,
    )
    .unwrap()
    .profile(None)
    .unwrap()
    .clone();
    let p = Arc::new(Scripted::new(Vec::new(), 1));
    let engine = Engine::new(p.clone(), &profile, None);
    assert_eq!(engine.capabilities().max_batch, 1);
    let plan = engine.plan(removals(5)).await.unwrap();
    engine
        .run(&plan, &RunOptions::default(), &Cancel::new(), None)
        .await;
    assert_eq!(*p.batches.lock().unwrap(), vec![1; 5]);

    // A provider with a batch call takes the profile's size.
    let p = Arc::new(Scripted::new(Vec::new(), 60));
    assert_eq!(Engine::new(p, &profile, None).capabilities().max_batch, 10);
}

//! Team mode's shared audit on a real PostgreSQL (a throwaway cluster):
//! migrations, append-only records, every operator's rows in order,
//! filters, undo roles, and a database that goes away mid-run.

#[path = "fakes/agora.rs"]
mod agora_fake;
mod pg;
mod team;

use roomwarden::model::{Action, Role, Status};
use roomwarden::ops::audit::Kind;
use roomwarden::ops::plan::Request;
use roomwarden::ops::store::{AuditStore, Query};
use roomwarden::ops::{Cancel, RunEvent, RunOptions};
use std::collections::HashSet;
use team::{room_id, user_id};

fn fast() -> RunOptions {
    RunOptions {
        min_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(20),
        ..RunOptions::default()
    }
}

fn removals(room: usize, users: std::ops::Range<usize>, ticket: &str) -> Vec<Request> {
    users
        .map(|j| Request {
            ticket: Some(ticket.into()),
            note: Some(format!("cleanup {ticket}").into()),
            ..Request::new(room_id(room), user_id(room, j), Action::Remove)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_even_when_started_together_and_records_are_append_only() {
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    let url = cluster.url();
    // Four first starts at once: each migration applies exactly once.
    let stores =
        futures::future::join_all((0..4).map(|i| team::store(&url, ["a", "b", "c", "d"][i]))).await;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM roomwarden_schema ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let want: Vec<i32> = (1..=roomwarden::ops::store::pg::SCHEMA_VERSION).collect();
    assert_eq!(versions, want);

    let fake = team::fake(1, 10).await;
    let engine = team::engine(&fake, stores[0].clone(), "alice", "");
    let plan = engine.plan(removals(0, 0..3, "T-1")).await.unwrap();
    engine.run(&plan, &fast(), &Cancel::new(), None).await;
    for sql in [
        "UPDATE audit_records SET reason = 'edited'",
        "DELETE FROM audit_records",
        "TRUNCATE audit_records",
    ] {
        let e = client.batch_execute(sql).await.unwrap_err();
        assert!(
            e.as_db_error()
                .is_some_and(|d| d.message().contains("append-only")),
            "{sql}: {e:?}"
        );
    }
    let row = client
        .query_one(
            "SELECT count(*), min(operator), min(os_user), min(host) FROM audit_records",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 6);
    assert_eq!(row.get::<_, String>(1), "alice");
    assert_eq!(row.get::<_, String>(2), "tester");
    assert_eq!(row.get::<_, String>(3), "test-host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consoles_rows_interleave_in_order_and_filter_by_operator_ticket_batch() {
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    let url = cluster.url();
    let fake = team::fake(2, 400).await;
    // Calls take a while, so that the two runs below overlap.
    roomwarden::provider::sandbox::world::lock(fake.world())
        .faults
        .latency = std::time::Duration::from_millis(10);
    let alice = team::engine(&fake, team::store(&url, "alice").await, "alice", "");
    let bob = team::engine(&fake, team::store(&url, "bob").await, "bob", "");

    // Taking turns: alice, bob, alice.
    let mut batches = Vec::new();
    for (engine, users, ticket) in [
        (&alice, 0..5, "T-A1"),
        (&bob, 5..10, "T-B1"),
        (&alice, 10..15, "T-A2"),
    ] {
        let plan = engine.plan(removals(0, users, ticket)).await.unwrap();
        batches.push(engine.run(&plan, &fast(), &Cancel::new(), None).await.batch);
    }
    let store = alice.audit_store().unwrap().clone();
    let all = store.find(&Query::default()).await.unwrap().records;
    assert_eq!(all.len(), 30);
    let order: Vec<(&str, &str)> = all
        .iter()
        .map(|r| (r.operator.as_str(), r.batch.as_str()))
        .collect();
    let mut runs: Vec<(&str, &str)> = order.clone();
    runs.dedup();
    assert_eq!(
        runs,
        vec![
            ("alice", batches[0].as_str()),
            ("bob", batches[1].as_str()),
            ("alice", batches[2].as_str())
        ],
        "records grouped by run in the order the runs happened"
    );

    // At the same time, on two rooms: both operators' rows, each intent
    // before its result, timestamps never going back per operator.
    let (pa, pb) = tokio::join!(
        alice.plan(removals(1, 0..200, "T-A3")),
        bob.plan(removals(1, 200..400, "T-B2"))
    );
    let (pa, pb) = (pa.unwrap(), pb.unwrap());
    let (opts, cancel) = (fast(), Cancel::new());
    let (ra, rb) = tokio::join!(
        alice.run(&pa, &opts, &cancel, None),
        bob.run(&pb, &opts, &cancel, None)
    );
    assert!(
        ra.outcomes
            .iter()
            .chain(&rb.outcomes)
            .all(|o| o.status == Status::Removed)
    );
    let all = store.find(&Query::default()).await.unwrap().records;
    assert_eq!(all.len(), 30 + 800);
    let mut intended = HashSet::new();
    for r in &all[30..] {
        let key = (r.batch.clone(), r.user.clone());
        match r.kind {
            Kind::Intent => assert!(intended.insert(key), "one intent per row"),
            Kind::Result => assert!(intended.contains(&key), "a result after its intent: {r:?}"),
        }
    }
    let mut ops: Vec<&str> = all[30..].iter().map(|r| r.operator.as_str()).collect();
    ops.dedup();
    assert!(
        ops.len() >= 3,
        "runs at the same time interleave their rows: {ops:?}"
    );

    // Filters.
    let q = |operator: Option<&str>, ticket: Option<&str>, batch: Option<&str>| Query {
        operator: operator.map(Into::into),
        ticket: ticket.map(Into::into),
        batch: batch.map(Into::into),
        ..Query::default()
    };
    let bobs = store
        .find(&q(Some("bob"), None, None))
        .await
        .unwrap()
        .records;
    assert_eq!(bobs.len(), 10 + 400);
    assert!(bobs.iter().all(|r| r.operator == "bob"));
    let by_os_user = store.find(&q(Some("tester"), None, None)).await.unwrap();
    assert_eq!(by_os_user.records.len(), 830, "the OS user matches too");
    let t = store
        .find(&q(None, Some("T-A2"), None))
        .await
        .unwrap()
        .records;
    assert_eq!(t.len(), 10);
    assert!(t.iter().all(|r| r.ticket.as_deref() == Some("T-A2")));
    let b = store
        .find(&q(None, None, Some(batches[1].as_str())))
        .await
        .unwrap()
        .records;
    assert_eq!(b.len(), 10);
    let last = store
        .find(&Query {
            last: Some(3),
            ..Query::default()
        })
        .await
        .unwrap()
        .records;
    assert_eq!(last, all[all.len() - 3..].to_vec());
    assert!(
        store
            .find(&Query {
                unfinished: true,
                ..Query::default()
            })
            .await
            .unwrap()
            .records
            .is_empty()
    );

    // Undo reads the role from the shared store, whoever removed the user.
    let mut readd = vec![Request::new(room_id(0), user_id(0, 7), Action::Readd)];
    alice.fill_readd_roles(&mut readd).await.unwrap();
    assert_eq!(readd[0].role, Some(Role::Member));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_going_away_mid_run_stops_sending_and_leaves_rows_unfinished() {
    let Some(mut cluster) = pg::Cluster::start() else {
        return;
    };
    let url = cluster.url();
    let fake = team::fake(1, 6_000).await;
    let store = team::store(&url, "alice").await;
    let engine = team::engine(&fake, store.clone(), "alice", "");
    let plan = engine.plan(removals(0, 0..6_000, "T-9")).await.unwrap();
    let deletes = || {
        fake.requests()
            .iter()
            .filter(|r| r.starts_with("DELETE"))
            .count()
    };
    let (db, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let opts = RunOptions {
        concurrency: 1,
        ..fast()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = Cancel::new();
    let run = engine.run(&plan, &opts, &cancel, Some(tx));
    let watch = async {
        let mut rows = 0;
        while let Some(ev) = rx.recv().await {
            if let RunEvent::Row { .. } = ev {
                rows += 1;
                if rows != 120 {
                    continue;
                }
                // Every call is now refused (rate limited, retried), so the
                // call that goes out next stays in flight; once it has
                // reached the fake, take the database away, then let it through.
                roomwarden::provider::sandbox::world::lock(fake.world())
                    .faults
                    .rate_limit_next = u32::MAX;
                let before = deletes();
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                loop {
                    let row = db
                        .query_one(
                            "SELECT count(*) FILTER (WHERE kind = 'intent'), count(*) FILTER (WHERE kind = 'result') FROM audit_records",
                            &[],
                        )
                        .await
                        .unwrap();
                    let (intents, results): (i64, i64) = (row.get(0), row.get(1));
                    if deletes() > before && intents > results {
                        break;
                    }
                    assert!(std::time::Instant::now() < deadline, "no call went out");
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                cluster.stop_server();
                roomwarden::provider::sandbox::world::lock(fake.world())
                    .faults
                    .rate_limit_next = 0;
            }
        }
    };
    let (report, ()) = tokio::join!(run, watch);
    // Calls, not attempts: the rate-limited attempts of one call repeat it.
    let sent = 6_000
        - report
            .outcomes
            .iter()
            .filter(|o| o.status == Status::Failed)
            .count();
    assert!(sent % 60 == 0, "whole calls");
    let sent = sent / 60;
    assert!((3..100).contains(&sent), "{sent} calls: stopped sending");
    let not_sent: Vec<_> = report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .collect();
    assert_eq!(not_sent.len(), 6_000 - sent * 60);
    assert!(
        not_sent[0].reason.as_deref().is_some_and(|r| r
            .starts_with("not sent: the intent could not be recorded")
            && r.contains("audit database")),
        "{:?}",
        not_sent[0]
    );

    // Back up: every call sent has its intents; the call whose results were
    // lost with the database is still unfinished, for `audit --unfinished`.
    cluster.start_server();
    let all = store.find(&Query::default()).await.unwrap().records;
    let intents = all.iter().filter(|r| r.kind == Kind::Intent).count();
    let results = all.iter().filter(|r| r.kind == Kind::Result).count();
    assert_eq!(
        intents,
        sent * 60,
        "an intent for every row sent, none for the rest"
    );
    let unfinished = store
        .find(&Query {
            unfinished: true,
            ..Query::default()
        })
        .await
        .unwrap()
        .records;
    assert!(!unfinished.is_empty(), "the rows in flight stay unfinished");
    assert_eq!(unfinished.len(), intents - results);
    let removed: HashSet<_> = report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Removed)
        .map(|o| o.user.clone())
        .collect();
    assert_eq!(removed.len(), sent * 60);
    assert!(unfinished.iter().all(|r| removed.contains(&r.user)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_is_honoured_and_a_server_without_tls_is_refused() {
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    // The default (prefer) talks plain to a server that offers no TLS.
    team::store(&cluster.url(), "alice").await;
    let e = match roomwarden::ops::store::pg::PgStore::connect(roomwarden::ops::store::pg::PgSpec {
        url: format!("{}?sslmode=require", cluster.url()),
        password: None,
        origin: roomwarden::ops::store::pg::Origin::here(None),
    })
    .await
    {
        Ok(_) => panic!("connected without TLS under sslmode=require"),
        Err(e) => e,
    };
    assert!(e.unavailable, "{e}");
    assert!(e.message.contains("TLS"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_reads_and_records_through_the_shared_database() {
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    let fake = team::fake(1, 10).await;
    // Bob's run crashed after announcing three removals; the first one
    // went through at the provider.
    let bobs = team::store(&cluster.url(), "bob").await;
    let intent = |j: usize| roomwarden::ops::audit::Record {
        ts: roomwarden::ops::audit::now_rfc3339(),
        kind: Kind::Intent,
        operator: "bob".into(),
        profile: "agora".into(),
        provider: "agora".into(),
        room: room_id(0).into(),
        user: user_id(0, j).into(),
        action: Action::Remove,
        status: None,
        reason: Some("spam wave".into()),
        ticket: Some("T-9".into()),
        batch: "crash-pg".into(),
        role: Some(Role::Member),
    };
    // User 3's call lost its answer and the retry failed: the change may
    // have happened, so the row stays unfinished (it did: user 3 is gone).
    let lost = roomwarden::ops::audit::Record {
        ts: roomwarden::ops::audit::now_rfc3339(),
        kind: Kind::Result,
        status: Some(Status::Failed),
        reason: Some(format!(
            "not a member; an earlier attempt {} (its answer was lost: timeout)",
            roomwarden::ops::MAY_HAVE_ACTED
        )),
        ..intent(3)
    };
    bobs.append(&[intent(0), intent(1), intent(2), intent(3), lost], true)
        .await
        .unwrap();
    for j in [0, 3] {
        roomwarden::provider::sandbox::world::lock(fake.world())
            .room_mut(&room_id(0).into())
            .unwrap()
            .remove(&user_id(0, j).into());
    }

    // Alice resumes it from her machine, reading the shared store.
    let store = team::store(&cluster.url(), "alice").await;
    let engine = team::engine(&fake, store.clone(), "alice", "");
    let (found, notes) = roomwarden::ops::store::unfinished_batch(&*store, None)
        .await
        .unwrap();
    assert!(notes.is_empty());
    let (batch, intents) = found.expect("bob's batch is unfinished");
    assert_eq!((batch.as_str(), intents.len()), ("crash-pg", 4));
    let pairs = intents
        .iter()
        .map(|r| (r.room.clone(), r.user.clone()))
        .collect();
    let history = store.history(&pairs).await.unwrap().records;
    assert_eq!(history.len(), 5, "{history:?}");
    let check = engine
        .check_unfinished(batch.clone(), intents, &history)
        .await
        .unwrap();
    assert_eq!(check.remaining.len(), 2, "users 0 and 3 are gone already");
    engine.record_found(&check).await.unwrap();
    let plan = engine
        .plan(check.remaining.iter().map(|(_, r)| r.clone()).collect())
        .await
        .unwrap();
    let opts = RunOptions {
        batch: Some(batch.clone()),
        ..fast()
    };
    let report = engine.run(&plan, &opts, &Cancel::new(), None).await;
    assert!(report.outcomes.iter().all(|o| o.status == Status::Removed));

    // Nothing is left unfinished, and every result is joined with the
    // moderator's note of its intent.
    let unfinished = store
        .find(&Query {
            unfinished: true,
            ..Query::default()
        })
        .await
        .unwrap()
        .records;
    assert!(unfinished.is_empty(), "{unfinished:?}");
    let results: Vec<_> = store
        .find(&Query {
            batch: Some("crash-pg".into()),
            ..Query::default()
        })
        .await
        .unwrap()
        .records
        .into_iter()
        .filter(|r| r.kind == Kind::Result)
        .collect();
    assert_eq!(results.len(), 5, "{results:?}");
    let removed: Vec<_> = results
        .iter()
        .filter(|r| r.status == Some(Status::Removed))
        .collect();
    assert_eq!(removed.len(), 4);
    assert!(
        removed.iter().all(|r| r.operator == "alice"),
        "alice recorded them"
    );
    let resumed = results
        .iter()
        .find(|r| r.user.as_str() == user_id(0, 1))
        .unwrap();
    assert_eq!(resumed.reason.as_deref(), Some("spam wave"));
    // Undo finds the role bob's intent recorded.
    let mut back = vec![Request::new(room_id(0), user_id(0, 1), Action::Readd)];
    engine.fill_readd_roles(&mut back).await.unwrap();
    assert_eq!(back[0].role, Some(Role::Member));
}

//! Runs effects on tokio tasks; every answer comes back as an `Action`.
//! This is the only part of the console that talks to the engine.

use super::action::{Action, Effect};
use super::state::Header;
use super::store;
use crate::model::{Outcome, RoomId};
use crate::ops::{Cancel, Engine, RunOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// Builds the engine for another profile (`:profile NAME`).
pub type SwitchFn = Box<dyn Fn(&str) -> Result<(Arc<Engine>, Header), String> + Send>;

pub struct Runner {
    engine: Arc<Engine>,
    tx: UnboundedSender<Action>,
    loader: Option<JoinHandle<()>>,
    cancel: Option<Cancel>,
    switch: Option<SwitchFn>,
    /// Where exports go.
    export_dir: PathBuf,
    /// Forwards the provider's membership events, where it has them.
    listener: Option<JoinHandle<()>>,
    /// The latest background filter asked for: older scans stop early.
    filter_latest: Arc<AtomicU64>,
}

impl Runner {
    pub fn new(
        engine: Arc<Engine>,
        tx: UnboundedSender<Action>,
        switch: Option<SwitchFn>,
        export_dir: PathBuf,
    ) -> Self {
        Self {
            engine,
            tx,
            loader: None,
            cancel: None,
            switch,
            export_dir,
            listener: None,
            filter_latest: Arc::new(AtomicU64::new(0)),
        }
        .listening()
    }

    /// Forwards the engine's membership events as actions.
    fn listening(mut self) -> Self {
        self.listen();
        self
    }

    fn listen(&mut self) {
        if let Some(h) = self.listener.take() {
            h.abort();
        }
        let Some(mut events) = self.engine.member_events() else {
            return;
        };
        let tx = self.tx.clone();
        self.listener = Some(tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match events.recv().await {
                    Ok(e) => {
                        if tx.send(Action::Membership(e)).is_err() {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                }
            }
        }));
    }

    fn send(&self, a: Action) {
        let _ = self.tx.send(a);
    }

    pub fn run(&mut self, effect: Effect) {
        let engine = self.engine.clone();
        let tx = self.tx.clone();
        match effect {
            Effect::LoadRooms => {
                tokio::spawn(async move {
                    let r = engine.all_rooms().await.map_err(|e| e.to_string());
                    let _ = tx.send(Action::RoomsLoaded(r));
                });
            }
            Effect::LoadMembers { room, seq } => {
                if let Some(h) = self.loader.take() {
                    h.abort();
                }
                self.loader = Some(tokio::spawn(load_members(engine, room, seq, tx)));
            }
            Effect::StopMembers => {
                if let Some(h) = self.loader.take() {
                    h.abort();
                }
            }
            Effect::LookUp { room, seq, users } => {
                tokio::spawn(async move {
                    let (mut found, mut absent, mut failed) = (Vec::new(), Vec::new(), Vec::new());
                    for user in users {
                        match engine.member(&room, &user).await {
                            Ok(Some(m)) => found.push(m),
                            Ok(None) => absent.push(user),
                            Err(e) => {
                                let why = format!("{user}: {e}");
                                failed.push((user, why));
                            }
                        }
                    }
                    let _ = tx.send(Action::LookedUp {
                        seq,
                        found,
                        absent,
                        failed,
                    });
                });
            }
            Effect::FindRoom(id) => {
                tokio::spawn(async move {
                    let r = engine.room(&id).await.map_err(|e| e.to_string());
                    let _ = tx.send(Action::RoomFound(r));
                });
            }
            Effect::Filter {
                seq,
                store: snapshot,
                query,
                gone,
            } => {
                // Typing a filter asks for one scan per key: a scan that a
                // newer one replaced stops at its next page, so only the
                // latest keeps the cores busy. Between pages the scan
                // yields, so the console's loop, when it has a key to
                // show, gets a core within a page's work (on two cores
                // the scan otherwise holds both).
                self.filter_latest.store(seq, Ordering::SeqCst);
                let latest = self.filter_latest.clone();
                tokio::task::spawn_blocking(move || {
                    let current = || {
                        std::thread::yield_now();
                        latest.load(Ordering::SeqCst) == seq
                    };
                    let Some(view) = store::filter_while(&snapshot, 0, &query, &gone, &current)
                    else {
                        return;
                    };
                    let _ = tx.send(Action::Filtered {
                        seq,
                        view,
                        upto: snapshot.len(),
                        gone_loaded: store::count_gone(&snapshot, 0, &gone),
                    });
                });
            }
            Effect::Plan { seq, requests } => {
                tokio::spawn(async move {
                    let result = engine.plan(requests).await.map_err(|e| e.to_string());
                    let _ = tx.send(Action::Planned { seq, result });
                });
            }
            Effect::PlanUndo { seq, mut requests } => {
                tokio::spawn(async move {
                    let filled = if requests.iter().any(|r| r.role.is_none()) {
                        Some(engine.fill_readd_roles(&mut requests).await)
                    } else {
                        None
                    };
                    let result = match filled {
                        Some(Err(e)) => Err(format!("reading the audit store for roles: {e}")),
                        Some(Ok(skipped)) => engine
                            .plan(requests)
                            .await
                            .map(|mut plan| {
                                plan.notices.extend(skipped.iter().map(|s| s.to_string()));
                                plan
                            })
                            .map_err(|e| e.to_string()),
                        None => engine.plan(requests).await.map_err(|e| e.to_string()),
                    };
                    let _ = tx.send(Action::Planned { seq, result });
                });
            }
            Effect::Run {
                plan,
                dry_run,
                confirmed,
            } => {
                let cancel = Cancel::new();
                self.cancel = Some(cancel.clone());
                tokio::spawn(async move {
                    run_plan(engine, plan, dry_run, confirmed, cancel, tx).await;
                });
            }
            Effect::CancelRun => {
                if let Some(c) = &self.cancel {
                    c.cancel();
                }
            }
            Effect::LoadAudit(query) => {
                tokio::spawn(async move {
                    let r = match engine.audit_store() {
                        None => Err("no audit store is open".to_string()),
                        Some(store) => store
                            .find(&query)
                            .await
                            .map(|found| {
                                for note in &found.notes {
                                    tracing::warn!("{note}");
                                }
                                found.records
                            })
                            .map_err(|e| e.to_string()),
                    };
                    let _ = tx.send(Action::AuditLoaded(r));
                });
            }
            Effect::Export { batch, outcomes } => {
                let dir = self.export_dir.clone();
                tokio::task::spawn_blocking(move || {
                    let (text, error) = match export(&dir, &batch, &outcomes) {
                        Ok((csv, jsonl)) => (export_message(outcomes.len(), &csv, &jsonl), false),
                        Err(e) => (format!("export failed: {e}"), true),
                    };
                    let _ = tx.send(Action::Status { text, error });
                });
            }
            Effect::Copy(text) => {
                let seq = format!("\x1b]52;c;{}\x07", base64(text.as_bytes()));
                let mut out = std::io::stdout();
                let _ = out.write_all(seq.as_bytes());
                let _ = out.flush();
            }
            Effect::SwitchProfile(name) => {
                let r = match &self.switch {
                    None => Err("profiles cannot be switched here".to_string()),
                    Some(f) => f(&name),
                };
                match r {
                    Ok((engine, header)) => {
                        if let Some(h) = self.loader.take() {
                            h.abort();
                        }
                        self.engine = engine;
                        self.listen();
                        self.send(Action::ProfileSwitched(Ok(header)));
                    }
                    Err(e) => self.send(Action::ProfileSwitched(Err(e))),
                }
            }
        }
    }
}

async fn run_plan(
    engine: Arc<Engine>,
    plan: crate::ops::plan::Plan,
    dry_run: bool,
    confirmed: usize,
    cancel: Cancel,
    tx: UnboundedSender<Action>,
) {
    let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
    let fwd = tx.clone();
    let forward = tokio::spawn(async move {
        while let Some(ev) = erx.recv().await {
            let _ = fwd.send(Action::Run(ev));
        }
    });
    let opts = RunOptions {
        dry_run,
        confirmed: Some(confirmed),
        ..RunOptions::default()
    };
    let report = engine.run(&plan, &opts, &cancel, Some(etx)).await;
    let _ = forward.await;
    let _ = tx.send(Action::RunDone(report));
}

/// Streams every page of a room through the engine (page-number providers
/// fetch ahead there, within the rate limit).
async fn load_members(engine: Arc<Engine>, room: RoomId, seq: u64, tx: UnboundedSender<Action>) {
    let mut total = None;
    // The first page's wait is one round trip to the provider: the
    // confirm popup's ETA counts it.
    let mut started = Some(std::time::Instant::now());
    let result = engine
        .stream_members(&room, |page| {
            if let Some(at) = started.take() {
                let _ = tx.send(Action::RoundTrip(at.elapsed()));
            }
            total = page.total.or(total);
            tx.send(Action::MembersPage {
                seq,
                items: page.items,
                total,
                done: page.next.is_none(),
            })
            .is_ok()
        })
        .await;
    if let Err(e) = result {
        let _ = tx.send(Action::MembersFailed {
            seq,
            error: e.to_string(),
        });
    }
}

/// Names both files on the status line; the paths differ only in their
/// extension, so the second is shortened to it and the line stays
/// readable on a narrow terminal.
pub fn export_message(rows: usize, csv: &std::path::Path, jsonl: &std::path::Path) -> String {
    let same_stem = csv.with_extension("") == jsonl.with_extension("");
    let rows = if rows == 1 {
        "1 row".to_string()
    } else {
        format!("{} rows", super::format::num(rows))
    };
    if same_stem {
        format!("exported {rows} to {} (+ .jsonl)", csv.display())
    } else {
        format!(
            "exported {rows} to {} and {}",
            csv.display(),
            jsonl.display()
        )
    }
}

/// Writes the results as CSV and JSON Lines; returns both paths.
fn export(
    dir: &std::path::Path,
    batch: &str,
    outcomes: &[Outcome],
) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let stem = if batch.is_empty() {
        "roomwarden-results".to_string()
    } else {
        format!("roomwarden-results-{batch}")
    };
    let csv_path = dir.join(format!("{stem}.csv"));
    let jsonl_path = dir.join(format!("{stem}.jsonl"));
    let mut w = csv::Writer::from_path(&csv_path)?;
    w.write_record(["room", "user", "action", "status", "reason"])?;
    for o in outcomes {
        w.write_record([
            o.room.as_str(),
            o.user.as_str(),
            o.action.as_str(),
            o.status.as_str(),
            o.reason.as_deref().unwrap_or(""),
        ])?;
    }
    w.flush()?;
    let mut j = std::io::BufWriter::new(std::fs::File::create(&jsonl_path)?);
    for o in outcomes {
        serde_json::to_writer(&mut j, o)?;
        j.write_all(b"\n")?;
    }
    j.flush()?;
    Ok((csv_path, jsonl_path))
}

/// Standard base64 (for OSC 52).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn export_message_names_both_files_briefly() {
        let m = super::export_message(
            3,
            Path::new("/tmp/roomwarden-results-b1.csv"),
            Path::new("/tmp/roomwarden-results-b1.jsonl"),
        );
        assert_eq!(
            m,
            "exported 3 rows to /tmp/roomwarden-results-b1.csv (+ .jsonl)"
        );
        let m = super::export_message(1, Path::new("/a/x.csv"), Path::new("/b/y.jsonl"));
        assert!(m.contains("/a/x.csv") && m.contains("/b/y.jsonl"), "{m}");
        assert!(m.starts_with("exported 1 row to"), "{m}");
    }

    #[test]
    fn base64_matches_the_rfc_examples() {
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
    }
}

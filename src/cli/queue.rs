//! `roomwarden queue push|work|status`: the shared ticket queue of team
//! mode (see [`crate::ops::queue`]).

use super::args::{Format, Global, QueueCommand};
use super::output::write_rows;
use super::{Failure, cannot, emit, exit_code};
use crate::ops::queue::{self, WorkOptions};
use crate::ops::store::AuditStore;
use crate::ops::store::pg::PgStore;
use crate::ops::{Cancel, tickets};
use crate::session::{Session, open_team};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

async fn team(s: &Session, global: &Global) -> Result<Arc<PgStore>, Failure> {
    open_team(&s.config, global).await?.ok_or_else(|| {
        Failure::usage(
            "the queue lives in the team database: set audit_url in the config, \
             ROOMWARDEN_AUDIT_URL or --audit-url postgres://user@host/db",
        )
    })
}

pub async fn run(
    global: &Global,
    command: QueueCommand,
    out: &mut dyn Write,
) -> Result<u8, Failure> {
    let s = Session::load(global)?;
    let lease = s
        .config
        .team
        .queue_lease_secs
        .map_or(queue::DEFAULT_LEASE, Duration::from_secs);
    match command {
        QueueCommand::Push {
            file,
            reason,
            ticket,
        } => {
            if s.profile.common.read_only || global.read_only {
                return Err(Failure::usage(format!(
                    "profile `{}` is read-only: its queue takes no rows",
                    s.profile.name
                )));
            }
            let mut requests = tickets::load(&file).map_err(|e| Failure::usage(e.to_string()))?;
            let reason: Option<std::sync::Arc<str>> = reason.as_deref().map(Into::into);
            let ticket: Option<std::sync::Arc<str>> = ticket.as_deref().map(Into::into);
            for r in &mut requests {
                if r.note.is_none() {
                    r.note = reason.clone();
                }
                if r.ticket.is_none() {
                    r.ticket = ticket.clone();
                }
            }
            let engine = s.engine(global, false).await?;
            engine.check_ids(&requests).map_err(Failure::usage)?;
            if let Some(why) = cannot(engine.capabilities(), &requests) {
                return Err(Failure::usage(format!(
                    "profile `{}` ({}): {why}; nothing was queued",
                    s.profile.name,
                    engine.provider_name()
                )));
            }
            let pg = team(&s, global).await?;
            let pushed =
                queue::push(&pg, &s.profile.name, &file.display().to_string(), &requests).await?;
            super::say(&format!(
                "queued {} row(s) of {} for profile `{}` (push {})",
                pushed.rows,
                file.display(),
                s.profile.name,
                pushed.push_id
            ));
            Ok(0)
        }
        QueueCommand::Status => {
            let pg = team(&s, global).await?;
            let rows = queue::status(&pg, lease).await?;
            emit(out, global.format, &rows)?;
            Ok(0)
        }
        QueueCommand::Work {
            follow,
            chunk,
            worker,
        } => {
            if s.profile.common.read_only || global.read_only {
                return Err(Failure::usage(format!(
                    "profile `{}` is read-only: it cannot work the queue",
                    s.profile.name
                )));
            }
            let pg = team(&s, global).await?;
            let engine =
                s.engine_with(&s.profile, global, Some(pg.clone() as Arc<dyn AuditStore>))?;
            let opts = WorkOptions {
                chunk: chunk.map_or(engine.capabilities().max_batch.max(1) * 10, |c| c as usize),
                lease,
                follow,
                worker,
                ..WorkOptions::default()
            };
            let cancel = Cancel::new();
            let ctrl_c = cancel.clone();
            let watcher = tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!(
                        "\nroomwarden: stopping after the calls in flight (ctrl-c again to abort)"
                    );
                    ctrl_c.cancel();
                    if tokio::signal::ctrl_c().await.is_ok() {
                        std::process::exit(130);
                    }
                }
            });
            let format = global.format;
            let mut shown = 0usize;
            let mut on_chunk = |rows: &[crate::model::Outcome]| {
                shown += rows.len();
                // JSON Lines stream out as chunks finish (also with --follow).
                if format == Format::Jsonl {
                    let _ = write_rows(&mut *out, format, rows);
                    let _ = out.flush();
                }
                tracing::info!("queue: {shown} row(s) done by this worker");
            };
            let result = queue::work(&engine, &pg, &opts, &cancel, &mut on_chunk).await;
            watcher.abort();
            let report = result.map_err(|e| match e {
                queue::WorkError::Store(e) => Failure::from(e),
                queue::WorkError::Provider(e) => Failure::provider(&e),
            })?;
            if format != Format::Jsonl {
                emit(out, format, &report.outcomes)?;
            }
            Ok(exit_code(&report.outcomes))
        }
    }
}

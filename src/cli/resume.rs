//! `roomwarden resume [BATCH]`: after a crash, asks the provider about each
//! unfinished row of a batch, records what it shows done, and finishes the
//! rest under the batch's own id, ticket and reason, with the plan, guards
//! and confirmation of every change command. It reads and records
//! through the audit store: the file, or the team database (where it
//! resumes any operator's batch).

use super::{confirm, emit, exit_code, may_change, run_with_progress, warn_skipped};
use crate::config::Config;
use crate::model::Outcome;
use crate::ops::store;
use crate::session::{Failure, Global, Session, open_reader};
use std::io::{self, Write};

pub(super) async fn resume(
    global: &Global,
    batch: Option<String>,
    dry_run: bool,
    yes: bool,
    out: &mut dyn Write,
) -> Result<u8, Failure> {
    let config = Config::load(global.config.as_deref())?;
    let reader = open_reader(&config, global).await?;
    let place_of = reader.describe();
    let (found, skipped) = store::unfinished_batch(&*reader, batch.as_deref()).await?;
    warn_skipped(&skipped);
    let Some((batch, intents)) = found else {
        if let Some(b) = batch {
            return Err(Failure::usage(format!(
                "batch `{b}` has no unfinished rows in the {place_of}; `roomwarden audit --unfinished` lists the rows that have none"
            )));
        }
        super::say(&format!(
            "nothing to resume: every call in the {place_of} got its result"
        ));
        return Ok(0);
    };
    let name = intents[0].profile.clone();
    if let Some(chosen) = global.profile.as_deref().filter(|p| *p != name) {
        return Err(Failure::usage(format!(
            "batch `{batch}` was run with profile `{name}`, not `{chosen}`: resume it with its own profile (leave out --profile)"
        )));
    }
    let profile = config
        .profile(Some(&name))
        .map_err(|e| {
            Failure::usage(format!(
                "batch `{batch}` was run with profile `{name}`: {e}"
            ))
        })?
        .clone();
    if profile.provider != intents[0].provider {
        return Err(Failure::usage(format!(
            "batch `{batch}` was run on {} but profile `{name}` now uses {}; nothing was checked or sent",
            intents[0].provider, profile.provider
        )));
    }
    may_change(&profile, global, dry_run, yes)?;
    let session = Session { config, profile };
    // The store read above is the one written to (a dry run writes none).
    let engine = session.engine_with(
        &session.profile,
        global,
        if dry_run {
            None
        } else if reader.postgres().is_some() {
            Some(reader.clone())
        } else {
            Some(crate::session::open_store(&session.config, global).await?)
        },
    )?;
    super::say(&format!(
        "resuming batch {batch}: {} unfinished row(s); asking {} about each user",
        intents.len(),
        engine.provider_name()
    ));
    let pairs = intents
        .iter()
        .map(|r| (r.room.clone(), r.user.clone()))
        .collect();
    let history = reader.history(&pairs).await?;
    warn_skipped(&history.notes);
    let check = engine
        .check_unfinished(batch.clone(), intents, &history.records)
        .await
        .map_err(|e| Failure::provider(&e))?;
    let requests = check.remaining.iter().map(|(_, r)| r.clone()).collect();
    let plan = engine
        .plan(requests)
        .await
        .map_err(|e| Failure::provider(&e))?;
    super::say(&format!(
        "{} done already (recorded), {} to finish, {} could not be checked (left unfinished)",
        check
            .found
            .iter()
            .flatten()
            .count()
            .saturating_sub(check.unchecked.len()),
        check.remaining.len(),
        check.unchecked.len()
    ));
    for notice in &plan.notices {
        super::say(notice);
    }
    if !yes
        && !dry_run
        && plan.to_send() > 0
        && !confirm(
            &engine,
            &plan,
            &mut io::stdin().lock(),
            &mut io::stderr().lock(),
        )?
    {
        return Err(Failure::usage("cancelled; nothing was recorded or sent"));
    }
    if !dry_run {
        engine.record_found(&check).await.map_err(|e| Failure {
            code: if e.unavailable { 3 } else { 1 },
            message: format!("{e}; nothing was sent"),
        })?;
    }
    let mut rows = check.found.clone();
    if !plan.rows.is_empty() {
        let report =
            run_with_progress(&engine, &plan, dry_run, None, Some(batch), out, None).await?;
        place(&mut rows, &check.remaining, report.outcomes);
    }
    let rows: Vec<Outcome> = rows.into_iter().flatten().collect();
    emit(out, global.format, &rows)?;
    Ok(exit_code(&rows))
}

/// Puts the run's outcomes in the rows of the intents they finish.
fn place(
    rows: &mut [Option<Outcome>],
    remaining: &[(usize, crate::ops::plan::Request)],
    outcomes: Vec<Outcome>,
) {
    if outcomes.len() == remaining.len() {
        for ((i, _), o) in remaining.iter().zip(outcomes) {
            rows[*i] = Some(o);
        }
        return;
    }
    for o in outcomes {
        let at = remaining
            .iter()
            .find(|(i, r)| rows[*i].is_none() && r.user == o.user && r.action == o.action);
        if let Some((i, _)) = at {
            rows[*i] = Some(o);
        }
    }
}

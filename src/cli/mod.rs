//! The headless face: the commands of docs/CLI.md over the ops engine.

pub mod args;
mod check;
mod output;
mod paths;
mod queue;
mod resume;
mod shell;
mod stream;

use crate::config::Config;
use crate::model::{Action, Outcome, Role, Status};
use crate::ops::audit;
use crate::ops::plan::{Plan, Request, human_duration};
use crate::ops::store::Query;
use crate::ops::{Cancel, Engine, RunEvent, RunOptions, tickets};
use crate::session::{Session, open_reader};
use crate::text;
use args::{AuditArgs, Change, ChangeOpts, Command, Format, Global, RoleArg};
use output::{MemberRow, ProfileRow, RoomRow, write_rows};
use std::io::{self, BufRead, IsTerminal, Write};

pub use crate::session::Failure;
pub use args::Cli;

/// Runs one headless command; returns the exit code.
pub async fn run(cli: Cli) -> Result<u8, Failure> {
    let global = cli.global;
    let Some(command) = cli.command else {
        return Err(Failure::usage("no command given"));
    };
    let rows = !matches!(command, Command::Completions { .. } | Command::Man);
    let mut out = output::Tracked::new(io::BufWriter::new(io::stdout().lock()));
    let result = dispatch(&global, command, &mut out).await;
    if rows && global.format == Format::Json && !out.wrote() {
        // With json, stdout is one array document whatever happened.
        let _ = out.write_all(b"[]\n");
    }
    let flushed = flush(&mut out);
    let code = result?;
    flushed?;
    Ok(code)
}

async fn dispatch(global: &Global, command: Command, out: &mut dyn Write) -> Result<u8, Failure> {
    if !matches!(
        command,
        Command::Completions { .. } | Command::Man | Command::Paths
    ) {
        // `[keys]` is checked by every command, not only by the console.
        let config = Config::load(global.config.as_deref())?;
        crate::tui::check_keys(&config.keys).map_err(Failure::usage)?;
    }
    Ok(match command {
        Command::Profiles { check: false } => profiles(global, out)?,
        Command::Profiles { check: true } => check::check(global, out).await?,
        Command::Audit(a) => audit_cmd(global, a, out).await?,
        Command::Queue(q) => queue::run(global, q, out).await?,
        Command::Resume {
            batch,
            dry_run,
            yes,
        } => resume::resume(global, batch, dry_run, yes, out).await?,
        Command::Rooms => {
            let s = Session::load(global)?;
            let engine = s.engine(global, false).await?;
            let rooms = engine.all_rooms().await.map_err(|e| Failure::lookup(&e))?;
            let rows: Vec<RoomRow> = rooms.iter().map(RoomRow::new).collect();
            emit(out, global.format, &rows)?;
            if engine.capabilities().rooms == crate::provider::RoomListing::Configured {
                say(&format!(
                    "note: {} cannot list rooms; these are the profile's configured rooms and rooms seen. \
                     Any room id works in members, remove, demote and readd.",
                    engine.provider_name()
                ));
            }
            0
        }
        Command::Members { room, role } => members(global, room, role, out).await?,
        Command::Remove(c) => change(global, Action::Remove, c, out).await?,
        Command::Demote(c) => change(global, Action::Demote, c, out).await?,
        Command::Readd(c) => change(global, Action::Readd, c, out).await?,
        Command::Apply { file, opts } => {
            let mut requests = tickets::load(&file).map_err(|e| Failure::usage(e.to_string()))?;
            // One string for every row that takes it.
            let reason: Option<std::sync::Arc<str>> = opts.reason.as_deref().map(Into::into);
            let ticket: Option<std::sync::Arc<str>> = opts.ticket.as_deref().map(Into::into);
            for r in &mut requests {
                if r.note.is_none() {
                    r.note = reason.clone();
                }
                if r.ticket.is_none() {
                    r.ticket = ticket.clone();
                }
            }
            execute(global, requests, &opts, out).await?
        }
        Command::Paths => paths::paths(global, out)?,
        Command::Completions { shell } => shell::completions(shell, out)?,
        Command::Man => shell::man(out)?,
    })
}

/// A message on stderr, its untrusted parts (ids, paths, provider text)
/// with control characters escaped.
fn say(message: &str) {
    eprintln!("roomwarden: {}", text::escape(message));
}

fn flush(out: &mut dyn Write) -> Result<(), Failure> {
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Failure {
            code: 1,
            message: format!("stdout: {e}"),
        }),
        _ => Ok(()),
    }
}

pub(super) fn emit<R: output::Row>(
    out: &mut dyn Write,
    format: Format,
    rows: &[R],
) -> Result<(), Failure> {
    write_rows(out, format, rows).or_else(stdout_error)
}

fn profiles(global: &Global, out: &mut dyn Write) -> Result<u8, Failure> {
    let config = Config::load(global.config.as_deref())?;
    let default = config
        .profile(global.profile.as_deref())
        .ok()
        .map(|p| p.name.clone());
    let rows: Vec<ProfileRow> = config
        .profiles
        .values()
        .map(|p| ProfileRow {
            name: &p.name,
            provider: p.provider,
            base_url: p.common.base_url.as_deref().map(crate::config::shown_url),
            default: default.as_deref() == Some(p.name.as_str()),
            read_only: p.common.read_only,
        })
        .collect();
    emit(out, global.format, &rows)?;
    Ok(0)
}

/// Prints each unreadable line skipped in the audit log (or another
/// note of the audit store), as a warning.
pub(super) fn warn_skipped(skipped: &[impl std::fmt::Display]) {
    const SHOWN: usize = 10;
    for s in skipped.iter().take(SHOWN) {
        say(&format!("warning: {s}"));
    }
    if skipped.len() > SHOWN {
        say(&format!(
            "warning: {} more unreadable line(s) in the audit log skipped",
            skipped.len() - SHOWN
        ));
    }
}

async fn audit_cmd(global: &Global, a: AuditArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let config = Config::load(global.config.as_deref())?;
    let query = Query {
        last: a.last,
        unfinished: a.unfinished,
        operator: a.operator,
        ticket: a.ticket,
        batch: a.batch,
    };
    // Reading needs no write access and creates nothing; in team mode it
    // reads every operator's records from the database.
    let store = open_reader(&config, global).await?;
    if let (Some(path), false, None) = (store.file(), query.unfinished, query.last) {
        // Everything: streamed, never loaded.
        let mut records = audit::records(path).map_err(|e| {
            Failure::usage(format!("audit log {} cannot be read: {e}", path.display()))
        })?;
        let wanted = records.by_ref().filter(|r| match r {
            Ok(r) => query.matches(r),
            Err(_) => true,
        });
        let written = match output::stream_rows(out, global.format, wanted) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        };
        warn_skipped(records.skipped());
        written.map_err(|e| Failure {
            code: 1,
            message: format!("audit log {}: {e}", path.display()),
        })?;
        return Ok(0);
    }
    let found = store.find(&query).await?;
    warn_skipped(&found.notes);
    let rows = found.records;
    if query.unfinished && !rows.is_empty() {
        say(&format!(
            "{} call(s) were announced but never answered; check these users in the provider before re-running, \
             or let `roomwarden resume` do it",
            rows.len()
        ));
    }
    emit(out, global.format, &rows)?;
    Ok(0)
}

async fn members(
    global: &Global,
    room: String,
    role: Option<RoleArg>,
    out: &mut dyn Write,
) -> Result<u8, Failure> {
    let s = Session::load(global)?;
    let engine = s.engine(global, false).await?;
    let room = crate::model::RoomId::from(room);
    let want = role.map(|r| match r {
        RoleArg::Owner => Role::Owner,
        RoleArg::Admin => Role::Admin,
        RoleArg::Member => Role::Member,
    });
    let mut members = Vec::new();
    let mut total = None;
    let listing = engine
        .stream_members(&room, |page| {
            total = page.total.or(total);
            members.extend(
                page.items
                    .into_iter()
                    .filter(|m| want.is_none_or(|w| m.role == w)),
            );
            true
        })
        .await
        .map_err(|e| Failure::lookup(&e))?;
    let rows: Vec<MemberRow> = members.iter().map(|m| MemberRow::new(&room, m)).collect();
    emit(out, global.format, &rows)?;
    if engine.member_listing().is_full()
        && let Some(note) = listing.note(engine.provider_name())
    {
        say(&format!("note: {note}"));
    }
    if !engine.member_listing().is_full() {
        say(&format!(
            "note: partial list: {} cannot list every member; {} known{}. \
             Changes work on any user id: remove, demote and readd look each one up first.",
            engine.provider_name(),
            rows.len(),
            total.map_or(String::new(), |t| format!(" of ~{t}"))
        ));
    }
    Ok(0)
}

/// Reads user ids: arguments, with `-` standing for standard input.
fn read_users(args: Vec<String>) -> Result<Vec<String>, Failure> {
    let mut users = Vec::new();
    for a in args {
        if a == "-" {
            for line in io::stdin().lock().lines() {
                let line =
                    line.map_err(|e| Failure::usage(format!("reading user ids from stdin: {e}")))?;
                let id = line.trim();
                if !id.is_empty() && !id.starts_with('#') {
                    users.push(id.to_string());
                }
            }
        } else {
            users.push(a);
        }
    }
    if users.is_empty() {
        return Err(Failure::usage(
            "no user ids given (standard input was empty)",
        ));
    }
    Ok(users)
}

async fn change(
    global: &Global,
    action: Action,
    c: Change,
    out: &mut dyn Write,
) -> Result<u8, Failure> {
    let stdin_used = c.users.iter().any(|u| u == "-");
    let users = read_users(c.users)?;
    let requests = users
        .into_iter()
        .map(|u| Request {
            note: c.opts.reason.as_deref().map(Into::into),
            ticket: c.opts.ticket.as_deref().map(Into::into),
            ..Request::new(c.room.as_str(), u, action)
        })
        .collect();
    if stdin_used && !c.opts.yes && !c.opts.dry_run {
        return Err(Failure::usage(
            "user ids were read from standard input, so it cannot confirm: pass --yes (or --dry-run first)",
        ));
    }
    execute(global, requests, &c.opts, out).await
}

/// The rules every change command follows before anything is looked up:
/// a read-only profile refuses (but for a dry run), and without `--yes`
/// standard input must be a terminal to ask on.
pub(super) fn may_change(
    profile: &crate::config::Profile,
    global: &Global,
    dry_run: bool,
    yes: bool,
) -> Result<(), Failure> {
    let read_only = profile.common.read_only || global.read_only;
    if read_only && !dry_run {
        return Err(Failure::usage(format!(
            "profile `{}` is read-only ({}): change commands are refused; use --dry-run to preview",
            profile.name,
            if global.read_only {
                "--read-only"
            } else {
                "read_only = true"
            }
        )));
    }
    if !yes && !dry_run && !io::stdin().is_terminal() {
        return Err(Failure::usage(
            "refusing to change anything without --yes: standard input is not a terminal, so roomwarden cannot ask",
        ));
    }
    Ok(())
}

async fn execute(
    global: &Global,
    mut requests: Vec<Request>,
    opts: &ChangeOpts,
    out: &mut dyn Write,
) -> Result<u8, Failure> {
    let s = Session::load(global)?;
    may_change(&s.profile, global, opts.dry_run, opts.yes)?;
    let engine = s.engine(global, !opts.dry_run).await?;
    engine.check_ids(&requests).map_err(Failure::usage)?;
    if let Some(why) = cannot(engine.capabilities(), &requests) {
        return Err(Failure::usage(format!(
            "profile `{}` ({}): {why}; nothing was sent",
            s.profile.name,
            engine.provider_name()
        )));
    }
    let (unrecorded, skipped) = if requests
        .iter()
        .any(|r| r.action == Action::Readd && r.role.is_none())
    {
        // The engine's store, or (a dry run) the same store read only.
        let reader = match engine.audit_store() {
            Some(store) => store.clone(),
            None => open_reader(&s.config, global).await?,
        };
        engine
            .fill_readd_roles_from(&*reader, &mut requests)
            .await
            .map_err(|e| {
                let mut f = Failure::from(e);
                f.message = format!("reading the audit store for re-add roles: {}", f.message);
                f
            })?
    } else {
        (Vec::new(), Vec::new())
    };
    warn_skipped(&skipped);
    let mut plan = engine
        .plan(requests)
        .await
        .map_err(|e| Failure::provider(&e))?;
    if !opts.force {
        plan.refuse_readds(
            &unrecorded,
            "no audit record of roomwarden removing or demoting this user here; --force re-adds anyway",
        );
    }
    if !plan.unread.is_empty() {
        // A lookup the plan needs failed: an error, never a guard.
        return Err(Failure {
            code: 3,
            message: format!(
                "could not read {}; nothing was sent. Run the command again to retry",
                plan.unread.join("; ")
            ),
        });
    }
    if let Some(me) = &plan.own_account {
        say(&format!(
            "WARNING: your own account {me} (self_user) is among the users; it is kept out of this run"
        ));
    }
    for notice in &plan.notices {
        say(notice);
    }
    let asked = !opts.yes && !opts.dry_run && plan.to_send() > 0;
    if asked
        && !confirm(
            &engine,
            &plan,
            &mut io::stdin().lock(),
            &mut io::stderr().lock(),
        )?
    {
        return Err(Failure::usage("cancelled; nothing was sent"));
    }
    // The run sends to no more users than the prompt named.
    let confirmed = asked.then(|| plan.to_send());
    let streamed = stream::RowStream::new(global.format);
    let streaming = streamed.is_some();
    let report =
        run_with_progress(&engine, &plan, opts.dry_run, confirmed, None, out, streamed).await?;
    if let Some(e) = &report.local_error
        && report.progress.calls == 0
    {
        // Stopped by a problem on this machine (or the team database)
        // before anything was sent.
        return Err(stopped_unsent(&engine, e));
    }
    if !streaming {
        emit(out, global.format, &report.outcomes)?;
    }
    eprintln!(
        "roomwarden: {}done: {}",
        if opts.dry_run { "dry run " } else { "" },
        summary(&report.outcomes)
    );
    Ok(exit_code(&report.outcomes))
}

/// A run stopped before anything was sent because the audit store failed:
/// the file is a usage error (exit 2, write it elsewhere), the team
/// database one that cannot be reached (exit 3, as when it is down at
/// the start).
pub(super) fn stopped_unsent(engine: &Engine, e: &str) -> Failure {
    if engine.audit_store().is_some_and(|s| s.postgres().is_some()) {
        Failure {
            code: 3,
            message: format!("{e}; nothing was sent"),
        }
    } else {
        Failure::usage(format!(
            "{e}; nothing was sent (pass --audit-log FILE somewhere writable)"
        ))
    }
}

/// Why none of the requests can be done, when they all ask for an action
/// the provider cannot do at all (a demote or re-add on a provider without
/// one); a mixed ticket file goes on, its rows skipped with the reason.
pub(crate) fn cannot(caps: &crate::provider::Capabilities, requests: &[Request]) -> Option<String> {
    let all = |a: Action| !requests.is_empty() && requests.iter().all(|r| r.action == a);
    if all(Action::Demote) && !caps.demotes() {
        return Some("this provider cannot demote users".into());
    }
    if all(Action::Readd) && !caps.can_readd {
        return Some(
            "this provider cannot re-add users (undo is not available); they have to rejoin on the provider's side"
                .into(),
        );
    }
    None
}

use crate::text::thousands;

/// "1 user", "1,200 users".
fn users(n: usize) -> String {
    if n == 1 {
        "1 user".into()
    } else {
        format!("{} users", thousands(n))
    }
}

/// What the rows came to, every status counted ("3 removed, 1 failed").
pub fn summary(outcomes: &[Outcome]) -> String {
    let parts: Vec<String> = STATUSES
        .iter()
        .filter_map(|st| {
            let n = outcomes.iter().filter(|o| o.status == *st).count();
            (n > 0).then(|| format!("{} {st}", thousands(n)))
        })
        .collect();
    if parts.is_empty() {
        "no rows".into()
    } else {
        parts.join(", ")
    }
}

/// 0 when every row ended well, 1 when one failed or was skipped.
pub fn exit_code(outcomes: &[Outcome]) -> u8 {
    if outcomes.iter().all(|o| o.status.is_ok()) {
        0
    } else {
        1
    }
}

/// Asks on `prompt` and reads the answer from `input`; only a yes goes on.
pub(super) fn confirm(
    engine: &Engine,
    plan: &Plan,
    input: &mut dyn BufRead,
    prompt: &mut dyn Write,
) -> Result<bool, Failure> {
    let caps = engine.capabilities();
    let mut by_action = std::collections::BTreeMap::new();
    for r in plan
        .rows
        .iter()
        .filter(|r| r.verdict == crate::ops::plan::Verdict::Send)
    {
        *by_action.entry(r.action.as_str()).or_insert(0usize) += 1;
    }
    let what: Vec<String> = by_action
        .iter()
        .map(|(a, n)| format!("{a} {}", users(*n)))
        .collect();
    let rooms: std::collections::BTreeSet<&str> = plan
        .rows
        .iter()
        .filter(|r| r.verdict == crate::ops::plan::Verdict::Send)
        .map(|r| r.room.as_str())
        .collect();
    let room = match rooms.len() {
        1 => format!("in room {}", rooms.iter().next().copied().unwrap_or("")),
        n => format!("in {} rooms", thousands(n)),
    };
    let question = format!(
        "About to {} {room} with profile `{}` ({} at {}), about {}. Continue? [y/N] ",
        what.join(", "),
        engine.profile(),
        engine.provider_name(),
        engine.host(),
        human_duration(plan.eta(caps)),
    );
    let _ = write!(prompt, "{}", text::escape(&question));
    let _ = prompt.flush();
    let mut answer = String::new();
    input
        .read_line(&mut answer)
        .map_err(|e| Failure::usage(format!("reading the confirmation: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
}

/// What the progress printer passes on to the row writer.
enum Fwd {
    Row(usize, Outcome),
    /// The first call was answered.
    Sent,
}

/// Runs the plan, showing progress on stderr; with `rows`, writes each
/// row to `out` as it finishes (held back until the first call is
/// answered, so a run stopped by a local problem before sending prints
/// none).
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_with_progress(
    engine: &Engine,
    plan: &Plan,
    dry_run: bool,
    confirmed: Option<usize>,
    batch: Option<String>,
    out: &mut dyn Write,
    rows: Option<stream::RowStream>,
) -> Result<crate::ops::Report, Failure> {
    let opts = RunOptions {
        dry_run,
        confirmed,
        batch,
        ..RunOptions::default()
    };
    let cancel = Cancel::new();
    let show = io::stderr().is_terminal() && !dry_run;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (fwd, mut fwd_rx) = tokio::sync::mpsc::unbounded_channel::<Fwd>();
    let printer = tokio::spawn(async move {
        let mut told: Option<std::time::Duration> = None;
        let mut sent = false;
        while let Some(ev) = rx.recv().await {
            match &ev {
                RunEvent::Row { index, outcome } => {
                    let _ = fwd.send(Fwd::Row(*index, outcome.clone()));
                }
                RunEvent::Progress(p) if p.calls > 0 && !sent => {
                    sent = true;
                    let _ = fwd.send(Fwd::Sent);
                }
                RunEvent::Progress(_) => {}
            }
            // A long wait the provider asked for is said once, terminal or not.
            if let RunEvent::Progress(p) = &ev
                && p.waiting.is_some()
                && p.waiting != told
            {
                told = p.waiting;
                let w = p.waiting.unwrap_or_default();
                eprintln!(
                    "{}roomwarden: the provider asked to wait {:.0}s before the next call; waiting",
                    if show { "\r\x1b[2K" } else { "" },
                    w.as_secs_f64().ceil()
                );
            }
            if let (true, RunEvent::Progress(p)) = (show, ev) {
                eprint!(
                    "\r\x1b[2K{}/{} done, {} in flight, {:.1} calls/s, {} retries",
                    thousands(p.done),
                    thousands(p.total),
                    p.in_flight,
                    p.calls_per_sec,
                    thousands(usize::try_from(p.retries).unwrap_or(usize::MAX))
                );
            }
        }
        if show {
            eprintln!();
        }
    });
    let ctrl_c = cancel.clone();
    let (abort, mut abort_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nroomwarden: cancelling after the calls in flight (ctrl-c again to abort)");
            ctrl_c.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = abort.send(());
            }
        }
    });
    let run = engine.run(plan, &opts, &cancel, Some(tx));
    tokio::pin!(run);
    let mut printed = Printed {
        held: Default::default(),
        next: 0,
        flowing: false,
        rows,
    };
    let report = loop {
        tokio::select! {
            report = &mut run => break report,
            Some(f) = fwd_rx.recv() => printed.take(f, out)?,
            Some(()) = abort_rx.recv() => {
                // Aborted: the rows finished so far stay printed (a json
                // array closed after them), the calls in flight are left.
                while let Ok(f) = fwd_rx.try_recv() {
                    let _ = printed.take(f, out);
                }
                let _ = printed.finish(out);
                std::process::exit(130);
            }
        }
    };
    watcher.abort();
    let _ = printer.await;
    while let Ok(f) = fwd_rx.try_recv() {
        printed.take(f, out)?;
    }
    let stopped_early = report.local_error.is_some() && report.progress.calls == 0;
    if !stopped_early {
        // Every row, in case one ended without an event.
        for (i, o) in report.outcomes.iter().enumerate() {
            printed.take(Fwd::Row(i, o.clone()), out)?;
        }
        printed.take(Fwd::Sent, out)?;
        printed.finish(out)?;
    }
    Ok(report)
}

/// The rows of a run as they reach stdout: in plan order, each as soon as
/// every row before it has, none before the first call was answered.
struct Printed {
    held: std::collections::BTreeMap<usize, Outcome>,
    next: usize,
    flowing: bool,
    rows: Option<stream::RowStream>,
}

impl Printed {
    fn take(&mut self, f: Fwd, out: &mut dyn Write) -> Result<(), Failure> {
        match f {
            Fwd::Row(i, o) => {
                self.held.insert(i, o);
            }
            Fwd::Sent => self.flowing = true,
        }
        while self.flowing
            && let Some(o) = self.held.remove(&self.next)
        {
            self.next += 1;
            if let Some(r) = self.rows.as_mut() {
                r.row(out, &o).or_else(stdout_error)?;
            }
        }
        Ok(())
    }

    /// Ends the rows (closes a json array).
    fn finish(&mut self, out: &mut dyn Write) -> Result<(), Failure> {
        match self.rows.as_mut() {
            Some(r) => r.finish(out).or_else(stdout_error),
            None => Ok(()),
        }
    }
}

/// A broken pipe ends the output quietly; any other write error fails.
fn stdout_error(e: io::Error) -> Result<(), Failure> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: format!("stdout: {e}"),
        })
    }
}

/// The status words of CLI.md in one place, for tests and docs.
pub const STATUSES: [Status; 7] = [
    Status::Removed,
    Status::Demoted,
    Status::Readded,
    Status::AlreadyAbsent,
    Status::Failed,
    Status::Skipped,
    Status::DryRun,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    #[test]
    fn the_summary_counts_every_status_with_separators() {
        let o = |status| Outcome {
            room: "r".into(),
            user: "u".into(),
            action: Action::Remove,
            status,
            reason: None,
            role: None,
        };
        let mut rows = vec![o(Status::Failed), o(Status::Skipped)];
        rows.extend((0..1200).map(|_| o(Status::Removed)));
        assert_eq!(summary(&rows), "1,200 removed, 1 failed, 1 skipped");
    }

    #[tokio::test]
    async fn the_prompt_says_what_and_only_yes_goes_on() {
        let profile = Profile::builtin_sandbox();
        let engine = Engine::new(crate::provider::build(&profile).unwrap(), &profile, None);
        let plan = engine
            .plan(vec![
                Request::new("10000000000000003", "71000000000122502", Action::Remove),
                Request::new("10000000000000003", "71000000000122503", Action::Remove),
                Request::new("10000000000000003", "71000000000122501", Action::Remove),
            ])
            .await
            .unwrap();
        let ask = |answer: &str| {
            let mut prompt = Vec::new();
            let yes = confirm(&engine, &plan, &mut answer.as_bytes(), &mut prompt).unwrap();
            (yes, String::from_utf8(prompt).unwrap())
        };
        let (yes, prompt) = ask("y\n");
        assert!(yes);
        assert!(
            prompt.starts_with(
                "About to remove 2 users in room 10000000000000003 with profile `sandbox` (sandbox at "
            )
                && prompt.ends_with("Continue? [y/N] "),
            "{prompt}"
        );
        assert!(ask("yes\n").0);
        for no in ["\n", "n\n", "no\n", "", "maybe\n"] {
            assert!(!ask(no).0, "{no:?} is not a yes");
        }
    }
}

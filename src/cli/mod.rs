//! The headless face: the commands of docs/CLI.md over the ops engine.

pub mod args;
mod output;
mod queue;

use crate::config::Config;
use crate::model::{Action, Outcome, Role, Status};
use crate::ops::audit;
use crate::ops::plan::{Plan, Request, human_duration};
use crate::ops::store::AuditStore;
use crate::ops::store::Query;
use crate::ops::{Cancel, Engine, RunEvent, RunOptions, tickets};
use crate::session::{Session, audit_path, open_team};
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
    let mut out = io::BufWriter::new(io::stdout().lock());
    let code = match command {
        Command::Profiles => profiles(&global, &mut out)?,
        Command::Audit(a) => audit_cmd(&global, a, &mut out).await?,
        Command::Queue(q) => queue::run(&global, q, &mut out).await?,
        Command::Rooms => {
            let s = Session::load(&global)?;
            let engine = s.engine(&global, false).await?;
            let rooms = engine
                .all_rooms()
                .await
                .map_err(|e| Failure::provider(&e))?;
            let rows: Vec<RoomRow> = rooms.iter().map(RoomRow::new).collect();
            emit(&mut out, global.format, &rows)?;
            if engine.capabilities().rooms == crate::provider::RoomListing::Configured {
                eprintln!(
                    "roomwarden: note: {} cannot list rooms; these are the profile's configured rooms and rooms seen. \
                     Any room id works in members, remove, demote and readd.",
                    engine.provider_name()
                );
            }
            0
        }
        Command::Members { room, role } => members(&global, room, role, &mut out).await?,
        Command::Remove(c) => change(&global, Action::Remove, c, &mut out).await?,
        Command::Demote(c) => change(&global, Action::Demote, c, &mut out).await?,
        Command::Readd(c) => change(&global, Action::Readd, c, &mut out).await?,
        Command::Apply { file, opts } => {
            let mut requests = tickets::load(&file).map_err(|e| Failure::usage(e.to_string()))?;
            for r in &mut requests {
                if r.note.is_none() {
                    r.note = opts.reason.clone();
                }
                if r.ticket.is_none() {
                    r.ticket = opts.ticket.clone();
                }
            }
            execute(&global, requests, &opts, &mut out).await?
        }
    };
    flush(&mut out)?;
    Ok(code)
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

pub(crate) fn emit<R: output::Row>(
    out: &mut dyn Write,
    format: Format,
    rows: &[R],
) -> Result<(), Failure> {
    match write_rows(out, format, rows) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Failure {
            code: 1,
            message: format!("stdout: {e}"),
        }),
        _ => Ok(()),
    }
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
            base_url: p.common.base_url.as_deref(),
            default: default.as_deref() == Some(p.name.as_str()),
            read_only: p.common.read_only,
        })
        .collect();
    emit(out, global.format, &rows)?;
    Ok(0)
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
    let found = match open_team(&config, global).await? {
        Some(pg) => pg.find(&query).await?,
        // Reading the file needs no write access, and creates nothing.
        None => {
            let path = audit_path(global)?;
            let (records, torn) = audit::read(&path).map_err(|e| {
                Failure::usage(format!("audit log {} cannot be read: {e}", path.display()))
            })?;
            let mut found = crate::ops::store::Found {
                records: crate::ops::store::select(records, &query),
                notes: Vec::new(),
            };
            if torn > 0 {
                found.notes.push(format!(
                    "{torn} unreadable line(s) in {} skipped (a write cut short?)",
                    path.display()
                ));
            }
            found
        }
    };
    for note in &found.notes {
        eprintln!("roomwarden: {note}");
    }
    let rows = found.records;
    if a.unfinished && !rows.is_empty() {
        eprintln!(
            "roomwarden: {} call(s) were announced but never answered; check these users in the provider before re-running",
            rows.len()
        );
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
    engine
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
        .map_err(|e| Failure::provider(&e))?;
    let rows: Vec<MemberRow> = members.iter().map(|m| MemberRow::new(&room, m)).collect();
    emit(out, global.format, &rows)?;
    if !engine.member_listing().is_full() {
        eprintln!(
            "roomwarden: note: partial list: {} cannot list every member; {} known{}. \
             Changes work on any user id: remove, demote and readd look each one up first.",
            engine.provider_name(),
            rows.len(),
            total.map_or(String::new(), |t| format!(" of ~{t}"))
        );
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
            note: c.opts.reason.clone(),
            ticket: c.opts.ticket.clone(),
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

async fn execute(
    global: &Global,
    mut requests: Vec<Request>,
    opts: &ChangeOpts,
    out: &mut dyn Write,
) -> Result<u8, Failure> {
    let s = Session::load(global)?;
    let read_only = s.profile.common.read_only || global.read_only;
    if read_only && !opts.dry_run {
        return Err(Failure::usage(format!(
            "profile `{}` is read-only ({}): change commands are refused; use --dry-run to preview",
            s.profile.name,
            if global.read_only {
                "--read-only"
            } else {
                "read_only = true"
            }
        )));
    }
    if !opts.yes && !opts.dry_run && !io::stdin().is_terminal() {
        return Err(Failure::usage(
            "refusing to change anything without --yes: standard input is not a terminal, so roomwarden cannot ask",
        ));
    }
    let engine = s.engine(global, !opts.dry_run).await?;
    engine.check_ids(&requests).map_err(Failure::usage)?;
    if let Some(why) = cannot(engine.capabilities(), &requests) {
        return Err(Failure::usage(format!(
            "profile `{}` ({}): {why}; nothing was sent",
            s.profile.name,
            engine.provider_name()
        )));
    }
    engine.fill_readd_roles(&mut requests).await.map_err(|e| {
        let mut f = Failure::from(e);
        f.message = format!("reading the audit store for re-add roles: {}", f.message);
        f
    })?;
    let plan = engine
        .plan(requests)
        .await
        .map_err(|e| Failure::provider(&e))?;
    for notice in &plan.notices {
        eprintln!("roomwarden: {notice}");
    }
    if !opts.yes
        && !opts.dry_run
        && plan.to_send() > 0
        && !confirm(
            &engine,
            &plan,
            &mut io::stdin().lock(),
            &mut io::stderr().lock(),
        )?
    {
        return Err(Failure::usage("cancelled; nothing was sent"));
    }
    let report = run_with_progress(&engine, &plan, opts.dry_run).await;
    emit(out, global.format, &report.outcomes)?;
    Ok(exit_code(&report.outcomes))
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

/// 0 when every row ended well, 1 when one failed or was skipped.
pub fn exit_code(outcomes: &[Outcome]) -> u8 {
    if outcomes.iter().all(|o| o.status.is_ok()) {
        0
    } else {
        1
    }
}

/// Asks on `prompt` and reads the answer from `input`; only a yes goes on.
fn confirm(
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
        .map(|(a, n)| format!("{a} {n} user(s)"))
        .collect();
    let _ = write!(
        prompt,
        "About to {} with profile `{}` ({} at {}), about {}. Continue? [y/N] ",
        what.join(", "),
        engine.profile(),
        engine.provider_name(),
        engine.host(),
        human_duration(plan.eta(caps)),
    );
    let _ = prompt.flush();
    let mut answer = String::new();
    input
        .read_line(&mut answer)
        .map_err(|e| Failure::usage(format!("reading the confirmation: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
}

async fn run_with_progress(engine: &Engine, plan: &Plan, dry_run: bool) -> crate::ops::Report {
    let opts = RunOptions {
        dry_run,
        ..RunOptions::default()
    };
    let cancel = Cancel::new();
    let show = io::stderr().is_terminal() && !dry_run;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        let mut told: Option<std::time::Duration> = None;
        while let Some(ev) = rx.recv().await {
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
                    p.done, p.total, p.in_flight, p.calls_per_sec, p.retries
                );
            }
        }
        if show {
            eprintln!();
        }
    });
    let ctrl_c = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nroomwarden: cancelling after the calls in flight (ctrl-c again to abort)");
            ctrl_c.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    let report = engine.run(plan, &opts, &cancel, Some(tx)).await;
    watcher.abort();
    let _ = printer.await;
    report
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
            prompt.starts_with("About to remove 2 user(s) with profile `sandbox` (sandbox at ")
                && prompt.ends_with("Continue? [y/N] "),
            "{prompt}"
        );
        assert!(ask("yes\n").0);
        for no in ["\n", "n\n", "no\n", "", "maybe\n"] {
            assert!(!ask(no).0, "{no:?} is not a yes");
        }
    }
}

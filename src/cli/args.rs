//! The command line of docs/CLI.md, as clap types.

pub use crate::session::{Format, Global};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "roomwarden",
    version = super::shell::VERSION,
    about = "Chat-room moderation console: browse rooms and members, remove or demote many users at once, audit everything.",
    after_help = "With no command, opens the console. With no config file, uses the built-in sandbox profile.\n\
                  Exit codes: 0 all rows ok, 1 a row failed or was skipped, 2 usage or config error, 3 provider unusable."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleArg {
    Owner,
    Admin,
    Member,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List profiles: name, provider, base URL (never a secret)
    Profiles {
        /// Check each profile's (or only --profile's) credentials and reachability with one read-only call
        #[arg(long)]
        check: bool,
    },
    /// List rooms (all pages)
    Rooms,
    /// List members of ROOM (all pages) with roles
    Members {
        room: String,
        /// Only members with this role
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
    },
    /// Remove users from ROOM
    Remove(Change),
    /// Demote owners/admins of ROOM one step
    Demote(Change),
    /// Put removed users back (undo), with their old role where known; also undoes a demote
    Readd(Change),
    /// Run a ticket file (CSV or JSON Lines: room,user,action[,reason][,ticket])
    Apply {
        file: PathBuf,
        #[command(flatten)]
        opts: ChangeOpts,
    },
    /// After a crash: check a batch's unfinished rows with the provider, record what it shows, finish the rest
    Resume {
        /// The batch id (as `audit --unfinished` shows it); default: the latest batch with unfinished rows
        batch: Option<String>,
        /// Check and plan, and show the rows, without recording or sending anything
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation (required when stdin is not a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Print audit records (every operator's, in team mode)
    Audit(AuditArgs),
    /// The shared ticket queue of team mode (needs audit_url)
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Print where the config file, audit log, console log and exports are
    Paths,
    /// Print a shell completion script (see the README for where it goes)
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff) to standard output
    Man,
}

#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// Enqueue a ticket file's rows (checked as `apply` checks them: a bad row refuses the file)
    Push {
        file: PathBuf,
        /// Why, for rows without a reason of their own
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Ticket reference, for rows without one
        #[arg(long, value_name = "REF")]
        ticket: Option<String>,
    },
    /// Claim and run queued rows of this profile until the queue is empty
    Work {
        /// Keep waiting for new rows instead of exiting when the queue is empty
        #[arg(long)]
        follow: bool,
        /// Rows per claim (default: ten provider batches)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
        chunk: Option<u32>,
        /// This worker's name (default: host, process id, random suffix)
        #[arg(long, value_name = "NAME")]
        worker: Option<String>,
    },
    /// Row counts by state, by ticket and by worker
    Status,
}

#[derive(Args, Debug, Clone, Default)]
pub struct AuditArgs {
    /// Only the last N records
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// Only intents that never got a result (after a crash)
    #[arg(long)]
    pub unfinished: bool,
    /// Only records of this operator (the `operator` name or the OS user)
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,
    /// Only records of this ticket
    #[arg(long, value_name = "REF")]
    pub ticket: Option<String>,
    /// Only records of this batch (one run)
    #[arg(long, value_name = "ID")]
    pub batch: Option<String>,
}

#[derive(Args, Debug)]
pub struct Change {
    pub room: String,
    /// User ids; `-` reads ids from standard input, one per line
    #[arg(required = true, value_name = "USER")]
    pub users: Vec<String>,
    #[command(flatten)]
    pub opts: ChangeOpts,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ChangeOpts {
    /// Plan and show the rows without sending anything
    #[arg(long)]
    pub dry_run: bool,
    /// Why, recorded in the audit log
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Ticket reference, recorded in the audit log
    #[arg(long, value_name = "REF")]
    pub ticket: Option<String>,
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// readd: also re-add users the audit log has no record of roomwarden
    /// removing or demoting (their old role is unknown: they come back as members)
    #[arg(long)]
    pub force: bool,
}

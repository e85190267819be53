//! What flows into `update` (actions) and out of it (effects).

use super::keymap::Key;
use super::state::Header;
use super::store::{MemberStore, Query};
use crate::model::{Member, MemberEvent, Room, RoomId, UserId};
use crate::ops::audit::Record;
use crate::ops::plan::{Plan, Request};
use crate::ops::{Report, RunEvent};
use std::collections::HashSet;

/// Everything that can change the state: key presses, and the answers of
/// effects coming back from their tasks.
#[derive(Debug)]
pub enum Action {
    /// A key press (releases never get here).
    Key(Key),
    /// Mouse wheel (only with `--mouse`): positive scrolls down.
    Scroll(i32),
    Resize(u16, u16),
    /// A second went by (plain messages expire).
    Tick,
    RoomsLoaded(Result<Vec<Room>, String>),
    /// One page of the room being loaded (`seq` names the load).
    MembersPage {
        seq: u64,
        items: Vec<Member>,
        total: Option<u64>,
        done: bool,
    },
    MembersFailed {
        seq: u64,
        error: String,
    },
    /// How long one call to the provider took (the first page of a
    /// members load): the confirm popup's ETA counts it.
    RoundTrip(std::time::Duration),
    /// A background filter's result over members `0..upto`, and how many
    /// of those are users a batch removed.
    Filtered {
        seq: u64,
        view: Vec<u32>,
        upto: usize,
        gone_loaded: usize,
    },
    RoomFound(Result<Room, String>),
    Planned {
        seq: u64,
        result: Result<Plan, String>,
    },
    Run(RunEvent),
    RunDone(Report),
    AuditLoaded(Result<Vec<Record>, String>),
    ProfileSwitched(Result<Header, String>),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// Ids looked up for the open room (`:add`): members found, ids not in
    /// the room, lookups that failed.
    LookedUp {
        seq: u64,
        found: Vec<Member>,
        absent: Vec<UserId>,
        /// Ids whose lookup failed, with the error.
        failed: Vec<(UserId, String)>,
    },
    /// A membership change the provider reported as it happened.
    Membership(MemberEvent),
    /// A message for the status line.
    Status {
        text: String,
        error: bool,
    },
}

/// Slow or outside work, run by the effect runner on tokio tasks.
#[derive(Debug)]
pub enum Effect {
    LoadRooms,
    /// Stream every page of a room; stops an earlier load.
    LoadMembers {
        room: RoomId,
        seq: u64,
    },
    StopMembers,
    FindRoom(RoomId),
    /// Look users of a room up one by one (`:add`).
    LookUp {
        room: RoomId,
        seq: u64,
        users: Vec<UserId>,
    },
    /// Filter a snapshot off the render path.
    Filter {
        seq: u64,
        store: MemberStore,
        query: Query,
        gone: HashSet<UserId>,
    },
    Plan {
        seq: u64,
        requests: Vec<Request>,
    },
    Run {
        plan: Plan,
        dry_run: bool,
        /// The number the moderator confirmed: the run sends to no more.
        confirmed: usize,
    },
    /// Fill re-add roles from the audit log, then plan.
    PlanUndo {
        seq: u64,
        requests: Vec<Request>,
    },
    CancelRun,
    /// Read the audit store (recent records, filtered).
    LoadAudit(crate::ops::store::Query),
    Export {
        batch: String,
        outcomes: Vec<crate::model::Outcome>,
    },
    Copy(String),
    SwitchProfile(String),
}

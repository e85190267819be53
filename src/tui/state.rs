//! The console's whole state. Only `update` changes it; `view` reads it.

use super::keymap::{Cmd, Ctx, Key, Keymap};
use super::rates::{Rates, Tally};
use super::store::MemberStore;
use super::view::theme::Palette;
use crate::model::{Action as Verb, Role, Room, Status, UserId};
use crate::ops::Progress;
use crate::ops::audit::Record;
use crate::ops::plan::Plan;
use crate::provider::Capabilities;
use ratatui::style::Color;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Smallest usable terminal.
pub const MIN_W: u16 = 60;
pub const MIN_H: u16 = 15;
/// Above this many targets the moderator types the count to confirm.
pub const TYPE_COUNT_ABOVE: usize = 50;
/// Lines under the results table that show the cursor row in full (a
/// rule and two wrapped lines).
pub const DETAIL_LINES: usize = 3;
/// Lines above the results table: the outcome bar.
pub const OUTCOME_LINES: usize = 1;
/// Lists longer than this are filtered on a blocking task.
pub const SYNC_FILTER_MAX: usize = 20_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Rooms,
    Members,
    Progress,
    Results,
    Audit,
    Help,
}

/// Which keymap contexts a screen answers to, and whose hints its footer
/// shows: the one screen-to-keys table.
pub struct ScreenKeys {
    pub keys: &'static [Ctx],
    pub hints: &'static [Ctx],
}

impl Screen {
    pub fn contexts(self) -> ScreenKeys {
        let (keys, hints): (&'static [Ctx], &'static [Ctx]) = match self {
            Screen::Rooms => (
                &[Ctx::Rooms, Ctx::List, Ctx::Global],
                &[Ctx::Rooms, Ctx::List, Ctx::Global],
            ),
            Screen::Members => (
                &[Ctx::Members, Ctx::List, Ctx::Global],
                &[Ctx::Members, Ctx::List, Ctx::Global],
            ),
            // List movement works on results, but its keys are not hinted.
            Screen::Results => (
                &[Ctx::Results, Ctx::List, Ctx::Global],
                &[Ctx::Results, Ctx::Global],
            ),
            Screen::Progress => (&[Ctx::Progress, Ctx::Global], &[Ctx::Progress]),
            Screen::Audit | Screen::Help => (&[Ctx::List, Ctx::Global], &[Ctx::List, Ctx::Global]),
        };
        ScreenKeys { keys, hints }
    }
}

/// What the header shows about the profile in use.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub profile: String,
    pub provider: String,
    pub host: String,
    pub read_only: bool,
    pub accent: Color,
    /// The profile's colour theme (`theme`).
    pub theme: &'static Palette,
    /// What the provider can do, with the profile's limits applied.
    pub caps: Capabilities,
}

impl Header {
    /// Why the provider cannot do a command's action at all (so the footer
    /// does not offer it and the key explains instead), if it cannot.
    pub fn cannot(&self, cmd: Cmd) -> Option<String> {
        match cmd {
            Cmd::Demote if !self.caps.demotes() => Some(format!(
                "{} cannot demote users on profile `{}`",
                self.provider, self.profile
            )),
            Cmd::Undo if !self.caps.can_readd => Some(format!(
                "{} cannot re-add users on profile `{}`, so a batch cannot be undone here",
                self.provider, self.profile
            )),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusLine {
    pub text: String,
    pub error: bool,
    /// The latest plain message while an error is up: shown after it, and
    /// left on the line once the error is dismissed.
    pub note: Option<String>,
    /// The tick count when the plain message (or note) was set: it goes
    /// `INFO_TICKS` later, or at the next key.
    pub born: u64,
    /// What an error reports, so it goes when that works again.
    pub about: Option<ErrorAbout>,
    /// A plain message that stays, like an error, until `Esc` (the
    /// result of an `:add` that could not add every id).
    pub sticky: bool,
    /// What the copy key copies while this message is up, instead of the
    /// cursor's id (the ids an `:add` could not add, one a line).
    pub copy: Option<String>,
}

impl StatusLine {
    /// Stays until `Esc`: an error, or a sticky message.
    pub fn stays(&self) -> bool {
        self.error || self.sticky
    }

    /// The whole text the status line shows (the view styles its parts).
    pub fn shown(&self) -> String {
        let text = crate::text::escape(&self.text);
        if !self.stays() {
            return text.into_owned();
        }
        let mut out = if self.error {
            format!("error: {text}")
        } else {
            text.into_owned()
        };
        out.push_str(DISMISS);
        if let Some(note) = &self.note {
            out.push_str(&format!("  {}", crate::text::escape(note)));
        }
        out
    }
}

/// What a message that stays says after its text.
pub const DISMISS: &str = "  (Esc dismisses)";

/// What an error on the status line is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorAbout {
    Rooms,
    Members,
}

/// Most lines a wrapped status message takes (and never over a third of
/// the screen).
pub const STATUS_MAX_LINES: usize = 6;

/// Ticks (seconds) a plain message stays.
pub const INFO_TICKS: u64 = 4;

/// Cursor and first visible row of a list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub cursor: usize,
    pub offset: usize,
}

impl Pos {
    /// Keeps the cursor inside `len` rows and on screen.
    pub fn clamp(&mut self, len: usize, height: usize) {
        let height = height.max(1);
        self.cursor = self.cursor.min(len.saturating_sub(1));
        if self.cursor < self.offset {
            self.offset = self.cursor;
        }
        if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterInput {
    pub text: String,
    pub editing: bool,
}

#[derive(Debug, Default)]
pub struct RoomsState {
    pub rooms: Vec<Room>,
    pub view: Vec<u32>,
    pub pos: Pos,
    pub filter: FilterInput,
    pub loading: bool,
    pub sort: RoomSort,
}

/// The order of the rooms screen; the sort key cycles through them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoomSort {
    /// As the provider lists them.
    #[default]
    Listed,
    MostMembers,
    FewestMembers,
}

impl RoomSort {
    pub fn next(self) -> Self {
        match self {
            RoomSort::Listed => RoomSort::MostMembers,
            RoomSort::MostMembers => RoomSort::FewestMembers,
            RoomSort::FewestMembers => RoomSort::Listed,
        }
    }

    /// What the rooms title shows, when sorted.
    pub fn label(self) -> Option<&'static str> {
        match self {
            RoomSort::Listed => None,
            RoomSort::MostMembers => Some("by members ↓"),
            RoomSort::FewestMembers => Some("by members ↑"),
        }
    }

    /// The status message when the order changes.
    pub fn describe(self) -> &'static str {
        match self {
            RoomSort::Listed => "rooms as the provider lists them",
            RoomSort::MostMembers => "rooms by member count, most first (unknown counts last)",
            RoomSort::FewestMembers => "rooms by member count, fewest first (unknown counts last)",
        }
    }
}

/// "Mark all matching" on a partly loaded room: the set is read to the
/// end before it is confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Predicate {
    pub query: String,
    /// Users unmarked by hand after the mark-all.
    pub except: HashSet<UserId>,
}

#[derive(Debug, Default)]
pub struct MembersState {
    pub room: Option<Room>,
    pub store: MemberStore,
    /// Indices into `store` after the filter.
    pub view: Vec<u32>,
    pub pos: Pos,
    pub filter: FilterInput,
    /// Names the latest filter run; older results are dropped.
    pub filter_gen: u64,
    pub filter_pending: bool,
    /// Names the latest load; pages of older loads are dropped.
    pub load_gen: u64,
    pub loading: bool,
    pub complete: bool,
    pub total_hint: Option<u64>,
    pub marks: HashSet<UserId>,
    pub predicate: Option<Predicate>,
    /// The marks `ctrl-\\` cleared last, for bringing them back once.
    pub cleared: Option<(HashSet<UserId>, Option<Predicate>)>,
    /// Visual range anchor (a view position).
    pub visual: Option<usize>,
    /// Users removed by a batch of this session.
    pub gone: HashSet<UserId>,
    /// How many loaded members are in `gone` (the title's total leaves
    /// them out).
    pub gone_loaded: usize,
    /// Roles changed by a batch of this session.
    pub roles: HashMap<UserId, Role>,
}

impl MembersState {
    pub fn in_range(&self, p: usize) -> bool {
        self.visual.is_some_and(|a| {
            let (lo, hi) = (a.min(self.pos.cursor), a.max(self.pos.cursor));
            (lo..=hi).contains(&p)
        })
    }

    /// Members of the room as loaded, without the ones a batch removed.
    pub fn total(&self) -> usize {
        self.store.len().saturating_sub(self.gone_loaded)
    }

    pub fn role_of(&self, user: &UserId, role: Role) -> Role {
        self.roles.get(user).copied().unwrap_or(role)
    }
}

/// Who the popup's action applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Marked,
    Cursor,
    /// All matching a filter in a partly loaded room: the popup reads the
    /// rest of the room before it plans.
    AllMatching {
        query: String,
    },
    RetryFailed,
    /// Undo: re-add the removed users, give the demoted ones their role back.
    Undo {
        removed: usize,
        demoted: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub user: UserId,
    pub name: Option<Arc<str>>,
    pub role: Role,
}

/// The confirm popup.
#[derive(Debug)]
pub struct Confirm {
    pub verb: Verb,
    pub scope: Scope,
    pub room: Room,
    pub targets: Vec<Target>,
    /// Marked users the filter hides.
    pub hidden: usize,
    pub seq: u64,
    pub planning: Planning,
    pub reason: String,
    pub editing_reason: bool,
    /// The reason before this edit: `Esc` in the editor goes back to it.
    pub reason_before: String,
    pub dry_run: bool,
    pub typed: String,
    pub scroll: usize,
    /// What was asked to plan, so a failed lookup can be retried.
    pub requests: Vec<crate::ops::plan::Request>,
    /// Roles of the re-adds are filled from the audit log (undo).
    pub undo: bool,
}

impl Confirm {
    /// The number the moderator confirms: the users the plan sends to,
    /// once it is known.
    pub fn count(&self) -> Option<usize> {
        match &self.planning {
            Planning::Ready { summary, .. } => Some(summary.to_send),
            _ => None,
        }
    }

    pub fn needs_typed_count(&self) -> bool {
        self.count().is_some_and(|n| n > TYPE_COUNT_ABOVE)
    }

    /// Whether the typed text is `n`, with or without thousands separators.
    pub fn typed_is(&self, n: usize) -> bool {
        let digits: String = self
            .typed
            .chars()
            .filter(|c| !matches!(c, ',' | '.' | '_' | '\'' | ' '))
            .collect();
        !digits.is_empty()
            && digits.trim_start_matches('0') == n.to_string().trim_start_matches('0')
    }

    /// Takes the plan and sums it up once, so frames never walk it;
    /// `round_trip` is the latest measured call to the provider.
    pub fn set_plan(
        &mut self,
        plan: Plan,
        caps: &Capabilities,
        round_trip: Option<std::time::Duration>,
    ) {
        let to_send = plan.to_send();
        let summary = PlanSummary {
            to_send,
            refused: plan.guarded(),
            absent: plan
                .rows
                .iter()
                .filter(|r| r.verdict == crate::ops::plan::Verdict::Absent)
                .count(),
            eta: super::eta::estimate(&plan, caps, round_trip),
        };
        self.planning = Planning::Ready { plan, summary };
    }

    /// The plan, once it has arrived.
    pub fn plan(&self) -> Option<&Plan> {
        match &self.planning {
            Planning::Ready { plan, .. } => Some(plan),
            _ => None,
        }
    }
}

/// Where the confirm popup's plan stands.
#[derive(Debug, Default)]
pub enum Planning {
    /// Guards are being checked.
    #[default]
    Pending,
    /// Mark-all on a room still loading: the rest of the room is read
    /// before the set is known and planned.
    Resolving {
        /// Members read so far.
        scanned: usize,
        /// Of those, how many are in the set.
        matched: usize,
    },
    /// The plan and what it comes to, worked out once when it arrived.
    Ready {
        plan: Plan,
        summary: PlanSummary,
    },
    Failed(String),
}

/// The counts and ETA the confirm popup shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanSummary {
    pub to_send: usize,
    /// Rows a guard refused (never lookups that failed).
    pub refused: usize,
    /// Rows a lookup found not in the room (nothing to send).
    pub absent: usize,
    pub eta: std::time::Duration,
}

/// A running batch.
#[derive(Debug)]
pub struct Batch {
    pub verb: Verb,
    pub progress: Progress,
    /// Calls and retries per second so far, for the sparklines.
    pub rates: Rates,
    pub dry_run: bool,
    pub cancelling: bool,
}

/// One row of the results screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultRow {
    pub user: UserId,
    pub name: Option<Arc<str>>,
    pub verb: Verb,
    /// The role before the change (what undo restores).
    pub role: Option<Role>,
    /// `None` while pending.
    pub status: Option<Status>,
    pub reason: Option<String>,
    /// The role to restore on undo: set when the batch chain removed or
    /// demoted this user (the role before its first change), cleared when
    /// the user was re-added.
    pub undo_role: Option<Role>,
}

impl ResultRow {
    /// Failed, or cancelled before it was sent: `t` retries it.
    pub fn retryable(&self) -> bool {
        match self.status {
            Some(Status::Failed) => true,
            Some(Status::Skipped) => self
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("cancelled")),
            _ => false,
        }
    }
}

#[derive(Debug)]
pub struct ResultsState {
    pub batch: String,
    pub room: Room,
    pub dry_run: bool,
    pub rows: Vec<ResultRow>,
    pub failures_only: bool,
    pub view: Vec<u32>,
    pub pos: Pos,
    /// Rows whose status is not ok, and rows still pending: kept up to date
    /// by `update` so a frame never walks every row.
    pub not_ok: usize,
    pub pending: usize,
    /// Rows per status, for the outcome bar (kept like the counts above).
    pub tally: Tally,
    /// Row of the running plan -> row of this screen (a retry or undo
    /// updates the rows of its users in place).
    pub map: Vec<usize>,
}

impl ResultsState {
    pub fn new(batch: String, room: Room, dry_run: bool, rows: Vec<ResultRow>) -> Self {
        let mut r = Self {
            batch,
            room,
            dry_run,
            rows,
            failures_only: false,
            view: vec![],
            pos: Pos::default(),
            not_ok: 0,
            pending: 0,
            tally: Tally::default(),
            map: Vec::new(),
        };
        r.map = (0..r.rows.len()).collect();
        r.recount();
        r.refresh_view();
        r
    }

    pub fn recount(&mut self) {
        self.not_ok = self
            .rows
            .iter()
            .filter(|x| x.status.is_some_and(|s| !s.is_ok()))
            .count();
        self.pending = self.rows.iter().filter(|x| x.status.is_none()).count();
        self.tally = Tally::default();
        for row in &self.rows {
            self.tally.add(row.status);
        }
    }

    /// Sets one row's outcome, keeping the counts.
    pub fn set(&mut self, index: usize, status: Status, reason: Option<String>) {
        let Some(row) = self.rows.get_mut(index) else {
            return;
        };
        match row.status {
            None => self.pending -= 1,
            Some(old) if !old.is_ok() => self.not_ok -= 1,
            Some(_) => {}
        }
        if !status.is_ok() {
            self.not_ok += 1;
        }
        self.tally.take(row.status);
        self.tally.add(Some(status));
        row.status = Some(status);
        row.reason = reason;
    }

    pub fn refresh_view(&mut self) {
        self.view = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !self.failures_only || r.status.is_some_and(|s| !s.is_ok()))
            .map(|(i, _)| i as u32)
            .collect();
    }
}

#[derive(Debug, Default)]
pub struct AuditState {
    /// Newest first.
    pub records: Vec<Record>,
    /// Each record's time as the screen shows it (local, in full), worked
    /// out once when the records arrive.
    pub times: Vec<String>,
    /// Each record's fields as shown, lower case, one a line: what `/`
    /// searches, so a key costs one scan of 10,000 strings.
    pub search: Vec<String>,
    /// Indices into `records` after the filter.
    pub view: Vec<u32>,
    pub filter: FilterInput,
    pub pos: Pos,
    pub loading: bool,
    pub error: Option<String>,
    /// `:audit operator:NAME ticket:REF batch:ID`: which records are read
    /// from the store (`filter` then narrows what is shown of them).
    pub scope: AuditFilter,
    /// The records loaded name more than one operator (a team's shared
    /// store): the table shows whose each row is.
    pub several_operators: bool,
}

/// Which records the audit screen shows (every operator's by default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub operator: Option<String>,
    pub ticket: Option<String>,
    pub batch: Option<String>,
}

impl AuditFilter {
    /// `operator:alice ticket:T-1`, or empty.
    pub fn describe(&self) -> String {
        [
            ("operator", &self.operator),
            ("ticket", &self.ticket),
            ("batch", &self.batch),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}:{v}")))
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// The audit screen shows at most this many of the latest records.
pub const AUDIT_SHOWN: usize = 10_000;

impl AuditState {
    /// Takes newly read records (newest first) and works out what the
    /// screen shows and searches of each, once.
    pub fn set_records(&mut self, records: Vec<Record>, offset: time::UtcOffset) {
        self.times = records
            .iter()
            .map(|r| super::format::local_time(&r.ts, offset))
            .collect();
        self.search = records
            .iter()
            .zip(&self.times)
            .map(|(r, time)| {
                [
                    time.as_str(),
                    r.user.as_str(),
                    r.room.as_str(),
                    r.action.as_str(),
                    r.status.map_or("intent", |st| st.as_str()),
                    r.reason.as_deref().unwrap_or(""),
                    r.ticket.as_deref().unwrap_or(""),
                    r.batch.as_str(),
                    r.profile.as_str(),
                    r.operator.as_str(),
                ]
                .join("\n")
                .to_lowercase()
            })
            .collect();
        self.records = records;
    }

    /// The shown time of record `i`.
    pub fn time_of(&self, i: usize) -> &str {
        self.times.get(i).map_or("", String::as_str)
    }

    /// What to read from the store.
    pub fn query(&self) -> crate::ops::store::Query {
        crate::ops::store::Query {
            last: Some(AUDIT_SHOWN),
            unfinished: false,
            operator: self.scope.operator.clone(),
            ticket: self.scope.ticket.clone(),
            batch: self.scope.batch.clone(),
        }
    }
}

/// The whole console.
#[derive(Debug)]
pub struct State {
    pub header: Header,
    pub keymap: Keymap,
    pub no_color: bool,
    pub screen: Screen,
    /// Screens to go back to.
    pub back: Vec<Screen>,
    pub rooms: RoomsState,
    pub members: MembersState,
    pub popup: Option<Confirm>,
    /// The `:` line while typing.
    pub command: Option<String>,
    /// Tab completion of the `:` line: what was typed, and the next match.
    pub completion: Option<(String, usize)>,
    pub status: Option<StatusLine>,
    pub batch: Option<Batch>,
    pub results: Option<ResultsState>,
    pub audit: AuditState,
    pub help_pos: Pos,
    /// The local time zone's offset, for showing audit times.
    pub utc_offset: time::UtcOffset,
    /// Seconds ticked since start (messages expire by it).
    pub ticks: u64,
    /// Asking "quit while a batch runs?".
    pub ask_quit: bool,
    pub quit: bool,
    pub size: (u16, u16),
    pub pending_key: Option<Key>,
    pub plan_gen: u64,
    /// The latest measured round trip of one call to the provider.
    pub round_trip: Option<std::time::Duration>,
    /// Something changed since the last frame.
    pub dirty: bool,
    /// Rows the last frame built (members, results, audit tables).
    pub rows_built: Cell<usize>,
}

impl State {
    pub fn new(header: Header, keymap: Keymap, no_color: bool) -> Self {
        Self {
            header,
            keymap,
            no_color,
            screen: Screen::Rooms,
            back: Vec::new(),
            rooms: RoomsState::default(),
            members: MembersState::default(),
            popup: None,
            command: None,
            completion: None,
            status: None,
            batch: None,
            results: None,
            audit: AuditState::default(),
            help_pos: Pos::default(),
            ticks: 0,
            utc_offset: time::UtcOffset::UTC,
            ask_quit: false,
            quit: false,
            size: (100, 30),
            pending_key: None,
            plan_gen: 0,
            round_trip: None,
            dirty: true,
            rows_built: Cell::new(0),
        }
    }

    pub fn too_small(&self) -> bool {
        self.size.0 < MIN_W || self.size.1 < MIN_H
    }

    /// Data rows a full-screen table shows: header line, the footer hints,
    /// the status line(s), two borders and the column header are taken.
    pub fn list_height(&self) -> usize {
        (self.size.1 as usize)
            .saturating_sub(5 + self.status_height())
            .max(1)
    }

    /// Lines the status line takes: a long message wraps, up to
    /// `STATUS_MAX_LINES`.
    pub fn status_height(&self) -> usize {
        self.status_height_at(self.size.0, self.size.1)
    }

    /// [`State::status_height`] on a screen of `width` × `height`.
    pub fn status_height_at(&self, width: u16, height: u16) -> usize {
        let lines = match &self.status {
            Some(st) if self.command.is_none() => {
                super::format::wrap_ranges(&st.shown(), width as usize).len()
            }
            _ => 1,
        };
        let most = STATUS_MAX_LINES.min(height as usize / 3).max(1);
        lines.clamp(1, most)
    }

    /// Data rows of a screen's list: the results screen keeps
    /// `DETAIL_LINES` under its table for the full reason of the cursor row.
    pub fn height_of(&self, screen: Screen) -> usize {
        match screen {
            Screen::Results => self
                .list_height()
                .saturating_sub(DETAIL_LINES + OUTCOME_LINES)
                .max(1),
            Screen::Audit => self.list_height().saturating_sub(DETAIL_LINES).max(1),
            _ => self.list_height(),
        }
    }
}

/// The accent colour for a profile: the configured one, else one of the
/// theme's accents derived from the profile name so every profile looks
/// different.
pub fn accent_for(profile: &str, configured: Option<&str>, theme: &Palette) -> Color {
    if let Some(c) = configured.and_then(parse_color) {
        return c;
    }
    let h = profile
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    theme
        .accents
        .get(h as usize % theme.accents.len().max(1))
        .copied()
        .unwrap_or(Color::Cyan)
}

/// A colour name or `#rrggbb`.
pub fn parse_color(s: &str) -> Option<Color> {
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    s.parse::<Color>().ok()
}

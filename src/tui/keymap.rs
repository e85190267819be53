//! The one keymap table: every command, where it applies and what it
//! does; its default keys are the embedded `assets/keys.toml`, read by the
//! config's `[keys]` parser. Key handling, the help screen and the footer
//! hints all read this table, so they never drift. `[keys]` in the config
//! rebinds.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

/// One key press, normalised (shift folded into the character).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub shift: bool,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            ctrl: false,
            shift: false,
        }
    }
    pub const fn ch(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }
    pub const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            ctrl: true,
            shift: false,
        }
    }
    pub const fn shift(code: KeyCode) -> Self {
        Self {
            code,
            ctrl: false,
            shift: true,
        }
    }

    /// From a terminal key event. Characters carry their case, so shift is
    /// dropped for them; legacy terminals send ctrl-\ as ctrl-4.
    pub fn from_event(ev: &KeyEvent) -> Self {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let shift = ev.modifiers.contains(KeyModifiers::SHIFT);
        match ev.code {
            KeyCode::Char('4') if ctrl => Self::ctrl('\\'),
            KeyCode::Char(c) if ctrl => Self::ctrl(c.to_ascii_lowercase()),
            KeyCode::Char(c) => Self::ch(c),
            KeyCode::BackTab => Self::shift(KeyCode::Tab),
            code => Self { code, ctrl, shift },
        }
    }

    /// Terminals send `Esc` quickly followed by a character as Alt+char
    /// (the legacy meta encoding). The console binds no Alt keys, so such
    /// a press is read as the `Esc` it began with, then the character
    /// (which [`Key::from_event`] yields without the Alt). AltGr text on
    /// international layouts arrives without Alt, or with ctrl as well, and
    /// is left alone.
    pub fn alt_prefix(ev: &KeyEvent) -> Option<Self> {
        let alt = ev.modifiers.contains(KeyModifiers::ALT);
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        (alt && !ctrl && matches!(ev.code, KeyCode::Char(_))).then_some(Self::plain(KeyCode::Esc))
    }

    /// Parses `x`, `X`, `ctrl-x`, `shift-up`, `enter`, `space`, `f1`, ...
    pub fn parse(s: &str) -> Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        let (ctrl, shift, rest) = if lower.starts_with("ctrl-") {
            (true, false, &s[5..])
        } else if lower.starts_with("shift-") {
            (false, true, &s[6..])
        } else {
            (false, false, s)
        };
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "tab" => KeyCode::Tab,
            "backspace" => KeyCode::Backspace,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                let n: u8 = f[1..].parse().unwrap_or(0);
                if !(1..=12).contains(&n) {
                    return Err(format!("unknown key `{s}`"));
                }
                KeyCode::F(n)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_control() => {
                        if ctrl {
                            return Ok(Self::ctrl(c.to_ascii_lowercase()));
                        }
                        if shift {
                            return Ok(Self::ch(c.to_ascii_uppercase()));
                        }
                        return Ok(Self::ch(c));
                    }
                    _ => {
                        return Err(format!(
                            "unknown key `{s}`: use a single character, ctrl-X, shift-up, enter, esc, space, tab, up, down, left, right, pgup, pgdn, home, end or f1..f12"
                        ));
                    }
                }
            }
        };
        Ok(Self { code, ctrl, shift })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.shift {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::Backspace => f.write_str("Bksp"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A binding: one key, or a two-key sequence such as `g g`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding(pub Vec<Key>);

impl Binding {
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split_whitespace().collect();
        if parts.is_empty() || parts.len() > 2 {
            return Err(format!(
                "`{s}` is not a key: give one key (\"x\", \"ctrl-x\") or two separated by a space (\"g g\")"
            ));
        }
        Ok(Self(
            parts
                .into_iter()
                .map(Key::parse)
                .collect::<Result<_, _>>()?,
        ))
    }
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, k) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

/// Where a command applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ctx {
    /// Everywhere (unless a popup or an input line has the keys).
    Global,
    /// Rooms, members, results and audit lists.
    List,
    Rooms,
    Members,
    Results,
    Popup,
    Progress,
}

/// One row of the keymap table.
pub struct Entry {
    pub cmd: Cmd,
    /// The name used in `[keys]`.
    pub name: &'static str,
    pub ctx: Ctx,
    pub desc: &'static str,
    /// Changes something at the provider: hidden in read-only profiles.
    pub changes: bool,
    /// Shown in the footer hints of its screen.
    pub hint: bool,
}

/// Defines the commands and the table together, in one order, so every
/// command has its row and [`entry`] cannot miss.
macro_rules! keymap_table {
    ($( $cmd:ident $name:literal $ctx:ident $desc:literal $changes:literal $hint:literal ;)*) => {
        /// Every command a key can trigger.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Cmd { $($cmd),* }

        /// The commands: docs/UX.md's key table, one row per command in
        /// the order of [`Cmd`] (default keys: [`default_keys`]).
        pub const TABLE: &[Entry] = &[$(Entry { cmd: Cmd::$cmd, name: $name, ctx: Ctx::$ctx, desc: $desc, changes: $changes, hint: $hint }),*];
    };
}

keymap_table! {
    Down "down" List "move down" false false;
    Up "up" List "move up" false false;
    PageDown "page_down" List "page down" false false;
    PageUp "page_up" List "page up" false false;
    HalfDown "half_page_down" List "half page down" false false;
    HalfUp "half_page_up" List "half page up" false false;
    Top "top" List "first row" false false;
    Bottom "bottom" List "last row" false false;
    Open "open" Rooms "open the room" false true;
    Sort "sort" Rooms "sort by member count: most first, fewest first, as listed (unknown counts last)" false true;
    Back "back" Global "back one layer (popup, filter, range, screen); marks stay" false true;
    Mark "mark" Members "mark / unmark and move down" true true;
    Visual "visual" Members "start / end a visual range" true true;
    ExtendDown "extend_down" Members "extend the range down" true false;
    ExtendUp "extend_up" Members "extend the range up" true false;
    MarkAll "mark_all" Members "mark all matching the filter" true true;
    Invert "invert" Members "invert marks" true false;
    ClearMarks "clear_marks" Members "clear marks (again: bring them back)" true false;
    AddIds "add_ids" Members "add user ids to work on (looked up, then marked; paste works)" true false;
    Filter "filter" List "filter (id, name, role:admin)" false true;
    Command "command" Global "command (:room ID, :profile NAME, :audit, :q)" false true;
    Remove "remove" Members "remove marked (or cursor) users" true true;
    Demote "demote" Members "demote marked (or cursor) users" true true;
    Results "results" Global "results of the last batch" false true;
    Audit "audit" Global "recent audit records" false false;
    Failures "failures" Results "failures only / all rows" false true;
    Retry "retry" Results "retry failed and cancelled rows" true true;
    Undo "undo" Results "undo: re-add removed users, give demoted users their roles back" true true;
    Export "export" Results "export results (CSV and JSONL)" false true;
    Refresh "refresh" Global "refresh" false false;
    Copy "copy" List "copy the id (OSC 52)" false true;
    Help "help" Global "help" false true;
    Quit "quit" Global "quit (asks while a batch runs)" false true;
    Confirm "confirm" Popup "confirm" true true;
    Cancel "cancel" Popup "cancel" false true;
    ScrollDown "scroll_down" Popup "scroll the targets down" false true;
    ScrollUp "scroll_up" Popup "scroll the targets up" false false;
    Reason "reason" Popup "edit the reason" false true;
    DryRun "dry_run" Popup "toggle dry run" false true;
    CancelBatch "cancel_batch" Progress "cancel after the call in flight" false true;
}

/// The live keymap: the table with `[keys]` overrides applied.
#[derive(Clone, Debug)]
pub struct Keymap {
    bindings: Vec<(Cmd, Ctx, Vec<Binding>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self::from_overrides(&BTreeMap::new()).expect("the built-in keymap parses")
    }
}

impl Keymap {
    /// Applies `[keys]` (command name -> key). Unknown names or keys that do
    /// not parse are errors naming the entry.
    pub fn from_overrides(overrides: &BTreeMap<String, String>) -> Result<Self, String> {
        for (name, key) in overrides {
            if !TABLE.iter().any(|e| e.name == name) {
                let names: Vec<&str> = TABLE.iter().map(|e| e.name).collect();
                return Err(format!(
                    "config [keys]: unknown action `{name}`; known actions: {}",
                    names.join(", ")
                ));
            }
            for k in split_keys(key) {
                Binding::parse(k).map_err(|e| format!("config [keys] `{name}`: {e}"))?;
            }
        }
        conflicts(overrides)?;
        let mut bindings = Vec::with_capacity(TABLE.len());
        for e in TABLE {
            let keys = match overrides.get(e.name) {
                Some(k) => split_keys(k)
                    .map(|k| Binding::parse(k).map_err(|e| format!("config [keys]: {e}")))
                    .collect::<Result<_, _>>()?,
                None => default_keys(e)
                    .map(Binding::parse)
                    .collect::<Result<_, _>>()?,
            };
            bindings.push((e.cmd, e.ctx, keys));
        }
        Ok(Self { bindings })
    }

    /// The keys bound to a command.
    pub fn keys_of(&self, cmd: Cmd) -> &[Binding] {
        self.bindings
            .iter()
            .find(|(c, _, _)| *c == cmd)
            .map(|(_, _, k)| k.as_slice())
            .unwrap_or(&[])
    }

    /// "j/↓" style label for help and hints.
    pub fn label(&self, cmd: Cmd) -> String {
        self.keys_of(cmd)
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Resolves a key (with an optional pending first key of a sequence) in
    /// the given contexts, first context first. `Pending` means the key
    /// starts a sequence.
    pub fn resolve(&self, pending: Option<Key>, key: Key, ctxs: &[Ctx]) -> Resolved {
        for ctx in ctxs {
            let mut starts = false;
            for (cmd, c, bindings) in &self.bindings {
                if c != ctx {
                    continue;
                }
                for b in bindings {
                    match (pending, b.0.as_slice()) {
                        (None, [k]) if *k == key => return Resolved::Cmd(*cmd),
                        (Some(p), [a, b]) if *a == p && *b == key => return Resolved::Cmd(*cmd),
                        (None, [a, _]) if *a == key => starts = true,
                        _ => {}
                    }
                }
            }
            if starts {
                return Resolved::Pending;
            }
        }
        Resolved::None
    }
}

/// The key groups that must not overlap: each screen's contexts, and the
/// popup's.
fn screens() -> Vec<(&'static str, &'static [Ctx])> {
    use super::state::Screen;
    let mut out: Vec<(&'static str, &'static [Ctx])> = [
        ("rooms", Screen::Rooms),
        ("members", Screen::Members),
        ("progress", Screen::Progress),
        ("results", Screen::Results),
        ("audit", Screen::Audit),
        ("help", Screen::Help),
    ]
    .into_iter()
    .map(|(name, screen)| (name, screen.contexts().keys))
    .collect();
    out.push(("confirm popup", &[Ctx::Popup]));
    out
}

/// Whether one binding hides the other: the same keys, or one starts the
/// other (`g` and `g g`).
fn overlaps(a: &Binding, b: &Binding) -> bool {
    let n = a.0.len().min(b.0.len());
    a.0[..n] == b.0[..n]
}

/// Refuses an override that gives an action a key another action of the
/// same screen has (`remove = "j"` on the members screen, where `j` moves
/// down). Keys an action has by default never count as taken by it.
fn conflicts(overrides: &BTreeMap<String, String>) -> Result<(), String> {
    if overrides.is_empty() {
        return Ok(());
    }
    let keys_of = |e: &Entry| -> Vec<Binding> {
        match overrides.get(e.name) {
            Some(k) => split_keys(k)
                .filter_map(|k| Binding::parse(k).ok())
                .collect(),
            None => default_keys(e)
                .filter_map(|k| Binding::parse(k).ok())
                .collect(),
        }
    };
    for (screen, ctxs) in screens() {
        let here: Vec<(&Entry, Vec<Binding>)> = TABLE
            .iter()
            .filter(|e| ctxs.contains(&e.ctx))
            .map(|e| (e, keys_of(e)))
            .collect();
        for (e, keys) in here.iter().filter(|(e, _)| overrides.contains_key(e.name)) {
            let defaults: Vec<Binding> = default_keys(e)
                .filter_map(|k| Binding::parse(k).ok())
                .collect();
            for k in keys.iter().filter(|k| !defaults.contains(k)) {
                if let Some((other, _)) = here
                    .iter()
                    .find(|(o, ks)| o.cmd != e.cmd && ks.iter().any(|b| overlaps(k, b)))
                {
                    return Err(format!(
                        "config [keys]: `{} = \"{k}\"` takes `{k}` from `{}` on the {screen} screen; \
                         bind another key, or rebind `{}` as well",
                        e.name, other.name, other.name
                    ));
                }
            }
        }
    }
    Ok(())
}

/// What a key means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    Cmd(Cmd),
    Pending,
    None,
}

/// The table entry of a command.
pub fn entry(cmd: Cmd) -> &'static Entry {
    // The table is built in the order of `Cmd` by `keymap_table!`.
    &TABLE[cmd as usize]
}

/// The default bindings: the embedded `assets/keys.toml`, read by the
/// config's `[keys]` parser (a test checks it parses and covers every
/// command).
fn defaults() -> &'static BTreeMap<String, String> {
    static DEFAULTS: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        crate::config::parse_keys(crate::assets::KEYS, "assets/keys.toml").unwrap_or_default()
    })
}

/// A command's default keys, as written in `assets/keys.toml`.
pub fn default_keys(e: &Entry) -> impl Iterator<Item = &'static str> {
    defaults()
        .get(e.name)
        .map(|v| split_keys(v))
        .into_iter()
        .flatten()
}

/// `"j, down"` binds both keys; a lone `","` is the comma key itself.
fn split_keys(value: &str) -> impl Iterator<Item = &str> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let several = parts.len() > 1 && parts.iter().all(|p| !p.is_empty());
    let keys = if several { parts } else { vec![value.trim()] };
    keys.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bindings the code held before they moved to `assets/keys.toml`
    /// (plus `sort`, added with it).
    const BEFORE: &[(&str, &[&str])] = &[
        ("down", &["j", "down"]),
        ("up", &["k", "up"]),
        ("page_down", &["pgdn"]),
        ("page_up", &["pgup"]),
        ("half_page_down", &["ctrl-d"]),
        ("half_page_up", &["ctrl-u"]),
        ("top", &["g g", "home"]),
        ("bottom", &["G", "end"]),
        ("open", &["enter", "l", "right"]),
        ("sort", &["s"]),
        ("back", &["esc", "h", "left"]),
        ("mark", &["space"]),
        ("visual", &["v"]),
        ("extend_down", &["shift-down"]),
        ("extend_up", &["shift-up"]),
        ("mark_all", &["ctrl-a"]),
        ("invert", &["*"]),
        ("clear_marks", &["ctrl-\\"]),
        ("add_ids", &["a"]),
        ("filter", &["/"]),
        ("command", &[":"]),
        ("remove", &["d"]),
        ("demote", &["D"]),
        ("results", &["R"]),
        ("audit", &["A"]),
        ("failures", &["f"]),
        ("retry", &["t"]),
        ("undo", &["u"]),
        ("export", &["ctrl-s"]),
        ("refresh", &["ctrl-r"]),
        ("copy", &["y"]),
        ("help", &["?", "f1"]),
        ("quit", &["q", "ctrl-c"]),
        ("confirm", &["y", "enter"]),
        ("cancel", &["n", "esc"]),
        ("scroll_down", &["j", "down"]),
        ("scroll_up", &["k", "up"]),
        ("reason", &["r"]),
        ("dry_run", &["t"]),
        ("cancel_batch", &["esc"]),
    ];

    #[test]
    fn the_embedded_default_keys_parse_and_equal_the_bindings_before() {
        let parsed = crate::config::parse_keys(crate::assets::KEYS, "assets/keys.toml")
            .expect("assets/keys.toml parses as a [keys] table");
        let names: std::collections::BTreeSet<&str> = TABLE.iter().map(|e| e.name).collect();
        let listed: std::collections::BTreeSet<&str> = parsed.keys().map(String::as_str).collect();
        assert_eq!(
            listed, names,
            "assets/keys.toml binds every command, and only those"
        );
        // Read as users' `[keys]` are: no conflicts, every key parses.
        Keymap::from_overrides(&parsed).expect("the defaults pass the [keys] checks");
        let km = Keymap::default();
        assert_eq!(BEFORE.len(), TABLE.len());
        for (name, keys) in BEFORE {
            let e = TABLE.iter().find(|e| e.name == *name).expect(name);
            let want: Vec<Binding> = keys.iter().map(|k| Binding::parse(k).unwrap()).collect();
            assert_eq!(km.keys_of(e.cmd), want.as_slice(), "{name}");
        }
    }

    #[test]
    fn every_command_has_its_row() {
        for (i, e) in TABLE.iter().enumerate() {
            assert_eq!(e.cmd as usize, i, "{}", e.name);
            assert_eq!(entry(e.cmd).name, e.name);
        }
    }

    #[test]
    fn a_rebinding_may_list_several_keys() {
        let mut over = BTreeMap::new();
        over.insert("remove".to_string(), "x, ctrl-x".to_string());
        let map = Keymap::from_overrides(&over).unwrap();
        assert_eq!(map.keys_of(Cmd::Remove).len(), 2);
        over.insert("remove".to_string(), "x, nonsense-key".to_string());
        assert!(
            Keymap::from_overrides(&over)
                .unwrap_err()
                .contains("remove")
        );
    }

    #[test]
    fn alt_char_is_read_as_esc_then_the_char() {
        let ev = |code, m| KeyEvent::new(code, m);
        let alt_colon = ev(KeyCode::Char(':'), KeyModifiers::ALT);
        assert_eq!(Key::alt_prefix(&alt_colon), Some(Key::plain(KeyCode::Esc)));
        assert_eq!(Key::from_event(&alt_colon), Key::ch(':'));
        let altgr = ev(
            KeyCode::Char('@'),
            KeyModifiers::ALT | KeyModifiers::CONTROL,
        );
        assert_eq!(Key::alt_prefix(&altgr), None);
        assert_eq!(
            Key::alt_prefix(&ev(KeyCode::Char('j'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(Key::alt_prefix(&ev(KeyCode::Up, KeyModifiers::ALT)), None);
    }

    #[test]
    fn keys_parse_and_print() {
        assert_eq!(Key::parse("ctrl-x").unwrap(), Key::ctrl('x'));
        assert_eq!(Key::parse("ctrl-\\").unwrap(), Key::ctrl('\\'));
        assert_eq!(Key::parse("D").unwrap(), Key::ch('D'));
        assert_eq!(Key::parse("shift-d").unwrap(), Key::ch('D'));
        assert_eq!(Key::parse("shift-up").unwrap(), Key::shift(KeyCode::Up));
        assert_eq!(Key::parse("F1").unwrap(), Key::plain(KeyCode::F(1)));
        assert!(Key::parse("ctrl-").is_err());
        assert!(Key::parse("banana").unwrap_err().contains("unknown key"));
        assert_eq!(Key::ctrl('a').to_string(), "ctrl-a");
    }

    #[test]
    fn every_default_key_parses_and_sequences_resolve() {
        let km = Keymap::default();
        assert_eq!(
            km.resolve(None, Key::ch('g'), &[Ctx::List]),
            Resolved::Pending
        );
        assert_eq!(
            km.resolve(Some(Key::ch('g')), Key::ch('g'), &[Ctx::List]),
            Resolved::Cmd(Cmd::Top)
        );
        assert_eq!(
            km.resolve(None, Key::ch('d'), &[Ctx::Members, Ctx::List]),
            Resolved::Cmd(Cmd::Remove)
        );
        assert_eq!(km.label(Cmd::Down), "j/↓");
    }

    #[test]
    fn a_key_taken_from_another_action_on_the_same_screen_is_refused() {
        let mut o = BTreeMap::new();
        o.insert("remove".to_string(), "j".to_string());
        let e = Keymap::from_overrides(&o).unwrap_err();
        assert!(
            e.contains("`remove = \"j\"`") && e.contains("`down`") && e.contains("members"),
            "{e}"
        );
        // `g` would hide `g g`.
        o.insert("remove".to_string(), "g".to_string());
        assert!(Keymap::from_overrides(&o).unwrap_err().contains("`top`"));
        // Moving `down` off `j` frees it.
        o.insert("remove".to_string(), "j".to_string());
        o.insert("down".to_string(), "down".to_string());
        assert!(Keymap::from_overrides(&o).is_ok());
        // The same key on different screens is fine (`t` retries on results
        // and toggles dry run in the popup), and so are an action's own keys.
        let mut o = BTreeMap::new();
        o.insert("retry".to_string(), "t, T".to_string());
        o.insert("back".to_string(), "esc".to_string());
        assert!(Keymap::from_overrides(&o).is_ok());
    }

    #[test]
    fn overrides_rebind_and_reject_unknowns() {
        let mut o = BTreeMap::new();
        o.insert("remove".to_string(), "x".to_string());
        let km = Keymap::from_overrides(&o).unwrap();
        assert_eq!(
            km.resolve(None, Key::ch('x'), &[Ctx::Members]),
            Resolved::Cmd(Cmd::Remove)
        );
        assert_eq!(
            km.resolve(None, Key::ch('d'), &[Ctx::Members]),
            Resolved::None
        );
        o.insert("explode".to_string(), "e".to_string());
        assert!(
            Keymap::from_overrides(&o)
                .unwrap_err()
                .contains("unknown action `explode`")
        );
        let mut bad = BTreeMap::new();
        bad.insert("remove".to_string(), "hyper-q".to_string());
        assert!(
            Keymap::from_overrides(&bad)
                .unwrap_err()
                .contains("[keys] `remove`")
        );
    }
}

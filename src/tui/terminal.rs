//! The terminal side: enter and restore (on every exit path and on panic),
//! read key presses, log to a file, and the event loop that feeds `update`.

use super::action::Action;
use super::effects::{Runner, SwitchFn};
use super::keymap::{Key, Keymap};
use super::state::{Header, State, accent_for};
use super::update::update;
use super::view;
use super::view::theme::Palette;
use crate::config::{self, Config, Profile, Source};
use crate::ops::Engine;
use crate::session::{Failure, Global, Session};
use futures::StreamExt;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream, KeyEventKind, MouseEventKind,
};
use ratatui::crossterm::execute;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing_appender::non_blocking::WorkerGuard;

/// The colours of a profile's theme; a user theme that does not parse is
/// an error naming its file and what is wrong.
pub fn palette_for(config: &Config, profile: &Profile) -> Result<&'static Palette, String> {
    let name = config.theme_of(profile);
    let text = config.theme_text(name).unwrap_or_default();
    Palette::resolve(name, text).map_err(|why| match &config.source {
        Source::File(p) => format!(
            "{why} (file {})",
            config::themes_dir_for(p)
                .join(format!("{name}.toml"))
                .display()
        ),
        Source::BuiltIn => why,
    })
}

/// The header for an engine, in the profile's theme.
pub fn header_for(engine: &Engine, accent: Option<&str>, theme: &'static Palette) -> Header {
    let caps = engine.capabilities();
    Header {
        profile: engine.profile().to_string(),
        provider: engine.provider_name().to_string(),
        host: engine.host(),
        read_only: engine.read_only(),
        accent: accent_for(engine.profile(), accent, theme),
        theme,
        caps: caps.clone(),
    }
}

/// Where the console's log file goes: the platform state dir (else the
/// data dir) under `roomwarden/`.
pub fn log_dir() -> Option<PathBuf> {
    let d = directories::ProjectDirs::from("", "", "roomwarden")?;
    Some(
        d.state_dir()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| d.data_local_dir().to_path_buf()),
    )
}

/// Opens the console's log file for appending, readable by its owner
/// only (0600, like the audit log): it may name rooms, users and hosts.
pub fn open_log_file(dir: &Path) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let file = opts.open(dir.join(LOG_FILE))?;
        // A file made by an earlier version may be 0644.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    opts.open(dir.join(LOG_FILE))
}

/// The console's log file name, in [`log_dir`].
pub const LOG_FILE: &str = "roomwarden.log";

fn init_logging(verbose: u8) -> Option<WorkerGuard> {
    let dir = log_dir()?;
    let file = open_log_file(&dir).ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let level = match verbose {
        0 => "roomwarden=info,warn",
        1 => "roomwarden=debug,info",
        _ => "roomwarden=trace,debug",
    };
    let filter = crate::logging::filter(level);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

/// Restores the terminal when dropped (every exit path, including `?`).
struct Restore {
    mouse: bool,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if self.mouse {
            let _ = execute!(std::io::stdout(), DisableMouseCapture);
        }
        let _ = execute!(std::io::stdout(), DisableBracketedPaste);
        ratatui::restore();
    }
}

/// Whether colours are off: `--no-color` or a non-empty `NO_COLOR`.
pub fn no_color(flag: bool) -> bool {
    flag || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Opens the console; returns the exit code.
pub async fn console(global: Global) -> Result<u8, Failure> {
    let session = Session::load(&global)?;
    let keymap = Keymap::from_overrides(&session.config.keys).map_err(Failure::usage)?;
    // Every profile's theme is read now: one that does not parse stops
    // the console before the terminal is taken (exit 2).
    for p in session.config.profiles.values() {
        palette_for(&session.config, p).map_err(Failure::usage)?;
    }
    // The audit store first: a team database that cannot be reached
    // stops the console here, saying why (exit 3), before anything is sent.
    let store = crate::session::open_store(&session.config, &global).await?;
    let engine = Arc::new(session.engine_with(&session.profile, &global, Some(store.clone()))?);
    let _log = init_logging(global.verbose);
    tracing::info!(profile = engine.profile(), "console started");
    let header = header_for(
        &engine,
        session.profile.common.accent.as_deref(),
        palette_for(&session.config, &session.profile).map_err(Failure::usage)?,
    );
    let mut state = State::new(header, keymap, no_color(global.no_color));
    state.utc_offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);

    let switch: SwitchFn = {
        let config = session.config.clone();
        let global = global.clone();
        Box::new(move |name: &str| {
            let profile = config.profile(Some(name)).map_err(|e| e.to_string())?;
            let s = Session {
                config: config.clone(),
                profile: profile.clone(),
            };
            let engine = s
                .engine_with(profile, &global, Some(store.clone()))
                .map_err(|f| f.message)?;
            let header = header_for(
                &engine,
                profile.common.accent.as_deref(),
                palette_for(&config, profile)?,
            );
            Ok((Arc::new(engine), header))
        })
    };
    let export_dir = session.config.export_dir();

    // Enter the terminal. `try_init` installs a panic hook that restores
    // raw mode and the main screen; ours also drops the mouse capture.
    let mut terminal = ratatui::try_init().map_err(|e| Failure {
        code: 1,
        message: format!("cannot open the terminal: {e}"),
    })?;
    let guard = Restore {
        mouse: global.mouse,
    };
    // Pasted id lists arrive as one event, not as keys.
    let _ = execute!(std::io::stdout(), EnableBracketedPaste);
    if global.mouse {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = execute!(std::io::stdout(), DisableMouseCapture);
            prev(info);
        }));
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
    }

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Action>();
    let mut runner = Runner::new(engine, tx, Some(switch), export_dir);
    if let Ok(size) = terminal.size() {
        for e in update(&mut state, Action::Resize(size.width, size.height)) {
            runner.run(e);
        }
    }
    state.rooms.loading = true;
    runner.run(super::action::Effect::LoadRooms);
    let mut events = EventStream::new();
    let mut ending = Ending::new();
    let result = run_loop(
        &mut terminal,
        &mut state,
        &mut runner,
        &mut rx,
        &mut events,
        &mut ending,
        |_| {},
    )
    .await;
    let signalled = result.as_ref().ok().copied().flatten();
    let result = result.map(|_| ());
    if state.batch.is_some() {
        // Quitting mid-batch: the run was cancelled; let the call in flight
        // finish so its result reaches the audit log.
        let wait = async {
            while let Some(a) = rx.recv().await {
                if matches!(a, Action::RunDone(_)) {
                    break;
                }
            }
        };
        // A second signal stops waiting.
        tokio::select! {
            _ = tokio::time::timeout(std::time::Duration::from_secs(30), wait) => {}
            _ = ending.next() => {}
        }
    }
    drop(guard);
    drop(terminal);
    tracing::info!("console closed");
    result
        .map(|()| signalled.unwrap_or(0))
        .map_err(|message| Failure { code: 1, message })
}

/// The signals that end the program (SIGTERM, SIGHUP, SIGINT and SIGQUIT
/// sent from outside): caught so the terminal is restored as on `q`.
pub(super) struct Ending {
    #[cfg(unix)]
    signals: Vec<(tokio::signal::unix::Signal, u8)>,
}

impl Ending {
    /// No signals: for a loop driven by a test or a benchmark.
    #[cfg(any(test, feature = "bench"))]
    pub(super) fn none() -> Self {
        #[cfg(unix)]
        {
            Self {
                signals: Vec::new(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let kinds = [
                (SignalKind::terminate(), 15),
                (SignalKind::hangup(), 1),
                (SignalKind::interrupt(), 2),
                (SignalKind::quit(), 3),
            ];
            let signals = kinds
                .into_iter()
                .filter_map(|(k, n)| signal(k).ok().map(|s| (s, 128 + n)))
                .collect();
            Self { signals }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves with the exit code (128 + signal number) when one arrives.
    async fn next(&mut self) -> u8 {
        #[cfg(unix)]
        {
            if self.signals.is_empty() {
                return std::future::pending().await;
            }
            let waits = self.signals.iter_mut().map(|(s, code)| {
                let code = *code;
                Box::pin(async move {
                    s.recv().await;
                    code
                })
            });
            futures::future::select_all(waits).await.0
        }
        #[cfg(not(unix))]
        std::future::pending().await
    }
}

/// The console's loop: draws a frame when the state changed, waits for a
/// terminal event or an effect's answer, applies it and whatever else is
/// waiting (one frame for all of them), and goes round until `quit` or
/// the end of the events. `drawn` sees the state after each frame (the
/// input-latency benchmark times keys with it; the console passes a no-op).
pub(super) async fn run_loop<B, S>(
    terminal: &mut ratatui::Terminal<B>,
    state: &mut State,
    runner: &mut Runner,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Action>,
    events: &mut S,
    ending: &mut Ending,
    mut drawn: impl FnMut(&State),
) -> Result<Option<u8>, String>
where
    B: ratatui::backend::Backend,
    S: futures::Stream<Item = std::io::Result<Event>> + Unpin,
{
    // Plain messages on the status line expire by this tick.
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if state.dirty {
            if let Err(e) = terminal.draw(|f| view::render(state, f)) {
                break Err(format!("drawing: {e}"));
            }
            state.dirty = false;
            drawn(state);
        }
        if state.quit {
            break Ok(None);
        }
        let action = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => {
                    // Esc typed just before a key reaches us as Alt+key.
                    if let Some(esc) = Key::alt_prefix(&k) {
                        for e in update(state, Action::Key(esc)) {
                            runner.run(e);
                        }
                    }
                    Action::Key(Key::from_event(&k))
                }
                Some(Ok(Event::Resize(w, h))) => Action::Resize(w, h),
                Some(Ok(Event::Paste(text))) => Action::Paste(text),
                Some(Ok(Event::Mouse(m))) => match m.kind {
                    MouseEventKind::ScrollDown => Action::Scroll(3),
                    MouseEventKind::ScrollUp => Action::Scroll(-3),
                    _ => continue,
                },
                Some(Ok(_)) => continue,
                Some(Err(e)) => break Err(format!("reading the terminal: {e}")),
                None => break Ok(None),
            },
            Some(a) = rx.recv() => a,
            _ = tick.tick() => Action::Tick,
            code = ending.next() => {
                // Ends like `q`: a running batch is cancelled after the
                // call in flight, and the terminal is restored by the caller.
                runner.run(super::action::Effect::CancelRun);
                break Ok(Some(code));
            }
        };
        for e in update(state, action) {
            runner.run(e);
        }
        // Coalesce whatever else is waiting into one frame.
        let mut n = 0;
        while n < 256 {
            let Ok(a) = rx.try_recv() else { break };
            for e in update(state, a) {
                runner.run(e);
            }
            n += 1;
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_log_file_is_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("state/roomwarden");
        drop(open_log_file(&fresh).unwrap());
        assert_eq!(mode(&fresh.join(LOG_FILE)), 0o600);
        // One left 0644 by an earlier version is made private.
        let old = dir.path().join("old");
        std::fs::create_dir_all(&old).unwrap();
        std::fs::write(old.join(LOG_FILE), b"earlier\n").unwrap();
        std::fs::set_permissions(old.join(LOG_FILE), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let mut f = open_log_file(&old).unwrap();
        std::io::Write::write_all(&mut f, b"later\n").unwrap();
        assert_eq!(mode(&old.join(LOG_FILE)), 0o600);
        assert_eq!(
            std::fs::read_to_string(old.join(LOG_FILE)).unwrap(),
            "earlier\nlater\n"
        );
    }
}

//! The terminal side: enter and restore (on every exit path and on panic),
//! read key presses, log to a file, and the event loop that feeds `update`.

use super::action::Action;
use super::effects::{Runner, SwitchFn};
use super::keymap::{Key, Keymap};
use super::state::{Header, State, accent_for};
use super::update::update;
use super::view;
use crate::ops::Engine;
use crate::session::{Failure, Global, Session};
use futures::StreamExt;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream, KeyEventKind, MouseEventKind,
};
use ratatui::crossterm::execute;
use std::path::PathBuf;
use std::sync::Arc;
use tracing_appender::non_blocking::WorkerGuard;

/// The header for an engine.
pub fn header_for(engine: &Engine, accent: Option<&str>) -> Header {
    let caps = engine.capabilities();
    Header {
        profile: engine.profile().to_string(),
        provider: engine.provider_name().to_string(),
        host: engine.host(),
        read_only: engine.read_only(),
        accent: accent_for(engine.profile(), accent),
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

fn init_logging(verbose: u8) -> Option<WorkerGuard> {
    let dir = log_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, "roomwarden.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
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
    // The audit store first: a team database that cannot be reached
    // stops the console here, saying why (exit 3), before anything is sent.
    let store = crate::session::open_store(&session.config, &global).await?;
    let engine = Arc::new(session.engine_with(&session.profile, &global, Some(store.clone()))?);
    let _log = init_logging(global.verbose);
    tracing::info!(profile = engine.profile(), "console started");
    let header = header_for(&engine, session.profile.common.accent.as_deref());
    let mut state = State::new(header, keymap, no_color(global.no_color));

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
            let header = header_for(&engine, profile.common.accent.as_deref());
            Ok((Arc::new(engine), header))
        })
    };
    let export_dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));

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
    let result: Result<(), String> = loop {
        if state.dirty {
            if let Err(e) = terminal.draw(|f| view::render(&state, f)) {
                break Err(format!("drawing: {e}"));
            }
            state.dirty = false;
        }
        if state.quit {
            break Ok(());
        }
        let action = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => {
                    // Esc typed just before a key reaches us as Alt+key.
                    if let Some(esc) = Key::alt_prefix(&k) {
                        for e in update(&mut state, Action::Key(esc)) {
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
                None => break Ok(()),
            },
            Some(a) = rx.recv() => a,
        };
        for e in update(&mut state, action) {
            runner.run(e);
        }
        // Coalesce whatever else is waiting into one frame.
        let mut n = 0;
        while n < 256 {
            let Ok(a) = rx.try_recv() else { break };
            for e in update(&mut state, a) {
                runner.run(e);
            }
            n += 1;
        }
    };
    if state.batch.is_some() {
        // Quitting mid-batch: the run was cancelled; let the call in flight
        // finish so its result reaches the audit log.
        let wait = async {
            while let Some(a) = rx.recv().await {
                if matches!(a, Action::RunDone(_) | Action::RunFailed(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), wait).await;
    }
    drop(guard);
    drop(terminal);
    tracing::info!("console closed");
    result
        .map(|()| 0)
        .map_err(|message| Failure { code: 1, message })
}

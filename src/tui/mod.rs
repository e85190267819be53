//! The console: a ratatui face over the ops engine (docs/UX.md).
//!
//! Terminal events become [`action::Action`]s; one `update(&mut State,
//! Action) -> Vec<Effect>` changes the state; effects run on tokio tasks
//! and come back as actions; `view::render(&State, &mut Frame)` draws.
//! Nothing here names a concrete provider: everything goes through
//! [`crate::ops::Engine`].

mod action;
#[cfg(any(test, feature = "bench"))]
pub mod bench;
mod effects;
mod eta;
mod format;
mod keymap;
mod rates;
#[cfg(any(test, feature = "bench"))]
pub mod screenshots;
mod state;
mod store;
mod terminal;
mod update;
mod view;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hostile;
#[cfg(test)]
mod tests_look;
#[cfg(test)]
mod tests_modal;
#[cfg(test)]
mod tests_partial;
#[cfg(test)]
mod tests_text;

pub use terminal::console;
pub use terminal::{LOG_FILE, log_dir};

/// Checks `[keys]` from a config file: the error a bad entry gives.
pub fn check_keys(keys: &std::collections::BTreeMap<String, String>) -> Result<(), String> {
    keymap::Keymap::from_overrides(keys).map(|_| ())
}

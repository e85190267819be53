//! `roomwarden paths`: where the files roomwarden reads and writes are
//! (and the directory of the user's own themes),
//! found exactly as the commands find them (`--config`,
//! `ROOMWARDEN_CONFIG`, `--audit-log`, `export_dir`, the platform dirs,
//! which follow `XDG_*` on Linux). It works with a broken config file,
//! which is when it is most wanted.

use super::args::Global;
use super::output::Row;
use super::{emit, say};
use crate::config::{self, Config, Named};
use crate::session::Failure;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

#[derive(Serialize, Debug)]
pub struct PathRow {
    /// `config`, `audit_log`, `log`, `export_dir` or `themes`.
    pub name: &'static str,
    /// `None` when there is no home directory to put it in.
    pub path: Option<String>,
    /// What chose it: a flag, a variable, a config key, or `default`.
    pub from: &'static str,
    pub exists: bool,
}

impl PathRow {
    fn new(name: &'static str, path: Option<PathBuf>, from: &'static str) -> Self {
        Self {
            name,
            exists: path.as_ref().is_some_and(|p| p.exists()),
            path: path.map(|p| p.display().to_string()),
            from,
        }
    }
}

impl Row for PathRow {
    const HEADERS: &'static [&'static str] = &["name", "path", "from", "exists"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.into(),
            self.path
                .clone()
                .unwrap_or_else(|| "(no home directory)".into()),
            self.from.into(),
            if self.exists { "yes" } else { "no" }.into(),
        ]
    }
    fn csv_cells(&self) -> Vec<String> {
        vec![
            self.name.into(),
            self.path.clone().unwrap_or_default(),
            self.from.into(),
            self.exists.to_string(),
        ]
    }
}

pub(super) fn paths(global: &Global, out: &mut dyn Write) -> Result<u8, Failure> {
    let located = config::locate(global.config.as_deref());
    let config = Config::load(global.config.as_deref()).unwrap_or_else(|e| {
        say(&format!("warning: {e}; export_dir shows the default"));
        Config::builtin()
    });
    let (audit, audit_from) = match &global.audit_log {
        Some(p) => (Some(p.clone()), "--audit-log"),
        None => (crate::ops::audit::default_path(), "default"),
    };
    let config_from = located
        .as_ref()
        .map_or(Named::Default, |(_, n)| *n)
        .as_str();
    let rows = [
        PathRow::new(
            "config",
            located.as_ref().map(|(p, _)| p.clone()),
            config_from,
        ),
        PathRow::new("audit_log", audit, audit_from),
        PathRow::new(
            "log",
            crate::tui::log_dir().map(|d| d.join(crate::tui::LOG_FILE)),
            "default",
        ),
        PathRow::new(
            "export_dir",
            Some(config.export_dir()),
            if config.export_dir.is_some() {
                "export_dir"
            } else {
                "default"
            },
        ),
        // Beside the config file, so chosen by what chose it.
        PathRow::new(
            "themes",
            located.as_ref().map(|(p, _)| config::themes_dir_for(p)),
            config_from,
        ),
    ];
    emit(out, global.format, &rows)?;
    Ok(0)
}

//! `roomwarden profiles --check`: one read-only call per profile (or only
//! `--profile`'s) proving its credentials and address work
//! ([`crate::provider::Provider::check`]), one row each; exit 3 naming the
//! first profile that failed.

use super::args::Global;
use super::emit;
use super::output::Row;
use crate::config::{Config, Profile};
use crate::session::Failure;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
pub struct CheckRow<'a> {
    pub name: &'a str,
    pub provider: &'a str,
    /// `ok` or `failed`.
    pub status: &'static str,
    /// Why it failed, in the provider's words (never a secret); null when ok.
    pub reason: Option<String>,
}

impl Row for CheckRow<'_> {
    const HEADERS: &'static [&'static str] = &["name", "provider", "status", "reason"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.into(),
            self.provider.into(),
            self.status.into(),
            self.reason.clone().unwrap_or_default(),
        ]
    }
}

pub(super) async fn check(global: &Global, out: &mut dyn Write) -> Result<u8, Failure> {
    let config = Config::load(global.config.as_deref())?;
    let chosen: Vec<&Profile> = match global.profile.as_deref() {
        Some(name) => vec![config.profile(Some(name))?],
        None => config.profiles.values().collect(),
    };
    let results = futures::future::join_all(chosen.iter().map(|p| check_one(p))).await;
    let rows: Vec<CheckRow> = chosen
        .iter()
        .zip(results)
        .map(|(p, r)| CheckRow {
            name: &p.name,
            provider: p.provider,
            status: if r.is_ok() { "ok" } else { "failed" },
            reason: r.err(),
        })
        .collect();
    emit(out, global.format, &rows)?;
    match rows.iter().find(|r| r.reason.is_some()) {
        Some(first) => Err(Failure {
            code: 3,
            message: format!(
                "profile `{}` failed its check: {}",
                first.name,
                first.reason.as_deref().unwrap_or_default()
            ),
        }),
        None => Ok(0),
    }
}

/// Builds the profile's provider (reading its secrets) and asks it to
/// check itself; the error text names what failed.
async fn check_one(profile: &Profile) -> Result<(), String> {
    let provider = crate::provider::build(profile).map_err(|e| e.to_string())?;
    provider.check().await.map_err(|e| e.to_string())
}

//! Shell integration: completion scripts and the manual page, both made
//! from the same clap command the CLI parses, so they never drift from it.

use super::args::Cli;
use super::stdout_error;
use crate::session::Failure;
use clap::CommandFactory;
use std::io::Write;

/// `--version`: the package version and the commit it was built from
/// (`unknown` outside a git checkout; see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ROOMWARDEN_COMMIT"),
    ")"
);

/// `roomwarden completions SHELL`: the completion script on stdout.
pub(super) fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<u8, Failure> {
    // Made in memory first: the generator panics on a failed write (a
    // closed pipe), which must end quietly instead.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "roomwarden", &mut script);
    out.write_all(&script).or_else(stdout_error)?;
    Ok(0)
}

/// `roomwarden man`: the manual page as roff on stdout (`man -l -` reads it).
pub(super) fn man(out: &mut dyn Write) -> Result<u8, Failure> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| Failure {
            code: 1,
            message: format!("cannot render the manual page: {e}"),
        })?;
    out.write_all(&page).or_else(stdout_error)?;
    Ok(0)
}

//! Names the commit the binary was built from, for `--version`:
//! `ROOMWARDEN_COMMIT` is `git rev-parse --short HEAD`, or `unknown` when
//! the source is not a git checkout (a crate tarball) or git is missing.
//! Cargo reruns this when HEAD or the branch it points at moves.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = if dir.join(".git").exists() {
        watch_head(&dir);
        git(&dir, &["rev-parse", "--short", "HEAD"])
    } else {
        // Not our own checkout: a parent directory's repository (a vendored
        // copy) would name the wrong commit.
        None
    };
    println!(
        "cargo:rustc-env=ROOMWARDEN_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".into())
    );
}

/// `git ARGS` in `dir`: its one line of output, if it ran and said one.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let line = text.trim();
    (out.status.success() && !line.is_empty() && !line.contains('\n')).then(|| line.to_string())
}

/// Reruns on a new commit or checkout: HEAD, the ref it names, and the
/// packed refs (a worktree's HEAD and the shared refs live apart, so git
/// itself says where each file is). Only files that exist are named: cargo
/// reruns every build for a missing one.
fn watch_head(dir: &Path) {
    let mut files = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(name) =
        git(dir, &["rev-parse", "--symbolic-full-name", "HEAD"]).filter(|n| n.starts_with("refs/"))
    {
        files.push(name);
    }
    for file in files {
        let Some(path) = git(dir, &["rev-parse", "--git-path", &file]).map(|p| dir.join(p)) else {
            continue;
        };
        // A packed ref has no file until the next commit writes one: watch
        // its directory then.
        let watched = if path.exists() {
            Some(path.as_path())
        } else {
            path.parent()
                .filter(|p| file.starts_with("refs/") && p.exists())
        };
        if let Some(p) = watched {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}

//! The files of one log: `audit.jsonl` is written; when it reaches the
//! rotation size it is renamed `audit.jsonl.N` (N one more than the
//! highest so far) and never written again, except by a writer that had it
//! open at that moment and has not noticed yet. `audit.jsonl.idx` caches
//! what `--unfinished` needs (see `index`).

use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};

/// One file of the log, with its identity and length when listed.
#[derive(Clone, Debug)]
pub(super) struct LogFile {
    pub path: PathBuf,
    /// Survives renames (the inode, on Unix); `None` where unknown.
    pub id: Option<u64>,
    pub len: u64,
}

/// A rotated file's number, if `name` is `<base>.<digits>`.
fn rotated_number(base: &str, name: &str) -> Option<u64> {
    let digits = name.strip_prefix(base)?.strip_prefix('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn base_name(path: &Path) -> io::Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a file name", path.display()),
            )
        })
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The rotated files' numbers and paths, oldest first.
pub(super) fn rotated(path: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let base = base_name(path)?;
    let entries = match fs::read_dir(dir_of(path)) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        if let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(|n| rotated_number(&base, n))
        {
            found.push((n, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Every file of the log that exists, oldest first (rotated, then `path`).
pub(super) fn list(path: &Path) -> io::Result<Vec<LogFile>> {
    let mut files = Vec::new();
    let paths = rotated(path)?
        .into_iter()
        .map(|(_, p)| p)
        .chain(std::iter::once(path.to_path_buf()));
    for p in paths {
        match fs::metadata(&p) {
            Ok(m) => files.push(LogFile {
                id: file_id(&m),
                len: m.len(),
                path: p,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(files)
}

/// `path` with `.suffix` appended to its file name.
pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.file_name().unwrap_or_default().to_owned();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

/// The index file beside the log.
pub(super) fn index_path(path: &Path) -> PathBuf {
    with_suffix(path, "idx")
}

/// What identifies a file across renames.
#[cfg(unix)]
pub(super) fn file_id(m: &Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    // Device and inode, folded: one directory's files share the device.
    Some(m.ino() ^ m.dev().rotate_left(48))
}

#[cfg(not(unix))]
pub(super) fn file_id(_: &Metadata) -> Option<u64> {
    None
}

/// Opens `path` for appending, created private (0600) when new, and made
/// private if it was not.
pub(super) fn open_append(path: &Path) -> io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.create(true).append(true).read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    make_private(&file)?;
    Ok(file)
}

/// Takes group and other access away from an open file.
#[cfg(unix)]
pub(crate) fn make_private(file: &fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn make_private(_: &fs::File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_files_are_base_dot_number_only() {
        assert_eq!(rotated_number("audit.jsonl", "audit.jsonl.7"), Some(7));
        assert_eq!(rotated_number("audit.jsonl", "audit.jsonl.12"), Some(12));
        for other in [
            "audit.jsonl",
            "audit.jsonl.",
            "audit.jsonl.idx",
            "audit.jsonl.1.tmp",
            "audit.jsonlx.1",
            "other.jsonl.1",
        ] {
            assert_eq!(rotated_number("audit.jsonl", other), None, "{other}");
        }
        assert_eq!(
            index_path(Path::new("/x/audit.jsonl")),
            Path::new("/x/audit.jsonl.idx")
        );
    }
}

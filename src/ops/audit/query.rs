//! Reading the log without loading it: every record in order (streamed),
//! the last N (read from the end), and the role a user had before their
//! latest removal or demote (read from the end until found). Results are
//! joined with their intents on the way.

use super::files;
use super::line::{Line, join};
use super::scan::{Backward, Forward};
use super::{Kind, Record, Skipped};
use crate::model::{Action, Role, RoomId, Status, UserId};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::path::{Path, PathBuf};

/// Every record of the log, oldest first, across rotated files; results
/// joined with their intents. Unreadable lines are skipped and listed in
/// [`Records::skipped`].
pub struct Records {
    files: VecDeque<PathBuf>,
    current: Option<(PathBuf, Forward)>,
    /// Intents waiting for their result.
    intents: HashMap<String, Record>,
    skipped: Vec<Skipped>,
    key: String,
}

/// Streams the whole log (see [`Records`]).
pub fn records(path: &Path) -> io::Result<Records> {
    Ok(Records {
        files: files::list(path)?.into_iter().map(|f| f.path).collect(),
        current: None,
        intents: HashMap::new(),
        skipped: Vec::new(),
        key: String::new(),
    })
}

impl Records {
    /// The unreadable lines met so far.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    fn next_record(&mut self) -> io::Result<Option<Record>> {
        loop {
            let Some((path, lines)) = &mut self.current else {
                let Some(path) = self.files.pop_front() else {
                    return Ok(None);
                };
                match Forward::open(&path, 0) {
                    Ok(lines) => self.current = Some((path, lines)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                continue;
            };
            let Some(line) = lines.next_line()? else {
                self.current = None;
                continue;
            };
            if line.bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let parsed = line.complete.then(|| Line::parse(line.bytes)).flatten();
            let Some(l) = parsed else {
                self.skipped.push(Skipped {
                    file: path.clone(),
                    offset: line.offset,
                });
                continue;
            };
            l.key_into(&mut self.key);
            let mut r = l.into_record();
            match r.kind {
                Kind::Intent => {
                    self.intents.insert(self.key.clone(), r.clone());
                }
                Kind::Result => {
                    if let Some(intent) = self.intents.remove(&self.key) {
                        join(&mut r, &intent);
                    }
                }
            }
            return Ok(Some(r));
        }
    }
}

impl Iterator for Records {
    type Item = io::Result<Record>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// Calls `f` with every line of the log that `wanted` lets through (it
/// sees the raw bytes), newest first, until `f` returns false; unreadable
/// lines go to `skipped`.
fn backwards(
    path: &Path,
    skipped: &mut Vec<Skipped>,
    wanted: impl Fn(&[u8]) -> bool,
    mut f: impl FnMut(Line<'_>) -> bool,
) -> io::Result<()> {
    for file in files::list(path)?.into_iter().rev() {
        let mut lines = match Backward::open(&file.path) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        while let Some(line) = lines.next_line()? {
            if line.bytes.iter().all(u8::is_ascii_whitespace)
                || (line.complete && !wanted(line.bytes))
            {
                continue;
            }
            match line.complete.then(|| Line::parse(line.bytes)).flatten() {
                Some(l) => {
                    if !f(l) {
                        return Ok(());
                    }
                }
                None => skipped.push(Skipped {
                    file: file.path.clone(),
                    offset: line.offset,
                }),
            }
        }
    }
    Ok(())
}

/// The last `n` records, oldest first, joined with their intents (which
/// are read further back where needed), and the unreadable lines met.
pub fn last(path: &Path, n: usize) -> io::Result<(Vec<Record>, Vec<Skipped>)> {
    let mut got: Vec<Record> = Vec::new();
    let mut skipped = Vec::new();
    // Results waiting for their intent: key -> positions in `got`.
    let mut need: HashMap<String, Vec<usize>> = HashMap::new();
    let mut key = String::new();
    if n > 0 {
        backwards(
            path,
            &mut skipped,
            |_| true,
            |l| {
                let collecting = got.len() < n;
                l.key_into(&mut key);
                let needs = l.needs_intent();
                let kind = l.kind;
                if kind == Kind::Intent && (collecting || need.contains_key(&key)) {
                    let intent = l.into_record();
                    for i in need.remove(&key).unwrap_or_default() {
                        join(&mut got[i], &intent);
                    }
                    if collecting {
                        got.push(intent);
                    }
                } else if collecting {
                    if needs {
                        need.entry(key.clone()).or_default().push(got.len());
                    }
                    got.push(l.into_record());
                }
                got.len() < n || !need.is_empty()
            },
        )?;
    }
    got.reverse();
    Ok((got, skipped))
}

/// Every record (intents and joined results) about the wanted (room,
/// user) pairs, in log order: what `resume` reads to tell a change its
/// crashed call made from one another call made. Streams the log.
pub fn history(path: &Path, wanted: &HashSet<Pair>) -> io::Result<(Vec<Record>, Vec<Skipped>)> {
    let mut got = Vec::new();
    if wanted.is_empty() {
        return Ok((got, Vec::new()));
    }
    let users: HashSet<&str> = wanted.iter().map(|(_, u)| u.as_str()).collect();
    let mut all = records(path)?;
    for r in all.by_ref() {
        let r = r?;
        if users.contains(r.user.as_str()) && wanted.contains(&(r.room.clone(), r.user.clone())) {
            got.push(r);
        }
    }
    Ok((got, all.skipped().to_vec()))
}

/// Where a removal or demote stands while its intent is not yet read.
#[derive(Clone, Copy)]
enum Candidate {
    Unknown,
    /// Not this profile's, or no role recorded.
    No,
    Yes(Role),
}

type Pair = (RoomId, UserId);

/// For undo: the role each wanted (room, user) had before the latest
/// removal or demote that `profile` on `provider` recorded as done, as
/// possibly done (an answer lost), or never answered (a crash) (room
/// ids of other providers or accounts may look the same and say nothing
/// about this room). Reads from the end and stops once every pair is
/// found.
pub fn roles_before(
    path: &Path,
    profile: &str,
    provider: &str,
    wanted: &HashSet<Pair>,
) -> io::Result<(HashMap<Pair, Role>, Vec<Skipped>)> {
    let mut found: HashMap<Pair, Role> = HashMap::new();
    let mut candidates: HashMap<Pair, Vec<Candidate>> = HashMap::new();
    let mut waiting: HashMap<String, (Pair, usize)> = HashMap::new();
    // Keys of the results read so far (newer lines): an intent without
    // one never got an answer.
    let mut answered: HashSet<String> = HashSet::new();
    let mut skipped = Vec::new();
    let users: HashSet<&str> = wanted.iter().map(|(_, u)| u.as_str()).collect();
    // With few users, lines that do not name one (as a JSON string) are
    // not decoded; a line that is not UTF-8 still is, to be reported.
    let needles: Option<Vec<Vec<u8>>> = (users.len() <= 8).then(|| {
        users
            .iter()
            .filter_map(|u| serde_json::to_vec(u).ok())
            .collect()
    });
    let names_one = |bytes: &[u8]| match &needles {
        None => true,
        Some(n) => n.iter().any(|n| contains(bytes, n)) || std::str::from_utf8(bytes).is_err(),
    };
    let mine = |l: &Line<'_>| {
        l.profile.as_deref() == Some(profile) && l.provider.as_deref() == Some(provider)
    };
    let mut key = String::new();
    if wanted.is_empty() {
        return Ok((found, skipped));
    }
    backwards(path, &mut skipped, names_one, |l| {
        if !users.contains(&*l.user) {
            return true;
        }
        let pair: Pair = (l.room.as_ref().into(), l.user.as_ref().into());
        if found.contains_key(&pair) || !wanted.contains(&pair) {
            return true;
        }
        if l.action == Action::Readd {
            return true;
        }
        l.key_into(&mut key);
        let done = matches!(
            (l.action, l.status),
            (Action::Remove, Some(Status::Removed)) | (Action::Demote, Some(Status::Demoted))
        ) || l
            .status
            .is_some_and(|s| crate::ops::may_have_acted(s, l.reason.as_deref()));
        if l.kind == Kind::Result {
            answered.insert(key.clone());
        }
        let list = candidates.entry(pair.clone()).or_default();
        match l.kind {
            Kind::Result if done => {
                let c = if l.needs_intent() {
                    waiting.insert(key.clone(), (pair.clone(), list.len()));
                    Candidate::Unknown
                } else if mine(&l) {
                    l.role.map_or(Candidate::No, Candidate::Yes)
                } else {
                    Candidate::No
                };
                list.push(c);
            }
            Kind::Intent => {
                let c = match (mine(&l), l.role) {
                    (true, Some(role)) => Candidate::Yes(role),
                    _ => Candidate::No,
                };
                if let Some((_, i)) = waiting.remove(&key) {
                    list[i] = c;
                } else if !answered.contains(&key) {
                    // No result at all: the process died with the call in
                    // flight, so the change may have happened.
                    list.push(c);
                }
            }
            Kind::Result => return true,
        }
        // The newest decided candidate wins once no newer one is unknown.
        for c in list.iter() {
            match c {
                Candidate::No => continue,
                Candidate::Unknown => break,
                Candidate::Yes(role) => {
                    found.insert(pair, *role);
                    break;
                }
            }
        }
        found.len() < wanted.len()
    })?;
    // Results whose intent was never found (unreadable, or in a deleted
    // file) say nothing either way: the newest known candidate wins.
    for (pair, list) in candidates {
        if let (false, Some(role)) = (
            found.contains_key(&pair),
            list.iter().find_map(|c| match c {
                Candidate::Yes(r) => Some(*r),
                _ => None,
            }),
        ) {
            found.insert(pair, role);
        }
    }
    Ok((found, skipped))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut from = 0;
    while let Some(i) = hay[from..].iter().position(|&b| b == first) {
        let at = from + i + 1;
        if hay[at..].starts_with(rest) {
            return true;
        }
        from = at;
    }
    false
}

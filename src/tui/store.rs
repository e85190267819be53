//! Compact member storage and the filter over it.
//!
//! Members arrive page by page; each page is kept as one shared chunk, so a
//! snapshot for a background filter is a cheap clone of a few pointers.

use crate::model::{Member, Role, UserId};
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

/// Every loaded member of a room, in provider order.
#[derive(Clone, Default)]
pub struct MemberStore {
    chunks: Vec<Arc<[Member]>>,
    /// Index of each chunk's first member.
    starts: Vec<u32>,
    len: usize,
}

impl fmt::Debug for MemberStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberStore({} members)", self.len)
    }
}

impl MemberStore {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push_page(&mut self, items: Vec<Member>) {
        if items.is_empty() {
            return;
        }
        self.starts.push(self.len as u32);
        self.len += items.len();
        self.chunks.push(items.into());
    }

    pub fn get(&self, i: u32) -> Option<&Member> {
        if i as usize >= self.len {
            return None;
        }
        let c = self.starts.partition_point(|s| *s <= i) - 1;
        self.chunks[c].get((i - self.starts[c]) as usize)
    }

    /// Members from index `from` on, with their indices.
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = (u32, &Member)> {
        self.chunks
            .iter()
            .zip(&self.starts)
            .filter(move |(c, s)| **s as usize + c.len() > from)
            .flat_map(move |(c, s)| {
                let skip = from.saturating_sub(*s as usize);
                c.iter()
                    .enumerate()
                    .skip(skip)
                    .map(move |(i, m)| (*s + i as u32, m))
            })
    }
}

/// A parsed filter: `role:admin` narrows by role, the rest matches id or
/// display name, case-insensitively. Field names and role names may be in
/// any case (`ROLE:Admin`); two roles (`role:admin role:owner`) show
/// members with either.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// The roles shown; empty: every role.
    pub roles: Vec<Role>,
    pub text: String,
}

impl Query {
    pub fn parse(s: &str) -> Self {
        let mut roles = Vec::new();
        let mut words = Vec::new();
        for w in s.split_whitespace() {
            let w = w.to_lowercase();
            let Some(p) = w.strip_prefix("role:") else {
                words.push(w);
                continue;
            };
            // `role:` alone narrows nothing yet; `role:adm` is admin (role
            // names match by prefix, so the list follows the typing).
            if p.is_empty() {
                continue;
            }
            match [Role::Owner, Role::Admin, Role::Member]
                .into_iter()
                .find(|r| r.as_str().starts_with(p))
            {
                Some(r) if !roles.contains(&r) => roles.push(r),
                Some(_) => {}
                None => words.push(w),
            }
        }
        Self {
            roles,
            text: words.join(" "),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.roles.is_empty() && self.text.is_empty()
    }

    pub fn matches(&self, m: &Member) -> bool {
        self.matches_parts(m.user.as_str(), m.name.as_deref(), m.role)
    }

    pub fn matches_parts(&self, id: &str, name: Option<&str>, role: Role) -> bool {
        if !self.roles.is_empty() && !self.roles.contains(&role) {
            return false;
        }
        self.text.is_empty()
            || id.contains(&self.text)
            || name.is_some_and(|n| contains_ci(n, &self.text))
    }
}

/// `needle` must be lower case already. ASCII case folding without
/// allocating; other text compares by exact lower-case match.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return true;
    }
    if n.len() > h.len() {
        return false;
    }
    if !needle.is_ascii() {
        return hay.to_lowercase().contains(needle);
    }
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Below this many members one thread filters; above, the work is split
/// across the cores (each thread takes a run of whole pages).
const PARALLEL_MIN: usize = 200_000;

/// The indices (from `from` on) of members matching `query` and not gone,
/// in order.
pub fn filter(store: &MemberStore, from: usize, query: &Query, gone: &HashSet<UserId>) -> Vec<u32> {
    filter_while(store, from, query, gone, &|| true).unwrap_or_default()
}

/// [`filter`], asking `go_on` before each page: `None` as soon as it says
/// no (a newer filter has replaced this one, so its scan stops instead
/// of taking the cores from the console).
pub fn filter_while(
    store: &MemberStore,
    from: usize,
    query: &Query,
    gone: &HashSet<UserId>,
    go_on: &(dyn Fn() -> bool + Sync),
) -> Option<Vec<u32>> {
    // The runs of members to look at: (index of the first, the members).
    let runs: Vec<(u32, &[Member])> = store
        .chunks
        .iter()
        .zip(&store.starts)
        .filter(|(c, s)| **s as usize + c.len() > from)
        .map(|(c, s)| {
            let skip = from.saturating_sub(*s as usize);
            (*s + skip as u32, &c[skip..])
        })
        .collect();
    let keep = |m: &Member| query.matches(m) && (gone.is_empty() || !gone.contains(&m.user));
    let scan = |runs: &[(u32, &[Member])]| -> Option<Vec<u32>> {
        let mut out = Vec::new();
        for (start, members) in runs {
            if !go_on() {
                return None;
            }
            out.extend(
                members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| keep(m))
                    .map(|(i, _)| start + i as u32),
            );
        }
        Some(out)
    };
    let total: usize = runs.iter().map(|(_, m)| m.len()).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if total < PARALLEL_MIN || threads < 2 || runs.len() < 2 {
        return scan(&runs);
    }
    // Split the runs into `threads` groups of about equal member counts.
    let share = total.div_ceil(threads);
    let mut groups: Vec<&[(u32, &[Member])]> = Vec::with_capacity(threads);
    let (mut begin, mut acc) = (0, 0);
    for (i, (_, m)) in runs.iter().enumerate() {
        acc += m.len();
        if acc >= share {
            groups.push(&runs[begin..=i]);
            begin = i + 1;
            acc = 0;
        }
    }
    if begin < runs.len() {
        groups.push(&runs[begin..]);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = groups.iter().map(|g| scope.spawn(|| scan(g))).collect();
        let mut out = Vec::new();
        for h in handles {
            out.extend(h.join().ok()??);
        }
        Some(out)
    })
}

/// How many members (from `from` on) are in `gone`.
pub fn count_gone(store: &MemberStore, from: usize, gone: &HashSet<UserId>) -> usize {
    if gone.is_empty() {
        return 0;
    }
    store
        .iter_from(from)
        .filter(|(_, m)| gone.contains(&m.user))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, name: &str, role: Role) -> Member {
        Member::new(id, Some(name), role)
    }

    #[test]
    fn the_parallel_filter_matches_the_plain_one_in_order() {
        let mut store = MemberStore::default();
        let mut all = Vec::new();
        for p in 0..300u32 {
            let page: Vec<Member> = (0..1_000u32)
                .map(|i| {
                    let n = p * 1_000 + i;
                    let name = if n % 7 == 0 { "Spam Bot" } else { "Ada" };
                    m(
                        &format!("7100{n:013}"),
                        name,
                        if n % 11 == 0 {
                            Role::Admin
                        } else {
                            Role::Member
                        },
                    )
                })
                .collect();
            all.extend(page.iter().cloned());
            store.push_page(page);
        }
        for (q, from) in [
            ("spam", 0),
            ("role:admin spam", 12_345),
            ("71000000000299", 0),
        ] {
            let query = Query::parse(q);
            let want: Vec<u32> = all
                .iter()
                .enumerate()
                .skip(from)
                .filter(|(_, x)| query.matches(x))
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(filter(&store, from, &query, &HashSet::new()), want, "{q}");
        }
    }

    #[test]
    fn a_filter_told_to_stop_gives_no_view_and_counts_gone_members() {
        let mut store = MemberStore::default();
        for p in 0..300u32 {
            store.push_page(
                (0..1_000u32)
                    .map(|i| m(&format!("7100{:013}", p * 1_000 + i), "Ada", Role::Member))
                    .collect(),
            );
        }
        let q = Query::parse("ada");
        let none = HashSet::new();
        assert_eq!(filter_while(&store, 0, &q, &none, &|| false), None);
        assert_eq!(filter_while(&store, 250_000, &q, &none, &|| false), None);
        // Stopped after a few pages, on every thread.
        let asked = std::sync::atomic::AtomicUsize::new(0);
        let few = || asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 5;
        assert_eq!(filter_while(&store, 0, &q, &none, &few), None);
        assert!(asked.into_inner() < 20);
        let all = filter_while(&store, 0, &q, &none, &|| true).unwrap();
        assert_eq!(all.len(), 300_000);
        let gone: HashSet<UserId> = [0u32, 5, 299_999]
            .iter()
            .map(|n| UserId::new(format!("7100{n:013}")))
            .collect();
        assert_eq!(count_gone(&store, 0, &gone), 3);
        assert_eq!(count_gone(&store, 6, &gone), 1);
        assert_eq!(count_gone(&store, 0, &none), 0);
    }

    #[test]
    fn store_indexes_across_chunks() {
        let mut s = MemberStore::default();
        s.push_page(vec![m("1", "a", Role::Owner), m("2", "b", Role::Member)]);
        s.push_page(vec![m("3", "c", Role::Member)]);
        assert_eq!(s.len(), 3);
        assert_eq!(s.get(2).unwrap().user.as_str(), "3");
        assert!(s.get(3).is_none());
        let ids: Vec<u32> = s.iter_from(1).map(|(i, _)| i).collect();
        assert_eq!(ids, vec![1, 2]);
    }

    #[test]
    fn query_matches_id_name_and_role() {
        let q = Query::parse("role:admin ALI");
        assert_eq!(q.roles, vec![Role::Admin]);
        assert!(q.matches(&m("7", "Alice", Role::Admin)));
        assert!(!q.matches(&m("7", "Alice", Role::Member)));
        assert!(Query::parse("77").matches(&m("1770", "x", Role::Member)));
        assert!(Query::parse("").is_empty());
    }
}

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
/// display name, case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub role: Option<Role>,
    pub text: String,
}

impl Query {
    pub fn parse(s: &str) -> Self {
        let mut role = None;
        let mut words = Vec::new();
        for w in s.split_whitespace() {
            match w.strip_prefix("role:").map(str::parse::<Role>) {
                Some(Ok(r)) => role = Some(r),
                _ => words.push(w.to_lowercase()),
            }
        }
        Self {
            role,
            text: words.join(" "),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.role.is_none() && self.text.is_empty()
    }

    pub fn matches(&self, m: &Member) -> bool {
        self.matches_parts(m.user.as_str(), m.name.as_deref(), m.role)
    }

    pub fn matches_parts(&self, id: &str, name: Option<&str>, role: Role) -> bool {
        if self.role.is_some_and(|r| r != role) {
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

/// The indices (from `from` on) of members matching `query` and not gone.
pub fn filter(store: &MemberStore, from: usize, query: &Query, gone: &HashSet<UserId>) -> Vec<u32> {
    store
        .iter_from(from)
        .filter(|(_, m)| query.matches(m) && (gone.is_empty() || !gone.contains(&m.user)))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, name: &str, role: Role) -> Member {
        Member::new(id, Some(name), role)
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
        assert_eq!(q.role, Some(Role::Admin));
        assert!(q.matches(&m("7", "Alice", Role::Admin)));
        assert!(!q.matches(&m("7", "Alice", Role::Member)));
        assert!(Query::parse("77").matches(&m("1770", "x", Role::Member)));
        assert!(Query::parse("").is_empty());
    }
}

//! Every decoder of untrusted bytes in this adapter, run over one body,
//! with the pure steps that follow it: the entry point of the fuzz tests
//! (`tests/fuzz.rs`). Nothing else calls it.

use super::wire::{
    Added, AdminChange, Affiliation, Envelope, OneOrMany, RemoveRow, RoomDetail, RoomItem,
    TokenResponse, truthy, value_text,
};
use super::{admin_set, errors, join_admins, parse_members_page, room_of, staff_of, to_room};
use crate::model::RoomId;
use std::collections::HashSet;

/// Reads `body` as every answer the adapter decodes (and as an error body
/// of every status it maps); returns how many decoded. Never panics.
#[doc(hidden)]
pub fn decode_any(body: &[u8]) -> usize {
    let mut ok = 0;
    let room = RoomId::from("66213271109633");
    if let Ok(env) = serde_json::from_slice::<Envelope<OneOrMany<RoomItem>>>(body) {
        ok += 1;
        let items = env.data.map(OneOrMany::into_vec).unwrap_or_default();
        ok += items.into_iter().filter_map(to_room).count();
    }
    if let Ok(env) = serde_json::from_slice::<Envelope<OneOrMany<RoomDetail>>>(body) {
        ok += 1;
        for d in env.data.map(OneOrMany::into_vec).unwrap_or_default() {
            let _ = room_of(&room, &d);
            let admins: HashSet<String> = ["u1".to_string(), "U2".to_string()].into();
            ok += staff_of(d, admins).len();
        }
    }
    if let Ok(env) = serde_json::from_slice::<Envelope<OneOrMany<serde_json::Value>>>(body) {
        ok += admin_set(env).len();
    }
    if let Ok(env) = serde_json::from_slice::<Envelope<OneOrMany<Affiliation>>>(body) {
        let rows = env.data.map(OneOrMany::into_vec).unwrap_or_default();
        ok += join_admins(rows, &["u1".to_string()].into()).len();
    }
    if let Ok(env) = serde_json::from_slice::<Envelope<OneOrMany<RemoveRow>>>(body) {
        for row in env.data.map(OneOrMany::into_vec).unwrap_or_default() {
            ok += usize::from(truthy(&row.result));
            ok += usize::from(row.reason.as_deref().is_some_and(errors::says_not_member));
        }
    }
    if let Ok(env) = serde_json::from_slice::<Envelope<Added>>(body) {
        ok += env
            .data
            .map(|a| a.newmembers.iter().filter_map(value_text).count())
            .unwrap_or(0);
    }
    if let Ok(env) = serde_json::from_slice::<Envelope<OneOrMany<AdminChange>>>(body) {
        for c in env.data.map(OneOrMany::into_vec).unwrap_or_default() {
            ok += usize::from(truthy(&c.result));
        }
    }
    if let Ok(t) = serde_json::from_slice::<TokenResponse>(body) {
        ok += usize::from(t.expires_in.is_some() || t.expire_timestamp.is_some());
    }
    if let Ok(members) = parse_members_page(body, body) {
        ok += members.len();
    }
    for status in [200, 400, 401, 403, 404, 413, 429, 500, 503] {
        let e = errors::from_response("DELETE /chatrooms/1/users", status, None, body);
        ok += usize::from(errors::is_not_member_refusal(&e))
            + usize::from(errors::is_owner_refusal(&e))
            + errors::max_size(&e).map_or(0, |_| 1)
            + errors::missing_user(&e).map_or(0, |_| 1)
            + errors::bracket_names(&e.message).map_or(0, |n| n.len());
    }
    ok
}

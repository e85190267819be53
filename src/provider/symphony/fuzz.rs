//! Every decoder of untrusted bytes in this adapter, run over one body,
//! with the pure steps that follow it: the entry point of the fuzz tests
//! (`tests/fuzz.rs`). Nothing else calls it.

use super::wire::{
    AdminStreamList, ErrorBody, MemberInfo, MembershipList, RoomDetail, SearchResults,
    StreamAttributes, SuccessResponse, Token,
};
use super::{canonical, error_from, from_admin, from_v2, room_from, says_already_member};
use crate::model::RoomId;

/// Reads `body` as every answer the adapter decodes (and as an error body
/// of every status it maps); returns how many decoded. Never panics.
#[doc(hidden)]
pub fn decode_any(body: &[u8]) -> usize {
    let mut ok = 0;
    if let Ok(found) = serde_json::from_slice::<SearchResults>(body) {
        ok += 1;
        for r in found.rooms {
            ok += r.room_system_info.id.map(canonical).map_or(0, |_| 1);
        }
    }
    if let Ok(streams) = serde_json::from_slice::<Vec<StreamAttributes>>(body) {
        for s in streams {
            ok += s.id.map(canonical).map_or(0, |_| 1);
        }
    }
    if let Ok(list) = serde_json::from_slice::<AdminStreamList>(body) {
        for s in list.streams.into_iter().filter(|s| s.is_room()) {
            ok += s.id.map(canonical).map_or(0, |_| 1);
        }
    }
    if let Ok(d) = serde_json::from_slice::<RoomDetail>(body) {
        ok += usize::from(room_from(&RoomId::from("a+b/c=="), d, Some(3)).active);
    }
    if let Ok(list) = serde_json::from_slice::<Vec<MemberInfo>>(body) {
        ok += from_v2(&list).len();
    }
    if let Ok(list) = serde_json::from_slice::<MembershipList>(body) {
        ok += from_admin(&list).len();
    }
    if let Ok(said) = serde_json::from_slice::<SuccessResponse>(body) {
        let m = said.message.unwrap_or_default();
        ok += usize::from(says_already_member(&m));
    }
    if let Ok(t) = serde_json::from_slice::<Token>(body) {
        ok += usize::from(!t.token.is_empty());
    }
    if serde_json::from_slice::<ErrorBody>(body).is_ok() {
        ok += 1;
    }
    for status in [200, 204, 400, 401, 403, 404, 429, 500, 503] {
        let e = error_from(
            "POST /pod/v1/room/{id}/membership/remove",
            status,
            None,
            body,
        );
        ok += usize::from(says_already_member(&e.message) || e.is_retryable());
    }
    ok
}

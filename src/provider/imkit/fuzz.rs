//! Every decoder of untrusted bytes in this adapter, run over one body,
//! with the pure steps that follow it: the entry point of the fuzz tests
//! (`tests/fuzz.rs`). Nothing else calls it.

use super::errors;
use super::room::{Snapshot, listed};
use super::wire::{RoomList, WireRoom};
use crate::model::{RoomId, UserId};
use crate::provider::http::Answer;

/// Reads `body` as every answer the adapter decodes, under every status it
/// maps; returns how many decoded. Never panics.
#[doc(hidden)]
pub fn decode_any(body: &[u8]) -> usize {
    let mut ok = 0;
    let keep = |s: String| s;
    let room = RoomId::from("room-1");
    for status in [200, 400, 401, 403, 404, 429, 500] {
        let answer = Answer {
            status,
            retry_after: None,
            body: body.to_vec(),
        };
        if let Ok(list) = errors::result::<RoomList>("GET /rooms", &answer, &keep) {
            ok += list.data.into_iter().filter_map(listed).count();
        }
        match errors::result::<WireRoom>("GET /rooms/:id", &answer, &keep) {
            Ok(w) => {
                let s = Snapshot::from_wire(&room, w);
                ok += s.staff().len();
                for m in &s.members {
                    ok += usize::from(s.in_managers(&m.user) || s.has_admin_role(&m.user));
                }
                ok += usize::from(s.role(&UserId::from("u1")).is_some());
            }
            Err(e) => ok += usize::from(e.retry_after().is_some()),
        }
        let e = errors::from_error("DELETE /rooms/:id/delete/members", &answer, &keep);
        ok += usize::from(e.is_retryable());
    }
    ok
}

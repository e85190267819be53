//! Every decoder of untrusted bytes in this adapter, run over one body,
//! with the pure steps that follow it: the entry point of the fuzz tests
//! (`tests/fuzz.rs`). Nothing else calls it.

use super::wire::{Channels, ErrorBody, Paging, Rooms};
use super::{channels, errors, rooms};
use crate::model::RoomId;

/// Reads `body` as every answer the adapter decodes (and as an error body
/// of every status it maps); returns how many decoded. Never panics.
#[doc(hidden)]
pub fn decode_any(body: &[u8]) -> usize {
    let mut ok = 0;
    let room = RoomId::from("channel-1");
    if let Ok(answer) = serde_json::from_slice::<Channels>(body) {
        ok += channels::members_of(answer, &room).len();
    }
    if let Ok(answer) = serde_json::from_slice::<Channels>(body) {
        ok += channels::entries(answer, &room).len();
    }
    if let Ok(answer) = serde_json::from_slice::<Channels>(body) {
        ok += usize::from(Paging::next(answer.paging).is_some());
        ok += answer.channels.into_iter().map(channels::room_of).count();
    }
    if let Ok(answer) = serde_json::from_slice::<Rooms>(body) {
        for r in &answer.rooms {
            let people = rooms::people(r, &answer.users);
            let _ = rooms::room_of(r, people.len());
            ok += people.len();
        }
        ok += usize::from(Paging::next(answer.paging).is_some());
    }
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        ok += e.details().len();
    }
    for status in [200, 400, 401, 403, 404, 429, 500, 503] {
        let e = errors::from_response("DELETE /api/v3/channels/{id}/users", status, None, body);
        ok += usize::from(errors::is_per_user_refusal(&e))
            + usize::from(errors::has_code(&e, errors::RATE_LIMITED));
    }
    ok
}

//! Every decoder of untrusted frames in this adapter, run over one frame,
//! with the pure steps that follow it: the entry point of the fuzz tests
//! (`tests/fuzz.rs`). Nothing else calls it.

use super::check_id;
use super::known::Shared;
use super::wire::{AdministratorsFrame, ChatDetails, ChatMemberFrame, Head};
use crate::model::RoomId;

/// Reads `frame` as every frame the adapter decodes, and as an event;
/// returns how many decoded. Never panics.
#[doc(hidden)]
pub fn decode_any(frame: &[u8]) -> usize {
    let mut ok = 0;
    let text = String::from_utf8_lossy(frame);
    let room = RoomId::from("90090684438172188");
    let shared = Shared::new(vec![room.clone()]);
    if let Ok(head) = serde_json::from_str::<Head>(&text) {
        ok += usize::from(head.reference.is_some() || head.error.is_some());
    }
    if let Ok(d) = serde_json::from_str::<ChatDetails>(&text) {
        let owner = d.chat.owner_id.map(|o| o.0.as_str().into());
        shared.set_chat(&room, owner, d.chat.member_count.map(|c| c.0));
        ok += usize::from(check_id(&d.chat.id.0).is_ok());
    }
    if let Ok(a) = serde_json::from_str::<AdministratorsFrame>(&text) {
        ok += a
            .inner
            .administrators
            .iter()
            .filter(|r| check_id(&r.id.0).is_ok())
            .count();
    }
    if let Ok(f) = serde_json::from_str::<ChatMemberFrame>(&text) {
        ok += shared.member_of(&room, &f.chat_member).map_or(0, |_| 1);
    }
    shared.on_frame(&text);
    ok + shared.members(&room).len() + shared.rooms().len()
}

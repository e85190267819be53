//! Streaming a room's members, page by page, in order. Page-number
//! providers get later pages fetched ahead, several at once, within the
//! profile's rate limit; cursor providers go one page after another.

use super::Engine;
use crate::model::{Member, Page, PageRequest, RoomId};
use crate::provider::{PageStyle, ProviderError};
use futures::StreamExt;

/// Pages fetched ahead at once on page-number providers.
pub const AHEAD: usize = 4;

impl Engine {
    /// Calls `sink` with every page of `room` in order until the last one
    /// or until `sink` returns false. The first page comes as soon as it
    /// arrives; an error ends the stream.
    pub async fn stream_members(
        &self,
        room: &RoomId,
        mut sink: impl FnMut(Page<Member>) -> bool,
    ) -> Result<(), ProviderError> {
        let size = self.caps.member_page_size;
        let first = PageRequest::sized(size);
        let page = self.members_page(room, first.clone()).await?;
        let Some(mut next) = page.next.clone() else {
            sink(page);
            return Ok(());
        };
        if !sink(page) {
            return Ok(());
        }
        let ahead = self.caps.page_style == PageStyle::Number
            && self.provider.page_token(1, size).is_some();
        if ahead {
            // Speculative windows of AHEAD pages; the first short page ends
            // the room, and the few pages asked beyond it are dropped.
            let mut index = 1u64;
            loop {
                let window: Vec<PageRequest> = (index..index + AHEAD as u64)
                    .filter_map(|i| self.provider.page_token(i, size).map(|t| first.next(t)))
                    .collect();
                index += AHEAD as u64;
                let mut pages = futures::stream::iter(window)
                    .map(|req| async move { self.members_page(room, req).await })
                    .buffered(AHEAD);
                while let Some(page) = pages.next().await {
                    let page = page?;
                    let last = page.next.is_none();
                    if !sink(page) || last {
                        return Ok(());
                    }
                }
            }
        }
        loop {
            let page = self.members_page(room, first.next(next)).await?;
            let follow = page.next.clone();
            if !sink(page) {
                return Ok(());
            }
            match follow {
                Some(t) => next = t,
                None => return Ok(()),
            }
        }
    }
}

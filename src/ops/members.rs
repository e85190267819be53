//! Streaming a room's members, page by page, in order. Page-number
//! providers get later pages fetched ahead, several at once, within the
//! profile's rate limit; cursor providers go one page after another.

use super::Engine;
use crate::model::{Member, Page, PageRequest, PageToken, RoomId};
use crate::provider::{PageStyle, ProviderError};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a whole member list is kept while it is paged through.
const WHOLE_KEEP: Duration = Duration::from_secs(5);

/// The whole member list of the room last asked for, from a provider that
/// answers whole lists ([`PageStyle::Whole`]), and when it was read.
#[derive(Default)]
pub(super) struct WholeLists {
    kept: Option<(RoomId, Instant, Arc<Vec<Member>>)>,
}

impl WholeLists {
    fn get(&self, room: &RoomId) -> Option<Arc<Vec<Member>>> {
        let (r, at, list) = self.kept.as_ref()?;
        (r == room && at.elapsed() < WHOLE_KEEP).then(|| list.clone())
    }
}

/// Pages fetched ahead at once on page-number providers.
pub const AHEAD: usize = 4;

impl Engine {
    /// A page sliced from the room's whole list: the first page asks the
    /// provider; later pages reuse its answer for a few seconds.
    pub(super) async fn whole_page(
        &self,
        room: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Member>, ProviderError> {
        let from = crate::provider::page_offset(self.provider.name(), "members", &page)?;
        let from = usize::try_from(from).unwrap_or(usize::MAX);
        let kept = if from == 0 {
            None
        } else {
            super::lock(&self.whole).get(room)
        };
        let list = match kept {
            Some(list) => list,
            None => {
                let whole = self
                    .read(|| self.provider.members(room, PageRequest::first()))
                    .await?;
                let list = Arc::new(whole.items);
                super::lock(&self.whole).kept = Some((room.clone(), Instant::now(), list.clone()));
                list
            }
        };
        let size = page.size.unwrap_or(self.caps.member_page_size).max(1) as usize;
        let start = from.min(list.len());
        let end = start.saturating_add(size).min(list.len());
        Ok(Page {
            items: list[start..end].to_vec(),
            next: (end < list.len()).then(|| PageToken(end.to_string())),
            total: Some(list.len() as u64),
        })
    }

    /// Drops the kept whole list (a change went through).
    pub(super) fn forget_whole(&self) {
        super::lock(&self.whole).kept = None;
    }

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

//! Streaming a room's members, page by page, in order. Page-number
//! providers get later pages fetched ahead, several at once, within the
//! profile's rate limit; cursor providers go one page after another.
//! A member already shown is never shown again (a provider whose order
//! shifts while it is paged through can repeat members), and the end says
//! how many were listed against the total the provider gave.

use super::Engine;
use crate::model::{Member, Page, PageRequest, PageToken, RoomId, UserId};
use crate::provider::{PageStyle, ProviderError};
use futures::StreamExt;
use std::collections::HashSet;
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

/// What a finished (or stopped) member stream showed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Members shown, each once.
    pub listed: u64,
    /// Members the provider sent again on a later page, not shown twice.
    pub repeated: u64,
    /// The room's member count as the provider gave it, if it did.
    pub total: Option<u64>,
    /// Whether the stream ran to the last page.
    pub complete: bool,
}

impl Listing {
    /// What to tell the moderator when the list and the room's count
    /// disagree (members came or went while it was read, or the provider's
    /// pages overlapped); `None` when they agree or the list was stopped.
    pub fn note(&self, provider: &str) -> Option<String> {
        if !self.complete {
            return None;
        }
        let repeated = (self.repeated > 0).then(|| {
            format!(
                "; {} member(s) came again on later pages and are shown once",
                self.repeated
            )
        });
        match self.total {
            Some(t) if t != self.listed => Some(format!(
                "{provider} listed {} members but gives the room's member count as {t} (members joined or left while the list was read, or its pages overlapped){}",
                self.listed,
                repeated.unwrap_or_default()
            )),
            _ => repeated.map(|r| format!("{provider} listed {} members{r}", self.listed)),
        }
    }
}

/// Drops members already shown from a page, counting them.
struct Seen {
    users: HashSet<UserId>,
    listing: Listing,
}

impl Seen {
    fn page(&mut self, mut page: Page<Member>) -> Page<Member> {
        let before = page.items.len();
        page.items.retain(|m| self.users.insert(m.user.clone()));
        self.listing.repeated += (before - page.items.len()) as u64;
        self.listing.listed += page.items.len() as u64;
        if page.total.is_some() {
            self.listing.total = page.total;
        }
        page
    }
}

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
    /// arrives; an error ends the stream. No member is passed twice; the
    /// answer says how many were listed against the provider's total.
    pub async fn stream_members(
        &self,
        room: &RoomId,
        mut sink: impl FnMut(Page<Member>) -> bool,
    ) -> Result<Listing, ProviderError> {
        let mut seen = Seen {
            users: HashSet::new(),
            listing: Listing::default(),
        };
        let mut sink = |page: Page<Member>| {
            let last = page.next.is_none();
            let more = sink(seen.page(page));
            seen.listing.complete = last;
            more
        };
        self.stream_pages(room, &mut sink).await?;
        Ok(seen.listing)
    }

    async fn stream_pages(
        &self,
        room: &RoomId,
        sink: &mut impl FnMut(Page<Member>) -> bool,
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

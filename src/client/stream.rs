//! [`TagsStream`]: every tag of a repository, by offset paging that stays
//! correct while tags are pushed or deleted.
//!
//! # Why the overlap
//!
//! The API pages only by `offset`. If tags are removed before the current
//! offset between two requests, the rest of the list moves back and a naive
//! pager silently skips the tags that slid across the page boundary; if tags
//! are added before it, the list moves forward and the pager sees some tags
//! twice. So every request after the first starts one tag early, at the last
//! tag already received:
//!
//! - the window's first tag is one already seen (it is *anchored*): nothing
//!   before the window can be a tag not yet seen, so the unseen tags of the
//!   window are yielded and paging goes on from its last tag;
//! - it is not (tags before the offset were removed, or the list shrank below
//!   it): the stream steps back a page and tries again, yielding nothing from
//!   the unanchored window, so tags still come in the server's order;
//! - tags are de-duplicated by `id`, so a forward shift only repeats tags the
//!   stream then drops.
//!
//! Paging stops when a window reaches the `total` of its own `Content-Range`
//! (or, without the header, at a short or empty page).

use std::collections::{HashSet, VecDeque};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use swr_filter::{Order, Page};

use super::{ListOptions, SwrClient, SwrError, TagPage, types::ShowReposTagResp};

/// How [`SwrClient::tags_stream`] pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagsStreamOptions {
    /// Tags per request, 2 to 1000 (values outside are clamped); default
    /// 1000, the API's maximum. One tag of each page after the first is the
    /// overlap, so a page brings up to `page_size - 1` new tags.
    pub page_size: u32,
    /// Sort order; default the server's, newest first (`updated_at desc`).
    pub order: Option<Order>,
    /// Only tags whose name contains this.
    pub tag: Option<String>,
}

impl Default for TagsStreamOptions {
    fn default() -> Self {
        TagsStreamOptions {
            page_size: swr_filter::MAX_LIMIT,
            order: None,
            tag: None,
        }
    }
}

type Fetch = Pin<Box<dyn Future<Output = Result<TagPage, SwrError>> + Send>>;

/// Every tag of a repository, in the server's order, each at most once.
///
/// What a caller sees while the repository changes during the stream:
///
/// - every tag that exists for the whole stream and keeps its place in the
///   order is yielded exactly once, and these come in the server's order;
/// - a tag pushed meanwhile is yielded if a page that is still to come holds
///   it: with the default newest-first order a new push lands in front and
///   is *not* yielded (it is newer than the stream), with `updated_at asc` it
///   comes last and is. After a step back it may come slightly out of place;
/// - a tag deleted meanwhile is yielded if the stream reached it first;
/// - a tag re-pushed meanwhile (its `updated_at` changes, so it moves) is
///   yielded at most once, at its old or its new place, or not at all if it
///   moved behind the stream.
///
/// Never skipping a tag is preferred over strict order for tags that change
/// during the stream: ordering them would mean trusting client-side sort
/// keys, and a tag that moves could then hide the tags it jumped over.
///
/// Each page request is retried per the client's policy; an error that
/// remains is yielded once and ends the stream. Implements
/// [`futures_core::Stream`]; [`next`](Self::next) is there for callers
/// without `StreamExt`.
pub struct TagsStream {
    client: SwrClient,
    namespace: String,
    repository: String,
    order: Option<Order>,
    tag: Option<String>,
    limit: u32,
    /// Offset of the next window.
    offset: u64,
    /// Offset of the window being fetched.
    fetching_at: u64,
    fetch: Option<Fetch>,
    seen: HashSet<i64>,
    ready: VecDeque<ShowReposTagResp>,
    total: Option<u64>,
    requests: u64,
    done: bool,
}

impl TagsStream {
    pub(super) fn new(
        client: SwrClient,
        namespace: &str,
        repository: &str,
        options: TagsStreamOptions,
    ) -> Self {
        TagsStream {
            client,
            namespace: namespace.to_owned(),
            repository: repository.to_owned(),
            order: options.order,
            tag: options.tag,
            limit: options.page_size.clamp(2, swr_filter::MAX_LIMIT),
            offset: 0,
            fetching_at: 0,
            fetch: None,
            seen: HashSet::new(),
            ready: VecDeque::new(),
            total: None,
            requests: 0,
            done: false,
        }
    }

    /// The next tag; `None` at the end.
    pub async fn next(&mut self) -> Option<Result<ShowReposTagResp, SwrError>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The repository's tag count as of the latest page (`Content-Range`),
    /// once the first page is in: for progress bars.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Page requests completed so far (retries not counted).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    fn start_fetch(&mut self) -> Fetch {
        let client = self.client.clone();
        let (namespace, repository) = (self.namespace.clone(), self.repository.clone());
        let options = ListOptions {
            page: Page::new(self.offset, self.limit).ok(),
            order: self.order,
            tag: self.tag.clone(),
            filter: None,
        };
        self.fetching_at = self.offset;
        let fetch = async move { client.list_tags(&namespace, &repository, &options).await };
        // On a tokio runtime the request runs as its own task, so the next
        // window downloads while the caller consumes this one (for 100,000
        // tags in 1000-tag pages that overlap took the stream from ~3.2 s to
        // the server's time); elsewhere it runs when polled.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => Box::pin(Prefetch(runtime.spawn(fetch))),
            Err(_) => Box::pin(fetch),
        }
    }

    /// Takes one window: queues its unseen tags, or steps back (see the
    /// module doc), and decides where the next one starts.
    fn take(&mut self, page: TagPage) {
        self.requests += 1;
        let offset = self.fetching_at;
        let limit = u64::from(self.limit);
        let total = page.total();
        if total.is_some() {
            self.total = total;
        }
        let anchored = offset == 0 || page.tags.first().is_some_and(|t| self.seen.contains(&t.id));
        if !anchored {
            self.offset = offset.saturating_sub(limit - 1);
            return;
        }
        let n = page.tags.len() as u64;
        for tag in page.tags {
            if self.seen.insert(tag.id) {
                self.ready.push_back(tag);
            }
        }
        let end = offset + n;
        let finished = n == 0
            || match total {
                Some(total) => end >= total,
                None => n < limit,
            };
        if finished {
            self.done = true;
        } else {
            // Start at the window's last tag; always move forward.
            self.offset = (end - 1).max(offset + 1);
        }
    }
}

impl Stream for TagsStream {
    type Item = Result<ShowReposTagResp, SwrError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(tag) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(tag)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let fetch = match &mut this.fetch {
                Some(f) => f,
                None => {
                    let f = this.start_fetch();
                    this.fetch.insert(f)
                }
            };
            let result = std::task::ready!(fetch.as_mut().poll(cx));
            this.fetch = None;
            match result {
                Ok(page) => {
                    this.take(page);
                    if !this.done {
                        // Ask for the next window now, before the caller
                        // drains this one.
                        let f = this.start_fetch();
                        this.fetch = Some(f);
                    }
                }
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.ready.len(), None)
    }
}

/// A page request running as its own task; dropping it (the stream was
/// dropped) cancels the request.
struct Prefetch(tokio::task::JoinHandle<Result<TagPage, SwrError>>);

impl Future for Prefetch {
    type Output = Result<TagPage, SwrError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|joined| {
            joined.unwrap_or_else(|e| match e.try_into_panic() {
                // As if it had run in the caller's task.
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => Err(SwrError::InvalidRequest(format!(
                    "the page request was cancelled: {e}"
                ))),
            })
        })
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for TagsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TagsStream")
            .field("namespace", &self.namespace)
            .field("repository", &self.repository)
            .field("offset", &self.offset)
            .field("seen", &self.seen.len())
            .field("total", &self.total)
            .field("done", &self.done)
            .finish()
    }
}

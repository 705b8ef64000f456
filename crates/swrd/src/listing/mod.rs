//! The listing service: "a page of a repository, or all of it" behind one
//! call, [`Listing::list`], which `api.rs` makes.
//!
//! A page comes from the [`PageCache`] when it can and from SQL otherwise:
//!
//! 1. the repository's version is read (one indexed point read, which also
//!    gives the 404s);
//! 2. the repository's order index is brought to that version or later
//!    (a delta of the tags changed since, or a first build), one refresh per
//!    repository at a time, requests waiting for it ([`INDEX_WAIT`] for a
//!    delta, [`BUILD_WAIT`] for a first build);
//! 3. the page's tags come from the serialized-tag cache, missing ones by id
//!    in a snapshot that proves they did not change since the index's
//!    version (if one did, the index moves forward and the page is selected
//!    again);
//! 4. only when the index is not ready in time, or the repository is too
//!    large to index, does SQL answer (`COUNT` + `OFFSET`), and at most
//!    [`SQL_BUDGET`] such queries run at once while the rest keep waiting for
//!    the index: a cold start or a burst of writes cannot pile the database
//!    up with scans.
//!
//! Every page a request gets is at the version it read or later, so a replica
//! never serves a page from before a write it could have seen. The whole
//! repository (no page asked) is streamed from SQL with flat memory.

mod cache;
mod chunked;
mod index;

use std::sync::{Arc, Once};
use std::time::Duration;

use futures_util::TryStreamExt as _;
use swr_api::ContentRange;
use swr_api::server::ListQuery;
use swr_api::server::support::JsonArray;
use swr_api::types::ShowReposTagResp;
use swr_filter::Page;
use tokio::sync::Semaphore;

pub use cache::{BODY_BUDGET, CachedPage, FRAGMENT_BUDGET, INDEX_BUDGET, PageCache, RefreshStats};
pub use index::{RepoIndex, Selection};

use crate::render::{Registry, render};
use crate::store::{AnyStore, RepositoryVersion, Store, StoreError, TagQuery};

/// How long a request waits for its repository's index to catch up (a
/// delta, milliseconds) before SQL may answer it instead.
pub const INDEX_WAIT: Duration = Duration::from_secs(1);
/// How long a request waits for the first build of its repository's index
/// (a cold start) before SQL may answer it instead. A million-tag index
/// builds in 1 to 2 s; SQL on such a repository costs a scan per request
/// (`COUNT`, `OFFSET`), slower than the build and competing with it for the
/// same cores, so under load everyone is served sooner by waiting.
pub const BUILD_WAIT: Duration = Duration::from_secs(5);
/// Page reads by SQL that may run at once in one process; the other requests
/// wait for the index.
pub const SQL_BUDGET: usize = 2;
/// Change-log entries are kept this long (seconds); an index that falls
/// further behind is rebuilt instead of brought forward.
pub const LOG_RETENTION_SECS: i64 = 600;

/// What [`Listing::list`] is asked: one caller's query of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    /// The caller's domain.
    pub domain_id: String,
    /// Namespace name.
    pub namespace: String,
    /// Repository name with `/` (not the wire's `$`).
    pub repository: String,
    /// Page, order and filter.
    pub query: ListQuery,
}

/// A page or a whole list, ready to send.
#[derive(Debug)]
pub struct Listed {
    /// The JSON array: pre-serialized (cache), items (SQL) or a stream.
    pub body: JsonArray<ShowReposTagResp>,
    /// `{offset}-{count}/{total}`.
    pub content_range: ContentRange,
}

/// The listing service of one store.
#[derive(Debug)]
pub struct Listing<S = AnyStore> {
    store: Arc<S>,
    registry: Registry,
    cache: Option<Arc<PageCache>>,
    sql_budget: Arc<Semaphore>,
    pruning: Once,
}

impl<S: Store> Listing<S> {
    /// The service over `store` with the default [`PageCache`].
    pub fn new(store: Arc<S>, registry: Registry) -> Self {
        Self::with_cache(store, registry, Some(Arc::new(PageCache::default())))
    }

    /// The service with `cache`, or with every page read by SQL.
    pub fn with_cache(store: Arc<S>, registry: Registry, cache: Option<Arc<PageCache>>) -> Self {
        Listing {
            store,
            registry,
            cache,
            sql_budget: Arc::new(Semaphore::new(SQL_BUDGET)),
            pruning: Once::new(),
        }
    }

    /// The page (or the whole list) `request` asks for. The work runs as its
    /// own task: when the client goes away, the read still ends cleanly
    /// (cancelling sqlx mid-transaction can return a pooled connection with
    /// an open transaction).
    pub async fn list(&self, request: ListRequest) -> Result<Listed, StoreError> {
        self.pruning.call_once(|| {
            if self.cache.is_some() {
                tokio::spawn(prune_change_log(self.store.clone()));
            }
        });
        let (store, registry, cache, budget) = (
            self.store.clone(),
            self.registry.clone(),
            self.cache.clone(),
            self.sql_budget.clone(),
        );
        let task = tokio::spawn(async move {
            let q = TagQuery {
                domain_id: &request.domain_id,
                namespace: &request.namespace,
                repository: &request.repository,
                order: request.query.order,
                tag_contains: request.query.tag.as_deref(),
                page: request.query.page,
            };
            match q.page {
                Some(page) => page_of(&store, &registry, cache.as_ref(), &budget, &q, page).await,
                None => everything(&store, registry, &q).await,
            }
        });
        task.await.unwrap_or_else(|e| {
            Err(StoreError::Io(std::io::Error::other(format!(
                "the listing task failed: {e}"
            ))))
        })
    }
}

/// One page: from the cache if it can, else from SQL within the budget.
async fn page_of<S: Store>(
    store: &Arc<S>,
    registry: &Registry,
    cache: Option<&Arc<PageCache>>,
    budget: &Semaphore,
    q: &TagQuery<'_>,
    page: Page,
) -> Result<Listed, StoreError> {
    let mut at = store.repository_version(q).await?;
    if let Some(cache) = cache {
        let mut wait = INDEX_WAIT;
        loop {
            if let Some(listed) = from_cache(store, registry, cache, q, page, &mut at, wait).await?
            {
                return Ok(listed);
            }
            // Not ready in time: SQL may answer, within the budget, unless
            // the index gets ready first.
            tokio::select! {
                permit = budget.acquire() => {
                    let _permit = permit.map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
                    metrics::counter!("swrd_page_cache_total", "outcome" => "sql").increment(1);
                    return from_sql(store, registry, q, page).await;
                }
                ready = cache.index_at_least(store, at, Duration::from_secs(30)) => {
                    if ready.is_none() {
                        // Too large to index: SQL, in turn.
                        let _permit = budget.acquire().await.map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
                        return from_sql(store, registry, q, page).await;
                    }
                    wait = Duration::ZERO;
                }
            }
        }
    }
    from_sql(store, registry, q, page).await
}

/// The page from the index, trying again (up to three times) when a tag on
/// it changed after the index's version; `None` when the index is not ready
/// within `wait`.
async fn from_cache<S: Store>(
    store: &Arc<S>,
    registry: &Registry,
    cache: &Arc<PageCache>,
    q: &TagQuery<'_>,
    page: Page,
    at: &mut RepositoryVersion,
    wait: Duration,
) -> Result<Option<Listed>, StoreError> {
    for _ in 0..3 {
        let Some(index) = cache.index_at_least(store, *at, wait).await else {
            return Ok(None);
        };
        if let Some(cached) = cache.page(&**store, registry, q, &index, page).await? {
            let content_range = ContentRange {
                offset: page.offset(),
                count: cached.count,
                total: cached.total,
            };
            return Ok(Some(Listed {
                body: JsonArray::Encoded(cached.body),
                content_range,
            }));
        }
        // Some tag moved on: the index must too.
        at.version = at.version.max(index.at.version + 1);
    }
    Ok(None)
}

async fn from_sql<S: Store>(
    store: &Arc<S>,
    registry: &Registry,
    q: &TagQuery<'_>,
    page: Page,
) -> Result<Listed, StoreError> {
    let p = store.list_tags(q).await?;
    let body: Vec<ShowReposTagResp> = p.records.into_iter().map(|r| render(registry, r)).collect();
    let content_range = ContentRange {
        offset: page.offset(),
        count: body.len() as u64,
        total: p.total,
    };
    Ok(Listed {
        body: JsonArray::Items(body),
        content_range,
    })
}

/// Every tag, streamed: the count is the total by construction.
async fn everything<S: Store>(
    store: &Arc<S>,
    registry: Registry,
    q: &TagQuery<'_>,
) -> Result<Listed, StoreError> {
    let stream = store.stream_tags(q).await?;
    let total = stream.total();
    Ok(Listed {
        body: JsonArray::stream(stream.map_ok(move |r| render(&registry, r))),
        content_range: ContentRange {
            offset: 0,
            count: total,
            total,
        },
    })
}

/// Every minute, forgets change-log entries older than
/// [`LOG_RETENTION_SECS`] (any replica may; the work is idempotent). The
/// first run waits a minute too: after a restart the log may hold a bulk
/// import's million entries, and deleting them would compete with the cold
/// start's index builds.
async fn prune_change_log<S: Store>(store: Arc<S>) {
    let every = Duration::from_secs(60);
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        every.tick().await;
        let cut = crate::store::time::now() - LOG_RETENTION_SECS;
        match store.prune_change_log(cut).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(entries = n, "change log pruned"),
            Err(e) => tracing::warn!(error = %e, "pruning the change log failed"),
        }
    }
}

//! [`PageCache`]: order indexes kept current by deltas, serialized tags and
//! whole page bodies.
//!
//! An index is brought forward, never thrown away, when its repository
//! changes: [`PageCache::index_at_least`] applies the change log since the
//! index's version ([`TagReads::index_delta`](crate::store::TagReads::index_delta)), or builds it from every row when
//! there is none yet (or the log was pruned past it). One refresh per
//! repository runs at a time, as its own task; requests for that repository
//! wait for it, so a cold or lagging index costs the database one read, not
//! one `COUNT` + `OFFSET` per waiting request.
//!
//! Memory is bounded: indexes by [`INDEX_BUDGET`] (least recently used go
//! first), serialized tags by [`FRAGMENT_BUDGET`], page bodies by
//! [`BODY_BUDGET`].

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use swr_filter::{Order, Page};

use super::BUILD_WAIT;
use super::index::RepoIndex;
use crate::render::{Registry, render};
use crate::store::{RepositoryVersion, Store, StoreError, TagQuery};

/// Default memory for order indexes: a 1,000,000-tag repository takes ~70 MiB.
pub const INDEX_BUDGET: usize = 256 << 20;
/// Default memory for serialized tags (a tag of the demo data is ~700 bytes).
pub const FRAGMENT_BUDGET: u64 = 32 << 20;
/// Default memory for whole page bodies: the pages asked for again and again
/// (a dashboard's first page) cost one lookup and no copy.
pub const BODY_BUDGET: u64 = 16 << 20;

/// One page served from the cache.
#[derive(Debug, Clone)]
pub struct CachedPage {
    /// Matching tags, ignoring the page.
    pub total: u64,
    /// Tags on the page.
    pub count: u64,
    /// The page: a JSON array of `ShowReposTagResp` objects.
    pub body: Bytes,
}

/// (repository, tag id, stamp): a tag's JSON as of the version its row was
/// last written at, valid until the tag itself changes.
type FragmentKey = (i64, i64, i64);
/// A whole page: repository, version, order, filter, offset, limit.
type PageKey = (i64, i64, Order, Option<Box<str>>, u64, u32);
/// A refresh in flight, awaited by every request for its repository.
type Flight = Shared<BoxFuture<'static, ()>>;

#[derive(Debug, Clone, Copy)]
struct ByLength;

impl quick_cache::Weighter<FragmentKey, Bytes> for ByLength {
    fn weight(&self, _: &FragmentKey, value: &Bytes) -> u64 {
        value.len() as u64 + 32
    }
}

#[derive(Debug, Clone, Copy)]
struct PageWeight;

impl quick_cache::Weighter<PageKey, CachedPage> for PageWeight {
    fn weight(&self, _: &PageKey, page: &CachedPage) -> u64 {
        page.body.len() as u64 + 64
    }
}

/// No index at the version asked for; `held`: an older one is (bringing it
/// forward is a delta, not a first build).
#[derive(Debug, Clone, Copy)]
struct Behind {
    held: bool,
}

/// How the indexes were brought up to date, since the cache was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshStats {
    /// Indexes built from every row.
    pub builds: u64,
    /// Indexes brought forward by a delta of the changed tags.
    pub deltas: u64,
}

/// Order indexes, serialized tags and page bodies of the repositories read.
pub struct PageCache {
    stats: Mutex<RefreshStats>,
    indexes: Mutex<HashMap<i64, Arc<RepoIndex>>>,
    flights: Mutex<HashMap<i64, Flight>>,
    /// Repositories whose index exceeded the budget, and at which version:
    /// not built again until they change.
    too_large: Mutex<HashMap<i64, i64>>,
    fragments: quick_cache::sync::Cache<FragmentKey, Bytes, ByLength>,
    bodies: quick_cache::sync::Cache<PageKey, CachedPage, PageWeight>,
    index_budget: usize,
    epoch: Instant,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache")
            .field("index_budget", &self.index_budget)
            .finish_non_exhaustive()
    }
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache::new(INDEX_BUDGET, FRAGMENT_BUDGET)
    }
}

impl PageCache {
    /// A cache holding at most `index_budget` bytes of indexes and
    /// `fragment_budget` bytes of serialized tags.
    pub fn new(index_budget: usize, fragment_budget: u64) -> Self {
        PageCache {
            stats: Mutex::default(),
            indexes: Mutex::default(),
            flights: Mutex::default(),
            too_large: Mutex::default(),
            fragments: quick_cache::sync::Cache::with_weighter(
                (fragment_budget / 512).max(16) as usize,
                fragment_budget,
                ByLength,
            ),
            bodies: quick_cache::sync::Cache::with_weighter(
                (BODY_BUDGET / 16_384) as usize,
                BODY_BUDGET,
                PageWeight,
            ),
            index_budget,
            epoch: Instant::now(),
        }
    }

    /// The index of `at.repo_id` at `at.version` or later, refreshing it if
    /// needed and waiting for that at most `wait` (at least [`BUILD_WAIT`]
    /// when no index of the repository is held: a first build); `None` when
    /// it is not ready by then (or the repository is too large to index).
    pub async fn index_at_least<S: Store>(
        self: &Arc<Self>,
        store: &Arc<S>,
        at: RepositoryVersion,
        wait: Duration,
    ) -> Option<Arc<RepoIndex>> {
        let mut deadline = None;
        loop {
            let held = match self.current(at) {
                Ok(index) => return Some(index),
                Err(Behind { held }) => held,
            };
            let deadline = *deadline.get_or_insert_with(|| {
                let wait = if held { wait } else { wait.max(BUILD_WAIT) };
                tokio::time::Instant::now() + wait
            });
            if self
                .too_large
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&at.repo_id)
                >= Some(&at.version)
            {
                return None;
            }
            let flight = self.refresh(store.clone(), at.repo_id);
            if tokio::time::timeout_at(deadline, flight).await.is_err() {
                metrics::counter!("swrd_page_cache_total", "outcome" => "wait_timeout")
                    .increment(1);
                return None;
            }
        }
    }

    /// How many builds and deltas kept the indexes current so far.
    pub fn stats(&self) -> RefreshStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The index of `at.repo_id` if it is at `at.version` or later.
    fn current(&self, at: RepositoryVersion) -> Result<Arc<RepoIndex>, Behind> {
        let indexes = self.indexes.lock().unwrap_or_else(PoisonError::into_inner);
        let index = indexes.get(&at.repo_id).ok_or(Behind { held: false })?;
        if index.at.version < at.version {
            return Err(Behind { held: true });
        }
        index
            .last_used
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        Ok(index.clone())
    }

    /// The refresh of `repo_id` in flight, or a new one: a delta from the
    /// index held, or a full build. It runs as its own task, so a request
    /// that goes away does not cancel it for the others.
    fn refresh<S: Store>(self: &Arc<Self>, store: Arc<S>, repo_id: i64) -> Flight {
        let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(flight) = flights.get(&repo_id) {
            return flight.clone();
        }
        let cache = self.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let outcome = cache.bring_forward(&*store, repo_id).await;
            match outcome {
                Ok(kind) => {
                    metrics::counter!("swrd_page_index_refreshes_total", "kind" => kind)
                        .increment(1);
                    tracing::debug!(repo_id, kind, elapsed = ?started.elapsed(), "page index refreshed");
                }
                Err(e) => tracing::warn!(repo_id, error = %e, "page index refresh failed"),
            }
            cache
                .flights
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&repo_id);
        });
        let flight = async move {
            let _ = task.await;
        }
        .boxed()
        .shared();
        flights.insert(repo_id, flight.clone());
        flight
    }

    /// One refresh; says which kind it was.
    async fn bring_forward<S: Store>(
        &self,
        store: &S,
        repo_id: i64,
    ) -> Result<&'static str, StoreError> {
        let held = self
            .indexes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&repo_id)
            .cloned();
        if let Some(held) = held.filter(|i| !i.is_fragmented())
            && let Some(delta) = store.index_delta(repo_id, held.at.version).await?
        {
            if delta.version == held.at.version {
                return Ok("current");
            }
            // A delta touching much of the repository costs more than a build.
            if delta.changed.len() <= held.len() / 8 + 1024 {
                let applied = if delta.changed.len() > 256 {
                    tokio::task::spawn_blocking(move || held.apply(&delta))
                        .await
                        .map_err(join_error)?
                } else {
                    held.apply(&delta)
                };
                if let Ok(index) = applied {
                    self.keep(index);
                    self.stats
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .deltas += 1;
                    return Ok("delta");
                }
            }
        }
        let started = Instant::now();
        let Some(rows) = store.index_rows(repo_id).await? else {
            return Ok("gone");
        };
        let read = started.elapsed();
        let index = tokio::task::spawn_blocking(move || RepoIndex::build(repo_id, rows))
            .await
            .map_err(join_error)?;
        let sorted = started.elapsed() - read;
        tracing::debug!(
            repo_id,
            tags = index.len(),
            ?read,
            ?sorted,
            "page index built"
        );
        self.keep(index);
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .builds += 1;
        Ok("build")
    }

    /// The page of `q` from `index`, or `None` when a tag on it changed after
    /// the index's version (bring the index forward and ask again).
    pub async fn page<S: Store>(
        &self,
        store: &S,
        registry: &Registry,
        q: &TagQuery<'_>,
        index: &RepoIndex,
        page: Page,
    ) -> Result<Option<CachedPage>, StoreError> {
        let at = index.at;
        // Keyed by version: a body cached at this version is this page.
        let key: PageKey = (
            at.repo_id,
            at.version,
            q.order,
            q.tag_contains.map(Box::from),
            page.offset(),
            page.limit(),
        );
        if let Some(cached) = self.bodies.get(&key) {
            metrics::counter!("swrd_page_cache_total", "outcome" => "hit").increment(1);
            return Ok(Some(cached));
        }
        let selection = index.select(q.order, q.tag_contains, page);
        let mut tags: Vec<Option<Bytes>> = selection
            .tags
            .iter()
            .map(|&(id, stamp)| self.fragments.get(&(at.repo_id, id, stamp)))
            .collect();
        let missing: Vec<i64> = selection
            .tags
            .iter()
            .zip(&tags)
            .filter(|(_, t)| t.is_none())
            .map(|(&(id, _), _)| id)
            .collect();
        if !missing.is_empty() {
            let Some(records) = store.tags_by_id(q, at, &missing).await? else {
                metrics::counter!("swrd_page_cache_total", "outcome" => "moved").increment(1);
                return Ok(None);
            };
            let stamps: HashMap<i64, i64> = selection.tags.iter().copied().collect();
            let mut fresh = HashMap::with_capacity(records.len());
            for record in records {
                let id = record.id;
                let Ok(json) = serde_json::to_vec(&render(registry, record)) else {
                    return Ok(None);
                };
                let json = Bytes::from(json);
                if let Some(&stamp) = stamps.get(&id) {
                    self.fragments.insert((at.repo_id, id, stamp), json.clone());
                }
                fresh.insert(id, json);
            }
            for (slot, (id, _)) in tags.iter_mut().zip(&selection.tags) {
                if slot.is_none() {
                    *slot = fresh.remove(id);
                }
            }
        }
        let Some(tags) = tags.into_iter().collect::<Option<Vec<_>>>() else {
            // A tag of the index is not in the table though the log says it
            // did not change: never guess.
            tracing::warn!(repo_id = at.repo_id, "page index and table disagree");
            return Ok(None);
        };
        metrics::counter!("swrd_page_cache_total", "outcome" => "hit").increment(1);
        let mut body = Vec::with_capacity(tags.iter().map(|t| t.len() + 1).sum::<usize>() + 2);
        body.push(b'[');
        for (i, tag) in tags.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(tag);
        }
        body.push(b']');
        let cached = CachedPage {
            total: selection.total,
            count: tags.len() as u64,
            body: Bytes::from(body),
        };
        self.bodies.insert(key, cached.clone());
        Ok(Some(cached))
    }

    /// Stores `index` unless a newer one is there, evicting the least recently
    /// used others to stay within the budget; `false` if it was not kept.
    pub(super) fn keep(&self, index: RepoIndex) -> bool {
        let size = index.bytes();
        if size > self.index_budget {
            tracing::info!(
                repo_id = index.at.repo_id,
                bytes = size,
                "repository too large for the page index budget; served by SQL"
            );
            self.too_large
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(index.at.repo_id, index.at.version);
            return false;
        }
        index
            .last_used
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        let mut indexes = self.indexes.lock().unwrap_or_else(PoisonError::into_inner);
        let repo_id = index.at.repo_id;
        if indexes
            .get(&repo_id)
            .is_some_and(|old| old.at.version > index.at.version)
        {
            return false;
        }
        indexes.insert(repo_id, Arc::new(index));
        let mut used: usize = indexes.values().map(|i| i.bytes()).sum();
        while used > self.index_budget {
            let Some((&victim, _)) = indexes
                .iter()
                .filter(|(id, _)| **id != repo_id)
                .min_by_key(|(_, i)| i.last_used.load(Ordering::Relaxed))
            else {
                break;
            };
            if let Some(evicted) = indexes.remove(&victim) {
                used -= evicted.bytes();
            }
        }
        metrics::gauge!("swrd_page_index_bytes").set(used as f64);
        true
    }
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Io(std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::IndexRows;

    #[test]
    fn the_budget_evicts_the_least_recently_used() {
        let build = |repo_id| {
            let mut rows = IndexRows::new(1);
            for (id, name) in [(1, "a"), (2, "b"), (3, "c")] {
                rows.push(id, name, 100).unwrap();
            }
            RepoIndex::build(repo_id, rows)
        };
        let one = build(1).bytes();
        let cache = PageCache::new(one * 2 + one / 2, 1 << 20);
        for repo_id in 1..=3 {
            assert!(cache.keep(build(repo_id)));
            std::thread::sleep(Duration::from_millis(2));
        }
        let at = |repo_id, version| RepositoryVersion { repo_id, version };
        assert!(cache.current(at(1, 1)).is_err(), "the oldest went");
        assert!(cache.current(at(2, 1)).is_ok());
        assert!(cache.current(at(3, 1)).is_ok());
        // A later version than the index holds is not an answer.
        assert!(cache.current(at(3, 2)).is_err());
    }
}

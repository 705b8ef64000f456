//! The page cache: 100-tag pages at any offset cost O(limit), not O(offset),
//! and no `COUNT(*)`.
//!
//! A repository's order and total change only when its tags are written, so
//! swrd keeps, per repository, an in-memory **order index** ([`RepoIndex`]:
//! every tag's id and name, sorted by `updated` and by `tag`) and the tags it
//! has served as **serialized JSON** (`ShowReposTagResp` objects, copied into
//! the response as they are). Neither is trusted blindly: every request reads
//! the repository's version (bumped by database triggers on any write to its
//! tags, migration 0004) and uses the index only if it was built at exactly
//! that version, and fetches missing rows in a transaction that checks the
//! version again. So a write through another replica, or by `swrd import`, is
//! seen by the very next request.
//!
//! A request that finds no index for the current version is answered by the
//! plain SQL path ([`Store::list_tags`]) while one background task per
//! repository builds the index: a write never makes a request wait for a
//! rebuild.
//!
//! Memory is bounded: indexes by [`INDEX_BUDGET`] (least recently used go
//! first; ~40 bytes per tag), serialized tags by [`FRAGMENT_BUDGET`], whole
//! page bodies by [`BODY_BUDGET`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::body::Bytes;
use swr_filter::{Order, OrderColumn, OrderType, Page};

use crate::api::{Registry, render};
use crate::store::{IndexRows, RepositoryVersion, Store, StoreError, TagQuery};

/// Default memory for order indexes: a 1,000,000-tag repository takes ~40 MiB.
pub const INDEX_BUDGET: usize = 256 << 20;
/// Default memory for serialized tags (a tag of the demo data is ~700 bytes).
pub const FRAGMENT_BUDGET: u64 = 32 << 20;

/// One repository's tags in both orders, at one version.
#[derive(Debug)]
pub struct RepoIndex {
    at: RepositoryVersion,
    ids: Vec<i64>,
    names: String,
    name_ends: Vec<u32>,
    /// Positions sorted by (`updated`, `id`) ascending.
    by_updated: Vec<u32>,
    /// Positions sorted by `tag` ascending (byte order; names are unique).
    by_tag: Vec<u32>,
    /// Recent `tag` filters, most recent first.
    filters: Mutex<Vec<FilterResult>>,
    last_used: AtomicU64,
}

/// What a page request selects from an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Tags matching the filter, ignoring the page.
    pub total: u64,
    /// Ids of the page, in order.
    pub ids: Vec<i64>,
}

impl RepoIndex {
    /// Sorts `rows` (read at `repo_id`'s version) into both orders.
    pub fn build(repo_id: i64, rows: IndexRows) -> RepoIndex {
        let n = u32::try_from(rows.len()).expect("IndexRows::push bounds the count below u32");
        let mut by_updated: Vec<u32> = (0..n).collect();
        by_updated.sort_unstable_by_key(|&i| (rows.updated[i as usize], rows.ids[i as usize]));
        let name = |i: u32| {
            let i = i as usize;
            let start = if i == 0 {
                0
            } else {
                rows.name_ends[i - 1] as usize
            };
            &rows.names.as_bytes()[start..rows.name_ends[i] as usize]
        };
        let mut by_tag: Vec<u32> = (0..n).collect();
        by_tag.sort_unstable_by(|&a, &b| name(a).cmp(name(b)));
        RepoIndex {
            at: RepositoryVersion {
                repo_id,
                version: rows.version,
            },
            ids: rows.ids,
            names: rows.names,
            name_ends: rows.name_ends,
            by_updated,
            by_tag,
            filters: Mutex::default(),
            last_used: AtomicU64::new(0),
        }
    }

    /// Heap bytes held.
    pub fn bytes(&self) -> usize {
        self.ids.capacity() * 8
            + self.names.capacity()
            + (self.name_ends.capacity() + self.by_updated.capacity() + self.by_tag.capacity()) * 4
            // Filter results: at most one more position per tag.
            + self.ids.len().max(1024) * 4
    }

    fn name(&self, pos: u32) -> &str {
        let i = pos as usize;
        let start = if i == 0 {
            0
        } else {
            self.name_ends[i - 1] as usize
        };
        &self.names[start..self.name_ends[i] as usize]
    }

    /// The page of `order`, among the tags whose name contains `contains`.
    pub fn select(&self, order: Order, contains: Option<&str>, page: Page) -> Selection {
        let all;
        let positions: &[u32] = match (contains, order.column) {
            (None, OrderColumn::UpdatedAt) => &self.by_updated,
            (None, OrderColumn::Tag) => &self.by_tag,
            (Some(needle), column) => {
                all = self.matching(column, needle);
                &all
            }
        };
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let limit = page.limit() as usize;
        let ids_of = |it: &mut dyn Iterator<Item = &u32>| -> Vec<i64> {
            it.skip(offset)
                .take(limit)
                .map(|&p| self.ids[p as usize])
                .collect()
        };
        let ids = match order.direction {
            OrderType::Asc => ids_of(&mut positions.iter()),
            OrderType::Desc => ids_of(&mut positions.iter().rev()),
        };
        Selection {
            total: positions.len() as u64,
            ids,
        }
    }

    /// Positions of the names containing `needle`, in `column`'s ascending
    /// order. One scan of every name (~10 ms for a million), then kept: a
    /// filter is usually paged through, and under load many clients ask for
    /// the same one.
    fn matching(&self, column: OrderColumn, needle: &str) -> Arc<Vec<u32>> {
        let mut filters = self.filters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = filters
            .iter()
            .position(|(c, n, _)| *c == column && n == needle)
        {
            let hit = filters.remove(i);
            let positions = hit.2.clone();
            filters.insert(0, hit);
            return positions;
        }
        drop(filters);
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        let ordered = match column {
            OrderColumn::UpdatedAt => &self.by_updated,
            OrderColumn::Tag => &self.by_tag,
        };
        let positions: Arc<Vec<u32>> = Arc::new(
            ordered
                .iter()
                .copied()
                .filter(|&p| finder.find(self.name(p).as_bytes()).is_some())
                .collect(),
        );
        let mut filters = self.filters.lock().unwrap_or_else(PoisonError::into_inner);
        // Another request may have scanned the same filter meanwhile.
        filters.retain(|(c, n, _)| !(*c == column && n == needle));
        filters.insert(0, (column, needle.to_owned(), positions.clone()));
        // Bounded: the few most recent filters, and no more positions in all
        // than the index has tags (another ~4 bytes per tag at most).
        let mut kept = 0;
        let mut keep = 0;
        for (_, _, p) in filters.iter() {
            if keep == MAX_FILTERS || kept + p.len() > self.ids.len().max(1024) {
                break;
            }
            kept += p.len();
            keep += 1;
        }
        filters.truncate(keep);
        positions
    }
}

/// A `tag` filter's result: (column, substring, the matching positions in the
/// column's ascending order).
type FilterResult = (OrderColumn, String, Arc<Vec<u32>>);

/// Filter results kept per index.
const MAX_FILTERS: usize = 16;

/// Weighs a serialized tag by its length.
#[derive(Debug, Clone, Copy)]
struct ByLength;

impl quick_cache::Weighter<FragmentKey, Bytes> for ByLength {
    fn weight(&self, _: &FragmentKey, value: &Bytes) -> u64 {
        value.len() as u64 + 32
    }
}

/// (repository, version, tag id): a serialized tag is valid at one version.
type FragmentKey = (i64, i64, i64);

/// Order indexes and serialized tags of the repositories being read.
pub struct PageCache {
    indexes: Mutex<HashMap<i64, Arc<RepoIndex>>>,
    building: Mutex<HashSet<i64>>,
    /// Repositories whose index exceeded the budget, and at which version:
    /// not rebuilt until they change.
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

/// A whole page: repository, version, order, filter, offset, limit.
type PageKey = (i64, i64, Order, Option<Box<str>>, u64, u32);

/// Weighs a cached page by its body.
#[derive(Debug, Clone, Copy)]
struct PageWeight;

impl quick_cache::Weighter<PageKey, CachedPage> for PageWeight {
    fn weight(&self, _: &PageKey, page: &CachedPage) -> u64 {
        page.body.len() as u64 + 64
    }
}

/// Default memory for whole page bodies: the pages asked for again and
/// again (a dashboard's first page) cost one lookup and no copy.
pub const BODY_BUDGET: u64 = 16 << 20;

impl PageCache {
    /// A cache holding at most `index_budget` bytes of indexes and
    /// `fragment_budget` bytes of serialized tags.
    pub fn new(index_budget: usize, fragment_budget: u64) -> Self {
        PageCache {
            indexes: Mutex::default(),
            building: Mutex::default(),
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

    /// The index of `at.repo_id` if it is at exactly `at.version`.
    fn current(&self, at: RepositoryVersion) -> Option<Arc<RepoIndex>> {
        let indexes = self.indexes.lock().unwrap_or_else(PoisonError::into_inner);
        let index = indexes.get(&at.repo_id).filter(|i| i.at == at)?;
        index
            .last_used
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        Some(index.clone())
    }

    /// The page of `q` at version `at`, or `None` when the cache cannot answer
    /// it (no index at that version yet, or the repository moved on while the
    /// rows were read): the caller then asks the store, and should call
    /// [`refresh`](Self::refresh).
    pub async fn page<S: Store>(
        &self,
        store: &S,
        registry: &Registry,
        q: &TagQuery<'_>,
        at: RepositoryVersion,
        page: Page,
    ) -> Result<Option<CachedPage>, StoreError> {
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
        let Some(index) = self.current(at) else {
            metrics::counter!("swrd_page_cache_total", "outcome" => "miss").increment(1);
            return Ok(None);
        };
        let selection = index.select(q.order, q.tag_contains, page);
        drop(index);
        let mut tags: Vec<Option<Bytes>> = selection
            .ids
            .iter()
            .map(|&id| self.fragments.get(&(at.repo_id, at.version, id)))
            .collect();
        let missing: Vec<i64> = selection
            .ids
            .iter()
            .zip(&tags)
            .filter(|(_, t)| t.is_none())
            .map(|(&id, _)| id)
            .collect();
        if !missing.is_empty() {
            let Some(records) = store.tags_by_id(q, at, &missing).await? else {
                metrics::counter!("swrd_page_cache_total", "outcome" => "moved").increment(1);
                return Ok(None);
            };
            let mut fresh = HashMap::with_capacity(records.len());
            for record in records {
                let id = record.id;
                let Ok(json) = serde_json::to_vec(&render(registry, record)) else {
                    return Ok(None);
                };
                let json = Bytes::from(json);
                self.fragments
                    .insert((at.repo_id, at.version, id), json.clone());
                fresh.insert(id, json);
            }
            for (slot, id) in tags.iter_mut().zip(&selection.ids) {
                if slot.is_none() {
                    *slot = fresh.remove(id);
                }
            }
        }
        let Some(tags) = tags.into_iter().collect::<Option<Vec<_>>>() else {
            // A row of the index is not in the table at the same version:
            // cannot happen while the triggers are in place; never guess.
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

    /// Builds the index of `at.repo_id` in the background unless a build is
    /// running or the repository was too large at that version.
    pub fn refresh<S: Store>(self: &Arc<Self>, store: Arc<S>, at: RepositoryVersion) {
        let repo_id = at.repo_id;
        let too_large = self
            .too_large
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if too_large.get(&repo_id) == Some(&at.version) {
            return;
        }
        drop(too_large);
        {
            let mut building = self.building.lock().unwrap_or_else(PoisonError::into_inner);
            if !building.insert(repo_id) {
                return;
            }
        }
        let cache = self.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = cache.rebuild(&*store, repo_id).await;
            cache
                .building
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&repo_id);
            match result {
                Ok(Some(tags)) => {
                    metrics::counter!("swrd_page_index_builds_total").increment(1);
                    tracing::debug!(repo_id, tags, elapsed = ?started.elapsed(), "page index built");
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(repo_id, error = %e, "page index build failed"),
            }
        });
    }

    /// Reads and sorts the index; returns its size, `None` if not kept.
    async fn rebuild<S: Store>(
        &self,
        store: &S,
        repo_id: i64,
    ) -> Result<Option<usize>, StoreError> {
        let Some(rows) = store.index_rows(repo_id).await? else {
            return Ok(None);
        };
        let index = tokio::task::spawn_blocking(move || RepoIndex::build(repo_id, rows))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
        let tags = index.ids.len();
        Ok(self.keep(index).then_some(tags))
    }

    /// Stores `index` unless a newer one is there, evicting the least recently
    /// used others to stay within the budget; `false` if it was not kept.
    fn keep(&self, index: RepoIndex) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn index(tags: &[(i64, &str, i64)]) -> RepoIndex {
        let mut rows = IndexRows::new(7);
        for &(id, name, updated) in tags {
            rows.push(id, name, updated).unwrap();
        }
        RepoIndex::build(1, rows)
    }

    fn page(offset: u64, limit: u32) -> Page {
        Page::new(offset, limit).unwrap()
    }

    const TAGS: &[(i64, &str, i64)] = &[
        (1, "v1", 100),
        (2, "v10", 300),
        (3, "latest", 300),
        (4, "v2", 200),
        (5, "B", 50),
    ];

    #[test]
    fn orders_match_the_sql_rules() {
        let idx = index(TAGS);
        let all = page(0, 100);
        let updated_desc = Order::new(OrderColumn::UpdatedAt, OrderType::Desc);
        // Ties on `updated` break by id, in the same direction.
        assert_eq!(idx.select(updated_desc, None, all).ids, [3, 2, 4, 1, 5]);
        let updated_asc = Order::new(OrderColumn::UpdatedAt, OrderType::Asc);
        assert_eq!(idx.select(updated_asc, None, all).ids, [5, 1, 4, 2, 3]);
        // Byte order: upper case before lower case.
        let tag_asc = Order::new(OrderColumn::Tag, OrderType::Asc);
        assert_eq!(idx.select(tag_asc, None, all).ids, [5, 3, 1, 2, 4]);
        let tag_desc = Order::new(OrderColumn::Tag, OrderType::Desc);
        assert_eq!(idx.select(tag_desc, None, all).ids, [4, 2, 1, 3, 5]);
    }

    #[test]
    fn pages_and_filters_count_every_match() {
        let idx = index(TAGS);
        let tag_asc = Order::new(OrderColumn::Tag, OrderType::Asc);
        let s = idx.select(tag_asc, None, page(1, 2));
        assert_eq!((s.total, s.ids), (5, vec![3, 1]));
        let s = idx.select(tag_asc, None, page(9, 2));
        assert_eq!((s.total, s.ids), (5, vec![]));
        let s = idx.select(tag_asc, Some("v1"), page(0, 1));
        assert_eq!((s.total, s.ids), (2, vec![1]));
        let s = idx.select(tag_asc, Some("v1"), page(1, 5));
        assert_eq!((s.total, s.ids), (2, vec![2]));
        // Case-sensitive, like instr/strpos.
        let s = idx.select(tag_asc, Some("b"), page(0, 5));
        assert_eq!((s.total, s.ids), (0, vec![]));
        let s = idx.select(tag_asc, Some("V"), page(0, 5));
        assert_eq!(s.total, 0);
    }

    #[test]
    fn an_empty_repository_has_empty_pages() {
        let idx = index(&[]);
        let s = idx.select(Order::default(), Some("x"), page(0, 10));
        assert_eq!((s.total, s.ids), (0, vec![]));
        let s = idx.select(Order::default(), None, page(0, 10));
        assert_eq!((s.total, s.ids), (0, vec![]));
    }

    #[test]
    fn the_budget_evicts_the_least_recently_used() {
        let one = index(TAGS);
        let budget = one.bytes() * 2 + one.bytes() / 2;
        let cache = PageCache::new(budget, 1 << 20);
        for repo_id in 1..=3 {
            let mut rows = IndexRows::new(1);
            for &(id, name, updated) in TAGS {
                rows.push(id, name, updated).unwrap();
            }
            assert!(cache.keep(RepoIndex::build(repo_id, rows)));
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let at = |repo_id| RepositoryVersion {
            repo_id,
            version: 1,
        };
        assert!(cache.current(at(1)).is_none(), "the oldest went");
        assert!(cache.current(at(2)).is_some());
        assert!(cache.current(at(3)).is_some());
        // Another version of a cached repository is not an answer.
        assert!(
            cache
                .current(RepositoryVersion {
                    repo_id: 3,
                    version: 2
                })
                .is_none()
        );
    }
}

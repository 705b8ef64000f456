//! [`RepoIndex`]: one repository's tags in both orders at one version, built
//! from every row once and then brought forward by deltas.
//!
//! Tags live in *slots* ordered by id (ids only grow, so a new tag is an
//! append; a deleted one leaves a tombstone until the next full build). Each
//! slot keeps the tag's id, name, `updated` and *stamp*: the version at which
//! its row was last read, so a serialized tag cached under (id, stamp) stays
//! valid until the tag itself changes. The two orders are [`OrderList`]s of
//! slot numbers. Applying a delta of k tags copies O(k) chunks and shares the
//! rest with the previous version, which readers may still hold.

use std::cmp::Ordering;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};

use swr_filter::{Order, OrderColumn, OrderType, Page};

use super::chunked::OrderList;
use crate::store::{IndexDelta, IndexRows, RepositoryVersion};

/// Slots per chunk of slot data.
const SLOTS: usize = 1024;

/// From this many tags up, a build sorts the tag order on a second thread.
const PARALLEL_SORT: usize = 50_000;

/// One tag as the index knows it.
#[derive(Debug, Clone)]
struct Slot {
    id: i64,
    updated: i64,
    stamp: i64,
    name: Box<str>,
    live: bool,
}

/// One repository's tags in both orders, at one version.
#[derive(Debug)]
pub struct RepoIndex {
    pub(super) at: RepositoryVersion,
    slots: Vec<Arc<Vec<Slot>>>,
    /// Slots sorted by (`updated`, `id`) ascending.
    by_updated: OrderList,
    /// Slots sorted by `tag` ascending (byte order; names are unique).
    by_tag: OrderList,
    tombstones: usize,
    /// Bytes of every slot's name, kept as slots change: [`RepoIndex::bytes`]
    /// runs on every refresh, and summing a million names there took 10 ms.
    name_bytes: usize,
    /// Recent `tag` filters, most recent first (of this version only).
    filters: Mutex<Vec<FilterResult>>,
    pub(super) last_used: AtomicU64,
}

/// What a page request selects from an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Tags matching the filter, ignoring the page.
    pub total: u64,
    /// (id, stamp) of the page's tags, in order.
    pub tags: Vec<(i64, i64)>,
}

/// Why a delta could not be applied: build the index again instead.
#[derive(Debug, PartialEq, Eq)]
pub struct NeedsRebuild;

impl RepoIndex {
    /// Sorts `rows` (read at `repo_id`'s version) into both orders.
    ///
    /// A cold start waits for this, so the sorts compare keys copied next to
    /// the slot numbers (`updated` and id; the first 8 bytes of the name)
    /// rather than following a pointer per comparison, and on a large
    /// repository the tag order is sorted on a second thread.
    pub fn build(repo_id: i64, rows: IndexRows) -> RepoIndex {
        let n = u32::try_from(rows.len()).expect("IndexRows::push bounds the count below u32");
        let name = |i: u32| {
            let i = i as usize;
            let start = if i == 0 {
                0
            } else {
                rows.name_ends[i - 1] as usize
            };
            &rows.names[start..rows.name_ends[i] as usize]
        };
        // Slot s holds row by_id[s]: slots are in id order.
        let mut by_id: Vec<u32> = (0..n).collect();
        if !rows.ids.is_sorted() {
            by_id.sort_unstable_by_key(|&i| rows.ids[i as usize]);
        }
        let sort_by_updated = || {
            let mut keys: Vec<(i64, i64, u32)> = (0..n)
                .map(|s| {
                    let i = by_id[s as usize] as usize;
                    (rows.updated[i], rows.ids[i], s)
                })
                .collect();
            keys.sort_unstable();
            let order: Vec<u32> = keys.into_iter().map(|(_, _, s)| s).collect();
            OrderList::from_sorted(&order)
        };
        let sort_by_tag = || {
            let mut keys: Vec<(u64, u32)> = (0..n)
                .map(|s| (name_prefix(name(by_id[s as usize])), s))
                .collect();
            keys.sort_unstable_by(|a, b| {
                a.0.cmp(&b.0).then_with(|| {
                    let (x, y) = (name(by_id[a.1 as usize]), name(by_id[b.1 as usize]));
                    x.as_bytes().cmp(y.as_bytes())
                })
            });
            let order: Vec<u32> = keys.into_iter().map(|(_, s)| s).collect();
            OrderList::from_sorted(&order)
        };
        let make_slots = || -> Vec<Arc<Vec<Slot>>> {
            by_id
                .chunks(SLOTS)
                .map(|chunk| {
                    Arc::new(
                        chunk
                            .iter()
                            .map(|&i| Slot {
                                id: rows.ids[i as usize],
                                updated: rows.updated[i as usize],
                                stamp: rows.version,
                                name: name(i).into(),
                                live: true,
                            })
                            .collect(),
                    )
                })
                .collect()
        };
        let (slots, by_updated, by_tag) = if rows.len() >= PARALLEL_SORT {
            std::thread::scope(|scope| {
                let by_tag = scope.spawn(sort_by_tag);
                let (slots, by_updated) = (make_slots(), sort_by_updated());
                let by_tag = by_tag
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (slots, by_updated, by_tag)
            })
        } else {
            (make_slots(), sort_by_updated(), sort_by_tag())
        };
        RepoIndex {
            at: RepositoryVersion {
                repo_id,
                version: rows.version,
            },
            slots,
            by_updated,
            by_tag,
            tombstones: 0,
            name_bytes: rows.names.len(),
            filters: Mutex::default(),
            last_used: AtomicU64::new(0),
        }
    }

    /// The repository and version the index is at.
    pub fn at(&self) -> RepositoryVersion {
        self.at
    }

    /// How many tags.
    pub fn len(&self) -> usize {
        self.by_updated.len()
    }

    /// No tags.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held, approximately.
    pub fn bytes(&self) -> usize {
        let slots = self.slot_count() * std::mem::size_of::<Slot>() + self.name_bytes;
        // Filter results: at most one more position per tag.
        slots + self.by_updated.bytes() + self.by_tag.bytes() + self.len().max(1024) * 4
    }

    /// Deleted tags still holding a slot; past a quarter of the live ones a
    /// full build is worth its cost.
    pub fn is_fragmented(&self) -> bool {
        self.tombstones > 1024 && self.tombstones > self.len() / 4
    }

    fn slot(&self, s: u32) -> &Slot {
        slot_in(&self.slots, s)
    }

    fn slot_count(&self) -> usize {
        self.slots.iter().map(|c| c.len()).sum()
    }

    /// The slot of `id`, if the index has ever seen it.
    fn find(&self, id: i64) -> Option<u32> {
        let chunk = self
            .slots
            .partition_point(|c| c.last().is_some_and(|s| s.id < id));
        let c = self.slots.get(chunk)?;
        let at = c.binary_search_by_key(&id, |s| s.id).ok()?;
        u32::try_from(chunk * SLOTS + at).ok()
    }

    /// This index brought to `delta.version`: removed tags leave their
    /// orders, changed ones move, new ones are appended. The result shares
    /// every unchanged chunk with `self`.
    pub fn apply(&self, delta: &IndexDelta) -> Result<RepoIndex, NeedsRebuild> {
        if delta.version < self.at.version {
            return Err(NeedsRebuild);
        }
        let mut next = RepoIndex {
            at: RepositoryVersion {
                repo_id: self.at.repo_id,
                version: delta.version,
            },
            slots: self.slots.clone(),
            by_updated: self.by_updated.clone(),
            by_tag: self.by_tag.clone(),
            tombstones: self.tombstones,
            name_bytes: self.name_bytes,
            filters: Mutex::default(),
            last_used: AtomicU64::new(0),
        };
        let rows = &delta.rows;
        let mut current = std::collections::HashMap::with_capacity(rows.len());
        for i in 0..rows.len() {
            let start = if i == 0 {
                0
            } else {
                rows.name_ends[i - 1] as usize
            };
            current.insert(
                rows.ids[i],
                (
                    &rows.names[start..rows.name_ends[i] as usize],
                    rows.updated[i],
                ),
            );
        }
        for &id in &delta.changed {
            let old = next.find(id).filter(|&s| next.slot(s).live);
            if let Some(s) = old {
                next.unlink(s);
            }
            match (current.get(&id), old) {
                (Some(&(name, updated)), Some(s)) => {
                    next.name_bytes = next.name_bytes - next.slot(s).name.len() + name.len();
                    next.write(s, |slot| {
                        slot.name = name.into();
                        slot.updated = updated;
                        slot.stamp = delta.version;
                    });
                    next.link(s);
                }
                (Some(&(name, updated)), None) => {
                    // Ids only grow; one below the last slot (an id given
                    // by hand, or a tag that came back) needs a rebuild.
                    if next
                        .slots
                        .last()
                        .and_then(|c| c.last())
                        .is_some_and(|last| last.id >= id)
                    {
                        return Err(NeedsRebuild);
                    }
                    next.name_bytes += name.len();
                    let s = next.append(Slot {
                        id,
                        updated,
                        stamp: delta.version,
                        name: name.into(),
                        live: true,
                    })?;
                    next.link(s);
                }
                (None, Some(s)) => {
                    next.write(s, |slot| slot.live = false);
                    next.tombstones += 1;
                }
                (None, None) => {}
            }
        }
        Ok(next)
    }

    fn write(&mut self, s: u32, f: impl FnOnce(&mut Slot)) {
        let s = s as usize;
        f(&mut Arc::make_mut(&mut self.slots[s / SLOTS])[s % SLOTS]);
    }

    fn append(&mut self, slot: Slot) -> Result<u32, NeedsRebuild> {
        let n = u32::try_from(self.slot_count()).map_err(|_| NeedsRebuild)?;
        match self.slots.last_mut() {
            Some(last) if last.len() < SLOTS => Arc::make_mut(last).push(slot),
            _ => self.slots.push(Arc::new(vec![slot])),
        }
        Ok(n)
    }

    /// Takes slot `s` out of both orders (by its current data).
    fn unlink(&mut self, s: u32) {
        let slots = &self.slots;
        self.by_updated.remove(s, by_updated(slots, s));
        self.by_tag.remove(s, by_tag(slots, s));
    }

    /// Puts slot `s` into both orders (by its current data).
    fn link(&mut self, s: u32) {
        let slots = &self.slots;
        self.by_updated.insert(s, by_updated(slots, s));
        self.by_tag.insert(s, by_tag(slots, s));
    }

    /// The page of `order`, among the tags whose name contains `contains`.
    pub fn select(&self, order: Order, contains: Option<&str>, page: Page) -> Selection {
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let limit = page.limit() as usize;
        let (total, slots) = match contains {
            None => {
                let list = match order.column {
                    OrderColumn::UpdatedAt => &self.by_updated,
                    OrderColumn::Tag => &self.by_tag,
                };
                let n = list.len();
                let slots = match order.direction {
                    OrderType::Asc => list.range(offset, offset.saturating_add(limit)),
                    OrderType::Desc => {
                        let end = n.saturating_sub(offset);
                        let mut s = list.range(end.saturating_sub(limit), end);
                        s.reverse();
                        s
                    }
                };
                (n, slots)
            }
            Some(needle) => {
                let all = self.matching(order.column, needle);
                let slots: Vec<u32> = match order.direction {
                    OrderType::Asc => all.iter().skip(offset).take(limit).copied().collect(),
                    OrderType::Desc => all.iter().rev().skip(offset).take(limit).copied().collect(),
                };
                (all.len(), slots)
            }
        };
        Selection {
            total: total as u64,
            tags: slots
                .into_iter()
                .map(|s| (self.slot(s).id, self.slot(s).stamp))
                .collect(),
        }
    }

    /// Slots of the names containing `needle`, in `column`'s ascending order.
    /// One scan of every name (~10 ms for a million), then kept for this
    /// version: a filter is usually paged through, and under load many
    /// clients ask for the same one.
    fn matching(&self, column: OrderColumn, needle: &str) -> Arc<Vec<u32>> {
        let mut filters = self.filters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = filters
            .iter()
            .position(|(c, n, _)| *c == column && n == needle)
        {
            let hit = filters.remove(i);
            let slots = hit.2.clone();
            filters.insert(0, hit);
            return slots;
        }
        drop(filters);
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        let ordered = match column {
            OrderColumn::UpdatedAt => &self.by_updated,
            OrderColumn::Tag => &self.by_tag,
        };
        let slots: Arc<Vec<u32>> = Arc::new(
            ordered
                .iter()
                .filter(|&s| finder.find(self.slot(s).name.as_bytes()).is_some())
                .collect(),
        );
        let mut filters = self.filters.lock().unwrap_or_else(PoisonError::into_inner);
        filters.retain(|(c, n, _)| !(*c == column && n == needle));
        filters.insert(0, (column, needle.to_owned(), slots.clone()));
        // Bounded: the few most recent filters, and no more slots in all
        // than the index has tags.
        let (mut kept, mut keep) = (0, 0);
        for (_, _, p) in filters.iter() {
            if keep == MAX_FILTERS || kept + p.len() > self.len().max(1024) {
                break;
            }
            kept += p.len();
            keep += 1;
        }
        filters.truncate(keep);
        slots
    }
}

fn slot_in(slots: &[Arc<Vec<Slot>>], s: u32) -> &Slot {
    let s = s as usize;
    &slots[s / SLOTS][s % SLOTS]
}

/// Orders any slot against slot `s` by (`updated`, `id`).
fn by_updated(slots: &[Arc<Vec<Slot>>], s: u32) -> impl Fn(u32) -> Ordering + '_ {
    let key = (slot_in(slots, s).updated, slot_in(slots, s).id);
    move |other| {
        let o = slot_in(slots, other);
        (o.updated, o.id).cmp(&key)
    }
}

/// Orders any slot against slot `s` by name bytes.
fn by_tag(slots: &[Arc<Vec<Slot>>], s: u32) -> impl Fn(u32) -> Ordering + '_ {
    let key = slot_in(slots, s).name.as_bytes();
    move |other| slot_in(slots, other).name.as_bytes().cmp(key)
}

/// A `tag` filter's result: (column, substring, the matching slots in the
/// column's ascending order).
type FilterResult = (OrderColumn, String, Arc<Vec<u32>>);

/// The first 8 bytes of `name`, zero-padded, as a number: ordering these
/// orders the names by their first 8 bytes (equal prefixes compare whole).
fn name_prefix(name: &str) -> u64 {
    let mut prefix = [0u8; 8];
    let bytes = name.as_bytes();
    let n = bytes.len().min(8);
    prefix[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(prefix)
}

/// Filter results kept per index.
const MAX_FILTERS: usize = 16;

#[cfg(test)]
mod tests;

//! [`OrderList`]: a sorted sequence of slot numbers with position lookup in
//! O(log n) and insertion or removal in O(chunk + n / chunk), shared
//! copy-on-write between the versions of an index.
//!
//! A plain sorted `Vec<u32>` answers "the item at position p" in O(1) but
//! every insertion moves half of it, and an index that changes must be copied
//! whole (a million positions: 4 MB) so readers of the old version keep
//! theirs. Here the sequence is cut into chunks behind `Arc`s: a new version
//! clones the chunk pointers (a few thousand) and copies only the chunks it
//! changes.

use std::cmp::Ordering;
use std::sync::Arc;

/// Target chunk length; a chunk splits at twice this and is dropped empty.
const CHUNK: usize = 1024;

/// Slot numbers, sorted by a comparator the caller supplies on each change.
#[derive(Debug, Clone, Default)]
pub struct OrderList {
    chunks: Vec<Arc<Vec<u32>>>,
    /// `starts[i]`: how many items precede chunk `i`.
    starts: Vec<usize>,
    len: usize,
}

impl OrderList {
    /// From an already sorted sequence.
    pub fn from_sorted(items: &[u32]) -> Self {
        let chunks: Vec<Arc<Vec<u32>>> =
            items.chunks(CHUNK).map(|c| Arc::new(c.to_vec())).collect();
        let mut list = OrderList {
            chunks,
            starts: Vec::new(),
            len: items.len(),
        };
        list.recount();
        list
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes held (chunks counted whole, shared or not).
    pub fn bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| c.capacity() * 4 + 16)
            .sum::<usize>()
            + self.starts.capacity() * 8
    }

    fn recount(&mut self) {
        self.starts.clear();
        let mut at = 0;
        for c in &self.chunks {
            self.starts.push(at);
            at += c.len();
        }
        self.len = at;
    }

    /// The chunk holding position `pos` and the position within it.
    fn locate(&self, pos: usize) -> (usize, usize) {
        let chunk = self.starts.partition_point(|&s| s <= pos) - 1;
        (chunk, pos - self.starts[chunk])
    }

    /// Items at positions `from..to` (clamped), ascending.
    pub fn range(&self, from: usize, to: usize) -> Vec<u32> {
        let to = to.min(self.len);
        if from >= to {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(to - from);
        let (mut chunk, mut at) = self.locate(from);
        while out.len() < to - from {
            let c = &self.chunks[chunk];
            let take = (c.len() - at).min(to - from - out.len());
            out.extend_from_slice(&c[at..at + take]);
            chunk += 1;
            at = 0;
        }
        out
    }

    /// Every item, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.chunks.iter().flat_map(|c| c.iter().copied())
    }

    /// The first position whose item is not `Less` than the target, per
    /// `cmp(item)` (which orders an item against the target).
    fn lower_bound(&self, cmp: &impl Fn(u32) -> Ordering) -> (usize, usize) {
        // The first chunk whose last item is not less than the target.
        let chunk = self
            .chunks
            .partition_point(|c| c.last().is_some_and(|&last| cmp(last) == Ordering::Less));
        if chunk == self.chunks.len() {
            return (chunk, 0);
        }
        let at = self.chunks[chunk].partition_point(|&item| cmp(item) == Ordering::Less);
        (chunk, at)
    }

    /// Inserts `slot` where `cmp` (item against the new slot) puts it.
    pub fn insert(&mut self, slot: u32, cmp: impl Fn(u32) -> Ordering) {
        let (mut chunk, mut at) = self.lower_bound(&cmp);
        if chunk == self.chunks.len() {
            match self.chunks.last() {
                Some(last) if last.len() < 2 * CHUNK => {
                    chunk -= 1;
                    at = last.len();
                }
                _ => {
                    self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
                    at = 0;
                }
            }
        }
        let c = Arc::make_mut(&mut self.chunks[chunk]);
        c.insert(at, slot);
        if c.len() >= 2 * CHUNK {
            let tail = c.split_off(CHUNK);
            self.chunks.insert(chunk + 1, Arc::new(tail));
        }
        self.recount();
    }

    /// Removes `slot`, found where `cmp` (item against it) puts it; `false`
    /// if it is not there.
    pub fn remove(&mut self, slot: u32, cmp: impl Fn(u32) -> Ordering) -> bool {
        let (chunk, at) = self.lower_bound(&cmp);
        if chunk == self.chunks.len() || self.chunks[chunk].get(at) != Some(&slot) {
            return false;
        }
        let c = Arc::make_mut(&mut self.chunks[chunk]);
        c.remove(at);
        if c.is_empty() {
            self.chunks.remove(chunk);
        }
        self.recount();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys by slot: the list sorts slots by `keys[slot]`.
    fn check(list: &OrderList, keys: &[i64]) {
        let items: Vec<u32> = list.iter().collect();
        assert_eq!(items.len(), list.len());
        assert!(
            items
                .windows(2)
                .all(|w| keys[w[0] as usize] <= keys[w[1] as usize])
        );
        for from in [0, 1, list.len() / 2, list.len().saturating_sub(3)] {
            assert_eq!(
                list.range(from, from + 5),
                items[from.min(items.len())..(from + 5).min(items.len())]
            );
        }
    }

    #[test]
    fn inserts_and_removes_keep_the_order_across_chunks() {
        // A fixed linear congruential sequence: repeatable keys with ties.
        let mut x: u64 = 7;
        let mut keys: Vec<i64> = (0..5000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 33) % 1000) as i64
            })
            .collect();
        let mut sorted: Vec<u32> = (0..2500).collect();
        sorted.sort_by_key(|&s| (keys[s as usize], s));
        let mut list = OrderList::from_sorted(&sorted);
        let before = list.clone();
        check(&list, &keys);
        let by = |keys: &[i64], slot: u32| {
            let key = (keys[slot as usize], slot);
            let keys = keys.to_vec();
            move |item: u32| (keys[item as usize], item).cmp(&key)
        };
        for slot in 2500..5000u32 {
            list.insert(slot, by(&keys, slot));
        }
        check(&list, &keys);
        assert_eq!(list.len(), 5000);
        for slot in (0..5000u32).step_by(3) {
            assert!(list.remove(slot, by(&keys, slot)), "{slot}");
        }
        assert!(!list.remove(0, by(&keys, 0)), "already gone");
        check(&list, &keys);
        // A slot whose key changes moves.
        let slot = 1;
        assert!(list.remove(slot, by(&keys, slot)));
        keys[slot as usize] = 5000;
        list.insert(slot, by(&keys, slot));
        assert_eq!(list.iter().last(), Some(slot));
        // The version cloned before is untouched.
        assert_eq!(before.len(), 2500);
        assert_eq!(before.iter().collect::<Vec<_>>(), sorted);
    }
}

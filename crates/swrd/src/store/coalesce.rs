//! Coalesced point reads: concurrent requests for the same key share one
//! database round trip, and each still sees every write committed before it
//! arrived.
//!
//! On PostgreSQL a cached page costs two round trips (token, repository
//! version), and the profile put a third of the machine in the postgres
//! backends answering them. With N requests in flight for one key, one query
//! serves them all. Freshness is kept by only ever joining a query that has
//! **not started yet**: a request that finds a read of its key in flight
//! waits for the *next* one, which starts after that read ends, so after the
//! request arrived; a request that finds none starts one. A write committed
//! before a request arrived is therefore always in the answer it gets, exactly
//! as with a query of its own.
//!
//! The query runs in a spawned task, so a request that is dropped mid-way
//! (client gone, deadline) never strands the requests waiting on it.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::Notify;

/// One query's answer, shared by every request that joined it.
struct Batch<V> {
    result: OnceLock<V>,
    wake: Notify,
}

impl<V> Batch<V> {
    fn new() -> Arc<Self> {
        Arc::new(Batch {
            result: OnceLock::new(),
            wake: Notify::new(),
        })
    }
}

/// A key's state: whether a query runs, and who waits for the next one.
struct Slot<V> {
    running: bool,
    next: Option<Arc<Batch<V>>>,
}

/// Coalesces reads of `V` by key `K`.
pub(super) struct Coalesce<K, V> {
    slots: Arc<Mutex<HashMap<K, Slot<V>>>>,
}

impl<K, V> std::fmt::Debug for Coalesce<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Coalesce")
    }
}

impl<K, V> Default for Coalesce<K, V> {
    fn default() -> Self {
        Coalesce {
            slots: Arc::default(),
        }
    }
}

impl<K, V> Coalesce<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The value of `key` as read by `fetch` in a query that started after
    /// this call did (see the module docs).
    pub(super) async fn read<F>(&self, key: K, fetch: F) -> V
    where
        F: Future<Output = V> + Send + 'static,
    {
        let mut fetch = Some(fetch);
        let mut mine: Option<Arc<Batch<V>>> = None;
        loop {
            if let Some(value) = mine.as_ref().and_then(|b| b.result.get()) {
                return value.clone();
            }
            let batch = {
                let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                let slot = slots.entry(key.clone()).or_insert(Slot {
                    running: false,
                    next: None,
                });
                match fetch.take() {
                    Some(own) if !slot.running => {
                        // Lead: everyone waiting arrived before this query starts.
                        slot.running = true;
                        let batch = slot.next.take().unwrap_or_else(Batch::new);
                        self.spawn_leader(key.clone(), batch.clone(), own);
                        mine = Some(batch.clone());
                        batch
                    }
                    own => {
                        // Join the next query (or stay in the one we joined).
                        fetch = own;
                        mine.get_or_insert_with(|| slot.next.get_or_insert_with(Batch::new).clone())
                            .clone()
                    }
                }
            };
            let notified = batch.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if batch.result.get().is_some() {
                continue;
            }
            // Our batch may be waiting for a lead that nobody will announce
            // again (the query before it ended between our two looks).
            {
                let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                let idle = slots.get(&key).is_none_or(|s| !s.running);
                if idle {
                    continue;
                }
            }
            notified.await;
        }
    }

    fn spawn_leader<F>(&self, key: K, batch: Arc<Batch<V>>, fetch: F)
    where
        F: Future<Output = V> + Send + 'static,
    {
        let slots = self.slots.clone();
        tokio::spawn(async move {
            let value = fetch.await;
            // The answer first: whoever sees the key idle finds it set.
            let _ = batch.result.set(value);
            let next = {
                let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
                let next = slots.get_mut(&key).and_then(|slot| {
                    slot.running = false;
                    slot.next.clone()
                });
                if next.is_none() {
                    slots.remove(&key);
                }
                next
            };
            batch.wake.notify_waiters();
            // The next batch needs a lead: wake it so one of its members leads.
            if let Some(next) = next {
                next.wake.notify_waiters();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    /// A "database" whose value is a counter of writes; each read takes a
    /// while, so requests pile up behind it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_read_sees_the_writes_before_it_and_reads_are_shared() {
        let db = Arc::new(AtomicU64::new(0));
        let reads = Arc::new(AtomicU64::new(0));
        let coalesce = Arc::new(Coalesce::<&'static str, u64>::default());
        let mut tasks = Vec::new();
        for i in 0..400u64 {
            if i % 50 == 0 {
                db.fetch_add(1, Ordering::SeqCst);
            }
            // What was committed when this request arrived.
            let floor = db.load(Ordering::SeqCst);
            let (db, reads, coalesce) = (db.clone(), reads.clone(), coalesce.clone());
            tasks.push(tokio::spawn(async move {
                let seen = coalesce
                    .read("repo", async move {
                        reads.fetch_add(1, Ordering::SeqCst);
                        let v = db.load(Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        v
                    })
                    .await;
                assert!(
                    seen >= floor,
                    "request {i} saw {seen}, {floor} was committed"
                );
            }));
            if i % 7 == 0 {
                tokio::time::sleep(Duration::from_micros(300)).await;
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        let reads = reads.load(Ordering::SeqCst);
        assert!(
            reads < 400,
            "{reads} queries for 400 requests: nothing shared"
        );
        assert!(
            coalesce.slots.lock().unwrap().is_empty(),
            "idle keys are dropped"
        );
    }

    #[tokio::test]
    async fn a_dropped_request_does_not_strand_the_others() {
        let coalesce = Arc::new(Coalesce::<u8, u8>::default());
        let slow = {
            let c = coalesce.clone();
            tokio::spawn(async move {
                c.read(1, async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    7
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        let waiter = {
            let c = coalesce.clone();
            tokio::spawn(async move { c.read(1, async { 8 }).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        slow.abort();
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter was stranded")
            .unwrap();
        assert_eq!(got, 8, "the waiter's own query, started after the first");
    }
}

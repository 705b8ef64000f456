//! What a sync reports: live counters while it runs ([`SyncProgress`], also
//! the `swrd_sync_*` gauges) and the summary of a run ([`SyncReport`]).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters of a sync, reset when a run starts.
#[derive(Debug, Default)]
pub struct SyncProgress {
    /// Repositories this run will visit (after the filter and the resume point).
    pub repositories: AtomicU64,
    /// Repositories finished.
    pub repositories_done: AtomicU64,
    /// Tags listed so far (grows as repositories are listed).
    pub tags: AtomicU64,
    /// Tags asked about (HEAD or GET answered).
    pub tags_done: AtomicU64,
    /// Manifest `GET`s sent.
    pub gets: AtomicU64,
    /// Manifest `HEAD`s sent.
    pub heads: AtomicU64,
}

impl SyncProgress {
    pub(super) fn reset(&self) {
        for c in [
            &self.repositories,
            &self.repositories_done,
            &self.tags,
            &self.tags_done,
            &self.gets,
            &self.heads,
        ] {
            c.store(0, Relaxed);
        }
    }

    /// Sets the `swrd_sync_*` progress gauges.
    pub(super) fn publish(&self) {
        metrics::gauge!("swrd_sync_repositories", "state" => "listed")
            .set(self.repositories.load(Relaxed) as f64);
        metrics::gauge!("swrd_sync_repositories", "state" => "done")
            .set(self.repositories_done.load(Relaxed) as f64);
        metrics::gauge!("swrd_sync_tags", "state" => "listed").set(self.tags.load(Relaxed) as f64);
        metrics::gauge!("swrd_sync_tags", "state" => "done")
            .set(self.tags_done.load(Relaxed) as f64);
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SyncReport {
    /// The run resumed after this registry repository.
    pub resumed_after: Option<String>,
    /// Repositories in the (filtered) catalog.
    pub repositories: u64,
    /// Repositories reconciled by this run.
    pub repositories_synced: u64,
    /// Catalog names SWR cannot hold (single component, bad names).
    pub repositories_unmappable: u64,
    /// Repositories skipped: unknown namespace and no default domain.
    pub repositories_rejected: u64,
    /// Store repositories the catalog no longer lists, emptied.
    pub repositories_gone: u64,
    /// Tags added.
    pub added: u64,
    /// Tags whose digest changed.
    pub updated: u64,
    /// Tags removed.
    pub removed: u64,
    /// Tags already right.
    pub unchanged: u64,
    /// Observations older than a webhook event for the same tag.
    pub stale: u64,
    /// Tags that changed under the sync; left for the next run.
    pub raced: u64,
    /// Manifest `HEAD` requests (tags the store held).
    pub heads: u64,
    /// Manifest `GET` requests (tags the store did not hold, and new digests
    /// of held tags).
    pub manifests: u64,
    /// Of which writing to the store (reconciling repositories), seconds.
    pub store_seconds: f64,
    /// Wall time, seconds.
    pub seconds: f64,
}

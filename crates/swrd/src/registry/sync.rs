//! The resync crawler: make the store match the registry.
//!
//! 1. List the catalog (following `Link` pagination) and map each name (see
//!    [`mapping`](super::mapping)); names SWR cannot hold are skipped and
//!    counted. `--namespace` keeps one namespace.
//! 2. For each repository, in byte order of its registry name: read the
//!    store's tag -> digest, list the registry's tags, `HEAD` every tag for
//!    its digest, `GET` the manifest of each digest the store does not hold
//!    for that tag (once per distinct digest), and reconcile in one
//!    transaction ([`Store::reconcile_repository`](crate::store::Store::reconcile_repository)): add, update, remove.
//! 3. Repositories of a covered namespace (the `--namespace`, or every
//!    namespace in the catalog) that the store has and the catalog does not
//!    lose their tags.
//!
//! **Resumable.** A checkpoint (scope = registry URL + namespace filter) is
//! saved after each repository; a run that finds one skips the repositories
//! up to it, and the checkpoint is cleared when a run completes.
//!
//! **Safe alongside webhooks.** Each observation carries the time swrd asked
//! the registry (a tag's `HEAD`, or the tag list for a removal), and the store
//! applies it only if no newer event touched that tag (see the
//! [ordering rules](super#ordering-and-idempotency)).

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use futures_util::StreamExt as _;

use super::fetch::{FetchError, RegistryClient};
use super::mapping::{SwrName, map_name};
use super::now_nanos;
use crate::store::{AnyStore, ImageData, Observation, Store as _, StoreError, SyncCheckpoint};

/// What to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only this SWR namespace (the registry's first path component).
    pub namespace: Option<String>,
    /// Domain for namespaces the store does not know; `None` skips them.
    pub default_domain: Option<String>,
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
    /// `HEAD` requests.
    pub heads: u64,
    /// Manifests fetched.
    pub manifests: u64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The registry failed (after retries).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The checkpoint key of a sync.
pub fn scope(client: &RegistryClient, options: &SyncOptions) -> String {
    format!(
        "{}#{}",
        client.base(),
        options.namespace.as_deref().unwrap_or("")
    )
}

/// Runs one sync (see the module docs). An error leaves the checkpoint of
/// the last completed repository, so the next run resumes there.
pub async fn run(
    store: &AnyStore,
    client: &RegistryClient,
    options: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let start = Instant::now();
    let scope = scope(client, options);
    let mut report = SyncReport::default();
    let checkpoint = match store.sync_checkpoint(&scope).await? {
        Some(c) => {
            tracing::info!(%scope, after = ?c.cursor, "resuming an interrupted sync");
            report.resumed_after = c.cursor.clone();
            c
        }
        None => {
            let c = SyncCheckpoint {
                started_at: now_nanos(),
                cursor: None,
            };
            store.set_sync_checkpoint(&scope, Some(&c)).await?;
            c
        }
    };
    let catalog_at = now_nanos();
    let mut repos: Vec<(String, SwrName)> = Vec::new();
    for name in client.catalog().await? {
        match map_name(&name) {
            Ok(n)
                if options
                    .namespace
                    .as_ref()
                    .is_none_or(|ns| *ns == n.namespace) =>
            {
                repos.push((name, n));
            }
            Ok(_) => {}
            Err(e) => {
                if options.namespace.is_none() {
                    tracing::warn!(error = %e, "sync: repository skipped");
                    report.repositories_unmappable += 1;
                }
            }
        }
    }
    repos.sort_by(|a, b| a.0.cmp(&b.0));
    report.repositories = repos.len() as u64;
    for (name, swr) in &repos {
        if checkpoint.cursor.as_ref().is_some_and(|c| name <= c) {
            continue;
        }
        sync_repository(store, client, options, name, swr, &mut report).await?;
        let saved = SyncCheckpoint {
            started_at: checkpoint.started_at,
            cursor: Some(name.clone()),
        };
        store.set_sync_checkpoint(&scope, Some(&saved)).await?;
    }
    // Store repositories the catalog no longer has, in covered namespaces.
    let namespaces: BTreeSet<&str> = match &options.namespace {
        Some(ns) => BTreeSet::from([ns.as_str()]),
        None => repos.iter().map(|(_, n)| n.namespace.as_str()).collect(),
    };
    for ns in namespaces {
        for repository in store.repositories_of(ns).await? {
            if repos
                .iter()
                .any(|(_, n)| n.namespace == ns && n.repository == repository)
            {
                continue;
            }
            let r = store
                .reconcile_repository(ns, &repository, None, catalog_at, &[])
                .await?;
            if r.removed > 0 {
                report.repositories_gone += 1;
                report.removed += r.removed;
            }
            report.stale += r.stale;
        }
    }
    store.set_sync_checkpoint(&scope, None).await?;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// A tag, when it was asked about, and its digest (`None`: gone).
type Head = (String, i64, Option<String>);

async fn sync_repository(
    store: &AnyStore,
    client: &RegistryClient,
    options: &SyncOptions,
    name: &str,
    swr: &SwrName,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let stored: HashMap<String, String> = store
        .repository_digests(&swr.namespace, &swr.repository)
        .await?
        .into_iter()
        .collect();
    let listed_at = now_nanos();
    let tags = client.tags(name).await?;
    // HEAD every tag, keeping the pipeline a little deeper than the client's
    // concurrency so its permits never idle.
    let heads: Vec<Result<Head, FetchError>> =
        futures_util::stream::iter(tags.into_iter().filter(|t| swr_api::names::is_valid_tag(t)))
            .map(|tag| async move {
                let at = now_nanos();
                let digest = client.head_digest(name, &tag).await?;
                Ok((tag, at, digest))
            })
            .buffer_unordered(client.concurrency() * 2)
            .collect()
            .await;
    let mut observed: Vec<Observation> = Vec::with_capacity(heads.len());
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for head in heads {
        report.heads += 1;
        // A tag gone between the list and its HEAD is simply not observed.
        let (tag, at, Some(digest)) = head? else {
            continue;
        };
        if stored.get(&tag) != Some(&digest) {
            wanted.insert(digest.clone());
        }
        observed.push(Observation {
            tag,
            digest,
            at,
            image: None,
        });
    }
    let fetched: Vec<Result<(String, Option<ImageData>), FetchError>> =
        futures_util::stream::iter(wanted)
            .map(|digest| async move {
                let image = client.manifest(name, &digest).await?;
                Ok((digest, image))
            })
            .buffer_unordered(client.concurrency() * 2)
            .collect()
            .await;
    let mut images: HashMap<String, ImageData> = HashMap::new();
    for f in fetched {
        report.manifests += 1;
        if let (digest, Some(image)) = f? {
            images.insert(digest, image);
        }
    }
    for o in &mut observed {
        if stored.get(&o.tag) != Some(&o.digest) {
            o.image = images.get(&o.digest).cloned();
        }
    }
    let r = store
        .reconcile_repository(
            &swr.namespace,
            &swr.repository,
            options.default_domain.as_deref(),
            listed_at,
            &observed,
        )
        .await?;
    if r.rejected {
        tracing::warn!(repository = %name, namespace = %swr.namespace,
            "sync: namespace unknown and no --registry-default-domain; repository skipped");
        report.repositories_rejected += 1;
        return Ok(());
    }
    report.repositories_synced += 1;
    report.added += r.added;
    report.updated += r.updated;
    report.removed += r.removed;
    report.unchanged += r.unchanged;
    report.stale += r.stale;
    report.raced += r.raced;
    tracing::debug!(repository = %name, ?r, "sync: repository reconciled");
    Ok(())
}

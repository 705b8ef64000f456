//! The resync crawler: make the store match the registry.
//!
//! 1. List the catalog (following `Link` pagination) and map each name (see
//!    [`mapping`](super::mapping)); names SWR cannot hold are skipped and
//!    counted. `--namespace` keeps one namespace.
//! 2. For each repository, in byte order of its registry name: read the
//!    store's tag -> digest, list the registry's tags, then **one request per
//!    tag**: a tag the store does not hold is a manifest `GET` by tag (the
//!    digest is the registry's `Docker-Content-Digest`, checked against the
//!    body), a tag it holds a `HEAD`; only a held tag whose digest moved costs
//!    a second request, the `GET` of its new digest (once per distinct
//!    digest, none if another tag's `GET` already brought it). Then reconcile
//!    in one transaction
//!    ([`RegistryFeed::reconcile_repository`](crate::store::RegistryFeed::reconcile_repository)):
//!    add, update, remove. Requests run [`RegistryClient::concurrency`] at a
//!    time, and the next repositories are fetched while one is written.
//! 3. Repositories of a covered namespace (the `--namespace`, or every
//!    namespace in the catalog) that the store has and the catalog does not
//!    lose their tags.
//!
//! **Resumable.** A checkpoint (scope = registry URL + namespace filter) is
//! saved after each repository; a run that finds one skips the repositories
//! up to it, and the checkpoint is cleared when a run completes.
//!
//! **Observable.** [`SyncProgress`] counts repositories and tags as they go
//! (`swrd sync` draws it on a terminal), every few seconds the run logs its
//! progress and sets the `swrd_sync_*` gauges of `/metrics`, and its end sets
//! `swrd_sync_runs_total{outcome}` and, on success,
//! `swrd_sync_last_success_timestamp_seconds`.
//!
//! **Safe alongside webhooks.** Each observation carries the time swrd asked
//! the registry (a tag's `HEAD`, or the tag list for a removal), and the store
//! applies it only if no newer event touched that tag (see the
//! [ordering rules](super#ordering-and-idempotency)).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;

use super::fetch::{FetchError, RegistryClient};
use super::mapping::{SwrName, map_name};
use super::now_nanos;
pub use super::progress::{SyncProgress, SyncReport};
use crate::store::{
    AnyStore, ImageData, Observation, RegistryFeed as _, StoreError, SyncCheckpoint,
};

/// Repositories whose tags are fetched ahead while an earlier one is written.
const PREFETCH_REPOSITORIES: usize = 2;
/// How often a running sync logs its progress and refreshes its gauges.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// What to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only this SWR namespace (the registry's first path component).
    pub namespace: Option<String>,
    /// Domain for namespaces the store does not know; `None` skips them.
    pub default_domain: Option<String>,
    /// Live counters of the run (shared with whoever shows them).
    pub progress: Arc<SyncProgress>,
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
    let progress = &options.progress;
    progress.reset();
    metrics::gauge!("swrd_sync_running").set(1.0);
    let start = Instant::now();
    let work = std::pin::pin!(run_inner(store, client, options, start));
    // Progress in the log (and the gauges) every few seconds while it runs.
    let ticker = std::pin::pin!(async {
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
        loop {
            tick.tick().await;
            progress.publish();
            let done = progress.tags_done.load(Relaxed);
            tracing::info!(
                registry = client.base(),
                repositories = %format_args!("{}/{}", progress.repositories_done.load(Relaxed), progress.repositories.load(Relaxed)),
                tags = %format_args!("{done}/{}", progress.tags.load(Relaxed)),
                tags_per_second = (done as f64 / start.elapsed().as_secs_f64()).round(),
                "sync in progress"
            );
        }
    });
    let result = match futures_util::future::select(work, ticker).await {
        futures_util::future::Either::Left((result, _)) => result,
        futures_util::future::Either::Right(((), _)) => unreachable!("the ticker never ends"),
    };
    progress.publish();
    metrics::gauge!("swrd_sync_running").set(0.0);
    metrics::gauge!("swrd_sync_last_duration_seconds").set(start.elapsed().as_secs_f64());
    let outcome = if result.is_ok() { "success" } else { "failure" };
    metrics::counter!("swrd_sync_runs_total", "outcome" => outcome).increment(1);
    if result.is_ok() {
        metrics::gauge!("swrd_sync_last_success_timestamp_seconds").set(now_nanos() as f64 / 1e9);
    }
    result
}

async fn run_inner(
    store: &AnyStore,
    client: &RegistryClient,
    options: &SyncOptions,
    start: Instant,
) -> Result<SyncReport, SyncError> {
    let progress = &options.progress;
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
    let todo: Vec<(String, SwrName)> = repos
        .iter()
        .filter(|(name, _)| checkpoint.cursor.as_ref().is_none_or(|c| name > c))
        .cloned()
        .collect();
    progress.repositories.store(todo.len() as u64, Relaxed);
    // Fetch ahead, write in order: the checkpoint only ever names a
    // repository whose predecessors are all written.
    let mut fetched = futures_util::stream::iter(todo)
        .map(|(name, swr)| fetch_repository(store, client, progress, name, swr))
        .buffered(PREFETCH_REPOSITORIES);
    while let Some(repo) = fetched.next().await {
        let repo = repo?;
        write_repository(store, options, &repo, &mut report).await?;
        progress.repositories_done.fetch_add(1, Relaxed);
        let saved = SyncCheckpoint {
            started_at: checkpoint.started_at,
            cursor: Some(repo.name.clone()),
        };
        store.set_sync_checkpoint(&scope, Some(&saved)).await?;
    }
    drop(fetched);
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
    report.heads = progress.heads.load(Relaxed);
    report.manifests = progress.gets.load(Relaxed);
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// One repository as the registry has it, ready to write.
struct Fetched {
    name: String,
    swr: SwrName,
    listed_at: i64,
    observed: Vec<Observation>,
}

/// What one tag's first request found.
enum Seen {
    /// Not in the registry any more (listed, then gone).
    Gone,
    /// A held tag at the digest the store has.
    Same(Observation),
    /// A held tag at another digest: its manifest is still to be fetched.
    Moved(Observation),
    /// A tag the store did not hold, with its manifest.
    New(Observation),
}

async fn fetch_repository(
    store: &AnyStore,
    client: &RegistryClient,
    progress: &SyncProgress,
    name: String,
    swr: SwrName,
) -> Result<Fetched, SyncError> {
    let stored: HashMap<String, String> = store
        .repository_digests(&swr.namespace, &swr.repository)
        .await?
        .into_iter()
        .collect();
    let listed_at = now_nanos();
    let tags: Vec<String> = client
        .tags(&name)
        .await?
        .into_iter()
        .filter(|t| swr_api::names::is_valid_tag(t))
        .collect();
    progress.tags.fetch_add(tags.len() as u64, Relaxed);
    let (stored, name) = (&stored, name.as_str());
    // One request per tag, keeping the pipeline a little deeper than the
    // client's concurrency so its permits never idle.
    let mut seen = futures_util::stream::iter(tags)
        .map(|tag| async move {
            let at = now_nanos();
            let result = match stored.get(&tag) {
                Some(held) => {
                    progress.heads.fetch_add(1, Relaxed);
                    metrics::counter!("swrd_sync_requests_total", "method" => "HEAD").increment(1);
                    client.head_digest(name, &tag).await.map(|d| match d {
                        None => Seen::Gone,
                        Some(digest) => {
                            let o = Observation {
                                tag,
                                at,
                                image: None,
                                digest,
                            };
                            if o.digest == *held {
                                Seen::Same(o)
                            } else {
                                Seen::Moved(o)
                            }
                        }
                    })
                }
                None => {
                    progress.gets.fetch_add(1, Relaxed);
                    metrics::counter!("swrd_sync_requests_total", "method" => "GET").increment(1);
                    client.manifest(name, &tag).await.map(|m| match m {
                        None => Seen::Gone,
                        Some(image) => Seen::New(Observation {
                            tag,
                            at,
                            digest: image.digest.clone(),
                            image: Some(image),
                        }),
                    })
                }
            };
            progress.tags_done.fetch_add(1, Relaxed);
            result
        })
        .buffer_unordered(client.concurrency() * 2);
    let mut observed: Vec<Observation> = Vec::new();
    let mut moved: Vec<Observation> = Vec::new();
    while let Some(s) = seen.next().await {
        match s? {
            // A tag gone between the list and its request is simply not observed.
            Seen::Gone => {}
            Seen::Same(o) | Seen::New(o) => observed.push(o),
            Seen::Moved(o) => moved.push(o),
        }
    }
    drop(seen);
    if !moved.is_empty() {
        fetch_moved(client, progress, name, &observed, &mut moved).await?;
        observed.append(&mut moved);
    }
    Ok(Fetched {
        name: name.to_owned(),
        swr,
        listed_at,
        observed,
    })
}

/// Held tags that moved to another digest: the new digests' manifests, once
/// each, unless a new tag's `GET` already brought it.
async fn fetch_moved(
    client: &RegistryClient,
    progress: &SyncProgress,
    name: &str,
    observed: &[Observation],
    moved: &mut [Observation],
) -> Result<(), FetchError> {
    let mut images: HashMap<&str, ImageData> = observed
        .iter()
        .filter_map(|o| o.image.as_ref().map(|i| (i.digest.as_str(), i.clone())))
        .filter(|(d, _)| moved.iter().any(|m| m.digest == *d))
        .collect();
    let wanted: BTreeSet<String> = moved
        .iter()
        .map(|o| o.digest.as_str())
        .filter(|d| !images.contains_key(*d))
        .map(str::to_owned)
        .collect();
    let fetched: Vec<Result<(String, Option<ImageData>), FetchError>> =
        futures_util::stream::iter(wanted)
            .map(|digest| async move {
                progress.gets.fetch_add(1, Relaxed);
                metrics::counter!("swrd_sync_requests_total", "method" => "GET").increment(1);
                let image = client.manifest(name, &digest).await?;
                Ok((digest, image))
            })
            .buffer_unordered(client.concurrency() * 2)
            .collect()
            .await;
    let mut found: HashMap<String, ImageData> = HashMap::new();
    for f in fetched {
        if let (digest, Some(image)) = f? {
            found.insert(digest, image);
        }
    }
    for (digest, image) in images.drain() {
        found.insert(digest.to_owned(), image);
    }
    for o in moved {
        // A digest gone meanwhile leaves `image` empty: the store then keeps
        // the tag as it was (the next run sees the registry's new state).
        o.image = found.get(&o.digest).cloned();
    }
    Ok(())
}

async fn write_repository(
    store: &AnyStore,
    options: &SyncOptions,
    repo: &Fetched,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let (name, swr) = (&repo.name, &repo.swr);
    let start = Instant::now();
    let r = store
        .reconcile_repository(
            &swr.namespace,
            &swr.repository,
            options.default_domain.as_deref(),
            repo.listed_at,
            &repo.observed,
        )
        .await?;
    report.store_seconds += start.elapsed().as_secs_f64();
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

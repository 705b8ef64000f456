//! The registry feed's side of the store ([`RegistryFeed`]): webhook events,
//! sync reconciliation and sync checkpoints, as SQL shared by both backends.
//! Times in `event_at` are nanoseconds; see `crate::registry`.

mod tx;

use std::collections::{HashMap, HashSet};
use std::future::Future;

use sqlx::{ColumnIndex, Encode, Executor, IntoArguments};

use super::backend::{Args, Backend, Conn, DbRow, Value};
use super::{
    ApplyReport, Observation, REGISTRY_RETENTION_SECS, ReconcileReport, RegistryEvent, StoreError,
    SyncCheckpoint, sql,
};
use tx::{FeedTx, is_current};

/// What the registry feed (`crate::registry`) reads and writes.
pub trait RegistryFeed: Send + Sync + 'static {
    /// Applies a batch of registry events in ONE transaction: all of them or
    /// none (an error leaves the store as it was, so the sender may retry).
    ///
    /// * Idempotent: an event id already applied is
    ///   [`EventOutcome::Duplicate`](super::EventOutcome::Duplicate) (ids are kept for
    ///   [`REGISTRY_RETENTION_SECS`]).
    /// * Ordered per (repository, tag) by event time: each tag keeps the time
    ///   of the newest event applied to it, and a deleted tag a tombstone with
    ///   the delete's time; an event older than either is
    ///   [`EventOutcome::Stale`](super::EventOutcome::Stale). Equal times: the later arrival wins.
    /// * A namespace that does not exist is created for `default_domain`, or,
    ///   without one, the event is [`EventOutcome::UnknownNamespace`](super::EventOutcome::UnknownNamespace).
    ///
    /// Registry writes are serialised (SQLite's writer lock; a transaction-level
    /// advisory lock on PostgreSQL), so replicas and a concurrent sync agree.
    fn apply_registry_events(
        &self,
        batch: &[RegistryEvent],
        default_domain: Option<&str>,
    ) -> impl Future<Output = Result<ApplyReport, StoreError>> + Send;

    /// Makes one repository's tags match what a sync saw, in one transaction,
    /// under the same ordering rules as
    /// [`apply_registry_events`](Self::apply_registry_events): an observation
    /// never overwrites a newer event, and a tag absent from `observed` is
    /// removed (with a tombstone at `listed_at`) only if its newest event is
    /// not newer than `listed_at`, when the tag list was read.
    fn reconcile_repository(
        &self,
        namespace: &str,
        repository: &str,
        default_domain: Option<&str>,
        listed_at: i64,
        observed: &[Observation],
    ) -> impl Future<Output = Result<ReconcileReport, StoreError>> + Send;

    /// Tag name -> digest of a repository, whatever its domain; empty if the
    /// repository does not exist.
    fn repository_digests(
        &self,
        namespace: &str,
        repository: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;

    /// Repository names of a namespace, whatever its domain (byte order).
    fn repositories_of(
        &self,
        namespace: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// The checkpoint of an unfinished sync of `scope`.
    fn sync_checkpoint(
        &self,
        scope: &str,
    ) -> impl Future<Output = Result<Option<SyncCheckpoint>, StoreError>> + Send;

    /// Saves (`Some`) or clears (`None`, the run finished) a sync checkpoint.
    fn set_sync_checkpoint(
        &self,
        scope: &str,
        checkpoint: Option<&SyncCheckpoint>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<B> RegistryFeed for B
where
    B: Backend,
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> Args<'q, B>: IntoArguments<'q, B::Db>,
    for<'q> i64: Value<'q, B::Db>,
    for<'q> bool: Value<'q, B::Db>,
    for<'q> String: Value<'q, B::Db>,
    for<'q> &'q str: Value<'q, B::Db>,
    for<'q> Option<&'q str>: Encode<'q, B::Db>,
    usize: ColumnIndex<DbRow<B>>,
{
    async fn apply_registry_events(
        &self,
        batch: &[RegistryEvent],
        default_domain: Option<&str>,
    ) -> Result<ApplyReport, StoreError> {
        let mut report = ApplyReport::default();
        if batch.is_empty() {
            return Ok(report);
        }
        let mut tx = FeedTx::<B>::begin(self.pool()).await?;
        for e in batch {
            let outcome = tx.apply(e, default_domain, &mut report).await?;
            report.outcomes.push(outcome);
        }
        let horizon = super::time::now() - REGISTRY_RETENTION_SECS;
        tx.prune(horizon).await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn reconcile_repository(
        &self,
        namespace: &str,
        repository: &str,
        default_domain: Option<&str>,
        listed_at: i64,
        observed: &[Observation],
    ) -> Result<ReconcileReport, StoreError> {
        let mut report = ReconcileReport::default();
        let mut tx = FeedTx::<B>::begin(self.pool()).await?;
        let Some(ns_id) = tx.namespace(namespace, default_domain).await? else {
            report.rejected = true;
            return Ok(report);
        };
        let create = !observed.is_empty();
        let Some(repo_id) = tx.repository(ns_id, repository, create).await? else {
            return Ok(report);
        };
        // tag -> (id, digest, event_at)
        let current: HashMap<String, (i64, String, Option<i64>)> = tx
            .repo_tag_states(repo_id)
            .await?
            .into_iter()
            .map(|(tag, id, digest, at)| (tag, (id, digest, at)))
            .collect();
        let tombstones: HashMap<String, i64> =
            tx.repo_tombstones(repo_id).await?.into_iter().collect();
        // The writes are collected and made in batches (see `FeedTx::write_tags`);
        // the checks only read `current` and `tombstones`, which the writes do
        // not change, so the outcome is the one of writing tag by tag.
        let mut seen = HashSet::with_capacity(observed.len());
        let mut writes = Vec::new();
        let mut cleared = Vec::new();
        for o in observed {
            seen.insert(o.tag.as_str());
            let cur = current.get(&o.tag);
            if cur.is_some_and(|(_, digest, _)| *digest == o.digest) {
                report.unchanged += 1;
                continue;
            }
            let tombstone = tombstones.get(&o.tag).copied();
            if !is_current(o.at, cur.and_then(|c| c.2), tombstone) {
                report.stale += 1;
                continue;
            }
            let Some(image) = o.image.as_ref().filter(|i| i.digest == o.digest) else {
                report.raced += 1;
                continue;
            };
            writes.push((o.tag.as_str(), image, o.at));
            if tombstone.is_some() {
                cleared.push(o.tag.as_str());
            }
            if cur.is_some() {
                report.updated += 1;
            } else {
                report.added += 1;
            }
        }
        tx.write_tags(repo_id, &writes).await?;
        // Only a tag that had a tombstone when the transaction began can have
        // one now (registry writes are serialised).
        cleared.sort_unstable();
        cleared.dedup();
        tx.delete_tombstones(repo_id, &cleared).await?;
        let mut removals = Vec::new();
        for (tag, (id, _, event_at)) in &current {
            if seen.contains(tag.as_str()) {
                continue;
            }
            if !is_current(listed_at, *event_at, None) {
                report.stale += 1;
                continue;
            }
            removals.push((*id, tag.as_str()));
            report.removed += 1;
        }
        tx.remove_tags(repo_id, &removals, listed_at).await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn repository_digests(
        &self,
        namespace: &str,
        repository: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(sql::REPOSITORY_DIGESTS)
            .bind(namespace)
            .bind(repository)
            .fetch_all(self.pool())
            .await?)
    }

    async fn repositories_of(&self, namespace: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(sql::REPOSITORIES_OF)
            .bind(namespace)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(|(r,)| r).collect())
    }

    async fn sync_checkpoint(&self, scope: &str) -> Result<Option<SyncCheckpoint>, StoreError> {
        let row: Option<(i64, Option<String>)> = sqlx::query_as(sql::SYNC_CHECKPOINT)
            .bind(scope)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|(started_at, cursor)| SyncCheckpoint { started_at, cursor }))
    }

    async fn set_sync_checkpoint(
        &self,
        scope: &str,
        checkpoint: Option<&SyncCheckpoint>,
    ) -> Result<(), StoreError> {
        match checkpoint {
            Some(c) => {
                sqlx::query(sql::SET_SYNC_CHECKPOINT)
                    .bind(scope)
                    .bind(c.started_at)
                    .bind(c.cursor.as_deref())
                    .execute(self.pool())
                    .await?
            }
            None => {
                sqlx::query(sql::CLEAR_SYNC_CHECKPOINT)
                    .bind(scope)
                    .execute(self.pool())
                    .await?
            }
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests;

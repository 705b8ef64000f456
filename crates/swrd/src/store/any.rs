//! [`AnyStore`]: the backend chosen at run time, by URL (see
//! [`open`](super::open)). Every method is a `match` on the backend.

use super::{
    ApplyReport, AuthLookups, Credential, Import, ImportReport, IndexDelta, IndexRows, Maintenance,
    NewTag, Observation, PgStore, ReconcileReport, RegistryEvent, RegistryFeed, RepositoryVersion,
    SqliteStore, StoreError, SyncCheckpoint, TagPage, TagQuery, TagReads, TagRecord, TagStream,
    import,
};
use crate::fixtures::Fixture;

/// A store on whichever backend the URL names.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
}

impl AnyStore {
    /// `"sqlite"` or `"postgres"`, for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// Id of the repository, creating the domain (named `domain_name`), the
    /// namespace and the repository as needed, in one transaction. Fails with
    /// `Conflict` if the namespace belongs to another domain.
    pub async fn ensure_repository(
        &self,
        domain_id: &str,
        domain_name: &str,
        namespace: &str,
        repository: &str,
    ) -> Result<i64, StoreError> {
        match self {
            AnyStore::Sqlite(s) => {
                import::ensure_repository(s, domain_id, domain_name, namespace, repository).await
            }
            AnyStore::Postgres(s) => {
                import::ensure_repository(s, domain_id, domain_name, namespace, repository).await
            }
        }
    }

    /// Bulk load for synthetic data: inserts `tags` into repository `repo_id`
    /// with multi-row INSERTs in transactions of 100,000 rows, skipping names
    /// that exist; returns how many were inserted. Not atomic as a whole.
    pub(crate) async fn bulk_insert_tags(
        &self,
        repo_id: i64,
        tags: impl Iterator<Item = NewTag> + Send,
    ) -> Result<u64, StoreError> {
        match self {
            AnyStore::Sqlite(s) => import::bulk_insert_tags(s, repo_id, tags).await,
            AnyStore::Postgres(s) => import::bulk_insert_tags(s, repo_id, tags).await,
        }
    }
}

impl TagReads for AnyStore {
    async fn list_tags(&self, q: &TagQuery<'_>) -> Result<TagPage, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.list_tags(q).await,
            AnyStore::Postgres(s) => s.list_tags(q).await,
        }
    }

    async fn stream_tags(&self, q: &TagQuery<'_>) -> Result<TagStream, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.stream_tags(q).await,
            AnyStore::Postgres(s) => s.stream_tags(q).await,
        }
    }

    async fn repository_version(&self, q: &TagQuery<'_>) -> Result<RepositoryVersion, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.repository_version(q).await,
            AnyStore::Postgres(s) => s.repository_version(q).await,
        }
    }

    async fn index_rows(&self, repo_id: i64) -> Result<Option<IndexRows>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.index_rows(repo_id).await,
            AnyStore::Postgres(s) => s.index_rows(repo_id).await,
        }
    }

    async fn tags_by_id(
        &self,
        q: &TagQuery<'_>,
        at: RepositoryVersion,
        ids: &[i64],
    ) -> Result<Option<Vec<TagRecord>>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.tags_by_id(q, at, ids).await,
            AnyStore::Postgres(s) => s.tags_by_id(q, at, ids).await,
        }
    }

    async fn index_delta(
        &self,
        repo_id: i64,
        since: i64,
    ) -> Result<Option<IndexDelta>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.index_delta(repo_id, since).await,
            AnyStore::Postgres(s) => s.index_delta(repo_id, since).await,
        }
    }
}

impl AuthLookups for AnyStore {
    async fn domain_for_token(&self, token: &str) -> Result<Option<String>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.domain_for_token(token).await,
            AnyStore::Postgres(s) => s.domain_for_token(token).await,
        }
    }

    async fn credential(&self, access_key: &str) -> Result<Option<Credential>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.credential(access_key).await,
            AnyStore::Postgres(s) => s.credential(access_key).await,
        }
    }
}

impl RegistryFeed for AnyStore {
    async fn apply_registry_events(
        &self,
        batch: &[RegistryEvent],
        default_domain: Option<&str>,
    ) -> Result<ApplyReport, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.apply_registry_events(batch, default_domain).await,
            AnyStore::Postgres(s) => s.apply_registry_events(batch, default_domain).await,
        }
    }

    async fn reconcile_repository(
        &self,
        namespace: &str,
        repository: &str,
        default_domain: Option<&str>,
        listed_at: i64,
        observed: &[Observation],
    ) -> Result<ReconcileReport, StoreError> {
        let (ns, repo, dd) = (namespace, repository, default_domain);
        match self {
            AnyStore::Sqlite(s) => {
                s.reconcile_repository(ns, repo, dd, listed_at, observed)
                    .await
            }
            AnyStore::Postgres(s) => {
                s.reconcile_repository(ns, repo, dd, listed_at, observed)
                    .await
            }
        }
    }

    async fn repository_digests(
        &self,
        namespace: &str,
        repository: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.repository_digests(namespace, repository).await,
            AnyStore::Postgres(s) => s.repository_digests(namespace, repository).await,
        }
    }

    async fn repositories_of(&self, namespace: &str) -> Result<Vec<String>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.repositories_of(namespace).await,
            AnyStore::Postgres(s) => s.repositories_of(namespace).await,
        }
    }

    async fn sync_checkpoint(&self, scope: &str) -> Result<Option<SyncCheckpoint>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.sync_checkpoint(scope).await,
            AnyStore::Postgres(s) => s.sync_checkpoint(scope).await,
        }
    }

    async fn set_sync_checkpoint(
        &self,
        scope: &str,
        checkpoint: Option<&SyncCheckpoint>,
    ) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.set_sync_checkpoint(scope, checkpoint).await,
            AnyStore::Postgres(s) => s.set_sync_checkpoint(scope, checkpoint).await,
        }
    }
}

impl Import for AnyStore {
    async fn import(&self, f: &Fixture) -> Result<ImportReport, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.import(f).await,
            AnyStore::Postgres(s) => s.import(f).await,
        }
    }
}

impl Maintenance for AnyStore {
    async fn prune_change_log(&self, older_than: i64) -> Result<u64, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.prune_change_log(older_than).await,
            AnyStore::Postgres(s) => s.prune_change_log(older_than).await,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.ping().await,
            AnyStore::Postgres(s) => s.ping().await,
        }
    }
}

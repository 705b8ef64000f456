//! One registry-feed write transaction and the statements it runs.

use std::collections::HashSet;

use sqlx::{ColumnIndex, Executor, IntoArguments, Pool};

use crate::store::backend::{Args, Backend, Conn, DbRow, Tx, Value};
use crate::store::{
    ApplyReport, EventOutcome, ImageData, RegistryChange, RegistryEvent, StoreError, sql, time,
};

/// Whether an event or observation at `at` may change a tag whose newest
/// applied event is `current` (None: never fed by the registry) and whose
/// tombstone (if deleted) is at `tombstone`. Equal times: the later arrival
/// wins.
pub(super) fn is_current(at: i64, current: Option<i64>, tombstone: Option<i64>) -> bool {
    current.is_none_or(|c| at >= c) && tombstone.is_none_or(|t| at >= t)
}

/// Unix nanoseconds to the seconds the `created`/`updated` columns hold.
pub(super) fn nanos_to_secs(nanos: i64) -> i64 {
    nanos.div_euclid(1_000_000_000)
}

/// A tag's (id, digest, event_at).
type TagState = (i64, String, Option<i64>);

/// A registry-feed write transaction: serialised with every other one (see
/// `Dialect::registry_lock`); dropping it rolls back.
pub(super) struct FeedTx<B: Backend> {
    tx: Tx<B>,
}

impl<B> FeedTx<B>
where
    B: Backend,
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> Args<'q, B>: IntoArguments<'q, B::Db>,
    for<'q> i64: Value<'q, B::Db>,
    for<'q> bool: Value<'q, B::Db>,
    for<'q> String: Value<'q, B::Db>,
    for<'q> &'q str: Value<'q, B::Db>,
    usize: ColumnIndex<DbRow<B>>,
{
    /// Opens the transaction and takes the registry lock.
    pub(super) async fn begin(pool: &Pool<B::Db>) -> Result<Self, StoreError> {
        let mut tx = pool.begin_with(B::BEGIN_WRITE).await?;
        if !B::DIALECT.registry_lock.is_empty() {
            sqlx::query(B::DIALECT.registry_lock)
                .execute(&mut *tx)
                .await?;
        }
        Ok(FeedTx { tx })
    }

    pub(super) async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Forgets event ids and tombstones recorded before `horizon`.
    pub(super) async fn prune(&mut self, horizon: i64) -> Result<(), StoreError> {
        sqlx::query(sql::PRUNE_EVENTS)
            .bind(horizon)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(sql::PRUNE_TOMBSTONES)
            .bind(horizon)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// A namespace's id, created for `default_domain` if missing; `None`
    /// when it is missing and there is no default.
    pub(super) async fn namespace(
        &mut self,
        namespace: &str,
        default_domain: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as(sql::NAMESPACE_BY_NAME)
            .bind(namespace)
            .fetch_optional(&mut *self.tx)
            .await?;
        if let Some((id, _)) = row {
            return Ok(Some(id));
        }
        let Some(domain) = default_domain else {
            return Ok(None);
        };
        if !swr_api::names::is_valid_namespace(namespace) {
            return Err(StoreError::InvalidInput(format!(
                "bad namespace name {namespace:?}"
            )));
        }
        sqlx::query(sql::ENSURE_DOMAIN)
            .bind(domain)
            .bind(domain)
            .execute(&mut *self.tx)
            .await?;
        let (id, _owner): (i64, String) = sqlx::query_as(sql::UPSERT_NAMESPACE)
            .bind(namespace)
            .bind(domain)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(Some(id))
    }

    /// A repository's id, created if `create`.
    pub(super) async fn repository(
        &mut self,
        ns_id: i64,
        repository: &str,
        create: bool,
    ) -> Result<Option<i64>, StoreError> {
        if create {
            if !swr_api::names::is_valid_repository(repository) {
                return Err(StoreError::InvalidInput(format!(
                    "bad repository name {repository:?}"
                )));
            }
            let (id,): (i64,) = sqlx::query_as(sql::UPSERT_REPOSITORY)
                .bind(ns_id)
                .bind(repository)
                .fetch_one(&mut *self.tx)
                .await?;
            Ok(Some(id))
        } else {
            let row: Option<(i64,)> = sqlx::query_as(sql::REPOSITORY_ID)
                .bind(ns_id)
                .bind(repository)
                .fetch_optional(&mut *self.tx)
                .await?;
            Ok(row.map(|(id,)| id))
        }
    }

    /// Every tag of a repository as (tag, id, digest, event_at).
    pub(super) async fn repo_tag_states(
        &mut self,
        repo_id: i64,
    ) -> Result<Vec<(String, i64, String, Option<i64>)>, StoreError> {
        Ok(sqlx::query_as(sql::REPO_TAG_STATES)
            .bind(repo_id)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    /// Every tombstone of a repository as (tag, event_at).
    pub(super) async fn repo_tombstones(
        &mut self,
        repo_id: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(sql::REPO_TOMBSTONES)
            .bind(repo_id)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    /// Creates or updates a tag from a push at `at`, and clears its
    /// tombstone.
    pub(super) async fn write_tag(
        &mut self,
        repo_id: i64,
        tag: &str,
        image: &ImageData,
        at: i64,
    ) -> Result<(), StoreError> {
        self.write_tags(repo_id, &[(tag, image, at)]).await?;
        sqlx::query(sql::DELETE_TOMBSTONE)
            .bind(repo_id)
            .bind(tag)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Creates or updates tags (tag, image, event time) in order, with one
    /// statement per [`sql::FEED_ROWS`] tags (a tag seen again starts a new
    /// statement, so the later write wins as it would one by one). Leaves
    /// tombstones alone.
    pub(super) async fn write_tags(
        &mut self,
        repo_id: i64,
        tags: &[(&str, &ImageData, i64)],
    ) -> Result<(), StoreError> {
        let mut start = 0;
        let mut in_chunk = HashSet::new();
        for (i, (tag, _, _)) in tags.iter().enumerate() {
            if !swr_api::names::is_valid_tag(tag) {
                return Err(StoreError::InvalidInput(format!("bad tag name {tag:?}")));
            }
            if i - start == sql::FEED_ROWS || !in_chunk.insert(*tag) {
                self.upsert_tags(repo_id, &tags[start..i]).await?;
                start = i;
                in_chunk.clear();
                in_chunk.insert(*tag);
            }
        }
        if start < tags.len() {
            self.upsert_tags(repo_id, &tags[start..]).await?;
        }
        Ok(())
    }

    /// One statement of [`write_tags`](Self::write_tags).
    async fn upsert_tags(
        &mut self,
        repo_id: i64,
        tags: &[(&str, &ImageData, i64)],
    ) -> Result<(), StoreError> {
        let sql = sql::upsert_registry_tags(&B::DIALECT, tags.len());
        let mut query = sqlx::query(&sql);
        for &(tag, image, at) in tags {
            let secs = nanos_to_secs(at);
            query = query
                .bind(repo_id)
                .bind(tag)
                .bind(image.image_id.as_str())
                .bind(image.manifest.as_str())
                .bind(image.digest.as_str())
                .bind(image.schema)
                .bind(image.size)
                .bind(image.tag_type)
                .bind(secs)
                .bind(secs)
                .bind(at);
        }
        query.execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Clears the tombstones of `tags`, [`sql::FEED_ROWS`] per statement.
    pub(super) async fn delete_tombstones(
        &mut self,
        repo_id: i64,
        tags: &[&str],
    ) -> Result<(), StoreError> {
        for chunk in tags.chunks(sql::FEED_ROWS) {
            let sql = sql::delete_tombstones(&B::DIALECT, chunk.len());
            let mut query = sqlx::query(&sql).bind(repo_id);
            for &tag in chunk {
                query = query.bind(tag);
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Deletes tags (id, name; no name twice) and leaves tombstones at `at`,
    /// [`sql::FEED_ROWS`] per statement.
    pub(super) async fn remove_tags(
        &mut self,
        repo_id: i64,
        tags: &[(i64, &str)],
        at: i64,
    ) -> Result<(), StoreError> {
        let now = time::now();
        for chunk in tags.chunks(sql::FEED_ROWS) {
            let sql = sql::delete_tags(&B::DIALECT, chunk.len());
            let mut query = sqlx::query(&sql);
            for &(id, _) in chunk {
                query = query.bind(id);
            }
            query.execute(&mut *self.tx).await?;
            let sql = sql::upsert_tombstones(&B::DIALECT, chunk.len());
            let mut query = sqlx::query(&sql);
            for &(_, tag) in chunk {
                query = query.bind(repo_id).bind(tag).bind(at).bind(now);
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Deletes a tag (if `tag_id`) and leaves a tombstone at `at`.
    pub(super) async fn remove_tag(
        &mut self,
        repo_id: i64,
        tag_id: Option<i64>,
        tag: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        if let Some(id) = tag_id {
            sqlx::query(sql::DELETE_TAG)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
        }
        sqlx::query(sql::UPSERT_TOMBSTONE)
            .bind(repo_id)
            .bind(tag)
            .bind(at)
            .bind(time::now())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// A tag's state and its tombstone time.
    async fn tag_state(
        &mut self,
        repo_id: i64,
        tag: &str,
    ) -> Result<(Option<TagState>, Option<i64>), StoreError> {
        let current: Option<TagState> = sqlx::query_as(sql::TAG_STATE)
            .bind(repo_id)
            .bind(tag)
            .fetch_optional(&mut *self.tx)
            .await?;
        let tombstone: Option<(i64,)> = sqlx::query_as(sql::TOMBSTONE)
            .bind(repo_id)
            .bind(tag)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok((current, tombstone.map(|(t,)| t)))
    }

    /// Applies one event of a batch.
    pub(super) async fn apply(
        &mut self,
        e: &RegistryEvent,
        default_domain: Option<&str>,
        report: &mut ApplyReport,
    ) -> Result<EventOutcome, StoreError> {
        let Some(ns_id) = self.namespace(&e.namespace, default_domain).await? else {
            return Ok(EventOutcome::UnknownNamespace);
        };
        let recorded = B::rows_affected(
            &sqlx::query(sql::RECORD_EVENT)
                .bind(&e.id)
                .bind(time::now())
                .execute(&mut *self.tx)
                .await?,
        );
        if recorded == 0 {
            return Ok(EventOutcome::Duplicate);
        }
        // A push creates the repository; a tag delete does too, so that its
        // tombstone can stop an older push that arrives later.
        let create = !matches!(e.change, RegistryChange::DeleteDigest { .. });
        let Some(repo_id) = self.repository(ns_id, &e.repository, create).await? else {
            return Ok(EventOutcome::Applied);
        };
        match &e.change {
            RegistryChange::Push { tag, image } => {
                let (current, tombstone) = self.tag_state(repo_id, tag).await?;
                if !is_current(e.at, current.and_then(|c| c.2), tombstone) {
                    return Ok(EventOutcome::Stale);
                }
                self.write_tag(repo_id, tag, image, e.at).await?;
                report.tags_written += 1;
            }
            RegistryChange::DeleteTag { tag } => {
                // An older tombstone is moved forward; a newer one stays.
                let (current, _) = self.tag_state(repo_id, tag).await?;
                if !is_current(e.at, current.as_ref().and_then(|c| c.2), None) {
                    return Ok(EventOutcome::Stale);
                }
                let id = current.as_ref().map(|c| c.0);
                self.remove_tag(repo_id, id, tag, e.at).await?;
                if current.is_some() {
                    report.tags_deleted += 1;
                }
            }
            RegistryChange::DeleteDigest { digest } => {
                let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(sql::TAGS_BY_DIGEST)
                    .bind(repo_id)
                    .bind(digest)
                    .fetch_all(&mut *self.tx)
                    .await?;
                let mut any = rows.is_empty();
                for (id, tag, event_at) in rows {
                    if is_current(e.at, event_at, None) {
                        self.remove_tag(repo_id, Some(id), &tag, e.at).await?;
                        report.tags_deleted += 1;
                        any = true;
                    }
                }
                if !any {
                    return Ok(EventOutcome::Stale);
                }
            }
        }
        Ok(EventOutcome::Applied)
    }
}

//! Tag reads: pages, streams, and what the page index is built and brought
//! forward from ([`TagReads`]), as SQL shared by both backends.

use std::future::Future;

use futures_util::TryStreamExt as _;
use sqlx::{ColumnIndex, Executor, IntoArguments, Row as _};
use tokio::sync::mpsc;

use super::backend::{Args, Backend, Conn, DbRow, Query, Tx, Value};
use super::sql;
use super::time::format_timestamp;
use super::{
    IndexDelta, IndexRows, RepositoryVersion, StoreError, TagPage, TagQuery, TagRecord, TagStream,
};

/// Records buffered between the reading task and the consumer of a stream.
const STREAM_BUFFER: usize = 256;

/// Reading a repository's tags: what a ListRepositoryTags request and the
/// page index (`crate::listing`) need.
pub trait TagReads: Send + Sync + 'static {
    /// One page of a repository's tags, with the true total. Without a page
    /// every record is loaded into memory: use
    /// [`stream_tags`](Self::stream_tags) for that.
    fn list_tags(
        &self,
        q: &TagQuery<'_>,
    ) -> impl Future<Output = Result<TagPage, StoreError>> + Send;

    /// Like [`list_tags`](Self::list_tags) but streamed; see [`TagStream`].
    /// `NotFound` errors come here, before any record.
    fn stream_tags(
        &self,
        q: &TagQuery<'_>,
    ) -> impl Future<Output = Result<TagStream, StoreError>> + Send;

    /// The repository of `q` and its version, with the same `NotFound`
    /// errors as [`list_tags`](Self::list_tags); one indexed read.
    fn repository_version(
        &self,
        q: &TagQuery<'_>,
    ) -> impl Future<Output = Result<RepositoryVersion, StoreError>> + Send;

    /// Every tag of a repository (id, name, `updated`) and the version they
    /// are at, from one snapshot; `None` if the repository is gone.
    fn index_rows(
        &self,
        repo_id: i64,
    ) -> impl Future<Output = Result<Option<IndexRows>, StoreError>> + Send;

    /// The records of `ids` (any order) as they were at version `at`: `None`
    /// unless none of them changed after `at` (per the change log; the
    /// repository itself may have moved on through other tags).
    fn tags_by_id(
        &self,
        q: &TagQuery<'_>,
        at: RepositoryVersion,
        ids: &[i64],
    ) -> impl Future<Output = Result<Option<Vec<TagRecord>>, StoreError>> + Send;

    /// The tags of `repo_id` changed after version `since`, and their current
    /// index columns, in one snapshot; `None` when the repository is gone or
    /// its change log no longer reaches back to `since` (rebuild instead).
    fn index_delta(
        &self,
        repo_id: i64,
        since: i64,
    ) -> impl Future<Output = Result<Option<IndexDelta>, StoreError>> + Send;
}

impl<B> TagReads for B
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
    async fn list_tags(&self, q: &TagQuery<'_>) -> Result<TagPage, StoreError> {
        let (mut tx, repo_id, total) = begin::<B>(self, q).await?;
        let owner = Owner::of(q);
        let records = if q.page.is_some_and(|p| p.offset() >= total) {
            Vec::new()
        } else {
            let sql = sql::select_tags(&B::DIALECT, q);
            let rows = tag_query::<B>(&sql, repo_id, q.tag_contains, q.page)
                .fetch_all(&mut *tx)
                .await?;
            rows.iter()
                .map(|row| decode::<B>(row, repo_id, &owner))
                .collect::<Result<_, _>>()?
        };
        tx.commit().await?;
        Ok(TagPage { total, records })
    }

    async fn stream_tags(&self, q: &TagQuery<'_>) -> Result<TagStream, StoreError> {
        let (tx, repo_id, total) = begin::<B>(self, q).await?;
        let owner = Owner::of(q);
        let sql = sql::select_tags(&B::DIALECT, q);
        let (tag_contains, page) = (q.tag_contains.map(str::to_owned), q.page);
        let (sender, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            let result = pump::<B>(tx, sql, repo_id, tag_contains, page, owner, &sender).await;
            if let Err(e) = result {
                let _ = sender.send(Err(e)).await;
            }
        });
        Ok(TagStream { total, rx })
    }

    async fn repository_version(&self, q: &TagQuery<'_>) -> Result<RepositoryVersion, StoreError> {
        self.point_repository_version(q).await
    }

    async fn index_rows(&self, repo_id: i64) -> Result<Option<IndexRows>, StoreError> {
        self.load_index_rows(repo_id).await
    }

    async fn tags_by_id(
        &self,
        q: &TagQuery<'_>,
        at: RepositoryVersion,
        ids: &[i64],
    ) -> Result<Option<Vec<TagRecord>>, StoreError> {
        self.load_tags_by_id(q, at, ids).await
    }

    async fn index_delta(
        &self,
        repo_id: i64,
        since: i64,
    ) -> Result<Option<IndexDelta>, StoreError> {
        self.load_index_delta(repo_id, since).await
    }
}

/// Namespace, repository and owner of the records read.
pub(super) struct Owner {
    domain_id: String,
    namespace: String,
    repository: String,
}

impl Owner {
    pub(super) fn of(q: &TagQuery<'_>) -> Self {
        Owner {
            domain_id: q.domain_id.to_owned(),
            namespace: q.namespace.to_owned(),
            repository: q.repository.to_owned(),
        }
    }
}

/// A row of [`sql::select_tags`] as a record.
pub(super) fn decode<B>(
    row: &DbRow<B>,
    repo_id: i64,
    owner: &Owner,
) -> Result<TagRecord, sqlx::Error>
where
    B: Backend,
    for<'q> i64: Value<'q, B::Db>,
    for<'q> bool: Value<'q, B::Db>,
    for<'q> String: Value<'q, B::Db>,
    usize: ColumnIndex<DbRow<B>>,
{
    Ok(TagRecord {
        id: row.try_get(0)?,
        repo_id,
        tag: row.try_get(1)?,
        image_id: row.try_get(2)?,
        manifest: row.try_get(3)?,
        digest: row.try_get(4)?,
        schema: row.try_get(5)?,
        size: row.try_get(6)?,
        is_trusted: row.try_get(7)?,
        scanned: row.try_get(8)?,
        tag_type: row.try_get(9)?,
        created: format_timestamp(row.try_get(10)?),
        updated: format_timestamp(row.try_get(11)?),
        deleted: row.try_get::<Option<i64>, _>(12)?.map(format_timestamp),
        domain_id: owner.domain_id.clone(),
        namespace: owner.namespace.clone(),
        repository: owner.repository.clone(),
    })
}

/// Opens the read transaction of `q`: checks that its namespace is the
/// caller's, and counts the matching tags. Returns the transaction, the
/// repository id and the count.
async fn begin<B>(b: &B, q: &TagQuery<'_>) -> Result<(Tx<B>, i64, u64), StoreError>
where
    B: Backend,
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> Args<'q, B>: IntoArguments<'q, B::Db>,
    for<'q> i64: Value<'q, B::Db>,
    for<'q> &'q str: Value<'q, B::Db>,
    usize: ColumnIndex<DbRow<B>>,
{
    let mut tx = b.pool().begin_with(B::BEGIN_READ).await?;
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(sql::RESOLVE)
        .bind(q.namespace)
        .bind(q.domain_id)
        .bind(q.repository)
        .fetch_optional(&mut *tx)
        .await?;
    let repo_id = match row {
        None => return Err(StoreError::NamespaceNotFound(q.namespace.to_owned())),
        Some((_, None)) => {
            return Err(StoreError::RepositoryNotFound {
                namespace: q.namespace.to_owned(),
                repository: q.repository.to_owned(),
            });
        }
        Some((_, Some(repo_id))) => repo_id,
    };
    let sql = sql::count_tags(&B::DIALECT, q);
    let row = tag_query::<B>(&sql, repo_id, q.tag_contains, None)
        .fetch_one(&mut *tx)
        .await?;
    let total = u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0);
    Ok((tx, repo_id, total))
}

/// A tag query with its parameters bound (see [`sql::select_tags`]).
fn tag_query<'q, B>(
    sql: &'q str,
    repo_id: i64,
    tag_contains: Option<&'q str>,
    page: Option<swr_filter::Page>,
) -> Query<'q, B>
where
    B: Backend,
    for<'a> i64: Value<'a, B::Db>,
    for<'a> &'a str: Value<'a, B::Db>,
{
    let mut query = sqlx::query(sql).bind(repo_id);
    if let Some(s) = tag_contains {
        query = query.bind(s);
    }
    if let Some(p) = page {
        // Page::offset() is at most i64::MAX by construction.
        let offset = i64::try_from(p.offset()).unwrap_or(i64::MAX);
        query = query.bind(i64::from(p.limit())).bind(offset);
    }
    query
}

/// Feeds the records of a stream; runs as its own task.
async fn pump<B>(
    mut tx: Tx<B>,
    sql: String,
    repo_id: i64,
    tag_contains: Option<String>,
    page: Option<swr_filter::Page>,
    owner: Owner,
    sender: &mpsc::Sender<Result<TagRecord, StoreError>>,
) -> Result<(), StoreError>
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
    {
        let mut rows = tag_query::<B>(&sql, repo_id, tag_contains.as_deref(), page).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let record = decode::<B>(&row, repo_id, &owner)?;
            if sender.send(Ok(record)).await.is_err() {
                // The consumer is gone; dropping `tx` rolls back.
                return Ok(());
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

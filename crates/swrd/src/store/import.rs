//! Loading data: fixture imports ([`Import`]), and the repository set-up and
//! bulk insert of synthetic data (`crate::synth`, through
//! [`AnyStore`](super::AnyStore)), as SQL shared by both backends.

use std::future::Future;

use sqlx::{ColumnIndex, Encode, Executor, IntoArguments};

use super::backend::{Args, Backend, Conn, DbRow, Query, Value};
use super::{ImportReport, NewTag, StoreError, sql, time, token_hash};
use crate::fixtures::Fixture;

/// Writing a fixture file into the store (`swrd import`, the demo data).
pub trait Import: Send + Sync + 'static {
    /// Writes a fixture in one transaction: all of it or nothing. Upserts:
    /// importing the same file again changes nothing but tags' data (a tag is
    /// identified by repository and name, and keeps its `id`). Fails with
    /// `Conflict` if a namespace, token or AK already belongs to another domain.
    fn import(&self, f: &Fixture) -> impl Future<Output = Result<ImportReport, StoreError>> + Send;
}

impl<B> Import for B
where
    B: Backend,
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> Args<'q, B>: IntoArguments<'q, B::Db>,
    for<'q> i64: Value<'q, B::Db>,
    for<'q> bool: Value<'q, B::Db>,
    for<'q> String: Value<'q, B::Db>,
    for<'q> &'q str: Value<'q, B::Db>,
    for<'q> Option<i64>: Encode<'q, B::Db>,
    usize: ColumnIndex<DbRow<B>>,
{
    async fn import(&self, f: &Fixture) -> Result<ImportReport, StoreError> {
        f.validate()?;
        let now = time::now();
        let mut report = ImportReport::default();
        let mut tx = self.pool().begin_with(B::BEGIN_WRITE).await?;
        let max_id: i64 = if B::DIALECT.upsert_tag_binds_max_id {
            sqlx::query_as::<_, (i64,)>(sql::MAX_TAG_ID)
                .fetch_one(&mut *tx)
                .await?
                .0
        } else {
            0
        };
        for d in &f.domains {
            sqlx::query(sql::UPSERT_DOMAIN)
                .bind(&d.id)
                .bind(&d.name)
                .execute(&mut *tx)
                .await?;
            report.domains += 1;
            let tokens = d.tokens.iter().map(|t| (t.as_str(), None)).chain(
                d.expiring_tokens
                    .iter()
                    .map(|t| (t.token.as_str(), Some(t.expires.0))),
            );
            for (i, (token, expires_at)) in tokens.enumerate() {
                let (owner,): (String,) = sqlx::query_as(sql::UPSERT_TOKEN)
                    .bind(token_hash(token))
                    .bind(&d.id)
                    .bind(expires_at)
                    .fetch_one(&mut *tx)
                    .await?;
                if owner != d.id {
                    return Err(StoreError::Conflict(format!(
                        "token {i} of domain {:?} belongs to another domain",
                        d.id
                    )));
                }
                report.tokens += 1;
            }
            for c in &d.credentials {
                let (owner,): (String,) = sqlx::query_as(sql::UPSERT_CREDENTIAL)
                    .bind(&c.ak)
                    .bind(&c.sk)
                    .bind(&d.id)
                    .fetch_one(&mut *tx)
                    .await?;
                if owner != d.id {
                    return Err(StoreError::Conflict(format!(
                        "access key {:?} belongs to another domain",
                        c.ak
                    )));
                }
                report.credentials += 1;
            }
        }
        let upsert_tag = format!("{}{}", sql::UPSERT_TAG, B::DIALECT.upsert_tag_returning);
        for n in &f.namespaces {
            let (ns_id, owner): (i64, String) = sqlx::query_as(sql::UPSERT_NAMESPACE)
                .bind(&n.name)
                .bind(&n.domain)
                .fetch_one(&mut *tx)
                .await?;
            if owner != n.domain {
                return Err(StoreError::Conflict(format!(
                    "namespace {:?} belongs to another domain",
                    n.name
                )));
            }
            report.namespaces += 1;
            for r in &n.repositories {
                let (repo_id,): (i64,) = sqlx::query_as(sql::UPSERT_REPOSITORY)
                    .bind(ns_id)
                    .bind(&r.name)
                    .fetch_one(&mut *tx)
                    .await?;
                report.repositories += 1;
                for t in &r.tags {
                    let updated = t.updated.or(t.created).map_or(now, |ts| ts.0);
                    let created = t.created.map_or(updated, |ts| ts.0);
                    let query = sqlx::query_as(&upsert_tag)
                        .bind(repo_id)
                        .bind(&t.tag)
                        .bind(&t.image_id)
                        .bind(&t.manifest)
                        .bind(&t.digest)
                        .bind(t.schema)
                        .bind(t.size)
                        .bind(t.is_trusted)
                        .bind(t.scanned)
                        .bind(t.tag_type)
                        .bind(created)
                        .bind(updated)
                        .bind(t.deleted.map(|ts| ts.0));
                    let query = if B::DIALECT.upsert_tag_binds_max_id {
                        query.bind(max_id)
                    } else {
                        query
                    };
                    let (_id, inserted): (i64, bool) = query.fetch_one(&mut *tx).await?;
                    if inserted {
                        report.tags_inserted += 1;
                    } else {
                        report.tags_updated += 1;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(report)
    }
}

/// See [`AnyStore::ensure_repository`](super::AnyStore::ensure_repository).
pub(super) async fn ensure_repository<B>(
    b: &B,
    domain_id: &str,
    domain_name: &str,
    namespace: &str,
    repository: &str,
) -> Result<i64, StoreError>
where
    B: Backend,
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> Args<'q, B>: IntoArguments<'q, B::Db>,
    for<'q> i64: Value<'q, B::Db>,
    for<'q> String: Value<'q, B::Db>,
    for<'q> &'q str: Value<'q, B::Db>,
    usize: ColumnIndex<DbRow<B>>,
{
    if !swr_api::names::is_valid_namespace(namespace) {
        return Err(StoreError::InvalidInput(format!(
            "bad namespace name {namespace:?}"
        )));
    }
    if !swr_api::names::is_valid_repository(repository) {
        return Err(StoreError::InvalidInput(format!(
            "bad repository name {repository:?}"
        )));
    }
    let mut tx = b.pool().begin_with(B::BEGIN_WRITE).await?;
    sqlx::query(sql::ENSURE_DOMAIN)
        .bind(domain_id)
        .bind(domain_name)
        .execute(&mut *tx)
        .await?;
    let (ns_id, owner): (i64, String) = sqlx::query_as(sql::UPSERT_NAMESPACE)
        .bind(namespace)
        .bind(domain_id)
        .fetch_one(&mut *tx)
        .await?;
    if owner != domain_id {
        return Err(StoreError::Conflict(format!(
            "namespace {namespace:?} belongs to another domain"
        )));
    }
    let (repo_id,): (i64,) = sqlx::query_as(sql::UPSERT_REPOSITORY)
        .bind(ns_id)
        .bind(repository)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(repo_id)
}

/// See [`AnyStore::bulk_insert_tags`](super::AnyStore::bulk_insert_tags).
pub(super) async fn bulk_insert_tags<B>(
    b: &B,
    repo_id: i64,
    mut tags: impl Iterator<Item = NewTag> + Send,
) -> Result<u64, StoreError>
where
    B: Backend,
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> Args<'q, B>: IntoArguments<'q, B::Db>,
    for<'q> i64: Value<'q, B::Db>,
    for<'q> bool: Value<'q, B::Db>,
    for<'q> String: Value<'q, B::Db>,
    for<'q> Option<i64>: Encode<'q, B::Db>,
{
    let mut conn = b.pool().acquire().await?;
    B::bulk_session_start(&mut conn).await?;
    let full_sql = sql::bulk_insert(&B::DIALECT, sql::BULK_ROWS);
    let result = async {
        let mut inserted = 0;
        let mut done = false;
        while !done {
            let mut tx = sqlx::Connection::begin_with(&mut *conn, B::BEGIN_WRITE).await?;
            let mut in_tx = 0;
            while in_tx < sql::BULK_TX_ROWS {
                let batch: Vec<NewTag> = tags.by_ref().take(sql::BULK_ROWS).collect();
                if batch.len() < sql::BULK_ROWS {
                    done = true;
                }
                if batch.is_empty() {
                    break;
                }
                in_tx += batch.len();
                let short_sql;
                let sql = if batch.len() == sql::BULK_ROWS {
                    &full_sql
                } else {
                    short_sql = sql::bulk_insert(&B::DIALECT, batch.len());
                    &short_sql
                };
                inserted += B::rows_affected(
                    &bind_rows::<B>(sqlx::query(sql), repo_id, batch)
                        .execute(&mut *tx)
                        .await?,
                );
                if done {
                    break;
                }
            }
            tx.commit().await?;
        }
        Ok::<u64, StoreError>(inserted)
    }
    .await;
    // Restore the connection's settings even after a failure; if that fails
    // too, the connection must not go back to the pool.
    if let Err(e) = B::bulk_session_end(&mut conn).await {
        drop(conn.detach());
        return Err(e.into());
    }
    result
}

/// Binds the columns of [`sql::bulk_insert`] for each of `tags`.
fn bind_rows<B>(mut query: Query<'_, B>, repo_id: i64, tags: Vec<NewTag>) -> Query<'_, B>
where
    B: Backend,
    for<'q> i64: Value<'q, B::Db>,
    for<'q> bool: Value<'q, B::Db>,
    for<'q> String: Value<'q, B::Db>,
    for<'q> Option<i64>: Encode<'q, B::Db>,
{
    for t in tags {
        query = query
            .bind(repo_id)
            .bind(t.tag)
            .bind(t.image_id)
            .bind(t.manifest)
            .bind(t.digest)
            .bind(t.schema)
            .bind(t.size)
            .bind(t.is_trusted)
            .bind(t.scanned)
            .bind(t.tag_type)
            .bind(t.created)
            .bind(t.updated)
            .bind(t.deleted);
    }
    query
}

//! PostgreSQL backend: shared by any number of stateless swrd replicas.

use std::str::FromStr as _;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgQueryResult};

use super::backend::Backend;
use super::coalesce::Coalesce;
use super::reads::{Owner, decode};
use super::sql::{self, Dialect};
use super::{
    AuthLookups, Credential, IndexDelta, IndexRows, RepositoryVersion, StoreError, TagQuery,
    TagRecord, token_hash,
};

/// [`sql::pg_tags_by_id_unchanged`], written once (it runs after every write).
static TAGS_BY_ID_UNCHANGED: LazyLock<String> = LazyLock::new(sql::pg_tags_by_id_unchanged);

/// A store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The request path's point reads, shared between concurrent requests
    /// (see [`Coalesce`]).
    reads: Arc<PointReads>,
}

/// Row of [`sql::RESOLVE_VERSION`].
type VersionRow = Option<(i64, Option<i64>, Option<i64>)>;

#[derive(Debug, Default)]
struct PointReads {
    /// By (namespace, domain, repository).
    versions: Coalesce<(String, String, String), Result<VersionRow, String>>,
    /// By token hash.
    tokens: Coalesce<String, Result<Option<String>, String>>,
    /// By access key.
    credentials: Coalesce<String, Result<Option<(String, String)>, String>>,
}

/// A database error as a shared read keeps it (`sqlx::Error` is not `Clone`).
fn shareable(e: sqlx::Error) -> String {
    format!("database error: {e}")
}

/// A failed shared read, as each of its requests sees it.
fn shared_error(e: String) -> StoreError {
    StoreError::Io(std::io::Error::other(e))
}

const MAX_CONNECTIONS: u32 = 10;

const MIGRATIONS: &[super::Migration] = &[
    (
        1,
        "init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "registry",
        include_str!("../../migrations/postgres/0002_registry.sql"),
    ),
    (
        3,
        "token_expiry",
        include_str!("../../migrations/postgres/0003_token_expiry.sql"),
    ),
    (
        4,
        "repository_version",
        include_str!("../../migrations/postgres/0004_repository_version.sql"),
    ),
    (
        5,
        "change_log",
        include_str!("../../migrations/postgres/0005_change_log.sql"),
    ),
];

impl PgStore {
    /// Connects to `postgres://…` and migrates the database (under sqlx's
    /// advisory lock, so replicas may start together).
    pub async fn open(url: &str, acquire_timeout: Duration) -> Result<Self, StoreError> {
        // No JIT: every statement here reads a few indexed rows (or streams
        // one repository), and a row estimate gone stale after a bulk load
        // can put a millisecond read over `jit_above_cost`, where compiling
        // it costs 10-15 ms each time (the index delta that every request
        // of a repository waits for after a write: 0.5 ms, 35 ms with JIT).
        let options = PgConnectOptions::from_str(url)?.options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(acquire_timeout)
            .connect_with(options)
            .await?;
        super::migrate(&pool, MIGRATIONS).await?;
        Ok(PgStore {
            pool,
            reads: Arc::default(),
        })
    }
}

impl Backend for PgStore {
    type Db = Postgres;

    const DIALECT: Dialect = Dialect {
        contains: "strpos",
        // A row version that an upsert inserted has no xmax; an updated one
        // is locked by this transaction.
        upsert_tag_returning: "RETURNING id, (xmax = 0)",
        upsert_tag_binds_max_id: false,
        registry_lock: "SELECT pg_advisory_xact_lock(5377000002)",
        id_in_list: "= ANY($2)",
        numbered_bulk_params: true,
    };

    /// The default READ COMMITTED takes a snapshot per statement, so the
    /// count and the rows of one response could disagree; REPEATABLE READ
    /// takes one.
    const BEGIN_READ: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
    const BEGIN_WRITE: &'static str = "BEGIN";

    /// Autovacuum may be off (it is on some managed servers and test
    /// machines) or far behind a bulk import's deletes; a vacuum of the
    /// small log table costs little.
    const AFTER_PRUNE: Option<&'static str> = Some("VACUUM (ANALYZE) tag_changes");

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A `bigint[]`.
    type Ids<'a> = &'a [i64];

    fn ids_param(ids: &[i64]) -> &[i64] {
        ids
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    /// On sqlx, coalesced (see [`Coalesce`]).
    async fn point_repository_version(
        &self,
        q: &TagQuery<'_>,
    ) -> Result<RepositoryVersion, StoreError> {
        let key = (
            q.namespace.to_owned(),
            q.domain_id.to_owned(),
            q.repository.to_owned(),
        );
        let (pool, (namespace, domain_id, repository)) = (self.pool.clone(), key.clone());
        let row = self
            .reads
            .versions
            .read(key, async move {
                sqlx::query_as(sql::RESOLVE_VERSION)
                    .bind(namespace)
                    .bind(domain_id)
                    .bind(repository)
                    .fetch_optional(&pool)
                    .await
                    .map_err(shareable)
            })
            .await
            .map_err(shared_error)?;
        match row {
            None => Err(StoreError::NamespaceNotFound(q.namespace.to_owned())),
            Some((_, Some(repo_id), Some(version))) => Ok(RepositoryVersion { repo_id, version }),
            Some(_) => Err(StoreError::RepositoryNotFound {
                namespace: q.namespace.to_owned(),
                repository: q.repository.to_owned(),
            }),
        }
    }

    /// Streamed through sqlx.
    async fn load_tags_by_id(
        &self,
        q: &TagQuery<'_>,
        at: RepositoryVersion,
        ids: &[i64],
    ) -> Result<Option<Vec<TagRecord>>, StoreError> {
        // One statement: no transaction needed for one snapshot, and after a
        // write every request of the repository waits for this read.
        let rows = sqlx::query(&TAGS_BY_ID_UNCHANGED)
            .bind(at.repo_id)
            .bind(ids)
            .bind(at.version)
            .fetch_all(&self.pool)
            .await?;
        // Fewer rows than ids: one changed (or the proof failed).
        if rows.len() != ids.len() {
            return Ok(None);
        }
        let owner = Owner::of(q);
        let records = rows
            .iter()
            .map(|row| decode::<Self>(row, at.repo_id, &owner))
            .collect::<Result<_, _>>()?;
        Ok(Some(records))
    }

    async fn load_index_delta(
        &self,
        repo_id: i64,
        since: i64,
    ) -> Result<Option<IndexDelta>, StoreError> {
        type Row = (i64, i64, Option<i64>, Option<String>, Option<i64>);
        let found: Vec<Row> = sqlx::query_as(sql::PG_INDEX_DELTA)
            .bind(repo_id)
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        let Some(&(version, floor, ..)) = found.first() else {
            return Ok(None);
        };
        if !(floor <= since && since <= version) {
            return Ok(None);
        }
        let mut delta = IndexDelta {
            version,
            changed: Vec::with_capacity(found.len()),
            rows: IndexRows::new(version),
        };
        for (_, _, id, tag, updated) in found {
            let Some(id) = id else { continue };
            delta.changed.push(id);
            if let (Some(tag), Some(updated)) = (tag, updated) {
                delta.rows.push(id, &tag, updated)?;
            }
        }
        Ok(Some(delta))
    }

    async fn load_index_rows(&self, repo_id: i64) -> Result<Option<IndexRows>, StoreError> {
        use futures_util::TryStreamExt as _;
        use sqlx::Row as _;
        // One snapshot: the version and the rows agree.
        let mut tx = self.pool.begin_with(Self::BEGIN_READ).await?;
        let version: Option<(i64,)> = sqlx::query_as(sql::REPOSITORY_VERSION)
            .bind(repo_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((version,)) = version else {
            tx.commit().await?;
            return Ok(None);
        };
        let mut rows = IndexRows::new(version);
        {
            let mut stream = sqlx::query(sql::INDEX_ROWS).bind(repo_id).fetch(&mut *tx);
            while let Some(row) = stream.try_next().await? {
                rows.push(row.try_get(0)?, row.try_get::<&str, _>(1)?, row.try_get(2)?)?;
            }
        }
        tx.commit().await?;
        Ok(Some(rows))
    }

    /// Bulk load needs no session settings here: one commit per 100,000 rows
    /// makes `synchronous_commit` irrelevant, and the server sizes its own
    /// cache.
    async fn bulk_session_start(_: &mut PoolConnection<Postgres>) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn bulk_session_end(_: &mut PoolConnection<Postgres>) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

/// On sqlx, coalesced (see `coalesce.rs`).
impl AuthLookups for PgStore {
    async fn domain_for_token(&self, token: &str) -> Result<Option<String>, StoreError> {
        let hash = token_hash(token);
        let (pool, key) = (self.pool.clone(), hash.clone());
        self.reads
            .tokens
            .read(key, async move {
                // The time is taken when the shared query starts: never
                // earlier than any of its requests arrived.
                let row: Option<(String,)> = sqlx::query_as(sql::TOKEN)
                    .bind(hash)
                    .bind(crate::store::time::now())
                    .fetch_optional(&pool)
                    .await
                    .map_err(shareable)?;
                Ok(row.map(|(d,)| d))
            })
            .await
            .map_err(shared_error)
    }

    async fn credential(&self, access_key: &str) -> Result<Option<Credential>, StoreError> {
        let (pool, ak) = (self.pool.clone(), access_key.to_owned());
        let row = self
            .reads
            .credentials
            .read(access_key.to_owned(), async move {
                sqlx::query_as(sql::CREDENTIAL)
                    .bind(ak)
                    .fetch_optional(&pool)
                    .await
                    .map_err(shareable)
            })
            .await
            .map_err(shared_error)?;
        Ok(row.map(|(domain_id, secret_key)| Credential {
            domain_id,
            secret_key,
        }))
    }
}

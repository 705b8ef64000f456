//! SQLite backend: the embedded default, a single file in WAL mode.

mod inline;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{Executor as _, Sqlite};

use super::backend::Backend;
use super::sql::{self, Dialect};
use super::{
    AuthLookups, Credential, IndexDelta, IndexRows, RepositoryVersion, StoreError, TagQuery,
    TagRecord, token_hash,
};
use inline::InlineReads;

/// A store in one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The request path's point reads, off sqlx's worker threads.
    inline: Arc<InlineReads>,
    /// The directory of an ephemeral (`sqlite::memory:`) database; it is
    /// removed when the last clone of the store is dropped.
    _ephemeral: Option<Arc<tempfile::TempDir>>,
}

/// Readers run concurrently in WAL mode; one writer at a time.
const MAX_CONNECTIONS: u32 = 8;

const MIGRATIONS: &[super::Migration] = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "registry",
        include_str!("../../migrations/sqlite/0002_registry.sql"),
    ),
    (
        3,
        "token_expiry",
        include_str!("../../migrations/sqlite/0003_token_expiry.sql"),
    ),
    (
        4,
        "repository_version",
        include_str!("../../migrations/sqlite/0004_repository_version.sql"),
    ),
    (
        5,
        "change_log",
        include_str!("../../migrations/sqlite/0005_change_log.sql"),
    ),
];

impl SqliteStore {
    /// Opens `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:` (see
    /// [`open`](super::open)) and migrates it.
    pub async fn open(url: &str, acquire_timeout: Duration) -> Result<Self, StoreError> {
        let (options, ephemeral) = if url == "sqlite::memory:" {
            let dir = tempfile::Builder::new().prefix("swrd-").tempdir()?;
            let options = SqliteConnectOptions::new().filename(dir.path().join("swrd.db"));
            (options, Some(Arc::new(dir)))
        } else {
            (SqliteConnectOptions::from_str(url)?, None)
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable in WAL mode except for the last commits
            // before a power cut; it never corrupts the database.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(acquire_timeout)
            .connect_with(options.clone())
            .await?;
        super::migrate(&pool, MIGRATIONS).await?;
        let inline = Arc::new(InlineReads::new(options.get_filename().to_owned()));
        Ok(SqliteStore {
            pool,
            inline,
            _ephemeral: ephemeral,
        })
    }
}

impl Backend for SqliteStore {
    type Db = Sqlite;

    const DIALECT: Dialect = Dialect {
        contains: "instr",
        // SQLite cannot tell an upsert's insert from its update; ids only grow
        // (AUTOINCREMENT) and the writer lock is held from `BEGIN IMMEDIATE`,
        // so a row is new exactly when its id is above the largest id at the
        // start.
        upsert_tag_returning: "RETURNING id, id > $14",
        upsert_tag_binds_max_id: true,
        registry_lock: "",
        id_in_list: "IN (SELECT value FROM json_each($2))",
        numbered_bulk_params: false,
    };

    /// A deferred transaction: the snapshot starts at its first read, so the
    /// count and the rows agree.
    const BEGIN_READ: &'static str = "BEGIN";

    /// Takes the write lock up front: a deferred transaction that reads and
    /// then writes fails with `SQLITE_BUSY` (no waiting) when another writer
    /// went first.
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";

    /// Deleted rows leave nothing for readers to skip in SQLite.
    const AFTER_PRUNE: Option<&'static str> = None;

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// SQLite has no array type: a JSON array, read back with `json_each`.
    type Ids<'a> = String;

    fn ids_param(ids: &[i64]) -> String {
        use std::fmt::Write as _;
        let mut json = String::with_capacity(ids.len() * 8 + 2);
        json.push('[');
        for (i, id) in ids.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(json, "{sep}{id}");
        }
        json.push(']');
        json
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    /// Inline (see [`inline`]), same SQL as PostgreSQL.
    async fn point_repository_version(
        &self,
        q: &TagQuery<'_>,
    ) -> Result<RepositoryVersion, StoreError> {
        let row = self.inline.row(
            sql::RESOLVE_VERSION,
            rusqlite::named_params! {"$1": q.namespace, "$2": q.domain_id, "$3": q.repository},
            |r| Ok((r.get::<_, Option<i64>>(1)?, r.get::<_, Option<i64>>(2)?)),
        )?;
        match row {
            None => Err(StoreError::NamespaceNotFound(q.namespace.to_owned())),
            Some((Some(repo_id), Some(version))) => Ok(RepositoryVersion { repo_id, version }),
            Some(_) => Err(StoreError::RepositoryNotFound {
                namespace: q.namespace.to_owned(),
                repository: q.repository.to_owned(),
            }),
        }
    }

    /// rusqlite on a blocking thread (see [`InlineReads::index_rows`]).
    async fn load_index_rows(&self, repo_id: i64) -> Result<Option<IndexRows>, StoreError> {
        let inline = self.inline.clone();
        tokio::task::spawn_blocking(move || inline.index_rows(repo_id))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?
    }

    /// Inline (see [`InlineReads::tags_by_id`]): at most one page of rows,
    /// read while a request waits.
    async fn load_tags_by_id(
        &self,
        q: &TagQuery<'_>,
        at: RepositoryVersion,
        ids: &[i64],
    ) -> Result<Option<Vec<TagRecord>>, StoreError> {
        self.inline.tags_by_id(q, at, ids)
    }

    /// rusqlite on a blocking thread: one hand-off instead of sqlx's one per
    /// statement, and a large delta (after a bulk import) does not hold up a
    /// tokio worker.
    async fn load_index_delta(
        &self,
        repo_id: i64,
        since: i64,
    ) -> Result<Option<IndexDelta>, StoreError> {
        let inline = self.inline.clone();
        tokio::task::spawn_blocking(move || inline.index_delta(repo_id, since))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?
    }

    /// A large page cache for the index B-trees (1M tags load in ~7 s instead
    /// of ~9 s). Durability stays as it is: with WAL, `synchronous = OFF`
    /// measured no faster.
    async fn bulk_session_start(conn: &mut PoolConnection<Sqlite>) -> Result<(), sqlx::Error> {
        conn.execute("PRAGMA cache_size = -262144").await?;
        Ok(())
    }

    /// Back to the default cache, as the connection returns to the pool.
    async fn bulk_session_end(conn: &mut PoolConnection<Sqlite>) -> Result<(), sqlx::Error> {
        conn.execute("PRAGMA cache_size = -2000").await?;
        Ok(())
    }
}

/// Inline through rusqlite (see `sqlite/inline.rs`), same SQL as PostgreSQL.
impl AuthLookups for SqliteStore {
    async fn domain_for_token(&self, token: &str) -> Result<Option<String>, StoreError> {
        self.inline
            .row(sql::TOKEN, (token_hash(token), super::time::now()), |r| {
                r.get(0)
            })
    }

    async fn credential(&self, access_key: &str) -> Result<Option<Credential>, StoreError> {
        self.inline.row(
            sql::CREDENTIAL,
            rusqlite::named_params! {"$1": access_key},
            |r| {
                Ok(Credential {
                    domain_id: r.get(0)?,
                    secret_key: r.get(1)?,
                })
            },
        )
    }
}

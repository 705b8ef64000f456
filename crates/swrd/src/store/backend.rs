//! What differs between SQLite and PostgreSQL: the [`Backend`] trait.
//!
//! Everything else is shared code, generic over `B: Backend`: the role traits
//! [`TagReads`](super::TagReads), [`RegistryFeed`](super::RegistryFeed),
//! [`Import`](super::Import) and [`Maintenance`](super::Maintenance) are
//! implemented once for every backend (in `reads.rs`, `feed.rs`, `import.rs`
//! and `maintenance.rs`), running the SQL text of `sql.rs`. Only
//! [`AuthLookups`](super::AuthLookups) is written per backend, because its
//! point reads share nothing but the SQL (SQLite runs them inline through
//! rusqlite, PostgreSQL coalesces them).
//!
//! # The where clause of generic code
//!
//! sqlx's traits are generic over the database, and Rust does not carry a
//! trait's `where` clauses over to its users (only supertraits), so every
//! generic `impl` over a backend states what it needs of sqlx: an executor
//! for `&mut` connections, arguments, and the column types it binds and
//! reads ([`Value`] for `i64`, `bool`, `String` and `&str`; `Option`s and
//! tuples follow from those). SQLite and PostgreSQL satisfy all of it; the
//! clause is the same everywhere, spelled out so that go-to-definition lands
//! on ordinary code.

use std::future::Future;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Decode, Encode, Pool, Type};

use super::sql::Dialect;
use super::{IndexDelta, IndexRows, RepositoryVersion, StoreError, TagQuery, TagRecord};

/// A database swrd can keep its store in: the items each backend defines
/// itself. Implemented by [`SqliteStore`](super::SqliteStore) and
/// [`PgStore`](super::PgStore).
pub(crate) trait Backend: Send + Sync + 'static {
    /// The sqlx driver.
    type Db: Database;

    /// What differs in the SQL text.
    const DIALECT: Dialect;

    /// Starts a read transaction whose statements all see one snapshot.
    const BEGIN_READ: &'static str;

    /// Starts a write transaction (SQLite takes the writer lock up front).
    const BEGIN_WRITE: &'static str;

    /// A statement run after a prune removed change-log entries, if any.
    /// PostgreSQL vacuums the log itself: it is a queue every write inserts
    /// into and every prune deletes from, and with autovacuum off or behind,
    /// each minute's prune walked every dead entry (a million after a bulk
    /// import) on every replica.
    const AFTER_PRUNE: Option<&'static str>;

    /// The connection pool.
    fn pool(&self) -> &Pool<Self::Db>;

    /// A list of tag ids as one bound parameter of [`Dialect::id_in_list`].
    type Ids<'a>: for<'q> Encode<'q, Self::Db> + Type<Self::Db> + Send + 'a;

    /// `ids` as [`Ids`](Self::Ids).
    fn ids_param(ids: &[i64]) -> Self::Ids<'_>;

    /// How many rows a statement inserted, updated or deleted (sqlx has no
    /// generic accessor).
    fn rows_affected(result: &<Self::Db as Database>::QueryResult) -> u64;

    /// The repository of `q` and its version (one indexed read on the
    /// request path; see [`TagReads::repository_version`](super::TagReads::repository_version)).
    fn point_repository_version(
        &self,
        q: &TagQuery<'_>,
    ) -> impl Future<Output = Result<RepositoryVersion, StoreError>> + Send;

    /// Every tag's index columns and the version they are at, from one
    /// snapshot (see [`TagReads::index_rows`](super::TagReads::index_rows)).
    fn load_index_rows(
        &self,
        repo_id: i64,
    ) -> impl Future<Output = Result<Option<IndexRows>, StoreError>> + Send;

    /// Some tags' records as of `at`, or `None` if one changed since (see
    /// [`TagReads::tags_by_id`](super::TagReads::tags_by_id)).
    fn load_tags_by_id(
        &self,
        q: &TagQuery<'_>,
        at: RepositoryVersion,
        ids: &[i64],
    ) -> impl Future<Output = Result<Option<Vec<TagRecord>>, StoreError>> + Send;

    /// What changed since version `since` (see
    /// [`TagReads::index_delta`](super::TagReads::index_delta)).
    fn load_index_delta(
        &self,
        repo_id: i64,
        since: i64,
    ) -> impl Future<Output = Result<Option<IndexDelta>, StoreError>> + Send;

    /// Session settings for a bulk load on `conn`.
    fn bulk_session_start(
        conn: &mut PoolConnection<Self::Db>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Undoes [`bulk_session_start`](Self::bulk_session_start) before `conn`
    /// returns to the pool.
    fn bulk_session_end(
        conn: &mut PoolConnection<Self::Db>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// A column type that is bound and read: the three sqlx traits under one
/// name, so the where clause of generic store code stays short.
pub(crate) trait Value<'q, DB: Database>:
    Encode<'q, DB> + Decode<'q, DB> + Type<DB>
{
}

impl<'q, DB: Database, T> Value<'q, DB> for T where T: Encode<'q, DB> + Decode<'q, DB> + Type<DB> {}

/// The connection type of backend `B`.
pub(crate) type Conn<B> = <<B as Backend>::Db as Database>::Connection;

/// The argument buffer of backend `B`.
pub(crate) type Args<'q, B> = <<B as Backend>::Db as Database>::Arguments<'q>;

/// The row type of backend `B`.
pub(crate) type DbRow<B> = <<B as Backend>::Db as Database>::Row;

/// An open transaction of backend `B`.
pub(crate) type Tx<B> = sqlx::Transaction<'static, <B as Backend>::Db>;

/// The query type of backend `B`, with positional arguments.
pub(crate) type Query<'q, B> = sqlx::query::Query<'q, <B as Backend>::Db, Args<'q, B>>;

//! Storage of swrd: accounts, credentials, namespaces, repositories and tags,
//! on SQLite (embedded default) or PostgreSQL (shared by stateless replicas).
//!
//! # Layout
//!
//! The store is used through five traits, one per role, each in the module
//! of its concern:
//!
//! * [`TagReads`] (`reads.rs`): pages, streams and the page index's reads;
//! * [`AuthLookups`] (`auth.rs`): tokens and access keys;
//! * [`RegistryFeed`] (`feed.rs`): registry events, sync reconciliation and
//!   checkpoints;
//! * [`Import`] (`import.rs`): fixture imports (and, on [`AnyStore`], the set-up
//!   and bulk load of synthetic data);
//! * [`Maintenance`] (`maintenance.rs`): change-log pruning and readiness.
//!
//! [`Store`] is all five, for code that needs everything. [`SqliteStore`] and
//! [`PgStore`] implement them; [`AnyStore`] is the runtime choice between the
//! two. What differs between the databases is one trait, `Backend`
//! (`backend.rs`: the sqlx driver, the SQL `Dialect`, how a
//! transaction starts, the point reads and the page index's reads); the
//! rest is generic code over it, running the SQL text of `sql.rs`.
//!
//! # Why sqlx, and where rusqlite
//!
//! `sqlx` 0.8 (`default-features = false`, features `runtime-tokio`, `sqlite`,
//! `postgres`, `migrate`) gives one async API, one pool type and one migration
//! runner (with PostgreSQL advisory locking, so replicas starting together do
//! not race) for both backends; SQLite's blocking calls run on sqlx's
//! per-connection worker thread, so the tokio workers never block. The
//! alternative for everything, rusqlite + tokio-postgres, would need a
//! hand-made SQLite pool on `spawn_blocking`, two row-decoding paths and our
//! own migration bookkeeping. Queries are checked at run time (no `macros`
//! feature): the macros compile the drivers a second time and need a live
//! database or offline data to build.
//!
//! rusqlite is used for one thing: SQLite's reads on the request path (token,
//! access key, repository version, a page's missing tags by id) and the page
//! index's reads (the full read and the delta after a write), in
//! `store/sqlite/inline.rs`. sqlx talks to each SQLite connection's thread
//! over channels, and for a 5 µs indexed lookup that hand-off was most of the
//! cost (~40% of a cached page's profile in futex wake/wait); rusqlite runs the
//! read inline on the tokio worker instead, on read-only connections to the
//! same file (a WAL reader never waits for the writer). It links the same
//! bundled libsqlite3 that sqlx builds, so SQLite is compiled once.
//! Transactions, streams and writes stay on sqlx.
//!
//! The SQL text is shared: SQLite accepts PostgreSQL's `$1` placeholders, and the
//! few differences (substring function, transaction start, the inserted-or-
//! updated flag of an upsert) are per-backend constants.
//!
//! # Semantics (identical on both backends; tested on both)
//!
//! * Order by `updated` or `tag`, either direction; ties on `updated` are broken
//!   by `id` in the same direction. `tag` is unique per repository, so it never
//!   ties; it compares by bytes (SQLite `BINARY`, PostgreSQL `COLLATE "C"`).
//! * `tag_contains` is a case-sensitive substring test (`instr` / `strpos`), not
//!   `LIKE`, which ignores ASCII case in SQLite and gives `%` and `_` meaning.
//! * `total` counts every matching row; an offset past the end gives no rows
//!   and the true total. The count and the rows come from one snapshot (a read
//!   transaction; `REPEATABLE READ` on PostgreSQL, where the default gives each
//!   statement its own snapshot).
//! * Another domain's namespace is [`StoreError::NamespaceNotFound`], exactly
//!   like a missing one, so existence does not leak across accounts.
//! * Times are Unix seconds in the database and RFC 3339 UTC strings
//!   (`2018-07-06T06:18:55Z`) in [`TagRecord`]; see [`time`].
//! * A `deleted` time is data: such a tag is still listed.
//! * Registry feed writes ([`RegistryFeed::apply_registry_events`],
//!   [`RegistryFeed::reconcile_repository`]) keep, per tag, the time of the newest
//!   registry event applied (`tags.event_at`, nanoseconds), tombstones of
//!   deleted tags and the ids of applied events (migration `0002_registry`),
//!   and are serialised (SQLite's writer lock; a PostgreSQL advisory lock),
//!   so the order rules hold across replicas; see `crate::registry`.

mod any;
mod auth;
mod backend;
mod coalesce;
mod feed;
mod import;
mod maintenance;
mod postgres;
mod reads;
mod sql;
mod sqlite;
pub mod time;
mod types;

use sha2::{Digest, Sha256};

use crate::fixtures::FixtureError;

pub use any::AnyStore;
pub use auth::AuthLookups;
pub use feed::RegistryFeed;
pub use import::Import;
pub use maintenance::Maintenance;
pub use postgres::PgStore;
pub use reads::TagReads;
pub use sqlite::SqliteStore;
pub use types::{
    ApplyReport, Credential, EventOutcome, ImageData, ImportReport, IndexDelta, IndexRows, NewTag,
    Observation, ReconcileReport, RegistryChange, RegistryEvent, RepositoryVersion, SyncCheckpoint,
    TagPage, TagQuery, TagRecord, TagStream,
};

/// Every storage operation the server needs: the five role traits in one
/// bound, for code (the HTTP app, `crate::listing`) that uses several.
/// Implemented for whatever implements all five: [`SqliteStore`], [`PgStore`]
/// and [`AnyStore`].
///
/// The role traits are written as `fn -> impl Future + Send` (what `async fn`
/// desugars to) so the futures are `Send` for axum handlers; implementations
/// just write `async fn`. Not object-safe by design; [`AnyStore`] is the
/// runtime choice of backend.
pub trait Store: TagReads + AuthLookups + RegistryFeed + Import + Maintenance {}

impl<S> Store for S where S: TagReads + AuthLookups + RegistryFeed + Import + Maintenance {}

/// Store failures. The two `NotFound`s map to 404, the rest to 500 (or, for
/// `InvalidFixture`/`Conflict`/`InvalidInput`, to a failed admin command).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The namespace does not exist or belongs to another domain.
    #[error("namespace {0} not found")]
    NamespaceNotFound(String),
    /// The namespace exists (and is the caller's) but the repository does not.
    #[error("repository {namespace}/{repository} not found")]
    RepositoryNotFound {
        /// Namespace name.
        namespace: String,
        /// Repository name.
        repository: String,
    },
    /// An imported fixture breaks a rule of the format.
    #[error(transparent)]
    InvalidFixture(#[from] FixtureError),
    /// A write contradicts the stored data (e.g. a namespace of another
    /// domain); nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
    /// An argument breaks a naming rule.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The database URL is not one [`open`] understands.
    #[error(
        "unsupported database URL (scheme {0:?}): use sqlite://PATH, sqlite::memory: or postgres://…"
    )]
    UnsupportedUrl(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema migration failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The ephemeral database's directory could not be made.
    #[error("cannot create the ephemeral database: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens (creating if needed) and migrates a store:
///
/// * `sqlite://PATH` or `sqlite:PATH`: a file, created if missing, in WAL mode
///   (readers never wait for the writer);
/// * `sqlite::memory:`: an ephemeral database. It is a private file in a temp
///   directory, removed when the last handle is dropped, because a true SQLite
///   `:memory:` database lives in a single connection, and one open
///   [`TagStream`] would then block every other request;
/// * `postgres://…` or `postgresql://…`.
pub async fn open(url: &str) -> Result<AnyStore, StoreError> {
    open_with(url, DEFAULT_ACQUIRE_TIMEOUT).await
}

/// How long a request waits for a pooled database connection (all busy, or
/// the database down and refusing connections) before it fails with a 500,
/// unless [`open_with`] is given another value. sqlx's own default (30 s)
/// held every request for 30 s while the database was down.
pub const DEFAULT_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// [`open`] with the pool's connection acquire timeout.
pub async fn open_with(
    url: &str,
    acquire_timeout: std::time::Duration,
) -> Result<AnyStore, StoreError> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(AnyStore::Sqlite(
            SqliteStore::open(url, acquire_timeout).await?,
        )),
        "postgres" | "postgresql" => Ok(AnyStore::Postgres(
            PgStore::open(url, acquire_timeout).await?,
        )),
        // Only the scheme: the URL may carry a password.
        _ => Err(StoreError::UnsupportedUrl(scheme.to_owned())),
    }
}

/// How long applied event ids and tombstones are kept: a redelivery or a
/// reordered event older than this is no longer recognised (a sync repairs
/// what that could get wrong).
pub const REGISTRY_RETENTION_SECS: i64 = 7 * 86_400;

/// The stored form of a token: lowercase hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An embedded migration: version, description, SQL.
type Migration = (i64, &'static str, &'static str);

/// The embedded migrations as a sqlx migration source (sqlx's own embedding
/// is the `migrate!` macro, which needs the `macros` feature).
#[derive(Debug)]
struct Embedded(&'static [Migration]);

impl<'s> sqlx::migrate::MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> futures_core::future::BoxFuture<
        's,
        Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>,
    > {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    sqlx::migrate::Migration::new(
                        version,
                        description.into(),
                        sqlx::migrate::MigrationType::Simple,
                        sql.into(),
                        false,
                    )
                })
                .collect())
        })
    }
}

async fn migrate<DB>(
    pool: &sqlx::Pool<DB>,
    migrations: &'static [Migration],
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    <DB as sqlx::Database>::Connection: sqlx::migrate::Migrate,
{
    sqlx::migrate::Migrator::new(Embedded(migrations))
        .await?
        .run(pool)
        .await?;
    Ok(())
}

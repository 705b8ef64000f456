//! Storage of swrd: accounts, credentials, namespaces, repositories and tags,
//! behind the small [`Store`] trait, on SQLite (embedded default) or
//! PostgreSQL (shared by stateless replicas).
//!
//! # Why sqlx
//!
//! `sqlx` 0.8 (`default-features = false`, features `runtime-tokio`, `sqlite`,
//! `postgres`, `migrate`) gives one async API, one pool type and one migration
//! runner (with PostgreSQL advisory locking, so replicas starting together do
//! not race) for both backends; SQLite's blocking calls run on sqlx's
//! per-connection worker thread, so the tokio workers never block. The
//! alternative, rusqlite + tokio-postgres, would need a hand-made SQLite pool on
//! `spawn_blocking`, two row-decoding paths and our own migration bookkeeping.
//! Queries are checked at run time (no `macros` feature): the macros compile
//! the drivers a second time and need a live database or offline data to build.
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
//! * Registry feed writes ([`Store::apply_registry_events`],
//!   [`Store::reconcile_repository`]) keep, per tag, the time of the newest
//!   registry event applied (`tags.event_at`, nanoseconds), tombstones of
//!   deleted tags and the ids of applied events (migration `0002_registry`),
//!   and are serialised (SQLite's writer lock; a PostgreSQL advisory lock),
//!   so the order rules hold across replicas; see `crate::registry`.

mod coalesce;
mod postgres;
mod sql;
mod sqlite;
pub mod time;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use sha2::{Digest, Sha256};
use swr_filter::{Order, Page};
use tokio::sync::mpsc;

use crate::fixtures::{Fixture, FixtureError};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// One ListRepositoryTags query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagQuery<'a> {
    /// The caller's domain (from its token or AK/SK).
    pub domain_id: &'a str,
    /// Namespace name.
    pub namespace: &'a str,
    /// Repository name with `/` (the wire form's `$` already replaced).
    pub repository: &'a str,
    /// Sort order; the default is `updated_at desc`.
    pub order: Order,
    /// Only tags whose name contains this (case-sensitive).
    pub tag_contains: Option<&'a str>,
    /// One page, or every matching tag.
    pub page: Option<Page>,
}

impl<'a> TagQuery<'a> {
    /// Every tag of a repository in the default order.
    pub fn new(domain_id: &'a str, namespace: &'a str, repository: &'a str) -> Self {
        TagQuery {
            domain_id,
            namespace,
            repository,
            order: Order::default(),
            tag_contains: None,
            page: None,
        }
    }
}

/// One tag, with the fields of the API's `ShowReposTagResp` that the store
/// owns (`path` and `internal_path` depend on the server's address, so the
/// HTTP layer builds them from `namespace`, `repository` and `tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRecord {
    /// Tag record id, assigned by the store, never reused.
    pub id: i64,
    /// Repository id, assigned by the store.
    pub repo_id: i64,
    /// Tag name (`Tag` on the wire).
    pub tag: String,
    /// Hex sha256 of the image config.
    pub image_id: String,
    /// The manifest, a JSON document as a string.
    pub manifest: String,
    /// `sha256:…` manifest digest.
    pub digest: String,
    /// Docker manifest schema, 1 or 2.
    pub schema: i64,
    /// Bytes.
    pub size: i64,
    /// Trusted image.
    pub is_trusted: bool,
    /// Scanned image.
    pub scanned: bool,
    /// 0 manifest, 1 manifest list.
    pub tag_type: i64,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub created: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub updated: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`, or `None` (JSON `null`).
    pub deleted: Option<String>,
    /// Owning domain.
    pub domain_id: String,
    /// Namespace name.
    pub namespace: String,
    /// Repository name, with `/`.
    pub repository: String,
}

/// One page of tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPage {
    /// Tags matching the query (the tag filter), ignoring the page.
    pub total: u64,
    /// The requested page, in order.
    pub records: Vec<TagRecord>,
}

/// Tags as they are read: [`total`](Self::total) is known before the first
/// record, so the HTTP layer can send `Content-Range` (or a 404, which
/// [`Store::stream_tags`] returns as an error before any stream exists) and
/// then write the JSON array record by record.
///
/// A background task owns the read transaction and feeds a small bounded
/// channel, so memory stays flat however large the repository, and a slow
/// client slows the reader instead of filling a buffer. Dropping the stream
/// stops the task and ends the transaction. An `Err` item (a database failure
/// mid-way) is the last item; the response can then only be cut short.
pub struct TagStream {
    total: u64,
    rx: mpsc::Receiver<Result<TagRecord, StoreError>>,
}

impl TagStream {
    /// Matching tags, counted in the same snapshot the records are read from;
    /// the stream yields exactly this many (fewer only if it ends in `Err`, or
    /// if the query had a page).
    pub fn total(&self) -> u64 {
        self.total
    }
}

impl fmt::Debug for TagStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TagStream")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl Stream for TagStream {
    type Item = Result<TagRecord, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// A repository and its change counter: migration 0004's triggers bump it in
/// the transaction of every write to the repository's tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RepositoryVersion {
    /// Repository id.
    pub repo_id: i64,
    /// Change counter; equal counters mean equal tags.
    pub version: i64,
}

/// Every tag of a repository as the columns an order index needs, read in one
/// snapshot with the repository's version (see `crate::pages`). Columnar, the
/// names in one buffer, so a million tags cost one allocation per column
/// instead of one per name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexRows {
    /// The version the rows are at.
    pub version: i64,
    /// Tag ids.
    pub ids: Vec<i64>,
    /// `updated`, Unix seconds.
    pub updated: Vec<i64>,
    /// Every tag name, concatenated.
    pub names: String,
    /// Where each name ends in `names`.
    pub name_ends: Vec<u32>,
}

impl IndexRows {
    /// No rows yet, at `version`.
    pub fn new(version: i64) -> Self {
        IndexRows {
            version,
            ..IndexRows::default()
        }
    }

    /// Appends one tag. Fails once the names exceed 4 GiB (u32 offsets; 33
    /// million tags of the longest legal name).
    pub fn push(&mut self, id: i64, name: &str, updated: i64) -> Result<(), StoreError> {
        self.names.push_str(name);
        let end = u32::try_from(self.names.len())
            .map_err(|_| StoreError::InvalidInput("too many tags to index".into()))?;
        self.ids.push(id);
        self.updated.push(updated);
        self.name_ends.push(end);
        Ok(())
    }

    /// How many tags.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// No tags.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// What changed in a repository since an index's version, read in one
/// snapshot ([`Store::index_delta`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexDelta {
    /// The version the delta leads to.
    pub version: i64,
    /// Ids of the tags logged as changed since, ascending: each is either in
    /// `rows` (its state at `version`) or no longer in the repository.
    pub changed: Vec<i64>,
    /// The changed tags still in the repository (`rows.version == version`).
    pub rows: IndexRows,
}

/// An AK/SK pair's owner and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// Domain the key belongs to.
    pub domain_id: String,
    /// The secret key, needed in clear to recompute the HMAC signature.
    pub secret_key: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("domain_id", &self.domain_id)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Domains inserted or updated.
    pub domains: u64,
    /// Tokens inserted or confirmed.
    pub tokens: u64,
    /// AK/SK pairs inserted or updated.
    pub credentials: u64,
    /// Namespaces inserted or confirmed.
    pub namespaces: u64,
    /// Repositories inserted or confirmed.
    pub repositories: u64,
    /// Tags that did not exist.
    pub tags_inserted: u64,
    /// Tags that existed (same repository and name) and were overwritten.
    pub tags_updated: u64,
}

/// A tag to write, times in Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTag {
    /// Tag name.
    pub tag: String,
    /// Hex sha256 of the image config.
    pub image_id: String,
    /// The manifest, as a JSON string.
    pub manifest: String,
    /// `sha256:…`.
    pub digest: String,
    /// 1 or 2.
    pub schema: i64,
    /// Bytes, >= 0.
    pub size: i64,
    /// Trusted image.
    pub is_trusted: bool,
    /// Scanned image.
    pub scanned: bool,
    /// 0 or 1.
    pub tag_type: i64,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds.
    pub updated: i64,
    /// Unix seconds.
    pub deleted: Option<i64>,
}

/// What a manifest says about an image, in the form the tags table keeps it
/// (see `crate::registry::manifest` for how a manifest maps to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageData {
    /// `sha256:…` manifest digest.
    pub digest: String,
    /// Hex of the config digest, or empty (manifest lists).
    pub image_id: String,
    /// The manifest body.
    pub manifest: String,
    /// 1 or 2.
    pub schema: i64,
    /// Bytes, >= 0.
    pub size: i64,
    /// 0 image manifest, 1 manifest list / index.
    pub tag_type: i64,
}

/// What a registry event does to a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryChange {
    /// A manifest was pushed under a tag: create or update the tag.
    Push {
        /// Tag name.
        tag: String,
        /// The pushed manifest.
        image: ImageData,
    },
    /// A tag was deleted.
    DeleteTag {
        /// Tag name.
        tag: String,
    },
    /// A manifest was deleted: every tag of the repository pointing at it goes.
    DeleteDigest {
        /// `sha256:…`.
        digest: String,
    },
}

/// One registry event, already mapped to an SWR namespace and repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEvent {
    /// The registry's event id (idempotency key).
    pub id: String,
    /// When it happened, Unix nanoseconds (the ordering key).
    pub at: i64,
    /// SWR namespace.
    pub namespace: String,
    /// SWR repository, with `/`.
    pub repository: String,
    /// What it does.
    pub change: RegistryChange,
}

/// What became of one [`RegistryEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// Written (or, for a delete of nothing, recorded as a tombstone).
    Applied,
    /// This event id was applied before.
    Duplicate,
    /// The tag already reflects a newer event or observation.
    Stale,
    /// The namespace does not exist and no default domain is configured.
    UnknownNamespace,
}

/// What [`Store::apply_registry_events`] did, one outcome per event in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Outcome of each event, in the order given.
    pub outcomes: Vec<EventOutcome>,
    /// Tags inserted or updated.
    pub tags_written: u64,
    /// Tags deleted.
    pub tags_deleted: u64,
}

impl ApplyReport {
    /// How many events had outcome `o`.
    pub fn count(&self, o: EventOutcome) -> usize {
        self.outcomes.iter().filter(|&&x| x == o).count()
    }
}

/// One tag as a sync saw it in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Tag name.
    pub tag: String,
    /// Digest the tag pointed at.
    pub digest: String,
    /// When the registry was asked, Unix nanoseconds.
    pub at: i64,
    /// The manifest, when the digest differs from what the store held when
    /// the sync read it; `None` when the sync believes it unchanged.
    pub image: Option<ImageData>,
}

/// What [`Store::reconcile_repository`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Tags that were missing and were added.
    pub added: u64,
    /// Tags whose digest changed.
    pub updated: u64,
    /// Tags the registry no longer has, deleted.
    pub removed: u64,
    /// Tags already as observed.
    pub unchanged: u64,
    /// Observations older than the tag's newest event, left alone.
    pub stale: u64,
    /// The tag changed under the sync (a webhook won the race) and the sync
    /// has no manifest for it: left for the next run.
    pub raced: u64,
    /// The namespace is unknown and no default domain is configured: nothing
    /// was written.
    pub rejected: bool,
}

/// Where an interrupted sync stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCheckpoint {
    /// When the interrupted run started, Unix nanoseconds.
    pub started_at: i64,
    /// The last registry repository name reconciled (byte order), if any.
    pub cursor: Option<String>,
}

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

/// The storage operations the server needs. Implemented by [`SqliteStore`],
/// [`PgStore`] and [`AnyStore`].
///
/// Written as `fn -> impl Future + Send` (what `async fn` desugars to) so the
/// futures are `Send` for axum handlers; implementations just write `async fn`.
/// Not object-safe by design; [`AnyStore`] is the runtime choice of backend.
pub trait Store: Send + Sync + 'static {
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

    /// Forgets change-log entries written before `older_than` (Unix
    /// seconds); returns how many. Indexes older than what is left rebuild.
    fn prune_change_log(
        &self,
        older_than: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The domain an `X-Auth-Token` belongs to.
    ///
    /// Tokens are stored as their SHA-256 (hex) and looked up by that hash.
    /// An index lookup is not constant-time, but what its timing could reveal
    /// is how much of a *hash* matches a stored one, which does not help to
    /// find a token (that would need SHA-256 preimages); comparing the token
    /// itself would leak its prefix.
    fn domain_for_token(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// The owner and secret of an access key. The secret is stored in clear
    /// because verifying `SDK-HMAC-SHA256` needs the key itself; protect the
    /// database accordingly.
    fn credential(
        &self,
        access_key: &str,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;

    /// Writes a fixture in one transaction: all of it or nothing. Upserts:
    /// importing the same file again changes nothing but tags' data (a tag is
    /// identified by repository and name, and keeps its `id`). Fails with
    /// `Conflict` if a namespace, token or AK already belongs to another domain.
    fn import(&self, f: &Fixture) -> impl Future<Output = Result<ImportReport, StoreError>> + Send;

    /// Applies a batch of registry events in ONE transaction: all of them or
    /// none (an error leaves the store as it was, so the sender may retry).
    ///
    /// * Idempotent: an event id already applied is
    ///   [`EventOutcome::Duplicate`] (ids are kept for
    ///   [`REGISTRY_RETENTION_SECS`]).
    /// * Ordered per (repository, tag) by event time: each tag keeps the time
    ///   of the newest event applied to it, and a deleted tag a tombstone with
    ///   the delete's time; an event older than either is
    ///   [`EventOutcome::Stale`]. Equal times: the later arrival wins.
    /// * A namespace that does not exist is created for `default_domain`, or,
    ///   without one, the event is [`EventOutcome::UnknownNamespace`].
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

    /// Readiness: the database answers.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A store on whichever backend the URL names.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
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

macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call,
            AnyStore::Postgres($s) => $call,
        }
    };
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
        delegate!(self, s => s.ensure_repository(domain_id, domain_name, namespace, repository).await)
    }

    /// Bulk load for synthetic data: inserts `tags` into repository `repo_id`
    /// with multi-row INSERTs in transactions of 100,000 rows, skipping names
    /// that exist; returns how many were inserted. Not atomic as a whole.
    pub(crate) async fn bulk_insert_tags(
        &self,
        repo_id: i64,
        tags: impl Iterator<Item = NewTag> + Send,
    ) -> Result<u64, StoreError> {
        delegate!(self, s => s.bulk_insert_tags(repo_id, tags).await)
    }
}

impl Store for AnyStore {
    async fn list_tags(&self, q: &TagQuery<'_>) -> Result<TagPage, StoreError> {
        delegate!(self, s => s.list_tags(q).await)
    }

    async fn stream_tags(&self, q: &TagQuery<'_>) -> Result<TagStream, StoreError> {
        delegate!(self, s => s.stream_tags(q).await)
    }

    async fn repository_version(&self, q: &TagQuery<'_>) -> Result<RepositoryVersion, StoreError> {
        delegate!(self, s => s.repository_version(q).await)
    }

    async fn index_rows(&self, repo_id: i64) -> Result<Option<IndexRows>, StoreError> {
        delegate!(self, s => s.index_rows(repo_id).await)
    }

    async fn tags_by_id(
        &self,
        q: &TagQuery<'_>,
        at: RepositoryVersion,
        ids: &[i64],
    ) -> Result<Option<Vec<TagRecord>>, StoreError> {
        delegate!(self, s => s.tags_by_id(q, at, ids).await)
    }

    async fn index_delta(
        &self,
        repo_id: i64,
        since: i64,
    ) -> Result<Option<IndexDelta>, StoreError> {
        delegate!(self, s => s.index_delta(repo_id, since).await)
    }

    async fn prune_change_log(&self, older_than: i64) -> Result<u64, StoreError> {
        delegate!(self, s => s.prune_change_log(older_than).await)
    }

    async fn domain_for_token(&self, token: &str) -> Result<Option<String>, StoreError> {
        delegate!(self, s => s.domain_for_token(token).await)
    }

    async fn credential(&self, access_key: &str) -> Result<Option<Credential>, StoreError> {
        delegate!(self, s => s.credential(access_key).await)
    }

    async fn import(&self, f: &Fixture) -> Result<ImportReport, StoreError> {
        delegate!(self, s => s.import(f).await)
    }

    async fn apply_registry_events(
        &self,
        batch: &[RegistryEvent],
        default_domain: Option<&str>,
    ) -> Result<ApplyReport, StoreError> {
        delegate!(self, s => s.apply_registry_events(batch, default_domain).await)
    }

    async fn reconcile_repository(
        &self,
        namespace: &str,
        repository: &str,
        default_domain: Option<&str>,
        listed_at: i64,
        observed: &[Observation],
    ) -> Result<ReconcileReport, StoreError> {
        delegate!(self, s => s.reconcile_repository(namespace, repository, default_domain, listed_at, observed).await)
    }

    async fn repository_digests(
        &self,
        namespace: &str,
        repository: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        delegate!(self, s => s.repository_digests(namespace, repository).await)
    }

    async fn repositories_of(&self, namespace: &str) -> Result<Vec<String>, StoreError> {
        delegate!(self, s => s.repositories_of(namespace).await)
    }

    async fn sync_checkpoint(&self, scope: &str) -> Result<Option<SyncCheckpoint>, StoreError> {
        delegate!(self, s => s.sync_checkpoint(scope).await)
    }

    async fn set_sync_checkpoint(
        &self,
        scope: &str,
        checkpoint: Option<&SyncCheckpoint>,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.set_sync_checkpoint(scope, checkpoint).await)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        delegate!(self, s => s.ping().await)
    }
}

/// How long applied event ids and tombstones are kept: a redelivery or a
/// reordered event older than this is no longer recognised (a sync repairs
/// what that could get wrong).
pub const REGISTRY_RETENTION_SECS: i64 = 7 * 86_400;

/// The stored form of a token: lowercase hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
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

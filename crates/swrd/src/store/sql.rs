//! The SQL both backends run, and the code that runs it.
//!
//! The code is a macro expanded once per backend with concrete sqlx types:
//! generic code over `sqlx::Database` needs a bound for every encoded and
//! decoded type and for the executor of each connection type, which would be
//! longer than the code. Backend modules supply `BEGIN_READ`, `BEGIN_WRITE`
//! (the statements that open a transaction), `bulk_session_start`/`_end` and
//! their `DIALECT`.

use std::fmt::Write as _;

use swr_filter::{OrderColumn, OrderType};

use super::TagQuery;

/// What differs in the SQL text.
pub(super) struct Dialect {
    /// Case-sensitive substring position, 1-based, 0 if absent.
    pub contains: &'static str,
    /// `RETURNING` of the tag upsert: `(id, inserted)`.
    pub upsert_tag_returning: &'static str,
    /// Whether `upsert_tag_returning` reads `$14`, the largest tag id before
    /// the import.
    pub upsert_tag_binds_max_id: bool,
    /// `$n` (PostgreSQL) or `?` (SQLite) in [`bulk_insert`]. SQLite finds a
    /// named parameter's name by a linear scan, and sqlx asks for every
    /// parameter's name, so 13,000 `$n` cost O(n²) per statement (90% of the
    /// load time); anonymous `?` have no name to look up.
    pub numbered_bulk_params: bool,
    /// Run first in every registry-feed write transaction, to serialise
    /// them; empty where `BEGIN_WRITE` already does (SQLite's `BEGIN
    /// IMMEDIATE`).
    pub registry_lock: &'static str,
    /// `id` matching a list bound as `$2` (see each backend's `ids_param`).
    pub id_in_list: &'static str,
}

/// Namespace and repository ids of (name, domain, repository); no row means
/// no such namespace in that domain, a NULL repository id no such repository.
pub(super) const RESOLVE: &str = "SELECT n.id, r.id FROM namespaces n \
     LEFT JOIN repositories r ON r.namespace_id = n.id AND r.name = $3 \
     WHERE n.name = $1 AND n.domain_id = $2";

/// [`RESOLVE`] plus the repository's change counter (migration 0004).
pub(super) const RESOLVE_VERSION: &str = "SELECT n.id, r.id, r.version FROM namespaces n \
     LEFT JOIN repositories r ON r.namespace_id = n.id AND r.name = $3 \
     WHERE n.name = $1 AND n.domain_id = $2";
pub(super) const REPOSITORY_VERSION: &str = "SELECT version FROM repositories WHERE id = $1";
/// A repository's version and the newest version its change log no longer
/// holds (migration 0005).
pub(super) const VERSION_AND_FLOOR: &str =
    "SELECT version, log_floor FROM repositories WHERE id = $1";
/// Tags of repository `$1` logged as changed after version `$2`.
pub(super) const CHANGED_SINCE: &str =
    "SELECT DISTINCT tag_id FROM tag_changes WHERE repo_id = $1 AND version > $2";
/// Forgets log entries older than `$1` (Unix seconds), raising each
/// repository's floor to the newest version forgotten.
pub(super) const RAISE_LOG_FLOORS: &str = "UPDATE repositories SET log_floor = pruned.version \
     FROM (SELECT repo_id, max(version) AS version FROM tag_changes WHERE changed_at < $1 \
           GROUP BY repo_id) AS pruned \
     WHERE repositories.id = pruned.repo_id AND repositories.log_floor < pruned.version";
pub(super) const PRUNE_LOG: &str = "DELETE FROM tag_changes WHERE changed_at < $1";

/// What the page index of a repository is built from.
pub(super) const INDEX_ROWS: &str = "SELECT id, tag, updated FROM tags WHERE repo_id = $1";

/// Columns of [`select_tags`], in the order the row decoder reads them.
const COLUMNS: &str = "id, tag, image_id, manifest, digest, schema, size, is_trusted, scanned, \
     tag_type, created, updated, deleted";

/// A token that exists and has not expired at `$2` (Unix seconds).
pub(super) const TOKEN: &str =
    "SELECT domain_id FROM tokens WHERE hash = $1 AND (expires_at IS NULL OR expires_at > $2)";
pub(super) const CREDENTIAL: &str = "SELECT domain_id, sk FROM credentials WHERE ak = $1";

pub(super) const UPSERT_DOMAIN: &str = "INSERT INTO domains (id, name) VALUES ($1, $2) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name";
/// Creates a domain but never renames one.
pub(super) const ENSURE_DOMAIN: &str =
    "INSERT INTO domains (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";
/// The no-op `DO UPDATE`s make `RETURNING` report the existing row, whose
/// owner is then compared with the one asked for.
/// The last import decides a token's expiry (`$3`, NULL: never).
pub(super) const UPSERT_TOKEN: &str = "INSERT INTO tokens (hash, domain_id, expires_at) \
     VALUES ($1, $2, $3) ON CONFLICT (hash) DO UPDATE SET expires_at = excluded.expires_at \
     RETURNING domain_id";
pub(super) const UPSERT_CREDENTIAL: &str = "INSERT INTO credentials (ak, sk, domain_id) \
     VALUES ($1, $2, $3) ON CONFLICT (ak) DO UPDATE SET sk = excluded.sk RETURNING domain_id";
pub(super) const UPSERT_NAMESPACE: &str = "INSERT INTO namespaces (name, domain_id) \
     VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id, domain_id";
pub(super) const UPSERT_REPOSITORY: &str = "INSERT INTO repositories (namespace_id, name) \
     VALUES ($1, $2) ON CONFLICT (namespace_id, name) DO UPDATE SET name = excluded.name \
     RETURNING id";
pub(super) const MAX_TAG_ID: &str = "SELECT coalesce(max(id), 0) FROM tags";

/// The tag upsert up to its `RETURNING` ([`Dialect::upsert_tag_returning`]).
pub(super) const UPSERT_TAG: &str = "INSERT INTO tags (repo_id, tag, image_id, manifest, digest, \
     schema, size, is_trusted, scanned, tag_type, created, updated, deleted) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (repo_id, tag) DO UPDATE SET image_id = excluded.image_id, \
     manifest = excluded.manifest, digest = excluded.digest, schema = excluded.schema, \
     size = excluded.size, is_trusted = excluded.is_trusted, scanned = excluded.scanned, \
     tag_type = excluded.tag_type, created = excluded.created, updated = excluded.updated, \
     deleted = excluded.deleted ";

/// Columns of one bulk-inserted row.
const BULK_COLUMNS: usize = 13;

/// Rows per bulk INSERT statement: 13,000 parameters, under both SQLite's
/// (32,766) and PostgreSQL's (65,535) limits.
pub(super) const BULK_ROWS: usize = 1000;

/// Rows per bulk-load transaction, which bounds SQLite's WAL file.
pub(super) const BULK_TX_ROWS: usize = 100_000;

/// Multi-row insert of `rows` tags, skipping existing names.
pub(super) fn bulk_insert(d: &Dialect, rows: usize) -> String {
    let mut sql = String::with_capacity(200 + rows * BULK_COLUMNS * 7);
    sql.push_str(
        "INSERT INTO tags (repo_id, tag, image_id, manifest, digest, schema, size, is_trusted, \
         scanned, tag_type, created, updated, deleted) VALUES ",
    );
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..BULK_COLUMNS {
            let sep = if c == 0 { "" } else { ", " };
            if d.numbered_bulk_params {
                let _ = write!(sql, "{sep}${}", 1 + r * BULK_COLUMNS + c);
            } else {
                let _ = write!(sql, "{sep}?");
            }
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (repo_id, tag) DO NOTHING");
    sql
}

/// `WHERE` of the tag queries: `$1` the repository, `$2` the substring if any.
fn where_clause(d: &Dialect, q: &TagQuery<'_>) -> String {
    match q.tag_contains {
        Some(_) => format!(" WHERE repo_id = $1 AND {}(tag, $2) > 0", d.contains),
        None => " WHERE repo_id = $1".to_owned(),
    }
}

/// Index columns of some tags of repository `$1` by id (`$2`, a list).
pub(super) fn index_rows_by_id(d: &Dialect) -> String {
    format!(
        "SELECT id, tag, updated FROM tags WHERE repo_id = $1 AND id {}",
        d.id_in_list
    )
}

/// How many of some tags (`$2`, a list) of repository `$1` changed after
/// version `$3`.
pub(super) fn changed_among(d: &Dialect) -> String {
    format!(
        "SELECT count(*) FROM tag_changes WHERE repo_id = $1 AND tag_id {} AND version > $3",
        d.id_in_list
    )
}

/// Full rows of some tags of repository `$1` by id (`$2`, a list).
pub(super) fn tags_by_id(d: &Dialect) -> String {
    format!(
        "SELECT {COLUMNS} FROM tags WHERE repo_id = $1 AND id {}",
        d.id_in_list
    )
}

pub(super) fn count_tags(d: &Dialect, q: &TagQuery<'_>) -> String {
    format!("SELECT count(*) FROM tags{}", where_clause(d, q))
}

/// The tag rows of `q`; parameters: `$1` repository id, then the substring
/// (if any), then limit and offset (if a page).
pub(super) fn select_tags(d: &Dialect, q: &TagQuery<'_>) -> String {
    let mut sql = format!("SELECT {COLUMNS} FROM tags{}", where_clause(d, q));
    // `tag` is unique within a repository, so it needs no tie-breaker (and
    // with none, the (repo_id, tag) unique index yields the order directly).
    sql.push_str(match (q.order.column, q.order.direction) {
        (OrderColumn::UpdatedAt, OrderType::Desc) => " ORDER BY updated DESC, id DESC",
        (OrderColumn::UpdatedAt, OrderType::Asc) => " ORDER BY updated ASC, id ASC",
        (OrderColumn::Tag, OrderType::Desc) => " ORDER BY tag DESC",
        (OrderColumn::Tag, OrderType::Asc) => " ORDER BY tag ASC",
    });
    if q.page.is_some() {
        let n = if q.tag_contains.is_some() { 3 } else { 2 };
        let _ = write!(sql, " LIMIT ${n} OFFSET ${}", n + 1);
    }
    sql
}

// ---------------------------------------------------------------------------
// Registry feed (see `crate::registry`). Times in `event_at` are nanoseconds.

pub(super) const NAMESPACE_BY_NAME: &str = "SELECT id, domain_id FROM namespaces WHERE name = $1";
pub(super) const REPOSITORY_ID: &str =
    "SELECT id FROM repositories WHERE namespace_id = $1 AND name = $2";
/// `rows_affected() == 0` means the id was seen before.
pub(super) const RECORD_EVENT: &str = "INSERT INTO registry_events (id, received_at) \
     VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";
pub(super) const PRUNE_EVENTS: &str = "DELETE FROM registry_events WHERE received_at < $1";
pub(super) const PRUNE_TOMBSTONES: &str = "DELETE FROM registry_tombstones WHERE recorded_at < $1";
pub(super) const TAG_STATE: &str =
    "SELECT id, digest, event_at FROM tags WHERE repo_id = $1 AND tag = $2";
pub(super) const TAGS_BY_DIGEST: &str =
    "SELECT id, tag, event_at FROM tags WHERE repo_id = $1 AND digest = $2";
pub(super) const REPO_TAG_STATES: &str =
    "SELECT tag, id, digest, event_at FROM tags WHERE repo_id = $1";
pub(super) const TOMBSTONE: &str =
    "SELECT event_at FROM registry_tombstones WHERE repo_id = $1 AND tag = $2";
pub(super) const REPO_TOMBSTONES: &str =
    "SELECT tag, event_at FROM registry_tombstones WHERE repo_id = $1";
/// Keeps the later of two delete times.
pub(super) const UPSERT_TOMBSTONE: &str = "INSERT INTO registry_tombstones \
     (repo_id, tag, event_at, recorded_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (repo_id, tag) DO UPDATE SET recorded_at = excluded.recorded_at, event_at = \
     CASE WHEN excluded.event_at > registry_tombstones.event_at \
     THEN excluded.event_at ELSE registry_tombstones.event_at END";
pub(super) const DELETE_TOMBSTONE: &str =
    "DELETE FROM registry_tombstones WHERE repo_id = $1 AND tag = $2";
pub(super) const DELETE_TAG: &str = "DELETE FROM tags WHERE id = $1";
/// A registry push: `created` is kept from the first push; trust and scan
/// flags survive a re-push of the same digest and reset for a new one.
pub(super) const UPSERT_REGISTRY_TAG: &str = "INSERT INTO tags (repo_id, tag, image_id, manifest, \
     digest, schema, size, is_trusted, scanned, tag_type, created, updated, deleted, event_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, FALSE, $8, $9, $9, NULL, $10) \
     ON CONFLICT (repo_id, tag) DO UPDATE SET image_id = excluded.image_id, \
     manifest = excluded.manifest, schema = excluded.schema, size = excluded.size, \
     is_trusted = CASE WHEN tags.digest = excluded.digest THEN tags.is_trusted ELSE FALSE END, \
     scanned = CASE WHEN tags.digest = excluded.digest THEN tags.scanned ELSE FALSE END, \
     digest = excluded.digest, tag_type = excluded.tag_type, updated = excluded.updated, \
     deleted = NULL, event_at = excluded.event_at";
pub(super) const REPOSITORY_DIGESTS: &str = "SELECT t.tag, t.digest FROM tags t \
     JOIN repositories r ON r.id = t.repo_id JOIN namespaces n ON n.id = r.namespace_id \
     WHERE n.name = $1 AND r.name = $2 ORDER BY t.tag";
pub(super) const REPOSITORIES_OF: &str = "SELECT r.name FROM repositories r \
     JOIN namespaces n ON n.id = r.namespace_id WHERE n.name = $1 ORDER BY r.name";
pub(super) const SYNC_CHECKPOINT: &str =
    "SELECT started_at, cursor FROM registry_sync WHERE scope = $1";
pub(super) const SET_SYNC_CHECKPOINT: &str = "INSERT INTO registry_sync (scope, started_at, cursor) \
     VALUES ($1, $2, $3) ON CONFLICT (scope) DO UPDATE SET started_at = excluded.started_at, \
     cursor = excluded.cursor";
pub(super) const CLEAR_SYNC_CHECKPOINT: &str = "DELETE FROM registry_sync WHERE scope = $1";

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

/// Generates the backend-independent methods and the [`Store`](super::Store)
/// impl for `$store` (a struct with a `pool: sqlx::Pool<$db>` field).
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        type Tx = sqlx::Transaction<'static, $db>;
        type DbRow = <$db as sqlx::Database>::Row;

        /// Namespace, repository and owner of the streamed records.
        struct Owner {
            domain_id: String,
            namespace: String,
            repository: String,
        }

        fn decode(row: &DbRow, repo_id: i64, owner: &Owner) -> Result<TagRecord, sqlx::Error> {
            use sqlx::Row as _;
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

        /// The repository id of `q`, checking that its namespace is the caller's.
        async fn resolve(tx: &mut Tx, q: &TagQuery<'_>) -> Result<i64, StoreError> {
            let row: Option<(i64, Option<i64>)> = sqlx::query_as(sql::RESOLVE)
                .bind(q.namespace)
                .bind(q.domain_id)
                .bind(q.repository)
                .fetch_optional(&mut **tx)
                .await?;
            match row {
                None => Err(StoreError::NamespaceNotFound(q.namespace.to_owned())),
                Some((_, None)) => Err(StoreError::RepositoryNotFound {
                    namespace: q.namespace.to_owned(),
                    repository: q.repository.to_owned(),
                }),
                Some((_, Some(repo_id))) => Ok(repo_id),
            }
        }

        /// A tag query with its parameters bound (see [`sql::select_tags`]).
        fn tag_query<'q>(
            sql: &'q str,
            repo_id: i64,
            tag_contains: Option<&'q str>,
            page: Option<swr_filter::Page>,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
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

        fn bind_rows<'q>(
            mut query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
            repo_id: i64,
            tags: Vec<NewTag>,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
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

        async fn count(tx: &mut Tx, repo_id: i64, q: &TagQuery<'_>) -> Result<u64, StoreError> {
            use sqlx::Row as _;
            let sql = sql::count_tags(&DIALECT, q);
            let row = tag_query(&sql, repo_id, q.tag_contains, None)
                .fetch_one(&mut **tx)
                .await?;
            Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
        }

        /// Feeds the records of a stream; runs as its own task.
        async fn pump(
            mut tx: Tx,
            sql: String,
            repo_id: i64,
            tag_contains: Option<String>,
            page: Option<swr_filter::Page>,
            owner: Owner,
            sender: &tokio::sync::mpsc::Sender<Result<TagRecord, StoreError>>,
        ) -> Result<(), StoreError> {
            use futures_util::TryStreamExt as _;
            {
                let mut rows =
                    tag_query(&sql, repo_id, tag_contains.as_deref(), page).fetch(&mut *tx);
                while let Some(row) = rows.try_next().await? {
                    let record = decode(&row, repo_id, &owner)?;
                    if sender.send(Ok(record)).await.is_err() {
                        // The consumer is gone; dropping `tx` rolls back.
                        return Ok(());
                    }
                }
            }
            tx.commit().await?;
            Ok(())
        }

        /// A namespace's id, created for `default_domain` if missing; `None`
        /// when it is missing and there is no default.
        async fn registry_namespace(
            tx: &mut Tx,
            namespace: &str,
            default_domain: Option<&str>,
        ) -> Result<Option<i64>, StoreError> {
            let row: Option<(i64, String)> = sqlx::query_as(sql::NAMESPACE_BY_NAME)
                .bind(namespace)
                .fetch_optional(&mut **tx)
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
                .execute(&mut **tx)
                .await?;
            let (id, _owner): (i64, String) = sqlx::query_as(sql::UPSERT_NAMESPACE)
                .bind(namespace)
                .bind(domain)
                .fetch_one(&mut **tx)
                .await?;
            Ok(Some(id))
        }

        /// A repository's id, created if `create`.
        async fn registry_repository(
            tx: &mut Tx,
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
                    .fetch_one(&mut **tx)
                    .await?;
                Ok(Some(id))
            } else {
                let row: Option<(i64,)> = sqlx::query_as(sql::REPOSITORY_ID)
                    .bind(ns_id)
                    .bind(repository)
                    .fetch_optional(&mut **tx)
                    .await?;
                Ok(row.map(|(id,)| id))
            }
        }

        /// Opens a registry-feed write transaction (serialised; see
        /// `Dialect::registry_lock`).
        async fn begin_registry(pool: &sqlx::Pool<$db>) -> Result<Tx, StoreError> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            if !DIALECT.registry_lock.is_empty() {
                sqlx::query(DIALECT.registry_lock).execute(&mut *tx).await?;
            }
            Ok(tx)
        }

        async fn write_registry_tag(
            tx: &mut Tx,
            repo_id: i64,
            tag: &str,
            image: &crate::store::ImageData,
            at: i64,
        ) -> Result<(), StoreError> {
            if !swr_api::names::is_valid_tag(tag) {
                return Err(StoreError::InvalidInput(format!("bad tag name {tag:?}")));
            }
            sqlx::query(sql::UPSERT_REGISTRY_TAG)
                .bind(repo_id)
                .bind(tag)
                .bind(&image.image_id)
                .bind(&image.manifest)
                .bind(&image.digest)
                .bind(image.schema)
                .bind(image.size)
                .bind(image.tag_type)
                .bind(sql::nanos_to_secs(at))
                .bind(at)
                .execute(&mut **tx)
                .await?;
            sqlx::query(sql::DELETE_TOMBSTONE)
                .bind(repo_id)
                .bind(tag)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn remove_registry_tag(
            tx: &mut Tx,
            repo_id: i64,
            tag_id: Option<i64>,
            tag: &str,
            at: i64,
        ) -> Result<(), StoreError> {
            if let Some(id) = tag_id {
                sqlx::query(sql::DELETE_TAG)
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
            }
            sqlx::query(sql::UPSERT_TOMBSTONE)
                .bind(repo_id)
                .bind(tag)
                .bind(at)
                .bind(crate::store::time::now())
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Applies one event inside the batch's transaction.
        async fn apply_one(
            tx: &mut Tx,
            e: &crate::store::RegistryEvent,
            default_domain: Option<&str>,
            report: &mut crate::store::ApplyReport,
        ) -> Result<crate::store::EventOutcome, StoreError> {
            use crate::store::{EventOutcome, RegistryChange};
            let Some(ns_id) = registry_namespace(tx, &e.namespace, default_domain).await? else {
                return Ok(EventOutcome::UnknownNamespace);
            };
            let recorded = sqlx::query(sql::RECORD_EVENT)
                .bind(&e.id)
                .bind(crate::store::time::now())
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if recorded == 0 {
                return Ok(EventOutcome::Duplicate);
            }
            // A push creates the repository; a tag delete does too, so that
            // its tombstone can stop an older push that arrives later.
            let create = !matches!(e.change, RegistryChange::DeleteDigest { .. });
            let Some(repo_id) = registry_repository(tx, ns_id, &e.repository, create).await? else {
                return Ok(EventOutcome::Applied);
            };
            match &e.change {
                RegistryChange::Push { tag, image } => {
                    let (current, tombstone) = tag_state(tx, repo_id, tag).await?;
                    if !sql::is_current(e.at, current.and_then(|c| c.2), tombstone) {
                        return Ok(EventOutcome::Stale);
                    }
                    write_registry_tag(tx, repo_id, tag, image, e.at).await?;
                    report.tags_written += 1;
                }
                RegistryChange::DeleteTag { tag } => {
                    // An older tombstone is moved forward; a newer one stays.
                    let (current, _) = tag_state(tx, repo_id, tag).await?;
                    if !sql::is_current(e.at, current.as_ref().and_then(|c| c.2), None) {
                        return Ok(EventOutcome::Stale);
                    }
                    remove_registry_tag(tx, repo_id, current.as_ref().map(|c| c.0), tag, e.at)
                        .await?;
                    if current.is_some() {
                        report.tags_deleted += 1;
                    }
                }
                RegistryChange::DeleteDigest { digest } => {
                    let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(sql::TAGS_BY_DIGEST)
                        .bind(repo_id)
                        .bind(digest)
                        .fetch_all(&mut **tx)
                        .await?;
                    let mut any = rows.is_empty();
                    for (id, tag, event_at) in rows {
                        if sql::is_current(e.at, event_at, None) {
                            remove_registry_tag(tx, repo_id, Some(id), &tag, e.at).await?;
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

        /// A tag's (id, digest, event_at) and its tombstone time.
        async fn tag_state(
            tx: &mut Tx,
            repo_id: i64,
            tag: &str,
        ) -> Result<(Option<(i64, String, Option<i64>)>, Option<i64>), StoreError> {
            let current: Option<(i64, String, Option<i64>)> = sqlx::query_as(sql::TAG_STATE)
                .bind(repo_id)
                .bind(tag)
                .fetch_optional(&mut **tx)
                .await?;
            let tombstone: Option<(i64,)> = sqlx::query_as(sql::TOMBSTONE)
                .bind(repo_id)
                .bind(tag)
                .fetch_optional(&mut **tx)
                .await?;
            Ok((current, tombstone.map(|(t,)| t)))
        }

        impl $store {
            /// See [`AnyStore::ensure_repository`](crate::store::AnyStore::ensure_repository).
            pub async fn ensure_repository(
                &self,
                domain_id: &str,
                domain_name: &str,
                namespace: &str,
                repository: &str,
            ) -> Result<i64, StoreError> {
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
                let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
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

            /// See [`AnyStore::bulk_insert_tags`](crate::store::AnyStore::bulk_insert_tags).
            pub(crate) async fn bulk_insert_tags(
                &self,
                repo_id: i64,
                mut tags: impl Iterator<Item = NewTag> + Send,
            ) -> Result<u64, StoreError> {
                let mut conn = self.pool.acquire().await?;
                bulk_session_start(&mut conn).await?;
                let full_sql = sql::bulk_insert(&DIALECT, sql::BULK_ROWS);
                let result = async {
                    let mut inserted = 0;
                    let mut done = false;
                    while !done {
                        let mut tx = sqlx::Connection::begin_with(&mut *conn, BEGIN_WRITE).await?;
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
                                short_sql = sql::bulk_insert(&DIALECT, batch.len());
                                &short_sql
                            };
                            inserted += bind_rows(sqlx::query(sql), repo_id, batch)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected();
                            if done {
                                break;
                            }
                        }
                        tx.commit().await?;
                    }
                    Ok::<u64, StoreError>(inserted)
                }
                .await;
                // Restore the connection's settings even after a failure; if
                // that fails too, the connection must not go back to the pool.
                if let Err(e) = bulk_session_end(&mut conn).await {
                    drop(conn.detach());
                    return Err(e.into());
                }
                result
            }
        }

        impl Store for $store {
            async fn list_tags(&self, q: &TagQuery<'_>) -> Result<TagPage, StoreError> {
                let mut tx = self.pool.begin_with(BEGIN_READ).await?;
                let repo_id = resolve(&mut tx, q).await?;
                let total = count(&mut tx, repo_id, q).await?;
                let owner = Owner {
                    domain_id: q.domain_id.to_owned(),
                    namespace: q.namespace.to_owned(),
                    repository: q.repository.to_owned(),
                };
                let records = if q.page.is_some_and(|p| p.offset() >= total) {
                    Vec::new()
                } else {
                    let sql = sql::select_tags(&DIALECT, q);
                    let rows = tag_query(&sql, repo_id, q.tag_contains, q.page)
                        .fetch_all(&mut *tx)
                        .await?;
                    rows.iter()
                        .map(|row| decode(row, repo_id, &owner))
                        .collect::<Result<_, _>>()?
                };
                tx.commit().await?;
                Ok(TagPage { total, records })
            }

            async fn stream_tags(&self, q: &TagQuery<'_>) -> Result<TagStream, StoreError> {
                let mut tx = self.pool.begin_with(BEGIN_READ).await?;
                let repo_id = resolve(&mut tx, q).await?;
                let total = count(&mut tx, repo_id, q).await?;
                let owner = Owner {
                    domain_id: q.domain_id.to_owned(),
                    namespace: q.namespace.to_owned(),
                    repository: q.repository.to_owned(),
                };
                let sql = sql::select_tags(&DIALECT, q);
                let (tag_contains, page) = (q.tag_contains.map(str::to_owned), q.page);
                let (sender, rx) = tokio::sync::mpsc::channel(STREAM_BUFFER);
                tokio::spawn(async move {
                    let result = pump(tx, sql, repo_id, tag_contains, page, owner, &sender).await;
                    if let Err(e) = result {
                        let _ = sender.send(Err(e)).await;
                    }
                });
                Ok(TagStream { total, rx })
            }

            async fn repository_version(
                &self,
                q: &TagQuery<'_>,
            ) -> Result<RepositoryVersion, StoreError> {
                self.point_repository_version(q).await
            }

            async fn index_rows(&self, repo_id: i64) -> Result<Option<IndexRows>, StoreError> {
                self.bulk_index_rows(repo_id).await
            }

            async fn tags_by_id(
                &self,
                q: &TagQuery<'_>,
                at: RepositoryVersion,
                ids: &[i64],
            ) -> Result<Option<Vec<TagRecord>>, StoreError> {
                // One snapshot: the rows, and proof that none of them changed
                // after `at` (the log reaches back to `at`, and logs none of
                // them since), so they are the rows an index at `at` saw.
                let mut tx = self.pool.begin_with(BEGIN_READ).await?;
                let floor: Option<(i64, i64)> = sqlx::query_as(sql::VERSION_AND_FLOOR)
                    .bind(at.repo_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let unchanged = match floor {
                    Some((version, _)) if version == at.version => true,
                    Some((_, floor)) if floor <= at.version => {
                        let (changed,): (i64,) = sqlx::query_as(&sql::changed_among(&DIALECT))
                            .bind(at.repo_id)
                            .bind(ids_param(ids))
                            .bind(at.version)
                            .fetch_one(&mut *tx)
                            .await?;
                        changed == 0
                    }
                    _ => false,
                };
                if !unchanged {
                    tx.commit().await?;
                    return Ok(None);
                }
                let sql = sql::tags_by_id(&DIALECT);
                let rows = sqlx::query(&sql)
                    .bind(at.repo_id)
                    .bind(ids_param(ids))
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                let owner = Owner {
                    domain_id: q.domain_id.to_owned(),
                    namespace: q.namespace.to_owned(),
                    repository: q.repository.to_owned(),
                };
                let records = rows
                    .iter()
                    .map(|row| decode(row, at.repo_id, &owner))
                    .collect::<Result<_, _>>()?;
                Ok(Some(records))
            }

            async fn index_delta(
                &self,
                repo_id: i64,
                since: i64,
            ) -> Result<Option<IndexDelta>, StoreError> {
                use sqlx::Row as _;
                let mut tx = self.pool.begin_with(BEGIN_READ).await?;
                let floor: Option<(i64, i64)> = sqlx::query_as(sql::VERSION_AND_FLOOR)
                    .bind(repo_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let version = match floor {
                    Some((version, floor)) if floor <= since && since <= version => version,
                    _ => {
                        tx.commit().await?;
                        return Ok(None);
                    }
                };
                let changed: Vec<(i64,)> = sqlx::query_as(sql::CHANGED_SINCE)
                    .bind(repo_id)
                    .bind(since)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut changed: Vec<i64> = changed.into_iter().map(|(id,)| id).collect();
                changed.sort_unstable();
                let mut rows = IndexRows::new(version);
                if !changed.is_empty() {
                    let found = sqlx::query(&sql::index_rows_by_id(&DIALECT))
                        .bind(repo_id)
                        .bind(ids_param(&changed))
                        .fetch_all(&mut *tx)
                        .await?;
                    for row in &found {
                        rows.push(row.try_get(0)?, row.try_get::<&str, _>(1)?, row.try_get(2)?)?;
                    }
                }
                tx.commit().await?;
                Ok(Some(IndexDelta {
                    version,
                    changed,
                    rows,
                }))
            }

            async fn prune_change_log(&self, older_than: i64) -> Result<u64, StoreError> {
                let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
                sqlx::query(sql::RAISE_LOG_FLOORS)
                    .bind(older_than)
                    .execute(&mut *tx)
                    .await?;
                let pruned = sqlx::query(sql::PRUNE_LOG)
                    .bind(older_than)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(pruned)
            }

            async fn domain_for_token(&self, token: &str) -> Result<Option<String>, StoreError> {
                self.point_domain_for_token(token).await
            }

            async fn credential(&self, access_key: &str) -> Result<Option<Credential>, StoreError> {
                self.point_credential(access_key).await
            }

            async fn import(&self, f: &Fixture) -> Result<ImportReport, StoreError> {
                f.validate()?;
                let now = crate::store::time::now();
                let mut report = ImportReport::default();
                let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
                let max_id: i64 = if DIALECT.upsert_tag_binds_max_id {
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
                let upsert_tag = format!("{}{}", sql::UPSERT_TAG, DIALECT.upsert_tag_returning);
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
                            let query = if DIALECT.upsert_tag_binds_max_id {
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

            async fn apply_registry_events(
                &self,
                batch: &[crate::store::RegistryEvent],
                default_domain: Option<&str>,
            ) -> Result<crate::store::ApplyReport, StoreError> {
                let mut report = crate::store::ApplyReport::default();
                if batch.is_empty() {
                    return Ok(report);
                }
                let mut tx = begin_registry(&self.pool).await?;
                for e in batch {
                    let outcome = apply_one(&mut tx, e, default_domain, &mut report).await?;
                    report.outcomes.push(outcome);
                }
                let now = crate::store::time::now();
                let horizon = now - crate::store::REGISTRY_RETENTION_SECS;
                sqlx::query(sql::PRUNE_EVENTS)
                    .bind(horizon)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql::PRUNE_TOMBSTONES)
                    .bind(horizon)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(report)
            }

            async fn reconcile_repository(
                &self,
                namespace: &str,
                repository: &str,
                default_domain: Option<&str>,
                listed_at: i64,
                observed: &[crate::store::Observation],
            ) -> Result<crate::store::ReconcileReport, StoreError> {
                use std::collections::{HashMap, HashSet};
                let mut report = crate::store::ReconcileReport::default();
                let mut tx = begin_registry(&self.pool).await?;
                let Some(ns_id) = registry_namespace(&mut tx, namespace, default_domain).await?
                else {
                    report.rejected = true;
                    return Ok(report);
                };
                let create = !observed.is_empty();
                let Some(repo_id) = registry_repository(&mut tx, ns_id, repository, create).await?
                else {
                    return Ok(report);
                };
                // tag -> (id, digest, event_at)
                let current: HashMap<String, (i64, String, Option<i64>)> =
                    sqlx::query_as::<_, (String, i64, String, Option<i64>)>(sql::REPO_TAG_STATES)
                        .bind(repo_id)
                        .fetch_all(&mut *tx)
                        .await?
                        .into_iter()
                        .map(|(tag, id, digest, at)| (tag, (id, digest, at)))
                        .collect();
                let tombstones: HashMap<String, i64> =
                    sqlx::query_as::<_, (String, i64)>(sql::REPO_TOMBSTONES)
                        .bind(repo_id)
                        .fetch_all(&mut *tx)
                        .await?
                        .into_iter()
                        .collect();
                let mut seen = HashSet::with_capacity(observed.len());
                for o in observed {
                    seen.insert(o.tag.as_str());
                    let cur = current.get(&o.tag);
                    if cur.is_some_and(|(_, digest, _)| *digest == o.digest) {
                        report.unchanged += 1;
                        continue;
                    }
                    if !sql::is_current(
                        o.at,
                        cur.and_then(|c| c.2),
                        tombstones.get(&o.tag).copied(),
                    ) {
                        report.stale += 1;
                        continue;
                    }
                    let Some(image) = o.image.as_ref().filter(|i| i.digest == o.digest) else {
                        report.raced += 1;
                        continue;
                    };
                    write_registry_tag(&mut tx, repo_id, &o.tag, image, o.at).await?;
                    if cur.is_some() {
                        report.updated += 1;
                    } else {
                        report.added += 1;
                    }
                }
                for (tag, (id, _, event_at)) in &current {
                    if seen.contains(tag.as_str()) {
                        continue;
                    }
                    if !sql::is_current(listed_at, *event_at, None) {
                        report.stale += 1;
                        continue;
                    }
                    remove_registry_tag(&mut tx, repo_id, Some(*id), tag, listed_at).await?;
                    report.removed += 1;
                }
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
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn repositories_of(&self, namespace: &str) -> Result<Vec<String>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as(sql::REPOSITORIES_OF)
                    .bind(namespace)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(|(r,)| r).collect())
            }

            async fn sync_checkpoint(
                &self,
                scope: &str,
            ) -> Result<Option<crate::store::SyncCheckpoint>, StoreError> {
                let row: Option<(i64, Option<String>)> = sqlx::query_as(sql::SYNC_CHECKPOINT)
                    .bind(scope)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(
                    row.map(|(started_at, cursor)| crate::store::SyncCheckpoint {
                        started_at,
                        cursor,
                    }),
                )
            }

            async fn set_sync_checkpoint(
                &self,
                scope: &str,
                checkpoint: Option<&crate::store::SyncCheckpoint>,
            ) -> Result<(), StoreError> {
                match checkpoint {
                    Some(c) => {
                        sqlx::query(sql::SET_SYNC_CHECKPOINT)
                            .bind(scope)
                            .bind(c.started_at)
                            .bind(c.cursor.as_deref())
                            .execute(&self.pool)
                            .await?
                    }
                    None => {
                        sqlx::query(sql::CLEAR_SYNC_CHECKPOINT)
                            .bind(scope)
                            .execute(&self.pool)
                            .await?
                    }
                };
                Ok(())
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}

pub(super) use impl_store;

/// Records buffered between the reading task and the consumer of a stream.
pub(super) const STREAM_BUFFER: usize = 256;

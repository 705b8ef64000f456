//! The SQL text both backends run (SQLite accepts PostgreSQL's `$1`
//! placeholders), and the few differences as a [`Dialect`] each backend
//! supplies (`Backend::DIALECT`). The code that runs it is in the modules
//! by concern: `reads.rs`, `feed.rs`, `import.rs`, `maintenance.rs`.

use std::fmt::Write as _;

use swr_filter::{OrderColumn, OrderType};

use super::TagQuery;

/// What differs in the SQL text.
pub(crate) struct Dialect {
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
///
/// `+repo_id` (here and in [`tags_by_id`]) keeps the planner off the
/// `(repo_id, updated, id)` index: SQLite otherwise walks every row of the
/// repository and tests each id against the list (0.8 s for 100 ids of a
/// million-tag repository, against 2 ms by primary key; PostgreSQL 1.2 ms
/// against 0.3 ms).
pub(super) fn index_rows_by_id(d: &Dialect) -> String {
    format!(
        "SELECT id, tag, updated FROM tags WHERE +repo_id = $1 AND id {}",
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
        "SELECT {COLUMNS} FROM tags WHERE +repo_id = $1 AND id {}",
        d.id_in_list
    )
}

/// PostgreSQL's [`tags_by_id`] with its proof in one statement (one snapshot,
/// one round trip instead of a transaction's five): the rows of `$2` only if
/// none of them changed after version `$3` (the log reaches back to `$3` and
/// logs none of them since); otherwise none.
pub(super) fn pg_tags_by_id_unchanged() -> String {
    format!(
        "SELECT {COLUMNS} FROM tags WHERE +repo_id = $1 AND id = ANY($2) \
         AND EXISTS (SELECT 1 FROM repositories r WHERE r.id = $1 AND (r.version = $3 \
           OR (r.log_floor <= $3 AND NOT EXISTS (SELECT 1 FROM tag_changes c \
             WHERE c.repo_id = $1 AND c.tag_id = ANY($2) AND c.version > $3))))"
    )
}

/// PostgreSQL's index delta in one statement: the repository's version and
/// floor, and each tag logged as changed after `$2` (ascending) with its
/// index columns, NULL if it is gone; the changes only when the log reaches
/// back to `$2`.
pub(super) const PG_INDEX_DELTA: &str = "SELECT r.version, r.log_floor, c.tag_id, t.tag, t.updated \
     FROM repositories r \
     LEFT JOIN (SELECT DISTINCT tag_id FROM tag_changes WHERE repo_id = $1 AND version > $2) c \
       ON r.log_floor <= $2 AND $2 <= r.version \
     LEFT JOIN tags t ON t.id = c.tag_id AND t.repo_id = $1 \
     WHERE r.id = $1 ORDER BY c.tag_id";

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

/// Rows per multi-row statement of a sync's writes ([`upsert_registry_tags`],
/// [`upsert_tombstones`], [`delete_tags`], [`delete_tombstones`]): at most
/// 11,000 parameters (11 per tag upsert), under SQLite's (32,766) and
/// PostgreSQL's (65,535) limits.
pub(super) const FEED_ROWS: usize = 1000;

/// A registry push of `rows` tags (no tag twice: PostgreSQL refuses to
/// update a row twice in one statement). `created` is kept from the first
/// push; trust and scan flags survive a re-push of the same digest and reset
/// for a new one.
pub(super) fn upsert_registry_tags(d: &Dialect, rows: usize) -> String {
    format!(
        "INSERT INTO tags (repo_id, tag, image_id, manifest, digest, schema, size, is_trusted, \
         scanned, tag_type, created, updated, deleted, event_at) VALUES {} \
         ON CONFLICT (repo_id, tag) DO UPDATE SET image_id = excluded.image_id, \
         manifest = excluded.manifest, schema = excluded.schema, size = excluded.size, \
         is_trusted = CASE WHEN tags.digest = excluded.digest THEN tags.is_trusted ELSE FALSE END, \
         scanned = CASE WHEN tags.digest = excluded.digest THEN tags.scanned ELSE FALSE END, \
         digest = excluded.digest, tag_type = excluded.tag_type, updated = excluded.updated, \
         deleted = NULL, event_at = excluded.event_at",
        values(
            d,
            rows,
            "(?, ?, ?, ?, ?, ?, ?, FALSE, FALSE, ?, ?, ?, NULL, ?)"
        )
    )
}

/// Tombstones of `rows` tags (repository, tag, event time, recorded at), as
/// [`UPSERT_TOMBSTONE`] (no tag twice).
pub(super) fn upsert_tombstones(d: &Dialect, rows: usize) -> String {
    format!(
        "INSERT INTO registry_tombstones (repo_id, tag, event_at, recorded_at) VALUES {} \
         ON CONFLICT (repo_id, tag) DO UPDATE SET recorded_at = excluded.recorded_at, event_at = \
         CASE WHEN excluded.event_at > registry_tombstones.event_at \
         THEN excluded.event_at ELSE registry_tombstones.event_at END",
        values(d, rows, "(?, ?, ?, ?)")
    )
}

/// Deletes `rows` tags by id.
pub(super) fn delete_tags(d: &Dialect, rows: usize) -> String {
    format!("DELETE FROM tags WHERE id IN ({})", values(d, rows, "?"))
}

/// Deletes the tombstones of `rows` tags of the repository bound first.
pub(super) fn delete_tombstones(d: &Dialect, rows: usize) -> String {
    let list = values(d, rows + 1, "?");
    // The first parameter is the repository.
    let (repo, tags) = list.split_once(", ").unwrap_or((&list, ""));
    format!("DELETE FROM registry_tombstones WHERE repo_id = {repo} AND tag IN ({tags})")
}

/// `rows` copies of `row`, comma-separated, each `?` in them a parameter:
/// `$1`, `$2`, … (PostgreSQL) or anonymous `?` (SQLite, see
/// [`Dialect::numbered_bulk_params`]).
fn values(d: &Dialect, rows: usize, row: &str) -> String {
    let mut sql = String::with_capacity(rows * (row.len() * 2 + 2));
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        if d.numbered_bulk_params {
            for (i, part) in row.split('?').enumerate() {
                if i > 0 {
                    n += 1;
                    let _ = write!(sql, "${n}");
                }
                sql.push_str(part);
            }
        } else {
            sql.push_str(row);
        }
    }
    sql
}
pub(super) const DELETE_TOMBSTONE: &str =
    "DELETE FROM registry_tombstones WHERE repo_id = $1 AND tag = $2";
pub(super) const DELETE_TAG: &str = "DELETE FROM tags WHERE id = $1";
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

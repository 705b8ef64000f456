//! Reads on the request path (token, access key, repository version, a
//! page's missing tags), run inline on the calling tokio worker through
//! rusqlite, and the page index's reads (on a blocking thread).
//!
//! sqlx runs each SQLite connection on its own thread and talks to it over
//! channels: a 5 µs indexed lookup then costs two thread wake-ups, and under
//! load the profile of a cached page was ~40% futex wake/wait in that hand-off
//! and ~1% SQLite. These reads touch a few B-tree pages that are almost
//! always in the page cache, and in WAL mode a reader never waits for the
//! writer, so running them on the worker blocks it for microseconds, which is
//! cheaper than any hand-off. After a write, every request of the repository
//! waits for the index's delta and the changed tags' rows: through sqlx that
//! was one hand-off per statement, and the p99 of 32 readers with 10 writes/s
//! was 25-29 ms (20,000 tags); read here it is one or none. Everything else
//! (streams, writes) stays on sqlx.

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, named_params};

use super::SqliteStore;
use crate::store::backend::Backend as _;
use crate::store::sql;
use crate::store::time::format_timestamp;
use crate::store::{IndexDelta, IndexRows, RepositoryVersion, StoreError, TagQuery, TagRecord};

/// The by-id statements, written once: they depend on the dialect only, and
/// run after every write.
static INDEX_ROWS_BY_ID: LazyLock<String> =
    LazyLock::new(|| sql::index_rows_by_id(&SqliteStore::DIALECT));
static CHANGED_AMONG: LazyLock<String> =
    LazyLock::new(|| sql::changed_among(&SqliteStore::DIALECT));
static TAGS_BY_ID: LazyLock<String> = LazyLock::new(|| sql::tags_by_id(&SqliteStore::DIALECT));

/// Idle connections kept for reuse; more are opened under a burst and closed
/// after it.
const MAX_IDLE: usize = 16;

/// A small pool of read-only rusqlite connections to the store's file.
#[derive(Debug)]
pub(super) struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl InlineReads {
    /// Reads from the database file at `path` (already created and migrated).
    pub(super) fn new(path: PathBuf) -> Self {
        InlineReads {
            path,
            idle: Mutex::default(),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        Ok(conn)
    }

    /// Runs `read` on an idle connection (or a new one).
    fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().map_err(inline_error)?,
        };
        let result = read(&conn);
        // A failed read may have left the connection in any state: drop it.
        if result.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        result.map_err(inline_error)
    }

    /// Every tag of `repo_id` for the page index, with the version, in one
    /// read transaction. Blocking (a million rows take about a second): call
    /// it from `spawn_blocking`. Without sqlx's per-row hand-off between
    /// threads this is ~4x faster than the same query through the pool.
    pub(super) fn index_rows(&self, repo_id: i64) -> Result<Option<IndexRows>, StoreError> {
        self.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            let version: Option<i64> = tx
                .prepare_cached(sql::REPOSITORY_VERSION)?
                .query_row([repo_id], |r| r.get(0))
                .optional()?;
            let Some(version) = version else {
                return Ok(Ok(None));
            };
            let mut rows = IndexRows::new(version);
            let mut stmt = tx.prepare_cached(sql::INDEX_ROWS)?;
            let mut cursor = stmt.query([repo_id])?;
            while let Some(row) = cursor.next()? {
                let name = row.get_ref(1)?.as_str()?;
                if let Err(e) = rows.push(row.get(0)?, name, row.get(2)?) {
                    return Ok(Err(e));
                }
            }
            drop(cursor);
            drop(stmt);
            tx.commit()?;
            Ok(Ok(Some(rows)))
        })?
    }

    /// What changed in `repo_id` after version `since`, in one read
    /// transaction: the same reads as the pooled path, without its thread
    /// hand-offs (a delta is a few indexed rows, read after every write, while
    /// every request of the repository waits for it).
    pub(super) fn index_delta(
        &self,
        repo_id: i64,
        since: i64,
    ) -> Result<Option<IndexDelta>, StoreError> {
        self.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            let floor: Option<(i64, i64)> = tx
                .prepare_cached(sql::VERSION_AND_FLOOR)?
                .query_row([repo_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let version = match floor {
                Some((version, floor)) if floor <= since && since <= version => version,
                _ => return Ok(Ok(None)),
            };
            let mut changed = tx
                .prepare_cached(sql::CHANGED_SINCE)?
                .query_map(named_params! {"$1": repo_id, "$2": since}, |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            changed.sort_unstable();
            let mut rows = IndexRows::new(version);
            if !changed.is_empty() {
                let mut stmt = tx.prepare_cached(&INDEX_ROWS_BY_ID)?;
                let mut cursor = stmt
                    .query(named_params! {"$1": repo_id, "$2": SqliteStore::ids_param(&changed)})?;
                while let Some(row) = cursor.next()? {
                    let name = row.get_ref(1)?.as_str()?;
                    if let Err(e) = rows.push(row.get(0)?, name, row.get(2)?) {
                        return Ok(Err(e));
                    }
                }
            }
            tx.commit()?;
            Ok(Ok(Some(IndexDelta {
                version,
                changed,
                rows,
            })))
        })?
    }

    /// The rows of `ids` if none of them changed after `at` (see
    /// `Store::tags_by_id`), in one read transaction, inline for the same
    /// reason as [`InlineReads::index_delta`].
    pub(super) fn tags_by_id(
        &self,
        q: &TagQuery<'_>,
        at: RepositoryVersion,
        ids: &[i64],
    ) -> Result<Option<Vec<TagRecord>>, StoreError> {
        self.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            let floor: Option<(i64, i64)> = tx
                .prepare_cached(sql::VERSION_AND_FLOOR)?
                .query_row([at.repo_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let list = SqliteStore::ids_param(ids);
            let unchanged = match floor {
                Some((version, _)) if version == at.version => true,
                Some((_, floor)) if floor <= at.version => {
                    let changed: i64 = tx.prepare_cached(&CHANGED_AMONG)?.query_row(
                        named_params! {"$1": at.repo_id, "$2": list, "$3": at.version},
                        |r| r.get(0),
                    )?;
                    changed == 0
                }
                _ => false,
            };
            if !unchanged {
                return Ok(None);
            }
            let records = tx
                .prepare_cached(&TAGS_BY_ID)?
                .query_map(named_params! {"$1": at.repo_id, "$2": list}, |r| {
                    Ok(TagRecord {
                        id: r.get(0)?,
                        repo_id: at.repo_id,
                        tag: r.get(1)?,
                        image_id: r.get(2)?,
                        manifest: r.get(3)?,
                        digest: r.get(4)?,
                        schema: r.get(5)?,
                        size: r.get(6)?,
                        is_trusted: r.get(7)?,
                        scanned: r.get(8)?,
                        tag_type: r.get(9)?,
                        created: format_timestamp(r.get(10)?),
                        updated: format_timestamp(r.get(11)?),
                        deleted: r.get::<_, Option<i64>>(12)?.map(format_timestamp),
                        domain_id: q.domain_id.to_owned(),
                        namespace: q.namespace.to_owned(),
                        repository: q.repository.to_owned(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            tx.commit()?;
            Ok(Some(records))
        })
    }

    /// One optional row of `sql` with `params`. Bind by name
    /// (`named_params! {"$1": …}`): SQLite numbers `$N` parameters in the order
    /// they first appear in the text, not by N.
    pub(super) fn row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, StoreError> {
        self.with(|conn| conn.prepare_cached(sql)?.query_row(params, map).optional())
    }
}

fn inline_error(e: rusqlite::Error) -> StoreError {
    StoreError::Io(std::io::Error::other(format!("sqlite: {e}")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::store::SqliteStore;
    use crate::store::backend::Backend as _;
    use crate::store::sql;

    /// The by-id reads find their rows by primary key, not by walking the
    /// repository's index (400x slower at a million tags).
    #[tokio::test]
    async fn reads_by_id_use_the_primary_key() {
        let store = SqliteStore::open("sqlite::memory:", Duration::from_secs(5))
            .await
            .unwrap();
        let list = SqliteStore::ids_param(&[1, 2, 3]);
        for text in [
            sql::tags_by_id(&SqliteStore::DIALECT),
            sql::index_rows_by_id(&SqliteStore::DIALECT),
        ] {
            let plan: Vec<String> = store
                .inline
                .with(|conn| {
                    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {text}"))?;
                    let rows = stmt.query_map(
                        rusqlite::named_params! {"$1": 1, "$2": list.as_str()},
                        |r| r.get::<_, String>(3),
                    )?;
                    rows.collect()
                })
                .unwrap();
            assert!(
                plan.iter().any(|step| step.contains("PRIMARY KEY")),
                "{text}: {plan:?}"
            );
        }
    }
}

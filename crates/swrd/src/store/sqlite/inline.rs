//! Point reads on the request path (token, access key, repository version),
//! run inline on the calling tokio worker through rusqlite.
//!
//! sqlx runs each SQLite connection on its own thread and talks to it over
//! channels: a 5 µs indexed lookup then costs two thread wake-ups, and under
//! load the profile of a cached page was ~40% futex wake/wait in that hand-off
//! and ~1% SQLite. These reads touch a few B-tree pages that are almost
//! always in the page cache, and in WAL mode a reader never waits for the
//! writer, so running them on the worker blocks it for microseconds, which is
//! cheaper than any hand-off. Everything else (transactions, streams, writes)
//! stays on sqlx.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};

use crate::store::sql;
use crate::store::{IndexRows, StoreError};

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

//! Upkeep: pruning the change log, and readiness ([`Maintenance`]), as SQL
//! shared by both backends.

use std::future::Future;

use sqlx::{Executor, IntoArguments};

use super::backend::{Args, Backend, Conn, Value};
use super::{StoreError, sql};

/// What the server does besides answering requests.
pub trait Maintenance: Send + Sync + 'static {
    /// Forgets change-log entries written before `older_than` (Unix
    /// seconds); returns how many. Indexes older than what is left rebuild.
    fn prune_change_log(
        &self,
        older_than: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Readiness: the database answers.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<B> Maintenance for B
where
    B: Backend,
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> Args<'q, B>: IntoArguments<'q, B::Db>,
    for<'q> i64: Value<'q, B::Db>,
{
    async fn prune_change_log(&self, older_than: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin_with(B::BEGIN_WRITE).await?;
        sqlx::query(sql::RAISE_LOG_FLOORS)
            .bind(older_than)
            .execute(&mut *tx)
            .await?;
        let pruned = B::rows_affected(
            &sqlx::query(sql::PRUNE_LOG)
                .bind(older_than)
                .execute(&mut *tx)
                .await?,
        );
        tx.commit().await?;
        if pruned > 0
            && let Some(statement) = B::AFTER_PRUNE
        {
            let mut conn = self.pool().acquire().await?;
            sqlx::query(statement).execute(&mut *conn).await?;
        }
        Ok(pruned)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.pool()).await?;
        Ok(())
    }
}

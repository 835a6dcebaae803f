//! Write transactions on SQLite that never leave a connection in a state
//! nobody knows.
//!
//! A COMMIT can fail after SQLite has already rolled the transaction back
//! (a full disk, an I/O error). sqlx-sqlite 0.9 then still counts the
//! transaction as open, and every later `begin` on that connection fails
//! ("attempted to call begin_with at non-zero transaction depth"): with one
//! write connection, one failed COMMIT stopped every transactional write
//! until restart. So every write transaction of the store goes through
//! `WriteTxn`, which issues BEGIN, COMMIT and ROLLBACK itself and closes
//! the connection (the pool opens a fresh one) whenever one of them fails,
//! or when the transaction is dropped unfinished (an error returned half
//! way, a cancelled future): its state is then unknown, and it is never
//! reused.
//!
//! Knows sqlx connections only; never the engine, HTTP or a protocol.

use sqlx::pool::PoolConnection;
use sqlx::{Executor, Sqlite, SqliteConnection, SqlitePool};

/// An open `BEGIN IMMEDIATE` transaction on a connection of the pool.
pub(super) struct WriteTxn {
    conn: PoolConnection<Sqlite>,
    /// Until COMMIT or ROLLBACK succeeded.
    open: bool,
}

impl WriteTxn {
    /// Takes a connection and begins an immediate (write-locking)
    /// transaction on it.
    pub(super) async fn begin(pool: &SqlitePool) -> Result<Self, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        if let Err(e) = conn.execute("BEGIN IMMEDIATE").await {
            // Perhaps a transaction left open on it: never hand it out again.
            conn.close_on_drop();
            return Err(e);
        }
        Ok(Self { conn, open: true })
    }

    /// The connection, for the transaction's statements.
    pub(super) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Commits. On failure the transaction is gone either way (SQLite rolled
    /// it back, or the ROLLBACK tried here does) and the connection is
    /// closed rather than reused.
    pub(super) async fn commit(mut self) -> Result<(), sqlx::Error> {
        match self.conn.execute("COMMIT").await {
            Ok(_) => {
                self.open = false;
                Ok(())
            }
            Err(e) => {
                let _ = self.conn.execute("ROLLBACK").await;
                // `open` stays set: dropping closes the connection.
                Err(e)
            }
        }
    }

    /// Rolls back; a connection whose ROLLBACK failed is closed.
    pub(super) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.conn.execute("ROLLBACK").await?;
        self.open = false;
        Ok(())
    }
}

impl Drop for WriteTxn {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;

    async fn pool() -> SqlitePool {
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap()
    }

    /// A COMMIT that fails leaves the pool a connection that takes the
    /// next transaction (what sqlx's own transactions did not).
    #[tokio::test]
    async fn a_failed_commit_does_not_poison_the_next_transaction() {
        let pool = pool().await;
        let mut txn = WriteTxn::begin(&pool).await.unwrap();
        // A COMMIT that fails: SQLite has no transaction to commit any more.
        txn.conn().execute("ROLLBACK").await.unwrap();
        assert!(txn.commit().await.is_err());
        let mut next = WriteTxn::begin(&pool).await.unwrap();
        next.conn().execute("SELECT 1").await.unwrap();
        next.commit().await.unwrap();
    }

    /// A transaction dropped half way (an error returned early) never hands
    /// its open transaction to the next user of the connection.
    #[tokio::test]
    async fn a_transaction_dropped_half_way_is_not_reused() {
        let pool = pool().await;
        let mut txn = WriteTxn::begin(&pool).await.unwrap();
        txn.conn()
            .execute("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        drop(txn);
        let next = WriteTxn::begin(&pool).await.unwrap();
        next.commit().await.unwrap();
    }
}

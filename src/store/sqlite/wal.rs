//! How agentd keeps SQLite's write-ahead log small: a commit checkpoints it
//! past 1 MiB, the file is cut back to 2 MiB afterwards, and a passive
//! checkpoint runs every 30 s so an idle server's log is folded in too. On a
//! small volume the WAL otherwise took the room the database needed.
//! Depends on sqlx only.

use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;
use tokio_util::sync::CancellationToken;

/// Pages (4 KiB) the WAL may hold before a commit checkpoints it into the
/// database: 1 MiB. SQLite's default, 1,000 pages, let the WAL reach 4 MiB
/// and more, which on a small volume took the room the database needed.
const WAL_AUTOCHECKPOINT_PAGES: &str = "256";
/// Bytes the WAL file is cut back to once a checkpoint lets it start over:
/// a burst of writes does not leave a large file behind.
const WAL_SIZE_LIMIT_BYTES: &str = "2097152";
/// How often a passive checkpoint runs besides those commits trigger: an
/// idle server's WAL is folded into the database too.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(30);

/// The connection settings that bound the WAL.
pub(super) fn keep_small(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        .pragma("journal_size_limit", WAL_SIZE_LIMIT_BYTES)
}

/// A passive checkpoint every `CHECKPOINT_EVERY` (it never waits for
/// readers or the writer; what it cannot fold in now, a later one does),
/// until `stop` (the store is closed or dropped).
pub(super) fn spawn_checkpoints(pool: SqlitePool, stop: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(CHECKPOINT_EVERY) => {}
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "could not checkpoint the SQLite WAL");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use crate::domain::{RunRecord, RunStatus};
    use crate::store::Store;

    /// The WAL stays small under a stream of large writes: a commit
    /// checkpoints it past 1 MiB and the file is cut back to 2 MiB. (With
    /// SQLite's defaults it grew past 4 MiB first.)
    #[tokio::test]
    async fn the_wal_stays_small_under_many_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agentd.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let mut largest = 0;
        for i in 0..24 {
            let mut r = RunRecord::pending(format!("r{i}"), "s", "a", "A", i);
            r.status = RunStatus::Completed;
            r.content = "z".repeat(256 * 1024);
            store.put_run(&r).await.unwrap();
            let wal = std::fs::metadata(dir.path().join("agentd.db-wal")).map_or(0, |m| m.len());
            largest = largest.max(wal);
        }
        assert!(largest > 0, "no WAL file at all");
        assert!(
            largest <= 5 * 1024 * 1024 / 2,
            "the WAL reached {largest} bytes"
        );
    }
}

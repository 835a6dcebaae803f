//! Rate limits every replica counts against: hits in `rate_hits`, counted on
//! the database's clock under a per-key advisory lock.
//!
//! Must never depend on runs, sessions, leases or the queue, nor on the
//! engine, HTTP or a protocol.

use std::time::Duration;

use super::{PgStore, db_error};
use crate::store::{RateDecision, StoreError};

/// Counted on the database's clock, one key at a time (a transaction
/// advisory lock), so replicas never both take the last place.
pub(super) async fn hit_rate_limit(
    store: &PgStore,
    key: &str,
    limit: u32,
    window: Duration,
) -> Result<RateDecision, StoreError> {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let mut tx = store.pool.begin().await.map_err(db_error)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    let now: i64 = sqlx::query_scalar(concat!("SELECT ", db_now_ms!()))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    sqlx::query("DELETE FROM rate_hits WHERE key = $1 AND at <= $2")
        .bind(key)
        .bind(now.saturating_sub(window_ms))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    let (count, oldest): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MIN(at) FROM rate_hits WHERE key = $1")
            .bind(key)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
    if let Some(refused) = RateDecision::refusal(count, oldest, now, window_ms, limit) {
        return Ok(refused);
    }
    sqlx::query("INSERT INTO rate_hits (key, at) VALUES ($1, $2)")
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(RateDecision::Allowed)
}

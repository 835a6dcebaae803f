//! Cancel requests, kept in the run row for whichever replica runs it and
//! hinted to it on the notification channel.
//!
//! Must never depend on the run queue or leases, nor on the engine, HTTP or
//! a protocol.

use super::{PgStore, db_error};
use crate::store::StoreError;

pub(super) async fn request_cancel(store: &PgStore, run_id: &str) -> Result<bool, StoreError> {
    let mut tx = store.pool.begin().await.map_err(db_error)?;
    let sql = concat!(
        "UPDATE runs SET cancel_requested = true WHERE run_id = $1 AND status IN ",
        in_flight!()
    );
    let marked = sqlx::query(sql)
        .bind(run_id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected();
    if marked == 0 {
        return Ok(false);
    }
    store.notify(&mut *tx, &format!("c:{run_id}")).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(true)
}

pub(super) async fn cancel_requested(store: &PgStore, run_id: &str) -> Result<bool, StoreError> {
    let flag: Option<bool> =
        sqlx::query_scalar("SELECT cancel_requested FROM runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_optional(&store.pool)
            .await
            .map_err(db_error)?;
    Ok(flag.unwrap_or(false))
}

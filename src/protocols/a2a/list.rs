//! `ListTasks` (1.0, both bindings): the request's checks (page size 1 to
//! 100, 50 by default; a known state; an RFC 3339 time) and the page in
//! 1.0's shape, over the shared listing in `ops`.
//!
//! Depends on `ops`, `v1` and `error` only.

use super::error::A2aError;
use super::ops::{self, Scope};
use super::v1;
use crate::web::AppState;

/// One page of `ListTasks`, in 1.0's shape (shared with HTTP+JSON).
pub async fn page(
    state: &AppState,
    scope: &Scope,
    p: v1::ListTasksRequest,
) -> Result<v1::ListTasksResponse, A2aError> {
    let page_size = match p.page_size {
        None => 50,
        Some(n @ 1..=100) => n as usize,
        Some(n) => {
            return Err(A2aError::InvalidParams(format!(
                "pageSize must be between 1 and 100, not {n}"
            )));
        }
    };
    let updated_since = p
        .status_timestamp_after
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| d.timestamp_millis())
                .map_err(|_| {
                    A2aError::InvalidParams(format!("statusTimestampAfter {t:?} is not RFC 3339"))
                })
        })
        .transpose()?;
    let query = ops::ListQuery {
        context_id: p.context_id.filter(|c| !c.is_empty()),
        state: v1::state_filter(p.status.as_deref().unwrap_or_default())?,
        page_size,
        page_token: p.page_token.filter(|t| !t.is_empty()),
        history_length: v1::history_length(p.history_length)?,
        updated_since,
    };
    let page = ops::list(state, scope, query).await?;
    let with_artifacts = p.include_artifacts.unwrap_or(false);
    Ok(v1::ListTasksResponse {
        tasks: page
            .tasks
            .iter()
            .map(|t| v1::task(t, with_artifacts))
            .collect(),
        next_page_token: page.next_page_token,
        page_size: page_size as i64,
        total_size: page.total_size as i64,
    })
}

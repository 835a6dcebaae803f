//! The AgentOS session routes' query parameters: the parameter structs and
//! enums each route's query is read into, and the typed `Query` extractor
//! that reads them the way FastAPI does. The OpenAPI document is generated
//! from these same structs (`IntoParams`), so what is documented is what is
//! parsed.
//!
//! This module only turns a query string into values or an AgentOS 422. It
//! must not depend on the engine, the store, `AppState` or the session
//! handlers in `sessions.rs`; its only dependency inside the crate is the
//! adapter's error type.

use serde_json::Value;
use utoipa::IntoParams;

use super::error::AgentOsError;

pub(super) const SESSION_TYPES: &[&str] = &["agent", "team", "workflow"];
const RUN_STATUSES: &[&str] = &[
    "PENDING",
    "RUNNING",
    "COMPLETED",
    "PAUSED",
    "CANCELLED",
    "ERROR",
    "REGENERATED",
];

/// A query string as FastAPI reads it: repeated keys kept, typed on access,
/// and every bad value a 422 naming its parameter.
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<String>) -> Result<Self, AgentOsError> {
        serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
            .map(Params)
            .map_err(|_| AgentOsError::BadRequest("Invalid query string".into()))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn int(&self, name: &str, default: i64, min: Option<i64>) -> Result<i64, AgentOsError> {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        let value: i64 = raw.trim().parse().map_err(|_| {
            AgentOsError::validation(
                "int_parsing",
                &["query", name],
                "Input should be a valid integer, unable to parse string as an integer",
                Value::String(raw.into()),
            )
        })?;
        if let Some(min) = min.filter(|m| value < *m) {
            return Err(AgentOsError::validation(
                "greater_than_equal",
                &["query", name],
                format!("Input should be greater than or equal to {min}"),
                Value::String(raw.into()),
            ));
        }
        Ok(value)
    }

    /// One of `allowed` (compared ignoring case), or None when absent.
    fn choice(
        &self,
        name: &str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, AgentOsError> {
        self.get(name)
            .map(|raw| one_of(raw, name, allowed))
            .transpose()
    }
}

pub(super) fn one_of(
    raw: &str,
    name: &str,
    allowed: &[&'static str],
) -> Result<&'static str, AgentOsError> {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(raw.trim()))
        .copied()
        .ok_or_else(|| {
            let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
            let list = match quoted.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => quoted.join(""),
            };
            AgentOsError::validation(
                "enum",
                &["query", name],
                format!("Input should be {list}"),
                Value::String(raw.into()),
            )
        })
}

// The values of the session routes' query parameters, and the structs each
// route's query is parsed into (see `Query`), which the document lists.

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum SessionType {
    Agent,
    Team,
    Workflow,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum SortBy {
    CreatedAt,
    UpdatedAt,
    SessionName,
    SessionId,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum SortOrder {
    Asc,
    Desc,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "UPPERCASE")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum RunStatusName {
    Pending,
    Running,
    Completed,
    Paused,
    Cancelled,
    Error,
    Regenerated,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListSessionsParams {
    /// `agent`, `team` or `workflow`; every type when omitted.
    #[param(inline)]
    pub(super) r#type: Option<SessionType>,
    /// Only sessions of this agent.
    pub(super) component_id: Option<String>,
    pub(super) user_id: Option<String>,
    /// Part of the session name, any case.
    pub(super) session_name: Option<String>,
    /// Sessions per page (default 20, at least 1).
    #[param(minimum = 1)]
    pub(super) limit: Option<i64>,
    /// Page number from 1 (default 1).
    #[param(minimum = 1)]
    pub(super) page: Option<i64>,
    /// `created_at` (default), `updated_at`, `session_name` or `session_id`.
    #[param(inline)]
    pub(super) sort_by: Option<SortBy>,
    /// `asc` or `desc` (default).
    #[param(inline)]
    pub(super) sort_order: Option<SortOrder>,
}

impl RunStatusName {
    /// The name a run's status is given on the wire (`wire::status`).
    pub(super) fn name(self) -> &'static str {
        match self {
            RunStatusName::Pending => "PENDING",
            RunStatusName::Running => "RUNNING",
            RunStatusName::Completed => "COMPLETED",
            RunStatusName::Paused => "PAUSED",
            RunStatusName::Cancelled => "CANCELLED",
            RunStatusName::Error => "ERROR",
            RunStatusName::Regenerated => "REGENERATED",
        }
    }

    fn parse(raw: &str) -> Result<Self, AgentOsError> {
        Ok(match one_of(raw, "status", RUN_STATUSES)? {
            "PENDING" => RunStatusName::Pending,
            "RUNNING" => RunStatusName::Running,
            "COMPLETED" => RunStatusName::Completed,
            "PAUSED" => RunStatusName::Paused,
            "CANCELLED" => RunStatusName::Cancelled,
            "ERROR" => RunStatusName::Error,
            _ => RunStatusName::Regenerated,
        })
    }
}

fn session_type(params: &Params) -> Result<Option<SessionType>, AgentOsError> {
    Ok(params.choice("type", SESSION_TYPES)?.map(|t| match t {
        "team" => SessionType::Team,
        "workflow" => SessionType::Workflow,
        _ => SessionType::Agent,
    }))
}

/// A route's typed query: the struct the OpenAPI document lists
/// (`IntoParams`) is the one the handler receives, so the two cannot drift.
/// Read the way FastAPI reads it (see `Params`): a bad value is AgentOS's
/// 422 naming the parameter, never axum's plain-text rejection.
pub(super) struct Query<T>(pub(super) T);

/// How a parameter struct is read from a query string.
pub(super) trait FromParams: Sized {
    fn from_params(params: &Params) -> Result<Self, AgentOsError>;
}

impl<S: Send + Sync, T: FromParams> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = AgentOsError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, AgentOsError> {
        let params = Params::parse(parts.uri.query().map(str::to_owned))?;
        T::from_params(&params).map(Query)
    }
}

impl FromParams for ListSessionsParams {
    fn from_params(params: &Params) -> Result<Self, AgentOsError> {
        let r#type = session_type(params)?;
        let sort_by = params
            .choice(
                "sort_by",
                &["created_at", "updated_at", "session_name", "session_id"],
            )?
            .map(|s| match s {
                "updated_at" => SortBy::UpdatedAt,
                "session_name" => SortBy::SessionName,
                "session_id" => SortBy::SessionId,
                _ => SortBy::CreatedAt,
            });
        let sort_order = params
            .choice("sort_order", &["asc", "desc"])?
            .map(|o| match o {
                "asc" => SortOrder::Asc,
                _ => SortOrder::Desc,
            });
        Ok(Self {
            r#type,
            component_id: params.get("component_id").map(str::to_string),
            user_id: params.get("user_id").map(str::to_string),
            session_name: params.get("session_name").map(str::to_string),
            limit: Some(params.int("limit", 20, Some(1))?),
            page: Some(params.int("page", 1, Some(1))?),
            sort_by,
            sort_order,
        })
    }
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SessionParams {
    /// `agent` (sessions of other types are not found).
    #[param(inline)]
    pub(super) r#type: Option<SessionType>,
    /// The session must belong to this user.
    pub(super) user_id: Option<String>,
}

impl FromParams for SessionParams {
    fn from_params(params: &Params) -> Result<Self, AgentOsError> {
        Ok(Self {
            r#type: session_type(params)?,
            user_id: params.get("user_id").map(str::to_string),
        })
    }
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SessionRunsParams {
    #[param(inline)]
    pub(super) r#type: Option<SessionType>,
    pub(super) user_id: Option<String>,
    /// Runs created at or after this Unix time (seconds).
    pub(super) created_after: Option<i64>,
    /// Runs created at or before this Unix time (seconds).
    pub(super) created_before: Option<i64>,
    /// Repeatable, any case: PENDING, RUNNING, COMPLETED, PAUSED, CANCELLED, ERROR.
    #[param(inline)]
    pub(super) status: Option<Vec<RunStatusName>>,
}

impl FromParams for SessionRunsParams {
    fn from_params(params: &Params) -> Result<Self, AgentOsError> {
        let status = params
            .all("status")
            .map(RunStatusName::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            r#type: session_type(params)?,
            user_id: params.get("user_id").map(str::to_string),
            created_after: Some(params.int("created_after", i64::MIN, None)?),
            created_before: Some(params.int("created_before", i64::MAX, None)?),
            status: (!status.is_empty()).then_some(status),
        })
    }
}

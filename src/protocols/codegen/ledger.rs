//! Codegen's integer run ids over the engine's string run ids.
//!
//! A Codegen run is one engine *session*, `codegen-run-<id>`: its first
//! engine run answers the create call, and each resume with a follow-up
//! prompt adds another engine run to the same session (so the model sees the
//! conversation so far). The session's `metadata` holds the `Ledger`: the
//! Codegen id, organization, creator, options, and the engine run ids in
//! order; the last one is the run the Codegen id currently shows.
//!
//! Why a session and not a new store table: it needs no table of its own
//! (every backend persists sessions already), a Codegen id is
//! found with one keyed `get_session`, and "resume continues the same
//! conversation" is exactly what sessions are for. An id is taken by
//! creating its session (`Store::create_session`, which only one caller can
//! do for a given id): replicas sharing one database that pick the same next
//! id race on that insert, and the loser moves on to the next id.
//!
//! Depends on the engine and store only; never on HTTP types.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::CodegenError;
use crate::domain::principal::AuthMethod;
use crate::engine::SessionFilter;
use crate::engine::{
    Engine, Message, Principal, ResumeRequest, RunCaller, RunRecord, RunRequest, RunStatus,
    SessionRecord, new_id, now_ms,
};

/// Who the Codegen adapter is toward the engine. Codegen keeps its own
/// users and organizations and checks them itself (`access`: a caller
/// reaches only its organizations' runs); its ledger must see every
/// Codegen run to number them, so it acts as the service that keeps them:
/// it sees every record and owns none (other protocols' users never see
/// Codegen's runs; admins do).
pub fn service() -> Principal {
    Principal {
        tenant: None,
        user: None,
        scopes: Vec::new(),
        admin: true,
        method: AuthMethod::ApiKey {
            name: "codegen".into(),
        },
    }
}

const SESSION_PREFIX: &str = "codegen-run-";
/// The key of the ledger inside the session's metadata.
const METADATA_KEY: &str = "codegen_run";
/// The engine runs' `origin` label.
pub const ORIGIN: &str = "codegen";

/// What agentd remembers of a Codegen run beyond its engine runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ledger {
    pub id: u64,
    pub organization_id: i64,
    /// The Codegen user who created it; None when a provider's token did
    /// (then `token_user` says whose).
    pub user_id: Option<i64>,
    /// The token's user, when a provider's token created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_user: Option<String>,
    pub repo_id: Option<i64>,
    pub agent_type: String,
    pub agent_id: String,
    /// The `[models]` key it runs on, when the request overrode the agent's.
    pub model: Option<String>,
    /// The client's metadata, returned as given.
    pub metadata: Option<Value>,
    /// Engine run ids, oldest first.
    pub runs: Vec<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl Ledger {
    pub fn latest_run(&self) -> Option<&str> {
        self.runs.last().map(String::as_str)
    }

    /// Who created it, as the engine's `user_id`: the Codegen user's id,
    /// or the token's user.
    fn creator(&self) -> Option<String> {
        self.user_id
            .map(|id| id.to_string())
            .or_else(|| self.token_user.clone())
    }

    fn run_request(&self, run_id: &str, input: Message, caller: Option<RunCaller>) -> RunRequest {
        RunRequest {
            agent_id: self.agent_id.clone(),
            input: vec![input],
            session_id: Some(session_id(self.id)),
            run_id: Some(run_id.to_string()),
            user_id: self.creator(),
            metadata: self.metadata.clone(),
            model: self.model.clone(),
            origin: ORIGIN.into(),
            caller,
            ..Default::default()
        }
    }
}

fn session_id(id: u64) -> String {
    format!("{SESSION_PREFIX}{id}")
}

fn ledger_of(session: &SessionRecord) -> Option<Ledger> {
    session.session_id.strip_prefix(SESSION_PREFIX)?;
    let value = session.metadata.as_ref()?.get(METADATA_KEY)?;
    serde_json::from_value(value.clone()).ok()
}

/// Classified by the engine, like every store error (an unavailable store
/// is a 503 with Retry-After, not a 500).
/// Allocates ids and serializes the writes that change ledgers.
#[derive(Default)]
pub struct Ledgers {
    /// The next id to hand out; `None` until read from the store.
    next: tokio::sync::Mutex<Option<u64>>,
}

impl Ledgers {
    /// The Codegen run `id`, if it exists and belongs to `org_id`.
    pub async fn get(
        &self,
        engine: &Engine,
        org_id: i64,
        id: u64,
    ) -> Result<Option<Ledger>, CodegenError> {
        let session = engine.session(&service(), &session_id(id)).await?;
        Ok(session
            .as_ref()
            .and_then(ledger_of)
            .filter(|l| l.id == id && l.organization_id == org_id))
    }

    /// Every Codegen run in the store.
    pub async fn all(&self, engine: &Engine) -> Result<Vec<Ledger>, CodegenError> {
        let sessions = engine
            .sessions(&service(), &SessionFilter::default())
            .await?;
        Ok(sessions.iter().filter_map(ledger_of).collect())
    }

    /// The highest Codegen run id in the store (0 when there is none).
    async fn highest_id(&self, engine: &Engine) -> Result<u64, CodegenError> {
        Ok(self
            .all(engine)
            .await?
            .iter()
            .map(|l| l.id)
            .max()
            .unwrap_or(0))
    }

    /// Records a new Codegen run and starts its first engine run in the
    /// background. `quota` caps the organization's Codegen runs (402).
    pub async fn create(
        &self,
        engine: &Arc<Engine>,
        quota: Option<u64>,
        mut ledger: Ledger,
        input: Message,
        caller: Option<RunCaller>,
    ) -> Result<(Ledger, RunRecord), CodegenError> {
        let mut next = self.next.lock().await;
        if let Some(quota) = quota {
            let used = self
                .all(engine)
                .await?
                .iter()
                .filter(|l| l.organization_id == ledger.organization_id)
                .count() as u64;
            if used >= quota {
                return Err(CodegenError::QuotaReached);
            }
        }
        // Listing every Codegen run to find the highest id made each create
        // slower as the store grew: it is done once, and again only when
        // another replica has taken the id this one expected.
        let mut id = match *next {
            Some(n) => n,
            None => self.highest_id(engine).await? + 1,
        };
        let run_id = new_id();
        let now = now_ms();
        ledger.runs = vec![run_id.clone()];
        ledger.created_at = now;
        let scope = service();
        let session = loop {
            ledger.id = id;
            let session = SessionRecord {
                session_id: session_id(id),
                agent_id: Some(ledger.agent_id.clone()),
                user_id: ledger.creator(),
                owner: None,
                name: Some(input.text.clone()),
                state: None,
                metadata: Some(serde_json::json!({ METADATA_KEY: &ledger })),
                created_at: now,
                updated_at: now,
            };
            if engine.create_session(&scope, &session).await? {
                break session;
            }
            // Another replica took this id since we counted.
            id = (id + 1).max(self.highest_id(engine).await? + 1);
        };
        *next = Some(id + 1);
        match engine
            .start_background(&scope, ledger.run_request(&run_id, input, caller))
            .await
        {
            Ok(record) => Ok((ledger, record)),
            Err(e) => {
                if let Err(e) = engine.delete_session(&scope, &session.session_id).await {
                    tracing::warn!(error = %e, "could not remove the ledger of a run that did not start");
                }
                Err(e.into())
            }
        }
    }

    /// Continues a Codegen run with a follow-up message: a paused engine run
    /// resumes; a finished one is followed by a new engine run in the same
    /// session, which the Codegen id then shows. A run still working is a 409.
    pub async fn resume(
        &self,
        engine: &Arc<Engine>,
        org_id: i64,
        id: u64,
        message: Message,
        caller: Option<RunCaller>,
    ) -> Result<(Ledger, RunRecord), CodegenError> {
        let _guard = self.next.lock().await;
        let scope = service();
        let mut session = engine
            .session(&scope, &session_id(id))
            .await?
            .ok_or(CodegenError::RunNotFound)?;
        let mut ledger = ledger_of(&session)
            .filter(|l| l.id == id && l.organization_id == org_id)
            .ok_or(CodegenError::RunNotFound)?;
        let latest_id = ledger
            .latest_run()
            .ok_or(CodegenError::RunNotFound)?
            .to_string();
        let latest = engine
            .get_run(&scope, &latest_id)
            .await?
            .ok_or(CodegenError::RunNotFound)?;
        match latest.status {
            RunStatus::Awaiting => {
                let handle = engine
                    .resume(
                        &scope,
                        &latest_id,
                        ResumeRequest {
                            message: Some(message),
                            caller,
                            ..Default::default()
                        },
                    )
                    .await?;
                Ok((ledger, handle.record()))
            }
            RunStatus::Pending | RunStatus::Running => Err(CodegenError::Conflict(
                "Agent run is still running; resume it once it has finished.".into(),
            )),
            RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled => {
                let run_id = new_id();
                ledger.runs.push(run_id.clone());
                let before = session.metadata.clone();
                session.metadata = Some(serde_json::json!({ METADATA_KEY: &ledger }));
                engine.save_session(&scope, &session).await?;
                match engine
                    .start_background(&scope, ledger.run_request(&run_id, message, caller))
                    .await
                {
                    Ok(record) => Ok((ledger, record)),
                    Err(e) => {
                        session.metadata = before;
                        if let Err(e) = engine.save_session(&scope, &session).await {
                            tracing::warn!(error = %e, "could not roll back a failed resume");
                        }
                        Err(e.into())
                    }
                }
            }
        }
    }
}

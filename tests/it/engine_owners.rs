//! Who sees what, told through the engine alone (no HTTP, a memory store,
//! the built-in model): every read and change takes the caller's
//! `Principal`; another user's run or session answers exactly as an
//! unknown one; an admin sees everyone's; agents outside a caller's
//! `allowed_scopes` are absent from its listings and refused (403) when
//! run; a client's `user_id` names only its own user.
//!
//! The protocols' stories (each route, real clients, real tokens) live in
//! their own files; these hold the rule where it is enforced, once.

use std::sync::Arc;

use agentd::config::Config;
use agentd::domain::principal::ADMIN_SCOPE;
use agentd::engine::{
    CancelOutcome, Engine, EngineError, Message, Principal, ResumeRequest, RunRecord, RunRequest,
    RunStatus, SessionDeletion, SessionFilter, SessionRecord, ToolDecision,
};
use agentd::models::ModelRegistry;
use agentd::store::Store;
use agentd::store::memory::MemoryStore;
use agentd::tools::ToolRegistry;

use crate::common::config_with;

const AGENTS: &str = r#"
[[agents]]
id = "open"
model = "builtin"

[[agents]]
id = "careful"
model = "builtin"
tools = [{ name = "calculator", confirm = true }]

[[agents]]
id = "ledger"
model = "builtin"
allowed_scopes = ["finance"]

[[teams]]
id = "board"
model = "builtin"
members = ["open"]
mode = "route"
allowed_scopes = ["finance"]
"#;

const CALL_CALCULATOR: &str = r#"/tool calculator {"expression": "6*7"}"#;

fn engine_and_store() -> (Arc<Engine>, Arc<MemoryStore>) {
    let config = Config::from_toml_str(&config_with(AGENTS), "test.toml".as_ref(), &|_| None)
        .expect("test config is valid");
    let models = ModelRegistry::from_config(&config).expect("models build");
    let tools = ToolRegistry::from_config(&config);
    let store = Arc::new(MemoryStore::new());
    let engine = Engine::new(Arc::new(config), models, tools, store.clone());
    (engine, store)
}

fn user(tenant: Option<&str>, name: &str, scopes: &[&str]) -> Principal {
    Principal::user(
        tenant.map(str::to_string),
        name.into(),
        scopes.iter().map(|s| s.to_string()).collect(),
    )
}

fn request(agent: &str, text: &str, session: Option<&str>) -> RunRequest {
    RunRequest {
        agent_id: agent.into(),
        input: vec![Message::user(text)],
        session_id: session.map(str::to_string),
        origin: "test".into(),
        ..Default::default()
    }
}

async fn run_as(engine: &Arc<Engine>, who: &Principal, req: RunRequest) -> RunRecord {
    engine
        .start(who, req)
        .await
        .expect("run starts")
        .finish(false)
        .await
}

fn session_ids(sessions: &[SessionRecord]) -> Vec<&str> {
    sessions.iter().map(|s| s.session_id.as_str()).collect()
}

#[tokio::test]
async fn another_users_runs_and_sessions_answer_as_unknown_ones() {
    let (engine, _) = engine_and_store();
    let ann = user(None, "ann", &[]);
    let bob = user(None, "bob", &[]);
    let done = run_as(&engine, &ann, request("open", "hello", Some("ann-chat"))).await;
    assert_eq!(done.status, RunStatus::Completed, "{done:?}");
    let paused = run_as(&engine, &ann, request("careful", CALL_CALCULATOR, None)).await;
    assert_eq!(paused.status, RunStatus::Awaiting, "{paused:?}");

    // Ann sees her own.
    assert!(engine.get_run(&ann, &done.run_id).await.unwrap().is_some());
    assert_eq!(
        engine
            .list_runs(&ann, &Default::default())
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(engine.session(&ann, "ann-chat").await.unwrap().is_some());

    // Bob gets what an id nobody made gets, on every door.
    for id in [done.run_id.as_str(), paused.run_id.as_str(), "no-such-run"] {
        assert!(engine.get_run(&bob, id).await.unwrap().is_none(), "{id}");
        assert!(
            matches!(
                engine.subscribe(&bob, id, 0).await,
                Err(EngineError::RunNotFound(_))
            ),
            "{id}"
        );
        assert!(
            matches!(
                engine.event_log(&bob, id).await,
                Err(EngineError::RunNotFound(_))
            ),
            "{id}"
        );
        assert!(
            matches!(
                engine.cancel(&bob, id).await,
                Err(EngineError::RunNotFound(_))
            ),
            "{id}"
        );
        let answer = ResumeRequest {
            decisions: vec![ToolDecision {
                call_id: "any".into(),
                approved: true,
                note: None,
            }],
            ..Default::default()
        };
        assert!(
            matches!(
                engine.resume(&bob, id, answer).await,
                Err(EngineError::RunNotFound(_))
            ),
            "{id}"
        );
    }
    assert!(
        engine
            .list_runs(&bob, &Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    let everything = SessionFilter::default();
    assert!(engine.sessions(&bob, &everything).await.unwrap().is_empty());
    assert_eq!(engine.count_sessions(&bob, &everything).await.unwrap(), 0);
    for id in ["ann-chat", "no-such-session"] {
        assert!(engine.session(&bob, id).await.unwrap().is_none());
        assert_eq!(
            engine.delete_session(&bob, id).await.unwrap(),
            SessionDeletion::NotFound
        );
    }
    let call_ids: Vec<String> = paused.pending.iter().map(|p| p.call_id.clone()).collect();
    assert!(
        engine
            .awaiting_run_for_calls(&bob, &paused.session_id, &call_ids)
            .await
            .unwrap()
            .is_none()
    );
    // Bob's attempts changed nothing of Ann's.
    assert!(engine.session(&ann, "ann-chat").await.unwrap().is_some());
    let still = engine.get_run(&ann, &paused.run_id).await.unwrap().unwrap();
    assert_eq!(still.status, RunStatus::Awaiting);
    assert!(
        engine
            .awaiting_run_for_calls(&ann, &paused.session_id, &call_ids)
            .await
            .unwrap()
            .is_some()
    );

    // An admin sees both users' and may act on them.
    let bobs = run_as(&engine, &bob, request("open", "hi", Some("bob-chat"))).await;
    for admin in [Principal::open(), user(None, "root", &[ADMIN_SCOPE])] {
        let all = engine.sessions(&admin, &everything).await.unwrap();
        let mut ids = session_ids(&all);
        ids.sort();
        assert!(
            ids.contains(&"ann-chat") && ids.contains(&"bob-chat"),
            "{ids:?}"
        );
        assert!(
            engine
                .get_run(&admin, &bobs.run_id)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            engine
                .get_run(&admin, &done.run_id)
                .await
                .unwrap()
                .is_some()
        );
    }
    let cancelled = engine.cancel(&Principal::open(), &paused.run_id).await;
    assert!(
        matches!(cancelled, Ok(CancelOutcome::Cancelling(_))),
        "{cancelled:?}"
    );
    // Each user still lists only their own.
    let anns = engine.sessions(&ann, &everything).await.unwrap();
    assert!(!session_ids(&anns).contains(&"bob-chat"));
    let bobs_list = engine.sessions(&bob, &everything).await.unwrap();
    assert_eq!(session_ids(&bobs_list), ["bob-chat"]);
}

#[tokio::test]
async fn continuing_another_users_session_does_not_attach_to_it() {
    let (engine, _) = engine_and_store();
    let ann = user(None, "ann", &[]);
    let bob = user(None, "bob", &[]);
    run_as(
        &engine,
        &ann,
        request("open", "my secret", Some("shared-id")),
    )
    .await;
    let refused = engine
        .start(
            &bob,
            request("open", "what did she say?", Some("shared-id")),
        )
        .await;
    assert!(
        matches!(refused, Err(EngineError::SessionNotFound(ref id)) if id == "shared-id"),
        "{:?}",
        refused.err()
    );
    assert_eq!(
        refused.err().unwrap().class().status,
        404,
        "answered as not found"
    );
    // Queued (background) runs are refused the same way.
    let queued = engine
        .start_background(&bob, request("open", "again", Some("shared-id")))
        .await;
    assert!(matches!(queued, Err(EngineError::SessionNotFound(_))));
    // Ann's conversation holds her run only.
    let runs = engine
        .list_runs(
            &Principal::open(),
            &agentd::engine::RunFilter {
                session_id: Some("shared-id".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].owner, ann.owner());
    // An admin continuing Ann's conversation adds to what Ann sees.
    let by_admin = run_as(
        &engine,
        &Principal::open(),
        request("open", "note", Some("shared-id")),
    )
    .await;
    assert_eq!(by_admin.owner, ann.owner());
    assert!(
        engine
            .get_run(&ann, &by_admin.run_id)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn users_of_different_tenants_never_meet_and_a_tenant_admin_sees_its_own() {
    let (engine, _) = engine_and_store();
    let acme_ann = user(Some("acme"), "ann", &[]);
    let zeta_ann = user(Some("zeta"), "ann", &[]);
    let acme_admin = user(Some("acme"), "boss", &[ADMIN_SCOPE]);
    let acme_run = run_as(&engine, &acme_ann, request("open", "acme work", None)).await;
    let zeta_run = run_as(&engine, &zeta_ann, request("open", "zeta work", None)).await;
    // The same user name in another tenant is another user.
    assert!(
        engine
            .get_run(&zeta_ann, &acme_run.run_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        engine
            .get_run(&acme_ann, &zeta_run.run_id)
            .await
            .unwrap()
            .is_none()
    );
    // A tenant's admin sees that tenant's users only.
    assert!(
        engine
            .get_run(&acme_admin, &acme_run.run_id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        engine
            .get_run(&acme_admin, &zeta_run.run_id)
            .await
            .unwrap()
            .is_none()
    );
    let listed = engine
        .list_runs(&acme_admin, &Default::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].run_id, acme_run.run_id);
}

#[tokio::test]
async fn records_from_before_owners_are_seen_by_admins_only() {
    let (engine, store) = engine_and_store();
    // What the migration leaves: a session and a run with no owner.
    let old = RunRecord {
        status: RunStatus::Completed,
        ..RunRecord::pending("old-run", "old-session", "open", "open", 1)
    };
    store.put_run(&old).await.unwrap();
    store
        .put_session(&SessionRecord {
            session_id: "old-session".into(),
            agent_id: Some("open".into()),
            user_id: None,
            owner: None,
            name: None,
            state: None,
            metadata: None,
            created_at: 1,
            updated_at: 1,
        })
        .await
        .unwrap();
    let ann = user(None, "ann", &[]);
    assert!(engine.get_run(&ann, "old-run").await.unwrap().is_none());
    assert!(engine.session(&ann, "old-session").await.unwrap().is_none());
    assert!(
        engine
            .get_run(&Principal::open(), "old-run")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        engine
            .session(&Principal::open(), "old-session")
            .await
            .unwrap()
            .is_some()
    );
    // Nobody authenticated (a public path while auth is on) sees nothing.
    assert!(
        engine
            .get_run(&Principal::anonymous(), "old-run")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn agents_outside_a_callers_scopes_are_absent_and_refused() {
    let (engine, _) = engine_and_store();
    let clerk = user(None, "clerk", &["chat"]);
    let accountant = user(None, "acc", &["finance"]);
    let ids = |p: &Principal| -> Vec<String> {
        engine
            .agents_for(p)
            .iter()
            .map(|a| a.id.clone())
            .chain(engine.teams_for(p).iter().map(|t| t.id.clone()))
            .collect()
    };
    // (`assistant` is the agent every test config has.)
    let unrestricted = ["assistant", "open", "careful"];
    assert_eq!(ids(&clerk), unrestricted);
    let all = ["assistant", "open", "careful", "ledger", "board"];
    assert_eq!(ids(&accountant), all);
    assert_eq!(ids(&Principal::open()), all);
    assert!(engine.agent_for(&clerk, "ledger").is_none());
    assert!(engine.team_for(&clerk, "board").is_none());
    for id in ["ledger", "board"] {
        let refused = engine.start(&clerk, request(id, "numbers", None)).await;
        let err = refused.err().expect("refused");
        assert!(matches!(err, EngineError::Forbidden(_)), "{err:?}");
        assert_eq!(err.class().status, 403);
        let queued = engine
            .start_background(&clerk, request(id, "numbers", None))
            .await;
        assert!(matches!(queued, Err(EngineError::Forbidden(_))));
    }
    // Refused before anything was recorded.
    assert!(
        engine
            .list_runs(&Principal::open(), &Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    let done = run_as(&engine, &accountant, request("ledger", "numbers", None)).await;
    assert_eq!(done.status, RunStatus::Completed);
    // An unknown agent stays a 404, whoever asks.
    let unknown = engine.start(&clerk, request("ghost", "hi", None)).await;
    assert!(matches!(unknown, Err(EngineError::AgentNotFound(_))));
}

#[tokio::test]
async fn a_user_id_may_name_only_the_callers_own_user() {
    let (engine, _) = engine_and_store();
    let ann = user(None, "ann", &[]);
    let named = |who: &str| RunRequest {
        user_id: Some(who.into()),
        ..request("open", "hello", None)
    };
    let refused = engine.start(&ann, named("bob")).await;
    assert!(
        matches!(refused, Err(EngineError::Forbidden(_))),
        "{:?}",
        refused.err()
    );
    let own = run_as(&engine, &ann, named("ann")).await;
    assert_eq!(own.user_id.as_deref(), Some("ann"));
    // An admin may act for anyone (and auth off is such a caller).
    let for_bob = run_as(&engine, &user(None, "root", &[ADMIN_SCOPE]), named("bob")).await;
    assert_eq!(for_bob.user_id.as_deref(), Some("bob"));
    run_as(&engine, &Principal::open(), named("bob")).await;
}

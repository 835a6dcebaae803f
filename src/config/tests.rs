//! The loading and validation stories of the whole file.

use std::path::Path;

use super::env::interpolate_str;
use super::*;

fn env(name: &str) -> Option<String> {
    (name == "SET").then(|| "value".to_string())
}

#[test]
fn interpolation_forms() {
    assert_eq!(interpolate_str("a${SET}b", &env).unwrap(), "avalueb");
    assert_eq!(interpolate_str("${UNSET:-x}", &env).unwrap(), "x");
    assert_eq!(interpolate_str("${UNSET:-}", &env).unwrap(), "");
    assert!(
        interpolate_str("${UNSET}", &env)
            .unwrap_err()
            .contains("UNSET")
    );
    assert!(interpolate_str("${bad name}", &env).is_err());
    assert!(interpolate_str("${SET", &env).is_err());
}

#[test]
fn validation_names_file_and_field() {
    let text = r#"
        [models.m]
        provider = "builtin"
        [[agents]]
        id = "a"
        model = "nope"
    "#;
    let err = Config::from_toml_str(text, Path::new("x.toml"), &env).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("x.toml: agents[0].model:"), "{msg}");
    assert!(msg.contains("unknown model 'nope'"), "{msg}");
}

#[test]
fn team_validation_rejects_unknown_members_and_cycles() {
    let base = r#"
        [models.m]
        provider = "builtin"
        [[agents]]
        id = "a"
        model = "m"
    "#;
    let unknown = format!("{base}\n[[teams]]\nid = \"t\"\nmodel = \"m\"\nmembers = [\"ghost\"]\n");
    let err = Config::from_toml_str(&unknown, Path::new("x.toml"), &env).unwrap_err();
    assert!(err.to_string().contains("unknown member 'ghost'"), "{err}");
    let cycle = format!(
        "{base}\n[[teams]]\nid = \"t\"\nmodel = \"m\"\nmembers = [\"u\"]\n[[teams]]\nid = \"u\"\nmodel = \"m\"\nmembers = [\"a\", \"t\"]\n"
    );
    let err = Config::from_toml_str(&cycle, Path::new("x.toml"), &env).unwrap_err();
    assert!(err.to_string().contains("t -> u -> t"), "{err}");
    let clash = format!("{base}\n[[teams]]\nid = \"a\"\nmodel = \"m\"\nmembers = [\"a\"]\n");
    assert!(Config::from_toml_str(&clash, Path::new("x.toml"), &env).is_err());
}

#[test]
fn codegen_validation_names_the_field() {
    let base = r#"
        [models.m]
        provider = "builtin"
        [[agents]]
        id = "a"
        model = "m"
    "#;
    let cases = [
        (
            "[codegen.agent_types]\ncodegen = \"nope\"",
            "codegen.agent_types.codegen",
        ),
        ("[codegen.models]\nfast = \"nope\"", "codegen.models.fast"),
        (
            "[codegen.rate_limit]\ncreates = 0",
            "codegen.rate_limit.creates",
        ),
        (
            "[[codegen.users]]\nid = 1\norganizations = [7]",
            "codegen.users[0].organizations",
        ),
        (
            "[[codegen.users]]\nid = 1\napi_keys = [\"k\"]\n[[codegen.users]]\nid = 2\napi_keys = [\"k\"]",
            "codegen.users[1].api_keys",
        ),
        (
            "[[codegen.organizations]]\nid = 1\nname = \"a\"\n[[codegen.organizations]]\nid = 1\nname = \"b\"",
            "codegen.organizations[1].id",
        ),
    ];
    for (extra, field) in cases {
        let text = format!("{base}\n{extra}");
        let err = Config::from_toml_str(&text, Path::new("x.toml"), &env).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("x.toml: {field}:")), "{msg}");
    }
}

#[test]
fn store_section_defaults_and_validation() {
    let base = "[models.m]\nprovider = \"builtin\"\n[[agents]]\nid = \"a\"\nmodel = \"m\"\n";
    let cfg = Config::from_toml_str(base, Path::new("x.toml"), &env).unwrap();
    assert_eq!(cfg.store.kind, StoreKind::Sqlite);
    assert_eq!(cfg.store.path, Path::new(DEFAULT_DB_PATH));
    let text = format!("{base}[store]\nkind = \"memory\"\n");
    let cfg = Config::from_toml_str(&text, Path::new("x.toml"), &env).unwrap();
    assert_eq!(cfg.store.kind, StoreKind::Memory);
    let text = format!("{base}[store]\npath = \"\"\n");
    let msg = Config::from_toml_str(&text, Path::new("x.toml"), &env)
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("x.toml: store.path:"), "{msg}");
    let text = format!("{base}[store]\npath = \":memory:\"\n");
    assert!(Config::from_toml_str(&text, Path::new("x.toml"), &env).is_err());
    let text = format!("{base}[store]\nkind = \"redis\"\n");
    assert!(Config::from_toml_str(&text, Path::new("x.toml"), &env).is_err());
}

#[test]
fn postgres_store_from_config_or_database_url() {
    let base = "[models.m]\nprovider = \"builtin\"\n[[agents]]\nid = \"a\"\nmodel = \"m\"\n";
    for (section, field) in [
        ("kind = \"postgres\"\n", "store.url"),
        ("kind = \"postgres\"\nurl = \"mysql://x\"\n", "store.url"),
        (
            "kind = \"postgres\"\nurl = \"postgres://h/db\"\nlease_secs = 0\n",
            "store.lease_secs",
        ),
    ] {
        let text = format!("{base}[store]\n{section}");
        let msg = Config::from_toml_str(&text, Path::new("x.toml"), &env)
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with(&format!("x.toml: {field}:")), "{msg}");
    }
    let mut cfg = Config::from_toml_str(base, Path::new("x.toml"), &env).unwrap();
    cfg.apply_database_url(Some("sqlite://x.db")).unwrap();
    assert_eq!(cfg.store.kind, StoreKind::Sqlite);
    cfg.apply_database_url(Some("postgres://h/db")).unwrap();
    assert_eq!(cfg.store.kind, StoreKind::Postgres);
    assert_eq!(cfg.store.url.as_deref(), Some("postgres://h/db"));
    // A kind named in the file wins over DATABASE_URL.
    let text = format!("{base}[store]\nkind = \"memory\"\n");
    let mut cfg = Config::from_toml_str(&text, Path::new("x.toml"), &env).unwrap();
    cfg.apply_database_url(Some("postgres://h/db")).unwrap();
    assert_eq!(cfg.store.kind, StoreKind::Memory);
}

#[test]
fn agent_tools_name_builtin_and_mcp_tools() {
    let base = r#"
        [mcp_servers.files]
        command = "mcp-files"
        args = ["--root", "/srv"]
        [mcp_servers.remote]
        url = "https://mcp.example.com/mcp"
        headers = { Authorization = "Bearer t" }
        [models.m]
        provider = "builtin"
        [[agents]]
        id = "a"
        model = "m"
    "#;
    let text = format!(
        "{base}tools = [\"calculator\", {{ name = \"current_time\", confirm = true }}, {{ mcp = \"files\" }}, {{ mcp = \"remote\", tools = [\"search\"], confirm = true }}]\n"
    );
    let cfg = Config::from_toml_str(&text, Path::new("x.toml"), &env).unwrap();
    let tools = &cfg.agents[0].tools;
    assert_eq!(tools[0], AgentTool::builtin("calculator"));
    assert!(tools[1].confirm);
    assert_eq!(
        tools[2].source,
        ToolSource::Mcp {
            server: "files".into(),
            tools: None
        }
    );
    assert_eq!(
        tools[3],
        AgentTool {
            source: ToolSource::Mcp {
                server: "remote".into(),
                tools: Some(vec!["search".into()])
            },
            confirm: true
        }
    );
    for (tools, field, says) in [
        ("[\"nope\"]", "agents[0].tools", "unknown tool 'nope'"),
        (
            "[{ mcp = \"gone\" }]",
            "agents[0].tools",
            "unknown MCP server 'gone'",
        ),
        (
            "[{ mcp = \"files\", tools = [] }]",
            "agents[0].tools",
            "non-empty",
        ),
        (
            "[{ name = \"ask_user\", confirm = true }]",
            "agents[0].tools",
            "does not apply",
        ),
        (
            "[{ mcp = \"remote\", tools = [\"calculator\"] }, { name = \"calculator\", confirm = true }]",
            "agents[0].tools",
            "tool 'calculator' is given twice, by MCP server 'remote' and by the built-in tool",
        ),
        (
            "[{ mcp = \"files\", tools = [\"search\"] }, { mcp = \"remote\", tools = [\"search\"] }]",
            "agents[0].tools",
            "tool 'search' is given twice, by MCP server 'files' and by MCP server 'remote'",
        ),
        (
            "[\"calculator\", \"calculator\"]",
            "agents[0].tools",
            "tool 'calculator' is given twice",
        ),
    ] {
        let text = format!("{base}tools = {tools}\n");
        let msg = Config::from_toml_str(&text, Path::new("x.toml"), &env)
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with(&format!("x.toml: {field}:")), "{msg}");
        assert!(msg.contains(says), "{msg}");
    }
    for tools in [
        "[{ name = \"calculator\", mcp = \"files\" }]",
        "[{ confirm = true }]",
        "[{ name = \"calculator\", colour = 1 }]",
    ] {
        let text = format!("{base}tools = {tools}\n");
        assert!(
            Config::from_toml_str(&text, Path::new("x.toml"), &env).is_err(),
            "{tools}"
        );
    }
    let both = base.replace(
        "command = \"mcp-files\"",
        "command = \"x\"\nurl = \"http://h/mcp\"",
    );
    let msg = Config::from_toml_str(&both, Path::new("x.toml"), &env)
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("x.toml: mcp_servers.files:"), "{msg}");
    let bad_host = format!("{base}[tools.http_fetch]\nallowed_hosts = [\"http://x\"]\n");
    let msg = Config::from_toml_str(&bad_host, Path::new("x.toml"), &env)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("tools.http_fetch.allowed_hosts[0]"), "{msg}");
}

#[test]
fn api_keys_are_strings_or_tables_with_limits() {
    let base = "[models.m]\nprovider = \"builtin\"\n[[agents]]\nid = \"a\"\nmodel = \"m\"\n";
    let text = format!(
        "{base}[server.rate_limits]\nacp = 5\n[auth]\napi_keys = [\"k1\", {{ key = \"k2\", name = \"ci\", max_concurrent_runs = 2, rate_limits = {{ agui = 9 }} }}]\n"
    );
    let cfg = Config::from_toml_str(&text, Path::new("x.toml"), &env).unwrap();
    assert_eq!(cfg.auth.keys().collect::<Vec<_>>(), ["k1", "k2"]);
    let ci = &cfg.auth.api_keys[1];
    assert_eq!(ci.name(), Some("ci"));
    assert_eq!(ci.max_concurrent_runs(), Some(2));
    let limits = cfg.server.rate_limits.overridden_by(&ci.rate_limits());
    assert_eq!(
        (limits.acp, limits.agui, limits.agentos),
        (Some(5), Some(9), None)
    );
    for (keys, needle) in [
        ("[{ key = \"k\", nmae = \"x\" }]", "nmae"),
        ("[\"k\", { key = \"k\" }]", "auth.api_keys[1]"),
        ("[{ key = \"k\", rate_limits = { grpc = 1 } }]", "grpc"),
    ] {
        let text = format!("{base}[auth]\napi_keys = {keys}\n");
        let msg = Config::from_toml_str(&text, Path::new("x.toml"), &env)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(needle), "{keys}: {msg}");
    }
}

#[test]
fn url_inputs_are_off_by_default_and_validated() {
    let base = "[models.m]\nprovider = \"builtin\"\n[[agents]]\nid = \"a\"\nmodel = \"m\"\n";
    let cfg = Config::from_toml_str(base, Path::new("x.toml"), &env).unwrap();
    assert_eq!(cfg.files.urls.mode, UrlInputMode::Off);
    for (section, field) in [
        ("timeout_secs = 0", "files.urls.timeout_secs"),
        (
            "allowed_hosts = [\"https://x.com/\"]",
            "files.urls.allowed_hosts[0]",
        ),
    ] {
        let text = format!("{base}[files.urls]\nmode = \"fetch\"\n{section}\n");
        let msg = Config::from_toml_str(&text, Path::new("x.toml"), &env)
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with(&format!("x.toml: {field}:")), "{msg}");
    }
}

#[test]
fn environment_overrides_any_setting() {
    let text = r#"
        [server]
        bind = "127.0.0.1:7777"
        [models.m]
        provider = "builtin"
        [[agents]]
        id = "a"
        model = "m"
        [[agents]]
        id = "b"
        model = "m"
    "#;
    let vars = [
        ("AGENTD_SERVER__BIND", "0.0.0.0:9000"),
        ("AGENTD_SERVER__MAX_CONCURRENT_RUNS", "8"),
        ("AGENTD_SERVER__RATE_LIMITS__ACP", "30"),
        ("AGENTD_STORE__KIND", "memory"),
        (
            "AGENTD_AUTH__API_KEYS",
            r#"["k1", { key = "k2", name = "ci" }]"#,
        ),
        ("AGENTD_FILES__URLS__MODE", "fetch"),
        (
            "AGENTD_FILES__URLS__ALLOWED_HOSTS",
            r#"["cdn.example.com"]"#,
        ),
        ("AGENTD_AGENTS__1__INSTRUCTIONS", "Be terse."),
        ("AGENTD_MODELS__M__TEMPERATURE", "0.5"),
        ("AGENTD_CONFIG", "not/an/override.toml"),
        ("OTHER__THING", "x"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let overrides = env_overrides(vars.into_iter());
    assert_eq!(overrides.len(), 9);
    let cfg =
        Config::from_toml_str_with_overrides(text, Path::new("x.toml"), &env, &overrides).unwrap();
    assert_eq!(cfg.server.bind, "0.0.0.0:9000");
    assert_eq!(cfg.server.max_concurrent_runs, 8);
    assert_eq!(cfg.server.rate_limits.acp, Some(30));
    assert_eq!(cfg.store.kind, StoreKind::Memory);
    assert_eq!(cfg.auth.keys().collect::<Vec<_>>(), ["k1", "k2"]);
    assert_eq!(cfg.files.urls.mode, UrlInputMode::Fetch);
    assert_eq!(cfg.files.urls.allowed_hosts, ["cdn.example.com"]);
    assert_eq!(cfg.agents[1].instructions.as_deref(), Some("Be terse."));
    assert_eq!(cfg.models["m"].temperature, Some(0.5));

    // Mistakes name the variable.
    for (var, value, needle) in [
        ("AGENTD_SERVR__BIND", "x", "AGENTD_SERVR__BIND"),
        (
            "AGENTD_SERVER__MAX_BODY_BYTES",
            "lots",
            "AGENTD_SERVER__MAX_BODY_BYTES",
        ),
        ("AGENTD_AGENTS__5__MODEL", "m", "not the index of one"),
        ("AGENTD_SERVER____BIND", "x", "is not a setting"),
        (
            "AGENTD_SERVER__BIND__X",
            "x",
            "'server.bind' is not a section",
        ),
    ] {
        let overrides = [(var.to_string(), value.to_string())];
        let msg = Config::from_toml_str_with_overrides(text, Path::new("x.toml"), &env, &overrides)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(needle), "{var}: {msg}");
        // One sentence, however the source wraps it.
        assert!(!msg.contains("  "), "{var}: {msg}");
    }
}

#[test]
fn auto_provider_resolves() {
    let text = r#"
        [models.m]
        provider = "auto"
        model = "gpt"
        api_key = "${SET:-}"
        [[agents]]
        id = "a"
        model = "m"
    "#;
    let cfg = Config::from_toml_str(text, Path::new("x.toml"), &env).unwrap();
    assert_eq!(cfg.models["m"].effective_provider(), Provider::Openai);
    let cfg = Config::from_toml_str(text, Path::new("x.toml"), &|_| None).unwrap();
    assert_eq!(cfg.models["m"].effective_provider(), Provider::Builtin);
}

//! The agentd command line: serve, check-config, openapi, health, and the
//! hidden extract-document (the worker `serve` runs to read a document).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use agentd::AppState;
use agentd::config::{Config, DEFAULT_BIND, DEFAULT_CONFIG_PATH, StoreKind};
use agentd::engine::Engine;
use agentd::models::ModelRegistry;
use agentd::tools::ToolRegistry;

#[derive(Parser)]
#[command(
    name = "agentd",
    version,
    about = "Runs AI agents and teams over AgentOS, AG-UI, ACP, the Codegen agent API, A2A and MCP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server.
    Serve {
        /// The config file.
        #[arg(long, env = "AGENTD_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Address to listen on; overrides server.bind in the file.
        #[arg(long, env = "AGENTD_BIND")]
        bind: Option<String>,
    },
    /// Check a config file and exit non-zero if it is invalid.
    CheckConfig {
        #[arg(long, env = "AGENTD_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Ask a running server whether it is live (GET /health); exit 0 if so.
    /// The container's HEALTHCHECK, so the image needs no curl.
    Health {
        /// The health URL; by default /health on loopback at the port of
        /// AGENTD_BIND (or the default bind address).
        #[arg(long)]
        url: Option<String>,
    },
    /// Read one document from stdin in a limited child process (the server
    /// runs this itself; see engine/attachments/documents.rs).
    #[command(hide = true)]
    ExtractDocument {
        /// The job, as JSON.
        #[arg(long)]
        job: String,
    },
    /// Print the OpenAPI document (or write it to a file).
    Openapi {
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => match Config::load(&config) {
            Ok(cfg) => {
                println!(
                    "{}: ok ({} agents, {} models)",
                    config.display(),
                    cfg.agents.len(),
                    cfg.models.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        Command::Health { url } => {
            let url = url.unwrap_or_else(|| {
                let bind = std::env::var("AGENTD_BIND").unwrap_or_else(|_| DEFAULT_BIND.into());
                let port = bind.rsplit(':').next().unwrap_or("7777");
                format!("http://127.0.0.1:{port}/health")
            });
            match health(&url) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{url}: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::ExtractDocument { job } => agentd::engine::document_worker(&job),
        Command::Openapi { output } => {
            let doc = match agentd::openapi().to_pretty_json() {
                Ok(d) => d + "\n",
                Err(e) => {
                    eprintln!("cannot render the OpenAPI document: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match output {
                Some(path) => {
                    if let Err(e) = std::fs::write(&path, doc) {
                        eprintln!("{}: {e}", path.display());
                        return ExitCode::FAILURE;
                    }
                }
                None => print!("{doc}"),
            }
            ExitCode::SUCCESS
        }
        Command::Serve { config, bind } => {
            init_tracing();
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let served = runtime.block_on(serve(config, bind));
            // Every run is stored by now; blocking work still going (a
            // document being parsed, say) must not keep the process up
            // after its shutdown, as dropping the runtime would.
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            match served {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("agentd: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn health(url: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(3))
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", resp.status()))
        }
    })
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("AGENTD_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colours only for a person at a terminal, never in a container's log.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(config_path: PathBuf, bind: Option<String>) -> Result<(), String> {
    // Every connection is a descriptor: the soft limit (often 1024) goes up
    // to the hard one before anything is opened.
    let descriptors = agentd::http::server::raise_descriptor_limit();
    tracing::debug!(?descriptors, "open-file limit");
    let mut config = Config::load(&config_path).map_err(|e| e.to_string())?;
    if let Some(bind) = bind {
        config.server.bind = bind;
    }
    config
        .apply_database_url(std::env::var("DATABASE_URL").ok().as_deref())
        .map_err(|e| e.to_string())?;
    // This binary is the document worker too: PDF and DOCX files are read
    // in a child process of it, with memory, CPU and time limits. On Linux
    // through /proc/self/exe, which still runs this binary after a package
    // upgrade has replaced the file on disk.
    let program = if cfg!(target_os = "linux") {
        Ok(PathBuf::from("/proc/self/exe"))
    } else {
        std::env::current_exe()
    };
    match program {
        Ok(program) => config.files.document_worker = Some(program),
        Err(e) => tracing::warn!(
            error = %e,
            "documents are read in process: the agentd program cannot be found"
        ),
    }
    let models = ModelRegistry::from_config(&config).map_err(|e| e.to_string())?;
    let store = agentd::store::open(&config.store)
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    // MCP servers are connected before serving; one that cannot start is a
    // warning, and its tools answer with errors until it can be reached.
    let tools = ToolRegistry::from_config(&config);
    tools.start().await;
    let config = Arc::new(config);
    let engine = Engine::new(config.clone(), models, tools, store);
    let interrupted = engine
        .recover_interrupted()
        .await
        .map_err(|e| format!("cannot start: recovering interrupted runs: {e}"))?;
    if !interrupted.is_empty() {
        tracing::warn!(
            count = interrupted.len(),
            runs = ?interrupted,
            "runs left in flight by the previous process were marked failed (interrupted)"
        );
    }
    match config.store.kind {
        StoreKind::Sqlite => {
            tracing::info!(path = %config.store.path.display(), "store: sqlite")
        }
        StoreKind::Memory => tracing::info!("store: memory (nothing survives a restart)"),
        StoreKind::Postgres => tracing::info!(
            url = %agentd::store::postgres::redact(config.store.url.as_deref().unwrap_or("")),
            lease_secs = config.store.lease_secs,
            "store: postgres"
        ),
    }
    engine.watch_orphans();
    let listener = tokio::net::TcpListener::bind(&config.server.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.bind))?;
    // The bound address, not the configured one: with port 0 the system
    // picks the port, and this line is how callers learn it.
    let addr = listener
        .local_addr()
        .map_or_else(|_| config.server.bind.clone(), |a| a.to_string());
    tracing::info!(addr = %addr, config = %config_path.display(), "agentd listening");
    let state = AppState::new(engine);
    agentd::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("shut down: every run finished or was cancelled and stored");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

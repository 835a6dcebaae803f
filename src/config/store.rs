//! `[store]`: where sessions, runs and event logs are kept (an SQLite file,
//! memory, or a shared PostgreSQL database), with the checks of their values
//! and how a `DATABASE_URL` may choose PostgreSQL when the file does not.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Config, ConfigError};

/// The default database file of the `sqlite` store, relative to the working directory.
pub const DEFAULT_DB_PATH: &str = "data/agentd.db";

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// One SQLite file (WAL mode): sessions, runs and event logs survive restarts.
    #[default]
    Sqlite,
    /// Nothing survives the process; for throwaway use and tests.
    Memory,
    /// A shared PostgreSQL database (`url`): several replicas may use one.
    Postgres,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub kind: StoreKind,
    /// The SQLite database file; its directory is created when missing.
    /// Relative paths resolve against the working directory.
    pub path: PathBuf,
    /// The PostgreSQL connection URL (`postgres://...`) of the `postgres` store.
    pub url: Option<String>,
    /// PostgreSQL: how long a run may go without its replica's heartbeat
    /// before another replica declares it orphaned and fails it.
    pub lease_secs: u64,
    /// Whether the file named `kind` itself (then DATABASE_URL cannot override it).
    #[serde(skip)]
    pub kind_explicit: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            kind: StoreKind::default(),
            path: PathBuf::from(DEFAULT_DB_PATH),
            url: None,
            lease_secs: 30,
            kind_explicit: false,
        }
    }
}

/// Whether a URL names a PostgreSQL server.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl Config {
    /// Lets a `postgres://` DATABASE_URL choose the PostgreSQL store when the
    /// file names no store kind (the file takes precedence), then re-validates.
    pub fn apply_database_url(&mut self, database_url: Option<&str>) -> Result<(), ConfigError> {
        if let Some(url) = database_url.filter(|u| is_postgres_url(u))
            && !self.store.kind_explicit
        {
            self.store.kind = StoreKind::Postgres;
            self.store.url = Some(url.to_string());
        }
        self.validate()
    }

    pub(super) fn validate_store(&self) -> Result<(), ConfigError> {
        if self.store.kind == StoreKind::Sqlite {
            let path = self.store.path.to_string_lossy();
            if path.trim().is_empty() {
                return Err(self.invalid("store.path", "must name the SQLite database file"));
            }
            // SQLite would give every pooled connection its own private database.
            if path.starts_with(":memory:") || path.starts_with("file::memory:") {
                return Err(self.invalid(
                    "store.path",
                    "an in-memory SQLite database is not supported; use kind = \"memory\"",
                ));
            }
        }
        if self.store.kind == StoreKind::Postgres {
            match self.store.url.as_deref() {
                None => {
                    return Err(self.invalid(
                        "store.url",
                        "is required with kind = \"postgres\" (or set a postgres:// DATABASE_URL)",
                    ));
                }
                Some(url) if !is_postgres_url(url) => {
                    return Err(self.invalid(
                        "store.url",
                        "must be a PostgreSQL URL starting with postgres:// or postgresql://",
                    ));
                }
                Some(_) => {}
            }
            if self.store.lease_secs == 0 {
                return Err(self.invalid("store.lease_secs", "must be at least 1"));
            }
        }
        Ok(())
    }
}

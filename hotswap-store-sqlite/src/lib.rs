#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use hotswap_core::{Error, Result};
pub use hotswap_store_sql::SqlStore;
use hotswap_store_sql::{AnyPool, Dialect, db_error};
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Where and how to open the SQLite database.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SqliteConfig {
    /// The database file; it and its folder are created on first use.
    pub path: PathBuf,
    /// Connections in the pool (one writes at a time; readers run beside it).
    pub max_connections: u32,
    /// How long a statement waits for another connection's write lock.
    pub busy_timeout: Duration,
}

impl SqliteConfig {
    /// The database at `path`, with 4 connections and a 5 s busy timeout.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            max_connections: 4,
            busy_timeout: Duration::from_secs(5),
        }
    }

    /// `HOTSWAP_SQLITE_PATH`, else `hotswap.db` in the working directory.
    pub fn from_env() -> Self {
        Self::from_vars(&hotswap_core::env::Vars::process())
    }

    /// [`SqliteConfig::from_env`] over `vars`.
    pub fn from_vars(vars: &hotswap_core::env::Vars) -> Self {
        Self::new(
            vars.var("HOTSWAP_SQLITE_PATH")
                .map_or_else(|| PathBuf::from("hotswap.db"), PathBuf::from),
        )
    }

    /// Set [`SqliteConfig::max_connections`].
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Set [`SqliteConfig::busy_timeout`].
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Open (creating and migrating as needed) the database.
    pub async fn open(self) -> Result<SqlStore> {
        let pool = self.pool().await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| Error::unavailable("sqlite", false, e))?;
        Ok(SqlStore::new(pool, Dialect::Sqlite))
    }

    /// A pool on the database, created when missing, not migrated.
    async fn pool(&self) -> Result<AnyPool> {
        if self.max_connections == 0 {
            return Err(Error::invalid("max_connections", "must be at least 1"));
        }
        create_parent(&self.path)?;
        SqlStore::install_drivers();
        let url = format!("sqlite://{}?mode=rwc", self.path.display());
        let busy_ms = self.busy_timeout.as_millis();
        AnyPoolOptions::new()
            .max_connections(self.max_connections)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(
                        format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms};"
                        )
                        .as_str(),
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| db_error(Dialect::Sqlite, e))
    }
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            Error::invalid(
                "path",
                format!("cannot create the folder {}: {e}", dir.display()),
            )
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use hotswap_core::env::Vars;

    use super::*;

    #[test]
    fn the_path_comes_from_the_environment_or_defaults() {
        let set = Vars::from_pairs(&[("HOTSWAP_SQLITE_PATH", "/var/lib/hotswap/h.db")]);
        assert_eq!(
            SqliteConfig::from_vars(&set).path,
            PathBuf::from("/var/lib/hotswap/h.db")
        );
        assert_eq!(
            SqliteConfig::from_vars(&Vars::from_pairs(&[])).path,
            PathBuf::from("hotswap.db")
        );
    }

    /// A database written before migration 4 holds, once upgraded, what
    /// its deployments hold.
    #[tokio::test]
    async fn an_upgrade_holds_what_earlier_deployments_hold() {
        use std::sync::Arc;

        let dir = tempfile::tempdir().unwrap();
        let config = SqliteConfig::new(dir.path().join("old.db"));
        let pool = config.pool().await.unwrap();
        let earlier = hotswap_testkit::deployments::earlier_migrations(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")),
            "0004",
        );
        let migrator = sqlx::migrate::Migrator::new(earlier.path()).await.unwrap();
        assert_eq!(migrator.iter().count(), 3);
        migrator.run(&pool).await.unwrap();
        let old = SqlStore::new(pool, Dialect::Sqlite);
        let (modules, deployments) = hotswap_testkit::deployments::legacy_rows();
        old.insert_legacy_rows(&modules, &deployments)
            .await
            .unwrap();
        old.close().await;

        let store = config.open().await.unwrap();
        hotswap_testkit::deployments::legacy_holds_are_backfilled(
            &hotswap_testkit::deployments::DeploymentStore {
                deployments: Arc::new(store.clone()),
                modules: Arc::new(store),
            },
        )
        .await;
    }

    #[tokio::test]
    async fn zero_connections_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = SqliteConfig::new(dir.path().join("x.db"))
            .with_max_connections(0)
            .open()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("max_connections"), "{e}");
    }
}

#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::fmt;
use std::time::Duration;

use hotswap_core::{Error, Result};
pub use hotswap_store_sql::SqlStore;
use hotswap_store_sql::{AnyPool, Dialect, db_error};
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How to reach PostgreSQL.
#[derive(Clone)]
#[non_exhaustive]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/database` (secret: never printed).
    pub url: String,
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long a query waits for a free connection.
    pub acquire_timeout: Duration,
    /// The schema the tables live in, created when missing; `None` uses
    /// the server's search path.
    pub schema: Option<String>,
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &redacted(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("schema", &self.schema)
            .finish()
    }
}

/// `url` with its password replaced by `***`.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl PostgresConfig {
    /// Connect to `url` with 10 connections and a 5 s acquire timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            schema: None,
        }
    }

    /// Read `HOTSWAP_DATABASE_URL` and the optional
    /// `HOTSWAP_DATABASE_MAX_CONNECTIONS`, `HOTSWAP_DATABASE_ACQUIRE_TIMEOUT_MS`
    /// and `HOTSWAP_DATABASE_SCHEMA`.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(&hotswap_core::env::Vars::process())
    }

    /// [`PostgresConfig::from_env`] over `vars`.
    pub fn from_vars(vars: &hotswap_core::env::Vars) -> Result<Self> {
        let url = vars.var("HOTSWAP_DATABASE_URL").ok_or_else(|| {
            Error::invalid(
                "HOTSWAP_DATABASE_URL",
                "is not set (postgres://user:password@host/db)",
            )
        })?;
        let mut config = Self::new(url);
        if let Some(n) = vars.parse("HOTSWAP_DATABASE_MAX_CONNECTIONS", "a count")? {
            config.max_connections = n;
        }
        if let Some(ms) = vars.parse::<u64>(
            "HOTSWAP_DATABASE_ACQUIRE_TIMEOUT_MS",
            "a number of milliseconds",
        )? {
            config.acquire_timeout = Duration::from_millis(ms);
        }
        config.schema = vars.var("HOTSWAP_DATABASE_SCHEMA");
        config.validate()?;
        Ok(config)
    }

    /// Set [`PostgresConfig::max_connections`].
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Set [`PostgresConfig::acquire_timeout`].
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Set [`PostgresConfig::schema`].
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    fn validate(&self) -> Result<()> {
        if !self.url.starts_with("postgres://") && !self.url.starts_with("postgresql://") {
            return Err(Error::invalid(
                "url",
                format!("{} is not a postgres:// URL", redacted(&self.url)),
            ));
        }
        if self.max_connections == 0 {
            return Err(Error::invalid("max_connections", "must be at least 1"));
        }
        if let Some(schema) = &self.schema {
            let ok = !schema.is_empty()
                && schema.len() <= 63
                && schema
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && !schema.as_bytes()[0].is_ascii_digit();
            if !ok {
                return Err(Error::invalid(
                    "schema",
                    format!("{schema:?} must be 1-63 of a-z, 0-9 and _, not starting with a digit"),
                ));
            }
        }
        Ok(())
    }

    /// Connect, create the schema if one is set and missing, and migrate.
    pub async fn connect(self) -> Result<SqlStore> {
        let pool = self.pool().await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| Error::unavailable("postgres", false, e))?;
        Ok(SqlStore::new(pool, Dialect::Postgres))
    }

    /// A pool in the schema, created when missing, not migrated.
    async fn pool(&self) -> Result<AnyPool> {
        self.validate()?;
        SqlStore::install_drivers();
        // Errors from sqlx can quote the URL; keep the password out of them.
        let hide = |e: sqlx::Error| {
            let e = db_error(Dialect::Postgres, e);
            match e {
                Error::Unavailable {
                    temporary, reason, ..
                } => Error::Unavailable {
                    service: "postgres".into(),
                    temporary,
                    reason: reason.replace(&self.url, &redacted(&self.url)),
                    source: None,
                },
                other => other,
            }
        };
        let schema = self.schema.clone();
        if let Some(schema) = &schema {
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&self.url)
                .await
                .map_err(hide)?;
            conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
                .await
                .map_err(hide)?;
        }
        AnyPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    if let Some(schema) = schema {
                        conn.execute(format!("SET search_path TO {schema}").as_str())
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&self.url)
            .await
            .map_err(hide)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database written before migration 4 holds, once upgraded, what
    /// its deployments hold.
    #[test]
    fn an_upgrade_holds_what_earlier_deployments_hold() {
        use std::sync::Arc;

        hotswap_testkit::run(async {
            let Some(url) = hotswap_testkit::service_env("HOTSWAP_TEST_POSTGRES_URL") else {
                return;
            };
            let schema = format!("hs_test_{}", uuid::Uuid::now_v7().simple());
            let config = PostgresConfig::new(url).with_schema(schema);
            let pool = config.pool().await.unwrap();
            let earlier = hotswap_testkit::deployments::earlier_migrations(
                std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")),
                "0004",
            );
            let migrator = sqlx::migrate::Migrator::new(earlier.path()).await.unwrap();
            assert_eq!(migrator.iter().count(), 3);
            migrator.run(&pool).await.unwrap();
            let old = SqlStore::new(pool, Dialect::Postgres);
            let (modules, deployments) = hotswap_testkit::deployments::legacy_rows();
            old.insert_legacy_rows(&modules, &deployments)
                .await
                .unwrap();
            old.close().await;

            let store = config.connect().await.unwrap();
            hotswap_testkit::deployments::legacy_holds_are_backfilled(
                &hotswap_testkit::deployments::DeploymentStore {
                    deployments: Arc::new(store.clone()),
                    modules: Arc::new(store),
                },
            )
            .await;
        });
    }

    #[test]
    fn passwords_are_never_printed() {
        let c = PostgresConfig::new("postgres://app:s3cret@db:5432/hotswap");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://app:***@db:5432/hotswap"),
            "{shown}"
        );
        assert_eq!(redacted("postgres://db/hotswap"), "postgres://db/hotswap");
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let e = PostgresConfig::new("mysql://x").validate().unwrap_err();
        assert!(e.to_string().contains("url"), "{e}");
        let e = PostgresConfig::new("postgres://x/db")
            .with_schema("Robert'); DROP TABLE")
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("schema"), "{e}");
        let e = PostgresConfig::new("postgres://x/db")
            .with_max_connections(0)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("max_connections"), "{e}");
    }

    #[test]
    fn the_environment_is_read_and_bad_values_are_named() {
        use hotswap_core::env::Vars;
        let from = |pairs: &[(&str, &str)]| PostgresConfig::from_vars(&Vars::from_pairs(pairs));
        let c = from(&[
            ("HOTSWAP_DATABASE_URL", "postgres://a:b@h/db"),
            ("HOTSWAP_DATABASE_MAX_CONNECTIONS", "3"),
            ("HOTSWAP_DATABASE_ACQUIRE_TIMEOUT_MS", "250"),
            ("HOTSWAP_DATABASE_SCHEMA", "tenant_1"),
        ])
        .unwrap();
        assert_eq!(c.max_connections, 3);
        assert_eq!(c.acquire_timeout, Duration::from_millis(250));
        assert_eq!(c.schema.as_deref(), Some("tenant_1"));
        let e = from(&[]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid HOTSWAP_DATABASE_URL: is not set"),
            "{e}"
        );
        let e = from(&[
            ("HOTSWAP_DATABASE_URL", "postgres://h/db"),
            ("HOTSWAP_DATABASE_MAX_CONNECTIONS", "ten"),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid HOTSWAP_DATABASE_MAX_CONNECTIONS: \"ten\" is not a count"
        );
        let e = from(&[
            ("HOTSWAP_DATABASE_URL", "postgres://h/db"),
            ("HOTSWAP_DATABASE_SCHEMA", "Bad-Name"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("schema"), "{e}");
    }
}

#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod configs;
mod deployments;
mod dialect;
mod holds;
mod http_routes;
mod interfaces;
mod legacy;
mod modules;
mod nodes;
mod policies;
mod query;

use std::fmt;
use std::sync::Arc;

pub use dialect::Dialect;
use hotswap_core::ResourceKind;
use hotswap_core::interface::InterfaceRegistry;
use hotswap_core::repository::{
    ConfigRepository, DeploymentRepository, HttpRouteRepository, ModuleRepository, NodeRepository,
    PolicyRepository,
};
use hotswap_core::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
pub use sqlx::AnyPool;
use sqlx::error::ErrorKind;

/// The repositories on one SQL database, reached through a pool of
/// sqlx's `Any` driver. Build it with an adapter crate, which installs its
/// driver, configures connections and runs its migrations.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's options hold the connection URL and its password.
        f.debug_struct("SqlStore")
            .field("dialect", &self.dialect)
            .field("connections", &self.pool.size())
            .finish()
    }
}

impl SqlStore {
    /// A store on `pool`, whose schema is already migrated, speaking
    /// `dialect`.
    pub fn new(pool: AnyPool, dialect: Dialect) -> Self {
        Self { pool, dialect }
    }

    /// Make sqlx's `Any` driver able to open every database this build
    /// supports (the adapters' `sqlx` features). Safe to call repeatedly.
    pub fn install_drivers() {
        sqlx::any::install_default_drivers();
    }

    /// This store as a module repository (one pool shared by all).
    pub fn modules(&self) -> Arc<dyn ModuleRepository> {
        Arc::new(self.clone())
    }

    /// This store as a node repository.
    pub fn nodes(&self) -> Arc<dyn NodeRepository> {
        Arc::new(self.clone())
    }

    /// This store as a deployment repository.
    pub fn deployments(&self) -> Arc<dyn DeploymentRepository> {
        Arc::new(self.clone())
    }

    /// This store as an HTTP route repository.
    pub fn http_routes(&self) -> Arc<dyn HttpRouteRepository> {
        Arc::new(self.clone())
    }

    /// This store as a configuration repository.
    pub fn configs(&self) -> Arc<dyn ConfigRepository> {
        Arc::new(self.clone())
    }

    /// This store as a deployment-policy repository.
    pub fn policies(&self) -> Arc<dyn PolicyRepository> {
        Arc::new(self.clone())
    }

    /// This store as an interface registry.
    pub fn interfaces(&self) -> Arc<dyn InterfaceRegistry> {
        Arc::new(self.clone())
    }

    /// The connection pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Close every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn db_error(&self, e: sqlx::Error) -> Error {
        db_error(self.dialect, e)
    }
}

/// Map a sqlx error onto hotswap's: a lost or refused connection is a
/// temporary `Unavailable`, the rest permanent (constraint violations are
/// mapped by the caller, which knows what was duplicated).
pub fn db_error(dialect: Dialect, e: sqlx::Error) -> Error {
    let temporary = matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
    ) || matches!(&e, sqlx::Error::Database(d) if dialect.is_busy(d.code().as_deref()));
    Error::unavailable(dialect.service(), temporary, e)
}

/// Whether `e` is a unique-constraint violation.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == ErrorKind::UniqueViolation)
}

/// The snake_case name serde gives a unit enum value (a phase, a status).
fn tag<T: Serialize + fmt::Debug>(value: &T) -> Result<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(Error::internal(format!("{value:?} has no string form"))),
    }
}

/// An entity as its JSON document.
fn to_doc<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot serialize: {e}")))
}

/// An entity from its JSON document; a row that does not parse is corrupt.
fn from_doc<T: DeserializeOwned>(table: &str, doc: &str) -> Result<T> {
    serde_json::from_str(doc).map_err(|e| Error::Corrupt {
        what: format!("a row of {table}"),
        reason: e.to_string(),
    })
}

impl SqlStore {
    /// The documents a `SELECT doc ...` statement returns, parsed.
    async fn docs<T: DeserializeOwned>(&self, sql: &query::Sql, table: &str) -> Result<Vec<T>> {
        sql.scalar::<String>()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?
            .iter()
            .map(|doc| from_doc(table, doc))
            .collect()
    }

    /// Run a statement; the number of rows it changed.
    async fn execute(&self, sql: &query::Sql) -> Result<u64> {
        sql.query()
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(|e| self.db_error(e))
    }

    /// The document of the row of `table` whose `column` equals `value`.
    async fn doc_where(&self, table: &str, column: &str, value: String) -> Result<Option<String>> {
        let mut sql = query::Sql::new(&format!("SELECT doc FROM {table} WHERE {column} = "));
        let p = sql.arg(value);
        sql.push(&p);
        sql.scalar::<String>()
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db_error(e))
    }

    /// Insert a row. A unique violation is `AlreadyExists` naming `id` when
    /// a row has that id, else naming `reference` (the other unique key).
    async fn insert_unique(
        &self,
        sql: &query::Sql,
        (table, kind): (&str, ResourceKind),
        id: String,
        reference: String,
    ) -> Result<()> {
        match sql.query().execute(&self.pool).await {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                if self.doc_where(table, "id", id.clone()).await?.is_some() {
                    Err(Error::already_exists(kind, id))
                } else {
                    Err(Error::already_exists(kind, reference))
                }
            }
            Err(e) => Err(self.db_error(e)),
        }
    }

    /// Delete the row of `table` with `id`; `NotFound` when there was none.
    async fn delete_by_id(
        &self,
        (table, kind): (&str, ResourceKind),
        id: impl fmt::Display,
    ) -> Result<()> {
        let mut sql = query::Sql::new(&format!("DELETE FROM {table} WHERE id = "));
        let p = sql.arg(id.to_string());
        sql.push(&p);
        if self.execute(&sql).await? == 0 {
            return Err(Error::not_found(kind, id));
        }
        Ok(())
    }
}

//! The versions a module's latest deployment holds, in `deployment_holds`.
//!
//! Each row references its version's row in `wasm_modules`, so the
//! database itself refuses to delete a held version, and refuses to hold a
//! version deleted meanwhile; `deployments_one_open` refuses a second open
//! deployment of a module. Both hold across control-plane replicas, since
//! whichever of two racing transactions commits second fails.

use hotswap_core::domain::{
    DeploymentId, ModuleDeployment, ModuleName, OPEN_PHASES, WasmModule, version_in_use,
};
use hotswap_core::repository::{DeploymentRepository, ModuleRepository};
use hotswap_core::{Error, Result};
use sqlx::error::ErrorKind;
use sqlx::{Any, Transaction};

use crate::query::Sql;
use crate::{SqlStore, tag};

/// Whether `e` is a foreign-key violation.
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == ErrorKind::ForeignKeyViolation)
}

/// What went wrong writing a deployment's holds.
pub(crate) enum HoldError {
    /// A held version has no row (deleted, or never registered).
    Missing,
    /// Anything else.
    Db(Error),
}

impl SqlStore {
    /// Make `d` the holder of its module's versions
    /// ([`ModuleDeployment::held_versions`]): a deployment just `created`
    /// takes over from the module's earlier latest deployment; an updated
    /// one changes only what it holds already (nothing, if it is not its
    /// module's latest).
    ///
    /// The rows of the versions to hold are locked before any hold is
    /// touched, so a deletion of one of them either finished first (the
    /// version is missing) or waits for this transaction to commit and is
    /// then refused; the two never deadlock.
    pub(crate) async fn write_holds(
        &self,
        tx: &mut Transaction<'static, Any>,
        d: &ModuleDeployment,
        created: bool,
    ) -> std::result::Result<(), HoldError> {
        let db = |e| HoldError::Db(self.db_error(e));
        let wanted: Vec<String> = d.held_versions().iter().map(|v| v.to_string()).collect();
        let held: Vec<String> = if created {
            Vec::new()
        } else {
            let mut sql = Sql::new("SELECT version FROM deployment_holds WHERE deployment_id = ");
            let p = sql.arg(d.id.to_string());
            sql.push(&p);
            sql.scalar::<String>()
                .fetch_all(&mut **tx)
                .await
                .map_err(db)?
        };
        if !created && held.is_empty() {
            // Not its module's latest, or one that holds nothing.
            return Ok(());
        }
        let adding: Vec<&String> = wanted.iter().filter(|v| !held.contains(v)).collect();
        if !adding.is_empty() {
            let mut sql = Sql::new("SELECT version FROM wasm_modules WHERE name = ");
            let name = sql.arg(d.module.to_string());
            let versions: Vec<String> = adding.iter().map(|v| sql.arg(v.as_str())).collect();
            sql.push(&format!(
                "{name} AND version IN ({}) ORDER BY version{}",
                versions.join(", "),
                self.dialect.lock_for_key_share()
            ));
            let found = sql
                .scalar::<String>()
                .fetch_all(&mut **tx)
                .await
                .map_err(db)?;
            if found.len() < adding.len() {
                return Err(HoldError::Missing);
            }
        }
        let clear = if created {
            let mut sql = Sql::new("DELETE FROM deployment_holds WHERE module = ");
            let p = sql.arg(d.module.to_string());
            sql.push(&p);
            Some(sql)
        } else {
            let dropped: Vec<&String> = held.iter().filter(|v| !wanted.contains(v)).collect();
            (!dropped.is_empty()).then(|| {
                let mut sql = Sql::new("DELETE FROM deployment_holds WHERE deployment_id = ");
                let id = sql.arg(d.id.to_string());
                let versions: Vec<String> = dropped.iter().map(|v| sql.arg(v.as_str())).collect();
                sql.push(&format!("{id} AND version IN ({})", versions.join(", ")));
                sql
            })
        };
        if let Some(sql) = clear {
            sql.query().execute(&mut **tx).await.map_err(db)?;
        }
        for version in adding {
            let mut sql =
                Sql::new("INSERT INTO deployment_holds (module, version, deployment_id) VALUES (");
            let params = [
                sql.arg(d.module.to_string()),
                sql.arg(version.as_str()),
                sql.arg(d.id.to_string()),
            ];
            sql.push(&params.join(", ")).push(")");
            match sql.query().execute(&mut **tx).await {
                Ok(_) => {}
                Err(e) if is_foreign_key_violation(&e) => return Err(HoldError::Missing),
                Err(e) => return Err(db(e)),
            }
        }
        Ok(())
    }

    /// Why `d` could not hold its versions: the first one not registered.
    pub(crate) async fn missing_version(&self, d: &ModuleDeployment) -> Error {
        for version in d.held_versions() {
            if let Err(e) = ModuleRepository::get_version(self, &d.module, &version).await {
                return e;
            }
        }
        Error::conflict(
            format!("deployment {}", d.id),
            "a version it holds was deleted while it was stored; try again",
        )
    }

    /// The `Conflict` of creating a deployment of `module` while another
    /// is open (the unique index refused it).
    pub(crate) async fn open_conflict(&self, module: &ModuleName) -> Result<Error> {
        let mut sql = Sql::new("SELECT doc FROM deployments WHERE module = ");
        let m = sql.arg(module.to_string());
        let phases = OPEN_PHASES
            .iter()
            .map(|p| Ok(sql.arg(tag(p)?)))
            .collect::<Result<Vec<_>>>()?;
        sql.push(&format!("{m} AND phase IN ({})", phases.join(", ")));
        let open: Vec<ModuleDeployment> = self.docs(&sql, "deployments").await?;
        Ok(match open.first() {
            Some(d) => d.still_open(),
            None => Error::conflict(
                format!("module {module}"),
                "another deployment was created at the same time; try again",
            ),
        })
    }

    /// Why `module` may not be deleted: the deployment holding it refused
    /// the delete (a foreign-key violation).
    pub(crate) async fn held_conflict(&self, module: &WasmModule) -> Result<Error> {
        let mut sql = Sql::new("SELECT deployment_id FROM deployment_holds WHERE module = ");
        let (n, v) = (
            sql.arg(module.name.to_string()),
            sql.arg(module.version.to_string()),
        );
        sql.push(&format!("{n} AND version = {v}"));
        let holder = sql
            .scalar::<String>()
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        let holder = match holder.map(|id| id.parse::<DeploymentId>()) {
            Some(Ok(id)) => Some(DeploymentRepository::get(self, id).await?),
            _ => None,
        };
        Ok(
            version_in_use(&module.reference(), &module.version, holder.as_ref()).unwrap_or_else(
                || {
                    Error::conflict(
                        format!("module {}", module.reference()),
                        "a deployment holds this version",
                    )
                },
            ),
        )
    }
}

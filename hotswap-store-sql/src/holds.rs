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
    /// Make `d` the holder of its module's versions: drop what the module's
    /// earlier latest deployment held (`replace_module`) or what `d` held
    /// before, then hold [`ModuleDeployment::held_versions`].
    pub(crate) async fn write_holds(
        &self,
        tx: &mut Transaction<'static, Any>,
        d: &ModuleDeployment,
        replace_module: bool,
    ) -> std::result::Result<(), HoldError> {
        let (column, key) = if replace_module {
            ("module", d.module.to_string())
        } else {
            ("deployment_id", d.id.to_string())
        };
        let mut clear = Sql::new(&format!("DELETE FROM deployment_holds WHERE {column} = "));
        let p = clear.arg(key);
        clear.push(&p);
        let cleared = clear
            .query()
            .execute(&mut **tx)
            .await
            .map_err(|e| HoldError::Db(self.db_error(e)))?
            .rows_affected();
        // A deployment that held nothing while finished is not its
        // module's latest: a newer one holds the module's versions.
        if !replace_module && cleared == 0 && d.phase.is_terminal() {
            return Ok(());
        }
        for version in d.held_versions() {
            let mut sql =
                Sql::new("INSERT INTO deployment_holds (module, version, deployment_id) VALUES (");
            let params = [
                sql.arg(d.module.to_string()),
                sql.arg(version.to_string()),
                sql.arg(d.id.to_string()),
            ];
            sql.push(&params.join(", ")).push(")");
            match sql.query().execute(&mut **tx).await {
                Ok(_) => {}
                Err(e) if is_foreign_key_violation(&e) => return Err(HoldError::Missing),
                Err(e) => return Err(HoldError::Db(self.db_error(e))),
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

//! Configuration revisions in `module_configs`, one row per revision.

use async_trait::async_trait;
use hotswap_core::ResourceKind;
use hotswap_core::domain::{ModuleConfig, ModuleName};
use hotswap_core::repository::{ConfigRepository, config_revision_taken};
use hotswap_core::{Error, Result};

use crate::query::Sql;
use crate::{SqlStore, is_unique_violation, to_doc};

const TABLE: &str = "module_configs";

fn revision_arg(revision: u64) -> Result<i64> {
    i64::try_from(revision)
        .map_err(|_| Error::invalid("revision", format!("{revision} is out of range")))
}

impl SqlStore {
    async fn latest_revision(&self, module: &ModuleName) -> Result<u64> {
        let mut sql =
            Sql::new("SELECT COALESCE(MAX(revision), 0) FROM module_configs WHERE module = ");
        let m = sql.arg(module.as_str());
        sql.push(&m);
        let latest: i64 = sql
            .scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        Ok(u64::try_from(latest).unwrap_or(0))
    }
}

#[async_trait]
impl ConfigRepository for SqlStore {
    async fn create(&self, config: &ModuleConfig) -> Result<()> {
        config.validate()?;
        let revision = revision_arg(config.revision)?;
        // One statement: the row goes in only when it follows the latest,
        // and the primary key refuses a second revision N.
        let mut sql = Sql::new("INSERT INTO module_configs (module, revision, doc) SELECT ");
        let (m, r, d, prev) = (
            sql.arg(config.module.as_str()),
            sql.arg(revision),
            sql.arg(to_doc(config)?),
            sql.arg(revision - 1),
        );
        sql.push(&format!(
            "{m}, {r}, {d} WHERE (SELECT COALESCE(MAX(revision), 0) FROM module_configs \
             WHERE module = {m}) = {prev}"
        ));
        let inserted = match sql.query().execute(&self.pool).await {
            Ok(done) => done.rows_affected() == 1,
            Err(e) if is_unique_violation(&e) => false,
            Err(e) => return Err(self.db_error(e)),
        };
        if inserted {
            return Ok(());
        }
        let latest = self.latest_revision(&config.module).await?;
        Err(config_revision_taken(
            &config.module,
            config.revision,
            latest,
        ))
    }

    async fn get(&self, module: &ModuleName, revision: u64) -> Result<ModuleConfig> {
        let missing = || {
            Error::not_found(
                ResourceKind::ConfigRevision,
                format!("{module} revision {revision}"),
            )
        };
        let r = revision_arg(revision).map_err(|_| missing())?;
        let mut sql = Sql::new("SELECT doc FROM module_configs WHERE module = ");
        let (m, r) = (sql.arg(module.as_str()), sql.arg(r));
        sql.push(&format!("{m} AND revision = {r}"));
        self.docs(&sql, TABLE)
            .await?
            .into_iter()
            .next()
            .ok_or_else(missing)
    }

    async fn latest(&self, module: &ModuleName) -> Result<Option<ModuleConfig>> {
        let mut sql = Sql::new("SELECT doc FROM module_configs WHERE module = ");
        let m = sql.arg(module.as_str());
        sql.push(&format!("{m} ORDER BY revision DESC LIMIT 1"));
        Ok(self.docs(&sql, TABLE).await?.into_iter().next())
    }
}

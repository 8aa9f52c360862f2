//! Deployment policies in `deployment_policies`, one row per module and
//! environment.

use async_trait::async_trait;
use hotswap_core::Result;
use hotswap_core::domain::{DeploymentPolicy, Environment, ModuleName};
use hotswap_core::repository::{PolicyRepository, environment_name, policy_not_found};

use crate::query::Sql;
use crate::{SqlStore, to_doc};

const TABLE: &str = "deployment_policies";

#[async_trait]
impl PolicyRepository for SqlStore {
    async fn put(&self, policy: &DeploymentPolicy) -> Result<()> {
        policy.validate()?;
        let mut sql =
            Sql::new("INSERT INTO deployment_policies (module, environment, doc) VALUES (");
        let params = [
            sql.arg(policy.module.as_str()),
            sql.arg(environment_name(policy.environment)),
            sql.arg(to_doc(policy)?),
        ];
        sql.push(&params.join(", "))
            .push(") ON CONFLICT (module, environment) DO UPDATE SET doc = excluded.doc");
        self.execute(&sql).await.map(drop)
    }

    async fn get(
        &self,
        module: &ModuleName,
        environment: Environment,
    ) -> Result<Option<DeploymentPolicy>> {
        let mut sql = Sql::new("SELECT doc FROM deployment_policies WHERE module = ");
        let (m, e) = (
            sql.arg(module.as_str()),
            sql.arg(environment_name(environment)),
        );
        sql.push(&format!("{m} AND environment = {e}"));
        Ok(self.docs(&sql, TABLE).await?.pop())
    }

    async fn list(&self) -> Result<Vec<DeploymentPolicy>> {
        let sql = Sql::new("SELECT doc FROM deployment_policies ORDER BY module");
        let mut all: Vec<DeploymentPolicy> = self.docs(&sql, TABLE).await?;
        all.sort_by(|a, b| (&a.module, a.environment).cmp(&(&b.module, b.environment)));
        Ok(all)
    }

    async fn delete(&self, module: &ModuleName, environment: Environment) -> Result<()> {
        let mut sql = Sql::new("DELETE FROM deployment_policies WHERE module = ");
        let (m, e) = (
            sql.arg(module.as_str()),
            sql.arg(environment_name(environment)),
        );
        sql.push(&format!("{m} AND environment = {e}"));
        match self.execute(&sql).await? {
            0 => Err(policy_not_found(module, environment)),
            _ => Ok(()),
        }
    }
}

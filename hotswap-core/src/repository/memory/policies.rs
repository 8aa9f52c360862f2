use std::collections::BTreeMap;

use async_trait::async_trait;

use super::Table;
use crate::domain::{DeploymentPolicy, Environment, ModuleName};
use crate::error::Result;
use crate::repository::{PolicyRepository, policy_not_found};

/// Deployment policies in memory.
#[derive(Debug, Default)]
pub struct MemoryPolicyRepository {
    rows: Table<BTreeMap<(ModuleName, Environment), DeploymentPolicy>>,
}

impl MemoryPolicyRepository {
    /// No policies.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl PolicyRepository for MemoryPolicyRepository {
    async fn put(&self, policy: &DeploymentPolicy) -> Result<()> {
        policy.validate()?;
        self.rows
            .write()
            .insert((policy.module.clone(), policy.environment), policy.clone());
        Ok(())
    }

    async fn get(
        &self,
        module: &ModuleName,
        environment: Environment,
    ) -> Result<Option<DeploymentPolicy>> {
        Ok(self
            .rows
            .read()
            .get(&(module.clone(), environment))
            .cloned())
    }

    async fn list(&self) -> Result<Vec<DeploymentPolicy>> {
        Ok(self.rows.read().values().cloned().collect())
    }

    async fn delete(&self, module: &ModuleName, environment: Environment) -> Result<()> {
        self.rows
            .write()
            .remove(&(module.clone(), environment))
            .map(drop)
            .ok_or_else(|| policy_not_found(module, environment))
    }
}
